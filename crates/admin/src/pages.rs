//! An app's own pages inside the admin: a page reached from a change list (an order's detail,
//! its PDF invoice) or a dashboard listed on the admin index (the job queue, Redis, the
//! translation catalogs).
//!
//! The app adds the route to its own [`quartet_kernel::urls::Routes`]; the handler calls [`require`] for
//! the staff user and the permission, builds its trail with [`breadcrumbs`], and renders a
//! template that extends `admin/base.html`:
//!
//! ```ignore
//! async fn order_detail(ctx: PageContext, Path(id): Path<i64>) -> Result<Response> {
//!     let staff = admin::pages::require(&ctx, Some("orders.view_order")).await?;
//!     let crumbs = admin::pages::breadcrumbs(&ctx, Some("orders.order"), &[(format!("Order {id}"), String::new())]);
//!     render(&OrderDetail { ctx, crumbs, /* ... */ })
//! }
//! ```
//!
//! A dashboard is listed on the admin index under its app with [`AdminLink`], returned from
//! [`AdminLink`] contributions (`app.add(AdminLink::new(…))` in [`quartet_kernel::App::register`]).

use std::collections::HashSet;

use quartet_kernel::auth::User;
use quartet_kernel::error::Result;
use quartet_kernel::templates::PageContext;

use super::views::Crumb;

/// A link on the admin index to one of an app's admin pages.
#[derive(Debug, Clone)]
pub struct AdminLink {
    pub(crate) app: &'static str,
    pub(crate) title: String,
    pub(crate) route: String,
    pub(crate) permission: Access,
}

/// Who sees an [`AdminLink`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Access {
    Staff,
    Permission(String),
    Superuser,
}

impl AdminLink {
    /// A link titled `title` (a translatable message id) to the route named `route`.
    pub fn new(title: impl Into<String>, route: impl Into<String>) -> Self {
        Self { app: "", title: title.into(), route: route.into(), permission: Access::Staff }
    }

    /// Shown only to users with this permission (`orders.view_order`).
    pub fn permission(mut self, codename: impl Into<String>) -> Self {
        self.permission = Access::Permission(codename.into());
        self
    }

    /// Shown only to superusers.
    pub fn superuser_only(mut self) -> Self {
        self.permission = Access::Superuser;
        self
    }

    pub(crate) fn visible_to(&self, staff: &StaffUser) -> bool {
        match &self.permission {
            Access::Staff => true,
            Access::Permission(codename) => staff.has_perm(codename),
            Access::Superuser => staff.user.is_superuser,
        }
    }
}

/// A signed-in, active staff user and their permissions.
#[derive(Debug, Clone)]
pub struct StaffUser {
    pub(crate) user: User,
    pub(crate) perms: HashSet<String>,
}

impl StaffUser {
    /// The user.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// Whether the user has `codename` (`orders.view_order`) directly, through a group, or as a
    /// superuser.
    pub fn has_perm(&self, codename: &str) -> bool {
        self.user.is_superuser || self.perms.contains(codename)
    }
}

/// The staff user of an admin page: visitors and non-staff users are sent to the admin sign-in
/// page (and back here after it); staff without `permission` get 403.
pub async fn require(ctx: &PageContext, permission: Option<&str>) -> Result<StaffUser> {
    let staff = super::views::staff(ctx, &ctx.path).await?;
    if let Some(codename) = permission
        && !staff.has_perm(codename)
    {
        return Err(super::views::forbidden(&staff, codename));
    }
    Ok(staff)
}

/// The admin's breadcrumbs: Home › the model's app › the model's list › then `trail`
/// (label and link; an empty link is the current page). Without a model, the trail follows Home.
pub fn breadcrumbs(ctx: &PageContext, model: Option<&str>, trail: &[(String, String)]) -> Vec<Crumb> {
    let core = ctx.core();
    let tr = ctx.tr();
    let mut crumbs = vec![Crumb { label: tr.t("Home").to_owned(), href: core.url("admin:index") }];
    if let Some(admin) = model.and_then(|label| super::site(core).admins.iter().find(|a| a.label() == label)) {
        crumbs.extend(super::views::base_crumbs(core, &tr, admin).into_iter().skip(1));
    }
    crumbs.extend(trail.iter().map(|(label, href)| Crumb { label: label.clone(), href: href.clone() }));
    crumbs
}
