//! Formsets: several forms of one kind on one page, with Django's management form, blank extra
//! forms, deleting, ordering and adding one more (the courses' modules of a course).

use super::{Bound, Form, FormData, FormField};
use crate::i18n::Tr;

/// How a formset is shown and bound.
#[derive(Debug, Clone, Copy)]
pub struct FormSetSpec {
    /// The inputs' prefix: `{prefix}-TOTAL_FORMS`, `{prefix}-0-title`, …
    pub prefix: &'static str,
    /// Blank forms shown after the existing ones.
    pub extra: usize,
    /// The fewest forms a valid submission keeps.
    pub min_num: usize,
    /// The most forms a valid submission keeps. The forms read are bounded too, at
    /// `max_num + 1000` as Django's `absolute_max`: a larger `TOTAL_FORMS` is refused, never
    /// allocated.
    pub max_num: usize,
    /// Whether each existing form has a "Delete" box.
    pub can_delete: bool,
    /// Whether each form has an "Order" number.
    pub can_order: bool,
}

impl FormSetSpec {
    /// One blank form, no minimum, at most 1000, no deleting nor ordering.
    pub const fn new(prefix: &'static str) -> Self {
        Self { prefix, extra: 1, min_num: 0, max_num: 1000, can_delete: false, can_order: false }
    }

    /// Blank forms shown after the existing ones.
    pub const fn extra(mut self, n: usize) -> Self {
        self.extra = n;
        self
    }

    /// The fewest and the most forms kept.
    pub const fn between(mut self, min: usize, max: usize) -> Self {
        self.min_num = min;
        self.max_num = max;
        self
    }

    /// Each existing form can be deleted.
    pub const fn deletable(mut self) -> Self {
        self.can_delete = true;
        self
    }

    /// Each form has an order number.
    pub const fn orderable(mut self) -> Self {
        self.can_order = true;
        self
    }

    fn absolute_max(&self) -> usize {
        self.max_num.saturating_add(1000)
    }
}

/// One form of a formset.
#[derive(Debug, Clone)]
pub struct FormSetForm<F: Form> {
    /// The form.
    pub form: Bound<F>,
    /// Whether it shows an existing row (one of the first `INITIAL_FORMS`).
    pub initial: bool,
    /// Whether its "Delete" box is ticked.
    pub deleted: bool,
    /// Its order number, if given.
    pub order: Option<i64>,
    /// Whether it is a blank extra form left blank (skipped, not validated).
    pub skipped: bool,
}

/// A kept form's struct, in the formset's order.
#[derive(Debug)]
pub struct FormSetRow<'a, F> {
    /// The form's position as submitted.
    pub index: usize,
    /// Whether it was an existing row.
    pub initial: bool,
    /// Its order number, if any.
    pub order: Option<i64>,
    /// The cleaned struct.
    pub value: &'a F,
}

/// A formset of forms of type `F`.
#[derive(Debug, Clone)]
pub struct FormSet<F: Form> {
    spec: FormSetSpec,
    options: Vec<(&'static str, Vec<(String, String)>)>,
    forms: Vec<FormSetForm<F>>,
    initial_forms: usize,
    non_form_errors: Vec<String>,
    bound: bool,
    adding: bool,
}

impl<F: Form> FormSet<F> {
    /// An unbound formset: one form per existing row (its initial values), then the blank ones.
    pub fn new(spec: FormSetSpec, initial: Vec<Vec<(&'static str, String)>>) -> Self {
        let mut set = Self {
            spec,
            options: Vec::new(),
            forms: Vec::new(),
            initial_forms: initial.len(),
            non_form_errors: Vec::new(),
            bound: false,
            adding: false,
        };
        for (i, values) in initial.iter().enumerate() {
            set.push_unbound(Bound::initial(values), true, Some(i as i64 + 1));
        }
        for _ in 0..spec.extra.min(spec.max_num.saturating_sub(initial.len())) {
            set.push_unbound(Bound::new(), false, None);
        }
        set
    }

    /// The options of a model choice field of every form.
    pub fn choices(mut self, name: &'static str, options: Vec<(String, String)>) -> Self {
        for f in &mut self.forms {
            f.form = std::mem::take(&mut f.form).choices(name, options.clone());
        }
        self.options.push((name, options));
        self
    }

    fn blank(&self, index: usize) -> Bound<F> {
        let mut form = Bound::new().prefixed(format!("{}-{index}", self.spec.prefix));
        for (name, options) in &self.options {
            form = form.choices(name, options.clone());
        }
        form
    }

    fn push_unbound(&mut self, form: Bound<F>, initial: bool, order: Option<i64>) {
        let index = self.forms.len();
        let form = form.prefixed(format!("{}-{index}", self.spec.prefix));
        self.forms.push(FormSetForm { form, initial, deleted: false, order, skipped: false });
    }

    fn input(&self, name: &str) -> String {
        format!("{}-{name}", self.spec.prefix)
    }

    /// Binds submitted data: the management form, then each form. A press of "Add another"
    /// (`{prefix}-ADD`) binds without errors and adds a blank form; nothing is to be saved.
    pub fn bind(mut self, data: &FormData, tr: &Tr) -> Self {
        self.bound = true;
        self.forms.clear();
        let number = |name: &str| data.get(&self.input(name)).and_then(|v| v.trim().parse::<usize>().ok());
        let (total, initial) = (number("TOTAL_FORMS"), number("INITIAL_FORMS"));
        let (Some(total), Some(initial)) = (total, initial) else {
            let missing: Vec<String> = [("TOTAL_FORMS", total), ("INITIAL_FORMS", initial)]
                .iter()
                .filter(|(_, v)| v.is_none())
                .map(|(name, _)| self.input(name))
                .collect();
            self.non_form_errors.push(tr.f(
                "ManagementForm data is missing or has been tampered with. Missing fields: {fields}. You may need to file a bug report if the issue persists.",
                &[("fields", &missing.join(", "))],
            ));
            return self;
        };
        if total > self.spec.absolute_max() {
            self.non_form_errors.push(self.too_many(tr));
            return self;
        }
        self.initial_forms = initial.min(total);
        self.adding = data.get(&self.input("ADD")).is_some();
        for index in 0..total {
            let mut form = self.blank(index).bind_data(data, tr);
            let field = |name: &str| data.get(&format!("{}-{index}-{name}", self.spec.prefix)).unwrap_or("").trim();
            let initial = index < self.initial_forms;
            let deleted = self.spec.can_delete && initial && !field("DELETE").is_empty();
            let mut order = None;
            if self.spec.can_order && !field("ORDER").is_empty() {
                match super::clean::integer(field("ORDER"), None, None, tr) {
                    Ok(n) => order = Some(n),
                    Err(message) => form.add_form_error(message),
                }
            }
            let skipped = !initial && !form.has_changed(&[]) && order.is_none();
            if deleted || skipped || self.adding {
                form.clear_errors();
            }
            self.forms.push(FormSetForm { form, initial, deleted, order, skipped });
        }
        if self.adding {
            if self.forms.len() < self.spec.max_num {
                let form = self.blank(self.forms.len());
                self.forms.push(FormSetForm { form, initial: false, deleted: false, order: None, skipped: true });
            }
            return self;
        }
        let deleted = self.forms.iter().filter(|f| f.deleted).count();
        let kept = self.forms.iter().filter(|f| !f.deleted && !f.skipped).count();
        if total - deleted > self.spec.max_num {
            self.non_form_errors.push(self.too_many(tr));
        } else if kept < self.spec.min_num {
            self.non_form_errors.push(tr.n(
                "Please submit at least {n} form.",
                "Please submit at least {n} forms.",
                self.spec.min_num as u64,
                &[],
            ));
        }
        self
    }

    fn too_many(&self, tr: &Tr) -> String {
        tr.n("Please submit at most {n} form.", "Please submit at most {n} forms.", self.spec.max_num as u64, &[])
    }

    /// Whether the formset was submitted to be saved, and every kept form is valid.
    pub fn is_valid(&self) -> bool {
        self.bound
            && !self.adding
            && self.non_form_errors.is_empty()
            && self.forms.iter().filter(|f| !f.deleted && !f.skipped).all(|f| f.form.valid().is_some())
    }

    /// Whether the submission asked for one more form.
    pub fn is_adding(&self) -> bool {
        self.adding
    }

    /// The forms.
    pub fn forms(&self) -> &[FormSetForm<F>] {
        &self.forms
    }

    /// The forms whose "Delete" box is ticked (their hidden key says which row).
    pub fn deleted(&self) -> impl Iterator<Item = &Bound<F>> {
        self.forms.iter().filter(|f| f.deleted).map(|f| &f.form)
    }

    /// The kept forms' structs: by order number when the formset is orderable (forms without
    /// one last, as Django), otherwise as submitted. Empty unless [`Self::is_valid`].
    pub fn rows(&self) -> Vec<FormSetRow<'_, F>> {
        if !self.is_valid() {
            return Vec::new();
        }
        let mut rows: Vec<FormSetRow<'_, F>> = self
            .forms
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.deleted && !f.skipped)
            .filter_map(|(index, f)| {
                f.form.valid().map(|value| FormSetRow { index, initial: f.initial, order: f.order, value })
            })
            .collect();
        if self.spec.can_order {
            rows.sort_by_key(|r| (r.order.is_none(), r.order, r.index));
        }
        rows
    }

    /// Errors of the whole formset.
    pub fn non_form_errors(&self) -> &[String] {
        &self.non_form_errors
    }

    /// What the `forms/formset.html` template shows.
    pub fn view(&self, tr: &Tr) -> FormSetView {
        let initial = if self.bound { self.initial_forms } else { self.forms.iter().filter(|f| f.initial).count() };
        let p = self.spec.prefix;
        FormSetView {
            prefix: p.to_owned(),
            management: vec![
                (self.input("TOTAL_FORMS"), self.forms.len().to_string()),
                (self.input("INITIAL_FORMS"), initial.to_string()),
                (self.input("MIN_NUM_FORMS"), self.spec.min_num.to_string()),
                (self.input("MAX_NUM_FORMS"), self.spec.max_num.to_string()),
            ],
            forms: self
                .forms
                .iter()
                .enumerate()
                .map(|(i, f)| FormSetFormView {
                    fields: f.form.fields(tr),
                    errors: f.form.non_field_errors().to_vec(),
                    initial: f.initial,
                    deleted: f.deleted,
                    delete_name: format!("{p}-{i}-DELETE"),
                    order_name: format!("{p}-{i}-ORDER"),
                    order: f.order.map(|n| n.to_string()).unwrap_or_default(),
                })
                .collect(),
            non_form_errors: self.non_form_errors.clone(),
            can_delete: self.spec.can_delete,
            can_order: self.spec.can_order,
            can_add: self.forms.len() < self.spec.max_num,
            add_name: self.input("ADD"),
            labels: [tr.t("Order").to_owned(), tr.t("Delete").to_owned(), tr.t("Add another").to_owned()],
        }
    }
}

/// A formset as the `forms/formset.html` template shows it.
#[derive(Debug, Clone)]
pub struct FormSetView {
    /// The inputs' prefix.
    pub prefix: String,
    /// The hidden management inputs: name and value.
    pub management: Vec<(String, String)>,
    /// The forms.
    pub forms: Vec<FormSetFormView>,
    /// Errors of the whole formset.
    pub non_form_errors: Vec<String>,
    /// Whether existing forms have a "Delete" box.
    pub can_delete: bool,
    /// Whether forms have an "Order" number.
    pub can_order: bool,
    /// Whether "Add another" is offered (fewer forms than the most).
    pub can_add: bool,
    /// The name of the "Add another" button.
    pub add_name: String,
    /// "Order", "Delete" and "Add another", translated.
    pub labels: [String; 3],
}

/// One form of a [`FormSetView`].
#[derive(Debug, Clone)]
pub struct FormSetFormView {
    /// Its fields, named with the form's prefix.
    pub fields: Vec<FormField>,
    /// Its errors that belong to no field.
    pub errors: Vec<String>,
    /// Whether it shows an existing row.
    pub initial: bool,
    /// Whether its "Delete" box is ticked.
    pub deleted: bool,
    /// The name of its "Delete" box.
    pub delete_name: String,
    /// The name of its "Order" input.
    pub order_name: String,
    /// Its order number.
    pub order: String,
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::forms::{FieldKind, FieldSpec};

    #[derive(Debug, Deserialize, PartialEq)]
    struct Module {
        id: Option<i64>,
        title: String,
    }

    impl Form for Module {
        const FIELDS: &'static [FieldSpec] = &[
            FieldSpec::of(FieldKind::Integer, "id", "Id").hidden().optional(),
            FieldSpec::text("title", "Title").max_length(20),
        ];
    }

    const SPEC: FormSetSpec = FormSetSpec::new("modules").extra(1).between(1, 3).deletable().orderable();

    fn tr() -> Tr {
        Tr::new(std::sync::Arc::new(crate::i18n::Catalogs::default()), "en")
    }

    fn bind(pairs: &[(&str, &str)]) -> FormSet<Module> {
        let mut all = vec![("modules-INITIAL_FORMS", "2")];
        all.extend_from_slice(pairs);
        FormSet::<Module>::new(SPEC, Vec::new()).bind(&FormData::from_pairs(all), &tr())
    }

    #[test]
    fn unbound_it_shows_the_rows_then_the_blank_forms() {
        let set = FormSet::<Module>::new(SPEC, vec![vec![("id", "4".into()), ("title", "Intro".into())]]);
        let view = set.view(&tr());
        assert_eq!(
            view.management[..2],
            [("modules-TOTAL_FORMS".to_owned(), "2".to_owned()), ("modules-INITIAL_FORMS".to_owned(), "1".to_owned())]
        );
        assert_eq!(view.forms[0].fields[1].name, "modules-0-title");
        assert_eq!(view.forms[0].fields[1].value, "Intro");
        assert_eq!((view.forms[0].order.as_str(), view.forms[1].order.as_str()), ("1", ""));
    }

    #[test]
    fn rows_are_kept_in_order_deleted_ones_and_blank_extras_left_out() {
        let set = bind(&[
            ("modules-TOTAL_FORMS", "4"),
            ("modules-0-id", "4"),
            ("modules-0-title", "Intro"),
            ("modules-0-ORDER", "2"),
            ("modules-1-id", "5"),
            ("modules-1-title", ""),
            ("modules-1-DELETE", "on"),
            ("modules-2-title", "Traits"),
            ("modules-2-ORDER", "1"),
            ("modules-3-title", ""),
        ]);
        assert!(set.is_valid(), "{:?}", set.non_form_errors());
        let rows: Vec<(&str, Option<i64>, bool)> =
            set.rows().iter().map(|r| (r.value.title.as_str(), r.value.id, r.initial)).collect();
        assert_eq!(rows, [("Traits", None, false), ("Intro", Some(4), true)]);
        let deleted: Vec<&str> = set.deleted().map(|f| f.value("id")).collect();
        assert_eq!(deleted, ["5"]);
    }

    #[test]
    fn errors_stay_on_their_form_and_counts_are_checked() {
        let set = bind(&[("modules-TOTAL_FORMS", "2"), ("modules-0-title", "x".repeat(21).as_str())]);
        assert!(!set.is_valid());
        assert!(set.view(&tr()).forms[0].fields[1].errors[0].starts_with("Ensure this value has at most 20"));
        let none_left = bind(&[("modules-TOTAL_FORMS", "1"), ("modules-0-title", "A"), ("modules-0-DELETE", "on")]);
        assert_eq!(none_left.non_form_errors(), ["Please submit at least 1 form."]);
        let four: Vec<(String, String)> = (0..4).map(|i| (format!("modules-{i}-title"), "T".to_owned())).collect();
        let mut pairs: Vec<(&str, &str)> = four.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        pairs.push(("modules-TOTAL_FORMS", "4"));
        assert_eq!(bind(&pairs).non_form_errors(), ["Please submit at most 3 forms."]);
        pairs.pop();
        pairs.push(("modules-TOTAL_FORMS", "3"));
        assert!(bind(&pairs).is_valid());
        // A forged count is refused before a form is made.
        let huge = bind(&[("modules-TOTAL_FORMS", "100000000")]);
        assert!(huge.forms().is_empty());
        assert_eq!(huge.non_form_errors(), ["Please submit at most 3 forms."]);
        let missing = FormSet::<Module>::new(SPEC, Vec::new()).bind(&FormData::default(), &tr());
        assert!(missing.non_form_errors()[0].contains("Missing fields: modules-TOTAL_FORMS, modules-INITIAL_FORMS."));
        let bad_order = bind(&[("modules-TOTAL_FORMS", "1"), ("modules-0-title", "A"), ("modules-0-ORDER", "first")]);
        assert_eq!(bad_order.view(&tr()).forms[0].errors, ["Enter a whole number."]);
    }

    #[test]
    fn add_another_keeps_what_was_typed_and_adds_a_blank_form() {
        let set = bind(&[
            ("modules-TOTAL_FORMS", "1"),
            ("modules-INITIAL_FORMS", "0"),
            ("modules-0-title", "x".repeat(30).as_str()),
            ("modules-ADD", "1"),
        ]);
        assert!(set.is_adding() && !set.is_valid());
        let view = set.view(&tr());
        assert_eq!(view.forms.len(), 2);
        assert_eq!(view.forms[0].fields[1].value, "x".repeat(30));
        assert!(view.forms[0].fields[1].errors.is_empty(), "no error shown while adding");
        assert_eq!(view.management[0].1, "2");
    }

    #[derive(askama::Template)]
    #[template(source = "{% include \"forms/formset.html\" %}", ext = "html")]
    struct Page {
        formset: FormSetView,
    }

    #[test]
    fn the_template_names_every_input_for_binding_again() {
        use askama::Template as _;
        let set = FormSet::<Module>::new(SPEC, vec![vec![("id", "4".into()), ("title", "Intro".into())]]);
        let html = Page { formset: set.view(&tr()) }.render().unwrap();
        for needle in [
            r#"name="modules-TOTAL_FORMS" id="id_modules-TOTAL_FORMS" value="2""#,
            r#"<input type="hidden" name="modules-0-id" value="4">"#,
            r#"name="modules-0-title" id="id_modules-0-title" value="Intro""#,
            r#"name="modules-0-ORDER" id="id_modules-0-ORDER" value="1""#,
            r#"name="modules-0-DELETE""#,
            r#"name="modules-ADD" value="1" formnovalidate"#,
        ] {
            assert!(html.contains(needle), "{needle} in {html}");
        }
        assert!(!html.contains("modules-1-DELETE"), "a blank form has nothing to delete");
    }
}
