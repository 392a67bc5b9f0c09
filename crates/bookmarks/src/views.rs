//! The image pages: bookmark an image (`/images/create/`), its page (`/images/detail/<id>/<slug>/`,
//! counting a view each time), like or unlike it (`/images/like/`, JSON), the list of every
//! image (`/images/`, eight a page, with the fragment infinite scroll asks for) and the ten most
//! viewed (`/images/ranking/`).

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use quartet_kernel::auth::LoginRequired;
use quartet_kernel::auth::models::user;
use quartet_kernel::forms::{Bound, FieldKind, FieldSpec, Form, FormData, FormField, slugify};
use quartet_kernel::http::fetch::{FetchError, SafeClient};
use quartet_kernel::media;
use quartet_kernel::session::flash::Flash;
use quartet_kernel::templates::{PageContext, render};
use quartet_kernel::thumbnails;
use quartet_kernel::{Error, Result};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;

use crate::actions::{Target, create_action};
use crate::models::{image, like, verbs};

/// The model label of images, for action targets.
pub const IMAGE_LABEL: &str = "bookmarks.image";

/// Extensions a bookmarked image's address may end with.
pub const EXTENSIONS: [&str; 4] = ["jpg", "jpeg", "png", "webp"];

/// The SSRF-safe client of image fetches, made from `[bookmarks]` on first use (one per site).
#[derive(Default)]
pub struct ImageFetcher(std::sync::OnceLock<SafeClient>);

impl ImageFetcher {
    /// The client, made from the site's settings the first time.
    pub fn client(&self, core: &quartet_kernel::app::CoreState) -> &SafeClient {
        self.0.get_or_init(|| SafeClient::new(crate::settings::of(core).fetch_policy()))
    }
}

/// The bookmark form (the reference's `ImageCreateForm`): the title, the image's address (a
/// hidden field filled by the bookmarklet) and a description.
#[derive(Debug, Deserialize)]
pub struct ImageForm {
    /// The title.
    pub title: String,
    /// The image's address.
    pub url: String,
    /// The description, or empty.
    pub description: String,
}

impl Form for ImageForm {
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::text("title", "Title").max_length(200),
        FieldSpec::of(FieldKind::Hidden, "url", "Url").max_length(2000),
        FieldSpec::of(FieldKind::Textarea, "description", "Description").optional(),
    ];
}

/// Whether the address's path ends with an image extension (the reference's `clean_url`, on
/// the path only, so a query string cannot pass for one).
pub fn has_image_extension(address: &str) -> bool {
    let path = url::Url::parse(address.trim()).map(|u| u.path().to_owned()).unwrap_or_default();
    path.rsplit_once('.').is_some_and(|(_, ext)| EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

#[derive(Template)]
#[template(path = "images/image/create.html")]
struct CreatePage {
    ctx: PageContext,
    errors: Vec<String>,
    fields: Vec<FormField>,
    url: String,
    bound: bool,
}

fn create_page(ctx: PageContext, form: &Bound<ImageForm>, url: String) -> Result<Response> {
    let fields = form.fields(&ctx.tr());
    let (bound, errors) = (form.is_bound(), form.non_field_errors().to_vec());
    render(&CreatePage { ctx, errors, fields, url, bound })
}

/// Binds the form and checks the address's extension.
fn bind(ctx: &PageContext, data: &FormData) -> Bound<ImageForm> {
    let tr = ctx.tr();
    let mut form = Bound::<ImageForm>::bind(data, &tr);
    let url = data.get("url").unwrap_or_default();
    if !url.is_empty() && !has_image_extension(url) {
        // The address is a hidden field: its errors are the form's.
        form.add_form_error(tr.t("The given URL does not match valid image extensions.").to_owned());
    }
    form
}

/// `GET /images/create/?url=…&title=…`: the form, filled by the bookmarklet.
pub async fn create_form(
    LoginRequired(_user): LoginRequired,
    ctx: PageContext,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response> {
    let data = FormData::from_pairs(query);
    let url = data.get("url").unwrap_or_default().to_owned();
    // Opened by the bookmarklet, the form is bound (and shows what is wrong with the image's
    // address); opened by hand, it explains how to use the bookmarklet.
    let form = if data.get("url").is_none() && data.get("title").is_none() { Bound::new() } else { bind(&ctx, &data) };
    create_page(ctx, &form, url)
}

/// `POST /images/create/`: fetches the image (SSRF-safe, within the hourly limit), stores a
/// re-encoded copy under a name of our own, records the bookmark and its action.
pub async fn create_submit(
    LoginRequired(user): LoginRequired,
    ctx: PageContext,
    flash: Flash,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let tr = ctx.tr();
    let mut form = bind(&ctx, &data);
    let url = data.get("url").unwrap_or_default().to_owned();
    let Some(valid) = form.valid() else {
        return create_page(ctx, &form, url);
    };
    let (title, description, address) = (valid.title.clone(), valid.description.clone(), valid.url.clone());
    let settings = crate::settings::of(&core);
    let key = format!("bookmarks:fetch:user:{}", user.id);
    let hour = chrono::Duration::hours(1);
    if core.limiter.take(&key, settings.fetches_per_user_per_hour, hour, core.now()).await?.is_err() {
        tracing::warn!(target: "quartet::bookmarks", user_id = user.id, "image fetch refused: hourly limit reached");
        form.add_form_error(
            tr.t("You have bookmarked too many images in the last hour. Please try again later.").to_owned(),
        );
        return create_page(ctx, &form, url);
    }
    let fetcher = core.service::<ImageFetcher>().ok_or_else(|| Error::Internal(anyhow::anyhow!("no image fetcher")))?;
    let fetched = match fetcher.client(&core).get(&address).await {
        Ok(fetched) => fetched,
        Err(e) => {
            tracing::info!(target: "quartet::bookmarks", user_id = user.id, error = %e, "image fetch refused");
            form.add_form_error(fetch_message(&tr, &e));
            return create_page(ctx, &form, url);
        }
    };
    let stored = match media::store_image(&core, &fetched.bytes, "images").await {
        Ok(path) => path,
        Err(e) => {
            form.add_form_error(e.message(&tr));
            return create_page(ctx, &form, url);
        }
    };
    let tx = core.db.begin().await?;
    let slug = slugify(&title);
    let saved = image::ActiveModel {
        user_id: Set(user.id),
        title: Set(title),
        slug: Set(slug),
        url: Set(address),
        image: Set(stored),
        description: Set(description),
        created: Set(core.now()),
        total_likes: Set(0),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    create_action(&tx, core.now(), user.id, verbs::BOOKMARKED, Some(Target { label: IMAGE_LABEL, id: saved.id }))
        .await?;
    tx.commit().await?;
    flash.success(tr.t("Image added successfully").to_owned()).await?;
    Ok(Redirect::to(&detail_path(&core, &saved)).into_response())
}

/// The form's message for a refused fetch, in the visitor's language.
fn fetch_message(tr: &quartet_kernel::i18n::Tr, error: &FetchError) -> String {
    match error {
        FetchError::NotAUrl => tr.t("Enter a valid URL.").to_owned(),
        FetchError::Scheme => tr.t("Only http and https addresses can be fetched.").to_owned(),
        FetchError::Forbidden { host } => {
            tr.f("That address cannot be fetched: {host} is not a public Internet address.", &[("host", host)])
        }
        FetchError::NotFound { host } => tr.f("The address {host} could not be found.", &[("host", host)]),
        FetchError::TooManyRedirects { max } => {
            tr.f("The address redirected too many times (at most {max}).", &[("max", max)])
        }
        FetchError::TooLarge { max_mb } => tr.f("The file is too large (at most {max_mb} MB).", &[("max_mb", max_mb)]),
        FetchError::Timeout { seconds } => {
            tr.f("The address took too long to answer (at most {seconds} s).", &[("seconds", seconds)])
        }
        FetchError::Status { status } => tr.f("The address answered with HTTP status {status}.", &[("status", status)]),
        FetchError::Network => tr.t("The address could not be fetched.").to_owned(),
    }
}

/// `/images/detail/<id>/<slug>/`.
pub fn detail_path(core: &quartet_kernel::app::CoreState, image: &image::Model) -> String {
    core.url_with("bookmarks:detail", &[&image.id, &image.slug])
}

/// A person who likes an image, as its page lists them.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct Liker {
    id: i64,
    name: String,
    path: String,
}

#[derive(Template)]
#[template(path = "images/image/detail.html")]
struct DetailPage {
    ctx: PageContext,
    image: image::Model,
    image_url: String,
    image_srcset: String,
    views: i64,
    likers: Vec<Liker>,
    liked: bool,
}

/// The cache namespaces of an image's page: the images and likes, and the people who like it
/// (their names).
const DETAIL_CACHES: &[&str] = &[crate::CACHE, "accounts"];

/// An image and the people who like it, first liker first.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct Detail {
    image: image::Model,
    likers: Vec<Liker>,
}

async fn load_detail(db: &quartet_kernel::db::Db, id: i64) -> Result<Option<Detail>> {
    let Some(image) = image::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
    let liker_ids: Vec<i64> = like::Entity::find()
        .filter(like::Column::ImageId.eq(id))
        .order_by_asc(like::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.user_id)
        .collect();
    let mut users: Vec<user::Model> =
        user::Entity::find().filter(user::Column::Id.is_in(liker_ids.iter().copied())).all(db).await?;
    let order: std::collections::HashMap<i64, usize> = liker_ids.iter().enumerate().map(|(k, id)| (*id, k)).collect();
    users.sort_by_key(|u| order.get(&u.id).copied());
    let likers = users
        .into_iter()
        .map(|u| Liker {
            id: u.id,
            path: format!("/account/users/{}/", u.username),
            name: if u.first_name.is_empty() { u.username } else { u.first_name },
        })
        .collect();
    Ok(Some(Detail { image, likers }))
}

/// `GET /images/detail/<id>/<slug>/` (public): the image, its likes and views; each visit
/// counts a view (`image:{id}:views`) and ranks it (`image_ranking`). The image and its likers
/// come from the cache.
pub async fn detail(ctx: PageContext, Path((id, _slug)): Path<(String, String)>) -> Result<Response> {
    let core = ctx.core().clone();
    let id = quartet_kernel::urls::path_id(&id)?;
    let detail = core.cache.get_or_load_for(DETAIL_CACHES, format!("image:{id}"), || load_detail(&core.db, id)).await?;
    let Detail { image, likers } = Option::<Detail>::clone(&detail).ok_or(Error::NotFound)?;
    let liked = ctx.user.as_ref().is_some_and(|me| likers.iter().any(|u| u.id == me.id));
    let (image_url, image_srcset) =
        (thumbnails::url(&image.image, sizes::DETAIL), thumbnails::srcset(&image.image, sizes::DETAIL));
    // Counted last, when nothing is left to wait for: a request the client gives up earlier
    // (and whose page is never made) counts no view.
    if let Err(e) = core.kv.zincrby("image_ranking", &id.to_string(), 1.0).await {
        tracing::warn!(target: "quartet::bookmarks", error = %e, "view not ranked");
    }
    let views = core.kv.incr(&format!("image:{id}:views"), 1).await.unwrap_or_else(|e| {
        tracing::warn!(target: "quartet::bookmarks", error = %e, "view not counted");
        0
    });
    render(&DetailPage { ctx, image, image_url, image_srcset, views, likers, liked })
}

/// The `id` and `action` fields of the like and follow forms, or `None` when one is missing
/// or the id is not a number (both then answer `{"status": "error"}`).
pub fn id_and_action(data: &FormData) -> Option<(i64, &str)> {
    Some((data.get("id")?.trim().parse().ok()?, data.get("action")?))
}

/// `POST /images/like/`: `like` adds the signed-in user's like (and the action), anything else
/// removes it; `{"status": "ok"}`, or `{"status": "error"}` for an unknown image.
pub async fn like(LoginRequired(user): LoginRequired, ctx: PageContext, data: FormData) -> Result<Response> {
    let core = ctx.core();
    let Some((id, action)) = id_and_action(&data) else {
        return Ok(status("error"));
    };
    if image::Entity::find_by_id(id).one(&core.db).await?.is_none() {
        return Ok(status("error"));
    }
    let tx = core.db.begin().await?;
    if action == "like" {
        like::Entity::insert(like::ActiveModel { image_id: Set(id), user_id: Set(user.id), ..Default::default() })
            .on_conflict_do_nothing_on([like::Column::ImageId, like::Column::UserId])
            .exec(&tx)
            .await?;
        create_action(&tx, core.now(), user.id, verbs::LIKES, Some(Target { label: IMAGE_LABEL, id })).await?;
    } else {
        like::Entity::delete_many()
            .filter(like::Column::ImageId.eq(id))
            .filter(like::Column::UserId.eq(user.id))
            .exec(&tx)
            .await?;
    }
    core.emit(&tx, &crate::likes::LikesChanged { image_ids: vec![id] }).await?;
    tx.commit().await?;
    Ok(status("ok"))
}

/// The reference's JSON answer: `{"status": "ok"}` or `{"status": "error"}`.
pub fn status(value: &'static str) -> Response {
    Json(serde_json::json!({ "status": value })).into_response()
}

// ---------------------------------------------------------------- list and ranking

/// Images a list page shows.
pub const IMAGES_PER_PAGE: u64 = 8;

/// The sizes of thumbnails the bookmarks show (each also at twice the size for dense screens):
/// the image page 300 wide, lists 300×300, people 180×180, the activity stream 80×80
/// (the reference's sizes).
pub mod sizes {
    use quartet_kernel::thumbnails::ThumbnailSize;

    /// The image page.
    pub const DETAIL: ThumbnailSize = ThumbnailSize::new(300, 0);
    /// Image lists.
    pub const LIST: ThumbnailSize = ThumbnailSize::new(300, 300);
    /// People lists and profiles.
    pub const PERSON: ThumbnailSize = ThumbnailSize::new(180, 180);
    /// The activity stream.
    pub const STREAM: ThumbnailSize = ThumbnailSize::new(80, 80);
    /// All of them.
    pub const ALL: [ThumbnailSize; 4] = [DETAIL, LIST, PERSON, STREAM];
}

/// An image as lists show it.
pub struct ImageCard {
    /// Its page.
    pub path: String,
    /// Its 300×300 thumbnail.
    pub src: String,
    /// The thumbnail at 1x and 2x.
    pub srcset: String,
    /// The title.
    pub title: String,
}

/// Cards for `images`.
pub fn cards(core: &quartet_kernel::app::CoreState, images: Vec<image::Model>) -> Vec<ImageCard> {
    images
        .into_iter()
        .map(|i| ImageCard {
            path: detail_path(core, &i),
            src: thumbnails::url(&i.image, sizes::LIST),
            srcset: thumbnails::srcset(&i.image, sizes::LIST),
            title: i.title,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "images/image/list.html")]
struct ListPage {
    ctx: PageContext,
    images: Vec<ImageCard>,
}

#[derive(Template)]
#[template(path = "images/image/list_images.html")]
struct ListFragment {
    images: Vec<ImageCard>,
}

/// `GET /images/?page=N[&images_only=1]`: every image, newest first, eight a page. A page that
/// is not a number is the first; one past the end is the last, or, for the fragment
/// (`images_only`, what infinite scroll asks for), an empty answer that says "no more".
pub async fn image_list(
    LoginRequired(_me): LoginRequired,
    ctx: PageContext,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response> {
    use quartet_kernel::pagination::{PageError, Paginator};
    use sea_orm::{PaginatorTrait, QuerySelect};
    let core = ctx.core().clone();
    let data = FormData::from_pairs(query);
    let images_only = data.get("images_only").is_some_and(|v| !v.is_empty());
    let count = image::Entity::find().count(&core.db).await?;
    let paginator = Paginator::new(count, IMAGES_PER_PAGE);
    let page = match paginator.page(data.get("page")) {
        Ok(page) => page,
        Err(PageError::Empty) if images_only => return Ok(String::new().into_response()),
        Err(_) => paginator.get_page(data.get("page")),
    };
    let images = image::Entity::find()
        .order_by_desc(image::Column::Created)
        .order_by_desc(image::Column::Id)
        .offset(page.offset())
        .limit(page.limit())
        .all(&core.db)
        .await?;
    let images = cards(&core, images);
    if images_only {
        let html = ListFragment { images }.render().map_err(|e| Error::Internal(e.into()))?;
        return Ok(axum::response::Html(html).into_response());
    }
    render(&ListPage { ctx, images })
}

#[derive(Template)]
#[template(path = "images/image/ranking.html")]
struct RankingPage {
    ctx: PageContext,
    images: Vec<ImageCard>,
}

/// `GET /images/ranking/`: the ten most viewed images, most viewed first (`image_ranking`).
pub async fn image_ranking(LoginRequired(_me): LoginRequired, ctx: PageContext) -> Result<Response> {
    let core = ctx.core().clone();
    let ranked: Vec<i64> = match core.kv.ztop("image_ranking", 10).await {
        Ok(top) => top.into_iter().filter_map(|(member, _)| member.parse().ok()).collect(),
        Err(e) => {
            // A stopped Redis shows an empty ranking, not an error page.
            tracing::warn!(target: "quartet::bookmarks", error = %e, "ranking not read");
            Vec::new()
        }
    };
    let mut images = image::Entity::find().filter(image::Column::Id.is_in(ranked.clone())).all(&core.db).await?;
    images.sort_by_key(|i| ranked.iter().position(|id| *id == i.id));
    let images = cards(&core, images);
    render(&RankingPage { ctx, images })
}
