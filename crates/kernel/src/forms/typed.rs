//! Typed forms: a struct declares its fields once and is deserialised from what they cleaned.

use std::ops::{Deref, DerefMut};

use serde::de::DeserializeOwned;

use super::{BoundForm, FieldSpec, FormData};
use crate::i18n::Tr;

/// A form as a struct: its fields, and the struct deserialised from their cleaned values.
///
/// ```
/// use quartet_kernel::forms::{FieldKind, FieldSpec, Form};
///
/// #[derive(serde::Deserialize)]
/// struct CartAdd {
///     quantity: i64,
///     #[serde(rename = "override")]
///     replace: bool,
/// }
///
/// impl Form for CartAdd {
///     const FIELDS: &'static [FieldSpec] = &[
///         FieldSpec::of(FieldKind::Integer, "quantity", "Quantity").range(1, 20),
///         FieldSpec::of(FieldKind::Checkbox, "override", "Override").optional(),
///     ];
/// }
/// ```
///
/// Each field's value has the type of its kind (see [`super::FieldKind`]); a text field that
/// was left empty is `""`, an empty number, date or choice is absent (so an `Option`).
pub trait Form: DeserializeOwned {
    /// The fields, in the order they are shown.
    const FIELDS: &'static [FieldSpec];
}

/// A form of type `F` with its values and errors; once valid, [`Self::valid`] is the struct.
#[derive(Debug, Clone)]
pub struct Bound<F: Form> {
    form: BoundForm,
    value: Option<F>,
}

impl<F: Form> Default for Bound<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Form> Bound<F> {
    /// An empty, unbound form.
    pub fn new() -> Self {
        Self { form: BoundForm::new(F::FIELDS), value: None }
    }

    /// An unbound form showing initial values.
    pub fn initial(values: &[(&'static str, String)]) -> Self {
        Self { form: BoundForm::new(F::FIELDS).initial(values), value: None }
    }

    /// Binds submitted data.
    pub fn bind(data: &FormData, tr: &Tr) -> Self {
        Self::new().bind_data(data, tr)
    }

    /// The options of a model choice field, read by the view before binding.
    pub fn choices(mut self, name: &'static str, options: Vec<(String, String)>) -> Self {
        self.form = self.form.choices(name, options);
        self
    }

    /// Names the inputs `{prefix}-{name}`.
    pub fn prefixed(mut self, prefix: impl Into<String>) -> Self {
        self.form = self.form.prefixed(prefix);
        self
    }

    /// Binds submitted data to a form made with [`Self::new`] and [`Self::choices`]; if every
    /// field cleaned, the struct is made.
    pub fn bind_data(self, data: &FormData, tr: &Tr) -> Self {
        let mut form = self.form.bind_data(data, tr);
        let mut value = None;
        if form.is_valid() {
            match serde_json::from_value::<F>(serde_json::Value::Object(form.cleaned().clone())) {
                Ok(v) => value = Some(v),
                Err(e) => {
                    // A struct that does not match its own fields: a bug of the form, not of
                    // the input. The user sees the form again, the log says which.
                    tracing::error!(form = std::any::type_name::<F>(), error = %e, "a form's fields do not match its struct");
                    form.add_form_error(tr.t("The form could not be read. Please try again."));
                }
            }
        }
        Self { form, value }
    }

    /// The struct, if the form is bound and has no error (also none added by the view).
    pub fn valid(&self) -> Option<&F> {
        self.value.as_ref().filter(|_| self.form.is_valid())
    }

    /// The untyped form (its fields to render, its errors).
    pub fn form(&self) -> &BoundForm {
        &self.form
    }
}

impl<F: Form> Deref for Bound<F> {
    type Target = BoundForm;

    fn deref(&self) -> &BoundForm {
        &self.form
    }
}

impl<F: Form> DerefMut for Bound<F> {
    fn deref_mut(&mut self) -> &mut BoundForm {
        &mut self.form
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use serde::Deserialize;

    use super::*;
    use crate::forms::{Decimal, FieldKind};

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Country {
        Us,
        Es,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Everything {
        name: String,
        note: String,
        quantity: i64,
        price: Option<Decimal>,
        country: Country,
        sizes: Vec<String>,
        category: i64,
        tags: Vec<i64>,
        born: Option<NaiveDate>,
        gift: bool,
    }

    impl Form for Everything {
        const FIELDS: &'static [FieldSpec] = &[
            FieldSpec::text("name", "Name").max_length(5),
            FieldSpec::of(FieldKind::Textarea, "note", "Note").optional(),
            FieldSpec::of(FieldKind::Integer, "quantity", "Quantity").range(1, 20),
            FieldSpec::of(FieldKind::Decimal, "price", "Price").decimal(6, 2).min(0).optional(),
            FieldSpec::of(FieldKind::Choice, "country", "Country").choices(&[("us", "United States"), ("es", "Spain")]),
            FieldSpec::of(FieldKind::MultipleChoice, "sizes", "Sizes")
                .choices(&[("s", "Small"), ("m", "Medium"), ("l", "Large")])
                .optional(),
            FieldSpec::of(FieldKind::ModelChoice, "category", "Category"),
            FieldSpec::of(FieldKind::ModelMultipleChoice, "tags", "Tags").optional(),
            FieldSpec::of(FieldKind::Date, "born", "Born").optional(),
            FieldSpec::of(FieldKind::Checkbox, "gift", "Gift").optional(),
        ];
    }

    fn tr() -> Tr {
        Tr::new(std::sync::Arc::new(crate::i18n::Catalogs::default()), "en")
    }

    fn bind(pairs: &[(&str, &str)]) -> Bound<Everything> {
        let options = |n: &[(&str, &str)]| n.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Bound::<Everything>::new()
            .choices("category", options(&[("1", "Books"), ("2", "Music")]))
            .choices("tags", options(&[("7", "new"), ("8", "sale")]))
            .bind_data(&FormData::from_pairs(pairs.iter().copied()), &tr())
    }

    #[test]
    fn a_valid_form_is_its_struct() {
        let form = bind(&[
            ("name", " Ann "),
            ("quantity", "3"),
            ("price", "9.5"),
            ("country", "es"),
            ("sizes", "s"),
            ("sizes", "l"),
            ("category", "2"),
            ("tags", "8"),
            ("born", "2000-01-31"),
            ("gift", "on"),
        ]);
        assert_eq!(
            form.valid(),
            Some(&Everything {
                name: "Ann".into(),
                note: String::new(),
                quantity: 3,
                price: Some("9.50".parse().unwrap()),
                country: Country::Es,
                sizes: vec!["s".into(), "l".into()],
                category: 2,
                tags: vec![8],
                born: NaiveDate::from_ymd_opt(2000, 1, 31),
                gift: true,
            })
        );
        let minimal = bind(&[("name", "Bo"), ("quantity", "1"), ("country", "us"), ("category", "1")]);
        let value = minimal.valid().expect("valid");
        assert_eq!((value.price, value.born, value.gift, value.tags.len()), (None, None, false, 0));
    }

    #[test]
    fn each_field_says_what_is_wrong_in_djangos_words() {
        let form = bind(&[
            ("name", "Annabel"),
            ("quantity", "21"),
            ("price", "-1"),
            ("country", "fr"),
            ("sizes", "xl"),
            ("category", "3"),
            ("tags", "9"),
            ("born", "yesterday"),
        ]);
        assert!(form.valid().is_none());
        let errors: Vec<(&str, &str)> = form.field_errors().map(|(f, e)| (f, e.as_str())).collect();
        assert_eq!(
            errors,
            [
                ("name", "Ensure this value has at most 5 characters (it has 7)."),
                ("quantity", "Ensure this value is less than or equal to 20."),
                ("price", "Ensure this value is greater than or equal to 0."),
                ("country", "Select a valid choice. fr is not one of the available choices."),
                ("sizes", "Select a valid choice. xl is not one of the available choices."),
                ("category", "Select a valid choice. That choice is not one of the available choices."),
                ("tags", "Select a valid choice. 9 is not one of the available choices."),
                ("born", "Enter a valid date."),
            ]
        );
        let empty = bind(&[]);
        let required: Vec<&str> = empty.field_errors().map(|(f, _)| f).collect();
        assert_eq!(required, ["name", "quantity", "country", "category"]);
        // What was typed is shown again, the options with it.
        let fields = form.fields(&tr());
        assert_eq!(fields[0].value, "Annabel");
        assert_eq!(fields[4].options.len(), 2);
        assert!(fields[5].is_multiple() && fields[5].is_selected("xl"));
        assert_eq!(fields[3].number_attrs, ("0".into(), String::new(), "0.01".into()));
    }

    #[test]
    fn an_error_added_by_the_view_makes_the_form_invalid() {
        let mut form = bind(&[("name", "Bo"), ("quantity", "1"), ("country", "us"), ("category", "1")]);
        assert!(form.valid().is_some());
        form.add_error("name", "Taken.");
        assert!(form.valid().is_none());
        assert_eq!(form.field_errors().count(), 1);
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code, reason = "read by serde only")]
    struct Mismatched {
        missing: String,
    }

    impl Form for Mismatched {
        const FIELDS: &'static [FieldSpec] = &[FieldSpec::text("name", "Name")];
    }

    #[test]
    fn a_struct_that_does_not_match_its_fields_is_an_error_of_the_form_not_a_panic() {
        let form = Bound::<Mismatched>::bind(&FormData::from_pairs([("name", "x")]), &tr());
        assert!(form.valid().is_none());
        assert_eq!(form.non_field_errors(), ["The form could not be read. Please try again."]);
    }
}
