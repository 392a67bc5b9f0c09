//! The blog's schema: tables first, then the search indexes of each database.

use quartet_kernel::db::{Migration, MigrationFuture, Schema, foreign_key, id_column as id, migration, timestamp};
use sea_orm::DbErr;
use sea_orm::sea_query::{ColumnDef, Index, Table};

/// The migrations, oldest first.
pub fn all() -> Vec<Box<dyn Migration>> {
    vec![
        Box::new(Initial),
        Box::new(Search),
        migration("0003_list_index", list_index),
        Box::new(FlatSearchTriggers),
        migration("0005_post_active_comments", active_comments),
    ]
}

/// `blog_post.active_comments`: the count of the post's active comments, kept by the blog's
/// event handlers ([`crate::counts`]) so the sidebar's ranking reads one indexed column
/// instead of counting every comment; filled from the comments already there.
fn active_comments<'s>(s: &'s Schema<'s>) -> MigrationFuture<'s> {
    Box::pin(async move {
        s.sql("ALTER TABLE blog_post ADD COLUMN active_comments integer NOT NULL DEFAULT 0").await?;
        crate::counts::recount_all(s.connection()).await?;
        s.create_index(
            Index::create()
                .name("blog_post_status_comments_idx")
                .table("blog_post")
                .col("status")
                .col("active_comments")
                .col("publish"),
        )
        .await
    })
}

struct Initial;

#[async_trait::async_trait]
impl Migration for Initial {
    fn name(&self) -> &'static str {
        "0001_initial"
    }

    async fn up(&self, s: &Schema<'_>) -> Result<(), DbErr> {
        s.create_table(
            Table::create()
                .table("blog_post")
                .col(id())
                .col(ColumnDef::new("title").string_len(250).not_null())
                .col(ColumnDef::new("slug").string_len(250).not_null())
                .col(ColumnDef::new("author_id").big_integer().not_null())
                .col(ColumnDef::new("body").text().not_null())
                .col(timestamp("publish"))
                .col(timestamp("created"))
                .col(timestamp("updated"))
                .col(ColumnDef::new("status").string_len(2).not_null().default("DF"))
                .foreign_key(&mut foreign_key("blog_post", "author_id", "accounts_user")),
        )
        .await?;
        s.sql("CREATE INDEX blog_post_publish_idx ON blog_post (publish DESC)").await?;
        s.create_index(Index::create().name("blog_post_status_idx").table("blog_post").col("status")).await?;
        s.create_index(Index::create().name("blog_post_author_idx").table("blog_post").col("author_id")).await?;
        // `unique_for_date='publish'`: one slug per publish date (UTC), enforced by the database too.
        s.sql_per_backend(
            "CREATE UNIQUE INDEX blog_post_slug_publish_date ON blog_post (slug, date(publish))",
            "CREATE UNIQUE INDEX blog_post_slug_publish_date ON blog_post (slug, ((publish AT TIME ZONE 'UTC')::date))",
        )
        .await?;

        s.create_table(
            Table::create()
                .table("blog_comment")
                .col(id())
                .col(ColumnDef::new("post_id").big_integer().not_null())
                .col(ColumnDef::new("name").string_len(80).not_null())
                .col(ColumnDef::new("email").string_len(254).not_null())
                .col(ColumnDef::new("body").text().not_null())
                .col(timestamp("created"))
                .col(timestamp("updated"))
                .col(ColumnDef::new("active").boolean().not_null().default(true))
                .foreign_key(&mut foreign_key("blog_comment", "post_id", "blog_post")),
        )
        .await?;
        s.create_index(Index::create().name("blog_comment_created_idx").table("blog_comment").col("created")).await?;
        s.create_index(
            Index::create().name("blog_comment_post_active_idx").table("blog_comment").col("post_id").col("active"),
        )
        .await?;

        s.create_table(
            Table::create()
                .table("blog_tag")
                .col(id())
                .col(ColumnDef::new("name").string_len(100).not_null().unique_key())
                .col(ColumnDef::new("slug").string_len(100).not_null().unique_key()),
        )
        .await?;
        s.create_table(
            Table::create()
                .table("blog_tagged_post")
                .col(id())
                .col(ColumnDef::new("post_id").big_integer().not_null())
                .col(ColumnDef::new("tag_id").big_integer().not_null())
                .foreign_key(&mut foreign_key("blog_tagged_post", "post_id", "blog_post"))
                .foreign_key(&mut foreign_key("blog_tagged_post", "tag_id", "blog_tag")),
        )
        .await?;
        s.create_index(
            Index::create()
                .name("blog_tagged_post_unique")
                .table("blog_tagged_post")
                .col("post_id")
                .col("tag_id")
                .unique(),
        )
        .await?;
        s.create_index(
            Index::create().name("blog_tagged_post_tag_idx").table("blog_tagged_post").col("tag_id").col("post_id"),
        )
        .await?;

        s.create_table(
            Table::create()
                .table("blog_favourite")
                .col(id())
                .col(ColumnDef::new("user_id").big_integer().not_null())
                .col(ColumnDef::new("post_id").big_integer().not_null())
                .col(timestamp("created"))
                .foreign_key(&mut foreign_key("blog_favourite", "user_id", "accounts_user"))
                .foreign_key(&mut foreign_key("blog_favourite", "post_id", "blog_post")),
        )
        .await?;
        s.create_index(
            Index::create()
                .name("blog_favourite_unique")
                .table("blog_favourite")
                .col("user_id")
                .col("post_id")
                .unique(),
        )
        .await?;
        Ok(())
    }
}

/// Search indexes. SQLite: an FTS5 index of title and body (Porter stemming, bm25 ranking) and
/// an FTS5 trigram index of the title's words for misspelt queries, both kept current by
/// triggers. PostgreSQL: `pg_trgm`, a weighted `tsvector` column (title A, body B) with a GIN
/// index, and a trigram index on the title.
struct Search;

/// The characters the trigram index treats as word breaks, besides spaces.
pub const WORD_BREAKS: &[char] = &[
    ',', '.', ':', ';', '!', '?', '(', ')', '[', ']', '{', '}', '"', '\'', '`', '-', '_', '/', '\\', '&', '+', '*',
    '#', '<', '>', '|', '=', '~', '@', '$', '%', '^', '\n', '\t', '\r',
];

/// Nested calls per SQL expression stored in the schema. SQLite before 3.46 (Debian 12's
/// `sqlite3` 3.40, Python's `sqlite3`) cannot open a database whose schema nests ~30 calls:
/// "malformed database schema ... parser stack overflow".
const CALLS_PER_STEP: usize = 8;

/// SQL expressions that, applied in turn, write `expr` as [`crate::search::words`] and
/// [`crate::search::trigrams`] see it in Rust: lower case, punctuation as spaces, each word
/// padded with two spaces before and one after (as `pg_trgm` pads words), so word starts and
/// ends are trigrams of their own. The first reads `expr`; each later one reads the `words`
/// column the previous one wrote. No step nests more than [`CALLS_PER_STEP`] calls.
fn padded_words_steps(expr: &str) -> Vec<String> {
    let mut steps = Vec::new();
    let mut sql = format!("lower({expr})");
    for (i, c) in WORD_BREAKS.iter().enumerate() {
        if i > 0 && i % CALLS_PER_STEP == 0 {
            steps.push(std::mem::replace(&mut sql, "words".to_owned()));
        }
        let literal = match c {
            '\'' => "''''".to_owned(),
            '\n' => "char(10)".to_owned(),
            '\t' => "char(9)".to_owned(),
            '\r' => "char(13)".to_owned(),
            other => format!("'{other}'"),
        };
        sql = format!("replace({sql}, {literal}, ' ')");
    }
    steps.push(sql);
    steps.push("'  ' || replace(words, ' ', '   ') || ' '".to_owned());
    steps
}

/// Statements that write trigram words from `title`: `insert`, given the first step of
/// [`padded_words_steps`], then an update per further step of the rows that `filter` picks
/// (`""`: every row).
fn trigram_writes(title: &str, insert: impl Fn(&str) -> String, filter: &str) -> Vec<String> {
    let steps = padded_words_steps(title);
    let mut statements = vec![insert(&steps[0])];
    statements.extend(steps[1..].iter().map(|step| format!("UPDATE blog_post_trigram SET words = {step}{filter}")));
    statements
}

/// The SQLite triggers that keep both search indexes current (see [`Search`]).
async fn create_search_triggers(s: &Schema<'_>) -> Result<(), DbErr> {
    let insert_words: String = trigram_writes(
        "new.title",
        |words| format!("INSERT INTO blog_post_trigram(rowid, words) VALUES (new.id, {words})"),
        " WHERE rowid = new.id",
    )
    .iter()
    .map(|statement| format!("{statement}; "))
    .collect();
    s.sql(&format!(
        "CREATE TRIGGER blog_post_search_insert AFTER INSERT ON blog_post BEGIN \
         INSERT INTO blog_post_fts(rowid, title, body) VALUES (new.id, new.title, new.body); \
         {insert_words}END"
    ))
    .await?;
    s.sql(
        "CREATE TRIGGER blog_post_search_delete AFTER DELETE ON blog_post BEGIN \
         INSERT INTO blog_post_fts(blog_post_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); \
         DELETE FROM blog_post_trigram WHERE rowid = old.id; END",
    )
    .await?;
    s.sql(&format!(
        "CREATE TRIGGER blog_post_search_update AFTER UPDATE OF title, body ON blog_post BEGIN \
         INSERT INTO blog_post_fts(blog_post_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); \
         INSERT INTO blog_post_fts(rowid, title, body) VALUES (new.id, new.title, new.body); \
         DELETE FROM blog_post_trigram WHERE rowid = old.id; \
         {insert_words}END"
    ))
    .await
}

#[async_trait::async_trait]
impl Migration for Search {
    fn name(&self) -> &'static str {
        "0002_search"
    }

    async fn up(&self, s: &Schema<'_>) -> Result<(), DbErr> {
        if s.is_postgres() {
            // Django's `TrigramExtension()`; in the shared `public` schema so every schema sees it.
            s.sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public").await?;
            s.sql(
                "ALTER TABLE blog_post ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (\
                 setweight(to_tsvector('english', coalesce(title, '')), 'A') || \
                 setweight(to_tsvector('english', coalesce(body, '')), 'B')) STORED",
            )
            .await?;
            s.sql("CREATE INDEX blog_post_search_vector_idx ON blog_post USING GIN (search_vector)").await?;
            s.sql("CREATE INDEX blog_post_title_trgm_idx ON blog_post USING GIN (title public.gin_trgm_ops)").await?;
            return Ok(());
        }
        s.sql(
            "CREATE VIRTUAL TABLE blog_post_fts USING fts5(title, body, content='blog_post', content_rowid='id', \
             tokenize='porter unicode61 remove_diacritics 2')",
        )
        .await?;
        s.sql("CREATE VIRTUAL TABLE blog_post_trigram USING fts5(words, tokenize='trigram')").await?;
        create_search_triggers(s).await?;
        // Rows written before this migration.
        s.sql("INSERT INTO blog_post_fts(blog_post_fts) VALUES ('rebuild')").await?;
        let insert =
            |words: &str| format!("INSERT INTO blog_post_trigram(rowid, words) SELECT id, {words} FROM blog_post");
        for statement in trigram_writes("title", insert, "") {
            s.sql(&statement).await?;
        }
        Ok(())
    }
}

/// Lists and counts of published posts read one index in publish order (found by the
/// benchmark: with only `status` indexed, every list page sorted the whole table).
fn list_index<'s>(s: &'s Schema<'s>) -> MigrationFuture<'s> {
    Box::pin(async move {
        s.create_index(
            Index::create()
                .name("blog_post_status_publish_idx")
                .table("blog_post")
                .col("status")
                .col("publish")
                .col("id"),
        )
        .await
    })
}

/// SQLite: the search triggers again, in steps. Databases migrated before this wrote them as
/// one expression nesting 37 calls, which SQLite before 3.46 cannot parse, so Debian's
/// `sqlite3` could not open a Quartet database (see [`CALLS_PER_STEP`]). The words are unchanged.
struct FlatSearchTriggers;

#[async_trait::async_trait]
impl Migration for FlatSearchTriggers {
    fn name(&self) -> &'static str {
        "0004_flat_search_triggers"
    }

    async fn up(&self, s: &Schema<'_>) -> Result<(), DbErr> {
        if s.is_postgres() {
            return Ok(());
        }
        for trigger in ["blog_post_search_insert", "blog_post_search_delete", "blog_post_search_update"] {
            s.sql(&format!("DROP TRIGGER IF EXISTS {trigger}")).await?;
        }
        create_search_triggers(s).await
    }
}
