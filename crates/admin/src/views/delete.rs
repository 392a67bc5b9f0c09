//! Deleting a row, after listing what goes with it.

use askama::Template;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};

use super::changelist::delete_rows;
use super::{Crumb, authorize, base_crumbs, change_url, changelist_url, crumb, load_row};
use crate::form::capitalize;
use crate::options::ModelAdmin;
use quartet_kernel::app::CoreState;
use quartet_kernel::error::Result;
use quartet_kernel::i18n::{Tr, fill};
use quartet_kernel::models::RowQuery;
use quartet_kernel::templates::{PageContext, render};

/// Rows that go with a deleted object (foreign keys that cascade).
pub struct Dependent {
    /// Model name.
    pub model: String,
    /// Object names.
    pub objects: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/delete_confirmation.html")]
struct DeletePage {
    ctx: PageContext,
    title: String,
    crumbs: Vec<Crumb>,
    model: String,
    object_repr: String,
    dependents: Vec<Dependent>,
    cancel_url: String,
}

/// Other models' rows that refer to `pk` of `admin`'s model (one level, shown before deleting).
pub(super) async fn dependents(core: &CoreState, admin: &ModelAdmin, pk: &str, tr: &Tr) -> Result<Vec<Dependent>> {
    let table = admin.model().table();
    let mut out = Vec::new();
    for model in &core.registry.models {
        for fk in model.rows().foreign_keys().into_iter().filter(|fk| fk.table == table) {
            let query = RowQuery { limit: Some(50), ..RowQuery::key_equals(&fk.column, pk) };
            let rows = model.rows().find(&core.db, &query).await?;
            if !rows.is_empty() {
                out.push(Dependent {
                    model: capitalize(tr.t(model.verbose_name_plural)),
                    objects: rows.iter().map(|r| model.repr(r)).collect(),
                });
            }
        }
    }
    Ok(out)
}

pub(crate) async fn delete_form(
    ctx: PageContext,
    Path((app, model, pk)): Path<(String, String, String)>,
) -> Result<Response> {
    let core = ctx.core().clone();
    let (admin, _) = authorize(&ctx, &core, (&app, &model), &["delete"], |a| change_url(&core, a, &pk)).await?;
    let row = load_row(&core, admin, &pk).await?;
    let tr = ctx.tr();
    let repr = admin.model().repr(&row);
    let mut crumbs = base_crumbs(&core, &tr, admin);
    crumbs.push(crumb(repr.clone(), change_url(&core, admin, &pk)));
    crumbs.push(crumb(tr.t("Delete"), ""));
    let dependents = dependents(&core, admin, &pk, &tr).await?;
    render(&DeletePage {
        title: tr.t("Are you sure?").to_owned(),
        model: tr.t(admin.model().verbose_name).to_owned(),
        cancel_url: change_url(&core, admin, &pk),
        object_repr: repr,
        crumbs,
        dependents,
        ctx,
    })
}

pub(crate) async fn delete_submit(
    ctx: PageContext,
    Path((app, model, pk)): Path<(String, String, String)>,
    flash: quartet_kernel::session::flash::Flash,
) -> Result<Response> {
    let core = ctx.core().clone();
    let (admin, staff) = authorize(&ctx, &core, (&app, &model), &["delete"], |a| change_url(&core, a, &pk)).await?;
    let row = load_row(&core, admin, &pk).await?;
    let tr = ctx.tr();
    let model_def = admin.model();
    let repr = model_def.repr(&row);
    delete_rows(&core, admin, &staff, std::slice::from_ref(&row)).await?;
    flash
        .success(fill(
            tr.t("The {model} “{object}” was deleted successfully."),
            &[("model", &tr.t(model_def.verbose_name)), ("object", &repr)],
        ))
        .await?;
    Ok(Redirect::to(&changelist_url(&core, admin)).into_response())
}
