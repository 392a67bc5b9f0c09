//! Schema of the accounts app.

use sea_orm::DbErr;
use sea_orm::sea_query::{ColumnDef, ForeignKeyAction, Index, Table};

use quartet_kernel::db::{Migration, Schema, foreign_key, foreign_key_to, id_column as id, timestamp, timestamp_null};

/// Users, groups, permissions, their links, and profiles.
pub(super) struct Initial;

#[async_trait::async_trait]
impl Migration for Initial {
    fn name(&self) -> &'static str {
        "0001_initial"
    }

    async fn up(&self, s: &Schema<'_>) -> Result<(), DbErr> {
        s.create_table(
            Table::create()
                .table("accounts_user")
                .col(id())
                .col(ColumnDef::new("password").string_len(256).not_null())
                .col(timestamp_null("last_login"))
                .col(ColumnDef::new("is_superuser").boolean().not_null().default(false))
                .col(ColumnDef::new("username").string_len(150).not_null().unique_key())
                .col(ColumnDef::new("first_name").string_len(150).not_null().default(""))
                .col(ColumnDef::new("last_name").string_len(150).not_null().default(""))
                .col(ColumnDef::new("email").string_len(254).not_null().default(""))
                .col(ColumnDef::new("is_staff").boolean().not_null().default(false))
                .col(ColumnDef::new("is_active").boolean().not_null().default(true))
                .col(timestamp("date_joined")),
        )
        .await?;
        // Names and addresses are unique regardless of case; empty addresses may repeat.
        s.sql("CREATE UNIQUE INDEX accounts_user_username_ci ON accounts_user (lower(username))").await?;
        s.sql("CREATE UNIQUE INDEX accounts_user_email_ci ON accounts_user (lower(email)) WHERE email <> ''").await?;

        s.create_table(
            Table::create()
                .table("accounts_group")
                .col(id())
                .col(ColumnDef::new("name").string_len(150).not_null().unique_key()),
        )
        .await?;
        s.create_table(
            Table::create()
                .table("accounts_permission")
                .col(ColumnDef::new("codename").string_len(255).not_null().primary_key())
                .col(ColumnDef::new("name").string_len(255).not_null())
                .col(ColumnDef::new("app_label").string_len(100).not_null())
                .col(ColumnDef::new("model").string_len(100).not_null()),
        )
        .await?;

        let links: [(
            &'static str,
            &'static str,
            (&'static str, &'static str),
            &'static str,
            (&'static str, &'static str),
            bool,
        ); 3] = [
            ("accounts_user_groups", "user_id", ("accounts_user", "id"), "group_id", ("accounts_group", "id"), false),
            (
                "accounts_group_permissions",
                "group_id",
                ("accounts_group", "id"),
                "permission_id",
                ("accounts_permission", "codename"),
                true,
            ),
            (
                "accounts_user_user_permissions",
                "user_id",
                ("accounts_user", "id"),
                "permission_id",
                ("accounts_permission", "codename"),
                true,
            ),
        ];
        for (table, left, left_to, right, right_to, right_is_text) in links {
            let mut right_col = ColumnDef::new(right);
            if right_is_text {
                right_col.string_len(255);
            } else {
                right_col.big_integer();
            }
            s.create_table(
                Table::create()
                    .table(table)
                    .col(id())
                    .col(ColumnDef::new(left).big_integer().not_null())
                    .col(right_col.not_null())
                    .foreign_key(&mut foreign_key_to(table, left, left_to, ForeignKeyAction::Cascade))
                    .foreign_key(&mut foreign_key_to(table, right, right_to, ForeignKeyAction::Cascade)),
            )
            .await?;
            s.create_index(Index::create().name(format!("{table}_uniq")).table(table).col(left).col(right).unique())
                .await?;
            s.create_index(Index::create().name(format!("{table}_{right}_idx")).table(table).col(right)).await?;
        }

        s.create_table(
            Table::create()
                .table("accounts_profile")
                .col(id())
                .col(ColumnDef::new("user_id").big_integer().not_null().unique_key())
                .col(ColumnDef::new("date_of_birth").date().null())
                .col(ColumnDef::new("photo").string_len(255).not_null().default(""))
                .foreign_key(&mut foreign_key("accounts_profile", "user_id", "accounts_user")),
        )
        .await?;
        Ok(())
    }
}

/// The passwords of demo accounts, shown on their owner's dashboard until changed.
pub(super) struct DemoPasswords;

#[async_trait::async_trait]
impl Migration for DemoPasswords {
    fn name(&self) -> &'static str {
        "0002_demo_passwords"
    }

    async fn up(&self, s: &Schema<'_>) -> Result<(), DbErr> {
        s.create_table(
            Table::create()
                .table("accounts_demo_password")
                .col(ColumnDef::new("user_id").big_integer().not_null().primary_key())
                .col(ColumnDef::new("password").string_len(100).not_null())
                .col(ColumnDef::new("password_hash").string_len(256).not_null())
                .foreign_key(&mut foreign_key("accounts_demo_password", "user_id", "accounts_user")),
        )
        .await
    }
}

/// The accounts people sign in to through an OpenID Connect provider (social_django's
/// `UserSocialAuth`): one row per provider and subject.
pub(super) struct SocialAuth;

#[async_trait::async_trait]
impl Migration for SocialAuth {
    fn name(&self) -> &'static str {
        "0003_social_auth"
    }

    async fn up(&self, s: &Schema<'_>) -> Result<(), DbErr> {
        let table = "accounts_social_auth";
        s.create_table(
            Table::create()
                .table(table)
                .col(id())
                .col(ColumnDef::new("user_id").big_integer().not_null())
                .col(ColumnDef::new("provider").string_len(40).not_null())
                .col(ColumnDef::new("uid").string_len(255).not_null())
                .col(ColumnDef::new("email").string_len(254).not_null().default(""))
                .col(timestamp("created"))
                .col(timestamp_null("last_used"))
                .foreign_key(&mut foreign_key(table, "user_id", "accounts_user")),
        )
        .await?;
        s.create_index(Index::create().name(format!("{table}_uniq")).table(table).col("provider").col("uid").unique())
            .await?;
        s.create_index(Index::create().name(format!("{table}_user_idx")).table(table).col("user_id")).await
    }
}
