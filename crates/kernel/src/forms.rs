//! HTML forms: declared fields, binding submitted data, Django's validation messages, and the
//! field list templates render with `forms/field.html`.
//!
//! A form is a `&'static [FieldSpec]`. [`BoundForm::bind`] applies the per-field rules
//! (required, length, e-mail, date); the caller adds its own checks with
//! [`BoundForm::add_error`], then reads cleaned values with [`BoundForm::value`].

use std::collections::BTreeMap;

use chrono::NaiveDate;

pub use crate::http::form_data::{FileContent, FormData, UploadedFile};
use crate::i18n::Tr;

/// The kind of input a field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `<input type="text">`.
    Text,
    /// `<input type="email">`, validated as an address.
    Email,
    /// `<input type="password">`, never re-displayed.
    Password,
    /// `<input type="date">`, `YYYY-MM-DD`.
    Date,
    /// `<input type="file">`.
    File,
    /// `<textarea>`.
    Textarea,
    /// `<input type="hidden">`.
    Hidden,
    /// `<input type="checkbox">`.
    Checkbox,
}

/// A declared field.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// The input's name.
    pub name: &'static str,
    /// The label (a message id).
    pub label: &'static str,
    /// The input kind.
    pub kind: FieldKind,
    /// Whether a value is required.
    pub required: bool,
    /// Maximum length in characters.
    pub max_length: Option<usize>,
    /// Help text (a message id), or empty.
    pub help: &'static str,
    /// The `autocomplete` attribute, or empty.
    pub autocomplete: &'static str,
}

impl FieldSpec {
    /// A required text field.
    pub const fn text(name: &'static str, label: &'static str) -> Self {
        Self { name, label, kind: FieldKind::Text, required: true, max_length: None, help: "", autocomplete: "" }
    }

    /// Makes the field a different kind.
    pub const fn kind(mut self, kind: FieldKind) -> Self {
        self.kind = kind;
        self
    }

    /// Makes the field optional.
    pub const fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    /// Limits the length.
    pub const fn max_length(mut self, n: usize) -> Self {
        self.max_length = Some(n);
        self
    }

    /// Adds help text.
    pub const fn help(mut self, help: &'static str) -> Self {
        self.help = help;
        self
    }

    /// Sets the `autocomplete` attribute.
    pub const fn autocomplete(mut self, value: &'static str) -> Self {
        self.autocomplete = value;
        self
    }
}

/// A field as a template renders it.
#[derive(Debug, Clone)]
pub struct FormField {
    /// The input's name (also its id, prefixed `id_`).
    pub name: &'static str,
    /// Translated label.
    pub label: String,
    /// The input kind.
    pub kind: FieldKind,
    /// The value to show.
    pub value: String,
    /// Translated errors.
    pub errors: Vec<String>,
    /// Whether the field is required.
    pub required: bool,
    /// Translated help texts.
    pub help: Vec<String>,
    /// The `autocomplete` attribute.
    pub autocomplete: &'static str,
    /// Maximum length, if any.
    pub max_length: Option<usize>,
}

impl FormField {
    /// The `type` attribute of an `<input>`.
    pub fn input_type(&self) -> &'static str {
        match self.kind {
            FieldKind::Text | FieldKind::Textarea => "text",
            FieldKind::Email => "email",
            FieldKind::Password => "password",
            FieldKind::Date => "date",
            FieldKind::File => "file",
            FieldKind::Hidden => "hidden",
            FieldKind::Checkbox => "checkbox",
        }
    }

    /// Whether it renders as a `<textarea>`.
    pub fn is_textarea(&self) -> bool {
        self.kind == FieldKind::Textarea
    }

    /// Whether it renders as a hidden input.
    pub fn is_hidden(&self) -> bool {
        self.kind == FieldKind::Hidden
    }

    /// Whether it renders as a checkbox.
    pub fn is_checkbox(&self) -> bool {
        self.kind == FieldKind::Checkbox
    }

    /// Whether a checkbox is ticked.
    pub fn is_checked(&self) -> bool {
        matches!(self.value.as_str(), "on" | "true" | "1")
    }

    /// The `id` attribute.
    pub fn id(&self) -> String {
        format!("id_{}", self.name)
    }

    /// The `maxlength` attribute value, or empty.
    pub fn maxlength_attr(&self) -> String {
        self.max_length.map(|n| n.to_string()).unwrap_or_default()
    }
}

/// The error of a form field whose file was over `uploads.max_upload_bytes`.
pub fn file_too_large_message(tr: &Tr, limit: usize) -> String {
    tr.f("The file is too large (at most {size}).", &[("size", &crate::error::human_size(limit as u64))])
}

/// Whether `value` looks like an e-mail address: the syntax of RFC 5322 and RFC 6531 (letters
/// of any script) as the `email_address` crate reads it, without quoted local parts, comments
/// or address literals, and a domain as Django's `EmailValidator` wants it (`localhost`, or
/// dotted labels ending in a top-level domain of two or more letters, not digits).
pub fn is_valid_email(value: &str) -> bool {
    use email_address::{EmailAddress, Options};
    if value.len() > 320 || value.chars().any(|c| c.is_whitespace() || c == '"' || c == '(' || c == '[') {
        return false;
    }
    let options = Options::default().with_no_minimum_sub_domains().without_domain_literal().without_display_text();
    let Ok(address) = EmailAddress::parse_with_options(value, options) else { return false };
    let domain = address.domain();
    let labels: Vec<&str> = domain.split('.').collect();
    domain == "localhost"
        || (labels.len() >= 2
            && labels.iter().all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
            && labels.last().is_some_and(|tld| tld.chars().count() >= 2 && !tld.chars().all(|c| c.is_ascii_digit())))
}

/// A URL slug exactly as Django's `slugify` makes one (and as the admin's script fills one in
/// the browser): the text in Unicode compatibility decomposition (NFKD) with what is not ASCII
/// dropped — so accents go and the letters stay —, lower case, only letters, digits, hyphens
/// and underscores, runs of spaces and hyphens as one hyphen, no hyphen or underscore at
/// either end ("Crème Brûlée & Rust" → `creme-brulee-rust`). A text of another script gives an
/// empty slug, as in Django; the forms that make slugs ask for one then.
pub fn slugify(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    let mut out = String::with_capacity(text.len());
    let mut pending_hyphen = false;
    for c in text.nfkd().filter(char::is_ascii) {
        if c.is_ascii_alphanumeric() || c == '_' {
            if pending_hyphen && !out.is_empty() {
                out.push('-');
            }
            pending_hyphen = false;
            out.push(c.to_ascii_lowercase());
        } else if c == '-' || c.is_ascii_whitespace() {
            pending_hyphen = true;
        }
    }
    out.trim_matches(['-', '_']).to_owned()
}

/// A form with its submitted (or initial) values and errors.
#[derive(Debug, Clone)]
pub struct BoundForm {
    specs: &'static [FieldSpec],
    values: BTreeMap<&'static str, String>,
    errors: BTreeMap<&'static str, Vec<String>>,
    non_field_errors: Vec<String>,
    bound: bool,
}

impl BoundForm {
    /// An empty, unbound form.
    pub fn new(specs: &'static [FieldSpec]) -> Self {
        Self { specs, values: BTreeMap::new(), errors: BTreeMap::new(), non_field_errors: Vec::new(), bound: false }
    }

    /// An unbound form showing initial values.
    pub fn with_initial(specs: &'static [FieldSpec], initial: &[(&'static str, String)]) -> Self {
        let mut form = Self::new(specs);
        for (name, value) in initial {
            form.values.insert(name, value.clone());
        }
        form
    }

    /// Binds submitted data and applies each field's own rules.
    pub fn bind(specs: &'static [FieldSpec], data: &FormData, tr: &Tr) -> Self {
        let mut form = Self::new(specs);
        form.bound = true;
        for spec in specs {
            let raw = data.get(spec.name).unwrap_or("");
            let value = match spec.kind {
                FieldKind::Password => raw.to_owned(),
                FieldKind::Checkbox => {
                    if raw.is_empty() {
                        String::new()
                    } else {
                        "on".to_owned()
                    }
                }
                _ => raw.trim().to_owned(),
            };
            let present = match spec.kind {
                FieldKind::File => data.file(spec.name).is_some(),
                _ => !value.is_empty(),
            };
            if spec.kind == FieldKind::File && data.file_too_large(spec.name) {
                form.add_error(spec.name, file_too_large_message(tr, data.upload_limit()));
            } else if value.contains('\0') {
                // Django's `ProhibitNullCharactersValidator`: no database stores them as text.
                form.add_error(spec.name, tr.t("Null characters are not allowed."));
            } else if spec.required && !present {
                form.add_error(spec.name, tr.t("This field is required."));
            } else if present {
                let length = value.chars().count();
                if let Some(max) = spec.max_length
                    && length > max
                {
                    form.add_error(
                        spec.name,
                        tr.n(
                            "Ensure this value has at most {n} character (it has {length}).",
                            "Ensure this value has at most {n} characters (it has {length}).",
                            max as u64,
                            &[("length", &length)],
                        ),
                    );
                }
                if spec.kind == FieldKind::Email && !is_valid_email(&value) {
                    form.add_error(spec.name, tr.t("Enter a valid email address."));
                }
                if spec.kind == FieldKind::Date && NaiveDate::parse_from_str(&value, "%Y-%m-%d").is_err() {
                    form.add_error(spec.name, tr.t("Enter a valid date."));
                }
            }
            form.values.insert(spec.name, value);
        }
        form
    }

    /// Whether data was submitted.
    pub fn is_bound(&self) -> bool {
        self.bound
    }

    /// Whether the form is bound and has no errors.
    pub fn is_valid(&self) -> bool {
        self.bound && self.errors.is_empty() && self.non_field_errors.is_empty()
    }

    /// Whether `name` has an error already.
    pub fn has_error(&self, name: &str) -> bool {
        self.errors.contains_key(name)
    }

    /// A field's cleaned value (trimmed, except passwords).
    pub fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// A date field's value.
    pub fn date(&self, name: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(self.value(name), "%Y-%m-%d").ok()
    }

    /// Adds an error to a field (or to the whole form if `name` is not a field).
    pub fn add_error(&mut self, name: &str, message: impl Into<String>) {
        match self.specs.iter().find(|s| s.name == name) {
            Some(spec) => self.errors.entry(spec.name).or_default().push(message.into()),
            None => self.non_field_errors.push(message.into()),
        }
    }

    /// Adds an error to the whole form.
    pub fn add_form_error(&mut self, message: impl Into<String>) {
        self.non_field_errors.push(message.into());
    }

    /// Errors that belong to no field.
    pub fn non_field_errors(&self) -> &[String] {
        &self.non_field_errors
    }

    /// The fields to render.
    pub fn fields(&self, tr: &Tr) -> Vec<FormField> {
        self.specs
            .iter()
            .map(|spec| FormField {
                name: spec.name,
                label: tr.t(spec.label).to_owned(),
                kind: spec.kind,
                value: if matches!(spec.kind, FieldKind::Password | FieldKind::File) {
                    String::new()
                } else {
                    self.value(spec.name).to_owned()
                },
                errors: self.errors.get(spec.name).cloned().unwrap_or_default(),
                required: spec.required,
                help: if spec.help.is_empty() { Vec::new() } else { vec![tr.t(spec.help).to_owned()] },
                autocomplete: spec.autocomplete,
                max_length: spec.max_length,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_checked() {
        for good in ["a@example.com", "first.last+tag@sub.example.co.uk", "user@localhost", "ñandú@correo.es"] {
            assert!(is_valid_email(good), "{good}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@example..com",
            ".a@example.com",
            "a@-x.com",
            "a@example.c",
            "a@1.2.3.4",
            "a@example.com\n",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn slugs_are_made_as_django_makes_them() {
        assert_eq!(slugify("Crème Brûlée & Rust"), "creme-brulee-rust");
        assert_eq!(slugify("  Hello,   World -- again! "), "hello-world-again");
        assert_eq!(slugify("snake_case_ok"), "snake_case_ok");
        assert_eq!(slugify("日本"), "");
        // NFKD as Django: compatibility forms fold, letters without a decomposition go.
        assert_eq!(slugify("ﬁancé №5"), "fiance-no5");
        assert_eq!(slugify("Straße Ørsted"), "strae-rsted");
        assert_eq!(slugify("_-trim me-_"), "trim-me");
    }

    #[test]
    fn form_data_keeps_every_value() {
        let d = FormData::from_urlencoded(b"a=1&b=x+y&a=2&c=%C3%A9");
        assert_eq!(d.get("a"), Some("1"));
        assert_eq!(d.get_all("a"), vec!["1", "2"]);
        assert_eq!(d.get("b"), Some("x y"));
        assert_eq!(d.get("c"), Some("é"));
        assert_eq!(d.get("z"), None);
    }
}
