//! The `quartet` binary: the installed apps and the command line.

use std::process::ExitCode;
use std::sync::Arc;

use quartet_core::App;

/// The installed apps, in order (Django's `INSTALLED_APPS`). Core's `core` and `accounts`
/// apps come first on their own.
fn installed_apps() -> Vec<Arc<dyn App>> {
    vec![Arc::new(quartet_blog::BlogApp)]
}

fn main() -> ExitCode {
    quartet_core::cli::run(installed_apps())
}
