//! `[social_auth]`: the OpenID Connect providers people may sign in with (Google preset, any
//! other issuer by its discovery URL) and whether a sign-in may join an existing account.

use std::collections::BTreeMap;

use quartet_kernel::config::{AppSettings, ConfigError, Profile, Secret};
use serde::{Deserialize, Serialize};

/// The key of the Google preset, as the reference's `google-oauth2` backend.
pub const GOOGLE: &str = "google-oauth2";
/// Google's issuer (its discovery document is under it).
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// The most providers one site configures.
pub const MAX_PROVIDERS: usize = 16;

/// The sign-in providers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialAuthSettings {
    /// Google's OAuth client id (`QUARTET_SOCIAL_AUTH_GOOGLE_CLIENT_ID`); empty: no Google.
    pub google_client_id: String,
    /// Google's OAuth client secret (`QUARTET_SOCIAL_AUTH_GOOGLE_CLIENT_SECRET`).
    pub google_client_secret: Secret,
    /// Google's issuer; only tests point it elsewhere.
    pub google_issuer: String,
    /// A sign-in whose provider vouches for the e-mail address (`email_verified`) joins the
    /// existing account with that address. Off: it is refused with a message, and the person
    /// signs in with their password.
    pub associate_by_email: bool,
    /// Sign-ins one address may start per hour (each is a session and a call to the provider).
    pub starts_per_address_per_hour: u32,
    /// Other OpenID Connect providers, by the key in their URLs (`/social-auth/login/<key>/`).
    pub providers: BTreeMap<String, ProviderSettings>,
}

/// An OpenID Connect provider found by discovery.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// Shown on the button ("Sign in with {name}").
    pub name: String,
    /// The issuer URL; `<issuer>/.well-known/openid-configuration` is read.
    pub issuer: String,
    /// The client id the provider gave this site.
    pub client_id: String,
    /// The client secret.
    #[serde(default = "no_secret")]
    pub client_secret: Secret,
}

/// A provider ready to use: its key, name, issuer and client.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The key in the URLs.
    pub key: String,
    /// The name on the button.
    pub name: String,
    /// The issuer URL.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
}

impl AppSettings for SocialAuthSettings {
    const SECTION: &'static str = "social_auth";

    fn defaults(_profile: Profile) -> Self {
        Self {
            google_client_id: String::new(),
            google_client_secret: no_secret(),
            google_issuer: GOOGLE_ISSUER.into(),
            associate_by_email: false,
            starts_per_address_per_hour: 60,
            providers: BTreeMap::new(),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.providers.len() > MAX_PROVIDERS {
            return Err(ConfigError::invalid("social_auth.providers", format!("at most {MAX_PROVIDERS} providers")));
        }
        if !self.google_client_id.is_empty() && self.google_client_secret.is_empty() {
            return Err(ConfigError::invalid(
                "social_auth.google_client_secret",
                "is needed with social_auth.google_client_id",
            ));
        }
        check_issuer("social_auth.google_issuer", &self.google_issuer)?;
        for (key, provider) in &self.providers {
            let at = format!("social_auth.providers.{key}");
            let good_key = !key.is_empty()
                && key.len() <= 40
                && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !good_key || key == GOOGLE {
                return Err(ConfigError::invalid(
                    &at,
                    "a provider's key has 1 to 40 lowercase letters, digits and underscores (google-oauth2 is the Google preset)",
                ));
            }
            if provider.name.trim().is_empty() || provider.client_id.is_empty() {
                return Err(ConfigError::invalid(&at, "needs a name and a client_id"));
            }
            check_issuer(&format!("{at}.issuer"), &provider.issuer)?;
        }
        Ok(())
    }
}

fn no_secret() -> Secret {
    Secret::new("")
}

fn check_issuer(key: &str, issuer: &str) -> Result<(), ConfigError> {
    match url::Url::parse(issuer) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => Ok(()),
        _ => Err(ConfigError::invalid(key, "must be an http(s) URL, the provider's issuer")),
    }
}

impl SocialAuthSettings {
    /// The configured providers, Google first.
    pub fn providers(&self) -> Vec<Provider> {
        let mut all = Vec::new();
        if !self.google_client_id.is_empty() {
            all.push(Provider {
                key: GOOGLE.into(),
                name: "Google".into(),
                issuer: self.google_issuer.clone(),
                client_id: self.google_client_id.clone(),
                client_secret: self.google_client_secret.clone(),
            });
        }
        all.extend(self.providers.iter().map(|(key, p)| Provider {
            key: key.clone(),
            name: p.name.clone(),
            issuer: p.issuer.clone(),
            client_id: p.client_id.clone(),
            client_secret: p.client_secret.clone(),
        }));
        all
    }

    /// The provider of `key`, if configured.
    pub fn provider(&self, key: &str) -> Option<Provider> {
        self.providers().into_iter().find(|p| p.key == key)
    }
}
