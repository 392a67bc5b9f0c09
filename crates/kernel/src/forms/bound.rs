//! A form's fields with submitted (or initial) values, their errors, and the typed values
//! cleaned from them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{FieldKind, FieldSpec, FormData, FormField, UploadedFile, clean, file_too_large_message};
use crate::i18n::Tr;

/// A form's fields with their values and errors, untyped; [`super::Bound`] puts a struct on it.
#[derive(Debug, Clone)]
pub struct BoundForm {
    specs: &'static [FieldSpec],
    prefix: String,
    values: BTreeMap<&'static str, Vec<String>>,
    files: BTreeMap<&'static str, UploadedFile>,
    options: BTreeMap<&'static str, Vec<(String, String)>>,
    errors: BTreeMap<&'static str, Vec<String>>,
    non_field_errors: Vec<String>,
    cleaned: Map<String, Value>,
    bound: bool,
}

impl BoundForm {
    /// An empty, unbound form.
    pub fn new(specs: &'static [FieldSpec]) -> Self {
        Self {
            specs,
            prefix: String::new(),
            values: BTreeMap::new(),
            files: BTreeMap::new(),
            options: BTreeMap::new(),
            errors: BTreeMap::new(),
            non_field_errors: Vec::new(),
            cleaned: Map::new(),
            bound: false,
        }
    }

    /// An unbound form showing initial values.
    pub fn with_initial(specs: &'static [FieldSpec], initial: &[(&'static str, String)]) -> Self {
        Self::new(specs).initial(initial)
    }

    /// Sets initial values (several for a multiple choice).
    pub fn initial(mut self, initial: &[(&'static str, String)]) -> Self {
        for (name, value) in initial {
            if let Some(spec) = self.specs.iter().find(|s| s.name == *name) {
                self.values.entry(spec.name).or_default().push(value.clone());
            }
        }
        self
    }

    /// Names the inputs `{prefix}-{name}` (a form of a formset).
    pub fn prefixed(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The options of a model choice field (key and label), read from the database by the view.
    pub fn choices(mut self, name: &'static str, options: Vec<(String, String)>) -> Self {
        self.options.insert(name, options);
        self
    }

    /// Binds submitted data and applies each field's own rules.
    pub fn bind(specs: &'static [FieldSpec], data: &FormData, tr: &Tr) -> Self {
        Self::new(specs).bind_data(data, tr)
    }

    fn input_name(&self, name: &str) -> String {
        if self.prefix.is_empty() { name.to_owned() } else { format!("{}-{name}", self.prefix) }
    }

    /// Binds submitted data to a form made with [`Self::new`], [`Self::prefixed`] and
    /// [`Self::choices`].
    pub fn bind_data(mut self, data: &FormData, tr: &Tr) -> Self {
        self.bound = true;
        self.values.clear();
        for spec in self.specs {
            let input = self.input_name(spec.name);
            let raw: Vec<String> = match spec.kind {
                FieldKind::Password => data.get(&input).map(str::to_owned).into_iter().collect(),
                FieldKind::Checkbox => {
                    vec![if data.get(&input).is_some_and(|v| !v.is_empty()) { "on" } else { "" }.into()]
                }
                k if k.is_multiple() => {
                    data.get_all(&input).into_iter().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect()
                }
                _ => data.get(&input).map(|v| v.trim().to_owned()).into_iter().collect(),
            };
            if spec.kind.is_file()
                && let Some(file) = data.file(&input)
            {
                self.files.insert(spec.name, file.clone());
            }
            match self.clean_field(spec, &raw, data.file_too_large(&input).then(|| data.upload_limit()), tr) {
                Ok(Some(value)) => {
                    self.cleaned.insert(spec.name.to_owned(), value);
                }
                Ok(None) => {}
                Err(message) => self.add_error(spec.name, message),
            }
            self.values.insert(spec.name, raw);
        }
        self
    }

    /// One field's typed value (`None` for an upload, read with [`Self::file`]), or its error.
    fn clean_field(
        &self,
        spec: &FieldSpec,
        raw: &[String],
        too_large: Option<usize>,
        tr: &Tr,
    ) -> Result<Option<Value>, String> {
        let first = raw.first().map_or("", String::as_str);
        if let Some(limit) = too_large {
            return Err(file_too_large_message(tr, limit));
        }
        if raw.iter().any(|v| v.contains('\0')) {
            // Django's `ProhibitNullCharactersValidator`: no database stores them as text.
            return Err(tr.t("Null characters are not allowed.").to_owned());
        }
        let present = match spec.kind {
            FieldKind::File | FieldKind::Image => self.files.contains_key(spec.name),
            FieldKind::Checkbox => first == "on",
            _ => !first.is_empty(),
        };
        if spec.required && !present {
            return Err(clean::required(tr));
        }
        let options = || self.options_of(spec).into_iter().map(|(v, _)| v);
        match spec.kind {
            FieldKind::Checkbox => Ok(Some(Value::Bool(present))),
            FieldKind::File | FieldKind::Image => {
                if let Some(file) = self.files.get(spec.name)
                    && spec.kind == FieldKind::Image
                {
                    clean::image(file, tr)?;
                }
                Ok(None)
            }
            FieldKind::MultipleChoice => {
                let allowed: Vec<String> = options().collect();
                for value in raw {
                    clean::choice(value, allowed.iter().map(String::as_str), tr)?;
                }
                Ok(Some(Value::from(raw.to_vec())))
            }
            FieldKind::ModelMultipleChoice => {
                let allowed: Vec<String> = options().collect();
                let keys: Result<Vec<i64>, String> = raw
                    .iter()
                    .map(|value| {
                        clean::model_choice(value, allowed.iter().map(String::as_str), tr).map_err(|_| {
                            tr.f(
                                "Select a valid choice. {value} is not one of the available choices.",
                                &[("value", value)],
                            )
                        })
                    })
                    .collect();
                Ok(Some(Value::from(keys?)))
            }
            FieldKind::Text | FieldKind::Email | FieldKind::Password | FieldKind::Textarea | FieldKind::Hidden => {
                if let Some(max) = spec.max_length {
                    clean::max_length(first, max, tr)?;
                }
                if spec.kind == FieldKind::Email && present && !super::is_valid_email(first) {
                    return Err(tr.t("Enter a valid email address.").to_owned());
                }
                Ok(Some(Value::String(first.to_owned())))
            }
            _ if !present => Ok(None),
            FieldKind::Integer => clean::integer(first, spec.min, spec.max, tr).map(|n| Some(Value::from(n))),
            FieldKind::Decimal => {
                clean::decimal(first, spec.digits, spec.min, spec.max, tr).map(|d| Some(Value::String(d.to_string())))
            }
            FieldKind::Date => clean::date(first, tr).map(|d| Some(Value::String(d.to_string()))),
            FieldKind::Choice => {
                let allowed: Vec<String> = options().collect();
                clean::choice(first, allowed.iter().map(String::as_str), tr).map(|()| Some(Value::from(first)))
            }
            FieldKind::ModelChoice => {
                let allowed: Vec<String> = options().collect();
                clean::model_choice(first, allowed.iter().map(String::as_str), tr).map(|k| Some(Value::from(k)))
            }
        }
    }

    /// A field's options: its declared choices, or the rows given with [`Self::choices`].
    fn options_of(&self, spec: &FieldSpec) -> Vec<(String, String)> {
        match self.options.get(spec.name) {
            Some(options) => options.clone(),
            None => spec.choices.iter().map(|(v, l)| ((*v).to_owned(), (*l).to_owned())).collect(),
        }
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

    /// A field's submitted value as text (trimmed, except passwords): for checks across fields
    /// before the form is valid. Once it is, read the typed struct.
    pub fn value(&self, name: &str) -> &str {
        self.values.get(name).and_then(|v| v.first()).map_or("", String::as_str)
    }

    /// An uploaded file of a file or image field.
    pub fn file(&self, name: &str) -> Option<&UploadedFile> {
        self.files.get(name)
    }

    /// Whether any field holds a value other than its initial one (an extra form of a formset
    /// left blank has not changed and is skipped).
    pub fn has_changed(&self, ignored: &[&str]) -> bool {
        self.specs.iter().filter(|s| !ignored.contains(&s.name)).any(|s| {
            self.files.contains_key(s.name) || self.values.get(s.name).is_some_and(|v| v.iter().any(|v| !v.is_empty()))
        })
    }

    /// The typed values cleaned so far, as JSON for deserialising.
    pub(crate) fn cleaned(&self) -> &Map<String, Value> {
        &self.cleaned
    }

    /// Adds an error to a field (or to the whole form if `name` is not a field).
    pub fn add_error(&mut self, name: &str, message: impl Into<String>) {
        match self.specs.iter().find(|s| s.name == name) {
            Some(spec) => {
                self.cleaned.remove(spec.name);
                self.errors.entry(spec.name).or_default().push(message.into());
            }
            None => self.non_field_errors.push(message.into()),
        }
    }

    /// Adds an error to the whole form.
    pub fn add_form_error(&mut self, message: impl Into<String>) {
        self.non_field_errors.push(message.into());
    }

    /// Forgets every error (a formset re-shown to add a form).
    pub(crate) fn clear_errors(&mut self) {
        self.errors.clear();
        self.non_field_errors.clear();
    }

    /// Errors that belong to no field.
    pub fn non_field_errors(&self) -> &[String] {
        &self.non_field_errors
    }

    /// Every error of every field, in field order (a formset's summary).
    pub fn field_errors(&self) -> impl Iterator<Item = (&'static str, &String)> {
        self.specs.iter().flat_map(|s| self.errors.get(s.name).into_iter().flatten().map(|e| (s.name, e)))
    }

    /// The fields to render.
    pub fn fields(&self, tr: &Tr) -> Vec<FormField> {
        self.specs
            .iter()
            .map(|spec| {
                let values = self.values.get(spec.name).cloned().unwrap_or_default();
                let shown = matches!(spec.kind, FieldKind::Password | FieldKind::File | FieldKind::Image);
                let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
                let step = match (spec.kind, spec.digits) {
                    (FieldKind::Decimal, Some((_, places))) => {
                        crate::forms::Decimal::new(1, places).normalize().to_string()
                    }
                    (FieldKind::Decimal, None) => "any".to_owned(),
                    _ => String::new(),
                };
                FormField {
                    name: self.input_name(spec.name),
                    label: tr.t(spec.label).to_owned(),
                    kind: spec.kind,
                    value: if shown { String::new() } else { values.first().cloned().unwrap_or_default() },
                    selected: values,
                    options: if spec.kind.has_options() {
                        self.options_of(spec).into_iter().map(|(v, l)| (v, tr.t(&l).to_owned())).collect()
                    } else {
                        Vec::new()
                    },
                    errors: self.errors.get(spec.name).cloned().unwrap_or_default(),
                    required: spec.required,
                    help: if spec.help.is_empty() { Vec::new() } else { vec![tr.t(spec.help).to_owned()] },
                    autocomplete: spec.autocomplete,
                    max_length: spec.max_length,
                    number_attrs: (number(spec.min), number(spec.max), step),
                    hidden: spec.hidden,
                }
            })
            .collect()
    }
}
