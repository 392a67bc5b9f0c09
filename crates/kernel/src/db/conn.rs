//! The pool and transactions every app writes through, and what happens once a write is
//! committed.
//!
//! [`Db`] and [`Tx`] wrap sea-orm's connection and transaction and run every statement
//! unchanged; on the way they note which table each `INSERT`, `UPDATE` or `DELETE` writes.
//! Once the write is committed (at once for a statement on the pool, at [`Tx::commit`] for a
//! transaction) the tables are handed to the site's [`ChangeSink`] (the cache makes the data of
//! the changed models stale there) and the transaction's [`Tx::on_commit`] callbacks run (event
//! handlers). A transaction dropped or rolled back hands over nothing. So no view, admin page or
//! seeder has to remember to say what it changed: writing is saying it.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use futures_util::future::BoxFuture;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, Statement,
    TransactionTrait,
};

/// What a write statement writes: its table and, for an `UPDATE`, the columns it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write<'a> {
    /// The table, without quotes or schema.
    pub table: &'a str,
    /// The columns an `UPDATE` sets, without quotes; empty for other writes.
    pub columns: Vec<&'a str>,
}

/// A row written through the models' row API (the admin, the dump loader), for the handlers
/// of [`ChangeSink::committed`] (Django's `post_save` and `post_delete`).
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    /// The table.
    pub table: String,
    /// The row before the write (`None` for an insert).
    pub before: Option<serde_json::Map<String, serde_json::Value>>,
    /// The row after the write (`None` for a delete).
    pub after: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Told what a committed write changed (the site's one sink: the cache's invalidation and the
/// handlers of model changes).
#[async_trait::async_trait]
pub trait ChangeSink: Send + Sync {
    /// What a committed `write` changes, as names the sink understands (cache namespaces);
    /// empty when nothing depends on it. A cheap lookup made for every written statement.
    fn changes(&self, write: &Write<'_>) -> &[&'static str];

    /// Whether the rows written to `table` through the row API are wanted (then a row that is
    /// updated or deleted is read first).
    fn wants_rows(&self, _table: &str) -> bool {
        false
    }

    /// A write was committed: what it changed (each once) and the rows written through the row
    /// API.
    async fn committed(&self, changes: &[&'static str], rows: Vec<RowChange>);
}

#[derive(Default)]
struct Hooks {
    sink: OnceLock<Arc<dyn ChangeSink>>,
}

impl Hooks {
    fn changes(&self, sql: &str) -> &[&'static str] {
        match (self.sink.get(), written(sql)) {
            (Some(sink), Some(write)) => sink.changes(&write),
            _ => &[],
        }
    }

    async fn committed(&self, changes: &[&'static str], rows: Vec<RowChange>) {
        if let Some(sink) = self.sink.get()
            && (!changes.is_empty() || !rows.is_empty())
        {
            sink.committed(changes, rows).await;
        }
    }
}

/// The connection pool; cheap to clone. Use it as any sea-orm connection (`.all(&core.db)`);
/// [`Db::begin`] starts a [`Tx`].
#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    hooks: Arc<Hooks>,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("backend", &self.conn.get_database_backend()).finish_non_exhaustive()
    }
}

impl Db {
    /// Wraps an open sea-orm connection.
    pub fn new(conn: DatabaseConnection) -> Self {
        Self { conn, hooks: Arc::default() }
    }

    /// The sea-orm connection underneath (for what only it offers; writes made on it directly
    /// are not reported to the [`ChangeSink`]).
    pub fn inner(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Reports committed writes to `sink` from now on; a second sink is refused (one site, one
    /// pool).
    pub fn watch_changes(&self, sink: Arc<dyn ChangeSink>) -> Result<(), &'static str> {
        self.hooks.sink.set(sink).map_err(|_| "the database already reports its changes to a sink")
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Tx, DbErr> {
        Ok(Tx { inner: Some(self.conn.begin().await?), hooks: self.hooks.clone(), state: Mutex::default() })
    }

    /// The engine (SQLite or PostgreSQL).
    pub fn get_database_backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }

    async fn after_write(&self, changes: &[&'static str]) {
        if !changes.is_empty() {
            self.hooks.committed(changes, Vec::new()).await;
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let changes = self.hooks.changes(&stmt.sql);
        let result = self.conn.execute_raw(stmt).await?;
        self.after_write(changes).await;
        Ok(result)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let result = self.conn.execute_unprepared(sql).await?;
        self.after_write(self.hooks.changes(sql)).await;
        Ok(result)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let changes = self.hooks.changes(&stmt.sql);
        let result = self.conn.query_one_raw(stmt).await?;
        self.after_write(changes).await;
        Ok(result)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let changes = self.hooks.changes(&stmt.sql);
        let result = self.conn.query_all_raw(stmt).await?;
        self.after_write(changes).await;
        Ok(result)
    }

    fn support_returning(&self) -> bool {
        self.conn.support_returning()
    }
}

type Callback = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

#[derive(Default)]
struct TxState {
    changes: BTreeSet<&'static str>,
    rows: Vec<RowChange>,
    on_commit: Vec<Callback>,
}

/// A transaction: rolled back when dropped unless [`Tx::commit`] is called. What it wrote and
/// what was asked to run after it ([`Tx::on_commit`]) take effect only at commit.
pub struct Tx {
    inner: Option<DatabaseTransaction>,
    hooks: Arc<Hooks>,
    state: Mutex<TxState>,
}

impl fmt::Debug for Tx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx").finish_non_exhaustive()
    }
}

impl Tx {
    fn conn(&self) -> &DatabaseTransaction {
        self.inner.as_ref().expect("a transaction is used only until it ends")
    }

    fn state(&self) -> std::sync::MutexGuard<'_, TxState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn note(&self, sql: &str) {
        let changes = self.hooks.changes(sql);
        if !changes.is_empty() {
            self.state().changes.extend(changes.iter().copied());
        }
    }

    /// Whether the site wants the rows written to `table` through the row API (then the row
    /// API reads a row before it updates or deletes it).
    pub fn wants_rows(&self, table: &str) -> bool {
        self.hooks.sink.get().is_some_and(|sink| sink.wants_rows(table))
    }

    /// Hands a row written through the row API to the site at commit.
    pub fn record_row(&self, change: RowChange) {
        self.state().rows.push(change);
    }

    /// Runs `callback` once the transaction is committed (Django's `transaction.on_commit`);
    /// never if it is rolled back. Callbacks run in the order they were added, after the
    /// changed tables were reported.
    pub fn on_commit(&self, callback: impl FnOnce() -> BoxFuture<'static, ()> + Send + 'static) {
        self.state().on_commit.push(Box::new(callback));
    }

    /// Commits, then reports the changed tables and runs the `on_commit` callbacks.
    pub async fn commit(mut self) -> Result<(), DbErr> {
        let inner = self.inner.take().expect("a transaction is committed once");
        inner.commit().await?;
        let TxState { changes, rows, on_commit } = std::mem::take(&mut *self.state());
        self.hooks.committed(&changes.into_iter().collect::<Vec<_>>(), rows).await;
        for callback in on_commit {
            callback().await;
        }
        Ok(())
    }

    /// Rolls back: nothing written stays, nothing waits for the commit runs.
    pub async fn rollback(mut self) -> Result<(), DbErr> {
        self.inner.take().expect("a transaction is rolled back once").rollback().await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Tx {
    fn get_database_backend(&self) -> DbBackend {
        self.conn().get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.note(&stmt.sql);
        self.conn().execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.note(sql);
        self.conn().execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.note(&stmt.sql);
        self.conn().query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.note(&stmt.sql);
        self.conn().query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.conn().support_returning()
    }
}

/// What an `INSERT`, `UPDATE`, `DELETE` or `REPLACE` statement writes; `None` for anything
/// else (queries, DDL).
pub fn written(sql: &str) -> Option<Write<'_>> {
    let mut words = Words(sql);
    let first = words.next()?;
    let (table, update) = if first.eq_ignore_ascii_case("insert") || first.eq_ignore_ascii_case("replace") {
        loop {
            let word = words.next()?;
            if word.eq_ignore_ascii_case("into") {
                break (words.next()?, false);
            }
        }
    } else if first.eq_ignore_ascii_case("update") {
        let word = words.next()?;
        if word.eq_ignore_ascii_case("or") {
            words.next()?;
            (words.next()?, true)
        } else {
            (word, true)
        }
    } else if first.eq_ignore_ascii_case("delete") {
        let from = words.next()?;
        if !from.eq_ignore_ascii_case("from") {
            return None;
        }
        (words.next()?, false)
    } else {
        return None;
    };
    let table = unquote(table.rsplit('.').next().unwrap_or(table));
    if table.is_empty() {
        return None;
    }
    let columns = if update { set_columns(words.0) } else { Vec::new() };
    Some(Write { table, columns })
}

/// The table a write statement writes (see [`written`]).
pub fn written_table(sql: &str) -> Option<&str> {
    written(sql).map(|w| w.table)
}

fn unquote(name: &str) -> &str {
    name.trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']')
}

/// The columns of `SET a = …, "b" = …` (expressions skipped up to a comma outside brackets and
/// quotes), up to `WHERE`, `FROM` or `RETURNING`. An unreadable list gives no columns, which
/// is read as "any column".
fn set_columns(rest: &str) -> Vec<&str> {
    let rest = rest.trim_start();
    let Some(list) = rest.get(..3).filter(|k| k.eq_ignore_ascii_case("set")).map(|_| &rest[3..]) else {
        return Vec::new();
    };
    let mut columns = Vec::new();
    let mut expecting_column = true;
    let (mut depth, mut quote) = (0usize, None::<char>);
    let mut start = None;
    let bytes: Vec<(usize, char)> = list.char_indices().collect();
    let mut i = 0;
    while i < bytes.len() {
        let (at, c) = bytes[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
        } else if expecting_column {
            if c == '=' {
                let Some(from) = start else { return Vec::new() };
                columns.push(unquote(list[from..at].trim()));
                expecting_column = false;
                start = None;
            } else if start.is_none() && !c.is_whitespace() {
                start = Some(at);
            }
        } else {
            match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => expecting_column = true,
                c if depth == 0 && c.is_whitespace() => {
                    let word: String =
                        list[at..].trim_start().chars().take_while(|c| c.is_ascii_alphabetic()).collect();
                    if ["where", "from", "returning"].iter().any(|k| word.eq_ignore_ascii_case(k)) {
                        break;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    if expecting_column && !columns.is_empty() {
        // A list ending in a comma is not a statement that ran.
        return Vec::new();
    }
    columns
}

/// The words of a statement: runs of characters up to white space or `(`.
struct Words<'a>(&'a str);

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.0.trim_start();
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(|c: char| c.is_whitespace() || c == '(').unwrap_or(rest.len()).max(1);
        let (word, rest) = rest.split_at(end);
        self.0 = rest;
        Some(word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_columns_an_update_sets_are_read() {
        let columns = |sql| written(sql).unwrap().columns;
        assert_eq!(columns(r#"UPDATE "blog_post" SET "active_comments" = $1 WHERE "id" = $2"#), ["active_comments"]);
        assert_eq!(
            columns(
                "UPDATE blog_post SET active_comments = (SELECT COUNT(*) FROM blog_comment c WHERE c.post_id = blog_post.id AND c.active = ?), updated = ? WHERE id = ?"
            ),
            ["active_comments", "updated"]
        );
        assert_eq!(columns(r#"UPDATE "t" SET "a" = 'x, y = 1', "b" = "c" RETURNING "id""#), ["a", "b"]);
        assert_eq!(columns(r#"UPDATE "t" SET "a" = 1"#), ["a"]);
        assert!(columns(r#"INSERT INTO "t" ("a") VALUES (1)"#).is_empty());
        assert!(columns("UPDATE t SET").is_empty());
    }

    #[test]
    fn the_written_table_is_read_from_each_kind_of_write() {
        assert_eq!(written_table(r#"INSERT INTO "blog_post" ("title") VALUES ($1) RETURNING "id""#), Some("blog_post"));
        assert_eq!(written_table("insert or replace into core_kv (k) values (?)"), Some("core_kv"));
        assert_eq!(written_table(r#"UPDATE "blog_post" SET "title" = $1"#), Some("blog_post"));
        assert_eq!(written_table("UPDATE OR IGNORE blog_tag SET name = ?"), Some("blog_tag"));
        assert_eq!(written_table(r#"DELETE FROM "quartet"."blog_comment" WHERE "id" = $1"#), Some("blog_comment"));
        assert_eq!(written_table("  \n\tDELETE FROM blog_comment"), Some("blog_comment"));
        assert_eq!(written_table(r#"INSERT INTO "t"("a") VALUES (1)"#), Some("t"));
        assert_eq!(written_table(r#"SELECT * FROM "blog_post""#), None);
        assert_eq!(written_table("CREATE TABLE blog_post (id int)"), None);
        assert_eq!(written_table(""), None);
        assert_eq!(written_table("DELETE"), None);
        assert_eq!(written_table("INSERT"), None);
    }
}
