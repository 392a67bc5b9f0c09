//! A test app with one model of every column kind, registered with the admin.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;
use quartet_core::admin::{
    ActionInput, ActionOutcome, AdminAction, AdminLink, Crumb, Inline, ModelAdmin, Translations, pages,
};
use quartet_core::app::App;
use quartet_core::app::{AppRegistry, CoreState, Translation};
use quartet_core::db::{Migration, Schema, foreign_key, id_column, timestamp};
use quartet_core::models::{ModelDef, ModelRules};
use quartet_core::templates::{PageContext, render};
use quartet_core::urls::{Routes, RoutesBuilder};
use quartet_testkit::TestSiteBuilder;
use sea_orm::DbErr;
use sea_orm::sea_query::{ColumnDef, Table};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

/// A book.
pub mod book {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `library_book`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "library_book")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub title: String,
        #[sea_orm(unique)]
        pub slug: String,
        pub status: String,
        pub published: DateTimeUtc,
        pub in_print: bool,
        pub pages: Option<i32>,
        #[sea_orm(column_type = "Decimal(Some((10, 2)))")]
        pub price: Decimal,
        pub author_id: Option<i64>,
        #[sea_orm(column_type = "Text")]
        pub notes: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "quartet_core::auth::models::user::Entity",
            from = "Column::AuthorId",
            to = "quartet_core::auth::models::user::Column::Id",
            on_delete = "Cascade"
        )]
        Author,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// A chapter of a book (a tabular inline).
pub mod chapter {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `library_chapter`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "library_chapter")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub book_id: i64,
        pub number: i32,
        pub title: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::book::Entity",
            from = "Column::BookId",
            to = "super::book::Column::Id",
            on_delete = "Cascade"
        )]
        Book,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// A review of a book (a stacked inline).
pub mod review {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `library_review`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "library_review")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub book_id: i64,
        pub reviewer: String,
        #[sea_orm(column_type = "Text")]
        pub body: String,
        pub attachment: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::book::Entity",
            from = "Column::BookId",
            to = "super::book::Column::Id",
            on_delete = "Cascade"
        )]
        Book,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// A genre, whose name and description are stored per language.
pub mod genre {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `library_genre`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "library_genre")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub code: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A genre's fields in one language.
pub mod genre_translation {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `library_genre_translation`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "library_genre_translation")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub master_id: i64,
        pub language_code: String,
        pub name: String,
        pub slug: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::genre::Entity",
            from = "Column::MasterId",
            to = "super::genre::Column::Id",
            on_delete = "Cascade"
        )]
        Genre,
    }

    impl ActiveModelBehavior for ActiveModel {}
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
                .table("library_book")
                .col(id_column())
                .col(ColumnDef::new("title").string_len(200).not_null())
                .col(ColumnDef::new("slug").string_len(200).not_null().unique_key())
                .col(ColumnDef::new("status").string_len(2).not_null())
                .col(timestamp("published"))
                .col(ColumnDef::new("in_print").boolean().not_null())
                .col(ColumnDef::new("pages").integer().null())
                .col(ColumnDef::new("price").decimal_len(10, 2).not_null())
                .col(ColumnDef::new("author_id").big_integer().null())
                .col(ColumnDef::new("notes").text().not_null())
                .foreign_key(&mut foreign_key("library_book", "author_id", "accounts_user")),
        )
        .await?;
        for (table, columns) in [
            (
                "library_chapter",
                vec![
                    ColumnDef::new("number").integer().not_null().to_owned(),
                    ColumnDef::new("title").string_len(200).not_null().to_owned(),
                ],
            ),
            (
                "library_review",
                vec![
                    ColumnDef::new("reviewer").string_len(100).not_null().to_owned(),
                    ColumnDef::new("body").text().not_null().to_owned(),
                    ColumnDef::new("attachment").string_len(200).not_null().default("").to_owned(),
                ],
            ),
        ] {
            let mut create = Table::create();
            create.table(table).col(id_column()).col(ColumnDef::new("book_id").big_integer().not_null());
            for column in columns {
                create.col(column);
            }
            create.foreign_key(&mut foreign_key(table, "book_id", "library_book"));
            s.create_table(&mut create).await?;
        }
        s.create_table(
            Table::create()
                .table("library_genre")
                .col(id_column())
                .col(ColumnDef::new("code").string_len(20).not_null().unique_key()),
        )
        .await?;
        s.create_table(
            Table::create()
                .table("library_genre_translation")
                .col(id_column())
                .col(ColumnDef::new("master_id").big_integer().not_null())
                .col(ColumnDef::new("language_code").string_len(15).not_null())
                .col(ColumnDef::new("name").string_len(100).not_null())
                .col(ColumnDef::new("slug").string_len(100).not_null())
                .foreign_key(&mut foreign_key("library_genre_translation", "master_id", "library_genre")),
        )
        .await?;
        Ok(())
    }
}

/// The library app.
#[derive(Debug, Clone, Copy)]
pub struct LibraryApp;

#[async_trait::async_trait]
impl App for LibraryApp {
    fn label(&self) -> &'static str {
        "library"
    }

    fn name(&self) -> &'static str {
        "Library"
    }

    fn mount(&self) -> &'static str {
        "/library/"
    }

    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new()
            .translated_route("admin-book-summary", "admin/book/{id}/summary/", get(book_summary))
            .route("admin-stats", "admin/stats/", get(stats))
            .route("order-word", "order/", get(crate::support::order_word))
            .with_state(core.clone())
    }

    fn register(&self, app: &mut AppRegistry<'_>) {
        app.add(AdminLink::new("Library statistics", "library:admin-stats").permission("library.view_book"))
            .add(AdminLink::new("Shelf audit", "library:admin-stats").superuser_only())
            .translation(Translation { language: "es", po: LIBRARY_ES })
            .migrations(vec![Box::new(Initial)])
            .model(
                ModelDef::of::<book::Entity>("book", "book", "books")
                    .display_field("title")
                    .with_rules(ModelRules { slug_from: &[("slug", "title")], ..ModelRules::NONE }),
            )
            .model(ModelDef::of::<chapter::Entity>("chapter", "chapter", "chapters").display_field("title"))
            .model(ModelDef::of::<review::Entity>("review", "review", "reviews").display_field("reviewer"))
            .model(ModelDef::of::<genre::Entity>("genre", "genre", "genres").display_field("code"))
            .model(
                ModelDef::of::<genre_translation::Entity>(
                    "genretranslation",
                    "genre translation",
                    "genre translations",
                )
                .display_field("name")
                .with_rules(ModelRules { slug_from: &[("slug", "name")], ..ModelRules::NONE }),
            );
        for admin in admin_registrations() {
            app.add(admin);
        }
    }
}

fn admin_registrations() -> Vec<ModelAdmin> {
    {
        vec![
            ModelAdmin::new("library.genre").list_display(["code"]).translated(Translations::new(
                ModelAdmin::new("library.genretranslation"),
                "master_id",
                "language_code",
            )),
            ModelAdmin::new("library.book")
                .list_display(["title", "slug", "author_id", "published", "status", "in_print"])
                .list_filter(["status", "in_print", "published", "author_id"])
                .search_fields(["title", "notes"])
                .raw_id(["author_id"])
                .date_hierarchy("published")
                .ordering(["status", "-published"])
                .choices("status", [("DF", "Draft"), ("PB", "Published")])
                .optional(["notes"])
                .list_editable(["status", "in_print"])
                .action(AdminAction::export_to_csv())
                .action(AdminAction::new(
                    "mark_published",
                    "Mark as published",
                    "change",
                    |input: ActionInput| async move {
                        let ids: Vec<i64> =
                            input.rows.iter().filter_map(|r| r.get("id").and_then(serde_json::Value::as_i64)).collect();
                        book::Entity::update_many()
                            .col_expr(book::Column::Status, sea_orm::sea_query::Expr::value("PB"))
                            .filter(book::Column::Id.is_in(ids.clone()))
                            .exec(&input.core.db)
                            .await?;
                        Ok(ActionOutcome::Message(format!("{} books marked as published.", ids.len())))
                    },
                ))
                .inline(Inline::tabular(ModelAdmin::new("library.chapter"), "book_id").extra(2))
                .inline(
                    Inline::stacked(
                        ModelAdmin::new("library.review")
                            .textarea(["body"])
                            .optional(["attachment"])
                            .file("attachment", "reviews"),
                        "book_id",
                    )
                    .extra(1),
                )
                .computed_column("View", |row| {
                    format!(
                        "<a class=\"view\" href=\"/books/{}/\">View</a>",
                        row.get("id").map(|v| v.to_string()).unwrap_or_default()
                    )
                }),
        ]
    }
}

/// A page inside the admin layout, as an app writes one.
#[derive(Template)]
#[template(
    source = r#"{% extends "admin/base.html" %}
{% block title %}{{ title }}{% endblock %}
{% block breadcrumbs %}{% include "admin/crumbs.html" %}{% endblock %}
{% block content %}<h1>{{ title }}</h1><p class="summary">{{ summary }}</p>{% endblock %}"#,
    ext = "html"
)]
struct AdminPage {
    ctx: PageContext,
    title: String,
    crumbs: Vec<Crumb>,
    summary: String,
}

/// `/library/admin/book/{id}/summary/`: a book's page inside the admin (like an order's detail).
async fn book_summary(ctx: PageContext, Path(id): Path<i64>) -> quartet_core::Result<Response> {
    pages::require(&ctx, Some("library.view_book")).await?;
    let book = book::Entity::find_by_id(id).one(&ctx.core().db).await?.ok_or(quartet_core::Error::NotFound)?;
    let crumbs = pages::breadcrumbs(&ctx, Some("library.book"), &[(book.title.clone(), String::new())]);
    let summary = format!("{} ({}), {} pages", book.title, book.status, book.pages.unwrap_or(0));
    render(&AdminPage { ctx, title: "Book summary".into(), crumbs, summary })
}

/// `/library/admin/stats/`: a dashboard listed on the admin index.
async fn stats(ctx: PageContext) -> quartet_core::Result<Response> {
    pages::require(&ctx, Some("library.view_book")).await?;
    let books = book::Entity::find().count(&ctx.core().db).await?;
    let crumbs = pages::breadcrumbs(&ctx, None, &[("Library statistics".into(), String::new())]);
    render(&AdminPage { ctx, title: "Library statistics".into(), crumbs, summary: format!("{books} books") })
}

/// The library's Spanish catalog: one translated path, and "Order" as a sort order (the probe
/// app's is a purchase).
const LIBRARY_ES: &str = r#"msgid ""
msgstr ""
"Language: es\n"

msgctxt "url"
msgid "admin/book/{id}/summary/"
msgstr "admin/libro/{id}/resumen/"

msgid "Order"
msgstr "Orden"
"#;

/// A site with the library app.
pub fn library_site() -> TestSiteBuilder {
    TestSiteBuilder::new().app(LibraryApp)
}
