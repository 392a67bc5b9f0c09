//! Add and change forms generated from a model's columns: the fields to render, and the
//! parsing and validation of what was submitted.

use std::collections::HashMap;

use chrono::{NaiveDateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use sea_orm::{Condition, DbErr};
use serde_json::Value;

use super::options::{ManyToMany, ModelAdmin};
use quartet_kernel::app::Registry;
use quartet_kernel::db::Db;
use quartet_kernel::forms::{FormData, UploadedFile, clean};
use quartet_kernel::i18n::Tr;
use quartet_kernel::models::{ColumnInfo, FieldKind, ModelDef, Row, RowQuery, plain_text};

/// How a field is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Widget {
    /// A one-line text input.
    Text,
    /// A multi-line text box.
    Textarea,
    /// A whole number.
    Integer,
    /// A decimal or floating-point number.
    Number,
    /// A checkbox.
    Checkbox,
    /// A date picker.
    Date,
    /// A date and time picker (UTC).
    DateTime,
    /// One of a list.
    Select,
    /// Several of a list.
    SelectMultiple,
    /// A foreign key typed as an id, with a lookup link.
    RawId,
    /// Shown, not edited.
    Readonly,
    /// A password (never pre-filled).
    Password,
    /// A file: the current one linked, a "Clear" box, a file input.
    File,
    /// An image: the same with a thumbnail.
    Image,
}

/// One field of an admin form, ready for the template.
#[derive(Debug, Clone)]
pub struct AdminField {
    /// Input name (the column name).
    pub name: String,
    /// Label.
    pub label: String,
    /// How it is edited.
    pub widget: Widget,
    /// The current value as the input shows it.
    pub value: String,
    /// Selected values of a multiple select.
    pub selected: Vec<String>,
    /// Options of a select: value and label.
    pub options: Vec<(String, String)>,
    /// Whether a value is required.
    pub required: bool,
    /// Help text.
    pub help: String,
    /// Errors.
    pub errors: Vec<String>,
    /// The field whose text fills this one as the user types (a slug).
    pub prepopulate_from: String,
    /// For raw ids: the change list of the target, to look an id up.
    pub lookup_url: String,
    /// For raw ids and read-only fields: the text shown beside or instead of the input.
    pub display: String,
    /// Maximum length of a text input, if known.
    pub max_length: Option<u32>,
    /// Options of a multiple select in labelled groups (permissions by app and model); when
    /// empty, `options` are shown ungrouped.
    pub groups: Vec<(String, Vec<(String, String)>)>,
}

impl AdminField {
    /// The `id` attribute.
    pub fn id(&self) -> String {
        format!("id_{}", self.name)
    }

    /// Whether an option is the current value.
    pub fn is_selected(&self, value: &str) -> bool {
        if self.widget == Widget::SelectMultiple {
            self.selected.iter().any(|s| s == value)
        } else {
            self.value == value
        }
    }

    /// Whether the checkbox is ticked.
    pub fn is_checked(&self) -> bool {
        self.value == "true"
    }

    /// The `maxlength` attribute, or empty.
    pub fn maxlength_attr(&self) -> String {
        self.max_length.map(|n| n.to_string()).unwrap_or_default()
    }
}

/// A column as the form sees it.
struct FormColumn<'a> {
    info: &'a ColumnInfo,
    target: Option<&'a ModelDef>,
}

fn form_columns<'a>(admin: &ModelAdmin, registry: &'a Registry, columns: &'a [ColumnInfo]) -> Vec<FormColumn<'a>> {
    let model = admin.model();
    let fks = model.rows().foreign_keys();
    let target_of = |column: &str| {
        fks.iter().find(|fk| fk.column == column).and_then(|fk| registry.models.iter().find(|m| m.table() == fk.table))
    };
    let chosen: Vec<&ColumnInfo> = match &admin.fields {
        Some(names) => names.iter().filter_map(|n| columns.iter().find(|c| c.name == n)).collect(),
        None => columns.iter().filter(|c| !c.generated && !admin.exclude.iter().any(|e| e == c.name)).collect(),
    };
    chosen.into_iter().map(|info| FormColumn { info, target: target_of(info.name) }).collect()
}

/// Options of a foreign key or many-to-many select: every row of the target, by name.
async fn target_options(db: &Db, target: &ModelDef) -> Result<Vec<(String, String)>, DbErr> {
    let pk = target.rows().primary_key();
    let rows = target.rows().find(db, &RowQuery { limit: Some(2000), ..RowQuery::default() }).await?;
    let mut options: Vec<(String, String)> =
        rows.iter().map(|row| (plain_text(row.get(pk).unwrap_or(&Value::Null)), target.repr(row))).collect();
    options.sort_by_key(|o| o.1.to_lowercase());
    Ok(options)
}

/// The text an input shows for a stored value.
pub(crate) fn input_text(kind: FieldKind, value: &Value) -> String {
    match (kind, value) {
        (_, Value::Null) => String::new(),
        (FieldKind::Boolean, v) => (v.as_bool() == Some(true) || v.as_i64() == Some(1)).to_string(),
        (FieldKind::DateTime, Value::String(s)) => s
            .parse::<chrono::DateTime<Utc>>()
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
            .unwrap_or_else(|_| s.clone()),
        (FieldKind::Json, v) => serde_json::to_string_pretty(v).unwrap_or_default(),
        (_, v) => plain_text(v),
    }
}

/// A many-to-many relation's field with nothing filled in yet.
fn relation_field(relation: &ManyToMany, widget: Widget, tr: &Tr) -> AdminField {
    AdminField {
        name: relation.name.clone(),
        label: tr.t(&relation.label).to_owned(),
        widget,
        value: String::new(),
        selected: Vec::new(),
        options: Vec::new(),
        required: false,
        help: tr.t(&relation.help).to_owned(),
        errors: Vec::new(),
        prepopulate_from: String::new(),
        lookup_url: String::new(),
        groups: Vec::new(),
        display: String::new(),
        max_length: None,
    }
}

/// Builds the fields of the form for `row` (the stored row, or the defaults of a new one).
pub(crate) async fn build_fields(
    admin: &ModelAdmin,
    registry: &Registry,
    db: &Db,
    row: &Row,
    pk: Option<&str>,
    tr: &Tr,
    admin_url: &str,
) -> Result<Vec<AdminField>, DbErr> {
    let model = admin.model();
    let columns = model.rows().columns();
    let mut fields = Vec::new();
    for column in form_columns(admin, registry, &columns) {
        let info = column.info;
        let value = row.get(info.name).unwrap_or(&Value::Null);
        let mut field = AdminField {
            name: info.name.to_owned(),
            label: tr.t(&admin.column_label(info.name)).to_owned(),
            widget: Widget::Text,
            value: input_text(info.kind, value),
            selected: Vec::new(),
            options: Vec::new(),
            required: is_required(admin, info),
            help: admin.help.get(info.name).map(|h| tr.t(h).to_owned()).unwrap_or_default(),
            errors: Vec::new(),
            prepopulate_from: admin
                .model()
                .rules()
                .slug_source(info.name)
                .map(|s| format!("id_{s}"))
                .unwrap_or_default(),
            lookup_url: String::new(),
            groups: Vec::new(),
            display: String::new(),
            max_length: match info.kind {
                FieldKind::Text(n) => n,
                _ => None,
            },
        };
        if let Some(upload) = admin.uploads.get(info.name)
            && !admin.is_readonly(info.name)
        {
            field.widget = match upload.kind {
                super::options::UploadKind::File => Widget::File,
                super::options::UploadKind::Image => Widget::Image,
            };
            field.max_length = None;
            if !field.value.is_empty() {
                field.display = quartet_kernel::media::url(&field.value);
            }
        } else if admin.is_readonly(info.name) || (info.primary_key && pk.is_some()) {
            field.widget = Widget::Readonly;
            field.required = false;
            field.display = readonly_text(admin, db, &column, value, tr).await?;
        } else if let Some(choices) = admin.choices.get(info.name) {
            field.widget = Widget::Select;
            field.options = choices.iter().map(|(v, l)| (v.clone(), tr.t(l).to_owned())).collect();
        } else if let Some(target) = column.target {
            if admin.raw_id.iter().any(|r| r == info.name) {
                field.widget = Widget::RawId;
                field.lookup_url = format!("{admin_url}{}/{}/?_popup=1", target.app, target.name);
                if !Value::is_null(value) {
                    field.display = repr_of(db, target, value).await?.unwrap_or_default();
                }
            } else {
                field.widget = Widget::Select;
                field.options = target_options(db, target).await?;
            }
        } else {
            field.widget = match info.kind {
                FieldKind::Boolean => Widget::Checkbox,
                FieldKind::Integer => Widget::Integer,
                FieldKind::Float | FieldKind::Decimal => Widget::Number,
                FieldKind::Date => Widget::Date,
                FieldKind::DateTime => Widget::DateTime,
                FieldKind::LongText | FieldKind::Json => Widget::Textarea,
                _ if admin.textarea.iter().any(|t| t == info.name) => Widget::Textarea,
                _ => Widget::Text,
            };
        }
        fields.push(field);
    }
    for relation in &admin.many_to_many {
        let Some(target) = registry.model(&relation.target) else { continue };
        let selected = match pk {
            Some(pk) => linked(db, registry, relation, pk).await?,
            None => Vec::new(),
        };
        if let Some(names) = &relation.by_name {
            fields.push(AdminField {
                value: names_of(db, target, names, &selected).await?.join(", "),
                ..relation_field(relation, Widget::Text, tr)
            });
            continue;
        }
        let options = target_options(db, target).await?;
        let groups = if target.label() == "accounts.permission" {
            permission_groups(db, registry, &options, tr).await?
        } else {
            Vec::new()
        };
        fields.push(AdminField { selected, options, groups, ..relation_field(relation, Widget::SelectMultiple, tr) });
    }
    for relation in &admin.readonly_many_to_many {
        let Some(target) = registry.model(&relation.target) else { continue };
        let selected = match pk {
            Some(pk) => linked(db, registry, relation, pk).await?,
            None => Vec::new(),
        };
        let names: Vec<String> = target_options(db, target)
            .await?
            .into_iter()
            .filter(|(value, _)| selected.contains(value))
            .map(|(_, label)| label)
            .collect();
        let display = if names.is_empty() { "-".to_owned() } else { names.join(", ") };
        fields.push(AdminField { display, ..relation_field(relation, Widget::Readonly, tr) });
    }
    Ok(fields)
}

/// Permissions grouped by app and model ("Blog | post"), in the order of the installed apps and
/// their models, as Django's `filter_horizontal` lists them.
async fn permission_groups(
    db: &Db,
    registry: &Registry,
    options: &[(String, String)],
    tr: &Tr,
) -> Result<Vec<(String, Vec<(String, String)>)>, DbErr> {
    use sea_orm::EntityTrait;
    let rows = quartet_kernel::auth::models::permission::Entity::find().all(db).await?;
    let mut groups: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for app in &registry.apps {
        // The app's own permissions, of no model.
        let own: Vec<(String, String)> = options
            .iter()
            .filter(|(codename, _)| {
                rows.iter().any(|p| &p.codename == codename && p.app_label == app.label && p.model.is_empty())
            })
            .cloned()
            .collect();
        if !own.is_empty() {
            groups.push((tr.t(app.name).to_owned(), own));
        }
        for model in registry.models.iter().filter(|m| m.app == app.label) {
            let chosen: Vec<(String, String)> = options
                .iter()
                .filter(|(codename, _)| {
                    rows.iter().any(|p| &p.codename == codename && p.app_label == app.label && p.model == model.name)
                })
                .cloned()
                .collect();
            if !chosen.is_empty() {
                groups.push((format!("{} | {}", tr.t(app.name), tr.t(model.verbose_name)), chosen));
            }
        }
    }
    // Permissions of models no installed app has any more, last.
    let grouped: Vec<&String> = groups.iter().flat_map(|(_, o)| o.iter().map(|(v, _)| v)).collect();
    let rest: Vec<(String, String)> = options.iter().filter(|(v, _)| !grouped.contains(&v)).cloned().collect();
    if !rest.is_empty() {
        groups.push((tr.t("Other").to_owned(), rest));
    }
    Ok(groups)
}

fn is_required(admin: &ModelAdmin, info: &ColumnInfo) -> bool {
    !info.nullable
        && !matches!(info.kind, FieldKind::Boolean)
        && !admin.optional.iter().any(|o| o == info.name)
        && !admin.is_readonly(info.name)
}

async fn readonly_text(
    admin: &ModelAdmin,
    db: &Db,
    column: &FormColumn<'_>,
    value: &Value,
    tr: &Tr,
) -> Result<String, DbErr> {
    if let Some(choices) = admin.choices.get(column.info.name) {
        let text = plain_text(value);
        return Ok(choices.iter().find(|(v, _)| *v == text).map_or(text, |(_, l)| tr.t(l).to_owned()));
    }
    if let Some(target) = column.target
        && !Value::is_null(value)
    {
        return Ok(repr_of(db, target, value).await?.unwrap_or_default());
    }
    Ok(super::list::cell_text(column.info.kind, value, tr))
}

/// The name of the row of `target` whose key is `pk`.
pub(crate) async fn repr_of(db: &Db, target: &ModelDef, pk: &Value) -> Result<Option<String>, DbErr> {
    let key = target.rows().columns().into_iter().find(|c| c.primary_key);
    let Some(key) = key else { return Ok(None) };
    let rows = target.rows().find(db, &RowQuery::in_values(key.name, key.kind, std::slice::from_ref(pk))).await?;
    Ok(rows.first().map(|row| target.repr(row)))
}

/// The names of the rows of `target` that `column` of `rows` points at, as (key, name), in one
/// query.
pub(crate) async fn referenced_names(
    db: &Db,
    target: &ModelDef,
    column: &str,
    rows: &[Row],
) -> Result<Vec<(String, String)>, DbErr> {
    let Some(key) = target.rows().columns().into_iter().find(|c| c.primary_key) else { return Ok(Vec::new()) };
    let keys: Vec<Value> = rows.iter().filter_map(|r| r.get(column)).filter(|v| !Value::is_null(v)).cloned().collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let found = target.rows().find(db, &RowQuery::in_values(key.name, key.kind, &keys)).await?;
    Ok(found.iter().map(|r| (plain_text(r.get(key.name).unwrap_or(&Value::Null)), target.repr(r))).collect())
}

/// The keys of the rows linked to `pk` through `relation`.
pub(crate) async fn linked(
    db: &Db,
    registry: &Registry,
    relation: &ManyToMany,
    pk: &str,
) -> Result<Vec<String>, DbErr> {
    let Some(through) = registry.model(&relation.through) else { return Ok(Vec::new()) };
    let query = RowQuery::key_equals(&relation.own_column, pk);
    Ok(through
        .rows()
        .find(db, &query)
        .await?
        .iter()
        .map(|row| plain_text(row.get(&relation.other_column).unwrap_or(&Value::Null)))
        .collect())
}

/// Tag names as django-taggit reads them: split on commas when there is one, else on spaces;
/// double quotes group words; blanks and repeats are dropped.
pub fn parse_tag_names(input: &str) -> Vec<String> {
    let separator = if input.contains(',') { ',' } else { ' ' };
    let mut names: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let push = |current: &mut String, names: &mut Vec<String>| {
        let name = current.trim().to_owned();
        if !name.is_empty() && !names.iter().any(|n| n.to_lowercase() == name.to_lowercase()) {
            names.push(name);
        }
        current.clear();
    };
    for c in input.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c == separator && !quoted => push(&mut current, &mut names),
            c => current.push(c),
        }
    }
    push(&mut current, &mut names);
    names.sort();
    names
}

/// The names of the rows of `target` with the given keys, sorted.
async fn names_of(
    db: &Db,
    target: &ModelDef,
    names: &super::options::TagNames,
    keys: &[String],
) -> Result<Vec<String>, DbErr> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let pk = target.rows().primary_key();
    let values: Vec<Value> = keys.iter().map(|k| key_value(target, pk, k)).collect();
    let kind = target.rows().columns().iter().find(|c| c.primary_key).map_or(FieldKind::Integer, |c| c.kind);
    let rows = target.rows().find(db, &RowQuery::in_values(pk, kind, &values)).await?;
    let mut out: Vec<String> =
        rows.iter().map(|r| plain_text(r.get(&names.name_column).unwrap_or(&Value::Null))).collect();
    out.sort();
    Ok(out)
}

/// The keys of the rows of `target` named `chosen`, creating the missing ones (with a unique
/// slug) inside `tx`.
pub(crate) async fn keys_for_names(
    tx: &quartet_kernel::db::Tx,
    db: &Db,
    target: &ModelDef,
    names: &super::options::TagNames,
    chosen: &[String],
) -> quartet_kernel::error::Result<Vec<String>> {
    let pk = target.rows().primary_key();
    let mut keys = Vec::new();
    let mut new_slugs: Vec<String> = Vec::new();
    for name in chosen {
        // Names match whatever their case ("rust" is the tag "Rust").
        let same_name = Expr::expr(sea_orm::sea_query::Func::lower(Expr::col(Alias::new(&names.name_column))))
            .eq(name.to_lowercase());
        let query = RowQuery { condition: Condition::all().add(same_name), ..RowQuery::default() };
        if let Some(row) = target.rows().find(db, &query).await?.first() {
            keys.push(plain_text(row.get(pk).unwrap_or(&Value::Null)));
            continue;
        }
        let base = match quartet_kernel::forms::slugify(name) {
            slug if slug.is_empty() => "tag".to_owned(),
            slug => slug,
        };
        let mut slug = base.clone();
        let mut n = 1;
        loop {
            let condition = Condition::all().add(Expr::col(Alias::new(&names.slug_column)).eq(slug.clone()));
            if !new_slugs.contains(&slug) && target.rows().count_where(db, condition).await? == 0 {
                break;
            }
            n += 1;
            slug = format!("{base}-{n}");
        }
        let mut row = Row::new();
        row.insert(names.name_column.clone(), Value::String(name.clone()));
        row.insert(names.slug_column.clone(), Value::String(slug.clone()));
        new_slugs.push(slug);
        let saved = target.rows().insert(tx, row).await.map_err(super::views::write_error)?;
        keys.push(plain_text(saved.get(pk).unwrap_or(&Value::Null)));
    }
    Ok(keys)
}

/// The outcome of reading a submitted form.
pub(crate) struct Submission {
    /// The row to save (the stored row with the submitted changes).
    pub row: Row,
    /// Errors by field name.
    pub errors: HashMap<String, Vec<String>>,
    /// The names of fields whose value changed.
    pub changed: Vec<String>,
    /// Chosen keys of each many-to-many field.
    pub many_to_many: Vec<(ManyToMany, Vec<String>)>,
    /// Files to store (column, file) once the whole form is valid.
    pub uploads: Vec<(String, UploadedFile)>,
}

/// Reads `form` into a copy of `row`, validating every editable field.
pub(crate) async fn parse_submission(
    admin: &ModelAdmin,
    registry: &Registry,
    db: &Db,
    form: &FormData,
    mut row: Row,
    pk: Option<&str>,
    tr: &Tr,
) -> Result<Submission, DbErr> {
    let model = admin.model();
    let columns = model.rows().columns();
    let mut errors: HashMap<String, Vec<String>> = HashMap::new();
    let mut changed = Vec::new();
    let mut uploads = Vec::new();
    for column in form_columns(admin, registry, &columns) {
        let info = column.info;
        if admin.is_readonly(info.name) || info.primary_key && pk.is_some() {
            continue;
        }
        if let Some(upload) = admin.uploads.get(info.name) {
            let current = row.get(info.name).map(plain_text).unwrap_or_default();
            let clear = form.get(&format!("{}-clear", info.name)).is_some();
            let mut problem = None;
            let too_large = form
                .file_too_large(info.name)
                .then(|| quartet_kernel::forms::file_too_large_message(tr, form.upload_limit()));
            match form.file(info.name) {
                _ if too_large.is_some() => {}
                Some(_) if clear => {
                    problem = Some(tr.t("Please either submit a file or check the clear checkbox, not both."));
                }
                Some(file)
                    if upload.kind == super::options::UploadKind::Image
                        && quartet_kernel::media::sniff_image(&file.head).is_none() =>
                {
                    problem = Some(tr.t(
                        "Upload a valid image. The file you uploaded was either not an image or a corrupted image.",
                    ));
                }
                Some(file) => {
                    uploads.push((info.name.to_owned(), file.clone()));
                    changed.push(info.name.to_owned());
                }
                None if clear && !is_required(admin, info) && !current.is_empty() => {
                    let empty = if info.nullable { Value::Null } else { Value::String(String::new()) };
                    row.insert(info.name.to_owned(), empty);
                    changed.push(info.name.to_owned());
                }
                None if current.is_empty() && is_required(admin, info) => {
                    problem = Some(tr.t("This field is required."))
                }
                None => {}
            }
            if let Some(message) = problem {
                errors.entry(info.name.to_owned()).or_default().push(message.to_owned());
            }
            if let Some(message) = too_large {
                errors.entry(info.name.to_owned()).or_default().push(message);
            }
            continue;
        }
        let raw = form.get(info.name).unwrap_or_default().trim().to_owned();
        if raw.contains('\0') {
            errors.entry(info.name.to_owned()).or_default().push(tr.t("Null characters are not allowed.").to_owned());
            continue;
        }
        let parsed = parse_value(admin, info, &raw, tr);
        let value = match parsed {
            Ok(value) => value,
            Err(message) => {
                errors.entry(info.name.to_owned()).or_default().push(message);
                continue;
            }
        };
        if let Some(target) = column.target
            && !Value::is_null(&value)
            && repr_of(db, target, &value).await?.is_none()
        {
            errors
                .entry(info.name.to_owned())
                .or_default()
                .push(tr.t("Select a valid choice. That choice is not one of the available choices.").to_owned());
            continue;
        }
        let before = row.get(info.name).cloned().unwrap_or(Value::Null);
        if input_text(info.kind, &before) != input_text(info.kind, &value) {
            changed.push(info.name.to_owned());
        }
        row.insert(info.name.to_owned(), value);
    }
    // Unique columns: checked here so the message names the field.
    for info in columns.iter().filter(|c| c.unique && !c.primary_key) {
        if errors.contains_key(info.name) {
            continue;
        }
        let Some(value) = row.get(info.name).filter(|v| !Value::is_null(v) && !plain_text(v).is_empty()) else {
            continue;
        };
        let Some(db_value) = quartet_kernel::models::to_db_value(info.kind, value) else { continue };
        let mut condition = Condition::all().add(Expr::col(Alias::new(info.name)).eq(db_value));
        if let Some(pk) = pk {
            condition = condition
                .add(Expr::col(Alias::new(model.rows().primary_key())).ne(quartet_kernel::models::key_value(pk)));
        }
        if model.rows().count_where(db, condition).await? > 0 {
            let message = quartet_kernel::i18n::fill(
                tr.t("{model} with this {field} already exists."),
                &[("model", &capitalize(tr.t(model.verbose_name))), ("field", &tr.t(&admin.column_label(info.name)))],
            );
            errors.entry(info.name.to_owned()).or_default().push(message);
        }
    }
    // `unique_for_date`: one value per date of another column.
    for (column, date_column) in model.date_clashes(db, &row, pk).await? {
        if errors.contains_key(column) || errors.contains_key(date_column) {
            continue;
        }
        let message = quartet_kernel::i18n::fill(
            tr.t("{field} must be unique for {date_field} date."),
            &[
                ("field", &capitalize(tr.t(&admin.column_label(column)))),
                ("date_field", &capitalize(tr.t(&admin.column_label(date_column)))),
            ],
        );
        errors.entry(column.to_owned()).or_default().push(message);
    }
    let mut many_to_many = Vec::new();
    for relation in &admin.many_to_many {
        if let Some(names) = &relation.by_name {
            let raw = form.get(&relation.name).unwrap_or_default();
            if raw.contains('\0') {
                errors
                    .entry(relation.name.clone())
                    .or_default()
                    .push(tr.t("Null characters are not allowed.").to_owned());
                continue;
            }
            let chosen = parse_tag_names(raw);
            if let Some(long) = chosen.iter().find(|n| n.chars().count() > names.max_length) {
                let message = tr.n(
                    "Ensure this value has at most {n} character (it has {length}).",
                    "Ensure this value has at most {n} characters (it has {length}).",
                    names.max_length as u64,
                    &[("length", &long.chars().count())],
                );
                errors.entry(relation.name.clone()).or_default().push(message);
                continue;
            }
            let before = match (pk, registry.model(&relation.target)) {
                (Some(pk), Some(target)) => {
                    names_of(db, target, names, &linked(db, registry, relation, pk).await?).await?
                }
                _ => Vec::new(),
            };
            let mut sorted_now = chosen.clone();
            sorted_now.sort();
            if before != sorted_now {
                changed.push(relation.name.clone());
            }
            many_to_many.push((relation.clone(), chosen));
            continue;
        }
        let chosen: Vec<String> = form.get_all(&relation.name).into_iter().map(ToOwned::to_owned).collect();
        if let Some(target) = registry.model(&relation.target) {
            let known = target_options(db, target).await?;
            if chosen.iter().any(|c| !known.iter().any(|(v, _)| v == c)) {
                errors
                    .entry(relation.name.clone())
                    .or_default()
                    .push(tr.t("Select a valid choice. That choice is not one of the available choices.").to_owned());
                continue;
            }
        }
        let before = match pk {
            Some(pk) => linked(db, registry, relation, pk).await?,
            None => Vec::new(),
        };
        let mut sorted_before = before.clone();
        sorted_before.sort();
        let mut sorted_now = chosen.clone();
        sorted_now.sort();
        if sorted_before != sorted_now {
            changed.push(relation.name.clone());
        }
        many_to_many.push((relation.clone(), chosen));
    }
    Ok(Submission { row, errors, changed, many_to_many, uploads })
}

/// Prefixes the names of fields shown as part of a bigger form (`title` → `chapter_set-0-title`),
/// and the fields they are filled from.
pub(crate) fn prefix_fields(fields: &mut [AdminField], prefix: &str) {
    for field in fields.iter_mut() {
        field.name = format!("{prefix}{}", field.name);
        if let Some(source) = field.prepopulate_from.strip_prefix("id_") {
            field.prepopulate_from = format!("id_{prefix}{source}");
        }
    }
}

/// A key given as text, typed for `column` of `model`: a number for an integer column.
pub(crate) fn key_value(model: &ModelDef, column: &str, key: &str) -> Value {
    let integer = model.rows().columns().iter().any(|c| c.name == column && c.kind == FieldKind::Integer);
    match key.parse::<i64>() {
        Ok(n) if integer => Value::from(n),
        _ => Value::from(key),
    }
}

/// `book` → `Book`.
pub(crate) fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Parses one submitted value into the JSON a row holds.
pub(crate) fn parse_value(admin: &ModelAdmin, info: &ColumnInfo, raw: &str, tr: &Tr) -> Result<Value, String> {
    let required = tr.t("This field is required.").to_owned();
    if info.kind == FieldKind::Boolean {
        return Ok(Value::Bool(matches!(raw, "on" | "true" | "1")));
    }
    if raw.is_empty() {
        if is_required(admin, info) {
            return Err(required);
        }
        return Ok(if info.nullable { Value::Null } else { Value::String(String::new()) });
    }
    if let Some(choices) = admin.choices.get(info.name) {
        clean::choice(raw, choices.iter().map(|(v, _)| v.as_str()), tr)?;
    }
    match info.kind {
        FieldKind::Integer => clean::integer(raw, None, None, tr).map(Value::from),
        FieldKind::Float => raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| tr.t("Enter a number.").to_owned()),
        FieldKind::Decimal => clean::decimal(raw, info.digits, None, None, tr).map(|d| Value::String(d.to_string())),
        FieldKind::Date => clean::date(raw, tr).map(|d| Value::String(d.to_string())),
        FieldKind::DateTime => ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
            .map(|t| Value::String(t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)))
            .ok_or_else(|| tr.t("Enter a valid date/time.").to_owned()),
        FieldKind::Json => serde_json::from_str(raw).map_err(|_| tr.t("Enter a valid JSON.").to_owned()),
        FieldKind::Uuid => raw
            .parse::<uuid::Uuid>()
            .map(|u| Value::String(u.to_string()))
            .map_err(|_| tr.t("Enter a valid UUID.").to_owned()),
        FieldKind::Text(max) => {
            if let Some(max) = max {
                clean::max_length(raw, max as usize, tr)?;
            }
            Ok(Value::String(raw.to_owned()))
        }
        FieldKind::LongText => Ok(Value::String(raw.to_owned())),
        FieldKind::Boolean => Ok(Value::Bool(true)),
    }
}

/// Stores the submitted files of a valid form and puts their paths in the row; a file that turns
/// out not to be a usable image becomes an error of its field.
pub(crate) async fn store_uploads(
    core: &quartet_kernel::app::CoreState,
    admin: &ModelAdmin,
    submission: &mut Submission,
    tr: &Tr,
) -> Result<(), quartet_kernel::error::Error> {
    for (column, file) in std::mem::take(&mut submission.uploads) {
        let Some(upload) = admin.uploads.get(&column) else { continue };
        let stored = match upload.kind {
            super::options::UploadKind::Image => {
                quartet_kernel::media::store_uploaded_image(
                    core,
                    &file,
                    &upload.folder,
                    core.settings.uploads.max_image_pixels,
                )
                .await
            }
            super::options::UploadKind::File => quartet_kernel::media::store_file(core, &file, &upload.folder).await,
        };
        match stored {
            Ok(path) => {
                submission.row.insert(column, Value::String(path));
            }
            Err(quartet_kernel::media::UploadError::Storage(e)) => {
                return Err(quartet_kernel::http::body::disk_error(e));
            }
            Err(e) => submission.errors.entry(column).or_default().push(e.message(tr)),
        }
    }
    Ok(())
}

/// The same fields shown as text (a viewer without the change permission).
pub(crate) fn readonly_fields(fields: Vec<AdminField>, tr: &Tr) -> Vec<AdminField> {
    fields
        .into_iter()
        .map(|mut f| {
            if f.widget != Widget::Readonly {
                f.display = match f.widget {
                    Widget::Select => {
                        f.options.iter().find(|(v, _)| *v == f.value).map_or(f.value.clone(), |(_, l)| l.clone())
                    }
                    Widget::SelectMultiple => f
                        .options
                        .iter()
                        .filter(|(v, _)| f.selected.contains(v))
                        .map(|(_, l)| l.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                    Widget::Checkbox => if f.is_checked() { tr.t("Yes") } else { tr.t("No") }.to_owned(),
                    // A raw-id reference shows the row's name (kept in `display`), not its id.
                    Widget::RawId if !f.display.is_empty() => f.display.clone(),
                    Widget::Password => String::new(),
                    _ => f.value.clone(),
                };
                f.widget = Widget::Readonly;
            }
            f
        })
        .collect()
}

/// Puts submitted values and errors back into the fields, to show the form again.
pub(crate) fn apply_errors(fields: &mut [AdminField], form: &FormData, errors: &HashMap<String, Vec<String>>) {
    for field in fields.iter_mut() {
        match field.widget {
            Widget::Readonly | Widget::Password | Widget::File | Widget::Image => {}
            Widget::Checkbox => field.value = (form.get(&field.name).is_some()).to_string(),
            Widget::SelectMultiple => {
                field.selected = form.get_all(&field.name).into_iter().map(ToOwned::to_owned).collect();
            }
            _ => field.value = form.get(&field.name).unwrap_or_default().to_owned(),
        }
        if let Some(list) = errors.get(&field.name) {
            field.errors = list.clone();
        }
    }
}
