//! [`Tr`]: one language's translations, handed to forms, e-mails and commands.

use std::sync::Arc;

use super::Catalogs;

/// Translates with one language; usable outside templates (forms, e-mails).
#[derive(Debug, Clone)]
pub struct Tr {
    catalogs: Arc<Catalogs>,
    lang: String,
    domain: &'static str,
}

impl Tr {
    /// A translator for `lang` (the kernel's domain first, then the apps').
    pub fn new(catalogs: Arc<Catalogs>, lang: impl Into<String>) -> Self {
        Self::in_domain(catalogs, super::CORE_DOMAIN, lang)
    }

    /// A translator for `lang` that looks in the app `domain`'s catalog first.
    pub fn in_domain(catalogs: Arc<Catalogs>, domain: &'static str, lang: impl Into<String>) -> Self {
        Self { catalogs, lang: lang.into(), domain }
    }

    /// The domain looked up first.
    pub fn domain(&self) -> &'static str {
        self.domain
    }

    /// The language code.
    pub fn lang(&self) -> &str {
        &self.lang
    }

    /// Translates a message.
    pub fn t<'a>(&'a self, msgid: &'a str) -> &'a str {
        self.catalogs.gettext_in(self.domain, &self.lang, msgid)
    }

    /// Translates a message and fills `{name}` placeholders.
    pub fn f(&self, msgid: &str, args: &[(&str, &(dyn std::fmt::Display + Sync))]) -> String {
        fill(self.catalogs.gettext_in(self.domain, &self.lang, msgid), args)
    }

    /// Translates a message with a plural chosen by `n` and fills `{n}` and `args`.
    pub fn n(&self, singular: &str, plural: &str, n: u64, args: &[(&str, &(dyn std::fmt::Display + Sync))]) -> String {
        let mut all: Vec<(&str, &(dyn std::fmt::Display + Sync))> = vec![("n", &n)];
        all.extend_from_slice(args);
        fill(self.catalogs.ngettext_in(self.domain, &self.lang, singular, plural, n), &all)
    }
}

/// Replaces `{name}` placeholders.
///
/// One pass over `text`: a value that itself contains `{name}` is left as it is.
pub fn fill(text: &str, args: &[(&str, &(dyn std::fmt::Display + Sync))]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let found = after.find('}').and_then(|close| {
            let name = &after[..close];
            args.iter().find(|(n, _)| *n == name).map(|(_, value)| (close, value))
        });
        match found {
            Some((close, value)) => {
                out.push_str(&value.to_string());
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn placeholders_are_filled_once() {
        assert_eq!(fill("{a} and {b}", &[("a", &"{b}"), ("b", &2)]), "{b} and 2");
        assert_eq!(fill("{unknown} {a}", &[("a", &1)]), "{unknown} 1");
        assert_eq!(fill("open { brace", &[]), "open { brace");
    }
}
