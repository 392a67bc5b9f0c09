//! The admin's history: who added, changed or deleted what, and when ("recent actions").

use sea_orm::sea_query::{ColumnDef, ForeignKey, ForeignKeyAction, Index, Table};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};

use quartet_kernel::db::{Migration, Schema, id_column, timestamp};

/// A row of `admin_log_entry`.
pub mod entry {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// One recorded admin action.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "admin_log_entry")]
    pub struct Model {
        /// Primary key.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// When it happened.
        pub action_time: DateTimeUtc,
        /// Who did it.
        pub user_id: i64,
        /// The model's label (`blog.post`).
        pub model: String,
        /// The object's primary key, as text.
        pub object_id: String,
        /// The object's name at the time.
        pub object_repr: String,
        /// 1 added, 2 changed, 3 deleted.
        pub action_flag: i16,
        /// What changed ("Changed title and body.").
        pub change_message: String,
    }

    /// The user who acted.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The user.
        #[sea_orm(
            belongs_to = "quartet_kernel::auth::models::user::Entity",
            from = "Column::UserId",
            to = "quartet_kernel::auth::models::user::Column::Id",
            on_delete = "Cascade"
        )]
        User,
    }

    impl Related<quartet_kernel::auth::models::user::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::User.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// An object was added.
    Addition = 1,
    /// An object was changed.
    Change = 2,
    /// An object was deleted.
    Deletion = 3,
}

/// One action to record.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Who did it.
    pub user_id: i64,
    /// The model's label (`blog.post`).
    pub model: &'a str,
    /// The object's primary key as text.
    pub object_id: &'a str,
    /// The object's name.
    pub object_repr: &'a str,
    /// What was done.
    pub action: Action,
    /// What changed.
    pub message: &'a str,
}

/// Records one action at `now` (inside the transaction that did it).
pub async fn record(db: &impl ConnectionTrait, now: chrono::DateTime<chrono::Utc>, r: Record<'_>) -> Result<(), DbErr> {
    entry::ActiveModel {
        action_time: Set(now),
        user_id: Set(r.user_id),
        model: Set(r.model.to_owned()),
        object_id: Set(r.object_id.to_owned()),
        object_repr: Set(r.object_repr.chars().take(200).collect()),
        action_flag: Set(r.action as i16),
        change_message: Set(r.message.to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// The admin's table.
pub(crate) struct Initial;

#[async_trait::async_trait]
impl Migration for Initial {
    fn name(&self) -> &'static str {
        "0001_initial"
    }

    async fn up(&self, s: &Schema<'_>) -> Result<(), DbErr> {
        s.create_table(
            Table::create()
                .table("admin_log_entry")
                .col(id_column())
                .col(timestamp("action_time"))
                .col(ColumnDef::new("user_id").big_integer().not_null())
                .col(ColumnDef::new("model").string_len(100).not_null())
                .col(ColumnDef::new("object_id").string_len(255).not_null())
                .col(ColumnDef::new("object_repr").string_len(200).not_null())
                .col(ColumnDef::new("action_flag").small_integer().not_null())
                .col(ColumnDef::new("change_message").text().not_null())
                // Named before the helper `foreign_key` existed: an applied migration keeps its DDL.
                .foreign_key(
                    ForeignKey::create()
                        .name("admin_log_entry_user")
                        .from("admin_log_entry", "user_id")
                        .to("accounts_user", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                ),
        )
        .await?;
        s.create_index(Index::create().name("admin_log_entry_time").table("admin_log_entry").col("action_time")).await
    }
}
