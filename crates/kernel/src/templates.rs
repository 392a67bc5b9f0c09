//! What every page template gets: [`PageContext`] (user, CSRF token, flash messages, links,
//! static URLs, translations), and [`render`].
//!
//! Templates are askama structs with a `ctx: PageContext` field; `base.html` (in core's
//! `templates/`) is the layout every page extends.

use std::sync::Mutex;

use askama::Template;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};

use crate::app::CoreState;
use crate::auth::User;
use crate::error::{Error, Result};
use crate::html::inline_code;
use crate::http::csrf::Csrf;
use crate::i18n::{Locale, Tr, fill};
use crate::session::Session;
use crate::session::flash::{Message, take_messages};

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

/// Something an app adds to the header of every page (Django's context processors): the shop's
/// "Your cart: 2 items, $40.00". Contributed with [`crate::app::AppRegistry::add`]; the items of all apps
/// show in installed order. `item` runs once per page, with the page's context (the session,
/// the user, the language); `None` shows nothing.
#[derive(Clone, Copy)]
pub struct PageExtra {
    /// Makes the item of one page.
    pub item: for<'a> fn(&'a PageContext) -> futures_util::future::BoxFuture<'a, Option<HeaderItem>>,
}

impl std::fmt::Debug for PageExtra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageExtra").finish_non_exhaustive()
    }
}

/// What an app adds to a signed-in user's dashboard (`/account/`): the bookmarks' count of
/// images, bookmarklet button and activity stream. Contributed with
/// [`crate::app::AppRegistry::add`]; panels show in installed order. `panel` gets the page's
/// context (its user is signed in) and returns safe HTML, or `None` to show nothing.
#[derive(Clone, Copy)]
pub struct DashboardPanel {
    /// Makes the panel's HTML for one page.
    pub panel: for<'a> fn(&'a PageContext) -> futures_util::future::BoxFuture<'a, crate::Result<Option<String>>>,
}

impl std::fmt::Debug for DashboardPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardPanel").finish_non_exhaustive()
    }
}

/// An item of the header made by a [`PageExtra`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderItem {
    /// The text, already translated.
    pub text: String,
    /// Where it links, if anywhere.
    pub url: Option<String>,
    /// A class for the app's styles (`cart-summary`).
    pub class: &'static str,
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
    /// The translation domain: the label of the app whose route answered.
    domain: &'static str,
    session: Option<Session>,
    csrf: Option<Csrf>,
    taken_messages: Mutex<Option<Vec<Message>>>,
    extras: Vec<HeaderItem>,
    /// Set when the page shows a flash message: the caches never keep it.
    personal: Option<crate::http::Personal>,
    /// The request's validated host (absolute links).
    host: Option<crate::http::host::RequestHost>,
}

impl PageContext {
    /// A context without a request (error pages rendered outside the page layers).
    pub fn bare(core: CoreState, path: impl Into<String>, lang: impl Into<String>) -> Self {
        Self {
            core,
            user: None,
            path: path.into(),
            lang: lang.into(),
            domain: crate::i18n::CORE_DOMAIN,
            session: None,
            csrf: None,
            taken_messages: Mutex::new(None),
            extras: Vec::new(),
            personal: None,
            host: None,
        }
    }

    /// The context of an error page: the user and CSRF state of the request that failed, no
    /// flash messages (they wait for the next real page).
    pub fn for_error(core: CoreState, path: String, lang: String, user: Option<User>, csrf: Csrf) -> Self {
        Self { user, csrf: Some(csrf), taken_messages: Mutex::new(Some(Vec::new())), ..Self::bare(core, path, lang) }
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
        Tr::in_domain(self.core.i18n.clone(), self.domain, self.lang.clone())
    }

    /// Translates a message into the page's language.
    pub fn t<'a>(&'a self, msgid: &'a str) -> &'a str {
        self.core.i18n.gettext_in(self.domain, &self.lang, msgid)
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
        self.core.url_in(&self.lang, name, &[])
    }

    /// The path of a named route with one parameter.
    pub fn url1(&self, name: &str, arg: impl std::fmt::Display + Sync) -> String {
        self.core.url_in(&self.lang, name, &[&arg])
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
        let messages =
            taken.get_or_insert_with(|| self.session.as_ref().map(take_messages).unwrap_or_default()).clone();
        if !messages.is_empty()
            && let Some(personal) = &self.personal
        {
            personal.mark();
        }
        messages
    }

    /// Header links of the installed apps.
    pub fn nav(&self) -> Vec<NavItem> {
        self.core
            .registry
            .nav
            .iter()
            .filter(|link| !link.signed_in_only || self.user.is_some())
            .map(|link| {
                let url = self.url(link.route);
                NavItem { label: self.t(link.label).to_owned(), active: url != "/" && self.path.starts_with(&url), url }
            })
            .collect()
    }

    /// What the installed apps add to the header of this page ([`PageExtra`]).
    pub fn extras(&self) -> &[HeaderItem] {
        &self.extras
    }

    /// The session of the request, if the page has one (apps' header items read it).
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The same context with the request's session (an error page's).
    pub fn with_session(mut self, session: Option<Session>) -> Self {
        self.session = session;
        self
    }

    /// Asks every app's [`PageExtra`] for its item, in installed order.
    pub async fn with_extras(mut self) -> Self {
        let makers = self.core.registry.contributions::<PageExtra>();
        let mut extras = Vec::with_capacity(makers.len());
        for maker in makers {
            if let Some(item) = (maker.item.item)(&self).await {
                extras.push(item);
            }
        }
        self.extras = extras;
        self
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

    /// `path` as an absolute URL: on `site.base_url` when it is set, else on the request's
    /// validated host (a page made without a request: `site.base_url`, or the path alone).
    pub fn absolute_url(&self, path: &str) -> String {
        match &self.host {
            Some(host) => host.absolute(&self.core.settings, path),
            None => format!("{}{path}", self.core.settings.site.base_url.trim_end_matches('/')),
        }
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
        let domain = parts.extensions.get::<crate::urls::RouteApp>().map_or(crate::i18n::CORE_DOMAIN, |app| app.0);
        let ctx = Self {
            csrf: parts.extensions.get::<Csrf>().cloned(),
            core,
            user,
            path,
            lang,
            domain,
            session,
            taken_messages: Mutex::new(None),
            extras: Vec::new(),
            personal: parts.extensions.get::<crate::http::Personal>().cloned(),
            host: parts.extensions.get::<crate::http::host::RequestHost>().cloned(),
        };
        Ok(ctx.with_extras().await)
    }
}

/// Renders a template into an HTML response.
pub fn render(template: &impl Template) -> Result<Response> {
    Ok(Html(template.render()?).into_response())
}
