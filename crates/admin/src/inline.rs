//! Child rows edited on the parent's page (Django's `TabularInline` and `StackedInline`).
//!
//! The forms follow Django's formset protocol, so pages work without JavaScript: each inline has
//! a prefix (`chapter_set`), a management form (`chapter_set-TOTAL_FORMS`,
//! `chapter_set-INITIAL_FORMS`), and per form `chapter_set-0-id`, `chapter_set-0-DELETE` and the
//! fields (`chapter_set-0-title`). A few blank forms are offered; the script adds and removes
//! more. Rows are added, changed and deleted in the parent's transaction, and the parent's
//! history entry says what happened to them ("Added chapter “Intro”.").

use std::collections::HashMap;

use serde_json::Value;

use super::form::{
    AdminField, apply_errors, build_fields, capitalize, key_value, parse_submission, prefix_fields, readonly_fields,
    store_uploads,
};
use super::options::ModelAdmin;
use super::views::{Staff, field_list, forbidden, new_row, write_error};
use quartet_kernel::app::CoreState;
use quartet_kernel::error::Result;
use quartet_kernel::forms::FormData;
use quartet_kernel::i18n::{Tr, fill};
use quartet_kernel::models::{Row, RowQuery, plain_text};

/// Django's cap on the forms of one formset.
const ABSOLUTE_MAX: usize = 1000;

/// How the child rows are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InlineStyle {
    /// One table row per child (short rows: order lines, chapters).
    Tabular,
    /// One block of fields per child (longer rows: course modules).
    Stacked,
}

/// Child rows of another model edited on the parent's add and change pages.
///
/// ```ignore
/// ModelAdmin::new("orders.order")
///     .inline(Inline::tabular(ModelAdmin::new("orders.orderitem").raw_id(["product_id"]), "order_id"))
/// ```
#[derive(Clone)]
pub struct Inline {
    pub(crate) admin: ModelAdmin,
    pub(crate) fk: String,
    pub(crate) style: InlineStyle,
    pub(crate) extra: usize,
    pub(crate) max: usize,
}

impl Inline {
    /// Children of `child`'s model, whose column `fk` points at the parent, as table rows.
    pub fn tabular(child: ModelAdmin, fk: impl Into<String>) -> Self {
        Self { admin: child, fk: fk.into(), style: InlineStyle::Tabular, extra: 3, max: ABSOLUTE_MAX }
    }

    /// Children as blocks of fields, one under the other.
    pub fn stacked(child: ModelAdmin, fk: impl Into<String>) -> Self {
        Self { style: InlineStyle::Stacked, ..Self::tabular(child, fk) }
    }

    /// Blank forms offered for new children (3 by default, as in Django).
    pub fn extra(mut self, forms: usize) -> Self {
        self.extra = forms;
        self
    }

    /// At most this many children (1000 by default).
    pub fn max(mut self, forms: usize) -> Self {
        self.max = forms.min(ABSOLUTE_MAX);
        self
    }

    /// The column pointing at the parent is set by the parent, never typed.
    pub(crate) fn exclude_parent_key(&mut self) {
        let fk = self.fk.clone();
        if let Some(fields) = &mut self.admin.fields {
            fields.retain(|f| *f != fk);
        }
        self.admin.exclude.push(fk);
    }

    /// The form prefix: `chapter_set` for `library.chapter`.
    pub(crate) fn prefix(&self) -> String {
        let name = self.admin.label().rsplit('.').next().unwrap_or_default();
        format!("{name}_set")
    }

    async fn children(&self, core: &CoreState, parent_pk: Option<&str>) -> Result<Vec<Row>> {
        let Some(pk) = parent_pk else { return Ok(Vec::new()) };
        Ok(self.admin.model().rows().find(&core.db, &RowQuery::key_equals(&self.fk, pk)).await?)
    }
}

/// What the page shows of one inline.
pub struct InlineSet {
    /// Form prefix.
    pub prefix: String,
    /// Heading ("Chapters").
    pub title: String,
    /// Table rows rather than blocks.
    pub tabular: bool,
    /// Column headings of a tabular inline: label and whether required.
    pub headers: Vec<(String, bool)>,
    /// The forms, existing children first.
    pub forms: Vec<InlineForm>,
    /// The blank form the script copies (`__prefix__` in its names).
    pub empty: InlineForm,
    /// How many forms are existing children.
    pub initial: usize,
    /// The most forms allowed.
    pub max: usize,
    /// Whether new children may be added.
    pub can_add: bool,
    /// Whether children may be deleted.
    pub can_delete: bool,
    /// "Add another chapter".
    pub add_label: String,
    /// Errors about the set as a whole.
    pub errors: Vec<String>,
}

/// One child form.
pub struct InlineForm {
    /// Position (`0`…) or `__prefix__` for the blank template.
    pub index: String,
    /// Primary key of an existing child, else empty.
    pub pk: String,
    /// "Chapter: Intro", or "Chapter #3" for a new one.
    pub title: String,
    /// Fields, with prefixed names.
    pub fields: Vec<AdminField>,
    /// Whether "Delete" is ticked.
    pub delete: bool,
    /// Whether any field has an error.
    pub has_errors: bool,
}

impl InlineForm {
    /// The name of a management field of this form (`chapter_set-0-id`).
    pub fn name(&self, prefix: &str, field: &str) -> String {
        format!("{prefix}-{}-{field}", self.index)
    }
}

enum Operation {
    Skip,
    Add,
    Change,
    Delete,
}

struct ParsedForm {
    pk: Option<String>,
    operation: Operation,
    row: Row,
    errors: HashMap<String, Vec<String>>,
    changed: Vec<String>,
}

impl ParsedForm {
    /// Whether its errors matter: not a deleted row, not a blank form left alone.
    fn counts(&self) -> bool {
        match self.operation {
            Operation::Delete => false,
            Operation::Skip => self.pk.is_some(),
            Operation::Add | Operation::Change => true,
        }
    }
}

struct ParsedSet {
    /// `None` when the page sent no management form for this inline (nothing to do).
    forms: Option<Vec<ParsedForm>>,
    errors: Vec<String>,
}

/// What was submitted for every inline of a model.
pub(crate) struct InlineSubmission {
    sets: Vec<ParsedSet>,
}

impl InlineSubmission {
    /// Whether any child form or set has an error.
    pub(crate) fn has_errors(&self) -> bool {
        self.sets
            .iter()
            .any(|s| !s.errors.is_empty() || s.forms.iter().flatten().any(|f| f.counts() && !f.errors.is_empty()))
    }
}

fn visible<'a>(admin: &'a ModelAdmin, staff: &'a Staff) -> impl Iterator<Item = &'a Inline> {
    admin
        .inlines
        .iter()
        .filter(|inline| ["view", "change", "add", "delete"].iter().any(|a| staff.can(a, &inline.admin)))
}

/// Reads and validates every inline's forms (the parent's key is `None` when adding).
pub(crate) async fn parse(
    core: &CoreState,
    admin: &ModelAdmin,
    staff: &Staff,
    data: &FormData,
    parent_pk: Option<&str>,
    tr: &Tr,
) -> Result<InlineSubmission> {
    let mut sets = Vec::new();
    for inline in visible(admin, staff) {
        let child = &inline.admin;
        let prefix = inline.prefix();
        let Some(total) = data.get(&format!("{prefix}-TOTAL_FORMS")) else {
            sets.push(ParsedSet { forms: None, errors: Vec::new() });
            continue;
        };
        let Ok(total) = total.trim().parse::<usize>() else {
            let message = tr.t("ManagementForm data is missing or has been tampered with.").to_owned();
            sets.push(ParsedSet { forms: Some(Vec::new()), errors: vec![message] });
            continue;
        };
        if total > inline.max {
            let message = fill(tr.t("Please submit at most {n} forms."), &[("n", &inline.max)]);
            sets.push(ParsedSet { forms: Some(Vec::new()), errors: vec![message] });
            continue;
        }
        let existing = inline.children(core, parent_pk).await?;
        let key = child.model().rows().primary_key();
        let blank = new_row(child, core.now());
        let mut forms = Vec::new();
        let mut errors = Vec::new();
        for index in 0..total {
            let sub = data.prefixed(&format!("{prefix}-{index}-"));
            let delete = sub.get("DELETE").is_some();
            let pk = sub.get("id").map(str::trim).filter(|id| !id.is_empty()).map(ToOwned::to_owned);
            let Some(pk) = pk else {
                let mut parsed =
                    parse_submission(child, &core.registry, &core.db, &sub, blank.clone(), None, tr).await?;
                if parsed.errors.is_empty() && !parsed.changed.is_empty() && !delete {
                    store_uploads(core, child, &mut parsed, tr).await?;
                }
                // A blank form left as it was is skipped; one with anything typed is validated.
                let typed = parsed.errors.keys().any(|k| sub.get(k).is_some_and(|v| !v.trim().is_empty()));
                let operation =
                    if delete || (parsed.changed.is_empty() && !typed) { Operation::Skip } else { Operation::Add };
                if matches!(operation, Operation::Add) && !staff.can("add", child) {
                    return Err(forbidden(staff, "add"));
                }
                forms.push(ParsedForm {
                    pk: None,
                    operation,
                    row: parsed.row,
                    errors: parsed.errors,
                    changed: parsed.changed,
                });
                continue;
            };
            let Some(row) = existing.iter().find(|r| plain_text(r.get(key).unwrap_or(&Value::Null)) == pk).cloned()
            else {
                errors.push(tr.t("The inline value did not match the parent instance.").to_owned());
                continue;
            };
            if delete {
                if !staff.can("delete", child) {
                    return Err(forbidden(staff, "delete"));
                }
                forms.push(ParsedForm {
                    pk: Some(pk),
                    operation: Operation::Delete,
                    row,
                    errors: HashMap::new(),
                    changed: Vec::new(),
                });
                continue;
            }
            if !staff.can("change", child) {
                forms.push(ParsedForm {
                    pk: Some(pk),
                    operation: Operation::Skip,
                    row,
                    errors: HashMap::new(),
                    changed: Vec::new(),
                });
                continue;
            }
            let mut parsed = parse_submission(child, &core.registry, &core.db, &sub, row, Some(&pk), tr).await?;
            if parsed.errors.is_empty() {
                store_uploads(core, child, &mut parsed, tr).await?;
            }
            let operation = if parsed.changed.is_empty() { Operation::Skip } else { Operation::Change };
            forms.push(ParsedForm {
                pk: Some(pk),
                operation,
                row: parsed.row,
                errors: parsed.errors,
                changed: parsed.changed,
            });
        }
        let kept = existing.len() + forms.iter().filter(|f| matches!(f.operation, Operation::Add)).count()
            - forms.iter().filter(|f| matches!(f.operation, Operation::Delete)).count();
        if kept > inline.max {
            errors.push(fill(tr.t("Please submit at most {n} forms."), &[("n", &inline.max)]));
        }
        sets.push(ParsedSet { forms: Some(forms), errors });
    }
    Ok(InlineSubmission { sets })
}

/// Saves the children in the parent's transaction; returns the history messages.
pub(crate) async fn save(
    tx: &quartet_kernel::db::Tx,
    admin: &ModelAdmin,
    staff: &Staff,
    parent_pk: &str,
    submission: InlineSubmission,
    tr: &Tr,
) -> Result<Vec<String>> {
    let mut messages = Vec::new();
    for (inline, set) in visible(admin, staff).zip(submission.sets) {
        let child = inline.admin.model();
        let name = tr.t(child.verbose_name).to_owned();
        let parent_key = key_value(child, &inline.fk, parent_pk);
        for form in set.forms.into_iter().flatten() {
            let mut row = form.row;
            match form.operation {
                Operation::Skip => {}
                Operation::Add => {
                    row.insert(inline.fk.clone(), parent_key.clone());
                    let saved = child.rows().insert(tx, row).await.map_err(write_error)?;
                    let object = child.repr(&saved);
                    messages.push(fill(tr.t("Added {name} “{object}”."), &[("name", &name), ("object", &object)]));
                }
                Operation::Change => {
                    let saved = child.rows().update(tx, row).await.map_err(write_error)?;
                    let fields = field_list(&inline.admin, tr, &form.changed);
                    let object = child.repr(&saved);
                    messages.push(fill(
                        tr.t("Changed {fields} for {name} “{object}”."),
                        &[("fields", &fields), ("name", &name), ("object", &object)],
                    ));
                }
                Operation::Delete => {
                    let key = row.get(child.rows().primary_key()).cloned().unwrap_or(Value::Null);
                    child.rows().delete(tx, &[key]).await?;
                    let object = child.repr(&row);
                    messages.push(fill(tr.t("Deleted {name} “{object}”."), &[("name", &name), ("object", &object)]));
                }
            }
        }
    }
    Ok(messages)
}

/// A form to show: its row, its key, and what was submitted with the errors found.
type Planned = (Row, Option<String>, Option<(FormData, HashMap<String, Vec<String>>)>);

/// The inlines of a page; `submitted` re-shows what was posted, with its errors.
pub(crate) async fn build(
    core: &CoreState,
    admin: &ModelAdmin,
    staff: &Staff,
    parent_pk: Option<&str>,
    parent_editable: bool,
    submitted: Option<(&FormData, &InlineSubmission)>,
    tr: &Tr,
) -> Result<Vec<InlineSet>> {
    let admin_url = core.url("admin:index");
    let mut sets = Vec::new();
    for (position, inline) in visible(admin, staff).enumerate() {
        let child = &inline.admin;
        let model = child.model();
        let prefix = inline.prefix();
        let key = model.rows().primary_key();
        let can_add = parent_editable && staff.can("add", child);
        let can_change = parent_editable && staff.can("change", child);
        let can_delete = parent_editable && staff.can("delete", child);
        let existing = inline.children(core, parent_pk).await?;
        let name = tr.t(model.verbose_name).to_owned();
        let blank = new_row(child, core.now());

        let mut plan: Vec<Planned> = Vec::new();
        let mut set_errors = Vec::new();
        let parsed = submitted.and_then(|(data, s)| s.sets.get(position).map(|set| (data, set)));
        match parsed {
            Some((data, set)) if set.forms.is_some() => {
                set_errors.clone_from(&set.errors);
                let total = set.forms.as_ref().map_or(0, Vec::len);
                for (index, form) in set.forms.iter().flatten().enumerate().take(total) {
                    let sub = data.prefixed(&format!("{prefix}-{index}-"));
                    let row = match &form.pk {
                        Some(pk) => existing
                            .iter()
                            .find(|r| plain_text(r.get(key).unwrap_or(&Value::Null)) == *pk)
                            .cloned()
                            .unwrap_or_else(|| blank.clone()),
                        None => blank.clone(),
                    };
                    let errors = if form.counts() { form.errors.clone() } else { HashMap::new() };
                    plan.push((row, form.pk.clone(), Some((sub, errors))));
                }
            }
            _ => {
                for row in &existing {
                    plan.push((row.clone(), Some(plain_text(row.get(key).unwrap_or(&Value::Null))), None));
                }
                if can_add {
                    let room = inline.max.saturating_sub(existing.len());
                    for _ in 0..inline.extra.min(room) {
                        plan.push((blank.clone(), None, None));
                    }
                }
            }
        }

        let mut forms = Vec::new();
        for (index, (row, pk, posted)) in plan.into_iter().enumerate() {
            let mut fields = build_fields(child, &core.registry, &core.db, &row, pk.as_deref(), tr, &admin_url).await?;
            let mut delete = false;
            if let Some((sub, errors)) = &posted {
                apply_errors(&mut fields, sub, errors);
                delete = sub.get("DELETE").is_some();
            }
            if pk.is_some() && !can_change {
                fields = readonly_fields(fields, tr);
            }
            prefix_fields(&mut fields, &format!("{prefix}-{index}-"));
            let title = match &pk {
                Some(_) => format!("{}: {}", capitalize(&name), model.repr(&row)),
                None => format!("{} #{}", capitalize(&name), index + 1),
            };
            let has_errors = fields.iter().any(|f| !f.errors.is_empty());
            forms.push(InlineForm {
                index: index.to_string(),
                pk: pk.unwrap_or_default(),
                title,
                fields,
                delete,
                has_errors,
            });
        }
        let initial = forms.iter().filter(|f| !f.pk.is_empty()).count();
        let mut empty_fields = build_fields(child, &core.registry, &core.db, &blank, None, tr, &admin_url).await?;
        prefix_fields(&mut empty_fields, &format!("{prefix}-__prefix__-"));
        let headers = empty_fields.iter().map(|f| (f.label.clone(), f.required)).collect();
        let empty = InlineForm {
            index: "__prefix__".into(),
            pk: String::new(),
            title: format!("{} #", capitalize(&name)),
            fields: empty_fields,
            delete: false,
            has_errors: false,
        };
        sets.push(InlineSet {
            title: capitalize(tr.t(model.verbose_name_plural)),
            tabular: inline.style == InlineStyle::Tabular,
            headers,
            forms,
            empty,
            initial,
            max: inline.max,
            can_add,
            can_delete,
            add_label: fill(tr.t("Add another {name}"), &[("name", &capitalize(&name))]),
            errors: set_errors,
            prefix,
        });
    }
    Ok(sets)
}
