//! Events: an app says what happened, inside the transaction that made it happen; handlers of
//! any app react once it is committed (Django's signals, with `transaction.on_commit`).
//!
//! ```ignore
//! #[derive(Serialize, Deserialize)]
//! pub struct CommentPosted { pub post_id: i64 }
//! impl Event for CommentPosted { const NAME: &'static str = "blog.comment_posted"; }
//!
//! // in App::register
//! app.add(Handler::after_commit::<CommentPosted>("blog.count_comments", |core, e| Box::pin(count(core, e.post_id))));
//!
//! // in a view
//! let tx = core.db.begin().await?;
//! let comment = row.insert(&tx).await?;
//! core.emit(&tx, &CommentPosted { post_id })?;
//! tx.commit().await?; // the handler runs here, after the commit
//! ```
//!
//! A handler runs **after commit** in the task that committed (its writes are done when the
//! request's response is made; an error is logged, the commit stands) or **as a job**, queued in
//! the same transaction, so it is never lost and runs at least once with the job's retries. A
//! rolled-back transaction runs nothing.
//!
//! Rows written through the models' row API (the admin, `loaddata`) raise [`ModelChanged`] for
//! the handlers that asked for that model ([`Handler::on_model`]): Django's `post_save` and
//! `post_delete`, so a denormalised value stays right whoever changes its source.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::app::{CoreState, Registry};
use crate::db::{RowChange, Tx};
use crate::error::{Error, Result};
use crate::jobs::{Job, JobContext};

/// Something that happened, named once on the site (`app.noun_verb`).
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The event's name (`blog.comment_posted`).
    const NAME: &'static str;
}

/// A row of a model written through the row API (the admin, `loaddata`), raised after commit
/// for the handlers that asked for the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelChanged {
    /// The model's label (`blog.comment`).
    pub model: String,
    /// The row before the write (`None` when it was added).
    pub before: Option<Map<String, Value>>,
    /// The row after the write (`None` when it was deleted).
    pub after: Option<Map<String, Value>>,
}

impl ModelChanged {
    /// The value of `column` before and after, for the handler to pick from (`post_id`).
    pub fn values(&self, column: &str) -> Vec<&Value> {
        let mut out: Vec<&Value> =
            [&self.before, &self.after].into_iter().flatten().filter_map(|r| r.get(column)).collect();
        out.dedup();
        out
    }
}

impl Event for ModelChanged {
    const NAME: &'static str = "core.model_changed";
}

/// When a handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Right after the commit, in the task that committed.
    AfterCommit,
    /// As a background job queued in the transaction.
    Job,
}

type Run = Arc<dyn Fn(CoreState, Value) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// A reaction to an event (an app's contribution in [`crate::App::register`]).
#[derive(Clone)]
pub struct Handler {
    /// The event's name.
    pub event: &'static str,
    /// The handler's name, unique on the site (`blog.count_comments`).
    pub name: &'static str,
    /// When it runs.
    pub delivery: Delivery,
    /// For [`ModelChanged`]: the model it is for.
    pub model: Option<&'static str>,
    run: Run,
}

impl fmt::Debug for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handler").field("event", &self.event).field("name", &self.name).finish_non_exhaustive()
    }
}

impl Handler {
    fn of<E: Event>(
        name: &'static str,
        delivery: Delivery,
        handle: fn(CoreState, E) -> BoxFuture<'static, anyhow::Result<()>>,
    ) -> Self {
        let run: Run = Arc::new(move |core, value| match serde_json::from_value::<E>(value) {
            Ok(event) => handle(core, event),
            Err(e) => Box::pin(std::future::ready(Err(anyhow::anyhow!("the event does not fit {}: {e}", E::NAME)))),
        });
        Self { event: E::NAME, name, delivery, model: None, run }
    }

    /// `handle` runs right after the transaction that emitted `E` commits.
    pub fn after_commit<E: Event>(
        name: &'static str,
        handle: fn(CoreState, E) -> BoxFuture<'static, anyhow::Result<()>>,
    ) -> Self {
        Self::of(name, Delivery::AfterCommit, handle)
    }

    /// `handle` runs as a background job queued in the transaction that emitted `E`.
    pub fn as_job<E: Event>(
        name: &'static str,
        handle: fn(CoreState, E) -> BoxFuture<'static, anyhow::Result<()>>,
    ) -> Self {
        Self::of(name, Delivery::Job, handle)
    }

    /// `handle` runs after commit when rows of `model` (`blog.comment`) were written through the
    /// row API.
    pub fn on_model(
        model: &'static str,
        name: &'static str,
        handle: fn(CoreState, ModelChanged) -> BoxFuture<'static, anyhow::Result<()>>,
    ) -> Self {
        Self { model: Some(model), ..Self::of(name, Delivery::AfterCommit, handle) }
    }
}

/// Every installed handler, by event (a service the `core` app builds from the contributions).
#[derive(Debug, Default)]
pub struct Handlers {
    by_event: HashMap<&'static str, Vec<Handler>>,
}

impl Handlers {
    /// Collects the handlers apps contributed; two with one name are refused.
    pub fn collect(registry: &mut Registry) -> anyhow::Result<Self> {
        let mut by_event: HashMap<&'static str, Vec<Handler>> = HashMap::new();
        let mut names = std::collections::HashSet::new();
        for contribution in registry.take_contributions::<Handler>() {
            let handler = contribution.item;
            if !names.insert(handler.name) {
                anyhow::bail!("two event handlers are named `{}`", handler.name);
            }
            if let Some(model) = handler.model
                && registry.model(model).is_none()
            {
                anyhow::bail!(
                    "the event handler `{}` of `{}` names no installed model `{model}`",
                    handler.name,
                    contribution.app
                );
            }
            by_event.entry(handler.event).or_default().push(handler);
        }
        Ok(Self { by_event })
    }

    /// The handlers of the event named `event`.
    pub fn of(&self, event: &str) -> &[Handler] {
        self.by_event.get(event).map_or(&[], Vec::as_slice)
    }

    /// The handler named `name`.
    pub fn named(&self, name: &str) -> Option<&Handler> {
        self.by_event.values().flatten().find(|h| h.name == name)
    }

    /// Whether a handler asked for the rows of `model`.
    pub fn wants_model(&self, model: &str) -> bool {
        self.of(ModelChanged::NAME).iter().any(|h| h.model == Some(model))
    }
}

/// The installed handlers (provided by the `core` app).
pub fn handlers(core: &CoreState) -> &Handlers {
    core.service::<Handlers>().expect("the core app provides the event handlers")
}

/// Runs one handler, logging (never returning) its error: the commit it follows stands.
async fn run_logged(core: CoreState, handler: Handler, payload: Value) {
    if let Err(e) = (handler.run)(core, payload).await {
        tracing::error!(target: "quartet::events", handler = handler.name, event = handler.event, error = %format!("{e:#}"), "an event handler failed");
    }
}

impl CoreState {
    /// Emits `event` in `tx`: each handler runs after `tx` commits, or is queued as a job in it.
    pub async fn emit<E: Event>(&self, tx: &Tx, event: &E) -> Result<()> {
        let found = handlers(self).of(E::NAME);
        if found.is_empty() {
            return Ok(());
        }
        let payload = serde_json::to_value(event).map_err(|e| Error::internal(anyhow::anyhow!("{}: {e}", E::NAME)))?;
        for handler in found {
            match handler.delivery {
                Delivery::AfterCommit => {
                    let (core, handler, payload) = (self.clone(), handler.clone(), payload.clone());
                    tx.on_commit(move || Box::pin(run_logged(core, handler, payload)));
                }
                Delivery::Job => {
                    let job = EventJob { handler: handler.name.to_owned(), payload: payload.clone() };
                    self.enqueue(tx, &job).await?;
                }
            }
        }
        Ok(())
    }

    /// Runs the handlers of the model changes of a committed transaction (the site's change
    /// sink calls it).
    pub async fn models_changed(&self, rows: Vec<RowChange>) {
        let handlers = handlers(self).of(ModelChanged::NAME);
        for row in rows {
            let Some(model) = self.registry.models.iter().find(|m| m.table() == row.table) else { continue };
            let label = model.label();
            let event = ModelChanged { model: label.clone(), before: row.before, after: row.after };
            for handler in handlers.iter().filter(|h| h.model == Some(label.as_str())) {
                match serde_json::to_value(&event) {
                    Ok(payload) => run_logged(self.clone(), handler.clone(), payload).await,
                    Err(e) => {
                        tracing::error!(target: "quartet::events", error = %e, "a model change cannot be handed over")
                    }
                }
            }
        }
    }
}

/// The job that runs a handler delivered as a job.
#[derive(Debug, Serialize, Deserialize)]
pub struct EventJob {
    /// The handler's name.
    pub handler: String,
    /// The event.
    pub payload: Value,
}

#[async_trait::async_trait]
impl Job for EventJob {
    const NAME: &'static str = "core.event";
    const QUEUE: &'static str = "events";

    async fn run(self, ctx: JobContext) -> anyhow::Result<()> {
        let core = ctx.core().clone();
        let handler = handlers(&core)
            .named(&self.handler)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no installed handler is named `{}`", self.handler))?;
        (handler.run)(core, self.payload).await
    }
}
