//! The admin site: one admin for every registered model of every app (Django's
//! `django.contrib.admin`).
//!
//! An app registers a model with a [`ModelAdmin`] returned from [`crate::App::admin`]. Staff
//! users sign in at `/admin/login/`; the index lists the models they may see; each model gets a
//! change list (columns, sorting, search, filters with counts, a date hierarchy, 100 rows per
//! page) and add / change / delete pages generated from its columns. Every page and POST checks
//! the model's view / add / change / delete permission, and every change is recorded in the
//! history shown as "Recent actions".

mod csv;
pub mod form;
mod inline;
pub mod list;
pub mod log;
mod options;
pub mod pages;
mod translated;
mod views;

use axum::routing::{get, post};

pub use inline::{Inline, InlineForm, InlineSet, InlineStyle};
pub use options::{
    ActionFn, ActionInput, ActionOutcome, AdminAction, CellRenderer, ListColumn, ManyToMany, ModelAdmin, TagNames,
    UploadKind, humanize,
};
pub use pages::{AdminLink, StaffUser};
pub use translated::{LanguageTab, TranslatedPart, Translations};
pub use views::Crumb;

use crate::app::App;
use crate::db::Migration;
use crate::models::ModelDef;
use crate::state::CoreState;
use crate::urls::{Routes, RoutesBuilder};

/// Core's admin app: the pages under `/admin/` and the history table (its styles and script are
/// core's `static/admin/`).
#[derive(Debug, Clone, Copy)]
pub struct AdminApp;

/// After a change made through the admin (a POST that did not fail), the cached data of the
/// app in the path (`/admin/blog/…` → `blog`) is stale. Runs after the handler, so after its
/// transaction committed.
async fn forget_cached(
    axum::extract::State(core): axum::extract::State<CoreState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let changes = !request.method().is_safe();
    let app = request.uri().path().strip_prefix("/admin/").and_then(|rest| rest.split('/').next()).map(str::to_owned);
    let response = next.run(request).await;
    if changes
        && !response.status().is_client_error()
        && !response.status().is_server_error()
        && let Some(app) = app.filter(|a| !a.is_empty())
    {
        core.cache.bump(&app);
    }
    response
}

#[async_trait::async_trait]
impl App for AdminApp {
    fn label(&self) -> &'static str {
        "admin"
    }

    fn name(&self) -> &'static str {
        "Administration"
    }

    fn routes(&self, core: &CoreState) -> Routes {
        let mut routes = RoutesBuilder::<CoreState>::new()
            .route("admin:index", "/admin/", get(views::index))
            .route("admin:login", "/admin/login/", get(views::login_form).post(views::login_submit))
            .route("admin:logout", "/admin/logout/", post(views::logout))
            .route(
                "admin:password",
                "/admin/accounts/user/{pk}/password/",
                get(views::password_form).post(views::password_submit),
            )
            .route("admin:app", "/admin/{app}/", get(views::app_index))
            .route("admin:changelist", "/admin/{app}/{model}/", get(views::changelist).post(views::changelist_submit))
            .upload_route("admin:add", "/admin/{app}/{model}/add/", get(views::add_form).post(views::add_submit))
            .upload_route(
                "admin:change",
                "/admin/{app}/{model}/{pk}/change/",
                get(views::change_form).post(views::change_submit),
            )
            .route("admin:history", "/admin/{app}/{model}/{pk}/history/", get(views::history_page))
            .route(
                "admin:delete",
                "/admin/{app}/{model}/{pk}/delete/",
                get(views::delete_form).post(views::delete_submit),
            )
            .with_state(core.clone());
        routes.router = routes.router.layer(axum::middleware::from_fn_with_state(core.clone(), forget_cached));
        routes
    }

    fn migrations(&self) -> Vec<Box<dyn Migration>> {
        vec![Box::new(log::Initial)]
    }

    fn models(&self) -> Vec<ModelDef> {
        vec![ModelDef::of::<log::entry::Entity>("logentry", "log entry", "log entries").display_field("object_repr")]
    }
}
