#![doc = include_str!("../README.md")]

pub use quartet_kernel::*;

/// The accounts app (`quartet_accounts`).
pub use quartet_accounts as accounts;
/// The admin (`quartet_admin`).
pub use quartet_admin as admin;

/// Background jobs: the enqueue side of the kernel and the runtime of `quartet_jobs`.
pub mod jobs {
    pub use quartet_jobs::{
        Background, JobCounts, JobsApp, Worker, WorkerOptions, WorkerReport, admin, amqp, counts, run_due, worker,
    };
    pub use quartet_kernel::jobs::*;
}

/// The platform's built-in apps, in the order a site installs them: accounts, the admin and
/// the background jobs. A site lists them before its own apps (the kernel's `core` app is
/// added first by the site itself).
pub fn builtin_apps() -> Vec<std::sync::Arc<dyn App>> {
    vec![
        std::sync::Arc::new(accounts::AccountsApp),
        std::sync::Arc::new(admin::AdminApp),
        std::sync::Arc::new(jobs::JobsApp),
    ]
}
