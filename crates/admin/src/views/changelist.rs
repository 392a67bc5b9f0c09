//! A model's change list: columns, search, filters, actions and list-editable rows.

use askama::Template;
use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;

use super::change::{change_message, write_error};
use super::delete::{Dependent, dependents};
use super::{
    Crumb, Staff, authorize, base_crumbs, change_url, changelist_url, crumb, forbidden, history, load_row,
    path_with_query,
};
use crate::list::{ChangeList, ListParams, change_list};
use crate::log::Action;
use crate::options::ModelAdmin;
use quartet_kernel::app::CoreState;
use quartet_kernel::error::{Error, Result};
use quartet_kernel::forms::FormData;
use quartet_kernel::i18n::{Tr, fill};
use quartet_kernel::models::{Row, RowQuery, plain_text};
use quartet_kernel::templates::{PageContext, render};

#[derive(Template)]
#[template(path = "admin/change_list.html")]
struct ChangeListPage {
    ctx: PageContext,
    actions: Vec<(String, String)>,
    popup: bool,
    title: String,
    crumbs: Vec<Crumb>,
    list: ChangeList,
    page: quartet_kernel::pagination::Page,
    add_url: String,
    model_name: String,
    model_plural: String,
    clear_filters: String,
    filtered: bool,
}

pub(crate) async fn changelist(
    ctx: PageContext,
    Path((app, model)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let core = ctx.core().clone();
    let (admin, staff) = authorize(&ctx, &core, (&app, &model), &["view", "change"], |a| {
        path_with_query(&changelist_url(&core, a), query.as_deref())
    })
    .await?;
    let tr = ctx.tr();
    let params = ListParams::parse(query.as_deref());
    if params.has_null() {
        return Err(Error::bad_request("Null characters are not allowed."));
    }
    // A raw-id lookup window: pick a row, no actions, no editing.
    let popup = params.get("_popup") == Some("1");
    let url_of = |pk: &str| change_url(&core, admin, pk);
    let list = change_list(admin, &core, &params, &tr, &url_of, staff.can("change", admin) && !popup).await?;
    let m = admin.model();
    let verb = if popup {
        "Select {model}"
    } else if staff.can("change", admin) {
        "Select {model} to change"
    } else {
        "Select {model} to view"
    };
    let title = fill(tr.t(verb), &[("model", &tr.t(m.verbose_name))]);
    let mut crumbs = base_crumbs(&core, &tr, admin);
    if let Some(last) = crumbs.last_mut() {
        last.href.clear();
    }
    let add_url =
        if staff.can("add", admin) && !popup { core.url_with("admin:add", &[&m.app, &m.name]) } else { String::new() };
    let filtered = params.is_filtered();
    let page = list.page.clone();
    let mut actions: Vec<(String, String)> = admin
        .actions
        .iter()
        .filter(|a| staff.can(a.permission, admin))
        .map(|a| (a.name.clone(), tr.t(&a.label).to_owned()))
        .collect();
    if staff.can("delete", admin) {
        let label = fill(tr.t("Delete selected {models}"), &[("models", &tr.t(m.verbose_name_plural))]);
        actions.insert(0, ("delete_selected".to_owned(), label));
    }
    if popup {
        actions.clear();
    }
    let clear_filters = changelist_url(&core, admin) + if popup { "?_popup=1" } else { "" };
    render(&ChangeListPage {
        actions,
        popup,
        model_name: tr.t(m.verbose_name).to_owned(),
        model_plural: tr.t(m.verbose_name_plural).to_owned(),
        clear_filters,
        ctx,
        title,
        crumbs,
        list,
        page,
        add_url,
        filtered,
    })
}

/// The count and the right name: "1 book", "3 books".
fn counted(tr: &Tr, admin: &ModelAdmin, n: usize) -> String {
    let m = admin.model();
    let name = if n == 1 { tr.t(m.verbose_name) } else { tr.t(m.verbose_name_plural) };
    format!("{n} {name}")
}

#[derive(Template)]
#[template(path = "admin/delete_selected_confirmation.html")]
struct DeleteSelectedPage {
    ctx: PageContext,
    title: String,
    crumbs: Vec<Crumb>,
    models: String,
    objects: Vec<(String, String, Vec<Dependent>)>,
    back: String,
}

/// Actions on selected rows, and saving list-editable columns.
pub(crate) async fn changelist_submit(
    ctx: PageContext,
    Path((app, model)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    flash: quartet_kernel::session::flash::Flash,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let here = |a: &ModelAdmin| path_with_query(&changelist_url(&core, a), query.as_deref());
    let (admin, staff) = authorize(&ctx, &core, (&app, &model), &["view", "change"], here).await?;
    let back = here(admin);
    let tr = ctx.tr();
    if data.get("_save").is_some() {
        if !staff.can("change", admin) {
            return Err(forbidden(&staff, "change"));
        }
        return save_list_editable(&core, admin, &staff, &tr, &flash, &data, back).await;
    }
    let selected: Vec<String> = data.get_all("_selected_action").into_iter().map(ToOwned::to_owned).collect();
    let action = data.get("action").unwrap_or_default();
    if action.is_empty() {
        flash.warning(tr.t("No action selected.")).await?;
        return Ok(Redirect::to(&back).into_response());
    }
    if selected.is_empty() {
        flash
            .warning(tr.t("Items must be selected in order to perform actions on them. No items have been changed."))
            .await?;
        return Ok(Redirect::to(&back).into_response());
    }
    let model_def = admin.model();
    let Some(key) = model_def.rows().columns().into_iter().find(|c| c.primary_key) else {
        return Err(Error::NotFound);
    };
    let keys: Vec<Value> = selected.iter().map(|k| Value::String(k.clone())).collect();
    let rows = model_def.rows().find(&core.db, &RowQuery::in_values(key.name, key.kind, &keys)).await?;
    if action == "delete_selected" {
        if !staff.can("delete", admin) {
            return Err(forbidden(&staff, "delete"));
        }
        if data.get("post") == Some("yes") {
            delete_rows(&core, admin, &staff, &rows).await?;
            let message =
                fill(tr.t("Successfully deleted {objects}."), &[("objects", &counted(&tr, admin, rows.len()))]);
            flash.success(message).await?;
            return Ok(Redirect::to(&back).into_response());
        }
        let mut objects = Vec::new();
        for row in &rows {
            let pk = plain_text(row.get(key.name).unwrap_or(&Value::Null));
            let dependents = dependents(&core, admin, &pk, &tr).await?;
            objects.push((pk, model_def.repr(row), dependents));
        }
        let mut crumbs = base_crumbs(&core, &tr, admin);
        crumbs.push(crumb(tr.t("Delete multiple objects"), ""));
        return render(&DeleteSelectedPage {
            title: tr.t("Are you sure?").to_owned(),
            models: tr.t(model_def.verbose_name_plural).to_owned(),
            ctx,
            crumbs,
            objects,
            back,
        });
    }
    let Some(chosen) = admin.actions.iter().find(|a| a.name == action) else {
        flash.warning(tr.t("No action selected.")).await?;
        return Ok(Redirect::to(&back).into_response());
    };
    if !staff.can(chosen.permission, admin) {
        return Err(forbidden(&staff, &chosen.name));
    }
    let input = crate::options::ActionInput {
        core: core.clone(),
        model: model_def.clone(),
        rows,
        user_id: staff.user.id,
        lang: ctx.lang().to_owned(),
    };
    tracing::info!(target: "quartet::admin", user_id = staff.user.id, action = %chosen.name, "admin action");
    match (chosen.run)(input).await? {
        crate::options::ActionOutcome::Response(response) => Ok(response),
        crate::options::ActionOutcome::Message(message) => {
            flash.success(message).await?;
            Ok(Redirect::to(&back).into_response())
        }
    }
}

/// Deletes rows in one transaction, each recorded in the admin log.
pub(super) async fn delete_rows(core: &CoreState, admin: &ModelAdmin, staff: &Staff, rows: &[Row]) -> Result<()> {
    let model_def = admin.model();
    let key = model_def.rows().primary_key();
    let tx = core.db.begin().await?;
    let pks: Vec<Value> = rows.iter().filter_map(|r| r.get(key).cloned()).collect();
    model_def.rows().delete(&tx, &pks).await?;
    for row in rows {
        let (pk, repr) = (plain_text(row.get(key).unwrap_or(&Value::Null)), model_def.repr(row));
        history(&tx, core, staff, admin, (&pk, &repr), Action::Deletion, "").await?;
        tracing::info!(target: "quartet::admin", user_id = staff.user.id, model = %model_def.label(), %pk, "deleted");
    }
    tx.commit().await?;
    Ok(())
}

/// Saves the list-editable columns of every row of the submitted page (all or nothing).
async fn save_list_editable(
    core: &CoreState,
    admin: &ModelAdmin,
    staff: &Staff,
    tr: &Tr,
    flash: &quartet_kernel::session::flash::Flash,
    data: &FormData,
    back: String,
) -> Result<Response> {
    let model_def = admin.model();
    let columns = model_def.rows().columns();
    let mut updates = Vec::new();
    let mut problems = Vec::new();
    for index in 0..admin.per_page {
        let Some(pk) = data.get(&format!("form-{index}-id")) else { break };
        let Ok(mut row) = load_row(core, admin, pk).await else { continue };
        let repr = model_def.repr(&row);
        let mut changed = Vec::new();
        for name in &admin.list_editable {
            let Some(info) = columns.iter().find(|c| c.name == name) else { continue };
            let raw = data.get(&format!("form-{index}-{name}")).unwrap_or_default().trim().to_owned();
            match crate::form::parse_value(admin, info, &raw, tr) {
                Ok(value) => {
                    let before = row.get(name.as_str()).cloned().unwrap_or(Value::Null);
                    if crate::form::input_text(info.kind, &before) != crate::form::input_text(info.kind, &value) {
                        changed.push(name.clone());
                        row.insert(name.clone(), value);
                    }
                }
                Err(message) => problems.push(format!("{repr}: {}: {message}", tr.t(&admin.column_label(name)))),
            }
        }
        if !changed.is_empty() {
            updates.push((pk.to_owned(), repr, row, changed));
        }
    }
    if !problems.is_empty() {
        flash.error(format!("{} {}", tr.t("Please correct the errors below."), problems.join(" "))).await?;
        return Ok(Redirect::to(&back).into_response());
    }
    let tx = core.db.begin().await?;
    for (pk, repr, row, changed) in &updates {
        model_def.rows().update(&tx, row.clone()).await.map_err(write_error)?;
        let message = change_message(admin, tr, changed, &[]);
        history(&tx, core, staff, admin, (pk, repr), Action::Change, &message).await?;
    }
    tx.commit().await?;
    let n = updates.len();
    let text = if n == 1 {
        fill(tr.t("{objects} was changed successfully."), &[("objects", &counted(tr, admin, n))])
    } else {
        fill(tr.t("{objects} were changed successfully."), &[("objects", &counted(tr, admin, n))])
    };
    flash.success(text).await?;
    Ok(Redirect::to(&back).into_response())
}
