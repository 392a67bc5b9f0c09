//! Users, profiles, groups and permissions (tables `accounts_*`).
//!
//! Permissions are identified by their string `app.action_model` (`blog.change_post`), so they
//! are the same on every database and move with `dumpdata`/`loaddata` without renumbering.

/// A user account.
pub mod user {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `accounts_user`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "accounts_user")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The password hash (`$argon2id$...`, `pbkdf2_sha256$...`, or `!...` for none).
        pub password: String,
        /// Last sign-in.
        pub last_login: Option<DateTimeUtc>,
        /// Has every permission.
        pub is_superuser: bool,
        /// Unique sign-in name.
        #[sea_orm(unique)]
        pub username: String,
        /// Given name.
        pub first_name: String,
        /// Family name.
        pub last_name: String,
        /// E-mail address (unique, ignoring case, when not empty).
        pub email: String,
        /// May use the admin.
        pub is_staff: bool,
        /// May sign in.
        pub is_active: bool,
        /// When the account was created.
        pub date_joined: DateTimeUtc,
    }

    /// Relations of a user.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The profile.
        #[sea_orm(has_one = "super::profile::Entity")]
        Profile,
    }

    impl Related<super::profile::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Profile.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}

    impl Model {
        /// First name, or the username if none is given.
        pub fn display_name(&self) -> &str {
            if self.first_name.trim().is_empty() { &self.username } else { &self.first_name }
        }

        /// First and last name.
        pub fn full_name(&self) -> String {
            format!("{} {}", self.first_name, self.last_name).trim().to_owned()
        }

        /// Whether the user can sign in with a password.
        pub fn has_usable_password(&self) -> bool {
            !self.password.is_empty() && !self.password.starts_with('!')
        }
    }
}

/// Extra details of a user, created with every account.
pub mod profile {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `accounts_profile`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "accounts_profile")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The user (one profile each).
        #[sea_orm(unique)]
        pub user_id: i64,
        /// Date of birth.
        pub date_of_birth: Option<Date>,
        /// Path of the photo under the media root (`users/2026/11/24/abc.jpg`), or empty.
        pub photo: String,
    }

    /// Relations of a profile.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The user.
        #[sea_orm(
            belongs_to = "super::user::Entity",
            from = "Column::UserId",
            to = "super::user::Column::Id",
            on_delete = "Cascade"
        )]
        User,
    }

    impl Related<super::user::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::User.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// A named set of permissions users can belong to.
pub mod group {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `accounts_group`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "accounts_group")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Unique name.
        #[sea_orm(unique)]
        pub name: String,
    }

    /// No relations declared here; the link tables carry them.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A permission to view, add, change or delete objects of one model.
pub mod permission {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `accounts_permission`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "accounts_permission")]
    pub struct Model {
        /// `app.action_model`, e.g. `blog.change_post`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub codename: String,
        /// "Can change post".
        pub name: String,
        /// The model's app label.
        pub app_label: String,
        /// The model's name.
        pub model: String,
    }

    /// No relations declared here.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Membership of users in groups.
pub mod user_group {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `accounts_user_groups`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "accounts_user_groups")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The user.
        pub user_id: i64,
        /// The group.
        pub group_id: i64,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The user.
        #[sea_orm(
            belongs_to = "super::user::Entity",
            from = "Column::UserId",
            to = "super::user::Column::Id",
            on_delete = "Cascade"
        )]
        User,
        /// The group.
        #[sea_orm(
            belongs_to = "super::group::Entity",
            from = "Column::GroupId",
            to = "super::group::Column::Id",
            on_delete = "Cascade"
        )]
        Group,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// Permissions granted to groups.
pub mod group_permission {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `accounts_group_permissions`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "accounts_group_permissions")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The group.
        pub group_id: i64,
        /// The permission's codename.
        pub permission_id: String,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The group.
        #[sea_orm(
            belongs_to = "super::group::Entity",
            from = "Column::GroupId",
            to = "super::group::Column::Id",
            on_delete = "Cascade"
        )]
        Group,
        /// The permission.
        #[sea_orm(
            belongs_to = "super::permission::Entity",
            from = "Column::PermissionId",
            to = "super::permission::Column::Codename",
            on_delete = "Cascade"
        )]
        Permission,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// Permissions granted to single users.
pub mod user_permission {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `accounts_user_user_permissions`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "accounts_user_user_permissions")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The user.
        pub user_id: i64,
        /// The permission's codename.
        pub permission_id: String,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The user.
        #[sea_orm(
            belongs_to = "super::user::Entity",
            from = "Column::UserId",
            to = "super::user::Column::Id",
            on_delete = "Cascade"
        )]
        User,
        /// The permission.
        #[sea_orm(
            belongs_to = "super::permission::Entity",
            from = "Column::PermissionId",
            to = "super::permission::Column::Codename",
            on_delete = "Cascade"
        )]
        Permission,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The password a demo account was created with (`quartet seed`, the demo-data button), shown
/// on its owner's dashboard while the account still has it. Not a model: not in the admin,
/// nor moved by `dumpdata`.
pub mod demo_password {
    use sea_orm::entity::prelude::*;

    /// A row of `accounts_demo_password`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts_demo_password")]
    pub struct Model {
        /// The demo user.
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: i64,
        /// The password it was given.
        pub password: String,
        /// Its hash at the time: a different hash on the user means the password changed.
        pub password_hash: String,
    }

    /// No relations used.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
