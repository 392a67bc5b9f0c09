//! An app's hooks in the admin's generated pages (`AdminHooks`), on a model of a test app:
//! starting values, the fields shown, `clean`, work after saving in the same transaction, and
//! a link to a page of the app. The user admin is written with the same hooks (`admin.rs`).

use chrono::{DateTime, Utc};
use quartet_core::admin::form::AdminField;
use quartet_core::admin::{AdminHooks, Clean, ModelAdmin, ObjectLink};
use quartet_core::app::{App, AppRegistry, CoreState};
use quartet_core::db::Tx;
use quartet_core::db::{MigrationFuture, Schema, id_column, migration};
use quartet_core::i18n::Tr;
use quartet_core::models::{ModelDef, Row};
use quartet_core::urls::{Routes, RoutesBuilder};
use quartet_testkit::{TestSiteBuilder, dbtest};
use sea_orm::sea_query::{ColumnDef, Table};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::Value;

/// `hooked_note`: a title and a stamp the hooks write.
pub mod note {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row of `hooked_note`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "hooked_note")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(column_type = "String(StringLen::N(100))")]
        pub title: String,
        #[sea_orm(column_type = "String(StringLen::N(100))")]
        pub stamp: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn initial<'s>(s: &'s Schema<'s>) -> MigrationFuture<'s> {
    Box::pin(async move {
        s.create_table(
            Table::create()
                .table("hooked_note")
                .col(id_column())
                .col(ColumnDef::new("title").string_len(100).not_null())
                .col(ColumnDef::new("stamp").string_len(100).not_null()),
        )
        .await
    })
}

struct NoteHooks;

#[async_trait::async_trait]
impl AdminHooks for NoteHooks {
    fn new_row(&self, _now: DateTime<Utc>, row: &mut Row) {
        row.insert("title".into(), Value::String("Untitled".into()));
    }

    fn add_fields(&self, _tr: &Tr, mut fields: Vec<AdminField>) -> Vec<AdminField> {
        fields.retain(|f| f.name != "stamp");
        fields
    }

    async fn clean(&self, form: Clean<'_>) -> quartet_core::Result<()> {
        if form.row.get("title").and_then(Value::as_str) == Some("forbidden") {
            form.errors.insert("title".into(), vec!["That title is not allowed.".into()]);
        }
        if form.adding {
            form.errors.remove("stamp");
            form.row.insert("stamp".into(), Value::String("cleaned".into()));
        }
        Ok(())
    }

    async fn after_save(&self, tx: &Tx, pk: &str, adding: bool) -> quartet_core::Result<()> {
        let id: i64 = pk.parse().unwrap_or_default();
        let stamp = format!("saved {id} {}", if adding { "added" } else { "changed" });
        tx.execute_raw(sea_orm::Statement::from_sql_and_values(
            tx.get_database_backend(),
            if tx.get_database_backend() == sea_orm::DbBackend::Postgres {
                "UPDATE hooked_note SET stamp = $1 WHERE id = $2"
            } else {
                "UPDATE hooked_note SET stamp = ? WHERE id = ?"
            },
            [stamp.into(), id.into()],
        ))
        .await?;
        Ok(())
    }

    fn object_links(&self, core: &CoreState, _tr: &Tr, pk: &str) -> Vec<ObjectLink> {
        vec![ObjectLink {
            name: "history-link",
            label: "History".into(),
            text: "Every change of this note:".into(),
            link_text: "see the history".into(),
            url: core.url_with("admin:history", &[&"hooked", &"note", &pk]),
        }]
    }
}

struct HookedApp;

#[async_trait::async_trait]
impl App for HookedApp {
    fn label(&self) -> &'static str {
        "hooked"
    }

    fn name(&self) -> &'static str {
        "Hooked"
    }

    fn routes(&self, core: &CoreState) -> Routes {
        RoutesBuilder::<CoreState>::new().with_state(core.clone())
    }

    fn register(&self, app: &mut AppRegistry<'_>) {
        app.migrations(vec![migration("0001_initial", initial)])
            .model(ModelDef::of::<note::Entity>("note", "note", "notes").display_field("title"))
            .add(ModelAdmin::new("hooked.note").hooks(NoteHooks));
    }
}

fn hooked_site() -> TestSiteBuilder {
    TestSiteBuilder::new().app(HookedApp)
}

dbtest! {
    using hooked_site();
    async fn an_apps_hooks_shape_the_add_and_change_pages(site) {
        let (root, _) = site.superuser_client("root").await;
        let form = root.get("/admin/hooked/note/add/").await;
        assert_eq!(form.attrs("#id_title", "value"), ["Untitled"], "new_row: {}", form.body);
        assert!(form.attrs("#id_stamp", "name").is_empty(), "add_fields hid the stamp: {}", form.body);

        let refused = root.post_form("/admin/hooked/note/add/", &[("title", "forbidden")]).await;
        assert_eq!(refused.status, 200);
        assert_eq!(refused.texts(".field-title .errorlist li"), ["That title is not allowed."]);
        assert!(note::Entity::find().all(&site.core.db).await.unwrap().is_empty(), "nothing saved");

        let added = root.post_form("/admin/hooked/note/add/", &[("title", "Groceries")]).await;
        assert_eq!(added.status, 303, "{}", added.body);
        let stored = note::Entity::find().one(&site.core.db).await.unwrap().unwrap();
        assert_eq!(stored.stamp, format!("saved {} added", stored.id), "after_save ran in the transaction");

        let change = root.get(&format!("/admin/hooked/note/{}/change/", stored.id)).await;
        assert_eq!(change.attrs(".field-history-link a", "href"), [format!("/admin/hooked/note/{}/history/", stored.id)]);
        let changed = root
            .post_form(&format!("/admin/hooked/note/{}/change/", stored.id), &[("title", "Shopping"), ("stamp", "typed")])
            .await;
        assert_eq!(changed.status, 303, "{}", changed.body);
        let stored = note::Entity::find().one(&site.core.db).await.unwrap().unwrap();
        assert_eq!((stored.title.as_str(), stored.stamp), ("Shopping", format!("saved {} changed", stored.id)));
    }
}
