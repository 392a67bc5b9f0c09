//! The activity stream's writes: [`create_action`], with the reference's de-duplication.

use chrono::{DateTime, Duration, Utc};
use quartet_kernel::db::statement;
use quartet_kernel::models::content_types;
use sea_orm::{ConnectionTrait, DbErr};

/// An action repeated within this long (same user, verb and target) is not recorded again.
pub const DEDUP_WINDOW: Duration = Duration::seconds(60);

/// What an action is about: a row of any model, by its label (`bookmarks.image`) and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    /// The model's label.
    pub label: &'a str,
    /// The row's id.
    pub id: i64,
}

/// Records that user `user_id` did `verb` (to `target`) at `now`, unless the same user did the
/// same verb (to the same target, when there is one) in the last [`DEDUP_WINDOW`]; returns
/// whether it was recorded. The check and the insert are one statement.
pub async fn create_action(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    user_id: i64,
    verb: &str,
    target: Option<Target<'_>>,
) -> Result<bool, DbErr> {
    let since = now - DEDUP_WINDOW;
    let target = match target {
        Some(t) => Some((content_types::id_of(db, t.label).await?, t.id)),
        None => None,
    };
    let (ct, id) = (target.map(|t| t.0), target.map(|t| t.1));
    let same_target = if target.is_some() { " AND target_ct_id = ? AND target_id = ?" } else { "" };
    let sql = format!(
        "INSERT INTO actions_action (user_id, verb, created, target_ct_id, target_id) \
         SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM actions_action \
         WHERE user_id = ? AND verb = ? AND created >= ?{same_target})"
    );
    let mut values: Vec<sea_orm::Value> =
        vec![user_id.into(), verb.into(), now.into(), ct.into(), id.into(), user_id.into(), verb.into(), since.into()];
    if let (Some(ct), Some(id)) = (ct, id) {
        values.extend([ct.into(), id.into()]);
    }
    let done = db.execute_raw(statement(db, &sql, values)).await?;
    Ok(done.rows_affected() == 1)
}
