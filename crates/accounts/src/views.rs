//! The account pages: sign-in, sign-out, registration, profile, password change and reset,
//! and the dashboard (see docs/ACCOUNTS.md).

use askama::Template;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;

use super::forms::{self, Login, PasswordChange, PasswordReset, ProfileEdit, Registration, SetPassword, UserEdit};
use super::tokens;
use quartet_kernel::app::CoreState;
use quartet_kernel::auth::models::{profile, user};
use quartet_kernel::auth::{
    Authentication, LoginRequired, User, complete_sign_in, protected_message, sign_in_throttled,
};
use quartet_kernel::error::{Error, Result};
use quartet_kernel::forms::{Bound, BoundForm, FormData, FormField};
use quartet_kernel::http::csrf::Csrf;
use quartet_kernel::http::host::RequestHost;
use quartet_kernel::http::{ClientIp, redirect};
use quartet_kernel::i18n::Tr;
use quartet_kernel::mail::Email;
use quartet_kernel::session::Session;
use quartet_kernel::session::flash::Flash;
use quartet_kernel::templates::{PageContext, render};

const RESET_SESSION_KEY: &str = "_password_reset_token";
const RESET_URL_TOKEN: &str = "set-password";

#[derive(Debug, Deserialize, Default)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

/// `next` if it is a safe place to go, else the dashboard.
fn after_login(core: &CoreState, host: &RequestHost, next: &str) -> String {
    if !next.is_empty() && redirect::is_safe(next, &host.host, host.secure) {
        next.to_owned()
    } else {
        core.url("accounts:dashboard")
    }
}

#[derive(Template)]
#[template(path = "registration/login.html")]
struct LoginPage {
    ctx: PageContext,
    fields: Vec<FormField>,
    /// Why the sign-in failed, or empty.
    error: String,
    /// Offer the password reset next to the error (the account is protected).
    offer_reset: bool,
    next: String,
}

impl LoginPage {
    /// "Sign in with …" buttons, one per configured provider (none until configured).
    fn social(&self) -> Vec<(String, String)> {
        crate::social::buttons(self.ctx.core(), &self.next)
    }
}

/// `next` as given, if it is safe to show in a form and follow later.
fn safe_next(host: &RequestHost, next: Option<&str>) -> String {
    next.filter(|n| redirect::is_safe(n, &host.host, host.secure)).unwrap_or_default().trim().to_owned()
}

pub(crate) async fn login_form(
    ctx: PageContext,
    host: RequestHost,
    Query(query): Query<NextQuery>,
) -> Result<Response> {
    let fields = Bound::<Login>::new().fields(&ctx.tr());
    let next = safe_next(&host, query.next.as_deref());
    render(&LoginPage { ctx, fields, error: String::new(), offer_reset: false, next })
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn login_submit(
    ctx: PageContext,
    session: Session,
    csrf: Csrf,
    host: RequestHost,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    Query(query): Query<NextQuery>,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let tr = ctx.tr();
    let form = Bound::<Login>::bind(&data, &tr);
    let next = safe_next(&host, data.get("next").or(query.next.as_deref()));
    let mut fields = form.fields(&tr);
    let Some(login) = form.valid() else {
        // "This field is required." on the empty fields, as Django's AuthenticationForm.
        return render(&LoginPage { ctx, fields, error: String::new(), offer_reset: false, next });
    };
    let device = quartet_kernel::http::cookies::get(&headers, quartet_kernel::auth::DEVICE_COOKIE);
    let outcome =
        quartet_kernel::auth::authenticate(&core, &login.username, &login.password, ip, device.as_deref()).await?;
    let (error, offer_reset, status) = match outcome {
        Authentication::Valid(user) => {
            let target = after_login(&core, &host, &next);
            return complete_sign_in(&core, (&session, &csrf), &user, &target, device.as_deref()).await;
        }
        Authentication::Throttled(retry_after) => return Err(sign_in_throttled(retry_after)),
        Authentication::Protected(wait) => {
            (protected_message(&tr, wait), true, axum::http::StatusCode::TOO_MANY_REQUESTS)
        }
        Authentication::Invalid => (
            tr.t("Your username and password didn't match. Please try again.").to_owned(),
            false,
            axum::http::StatusCode::OK,
        ),
    };
    for field in &mut fields {
        field.errors.clear();
    }
    let mut response = render(&LoginPage { ctx, fields, error, offer_reset, next })?;
    *response.status_mut() = status;
    Ok(response)
}

#[derive(Template)]
#[template(path = "registration/logged_out.html")]
struct LoggedOutPage {
    ctx: PageContext,
}

pub(crate) async fn logout(ctx: PageContext, session: Session, host: RequestHost, data: FormData) -> Result<Response> {
    quartet_kernel::auth::logout(&session).await?;
    let next = data.get("next").unwrap_or_default();
    if !next.is_empty() && redirect::is_safe(next, &host.host, host.secure) {
        return Ok(Redirect::to(next.trim()).into_response());
    }
    render(&LoggedOutPage { ctx: ctx.without_user() })
}

#[derive(Template)]
#[template(path = "account/register.html")]
struct RegisterPage {
    ctx: PageContext,
    fields: Vec<FormField>,
}

#[derive(Template)]
#[template(path = "account/register_done.html")]
struct RegisterDonePage {
    ctx: PageContext,
    new_user: User,
}

fn registration_fields(core: &CoreState, form: &BoundForm, tr: &Tr) -> Vec<FormField> {
    forms::with_password_help(form.fields(tr), "password", core, tr)
}

pub(crate) async fn register_form(ctx: PageContext) -> Result<Response> {
    let tr = ctx.tr();
    let fields = registration_fields(ctx.core(), &Bound::<Registration>::new(), &tr);
    render(&RegisterPage { ctx, fields })
}

pub(crate) async fn register_submit(
    ctx: PageContext,
    session: Session,
    csrf: Csrf,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let tr = ctx.tr();
    let mut form = Bound::<Registration>::bind(&data, &tr);
    forms::validate_registration(&core, &mut form, &tr).await?;
    let Some(registration) = form.valid() else {
        let fields = registration_fields(&core, &form, &tr);
        return render(&RegisterPage { ctx, fields });
    };
    let new = quartet_kernel::auth::NewUser {
        username: registration.username.clone(),
        email: registration.email.clone(),
        first_name: registration.first_name.clone(),
        password: Some(registration.password.clone()),
        ..Default::default()
    };
    let user = match quartet_kernel::auth::create_user(&core, new).await {
        Ok(user) => user,
        Err(Error::Internal(e))
            if e.downcast_ref::<sea_orm::DbErr>().is_some_and(quartet_kernel::db::is_unique_violation) =>
        {
            // Another registration took the name or address between the check and the insert.
            form.add_error("username", tr.t("A user with that username already exists."));
            let fields = registration_fields(&core, &form, &tr);
            return render(&RegisterPage { ctx, fields });
        }
        Err(e) => return Err(e),
    };
    tracing::info!(target: "quartet::auth", user_id = user.id, "account created");
    quartet_kernel::auth::login(&core, &session, &csrf, &user).await?;
    render(&RegisterDonePage { ctx: ctx.with_user(user.clone()), new_user: user })
}

#[derive(Template)]
#[template(path = "account/dashboard.html")]
struct DashboardPage {
    ctx: PageContext,
    /// The demo password, while a demo account still has it.
    demo_password: Option<String>,
    /// The installed apps' panels, safe HTML.
    panels: Vec<String>,
}

pub(crate) async fn dashboard(LoginRequired(user): LoginRequired, ctx: PageContext) -> Result<Response> {
    use quartet_kernel::auth::models::demo_password;
    // A demo account's password, until its owner changes it.
    let demo_password = demo_password::Entity::find_by_id(user.id)
        .one(&ctx.core().db)
        .await?
        .filter(|demo| demo.password_hash == user.password)
        .map(|demo| demo.password);
    // What the installed apps add (the bookmarks' stream), in installed order.
    let mut panels = Vec::new();
    for maker in ctx.core().registry.contributions::<quartet_kernel::templates::DashboardPanel>() {
        if let Some(html) = (maker.item.panel)(&ctx).await? {
            panels.push(html);
        }
    }
    render(&DashboardPage { ctx, demo_password, panels })
}

#[derive(Template)]
#[template(path = "account/edit.html")]
struct EditPage {
    ctx: PageContext,
    user_fields: Vec<FormField>,
    profile_fields: Vec<FormField>,
    photo_url: String,
}

async fn profile_of(core: &CoreState, user: &User) -> Result<profile::Model> {
    if let Some(p) = profile::Entity::find().filter(profile::Column::UserId.eq(user.id)).one(&core.db).await? {
        return Ok(p);
    }
    // Users imported without one get their profile on first use.
    let created = profile::ActiveModel {
        user_id: Set(user.id),
        date_of_birth: Set(None),
        photo: Set(String::new()),
        ..Default::default()
    }
    .insert(&core.db)
    .await?;
    Ok(created)
}

fn edit_page(
    ctx: PageContext,
    user_form: &Bound<UserEdit>,
    profile_form: &Bound<ProfileEdit>,
    profile: &profile::Model,
) -> Result<Response> {
    let tr = ctx.tr();
    let photo_url = if profile.photo.is_empty() { String::new() } else { quartet_kernel::media::url(&profile.photo) };
    let uploads = &ctx.core().settings.uploads;
    let mut profile_fields = profile_form.fields(&tr);
    if let Some(photo) = profile_fields.iter_mut().find(|f| f.name == "photo") {
        // The limits, before anyone picks a file over them.
        photo.help.push(tr.f(
            "A JPEG, PNG, GIF or WebP image of at most {size} and {megapixels} megapixels.",
            &[
                ("size", &quartet_kernel::error::human_size(uploads.max_upload_bytes as u64)),
                ("megapixels", &quartet_kernel::media::megapixels(uploads.max_photo_pixels)),
            ],
        ));
    }
    render(&EditPage { user_fields: user_form.fields(&tr), profile_fields, photo_url, ctx })
}

pub(crate) async fn edit_form(LoginRequired(user): LoginRequired, ctx: PageContext) -> Result<Response> {
    let profile = profile_of(ctx.core(), &user).await?;
    let user_form = Bound::<UserEdit>::initial(&[
        ("first_name", user.first_name.clone()),
        ("last_name", user.last_name.clone()),
        ("email", user.email.clone()),
    ]);
    let profile_form = Bound::<ProfileEdit>::initial(&[(
        "date_of_birth",
        profile.date_of_birth.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
    )]);
    edit_page(ctx, &user_form, &profile_form, &profile)
}

pub(crate) async fn edit_submit(
    LoginRequired(user): LoginRequired,
    ctx: PageContext,
    flash: Flash,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let tr = ctx.tr();
    let profile = profile_of(&core, &user).await?;
    let mut user_form = Bound::<UserEdit>::bind(&data, &tr);
    forms::validate_user_edit(&core, &mut user_form, user.id, &tr).await?;
    let mut profile_form = Bound::<ProfileEdit>::bind(&data, &tr);
    let mut new_photo = None;
    if user_form.is_valid()
        && profile_form.is_valid()
        && let Some(file) = profile_form.file("photo")
    {
        match quartet_kernel::media::store_uploaded_image(&core, file, "users", core.settings.uploads.max_photo_pixels)
            .await
        {
            Ok(path) => new_photo = Some(path),
            Err(quartet_kernel::media::UploadError::Storage(e)) => {
                return Err(quartet_kernel::http::body::disk_error(e));
            }
            Err(e) => profile_form.add_error("photo", e.message(&tr)),
        }
    }
    let (Some(edit), Some(profile_edit)) = (user_form.valid(), profile_form.valid()) else {
        flash.error(tr.t("Error updating your profile")).await?;
        return edit_page(ctx, &user_form, &profile_form, &profile);
    };
    let date_of_birth = profile_edit.date_of_birth;
    let clear_photo = data.get("photo-clear").is_some();
    let old_photo = profile.photo.clone();
    let tx = core.db.begin().await?;
    let mut active_user: user::ActiveModel = user.clone().into();
    active_user.first_name = Set(edit.first_name.clone());
    active_user.last_name = Set(edit.last_name.clone());
    active_user.email = Set(edit.email.clone());
    if let Err(e) = active_user.update(&tx).await {
        if !quartet_kernel::db::is_unique_violation(&e) {
            return Err(e.into());
        }
        // Another account took the address between the check and this update.
        drop(tx);
        if let Some(path) = &new_photo {
            quartet_kernel::media::delete(&core, path).await;
        }
        user_form.add_error("email", tr.t("Email already in use."));
        flash.error(tr.t("Error updating your profile")).await?;
        return edit_page(ctx, &user_form, &profile_form, &profile);
    }
    let mut active_profile: profile::ActiveModel = profile.into();
    active_profile.date_of_birth = Set(date_of_birth);
    if let Some(path) = &new_photo {
        active_profile.photo = Set(path.clone());
    } else if clear_photo {
        active_profile.photo = Set(String::new());
    }
    active_profile.update(&tx).await?;
    tx.commit().await?;
    if !old_photo.is_empty() && (new_photo.is_some() || clear_photo) {
        quartet_kernel::media::delete(&core, &old_photo).await;
    }
    flash.success(tr.t("Profile updated successfully")).await?;
    Ok(Redirect::to(&core.url("accounts:edit")).into_response())
}

#[derive(Template)]
#[template(path = "registration/password_change_form.html")]
struct PasswordChangePage {
    ctx: PageContext,
    fields: Vec<FormField>,
}

#[derive(Template)]
#[template(path = "registration/password_change_done.html")]
struct PasswordChangeDonePage {
    ctx: PageContext,
}

pub(crate) async fn password_change_form(LoginRequired(_user): LoginRequired, ctx: PageContext) -> Result<Response> {
    let tr = ctx.tr();
    let fields =
        forms::with_password_help(Bound::<PasswordChange>::new().fields(&tr), "new_password1", ctx.core(), &tr);
    render(&PasswordChangePage { ctx, fields })
}

pub(crate) async fn password_change_submit(
    LoginRequired(user): LoginRequired,
    ctx: PageContext,
    session: Session,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let tr = ctx.tr();
    let mut form = Bound::<PasswordChange>::bind(&data, &tr);
    let hour = Duration::hours(1);
    let key = format!("login:user:{}", user.id);
    if !form.has_error("old_password") {
        let limit = core.settings.auth.login_failures_per_account_per_hour;
        if let Err(retry_after) = core.limiter.take(&key, limit, hour, core.now()).await? {
            return Err(Error::too_many(retry_after));
        }
        if quartet_kernel::auth::hasher(&core).verify(form.value("old_password"), &user.password).await.valid {
            core.limiter.give_back(&key).await?;
        } else {
            form.add_error("old_password", tr.t("Your old password was entered incorrectly. Please enter it again."));
        }
    }
    forms::validate_new_password(&core, &mut form, &user, &tr);
    let Some(change) = form.valid() else {
        let fields = forms::with_password_help(form.fields(&tr), "new_password1", &core, &tr);
        return render(&PasswordChangePage { ctx, fields });
    };
    let user = quartet_kernel::auth::set_password(&core, &user, &change.new_password1).await?;
    quartet_kernel::auth::update_session_auth_hash(&core, &session, &user).await?;
    tracing::info!(target: "quartet::auth", user_id = user.id, "password changed");
    Ok(Redirect::to(&core.url("accounts:password-change-done")).into_response())
}

pub(crate) async fn password_change_done(LoginRequired(_user): LoginRequired, ctx: PageContext) -> Result<Response> {
    render(&PasswordChangeDonePage { ctx })
}

#[derive(Template)]
#[template(path = "registration/password_reset_form.html")]
struct PasswordResetPage {
    ctx: PageContext,
    fields: Vec<FormField>,
}

#[derive(Template)]
#[template(path = "registration/password_reset_done.html")]
struct PasswordResetDonePage {
    ctx: PageContext,
}

#[derive(Template)]
#[template(path = "registration/password_reset_email.txt")]
struct PasswordResetEmail<'a> {
    email: &'a str,
    protocol: &'a str,
    domain: &'a str,
    path: &'a str,
    username: &'a str,
}

pub(crate) async fn password_reset_form(ctx: PageContext) -> Result<Response> {
    let fields = Bound::<PasswordReset>::new().fields(&ctx.tr());
    render(&PasswordResetPage { ctx, fields })
}

pub(crate) async fn password_reset_submit(
    ctx: PageContext,
    host: RequestHost,
    ClientIp(ip): ClientIp,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let tr = ctx.tr();
    let form = Bound::<PasswordReset>::bind(&data, &tr);
    let Some(reset) = form.valid() else {
        let fields = form.fields(&tr);
        return render(&PasswordResetPage { ctx, fields });
    };
    let (now, hour) = (core.now(), Duration::hours(1));
    let auth = &core.settings.auth;
    if let Some(ip) = ip {
        let key = format!("reset:ip:{ip}");
        if let Err(retry_after) =
            core.limiter.take(&key, auth.password_reset_requests_per_ip_per_hour, hour, now).await?
        {
            tracing::warn!(target: "quartet::auth", %key, "password reset refused: too many requests");
            return Err(Error::TooManyRequests {
                retry_after,
                message: "Too many password reset requests from your address. Please wait a while and try again.",
            });
        }
    }
    let email = reset.email.to_lowercase();
    let users = user::Entity::find()
        .filter(Expr::expr(Func::lower(Expr::col(user::Column::Email))).eq(email.clone()))
        .filter(user::Column::IsActive.eq(true))
        .all(&core.db)
        .await?;
    let address_key = format!("reset:email:{email}");
    let (protocol, domain) = host.link_base(&core.settings);
    for user in users.iter().filter(|u| u.has_usable_password()) {
        if core.limiter.take(&address_key, auth.password_reset_emails_per_hour, hour, now).await?.is_err() {
            tracing::warn!(target: "quartet::auth", user_id = user.id, "password reset e-mail not sent: hourly cap reached");
            break;
        }
        let job = PasswordResetEmailJob {
            user_id: user.id,
            protocol: protocol.clone(),
            domain: domain.clone(),
            language: tr.lang().to_owned(),
        };
        let job_id = core.enqueue(&core.db, &job).await?;
        tracing::info!(target: "quartet::auth", user_id = user.id, job_id, "password reset e-mail queued");
    }
    Ok(Redirect::to(&core.url("accounts:password-reset-done")).into_response())
}

/// Sends the password-reset e-mail of one user. The link is made when the job runs, so it
/// never waits in the queue; a user who was deactivated or lost their password meanwhile gets
/// nothing.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub struct PasswordResetEmailJob {
    /// The user.
    pub user_id: i64,
    /// `http` or `https`, as the request came.
    pub protocol: String,
    /// The host of the link.
    pub domain: String,
    /// The language of the subject.
    pub language: String,
}

#[async_trait::async_trait]
impl quartet_kernel::jobs::Job for PasswordResetEmailJob {
    const NAME: &'static str = "accounts.password_reset_email";
    const QUEUE: &'static str = "mail";

    async fn run(self, ctx: quartet_kernel::jobs::JobContext) -> anyhow::Result<()> {
        let core = ctx.core();
        let Some(user) = user::Entity::find_by_id(self.user_id).one(&core.db).await? else {
            tracing::info!(target: "quartet::auth", user_id = self.user_id, "password reset e-mail not sent: the user is gone");
            return Ok(());
        };
        if !user.is_active || !user.has_usable_password() {
            tracing::info!(target: "quartet::auth", user_id = user.id, "password reset e-mail not sent: the account cannot sign in");
            return Ok(());
        }
        let token = tokens::make_token(&user, core.now(), core.settings.secret_key.expose());
        let path = core.url_with("accounts:password-reset-confirm", &[&tokens::encode_uid(user.id), &token]);
        let body = PasswordResetEmail {
            email: &user.email,
            protocol: &self.protocol,
            domain: &self.domain,
            path: &path,
            username: &user.username,
        }
        .render()?;
        let tr = core.tr(self.language);
        let subject = tr.f("Password reset on {site_name}", &[("site_name", &core.settings.site.name)]);
        if ctx.send_email("email", &Email::new(user.email.clone(), subject, body)).await? {
            tracing::info!(target: "quartet::auth", user_id = user.id, "password reset e-mail sent");
        }
        Ok(())
    }
}

pub(crate) async fn password_reset_done(ctx: PageContext) -> Result<Response> {
    render(&PasswordResetDonePage { ctx })
}

#[derive(Template)]
#[template(path = "registration/password_reset_confirm.html")]
struct PasswordResetConfirmPage {
    ctx: PageContext,
    valid_link: bool,
    fields: Vec<FormField>,
}

#[derive(Template)]
#[template(path = "registration/password_reset_complete.html")]
struct PasswordResetCompletePage {
    ctx: PageContext,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResetPath {
    uidb64: String,
    token: String,
}

/// The user of a reset link if the link (or the token kept in the session) is valid.
async fn reset_user(core: &CoreState, session: &Session, path: &ResetPath) -> Result<Option<User>> {
    let Some(id) = tokens::decode_uid(&path.uidb64) else { return Ok(None) };
    let Some(user) = user::Entity::find_by_id(id).one(&core.db).await? else { return Ok(None) };
    let token = if path.token == RESET_URL_TOKEN {
        session.get::<String>(RESET_SESSION_KEY).await?.unwrap_or_default()
    } else {
        path.token.clone()
    };
    let valid = tokens::check_token(
        &user,
        &token,
        core.now(),
        core.settings.secret_key.expose(),
        core.settings.auth.password_reset_timeout_seconds,
    );
    Ok(valid.then_some(user))
}

pub(crate) async fn password_reset_confirm_form(
    ctx: PageContext,
    session: Session,
    axum::extract::Path(path): axum::extract::Path<ResetPath>,
) -> Result<Response> {
    let core = ctx.core().clone();
    let user = reset_user(&core, &session, &path).await?;
    if user.is_some() && path.token != RESET_URL_TOKEN {
        // Keep the token out of the address bar and of Referer headers.
        session.insert(RESET_SESSION_KEY, &path.token).await?;
        let url = core.url_with("accounts:password-reset-confirm", &[&path.uidb64, &RESET_URL_TOKEN]);
        return Ok(Redirect::to(&url).into_response());
    }
    let tr = ctx.tr();
    let fields = forms::with_password_help(Bound::<SetPassword>::new().fields(&tr), "new_password1", &core, &tr);
    render(&PasswordResetConfirmPage { ctx, valid_link: user.is_some(), fields })
}

pub(crate) async fn password_reset_confirm_submit(
    ctx: PageContext,
    session: Session,
    axum::extract::Path(path): axum::extract::Path<ResetPath>,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let tr = ctx.tr();
    let user = if path.token == RESET_URL_TOKEN { reset_user(&core, &session, &path).await? } else { None };
    let Some(user) = user else {
        return render(&PasswordResetConfirmPage { ctx, valid_link: false, fields: Vec::new() });
    };
    let mut form = Bound::<SetPassword>::bind(&data, &tr);
    forms::validate_new_password(&core, &mut form, &user, &tr);
    let Some(new_password) = form.valid() else {
        let fields = forms::with_password_help(form.fields(&tr), "new_password1", &core, &tr);
        return render(&PasswordResetConfirmPage { ctx, valid_link: true, fields });
    };
    let user = quartet_kernel::auth::set_password(&core, &user, &new_password.new_password1).await?;
    session.remove(RESET_SESSION_KEY).await?;
    core.limiter.reset(&format!("login:user:{}", user.id)).await?;
    tracing::info!(target: "quartet::auth", user_id = user.id, "password reset");
    Ok(Redirect::to(&core.url("accounts:password-reset-complete")).into_response())
}

pub(crate) async fn password_reset_complete(ctx: PageContext) -> Result<Response> {
    render(&PasswordResetCompletePage { ctx })
}
