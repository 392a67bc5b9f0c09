//! The `accounts` app: the account pages, their tables, their commands and demo users.

use axum::routing::{get, post};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

use super::{commands, migrations, views};
use quartet_admin::{ManyToMany, ModelAdmin};
use quartet_kernel::app::CoreState;
use quartet_kernel::app::{App, AppRegistry, SeedOptions, SeedReport, Translation};
use quartet_kernel::auth::models::{group, group_permission, permission, profile, user, user_group, user_permission};
use quartet_kernel::auth::{NewUser, create_user, sync_permissions};
use quartet_kernel::db::Migration;
use quartet_kernel::models::ModelDef;
use quartet_kernel::urls::{Routes, RoutesBuilder};

/// Accounts shared by every app (always installed).
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountsApp;

#[async_trait::async_trait]
impl App for AccountsApp {
    fn label(&self) -> &'static str {
        "accounts"
    }

    fn name(&self) -> &'static str {
        "Accounts"
    }

    fn mount(&self) -> &'static str {
        "/account/"
    }

    fn routes(&self, core: &CoreState) -> Routes {
        let login = || get(views::login_form).post(views::login_submit);
        RoutesBuilder::<CoreState>::new()
            .route("login", "login/", login())
            .route("login-alt", "/accounts/login/", login())
            .route("logout", "logout/", post(views::logout))
            .route("logout-alt", "/accounts/logout/", post(views::logout))
            .route("register", "register/", get(views::register_form).post(views::register_submit))
            .route("dashboard", "", get(views::dashboard))
            .upload_route("edit", "edit/", get(views::edit_form).post(views::edit_submit))
            .route(
                "password-change",
                "password_change/",
                get(views::password_change_form).post(views::password_change_submit),
            )
            .route("password-change-done", "password_change/done/", get(views::password_change_done))
            .route(
                "password-reset",
                "password_reset/",
                get(views::password_reset_form).post(views::password_reset_submit),
            )
            .route("password-reset-done", "password_reset/done/", get(views::password_reset_done))
            .route(
                "password-reset-confirm",
                "reset/{uidb64}/{token}/",
                get(views::password_reset_confirm_form).post(views::password_reset_confirm_submit),
            )
            .route("password-reset-complete", "reset/done/", get(views::password_reset_complete))
            .route("social-login", "/social-auth/login/{provider}/", get(crate::social::login))
            .route("social-complete", "/social-auth/complete/{provider}/", get(crate::social::complete))
            .with_state(core.clone())
    }

    fn settings(&self) -> Option<quartet_kernel::config::SettingsSection> {
        Some(quartet_kernel::config::SettingsSection::of::<crate::social::SocialAuthSettings>())
    }

    fn register(&self, app: &mut AppRegistry<'_>) {
        let settings = &app.settings().auth;
        app.provide(quartet_kernel::auth::hashers::PasswordHasher::new(
            quartet_kernel::auth::hashers::HasherConfig::from(settings),
            settings.hashing_concurrency,
        ))
        .provide(crate::social::Providers::default())
        .migrations(vec![
            Box::new(migrations::Initial) as Box<dyn Migration>,
            Box::new(migrations::DemoPasswords),
            Box::new(migrations::SocialAuth),
        ])
        .translation(Translation { language: "es", po: include_str!("../locales/es/LC_MESSAGES/accounts.po") })
        .add(crate::user_admin::password_route());
        for model in [

            ModelAdmin::new("accounts.user")
                .hooks(crate::user_admin::UserAdminHooks)
                .list_display(["username", "email", "first_name", "last_name", "is_staff"])
                .list_filter(["is_staff", "is_superuser", "is_active"])
                .search_fields(["username", "first_name", "last_name", "email"])
                .ordering(["username"])
                .fields([
                    "username",
                    "password",
                    "first_name",
                    "last_name",
                    "email",
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "last_login",
                    "date_joined",
                ])
                .optional(["first_name", "last_name", "email"])
                .label_for("email", "Email address")
                .label_for("is_active", "Active")
                .label_for("is_staff", "Staff status")
                .label_for("is_superuser", "Superuser status")
                .help(
                    "is_active",
                    "Designates whether this user should be treated as active. Unselect this instead of deleting accounts.",
                )
                .help("is_staff", "Designates whether the user can log into this admin site.")
                .help(
                    "is_superuser",
                    "Designates that this user has all permissions without explicitly assigning them.",
                )
                .readonly(["last_login", "date_joined"])
                .superuser_only(["is_staff", "is_superuser", "groups", "user_permissions"])
                .action(quartet_admin::AdminAction::export_to_csv())
                .many_to_many(ManyToMany {
                    name: "groups".into(),
                    label: "Groups".into(),
                    through: "accounts.user_group".into(),
                    own_column: "user_id".into(),
                    other_column: "group_id".into(),
                    target: "accounts.group".into(),
                    help: "The groups this user belongs to. A user will get all permissions granted to each of their groups.".into(),
                    by_name: None,
                })
                .many_to_many(ManyToMany {
                    name: "user_permissions".into(),
                    label: "User permissions".into(),
                    through: "accounts.user_permission".into(),
                    own_column: "user_id".into(),
                    other_column: "permission_id".into(),
                    target: "accounts.permission".into(),
                    help: "Specific permissions for this user.".into(),
                    by_name: None,
                }),
            ModelAdmin::new("accounts.group")
                .list_display(["name"])
                .search_fields(["name"])
                .ordering(["name"])
                .superuser_only(["permissions"])
                .many_to_many(
                ManyToMany {
                    name: "permissions".into(),
                    label: "Permissions".into(),
                    through: "accounts.group_permission".into(),
                    own_column: "group_id".into(),
                    other_column: "permission_id".into(),
                    target: "accounts.permission".into(),
                    help: String::new(),
                    by_name: None,
                },
            ),
            ModelAdmin::new("accounts.profile")
                .list_display(["user_id", "date_of_birth", "photo"])
                .raw_id(["user_id"])
                .optional(["photo"])
                .image("photo", "users"),
            ModelAdmin::new("accounts.social_auth")
                .list_display(["user_id", "provider", "uid", "email", "created", "last_used"])
                .list_filter(["provider"])
                .search_fields(["uid", "email"])
                .raw_id(["user_id"])
                .readonly(["created", "last_used"]),
        ] {
            app.add(model);
        }
        for model in [
            ModelDef::of::<permission::Entity>("permission", "permission", "permissions").display_field("name"),
            ModelDef::of::<group::Entity>("group", "group", "groups").display_field("name"),
            ModelDef::of::<user::Entity>("user", "user", "users").display_field("username"),
            ModelDef::of::<profile::Entity>("profile", "profile", "profiles"),
            ModelDef::of::<user_group::Entity>("user_group", "user group", "user groups").without_permissions(),
            ModelDef::of::<group_permission::Entity>("group_permission", "group permission", "group permissions")
                .without_permissions(),
            ModelDef::of::<user_permission::Entity>("user_permission", "user permission", "user permissions")
                .without_permissions(),
            ModelDef::of::<crate::social::model::Entity>("social_auth", "user social auth", "user social auths")
                .display_field("uid"),
        ] {
            app.model(model);
        }
        app.add(quartet_kernel::jobs::JobDef::of::<views::PasswordResetEmailJob>());
        for command in commands::all() {
            app.command(command);
        }
    }

    async fn after_migrate(&self, core: &CoreState) -> anyhow::Result<()> {
        sync_permissions(core, &core.registry).await.map_err(|e| anyhow::anyhow!("creating permissions: {e}"))?;
        Ok(())
    }

    async fn seed(&self, core: &CoreState, _options: &SeedOptions) -> anyhow::Result<SeedReport> {
        let mut report = SeedReport::default();
        if quartet_kernel::auth::find_for_login(&core.db, "demo").await?.is_some() {
            report.notes.push("The demo account already exists.".into());
            return Ok(report);
        }
        let password =
            format!("demo-{}", quartet_kernel::crypto::random_string(10, quartet_kernel::crypto::LOWER_ALNUM));
        let people = [
            ("demo", "Demo", "User", "demo@example.com"),
            ("ada", "Ada", "Lovelace", "ada@example.com"),
            ("alan", "Alan", "Turing", "alan@example.com"),
            ("grace", "Grace", "Hopper", "grace@example.com"),
        ];
        for (username, first, last, email) in people {
            let user = create_user(
                core,
                NewUser {
                    username: username.into(),
                    first_name: first.into(),
                    last_name: last.into(),
                    email: email.into(),
                    password: Some(password.clone()),
                    ..NewUser::default()
                },
            )
            .await?;
            quartet_kernel::auth::models::demo_password::ActiveModel {
                user_id: Set(user.id),
                password: Set(password.clone()),
                password_hash: Set(user.password.clone()),
            }
            .insert(&core.db)
            .await?;
        }
        report.created.push(format!("{} users", people.len()));
        report.notes.push(format!("Sign in as `demo` (or ada, alan, grace) with the password `{password}`."));
        Ok(report)
    }
}
