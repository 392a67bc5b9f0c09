//! `quartet check --deploy`: the insecure settings Django's deployment checks report, with
//! Django's identifiers.
//!
//! Quartet always installs the security, frame-options and CSRF middleware and always sends
//! `nosniff`, so Django's W001, W002, W003, W006, W010, W011, W014, W015 and W017 cannot fire;
//! W007 (`X-XSS-Protection`) was removed from Django 3.0 and has no counterpart.

use std::collections::HashSet;

use crate::config::Settings;

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `security.W004` and so on.
    pub id: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl Finding {
    fn new(id: &'static str, message: impl Into<String>) -> Self {
        Self { id, message: message.into() }
    }

    /// Whether this is an error (`E`) rather than a warning.
    pub fn is_error(&self) -> bool {
        self.id.contains(".E")
    }
}

const REFERRER_POLICIES: &[&str] = &[
    "no-referrer",
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
];

const COOP_VALUES: &[&str] = &["same-origin", "same-origin-allow-popups", "unsafe-none"];

/// Whether the secret key is too weak for production (Django's W009 rule).
pub fn secret_key_is_weak(key: &str) -> bool {
    key.chars().count() < 50 || key.chars().collect::<HashSet<_>>().len() < 5 || key.starts_with("quartet-insecure-")
}

/// The deployment findings for `settings`.
pub fn deploy_findings(settings: &Settings) -> Vec<Finding> {
    let s = &settings.security;
    let mut out = Vec::new();
    if s.hsts_seconds == 0 {
        out.push(Finding::new(
            "security.W004",
            "You have not set a value for security.hsts_seconds. If your entire site is served only over HTTPS, \
             set it (31536000 is one year) so browsers refuse plain connections. Be careful: a wrong value can make \
             the site unreachable for that long.",
        ));
    } else {
        if !s.hsts_include_subdomains {
            out.push(Finding::new(
                "security.W005",
                "security.hsts_include_subdomains is off. Without it, subdomains can be reached over plain HTTP.",
            ));
        }
        if !s.hsts_preload {
            out.push(Finding::new(
                "security.W021",
                "security.hsts_preload is off. Without it, the site cannot be added to the browser preload list.",
            ));
        }
    }
    if !s.ssl_redirect {
        out.push(Finding::new(
            "security.W008",
            "security.ssl_redirect is off. Unless a proxy in front redirects every HTTP request to HTTPS, turn it on.",
        ));
    }
    if secret_key_is_weak(settings.secret_key.expose()) {
        out.push(Finding::new(
            "security.W009",
            "secret_key has less than 50 characters, less than 5 different characters, or is the generated \
             development key. Set QUARTET_SECRET_KEY to a long random value.",
        ));
    }
    if !settings.session.cookie_secure {
        out.push(Finding::new(
            "security.W012",
            "session.cookie_secure is off. Session cookies could be sent over plain HTTP and stolen.",
        ));
    }
    if !settings.session.cookie_httponly {
        out.push(Finding::new(
            "security.W013",
            "session.cookie_httponly is off. Scripts in the page (and cross-site scripting) can read the session cookie.",
        ));
    }
    if !s.csrf_cookie_secure {
        out.push(Finding::new(
            "security.W016",
            "security.csrf_cookie_secure is off. The CSRF cookie could be sent over plain HTTP.",
        ));
    }
    if settings.debug {
        out.push(Finding::new("security.W018", "debug is on. Never run a public site with debug on."));
    }
    if s.x_frame_options != "DENY" {
        out.push(Finding::new(
            "security.W019",
            "security.x_frame_options is not DENY. Unless pages must be framed by the site itself, use DENY.",
        ));
    }
    if settings.allowed_hosts.is_empty() {
        out.push(Finding::new("security.W020", "allowed_hosts is empty. List the host names the site answers to."));
    }
    if s.referrer_policy.trim().is_empty() {
        out.push(Finding::new(
            "security.W022",
            "security.referrer_policy is empty. Set it (same-origin is a good value) so addresses do not leak to other sites.",
        ));
    } else if !s.referrer_policy.split(',').all(|v| REFERRER_POLICIES.contains(&v.trim())) {
        out.push(Finding::new(
            "security.E023",
            format!(
                "security.referrer_policy `{}` is not valid; use one of: {}.",
                s.referrer_policy,
                REFERRER_POLICIES.join(", ")
            ),
        ));
    }
    if settings.devtools.toolbar {
        out.push(Finding::new(
            "quartet.W101",
            "devtools.toolbar is on. The SQL panel shows every statement a page runs, values included; turn it off.",
        ));
    }
    if settings.metrics.access == crate::config::MetricsAccess::Token
        && settings.metrics.token.expose().chars().count() < 32
    {
        out.push(Finding::new(
            "quartet.W102",
            "metrics.access is token but metrics.token has fewer than 32 characters. Use a long random token.",
        ));
    }
    if !s.cross_origin_opener_policy.is_empty() && !COOP_VALUES.contains(&s.cross_origin_opener_policy.as_str()) {
        out.push(Finding::new(
            "security.E024",
            format!(
                "security.cross_origin_opener_policy `{}` is not valid; use one of: {}.",
                s.cross_origin_opener_policy,
                COOP_VALUES.join(", ")
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Profile, Secret};

    fn production() -> Settings {
        let mut s = Settings::defaults(Profile::Production);
        s.secret_key = Secret::new("k3V!9xq#Lm2@Zr7$Tw5^Yp8&Hn4*Jb6(Cd1)Fg0_Qs-+Ue=Ai~Ox".to_owned());
        s.allowed_hosts = vec!["example.com".into()];
        s
    }

    fn ids(s: &Settings) -> Vec<&'static str> {
        deploy_findings(s).iter().map(|f| f.id).collect()
    }

    #[test]
    fn the_toolbar_and_a_short_metrics_token_are_flagged() {
        let mut s = production();
        assert!(!ids(&s).iter().any(|id| id.starts_with("quartet.")), "{:?}", ids(&s));
        s.devtools.toolbar = true;
        assert!(ids(&s).contains(&"quartet.W101"));
        s.metrics.access = crate::config::MetricsAccess::Token;
        s.metrics.token = Secret::new("x".repeat(31));
        assert!(ids(&s).contains(&"quartet.W102"));
        s.metrics.token = Secret::new("x".repeat(32));
        assert!(!ids(&s).contains(&"quartet.W102"));
    }

    #[test]
    fn a_production_configuration_has_no_findings() {
        assert_eq!(ids(&production()), Vec::<&str>::new());
    }

    #[test]
    fn the_development_defaults_report_every_insecure_setting() {
        let mut s = Settings::defaults(Profile::Development);
        s.secret_key = Secret::new("quartet-insecure-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP");
        assert_eq!(
            ids(&s),
            [
                "security.W004",
                "security.W008",
                "security.W009",
                "security.W012",
                "security.W016",
                "security.W018",
                "security.W020",
                "quartet.W101"
            ]
        );
    }

    #[test]
    fn each_check_fires_alone_when_its_setting_is_insecure() {
        type Change = fn(&mut Settings);
        let cases: &[(&str, Change)] = &[
            ("security.W004", |s| s.security.hsts_seconds = 0),
            ("security.W005", |s| s.security.hsts_include_subdomains = false),
            ("security.W008", |s| s.security.ssl_redirect = false),
            ("security.W009", |s| s.secret_key = Secret::new("short")),
            ("security.W012", |s| s.session.cookie_secure = false),
            ("security.W013", |s| s.session.cookie_httponly = false),
            ("security.W016", |s| s.security.csrf_cookie_secure = false),
            ("security.W018", |s| s.debug = true),
            ("security.W019", |s| s.security.x_frame_options = "SAMEORIGIN".into()),
            ("security.W020", |s| s.allowed_hosts.clear()),
            ("security.W021", |s| s.security.hsts_preload = false),
            ("security.W022", |s| s.security.referrer_policy = String::new()),
            ("security.E023", |s| s.security.referrer_policy = "same-origin, everywhere".into()),
            ("security.E024", |s| s.security.cross_origin_opener_policy = "open".into()),
        ];
        for (id, change) in cases {
            let mut s = production();
            change(&mut s);
            assert_eq!(ids(&s), vec![*id], "{id}");
        }
    }

    #[test]
    fn weak_keys_are_recognised() {
        assert!(secret_key_is_weak(""));
        assert!(secret_key_is_weak(&"a".repeat(60)));
        assert!(secret_key_is_weak(&format!("quartet-insecure-{}", "x1y2z3w4".repeat(8))));
        assert!(!secret_key_is_weak("8f2Lq9Xw3Rv7Tz1Kp5Mn4Bc6Hd0Jg2Sa8Ye5Uo3Ii7Wr1Qt9Pz4Lx"));
    }
}
