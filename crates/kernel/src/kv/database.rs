//! The key-value store in two tables, `core_kv_counter` (name → value) and `core_kv_score`
//! (set, member → score), written with one upsert per call.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult};

use super::{KvError, KvResult, KvStore, Member, Writes};
use crate::db::{Db, statement};

/// Counters and sorted sets in the site's database.
#[derive(Debug, Clone)]
pub struct DatabaseKv {
    db: Db,
}

impl DatabaseKv {
    /// The store in `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn unavailable(e: DbErr) -> KvError {
    KvError::Unavailable(e.to_string())
}

/// `prefix` as a `LIKE` pattern with `\` escaping `%`, `_` and `\`.
fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 2);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

#[derive(FromQueryResult)]
struct Scored {
    member: String,
    score: f64,
}

#[derive(FromQueryResult)]
struct SetScore {
    set_name: String,
    member: String,
    score: f64,
}

/// Rows per statement of a batched write.
const ROWS_PER_STATEMENT: usize = 200;

#[derive(FromQueryResult)]
struct Counter {
    name: String,
    value: i64,
}

#[async_trait::async_trait]
impl KvStore for DatabaseKv {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn incr(&self, key: &str, by: i64) -> KvResult<i64> {
        let sql = "INSERT INTO core_kv_counter (name, value) VALUES (?, ?) \
                   ON CONFLICT (name) DO UPDATE SET value = core_kv_counter.value + excluded.value RETURNING value";
        let row = self
            .db
            .query_one_raw(statement(&self.db, sql, vec![key.into(), by.into()]))
            .await
            .map_err(unavailable)?
            .ok_or_else(|| KvError::Unavailable("the upsert returned no row".into()))?;
        row.try_get("", "value").map_err(unavailable)
    }

    async fn get_many(&self, keys: &[String]) -> KvResult<Vec<Option<i64>>> {
        let sql = format!("SELECT name, value FROM core_kv_counter WHERE name IN ({})", marks(keys.len()));
        let found =
            Counter::find_by_statement(statement(&self.db, &sql, keys.iter().map(|k| k.as_str().into()).collect()))
                .all(&self.db)
                .await
                .map_err(unavailable)?;
        Ok(keys.iter().map(|k| found.iter().find(|c| &c.name == k).map(|c| c.value)).collect())
    }

    async fn zincrby(&self, set: &str, member: &str, by: f64) -> KvResult<f64> {
        let sql = "INSERT INTO core_kv_score (set_name, member, score) VALUES (?, ?, ?) \
                   ON CONFLICT (set_name, member) DO UPDATE SET score = core_kv_score.score + excluded.score RETURNING score";
        let row = self
            .db
            .query_one_raw(statement(&self.db, sql, vec![set.into(), member.into(), by.into()]))
            .await
            .map_err(unavailable)?
            .ok_or_else(|| KvError::Unavailable("the upsert returned no row".into()))?;
        row.try_get("", "score").map_err(unavailable)
    }

    async fn zscore(&self, set: &str, member: &str) -> KvResult<Option<f64>> {
        let sql = "SELECT member, score FROM core_kv_score WHERE set_name = ? AND member = ?";
        let found = Scored::find_by_statement(statement(&self.db, sql, vec![set.into(), member.into()]))
            .one(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(found.map(|s| s.score))
    }

    async fn ztop(&self, set: &str, n: usize) -> KvResult<Vec<(String, f64)>> {
        let sql = "SELECT member, score FROM core_kv_score WHERE set_name = ? ORDER BY score DESC, member DESC LIMIT ?";
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        let rows = Scored::find_by_statement(statement(&self.db, sql, vec![set.into(), limit.into()]))
            .all(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(rows.into_iter().map(|s| (s.member, s.score)).collect())
    }

    async fn zunion_top(&self, sets: &[String], exclude: &[String], n: usize) -> KvResult<Vec<(String, f64)>> {
        let leave_out =
            if exclude.is_empty() { String::new() } else { format!(" AND member NOT IN ({})", marks(exclude.len())) };
        // The sum is cast so both engines hand back a double.
        let sum = match self.db.get_database_backend() {
            DbBackend::Postgres => "SUM(score)::double precision",
            _ => "SUM(score)",
        };
        let sql = format!(
            "SELECT member, {sum} AS score FROM core_kv_score WHERE set_name IN ({}){leave_out} \
             GROUP BY member ORDER BY score DESC, member DESC LIMIT ?",
            marks(sets.len())
        );
        let mut values: Vec<sea_orm::Value> = sets.iter().chain(exclude).map(|k| k.as_str().into()).collect();
        values.push(i64::try_from(n).unwrap_or(i64::MAX).into());
        let rows =
            Scored::find_by_statement(statement(&self.db, &sql, values)).all(&self.db).await.map_err(unavailable)?;
        Ok(rows.into_iter().map(|s| (s.member, s.score)).collect())
    }

    async fn delete_prefix(&self, prefix: &str) -> KvResult<u64> {
        let pattern = like_prefix(prefix);
        let like = || vec![sea_orm::Value::from(pattern.as_str())];
        // Keys, as Redis counts them: each counter, and each set however many members it has.
        let sets = self
            .db
            .query_one_raw(statement(
                &self.db,
                "SELECT COUNT(DISTINCT set_name) AS n FROM core_kv_score WHERE set_name LIKE ? ESCAPE '\\'",
                like(),
            ))
            .await
            .map_err(unavailable)?
            .map_or(Ok(0), |row| row.try_get::<i64>("", "n"))
            .map_err(unavailable)?;
        let counters = self
            .db
            .execute_raw(statement(&self.db, "DELETE FROM core_kv_counter WHERE name LIKE ? ESCAPE '\\'", like()))
            .await
            .map_err(unavailable)?
            .rows_affected();
        self.db
            .execute_raw(statement(&self.db, "DELETE FROM core_kv_score WHERE set_name LIKE ? ESCAPE '\\'", like()))
            .await
            .map_err(unavailable)?;
        Ok(counters + u64::try_from(sets).unwrap_or(0))
    }

    async fn ping(&self) -> KvResult<()> {
        crate::db::ping(&self.db).await.map_err(unavailable)
    }

    /// One transaction of multi-row upserts (each key appears once in `writes`).
    async fn apply(&self, writes: &Writes) -> KvResult<(Vec<(String, i64)>, Vec<(Member, f64)>)> {
        let tx = self.db.begin().await.map_err(unavailable)?;
        let mut counters = Vec::with_capacity(writes.counters.len());
        for chunk in writes.counters.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO core_kv_counter (name, value) VALUES {} ON CONFLICT (name) DO UPDATE \
                 SET value = core_kv_counter.value + excluded.value RETURNING name, value",
                vec!["(?, ?)"; chunk.len()].join(", ")
            );
            let values = chunk.iter().flat_map(|(k, by)| [k.as_str().into(), (*by).into()]).collect();
            let rows = Counter::find_by_statement(statement(&tx, &sql, values)).all(&tx).await.map_err(unavailable)?;
            counters.extend(rows.into_iter().map(|c| (c.name, c.value)));
        }
        let mut scores = Vec::with_capacity(writes.scores.len());
        for chunk in writes.scores.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO core_kv_score (set_name, member, score) VALUES {} ON CONFLICT (set_name, member) \
                 DO UPDATE SET score = core_kv_score.score + excluded.score RETURNING set_name, member, score",
                vec!["(?, ?, ?)"; chunk.len()].join(", ")
            );
            let values = chunk
                .iter()
                .flat_map(|((set, member), by)| [set.as_str().into(), member.as_str().into(), (*by).into()])
                .collect();
            let rows = SetScore::find_by_statement(statement(&tx, &sql, values)).all(&tx).await.map_err(unavailable)?;
            scores.extend(rows.into_iter().map(|s| ((s.set_name, s.member), s.score)));
        }
        tx.commit().await.map_err(unavailable)?;
        Ok((counters, scores))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_escape_the_prefix() {
        assert_eq!(super::like_prefix("image:"), "image:%");
        assert_eq!(super::like_prefix("a%b_c\\"), "a\\%b\\_c\\\\%");
    }
}
