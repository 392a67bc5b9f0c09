//! Setting a user's password from the admin.

use askama::Template;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};

use super::change::{password_fields, password_pair_errors};
use super::{Crumb, Staff, authorize, base_crumbs, change_url, crumb, forbidden, history, load_row};
use crate::form::{AdminField, Widget};
use crate::log::Action;
use quartet_kernel::error::{Error, Result};
use quartet_kernel::forms::FormData;
use quartet_kernel::i18n::fill;
use quartet_kernel::models::Row;
use quartet_kernel::templates::{PageContext, render};

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
    flash: quartet_kernel::session::flash::Flash,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let (admin, staff) =
        authorize(&ctx, &core, ("accounts", "user"), &["change"], |_| core.url_with("admin:password", &[&pk])).await?;
    let row = load_row(&core, admin, &pk).await?;
    refuse_superuser_password(&staff, &row)?;
    let id = quartet_kernel::urls::path_id(&pk)?;
    let user = {
        use sea_orm::EntityTrait;
        quartet_kernel::auth::models::user::Entity::find_by_id(id).one(&core.db).await?.ok_or(Error::NotFound)?
    };
    let tr = ctx.tr();
    let attributes = quartet_kernel::auth::validators::UserAttributes {
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
    quartet_kernel::auth::set_password(&core, &user, p1).await?;
    history(&core.db, &core, &staff, admin, (&pk, &user.username), Action::Change, tr.t("Changed password.")).await?;
    tracing::info!(target: "quartet::admin", user_id = staff.user.id, target_user = user.id, "password changed in the admin");
    flash.success(tr.t("Password changed successfully.")).await?;
    Ok(Redirect::to(&change_url(&core, admin, &pk)).into_response())
}
