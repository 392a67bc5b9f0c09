//! The job monitoring page in the admin (the reference's Flower): counts per job type and
//! state, workers and their heartbeats, RabbitMQ queue depths, recent jobs with their
//! arguments, attempts, errors and durations, and retry / discard buttons for failed jobs.
//!
//! Viewing needs `core.view_job`; retrying `core.change_job`; discarding `core.delete_job`.

use askama::Template;
use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::store;
use quartet_admin::Crumb;
use quartet_admin::pages;
use quartet_kernel::config::JobBackendKind;
use quartet_kernel::error::{Error, Result};
use quartet_kernel::forms::FormData;
use quartet_kernel::jobs::{job, status, worker_row};
use quartet_kernel::pagination::{Page, Paginator};
use quartet_kernel::session::flash::Flash;
use quartet_kernel::templates::{PageContext, render};

/// Permission to see the page.
pub const VIEW: &str = "core.view_job";
/// Permission to retry a failed job.
pub const RETRY: &str = "core.change_job";
/// Permission to discard a failed job.
pub const DISCARD: &str = "core.delete_job";

const PER_PAGE: u64 = 50;
const ARGUMENTS_SHOWN: usize = 160;

/// One line of the per-type table.
struct CountRow {
    name: String,
    counts: [u64; 4],
}

/// One worker.
struct WorkerLine {
    id: String,
    queues: String,
    concurrency: i32,
    started: String,
    heartbeat: String,
    online: bool,
}

/// One job of the list.
struct JobLine {
    id: i64,
    name: String,
    queue: String,
    status: String,
    arguments: String,
    arguments_full: String,
    attempts: String,
    created: String,
    duration: String,
    error: String,
    failed: bool,
}

/// A link of the status filter.
struct Filter {
    label: String,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    ctx: PageContext,
    crumbs: Vec<Crumb>,
    backend: &'static str,
    counts: Vec<CountRow>,
    totals: [u64; 4],
    states: [&'static str; 4],
    workers: Vec<WorkerLine>,
    broker: Option<std::result::Result<Vec<crate::amqp::QueueDepth>, String>>,
    filters: Vec<Filter>,
    names: Vec<(String, bool)>,
    status_filter: String,
    jobs: Vec<JobLine>,
    page: Page,
    can_retry: bool,
    can_discard: bool,
    back: String,
}

impl JobsPage {
    fn state_label(&self, state: &str) -> String {
        state_label(&self.ctx, state)
    }

    fn first_line<'a>(&self, text: &'a str) -> &'a str {
        text.lines().next().unwrap_or_default()
    }
}

fn when(ctx: &PageContext, at: Option<DateTime<Utc>>) -> String {
    at.map(|at| quartet_kernel::i18n::format_datetime(at, ctx.lang())).unwrap_or_default()
}

fn shorten(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn state_label(ctx: &PageContext, state: &str) -> String {
    match state {
        status::QUEUED => ctx.t("Queued"),
        status::RUNNING => ctx.t("Running"),
        status::SUCCEEDED => ctx.t("Succeeded"),
        status::FAILED => ctx.t("Failed"),
        other => other,
    }
    .to_owned()
}

/// `GET /admin/jobs/`.
pub(crate) async fn dashboard(ctx: PageContext, RawQuery(query): RawQuery) -> Result<Response> {
    let staff = pages::require(&ctx, Some(VIEW)).await?;
    let core = ctx.core().clone();
    let db = &core.db;
    let now = core.now();
    let params = FormData::from_urlencoded(query.as_deref().unwrap_or_default().as_bytes());
    let status_filter = params.get("status").unwrap_or_default().to_owned();
    let status_filter = if status::ALL.contains(&status_filter.as_str()) { status_filter } else { String::new() };
    let name_filter = params.get("name").unwrap_or_default().to_owned();
    let name_filter = if name_filter.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        name_filter
    } else {
        String::new()
    };

    let counts = store::counts(db).await?;
    let totals = counts.totals();
    let mut names: Vec<String> = quartet_kernel::jobs::job_types(&core).names().map(ToOwned::to_owned).collect();
    names.extend(counts.by_name.keys().cloned());
    names.sort();
    names.dedup();
    let count_rows = names
        .iter()
        .map(|name| CountRow { name: name.clone(), counts: counts.by_name.get(name).copied().unwrap_or_default() })
        .collect();

    let timeout = chrono::Duration::seconds(i64::try_from(core.settings.jobs.heartbeat_timeout_seconds).unwrap_or(300));
    let workers = worker_row::Entity::find()
        .filter(worker_row::Column::HeartbeatAt.gt(now - chrono::Duration::days(1)))
        .order_by_desc(worker_row::Column::HeartbeatAt)
        .limit(20)
        .all(db)
        .await?
        .into_iter()
        .map(|w| WorkerLine {
            online: w.stopped_at.is_none() && w.heartbeat_at > now - timeout,
            started: when(&ctx, Some(w.started_at)),
            heartbeat: when(&ctx, Some(w.heartbeat_at)),
            id: w.id,
            queues: w.queues,
            concurrency: w.concurrency,
        })
        .collect();

    let broker = if core.settings.jobs.backend == JobBackendKind::Rabbitmq {
        Some(crate::amqp::queue_depths(&core).await.map_err(|e| format!("{e:#}")))
    } else {
        None
    };

    let mut select = job::Entity::find();
    if !status_filter.is_empty() {
        select = select.filter(job::Column::Status.eq(status_filter.as_str()));
    }
    if !name_filter.is_empty() {
        select = select.filter(job::Column::Name.eq(name_filter.as_str()));
    }
    let total = select.clone().count(db).await?;
    let page = Paginator::new(total, PER_PAGE).get_page(params.get("page")).with_query(query.as_deref());
    let rows = select.order_by_desc(job::Column::Id).offset(page.offset()).limit(page.limit()).all(db).await?;
    let jobs = rows
        .into_iter()
        .map(|row| JobLine {
            id: row.id,
            arguments: shorten(&row.payload, ARGUMENTS_SHOWN),
            arguments_full: row.payload,
            attempts: format!("{} / {}", row.attempts, row.max_attempts),
            created: when(&ctx, Some(row.created_at)),
            duration: row.duration_ms.map(|ms| format!("{ms} ms")).unwrap_or_default(),
            error: row.last_error,
            failed: row.status == status::FAILED,
            status: row.status,
            name: row.name,
            queue: row.queue,
        })
        .collect();

    let mut filters =
        vec![Filter { label: ctx.t("All").to_owned(), href: "?".into(), current: status_filter.is_empty() }];
    for state in status::ALL {
        filters.push(Filter {
            label: state_label(&ctx, state),
            href: format!("?status={state}"),
            current: status_filter == state,
        });
    }
    let back = match query.as_deref() {
        Some(q) if !q.is_empty() => format!("{}?{q}", core.url("jobs:dashboard")),
        _ => core.url("jobs:dashboard"),
    };
    let crumbs = pages::breadcrumbs(&ctx, None, &[(ctx.t("Background jobs").to_owned(), String::new())]);
    render(&JobsPage {
        crumbs,
        backend: match core.settings.jobs.backend {
            JobBackendKind::Database => "database",
            JobBackendKind::Rabbitmq => "RabbitMQ",
            JobBackendKind::Inline => "inline",
        },
        counts: count_rows,
        totals,
        states: status::ALL,
        workers,
        broker,
        filters,
        names: names
            .into_iter()
            .map(|n| {
                let selected = n == name_filter;
                (n, selected)
            })
            .collect(),
        status_filter,
        jobs,
        page,
        can_retry: staff.has_perm(RETRY),
        can_discard: staff.has_perm(DISCARD),
        back,
        ctx,
    })
}

/// Where to go after a button: the list the person came from.
fn back_to(ctx: &PageContext, data: &FormData) -> String {
    let list = ctx.core().url("jobs:dashboard");
    let next = data.get("next").unwrap_or_default();
    let safe = next.starts_with(&list)
        && !next.contains("//")
        && !next.contains('\\')
        && next.bytes().all(|b| (0x20..0x7f).contains(&b));
    if safe { next.to_owned() } else { list }
}

/// `POST /admin/jobs/<id>/retry/`: a failed job is queued again with fresh attempts.
pub(crate) async fn retry(ctx: PageContext, flash: Flash, Path(id): Path<String>, data: FormData) -> Result<Response> {
    pages::require(&ctx, Some(RETRY)).await?;
    let id = quartet_kernel::urls::path_id(&id)?;
    let core = ctx.core();
    let row = job::Entity::find_by_id(id).one(&core.db).await?.ok_or(Error::NotFound)?;
    if store::requeue_failed(&core.db, id, core.now()).await? {
        quartet_kernel::jobs::signal(core).wake();
        tracing::info!(target: "quartet::jobs", job_id = id, name = %row.name, "failed job queued again from the admin");
        flash.success(ctx.tr().f("Job {id} ({name}) was queued again.", &[("id", &id), ("name", &row.name)])).await?;
    } else {
        flash.warning(ctx.tr().f("Job {id} has not failed; nothing was changed.", &[("id", &id)])).await?;
    }
    Ok(Redirect::to(&back_to(&ctx, &data)).into_response())
}

/// `POST /admin/jobs/<id>/discard/`: a failed job is deleted.
pub(crate) async fn discard(
    ctx: PageContext,
    flash: Flash,
    Path(id): Path<String>,
    data: FormData,
) -> Result<Response> {
    pages::require(&ctx, Some(DISCARD)).await?;
    let id = quartet_kernel::urls::path_id(&id)?;
    let core = ctx.core();
    let row = job::Entity::find_by_id(id).one(&core.db).await?.ok_or(Error::NotFound)?;
    if store::discard_failed(&core.db, id).await? {
        tracing::info!(target: "quartet::jobs", job_id = id, name = %row.name, "failed job discarded from the admin");
        flash.success(ctx.tr().f("Job {id} ({name}) was discarded.", &[("id", &id), ("name", &row.name)])).await?;
    } else {
        flash.warning(ctx.tr().f("Job {id} has not failed; nothing was changed.", &[("id", &id)])).await?;
    }
    Ok(Redirect::to(&back_to(&ctx, &data)).into_response())
}
