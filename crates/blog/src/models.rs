//! The blog's tables: posts, comments, tags (with the post–tag links) and favourites.

/// Status codes of a post (Django's `Post.Status`).
pub mod status {
    /// Draft: visible in the admin only.
    pub const DRAFT: &str = "DF";
    /// Published: visible on the site.
    pub const PUBLISHED: &str = "PB";
}

/// `/blog/2026/3/7/my-post/`: a post's page (the route `blog:post-detail`) from its publish
/// date (UTC) and slug; the date parts are not zero-padded, as in the reference.
pub fn post_path(core: &quartet_kernel::CoreState, publish: chrono::DateTime<chrono::Utc>, slug: &str) -> String {
    use chrono::Datelike;
    let d = publish.date_naive();
    core.url_with("blog:post-detail", &[&d.year(), &d.month(), &d.day(), &slug])
}

/// A post (`blog_post`).
pub mod post {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// Stamped on creation and every save; one slug per publish date, made from the title.
    pub const RULES: quartet_kernel::models::ModelRules = quartet_kernel::models::ModelRules {
        auto_now_add: &["created"],
        auto_now: &["updated"],
        unique_for_date: &[("slug", "publish")],
        slug_from: &[("slug", "title")],
    };

    /// A row of `blog_post`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "blog_post")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(column_type = "String(StringLen::N(250))")]
        pub title: String,
        #[sea_orm(column_type = "String(StringLen::N(250))")]
        pub slug: String,
        pub author_id: i64,
        #[sea_orm(column_type = "Text")]
        pub body: String,
        pub publish: DateTimeUtc,
        pub created: DateTimeUtc,
        pub updated: DateTimeUtc,
        #[sea_orm(column_type = "String(StringLen::N(2))")]
        pub status: String,
        /// How many of its comments are active: kept by the blog's event handlers
        /// ([`crate::counts`]), never written by hand.
        pub active_comments: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "quartet_kernel::auth::models::user::Entity",
            from = "Column::AuthorId",
            to = "quartet_kernel::auth::models::user::Column::Id",
            on_delete = "Cascade"
        )]
        Author,
    }

    impl ActiveModelBehavior for ActiveModel {}

    impl Model {
        /// The post's page ([`super::post_path`]).
        pub fn path(&self, core: &quartet_kernel::CoreState) -> String {
            super::post_path(core, self.publish, &self.slug)
        }

        /// Whether visitors may see the post.
        pub fn is_published(&self) -> bool {
            self.status == super::status::PUBLISHED
        }
    }
}

/// A comment on a post (`blog_comment`).
pub mod comment {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// Stamped on creation and every save.
    pub const RULES: quartet_kernel::models::ModelRules = quartet_kernel::models::ModelRules {
        auto_now_add: &["created"],
        auto_now: &["updated"],
        ..quartet_kernel::models::ModelRules::NONE
    };

    /// A row of `blog_comment`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "blog_comment")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub post_id: i64,
        #[sea_orm(column_type = "String(StringLen::N(80))")]
        pub name: String,
        #[sea_orm(column_type = "String(StringLen::N(254))")]
        pub email: String,
        #[sea_orm(column_type = "Text")]
        pub body: String,
        pub created: DateTimeUtc,
        pub updated: DateTimeUtc,
        /// Moderation flag: only active comments are shown.
        pub active: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::post::Entity",
            from = "Column::PostId",
            to = "super::post::Column::Id",
            on_delete = "Cascade"
        )]
        Post,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// A tag (`blog_tag`; django-taggit's `Tag`).
pub mod tag {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// The slug is made from the name.
    pub const RULES: quartet_kernel::models::ModelRules = quartet_kernel::models::ModelRules {
        slug_from: &[("slug", "name")],
        ..quartet_kernel::models::ModelRules::NONE
    };

    /// A row of `blog_tag`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "blog_tag")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique, column_type = "String(StringLen::N(100))")]
        pub name: String,
        #[sea_orm(unique, column_type = "String(StringLen::N(100))")]
        pub slug: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The link between a post and a tag (`blog_tagged_post`; taggit's `TaggedItem`).
pub mod tagged_post {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `blog_tagged_post`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "blog_tagged_post")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub post_id: i64,
        pub tag_id: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::post::Entity",
            from = "Column::PostId",
            to = "super::post::Column::Id",
            on_delete = "Cascade"
        )]
        Post,
        #[sea_orm(
            belongs_to = "super::tag::Entity",
            from = "Column::TagId",
            to = "super::tag::Column::Id",
            on_delete = "Cascade"
        )]
        Tag,
    }

    impl Related<super::tag::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Tag.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// A user's favourite post (`blog_favourite`; one row per user and post).
pub mod favourite {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// Stamped when the post is marked.
    pub const RULES: quartet_kernel::models::ModelRules =
        quartet_kernel::models::ModelRules { auto_now_add: &["created"], ..quartet_kernel::models::ModelRules::NONE };

    /// A row of `blog_favourite`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "blog_favourite")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_id: i64,
        pub post_id: i64,
        pub created: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "quartet_kernel::auth::models::user::Entity",
            from = "Column::UserId",
            to = "quartet_kernel::auth::models::user::Column::Id",
            on_delete = "Cascade"
        )]
        User,
        #[sea_orm(
            belongs_to = "super::post::Entity",
            from = "Column::PostId",
            to = "super::post::Column::Id",
            on_delete = "Cascade"
        )]
        Post,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
