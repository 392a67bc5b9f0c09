//! Reading and writing rows as JSON objects, for code that does not know the model's type (the
//! admin). Values keep the entity's own serialisation, as in dumps.

use crate::db::{RowChange, Tx};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, Condition, DbErr, EntityTrait, IdenStatic, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, SqlErr,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::meta::{FieldKind, to_db_value};
use super::primary_key;
use crate::db::Db;

/// A row: column name → value, primary key included.
pub type Row = Map<String, Value>;

/// Which rows, in which order.
#[derive(Debug, Clone)]
pub struct RowQuery {
    /// The filter.
    pub condition: Condition,
    /// Columns to sort by, `true` for descending.
    pub order: Vec<(String, bool)>,
    /// Rows to skip.
    pub offset: u64,
    /// Most rows to return.
    pub limit: Option<u64>,
}

impl Default for RowQuery {
    fn default() -> Self {
        Self { condition: Condition::all(), order: Vec::new(), offset: 0, limit: None }
    }
}

impl RowQuery {
    /// Every row whose column `column` holds the key `key` (given as text, as in URLs): an
    /// integer when it reads as one, else text.
    pub fn key_equals(column: &str, key: &str) -> Self {
        Self { condition: Condition::all().add(Expr::col(Alias::new(column)).eq(key_value(key))), ..Self::default() }
    }

    /// Every row whose column `column` is one of `values` (of the given kind).
    pub fn in_values(column: &str, kind: FieldKind, values: &[Value]) -> Self {
        let values: Vec<sea_orm::Value> = values.iter().filter_map(|v| to_db_value(kind, v)).collect();
        Self { condition: Condition::all().add(Expr::col(Alias::new(column)).is_in(values)), ..Self::default() }
    }
}

/// A key given as text (as in URLs) as a database value: an integer when it reads as one, else
/// text.
pub fn key_value(key: &str) -> sea_orm::Value {
    key.parse::<i64>().map_or_else(|_| key.into(), Into::into)
}

/// Why a row could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The values do not make a row of this model (a missing or mistyped column).
    #[error("invalid row: {0}")]
    Invalid(String),
    /// A unique constraint refused the row.
    #[error("a unique value is already taken: {0}")]
    Unique(String),
    /// A foreign key points nowhere, or rows still point here.
    #[error("a reference does not hold: {0}")]
    Reference(String),
    /// Any other database error.
    #[error(transparent)]
    Db(DbErr),
}

impl From<DbErr> for WriteError {
    fn from(e: DbErr) -> Self {
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(m)) => Self::Unique(m),
            Some(SqlErr::ForeignKeyConstraintViolation(m)) => Self::Reference(m),
            _ => Self::Db(e),
        }
    }
}

fn to_row<E>(model: &E::Model) -> Result<Row, DbErr>
where
    E: EntityTrait,
    E::Model: Serialize,
{
    let Value::Object(mut row) = serde_json::to_value(model).map_err(|e| DbErr::Json(e.to_string()))? else {
        return Err(DbErr::Json("a model did not serialise to an object".into()));
    };
    // SQLite drops trailing zeros ("9.5"); a decimal(10, 2) always shows two places ("9.50").
    for column in super::meta::columns::<E>() {
        let Some((_, places)) = column.digits else { continue };
        if let Some(Value::String(text)) = row.get_mut(column.name)
            && let Ok(mut number) = text.parse::<sea_orm::prelude::Decimal>()
        {
            number.rescale(places);
            *text = number.to_string();
        }
    }
    Ok(row)
}

fn from_row<E>(row: Row) -> Result<E::Model, WriteError>
where
    E: EntityTrait,
    E::Model: DeserializeOwned,
{
    serde_json::from_value(Value::Object(row)).map_err(|e| WriteError::Invalid(e.to_string()))
}

pub(crate) async fn find<E>(db: &Db, query: &RowQuery) -> Result<Vec<Row>, DbErr>
where
    E: EntityTrait,
    E::Model: Serialize,
{
    let mut select = E::find().filter(query.condition.clone());
    for (column, descending) in &query.order {
        select =
            select.order_by(Expr::col(Alias::new(column.as_str())), if *descending { Order::Desc } else { Order::Asc });
    }
    // A stable order for pages: the primary key last.
    select = select.order_by(Expr::col(Alias::new(primary_key::<E>().as_str())), Order::Asc);
    if query.offset > 0 {
        select = select.offset(query.offset);
    }
    if let Some(limit) = query.limit {
        select = select.limit(limit);
    }
    select.all(db).await?.iter().map(to_row::<E>).collect()
}

pub(crate) async fn count_by<E: EntityTrait>(
    db: &Db,
    column: &str,
    condition: Condition,
) -> Result<Vec<(Value, u64)>, DbErr> {
    // Values come back as text: the drivers cannot type a grouped expression for JSON.
    let rows: Vec<(Option<String>, i64)> = E::find()
        .select_only()
        .column_as(Expr::col(Alias::new(column)).cast_as("text"), "value")
        .column_as(Expr::col(sea_orm::sea_query::Asterisk).count(), "n")
        .filter(condition)
        .group_by(Expr::col(Alias::new(column)))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(value, n)| (value.map_or(Value::Null, Value::String), u64::try_from(n).unwrap_or(0)))
        .collect())
}

pub(crate) async fn insert<E>(tx: &Tx, mut row: Row) -> Result<Row, WriteError>
where
    E: EntityTrait + Default,
    E::Model: Serialize + DeserializeOwned + IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let pk = primary_key::<E>();
    let generate = row.get(pk.as_str()).is_none_or(Value::is_null);
    if generate {
        // A placeholder so the row deserialises; the database chooses the key.
        row.insert(pk.as_str().to_owned(), Value::from(0));
    }
    let mut active = from_row::<E>(row)?.into_active_model().reset_all();
    if generate {
        active.not_set(pk);
    }
    let model = active.insert(tx).await?;
    let saved = to_row::<E>(&model)?;
    if tx.wants_rows(E::default().table_name()) {
        tx.record_row(RowChange {
            table: E::default().table_name().to_owned(),
            before: None,
            after: Some(saved.clone()),
        });
    }
    Ok(saved)
}

pub(crate) async fn update<E>(tx: &Tx, row: Row) -> Result<Row, WriteError>
where
    E: EntityTrait + Default,
    E::Model: Serialize + DeserializeOwned + IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let table = E::default().table_name();
    let before =
        if tx.wants_rows(table) { find_by_key::<E>(tx, row.get(primary_key::<E>().as_str())).await? } else { None };
    let model = from_row::<E>(row)?.into_active_model().reset_all().update(tx).await?;
    let saved = to_row::<E>(&model)?;
    if tx.wants_rows(table) {
        tx.record_row(RowChange { table: table.to_owned(), before, after: Some(saved.clone()) });
    }
    Ok(saved)
}

/// The row whose primary key is `key`, read in `tx`.
async fn find_by_key<E>(tx: &Tx, key: Option<&Value>) -> Result<Option<Row>, DbErr>
where
    E: EntityTrait,
    E::Model: Serialize,
{
    let kind = super::meta::columns::<E>().into_iter().find(|c| c.primary_key).map_or(FieldKind::Integer, |c| c.kind);
    let Some(value) = key.and_then(|k| to_db_value(kind, k)) else { return Ok(None) };
    let found = E::find().filter(Expr::col(Alias::new(primary_key::<E>().as_str())).eq(value)).one(tx).await?;
    found.as_ref().map(to_row::<E>).transpose()
}

pub(crate) async fn delete<E>(tx: &Tx, pks: &[Value]) -> Result<u64, DbErr>
where
    E: EntityTrait + Default,
    E::Model: Serialize,
{
    let pk = primary_key::<E>();
    let kind = super::meta::columns::<E>().into_iter().find(|c| c.primary_key).map_or(FieldKind::Integer, |c| c.kind);
    let values: Vec<sea_orm::Value> = pks.iter().filter_map(|v| to_db_value(kind, v)).collect();
    if values.is_empty() {
        return Ok(0);
    }
    let condition = Expr::col(Alias::new(pk.as_str())).is_in(values);
    let table = E::default().table_name();
    if tx.wants_rows(table) {
        for model in E::find().filter(condition.clone()).all(tx).await? {
            tx.record_row(RowChange { table: table.to_owned(), before: Some(to_row::<E>(&model)?), after: None });
        }
    }
    Ok(E::delete_many().filter(condition).exec(tx).await?.rows_affected)
}
