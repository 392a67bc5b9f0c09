//! What an app adds to the generated add and change pages of one of its models, beyond the
//! declarative options: starting values, the fields shown, a `clean` step over the submitted
//! row, work after the row is saved, links to the app's own pages about a row, and pages of
//! its own under the admin. The accounts app's user admin is written with these (the password
//! pair when adding, the password page instead of the hash); any app can do the same.

use std::collections::HashMap;

use axum::routing::MethodRouter;
use chrono::{DateTime, Utc};
use quartet_kernel::app::CoreState;
use quartet_kernel::db::Tx;
use quartet_kernel::error::Result;
use quartet_kernel::forms::FormData;
use quartet_kernel::i18n::Tr;
use quartet_kernel::models::Row;

use crate::form::AdminField;

/// The hooks of one model's admin, set with [`crate::ModelAdmin::hooks`]. Every method has a
/// default that leaves the generated behaviour as it is.
#[async_trait::async_trait]
pub trait AdminHooks: Send + Sync + 'static {
    /// Values a new row starts with, after the columns' defaults (a new user is active).
    fn new_row(&self, _now: DateTime<Utc>, _row: &mut Row) {}

    /// The fields the add page shows, from the generated ones.
    fn add_fields(&self, _tr: &Tr, fields: Vec<AdminField>) -> Vec<AdminField> {
        fields
    }

    /// The fields the change page shows, from the generated ones.
    fn change_fields(&self, _tr: &Tr, fields: Vec<AdminField>) -> Vec<AdminField> {
        fields
    }

    /// Checks and completes a submitted form once the generated fields are read (Django's
    /// `ModelForm.clean`): it may add errors, change the row to save, or drop fields.
    async fn clean(&self, _form: Clean<'_>) -> Result<()> {
        Ok(())
    }

    /// Runs after the row is written, in the same transaction (a profile for a new user).
    async fn after_save(&self, _tx: &Tx, _pk: &str, _adding: bool) -> Result<()> {
        Ok(())
    }

    /// Rows of the change page that lead to the app's own pages about the row.
    fn object_links(&self, _core: &CoreState, _tr: &Tr, _pk: &str) -> Vec<ObjectLink> {
        Vec::new()
    }

    /// Whether "Save" on the add page continues on the new row's change page (the rest of a
    /// new user's details), instead of going back to the list.
    fn continue_after_add(&self) -> bool {
        false
    }
}

/// A submitted add or change form, for [`AdminHooks::clean`].
#[derive(Debug)]
pub struct Clean<'a> {
    /// The shared services.
    pub core: &'a CoreState,
    /// The page's translator (for error messages).
    pub tr: &'a Tr,
    /// The submitted form.
    pub data: &'a FormData,
    /// `true` on the add page.
    pub adding: bool,
    /// The stored row (on the add page: the new row's starting values).
    pub original: &'a Row,
    /// The row about to be saved.
    pub row: &'a mut Row,
    /// Errors by field name; the form is shown again when any remain.
    pub errors: &'a mut HashMap<String, Vec<String>>,
    /// The fields whose value changed (the history's message).
    pub changed: &'a mut Vec<String>,
}

/// A row of a change page that leads elsewhere ("Password: … Reset password").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectLink {
    /// Its name, for the row's CSS class (`field-password`).
    pub name: &'static str,
    /// The row's label ("Password").
    pub label: String,
    /// What the row says before the link.
    pub text: String,
    /// The link's text.
    pub link_text: String,
    /// Where it goes.
    pub url: String,
}

/// A page of an app under the admin's prefix, contributed with `app.add(AdminRoute { … })`:
/// the admin mounts it with its own routes, so it moves with the admin and is named
/// `admin:<name>` (the user admin's password page is `admin:password`).
#[derive(Debug, Clone, Copy)]
pub struct AdminRoute {
    /// Its short name (kebab-case).
    pub name: &'static str,
    /// Its path below the admin's mount point (`accounts/user/{pk}/password/`).
    pub path: &'static str,
    /// Its handlers.
    pub handler: fn() -> MethodRouter<CoreState>,
}
