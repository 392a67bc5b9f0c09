//! The pages loaded, found on the seeded site. Each app adds its main pages here as it lands
//! (shop catalogue, course list, API, chat fan-out); every endpoint must answer 200 before it
//! is loaded, so a redirect or an error page is never measured as a page.

use anyhow::{Context, bail};

/// A page to load.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Short name, as in the reports and `--only`.
    pub name: String,
    /// Path and query.
    pub path: String,
    /// The `Cookie` header of a signed-in visitor, for pages that need one.
    pub cookie: Option<String>,
}

impl Endpoint {
    fn new(name: &str, path: impl Into<String>) -> Endpoint {
        Endpoint { name: name.into(), path: path.into(), cookie: None }
    }

    fn signed_in(name: &str, path: &str, cookie: &str) -> Endpoint {
        Endpoint { cookie: Some(cookie.into()), ..Endpoint::new(name, path) }
    }
}

/// The query of the search endpoint; the seeded blog has posts about Django.
pub const SEARCH_QUERY: &str = "django";

/// Finds the pages on the site at `base` and checks that each answers 200; the pages for
/// signed-in people are loaded as `demo`, signed in with `password`.
pub async fn discover(base: &str, password: &str) -> anyhow::Result<Vec<Endpoint>> {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let list = fetch(&client, base, "/blog/", None).await?;
    let home = fetch(&client, base, "/", None).await?;
    let cookie = sign_in(&client, base, "demo", password).await?;
    let endpoints = vec![
        Endpoint::new("home", "/"),
        Endpoint::new("blog-list", "/blog/"),
        Endpoint::new(
            "post-detail",
            first_link(&list, "/blog/", |rest| rest.starts_with(|c: char| c.is_ascii_digit()))?,
        ),
        Endpoint::new("tag", first_link(&list, "/blog/tag/", |_| true)?),
        Endpoint::new("search", format!("/blog/search/?query={SEARCH_QUERY}")),
        Endpoint::new("feed", "/blog/feed/"),
        Endpoint::new("sitemap", "/sitemap.xml"),
        Endpoint::new("healthz", "/healthz"),
        // Public, and each request counts a view (the key-value store's write path).
        Endpoint::new("image-detail", first_link(&home, "/images/detail/", |_| true)?),
        // Signed in: the bookmarks' pages that need an account.
        Endpoint::signed_in("image-list", "/images/", &cookie),
        Endpoint::signed_in("image-ranking", "/images/ranking/", &cookie),
        Endpoint::signed_in("dashboard", "/account/", &cookie),
    ];
    for endpoint in &endpoints {
        let body = fetch(&client, base, &endpoint.path, endpoint.cookie.as_deref()).await?;
        if endpoint.name == "search" && !body.contains("<mark>") {
            bail!("the search for {SEARCH_QUERY:?} found nothing on the seeded blog");
        }
    }
    Ok(endpoints)
}

/// Signs in through the sign-in form; the session's `Cookie` header.
async fn sign_in(client: &reqwest::Client, base: &str, username: &str, password: &str) -> anyhow::Result<String> {
    let form = client.get(format!("{base}/account/login/")).send().await?;
    let csrf_cookie =
        cookies(&form).into_iter().find(|c| c.starts_with("csrftoken=")).context("no csrftoken cookie")?;
    let page = form.text().await?;
    let token = page
        .split("name=\"csrfmiddlewaretoken\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("no CSRF token on the sign-in page")?;
    let answer = client
        .post(format!("{base}/account/login/"))
        .header(reqwest::header::COOKIE, &csrf_cookie)
        .form(&[("username", username), ("password", password), ("csrfmiddlewaretoken", token), ("next", "")])
        .send()
        .await?;
    if !answer.status().is_redirection() {
        bail!("signing in as {username} answered {}, not a redirect", answer.status());
    }
    let session = cookies(&answer).into_iter().find(|c| c.starts_with("sessionid=")).context("no session cookie")?;
    Ok(format!("{session}; {csrf_cookie}"))
}

/// The `name=value` of each `Set-Cookie` of `response`.
fn cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect()
}

async fn fetch(client: &reqwest::Client, base: &str, path: &str, cookie: Option<&str>) -> anyhow::Result<String> {
    let mut request = client.get(format!("{base}{path}"));
    if let Some(cookie) = cookie {
        request = request.header(reqwest::header::COOKIE, cookie);
    }
    let response = request.send().await.with_context(|| format!("GET {path}"))?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        bail!("GET {path} answered {status}, not 200; a benchmark must measure the page itself");
    }
    Ok(response.text().await?)
}

/// The first `href` in `html` that starts with `prefix` and whose rest passes `accept`.
pub fn first_link(html: &str, prefix: &str, accept: impl Fn(&str) -> bool) -> anyhow::Result<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .find(|href| href.strip_prefix(prefix).is_some_and(&accept))
        .map(|href| href.replace("&amp;", "&"))
        .with_context(|| format!("no link starting with {prefix} on the blog list"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_by_prefix() {
        let html = r#"<a href="/blog/feed/">Feed</a> <a href="/blog/tag/rust/">rust</a>
            <a href="/blog/2026/1/2/hello/">Hello</a> <a href="/blog/2026/1/3/next/">Next</a>"#;
        let post = first_link(html, "/blog/", |r| r.starts_with(|c: char| c.is_ascii_digit())).unwrap();
        assert_eq!(post, "/blog/2026/1/2/hello/");
        assert_eq!(first_link(html, "/blog/tag/", |_| true).unwrap(), "/blog/tag/rust/");
        assert!(first_link(html, "/shop/", |_| true).is_err());
    }
}
