//! The bookmarks in the admin (reference-apps.md §2.9): images with a thumbnail in the list,
//! actions, likes and contacts.

use quartet_admin::{AdminAction, ModelAdmin};
use quartet_kernel::CoreState;
use quartet_kernel::models::Row;
use quartet_kernel::thumbnails;

use crate::views::sizes;

/// The registrations.
pub fn registrations() -> Vec<ModelAdmin> {
    vec![
        ModelAdmin::new("bookmarks.image")
            .computed_column("Image", thumbnail_cell)
            .list_display(["title", "slug", "created"])
            .list_display_links(["title"])
            .list_filter(["created"])
            .search_fields(["title", "description"])
            .raw_id(["user_id"])
            .label_for("user_id", "User")
            .image("image", "images")
            .textarea(["description"])
            .optional(["description", "slug"])
            .readonly(["total_likes"])
            .view_on_site(image_url)
            .action(AdminAction::export_to_csv()),
        ModelAdmin::new("bookmarks.action")
            .list_display(["user_id", "verb", "target_ct_id", "target_id", "created"])
            .list_filter(["created"])
            .search_fields(["verb"])
            .raw_id(["user_id"])
            .label_for("user_id", "User")
            .label_for("target_ct_id", "Target type"),
        ModelAdmin::new("bookmarks.like")
            .list_display(["image_id", "user_id"])
            .raw_id(["image_id", "user_id"])
            .label_for("image_id", "Image")
            .label_for("user_id", "User"),
        ModelAdmin::new("bookmarks.contact")
            .list_display(["user_from_id", "user_to_id", "created"])
            .list_filter(["created"])
            .raw_id(["user_from_id", "user_to_id"])
            .label_for("user_from_id", "Follower")
            .label_for("user_to_id", "Followed"),
    ]
}

/// The image's 80×80 thumbnail in the change list.
fn thumbnail_cell(row: &Row) -> String {
    let Some(path) = row.get("image").and_then(serde_json::Value::as_str).filter(|p| !p.is_empty()) else {
        return String::new();
    };
    let escape = |text: &str| quartet_kernel::html::escape_html(text);
    format!(
        r#"<img src="{}" srcset="{}" alt="" width="80" height="80" class="admin-thumbnail">"#,
        escape(&thumbnails::url(path, sizes::STREAM)),
        escape(&thumbnails::srcset(path, sizes::STREAM)),
    )
}

/// The image's page, for "View on site".
fn image_url(core: &CoreState, row: &Row) -> Option<String> {
    let id = row.get("id")?.as_i64()?;
    let slug = row.get("slug")?.as_str()?;
    Some(core.url_with("bookmarks:detail", &[&id, &slug]))
}
