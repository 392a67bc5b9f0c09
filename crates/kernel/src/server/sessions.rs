//! The session layer: a [`Session`] for every page request, saved after the response.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::CoreState;
use crate::error::Error;
use crate::http::cookies;
use crate::session::{CookieAction, Lifetimes, Session, is_valid_key};

/// A view of the session named by the cookie in `headers`, for code outside the session layer
/// (error pages, the fallback); it is read, never saved.
pub fn from_cookie(core: &CoreState, headers: &axum::http::HeaderMap) -> Option<Session> {
    let settings = &core.settings.session;
    let key = cookies::get(headers, &settings.cookie_name).filter(|k| is_valid_key(k))?;
    Some(Session::new(core.sessions.clone(), core.clock.clone(), Lifetimes::from_settings(settings), Some(key)))
}

/// Middleware: attaches a [`Session`] to the request and saves it after the response.
pub async fn layer(State(core): State<CoreState>, mut request: Request, next: Next) -> Response {
    let settings = &core.settings.session;
    let cookie_key = cookies::get(request.headers(), &settings.cookie_name).filter(|k| is_valid_key(k));
    let lifetimes = Lifetimes::from_settings(settings);
    let session = Session::new(core.sessions.clone(), core.clock.clone(), lifetimes, cookie_key);
    request.extensions_mut().insert(session.clone());
    let mut response = next.run(request).await;
    if response.status().is_server_error() {
        return response;
    }
    let action = match session.commit().await {
        Ok(action) => action,
        Err(e) => return e.into_response(),
    };
    let cookie = match action {
        CookieAction::Interrupted => {
            return Error::bad_request(
                "The request's session was deleted before the request completed. You may have signed out in another tab or window.",
            )
            .into_response();
        }
        CookieAction::Keep => None,
        CookieAction::Set(key) => Some(cookies::build(
            &settings.cookie_name,
            &key,
            Some(settings.cookie_age_seconds),
            settings.cookie_secure,
            settings.cookie_httponly,
        )),
        CookieAction::Delete => {
            Some(cookies::build(&settings.cookie_name, "", Some(0), settings.cookie_secure, settings.cookie_httponly))
        }
    };
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    if session.was_loaded() {
        crate::http::add_vary(response.headers_mut(), "Cookie");
    }
    if response.status().is_client_error() {
        // The error page shows who is signed in.
        response.extensions_mut().insert(session);
    }
    response
}
