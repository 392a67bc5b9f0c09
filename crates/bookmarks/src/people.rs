//! The people pages (reference-apps.md §2.4): every active user, one user's profile with their
//! followers and images, and following by POST returning JSON.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use quartet_kernel::auth::LoginRequired;
use quartet_kernel::auth::models::{profile, user};
use quartet_kernel::forms::FormData;
use quartet_kernel::templates::{PageContext, render};
use quartet_kernel::thumbnails;
use quartet_kernel::{Error, Result};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::actions::{Target, create_action};
use crate::models::{contact, image, verbs};
use crate::views::{ImageCard, cards, id_and_action, sizes, status};

/// The model label of users, for action targets.
pub const USER_LABEL: &str = "accounts.user";

/// A person as the lists show them.
pub struct Person {
    /// The name shown: the first name, or the username.
    pub name: String,
    /// Their profile page.
    pub path: String,
    /// Their photo's 180×180 thumbnail, or empty.
    pub photo: String,
    /// The thumbnail at 1x and 2x, or empty.
    pub photo_srcset: String,
    /// Their photo as stored, or empty (other sizes).
    pub photo_path: String,
}

/// The name the reference shows for a user: the first name, else the username.
pub fn shown_name(user: &user::Model) -> String {
    if user.first_name.is_empty() { user.username.clone() } else { user.first_name.clone() }
}

/// `/account/users/<username>/`.
pub fn profile_path(core: &quartet_kernel::app::CoreState, username: &str) -> String {
    core.url_with("bookmarks:user-detail", &[&username])
}

/// `users` as people, with their photos (one query for all of them).
pub async fn people(core: &quartet_kernel::app::CoreState, users: Vec<user::Model>) -> Result<Vec<Person>> {
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let photos: std::collections::HashMap<i64, String> = profile::Entity::find()
        .filter(profile::Column::UserId.is_in(ids))
        .all(&core.db)
        .await?
        .into_iter()
        .filter(|p| !p.photo.is_empty())
        .map(|p| (p.user_id, p.photo))
        .collect();
    Ok(users
        .into_iter()
        .map(|u| {
            let stored = photos.get(&u.id).cloned().unwrap_or_default();
            let (photo, photo_srcset) = if stored.is_empty() {
                (String::new(), String::new())
            } else {
                (thumbnails::url(&stored, sizes::PERSON), thumbnails::srcset(&stored, sizes::PERSON))
            };
            Person {
                path: profile_path(core, &u.username),
                photo,
                photo_srcset,
                photo_path: stored,
                name: shown_name(&u),
            }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "account/user/list.html")]
struct ListPage {
    ctx: PageContext,
    people: Vec<Person>,
}

/// `GET /account/users/`: every active user (no pagination, as the reference).
pub async fn user_list(LoginRequired(_me): LoginRequired, ctx: PageContext) -> Result<Response> {
    let core = ctx.core().clone();
    let users = user::Entity::find()
        .filter(user::Column::IsActive.eq(true))
        .order_by_asc(user::Column::Username)
        .all(&core.db)
        .await?;
    let people = people(&core, users).await?;
    render(&ListPage { ctx, people })
}

#[derive(Template)]
#[template(path = "account/user/detail.html")]
struct DetailPage {
    ctx: PageContext,
    person: Person,
    user_id: i64,
    followers: u64,
    following: bool,
    is_me: bool,
    images: Vec<ImageCard>,
}

/// `GET /account/users/<username>/`: a profile, with the follower count, the follow button and
/// the images the user bookmarked; 404 for an inactive or unknown user.
pub async fn user_detail(
    LoginRequired(me): LoginRequired,
    ctx: PageContext,
    Path(username): Path<String>,
) -> Result<Response> {
    let core = ctx.core().clone();
    let found = user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .filter(user::Column::IsActive.eq(true))
        .one(&core.db)
        .await?
        .ok_or(Error::NotFound)?;
    let followers = contact::Entity::find().filter(contact::Column::UserToId.eq(found.id)).count(&core.db).await?;
    let following = contact::Entity::find()
        .filter(contact::Column::UserFromId.eq(me.id))
        .filter(contact::Column::UserToId.eq(found.id))
        .count(&core.db)
        .await?
        > 0;
    let images = image::Entity::find()
        .filter(image::Column::UserId.eq(found.id))
        .order_by_desc(image::Column::Created)
        .order_by_desc(image::Column::Id)
        .all(&core.db)
        .await?;
    let images = cards(&core, images);
    let user_id = found.id;
    let is_me = found.id == me.id;
    let person = people(&core, vec![found]).await?.pop().ok_or(Error::NotFound)?;
    render(&DetailPage { ctx, person, user_id, followers, following, is_me, images })
}

/// `POST /account/users/follow/`: `id` and `action` (`follow`, anything else unfollows):
/// `{"status": "ok"}`, or `{"status": "error"}` for an unknown or inactive user, oneself, or
/// missing fields.
pub async fn user_follow(LoginRequired(me): LoginRequired, ctx: PageContext, data: FormData) -> Result<Response> {
    let core = ctx.core();
    let Some((id, action)) = id_and_action(&data) else {
        return Ok(status("error"));
    };
    let target = user::Entity::find_by_id(id).filter(user::Column::IsActive.eq(true)).one(&core.db).await?;
    if target.is_none() || id == me.id {
        return Ok(status("error"));
    }
    let tx = core.db.begin().await?;
    if action == "follow" {
        contact::Entity::insert(contact::ActiveModel {
            user_from_id: Set(me.id),
            user_to_id: Set(id),
            created: Set(core.now()),
            ..Default::default()
        })
        .on_conflict_do_nothing_on([contact::Column::UserFromId, contact::Column::UserToId])
        .exec(&tx)
        .await?;
        create_action(&tx, core.now(), me.id, verbs::FOLLOWING, Some(Target { label: USER_LABEL, id })).await?;
    } else {
        contact::Entity::delete_many()
            .filter(contact::Column::UserFromId.eq(me.id))
            .filter(contact::Column::UserToId.eq(id))
            .exec(&tx)
            .await?;
    }
    tx.commit().await?;
    Ok(status("ok"))
}
