//! Every language's messages, looked up by `gettext`, `pgettext` and `ngettext`.

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

/// Every catalog, by language.
#[derive(Debug, Default)]
pub struct Catalogs {
    languages: Vec<Language>,
    default: String,
    catalogs: HashMap<String, Catalog>,
}

impl Catalogs {
    /// Builds the catalogs of `languages` from the apps' `.po` files (later files add to and
    /// override earlier ones).
    pub fn new(languages: &[String], default: &str, translations: &[Translation]) -> anyhow::Result<Self> {
        let mut catalogs: HashMap<String, Catalog> = HashMap::new();
        for t in translations {
            if !languages.iter().any(|l| l == t.language) {
                continue;
            }
            let parsed =
                parse_po(t.po).map_err(|e| anyhow::anyhow!("translation catalog for `{}`: {e}", t.language))?;
            let catalog = catalogs.entry(t.language.to_owned()).or_default();
            if parsed.plural.is_some() {
                catalog.plural = parsed.plural;
            }
            catalog.messages.extend(parsed.messages);
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

    /// Translates `msgid` into `lang`.
    pub fn gettext<'a>(&'a self, lang: &str, msgid: &'a str) -> &'a str {
        self.lookup(lang, None, msgid, 0).unwrap_or(msgid)
    }

    /// Translates `msgid` in a context (`pgettext`).
    pub fn pgettext<'a>(&'a self, lang: &str, context: &str, msgid: &'a str) -> &'a str {
        self.lookup(lang, Some(context), msgid, 0).unwrap_or(msgid)
    }

    /// Translates a message with a plural form chosen by `n`.
    pub fn ngettext<'a>(&'a self, lang: &str, singular: &'a str, plural: &'a str, n: u64) -> &'a str {
        let index =
            self.catalogs.get(lang).and_then(|c| c.plural.as_ref()).map_or(usize::from(n != 1), |rule| rule.index(n));
        self.lookup(lang, None, singular, index).unwrap_or(if n == 1 { singular } else { plural })
    }

    fn lookup(&self, lang: &str, context: Option<&str>, msgid: &str, index: usize) -> Option<&str> {
        let catalog = self.catalogs.get(lang)?;
        let forms = catalog.messages.get(&(context.map(str::to_owned), msgid.to_owned()))?;
        forms.get(index).or_else(|| forms.first()).map(String::as_str).filter(|s| !s.is_empty())
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
        self.catalogs.get(lang).map_or(0, |c| c.messages.len())
    }
}
