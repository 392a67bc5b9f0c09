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
