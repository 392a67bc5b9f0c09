//! The bookmarks' panel of the dashboard (`/account/`): how many images the user bookmarked,
//! the bookmarklet button, and the activity stream: the last ten actions of the people the user
//! follows (of everyone else when they follow nobody), in a fixed number of queries whatever
//! the stream holds.

use std::collections::HashMap;

use askama::Template;
use chrono::{DateTime, Utc};
use quartet_kernel::Result;
use quartet_kernel::auth::models::user;
use quartet_kernel::db::statement;
use quartet_kernel::i18n::timesince;
use quartet_kernel::models::content_types::content_type;
use quartet_kernel::templates::{DashboardPanel, PageContext};
use quartet_kernel::thumbnails;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::models::{action, image};
use crate::people::{USER_LABEL, people, profile_path, shown_name};
use crate::views::{IMAGE_LABEL, detail_path, sizes};

/// Actions the stream shows.
pub const STREAM_LENGTH: u64 = 10;

/// The panel, contributed to the accounts' dashboard.
pub fn panel() -> DashboardPanel {
    DashboardPanel { panel: |ctx| Box::pin(render_panel(ctx)) }
}

/// One action as the stream shows it.
pub struct ActionItem {
    /// The actor's name and profile.
    pub actor: String,
    /// The actor's profile page.
    pub actor_path: String,
    /// The actor's photo, or empty.
    pub actor_photo: String,
    /// The verb, translated.
    pub verb: String,
    /// The target's text and page, if it still exists.
    pub target: Option<(String, String)>,
    /// The target's image, for images.
    pub target_image: String,
    /// "3 hours, 5 minutes".
    pub since: String,
}

#[derive(Template)]
#[template(path = "bookmarks/dashboard.html")]
struct Panel<'a> {
    ctx: &'a PageContext,
    images: u64,
    launcher: String,
    actions: Vec<ActionItem>,
}

async fn render_panel(ctx: &PageContext) -> Result<Option<String>> {
    let Some(me) = ctx.user.as_ref() else {
        return Ok(None);
    };
    let core = ctx.core();
    let images = image::Entity::find().filter(image::Column::UserId.eq(me.id)).count(&core.db).await?;
    let actions = stream(ctx, me.id).await?;
    let tr = ctx.tr();
    let texts = BookmarkletTexts {
        select: tr.t("Select an image to bookmark:"),
        none: tr.t("No image of at least 250×250 pixels was found on this page."),
        close: tr.t("Close"),
    };
    let launcher = launcher(&ctx.absolute_url(""), &texts);
    Ok(Some(Panel { ctx, images, launcher, actions }.render()?))
}

/// The texts the bookmarklet shows on the other site, in the language of the dashboard.
#[derive(Debug, serde::Serialize)]
pub struct BookmarkletTexts<'a> {
    /// The box's heading.
    pub select: &'a str,
    /// When the page has no image large enough.
    pub none: &'a str,
    /// The close button's label.
    pub close: &'a str,
}

/// The bookmarklet's `javascript:` address: it hands `texts` to the page and loads
/// `bookmarklet.js` from this site (its address from `site.base_url` or the request, never a
/// fixed host) the first time, and shows the images again after that.
pub fn launcher(origin: &str, texts: &BookmarkletTexts<'_>) -> String {
    let script = format!("{}/static/bookmarks/bookmarklet.js", origin.trim_end_matches('/'));
    // JSON is a JavaScript literal; `%` would be read as an escape of the `javascript:` URL.
    let texts = serde_json::to_string(texts).unwrap_or_else(|_| "{}".into()).replace('%', "\\u0025");
    format!(
        "javascript:(function(){{window.quartetBookmarkletTexts={texts};\
         if(!window.quartetBookmarklet){{var s=document.createElement('script');\
         s.src='{script}?r='+Math.floor(Math.random()*1e16);document.body.appendChild(s);\
         window.quartetBookmarklet=true;}}else{{window.quartetBookmarkletLaunch();}}}})();"
    )
}

/// The last [`STREAM_LENGTH`] actions of the people `me` follows, or of everyone but `me` when
/// they follow nobody: one statement for the actions, then one each for their users, photos,
/// content types, images and users targeted.
pub async fn stream(ctx: &PageContext, me: i64) -> Result<Vec<ActionItem>> {
    let core = ctx.core();
    let sql = format!(
        "SELECT * FROM actions_action WHERE user_id <> ? AND (NOT EXISTS \
         (SELECT 1 FROM account_contact WHERE user_from_id = ?) OR user_id IN \
         (SELECT user_to_id FROM account_contact WHERE user_from_id = ?)) ORDER BY created DESC, id DESC LIMIT {STREAM_LENGTH}"
    );
    let actions: Vec<action::Model> = action::Entity::find()
        .from_raw_sql(statement(&core.db, &sql, vec![me.into(), me.into(), me.into()]))
        .all(&core.db)
        .await?;
    if actions.is_empty() {
        return Ok(Vec::new());
    }
    let actor_ids: Vec<i64> = actions.iter().map(|a| a.user_id).collect();
    let actors: Vec<user::Model> = user::Entity::find().filter(user::Column::Id.is_in(actor_ids)).all(&core.db).await?;
    let photos: HashMap<i64, String> = {
        let persons = people(core, actors.clone()).await?;
        actors.iter().zip(persons).map(|(u, p)| (u.id, p.photo_path)).collect()
    };
    let actors: HashMap<i64, user::Model> = actors.into_iter().map(|u| (u.id, u)).collect();
    let ct_ids: Vec<i64> = actions.iter().filter_map(|a| a.target_ct_id).collect();
    let labels: HashMap<i64, String> = if ct_ids.is_empty() {
        HashMap::new()
    } else {
        content_type::Entity::find()
            .filter(content_type::Column::Id.is_in(ct_ids))
            .all(&core.db)
            .await?
            .into_iter()
            .map(|ct| (ct.id, ct.label()))
            .collect()
    };
    let targets_of = |label: &str| -> Vec<i64> {
        actions
            .iter()
            .filter(|a| a.target_ct_id.and_then(|ct| labels.get(&ct)).is_some_and(|l| l == label))
            .filter_map(|a| a.target_id)
            .collect()
    };
    let (image_ids, user_ids) = (targets_of(IMAGE_LABEL), targets_of(USER_LABEL));
    let images: HashMap<i64, image::Model> = if image_ids.is_empty() {
        HashMap::new()
    } else {
        image::Entity::find()
            .filter(image::Column::Id.is_in(image_ids))
            .all(&core.db)
            .await?
            .into_iter()
            .map(|i| (i.id, i))
            .collect()
    };
    let users: HashMap<i64, user::Model> = if user_ids.is_empty() {
        HashMap::new()
    } else {
        user::Entity::find()
            .filter(user::Column::Id.is_in(user_ids))
            .all(&core.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect()
    };
    let tr = ctx.tr();
    let now: DateTime<Utc> = core.now();
    Ok(actions
        .into_iter()
        .filter_map(|a| {
            let actor = actors.get(&a.user_id)?;
            let label = a.target_ct_id.and_then(|ct| labels.get(&ct)).map(String::as_str);
            let (target, target_image) = match (label, a.target_id) {
                (Some(IMAGE_LABEL), Some(id)) => match images.get(&id) {
                    Some(i) => {
                        (Some((i.title.clone(), detail_path(core, i))), thumbnails::url(&i.image, sizes::STREAM))
                    }
                    None => (None, String::new()),
                },
                (Some(USER_LABEL), Some(id)) => {
                    (users.get(&id).map(|u| (shown_name(u), profile_path(core, &u.username))), String::new())
                }
                _ => (None, String::new()),
            };
            Some(ActionItem {
                actor: shown_name(actor),
                actor_path: profile_path(core, &actor.username),
                actor_photo: photos
                    .get(&actor.id)
                    .filter(|p| !p.is_empty())
                    .map(|p| thumbnails::url(p, sizes::STREAM))
                    .unwrap_or_default(),
                verb: tr.t(&a.verb).to_owned(),
                target,
                target_image,
                since: timesince(a.created, now, &tr),
            })
        })
        .collect())
}
