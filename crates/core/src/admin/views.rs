//! The admin's pages: sign-in, index, change lists, add/change/delete, user passwords.
//! Every page and every POST checks the staff flag and the model permission on the server.

use askama::Template;
use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use sea_orm::TransactionTrait;
use serde_json::Value;

use super::form::{
    AdminField, Widget, apply_errors, build_fields, capitalize, key_value, parse_submission, readonly_fields,
    store_uploads,
};
use super::inline::{self, InlineSet};
use super::list::{ChangeList, ListParams, change_list};
use super::log::{self, Action, Record};
use super::options::{AdminKind, ModelAdmin};
use super::site;
use super::translated::{self, TranslatedPart};
use crate::app::CoreState;
use crate::auth::Authentication;
use crate::error::{Error, Result};
use crate::forms::FormData;
use crate::http::ClientIp;
use crate::http::csrf::Csrf;
use crate::http::host::RequestHost;
use crate::i18n::{Tr, fill};
use crate::models::{Row, RowQuery, WriteError, plain_text};
use crate::session::Session;
use crate::templates::{PageContext, render};

/// A link in the breadcrumbs.
#[derive(Debug, Clone)]
pub struct Crumb {
    /// Text.
    pub label: String,
    /// Link (empty for the current page).
    pub href: String,
}

fn crumb(label: impl Into<String>, href: impl Into<String>) -> Crumb {
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
            let perms = crate::auth::permissions_of(&core.db, user).await?;
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
async fn authorize<'a>(
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

fn admin_root(core: &CoreState) -> String {
    core.url("admin:index")
}

fn changelist_url(core: &CoreState, admin: &ModelAdmin) -> String {
    let m = admin.model();
    core.url_with("admin:changelist", &[&m.app, &m.name])
}

fn change_url(core: &CoreState, admin: &ModelAdmin, pk: &str) -> String {
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

// ---------------------------------------------------------------- sign-in

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    ctx: PageContext,
    username: String,
    error: String,
    next: String,
}

#[derive(serde::Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

fn safe_next(core: &CoreState, host: &RequestHost, next: &str) -> String {
    if !next.is_empty() && crate::http::redirect::is_safe(next, &host.host, host.secure) {
        next.trim().to_owned()
    } else {
        admin_root(core)
    }
}

/// `next` if it is safe to carry in the sign-in form, else nothing.
fn form_next(host: &RequestHost, next: &str) -> String {
    if crate::http::redirect::is_safe(next, &host.host, host.secure) { next.trim().to_owned() } else { String::new() }
}

pub(crate) async fn login_form(
    ctx: PageContext,
    host: RequestHost,
    axum::extract::Query(query): axum::extract::Query<NextQuery>,
) -> Result<Response> {
    let next = form_next(&host, &query.next.unwrap_or_default());
    let mut error = String::new();
    if let Some(user) = &ctx.user {
        if user.is_active && user.is_staff {
            return Ok(Redirect::to(&safe_next(ctx.core(), &host, &next)).into_response());
        }
        error = fill(
            ctx.t("You are authenticated as {username}, but are not authorized to access this page. Would you like to login to a different account?"),
            &[("username", &user.username)],
        );
    }
    render(&LoginPage { ctx, username: String::new(), error, next })
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn login_submit(
    ctx: PageContext,
    session: Session,
    csrf: Csrf,
    host: RequestHost,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let username = data.get("username").unwrap_or_default().trim().to_owned();
    let password = data.get("password").unwrap_or_default();
    let next = form_next(&host, data.get("next").unwrap_or_default());
    let mut error = ctx
        .t("Please enter the correct username and password for a staff account. Note that both fields may be case-sensitive.")
        .to_owned();
    let mut status = axum::http::StatusCode::OK;
    if !username.is_empty() && !password.is_empty() {
        let device = crate::http::cookies::get(&headers, crate::auth::DEVICE_COOKIE);
        match crate::auth::authenticate(&core, &username, password, ip, device.as_deref()).await? {
            Authentication::Valid(user) if user.is_staff => {
                let target = safe_next(&core, &host, &next);
                return crate::auth::complete_sign_in(&core, (&session, &csrf), &user, &target, device.as_deref())
                    .await;
            }
            Authentication::Throttled(retry_after) => return Err(crate::auth::sign_in_throttled(retry_after)),
            Authentication::Protected(wait) => {
                error = crate::auth::protected_message(&ctx.tr(), wait);
                status = axum::http::StatusCode::TOO_MANY_REQUESTS;
            }
            Authentication::Valid(_) | Authentication::Invalid => {}
        }
    }
    let mut response = render(&LoginPage { ctx, username, error, next })?;
    *response.status_mut() = status;
    Ok(response)
}

pub(crate) async fn logout(ctx: PageContext, session: Session) -> Result<Response> {
    crate::auth::logout(&session).await?;
    Ok(Redirect::to(&ctx.core().url("admin:login")).into_response())
}

// ---------------------------------------------------------------- index

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

fn path_with_query(path: &str, query: Option<&str>) -> String {
    match query {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_owned(),
    }
}

// ---------------------------------------------------------------- change list

#[derive(Template)]
#[template(path = "admin/change_list.html")]
struct ChangeListPage {
    ctx: PageContext,
    actions: Vec<(String, String)>,
    popup: bool,
    title: String,
    crumbs: Vec<Crumb>,
    list: ChangeList,
    page: crate::pagination::Page,
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
    flash: crate::session::flash::Flash,
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
    let input = super::options::ActionInput {
        core: core.clone(),
        model: model_def.clone(),
        rows,
        user_id: staff.user.id,
        lang: ctx.lang().to_owned(),
    };
    tracing::info!(target: "quartet::admin", user_id = staff.user.id, action = %chosen.name, "admin action");
    match (chosen.run)(input).await? {
        super::options::ActionOutcome::Response(response) => Ok(response),
        super::options::ActionOutcome::Message(message) => {
            flash.success(message).await?;
            Ok(Redirect::to(&back).into_response())
        }
    }
}

/// Writes the history entry of one action by the staff user on an object of `admin`'s model
/// (inside the transaction that did it).
async fn history(
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

/// Deletes rows in one transaction, each recorded in the admin log.
async fn delete_rows(core: &CoreState, admin: &ModelAdmin, staff: &Staff, rows: &[Row]) -> Result<()> {
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
    flash: &crate::session::flash::Flash,
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
            match super::form::parse_value(admin, info, &raw, tr) {
                Ok(value) => {
                    let before = row.get(name.as_str()).cloned().unwrap_or(Value::Null);
                    if super::form::input_text(info.kind, &before) != super::form::input_text(info.kind, &value) {
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

// ---------------------------------------------------------------- add and change

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
    password_url: String,
    can_add_another: bool,
    object_repr: String,
    history_url: String,
    site_url: String,
    inlines: Vec<InlineSet>,
    translated: Option<TranslatedPart>,
}

async fn load_row(core: &CoreState, admin: &ModelAdmin, pk: &str) -> Result<Row> {
    let model = admin.model();
    let key = model.rows().columns().into_iter().find(|c| c.primary_key).ok_or(Error::NotFound)?;
    let value = Value::String(pk.to_owned());
    if crate::models::to_db_value(key.kind, &value).is_none() {
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

/// Values a new row starts with: defaults for every column the form does not set.
pub(crate) fn new_row(admin: &ModelAdmin, now: chrono::DateTime<Utc>) -> Row {
    let mut row = Row::new();
    let foreign_keys = admin.model().rows().foreign_keys();
    for column in admin.model().rows().columns() {
        if column.generated {
            continue;
        }
        let value = if admin.auto_now_add.iter().chain(&admin.auto_now).any(|c| c == column.name) {
            Value::String(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        } else if column.nullable || foreign_keys.iter().any(|fk| fk.column == column.name) {
            // A reference starts unchosen ("---------"), never as id 0.
            Value::Null
        } else {
            match column.kind {
                crate::models::FieldKind::Boolean => Value::Bool(false),
                crate::models::FieldKind::Integer => Value::from(0),
                crate::models::FieldKind::Float => Value::from(0.0),
                crate::models::FieldKind::Decimal => Value::String("0".into()),
                crate::models::FieldKind::DateTime => {
                    Value::String(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
                }
                crate::models::FieldKind::Date => Value::String(now.date_naive().to_string()),
                crate::models::FieldKind::Json => Value::Object(serde_json::Map::new()),
                _ => Value::String(String::new()),
            }
        };
        let value = admin.initial.get(column.name).map_or(value, |initial| Value::String(initial.clone()));
        row.insert(column.name.to_owned(), value);
    }
    if admin.kind == AdminKind::User {
        row.insert("password".into(), Value::String(crate::auth::hashers::unusable_password()));
        row.insert("is_active".into(), Value::Bool(true));
        row.insert("date_joined".into(), Value::String(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)));
    }
    row
}

/// Errors of a new password typed twice (`password1`, `password2`), by field.
fn password_pair_errors(
    core: &CoreState,
    tr: &Tr,
    data: &FormData,
    attributes: &crate::auth::validators::UserAttributes<'_>,
) -> std::collections::HashMap<String, Vec<String>> {
    let (p1, p2) = (data.get("password1").unwrap_or_default(), data.get("password2").unwrap_or_default());
    let mut errors = std::collections::HashMap::new();
    if p1.is_empty() {
        errors.insert("password1".to_owned(), vec![tr.t("This field is required.").to_owned()]);
    }
    if p2.is_empty() {
        errors.insert("password2".to_owned(), vec![tr.t("This field is required.").to_owned()]);
    } else if p1 != p2 {
        errors.insert("password2".to_owned(), vec![tr.t("The two password fields didn’t match.").to_owned()]);
    } else {
        let min = core.settings.auth.password_min_length;
        let problems = crate::auth::validators::validate_password(p1, attributes, min, tr);
        if !problems.is_empty() {
            errors.insert("password2".to_owned(), problems);
        }
    }
    errors
}

fn password_fields(tr: &Tr) -> Vec<AdminField> {
    ["password1", "password2"]
        .iter()
        .zip([tr.t("Password"), tr.t("Password confirmation")])
        .map(|(name, label)| AdminField {
            name: (*name).to_owned(),
            label: label.to_owned(),
            widget: Widget::Password,
            value: String::new(),
            selected: Vec::new(),
            options: Vec::new(),
            required: true,
            help: if *name == "password2" {
                tr.t("Enter the same password as before, for verification.").to_owned()
            } else {
                String::new()
            },
            errors: Vec::new(),
            prepopulate_from: String::new(),
            lookup_url: String::new(),
            groups: Vec::new(),
            display: String::new(),
            max_length: None,
        })
        .collect()
}

pub(crate) async fn add_form(
    ctx: PageContext,
    Path((app, model)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let core = ctx.core().clone();
    let (admin, staff) =
        authorize(&ctx, &core, (&app, &model), &["add"], |_| core.url_with("admin:add", &[&app, &model])).await?;
    let restricted = admin.restricted_for(staff.user.is_superuser);
    let admin: &ModelAdmin = &restricted;
    let tr = ctx.tr();
    let row = new_row(admin, core.now());
    let mut fields = build_fields(admin, &core.registry, &core.db, &row, None, &tr, &admin_root(&core)).await?;
    if admin.kind == AdminKind::User {
        fields.retain(|f| f.name == "username");
        fields.extend(password_fields(&tr));
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
        submitted: Option<(&FormData, &inline::InlineSubmission, Option<&super::form::Submission>)>,
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
    let site_url = object.and_then(|(_, row)| admin.view_on_site.and_then(|url_of| url_of(row))).unwrap_or_default();
    let history_url = match pk {
        Some(pk) => {
            let encoded = percent_encoding::utf8_percent_encode(pk, percent_encoding::NON_ALPHANUMERIC).to_string();
            core.url_with("admin:history", &[&m.app, &m.name, &encoded])
        }
        None => String::new(),
    };
    // Fields the model sets itself (created, updated) are not asked for when adding.
    let fields = if pk.is_none() {
        fields
            .into_iter()
            .filter(|f| !admin.auto_now_add.contains(&f.name) && !admin.auto_now.contains(&f.name))
            .collect()
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
        password_url: match pk {
            Some(pk) if admin.kind == AdminKind::User && editable => core.url_with("admin:password", &[&pk]),
            _ => String::new(),
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
fn change_message(admin: &ModelAdmin, tr: &Tr, changed: &[String], inline_messages: &[String]) -> String {
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
    tx: &sea_orm::DatabaseTransaction,
    core: &CoreState,
    pk: &str,
    relations: &[(super::options::ManyToMany, Vec<String>)],
) -> Result<()> {
    for (relation, chosen) in relations {
        let Some(through) = core.registry.model(&relation.through) else { continue };
        let keys;
        let chosen = match (&relation.by_name, core.registry.model(&relation.target)) {
            (Some(names), Some(target)) => {
                keys = super::form::keys_for_names(tx, &core.db, target, names, chosen).await?;
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
    flash: crate::session::flash::Flash,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let (admin, staff) =
        authorize(&ctx, &core, (&app, &model), &["add"], |_| core.url_with("admin:add", &[&app, &model])).await?;
    let restricted = admin.restricted_for(staff.user.is_superuser);
    let admin: &ModelAdmin = &restricted;
    let tr = ctx.tr();
    let now = core.now();
    let base = new_row(admin, now);
    let mut submission = parse_submission(admin, &core.registry, &core.db, &data, base.clone(), None, &tr).await?;
    if submission.errors.is_empty() {
        store_uploads(&core, admin, &mut submission, &tr).await?;
    }
    if admin.kind == AdminKind::User {
        // Only the username and the password are asked when adding a user.
        submission.errors.retain(|k, _| k == "username");
        let username = submission.row.get("username").cloned().unwrap_or(Value::Null);
        submission.row = base;
        submission.row.insert("username".into(), username.clone());
        let attributes = crate::auth::validators::UserAttributes {
            username: username.as_str().unwrap_or_default(),
            ..Default::default()
        };
        let p1 = data.get("password1").unwrap_or_default();
        submission.errors.extend(password_pair_errors(&core, &tr, &data, &attributes));
        if submission.errors.is_empty() {
            let hash = crate::auth::hasher(&core).hash(p1).await;
            submission.row.insert("password".into(), Value::String(hash));
        }
    }
    let children = inline::parse(&core, admin, &staff, &data, None, &tr).await?;
    let language = translated::language_of(&core, query.as_deref());
    let translation = translated::parse(&core, admin, &data, None, &language, &tr).await?;
    let translation_failed = translation.as_ref().is_some_and(|t| !t.errors.is_empty());
    if !submission.errors.is_empty() || children.has_errors() || translation_failed {
        let mut fields =
            build_fields(admin, &core.registry, &core.db, &new_row(admin, now), None, &tr, &admin_root(&core)).await?;
        if admin.kind == AdminKind::User {
            fields.retain(|f| f.name == "username");
            fields.extend(password_fields(&tr));
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
    if admin.kind == AdminKind::User
        && let Ok(id) = pk.parse::<i64>()
    {
        crate::auth::create_profile(&tx, id).await?;
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
    let target = if admin.kind == AdminKind::User && data.get("_addanother").is_none() {
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
    let (admin, staff) =
        authorize(&ctx, &core, (&app, &model), &["view", "change"], |a| change_url(&core, a, &pk)).await?;
    let restricted = admin.restricted_for(staff.user.is_superuser);
    let admin: &ModelAdmin = &restricted;
    let row = load_row(&core, admin, &pk).await?;
    let tr = ctx.tr();
    let mut fields = build_fields(admin, &core.registry, &core.db, &row, Some(&pk), &tr, &admin_root(&core)).await?;
    if admin.kind == AdminKind::User {
        fields.retain(|f| f.name != "password");
    }
    let language = translated::language_of(&core, query.as_deref());
    let extras = Extras::build(&core, admin, &staff, (Some(&pk), &language), None, &tr).await?;
    render_form(ctx, &core, admin, &staff, fields, extras, Some((&pk, &row)), false)
}

pub(crate) async fn change_submit(
    ctx: PageContext,
    Path((app, model, pk)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    flash: crate::session::flash::Flash,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let (admin, staff) = authorize(&ctx, &core, (&app, &model), &["change"], |a| change_url(&core, a, &pk)).await?;
    let restricted = admin.restricted_for(staff.user.is_superuser);
    let admin: &ModelAdmin = &restricted;
    let row = load_row(&core, admin, &pk).await?;
    let tr = ctx.tr();
    let mut submission = parse_submission(admin, &core.registry, &core.db, &data, row.clone(), Some(&pk), &tr).await?;
    if submission.errors.is_empty() {
        store_uploads(&core, admin, &mut submission, &tr).await?;
    }
    let now = core.now();
    for column in &admin.auto_now {
        submission.row.insert(column.clone(), Value::String(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)));
    }
    if admin.kind == AdminKind::User {
        // The hash is changed on its own page only (the form has no password field).
        submission.row.insert("password".into(), row.get("password").cloned().unwrap_or(Value::Null));
        submission.errors.remove("password");
        submission.changed.retain(|c| c != "password");
    }
    let model_def = admin.model();
    let children = inline::parse(&core, admin, &staff, &data, Some(&pk), &tr).await?;
    let language = translated::language_of(&core, query.as_deref());
    let translation = translated::parse(&core, admin, &data, Some(&pk), &language, &tr).await?;
    let translation_failed = translation.as_ref().is_some_and(|t| !t.errors.is_empty());
    if !submission.errors.is_empty() || children.has_errors() || translation_failed {
        let mut fields =
            build_fields(admin, &core.registry, &core.db, &row, Some(&pk), &tr, &admin_root(&core)).await?;
        if admin.kind == AdminKind::User {
            fields.retain(|f| f.name != "password");
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

// ---------------------------------------------------------------- delete

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
async fn dependents(core: &CoreState, admin: &ModelAdmin, pk: &str, tr: &Tr) -> Result<Vec<Dependent>> {
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
    flash: crate::session::flash::Flash,
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

// ---------------------------------------------------------------- user passwords

#[derive(Template)]
#[template(path = "admin/password_change.html")]
struct PasswordPage {
    ctx: PageContext,
    title: String,
    crumbs: Vec<Crumb>,
    fields: Vec<AdminField>,
    username: String,
}

/// Only a superuser may set a superuser's password (beyond Django: otherwise any staff user with
/// the change permission could take over a superuser's account).
fn refuse_superuser_password(staff: &Staff, row: &Row) -> Result<()> {
    let target_is_superuser =
        row.get("is_superuser").is_some_and(|v| v.as_bool() == Some(true) || v.as_i64() == Some(1));
    if target_is_superuser && !staff.user.is_superuser {
        return Err(forbidden(staff, "change a superuser's password"));
    }
    Ok(())
}

pub(crate) async fn password_form(ctx: PageContext, Path(pk): Path<String>) -> Result<Response> {
    let core = ctx.core().clone();
    let (admin, staff) =
        authorize(&ctx, &core, ("accounts", "user"), &["change"], |_| core.url_with("admin:password", &[&pk])).await?;
    let row = load_row(&core, admin, &pk).await?;
    refuse_superuser_password(&staff, &row)?;
    let tr = ctx.tr();
    let username = admin.model().repr(&row);
    let mut crumbs = base_crumbs(&core, &tr, admin);
    crumbs.push(crumb(username.clone(), change_url(&core, admin, &pk)));
    crumbs.push(crumb(tr.t("Change password"), ""));
    let title = fill(tr.t("Change password: {username}"), &[("username", &username)]);
    render(&PasswordPage { ctx, title, crumbs, fields: password_fields(&tr), username })
}

pub(crate) async fn password_submit(
    ctx: PageContext,
    Path(pk): Path<String>,
    flash: crate::session::flash::Flash,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let (admin, staff) =
        authorize(&ctx, &core, ("accounts", "user"), &["change"], |_| core.url_with("admin:password", &[&pk])).await?;
    let row = load_row(&core, admin, &pk).await?;
    refuse_superuser_password(&staff, &row)?;
    let id = crate::urls::path_id(&pk)?;
    let user = {
        use sea_orm::EntityTrait;
        crate::auth::models::user::Entity::find_by_id(id).one(&core.db).await?.ok_or(Error::NotFound)?
    };
    let tr = ctx.tr();
    let attributes = crate::auth::validators::UserAttributes {
        username: &user.username,
        first_name: &user.first_name,
        last_name: &user.last_name,
        email: &user.email,
    };
    let errors = password_pair_errors(&core, &tr, &data, &attributes);
    let p1 = data.get("password1").unwrap_or_default();
    if !errors.is_empty() {
        let mut fields = password_fields(&tr);
        for f in &mut fields {
            if let Some(e) = errors.get(&f.name) {
                f.errors = e.clone();
            }
        }
        let mut crumbs = base_crumbs(&core, &tr, admin);
        crumbs.push(crumb(user.username.clone(), change_url(&core, admin, &pk)));
        crumbs.push(crumb(tr.t("Change password"), ""));
        let title = fill(tr.t("Change password: {username}"), &[("username", &user.username)]);
        return render(&PasswordPage { ctx, title, crumbs, fields, username: user.username });
    }
    crate::auth::set_password(&core, &user, p1).await?;
    history(&core.db, &core, &staff, admin, (&pk, &user.username), Action::Change, tr.t("Changed password.")).await?;
    tracing::info!(target: "quartet::admin", user_id = staff.user.id, target_user = user.id, "password changed in the admin");
    flash.success(tr.t("Password changed successfully.")).await?;
    Ok(Redirect::to(&change_url(&core, admin, &pk)).into_response())
}

// ---------------------------------------------------------------- history

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
        .find_also_related(crate::auth::models::user::Entity)
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
            when: crate::time::format_datetime(e.action_time, tr.lang()),
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

/// An address under `/admin/` that no admin page has: 404 for staff, the sign-in page for
/// everyone else (as for the admin's own pages, so the answer tells nothing of which
/// addresses exist).
pub(super) async fn unknown_page(core: CoreState, request: axum::extract::Request) -> Response {
    let staff = match crate::server::from_cookie(&core, request.headers()) {
        Some(session) => crate::auth::user_of_session(&core, &session)
            .await
            .ok()
            .flatten()
            .is_some_and(|u| u.is_active && u.is_staff),
        None => false,
    };
    if staff {
        return Error::NotFound.into_response();
    }
    let path = request.uri().path();
    let next = request.uri().path_and_query().map_or(path, |p| p.as_str());
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
    Error::LoginRequired(format!("{}?{query}", core.url("admin:login"))).into_response()
}
