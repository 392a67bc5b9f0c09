//! The admin's index and each app's index: the models and pages a staff user may see, and recent actions.

use askama::Template;
use axum::extract::{Path, RawQuery};
use axum::response::Response;

use super::{Crumb, Staff, admin_root, change_url, changelist_url, crumb, path_with_query, staff};
use crate::form::capitalize;
use crate::log::{self};
use crate::site;
use quartet_kernel::app::CoreState;
use quartet_kernel::error::{Error, Result};
use quartet_kernel::i18n::{Tr, fill};
use quartet_kernel::templates::{PageContext, render};

/// A model on the index.
pub struct IndexModel {
    /// Plural name.
    pub name: String,
    /// Change list (empty without view permission).
    pub url: String,
    /// Add page (empty without add permission).
    pub add_url: String,
    /// Whether the staff user may change rows ("Change"), or only look ("View").
    pub can_change: bool,
}

/// An app on the index.
pub struct IndexApp {
    /// Name.
    pub name: String,
    /// App page.
    pub url: String,
    /// Its models.
    pub models: Vec<IndexModel>,
    /// Its own admin pages (dashboards): title and link.
    pub links: Vec<(String, String)>,
}

/// A recent action.
pub struct RecentAction {
    /// Object name.
    pub repr: String,
    /// Change page, if the object still exists.
    pub url: String,
    /// `addition`, `change` or `deletion`.
    pub kind: &'static str,
    /// Model name.
    pub model: String,
    /// When.
    pub when: String,
}

#[derive(Template)]
#[template(path = "admin/index.html")]
struct IndexPage {
    ctx: PageContext,
    title: String,
    crumbs: Vec<Crumb>,
    apps: Vec<IndexApp>,
    recent: Vec<RecentAction>,
}

fn index_apps(core: &CoreState, staff: &Staff, tr: &Tr, only: Option<&str>) -> Vec<IndexApp> {
    let mut apps: Vec<IndexApp> = Vec::new();
    for info in &core.registry.apps {
        if only.is_some_and(|o| o != info.label) {
            continue;
        }
        let models: Vec<IndexModel> = site(core)
            .admins
            .iter()
            .filter(|a| a.model().app == info.label && staff.can_see(a))
            .map(|a| IndexModel {
                name: capitalize(tr.t(a.model().verbose_name_plural)),
                url: if staff.can("view", a) || staff.can("change", a) {
                    changelist_url(core, a)
                } else {
                    String::new()
                },
                add_url: if staff.can("add", a) {
                    core.url_with("admin:add", &[&a.model().app, &a.model().name])
                } else {
                    String::new()
                },
                can_change: staff.can("change", a),
            })
            .collect();
        let links: Vec<(String, String)> = site(core)
            .links
            .iter()
            .filter(|l| l.app == info.label && l.visible_to(staff))
            .map(|l| (tr.t(&l.title).to_owned(), core.url(&l.route)))
            .collect();
        if !models.is_empty() || !links.is_empty() {
            apps.push(IndexApp {
                name: tr.t(info.name).to_owned(),
                url: core.url_with("admin:app", &[&info.label]),
                models,
                links,
            });
        }
    }
    apps
}

async fn recent_actions(core: &CoreState, staff: &Staff, tr: &Tr) -> Result<Vec<RecentAction>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let entries = log::entry::Entity::find()
        .filter(log::entry::Column::UserId.eq(staff.user.id))
        .order_by_desc(log::entry::Column::ActionTime)
        .order_by_desc(log::entry::Column::Id)
        .limit(10)
        .all(&core.db)
        .await?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let admin = site(core).admins.iter().find(|a| a.model().label() == e.model);
            RecentAction {
                url: match (admin, e.action_flag) {
                    (Some(a), 1 | 2) => change_url(core, a, &e.object_id),
                    _ => String::new(),
                },
                model: admin.map_or(e.model.clone(), |a| capitalize(tr.t(a.model().verbose_name))),
                kind: match e.action_flag {
                    1 => "addition",
                    2 => "change",
                    _ => "deletion",
                },
                repr: e.object_repr,
                when: e.action_time.format("%Y-%m-%d %H:%M").to_string(),
            }
        })
        .collect())
}

pub(crate) async fn index(ctx: PageContext, RawQuery(query): RawQuery) -> Result<Response> {
    let path = path_with_query(&ctx.core().url("admin:index"), query.as_deref());
    let staff = staff(&ctx, &path).await?;
    let core = ctx.core().clone();
    let tr = ctx.tr();
    let apps = index_apps(&core, &staff, &tr, None);
    let recent = recent_actions(&core, &staff, &tr).await?;
    let title = ctx.t("Site administration").to_owned();
    render(&IndexPage { ctx, title, crumbs: Vec::new(), apps, recent })
}

pub(crate) async fn app_index(ctx: PageContext, Path(app): Path<String>) -> Result<Response> {
    let core = ctx.core().clone();
    let staff = staff(&ctx, &core.url_with("admin:app", &[&app])).await?;
    let tr = ctx.tr();
    let apps = index_apps(&core, &staff, &tr, Some(&app));
    if apps.is_empty() {
        return Err(Error::NotFound);
    }
    let title = fill(tr.t("{app} administration"), &[("app", &apps[0].name)]);
    let crumbs = vec![crumb(tr.t("Home"), admin_root(&core)), crumb(apps[0].name.clone(), "")];
    render(&IndexPage { ctx, title, crumbs, apps, recent: Vec::new() })
}
