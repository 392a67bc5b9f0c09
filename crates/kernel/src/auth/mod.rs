//! Identity: users, sign-in and sign-out, permissions, password hashing and validation. The
//! pages that use them (sign-in, registration, password reset, the profile) are the accounts
//! app's ([`crate::accounts`]); the admin signs staff in with the same functions.
//!
//! Signing in stores the user id and a hash derived from the password hash in the session; a
//! changed password therefore signs out every other session. Sign-in gives the session a new
//! key (or a new empty session if it belonged to someone else) and rotates the CSRF secret.
//! Sign-in attempts are counted before any password is hashed, per (account, address) and per
//! address, and refused past the limits; an account with too many failures from everywhere is
//! protected, never locked (see [`authenticate`]).

pub mod hashers;
pub mod models;
mod users;
pub mod validators;

pub use users::{NewUser, PermissionDef, create_profile, create_user, sync_permissions};

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use tokio::sync::OnceCell;

pub use models::user::Model as User;

use crate::app::CoreState;
use crate::crypto::{constant_time_eq, salted_hmac_hex};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::http::csrf::Csrf;
use crate::session::Session;

const SESSION_USER: &str = "_auth_user_id";
const SESSION_HASH: &str = "_auth_user_hash";

/// The password hasher the accounts app provides.
pub fn hasher(core: &CoreState) -> &hashers::PasswordHasher {
    core.service::<hashers::PasswordHasher>().expect("the accounts app provides the password hasher")
}

/// The user loaded for this request, shared by every extractor that asks.
#[derive(Clone, Default, Debug)]
pub(crate) struct UserCache(Arc<OnceCell<Option<User>>>);

/// The value stored in the session that ties it to the current password.
pub fn session_auth_hash(core: &CoreState, user: &User) -> String {
    salted_hmac_hex("quartet.auth.session_auth_hash", &user.password, core.settings.secret_key.expose())
}

/// The signed-in user of the request, if any (loaded once per request).
pub async fn current_user(parts: &Parts, core: &CoreState) -> Result<Option<User>> {
    let Some(session) = parts.extensions.get::<Session>().cloned() else { return Ok(None) };
    let cache = parts.extensions.get::<UserCache>().cloned().unwrap_or_default();
    cache.0.get_or_try_init(|| user_of_session(core, &session)).await.cloned()
}

/// The user `session` is signed in as, if the account is active and the password unchanged;
/// otherwise the session is emptied (signed out).
pub async fn user_of_session(core: &CoreState, session: &Session) -> Result<Option<User>> {
    let Some(id) = session.get::<i64>(SESSION_USER).await? else { return Ok(None) };
    let user = models::user::Entity::find_by_id(id).one(&core.db).await?;
    let stored_hash = session.get::<String>(SESSION_HASH).await?.unwrap_or_default();
    match user {
        Some(user)
            if user.is_active
                && constant_time_eq(stored_hash.as_bytes(), session_auth_hash(core, &user).as_bytes()) =>
        {
            Ok(Some(user))
        }
        _ => {
            // Deleted, deactivated, or the password changed elsewhere: sign out.
            session.flush().await?;
            Ok(None)
        }
    }
}

/// The id of the user the session is signed in as, without loading the user (the request
/// guard uses it to refuse anonymous uploads before reading them).
pub async fn session_user_id(session: &Session) -> Result<Option<i64>> {
    session.get::<i64>(SESSION_USER).await
}

/// Signs `user` in on this session (Django's `login`).
pub async fn login(core: &CoreState, session: &Session, csrf: &Csrf, user: &User) -> Result<()> {
    let hash = session_auth_hash(core, user);
    let current = session.get::<i64>(SESSION_USER).await?;
    let current_hash = session.get::<String>(SESSION_HASH).await?.unwrap_or_default();
    let other_user = current.is_some_and(|id| id != user.id);
    let stale = current == Some(user.id) && !constant_time_eq(current_hash.as_bytes(), hash.as_bytes());
    if other_user || stale {
        session.flush().await?;
    } else {
        session.cycle_key().await?;
    }
    session.insert(SESSION_USER, user.id).await?;
    session.insert(SESSION_HASH, hash).await?;
    csrf.rotate();
    let mut active: models::user::ActiveModel = user.clone().into();
    active.last_login = Set(Some(core.now()));
    active.update(&core.db).await?;
    tracing::info!(target: "quartet::auth", user_id = user.id, "signed in");
    Ok(())
}

/// Signs the session's user out and empties the session.
pub async fn logout(session: &Session) -> Result<()> {
    let user = session.get::<i64>(SESSION_USER).await?;
    session.flush().await?;
    if let Some(user_id) = user {
        tracing::info!(target: "quartet::auth", user_id, "signed out");
    }
    Ok(())
}

/// Keeps this session signed in after `user` changed their password (other sessions end).
pub async fn update_session_auth_hash(core: &CoreState, session: &Session, user: &User) -> Result<()> {
    session.cycle_key().await?;
    session.insert(SESSION_HASH, session_auth_hash(core, user)).await
}

/// Sets a new password, hashed with the current parameters.
pub async fn set_password(core: &CoreState, user: &User, password: &str) -> Result<User> {
    let mut active: models::user::ActiveModel = user.clone().into();
    active.password = Set(crate::auth::hasher(core).hash(password).await);
    Ok(active.update(&core.db).await?)
}

/// Finds the user for a sign-in name: the username, or else an e-mail address that exactly
/// one user has (Django's `ModelBackend` then the reference's `EmailAuthBackend`).
pub async fn find_for_login(db: &Db, identifier: &str) -> Result<Option<User>> {
    if let Some(user) =
        models::user::Entity::find().filter(models::user::Column::Username.eq(identifier)).one(db).await?
    {
        return Ok(Some(user));
    }
    if !identifier.contains('@') {
        return Ok(None);
    }
    let mut matches = models::user::Entity::find()
        .filter(Expr::expr(Func::lower(Expr::col(models::user::Column::Email))).eq(identifier.to_lowercase()))
        .limit(2)
        .all(db)
        .await?;
    Ok(if matches.len() == 1 { matches.pop() } else { None })
}

/// The result of checking credentials.
#[derive(Debug)]
pub enum Authentication {
    /// The credentials are right.
    Valid(User),
    /// Unknown user, wrong password or inactive account (not told apart).
    Invalid,
    /// Too many failures from this address (for this account or for all); try again after this
    /// many seconds. Nothing was hashed.
    Throttled(u64),
    /// The account has had too many failures from everywhere: this browser, which never signed
    /// in to it, may try again after this many seconds, or reset the password by e-mail.
    Protected(u64),
}

/// The cookie that marks a browser which signed in to an account before (OWASP's "device
/// cookie"): while an account is protected, such browsers still get their passwords checked.
pub const DEVICE_COOKIE: &str = "quartet_device";
/// Accounts one device cookie remembers.
const DEVICE_ACCOUNTS: usize = 5;

fn device_mark(core: &CoreState, user: &User) -> String {
    let mac = salted_hmac_hex(
        "quartet.auth.device",
        &format!("{}:{}", user.id, user.password),
        core.settings.secret_key.expose(),
    );
    format!("{}-{}", user.id, &mac[..32])
}

/// Whether the device cookie `cookie` marks `user` (the mark ends when the password changes).
pub fn is_known_device(core: &CoreState, cookie: Option<&str>, user: &User) -> bool {
    let mark = device_mark(core, user);
    cookie.is_some_and(|c| c.split('.').any(|m| constant_time_eq(m.as_bytes(), mark.as_bytes())))
}

/// The device cookie's new value after `user` signed in: their mark first, then up to four
/// other accounts' marks it held.
pub fn device_cookie_value(core: &CoreState, cookie: Option<&str>, user: &User) -> String {
    let mark = device_mark(core, user);
    let prefix = format!("{}-", user.id);
    let others = cookie
        .unwrap_or("")
        .split('.')
        .filter(|m| !m.is_empty() && !m.starts_with(&prefix) && m.len() <= 60)
        .filter(|m| m.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    std::iter::once(mark.as_str()).chain(others).take(DEVICE_ACCOUNTS).collect::<Vec<_>>().join(".")
}

/// The `Set-Cookie` header value of the device cookie (a year, HttpOnly).
pub fn device_set_cookie(core: &CoreState, value: &str) -> String {
    crate::http::cookies::build(DEVICE_COOKIE, value, Some(31_536_000), core.settings.session.cookie_secure, true)
}

fn account_key(identifier: &str, user: Option<&User>) -> String {
    match user {
        Some(u) => format!("login:user:{}", u.id),
        None => format!("login:name:{}", identifier.to_lowercase()),
    }
}

/// Checks a sign-in name and password, with brute-force limits (docs/ACCOUNTS.md):
///
/// 1. Before any password is hashed, the attempt is counted, atomically, for the pair
///    (account, client address) against `auth.login_failures_per_account_per_hour` and for the
///    address against `auth.login_failures_per_ip_per_hour`; past either, it is refused
///    ([`Authentication::Throttled`]). A successful sign-in gives its counts back, so only
///    failures use them up.
/// 2. Failures of the account from every address are counted too. Past the same per-account
///    limit the account is protected, never locked: a browser that signed in to it before (it
///    holds the [`DEVICE_COOKIE`]) still gets its password checked; any other browser gets one
///    check per account every `auth.login_protected_interval_seconds`, or resets the password
///    by e-mail, which ends the protection ([`Authentication::Protected`]).
pub async fn authenticate(
    core: &CoreState,
    identifier: &str,
    password: &str,
    ip: Option<IpAddr>,
    device: Option<&str>,
) -> Result<Authentication> {
    let now = core.now();
    let hour = Duration::hours(1);
    let auth = &core.settings.auth;
    let user = find_for_login(&core.db, identifier).await?;
    let account = account_key(identifier, user.as_ref());
    let address = ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    let pair = format!("{account}:ip:{address}");
    let ip_key = format!("login:ip:{address}");
    if let Err(wait) = core.limiter.take(&pair, auth.login_failures_per_account_per_hour, hour, now).await? {
        tracing::warn!(target: "quartet::auth", key = %pair, "sign-in refused: too many failures for the account from this address");
        return Ok(Authentication::Throttled(wait));
    }
    if let Err(wait) = core.limiter.take(&ip_key, auth.login_failures_per_ip_per_hour, hour, now).await? {
        core.limiter.give_back(&pair).await?;
        tracing::warn!(target: "quartet::auth", key = %ip_key, "sign-in refused: too many failures from the address");
        return Ok(Authentication::Throttled(wait));
    }
    let protected = core.limiter.usage(&account, hour, now).await?.count >= auth.login_failures_per_account_per_hour;
    let known_device = user.as_ref().is_some_and(|u| is_known_device(core, device, u));
    if protected && !known_device {
        let interval = Duration::seconds(i64::try_from(auth.login_protected_interval_seconds).unwrap_or(i64::MAX));
        if let Err(wait) = core.limiter.take(&format!("{account}:slow"), 1, interval, now).await? {
            core.limiter.give_back(&pair).await?;
            core.limiter.give_back(&ip_key).await?;
            tracing::warn!(target: "quartet::auth", key = %account, "sign-in slowed down: the account is protected");
            return Ok(Authentication::Protected(wait));
        }
    }
    let verified = match &user {
        Some(user) if user.has_usable_password() => {
            let v = crate::auth::hasher(core).verify(password, &user.password).await;
            (v.valid && user.is_active).then_some((user.clone(), v.needs_rehash))
        }
        _ => {
            crate::auth::hasher(core).dummy_verify(password).await;
            None
        }
    };
    let Some((user, needs_rehash)) = verified else {
        core.limiter.hit(&account, hour, now).await?;
        tracing::info!(target: "quartet::auth", ip = ?ip, "sign-in failed");
        return Ok(Authentication::Invalid);
    };
    core.limiter.give_back(&pair).await?;
    core.limiter.give_back(&ip_key).await?;
    let user = if needs_rehash { set_password(core, &user, password).await? } else { user };
    Ok(Authentication::Valid(user))
}

/// Every permission of `user`, directly or through groups (all of them for superusers).
pub async fn permissions_of(db: &Db, user: &User) -> Result<HashSet<String>> {
    use models::{group_permission, permission, user_group, user_permission};
    if !user.is_active {
        return Ok(HashSet::new());
    }
    if user.is_superuser {
        return Ok(permission::Entity::find().all(db).await?.into_iter().map(|p| p.codename).collect());
    }
    let mut perms: HashSet<String> = user_permission::Entity::find()
        .filter(user_permission::Column::UserId.eq(user.id))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.permission_id)
        .collect();
    let groups: Vec<i64> = user_group::Entity::find()
        .filter(user_group::Column::UserId.eq(user.id))
        .all(db)
        .await?
        .into_iter()
        .map(|g| g.group_id)
        .collect();
    if !groups.is_empty() {
        perms.extend(
            group_permission::Entity::find()
                .filter(group_permission::Column::GroupId.is_in(groups))
                .all(db)
                .await?
                .into_iter()
                .map(|p| p.permission_id),
        );
    }
    Ok(perms)
}

/// Whether `user` has the permission `app.action_model`.
pub async fn has_perm(db: &Db, user: &User, perm: &str) -> Result<bool> {
    if user.is_active && user.is_superuser {
        return Ok(true);
    }
    Ok(permissions_of(db, user).await?.contains(perm))
}

/// The signed-in user, if any.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Option<User>);

impl<S> FromRequestParts<S> for CurrentUser
where
    CoreState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(current_user(parts, &CoreState::from_ref(state)).await?))
    }
}

/// A signed-in user; anyone else is sent to the sign-in page with a `next` link back.
#[derive(Debug, Clone)]
pub struct LoginRequired(pub User);

impl<S> FromRequestParts<S> for LoginRequired
where
    CoreState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let core = CoreState::from_ref(state);
        match current_user(parts, &core).await {
            Ok(Some(user)) => Ok(Self(user)),
            Ok(None) => {
                let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                let login = core.url("accounts:login");
                let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
                Err(Redirect::to(&format!("{login}?{query}")).into_response())
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

/// The text of a protected account's refusal, with the wait in seconds.
pub fn protected_message(tr: &crate::i18n::Tr, wait: u64) -> String {
    tr.n(
        "This account had too many failed sign-ins. Try again in {n} second, or reset your password by e-mail.",
        "This account had too many failed sign-ins. Try again in {n} seconds, or reset your password by e-mail.",
        wait,
        &[],
    )
}

/// Signs `user` in and sends them to `target`, remembering this browser for the account (the
/// device cookie, see [`DEVICE_COOKIE`]).
pub async fn complete_sign_in(
    core: &CoreState,
    (session, csrf): (&Session, &Csrf),
    user: &User,
    target: &str,
    device: Option<&str>,
) -> Result<Response> {
    login(core, session, csrf, user).await?;
    let mut response = Redirect::to(target).into_response();
    let cookie = device_set_cookie(core, &device_cookie_value(core, device, user));
    if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
        response.headers_mut().append(axum::http::header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The 429 of an address that used up its sign-in attempts.
pub fn sign_in_throttled(retry_after: u64) -> Error {
    Error::TooManyRequests {
        retry_after,
        message: "Too many failed sign-ins from your address. Please wait a while and try again.",
    }
}
