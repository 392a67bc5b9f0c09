//! The language layer and the language switch.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::app::CoreState;
use crate::forms::FormData;
use crate::http::host::RequestHost;
use crate::i18n::{Locale, choose_language};

/// Middleware: records the [`Locale`] and says which language the response is in.
pub async fn layer(State(core): State<CoreState>, mut request: Request, next: Next) -> Response {
    let lang = choose_language(&core.i18n, &core.settings.i18n.cookie_name, request.headers(), request.uri().path());
    request.extensions_mut().insert(Locale(lang.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&lang) {
        headers.insert(header::CONTENT_LANGUAGE, value);
    }
    crate::http::add_vary(headers, "Accept-Language");
    response
}

/// `POST /i18n/setlang/` with `language` and `next`: remembers the choice in a cookie and goes
/// back to the same page as `next` (if it is on this site) in the chosen language (its own
/// path for a translated route), or to the home page.
pub async fn set_language(State(core): State<CoreState>, host: RequestHost, data: FormData) -> Response {
    let next = data.get("next").filter(|n| crate::http::redirect::is_safe(n, &host.host, host.secure)).unwrap_or("/");
    let code = data.get("language").filter(|c| core.i18n.is_offered(c));
    let target = code.and_then(|code| core.urls().same_page_in(code, next)).unwrap_or_else(|| next.to_owned());
    let mut response = Redirect::to(&target).into_response();
    if let Some(code) = code {
        let cookie = crate::http::cookies::build(
            &core.settings.i18n.cookie_name,
            code,
            Some(31_536_000),
            core.settings.session.cookie_secure,
            false,
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}
