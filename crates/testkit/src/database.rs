//! A fresh database per test: a SQLite file in a temporary folder, or a PostgreSQL schema.

use std::path::Path;

use sea_orm::{ConnectionTrait, Database};

/// The variable naming the PostgreSQL server tests use.
pub const POSTGRES_VARIABLE: &str = "QUARTET_TEST_DATABASE_URL";

/// A database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (always available).
    Sqlite,
    /// PostgreSQL at `QUARTET_TEST_DATABASE_URL`.
    Postgres,
}

/// An empty database that disappears with the last copy of the value (two sites on one
/// database, as two instances of one deployment, each hold a copy).
#[derive(Debug, Clone)]
pub struct TestDatabase(std::sync::Arc<Owned>);

#[derive(Debug)]
struct Owned {
    backend: Backend,
    url: String,
    schema: Option<String>,
    dir: tempfile::TempDir,
    /// The secret key every site on this database shares.
    secret: String,
}

impl TestDatabase {
    /// Creates an empty database (and a folder for media and mail).
    pub async fn create(backend: Backend) -> Self {
        let dir = tempfile::Builder::new().prefix("quartet-test-").tempdir().expect("a temporary folder");
        let secret = format!("test-secret-{}", quartet_core::crypto::random_string(48, quartet_core::crypto::ALNUM));
        let owned = match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.sqlite3").display());
                Owned { backend, url, schema: None, dir, secret }
            }
            Backend::Postgres => {
                let url = std::env::var(POSTGRES_VARIABLE).expect("QUARTET_TEST_DATABASE_URL is set");
                let schema = format!(
                    "qt_{}_{}",
                    chrono::Utc::now().timestamp(),
                    quartet_core::crypto::random_string(10, quartet_core::crypto::LOWER_ALNUM)
                );
                let db = Database::connect(&url).await.expect("the PostgreSQL test server answers");
                remove_stale_schemas(&db).await;
                // The name is generated above from digits and lower-case letters only.
                db.execute_unprepared(&format!("CREATE SCHEMA \"{schema}\"")).await.expect("a test schema");
                let _ = db.close().await;
                Owned { backend, url, schema: Some(schema), dir, secret }
            }
        };
        Self(std::sync::Arc::new(owned))
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.0.backend
    }

    /// The secret key of the sites on this database.
    pub fn secret(&self) -> &str {
        &self.0.secret
    }

    /// The connection URL.
    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// The PostgreSQL schema, if any.
    pub fn schema(&self) -> Option<&str> {
        self.0.schema.as_deref()
    }

    /// The test's folder (SQLite file, media, mail).
    pub fn dir(&self) -> &Path {
        self.0.dir.path()
    }
}

/// Drops schemas left by test processes that were killed (older than an hour).
async fn remove_stale_schemas(db: &sea_orm::DatabaseConnection) {
    let cutoff = chrono::Utc::now().timestamp() - 3600;
    let Ok(rows) = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'qt\\_%'",
        ))
        .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "nspname") else { continue };
        let created = name.split('_').nth(1).and_then(|t| t.parse::<i64>().ok());
        let well_formed = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if well_formed && created.is_some_and(|t| t < cutoff) {
            let _ = db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")).await;
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let Some(schema) = self.schema.take() else { return };
        let url = self.url.clone();
        // Drop runs outside async code; a short-lived runtime on its own thread does the work.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                if let Ok(db) = Database::connect(&url).await {
                    let _ = db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await;
                    let _ = db.close().await;
                }
            });
        })
        .join();
    }
}
