//! A local OpenID Connect provider for tests: discovery, keys (JWKS), an authorization endpoint
//! that consents at once, and a token endpoint that checks the code, the redirect address, the
//! client's secret and the PKCE verifier, then answers an RS256-signed ID token. What the next
//! ID token gets wrong is chosen with [`OidcProvider::next_token`].
//!
//! ```ignore
//! let idp = OidcProvider::start("quartet-test", "test-secret").await;
//! settings.app_mut::<SocialAuthSettings>().google_issuer = idp.issuer();
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey,
};
use openidconnect::{
    Audience, EmptyAdditionalClaims, EndUserEmail, EndUserGivenName, IssuerUrl, JsonWebKeyId, LocalizedClaim, Nonce,
    PrivateSigningKey as _, StandardClaims, SubjectIdentifier,
};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use serde::Deserialize;
use sha2::Digest as _;

/// What the next ID token gets wrong (or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenFault {
    /// A good token.
    #[default]
    None,
    /// Another nonce than the one asked for.
    WrongNonce,
    /// Expired an hour ago.
    Expired,
    /// Signed by a key the provider does not publish.
    OtherKey,
    /// For another client.
    WrongAudience,
}

/// The person who signs in at the provider.
#[derive(Debug, Clone)]
pub struct OidcPerson {
    /// The subject (`sub`).
    pub subject: String,
    /// The e-mail address.
    pub email: String,
    /// Whether the provider vouches for it.
    pub email_verified: bool,
    /// The given name.
    pub given_name: String,
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: String,
}

struct Inner {
    issuer: String,
    client_id: String,
    client_secret: String,
    grants: Mutex<HashMap<String, Grant>>,
    fault: Mutex<TokenFault>,
    person: Mutex<OidcPerson>,
    tokens_issued: Mutex<u32>,
}

/// The provider, serving on a loopback port until dropped.
pub struct OidcProvider {
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Two RSA keys made once per test process: the published one and another.
fn keys() -> &'static (CoreRsaPrivateSigningKey, CoreRsaPrivateSigningKey) {
    static KEYS: OnceLock<(CoreRsaPrivateSigningKey, CoreRsaPrivateSigningKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let make = |kid: &str| {
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("an RSA key");
            let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).expect("PEM");
            CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new(kid.into()))).expect("a signing key")
        };
        (make("published"), make("unpublished"))
    })
}

impl OidcProvider {
    /// Starts the provider for one client.
    pub async fn start(client_id: &str, client_secret: &str) -> OidcProvider {
        let _ = keys();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let issuer = format!("http://{}", listener.local_addr().expect("an address"));
        let inner = Arc::new(Inner {
            issuer,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            grants: Mutex::default(),
            fault: Mutex::default(),
            person: Mutex::new(OidcPerson {
                subject: "10769150350006150715113082367".into(),
                email: "ada@example.com".into(),
                email_verified: true,
                given_name: "Ada".into(),
            }),
            tokens_issued: Mutex::new(0),
        });
        let router = axum::Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        OidcProvider { inner, task }
    }

    /// The issuer URL (`http://127.0.0.1:<port>`).
    pub fn issuer(&self) -> String {
        self.inner.issuer.clone()
    }

    /// What the next ID token gets wrong.
    pub fn next_token(&self, fault: TokenFault) {
        *self.inner.fault.lock().unwrap() = fault;
    }

    /// Who signs in from now on.
    pub fn person(&self, person: OidcPerson) {
        *self.inner.person.lock().unwrap() = person;
    }

    /// The tokens the token endpoint gave out.
    pub fn tokens_issued(&self) -> u32 {
        *self.inner.tokens_issued.lock().unwrap()
    }
}

async fn discovery(State(idp): State<Arc<Inner>>) -> Response {
    let issuer = &idp.issuer;
    axum::Json(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    }))
    .into_response()
}

async fn jwks() -> Response {
    axum::Json(CoreJsonWebKeySet::new(vec![keys().0.as_verification_key()])).into_response()
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    response_type: String,
    state: String,
    nonce: String,
    code_challenge: String,
    code_challenge_method: String,
    scope: String,
}

/// Consents at once: back to the client with a code.
async fn authorize(State(idp): State<Arc<Inner>>, Query(q): Query<AuthorizeQuery>) -> Response {
    if q.client_id != idp.client_id
        || q.response_type != "code"
        || q.code_challenge_method != "S256"
        || !q.scope.split(' ').any(|s| s == "openid")
    {
        return (StatusCode::BAD_REQUEST, "invalid authorization request").into_response();
    }
    let code = format!("code-{}", uuid_like());
    let grant = Grant {
        client_id: q.client_id,
        redirect_uri: q.redirect_uri.clone(),
        challenge: q.code_challenge,
        nonce: q.nonce,
    };
    idp.grants.lock().unwrap().insert(code.clone(), grant);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", &code)
        .append_pair("state", &q.state)
        .finish();
    Redirect::to(&format!("{}?{query}", q.redirect_uri)).into_response()
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    format!("{:x}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: String,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn token_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(serde_json::json!({ "error": error }))).into_response()
}

/// The client's id and secret, from HTTP Basic or the form.
fn client_credentials(headers: &HeaderMap, form: &TokenForm) -> Option<(String, String)> {
    if let Some(basic) =
        headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD.decode(basic).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        let unescape =
            |s: &str| url::form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
        return Some((unescape(id)?, unescape(secret)?));
    }
    Some((form.client_id.clone()?, form.client_secret.clone()?))
}

async fn token(State(idp): State<Arc<Inner>>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    if form.grant_type != "authorization_code" {
        return token_error("unsupported_grant_type");
    }
    if client_credentials(&headers, &form) != Some((idp.client_id.clone(), idp.client_secret.clone())) {
        return (StatusCode::UNAUTHORIZED, axum::Json(serde_json::json!({ "error": "invalid_client" })))
            .into_response();
    }
    let Some(grant) = idp.grants.lock().unwrap().remove(&form.code) else { return token_error("invalid_grant") };
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(form.code_verifier.as_bytes()));
    if grant.redirect_uri != form.redirect_uri || challenge != grant.challenge || grant.client_id != idp.client_id {
        return token_error("invalid_grant");
    }
    let fault = std::mem::take(&mut *idp.fault.lock().unwrap());
    let person = idp.person.lock().unwrap().clone();
    let now = chrono::Utc::now();
    let (issued, expires) = match fault {
        TokenFault::Expired => (now - chrono::Duration::hours(2), now - chrono::Duration::hours(1)),
        _ => (now, now + chrono::Duration::hours(1)),
    };
    let audience = if fault == TokenFault::WrongAudience { "another-client".to_owned() } else { idp.client_id.clone() };
    let mut given = LocalizedClaim::new();
    given.insert(None, EndUserGivenName::new(person.given_name));
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(idp.issuer.clone()).expect("an issuer URL"),
        vec![Audience::new(audience)],
        expires,
        issued,
        StandardClaims::new(SubjectIdentifier::new(person.subject))
            .set_email(Some(EndUserEmail::new(person.email)))
            .set_email_verified(Some(person.email_verified))
            .set_given_name(Some(given)),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(if fault == TokenFault::WrongNonce {
        "another-nonce".into()
    } else {
        grant.nonce
    })));
    let key = if fault == TokenFault::OtherKey { &keys().1 } else { &keys().0 };
    let id_token = CoreIdToken::new(claims, key, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, None, None)
        .expect("the token signs");
    *idp.tokens_issued.lock().unwrap() += 1;
    axum::Json(serde_json::json!({
        "access_token": format!("access-{}", uuid_like()),
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": id_token.to_string(),
    }))
    .into_response()
}
