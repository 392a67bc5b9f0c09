//! The user admin's own steps, written with the admin's hooks: a new user is asked for a
//! username and a password typed twice (hashed before it is stored) and gets a profile; the
//! change page never shows or saves the hash, it links to the password page instead, which is
//! a page of this app under the admin (`admin:password`).

use quartet_kernel::db::Tx;
use std::collections::HashMap;

use askama::Template;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get};
use chrono::{DateTime, Utc};
use quartet_admin::form::{AdminField, Widget};
use quartet_admin::log::{Action, Record};
use quartet_admin::{AdminHooks, AdminRoute, Clean, Crumb, ObjectLink, pages};
use quartet_kernel::app::CoreState;
use quartet_kernel::auth::validators::UserAttributes;
use quartet_kernel::error::{Error, Result};
use quartet_kernel::forms::FormData;
use quartet_kernel::i18n::{Tr, fill};
use quartet_kernel::models::Row;
use quartet_kernel::templates::{PageContext, render};
use sea_orm::EntityTrait;
use serde_json::Value;

/// The hooks of `accounts.user`.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserAdminHooks;

#[async_trait::async_trait]
impl AdminHooks for UserAdminHooks {
    fn new_row(&self, now: DateTime<Utc>, row: &mut Row) {
        row.insert("password".into(), Value::String(quartet_kernel::auth::hashers::unusable_password()));
        row.insert("is_active".into(), Value::Bool(true));
        row.insert("date_joined".into(), Value::String(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)));
    }

    fn add_fields(&self, tr: &Tr, mut fields: Vec<AdminField>) -> Vec<AdminField> {
        // Only the username and the password are asked when adding a user.
        fields.retain(|f| f.name == "username");
        fields.extend(password_fields(tr));
        fields
    }

    fn change_fields(&self, _tr: &Tr, mut fields: Vec<AdminField>) -> Vec<AdminField> {
        fields.retain(|f| f.name != "password");
        fields
    }

    async fn clean(&self, form: Clean<'_>) -> Result<()> {
        if !form.adding {
            // The hash is changed on its own page only (the form has no password field).
            form.row.insert("password".into(), form.original.get("password").cloned().unwrap_or(Value::Null));
            form.errors.remove("password");
            form.changed.retain(|c| c != "password");
            return Ok(());
        }
        form.errors.retain(|k, _| k == "username");
        let username = form.row.get("username").cloned().unwrap_or(Value::Null);
        *form.row = form.original.clone();
        form.row.insert("username".into(), username.clone());
        let attributes = UserAttributes { username: username.as_str().unwrap_or_default(), ..Default::default() };
        form.errors.extend(password_pair_errors(form.core, form.tr, form.data, &attributes));
        if form.errors.is_empty() {
            let password = form.data.get("password1").unwrap_or_default();
            let hash = quartet_kernel::auth::hasher(form.core).hash(password).await;
            form.row.insert("password".into(), Value::String(hash));
        }
        Ok(())
    }

    async fn after_save(&self, tx: &Tx, pk: &str, adding: bool) -> Result<()> {
        if adding && let Ok(id) = pk.parse::<i64>() {
            quartet_kernel::auth::create_profile(tx, id).await?;
        }
        Ok(())
    }

    fn object_links(&self, core: &CoreState, tr: &Tr, pk: &str) -> Vec<ObjectLink> {
        vec![ObjectLink {
            name: "password",
            label: tr.t("Password").to_owned(),
            text: tr.t("Raw passwords are not stored, so there is no way to see the user’s password.").to_owned(),
            link_text: tr.t("Reset password").to_owned(),
            url: core.url_with("admin:password", &[&pk]),
        }]
    }

    fn continue_after_add(&self) -> bool {
        true
    }
}

/// The password page, mounted by the admin as `admin:password`.
pub fn password_route() -> AdminRoute {
    fn handler() -> MethodRouter<CoreState> {
        get(password_form).post(password_submit)
    }
    AdminRoute { name: "password", path: "accounts/user/{pk}/password/", handler }
}

/// Errors of a new password typed twice (`password1`, `password2`), by field.
fn password_pair_errors(
    core: &CoreState,
    tr: &Tr,
    data: &FormData,
    attributes: &UserAttributes<'_>,
) -> HashMap<String, Vec<String>> {
    let (p1, p2) = (data.get("password1").unwrap_or_default(), data.get("password2").unwrap_or_default());
    let mut errors = HashMap::new();
    if p1.is_empty() {
        errors.insert("password1".to_owned(), vec![tr.t("This field is required.").to_owned()]);
    }
    if p2.is_empty() {
        errors.insert("password2".to_owned(), vec![tr.t("This field is required.").to_owned()]);
    } else if p1 != p2 {
        errors.insert("password2".to_owned(), vec![tr.t("The two password fields didn’t match.").to_owned()]);
    } else {
        let min = core.settings.auth.password_min_length;
        let problems = quartet_kernel::auth::validators::validate_password(p1, attributes, min, tr);
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

#[derive(Template)]
#[template(path = "account/admin_password.html")]
struct PasswordPage {
    ctx: PageContext,
    title: String,
    crumbs: Vec<Crumb>,
    fields: Vec<AdminField>,
    username: String,
}

/// The user whose password the page sets, for a staff user who may change users; only a
/// superuser may set a superuser's password (beyond Django: otherwise any staff user with the
/// change permission could take over a superuser's account).
async fn target(ctx: &PageContext, pk: &str) -> Result<(pages::StaffUser, quartet_kernel::auth::models::user::Model)> {
    let staff = pages::require(ctx, Some("accounts.change_user")).await?;
    let id = quartet_kernel::urls::path_id(pk)?;
    let user =
        quartet_kernel::auth::models::user::Entity::find_by_id(id).one(&ctx.core().db).await?.ok_or(Error::NotFound)?;
    if user.is_superuser && !staff.user().is_superuser {
        tracing::warn!(target: "quartet::admin", user_id = staff.user().id, what = "change a superuser's password", "admin permission denied");
        return Err(Error::forbidden("You do not have permission to do that."));
    }
    Ok((staff, user))
}

fn page(ctx: PageContext, pk: &str, username: &str, fields: Vec<AdminField>) -> Result<Response> {
    let tr = ctx.tr();
    let change = ctx.core().url_with("admin:change", &[&"accounts", &"user", &pk]);
    let trail = [(username.to_owned(), change), (tr.t("Change password").to_owned(), String::new())];
    let crumbs = pages::breadcrumbs(&ctx, Some("accounts.user"), &trail);
    let title = fill(tr.t("Change password: {username}"), &[("username", &username)]);
    render(&PasswordPage { ctx, title, crumbs, fields, username: username.to_owned() })
}

async fn password_form(ctx: PageContext, Path(pk): Path<String>) -> Result<Response> {
    let (_, user) = target(&ctx, &pk).await?;
    let fields = password_fields(&ctx.tr());
    page(ctx, &pk, &user.username, fields)
}

async fn password_submit(
    ctx: PageContext,
    Path(pk): Path<String>,
    flash: quartet_kernel::session::flash::Flash,
    data: FormData,
) -> Result<Response> {
    let (staff, user) = target(&ctx, &pk).await?;
    let core = ctx.core().clone();
    let tr = ctx.tr();
    let attributes = UserAttributes {
        username: &user.username,
        first_name: &user.first_name,
        last_name: &user.last_name,
        email: &user.email,
    };
    let errors = password_pair_errors(&core, &tr, &data, &attributes);
    if !errors.is_empty() {
        let mut fields = password_fields(&tr);
        for field in &mut fields {
            if let Some(e) = errors.get(&field.name) {
                field.errors = e.clone();
            }
        }
        return page(ctx, &pk, &user.username, fields);
    }
    quartet_kernel::auth::set_password(&core, &user, data.get("password1").unwrap_or_default()).await?;
    let record = Record {
        user_id: staff.user().id,
        model: "accounts.user",
        object_id: &pk,
        object_repr: &user.username,
        action: Action::Change,
        message: tr.t("Changed password."),
    };
    quartet_admin::log::record(&core.db, core.now(), record).await?;
    tracing::info!(target: "quartet::admin", user_id = staff.user().id, target_user = user.id, "password changed in the admin");
    flash.success(tr.t("Password changed successfully.")).await?;
    Ok(Redirect::to(&core.url_with("admin:change", &[&"accounts", &"user", &pk])).into_response())
}
