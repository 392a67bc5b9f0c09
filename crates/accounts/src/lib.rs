//! The accounts app: the sign-in, sign-out and registration pages, the dashboard and profile
//! editing, password change and reset (with its e-mail job and tokens), the user admin, and the
//! `createsuperuser` and `changepassword` commands. The identity they work on (users,
//! sign-in mechanics, permissions, hashing) is [`quartet_kernel::auth`].

mod app;
mod commands;
pub mod forms;
mod migrations;
pub mod social;
pub mod tokens;
mod user_admin;
mod views;

pub use app::AccountsApp;
pub use user_admin::UserAdminHooks;
pub use views::PasswordResetEmailJob;
