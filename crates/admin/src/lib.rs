//! The admin site: one admin for every registered model of every app (Django's
//! `django.contrib.admin`).
//!
//! An app registers a model by adding a [`ModelAdmin`] in [`quartet_kernel::App::register`]. Staff
//! users sign in at `/admin/login/`; the index lists the models they may see; each model gets a
//! change list (columns, sorting, search, filters with counts, a date hierarchy, 100 rows per
//! page) and add / change / delete pages generated from its columns. Every page and POST checks
//! the model's view / add / change / delete permission, and every change is recorded in the
//! history shown as "Recent actions".

mod csv;
pub mod form;
mod hooks;
mod inline;
pub mod list;
pub mod log;
mod options;
pub mod pages;
pub mod services;
mod translated;
mod views;

use axum::routing::{get, post};

pub use hooks::{AdminHooks, AdminRoute, Clean, ObjectLink};
pub use inline::{Inline, InlineForm, InlineSet, InlineStyle};
pub use options::{
    ActionFn, ActionInput, ActionOutcome, AdminAction, CellRenderer, ListColumn, ManyToMany, ModelAdmin, TagNames,
    UploadKind, humanize,
};
pub use pages::{AdminLink, StaffUser};
pub use translated::{LanguageTab, TranslatedPart, Translations};
pub use views::Crumb;

use futures_util::FutureExt as _;

use quartet_kernel::app::{App, AppRegistry, CoreState, Fallback, Registry, StaticFile, Translation};
use quartet_kernel::models::ModelDef;
use quartet_kernel::server::error_pages::ErrorLayout;
use quartet_kernel::urls::{Routes, RoutesBuilder};

#[derive(rust_embed::RustEmbed)]
#[folder = "static/"]
struct AdminStatic;

/// What the apps registered with the admin, resolved against their models at start-up (a
/// service of the admin app: [`site`]).
#[derive(Default)]
pub struct AdminSite {
    /// Registered models, in installed order.
    pub admins: Vec<ModelAdmin>,
    /// Apps' own admin pages listed on the index.
    pub links: Vec<AdminLink>,
}

impl std::fmt::Debug for AdminSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminSite")
            .field("models", &self.admins.iter().map(ModelAdmin::label).collect::<Vec<_>>())
            .finish()
    }
}

impl AdminSite {
    /// The registration of the model `app.model`.
    pub fn admin(&self, label: &str) -> Option<&ModelAdmin> {
        self.admins.iter().find(|a| a.label() == label)
    }

    /// Resolves the apps' [`ModelAdmin`] and [`AdminLink`] contributions; fails on a model,
    /// inline or translation table that no installed app has.
    fn collect(registry: &mut Registry) -> anyhow::Result<Self> {
        let mut site = Self::default();
        for contribution in registry.take_contributions::<ModelAdmin>() {
            let mut admin = contribution.item;
            let Some(model) = registry.model(admin.label()).cloned() else {
                anyhow::bail!(
                    "the app `{}` registers `{}` with the admin, but no installed app has that model",
                    contribution.app,
                    admin.label()
                );
            };
            admin.model = Some(model);
            let parent = admin.label().to_owned();
            for inline in &mut admin.inlines {
                let Some(child) = registry.model(inline.admin.label()).cloned() else {
                    anyhow::bail!("the admin of `{parent}` has an inline of unknown model `{}`", inline.admin.label());
                };
                if !child.rows().columns().iter().any(|c| c.name == inline.fk) {
                    anyhow::bail!("the inline `{}` of `{parent}` has no column `{}`", inline.admin.label(), inline.fk);
                }
                inline.admin.model = Some(child);
                inline.exclude_parent_key();
            }
            if let Some(translations) = &mut admin.translations {
                let Some(model) = registry.model(translations.admin.label()).cloned() else {
                    anyhow::bail!(
                        "the admin of `{parent}` has translations in unknown model `{}`",
                        translations.admin.label()
                    );
                };
                let columns = model.rows().columns();
                for column in [&translations.fk, &translations.language_column] {
                    if !columns.iter().any(|c| c.name == column.as_str()) {
                        anyhow::bail!("the translations of `{parent}` have no column `{column}`");
                    }
                }
                translations.admin.model = Some(model);
                translations.exclude_keys();
            }
            site.admins.push(admin);
        }
        for contribution in registry.take_contributions::<AdminLink>() {
            let mut link = contribution.item;
            link.app = contribution.app;
            site.links.push(link);
        }
        Ok(site)
    }
}

/// The admin's registrations (empty when the admin app is not installed).
pub fn site(core: &CoreState) -> &AdminSite {
    static EMPTY: AdminSite = AdminSite { admins: Vec::new(), links: Vec::new() };
    core.service::<AdminSite>().unwrap_or(&EMPTY)
}

/// Core's admin app: the pages under `/admin/` and the history table (its styles and script are
/// core's `static/admin/`).
#[derive(Debug, Clone, Copy)]
pub struct AdminApp;

#[async_trait::async_trait]
impl App for AdminApp {
    fn label(&self) -> &'static str {
        "admin"
    }

    fn name(&self) -> &'static str {
        "Administration"
    }

    fn mount(&self) -> &'static str {
        "/admin/"
    }

    fn routes(&self, core: &CoreState) -> Routes {
        let mut routes = RoutesBuilder::<CoreState>::new()
            .route("index", "", get(views::index))
            .route("login", "login/", get(views::login_form).post(views::login_submit))
            .route("logout", "logout/", post(views::logout))
            .route("services", "services/", get(services::dashboard))
            .route("notices", "ws/notices/", services::notices_route());
        // Apps' own pages under the admin (the user admin's password page).
        for page in core.registry.contributions::<AdminRoute>() {
            routes = routes.route(page.item.name, page.item.path, (page.item.handler)());
        }
        routes
            .route("app", "{app}/", get(views::app_index))
            .route("changelist", "{app}/{model}/", get(views::changelist).post(views::changelist_submit))
            .upload_route("add", "{app}/{model}/add/", get(views::add_form).post(views::add_submit))
            .upload_route("change", "{app}/{model}/{pk}/change/", get(views::change_form).post(views::change_submit))
            .route("history", "{app}/{model}/{pk}/history/", get(views::history_page))
            .route("delete", "{app}/{model}/{pk}/delete/", get(views::delete_form).post(views::delete_submit))
            .with_state(core.clone())
    }

    fn register(&self, app: &mut AppRegistry<'_>) {
        app.migrations(vec![Box::new(log::Initial)])
            .model(
                ModelDef::of::<log::entry::Entity>("logentry", "log entry", "log entries")
                    .display_field("object_repr")
                    .caches(&[]),
            )
            .static_files(StaticFile::all_of::<AdminStatic>())
            .translation(Translation { language: "es", po: include_str!("../locales/es/LC_MESSAGES/admin.po") })
            .add(Fallback { answer: |core, request| views::unknown_page(core, request).boxed() })
            .add(quartet_kernel::auth::PermissionDef { codename: "view_services", name: "Can view the services page" })
            .add(AdminLink::new("Services", "admin:services").permission(services::VIEW))
            .provide(services::RedisBoard::default())
            .add(ErrorLayout { render: views::error_page });
    }

    fn ready(&self, registry: &mut Registry) -> anyhow::Result<()> {
        let site = AdminSite::collect(registry)?;
        registry.provide(site);
        Ok(())
    }

    fn check(&self, core: &CoreState) -> anyhow::Result<()> {
        for link in &site(core).links {
            if !core.urls().has(&link.route) {
                anyhow::bail!(
                    "the admin page `{}` of `{}` names the route `{}`, which no installed app has",
                    link.title,
                    link.app,
                    link.route
                );
            }
        }
        Ok(())
    }
}
