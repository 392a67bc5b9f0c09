//! Database connections for SQLite and PostgreSQL, chosen by the URL at start-up.

mod conn;
mod migrate;

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

pub use conn::{ChangeSink, Db, RowChange, Tx, Write, written, written_table};

pub use migrate::{
    Migration, MigrationFuture, MigrationStatus, Migrator, Schema, foreign_key, foreign_key_on_delete, foreign_key_to,
    migration, timestamp, timestamp_null,
};

/// The `id` column every table starts with: a 64-bit auto-incremented primary key
/// (Django's `BigAutoField`).
pub fn id_column() -> sea_orm::sea_query::ColumnDef {
    sea_orm::sea_query::ColumnDef::new("id").big_integer().not_null().auto_increment().primary_key().to_owned()
}

use crate::config::Settings;

tokio::task_local! {
    static STATEMENTS: std::sync::Arc<std::sync::Mutex<StatementLog>>;
}

/// The statements one request ran (the development toolbar's SQL panel).
#[derive(Debug, Default)]
pub struct StatementLog {
    /// Statement with its values, statement without them, time.
    pub entries: Vec<(String, String, Duration)>,
    /// Statements run (also those past `max`).
    pub count: usize,
    /// Their total time.
    pub total: Duration,
    max: usize,
}

impl StatementLog {
    /// Runs `future`, keeping the first `max` statements it runs (on any pool of this process)
    /// and counting the rest.
    pub async fn collect<T>(max: usize, future: impl std::future::Future<Output = T>) -> (T, StatementLog) {
        let log = std::sync::Arc::new(std::sync::Mutex::new(StatementLog { max, ..StatementLog::default() }));
        let out = STATEMENTS.scope(log.clone(), future).await;
        let log = std::mem::take(&mut *log.lock().expect("statement log"));
        (out, log)
    }

    /// Records a statement into the current task's log, if one is collecting.
    fn record(info: &sea_orm::metric::Info<'_>) {
        let _ = STATEMENTS.try_with(|log| {
            let mut log = log.lock().expect("statement log");
            log.count += 1;
            log.total += info.elapsed;
            if log.entries.len() < log.max {
                log.entries.push((info.statement.to_string(), info.statement.sql.clone(), info.elapsed));
            }
        });
    }
}

/// How many statements a pool has run; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct QueryCount(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl QueryCount {
    /// Counts every statement `db` runs from now on (in transactions too).
    pub fn attach(db: &mut DatabaseConnection) -> QueryCount {
        let count = QueryCount::default();
        let counter = count.0.clone();
        db.set_metric_callback(move |info| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            StatementLog::record(info);
        });
        count
    }

    /// Statements run so far.
    pub fn total(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Opens the pool configured by `settings`, creating the SQLite file and its folder if needed,
/// and counts the statements it runs.
pub async fn connect(settings: &Settings) -> anyhow::Result<(Db, QueryCount)> {
    let mut conn = open(settings).await?;
    let queries = QueryCount::attach(&mut conn);
    Ok((Db::new(conn), queries))
}

/// A pooled connection idle for at least this long is pinged before it is handed out.
const IDLE_PING_SECONDS: u64 = 30;

async fn open(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url();
    let mut options = ConnectOptions::new(url.clone());
    options
        .max_connections(settings.database.max_connections)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(settings.database.acquire_timeout_seconds))
        .connect_timeout(Duration::from_secs(settings.database.acquire_timeout_seconds))
        .idle_timeout(Duration::from_secs(600))
        .max_lifetime(Duration::from_secs(1800))
        // A connection taken from the pool is pinged only when it has sat idle for a while
        // (the one a server, proxy or firewall may have dropped); pinging on every checkout,
        // sqlx's default, doubled the round trips of every statement.
        .test_before_acquire_if_idle_for(Duration::from_secs(IDLE_PING_SECONDS))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        if let Some(dir) = sqlite_path(&url).and_then(|p| p.parent().map(ToOwned::to_owned))
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(&dir)
                .map_err(|e| anyhow::anyhow!("cannot create the database folder {}: {e}", dir.display()))?;
        }
        options.map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    } else if !settings.database.schema.is_empty() {
        options.set_schema_search_path(format!("{},public", settings.database.schema));
    }
    Database::connect(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the database ({}): {e}", redact_url(&url)))
}

/// The file path of a `sqlite:` URL.
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Whether the error means the database is (temporarily) unreachable or busy, rather than a bug.
pub fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(e) | DbErr::Query(e) => {
            let text = e.to_string();
            text.contains("database is locked")
                || text.contains("database table is locked")
                || is_disk_full_message(&text)
                || text.contains("connection refused")
                || text.contains("terminating connection")
                || text.contains("closed connection")
        }
        _ => false,
    }
}

/// Whether a database error says the disk (or the database's size limit) is full: SQLite's
/// `SQLITE_FULL`, PostgreSQL's `disk_full` (53100).
fn is_disk_full_message(text: &str) -> bool {
    text.contains("database or disk is full")
        || text.contains("No space left on device")
        || text.contains("could not extend file")
        || text.contains("53100")
}

/// Whether the error is a unique-constraint violation.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

/// A statement written with `?` placeholders, numbered `$1, $2…` on PostgreSQL.
pub fn statement(db: &impl ConnectionTrait, sql: &str, values: Vec<sea_orm::Value>) -> sea_orm::Statement {
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    } else {
        sql.to_owned()
    };
    sea_orm::Statement::from_sql_and_values(backend, sql, values)
}

/// Refreshes the query planner's statistics after a bulk load (`seed`, `loaddata`), so the
/// first requests after it are planned from the data actually there. PostgreSQL's autovacuum
/// would get there within minutes; until then it plans from empty tables, and its visibility
/// map is unset, so every count visits the table. On PostgreSQL this vacuums and analyzes the
/// site's schema's tables (only those: the system catalogs need a superuser); on SQLite it runs
/// `ANALYZE`.
pub async fn refresh_statistics(db: &Db) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let sql =
                "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1";
            let rows = db.inner().query_all_raw(sea_orm::Statement::from_string(DbBackend::Postgres, sql)).await?;
            let tables = rows.iter().map(|row| row.try_get::<String>("", "name")).collect::<Result<Vec<_>, _>>()?;
            if !tables.is_empty() {
                db.inner().execute_unprepared(&format!("VACUUM (ANALYZE) {}", tables.join(", "))).await?;
            }
        }
        DbBackend::Sqlite => {
            db.inner().execute_unprepared("ANALYZE").await?;
        }
        _ => {}
    }
    Ok(())
}

/// Checks the database answers (for `/readyz`).
pub async fn ping(db: &Db) -> Result<(), DbErr> {
    db.inner().execute_unprepared("SELECT 1").await.map(|_| ())
}

/// The engine behind a connection.
pub fn backend(db: &impl ConnectionTrait) -> DbBackend {
    db.get_database_backend()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_read_from_urls() {
        assert_eq!(sqlite_path("sqlite://./data/q.sqlite3?mode=rwc").unwrap().to_str(), Some("./data/q.sqlite3"));
        assert_eq!(sqlite_path("sqlite:/tmp/x.db").unwrap().to_str(), Some("/tmp/x.db"));
        assert!(sqlite_path("sqlite::memory:").is_none());
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/d"), "postgres://u:***@h:5432/d");
        assert_eq!(redact_url("sqlite://./x"), "sqlite://./x");
    }
}
