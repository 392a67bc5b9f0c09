//! The blog in the admin: posts with tags, comments with moderation (see docs/BLOG.md). The
//! time stamps, slugs and one-slug-per-date rule are the models' own ([`crate::models`]).

use quartet_admin::{ActionInput, ActionOutcome, AdminAction, ManyToMany, ModelAdmin};
use quartet_kernel::CoreState;
use quartet_kernel::models::Row;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::models::{comment, status};

/// The registrations.
pub fn registrations() -> Vec<ModelAdmin> {
    vec![
        ModelAdmin::new("blog.post")
            .list_display(["title", "slug", "author_id", "publish", "status"])
            .list_filter(["status", "created", "publish", "author_id"])
            .search_fields(["title", "body"])
            .raw_id(["author_id"])
            .date_hierarchy("publish")
            .ordering(["status", "publish"])
            .choices("status", [(status::DRAFT, "Draft"), (status::PUBLISHED, "Published")])
            .initial("status", status::DRAFT)
            .label_for("author_id", "Author")
            .readonly(["active_comments"])
            .view_on_site(post_url)
            .action(AdminAction::export_to_csv())
            .many_to_many(ManyToMany::tags("tags", "blog.taggedpost", ("post_id", "tag_id"), "blog.tag")),
        ModelAdmin::new("blog.comment")
            .list_display(["name", "email", "post_id", "created", "active"])
            .list_filter(["active", "created", "updated"])
            .search_fields(["name", "email", "body"])
            .raw_id(["post_id"])
            .label_for("post_id", "Post")
            .list_editable(["active"])
            .action(moderation("approve_comments", "Approve selected comments", true))
            .action(moderation("hide_comments", "Hide selected comments", false))
            .action(AdminAction::export_to_csv()),
        ModelAdmin::new("blog.tag").list_display(["name", "slug"]).search_fields(["name", "slug"]).ordering(["name"]),
        ModelAdmin::new("blog.favourite")
            .list_display(["user_id", "post_id", "created"])
            .raw_id(["user_id", "post_id"])
            .label_for("user_id", "User")
            .label_for("post_id", "Post"),
    ]
}

/// A post's page, for "View on site", while it is published.
fn post_url(core: &CoreState, row: &Row) -> Option<String> {
    if row.get("status")?.as_str()? != status::PUBLISHED {
        return None;
    }
    let publish: chrono::DateTime<chrono::Utc> = row.get("publish")?.as_str()?.parse().ok()?;
    Some(crate::models::post_path(core, publish, row.get("slug")?.as_str()?))
}

/// Shows (`active`) or hides the selected comments.
fn moderation(name: &'static str, label: &'static str, active: bool) -> AdminAction {
    AdminAction::new(name, label, "change", move |input: ActionInput| async move {
        let ids: Vec<i64> = input.rows.iter().filter_map(|r| r.get("id").and_then(serde_json::Value::as_i64)).collect();
        let posts: Vec<i64> =
            input.rows.iter().filter_map(|r| r.get("post_id").and_then(serde_json::Value::as_i64)).collect();
        let tx = input.core.db.begin().await?;
        let changed = comment::Entity::update_many()
            .col_expr(comment::Column::Active, Expr::value(active))
            .col_expr(comment::Column::Updated, Expr::value(input.core.now()))
            .filter(comment::Column::Id.is_in(ids))
            .exec(&tx)
            .await?
            .rows_affected;
        crate::counts::changed(&input.core, &tx, posts).await?;
        tx.commit().await?;
        let tr = input.core.tr(input.lang.clone());
        let text = if active {
            tr.n("{n} comment was approved.", "{n} comments were approved.", changed, &[])
        } else {
            tr.n("{n} comment was hidden.", "{n} comments were hidden.", changed, &[])
        };
        Ok(ActionOutcome::Message(text))
    })
}
