//! The blog's reads. Every page runs a fixed number of queries whatever the data size: lists
//! load their tags and authors for the whole page at once.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use quartet_kernel::CoreState;
use quartet_kernel::auth::models::user;
use quartet_kernel::db::Db;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

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

/// A list page with everything it shows, read in one statement ([`list_page`]).
#[derive(Debug, Clone)]
pub struct ListRows {
    /// How many posts the list has (with the tag, when there is one).
    pub total: u64,
    /// The page's posts, newest first, each with its author's username and its tags by name.
    pub posts: Vec<(post::Model, String, Vec<tag::Model>)>,
    /// The sidebar, when asked for.
    pub sidebar: Option<Sidebar>,
}

/// What each row of a [`Parts`] statement is: the first column, `part`.
mod part {
    pub const POST: i32 = 0;
    pub const TAG: i32 = 1;
    pub const COUNT: i32 = 2;
    pub const TOTAL_POSTS: i32 = 3;
    pub const LATEST: i32 = 4;
    pub const MOST_COMMENTED: i32 = 5;
}

/// One statement made of several lists joined by `UNION ALL`, so a page costs the database one
/// round trip instead of one per list (on PostgreSQL, each round trip costs both processes far
/// more than the lookups themselves). Every part fills the same twelve columns, named after the
/// first part (the page's posts); the `part` column says which list a row belongs to:
///
/// | part | id | title | slug | author_id | publish | active_comments | name |
/// |---|---|---|---|---|---|---|---|
/// | `POST` (+ body, created, updated, status) | post | title | slug | author | publish | count | author's username |
/// | `TAG` | post | tag name | tag slug | tag id | | | |
/// | `COUNT`, `TOTAL_POSTS` | the count | | | | | | |
/// | `LATEST`, `MOST_COMMENTED` | post | title | slug | | publish | count | |
///
/// The first part is always the page's posts (possibly none), so PostgreSQL types the other
/// parts' `NULL`s from it.
struct Parts {
    sql: String,
    values: Vec<sea_orm::Value>,
}

impl Parts {
    /// `WHERE` for the published posts, with the tag when there is one.
    ///
    /// The status and the limits are written into the statement, not bound: they are constants,
    /// and PostgreSQL only settles on one plan for a prepared statement (instead of planning
    /// it again at every run, which cost it more than running it) when the values it is given
    /// cannot change the plan. Only the offset and the tag are bound.
    fn published_where(tag: Option<i64>, values: &mut Vec<sea_orm::Value>) -> String {
        let published = format!("status = '{}'", status::PUBLISHED);
        match tag {
            Some(tag) => {
                values.push(tag.into());
                format!("{published} AND id IN (SELECT post_id FROM blog_tagged_post WHERE tag_id = ?)")
            }
            None => published,
        }
    }

    /// The published posts `offset..offset + limit` (newest first, with the tag when there is
    /// one) with their authors and tags.
    fn page(tag: Option<i64>, offset: u64, limit: u64) -> Self {
        let mut values = Vec::new();
        let filter = Self::published_where(tag, &mut values);
        values.push(i64::try_from(offset).unwrap_or(i64::MAX).into());
        let sql = format!(
            "WITH page AS (SELECT id, title, slug, author_id, body, publish, created, updated, status, \
             active_comments FROM blog_post WHERE {filter} ORDER BY publish DESC, id DESC LIMIT {limit} OFFSET ?) \
             SELECT {post} AS part, p.id, p.title, p.slug, p.author_id, p.body, p.publish, p.created, p.updated, \
             p.status, p.active_comments, u.username AS name \
             FROM page p JOIN accounts_user u ON u.id = p.author_id \
             UNION ALL SELECT {tag}, tp.post_id, t.name, t.slug, t.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL \
             FROM blog_tagged_post tp JOIN blog_tag t ON t.id = tp.tag_id WHERE tp.post_id IN (SELECT id FROM page)",
            post = part::POST,
            tag = part::TAG,
        );
        Self { sql, values }
    }

    /// No posts: a statement of the other parts only (its typed first row is filtered out).
    fn without_page() -> Self {
        let sql = format!(
            "SELECT {post} AS part, id, title, slug, author_id, body, publish, created, updated, status, \
             active_comments, title AS name FROM blog_post WHERE 1 = 0",
            post = part::POST
        );
        Self { sql, values: Vec::new() }
    }

    /// How many published posts there are (with the tag, when there is one), as `which`.
    fn count(mut self, which: i32, tag: Option<i64>) -> Self {
        let filter = Self::published_where(tag, &mut self.values);
        self.sql += &format!(
            " UNION ALL SELECT {which}, COUNT(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL \
             FROM blog_post WHERE {filter}"
        );
        self
    }

    /// The sidebar's lists: the three newest posts and the five with the most active comments
    /// (the count is the post's own column, kept by the blog's event handlers
    /// ([`crate::counts`]); the ranking reads the index (status, active_comments, publish)).
    fn sidebar_lists(mut self) -> Self {
        for (which, order, limit) in
            [(part::LATEST, "publish DESC", 3), (part::MOST_COMMENTED, "active_comments DESC, publish DESC", 5)]
        {
            self.values.push(status::PUBLISHED.into());
            self.sql += &format!(
                " UNION ALL SELECT {which}, id, title, slug, NULL, NULL, publish, NULL, NULL, NULL, active_comments, NULL \
                 FROM (SELECT id, title, slug, publish, active_comments FROM blog_post WHERE status = ? \
                 ORDER BY {order} LIMIT {limit}) AS l{which}"
            );
        }
        self
    }

    async fn run(self, db: &Db) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
        use sea_orm::ConnectionTrait;
        db.query_all_raw(statement(db, &self.sql, self.values)).await
    }
}

/// What a [`Parts`] statement returned, sorted into its lists.
#[derive(Default)]
struct Sorted {
    posts: Vec<(post::Model, String, Vec<tag::Model>)>,
    counts: HashMap<i32, u64>,
    latest: Vec<PostLink>,
    most_commented: Vec<PostLink>,
}

impl Sorted {
    fn from_rows(rows: Vec<sea_orm::QueryResult>) -> Result<Self, DbErr> {
        let mut out = Self::default();
        let mut tags: HashMap<i64, Vec<tag::Model>> = HashMap::new();
        for row in rows {
            let which: i32 = row.try_get("", "part")?;
            match which {
                part::POST => {
                    out.posts.push((post::Model::from_query_result(&row, "")?, row.try_get("", "name")?, Vec::new()))
                }
                part::TAG => tags.entry(row.try_get("", "id")?).or_default().push(tag::Model {
                    id: row.try_get("", "author_id")?,
                    name: row.try_get("", "title")?,
                    slug: row.try_get("", "slug")?,
                }),
                part::COUNT | part::TOTAL_POSTS => {
                    let count: i64 = row.try_get("", "id")?;
                    out.counts.insert(which, u64::try_from(count).unwrap_or_default());
                }
                part::LATEST | part::MOST_COMMENTED => {
                    let link = PostLink {
                        id: row.try_get("", "id")?,
                        title: row.try_get("", "title")?,
                        slug: row.try_get("", "slug")?,
                        publish: row.try_get("", "publish")?,
                        total: i64::from(row.try_get::<i32>("", "active_comments")?),
                        url: String::new(),
                    };
                    if which == part::LATEST { out.latest.push(link) } else { out.most_commented.push(link) }
                }
                other => return Err(DbErr::Custom(format!("unknown part {other} in a blog list statement"))),
            }
        }
        // SQL does not promise the order of a union's rows: each list is sorted again here.
        out.posts.sort_by_key(|(post, _, _)| std::cmp::Reverse((post.publish, post.id)));
        for (post, _, post_tags) in &mut out.posts {
            *post_tags = tags.remove(&post.id).unwrap_or_default();
            post_tags.sort_by(|a, b| a.name.cmp(&b.name));
        }
        out.latest.sort_by_key(|l| std::cmp::Reverse(l.publish));
        out.most_commented.sort_by_key(|l| std::cmp::Reverse((l.total, l.publish)));
        Ok(out)
    }

    fn sidebar(&mut self, total_posts: u64) -> Sidebar {
        Sidebar {
            total_posts,
            latest: std::mem::take(&mut self.latest),
            most_commented: std::mem::take(&mut self.most_commented),
        }
    }
}

/// A list page in one statement: the published posts `offset..offset + limit` (with the tag,
/// when there is one) with their authors and tags, how many posts the list has and, when
/// `with_sidebar`, the sidebar.
pub async fn list_page(
    db: &Db,
    tag: Option<i64>,
    offset: u64,
    limit: u64,
    with_sidebar: bool,
) -> Result<ListRows, DbErr> {
    let mut parts = Parts::page(tag, offset, limit).count(part::COUNT, tag);
    if with_sidebar {
        if tag.is_some() {
            parts = parts.count(part::TOTAL_POSTS, None);
        }
        parts = parts.sidebar_lists();
    }
    let mut sorted = Sorted::from_rows(parts.run(db).await?)?;
    let total = sorted.counts.get(&part::COUNT).copied().unwrap_or_default();
    let total_posts = if tag.is_some() { sorted.counts.get(&part::TOTAL_POSTS).copied() } else { Some(total) };
    let sidebar = with_sidebar.then(|| sorted.sidebar(total_posts.unwrap_or_default()));
    Ok(ListRows { total, posts: sorted.posts, sidebar })
}

/// The sidebar's count and two lists in one statement.
pub async fn sidebar(db: &Db) -> Result<Sidebar, DbErr> {
    let parts = Parts::without_page().count(part::TOTAL_POSTS, None).sidebar_lists();
    let mut sorted = Sorted::from_rows(parts.run(db).await?)?;
    let total = sorted.counts.get(&part::TOTAL_POSTS).copied().unwrap_or_default();
    Ok(sorted.sidebar(total))
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
