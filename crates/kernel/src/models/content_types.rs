//! Content types (Django's `contenttypes`): one row per model label (`bookmarks.image`), so a
//! row of one table can point at a row of any model with two columns, the content type and
//! the row's id (the bookmarks' activity stream: "likes" an image, "is following" a user).
//! Rows are made on first use and never change, so an id stays valid across dumps of one site.

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

/// A row of `core_content_type`.
pub mod content_type {
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A model known by its app and name.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "core_content_type")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The app's label (`bookmarks`).
        #[sea_orm(column_type = "String(StringLen::N(100))")]
        pub app_label: String,
        /// The model's name within the app (`image`).
        #[sea_orm(column_type = "String(StringLen::N(100))")]
        pub model: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl Model {
        /// `app_label.model`.
        pub fn label(&self) -> String {
            format!("{}.{}", self.app_label, self.model)
        }
    }
}

/// Splits `bookmarks.image` into its app label and model name.
fn split(label: &str) -> Result<(&str, &str), DbErr> {
    label
        .split_once('.')
        .filter(|(app, model)| !app.is_empty() && !model.is_empty())
        .ok_or_else(|| DbErr::Custom(format!("a content type is named app.model, not {label:?}")))
}

/// The id of the content type `label` (`app.model`), made if it is new. Safe when two requests
/// make the same one at once: the pair is unique and the insert does nothing on a conflict.
pub async fn id_of(db: &impl ConnectionTrait, label: &str) -> Result<i64, DbErr> {
    let (app_label, model) = split(label)?;
    if let Some(found) = find(db, app_label, model).await? {
        return Ok(found.id);
    }
    let row = content_type::ActiveModel {
        app_label: Set(app_label.to_owned()),
        model: Set(model.to_owned()),
        ..Default::default()
    };
    content_type::Entity::insert(row)
        .on_conflict_do_nothing_on([content_type::Column::AppLabel, content_type::Column::Model])
        .exec(db)
        .await?;
    find(db, app_label, model)
        .await?
        .map(|found| found.id)
        .ok_or_else(|| DbErr::RecordNotFound(format!("content type {label}")))
}

async fn find(db: &impl ConnectionTrait, app_label: &str, model: &str) -> Result<Option<content_type::Model>, DbErr> {
    content_type::Entity::find()
        .filter(content_type::Column::AppLabel.eq(app_label))
        .filter(content_type::Column::Model.eq(model))
        .one(db)
        .await
}

/// The label (`app.model`) of content type `id`, if there is one.
pub async fn label_of(db: &impl ConnectionTrait, id: i64) -> Result<Option<String>, DbErr> {
    Ok(content_type::Entity::find_by_id(id).one(db).await?.map(|ct| ct.label()))
}
