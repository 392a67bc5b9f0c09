//! Creating users (with the profile every user has) and the permissions of every model.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};

use super::User;
use super::models::{permission, profile, user};
use crate::app::{CoreState, Registry};
use crate::error::Result;

/// A user to create.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Username.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Password; `None` makes an account that cannot sign in with a password.
    pub password: Option<String>,
    /// May use the admin.
    pub is_staff: bool,
    /// Has every permission.
    pub is_superuser: bool,
}

/// Creates a user and their profile in one transaction.
pub async fn create_user(core: &CoreState, new: NewUser) -> Result<User> {
    let password = match &new.password {
        Some(p) => crate::auth::hasher(core).hash(p).await,
        None => super::hashers::unusable_password(),
    };
    let tx = core.db.begin().await?;
    let user = user::ActiveModel {
        password: Set(password),
        last_login: Set(None),
        is_superuser: Set(new.is_superuser),
        username: Set(new.username),
        first_name: Set(new.first_name),
        last_name: Set(new.last_name),
        email: Set(new.email),
        is_staff: Set(new.is_staff),
        is_active: Set(true),
        date_joined: Set(core.now()),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    create_profile(&tx, user.id).await?;
    tx.commit().await?;
    Ok(user)
}

/// Creates the empty profile every user has.
pub async fn create_profile(db: &impl sea_orm::ConnectionTrait, user_id: i64) -> Result<()> {
    profile::ActiveModel {
        user_id: Set(user_id),
        date_of_birth: Set(None),
        photo: Set(String::new()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A permission of an app that belongs to no model (Django's custom permissions): a page such
/// as the admin's services dashboard. Contributed with `app.add(PermissionDef { … })`; the
/// codename is `<app>.<codename>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionDef {
    /// The codename within the app (`view_services`).
    pub codename: &'static str,
    /// What people read (`Can view the services page`).
    pub name: &'static str,
}

/// Creates (or renames) the view/add/change/delete permissions of every model, and the apps'
/// own permissions ([`PermissionDef`]).
pub async fn sync_permissions(core: &CoreState, registry: &Registry) -> Result<usize> {
    let mut rows = Vec::new();
    for contribution in registry.contributions::<PermissionDef>() {
        rows.push(permission::ActiveModel {
            codename: Set(format!("{}.{}", contribution.app, contribution.item.codename)),
            name: Set(contribution.item.name.to_owned()),
            app_label: Set(contribution.app.to_owned()),
            model: Set(String::new()),
        });
    }
    for model in registry.models.iter().filter(|m| m.permissions) {
        for action in ["view", "add", "change", "delete"] {
            rows.push(permission::ActiveModel {
                codename: Set(format!("{}.{action}_{}", model.app, model.name)),
                name: Set(format!("Can {action} {}", model.verbose_name)),
                app_label: Set(model.app.to_owned()),
                model: Set(model.name.to_owned()),
            });
        }
    }
    let count = rows.len();
    if count > 0 {
        permission::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(permission::Column::Codename)
                    .update_columns([permission::Column::Name, permission::Column::AppLabel, permission::Column::Model])
                    .to_owned(),
            )
            .exec_without_returning(&core.db)
            .await?;
    }
    Ok(count)
}
