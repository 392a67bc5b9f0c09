//! A row's history: every change made through the admin.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;

use super::{Crumb, authorize, base_crumbs, change_url, crumb, load_row};
use crate::log::{self};
use quartet_kernel::error::{Error, Result};
use quartet_kernel::i18n::fill;
use quartet_kernel::templates::{PageContext, render};

/// One entry of an object's history.
pub struct HistoryEntry {
    /// "Nov. 24, 2026, 10:30 a.m."
    pub when: String,
    /// Who did it.
    pub user: String,
    /// What was done: "Added.", "Changed title and body.", "Deleted."
    pub message: String,
}

#[derive(Template)]
#[template(path = "admin/history.html")]
struct HistoryPage {
    ctx: PageContext,
    title: String,
    crumbs: Vec<Crumb>,
    entries: Vec<HistoryEntry>,
    change_url: String,
}

/// `/admin/<app>/<model>/<pk>/history/`: every recorded action on one object, oldest first
/// (Django's "History"), for staff who may view or change the model.
pub(crate) async fn history_page(
    ctx: PageContext,
    Path((app, model, pk)): Path<(String, String, String)>,
) -> Result<Response> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let core = ctx.core().clone();
    let (admin, _staff) = authorize(&ctx, &core, (&app, &model), &["view", "change"], |a| {
        let encoded = percent_encoding::utf8_percent_encode(&pk, percent_encoding::NON_ALPHANUMERIC).to_string();
        core.url_with("admin:history", &[&a.model().app, &a.model().name, &encoded])
    })
    .await?;
    let m = admin.model();
    let tr = ctx.tr();
    let entries = log::entry::Entity::find()
        .filter(log::entry::Column::Model.eq(m.label()))
        .filter(log::entry::Column::ObjectId.eq(pk.clone()))
        .order_by_asc(log::entry::Column::ActionTime)
        .order_by_asc(log::entry::Column::Id)
        .find_also_related(quartet_kernel::auth::models::user::Entity)
        .all(&core.db)
        .await?;
    // The object may be gone: its name is then the last one recorded.
    let repr = match load_row(&core, admin, &pk).await {
        Ok(row) => m.repr(&row),
        Err(Error::NotFound) => entries.last().map(|(e, _)| e.object_repr.clone()).ok_or(Error::NotFound)?,
        Err(e) => return Err(e),
    };
    let entries = entries
        .into_iter()
        .map(|(e, user)| HistoryEntry {
            when: quartet_kernel::i18n::format_datetime(e.action_time, tr.lang()),
            user: user.map_or_else(|| "-".to_owned(), |u| u.username),
            message: if e.change_message.is_empty() {
                tr.t(match e.action_flag {
                    1 => "Added.",
                    2 => "No fields changed.",
                    _ => "Deleted.",
                })
                .to_owned()
            } else {
                e.change_message
            },
        })
        .collect();
    let title = fill(tr.t("Change history: {object}"), &[("object", &repr)]);
    let change_url = change_url(&core, admin, &pk);
    let mut crumbs = base_crumbs(&core, &tr, admin);
    crumbs.push(crumb(repr, change_url.clone()));
    crumbs.push(crumb(tr.t("History"), ""));
    render(&HistoryPage { ctx, title, crumbs, entries, change_url })
}
