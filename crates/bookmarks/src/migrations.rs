//! The bookmarks' schema.

use quartet_kernel::db::{Migration, MigrationFuture, Schema, foreign_key, id_column as id, migration, timestamp};
use sea_orm::sea_query::{ColumnDef, Index, Table};

/// The migrations, oldest first.
pub fn all() -> Vec<Box<dyn Migration>> {
    vec![migration("0001_initial", initial)]
}

/// Images and their likes, contacts and actions, with the indexes the pages read by: images
/// newest first and by likes, a user's images, who follows whom, the stream newest first, a
/// target's actions, and a user's recent action with one verb (the 60-second de-duplication).
fn initial<'s>(s: &'s Schema<'s>) -> MigrationFuture<'s> {
    Box::pin(async move {
        s.create_table(
            Table::create()
                .table("images_image")
                .col(id())
                .col(ColumnDef::new("user_id").big_integer().not_null())
                .col(ColumnDef::new("title").string_len(200).not_null())
                .col(ColumnDef::new("slug").string_len(200).not_null())
                .col(ColumnDef::new("url").string_len(2000).not_null())
                .col(ColumnDef::new("image").string_len(200).not_null())
                .col(ColumnDef::new("description").text().not_null())
                .col(timestamp("created"))
                .col(ColumnDef::new("total_likes").integer().not_null().default(0))
                .foreign_key(&mut foreign_key("images_image", "user_id", "accounts_user")),
        )
        .await?;
        s.sql("CREATE INDEX images_image_created_idx ON images_image (created DESC)").await?;
        s.sql("CREATE INDEX images_image_total_likes_idx ON images_image (total_likes DESC)").await?;
        s.create_index(Index::create().name("images_image_user_idx").table("images_image").col("user_id")).await?;

        s.create_table(
            Table::create()
                .table("images_image_users_like")
                .col(id())
                .col(ColumnDef::new("image_id").big_integer().not_null())
                .col(ColumnDef::new("user_id").big_integer().not_null())
                .foreign_key(&mut foreign_key("images_image_users_like", "image_id", "images_image"))
                .foreign_key(&mut foreign_key("images_image_users_like", "user_id", "accounts_user")),
        )
        .await?;
        s.create_index(
            Index::create()
                .name("images_image_users_like_unique")
                .table("images_image_users_like")
                .col("image_id")
                .col("user_id")
                .unique(),
        )
        .await?;
        s.create_index(
            Index::create().name("images_image_users_like_user_idx").table("images_image_users_like").col("user_id"),
        )
        .await?;

        s.create_table(
            Table::create()
                .table("account_contact")
                .col(id())
                .col(ColumnDef::new("user_from_id").big_integer().not_null())
                .col(ColumnDef::new("user_to_id").big_integer().not_null())
                .col(timestamp("created"))
                .foreign_key(&mut foreign_key("account_contact", "user_from_id", "accounts_user"))
                .foreign_key(&mut foreign_key("account_contact", "user_to_id", "accounts_user")),
        )
        .await?;
        s.create_index(
            Index::create()
                .name("account_contact_unique")
                .table("account_contact")
                .col("user_from_id")
                .col("user_to_id")
                .unique(),
        )
        .await?;
        s.create_index(Index::create().name("account_contact_to_idx").table("account_contact").col("user_to_id"))
            .await?;
        s.sql("CREATE INDEX account_contact_created_idx ON account_contact (created DESC)").await?;

        s.create_table(
            Table::create()
                .table("actions_action")
                .col(id())
                .col(ColumnDef::new("user_id").big_integer().not_null())
                .col(ColumnDef::new("verb").string_len(255).not_null())
                .col(timestamp("created"))
                .col(ColumnDef::new("target_ct_id").big_integer().null())
                .col(ColumnDef::new("target_id").big_integer().null())
                .foreign_key(&mut foreign_key("actions_action", "user_id", "accounts_user"))
                .foreign_key(&mut foreign_key("actions_action", "target_ct_id", "core_content_type")),
        )
        .await?;
        s.sql("CREATE INDEX actions_action_created_idx ON actions_action (created DESC)").await?;
        s.create_index(
            Index::create()
                .name("actions_action_target_idx")
                .table("actions_action")
                .col("target_ct_id")
                .col("target_id"),
        )
        .await?;
        s.create_index(
            Index::create()
                .name("actions_action_user_verb_idx")
                .table("actions_action")
                .col("user_id")
                .col("verb")
                .col("created"),
        )
        .await
    })
}
