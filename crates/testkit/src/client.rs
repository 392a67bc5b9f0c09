//! An HTTP client that keeps cookies like a browser and reads pages like a tester.

use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::redirect::Policy;
use scraper::{Html, Selector};

/// One browser: its own cookie jar; redirects are returned, not followed.
#[derive(Debug, Clone)]
pub struct TestClient {
    http: reqwest::Client,
    base: String,
    jar: Arc<Jar>,
}

/// A response with its body read.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

impl TestResponse {
    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    /// One header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok().map(ToOwned::to_owned)).collect()
    }

    /// The text of every element matching a CSS selector, whitespace-collapsed.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let selector = Selector::parse(css).unwrap_or_else(|_| panic!("bad selector {css}"));
        Html::parse_document(&self.body)
            .select(&selector)
            .map(|e| e.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    /// The text of the first element matching a selector.
    pub fn text(&self, css: &str) -> String {
        self.texts(css).into_iter().next().unwrap_or_else(|| panic!("nothing matches {css} in:\n{}", self.body))
    }

    /// An attribute of every element matching a selector.
    pub fn attrs(&self, css: &str, attr: &str) -> Vec<String> {
        let selector = Selector::parse(css).unwrap_or_else(|_| panic!("bad selector {css}"));
        Html::parse_document(&self.body)
            .select(&selector)
            .filter_map(|e| e.value().attr(attr).map(ToOwned::to_owned))
            .collect()
    }

    /// Form errors shown on the page.
    pub fn form_errors(&self) -> Vec<String> {
        self.texts(".errorlist li, .errornote")
    }

    /// Flash messages shown on the page.
    pub fn messages(&self) -> Vec<String> {
        self.texts(".messages li").into_iter().map(|m| m.trim_end_matches('×').trim().to_owned()).collect()
    }

    /// The page's `<h1>`.
    pub fn heading(&self) -> String {
        self.text("h1")
    }
}

/// An open WebSocket of a test.
#[derive(Debug)]
pub struct TestSocket(pub tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>);

/// What a test socket read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text message.
    Text(String),
    /// The server closed the socket with this code.
    Closed(Option<u16>),
    /// Nothing came within the time asked.
    Nothing,
}

impl TestSocket {
    /// Sends a text message.
    pub async fn send(&mut self, text: &str) {
        use futures_util::SinkExt;
        let message = tokio_tungstenite::tungstenite::Message::Text(text.into());
        self.0.send(message).await.expect("the socket takes a message");
    }

    /// The next text message or the close, waiting at most `seconds` (pings are answered).
    pub async fn next_within(&mut self, seconds: f64) -> Frame {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let wait = std::time::Duration::from_secs_f64(seconds);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.0.next()).await {
                Err(_) => return Frame::Nothing,
                Ok(None) => return Frame::Closed(None),
                Ok(Some(Err(_))) => return Frame::Closed(None),
                Ok(Some(Ok(Message::Text(text)))) => return Frame::Text(text.to_string()),
                Ok(Some(Ok(Message::Close(frame)))) => return Frame::Closed(frame.map(|f| u16::from(f.code))),
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// The next text message, read as JSON (panics on anything else within five seconds).
    pub async fn json(&mut self) -> serde_json::Value {
        match self.next_within(5.0).await {
            Frame::Text(text) => serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

impl TestClient {
    /// A client for the site at `base` (`http://127.0.0.1:port`).
    pub fn new(base: String) -> Self {
        quartet_core::http::fetch::install_crypto_provider();
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .build()
            .expect("a reqwest client");
        Self { http, base, jar }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) }
    }

    /// The value of a cookie the site set.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(&self.base).expect("a valid base URL");
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }

    /// Sets a cookie as if the site had set it.
    pub fn set_cookie(&self, name: &str, value: &str) {
        let url = reqwest::Url::parse(&self.base).expect("a valid base URL");
        self.jar.add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    /// Sends a request and reads the response.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> TestResponse {
        let response = request.send().await.expect("the site answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        TestResponse { status, headers, body }
    }

    /// A request builder for any method.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(self.http.get(self.url(path))).await
    }

    /// `GET path` with extra headers.
    pub async fn get_with_headers(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut request = self.http.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// `GET path`, following redirects on this site.
    pub async fn get_followed(&self, path: &str) -> TestResponse {
        let mut page = self.get(path).await;
        for _ in 0..10 {
            match (page.status, page.location()) {
                (301..=308, Some(next)) => page = self.get(next).await,
                _ => break,
            }
        }
        page
    }

    /// The CSRF secret from the cookie, fetching the sign-in page (a page with a form, which
    /// sets one) first if there is none yet.
    pub async fn csrf_token(&self) -> String {
        if let Some(token) = self.cookie("csrftoken") {
            return token;
        }
        self.get("/account/login/").await;
        self.cookie("csrftoken").expect("the sign-in page sets a CSRF cookie")
    }

    /// `POST path` with form fields and the CSRF token, as a browser submits a form.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self.csrf_token().await;
        let mut pairs: Vec<(&str, &str)> = vec![("csrfmiddlewaretoken", token.as_str())];
        pairs.extend_from_slice(fields);
        self.send(self.http.post(self.url(path)).header("origin", self.base.as_str()).form(&pairs)).await
    }

    /// `POST path` with form fields and no CSRF token.
    pub async fn post_form_without_token(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        self.send(self.http.post(self.url(path)).form(fields)).await
    }

    /// `POST path` with a multipart form (the CSRF token is added).
    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> TestResponse {
        let token = self.csrf_token().await;
        let form = form.text("csrfmiddlewaretoken", token);
        self.send(self.http.post(self.url(path)).header("origin", self.base.as_str()).multipart(form)).await
    }

    /// Signs in through the sign-in form; returns the form's response (a redirect on success).
    pub async fn login(&self, username: &str, password: &str) -> TestResponse {
        self.get("/account/login/").await;
        self.post_form("/account/login/", &[("username", username), ("password", password)]).await
    }

    /// Signs out.
    pub async fn logout(&self) -> TestResponse {
        self.post_form("/account/logout/", &[]).await
    }

    /// Opens a WebSocket to `path` as a page of this site does: with the client's cookies and
    /// the site as `Origin`. `Err` is the status of a refused upgrade.
    pub async fn websocket(&self, path: &str) -> Result<TestSocket, u16> {
        self.websocket_from(path, Some(&self.base)).await
    }

    /// [`TestClient::websocket`] with another `Origin` (or none).
    pub async fn websocket_from(&self, path: &str, origin: Option<&str>) -> Result<TestSocket, u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = self.url(path).replacen("http", "ws", 1);
        let mut request = url.into_client_request().expect("a WebSocket request");
        let site = reqwest::Url::parse(&self.base).expect("a valid base URL");
        if let Some(cookies) = self.jar.cookies(&site) {
            request.headers_mut().insert("cookie", cookies);
        }
        if let Some(origin) = origin {
            request.headers_mut().insert("origin", HeaderValue::from_str(origin).expect("a valid origin"));
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(TestSocket(socket)),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(e) => panic!("the WebSocket handshake with {path} failed: {e}"),
        }
    }

    /// A header value for `Origin` of this site.
    pub fn origin(&self) -> HeaderValue {
        HeaderValue::from_str(&self.base).expect("a valid origin")
    }
}
