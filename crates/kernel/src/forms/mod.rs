//! HTML forms: typed structs bound from the request with Django's validation messages, the
//! fields templates render with `forms/field.html`, and formsets.
//!
//! A form is a struct that implements [`Form`]: its fields are a `&'static [FieldSpec]`, its
//! values are deserialised from what each field cleaned (a whole number as an `i64`, a decimal
//! as a [`Decimal`], a date as a `NaiveDate`, a multiple choice as a `Vec`), so a view reads
//! `form.valid()?.email`, never a string by name. [`Bound`] binds submitted data and applies
//! each field's own rules; the view adds its own checks with [`Bound::add_error`].
//! [`FormSet`] binds several forms of one kind with Django's management form, deleting and
//! ordering. The admin cleans each value with the same functions ([`clean`]), so a number or
//! a choice is read, and refused, with the same message everywhere.

mod bound;
pub mod clean;
mod formset;
mod typed;

pub use bound::BoundForm;
pub use formset::{FormSet, FormSetForm, FormSetRow, FormSetSpec, FormSetView};
pub use typed::{Bound, Form};

pub use crate::http::form_data::{FileContent, FormData, UploadedFile};
use crate::i18n::Tr;
pub use sea_orm::prelude::Decimal;

/// The kind of input a field is, and how its value is cleaned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `<input type="text">`: a `String`.
    Text,
    /// `<input type="email">`, validated as an address: a `String`.
    Email,
    /// `<input type="password">`, never re-displayed nor trimmed: a `String`.
    Password,
    /// `<input type="date">`, `YYYY-MM-DD`: a `chrono::NaiveDate`.
    Date,
    /// `<input type="file">`: read with [`Bound::file`].
    File,
    /// `<input type="file" accept="image/*">`: a PNG, JPEG, GIF or WebP by its first bytes.
    Image,
    /// `<textarea>`: a `String`.
    Textarea,
    /// `<input type="hidden">`: a `String`.
    Hidden,
    /// `<input type="checkbox">`: a `bool`.
    Checkbox,
    /// `<input type="number">`: an `i64` within [`FieldSpec::range`].
    Integer,
    /// `<input type="number" step>`: a [`Decimal`] within [`FieldSpec::decimal`]'s digits.
    Decimal,
    /// `<select>` of [`FieldSpec::choices`]: a `String` (or an enum deserialised from it).
    Choice,
    /// `<select multiple>` of [`FieldSpec::choices`]: a `Vec<String>`.
    MultipleChoice,
    /// `<select>` of rows given when binding ([`Bound::choices`]): the row's key as an `i64`.
    ModelChoice,
    /// `<select multiple>` of rows given when binding: a `Vec<i64>`.
    ModelMultipleChoice,
}

impl FieldKind {
    /// Whether the field offers a list of options.
    pub fn has_options(self) -> bool {
        matches!(self, Self::Choice | Self::MultipleChoice | Self::ModelChoice | Self::ModelMultipleChoice)
    }

    /// Whether several values may be chosen.
    pub fn is_multiple(self) -> bool {
        matches!(self, Self::MultipleChoice | Self::ModelMultipleChoice)
    }

    /// Whether the value is an upload.
    pub fn is_file(self) -> bool {
        matches!(self, Self::File | Self::Image)
    }
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
    /// The smallest number allowed (integers and decimals).
    pub min: Option<i64>,
    /// The largest number allowed (integers and decimals).
    pub max: Option<i64>,
    /// A decimal's digits in total and after the point (Django's `max_digits`, `decimal_places`).
    pub digits: Option<(u32, u32)>,
    /// The options of a choice field: value and label (a message id).
    pub choices: &'static [(&'static str, &'static str)],
    /// Whether it is shown as a hidden input whatever its kind (a row's key in a formset).
    pub hidden: bool,
}

impl FieldSpec {
    /// A required text field.
    pub const fn text(name: &'static str, label: &'static str) -> Self {
        Self {
            name,
            label,
            kind: FieldKind::Text,
            required: true,
            max_length: None,
            help: "",
            autocomplete: "",
            min: None,
            max: None,
            digits: None,
            choices: &[],
            hidden: false,
        }
    }

    /// A required field of another kind.
    pub const fn of(kind: FieldKind, name: &'static str, label: &'static str) -> Self {
        Self::text(name, label).kind(kind)
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

    /// Bounds a number (both ends included).
    pub const fn range(mut self, min: i64, max: i64) -> Self {
        self.min = Some(min);
        self.max = Some(max);
        self
    }

    /// Bounds a number from below.
    pub const fn min(mut self, min: i64) -> Self {
        self.min = Some(min);
        self
    }

    /// A decimal's digits in total and after the point.
    pub const fn decimal(mut self, max_digits: u32, decimal_places: u32) -> Self {
        self.digits = Some((max_digits, decimal_places));
        self
    }

    /// Shows the field as a hidden input.
    pub const fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// The options of a choice field.
    pub const fn choices(mut self, choices: &'static [(&'static str, &'static str)]) -> Self {
        self.choices = choices;
        self
    }
}

/// A field as a template renders it.
#[derive(Debug, Clone)]
pub struct FormField {
    /// The input's name, with its formset prefix if any (also its id, prefixed `id_`).
    pub name: String,
    /// Translated label.
    pub label: String,
    /// The input kind.
    pub kind: FieldKind,
    /// The value to show.
    pub value: String,
    /// The chosen values of a (multiple) choice.
    pub selected: Vec<String>,
    /// The options of a choice: value and translated label.
    pub options: Vec<(String, String)>,
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
    /// The `min`, `max` and `step` attributes of a number, or empty.
    pub number_attrs: (String, String, String),
    /// Shown as a hidden input.
    pub hidden: bool,
}

impl FormField {
    /// The `type` attribute of an `<input>`.
    pub fn input_type(&self) -> &'static str {
        match self.kind {
            FieldKind::Text | FieldKind::Textarea => "text",
            FieldKind::Email => "email",
            FieldKind::Password => "password",
            FieldKind::Date => "date",
            FieldKind::File | FieldKind::Image => "file",
            FieldKind::Hidden => "hidden",
            FieldKind::Checkbox => "checkbox",
            FieldKind::Integer | FieldKind::Decimal => "number",
            FieldKind::Choice | FieldKind::MultipleChoice | FieldKind::ModelChoice | FieldKind::ModelMultipleChoice => {
                "select"
            }
        }
    }

    /// Whether it renders as a `<textarea>`.
    pub fn is_textarea(&self) -> bool {
        self.kind == FieldKind::Textarea
    }

    /// Whether it renders as a hidden input.
    pub fn is_hidden(&self) -> bool {
        self.hidden || self.kind == FieldKind::Hidden
    }

    /// Whether it renders as a checkbox.
    pub fn is_checkbox(&self) -> bool {
        self.kind == FieldKind::Checkbox
    }

    /// Whether it renders as a `<select>`.
    pub fn is_select(&self) -> bool {
        self.kind.has_options()
    }

    /// Whether the `<select>` takes several values.
    pub fn is_multiple(&self) -> bool {
        self.kind.is_multiple()
    }

    /// Whether an option is chosen.
    pub fn is_selected(&self, value: &str) -> bool {
        self.selected.iter().any(|v| v == value)
    }

    /// Whether an image is asked for (`accept="image/*"`).
    pub fn is_image(&self) -> bool {
        self.kind == FieldKind::Image
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
