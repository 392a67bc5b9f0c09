//! Where sessions are kept: the `core_session` table by default.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value};

use crate::db::{Db, is_unique_violation};
use crate::error::Error;

/// A loaded session.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// The session's data.
    pub data: Map<String, Value>,
    /// When it expires.
    pub expires: DateTime<Utc>,
}

/// Storage of sessions.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug {
    /// The session stored under `key`, unless missing or expired at `now`.
    async fn load(&self, key: &str, now: DateTime<Utc>) -> Result<Option<SessionRecord>, Error>;
    /// Replaces the data of the existing session `key`; `false` if there is no such session any
    /// more (it ended while the request ran: it must not be created again).
    async fn save(&self, key: &str, data: &Map<String, Value>, expires: DateTime<Utc>) -> Result<bool, Error>;
    /// Stores `data` under a new, unused random key and returns the key.
    async fn create(&self, data: &Map<String, Value>, expires: DateTime<Utc>) -> Result<String, Error>;
    /// Removes a session; `false` if it was already gone.
    async fn delete(&self, key: &str) -> Result<bool, Error>;
    /// Removes sessions expired at `now`; returns how many.
    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, Error>;

    /// Checks a store of its own (Redis) answers (`/readyz`); the database's is checked apart.
    async fn ping(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// The `core_session` table.
pub mod entity {
    use sea_orm::entity::prelude::*;

    /// A stored session.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "core_session")]
    pub struct Model {
        /// The random key in the cookie.
        #[sea_orm(primary_key, auto_increment = false)]
        pub session_key: String,
        /// The data as a JSON object.
        #[sea_orm(column_type = "Text")]
        pub session_data: String,
        /// When the session stops being valid.
        pub expire_date: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Sessions in the database.
#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    /// A store over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    fn active(key: &str, data: &Map<String, Value>, expires: DateTime<Utc>) -> entity::ActiveModel {
        entity::ActiveModel {
            session_key: Set(key.to_owned()),
            session_data: Set(Value::Object(data.clone()).to_string()),
            expire_date: Set(expires),
        }
    }
}

#[async_trait::async_trait]
impl SessionStore for DbSessionStore {
    async fn load(&self, key: &str, now: DateTime<Utc>) -> Result<Option<SessionRecord>, Error> {
        let row =
            entity::Entity::find_by_id(key.to_owned()).filter(entity::Column::ExpireDate.gt(now)).one(&self.db).await?;
        Ok(row.map(|row| SessionRecord {
            // A row that is not a JSON object (tampered with) is an empty session.
            data: serde_json::from_str(&row.session_data).unwrap_or_default(),
            expires: row.expire_date,
        }))
    }

    async fn save(&self, key: &str, data: &Map<String, Value>, expires: DateTime<Utc>) -> Result<bool, Error> {
        // An update only: an upsert would bring back a session that a concurrent sign-out deleted.
        let result = entity::Entity::update_many()
            .col_expr(entity::Column::SessionData, Expr::value(Value::Object(data.clone()).to_string()))
            .col_expr(entity::Column::ExpireDate, Expr::value(expires))
            .filter(entity::Column::SessionKey.eq(key))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected > 0)
    }

    async fn create(&self, data: &Map<String, Value>, expires: DateTime<Utc>) -> Result<String, Error> {
        loop {
            let key = super::new_key();
            match entity::Entity::insert(Self::active(&key, data, expires)).exec(&self.db).await {
                Ok(_) => return Ok(key),
                // 165 bits make a collision practically impossible; retry anyway, as Django does.
                Err(e) if is_unique_violation(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        Ok(entity::Entity::delete_by_id(key.to_owned()).exec(&self.db).await?.rows_affected > 0)
    }

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, Error> {
        let result =
            entity::Entity::delete_many().filter(Expr::col(entity::Column::ExpireDate).lte(now)).exec(&self.db).await?;
        Ok(result.rows_affected)
    }
}

/// A stored session in Redis or the cache: the data and when it ends.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    data: Map<String, Value>,
    expires: DateTime<Utc>,
}

impl Stored {
    fn encode(data: &Map<String, Value>, expires: DateTime<Utc>) -> Vec<u8> {
        serde_json::to_vec(&Stored { data: data.clone(), expires }).unwrap_or_default()
    }

    fn decode(bytes: &[u8], now: DateTime<Utc>) -> Option<SessionRecord> {
        // Anything that is not a stored session (tampered with, another program's key) is none.
        let stored: Stored = serde_json::from_slice(bytes).ok()?;
        (stored.expires > now).then_some(SessionRecord { data: stored.data, expires: stored.expires })
    }
}

fn ttl_millis(expires: DateTime<Utc>) -> u64 {
    Ord::max(u64::try_from((expires - Utc::now()).num_milliseconds()).unwrap_or(0), 1)
}

/// Sessions in Redis (`session.backend = "redis"`): one key per session under
/// `session.key_prefix`, expiring with the session, so nothing is left to clear. While Redis
/// does not answer, a session cannot be read (the visitor is seen as signed out; pages still
/// answer) and a change cannot be saved (503 with a message).
pub struct RedisSessionStore {
    connection: redis::aio::ConnectionManager,
    prefix: String,
    timeout: std::time::Duration,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RedisSessionStore {
    /// Sessions at `url` under `prefix` (connected on first use).
    pub fn new(url: &str, prefix: &str, timeout: std::time::Duration) -> anyhow::Result<Self> {
        let connection = crate::redis_client::connection(url, timeout)
            .map_err(|e| anyhow::anyhow!("redis.url (session.backend = \"redis\"): {e}"))?;
        Ok(Self { connection, prefix: prefix.to_owned(), timeout })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, Error> {
        crate::redis_client::run(&self.connection, self.timeout, command).await.map_err(|e| {
            tracing::warn!(target: "quartet::session", error = %e, "the session store did not answer");
            Error::Unavailable("sessions (redis)".into())
        })
    }
}

#[async_trait::async_trait]
impl SessionStore for RedisSessionStore {
    async fn load(&self, key: &str, now: DateTime<Utc>) -> Result<Option<SessionRecord>, Error> {
        // Unreadable: the visitor is anonymous for this request, the page still answers.
        let Ok(found) = self.run::<Option<Vec<u8>>>(redis::cmd("GET").arg(self.key(key))).await else {
            return Ok(None);
        };
        Ok(found.and_then(|bytes| Stored::decode(&bytes, now)))
    }

    async fn save(&self, key: &str, data: &Map<String, Value>, expires: DateTime<Utc>) -> Result<bool, Error> {
        // XX: only a session that still exists (never one a sign-out deleted meanwhile).
        let command = redis::cmd("SET")
            .arg(self.key(key))
            .arg(Stored::encode(data, expires))
            .arg("XX")
            .arg("PX")
            .arg(ttl_millis(expires))
            .clone();
        Ok(self.run::<Option<String>>(&command).await?.is_some())
    }

    async fn create(&self, data: &Map<String, Value>, expires: DateTime<Utc>) -> Result<String, Error> {
        loop {
            let key = super::new_key();
            let command = redis::cmd("SET")
                .arg(self.key(&key))
                .arg(Stored::encode(data, expires))
                .arg("NX")
                .arg("PX")
                .arg(ttl_millis(expires))
                .clone();
            if self.run::<Option<String>>(&command).await?.is_some() {
                return Ok(key);
            }
        }
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        Ok(self.run::<u64>(redis::cmd("DEL").arg(self.key(key))).await? > 0)
    }

    async fn clear_expired(&self, _now: DateTime<Utc>) -> Result<u64, Error> {
        // Redis removes each session when it expires.
        Ok(0)
    }

    async fn ping(&self) -> Result<(), Error> {
        self.run::<String>(&redis::cmd("PING")).await.map(|_| ())
    }
}

/// Sessions in the database, read through the cache (`session.backend = "cached_db"`, Django's
/// `cached_db`): a read is answered from the cache's store when it can, every write goes to the
/// database first and then to the store, so a session outlives a cache that is cleared or down.
/// The in-process tier is never used: a sign-out on one instance must end the session on all.
/// With the `memory` cache backend each instance has its own copies, so use Redis or Memcached
/// when several instances share the database (`quartet check --deploy` says so).
#[derive(Debug)]
pub struct CachedDbSessionStore {
    db: DbSessionStore,
    cache: std::sync::Arc<crate::cache::Cache>,
}

impl CachedDbSessionStore {
    /// Sessions in `db`, read through `cache`.
    pub fn new(db: Db, cache: std::sync::Arc<crate::cache::Cache>) -> Self {
        Self { db: DbSessionStore::new(db), cache }
    }

    fn key(&self, key: &str) -> String {
        format!("{}session:{key}", self.cache.prefix())
    }

    async fn remember(&self, key: &str, data: &Map<String, Value>, expires: DateTime<Utc>) {
        let ttl = std::time::Duration::from_millis(ttl_millis(expires)).min(self.cache.timeout());
        self.cache.set_shared(&self.key(key), Stored::encode(data, expires).into(), ttl).await;
    }
}

#[async_trait::async_trait]
impl SessionStore for CachedDbSessionStore {
    async fn load(&self, key: &str, now: DateTime<Utc>) -> Result<Option<SessionRecord>, Error> {
        if let Some(bytes) = self.cache.get_shared(&self.key(key)).await {
            // A cached copy that says "ended" is not trusted: the database decides.
            if let Some(record) = Stored::decode(&bytes, now) {
                return Ok(Some(record));
            }
        }
        let record = self.db.load(key, now).await?;
        if let Some(record) = &record {
            self.remember(key, &record.data, record.expires).await;
        }
        Ok(record)
    }

    async fn save(&self, key: &str, data: &Map<String, Value>, expires: DateTime<Utc>) -> Result<bool, Error> {
        let saved = self.db.save(key, data, expires).await?;
        if saved {
            self.remember(key, data, expires).await;
        }
        Ok(saved)
    }

    async fn create(&self, data: &Map<String, Value>, expires: DateTime<Utc>) -> Result<String, Error> {
        let key = self.db.create(data, expires).await?;
        self.remember(&key, data, expires).await;
        Ok(key)
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        self.cache.delete_shared(&self.key(key)).await;
        self.db.delete(key).await
    }

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, Error> {
        self.db.clear_expired(now).await
    }
}
