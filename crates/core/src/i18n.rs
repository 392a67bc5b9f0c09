//! Translations: gettext `.po` catalogs, Plural-Forms, and choosing a visitor's language.
//!
//! Texts in templates and code are English message ids; each app ships `.po` catalogs per
//! language. A message missing from a catalog falls back to its id, so English needs no catalog.
//! A request's language comes from (in order) the session, the language cookie, the
//! `Accept-Language` header, and the configured default.

use std::collections::HashMap;
use std::fmt;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::app::Translation;
use crate::forms::FormData;
use crate::http::host::RequestHost;
use crate::state::CoreState;

/// The language of the current request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale(pub String);

/// The request's language: a `/xx/` path prefix, the language cookie, `Accept-Language`, or
/// the default.
pub fn choose_language(core: &CoreState, headers: &HeaderMap, path: &str) -> String {
    let i18n = &core.i18n;
    if let Some(prefix) = path.strip_prefix('/').and_then(|p| p.split('/').next())
        && path.len() > prefix.len() + 1
        && i18n.is_offered(prefix)
    {
        return prefix.to_owned();
    }
    if let Some(code) = crate::http::cookies::get(headers, &core.settings.i18n.cookie_name)
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

/// Middleware: records the [`Locale`] and says which language the response is in.
pub async fn layer(State(core): State<CoreState>, mut request: Request, next: Next) -> Response {
    let lang = choose_language(&core, request.headers(), request.uri().path());
    request.extensions_mut().insert(Locale(lang.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&lang) {
        headers.insert(header::CONTENT_LANGUAGE, value);
    }
    crate::http::add_vary(headers, "Accept-Language");
    response
}

/// `POST /i18n/setlang/` with `language` and `next`: remembers the choice in a cookie and goes
/// back to `next` (if it is on this site) or the home page.
pub async fn set_language(State(core): State<CoreState>, host: RequestHost, data: FormData) -> Response {
    let next = data
        .get("next")
        .filter(|n| crate::http::redirect::is_safe(n, &host.host, host.secure))
        .unwrap_or("/")
        .to_owned();
    let mut response = Redirect::to(&next).into_response();
    if let Some(code) = data.get("language").filter(|c| core.i18n.is_offered(c)) {
        let cookie = crate::http::cookies::build(
            &core.settings.i18n.cookie_name,
            code,
            Some(31_536_000),
            core.settings.session.cookie_secure,
            false,
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
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

/// Every catalog, by language.
#[derive(Debug, Default)]
pub struct Catalogs {
    languages: Vec<Language>,
    default: String,
    catalogs: HashMap<String, Catalog>,
}

/// One language's messages.
#[derive(Debug, Default)]
pub struct Catalog {
    messages: HashMap<(Option<String>, String), Vec<String>>,
    plural: Option<PluralRule>,
}

/// A `.po` file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct PoError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
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

/// Parses a `.po` catalog. Fuzzy entries and the header entry are not messages.
pub fn parse_po(text: &str) -> Result<Catalog, PoError> {
    #[derive(Default)]
    struct Entry {
        context: Option<String>,
        id: Option<String>,
        plural_id: Option<String>,
        forms: Vec<(usize, String)>,
        fuzzy: bool,
    }
    enum Field {
        Context,
        Id,
        PluralId,
        Str(usize),
    }

    let mut catalog = Catalog::default();
    let mut entry = Entry::default();
    let mut field: Option<Field> = None;

    let finish = |entry: Entry, catalog: &mut Catalog| {
        let Some(id) = entry.id else { return };
        let mut forms: Vec<(usize, String)> = entry.forms;
        forms.sort_by_key(|(i, _)| *i);
        let forms: Vec<String> = forms.into_iter().map(|(_, s)| s).collect();
        if id.is_empty() && entry.context.is_none() {
            let header = forms.first().cloned().unwrap_or_default();
            catalog.plural = header
                .lines()
                .find_map(|l| l.trim().strip_prefix("Plural-Forms:"))
                .and_then(|rule| rule.split(';').find_map(|p| p.trim().strip_prefix("plural=")))
                .and_then(|expr| PluralRule::parse(expr).ok());
            return;
        }
        if entry.fuzzy || forms.iter().all(String::is_empty) {
            return;
        }
        catalog.messages.insert((entry.context, id), forms);
    };

    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let error = |message: &str| PoError { line: number + 1, message: message.to_owned() };
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if comment.starts_with(',') && comment.contains("fuzzy") {
                if entry.id.is_some() {
                    finish(std::mem::take(&mut entry), &mut catalog);
                    field = None;
                }
                entry.fuzzy = true;
            }
            continue;
        }
        if line.starts_with('"') {
            let value = unquote(line).ok_or_else(|| error("unterminated string"))?;
            let target = match field {
                Some(Field::Context) => entry.context.as_mut(),
                Some(Field::Id) => entry.id.as_mut(),
                Some(Field::PluralId) => entry.plural_id.as_mut(),
                Some(Field::Str(i)) => entry.forms.iter_mut().find(|(n, _)| *n == i).map(|(_, s)| s),
                None => None,
            }
            .ok_or_else(|| error("a string continues no keyword"))?;
            target.push_str(&value);
            continue;
        }
        let (keyword, rest) =
            line.split_once(char::is_whitespace).ok_or_else(|| error("expected a keyword and a string"))?;
        let value = unquote(rest.trim()).ok_or_else(|| error("expected a quoted string"))?;
        match keyword {
            "msgctxt" => {
                // A context starts a new entry (a `#, fuzzy` comment before it already did).
                if entry.id.is_some() {
                    finish(std::mem::take(&mut entry), &mut catalog);
                }
                entry.context = Some(value);
                field = Some(Field::Context);
            }
            "msgid" => {
                if entry.id.is_some() {
                    finish(std::mem::take(&mut entry), &mut catalog);
                }
                entry.id = Some(value);
                field = Some(Field::Id);
            }
            "msgid_plural" => {
                entry.plural_id = Some(value);
                field = Some(Field::PluralId);
            }
            "msgstr" => {
                entry.forms.push((0, value));
                field = Some(Field::Str(0));
            }
            k if k.starts_with("msgstr[") && k.ends_with(']') => {
                let index: usize = k[7..k.len() - 1].parse().map_err(|_| error("bad plural index"))?;
                entry.forms.push((index, value));
                field = Some(Field::Str(index));
            }
            _ => return Err(error("unknown keyword")),
        }
    }
    finish(entry, &mut catalog);
    Ok(catalog)
}

/// Reads a C-style quoted string.
fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// A parsed `plural=` expression of a catalog header (C syntax over `n`).
#[derive(Clone, PartialEq, Eq)]
pub struct PluralRule(Expr);

impl fmt::Debug for PluralRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PluralRule(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    N,
    Num(i64),
    Not(Box<Expr>),
    Binary(Box<Expr>, &'static str, Box<Expr>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
}

impl PluralRule {
    /// Parses an expression such as `(n != 1)` or
    /// `n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2`.
    pub fn parse(source: &str) -> Result<Self, String> {
        let tokens = tokenize(source)?;
        let mut parser = Parser { tokens, pos: 0 };
        let expr = parser.ternary()?;
        if parser.pos != parser.tokens.len() {
            return Err(format!("unexpected `{}`", parser.tokens[parser.pos]));
        }
        Ok(Self(expr))
    }

    /// The plural form index for `n`.
    pub fn index(&self, n: u64) -> usize {
        usize::try_from(eval(&self.0, i64::try_from(n).unwrap_or(i64::MAX)).max(0)).unwrap_or(0)
    }
}

fn tokenize(source: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = source.trim().trim_end_matches(';').chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if ["==", "!=", "<=", ">=", "&&", "||"].contains(&two.as_str()) {
                tokens.push(two);
                i += 2;
            } else if "n()?:!<>+-*/%".contains(c) {
                tokens.push(c.to_string());
                i += 1;
            } else {
                return Err(format!("unexpected character `{c}`"));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<String>,
    pos: usize,
}

const LEVELS: &[&[&str]] = &[&["||"], &["&&"], &["==", "!="], &["<", ">", "<=", ">="], &["+", "-"], &["*", "/", "%"]];

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn ternary(&mut self) -> Result<Expr, String> {
        let condition = self.binary(0)?;
        if self.peek() == Some("?") {
            self.pos += 1;
            let yes = self.ternary()?;
            if self.peek() != Some(":") {
                return Err("expected `:`".into());
            }
            self.pos += 1;
            let no = self.ternary()?;
            return Ok(Expr::Ternary(Box::new(condition), Box::new(yes), Box::new(no)));
        }
        Ok(condition)
    }

    fn binary(&mut self, level: usize) -> Result<Expr, String> {
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        while let Some(op) = self.peek().and_then(|t| LEVELS[level].iter().find(|o| **o == t)) {
            self.pos += 1;
            let right = self.binary(level + 1)?;
            left = Expr::Binary(Box::new(left), op, Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some("!") => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some("(") => {
                self.pos += 1;
                let inner = self.ternary()?;
                if self.peek() != Some(")") {
                    return Err("expected `)`".into());
                }
                self.pos += 1;
                Ok(inner)
            }
            Some("n") => {
                self.pos += 1;
                Ok(Expr::N)
            }
            Some(t) if t.chars().all(|c| c.is_ascii_digit()) => {
                let n = t.parse().map_err(|_| "number too large".to_owned())?;
                self.pos += 1;
                Ok(Expr::Num(n))
            }
            Some(t) => Err(format!("unexpected `{t}`")),
            None => Err("unexpected end".into()),
        }
    }
}

fn eval(expr: &Expr, n: i64) -> i64 {
    match expr {
        Expr::N => n,
        Expr::Num(v) => *v,
        Expr::Not(e) => i64::from(eval(e, n) == 0),
        Expr::Ternary(c, a, b) => {
            if eval(c, n) != 0 {
                eval(a, n)
            } else {
                eval(b, n)
            }
        }
        Expr::Binary(l, op, r) => {
            let (a, b) = (eval(l, n), eval(r, n));
            match *op {
                "||" => i64::from(a != 0 || b != 0),
                "&&" => i64::from(a != 0 && b != 0),
                "==" => i64::from(a == b),
                "!=" => i64::from(a != b),
                "<" => i64::from(a < b),
                ">" => i64::from(a > b),
                "<=" => i64::from(a <= b),
                ">=" => i64::from(a >= b),
                "+" => a.wrapping_add(b),
                "-" => a.wrapping_sub(b),
                "*" => a.wrapping_mul(b),
                "/" => a.checked_div(b).unwrap_or(0),
                "%" => a.checked_rem(b).unwrap_or(0),
                _ => 0,
            }
        }
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
        Catalogs::new(&["en".into(), "es".into()], "en", &[Translation { language: "es", po: PO }]).unwrap()
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
}
