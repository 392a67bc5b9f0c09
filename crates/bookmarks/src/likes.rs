//! `images_image.total_likes`, the count of each image's likes, kept by an event handler (the
//! reference's `m2m_changed` signal): the like view emits [`LikesChanged`] in its transaction,
//! and a like changed through the admin's forms raises `ModelChanged`; after the commit the
//! handler counts those images' likes again in one statement.

use quartet_kernel::db::statement;
use quartet_kernel::events::{Event, Handler, ModelChanged};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};

/// Likes of these images were added or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LikesChanged {
    /// The images concerned.
    pub image_ids: Vec<i64>,
}

impl Event for LikesChanged {
    const NAME: &'static str = "bookmarks.likes_changed";
}

/// The handlers of this module.
pub fn handlers() -> [Handler; 2] {
    [
        Handler::after_commit::<LikesChanged>("bookmarks.count_likes", |core, event| {
            Box::pin(async move { Ok(recount(&core.db, &event.image_ids).await?) })
        }),
        Handler::on_model("bookmarks.like", "bookmarks.count_likes_of_changed_rows", |core, change| {
            Box::pin(async move { Ok(recount(&core.db, &image_ids(&change)).await?) })
        }),
    ]
}

fn image_ids(change: &ModelChanged) -> Vec<i64> {
    change.values("image_id").into_iter().filter_map(serde_json::Value::as_i64).collect()
}

const RECOUNT: &str = "UPDATE images_image SET total_likes = \
    (SELECT COUNT(*) FROM images_image_users_like l WHERE l.image_id = images_image.id)";

/// Counts the likes of `image_ids` again.
pub async fn recount(db: &impl ConnectionTrait, image_ids: &[i64]) -> Result<(), DbErr> {
    let mut ids = image_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    // A statement takes a bounded number of values on either engine.
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let values: Vec<sea_orm::Value> = chunk.iter().map(|&id| sea_orm::Value::from(id)).collect();
        db.execute_raw(statement(db, &format!("{RECOUNT} WHERE id IN ({marks})"), values)).await?;
    }
    Ok(())
}
