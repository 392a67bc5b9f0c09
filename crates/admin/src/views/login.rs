//! The admin's sign-in and sign-out, and the answer for unknown addresses under `/admin/`.

use askama::Template;
use axum::response::{IntoResponse, Redirect, Response};

use super::admin_root;
use quartet_kernel::app::CoreState;
use quartet_kernel::auth::Authentication;
use quartet_kernel::error::{Error, Result};
use quartet_kernel::forms::FormData;
use quartet_kernel::http::ClientIp;
use quartet_kernel::http::csrf::Csrf;
use quartet_kernel::http::host::RequestHost;
use quartet_kernel::i18n::fill;
use quartet_kernel::session::Session;
use quartet_kernel::templates::{PageContext, render};

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    ctx: PageContext,
    username: String,
    error: String,
    next: String,
}

#[derive(serde::Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

fn safe_next(core: &CoreState, host: &RequestHost, next: &str) -> String {
    if !next.is_empty() && quartet_kernel::http::redirect::is_safe(next, &host.host, host.secure) {
        next.trim().to_owned()
    } else {
        admin_root(core)
    }
}

/// `next` if it is safe to carry in the sign-in form, else nothing.
fn form_next(host: &RequestHost, next: &str) -> String {
    if quartet_kernel::http::redirect::is_safe(next, &host.host, host.secure) {
        next.trim().to_owned()
    } else {
        String::new()
    }
}

pub(crate) async fn login_form(
    ctx: PageContext,
    host: RequestHost,
    axum::extract::Query(query): axum::extract::Query<NextQuery>,
) -> Result<Response> {
    let next = form_next(&host, &query.next.unwrap_or_default());
    let mut error = String::new();
    if let Some(user) = &ctx.user {
        if user.is_active && user.is_staff {
            return Ok(Redirect::to(&safe_next(ctx.core(), &host, &next)).into_response());
        }
        error = fill(
            ctx.t("You are authenticated as {username}, but are not authorized to access this page. Would you like to login to a different account?"),
            &[("username", &user.username)],
        );
    }
    render(&LoginPage { ctx, username: String::new(), error, next })
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn login_submit(
    ctx: PageContext,
    session: Session,
    csrf: Csrf,
    host: RequestHost,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let username = data.get("username").unwrap_or_default().trim().to_owned();
    let password = data.get("password").unwrap_or_default();
    let next = form_next(&host, data.get("next").unwrap_or_default());
    let mut error = ctx
        .t("Please enter the correct username and password for a staff account. Note that both fields may be case-sensitive.")
        .to_owned();
    let mut status = axum::http::StatusCode::OK;
    if !username.is_empty() && !password.is_empty() {
        let device = quartet_kernel::http::cookies::get(&headers, quartet_kernel::auth::DEVICE_COOKIE);
        match quartet_kernel::auth::authenticate(&core, &username, password, ip, device.as_deref()).await? {
            Authentication::Valid(user) if user.is_staff => {
                let target = safe_next(&core, &host, &next);
                return quartet_kernel::auth::complete_sign_in(
                    &core,
                    (&session, &csrf),
                    &user,
                    &target,
                    device.as_deref(),
                )
                .await;
            }
            Authentication::Throttled(retry_after) => return Err(quartet_kernel::auth::sign_in_throttled(retry_after)),
            Authentication::Protected(wait) => {
                error = quartet_kernel::auth::protected_message(&ctx.tr(), wait);
                status = axum::http::StatusCode::TOO_MANY_REQUESTS;
            }
            Authentication::Valid(_) | Authentication::Invalid => {}
        }
    }
    let mut response = render(&LoginPage { ctx, username, error, next })?;
    *response.status_mut() = status;
    Ok(response)
}

pub(crate) async fn logout(ctx: PageContext, session: Session) -> Result<Response> {
    quartet_kernel::auth::logout(&session).await?;
    Ok(Redirect::to(&ctx.core().url("admin:login")).into_response())
}

/// An address under `/admin/` that no admin page has: 404 for staff, the sign-in page for
/// everyone else (as for the admin's own pages, so the answer tells nothing of which
/// addresses exist).
pub(crate) async fn unknown_page(core: CoreState, request: axum::extract::Request) -> Response {
    let staff = match quartet_kernel::server::from_cookie(&core, request.headers()) {
        Some(session) => quartet_kernel::auth::user_of_session(&core, &session)
            .await
            .ok()
            .flatten()
            .is_some_and(|u| u.is_active && u.is_staff),
        None => false,
    };
    if staff {
        return Error::NotFound.into_response();
    }
    let path = request.uri().path();
    let next = request.uri().path_and_query().map_or(path, |p| p.as_str());
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
    Error::LoginRequired(format!("{}?{query}", core.url("admin:login"))).into_response()
}
