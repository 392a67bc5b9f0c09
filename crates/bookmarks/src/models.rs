//! The bookmarks' tables, named as the reference's apps name them: images and their likes
//! (`images_…`), who follows whom (`account_contact`) and the activity stream
//! (`actions_action`, whose target is any model through a content type).

/// An image bookmarked from another site (`images_image`).
pub mod image {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// Stamped on creation; the slug made from the title when left empty (not unique).
    pub const RULES: quartet_kernel::models::ModelRules = quartet_kernel::models::ModelRules {
        auto_now_add: &["created"],
        auto_now: &[],
        unique_for_date: &[],
        slug_from: &[("slug", "title")],
    };

    /// A row of `images_image`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "images_image")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Who bookmarked it.
        pub user_id: i64,
        #[sea_orm(column_type = "String(StringLen::N(200))")]
        pub title: String,
        #[sea_orm(column_type = "String(StringLen::N(200))")]
        pub slug: String,
        /// The address the image was fetched from.
        #[sea_orm(column_type = "String(StringLen::N(2000))")]
        pub url: String,
        /// The stored copy, relative to the media folder.
        #[sea_orm(column_type = "String(StringLen::N(200))")]
        pub image: String,
        #[sea_orm(column_type = "Text")]
        pub description: String,
        pub created: DateTimeUtc,
        /// How many people like it: kept by the likes' event handler, never written by hand.
        pub total_likes: i32,
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
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// A user liking an image (`images_image_users_like`, the reference's many-to-many table).
pub mod like {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `images_image_users_like`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "images_image_users_like")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub image_id: i64,
        pub user_id: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::image::Entity",
            from = "Column::ImageId",
            to = "super::image::Column::Id",
            on_delete = "Cascade"
        )]
        Image,
        #[sea_orm(
            belongs_to = "quartet_kernel::auth::models::user::Entity",
            from = "Column::UserId",
            to = "quartet_kernel::auth::models::user::Column::Id",
            on_delete = "Cascade"
        )]
        User,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// One user following another (`account_contact`).
pub mod contact {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// Stamped on creation.
    pub const RULES: quartet_kernel::models::ModelRules = quartet_kernel::models::ModelRules {
        auto_now_add: &["created"],
        auto_now: &[],
        unique_for_date: &[],
        slug_from: &[],
    };

    /// A row of `account_contact`: `user_from` follows `user_to`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "account_contact")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_from_id: i64,
        pub user_to_id: i64,
        pub created: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "quartet_kernel::auth::models::user::Entity",
            from = "Column::UserFromId",
            to = "quartet_kernel::auth::models::user::Column::Id",
            on_delete = "Cascade"
        )]
        From,
        #[sea_orm(
            belongs_to = "quartet_kernel::auth::models::user::Entity",
            from = "Column::UserToId",
            to = "quartet_kernel::auth::models::user::Column::Id",
            on_delete = "Cascade"
        )]
        To,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// Something a user did, for the activity stream (`actions_action`).
pub mod action {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// Stamped on creation.
    pub const RULES: quartet_kernel::models::ModelRules = quartet_kernel::models::ModelRules {
        auto_now_add: &["created"],
        auto_now: &[],
        unique_for_date: &[],
        slug_from: &[],
    };

    /// A row of `actions_action`: the user, the verb, and optionally its target (any model,
    /// by content type and id).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "actions_action")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_id: i64,
        #[sea_orm(column_type = "String(StringLen::N(255))")]
        pub verb: String,
        pub created: DateTimeUtc,
        /// The target's content type ([`quartet_kernel::models::content_types`]).
        pub target_ct_id: Option<i64>,
        /// The target's id.
        pub target_id: Option<i64>,
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
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The verbs of the activity stream (reference-apps.md §2.3).
pub mod verbs {
    /// A new account (no target).
    pub const REGISTERED: &str = "has created an account";
    /// An image bookmarked (target: the image).
    pub const BOOKMARKED: &str = "bookmarked image";
    /// An image liked (target: the image).
    pub const LIKES: &str = "likes";
    /// A user followed (target: the user).
    pub const FOLLOWING: &str = "is following";
}
