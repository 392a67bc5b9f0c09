//! The blog's reads. Every page runs a fixed number of queries whatever the data size: lists
//! load their tags and authors for the whole page at once.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use quartet_kernel::CoreState;
use quartet_kernel::auth::models::user;
use quartet_kernel::db::Db;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

use crate::models::{comment, favourite, post, status, tag, tagged_post};

pub(crate) use quartet_kernel::db::statement;

/// Published posts, newest first (the reference's `Post.published` manager).
pub fn published() -> sea_orm::Select<post::Entity> {
    post::Entity::find().filter(post::Column::Status.eq(status::PUBLISHED)).order_by_desc(post::Column::Publish)
}

/// How many published posts there are, optionally with a tag.
pub async fn count_published(db: &Db, tag: Option<i64>) -> Result<u64, DbErr> {
    match tag {
        None => published().count(db).await,
        Some(tag) => published().filter(post::Column::Id.in_subquery(tagged_with(tag))).count(db).await,
    }
}

fn tagged_with(tag: i64) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(tagged_post::Column::PostId)
        .from(tagged_post::Entity)
        .and_where(tagged_post::Column::TagId.eq(tag))
        .to_owned()
}

/// One page of published posts, optionally with a tag.
pub async fn published_page(db: &Db, tag: Option<i64>, offset: u64, limit: u64) -> Result<Vec<post::Model>, DbErr> {
    let mut select = published().order_by_desc(post::Column::Id).offset(offset).limit(limit);
    if let Some(tag) = tag {
        select = select.filter(post::Column::Id.in_subquery(tagged_with(tag)));
    }
    select.all(db).await
}

/// The published posts with these ids, in the order given.
pub async fn published_by_ids(db: &Db, ids: &[i64]) -> Result<Vec<post::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut found: HashMap<i64, post::Model> = published()
        .filter(post::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// The published post at `/blog/<year>/<month>/<day>/<slug>/` (the date in UTC).
pub async fn published_on(db: &Db, date: NaiveDate, slug: &str) -> Result<Option<post::Model>, DbErr> {
    let start = date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    published()
        .filter(post::Column::Slug.eq(slug))
        .filter(post::Column::Publish.gte(start))
        .filter(post::Column::Publish.lt(start + Duration::days(1)))
        .one(db)
        .await
}

/// A published post by id.
pub async fn published_post(db: &Db, id: i64) -> Result<Option<post::Model>, DbErr> {
    published().filter(post::Column::Id.eq(id)).one(db).await
}

/// The tags of each of `posts`, by post id, sorted by name.
pub async fn tags_of(db: &Db, posts: &[i64]) -> Result<HashMap<i64, Vec<tag::Model>>, DbErr> {
    let mut out: HashMap<i64, Vec<tag::Model>> = HashMap::new();
    if posts.is_empty() {
        return Ok(out);
    }
    let links = tagged_post::Entity::find()
        .find_also_related(tag::Entity)
        .filter(tagged_post::Column::PostId.is_in(posts.to_vec()))
        .order_by_asc(tag::Column::Name)
        .all(db)
        .await?;
    for (link, tag) in links {
        if let Some(tag) = tag {
            out.entry(link.post_id).or_default().push(tag);
        }
    }
    Ok(out)
}

/// Usernames by user id.
pub async fn author_names(db: &Db, ids: &[i64]) -> Result<HashMap<i64, String>, DbErr> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Username)
        .filter(user::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// A tag by slug.
pub async fn tag_by_slug(db: &Db, slug: &str) -> Result<Option<tag::Model>, DbErr> {
    tag::Entity::find().filter(tag::Column::Slug.eq(slug)).one(db).await
}

/// A post's active comments, oldest first.
pub async fn active_comments(db: &Db, post: i64, offset: u64, limit: u64) -> Result<Vec<comment::Model>, DbErr> {
    comment::Entity::find()
        .filter(comment::Column::PostId.eq(post))
        .filter(comment::Column::Active.eq(true))
        .order_by_asc(comment::Column::Created)
        .order_by_asc(comment::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await
}

/// How many active comments `post` has.
pub async fn count_active_comments(db: &Db, post: i64) -> Result<u64, DbErr> {
    comment::Entity::find()
        .filter(comment::Column::PostId.eq(post))
        .filter(comment::Column::Active.eq(true))
        .count(db)
        .await
}

#[derive(Debug, FromQueryResult)]
struct Similar {
    id: i64,
}

/// Up to `limit` published posts sharing tags with `post`: most shared tags first, then the
/// newest.
pub async fn similar_posts(db: &Db, post: &post::Model, limit: u64) -> Result<Vec<post::Model>, DbErr> {
    let sql = "SELECT p.id AS id FROM blog_post p \
               JOIN blog_tagged_post tp ON tp.post_id = p.id \
               WHERE tp.tag_id IN (SELECT tag_id FROM blog_tagged_post WHERE post_id = ?) \
               AND p.status = ? AND p.id <> ? \
               GROUP BY p.id, p.publish ORDER BY COUNT(*) DESC, p.publish DESC LIMIT ?";
    let ids: Vec<i64> = Similar::find_by_statement(statement(
        db,
        sql,
        vec![post.id.into(), status::PUBLISHED.into(), post.id.into(), (limit as i64).into()],
    ))
    .all(db)
    .await?
    .into_iter()
    .map(|s| s.id)
    .collect();
    published_by_ids(db, &ids).await
}

/// A post in a sidebar list.
#[derive(Debug, Clone, FromQueryResult, serde::Serialize, serde::Deserialize)]
pub struct PostLink {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Slug.
    pub slug: String,
    /// Publish date.
    pub publish: DateTime<Utc>,
    /// Active comments (for the most commented list).
    pub total: i64,
    /// The post's page, filled in when the sidebar is cached (not read from the database).
    #[sea_orm(skip)]
    pub url: String,
}

impl PostLink {
    /// The post's page.
    pub fn path(&self, core: &CoreState) -> String {
        crate::models::post_path(core, self.publish, &self.slug)
    }
}

/// The blog's sidebar (the reference's `blog_tags` template tags).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Sidebar {
    /// Published posts.
    pub total_posts: u64,
    /// The three newest.
    pub latest: Vec<PostLink>,
    /// The five with the most active comments.
    pub most_commented: Vec<PostLink>,
}

/// A row of the sidebar's one statement: a post link and which list it belongs to.
#[derive(Debug, FromQueryResult)]
struct SidebarRow {
    id: i64,
    title: String,
    slug: String,
    publish: DateTime<Utc>,
    total: i64,
    list: i64,
}

/// Loads the sidebar's two lists in one statement (the three newest and the five most
/// commented, each limited in a subquery, joined by `UNION ALL`), and counts the published
/// posts unless the caller has just done so (the unfiltered list's paginator: the count is the
/// same).
pub async fn sidebar(db: &Db, known_total: Option<u64>) -> Result<Sidebar, DbErr> {
    use sea_orm::sea_query::{Alias, Asterisk, Query, UnionType};
    let total_posts = match known_total {
        Some(total) => total,
        None => count_published(db, None).await?,
    };
    let columns = [post::Column::Id, post::Column::Title, post::Column::Slug, post::Column::Publish];
    let latest = published()
        .select_only()
        .columns(columns)
        .expr_as(Expr::val(0i64), "total")
        .expr_as(Expr::val(0i64), "list")
        .limit(3)
        .into_query();
    // Only active comments count (the reference counted hidden ones too). The count is the
    // post's own column, kept by the blog's event handlers ([`crate::counts`]): the ranking
    // reads the index (status, active_comments, publish).
    let ranked = post::Entity::find()
        .filter(post::Column::Status.eq(status::PUBLISHED))
        .select_only()
        .columns(columns)
        .column_as(Expr::col(post::Column::ActiveComments).cast_as("bigint"), "total")
        .expr_as(Expr::val(1i64), "list")
        .order_by_desc(post::Column::ActiveComments)
        .order_by_desc(post::Column::Publish)
        .limit(5)
        .into_query();
    let both = Query::select()
        .column(Asterisk)
        .from_subquery(latest, Alias::new("latest"))
        .union(UnionType::All, Query::select().column(Asterisk).from_subquery(ranked, Alias::new("ranked")).to_owned())
        .to_owned();
    let statement = db.get_database_backend().build(&both);
    let rows = SidebarRow::find_by_statement(statement).all(db).await?;
    let (mut latest, mut most_commented) = (Vec::new(), Vec::new());
    for row in rows {
        let link = PostLink {
            id: row.id,
            title: row.title,
            slug: row.slug,
            publish: row.publish,
            total: row.total,
            url: String::new(),
        };
        if row.list == 0 { latest.push(link) } else { most_commented.push(link) }
    }
    // UNION ALL keeps each part's order in SQLite and PostgreSQL, but SQL does not promise it.
    latest.sort_by_key(|l| std::cmp::Reverse(l.publish));
    most_commented.sort_by_key(|l| std::cmp::Reverse((l.total, l.publish)));
    Ok(Sidebar { total_posts, latest, most_commented })
}

/// Published posts' paths and last changes, for the sitemap (bodies are not read).
pub async fn sitemap_posts(core: &CoreState) -> Result<Vec<(String, DateTime<Utc>)>, DbErr> {
    let db = &core.db;
    let rows: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = published()
        .select_only()
        .columns([post::Column::Slug, post::Column::Publish, post::Column::Updated])
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(slug, publish, updated)| (crate::models::post_path(core, publish, &slug), updated))
        .collect())
}

/// Tags used by at least one published post, with the newest change among those posts.
pub async fn sitemap_tags(db: &Db) -> Result<Vec<(String, DateTime<Utc>)>, DbErr> {
    #[derive(FromQueryResult)]
    struct TagRow {
        slug: String,
        updated: DateTime<Utc>,
    }
    let sql = "SELECT t.slug AS slug, MAX(p.updated) AS updated FROM blog_tag t \
               JOIN blog_tagged_post tp ON tp.tag_id = t.id JOIN blog_post p ON p.id = tp.post_id \
               WHERE p.status = ? GROUP BY t.slug ORDER BY t.slug";
    Ok(TagRow::find_by_statement(statement(db, sql, vec![status::PUBLISHED.into()]))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.slug, r.updated))
        .collect())
}

/// Whether `user` has made `post` a favourite.
pub async fn is_favourite(db: &Db, user: i64, post: i64) -> Result<bool, DbErr> {
    Ok(favourite::Entity::find()
        .filter(favourite::Column::UserId.eq(user))
        .filter(favourite::Column::PostId.eq(post))
        .count(db)
        .await?
        > 0)
}

/// A user's favourite published posts, the most recently added first.
pub async fn favourites_of(db: &Db, user: i64) -> Result<Vec<post::Model>, DbErr> {
    let ids: Vec<i64> = favourite::Entity::find()
        .select_only()
        .column(favourite::Column::PostId)
        .filter(favourite::Column::UserId.eq(user))
        .order_by_desc(favourite::Column::Created)
        .order_by_desc(favourite::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    published_by_ids(db, &ids).await
}
