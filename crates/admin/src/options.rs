//! How an app registers a model with the admin: a [`ModelAdmin`] built with short,
//! Django-like declarations.
//!
//! ```ignore
//! ModelAdmin::new("blog.post")
//!     .list_display(["title", "slug", "author_id", "publish", "status"])
//!     .list_filter(["status", "created", "publish", "author_id"])
//!     .search_fields(["title", "body"])
//!     .raw_id(["author_id"])
//!     .date_hierarchy("publish")
//!     .ordering(["status", "-publish"])
//!     .choices("status", [("DF", "Draft"), ("PB", "Published")])
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use axum::response::Response;
use futures_util::future::BoxFuture;

use quartet_kernel::app::CoreState;
use quartet_kernel::models::{ModelDef, Row};

/// Renders a computed list column for one row, as HTML (escape what you insert).
pub type CellRenderer = Arc<dyn Fn(&Row) -> String + Send + Sync>;

/// A column of the change list.
#[derive(Clone)]
pub enum ListColumn {
    /// A model column, shown as text (foreign keys as the target's name, booleans as icons).
    Field(String),
    /// A computed column with a header and an HTML renderer.
    Computed {
        /// Column header (a translatable message id).
        header: String,
        /// The cell.
        render: CellRenderer,
    },
}

/// What an action is given: the site, the model and the selected rows.
pub struct ActionInput {
    /// The site's services.
    pub core: CoreState,
    /// The model.
    pub model: ModelDef,
    /// The selected rows, in list order.
    pub rows: Vec<Row>,
    /// The staff user running it.
    pub user_id: i64,
    /// The page's language.
    pub lang: String,
}

/// What an action gives back.
pub enum ActionOutcome {
    /// Back to the list with this success message.
    Message(String),
    /// This response instead (a download, a page).
    Response(Response),
}

/// An action's code.
pub type ActionFn = Arc<dyn Fn(ActionInput) -> BoxFuture<'static, quartet_kernel::Result<ActionOutcome>> + Send + Sync>;

/// An action on the rows selected in a change list ("Export to CSV").
#[derive(Clone)]
pub struct AdminAction {
    /// Form value (`export_to_csv`).
    pub name: String,
    /// What the menu shows (a translatable message id).
    pub label: String,
    /// The permission it needs on the model: `view`, `change` or `delete`.
    pub permission: &'static str,
    /// The code.
    pub run: ActionFn,
}

impl AdminAction {
    /// An action named `name`, shown as `label`, needing `permission` on the model.
    pub fn new<F, Fut>(name: impl Into<String>, label: impl Into<String>, permission: &'static str, run: F) -> Self
    where
        F: Fn(ActionInput) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = quartet_kernel::Result<ActionOutcome>> + Send + 'static,
    {
        Self { name: name.into(), label: label.into(), permission, run: Arc::new(move |input| Box::pin(run(input))) }
    }

    /// "Export to CSV": the selected rows as `<verbose name>.csv` (Django's admin-action recipe).
    pub fn export_to_csv() -> Self {
        Self::new("export_to_csv", "Export to CSV", "view", |input| async move {
            Ok(ActionOutcome::Response(super::csv::export(&input).await?))
        })
    }
}

/// What an upload column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    /// Any file, served as an attachment.
    File,
    /// An image, checked and re-encoded on the way in.
    Image,
}

/// A text column holding the media path of an uploaded file.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub kind: UploadKind,
    pub folder: String,
}

/// A many-to-many relation through a link model (a user's groups, a group's permissions).
#[derive(Debug, Clone, Default)]
pub struct ManyToMany {
    /// Form field name (`groups`).
    pub name: String,
    /// Label (`Groups`).
    pub label: String,
    /// The link model (`accounts.user_group`).
    pub through: String,
    /// The link column pointing at this model (`user_id`).
    pub own_column: String,
    /// The link column pointing at the other model (`group_id`).
    pub other_column: String,
    /// The other model (`accounts.group`).
    pub target: String,
    /// Help text.
    pub help: String,
    /// Edit the relation as a comma-separated list of the target's names, creating the rows
    /// that do not exist yet (django-taggit's tag field); `None` shows a multiple select.
    pub by_name: Option<TagNames>,
}

/// How a [`ManyToMany`] edited by name finds and creates its target rows.
#[derive(Debug, Clone)]
pub struct TagNames {
    /// The target's name column (`name`), matched exactly.
    pub name_column: String,
    /// The target's unique slug column (`slug`), filled from the name for new rows.
    pub slug_column: String,
    /// The longest name accepted.
    pub max_length: usize,
}

impl ManyToMany {
    /// Tags: a comma-separated list of names of `target` through `through` (taggit's
    /// `TaggableManager`), with `name` and `slug` columns on the target.
    pub fn tags(
        name: impl Into<String>,
        through: impl Into<String>,
        (own_column, other_column): (&str, &str),
        target: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            label: "Tags".into(),
            through: through.into(),
            own_column: own_column.into(),
            other_column: other_column.into(),
            target: target.into(),
            help: "A comma-separated list of tags.".into(),
            by_name: Some(TagNames { name_column: "name".into(), slug_column: "slug".into(), max_length: 100 }),
        }
    }
}

/// The admin options of one model.
#[derive(Clone)]
pub struct ModelAdmin {
    pub(crate) label: String,
    pub(crate) list_display: Vec<ListColumn>,
    pub(crate) list_display_links: Vec<String>,
    pub(crate) list_editable: Vec<String>,
    pub(crate) actions: Vec<AdminAction>,
    pub(crate) list_filter: Vec<String>,
    pub(crate) search_fields: Vec<String>,
    pub(crate) ordering: Vec<(String, bool)>,
    pub(crate) date_hierarchy: Option<String>,
    pub(crate) raw_id: Vec<String>,
    pub(crate) fields: Option<Vec<String>>,
    pub(crate) exclude: Vec<String>,
    pub(crate) readonly: Vec<String>,
    pub(crate) optional: Vec<String>,
    pub(crate) textarea: Vec<String>,
    pub(crate) labels: HashMap<String, String>,
    pub(crate) help: HashMap<String, String>,
    pub(crate) choices: HashMap<String, Vec<(String, String)>>,
    pub(crate) many_to_many: Vec<ManyToMany>,
    /// Many-to-many fields shown without a way to change them (see [`Self::superuser_only`]).
    pub(crate) readonly_many_to_many: Vec<ManyToMany>,
    /// Columns and many-to-many fields only superusers may change.
    pub(crate) superuser_only: Vec<String>,
    pub(crate) initial: HashMap<String, String>,
    pub(crate) inlines: Vec<super::inline::Inline>,
    pub(crate) uploads: HashMap<String, Upload>,
    pub(crate) translations: Option<Box<super::translated::Translations>>,
    pub(crate) per_page: u64,
    pub(crate) view_on_site: Option<fn(&CoreState, &Row) -> Option<String>>,
    pub(crate) hooks: Option<Arc<dyn crate::AdminHooks>>,
    pub(crate) model: Option<ModelDef>,
}

impl ModelAdmin {
    /// Options for the model labelled `app.model`.
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            list_display: Vec::new(),
            list_display_links: Vec::new(),
            list_editable: Vec::new(),
            actions: Vec::new(),
            list_filter: Vec::new(),
            search_fields: Vec::new(),
            ordering: Vec::new(),
            date_hierarchy: None,
            raw_id: Vec::new(),
            fields: None,
            exclude: Vec::new(),
            readonly: Vec::new(),
            optional: Vec::new(),
            textarea: Vec::new(),
            labels: HashMap::new(),
            help: HashMap::new(),
            choices: HashMap::new(),
            many_to_many: Vec::new(),
            readonly_many_to_many: Vec::new(),
            superuser_only: Vec::new(),
            initial: HashMap::new(),
            inlines: Vec::new(),
            uploads: HashMap::new(),
            translations: None,
            per_page: 100,
            view_on_site: None,
            hooks: None,
            model: None,
        }
    }

    /// The model's label (`app.model`).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Columns of the change list (model columns).
    pub fn list_display<I: IntoIterator<Item = S>, S: Into<String>>(mut self, columns: I) -> Self {
        self.list_display.extend(columns.into_iter().map(|c| ListColumn::Field(c.into())));
        self
    }

    /// Adds a computed column (an HTML cell, e.g. a "View" link).
    pub fn computed_column(
        mut self,
        header: impl Into<String>,
        render: impl Fn(&Row) -> String + Send + Sync + 'static,
    ) -> Self {
        self.list_display.push(ListColumn::Computed { header: header.into(), render: Arc::new(render) });
        self
    }

    /// Columns that link to the change page (default: the first).
    pub fn list_display_links<I: IntoIterator<Item = S>, S: Into<String>>(mut self, columns: I) -> Self {
        self.list_display_links = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Columns edited right in the change list and saved together.
    pub fn list_editable<I: IntoIterator<Item = S>, S: Into<String>>(mut self, columns: I) -> Self {
        self.list_editable = columns.into_iter().map(Into::into).collect();
        self
    }

    /// An action on selected rows (besides "Delete selected").
    pub fn action(mut self, action: AdminAction) -> Self {
        self.actions.push(action);
        self
    }

    /// Filters in the side bar: booleans, choices, dates and foreign keys.
    pub fn list_filter<I: IntoIterator<Item = S>, S: Into<String>>(mut self, columns: I) -> Self {
        self.list_filter = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Columns searched (case-insensitive substring, every word must match somewhere).
    pub fn search_fields<I: IntoIterator<Item = S>, S: Into<String>>(mut self, columns: I) -> Self {
        self.search_fields = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Default order; `-name` for descending.
    pub fn ordering<I: IntoIterator<Item = S>, S: Into<String>>(mut self, columns: I) -> Self {
        self.ordering = columns.into_iter().map(|c| parse_order(&c.into())).collect();
        self
    }

    /// A date or datetime column to drill down by year, month and day.
    pub fn date_hierarchy(mut self, column: impl Into<String>) -> Self {
        self.date_hierarchy = Some(column.into());
        self
    }

    /// Foreign keys edited as an id with a lookup link instead of a select.
    pub fn raw_id<I: IntoIterator<Item = S>, S: Into<String>>(mut self, columns: I) -> Self {
        self.raw_id.extend(columns.into_iter().map(Into::into));
        self
    }

    /// The form's fields, in order (default: every column but the generated key).
    pub fn fields<I: IntoIterator<Item = S>, S: Into<String>>(mut self, columns: I) -> Self {
        self.fields = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Columns left out of the form.
    pub fn exclude<I: IntoIterator<Item = S>, S: Into<String>>(mut self, columns: I) -> Self {
        self.exclude.extend(columns.into_iter().map(Into::into));
        self
    }

    /// Columns shown but not editable.
    pub fn readonly<I: IntoIterator<Item = S>, S: Into<String>>(mut self, columns: I) -> Self {
        self.readonly.extend(columns.into_iter().map(Into::into));
        self
    }

    /// Text columns that may be left empty (Django's `blank=True`).
    pub fn optional<I: IntoIterator<Item = S>, S: Into<String>>(mut self, columns: I) -> Self {
        self.optional.extend(columns.into_iter().map(Into::into));
        self
    }

    /// Text columns edited in a multi-line box.
    pub fn textarea<I: IntoIterator<Item = S>, S: Into<String>>(mut self, columns: I) -> Self {
        self.textarea.extend(columns.into_iter().map(Into::into));
        self
    }

    /// The label of a column (default: the column name in words, `_id` dropped).
    pub fn label_for(mut self, column: impl Into<String>, label: impl Into<String>) -> Self {
        self.labels.insert(column.into(), label.into());
        self
    }

    /// A help text under a field.
    pub fn help(mut self, column: impl Into<String>, text: impl Into<String>) -> Self {
        self.help.insert(column.into(), text.into());
        self
    }

    /// The allowed values of a column and their labels (a select; a filter with these labels).
    pub fn choices<I, V, L>(mut self, column: impl Into<String>, choices: I) -> Self
    where
        I: IntoIterator<Item = (V, L)>,
        V: Into<String>,
        L: Into<String>,
    {
        self.choices.insert(column.into(), choices.into_iter().map(|(v, l)| (v.into(), l.into())).collect());
        self
    }

    /// The value a column starts with on the add form (a model default such as a status).
    pub fn initial(mut self, column: impl Into<String>, value: impl Into<String>) -> Self {
        self.initial.insert(column.into(), value.into());
        self
    }

    /// A many-to-many field edited as a multiple select.
    pub fn many_to_many(mut self, relation: ManyToMany) -> Self {
        self.many_to_many.push(relation);
        self
    }

    /// A text column holding an uploaded image, stored under `folder` in the media root.
    pub fn image(mut self, column: impl Into<String>, folder: impl Into<String>) -> Self {
        self.uploads.insert(column.into(), Upload { kind: UploadKind::Image, folder: folder.into() });
        self
    }

    /// A text column holding an uploaded file of any type, stored under `folder`.
    pub fn file(mut self, column: impl Into<String>, folder: impl Into<String>) -> Self {
        self.uploads.insert(column.into(), Upload { kind: UploadKind::File, folder: folder.into() });
        self
    }

    /// Fields stored per language in another model, edited in one tab per language.
    pub fn translated(mut self, translations: super::translated::Translations) -> Self {
        self.translations = Some(Box::new(translations));
        self
    }

    /// Child rows edited on this model's add and change pages.
    pub fn inline(mut self, inline: super::inline::Inline) -> Self {
        self.inlines.push(inline);
        self
    }

    /// Rows per change-list page (100 by default).
    pub fn per_page(mut self, rows: u64) -> Self {
        self.per_page = rows.max(1);
        self
    }

    /// Columns and many-to-many fields that only superusers may change; other staff see them
    /// read-only (the accounts app marks a user's staff and superuser status, groups and
    /// permissions, and a group's permissions).
    pub fn superuser_only<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.superuser_only.extend(names.into_iter().map(Into::into));
        self
    }

    /// These options as they apply to a staff user: for someone who is not a superuser, the
    /// [`Self::superuser_only`] fields become read-only.
    pub(crate) fn restricted_for(&self, is_superuser: bool) -> std::borrow::Cow<'_, ModelAdmin> {
        if is_superuser || self.superuser_only.is_empty() {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut restricted = self.clone();
        let (locked, open): (Vec<ManyToMany>, Vec<ManyToMany>) =
            restricted.many_to_many.into_iter().partition(|m| self.superuser_only.contains(&m.name));
        restricted.many_to_many = open;
        restricted.readonly_many_to_many.extend(locked);
        restricted.readonly.extend(self.superuser_only.iter().cloned());
        std::borrow::Cow::Owned(restricted)
    }

    /// The public page of a row ("View on site" on its change page), if it has one now (a
    /// draft may have none).
    pub fn view_on_site(mut self, url_of: fn(&CoreState, &Row) -> Option<String>) -> Self {
        self.view_on_site = Some(url_of);
        self
    }

    /// The app's own steps in the add and change pages ([`crate::AdminHooks`]).
    pub fn hooks(mut self, hooks: impl crate::AdminHooks) -> Self {
        self.hooks = Some(Arc::new(hooks));
        self
    }

    /// The resolved model (set when the site is built).
    pub(crate) fn model(&self) -> &ModelDef {
        self.model.as_ref().expect("admin models are resolved when the site is built")
    }

    /// Every text this registration shows that a catalog should translate: the model's names,
    /// column labels, help texts, choice labels, action labels, and those of its inlines and
    /// translated fields.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(model) = &self.model {
            out.extend([model.verbose_name.to_owned(), model.verbose_name_plural.to_owned()]);
            out.push(super::form::capitalize(model.verbose_name_plural));
            for column in model.rows().columns().iter().filter(|c| !c.generated) {
                out.push(self.column_label(column.name));
            }
        }
        for column in &self.list_display {
            if let ListColumn::Computed { header, .. } = column {
                out.push(header.clone());
            }
        }
        out.extend(self.help.values().cloned());
        out.extend(self.choices.values().flatten().map(|(_, label)| label.clone()));
        out.extend(self.actions.iter().map(|a| a.label.clone()));
        for relation in &self.many_to_many {
            out.push(relation.label.clone());
            if !relation.help.is_empty() {
                out.push(relation.help.clone());
            }
        }
        for inline in &self.inlines {
            out.extend(inline.admin.messages());
        }
        if let Some(translations) = &self.translations {
            out.extend(translations.admin.messages());
        }
        out.sort();
        out.dedup();
        out
    }

    pub(crate) fn is_readonly(&self, column: &str) -> bool {
        self.readonly.iter().any(|c| c == column) || self.model().rules().sets_itself(column)
    }

    pub(crate) fn column_label(&self, column: &str) -> String {
        self.labels.get(column).cloned().unwrap_or_else(|| humanize(column))
    }
}

/// `-publish` → (`publish`, descending).
pub(crate) fn parse_order(spec: &str) -> (String, bool) {
    match spec.strip_prefix('-') {
        Some(column) => (column.to_owned(), true),
        None => (spec.to_owned(), false),
    }
}

/// `date_of_birth` → "Date of birth"; `author_id` → "Author".
pub fn humanize(column: &str) -> String {
    let words = column.strip_suffix("_id").unwrap_or(column).replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_labels() {
        assert_eq!(humanize("date_of_birth"), "Date of birth");
        assert_eq!(humanize("author_id"), "Author");
        assert_eq!(humanize("id"), "Id");
        assert_eq!(parse_order("-publish"), ("publish".into(), true));
        assert_eq!(parse_order("status"), ("status".into(), false));
    }
}
