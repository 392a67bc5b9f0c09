//! The admin's pages, one module per page: sign-in, index, change lists, add/change, delete,
//! user passwords, history. Every page and every POST checks the staff flag and the model
//! permission on the server; the helpers they share are here.

mod change;
mod changelist;
mod delete;
mod history;
mod index;
mod login;

pub(crate) use change::{add_form, add_submit, change_form, change_submit};
pub(crate) use change::{field_list, new_row, write_error};
pub(crate) use changelist::{changelist, changelist_submit};
pub(crate) use delete::{delete_form, delete_submit};
pub(crate) use history::history_page;
pub(crate) use index::{app_index, index};
pub(crate) use login::{login_form, login_submit, logout, unknown_page};

use askama::Template;
use serde_json::Value;

use crate::form::capitalize;
use crate::log::{self, Action, Record};
use crate::options::ModelAdmin;
use crate::site;
use quartet_kernel::app::CoreState;
use quartet_kernel::error::{Error, Result};
use quartet_kernel::i18n::Tr;
use quartet_kernel::models::{Row, RowQuery};
use quartet_kernel::server::error_pages::ErrorContent;
use quartet_kernel::templates::PageContext;

/// A link in the breadcrumbs.
#[derive(Debug, Clone)]
pub struct Crumb {
    /// Text.
    pub label: String,
    /// Link (empty for the current page).
    pub href: String,
}

pub(super) fn crumb(label: impl Into<String>, href: impl Into<String>) -> Crumb {
    Crumb { label: label.into(), href: href.into() }
}

pub(crate) use super::pages::StaffUser as Staff;

impl Staff {
    /// Whether the user may do `action` (`view`, `add`, `change`, `delete`) on `admin`'s model.
    pub(crate) fn can(&self, action: &str, admin: &ModelAdmin) -> bool {
        let model = admin.model();
        self.has_perm(&format!("{}.{action}_{}", model.app, model.name))
    }

    fn can_see(&self, admin: &ModelAdmin) -> bool {
        ["view", "change", "add", "delete"].iter().any(|a| self.can(a, admin))
    }
}

/// The staff user of the request, or a redirect to the admin sign-in page.
pub(crate) async fn staff(ctx: &PageContext, path_and_query: &str) -> Result<Staff> {
    let core = ctx.core();
    match &ctx.user {
        Some(user) if user.is_active && user.is_staff => {
            let perms = quartet_kernel::auth::permissions_of(&core.db, user).await?;
            Ok(Staff { user: user.clone(), perms })
        }
        _ => {
            let query =
                url::form_urlencoded::Serializer::new(String::new()).append_pair("next", path_and_query).finish();
            Err(Error::LoginRequired(format!("{}?{query}", core.url("admin:login"))))
        }
    }
}

/// The admin of `app.model` and the staff user, who must have one of the permissions
/// `actions` on it; `here` is the page to come back to after signing in.
pub(super) async fn authorize<'a>(
    ctx: &PageContext,
    core: &'a CoreState,
    (app, model): (&str, &str),
    actions: &[&str],
    here: impl FnOnce(&ModelAdmin) -> String,
) -> Result<(&'a ModelAdmin, Staff)> {
    let admin = match find_admin(core, app, model) {
        Ok(admin) => admin,
        Err(e) => {
            // Anonymous visitors go to the sign-in page whether or not the model exists, so the
            // answer does not tell which models there are.
            staff(ctx, &ctx.path).await?;
            return Err(e);
        }
    };
    let staff = staff(ctx, &here(admin)).await?;
    if !actions.iter().any(|action| staff.can(action, admin)) {
        return Err(forbidden(&staff, &actions.join("/")));
    }
    Ok((admin, staff))
}

pub(crate) fn forbidden(staff: &Staff, what: &str) -> Error {
    tracing::warn!(target: "quartet::admin", user_id = staff.user.id, %what, "admin permission denied");
    Error::forbidden("You do not have permission to do that.")
}

fn find_admin<'a>(core: &'a CoreState, app: &str, model: &str) -> Result<&'a ModelAdmin> {
    site(core).admins.iter().find(|a| a.model().app == app && a.model().name == model).ok_or(Error::NotFound)
}

pub(super) fn admin_root(core: &CoreState) -> String {
    core.url("admin:index")
}

pub(super) fn changelist_url(core: &CoreState, admin: &ModelAdmin) -> String {
    let m = admin.model();
    core.url_with("admin:changelist", &[&m.app, &m.name])
}

pub(super) fn change_url(core: &CoreState, admin: &ModelAdmin, pk: &str) -> String {
    let m = admin.model();
    let pk = percent_encoding::utf8_percent_encode(pk, percent_encoding::NON_ALPHANUMERIC).to_string();
    core.url_with("admin:change", &[&m.app, &m.name, &pk])
}

fn app_name(core: &CoreState, label: &str) -> String {
    core.registry.apps.iter().find(|a| a.label == label).map_or_else(|| label.to_owned(), |a| a.name.to_owned())
}

pub(crate) fn base_crumbs(core: &CoreState, tr: &Tr, admin: &ModelAdmin) -> Vec<Crumb> {
    let m = admin.model();
    vec![
        crumb(tr.t("Home"), admin_root(core)),
        crumb(tr.t(&app_name(core, m.app)), core.url_with("admin:app", &[&m.app])),
        crumb(capitalize(tr.t(m.verbose_name_plural)), changelist_url(core, admin)),
    ]
}

pub(super) async fn load_row(core: &CoreState, admin: &ModelAdmin, pk: &str) -> Result<Row> {
    let model = admin.model();
    let key = model.rows().columns().into_iter().find(|c| c.primary_key).ok_or(Error::NotFound)?;
    let value = Value::String(pk.to_owned());
    if quartet_kernel::models::to_db_value(key.kind, &value).is_none() {
        return Err(Error::NotFound);
    }
    model
        .rows()
        .find(&core.db, &RowQuery::in_values(key.name, key.kind, &[value]))
        .await?
        .into_iter()
        .next()
        .ok_or(Error::NotFound)
}

/// Writes the history entry of one action by the staff user on an object of `admin`'s model
/// (inside the transaction that did it).
pub(super) async fn history(
    db: &impl sea_orm::ConnectionTrait,
    core: &CoreState,
    staff: &Staff,
    admin: &ModelAdmin,
    (pk, repr): (&str, &str),
    action: Action,
    message: &str,
) -> Result<()> {
    let label = admin.model().label();
    let record = Record { user_id: staff.user.id, model: &label, object_id: pk, object_repr: repr, action, message };
    log::record(db, core.now(), record).await?;
    Ok(())
}

pub(super) fn path_with_query(path: &str, query: Option<&str>) -> String {
    match query {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_owned(),
    }
}

#[derive(Template)]
#[template(path = "admin/error.html")]
struct ErrorPage {
    ctx: PageContext,
    status: u16,
    title: String,
    message: String,
    retry: String,
}

/// An error page under `/admin/`, in the admin's frame (the admin's [`ErrorLayout`]).
///
/// [`ErrorLayout`]: quartet_kernel::server::error_pages::ErrorLayout
pub(crate) fn error_page(c: ErrorContent) -> askama::Result<String> {
    ErrorPage { ctx: c.ctx, status: c.status, title: c.title, message: c.message, retry: c.retry }.render()
}
