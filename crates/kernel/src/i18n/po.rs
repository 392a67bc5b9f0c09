//! The `.po` file format: entries, contexts, plural forms and the `Plural-Forms` header.

use std::collections::HashMap;

use super::plural::PluralRule;

/// One language's messages.
#[derive(Debug, Default)]
pub struct Catalog {
    pub(super) messages: HashMap<(Option<String>, String), Vec<String>>,
    pub(super) plural: Option<PluralRule>,
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
