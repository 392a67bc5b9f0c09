//! The registry: what every installed app contributed, collected once at start-up.
//!
//! An app hands its parts over in [`App::register`](super::App::register) through an
//! [`AppRegistry`]: the kernel's own kinds (models, migrations, header links, static files,
//! translations, commands) have a method each; anything else — the admin's registrations, job
//! types, whatever a future built-in app defines — is a typed contribution ([`AppRegistry::add`])
//! that the app owning the type reads back ([`Registry::contributions`]). Services (a password
//! hasher, a job queue) are provided once by type ([`AppRegistry::provide`]) and reached through
//! [`CoreState::service`](super::CoreState::service). So the kernel names none of the apps that
//! build on it, and the built-in apps plug in through the same door as the blog.

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::{App, AppCommand, NavLink, StaticFile};
use crate::config::Settings;
use crate::db::Migration;
use crate::i18n::Translation;
use crate::models::ModelDef;

/// An installed app as the site knows it.
#[derive(Debug, Clone)]
pub struct AppInfo {
    /// The label (`accounts`, `blog`).
    pub label: &'static str,
    /// The human-readable name.
    pub name: &'static str,
}

/// One app's contribution of some type.
#[derive(Debug, Clone)]
pub struct Contribution<T> {
    /// The label of the app that made it.
    pub app: &'static str,
    /// The contribution.
    pub item: T,
}

/// Installed apps and everything they contributed, in installed order.
#[derive(Default)]
pub struct Registry {
    /// Apps in installed order.
    pub apps: Vec<AppInfo>,
    /// The app values themselves (for routes, seeding and commands).
    pub installed: Vec<Arc<dyn App>>,
    /// Header links.
    pub nav: Vec<NavLink>,
    /// Every model of every app.
    pub models: Vec<ModelDef>,
    /// Every app's migrations, by app label.
    pub migrations: Vec<(&'static str, Vec<Box<dyn Migration>>)>,
    /// Files served under `/static/`.
    pub static_files: Vec<StaticFile>,
    /// Translation catalogs, each with its domain (the label of the app that shipped it).
    pub translations: Vec<(&'static str, Translation)>,
    /// Extra `quartet` subcommands.
    pub commands: Vec<AppCommand>,
    contributions: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    services: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    duplicate_services: Vec<&'static str>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry").field("apps", &self.apps).field("models", &self.models).finish_non_exhaustive()
    }
}

impl Registry {
    /// Lets every app register, in order, then runs each app's [`App::ready`] check.
    ///
    /// Fails on two apps with one label, and on whatever an app's `ready` refuses.
    pub fn collect(apps: &[Arc<dyn App>], settings: &Settings) -> anyhow::Result<Self> {
        let mut registry = Self::default();
        for (i, app) in apps.iter().enumerate() {
            if apps[..i].iter().any(|other| other.label() == app.label()) {
                anyhow::bail!("two installed apps are labelled `{}`", app.label());
            }
            registry.apps.push(AppInfo { label: app.label(), name: app.name() });
            registry.installed.push(app.clone());
            let mut door = AppRegistry { label: app.label(), settings, registry: &mut registry };
            app.register(&mut door);
        }
        if let Some(name) = registry.duplicate_services.first() {
            anyhow::bail!("the service `{name}` is provided by two apps");
        }
        for app in apps {
            app.ready(&mut registry).map_err(|e| anyhow::anyhow!("the app `{}`: {e:#}", app.label()))?;
        }
        Ok(registry)
    }

    /// The model with the label `app.model`.
    pub fn model(&self, label: &str) -> Option<&ModelDef> {
        self.models.iter().find(|m| m.label() == label)
    }

    /// Every contribution of type `T`, in installed order.
    pub fn contributions<T: Send + Sync + 'static>(&self) -> &[Contribution<T>] {
        self.contributions
            .get(&TypeId::of::<T>())
            .and_then(|list| list.downcast_ref::<Vec<Contribution<T>>>())
            .map_or(&[], Vec::as_slice)
    }

    /// Takes every contribution of type `T` out (the app that owns `T`, in its `ready`).
    pub fn take_contributions<T: Send + Sync + 'static>(&mut self) -> Vec<Contribution<T>> {
        self.contributions
            .remove(&TypeId::of::<T>())
            .and_then(|list| list.downcast::<Vec<Contribution<T>>>().ok())
            .map(|list| *list)
            .unwrap_or_default()
    }

    /// Provides the service `T` (the app that owns it, in its `register` or `ready`); a second
    /// value of one type makes start-up fail.
    pub fn provide<T: Send + Sync + 'static>(&mut self, service: T) {
        if self.services.insert(TypeId::of::<T>(), Arc::new(service)).is_some() {
            self.duplicate_services.push(type_name::<T>());
        }
    }

    /// The service `T`, if an installed app provides it.
    pub fn service<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.services.get(&TypeId::of::<T>()).and_then(|s| s.downcast_ref::<T>())
    }

    fn push<T: Send + Sync + 'static>(&mut self, app: &'static str, item: T) {
        self.contributions
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(Vec::<Contribution<T>>::new()))
            .downcast_mut::<Vec<Contribution<T>>>()
            .expect("contributions are kept by their own type")
            .push(Contribution { app, item });
    }
}

/// The door through which one app hands its parts to the site ([`App::register`]).
pub struct AppRegistry<'a> {
    label: &'static str,
    settings: &'a Settings,
    registry: &'a mut Registry,
}

impl fmt::Debug for AppRegistry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppRegistry").field("app", &self.label).finish_non_exhaustive()
    }
}

impl AppRegistry<'_> {
    /// The label of the app registering.
    pub fn label(&self) -> &'static str {
        self.label
    }

    /// The site's settings (for services sized by configuration).
    pub fn settings(&self) -> &Settings {
        self.settings
    }

    /// A model: it gets view/add/change/delete permissions and is moved by
    /// `dumpdata`/`loaddata`.
    pub fn model(&mut self, mut def: ModelDef) -> &mut Self {
        if def.app.is_empty() {
            def.app = self.label;
        }
        self.registry.models.push(def);
        self
    }

    /// The app's schema changes, oldest first.
    pub fn migrations(&mut self, migrations: Vec<Box<dyn Migration>>) -> &mut Self {
        self.registry.migrations.push((self.label, migrations));
        self
    }

    /// A link in the site header.
    pub fn nav(&mut self, link: NavLink) -> &mut Self {
        self.registry.nav.push(link);
        self
    }

    /// Files served under `/static/`.
    pub fn static_files(&mut self, files: impl IntoIterator<Item = StaticFile>) -> &mut Self {
        self.registry.static_files.extend(files);
        self
    }

    /// A translation catalog of the app's texts (the app's own domain: looked up first on its
    /// pages).
    pub fn translation(&mut self, translation: Translation) -> &mut Self {
        self.registry.translations.push((self.label, translation));
        self
    }

    /// An extra `quartet` subcommand.
    pub fn command(&mut self, command: AppCommand) -> &mut Self {
        self.registry.commands.push(command);
        self
    }

    /// A contribution of a type another app (or the kernel) collects: an admin registration,
    /// a job type.
    pub fn add<T: Send + Sync + 'static>(&mut self, item: T) -> &mut Self {
        self.registry.push(self.label, item);
        self
    }

    /// Provides a service every handler can reach by its type
    /// ([`CoreState::service`](super::CoreState::service)); start-up fails if two apps provide
    /// one of the same type.
    pub fn provide<T: Send + Sync + 'static>(&mut self, service: T) -> &mut Self {
        self.registry.provide(service);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::CoreState;
    use crate::config::Profile;
    use crate::urls::{Routes, RoutesBuilder};

    #[derive(Debug, PartialEq)]
    struct Shelf(&'static str);

    struct Library(&'static str, &'static [&'static str]);

    #[async_trait::async_trait]
    impl App for Library {
        fn label(&self) -> &'static str {
            self.0
        }
        fn name(&self) -> &'static str {
            "Library"
        }
        fn routes(&self, core: &CoreState) -> Routes {
            RoutesBuilder::<CoreState>::new().with_state(core.clone())
        }
        fn register(&self, app: &mut AppRegistry<'_>) {
            for shelf in self.1 {
                app.add(Shelf(shelf));
            }
            if self.0.starts_with("lender") {
                app.provide(42_u32);
            }
        }
    }

    fn collect(apps: Vec<Library>) -> anyhow::Result<Registry> {
        let apps: Vec<Arc<dyn App>> = apps.into_iter().map(|a| Arc::new(a) as Arc<dyn App>).collect();
        Registry::collect(&apps, &Settings::defaults(Profile::Development))
    }

    #[test]
    fn contributions_are_kept_by_type_in_installed_order_with_their_app() {
        let mut registry = collect(vec![Library("a", &["x", "y"]), Library("b", &["z"])]).unwrap();
        let found: Vec<(&str, &Shelf)> = registry.contributions::<Shelf>().iter().map(|c| (c.app, &c.item)).collect();
        assert_eq!(found, [("a", &Shelf("x")), ("a", &Shelf("y")), ("b", &Shelf("z"))]);
        assert!(registry.contributions::<String>().is_empty(), "a type nobody added has none");
        assert_eq!(registry.take_contributions::<Shelf>().len(), 3);
        assert!(registry.contributions::<Shelf>().is_empty(), "taken out once");
    }

    #[test]
    fn services_are_found_by_type_and_provided_once() {
        let registry = collect(vec![Library("lender", &[])]).unwrap();
        assert_eq!(registry.service::<u32>(), Some(&42));
        assert_eq!(registry.service::<u64>(), None);
        let err = collect(vec![Library("lender", &[]), Library("lender2", &[])]).unwrap_err();
        assert!(err.to_string().contains("the service `u32` is provided by two apps"), "{err}");
        let twice = Registry::collect(
            &[Arc::new(Library("lender", &[])) as Arc<dyn App>, Arc::new(Library("lender", &[]))],
            &Settings::defaults(Profile::Development),
        )
        .unwrap_err();
        assert!(twice.to_string().contains("two installed apps are labelled `lender`"), "{twice}");
    }
}
