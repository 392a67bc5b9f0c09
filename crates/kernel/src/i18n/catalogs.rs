//! Every language's messages, looked up by `gettext`, `pgettext` and `ngettext`, per domain.
//!
//! Each app's catalogs are a domain of their own, named by the app's label. A page of an app
//! looks its texts up in the app's domain first, then in the kernel's (`core`), then in the
//! other apps' in installed order (a page of the jobs shows the admin's frame, whose texts are
//! the admin's). So two apps can translate one message id differently ("Order" as a purchase
//! and as a sort order), and a text without a domain (an e-mail of a job, a command) is found
//! in whichever catalog has it, the kernel's first.

use std::collections::HashMap;

use super::po::{Catalog, parse_po};
use super::{Language, name_local};

/// One `.po` catalog an app ships.
#[derive(Debug, Clone, Copy)]
pub struct Translation {
    /// Language code (`es`).
    pub language: &'static str,
    /// The catalog's text.
    pub po: &'static str,
}

/// The kernel's domain, looked up after a page's own and before the others.
pub const CORE_DOMAIN: &str = "core";

/// One language's catalogs: one per domain, in lookup order after the page's own (the
/// kernel's first), and the language's plural rule.
#[derive(Debug, Default)]
struct LanguageCatalogs {
    domains: Vec<(String, Catalog)>,
    plural: Option<super::PluralRule>,
}

/// Every catalog, by language and domain.
#[derive(Debug, Default)]
pub struct Catalogs {
    languages: Vec<Language>,
    default: String,
    catalogs: HashMap<String, LanguageCatalogs>,
}

impl Catalogs {
    /// Builds the catalogs of `languages` from the apps' `.po` files, each given with its
    /// domain (the app's label), in installed order. Two files of one domain and language add
    /// up (the later one wins a message both have); the kernel's domain is looked up before
    /// the other apps'.
    pub fn new(languages: &[String], default: &str, translations: &[(&str, Translation)]) -> anyhow::Result<Self> {
        let mut catalogs: HashMap<String, LanguageCatalogs> = HashMap::new();
        for (domain, t) in translations {
            if !languages.iter().any(|l| l == t.language) {
                continue;
            }
            let mut parsed = parse_po(t.po)
                .map_err(|e| anyhow::anyhow!("translation catalog of `{domain}` for `{}`: {e}", t.language))?;
            let language = catalogs.entry(t.language.to_owned()).or_default();
            if language.plural.is_none() {
                language.plural = parsed.plural.take();
            }
            match language.domains.iter_mut().find(|(d, _)| d == domain) {
                Some((_, catalog)) => catalog.messages.extend(parsed.messages),
                None => language.domains.push(((*domain).to_owned(), parsed)),
            }
        }
        for language in catalogs.values_mut() {
            // The kernel's domain first, the others in installed order.
            language.domains.sort_by_key(|(d, _)| d != CORE_DOMAIN);
        }
        Ok(Self {
            languages: languages
                .iter()
                .map(|code| Language { code: code.clone(), name_local: name_local(code).to_owned() })
                .collect(),
            default: default.to_owned(),
            catalogs,
        })
    }

    /// The languages offered, in configured order.
    pub fn languages(&self) -> &[Language] {
        &self.languages
    }

    /// The default language code.
    pub fn default_language(&self) -> &str {
        &self.default
    }

    /// Whether `code` is offered.
    pub fn is_offered(&self, code: &str) -> bool {
        self.languages.iter().any(|l| l.code == code)
    }

    /// Translates `msgid` into `lang` (the kernel's domain first, then the apps').
    pub fn gettext<'a>(&'a self, lang: &str, msgid: &'a str) -> &'a str {
        self.gettext_in(CORE_DOMAIN, lang, msgid)
    }

    /// Translates `msgid` into `lang`, looking in `domain` first.
    pub fn gettext_in<'a>(&'a self, domain: &str, lang: &str, msgid: &'a str) -> &'a str {
        self.lookup(domain, lang, None, msgid, 0).unwrap_or(msgid)
    }

    /// Translates `msgid` in a context (`pgettext`).
    pub fn pgettext<'a>(&'a self, lang: &str, context: &str, msgid: &'a str) -> &'a str {
        self.pgettext_in(CORE_DOMAIN, lang, context, msgid)
    }

    /// [`Catalogs::pgettext`], looking in `domain` first.
    pub fn pgettext_in<'a>(&'a self, domain: &str, lang: &str, context: &str, msgid: &'a str) -> &'a str {
        self.lookup(domain, lang, Some(context), msgid, 0).unwrap_or(msgid)
    }

    /// Translates a message with a plural form chosen by `n`.
    pub fn ngettext<'a>(&'a self, lang: &str, singular: &'a str, plural: &'a str, n: u64) -> &'a str {
        self.ngettext_in(CORE_DOMAIN, lang, singular, plural, n)
    }

    /// [`Catalogs::ngettext`], looking in `domain` first.
    pub fn ngettext_in<'a>(&'a self, domain: &str, lang: &str, singular: &'a str, plural: &'a str, n: u64) -> &'a str {
        let index =
            self.catalogs.get(lang).and_then(|c| c.plural.as_ref()).map_or(usize::from(n != 1), |rule| rule.index(n));
        self.lookup(domain, lang, None, singular, index).unwrap_or(if n == 1 { singular } else { plural })
    }

    fn lookup(&self, domain: &str, lang: &str, context: Option<&str>, msgid: &str, index: usize) -> Option<&str> {
        let language = self.catalogs.get(lang)?;
        let key = (context.map(str::to_owned), msgid.to_owned());
        let own = language.domains.iter().filter(|(d, _)| d == domain);
        let rest = language.domains.iter().filter(|(d, _)| d != domain);
        own.chain(rest).find_map(|(_, catalog)| {
            let forms = catalog.messages.get(&key)?;
            forms.get(index).or_else(|| forms.first()).map(String::as_str).filter(|s| !s.is_empty())
        })
    }

    /// The best offered language for an `Accept-Language` header, if any matches.
    pub fn negotiate(&self, accept_language: &str) -> Option<&str> {
        let mut ranges: Vec<(f32, usize, &str)> = accept_language
            .split(',')
            .enumerate()
            .filter_map(|(position, item)| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let quality = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (!tag.is_empty() && quality > 0.0).then_some((quality, position, tag))
            })
            .collect();
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranges.into_iter().find_map(|(_, _, tag)| {
            let primary = tag.split(['-', '_']).next().unwrap_or(tag).to_ascii_lowercase();
            self.languages.iter().find(|l| l.code == primary).map(|l| l.code.as_str())
        })
    }

    /// Message ids in `lang`'s catalog (for tests and the translation report).
    pub fn message_count(&self, lang: &str) -> usize {
        self.catalogs.get(lang).map_or(0, |c| c.domains.iter().map(|(_, catalog)| catalog.messages.len()).sum())
    }
}
