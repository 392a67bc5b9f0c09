//! The account forms, with the rules and messages of the reference and Django's auth forms.

use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use chrono::NaiveDate;
use quartet_kernel::app::CoreState;
use quartet_kernel::auth::models::user;
use quartet_kernel::auth::validators::{UserAttributes, help_texts, validate_password};
use quartet_kernel::error::Result;
use serde::Deserialize;

use quartet_kernel::forms::{BoundForm, FieldKind, FieldSpec, Form, FormField};
use quartet_kernel::i18n::Tr;

const USERNAME_HELP: &str = "Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.";

/// Sign-in: username or e-mail, and password.
#[derive(Debug, Deserialize)]
pub struct Login {
    /// A username or an e-mail address.
    pub username: String,
    /// The password, as typed.
    pub password: String,
}

impl Form for Login {
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::text("username", "Username").max_length(254).autocomplete("username"),
        FieldSpec::of(FieldKind::Password, "password", "Password").autocomplete("current-password"),
    ];
}

/// Registration (Django's `UserCreationForm` fields, with e-mail required and unique).
#[derive(Debug, Deserialize)]
pub struct Registration {
    /// The new username.
    pub username: String,
    /// The first name, or empty.
    pub first_name: String,
    /// The e-mail address.
    pub email: String,
    /// The password.
    pub password: String,
    /// The password again.
    pub password2: String,
}

impl Form for Registration {
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::text("username", "Username").max_length(150).help(USERNAME_HELP).autocomplete("username"),
        FieldSpec::text("first_name", "First name").optional().max_length(150).autocomplete("given-name"),
        FieldSpec::of(FieldKind::Email, "email", "Email address").max_length(254).autocomplete("email"),
        FieldSpec::of(FieldKind::Password, "password", "Password").autocomplete("new-password"),
        FieldSpec::of(FieldKind::Password, "password2", "Repeat password").autocomplete("new-password"),
    ];
}

/// The user part of profile editing.
#[derive(Debug, Deserialize)]
pub struct UserEdit {
    /// First name, or empty.
    pub first_name: String,
    /// Last name, or empty.
    pub last_name: String,
    /// E-mail address, or empty.
    pub email: String,
}

impl Form for UserEdit {
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::text("first_name", "First name").optional().max_length(150).autocomplete("given-name"),
        FieldSpec::text("last_name", "Last name").optional().max_length(150).autocomplete("family-name"),
        FieldSpec::of(FieldKind::Email, "email", "Email address").optional().max_length(254).autocomplete("email"),
    ];
}

/// The profile part of profile editing (the photo is read with `Bound::file`).
#[derive(Debug, Deserialize)]
pub struct ProfileEdit {
    /// Date of birth, if given.
    pub date_of_birth: Option<NaiveDate>,
}

impl Form for ProfileEdit {
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::of(FieldKind::Date, "date_of_birth", "Date of birth").optional(),
        FieldSpec::of(FieldKind::Image, "photo", "Photo").optional(),
    ];
}

/// Changing the password while signed in.
#[derive(Debug, Deserialize)]
pub struct PasswordChange {
    /// The current password.
    pub old_password: String,
    /// The new password.
    pub new_password1: String,
    /// The new password again.
    pub new_password2: String,
}

impl Form for PasswordChange {
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::of(FieldKind::Password, "old_password", "Old password").autocomplete("current-password"),
        FieldSpec::of(FieldKind::Password, "new_password1", "New password").autocomplete("new-password"),
        FieldSpec::of(FieldKind::Password, "new_password2", "New password confirmation").autocomplete("new-password"),
    ];
}

/// Asking for a reset link.
#[derive(Debug, Deserialize)]
pub struct PasswordReset {
    /// The account's e-mail address.
    pub email: String,
}

impl Form for PasswordReset {
    const FIELDS: &'static [FieldSpec] =
        &[FieldSpec::of(FieldKind::Email, "email", "Email").max_length(254).autocomplete("email")];
}

/// Choosing a new password from a reset link.
#[derive(Debug, Deserialize)]
pub struct SetPassword {
    /// The new password.
    pub new_password1: String,
    /// The new password again.
    pub new_password2: String,
}

impl Form for SetPassword {
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::of(FieldKind::Password, "new_password1", "New password").autocomplete("new-password"),
        FieldSpec::of(FieldKind::Password, "new_password2", "New password confirmation").autocomplete("new-password"),
    ];
}

/// Whether a username uses only letters, digits and `@.+-_` (Django's `UnicodeUsernameValidator`).
pub fn is_valid_username(username: &str) -> bool {
    !username.is_empty() && username.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
}

/// Whether another user (not `except`) has this e-mail address, ignoring case.
pub async fn email_taken(core: &CoreState, email: &str, except: Option<i64>) -> Result<bool> {
    let mut query =
        user::Entity::find().filter(Expr::expr(Func::lower(Expr::col(user::Column::Email))).eq(email.to_lowercase()));
    if let Some(id) = except {
        query = query.filter(user::Column::Id.ne(id));
    }
    Ok(query.count(&core.db).await? > 0)
}

/// Whether a user has this username, ignoring case.
pub async fn username_taken(core: &CoreState, username: &str) -> Result<bool> {
    let count = user::Entity::find()
        .filter(Expr::expr(Func::lower(Expr::col(user::Column::Username))).eq(username.to_lowercase()))
        .count(&core.db)
        .await?;
    Ok(count > 0)
}

/// Checks a username for a new account; adds errors to `field`.
pub async fn check_new_username(core: &CoreState, form: &mut BoundForm, field: &str, tr: &Tr) -> Result<()> {
    let username = form.value(field).to_owned();
    if form.has_error(field) || username.is_empty() {
        return Ok(());
    }
    if !is_valid_username(&username) {
        form.add_error(
            field,
            tr.t("Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."),
        );
    } else if username_taken(core, &username).await? {
        form.add_error(field, tr.t("A user with that username already exists."));
    }
    Ok(())
}

/// The registration rules: valid unique username, unique e-mail, matching and valid passwords.
pub async fn validate_registration(core: &CoreState, form: &mut BoundForm, tr: &Tr) -> Result<()> {
    check_new_username(core, form, "username", tr).await?;
    let email = form.value("email").to_owned();
    if !form.has_error("email") && !email.is_empty() && email_taken(core, &email, None).await? {
        form.add_error("email", tr.t("Email already in use."));
    }
    let (password, password2) = (form.value("password").to_owned(), form.value("password2").to_owned());
    if !form.has_error("password2") && !password2.is_empty() && password != password2 {
        form.add_error("password2", tr.t("Passwords don't match."));
    }
    if !form.has_error("password") && !password.is_empty() {
        let attributes = UserAttributes {
            username: form.value("username"),
            first_name: form.value("first_name"),
            last_name: "",
            email: form.value("email"),
        };
        for error in validate_password(&password, &attributes, core.settings.auth.password_min_length, tr) {
            form.add_error("password", error);
        }
    }
    Ok(())
}

/// Checks two new-password fields against each other and the validators.
pub fn validate_new_password(core: &CoreState, form: &mut BoundForm, user: &user::Model, tr: &Tr) {
    let (p1, p2) = (form.value("new_password1").to_owned(), form.value("new_password2").to_owned());
    if form.has_error("new_password1") || form.has_error("new_password2") {
        return;
    }
    if p1 != p2 {
        form.add_error("new_password2", tr.t("The two password fields didn’t match."));
        return;
    }
    let attributes = UserAttributes {
        username: &user.username,
        first_name: &user.first_name,
        last_name: &user.last_name,
        email: &user.email,
    };
    for error in validate_password(&p2, &attributes, core.settings.auth.password_min_length, tr) {
        form.add_error("new_password2", error);
    }
}

/// Adds the password rules as help text under the first new-password field of `fields`.
pub fn with_password_help(mut fields: Vec<FormField>, field: &str, core: &CoreState, tr: &Tr) -> Vec<FormField> {
    if let Some(f) = fields.iter_mut().find(|f| f.name == field) {
        f.help = help_texts(core.settings.auth.password_min_length, tr);
    }
    fields
}

/// Whether a user other than `except` has this e-mail; used by the profile form.
pub async fn validate_user_edit(core: &CoreState, form: &mut BoundForm, user_id: i64, tr: &Tr) -> Result<()> {
    let email = form.value("email").to_owned();
    if !form.has_error("email") && !email.is_empty() && email_taken(core, &email, Some(user_id)).await? {
        form.add_error("email", tr.t("Email already in use."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_valid_username;

    #[test]
    fn usernames_allow_letters_digits_and_at_dot_plus_dash_underscore() {
        for good in ["alice", "bob_42", "a.b+c-d@e", "ñandú"] {
            assert!(is_valid_username(good), "{good}");
        }
        for bad in ["", "with space", "semi;colon", "slash/", "<script>"] {
            assert!(!is_valid_username(bad), "{bad}");
        }
    }
}
