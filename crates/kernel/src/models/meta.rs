//! What a model's columns are, read from the sea-orm entity: their kind, whether they may be
//! empty, whether they are unique, and which of them point at other tables.

use sea_orm::sea_query::{ColumnType, TableRef};
use sea_orm::{ColumnTrait, EntityTrait, IdenStatic, Identity, Iterable, RelationTrait};
use serde_json::Value;

/// The kind of value a column holds, as forms and filters need to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A whole number.
    Integer,
    /// A floating-point number.
    Float,
    /// An exact decimal number (money).
    Decimal,
    /// True or false.
    Boolean,
    /// A line of text, with an optional maximum length.
    Text(Option<u32>),
    /// Text of any length (a textarea).
    LongText,
    /// A calendar date.
    Date,
    /// A moment in time (stored in UTC).
    DateTime,
    /// A JSON document.
    Json,
    /// A UUID.
    Uuid,
}

impl FieldKind {
    fn of(column_type: &ColumnType) -> Self {
        match column_type {
            ColumnType::Char(len) => Self::Text(*len),
            ColumnType::String(len) => Self::Text(match len {
                sea_orm::sea_query::StringLen::N(n) => Some(*n),
                _ => None,
            }),
            ColumnType::Text => Self::LongText,
            ColumnType::TinyInteger
            | ColumnType::SmallInteger
            | ColumnType::Integer
            | ColumnType::BigInteger
            | ColumnType::TinyUnsigned
            | ColumnType::SmallUnsigned
            | ColumnType::Unsigned
            | ColumnType::BigUnsigned => Self::Integer,
            ColumnType::Float | ColumnType::Double => Self::Float,
            ColumnType::Decimal(_) | ColumnType::Money(_) => Self::Decimal,
            ColumnType::Boolean => Self::Boolean,
            ColumnType::Date => Self::Date,
            ColumnType::DateTime | ColumnType::Timestamp | ColumnType::TimestampWithTimeZone => Self::DateTime,
            ColumnType::Json | ColumnType::JsonBinary => Self::Json,
            ColumnType::Uuid => Self::Uuid,
            _ => Self::Text(None),
        }
    }
}

/// One column of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column name (also the JSON key of a row).
    pub name: &'static str,
    /// What it holds.
    pub kind: FieldKind,
    /// Whether it may be NULL.
    pub nullable: bool,
    /// Whether values must be unique.
    pub unique: bool,
    /// Whether it is the primary key.
    pub primary_key: bool,
    /// Whether the database generates it (an auto-increment primary key).
    pub generated: bool,
    /// Digits in total and after the point of a decimal column declared with them
    /// (`Decimal(Some((10, 2)))` is `(10, 2)`).
    pub digits: Option<(u32, u32)>,
}

/// A column that refers to a row of another table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The column holding the reference (`author_id`).
    pub column: String,
    /// The table referred to (`accounts_user`).
    pub table: String,
}

pub(crate) fn columns<E: EntityTrait>() -> Vec<ColumnInfo> {
    let pk = super::primary_key::<E>();
    let generated = <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::auto_increment();
    E::Column::iter()
        .map(|column| {
            let def = column.def();
            let is_pk = column.as_str() == pk.as_str();
            ColumnInfo {
                name: column.as_str(),
                kind: FieldKind::of(def.get_column_type()),
                nullable: def.is_null(),
                unique: def.is_unique() || is_pk,
                primary_key: is_pk,
                generated: is_pk && generated,
                digits: match def.get_column_type() {
                    ColumnType::Decimal(Some(digits)) | ColumnType::Money(Some(digits)) => Some(*digits),
                    _ => None,
                },
            }
        })
        .collect()
}

pub(crate) fn foreign_keys<E: EntityTrait>() -> Vec<ForeignKey> {
    E::Relation::iter()
        .filter_map(|relation| {
            let def = relation.def();
            // sea-orm marks `belongs_to` (the side holding the column) with `is_owner == false`.
            if def.is_owner {
                return None;
            }
            let Identity::Unary(column) = &def.from_col else { return None };
            let TableRef::Table(name, _) = &def.to_tbl else { return None };
            Some(ForeignKey { column: column.to_string(), table: name.1.to_string() })
        })
        .collect()
}

/// A JSON value as plain text: strings without quotes, null as empty.
pub fn plain_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A JSON value (as a row holds it, or as parsed from a form) as a database value of `kind`;
/// `None` when it does not fit.
pub fn to_db_value(kind: FieldKind, value: &Value) -> Option<sea_orm::Value> {
    use sea_orm::Value as V;
    let text = plain_text(value);
    Some(match (kind, value) {
        (_, Value::Null) => return None,
        (FieldKind::Integer, Value::Number(n)) => V::BigInt(Some(n.as_i64()?)),
        (FieldKind::Integer, _) => V::BigInt(Some(text.trim().parse().ok()?)),
        (FieldKind::Float, _) => V::Double(Some(text.trim().parse().ok()?)),
        (FieldKind::Decimal, _) => V::Decimal(Some(text.trim().parse().ok()?)),
        (FieldKind::Boolean, Value::Bool(b)) => V::Bool(Some(*b)),
        (FieldKind::Boolean, _) => V::Bool(Some(matches!(text.as_str(), "1" | "true" | "True" | "on"))),
        (FieldKind::Date, _) => V::ChronoDate(Some(text.parse().ok()?)),
        (FieldKind::DateTime, _) => V::ChronoDateTimeUtc(Some(text.parse().ok()?)),
        (FieldKind::Uuid, _) => V::Uuid(Some(text.parse().ok()?)),
        (FieldKind::Json, _) => V::Json(Some(Box::new(value.clone()))),
        (FieldKind::Text(_) | FieldKind::LongText, _) => V::String(Some(text)),
    })
}
