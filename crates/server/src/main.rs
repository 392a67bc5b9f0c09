//! The `quartet` binary: the installed apps and the command line.

use std::process::ExitCode;
use std::sync::Arc;

use quartet_core::App;

/// mimalloc instead of the C library's allocator: a page allocates and frees many small
/// buffers across the runtime's threads, where glibc's malloc spent a fifth of the server's
/// time (ADR 21).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The installed apps, in order (Django's `INSTALLED_APPS`): the platform's built-in apps,
/// then the site's own. The kernel's `core` app comes first on its own.
fn installed_apps() -> Vec<Arc<dyn App>> {
    let mut apps = quartet_core::builtin_apps();
    apps.push(Arc::new(quartet_blog::BlogApp));
    apps.push(Arc::new(quartet_bookmarks::BookmarksApp));
    apps
}

fn main() -> ExitCode {
    quartet_core::cli::run(installed_apps())
}
