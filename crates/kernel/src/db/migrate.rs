//! Per-app migrations written once for both engines, applied in order and recorded.
//!
//! Each installed app lists its migrations; apps are migrated in installed order (core first),
//! each migration in its own transaction together with its record in `core_migration`, so a
//! failed migration leaves nothing half-applied. On PostgreSQL an advisory lock keeps two
//! instances starting at once from applying the same migration twice.

use crate::db::Tx;
use std::fmt;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    ColumnDef, ForeignKey, ForeignKeyAction, ForeignKeyCreateStatement, Index, IndexCreateStatement, Query, Table,
    TableCreateStatement,
};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};

use super::{Db, id_column};

/// One schema change of an app.
#[async_trait::async_trait]
pub trait Migration: Send + Sync {
    /// A name unique within the app, ordered by a numeric prefix (`0001_initial`).
    fn name(&self) -> &'static str;

    /// Applies the change.
    async fn up(&self, schema: &Schema<'_>) -> Result<(), DbErr>;
}

/// The body of a function-style migration:
/// `fn up<'s>(s: &'s Schema<'s>) -> MigrationFuture<'s> { Box::pin(async move { … }) }`.
pub type MigrationFuture<'s> = futures_util::future::BoxFuture<'s, Result<(), DbErr>>;

/// A migration written as a function instead of a type (`migration("0002_search", search)`),
/// for the common case of a name and one body.
pub fn migration(name: &'static str, up: for<'s> fn(&'s Schema<'s>) -> MigrationFuture<'s>) -> Box<dyn Migration> {
    Box::new(FnMigration { name, up })
}

struct FnMigration {
    name: &'static str,
    up: for<'s> fn(&'s Schema<'s>) -> MigrationFuture<'s>,
}

#[async_trait::async_trait]
impl Migration for FnMigration {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn up(&self, schema: &Schema<'_>) -> Result<(), DbErr> {
        (self.up)(schema).await
    }
}

/// A foreign key from `table.column` to `target.id`, named `{table}_{column}_fk`, whose rows go
/// with their target (Django's `on_delete=CASCADE`); [`foreign_key_on_delete`] for another rule.
pub fn foreign_key(table: &str, column: &str, target: &str) -> ForeignKeyCreateStatement {
    foreign_key_on_delete(table, column, target, ForeignKeyAction::Cascade)
}

/// [`foreign_key`] with the rule `on_delete` (`SetNull` for an optional link).
pub fn foreign_key_on_delete(
    table: &str,
    column: &str,
    target: &str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    foreign_key_to(table, column, (target, "id"), on_delete)
}

/// [`foreign_key_on_delete`] to another column than the target's `id` (a unique code).
pub fn foreign_key_to(
    table: &str,
    column: &str,
    (target, target_column): (&str, &str),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("{table}_{column}_fk"))
        .from(table.to_owned(), column.to_owned())
        .to(target.to_owned(), target_column.to_owned())
        .on_delete(on_delete)
        .to_owned()
}

/// A `NOT NULL` date and time with its time zone (Django's `DateTimeField`; stored in UTC).
pub fn timestamp(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned()).timestamp_with_time_zone().not_null().to_owned()
}

/// A date and time that may be empty (`DateTimeField(null=True)`).
pub fn timestamp_null(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned()).timestamp_with_time_zone().null().to_owned()
}

/// The schema editor a migration works with: one transaction, and the engine it runs on.
pub struct Schema<'a> {
    tx: &'a Tx,
}

impl fmt::Debug for Schema<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema").field("backend", &self.backend()).finish()
    }
}

impl Schema<'_> {
    /// The engine.
    pub fn backend(&self) -> DbBackend {
        self.tx.get_database_backend()
    }

    /// Whether the engine is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.backend() == DbBackend::Postgres
    }

    /// The transaction, for data migrations.
    pub fn connection(&self) -> &Tx {
        self.tx
    }

    /// Creates a table.
    pub async fn create_table(&self, table: &mut TableCreateStatement) -> Result<(), DbErr> {
        self.tx.execute(&*table).await.map(|_| ())
    }

    /// Creates an index.
    pub async fn create_index(&self, index: &mut IndexCreateStatement) -> Result<(), DbErr> {
        self.tx.execute(&*index).await.map(|_| ())
    }

    /// Runs SQL that is the same on both engines.
    pub async fn sql(&self, sql: &str) -> Result<(), DbErr> {
        self.tx.execute_unprepared(sql).await.map(|_| ())
    }

    /// Runs SQL written for one engine, and the other SQL on the other.
    pub async fn sql_per_backend(&self, sqlite: &str, postgres: &str) -> Result<(), DbErr> {
        self.sql(if self.is_postgres() { postgres } else { sqlite }).await
    }
}

/// A migration's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The app label.
    pub app: String,
    /// The migration name.
    pub name: String,
    /// When it was applied, if it was.
    pub applied_at: Option<DateTime<Utc>>,
}

/// The migrations of every installed app, in order.
pub struct Migrator {
    apps: Vec<(&'static str, Vec<Box<dyn Migration>>)>,
}

impl fmt::Debug for Migrator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> =
            self.apps.iter().flat_map(|(app, ms)| ms.iter().map(move |m| format!("{app}.{}", m.name()))).collect();
        f.debug_struct("Migrator").field("migrations", &names).finish()
    }
}

const TABLE: &str = "core_migration";

impl Migrator {
    /// Collects migrations, app by app in installed order.
    pub fn new(apps: Vec<(&'static str, Vec<Box<dyn Migration>>)>) -> Self {
        Self { apps }
    }

    async fn ensure_table(db: &Db) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(TABLE)
            .if_not_exists()
            .col(id_column())
            .col(ColumnDef::new("app").string_len(100).not_null())
            .col(ColumnDef::new("name").string_len(200).not_null())
            .col(ColumnDef::new("applied_at").timestamp_with_time_zone().not_null());
        db.execute(&table).await?;
        let mut index = Index::create();
        index.if_not_exists().name("core_migration_app_name_uniq").table(TABLE).col("app").col("name").unique();
        db.execute(&index).await?;
        Ok(())
    }

    async fn applied(db: &impl ConnectionTrait) -> Result<Vec<(String, String, DateTime<Utc>)>, DbErr> {
        let mut query = Query::select();
        query.columns(["app", "name", "applied_at"]).from(TABLE).order_by("id", sea_orm::Order::Asc);
        db.query_all(&query)
            .await?
            .into_iter()
            .map(|row| Ok((row.try_get("", "app")?, row.try_get("", "name")?, row.try_get("", "applied_at")?)))
            .collect()
    }

    /// Every migration with its state.
    pub async fn status(&self, db: &Db) -> Result<Vec<MigrationStatus>, DbErr> {
        Self::ensure_table(db).await?;
        let applied = &Self::applied(db).await?;
        Ok(self
            .apps
            .iter()
            .flat_map(|(app, migrations)| {
                migrations.iter().map(move |m| MigrationStatus {
                    app: (*app).to_owned(),
                    name: m.name().to_owned(),
                    applied_at: applied.iter().find(|(a, n, _)| a == app && n == m.name()).map(|(_, _, at)| *at),
                })
            })
            .collect())
    }

    /// Applies every pending migration; calls `progress` before each. Returns what was applied.
    pub async fn migrate(
        &self,
        db: &Db,
        now: DateTime<Utc>,
        mut progress: impl FnMut(&str, &str),
    ) -> Result<Vec<String>, DbErr> {
        Self::ensure_table(db).await?;
        let mut done = Vec::new();
        for (app, migrations) in &self.apps {
            for migration in migrations {
                let tx = db.begin().await?;
                if tx.get_database_backend() == DbBackend::Postgres {
                    // Serialises concurrent migrators; released at commit.
                    tx.execute_unprepared("SELECT pg_advisory_xact_lock(7310526771)").await?;
                }
                let already = Self::applied(&tx).await?.iter().any(|(a, n, _)| a == app && n == migration.name());
                if already {
                    tx.rollback().await?;
                    continue;
                }
                progress(app, migration.name());
                migration
                    .up(&Schema { tx: &tx })
                    .await
                    .map_err(|e| DbErr::Migration(format!("{app}.{} failed: {e}", migration.name())))?;
                let mut insert = Query::insert();
                insert.into_table(TABLE).columns(["app", "name", "applied_at"]).values_panic([
                    (*app).into(),
                    migration.name().into(),
                    now.into(),
                ]);
                tx.execute(&insert).await?;
                tx.commit().await?;
                done.push(format!("{app}.{}", migration.name()));
            }
        }
        Ok(done)
    }

    /// Whether any migration is still to be applied.
    pub async fn has_pending(&self, db: &Db) -> Result<bool, DbErr> {
        Ok(self.status(db).await?.iter().any(|s| s.applied_at.is_none()))
    }
}
