//! The model registry (Django's `_meta` for the parts core needs) and the portable data dump.
//!
//! Every app lists its models. Each gets view/add/change/delete permissions, and each is moved
//! by `dumpdata`/`loaddata` in one JSON format — `{"model": "app.name", "pk": …, "fields": {…}}`
//! — whose values come from the entity's own serialisation, so a dump made on SQLite loads
//! unchanged into PostgreSQL and the other way round.

pub mod content_types;
mod dump;
mod meta;
mod rows;
mod rules;

use crate::db::Tx;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, IdenStatic, IntoActiveModel,
    Iterable, PaginatorTrait, PrimaryKeyToColumn, PrimaryKeyTrait, QueryOrder, QuerySelect,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use dump::{DumpOptions, LoadReport, dump_data, load_data, parse_dump, select_models};
pub use meta::{ColumnInfo, FieldKind, ForeignKey, plain_text, to_db_value};
pub use rows::{Row, RowQuery, WriteError, key_value};
pub use rules::{ModelRules, date_value, day_of};

use crate::db::Db;

/// A row's primary key and its other columns.
pub type RowData = (Value, Map<String, Value>);

/// One row in the dump format.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct DumpRow {
    /// `app.model`.
    pub model: String,
    /// The primary key.
    pub pk: Value,
    /// The other columns.
    pub fields: Map<String, Value>,
}

/// What core needs to know about a model, and how to move its rows.
#[derive(Clone)]
pub struct ModelDef {
    /// The app label (filled in from the app if left empty).
    pub app: &'static str,
    /// The model name (`user`).
    pub name: &'static str,
    /// Singular name for people (`user`).
    pub verbose_name: &'static str,
    /// Plural name for people (`users`).
    pub verbose_name_plural: &'static str,
    /// Whether view/add/change/delete permissions are created for it.
    pub permissions: bool,
    /// The column that names a row for people (Django's `__str__`), if any.
    pub display_field: Option<&'static str>,
    /// The cache namespaces a committed change to the model's rows makes stale (`None`: its
    /// app's label).
    caches: Option<&'static [&'static str]>,
    caches_when_only: Vec<(&'static [&'static str], &'static [&'static str])>,
    rules: ModelRules,
    entity: Arc<dyn DynEntity>,
}

impl fmt::Debug for ModelDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelDef").field("label", &self.label()).field("table", &self.table()).finish_non_exhaustive()
    }
}

impl ModelDef {
    /// A model backed by a sea-orm entity.
    pub fn of<E>(name: &'static str, verbose_name: &'static str, verbose_name_plural: &'static str) -> Self
    where
        E: EntityTrait + Default,
        E::Model: Serialize + DeserializeOwned + IntoActiveModel<E::ActiveModel> + Send + Sync,
        E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send + Sync,
    {
        Self {
            app: "",
            name,
            verbose_name,
            verbose_name_plural,
            permissions: true,
            display_field: None,
            caches: None,
            caches_when_only: Vec::new(),
            rules: ModelRules::NONE,
            entity: Arc::new(EntityModel::<E>(PhantomData)),
        }
    }

    /// A link table or other internal model: no permissions of its own.
    pub fn without_permissions(mut self) -> Self {
        self.permissions = false;
        self
    }

    /// Names rows by this column ("alice" rather than "user object (3)").
    pub fn display_field(mut self, column: &'static str) -> Self {
        self.display_field = Some(column);
        self
    }

    /// The cache namespaces a committed change to the model's rows makes stale, instead of its
    /// app's label: `&["blog.comments"]` for data cached apart, `&[]` for bookkeeping rows no
    /// page is made from (jobs, log entries).
    pub fn caches(mut self, namespaces: &'static [&'static str]) -> Self {
        self.caches = Some(namespaces);
        self
    }

    /// An update that sets only `columns` (a denormalised count) makes only `namespaces` stale,
    /// instead of every namespace of the model.
    pub fn caches_when_only(mut self, columns: &'static [&'static str], namespaces: &'static [&'static str]) -> Self {
        self.caches_when_only.push((columns, namespaces));
        self
    }

    /// The cache namespaces a change to the model's rows makes stale.
    pub fn cache_namespaces(&self) -> Vec<&'static str> {
        self.caches.map_or_else(|| vec![self.app], <[&str]>::to_vec)
    }

    /// The model's cache rule: its table, its namespaces and the narrower ones.
    pub fn cache_rule(&self) -> crate::cache::CacheRule {
        crate::cache::CacheRule {
            table: self.table(),
            namespaces: self.cache_namespaces(),
            only_columns: self.caches_when_only.iter().map(|(c, n)| (*c, n.to_vec())).collect(),
        }
    }

    /// What the model does to its own rows (time stamps, a slug from a title, one value per
    /// date), shared by the admin, the app's views and its seeders; see [`ModelRules`].
    pub fn with_rules(mut self, rules: ModelRules) -> Self {
        self.rules = rules;
        self
    }

    /// The model's [`ModelRules`].
    pub fn rules(&self) -> &ModelRules {
        &self.rules
    }

    /// Every rule names a column of the model, of a kind it can use (checked at start-up).
    pub fn check_rules(&self) -> anyhow::Result<()> {
        self.rules.check(self)
    }

    /// How people see one row: the display column, or "<verbose name> object (<pk>)".
    pub fn repr(&self, row: &Row) -> String {
        if let Some(text) = self.display_field.and_then(|c| row.get(c)).map(meta::plain_text)
            && !text.is_empty()
        {
            return text;
        }
        format!(
            "{} object ({})",
            self.verbose_name,
            meta::plain_text(row.get(self.rows().primary_key()).unwrap_or(&Value::Null))
        )
    }

    /// `app.model`.
    pub fn label(&self) -> String {
        format!("{}.{}", self.app, self.name)
    }

    /// The database table.
    pub fn table(&self) -> String {
        self.entity.table()
    }

    /// The rows to move.
    pub fn rows(&self) -> &dyn DynEntity {
        self.entity.as_ref()
    }
}

/// Reading and writing a model's rows without knowing its type.
#[async_trait::async_trait]
pub trait DynEntity: Send + Sync {
    /// The table name.
    fn table(&self) -> String;
    /// How many rows there are.
    async fn count(&self, db: &Db) -> Result<u64, DbErr>;
    /// Rows in primary-key order, as `(pk, fields)`.
    async fn dump(&self, db: &Db, offset: u64, limit: u64) -> Result<Vec<RowData>, DbErr>;
    /// Inserts rows, replacing rows with the same primary key.
    async fn load(&self, tx: &Tx, rows: Vec<RowData>) -> Result<(), String>;
    /// Moves PostgreSQL's id sequence past the largest id (after rows were loaded with ids).
    async fn reset_sequence(&self, tx: &Tx) -> Result<(), DbErr>;
    /// The primary-key column.
    fn primary_key(&self) -> &'static str;
    /// Every column, in declaration order.
    fn columns(&self) -> Vec<ColumnInfo>;
    /// Columns that refer to another table.
    fn foreign_keys(&self) -> Vec<ForeignKey>;
    /// Rows matching a query, each with its primary key.
    async fn find(&self, db: &Db, query: &RowQuery) -> Result<Vec<Row>, DbErr>;
    /// The number of rows matching a condition.
    async fn count_where(&self, db: &Db, condition: sea_orm::Condition) -> Result<u64, DbErr>;
    /// Rows matching `condition`, counted per distinct value of `column` (admin facets).
    async fn count_by(&self, db: &Db, column: &str, condition: sea_orm::Condition) -> Result<Vec<(Value, u64)>, DbErr>;
    /// Inserts a row (the primary key is generated when the row has none); returns it as stored.
    async fn insert(&self, tx: &Tx, row: Row) -> Result<Row, WriteError>;
    /// Replaces the row with the same primary key; returns it as stored.
    async fn update(&self, tx: &Tx, row: Row) -> Result<Row, WriteError>;
    /// Deletes the rows with these primary keys; returns how many went.
    async fn delete(&self, tx: &Tx, pks: &[Value]) -> Result<u64, DbErr>;
}

pub(crate) struct EntityModel<E>(PhantomData<fn() -> E>);

pub(crate) fn primary_key<E: EntityTrait>() -> E::Column {
    E::PrimaryKey::iter().next().expect("every model has a primary key").into_column()
}

#[async_trait::async_trait]
impl<E> DynEntity for EntityModel<E>
where
    E: EntityTrait + Default,
    E::Model: Serialize + DeserializeOwned + IntoActiveModel<E::ActiveModel> + Send + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send + Sync,
{
    fn table(&self) -> String {
        E::default().table_name().to_owned()
    }

    async fn count(&self, db: &Db) -> Result<u64, DbErr> {
        E::find().count(db).await
    }

    async fn dump(&self, db: &Db, offset: u64, limit: u64) -> Result<Vec<RowData>, DbErr> {
        let pk = primary_key::<E>();
        let pk_name = pk.as_str();
        E::find()
            .order_by_asc(pk)
            .offset(offset)
            .limit(limit)
            .all(db)
            .await?
            .into_iter()
            .map(|model| {
                let Value::Object(mut fields) = serde_json::to_value(&model).map_err(|e| DbErr::Json(e.to_string()))?
                else {
                    return Err(DbErr::Json("a model did not serialise to an object".into()));
                };
                let pk_value = fields.remove(pk_name).unwrap_or(Value::Null);
                Ok((pk_value, fields))
            })
            .collect()
    }

    async fn load(&self, tx: &Tx, rows: Vec<RowData>) -> Result<(), String> {
        let pk = primary_key::<E>();
        let update: Vec<E::Column> = E::Column::iter().filter(|c| c.as_str() != pk.as_str()).collect();
        let mut conflict = OnConflict::column(pk);
        if update.is_empty() {
            conflict.do_nothing();
        } else {
            conflict.update_columns(update);
        }
        for chunk in rows.chunks(100) {
            let mut models = Vec::with_capacity(chunk.len());
            for (pk_value, fields) in chunk {
                let mut object = fields.clone();
                object.insert(pk.as_str().to_owned(), pk_value.clone());
                let model: E::Model = serde_json::from_value(Value::Object(object))
                    .map_err(|e| format!("row {pk_value} of {}: {e}", self.table()))?;
                models.push(model.into_active_model().reset_all());
            }
            E::insert_many(models)
                .on_conflict(conflict.clone())
                .exec_without_returning(tx)
                .await
                .map_err(|e| format!("{}: {e}", self.table()))?;
        }
        Ok(())
    }

    async fn reset_sequence(&self, tx: &Tx) -> Result<(), DbErr> {
        if tx.get_database_backend() != DbBackend::Postgres || !<E::PrimaryKey as PrimaryKeyTrait>::auto_increment() {
            return Ok(());
        }
        let pk = primary_key::<E>();
        let max: Option<i64> = E::find()
            .select_only()
            .column_as(
                sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::max(sea_orm::sea_query::Expr::col(pk))),
                "max",
            )
            .into_tuple()
            .one(tx)
            .await?
            .flatten();
        let quoted_table = format!("\"{}\"", self.table());
        let statement = sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT setval(pg_get_serial_sequence($1, $2), $3, $4)",
            [quoted_table.into(), pk.as_str().into(), max.unwrap_or(1).into(), max.is_some().into()],
        );
        tx.execute_raw(statement).await.map(|_| ())
    }

    fn primary_key(&self) -> &'static str {
        primary_key::<E>().as_str()
    }

    fn columns(&self) -> Vec<ColumnInfo> {
        meta::columns::<E>()
    }

    fn foreign_keys(&self) -> Vec<ForeignKey> {
        meta::foreign_keys::<E>()
    }

    async fn find(&self, db: &Db, query: &RowQuery) -> Result<Vec<Row>, DbErr> {
        rows::find::<E>(db, query).await
    }

    async fn count_where(&self, db: &Db, condition: sea_orm::Condition) -> Result<u64, DbErr> {
        sea_orm::QueryFilter::filter(E::find(), condition).count(db).await
    }

    async fn count_by(&self, db: &Db, column: &str, condition: sea_orm::Condition) -> Result<Vec<(Value, u64)>, DbErr> {
        rows::count_by::<E>(db, column, condition).await
    }

    async fn insert(&self, tx: &Tx, row: Row) -> Result<Row, WriteError> {
        rows::insert::<E>(tx, row).await
    }

    async fn update(&self, tx: &Tx, row: Row) -> Result<Row, WriteError> {
        rows::update::<E>(tx, row).await
    }

    async fn delete(&self, tx: &Tx, pks: &[Value]) -> Result<u64, DbErr> {
        rows::delete::<E>(tx, pks).await
    }
}
