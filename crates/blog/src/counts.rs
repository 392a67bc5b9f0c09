//! `blog_post.active_comments`, the count of each post's active comments, kept by event
//! handlers: the comment form and the moderation actions emit [`CommentsChanged`] in their
//! transaction, and a comment changed through the admin's forms (or `loaddata`) raises
//! [`ModelChanged`]. Either way the handler counts the posts concerned again after the commit,
//! so the sidebar's "most commented" ranking reads one indexed column.

use quartet_kernel::CoreState;
use quartet_kernel::db::statement;
use quartet_kernel::events::{Event, Handler, ModelChanged};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};

/// Comments of these posts were added, shown or hidden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentsChanged {
    /// The posts whose comments changed.
    pub post_ids: Vec<i64>,
}

impl Event for CommentsChanged {
    const NAME: &'static str = "blog.comments_changed";
}

/// The blog's handlers.
pub fn handlers() -> [Handler; 2] {
    [
        Handler::after_commit::<CommentsChanged>("blog.count_comments", |core, event| {
            Box::pin(async move { Ok(recount(&core.db, &event.post_ids).await?) })
        }),
        Handler::on_model("blog.comment", "blog.count_comments_of_changed_rows", |core, change| {
            Box::pin(async move { Ok(recount(&core.db, &post_ids(&change)).await?) })
        }),
    ]
}

/// The posts a changed comment row belongs to, before and after (a comment moved to another
/// post changes both counts).
fn post_ids(change: &ModelChanged) -> Vec<i64> {
    change.values("post_id").into_iter().filter_map(serde_json::Value::as_i64).collect()
}

const RECOUNT: &str = "UPDATE blog_post SET active_comments = \
     (SELECT COUNT(*) FROM blog_comment c WHERE c.post_id = blog_post.id AND c.active = ?)";

/// Counts the active comments of `post_ids` again, in one statement. It sets only
/// `active_comments`, so it makes only the comments' cache namespace stale.
pub async fn recount(db: &impl ConnectionTrait, post_ids: &[i64]) -> Result<(), DbErr> {
    let mut ids = post_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    // A statement takes a bounded number of values on either engine.
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut values: Vec<sea_orm::Value> = vec![true.into()];
        values.extend(chunk.iter().map(|&id| sea_orm::Value::from(id)));
        db.execute_raw(statement(db, &format!("{RECOUNT} WHERE id IN ({marks})"), values)).await?;
    }
    Ok(())
}

/// Counts every post's active comments again (the migration that adds the column, and
/// `quartet seed`, which writes comments in bulk).
pub async fn recount_all(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    db.execute_raw(statement(db, RECOUNT, vec![true.into()])).await?;
    Ok(())
}

/// Emits [`CommentsChanged`] for `post_ids` in `tx`.
pub async fn changed(core: &CoreState, tx: &quartet_kernel::db::Tx, post_ids: Vec<i64>) -> quartet_kernel::Result<()> {
    core.emit(tx, &CommentsChanged { post_ids }).await
}
