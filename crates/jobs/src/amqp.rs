//! The RabbitMQ backend (AMQP 0-9-1 through `lapin`).
//!
//! Topology, for each queue `q` under the prefix `p` (`jobs.amqp_prefix`):
//!
//! - `p.q`: durable; its dead-letter exchange sends rejected messages to `p.q.dead`;
//! - `p.q.dead`: durable; jobs that failed their last attempt (or could not be read);
//! - `p.q.retry.<ms>`: durable, one per backoff delay, with a message TTL of that delay and
//!   `p.q` as dead-letter route, so a retry waits in the broker without any plugin; each
//!   expires when unused.
//!
//! Jobs are rows of `core_job` first (the outbox). The [`Relay`] publishes committed rows as
//! persistent messages with publisher confirms and marks them published; a crash between the
//! two publishes a row twice, which consumers tolerate. Consumers take at most `concurrency`
//! unacknowledged messages (`basic.qos`), acknowledge a message only after the job's outcome is
//! recorded, and skip messages of jobs that already succeeded. A worker that dies leaves its
//! messages unacknowledged and the broker redelivers them. The client reconnects by itself
//! (lapin's recovery is not relied on).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::store;
use crate::worker::{
    WorkerOptions, WorkerReport, announce, attempt, drain, log_outcome, maintenance, next_attempt, retire,
};
use quartet_kernel::app::CoreState;
use quartet_kernel::jobs::job;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RELAY_BATCH: u64 = 100;

/// What a message carries: the job's row id, its type and its arguments.
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    id: i64,
    name: String,
    payload: serde_json::Value,
}

/// The broker's queue names under a prefix.
fn main_queue(prefix: &str, queue: &str) -> String {
    format!("{prefix}.{queue}")
}

fn dead_queue(prefix: &str, queue: &str) -> String {
    format!("{prefix}.{queue}.dead")
}

fn retry_queue(prefix: &str, queue: &str, delay_ms: u64) -> String {
    format!("{prefix}.{queue}.retry.{delay_ms}")
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(value.into())
}

async fn connect(core: &CoreState) -> anyhow::Result<Connection> {
    let url = core.settings.jobs.amqp_url.expose();
    match tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(url, ConnectionProperties::default())).await {
        Ok(connection) => connection.context("cannot connect to RabbitMQ"),
        Err(_) => bail!("cannot connect to RabbitMQ: no answer within {} s", CONNECT_TIMEOUT.as_secs()),
    }
}

/// Declares `queue` and its dead-letter queue; returns both as the broker sees them.
async fn declare(channel: &Channel, prefix: &str, queue: &str) -> lapin::Result<(lapin::Queue, lapin::Queue)> {
    let dead_name = dead_queue(prefix, queue);
    let dead =
        channel.queue_declare(dead_name.as_str().into(), QueueDeclareOptions::durable(), FieldTable::default()).await?;
    let mut args = FieldTable::default();
    args.insert("x-dead-letter-exchange".into(), text(""));
    args.insert("x-dead-letter-routing-key".into(), text(&dead_name));
    let main =
        channel.queue_declare(main_queue(prefix, queue).as_str().into(), QueueDeclareOptions::durable(), args).await?;
    Ok((main, dead))
}

/// Declares the queue where retries of `queue` wait `delay_ms`; returns its name.
async fn declare_retry(channel: &Channel, prefix: &str, queue: &str, delay_ms: u64) -> lapin::Result<String> {
    let name = retry_queue(prefix, queue, delay_ms);
    let ttl = i32::try_from(delay_ms).unwrap_or(i32::MAX);
    let mut args = FieldTable::default();
    args.insert("x-message-ttl".into(), AMQPValue::LongInt(ttl));
    args.insert("x-dead-letter-exchange".into(), text(""));
    args.insert("x-dead-letter-routing-key".into(), text(&main_queue(prefix, queue)));
    args.insert("x-expires".into(), AMQPValue::LongInt(ttl.saturating_add(60_000)));
    channel.queue_declare(name.as_str().into(), QueueDeclareOptions::durable(), args).await?;
    Ok(name)
}

/// Publishes a persistent message and waits for the broker's confirmation.
async fn publish(channel: &Channel, routing_key: &str, message: &Message) -> anyhow::Result<()> {
    let body = serde_json::to_vec(message)?;
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_message_id(message.id.to_string().into());
    let options = BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() };
    let confirmation = channel.basic_publish("".into(), routing_key.into(), options, &body, properties).await?.await?;
    if !confirmation.is_ack() {
        bail!("RabbitMQ refused job {} (nack)", message.id);
    }
    if confirmation.take_message().is_some() {
        bail!("RabbitMQ has no queue {routing_key} for job {}", message.id);
    }
    Ok(())
}

/// Publishes committed jobs to the broker (the outbox relay). One runs in `serve` and in every
/// `quartet worker` when `jobs.backend` is `rabbitmq`.
#[derive(Debug)]
pub struct Relay {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Relay {
    /// Starts relaying.
    pub fn start(core: CoreState) -> Self {
        let (stop, stopped) = watch::channel(false);
        Self { stop, task: tokio::spawn(relay_loop(core, stopped)) }
    }

    /// Stops relaying (jobs not yet published are published by the next relay).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(10), self.task).await.is_err() {
            tracing::warn!(target: "quartet::jobs", "the relay did not stop in time");
        }
    }
}

async fn relay_loop(core: CoreState, mut stop: watch::Receiver<bool>) {
    let mut backoff = Duration::from_secs(1);
    while !*stop.borrow() {
        match relay_session(&core, &mut stop).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(target: "quartet::jobs", error = %format!("{e:#}"), retry_in_s = backoff.as_secs(), "RabbitMQ relay interrupted");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Publishes one batch of unpublished jobs read on `conn` and marks them; returns how many.
///
/// On PostgreSQL `conn` is a transaction and the rows are locked against other relays until it
/// commits. On SQLite it is the pool: a transaction that reads then writes could be refused
/// for a conflicting write, so the mark is a separate statement (a crash in between publishes
/// a job twice, which consumers tolerate).
async fn publish_batch(
    core: &CoreState,
    conn: &impl sea_orm::ConnectionTrait,
    channel: &Channel,
    declared: &mut HashSet<String>,
) -> anyhow::Result<usize> {
    let lock = if conn.get_database_backend() == sea_orm::DbBackend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "SELECT * FROM core_job WHERE published_at IS NULL AND status = 'queued' ORDER BY id LIMIT {RELAY_BATCH}{lock}"
    );
    let rows =
        job::Entity::find().from_raw_sql(quartet_kernel::db::statement(conn, &sql, Vec::new())).all(conn).await?;
    let prefix = &core.settings.jobs.amqp_prefix;
    let mut ids = Vec::with_capacity(rows.len());
    for row in &rows {
        if declared.insert(row.queue.clone()) {
            declare(channel, prefix, &row.queue).await?;
        }
        let payload = serde_json::from_str(&row.payload).unwrap_or(serde_json::Value::Null);
        let message = Message { id: row.id, name: row.name.clone(), payload };
        publish(channel, &main_queue(prefix, &row.queue), &message).await?;
        ids.push(row.id);
    }
    if !ids.is_empty() {
        job::Entity::update_many()
            .col_expr(job::Column::PublishedAt, Expr::value(core.now()))
            .filter(job::Column::Id.is_in(ids))
            .exec(conn)
            .await?;
        tracing::debug!(target: "quartet::jobs", count = rows.len(), "jobs published");
    }
    Ok(rows.len())
}

async fn relay_session(core: &CoreState, stop: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
    let connection = connect(core).await?;
    let channel = connection.create_channel().await?;
    channel.confirm_select(ConfirmSelectOptions::default()).await?;
    let mut declared = HashSet::new();
    tracing::info!(target: "quartet::jobs", "RabbitMQ relay connected");
    loop {
        let published = if core.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            let txn = core.db.begin().await?;
            let published = publish_batch(core, &txn, &channel, &mut declared).await?;
            txn.commit().await?;
            published
        } else {
            publish_batch(core, &core.db, &channel, &mut declared).await?
        };
        if u64::try_from(published).unwrap_or(0) == RELAY_BATCH {
            continue;
        }
        tokio::select! {
            _ = stop.changed() => {
                if *stop.borrow() {
                    let _ = connection.close(200, "relay stopping".into()).await;
                    return Ok(());
                }
            }
            () = quartet_kernel::jobs::signal(core).woken() => tokio::time::sleep(Duration::from_millis(20)).await,
            () = tokio::time::sleep(Duration::from_millis(core.settings.jobs.poll_interval_ms.min(500))) => {}
        }
    }
}

/// A worker's loop on RabbitMQ: consume, run, acknowledge; reconnect when the broker goes away.
pub(crate) async fn consume(
    core: CoreState,
    id: String,
    options: WorkerOptions,
    mut stop: watch::Receiver<Option<Duration>>,
) -> WorkerReport {
    announce(&core, &id, &options).await;
    let mut report = WorkerReport::default();
    let mut backoff = Duration::from_secs(1);
    loop {
        match consume_session(&core, &id, &options, &mut stop, &mut report).await {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(target: "quartet::jobs", error = %format!("{e:#}"), retry_in_s = backoff.as_secs(), "RabbitMQ worker interrupted");
                if stop.borrow().is_some() {
                    break;
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => {}
                }
                if stop.borrow().is_some() {
                    break;
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
    retire(&core, &id, report).await;
    report
}

async fn consume_session(
    core: &CoreState,
    id: &str,
    options: &WorkerOptions,
    stop: &mut watch::Receiver<Option<Duration>>,
    report: &mut WorkerReport,
) -> anyhow::Result<()> {
    let prefix = core.settings.jobs.amqp_prefix.clone();
    let connection = connect(core).await?;
    let channel = connection.create_channel().await?;
    let prefetch = u16::try_from(options.concurrency).unwrap_or(u16::MAX);
    channel.basic_qos(prefetch, BasicQosOptions { global: true }).await?;
    let publisher = connection.create_channel().await?;
    publisher.confirm_select(ConfirmSelectOptions::default()).await?;
    let mut consumers = Vec::new();
    for queue in &options.queues {
        declare(&channel, &prefix, queue).await?;
        let tag = format!("{id}.{queue}");
        consumers.push(
            channel
                .basic_consume(
                    main_queue(&prefix, queue).as_str().into(),
                    tag.as_str().into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?,
        );
    }
    tracing::info!(target: "quartet::jobs", worker = %id, queues = %options.queues.join(","), prefetch, "worker consuming from RabbitMQ");
    let mut deliveries = futures_util::stream::select_all(consumers);
    let slots = Arc::new(Semaphore::new(options.concurrency));
    let mut running: JoinSet<bool> = JoinSet::new();
    let mut heartbeat = tokio::time::interval(Duration::from_secs(core.settings.jobs.heartbeat_seconds));
    let session: anyhow::Result<Duration> = loop {
        if let Some(grace) = *stop.borrow() {
            break Ok(grace);
        }
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit?,
            Some(_) = running.join_next() => { report.finished += 1; continue }
            _ = heartbeat.tick() => { maintenance(core, id, false).await; continue }
            _ = stop.changed() => continue,
        };
        tokio::select! {
            delivery = deliveries.next() => match delivery {
                Some(Ok(delivery)) => {
                    let (core, publisher, id) = (core.clone(), publisher.clone(), id.to_owned());
                    running.spawn(async move {
                        let ok = handle(&core, &publisher, &id, delivery).await;
                        drop(permit);
                        ok
                    });
                }
                Some(Err(e)) => break Err(e.into()),
                None => break Err(anyhow::anyhow!("the broker cancelled the consumer")),
            },
            Some(_) = running.join_next() => report.finished += 1,
            _ = heartbeat.tick() => maintenance(core, id, false).await,
            _ = stop.changed() => {}
        }
    };
    // Stop receiving; messages received but not started go back when the channel closes.
    drop(deliveries);
    let grace = match &session {
        Ok(grace) => *grace,
        Err(_) => Duration::from_secs(core.settings.jobs.shutdown_grace_seconds),
    };
    report.finished += drain(&mut running, grace).await;
    report.released += store::release(&core.db, id, core.now()).await.unwrap_or(0);
    let _ = channel.close(200, "worker stopping".into()).await;
    let _ = connection.close(200, "worker stopping".into()).await;
    session.map(|_| ())
}

/// Handles one delivery; returns whether the job succeeded.
async fn handle(core: &CoreState, publisher: &Channel, worker: &str, delivery: lapin::message::Delivery) -> bool {
    let requeue = BasicNackOptions { requeue: true, ..BasicNackOptions::default() };
    let dead_letter = BasicNackOptions { requeue: false, ..BasicNackOptions::default() };
    let message: Message = match serde_json::from_slice(&delivery.data) {
        Ok(message) => message,
        Err(e) => {
            tracing::error!(target: "quartet::jobs", error = %e, "unreadable message dead-lettered");
            let _ = delivery.nack(dead_letter).await;
            return false;
        }
    };
    let row = match store::start_delivered(&core.db, message.id, worker, delivery.redelivered, core.now()).await {
        Ok(Some(row)) => row,
        Ok(None) => {
            tracing::info!(target: "quartet::jobs", job_id = message.id, "duplicate message, or one of a finished or discarded job: dropped");
            let _ = delivery.ack(BasicAckOptions::default()).await;
            return true;
        }
        Err(e) => {
            tracing::warn!(target: "quartet::jobs", job_id = message.id, error = %e, "database unavailable; message requeued");
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = delivery.nack(requeue).await;
            return false;
        }
    };
    if delivery.redelivered {
        tracing::info!(target: "quartet::jobs", job_id = row.id, attempt = row.attempts, "redelivered message");
    }
    let (outcome, millis) = attempt(core, &row).await;
    let now = core.now();
    match &outcome {
        Ok(()) => {
            log_outcome(&row, &outcome, millis, false);
            if let Err(e) = store::succeed(&core.db, row.id, worker, now, millis).await {
                tracing::error!(target: "quartet::jobs", job_id = row.id, error = %e, "could not record success");
            }
            let _ = delivery.ack(BasicAckOptions::default()).await;
        }
        Err(error) => {
            let retry_at = next_attempt(core, &row);
            log_outcome(&row, &outcome, millis, retry_at.is_some());
            let Some(retry_at) = retry_at else {
                let _ = store::fail(&core.db, row.id, worker, error, None, now, millis).await;
                let _ = delivery.nack(dead_letter).await;
                return false;
            };
            let delay_ms = u64::try_from((retry_at - now).num_milliseconds()).unwrap_or(0).max(1);
            let prefix = &core.settings.jobs.amqp_prefix;
            let retried = async {
                let queue = declare_retry(publisher, prefix, &row.queue, delay_ms).await?;
                publish(publisher, &queue, &message).await
            }
            .await;
            let _ = store::fail(&core.db, row.id, worker, error, Some(retry_at), now, millis).await;
            match retried {
                Ok(()) => {
                    let _ = delivery.ack(BasicAckOptions::default()).await;
                }
                Err(e) => {
                    tracing::warn!(target: "quartet::jobs", job_id = row.id, error = %format!("{e:#}"), "could not schedule the retry; message requeued");
                    let _ = delivery.nack(requeue).await;
                }
            }
        }
    }
    outcome.is_ok()
}

/// A queue as the broker counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDepth {
    /// The broker's queue name (`quartet.mail`).
    pub name: String,
    /// Messages ready for delivery.
    pub messages: u32,
    /// Consumers attached.
    pub consumers: u32,
}

/// The depth of every job queue and its dead-letter queue (for the monitoring page).
pub async fn queue_depths(core: &CoreState) -> anyhow::Result<Vec<QueueDepth>> {
    let connection = connect(core).await?;
    let channel = connection.create_channel().await?;
    let prefix = &core.settings.jobs.amqp_prefix;
    let mut depths = Vec::new();
    for queue in core.job_queues() {
        let (main, dead) = declare(&channel, prefix, &queue).await?;
        for q in [main, dead] {
            depths.push(QueueDepth {
                name: q.name().to_string(),
                messages: q.message_count(),
                consumers: q.consumer_count(),
            });
        }
    }
    let _ = connection.close(200, "done".into()).await;
    Ok(depths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_follow_the_prefix() {
        assert_eq!(main_queue("quartet", "mail"), "quartet.mail");
        assert_eq!(dead_queue("quartet", "mail"), "quartet.mail.dead");
        assert_eq!(retry_queue("quartet", "mail", 10_000), "quartet.mail.retry.10000");
    }
}
