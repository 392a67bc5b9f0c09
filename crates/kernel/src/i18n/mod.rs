//! Translations: gettext `.po` catalogs, Plural-Forms, the translator handed to forms and
//! e-mails, and choosing a visitor's language.
//!
//! Texts in templates and code are English message ids; each app ships `.po` catalogs per
//! language. A message missing from a catalog falls back to its id, so English needs no catalog.
//! A request's language comes from (in order) a `/xx/` path prefix, the language cookie, the
//! `Accept-Language` header, and the configured default ([`choose_language`]).

mod catalogs;
mod formats;
mod plural;
mod po;
mod tr;

use axum::http::{HeaderMap, header};

pub use catalogs::{CORE_DOMAIN, Catalogs, Translation};
pub use formats::{format_date, format_datetime, timesince};
pub use plural::PluralRule;
pub use po::{Catalog, PoError, parse_po};
pub use tr::{Tr, fill};

/// The language of the current request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale(pub String);

/// The request's language: a `/xx/` path prefix, the language cookie (named `cookie_name`),
/// `Accept-Language`, or the default.
pub fn choose_language(i18n: &Catalogs, cookie_name: &str, headers: &HeaderMap, path: &str) -> String {
    if let Some(prefix) = path.strip_prefix('/').and_then(|p| p.split('/').next())
        && path.len() > prefix.len() + 1
        && i18n.is_offered(prefix)
    {
        return prefix.to_owned();
    }
    if let Some(code) = crate::http::cookies::get(headers, cookie_name)
        && i18n.is_offered(&code)
    {
        return code;
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| i18n.negotiate(v))
        .unwrap_or(i18n.default_language())
        .to_owned()
}

/// A language the site offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language {
    /// The code (`es`).
    pub code: String,
    /// The language's name in itself (`Español`).
    pub name_local: String,
}

/// Known names of languages in themselves.
fn name_local(code: &str) -> &'static str {
    match code {
        "en" => "English",
        "es" => "Español",
        "fr" => "Français",
        "de" => "Deutsch",
        "it" => "Italiano",
        "pt" => "Português",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PO: &str = r#"
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

#: templates/login.html
msgid "Log-in"
msgstr "Iniciar sesión"

msgid "Long "
"text"
msgstr "Texto "
"largo"

msgid "{n} item"
msgid_plural "{n} items"
msgstr[0] "{n} artículo"
msgstr[1] "{n} artículos"

msgctxt "month"
msgid "May"
msgstr "Mayo"

#, fuzzy
msgid "Checkout"
msgstr "Comprar?"

msgid "Quote \"me\""
msgstr "Cítame \"ya\""
"#;

    fn catalogs() -> Catalogs {
        Catalogs::new(&["en".into(), "es".into()], "en", &[("core", Translation { language: "es", po: PO })]).unwrap()
    }

    #[test]
    fn messages_translate_and_fall_back_to_the_id() {
        let c = catalogs();
        assert_eq!(c.gettext("es", "Log-in"), "Iniciar sesión");
        assert_eq!(c.gettext("es", "Long text"), "Texto largo");
        assert_eq!(c.gettext("en", "Log-in"), "Log-in");
        assert_eq!(c.gettext("es", "Unknown"), "Unknown");
        assert_eq!(c.gettext("es", "Quote \"me\""), "Cítame \"ya\"");
        assert_eq!(c.pgettext("es", "month", "May"), "Mayo");
        assert_eq!(c.gettext("es", "May"), "May");
    }

    #[test]
    fn fuzzy_entries_are_not_used() {
        assert_eq!(catalogs().gettext("es", "Checkout"), "Checkout");
    }

    #[test]
    fn plurals_follow_the_catalog_rule() {
        let c = catalogs();
        assert_eq!(c.ngettext("es", "{n} item", "{n} items", 1), "{n} artículo");
        assert_eq!(c.ngettext("es", "{n} item", "{n} items", 0), "{n} artículos");
        assert_eq!(c.ngettext("en", "{n} item", "{n} items", 2), "{n} items");
    }

    #[test]
    fn plural_rules_of_several_languages_evaluate() {
        let polish = PluralRule::parse("n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2").unwrap();
        let got: Vec<usize> = [1, 2, 5, 12, 22, 25, 102].iter().map(|n| polish.index(*n)).collect();
        assert_eq!(got, [0, 1, 2, 2, 1, 2, 1]);
        let french = PluralRule::parse("(n > 1)").unwrap();
        assert_eq!((french.index(0), french.index(1), french.index(2)), (0, 0, 1));
        assert!(PluralRule::parse("n ==").is_err());
        assert!(PluralRule::parse("n $ 2").is_err());
    }

    #[test]
    fn accept_language_picks_the_best_offered_language() {
        let c = catalogs();
        assert_eq!(c.negotiate("es-ES,es;q=0.9,en;q=0.8"), Some("es"));
        assert_eq!(c.negotiate("fr-FR, en;q=0.5, es;q=0.7"), Some("es"));
        assert_eq!(c.negotiate("de, fr"), None);
        assert_eq!(c.negotiate("es;q=0, en"), Some("en"));
        assert_eq!(c.negotiate(""), None);
    }

    #[test]
    fn broken_catalogs_report_the_line() {
        let err = parse_po("msgid \"a\"\nmsgstr \"b").err().unwrap();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn each_domain_is_looked_up_first_on_its_pages_then_the_kernels() {
        let shop = "msgid \"Order\"\nmsgstr \"Pedido\"\n";
        let library = "msgid \"Order\"\nmsgstr \"Orden\"\n\nmsgid \"Shelf\"\nmsgstr \"Estante\"\n";
        let core = "msgid \"Order\"\nmsgstr \"Orden de la casa\"\n\nmsgid \"Home\"\nmsgstr \"Inicio\"\n";
        let c = Catalogs::new(
            &["en".into(), "es".into()],
            "en",
            &[
                ("shop", Translation { language: "es", po: shop }),
                ("core", Translation { language: "es", po: core }),
                ("library", Translation { language: "es", po: library }),
            ],
        )
        .unwrap();
        assert_eq!(c.gettext_in("shop", "es", "Order"), "Pedido");
        assert_eq!(c.gettext_in("library", "es", "Order"), "Orden");
        assert_eq!(c.gettext_in("blog", "es", "Order"), "Orden de la casa", "an app without it: the kernel's");
        assert_eq!(c.gettext("es", "Order"), "Orden de la casa", "no domain: the kernel's first");
        assert_eq!(c.gettext_in("shop", "es", "Home"), "Inicio", "the kernel's text on an app's page");
        assert_eq!(c.gettext_in("shop", "es", "Shelf"), "Estante", "another app's text as a last resort");
        assert_eq!(c.message_count("es"), 5);
    }
}
