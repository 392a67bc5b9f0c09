//! Sign-in with Google or any OpenID Connect provider (the reference's `social-auth-app-django`
//! with its `create_profile` pipeline step): the authorization code flow with PKCE, `state`
//! and `nonce`, the ID token's signature checked against the provider's published keys.
//!
//! `GET /social-auth/login/<provider>/?next=…` remembers a fresh state, nonce and PKCE
//! verifier in the session and sends the browser to the provider; the provider sends it back to
//! `GET /social-auth/complete/<provider>/?code=…&state=…`, which checks the state, exchanges the
//! code (with the verifier) for tokens, verifies the ID token (signature, issuer, audience,
//! expiry, nonce) and signs the person in: to the account linked to the provider's subject,
//! else to the account with the same e-mail when the provider verified it and
//! `social_auth.associate_by_email` allows it, else to a new account (with its profile). Every
//! failure sends the person back to the sign-in page with a message; nothing is half done.

pub mod model;
pub mod settings;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IdTokenClaims, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _,
};
use quartet_kernel::app::CoreState;
use quartet_kernel::auth::models::user;
use quartet_kernel::auth::{NewUser, User};
use quartet_kernel::error::{Error, Result};
use quartet_kernel::http::csrf::Csrf;
use quartet_kernel::http::host::RequestHost;
use quartet_kernel::http::{ClientIp, redirect};
use quartet_kernel::session::Session;
use quartet_kernel::session::flash::Flash;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

pub use settings::{Provider, SocialAuthSettings};

/// The session key of a sign-in under way.
const PENDING: &str = "_social_auth_pending";
/// How long a sign-in may take at the provider.
const PENDING_SECONDS: i64 = 600;
/// How long a provider's discovery document and keys are kept.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The largest answer read from a provider.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// How long a call to a provider may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client for providers, and what their discovery documents said.
#[derive(Default)]
pub struct Providers {
    client: std::sync::OnceLock<reqwest::Client>,
    metadata: Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Providers").finish_non_exhaustive()
    }
}

/// Why a call to a provider failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CallError(String);

impl Providers {
    fn client(&self) -> &reqwest::Client {
        self.client.get_or_init(|| {
            quartet_kernel::http::fetch::install_crypto_provider();
            // No redirects: OAuth 2.0 endpoints answer directly (a redirect could carry the code
            // or the secret elsewhere).
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(CALL_TIMEOUT)
                .user_agent("Quartet")
                .build()
                .expect("a client without custom TLS builds")
        })
    }

    /// The provider's discovery document and keys, read at most once an hour (or again when
    /// `fresh`, after a token signed by a key not known yet).
    async fn metadata(&self, provider: &Provider, fresh: bool) -> std::result::Result<CoreProviderMetadata, String> {
        if !fresh {
            let kept = self.metadata.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((at, metadata)) = kept.get(&provider.key)
                && at.elapsed() < METADATA_TTL
            {
                return Ok(metadata.clone());
            }
        }
        let issuer = IssuerUrl::new(provider.issuer.clone()).map_err(|e| e.to_string())?;
        let client = self.client().clone();
        let http = move |request| call(client.clone(), request);
        let metadata = CoreProviderMetadata::discover_async(issuer, &http).await.map_err(|e| describe(&e))?;
        self.metadata
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(provider.key.clone(), (Instant::now(), metadata.clone()));
        Ok(metadata)
    }
}

/// One HTTP exchange for the `openidconnect` crate, its answer read up to
/// [`MAX_ANSWER_BYTES`]. (It owns its client, so its future borrows nothing.)
async fn call(
    client: reqwest::Client,
    request: openidconnect::HttpRequest,
) -> std::result::Result<openidconnect::HttpResponse, CallError> {
    let (parts, body) = request.into_parts();
    let mut answer = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| CallError(format!("{}: {e}", parts.uri)))?;
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await.map_err(|e| CallError(e.to_string()))? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(CallError(format!("the answer is larger than {MAX_ANSWER_BYTES} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    let mut response = openidconnect::http::Response::new(body);
    *response.status_mut() = answer.status();
    *response.headers_mut() = std::mem::take(answer.headers_mut());
    Ok(response)
}

/// An error with its causes, for the log.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A sign-in under way, kept in the session between the two requests.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    provider: String,
    state: String,
    nonce: String,
    verifier: String,
    next: String,
    started: i64,
}

/// `?next=` of the login URL.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

/// What the provider sends back.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn settings(core: &CoreState) -> &SocialAuthSettings {
    core.settings.app::<SocialAuthSettings>()
}

fn providers(core: &CoreState) -> Result<&Providers> {
    core.service::<Providers>().ok_or_else(|| Error::Internal(anyhow::anyhow!("the social sign-in is not installed")))
}

/// The address the provider sends people back to (registered at the provider).
pub fn redirect_uri(core: &CoreState, host: &RequestHost, provider: &str) -> String {
    let base = core.settings.site.base_url.trim_end_matches('/');
    let origin = if base.is_empty() { host.origin() } else { base.to_owned() };
    format!("{origin}/social-auth/complete/{provider}/")
}

/// The buttons of the sign-in page: each configured provider's name and login URL.
pub fn buttons(core: &CoreState, next: &str) -> Vec<(String, String)> {
    settings(core)
        .providers()
        .into_iter()
        .map(|p| {
            let mut url = format!("/social-auth/login/{}/", p.key);
            if !next.is_empty() {
                url.push('?');
                url.push_str(&url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish());
            }
            (p.name, url)
        })
        .collect()
}

fn client_for(
    metadata: CoreProviderMetadata,
    provider: &Provider,
    redirect: String,
) -> std::result::Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    String,
> {
    let secret =
        (!provider.client_secret.is_empty()).then(|| ClientSecret::new(provider.client_secret.expose().to_owned()));
    Ok(CoreClient::from_provider_metadata(metadata, ClientId::new(provider.client_id.clone()), secret)
        .set_redirect_uri(RedirectUrl::new(redirect).map_err(|e| e.to_string())?))
}

/// Sends the person back to the sign-in page with `message`.
async fn back_to_login(core: &CoreState, flash: &Flash, message: String) -> Result<Response> {
    flash.error(message).await?;
    Ok(Redirect::to(&core.url("accounts:login")).into_response())
}

/// `GET /social-auth/login/<provider>/`: to the provider's sign-in page.
pub async fn login(
    ctx: quartet_kernel::templates::PageContext,
    Path(key): Path<String>,
    Query(query): Query<StartQuery>,
    session: Session,
    flash: Flash,
    host: RequestHost,
    ClientIp(ip): ClientIp,
) -> Result<Response> {
    let core = ctx.core().clone();
    let tr = ctx.tr();
    let Some(provider) = settings(&core).provider(&key) else { return Err(Error::NotFound) };
    let limit = settings(&core).starts_per_address_per_hour;
    let rate_key = format!("social-auth:{}", ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string()));
    if let Err(retry_after) = core.limiter.take(&rate_key, limit, chrono::Duration::hours(1), core.now()).await? {
        return Err(Error::TooManyRequests {
            retry_after,
            message: "Too many sign-ins were started from your address. Please wait a while and try again.",
        });
    }
    let name = provider.name.clone();
    let failed = || {
        tr.f("Signing in with {provider} is not possible right now. Please try again later.", &[("provider", &name)])
    };
    let metadata = match providers(&core)?.metadata(&provider, false).await {
        Ok(metadata) => metadata,
        Err(e) => {
            tracing::warn!(target: "quartet::security", provider = %key, error = %e, "the provider's discovery document could not be read");
            return back_to_login(&core, &flash, failed()).await;
        }
    };
    let client = match client_for(metadata, &provider, redirect_uri(&core, &host, &key)) {
        Ok(client) => client,
        Err(e) => {
            tracing::warn!(target: "quartet::security", provider = %key, error = %e, "the redirect address is not a URL");
            return back_to_login(&core, &flash, failed()).await;
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let next = query.next.filter(|n| redirect::is_safe(n, &host.host, host.secure)).unwrap_or_default();
    let pending = Pending {
        provider: key,
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        next,
        started: core.now().timestamp(),
    };
    session.insert(PENDING, &pending).await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

/// `GET /social-auth/complete/<provider>/`: checks the provider's answer and signs in.
#[allow(clippy::too_many_arguments)]
pub async fn complete(
    ctx: quartet_kernel::templates::PageContext,
    Path(key): Path<String>,
    Query(callback): Query<Callback>,
    session: Session,
    csrf: Csrf,
    flash: Flash,
    host: RequestHost,
    headers: axum::http::HeaderMap,
) -> Result<Response> {
    let core = ctx.core().clone();
    let tr = ctx.tr();
    let Some(provider) = settings(&core).provider(&key) else { return Err(Error::NotFound) };
    let name = provider.name.clone();
    // Single use: whatever happens next, this sign-in's state is spent.
    let pending: Option<Pending> = session.remove(PENDING).await?.and_then(|value| serde_json::from_value(value).ok());
    let refused = |why: &str, reason: String| {
        tracing::warn!(target: "quartet::security", provider = %key, reason = %reason, "social sign-in refused");
        tr.f(why, &[("provider", &name)])
    };
    if callback.error.is_some() {
        let message = tr.f("Signing in with {provider} was cancelled.", &[("provider", &name)]);
        return back_to_login(&core, &flash, message).await;
    }
    let Some(pending) = pending.filter(|p| p.provider == key && core.now().timestamp() - p.started <= PENDING_SECONDS)
    else {
        let message = tr.f(
            "This sign-in with {provider} has expired or was started in another browser. Please try again.",
            &[("provider", &name)],
        );
        return back_to_login(&core, &flash, message).await;
    };
    let state_matches = callback
        .state
        .as_deref()
        .is_some_and(|s| quartet_kernel::crypto::constant_time_eq(s.as_bytes(), pending.state.as_bytes()));
    let (true, Some(code)) = (state_matches, callback.code) else {
        let message = refused(
            "The answer from {provider} did not belong to this sign-in; you were not signed in.",
            "the state does not match".into(),
        );
        return back_to_login(&core, &flash, message).await;
    };
    let claims = match verified_claims(&core, &provider, &host, &pending, code).await {
        Ok(claims) => claims,
        Err(reason) => {
            let message = refused("The answer from {provider} could not be verified; you were not signed in.", reason);
            return back_to_login(&core, &flash, message).await;
        }
    };
    let user = match account_for(&core, &provider, &claims).await? {
        Ok(user) => user,
        Err(message) => return back_to_login(&core, &flash, tr.t(message).to_owned()).await,
    };
    if !user.is_active {
        return back_to_login(&core, &flash, tr.t("This account is inactive.").to_owned()).await;
    }
    let target = if pending.next.is_empty() { core.url("accounts:dashboard") } else { pending.next };
    let device = quartet_kernel::http::cookies::get(&headers, quartet_kernel::auth::DEVICE_COOKIE);
    quartet_kernel::auth::complete_sign_in(&core, (&session, &csrf), &user, &target, device.as_deref()).await
}

type Claims = IdTokenClaims<openidconnect::EmptyAdditionalClaims, CoreGenderClaim>;

/// Exchanges `code` for tokens and verifies the ID token; the reason when anything is wrong.
async fn verified_claims(
    core: &CoreState,
    provider: &Provider,
    host: &RequestHost,
    pending: &Pending,
    code: String,
) -> std::result::Result<Claims, String> {
    let providers = providers(core).map_err(|e| e.to_string())?;
    let metadata = providers.metadata(provider, false).await?;
    let client = client_for(metadata, provider, redirect_uri(core, host, &provider.key))?;
    let http_client = providers.client().clone();
    let http = move |request| call(http_client.clone(), request);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| describe(&e))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(&http)
        .await
        .map_err(|e| describe(&e))?;
    let id_token = tokens.id_token().ok_or("the token answer has no ID token")?;
    let nonce = Nonce::new(pending.nonce.clone());
    match id_token.claims(&client.id_token_verifier(), &nonce) {
        Ok(claims) => Ok(claims.clone()),
        Err(first) => {
            // A key the provider published since its keys were read: read them again, once.
            let metadata = providers.metadata(provider, true).await?;
            let client = client_for(metadata, provider, redirect_uri(core, host, &provider.key))?;
            let again = id_token.claims(&client.id_token_verifier(), &nonce);
            again.cloned().map_err(|_| describe(&first))
        }
    }
}

/// The account `claims` sign in to, made or linked as needed; `Err(message)` when refused.
async fn account_for(
    core: &CoreState,
    provider: &Provider,
    claims: &Claims,
) -> Result<std::result::Result<User, &'static str>> {
    let uid = claims.subject().as_str().to_owned();
    let email = claims.email().map(|e| e.as_str().trim().to_owned()).unwrap_or_default();
    let verified = claims.email_verified().unwrap_or(false);
    let linked = model::Entity::find()
        .filter(model::Column::Provider.eq(&provider.key))
        .filter(model::Column::Uid.eq(&uid))
        .one(&core.db)
        .await?;
    if let Some(link) = linked {
        let Some(user) = user::Entity::find_by_id(link.user_id).one(&core.db).await? else {
            return Err(Error::NotFound);
        };
        let mut link: model::ActiveModel = link.into();
        link.last_used = Set(Some(core.now()));
        link.email = Set(email);
        link.update(&core.db).await?;
        return Ok(Ok(user));
    }
    let same_email = if email.is_empty() {
        Vec::new()
    } else {
        user::Entity::find()
            .filter(Expr::expr(Func::lower(Expr::col(user::Column::Email))).eq(email.to_lowercase()))
            .all(&core.db)
            .await?
    };
    let user = match same_email.as_slice() {
        [] => create_account(core, claims, &email).await?,
        [existing] if verified && settings(core).associate_by_email => existing.clone(),
        _ => {
            return Ok(Err(
                "An account with this e-mail address already exists. Sign in with your username and password.",
            ));
        }
    };
    model::ActiveModel {
        user_id: Set(user.id),
        provider: Set(provider.key.clone()),
        uid: Set(uid),
        email: Set(email),
        created: Set(core.now()),
        last_used: Set(Some(core.now())),
        ..Default::default()
    }
    .insert(&core.db)
    .await?;
    Ok(Ok(user))
}

/// A new account for `claims` (the reference's `create_user` and `create_profile` steps): the
/// username from the e-mail address or the name, made unique; no password.
async fn create_account(core: &CoreState, claims: &Claims, email: &str) -> Result<User> {
    let local = |c: Option<&openidconnect::LocalizedClaim<openidconnect::EndUserGivenName>>| {
        c.and_then(|c| c.get(None)).map(|v| v.as_str().to_owned()).unwrap_or_default()
    };
    let first_name: String = local(claims.given_name()).chars().take(150).collect();
    let last_name: String = claims
        .family_name()
        .and_then(|c| c.get(None))
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default()
        .chars()
        .take(150)
        .collect();
    let preferred = claims.preferred_username().map(|u| u.as_str().to_owned());
    let base = username_base(preferred.as_deref(), email, &first_name);
    let mut username = base.clone();
    for n in 1..=50 {
        let taken = user::Entity::find().filter(user::Column::Username.eq(&username)).one(&core.db).await?.is_some();
        if !taken {
            break;
        }
        username = format!("{base}{n}");
        if n == 50 {
            username =
                format!("{base}{}", quartet_kernel::crypto::random_string(8, quartet_kernel::crypto::LOWER_ALNUM));
        }
    }
    quartet_kernel::auth::create_user(
        core,
        NewUser { username, email: email.to_owned(), first_name, last_name, password: None, ..Default::default() },
    )
    .await
}

/// A username made of the allowed characters (letters, digits, `@.+-_`), at most 140 long.
fn username_base(preferred: Option<&str>, email: &str, first_name: &str) -> String {
    let from_email = email.split('@').next().unwrap_or_default();
    let source = [preferred.unwrap_or_default(), from_email, first_name].into_iter().find(|s| !s.trim().is_empty());
    let cleaned: String = source
        .unwrap_or("user")
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_'))
        .take(140)
        .collect();
    if cleaned.is_empty() { "user".into() } else { cleaned }
}

#[cfg(test)]
mod tests {
    use super::username_base;

    #[test]
    fn usernames_come_from_the_preferred_name_the_e_mail_or_the_name() {
        assert_eq!(username_base(Some("ada"), "lovelace@example.com", "Ada"), "ada");
        assert_eq!(username_base(None, "ada.lovelace@example.com", "Ada"), "ada.lovelace");
        assert_eq!(username_base(None, "", "Ada Byron"), "AdaByron");
        assert_eq!(username_base(None, "", ""), "user");
        assert_eq!(username_base(Some("a b/c"), "", ""), "abc");
    }
}
