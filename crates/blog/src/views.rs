//! The blog's pages: lists (all, by tag), detail with comments, share by e-mail, feed, search
//! and favourites (see docs/BLOG.md).

use askama::Template;
use axum::extract::{Path, RawQuery};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use quartet_kernel::auth::LoginRequired;
use quartet_kernel::forms::{Bound, BoundForm, FieldKind, FieldSpec, Form, FormData, FormField};
use quartet_kernel::http::ClientIp;
use quartet_kernel::http::host::RequestHost;
use quartet_kernel::i18n::format_datetime;
use quartet_kernel::mail::Email;
use quartet_kernel::pagination::{Page, Paginator};
use quartet_kernel::session::flash::Flash;
use quartet_kernel::templates::{PageContext, render};
use quartet_kernel::urls::path_id;
use quartet_kernel::{Error, Result};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};

use crate::markdown;
use crate::models::{comment, favourite, post, tag};
use crate::queries::{self, Sidebar};
use crate::search;

/// Posts per list page.
pub const POSTS_PER_PAGE: u64 = 3;
/// Search results per page.
pub const RESULTS_PER_PAGE: u64 = 10;
/// Words of a post shown in lists (`truncatewords_html:30`).
const EXCERPT_WORDS: usize = 30;

/// The cache namespace of the blog's posts and tags: a committed change to them makes it
/// stale (see [`crate::BlogApp`]'s models).
pub const CACHE: &str = "blog";
/// The cache namespace of the comments: a comment makes the comment pages be made again, not
/// the lists.
pub const COMMENTS_CACHE: &str = "blog.comments";

/// A copy of the value cached under `key` in the blog's namespace, made by `load` when missing
/// or stale.
async fn cached<T, F, Fut>(core: &quartet_kernel::app::CoreState, key: String, load: F) -> Result<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    F: FnOnce() -> Fut + Send,
    Fut: std::future::Future<Output = Result<T>> + Send,
{
    Ok(T::clone(&*core.cache.get_or_load_in(CACHE, key, load).await?))
}

/// A copy of the value cached under `key` among the comments, made by `load` when missing or
/// stale.
async fn comments_cached<T, F, Fut>(core: &quartet_kernel::app::CoreState, key: String, load: F) -> Result<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    F: FnOnce() -> Fut + Send,
    Fut: std::future::Future<Output = Result<T>> + Send,
{
    Ok(T::clone(&*core.cache.get_or_load_in(COMMENTS_CACHE, key, load).await?))
}

/// The sidebar's data, from the cache.
async fn sidebar_data(core: &quartet_kernel::app::CoreState) -> Result<Sidebar> {
    let sidebar = core.cache.get_or_load_for(&[CACHE, COMMENTS_CACHE], "sidebar", || async {
        Ok::<_, Error>(with_urls(core, queries::sidebar(&core.db).await?))
    });
    Ok(Sidebar::clone(&*sidebar.await?))
}

/// The sidebar with its posts' pages filled in: made once per cached copy, not on every page
/// that shows it.
fn with_urls(core: &quartet_kernel::app::CoreState, mut sidebar: Sidebar) -> Sidebar {
    for link in sidebar.latest.iter_mut().chain(sidebar.most_commented.iter_mut()) {
        link.url = link.path(core);
    }
    sidebar
}

/// The sidebar (the reference's `blog_tags` fragments).
#[derive(Template)]
#[template(path = "blog/sidebar.html")]
struct SidebarHtml<'a> {
    ctx: &'a PageContext,
    sidebar: Sidebar,
}

/// The sidebar's HTML: a cached fragment per language and per "signed in" (the favourites
/// link), made anew when posts or comments change.
async fn sidebar(ctx: &PageContext) -> Result<String> {
    sidebar_from(ctx, None).await
}

/// [`sidebar`] on a page that has just read the sidebar's data with its own (`read`), so the
/// fragment, if it must be made again, is made from it.
async fn sidebar_from(ctx: &PageContext, read: Option<Sidebar>) -> Result<String> {
    let core = ctx.core();
    let signed_in = ctx.user.is_some();
    core.cache
        .fragment(
            "blog.sidebar",
            &[&ctx.lang(), &signed_in],
            &[CACHE, COMMENTS_CACHE],
            core.cache.timeout(),
            || async {
                let sidebar = match read {
                    Some(sidebar) => with_urls(core, sidebar),
                    None => sidebar_data(core).await?,
                };
                Ok::<_, Error>(SidebarHtml { ctx, sidebar }.render()?)
            },
        )
        .await
}

/// A post as a list shows it.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct PostCard {
    /// The post.
    pub post: post::Model,
    /// Its page.
    pub url: String,
    /// Its tags, by name.
    pub tags: Vec<tag::Model>,
    /// The author's username.
    pub author: String,
    /// "Nov. 24, 2026, 10:30 a.m."
    pub published: String,
    /// The first words as safe HTML (empty where a page shows no excerpt).
    pub excerpt: String,
}

/// Cards for `posts` with their tags and authors (two queries whatever their number) and,
/// when `excerpt_words` is given, the start of each body.
async fn cards(ctx: &PageContext, posts: Vec<post::Model>, excerpt_words: Option<usize>) -> Result<Vec<PostCard>> {
    let db = &ctx.core().db;
    let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
    let mut tags = queries::tags_of(db, &ids).await?;
    let authors = queries::author_names(db, &posts.iter().map(|p| p.author_id).collect::<Vec<_>>()).await?;
    Ok(posts
        .into_iter()
        .map(|post| {
            let (tags, author) = (tags.remove(&post.id).unwrap_or_default(), authors.get(&post.author_id).cloned());
            card(ctx, post, author.unwrap_or_default(), tags, excerpt_words)
        })
        .collect())
}

/// A post's card, from the post, its author's username and its tags.
fn card(
    ctx: &PageContext,
    post: post::Model,
    author: String,
    tags: Vec<tag::Model>,
    excerpt_words: Option<usize>,
) -> PostCard {
    PostCard {
        url: post.path(ctx.core()),
        tags,
        author,
        published: format_datetime(post.publish, ctx.lang()),
        excerpt: excerpt_words.map(|n| markdown::to_html_truncated(&post.body, n)).unwrap_or_default(),
        post,
    }
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let query = query?;
    FormData::from_urlencoded(query.as_bytes()).get(name).map(ToOwned::to_owned)
}

// ---------------------------------------------------------------- list

#[derive(Template)]
#[template(path = "blog/post/list.html")]
struct ListPage {
    ctx: PageContext,
    sidebar: String,
    posts: Vec<PostCard>,
    page: Page,
    tag: Option<tag::Model>,
}

/// `/blog/`: published posts, three per page. A page that is not a number shows the first;
/// one past the end shows the last.
pub async fn post_list(ctx: PageContext, RawQuery(query): RawQuery) -> Result<Response> {
    list(ctx, None, query).await
}

/// `/blog/tag/<slug>/`: the same list for one tag (404 for an unknown tag).
pub async fn post_list_by_tag(
    ctx: PageContext,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let core = ctx.core();
    let tag = cached(core, format!("tag:{slug}"), || async { Ok(queries::tag_by_slug(&core.db, &slug).await?) })
        .await?
        .ok_or(Error::NotFound)?;
    list(ctx, Some(tag), query).await
}

/// A list page as cached: the list's size and the page's cards.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct ListData {
    total: u64,
    posts: Vec<PostCard>,
}

async fn list(ctx: PageContext, tag: Option<tag::Model>, query: Option<String>) -> Result<Response> {
    let core = ctx.core();
    let tag_id = tag.as_ref().map(|t| t.id);
    let raw = query_param(query.as_deref(), "page");
    // The page, its count and the sidebar are read in one statement; the count is only known
    // afterwards, so a page past the end reads the last page with a second one.
    let requested = Paginator::requested_number(raw.as_deref());
    let read_sidebar = std::sync::OnceLock::new();
    let data = cached(core, format!("list:{tag_id:?}:{requested}:{}", ctx.lang()), || async {
        let offset = Paginator::offset_of(requested, POSTS_PER_PAGE);
        let rows = queries::list_page(&core.db, tag_id, offset, POSTS_PER_PAGE, true).await?;
        let page = Paginator::new(rows.total, POSTS_PER_PAGE).get_page(raw.as_deref());
        if let Some(sidebar) = rows.sidebar {
            let _ = read_sidebar.set(sidebar);
        }
        let posts = if page.number == requested {
            rows.posts
        } else {
            queries::list_page(&core.db, tag_id, page.offset(), page.limit(), false).await?.posts
        };
        let posts = posts.into_iter().map(|(post, author, tags)| card(&ctx, post, author, tags, Some(EXCERPT_WORDS)));
        Ok(ListData { total: rows.total, posts: posts.collect() })
    })
    .await?;
    let page = Paginator::new(data.total, POSTS_PER_PAGE).get_page(raw.as_deref()).with_query(query.as_deref());
    let sidebar = sidebar_from(&ctx, read_sidebar.into_inner()).await?;
    render(&ListPage { ctx, sidebar, posts: data.posts, page, tag })
}

// ---------------------------------------------------------------- detail

/// The comment form (the reference's `CommentForm`: the comment's name, e-mail and body).
#[derive(Debug, serde::Deserialize)]
pub struct CommentForm {
    /// The commenter's name.
    pub name: String,
    /// The commenter's e-mail address.
    pub email: String,
    /// The comment, at most `blog.comment_max_length` characters.
    pub body: String,
}

impl Form for CommentForm {
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::text("name", "Name").max_length(80).autocomplete("name"),
        FieldSpec::of(FieldKind::Email, "email", "Email").max_length(254).autocomplete("email"),
        FieldSpec::of(FieldKind::Textarea, "body", "Body"),
    ];
}

/// A comment as the page shows it.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct CommentView {
    /// The comment.
    pub comment: comment::Model,
    /// Its position (1, 2, …).
    pub number: usize,
    /// "Nov. 24, 2026, 10:30 a.m."
    pub created: String,
    /// The body with line breaks kept (`linebreaks`), escaped.
    pub paragraphs: Vec<Vec<String>>,
}

fn paragraphs(text: &str) -> Vec<Vec<String>> {
    let normalized = text.replace("\r\n", "\n");
    normalized
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| p.trim().lines().map(ToOwned::to_owned).collect())
        .collect()
}

#[derive(Template)]
#[template(path = "blog/post/detail.html")]
struct DetailPage {
    ctx: PageContext,
    sidebar: String,
    post: PostCard,
    body: String,
    comments: Vec<CommentView>,
    comment_count: u64,
    page: Page,
    fields: Vec<FormField>,
    similar: Vec<PostCard>,
    favourite: Option<bool>,
}

/// One page of a post's active comments, oldest first.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct CommentsPage {
    views: Vec<CommentView>,
    count: u64,
}

/// A form's fields with `name` limited to `max` characters (a limit from the settings).
fn fields_limited(ctx: &PageContext, form: &BoundForm, name: &str, max: usize) -> Vec<FormField> {
    let mut fields = form.fields(&ctx.tr());
    for field in fields.iter_mut().filter(|f| f.name == name) {
        field.max_length = Some(max);
    }
    fields
}

/// The comment form's fields, the body limited to `blog.comment_max_length`.
fn comment_fields(ctx: &PageContext, form: &BoundForm) -> Vec<FormField> {
    fields_limited(ctx, form, "body", crate::settings::of(ctx.core()).comment_max_length)
}

fn parse_date(year: &str, month: &str, day: &str) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
}

/// `/blog/<year>/<month>/<day>/<slug>/`: a published post with its active comments, the
/// comment form and up to four similar posts.
pub async fn post_detail(
    ctx: PageContext,
    Path((year, month, day, slug)): Path<(String, String, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let core = ctx.core();
    let date = parse_date(&year, &month, &day).ok_or(Error::NotFound)?;
    let shown = cached(core, format!("post:{date}:{}:{slug}", ctx.lang()), || async {
        let Some(post) = queries::published_on(&core.db, date, &slug).await? else {
            return Ok(None);
        };
        shown_post(&ctx, post).await.map(Some)
    })
    .await?
    .ok_or(Error::NotFound)?;
    let favourite = match &ctx.user {
        Some(user) => Some(queries::is_favourite(&core.db, user.id, shown.post.post.id).await?),
        None => None,
    };
    let post_id = shown.post.post.id;
    let count = comments_cached(core, format!("count:{post_id}"), || async {
        Ok(queries::count_active_comments(&core.db, post_id).await?)
    })
    .await?;
    let per_page = crate::settings::of(core).comments_per_page as u64;
    let page = Paginator::new(count, per_page)
        .get_page(query_param(query.as_deref(), "page").as_deref())
        .with_query(query.as_deref());
    let comments = comments_cached(core, format!("page:{post_id}:{}:{}", page.number, ctx.lang()), || async {
        let rows = queries::active_comments(&core.db, post_id, page.offset(), page.limit()).await?;
        let first = page.offset() as usize + 1;
        let views = rows
            .into_iter()
            .enumerate()
            .map(|(i, comment)| CommentView {
                number: first + i,
                created: format_datetime(comment.created, ctx.lang()),
                paragraphs: paragraphs(&comment.body),
                comment,
            })
            .collect();
        Ok(CommentsPage { views, count })
    })
    .await?;
    let fields = comment_fields(&ctx, &Bound::<CommentForm>::new());
    let sidebar = sidebar(&ctx).await?;
    let ShownPost { post, body, similar } = shown;
    let CommentsPage { views, count } = comments;
    render(&DetailPage {
        ctx,
        sidebar,
        post,
        body,
        comments: views,
        comment_count: count,
        page,
        fields,
        similar,
        favourite,
    })
}

/// What a post's page shows of the post (not its comments), the same for every visitor.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct ShownPost {
    post: PostCard,
    body: String,
    similar: Vec<PostCard>,
}

async fn shown_post(ctx: &PageContext, post: post::Model) -> Result<ShownPost> {
    let db = &ctx.core().db;
    let similar = queries::similar_posts(db, &post, 4).await?;
    let body = markdown::to_html(&post.body);
    // The post and its similar posts get their tags and authors together.
    let mut similar = cards(ctx, std::iter::once(post).chain(similar).collect(), None).await?;
    let post = similar.remove(0);
    Ok(ShownPost { post, body, similar })
}

// ---------------------------------------------------------------- comment

#[derive(Template)]
#[template(path = "blog/post/comment.html")]
struct CommentPage {
    ctx: PageContext,
    sidebar: String,
    post: post::Model,
    added: Option<comment::Model>,
    fields: Vec<FormField>,
}

/// Adds Django's "at most N characters" error to `name` if its value is longer than `max` (a
/// limit from the settings, so not in the field's declaration).
fn limit_length(form: &mut BoundForm, name: &str, max: usize, tr: &quartet_kernel::i18n::Tr) {
    if !form.has_error(name)
        && let Err(message) = quartet_kernel::forms::clean::max_length(form.value(name), max, tr)
    {
        form.add_error(name, message);
    }
}

/// `POST /blog/<id>/comment/`: adds a comment (405 for other methods). Shows "Your comment has
/// been added." or the form with its errors. The body holds at most `blog.comment_max_length`
/// characters, and one address may post `blog.comments_per_ip_per_hour` comments an hour.
pub async fn post_comment(
    ctx: PageContext,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    data: FormData,
) -> Result<Response> {
    let core = ctx.core().clone();
    let post = queries::published_post(&core.db, path_id(&id)?).await?.ok_or(Error::NotFound)?;
    let tr = ctx.tr();
    let settings = crate::settings::of(&core);
    let mut form = Bound::<CommentForm>::bind(&data, &tr);
    limit_length(&mut form, "body", settings.comment_max_length, &tr);
    let sidebar = sidebar(&ctx).await?;
    let Some(comment) = form.valid() else {
        let fields = comment_fields(&ctx, &form);
        return render(&CommentPage { ctx, sidebar, post, added: None, fields });
    };
    let key = format!("blog:comment:ip:{}", ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string()));
    if let Err(retry_after) =
        core.limiter.take(&key, settings.comments_per_ip_per_hour, chrono::Duration::hours(1), core.now()).await?
    {
        tracing::warn!(target: "quartet::blog", %key, "comment refused: hourly limit reached");
        return Err(Error::TooManyRequests {
            retry_after,
            message: "You have posted too many comments in the last hour. Please try again later.",
        });
    }
    let mut added = comment::ActiveModel {
        post_id: Set(post.id),
        name: Set(comment.name.clone()),
        email: Set(comment.email.clone()),
        body: Set(comment.body.clone()),
        active: Set(true),
        ..Default::default()
    };
    comment::RULES.apply(&mut added, core.now(), true)?;
    let tx = core.db.begin().await?;
    let added = added.insert(&tx).await?;
    crate::counts::changed(&core, &tx, vec![post.id]).await?;
    tx.commit().await?;
    tracing::info!(target: "quartet::blog", post_id = post.id, comment_id = added.id, "comment added");
    render(&CommentPage { ctx, sidebar, post, added: Some(added), fields: Vec::new() })
}

// ---------------------------------------------------------------- share

/// The share form (the reference's `EmailPostForm`).
#[derive(Debug, serde::Deserialize)]
pub struct ShareForm {
    /// The sender's name.
    pub name: String,
    /// The sender's e-mail address.
    pub email: String,
    /// The recipient's e-mail address.
    pub to: String,
    /// The sender's comments, or empty.
    pub comments: String,
}

impl Form for ShareForm {
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::text("name", "Name").max_length(25).autocomplete("name"),
        FieldSpec::of(FieldKind::Email, "email", "Email").autocomplete("email"),
        FieldSpec::of(FieldKind::Email, "to", "To"),
        FieldSpec::of(FieldKind::Textarea, "comments", "Comments").optional(),
    ];
}

#[derive(Template)]
#[template(path = "blog/post/share.html")]
struct SharePage {
    ctx: PageContext,
    sidebar: String,
    post: post::Model,
    fields: Vec<FormField>,
    sent_to: Option<String>,
}

/// With `blog.share_requires_login`, anonymous visitors are sent to the sign-in page.
fn share_login(ctx: &PageContext) -> Result<()> {
    if crate::settings::of(ctx.core()).share_requires_login && ctx.user.is_none() {
        let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", &ctx.path).finish();
        return Err(Error::LoginRequired(format!("{}?{query}", ctx.url("accounts:login"))));
    }
    Ok(())
}

/// The share form's fields, the comments limited to `blog.share_comment_max_length`.
fn share_fields(ctx: &PageContext, form: &BoundForm) -> Vec<FormField> {
    fields_limited(ctx, form, "comments", crate::settings::of(ctx.core()).share_comment_max_length)
}

/// `GET /blog/<id>/share/`: the form to recommend a published post by e-mail.
pub async fn post_share_form(ctx: PageContext, Path(id): Path<String>) -> Result<Response> {
    share_login(&ctx)?;
    let core = ctx.core();
    let post = queries::published_post(&core.db, path_id(&id)?).await?.ok_or(Error::NotFound)?;
    let sidebar = sidebar(&ctx).await?;
    let fields = share_fields(&ctx, &Bound::<ShareForm>::new());
    render(&SharePage { ctx, sidebar, post, fields, sent_to: None })
}

/// The recommendation e-mail, text for text as the reference writes it.
pub fn share_email(post: &post::Model, post_url: &str, name: &str, email: &str, comments: &str, to: &str) -> Email {
    let subject = format!("{name} ({email}) recommends you read {}", post.title);
    let body = format!("Read {} at {post_url}\n\n{name}'s comments: {comments}", post.title);
    Email::new(to, subject, body)
}

/// Sends a recommendation e-mail (queued by the share form).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SharePostJob {
    /// The post.
    pub post_id: i64,
    /// Its absolute address, as the sharer's request named the site.
    pub post_url: String,
    /// The sharer's name.
    pub name: String,
    /// The sharer's address.
    pub email: String,
    /// The sharer's comments.
    pub comments: String,
    /// The recipient.
    pub to: String,
}

#[async_trait::async_trait]
impl quartet_kernel::jobs::Job for SharePostJob {
    const NAME: &'static str = "blog.share_post";
    const QUEUE: &'static str = "mail";

    async fn run(self, ctx: quartet_kernel::jobs::JobContext) -> anyhow::Result<()> {
        let Some(post) = post::Entity::find_by_id(self.post_id).one(&ctx.core().db).await? else {
            tracing::info!(target: "quartet::blog", post_id = self.post_id, "share e-mail not sent: the post is gone");
            return Ok(());
        };
        let email = share_email(&post, &self.post_url, &self.name, &self.email, &self.comments, &self.to);
        ctx.send_email("email", &email).await?;
        Ok(())
    }
}

/// `POST /blog/<id>/share/`: validates the form and queues the e-mail. Each client address
/// may send `blog.share_emails_per_ip_per_hour` e-mails an hour and each recipient receive
/// `blog.share_emails_per_recipient_per_hour` (429 beyond, counted before the e-mail is queued).
pub async fn post_share_submit(
    ctx: PageContext,
    host: RequestHost,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    data: FormData,
) -> Result<Response> {
    share_login(&ctx)?;
    let core = ctx.core().clone();
    let post = queries::published_post(&core.db, path_id(&id)?).await?.ok_or(Error::NotFound)?;
    let tr = ctx.tr();
    let settings = crate::settings::of(&core);
    let mut form = Bound::<ShareForm>::bind(&data, &tr);
    limit_length(&mut form, "comments", settings.share_comment_max_length, &tr);
    let sidebar = sidebar(&ctx).await?;
    let Some(share) = form.valid() else {
        let fields = share_fields(&ctx, &form);
        return render(&SharePage { ctx, sidebar, post, fields, sent_to: None });
    };
    let (hour, now) = (chrono::Duration::hours(1), core.now());
    let sender = format!("blog:share:ip:{}", ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string()));
    if let Err(retry_after) = core.limiter.take(&sender, settings.share_emails_per_ip_per_hour, hour, now).await? {
        tracing::warn!(target: "quartet::blog", key = %sender, "share refused: hourly limit of the address reached");
        return Err(Error::TooManyRequests {
            retry_after,
            message: "You have shared too many posts by e-mail in the last hour. Please try again later.",
        });
    }
    let recipient = format!("blog:share:to:{}", share.to.to_lowercase());
    if let Err(retry_after) =
        core.limiter.take(&recipient, settings.share_emails_per_recipient_per_hour, hour, now).await?
    {
        tracing::warn!(target: "quartet::blog", "share refused: hourly limit of the recipient reached");
        return Err(Error::TooManyRequests {
            retry_after,
            message: "This address has received too many recommendations in the last hour. Please try again later.",
        });
    }
    let job = SharePostJob {
        post_id: post.id,
        post_url: host.absolute(&core.settings, &post.path(&core)),
        name: share.name.clone(),
        email: share.email.clone(),
        comments: share.comments.clone(),
        to: share.to.clone(),
    };
    let job_id = core.enqueue(&core.db, &job).await?;
    tracing::info!(target: "quartet::blog", post_id = post.id, job_id, "post shared by e-mail");
    let sent_to = Some(share.to.clone());
    render(&SharePage { ctx, sidebar, post, fields: Vec::new(), sent_to })
}

// ---------------------------------------------------------------- search

/// A search result.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Hit {
    /// The post.
    pub card: PostCard,
    /// The title with matched words marked (safe HTML).
    pub title: String,
    /// Text around the first match, matches marked (safe HTML).
    pub snippet: String,
}

#[derive(Template)]
#[template(path = "blog/post/search.html")]
struct SearchPage {
    ctx: PageContext,
    sidebar: String,
    query: Option<String>,
    hits: Vec<Hit>,
    page: Option<Page>,
    error: Option<String>,
}

/// `/blog/search/?query=…`: ranked results with snippets, ten per page.
pub async fn post_search(ctx: PageContext, RawQuery(raw): RawQuery) -> Result<Response> {
    let core = ctx.core();
    let db = &core.db;
    let sidebar = sidebar(&ctx).await?;
    let Some(query) = query_param(raw.as_deref(), "query") else {
        return render(&SearchPage { ctx, sidebar, query: None, hits: Vec::new(), page: None, error: None });
    };
    let query = query.trim().to_owned();
    let problem = if query.is_empty() {
        Some("This field is required.")
    } else if query.contains('\0') {
        Some("Null characters are not allowed.")
    } else {
        None
    };
    if let Some(problem) = problem {
        let error = Some(ctx.t(problem).to_owned());
        return render(&SearchPage { ctx, sidebar, query: None, hits: Vec::new(), page: None, error });
    }
    // Popular searches come from the cache: the ranking, then each page's results.
    let ranked = core.cache.get_or_load_in(CACHE, format!("search:{query}"), || search::ranked(db, &query)).await?;
    let page = Paginator::new(ranked.len() as u64, RESULTS_PER_PAGE)
        .get_page(query_param(raw.as_deref(), "page").as_deref())
        .with_query(raw.as_deref());
    let hits = cached(core, format!("hits:{}:{}:{query}", page.number, ctx.lang()), || async {
        let ids: Vec<i64> =
            ranked.iter().skip(page.offset() as usize).take(page.limit() as usize).map(|r| r.id).collect();
        let posts = queries::published_by_ids(db, &ids).await?;
        let terms = search::words(&query);
        Ok(cards(&ctx, posts, None)
            .await?
            .into_iter()
            .map(|card| Hit {
                title: search::highlight(&card.post.title, &terms),
                snippet: search::snippet(&card.post.body, &terms, 30),
                card,
            })
            .collect())
    })
    .await?;
    render(&SearchPage { ctx, sidebar, query: Some(query), hits, page: Some(page), error: None })
}

// ---------------------------------------------------------------- favourites

/// `POST /blog/favourite/add/<id>/`: marks a published post as a favourite (sign-in needed).
pub async fn add_favourite(
    LoginRequired(user): LoginRequired,
    ctx: PageContext,
    flash: Flash,
    Path(id): Path<String>,
) -> Result<Response> {
    let core = ctx.core();
    let post = queries::published_post(&core.db, path_id(&id)?).await?.ok_or(Error::NotFound)?;
    if !queries::is_favourite(&core.db, user.id, post.id).await? {
        let mut added = favourite::ActiveModel { user_id: Set(user.id), post_id: Set(post.id), ..Default::default() };
        favourite::RULES.apply(&mut added, core.now(), true)?;
        let added = added.insert(&core.db).await;
        // A second click racing the first finds the row already there.
        if let Err(e) = added
            && !quartet_kernel::db::is_unique_violation(&e)
        {
            return Err(e.into());
        }
        flash.success(ctx.t1("“{title}” was added to your favourites.", "title", &post.title)).await?;
    }
    Ok(Redirect::to(&post.path(core)).into_response())
}

/// `POST /blog/favourite/remove/<id>/`: removes a favourite.
pub async fn remove_favourite(
    LoginRequired(user): LoginRequired,
    ctx: PageContext,
    flash: Flash,
    Path(id): Path<String>,
) -> Result<Response> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let core = ctx.core();
    let id = path_id(&id)?;
    let removed = favourite::Entity::delete_many()
        .filter(favourite::Column::UserId.eq(user.id))
        .filter(favourite::Column::PostId.eq(id))
        .exec(&core.db)
        .await?;
    let post = queries::published_post(&core.db, id).await?;
    if removed.rows_affected > 0 {
        flash.info(ctx.t("The post was removed from your favourites.")).await?;
    }
    let back = post.map_or_else(|| core.url("blog:favourites"), |p| p.path(core));
    Ok(Redirect::to(&back).into_response())
}

#[derive(Template)]
#[template(path = "blog/post/favourites.html")]
struct FavouritesPage {
    ctx: PageContext,
    sidebar: String,
    posts: Vec<PostCard>,
}

/// `/blog/favourites/`: the signed-in user's favourite posts.
pub async fn favourites(LoginRequired(user): LoginRequired, ctx: PageContext) -> Result<Response> {
    let core = ctx.core();
    let posts = queries::favourites_of(&core.db, user.id).await?;
    let posts = cards(&ctx, posts, Some(EXCERPT_WORDS)).await?;
    let sidebar = sidebar(&ctx).await?;
    render(&FavouritesPage { ctx, sidebar, posts })
}

// ---------------------------------------------------------------- feed

/// An item of the RSS feed.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct FeedItem {
    /// Title.
    pub title: String,
    /// Absolute link.
    pub link: String,
    /// The first 30 words as HTML (escaped into the XML).
    pub description: String,
    /// RFC 2822 date.
    pub pub_date: String,
}

#[derive(Template)]
#[template(path = "blog/feed.xml")]
struct Feed {
    /// The RSS language code: `en-us` as Django writes English, else the page's language.
    language: String,
    title: String,
    link: String,
    self_link: String,
    description: String,
    items: Vec<FeedItem>,
}

/// `/blog/feed/`: RSS 2.0 with the five latest published posts.
pub async fn post_feed(ctx: PageContext, host: RequestHost) -> Result<Response> {
    use sea_orm::QuerySelect;
    let core = ctx.core();
    // The whole response is cached per host by the route's per-view cache (`cache_page`).
    let posts = queries::published().limit(5).all(&core.db).await?;
    let items: Vec<FeedItem> = posts
        .iter()
        .map(|p| FeedItem {
            title: p.title.clone(),
            link: host.absolute(&core.settings, &p.path(core)),
            description: markdown::to_html_truncated(&p.body, EXCERPT_WORDS),
            pub_date: p.publish.to_rfc2822(),
        })
        .collect();
    let feed = Feed {
        language: if ctx.lang() == "en" { "en-us".to_owned() } else { ctx.lang().to_owned() },
        title: ctx.t("My blog").to_owned(),
        link: host.absolute(&core.settings, &core.url("blog:post-list")),
        self_link: host.absolute(&core.settings, &core.url("blog:post-feed")),
        description: ctx.t("New posts of my blog.").to_owned(),
        items,
    };
    Ok(([(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")], feed.render()?).into_response())
}
