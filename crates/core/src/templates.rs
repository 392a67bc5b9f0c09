//! What every page template gets: [`PageContext`] (user, CSRF token, flash messages, links,
//! static URLs, translations), [`Flash`] messages, and [`render`].
//!
//! Templates are askama structs with a `ctx: PageContext` field; `base.html` (in core's
//! `templates/`) is the layout every page extends.

use std::sync::Mutex;

use askama::Template;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::User;
use crate::error::{Error, Result};
use crate::http::csrf::Csrf;
use crate::i18n::Locale;
use crate::session::Session;
use crate::state::CoreState;

/// Session key of pending flash messages.
const MESSAGES_KEY: &str = "_messages";

/// A one-time message shown on the next page ("Profile updated successfully").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `success`, `info`, `warning` or `error` (also the CSS class).
    pub level: String,
    /// The text (already translated).
    pub text: String,
}

impl Message {
    /// The text as HTML: escaped, with `backticked` words as `<code>` (commands, passwords).
    pub fn html(&self) -> String {
        inline_code(&self.text)
    }
}

/// Escapes `text` for HTML and shows its `backticked` parts as `<code>`; an unpaired backtick
/// stays as it is.
pub fn inline_code(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    let mut out = String::with_capacity(text.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        // Odd parts are between backticks, unless the last backtick has no closing one.
        let inside = i % 2 == 1;
        let closed = i + 1 < parts.len();
        if inside && closed {
            out.push_str("<code>");
            out.push_str(&escape_html(part));
            out.push_str("</code>");
        } else {
            if inside {
                out.push('`');
            }
            out.push_str(&escape_html(part));
        }
    }
    out
}

/// Queues flash messages in the session.
#[derive(Debug, Clone)]
pub struct Flash(Session);

impl Flash {
    async fn push(&self, level: &str, text: impl Into<String>) -> Result<()> {
        let mut messages: Vec<Message> = self.0.get(MESSAGES_KEY).await?.unwrap_or_default();
        messages.push(Message { level: level.to_owned(), text: text.into() });
        self.0.insert(MESSAGES_KEY, messages).await
    }

    /// A success message.
    pub async fn success(&self, text: impl Into<String>) -> Result<()> {
        self.push("success", text).await
    }

    /// An informational message.
    pub async fn info(&self, text: impl Into<String>) -> Result<()> {
        self.push("info", text).await
    }

    /// A warning.
    pub async fn warning(&self, text: impl Into<String>) -> Result<()> {
        self.push("warning", text).await
    }

    /// An error message.
    pub async fn error(&self, text: impl Into<String>) -> Result<()> {
        self.push("error", text).await
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Session::from_request_parts(parts, state).await.map(Flash)
    }
}

/// Translates with one language; usable outside templates (forms, e-mails).
#[derive(Debug, Clone)]
pub struct Tr {
    core: CoreState,
    lang: String,
}

impl Tr {
    /// A translator for `lang`.
    pub fn new(core: CoreState, lang: impl Into<String>) -> Self {
        Self { core, lang: lang.into() }
    }

    /// The language code.
    pub fn lang(&self) -> &str {
        &self.lang
    }

    /// The shared services.
    pub fn core(&self) -> &CoreState {
        &self.core
    }

    /// Translates a message.
    pub fn t<'a>(&'a self, msgid: &'a str) -> &'a str {
        self.core.i18n.gettext(&self.lang, msgid)
    }

    /// Translates a message and fills `{name}` placeholders.
    pub fn f(&self, msgid: &str, args: &[(&str, &(dyn std::fmt::Display + Sync))]) -> String {
        fill(self.core.i18n.gettext(&self.lang, msgid), args)
    }

    /// Translates a message with a plural chosen by `n` and fills `{n}` and `args`.
    pub fn n(&self, singular: &str, plural: &str, n: u64, args: &[(&str, &(dyn std::fmt::Display + Sync))]) -> String {
        let mut all: Vec<(&str, &(dyn std::fmt::Display + Sync))> = vec![("n", &n)];
        all.extend_from_slice(args);
        fill(self.core.i18n.ngettext(&self.lang, singular, plural, n), &all)
    }
}

/// Escapes text for HTML (element content and quoted attribute values).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

/// Replaces `{name}` placeholders.
///
/// One pass over `text`: a value that itself contains `{name}` is left as it is.
pub fn fill(text: &str, args: &[(&str, &(dyn std::fmt::Display + Sync))]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let found = after.find('}').and_then(|close| {
            let name = &after[..close];
            args.iter().find(|(n, _)| *n == name).map(|(_, value)| (close, value))
        });
        match found {
            Some((close, value)) => {
                out.push_str(&value.to_string());
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A header link as templates see it.
#[derive(Debug, Clone)]
pub struct NavItem {
    /// Translated text.
    pub label: String,
    /// Target path.
    pub url: String,
    /// Whether the current page belongs to it.
    pub active: bool,
}

/// A language in the switcher.
#[derive(Debug, Clone)]
pub struct LanguageItem {
    /// Code.
    pub code: String,
    /// Name in itself.
    pub name: String,
    /// Whether it is the page's language.
    pub selected: bool,
}

/// Everything `base.html` and page templates need about the request.
#[derive(Debug)]
pub struct PageContext {
    core: CoreState,
    /// The signed-in user, if any.
    pub user: Option<User>,
    /// The request path (for "current page" marks and `next` links).
    pub path: String,
    lang: String,
    session: Option<Session>,
    csrf: Option<Csrf>,
    taken_messages: Mutex<Option<Vec<Message>>>,
}

impl PageContext {
    /// A context without a request (error pages rendered outside the page layers).
    pub fn bare(core: CoreState, path: impl Into<String>, lang: impl Into<String>) -> Self {
        Self {
            core,
            user: None,
            path: path.into(),
            lang: lang.into(),
            session: None,
            csrf: None,
            taken_messages: Mutex::new(None),
        }
    }

    /// The context of an error page: the user and CSRF state of the request that failed, no
    /// flash messages (they wait for the next real page).
    pub fn for_error(core: CoreState, path: String, lang: String, user: Option<User>, csrf: Csrf) -> Self {
        Self { user, csrf: Some(csrf), ..Self::bare(core, path, lang) }
    }

    /// The same context with another signed-in user (after sign-in).
    pub fn with_user(mut self, user: User) -> Self {
        self.user = Some(user);
        self
    }

    /// The same context with nobody signed in (after sign-out).
    pub fn without_user(mut self) -> Self {
        self.user = None;
        self
    }

    /// The shared services.
    pub fn core(&self) -> &CoreState {
        &self.core
    }

    /// The site's name.
    pub fn site_name(&self) -> &str {
        &self.core.settings.site.name
    }

    /// The page's language code.
    pub fn lang(&self) -> &str {
        &self.lang
    }

    /// A translator for the page's language.
    pub fn tr(&self) -> Tr {
        Tr::new(self.core.clone(), self.lang.clone())
    }

    /// Translates a message into the page's language.
    pub fn t<'a>(&'a self, msgid: &'a str) -> &'a str {
        self.core.i18n.gettext(&self.lang, msgid)
    }

    /// Translates a message and shows its `backticked` parts as code (escaped HTML).
    pub fn code(&self, msgid: &str) -> String {
        inline_code(self.t(msgid))
    }

    /// Translates and fills one `{name}` placeholder.
    pub fn t1(&self, msgid: &str, name: &str, value: impl std::fmt::Display + Sync) -> String {
        fill(self.t(msgid), &[(name, &value)])
    }

    /// Translates and fills two `{name}` placeholders.
    pub fn t2(
        &self,
        msgid: &str,
        name1: &str,
        value1: impl std::fmt::Display + Sync,
        name2: &str,
        value2: impl std::fmt::Display + Sync,
    ) -> String {
        fill(self.t(msgid), &[(name1, &value1), (name2, &value2)])
    }

    /// Translates a plural message for `n` and fills `{n}`.
    pub fn tn(&self, singular: &str, plural: &str, n: impl std::borrow::Borrow<u64>) -> String {
        self.tr().n(singular, plural, *n.borrow(), &[])
    }

    /// The path of a named route.
    pub fn url(&self, name: &str) -> String {
        self.core.url(name)
    }

    /// The path of a named route with one parameter.
    pub fn url1(&self, name: &str, arg: impl std::fmt::Display + Sync) -> String {
        self.core.url_with(name, &[&arg])
    }

    /// The hashed URL of a static file.
    pub fn static_url(&self, path: &str) -> String {
        self.core.assets.url(path)
    }

    /// A masked CSRF token for a form (empty on bare pages, which have no forms).
    pub fn csrf_token(&self) -> String {
        self.csrf.as_ref().map(Csrf::token).unwrap_or_default()
    }

    /// Whether this context can render forms (it has a CSRF state).
    pub fn has_forms(&self) -> bool {
        self.csrf.is_some()
    }

    /// Whether debug mode is on.
    pub fn debug(&self) -> bool {
        self.core.settings.debug
    }

    /// Pending flash messages; taken out of the session the first time they are read.
    pub fn messages(&self) -> Vec<Message> {
        let mut taken = self.taken_messages.lock().expect("messages lock");
        taken
            .get_or_insert_with(|| {
                self.session
                    .as_ref()
                    .and_then(|s| s.take_loaded(MESSAGES_KEY))
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or_default()
            })
            .clone()
    }

    /// Header links of the installed apps.
    pub fn nav(&self) -> Vec<NavItem> {
        self.core
            .registry
            .nav
            .iter()
            .map(|link| NavItem {
                label: self.t(link.label).to_owned(),
                url: self.core.url(link.route),
                active: !link.prefix.is_empty() && self.path.starts_with(link.prefix),
            })
            .collect()
    }

    /// Languages for the switcher.
    pub fn languages(&self) -> Vec<LanguageItem> {
        self.core
            .i18n
            .languages()
            .iter()
            .map(|l| LanguageItem { code: l.code.clone(), name: l.name_local.clone(), selected: l.code == self.lang })
            .collect()
    }

    /// The path with the query string, for `next` links back to this page.
    pub fn next_path(&self) -> &str {
        &self.path
    }
}

impl<S> FromRequestParts<S> for PageContext
where
    CoreState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let core = CoreState::from_ref(state);
        let session = parts.extensions.get::<Session>().cloned();
        if let Some(session) = &session {
            session.load().await?;
        }
        let user = crate::auth::current_user(parts, &core).await?;
        let lang =
            parts.extensions.get::<Locale>().map_or_else(|| core.i18n.default_language().to_owned(), |l| l.0.clone());
        let path = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
        Ok(Self {
            csrf: parts.extensions.get::<Csrf>().cloned(),
            core,
            user,
            path,
            lang,
            session,
            taken_messages: Mutex::new(None),
        })
    }
}

/// Renders a template into an HTML response.
pub fn render(template: &impl Template) -> Result<Response> {
    Ok(Html(template.render()?).into_response())
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn backticks_become_code_and_the_rest_is_escaped() {
        use super::inline_code;
        assert_eq!(inline_code("Run `quartet seed` now"), "Run <code>quartet seed</code> now");
        assert_eq!(inline_code("a `<b>` c"), "a <code>&lt;b&gt;</code> c");
        assert_eq!(inline_code("one ` alone"), "one ` alone");
        assert_eq!(inline_code("`x` and `y"), "<code>x</code> and `y");
        assert_eq!(inline_code("<script>"), "&lt;script&gt;");
    }

    #[test]
    fn placeholders_are_filled_once() {
        assert_eq!(fill("{a} and {b}", &[("a", &"{b}"), ("b", &2)]), "{b} and 2");
        assert_eq!(fill("{unknown} {a}", &[("a", &1)]), "{unknown} 1");
        assert_eq!(fill("open { brace", &[]), "open { brace");
    }
}
