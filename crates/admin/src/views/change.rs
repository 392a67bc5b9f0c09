//! The add and change forms of a row, with inlines, translations, many-to-many fields and uploads.

use askama::Template;
use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde_json::Value;

use super::{Crumb, Staff, admin_root, authorize, base_crumbs, change_url, changelist_url, crumb, history, load_row};
use crate::form::{
    AdminField, Widget, apply_errors, build_fields, key_value, parse_submission, readonly_fields, store_uploads,
};
use crate::hooks::Clean;
use crate::inline::{self, InlineSet};
use crate::log::Action;
use crate::options::ModelAdmin;
use crate::translated::{self, TranslatedPart};
use quartet_kernel::app::CoreState;
use quartet_kernel::error::{Error, Result};
use quartet_kernel::forms::FormData;
use quartet_kernel::i18n::{Tr, fill};
use quartet_kernel::models::{Row, RowQuery, WriteError, plain_text};
use quartet_kernel::templates::{PageContext, render};

#[derive(Template)]
#[template(path = "admin/change_form.html")]
struct ChangeFormPage {
    ctx: PageContext,
    title: String,
    crumbs: Vec<Crumb>,
    fields: Vec<AdminField>,
    errors: bool,
    editable: bool,
    adding: bool,
    delete_url: String,
    object_links: Vec<crate::hooks::ObjectLink>,
    can_add_another: bool,
    object_repr: String,
    history_url: String,
    site_url: String,
    inlines: Vec<InlineSet>,
    translated: Option<TranslatedPart>,
}

/// Values a new row starts with: defaults for every column the form does not set.
pub(crate) fn new_row(admin: &ModelAdmin, now: chrono::DateTime<Utc>) -> Row {
    let mut row = Row::new();
    let foreign_keys = admin.model().rows().foreign_keys();
    for column in admin.model().rows().columns() {
        if column.generated {
            continue;
        }
        let value = if column.nullable || foreign_keys.iter().any(|fk| fk.column == column.name) {
            // A reference starts unchosen ("---------"), never as id 0.
            Value::Null
        } else {
            match column.kind {
                quartet_kernel::models::FieldKind::Boolean => Value::Bool(false),
                quartet_kernel::models::FieldKind::Integer => Value::from(0),
                quartet_kernel::models::FieldKind::Float => Value::from(0.0),
                quartet_kernel::models::FieldKind::Decimal => Value::String("0".into()),
                quartet_kernel::models::FieldKind::DateTime => {
                    Value::String(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
                }
                quartet_kernel::models::FieldKind::Date => Value::String(now.date_naive().to_string()),
                quartet_kernel::models::FieldKind::Json => Value::Object(serde_json::Map::new()),
                _ => Value::String(String::new()),
            }
        };
        let value = admin.initial.get(column.name).map_or(value, |initial| Value::String(initial.clone()));
        row.insert(column.name.to_owned(), value);
    }
    admin.model().stamp(&mut row, now, true);
    if let Some(hooks) = &admin.hooks {
        hooks.new_row(now, &mut row);
    }
    row
}

/// Which form page is asked for, and so which permission it needs and where sign-in returns.
enum FormPage<'a> {
    /// The add page (`add`).
    Add,
    /// The change page shown (`view` or `change`).
    View(&'a str),
    /// The change page submitted (`change`).
    Change(&'a str),
}

/// The admin of `app.model` as this staff user may use it, after [`authorize`]: the fields only
/// superusers may change are read-only for everyone else.
async fn form_admin<'a>(
    ctx: &PageContext,
    core: &'a CoreState,
    (app, model): (&str, &str),
    page: FormPage<'_>,
) -> Result<(std::borrow::Cow<'a, ModelAdmin>, Staff)> {
    let (actions, pk): (&[&str], Option<&str>) = match page {
        FormPage::Add => (&["add"], None),
        FormPage::View(pk) => (&["view", "change"], Some(pk)),
        FormPage::Change(pk) => (&["change"], Some(pk)),
    };
    let here = |admin: &ModelAdmin| match pk {
        Some(pk) => change_url(core, admin, pk),
        None => core.url_with("admin:add", &[&app, &model]),
    };
    let (admin, staff) = authorize(ctx, core, (app, model), actions, here).await?;
    Ok((admin.restricted_for(staff.user.is_superuser), staff))
}

pub(crate) async fn add_form(
    ctx: PageContext,
    Path((app, model)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let core = ctx.core().clone();
    let (admin, staff) = form_admin(&ctx, &core, (&app, &model), FormPage::Add).await?;
    let admin: &ModelAdmin = &admin;
    let tr = ctx.tr();
    let row = new_row(admin, core.now());
    let mut fields = build_fields(admin, &core.registry, &core.db, &row, None, &tr, &admin_root(&core)).await?;
    if let Some(hooks) = &admin.hooks {
        fields = hooks.add_fields(&tr, fields);
    }
    let language = translated::language_of(&core, query.as_deref());
    let extras = Extras::build(&core, admin, &staff, (None, &language), None, &tr).await?;
    render_form(ctx, &core, admin, &staff, fields, extras, None, false)
}

/// What a form page shows besides the model's own fields.
struct Extras {
    inlines: Vec<InlineSet>,
    translated: Option<TranslatedPart>,
}

impl Extras {
    /// Inlines and translated fields of the page of `pk` (`None` when adding); `submitted`
    /// re-shows what was posted with its errors.
    async fn build(
        core: &CoreState,
        admin: &ModelAdmin,
        staff: &Staff,
        (pk, language): (Option<&str>, &str),
        submitted: Option<(&FormData, &inline::InlineSubmission, Option<&crate::form::Submission>)>,
        tr: &Tr,
    ) -> Result<Self> {
        let editable = pk.is_none() || staff.can("change", admin);
        let page_url = match pk {
            Some(pk) => change_url(core, admin, pk),
            None => core.url_with("admin:add", &[&admin.model().app, &admin.model().name]),
        };
        let children = submitted.map(|(data, children, _)| (data, children));
        let inlines = inline::build(core, admin, staff, pk, editable, children, tr).await?;
        let translation = submitted.and_then(|(data, _, t)| t.map(|t| (data, t)));
        let translated = translated::build(core, admin, pk, language, &page_url, translation, tr).await?;
        Ok(Self { inlines, translated })
    }
}

#[allow(clippy::too_many_arguments)]
fn render_form(
    ctx: PageContext,
    core: &CoreState,
    admin: &ModelAdmin,
    staff: &Staff,
    fields: Vec<AdminField>,
    extras: Extras,
    object: Option<(&str, &Row)>,
    errors: bool,
) -> Result<Response> {
    let tr = ctx.tr();
    let m = admin.model();
    let pk = object.map(|(pk, _)| pk);
    let object_repr = object.map(|(_, row)| m.repr(row)).unwrap_or_default();
    let site_url =
        object.and_then(|(_, row)| admin.view_on_site.and_then(|url_of| url_of(ctx.core(), row))).unwrap_or_default();
    let history_url = match pk {
        Some(pk) => {
            let encoded = percent_encoding::utf8_percent_encode(pk, percent_encoding::NON_ALPHANUMERIC).to_string();
            core.url_with("admin:history", &[&m.app, &m.name, &encoded])
        }
        None => String::new(),
    };
    // Fields the model sets itself (created, updated) are not asked for when adding.
    let fields = if pk.is_none() {
        fields.into_iter().filter(|f| !admin.model().rules().sets_itself(&f.name)).collect()
    } else {
        fields
    };
    let editable = pk.is_none() || staff.can("change", admin);
    let title = match (pk, editable) {
        (None, _) => fill(tr.t("Add {model}"), &[("model", &tr.t(m.verbose_name))]),
        (Some(_), true) => fill(tr.t("Change {model}"), &[("model", &tr.t(m.verbose_name))]),
        (Some(_), false) => fill(tr.t("View {model}"), &[("model", &tr.t(m.verbose_name))]),
    };
    let mut crumbs = base_crumbs(core, &tr, admin);
    crumbs.push(crumb(if pk.is_some() { object_repr.clone() } else { title.clone() }, ""));
    let fields = if editable { fields } else { readonly_fields(fields, &tr) };
    let Extras { inlines, mut translated } = extras;
    if let Some(part) = translated.as_mut().filter(|_| !editable) {
        part.fields = readonly_fields(std::mem::take(&mut part.fields), &tr);
    }
    render(&ChangeFormPage {
        title,
        crumbs,
        fields,
        errors,
        editable,
        adding: pk.is_none(),
        delete_url: match pk {
            Some(pk) if staff.can("delete", admin) => {
                let encoded = percent_encoding::utf8_percent_encode(pk, percent_encoding::NON_ALPHANUMERIC).to_string();
                core.url_with("admin:delete", &[&m.app, &m.name, &encoded])
            }
            _ => String::new(),
        },
        object_links: match (pk, &admin.hooks) {
            (Some(pk), Some(hooks)) if editable => hooks.object_links(core, &tr, pk),
            _ => Vec::new(),
        },
        can_add_another: staff.can("add", admin),
        object_repr,
        history_url,
        site_url,
        inlines,
        translated,
        ctx,
    })
}

/// "Changed title and body." from field labels, then what happened to inline rows.
pub(super) fn change_message(admin: &ModelAdmin, tr: &Tr, changed: &[String], inline_messages: &[String]) -> String {
    let mut parts = Vec::new();
    if !changed.is_empty() {
        parts.push(fill(tr.t("Changed {fields}."), &[("fields", &field_list(admin, tr, changed))]));
    }
    parts.extend(inline_messages.iter().cloned());
    if parts.is_empty() {
        return tr.t("No fields changed.").to_owned();
    }
    parts.join(" ")
}

/// "title, slug and body": the labels of changed fields, in lower case.
pub(crate) fn field_list(admin: &ModelAdmin, tr: &Tr, changed: &[String]) -> String {
    let labels: Vec<String> = changed
        .iter()
        .map(|name| {
            let label = admin
                .many_to_many
                .iter()
                .find(|m| &m.name == name)
                .map_or_else(|| admin.column_label(name), |m| m.label.clone());
            tr.t(&label).to_lowercase()
        })
        .collect();
    match labels.as_slice() {
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {} {last}", rest.join(", "), tr.t("and")),
        [] => String::new(),
    }
}

async fn save_many_to_many(
    tx: &quartet_kernel::db::Tx,
    core: &CoreState,
    pk: &str,
    relations: &[(crate::options::ManyToMany, Vec<String>)],
) -> Result<()> {
    for (relation, chosen) in relations {
        let Some(through) = core.registry.model(&relation.through) else { continue };
        let keys;
        let chosen = match (&relation.by_name, core.registry.model(&relation.target)) {
            (Some(names), Some(target)) => {
                keys = crate::form::keys_for_names(tx, &core.db, target, names, chosen).await?;
                &keys
            }
            _ => chosen,
        };
        let existing = through.rows().find(&core.db, &RowQuery::key_equals(&relation.own_column, pk)).await?;
        let key = through.rows().primary_key();
        let stale: Vec<Value> = existing
            .iter()
            .filter(|row| !chosen.contains(&plain_text(row.get(&relation.other_column).unwrap_or(&Value::Null))))
            .filter_map(|row| row.get(key).cloned())
            .collect();
        through.rows().delete(tx, &stale).await?;
        for other in chosen {
            if existing.iter().any(|row| plain_text(row.get(&relation.other_column).unwrap_or(&Value::Null)) == *other)
            {
                continue;
            }
            let mut row = Row::new();
            row.insert(relation.own_column.clone(), key_value(through, &relation.own_column, pk));
            row.insert(relation.other_column.clone(), key_value(through, &relation.other_column, other));
            through.rows().insert(tx, row).await.map_err(write_error)?;
        }
    }
    Ok(())
}

pub(crate) fn write_error(e: WriteError) -> Error {
    match e {
        WriteError::Db(e) => e.into(),
        other => Error::internal(anyhow::anyhow!("{other}")),
    }
}

/// Where to go after a save, with the flash message.
fn after_save(core: &CoreState, admin: &ModelAdmin, data: &FormData, pk: &str, language: &str) -> String {
    let m = admin.model();
    // Forms with language tabs come back to the tab that was being edited.
    let tab = if admin.translations.is_some() && language != core.i18n.default_language() {
        format!("?language={language}")
    } else {
        String::new()
    };
    if data.get("_continue").is_some() {
        change_url(core, admin, pk) + &tab
    } else if data.get("_addanother").is_some() {
        core.url_with("admin:add", &[&m.app, &m.name]) + &tab
    } else {
        changelist_url(core, admin)
    }
}

pub(crate) async fn add_submit(
    ctx: PageContext,
    Path((app, model)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    flash: quartet_kernel::session::flash::Flash,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let (admin, staff) = form_admin(&ctx, &core, (&app, &model), FormPage::Add).await?;
    let admin: &ModelAdmin = &admin;
    let tr = ctx.tr();
    let now = core.now();
    let base = new_row(admin, now);
    let mut submission = parse_submission(admin, &core.registry, &core.db, &data, base.clone(), None, &tr).await?;
    if submission.errors.is_empty() {
        store_uploads(&core, admin, &mut submission, &tr).await?;
    }
    if let Some(hooks) = &admin.hooks {
        let (row, errors, changed) = (&mut submission.row, &mut submission.errors, &mut submission.changed);
        hooks
            .clean(Clean { core: &core, tr: &tr, data: &data, adding: true, original: &base, row, errors, changed })
            .await?;
    }
    let children = inline::parse(&core, admin, &staff, &data, None, &tr).await?;
    let language = translated::language_of(&core, query.as_deref());
    let translation = translated::parse(&core, admin, &data, None, &language, &tr).await?;
    let translation_failed = translation.as_ref().is_some_and(|t| !t.errors.is_empty());
    if !submission.errors.is_empty() || children.has_errors() || translation_failed {
        let mut fields =
            build_fields(admin, &core.registry, &core.db, &new_row(admin, now), None, &tr, &admin_root(&core)).await?;
        if let Some(hooks) = &admin.hooks {
            fields = hooks.add_fields(&tr, fields);
        }
        apply_errors(&mut fields, &data, &submission.errors);
        let submitted = Some((&data, &children, translation.as_ref()));
        let extras = Extras::build(&core, admin, &staff, (None, &language), submitted, &tr).await?;
        return render_form(ctx, &core, admin, &staff, fields, extras, None, true);
    }
    let tx = core.db.begin().await?;
    let saved = match admin.model().rows().insert(&tx, submission.row).await {
        Ok(row) => row,
        Err(WriteError::Unique(_)) => {
            return Err(Error::bad_request("An object with these values already exists."));
        }
        Err(e) => return Err(write_error(e)),
    };
    let model_def = admin.model();
    let pk = plain_text(saved.get(model_def.rows().primary_key()).unwrap_or(&Value::Null));
    save_many_to_many(&tx, &core, &pk, &submission.many_to_many).await?;
    // Django's message for an addition is "Added." whatever the fields.
    translated::save(&tx, &core, admin, &pk, &language, translation, &tr).await?;
    let mut message = vec![tr.t("Added.").to_owned()];
    message.extend(inline::save(&tx, admin, &staff, &pk, children, &tr).await?);
    let message = message.join(" ");
    if let Some(hooks) = &admin.hooks {
        hooks.after_save(&tx, &pk, true).await?;
    }
    let repr = model_def.repr(&saved);
    history(&tx, &core, &staff, admin, (&pk, &repr), Action::Addition, &message).await?;
    tx.commit().await?;
    tracing::info!(target: "quartet::admin", user_id = staff.user.id, model = %model_def.label(), %pk, "added");
    let link = change_url(&core, admin, &pk);
    let message = fill(
        tr.t("The {model} “{object}” was added successfully."),
        &[("model", &tr.t(model_def.verbose_name)), ("object", &repr)],
    );
    flash.success(message).await?;
    let continues = admin.hooks.as_ref().is_some_and(|h| h.continue_after_add());
    let target = if continues && data.get("_addanother").is_none() {
        link
    } else {
        after_save(&core, admin, &data, &pk, &language)
    };
    Ok(Redirect::to(&target).into_response())
}

pub(crate) async fn change_form(
    ctx: PageContext,
    Path((app, model, pk)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let core = ctx.core().clone();
    let (admin, staff) = form_admin(&ctx, &core, (&app, &model), FormPage::View(&pk)).await?;
    let admin: &ModelAdmin = &admin;
    let row = load_row(&core, admin, &pk).await?;
    let tr = ctx.tr();
    let mut fields = build_fields(admin, &core.registry, &core.db, &row, Some(&pk), &tr, &admin_root(&core)).await?;
    if let Some(hooks) = &admin.hooks {
        fields = hooks.change_fields(&tr, fields);
    }
    let language = translated::language_of(&core, query.as_deref());
    let extras = Extras::build(&core, admin, &staff, (Some(&pk), &language), None, &tr).await?;
    render_form(ctx, &core, admin, &staff, fields, extras, Some((&pk, &row)), false)
}

pub(crate) async fn change_submit(
    ctx: PageContext,
    Path((app, model, pk)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    flash: quartet_kernel::session::flash::Flash,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let (admin, staff) = form_admin(&ctx, &core, (&app, &model), FormPage::Change(&pk)).await?;
    let admin: &ModelAdmin = &admin;
    let row = load_row(&core, admin, &pk).await?;
    let tr = ctx.tr();
    let mut submission = parse_submission(admin, &core.registry, &core.db, &data, row.clone(), Some(&pk), &tr).await?;
    if submission.errors.is_empty() {
        store_uploads(&core, admin, &mut submission, &tr).await?;
    }
    let now = core.now();
    admin.model().stamp(&mut submission.row, now, false);
    if let Some(hooks) = &admin.hooks {
        let (new, errors, changed) = (&mut submission.row, &mut submission.errors, &mut submission.changed);
        let form =
            Clean { core: &core, tr: &tr, data: &data, adding: false, original: &row, row: new, errors, changed };
        hooks.clean(form).await?;
    }
    let model_def = admin.model();
    let children = inline::parse(&core, admin, &staff, &data, Some(&pk), &tr).await?;
    let language = translated::language_of(&core, query.as_deref());
    let translation = translated::parse(&core, admin, &data, Some(&pk), &language, &tr).await?;
    let translation_failed = translation.as_ref().is_some_and(|t| !t.errors.is_empty());
    if !submission.errors.is_empty() || children.has_errors() || translation_failed {
        let mut fields =
            build_fields(admin, &core.registry, &core.db, &row, Some(&pk), &tr, &admin_root(&core)).await?;
        if let Some(hooks) = &admin.hooks {
            fields = hooks.change_fields(&tr, fields);
        }
        apply_errors(&mut fields, &data, &submission.errors);
        let submitted = Some((&data, &children, translation.as_ref()));
        let extras = Extras::build(&core, admin, &staff, (Some(&pk), &language), submitted, &tr).await?;
        return render_form(ctx, &core, admin, &staff, fields, extras, Some((&pk, &row)), true);
    }
    let tx = core.db.begin().await?;
    let saved = match model_def.rows().update(&tx, submission.row).await {
        Ok(row) => row,
        Err(WriteError::Unique(_)) => return Err(Error::bad_request("An object with these values already exists.")),
        Err(e) => return Err(write_error(e)),
    };
    save_many_to_many(&tx, &core, &pk, &submission.many_to_many).await?;
    if let Some(hooks) = &admin.hooks {
        hooks.after_save(&tx, &pk, false).await?;
    }
    let mut inline_messages = translated::save(&tx, &core, admin, &pk, &language, translation, &tr).await?;
    inline_messages.extend(inline::save(&tx, admin, &staff, &pk, children, &tr).await?);
    let repr = model_def.repr(&saved);
    let message = change_message(admin, &tr, &submission.changed, &inline_messages);
    history(&tx, &core, &staff, admin, (&pk, &repr), Action::Change, &message).await?;
    tx.commit().await?;
    tracing::info!(target: "quartet::admin", user_id = staff.user.id, model = %model_def.label(), %pk, "changed");
    let text = fill(
        tr.t("The {model} “{object}” was changed successfully."),
        &[("model", &tr.t(model_def.verbose_name)), ("object", &repr)],
    );
    flash.success(text).await?;
    Ok(Redirect::to(&after_save(&core, admin, &data, &pk, &language)).into_response())
}
