//! Whether the migrated schema matches the entities: every column an entity declares is in its
//! table with a compatible type, the same nullability and (on PostgreSQL) the same maximum
//! length, and the table has no column the entity does not know.

use quartet_core::app::CoreState;
use quartet_core::models::{ColumnInfo, FieldKind};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// A column of a table as the database describes it.
#[derive(Debug)]
struct DbColumn {
    name: String,
    /// The declared type, lower case (`varchar(150)`, `timestamp with time zone`).
    kind: String,
    nullable: bool,
    max_length: Option<i64>,
}

/// Every difference between the registered models' entities and their tables, one line each
/// (`blog_post.title: …`); `extra` lists `table.column`s that exist on purpose without an
/// entity field (a search index column).
pub async fn schema_mismatches(core: &CoreState, extra: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for model in &core.registry.models {
        let table = model.table();
        let columns = match describe_table(core, &table).await {
            Ok(columns) if columns.is_empty() => {
                out.push(format!("{table}: the table does not exist (model {})", model.label()));
                continue;
            }
            Ok(columns) => columns,
            Err(e) => {
                out.push(format!("{table}: {e}"));
                continue;
            }
        };
        let entity = model.rows().columns();
        for column in &entity {
            match columns.iter().find(|c| c.name == column.name) {
                None => out.push(format!("{table}.{}: declared by the entity, not in the table", column.name)),
                Some(found) => out.extend(
                    compare(column, found, core.db.get_database_backend())
                        .into_iter()
                        .map(|problem| format!("{table}.{}: {problem}", column.name)),
                ),
            }
        }
        for column in &columns {
            let known = entity.iter().any(|c| c.name == column.name);
            if !known && !extra.contains(&format!("{table}.{}", column.name).as_str()) {
                out.push(format!("{table}.{}: in the table, not declared by the entity", column.name));
            }
        }
    }
    out
}

fn compare(entity: &ColumnInfo, column: &DbColumn, backend: DbBackend) -> Vec<String> {
    let mut problems = Vec::new();
    let kind = column.kind.as_str();
    let has = |words: &[&str]| words.iter().any(|w| kind.contains(w));
    let compatible = match entity.kind {
        FieldKind::Integer => has(&["int", "serial"]),
        FieldKind::Float => has(&["real", "double", "float"]),
        FieldKind::Decimal => has(&["numeric", "decimal", "real"]),
        FieldKind::Boolean => has(&["bool"]),
        FieldKind::Text(_) => has(&["char", "text", "clob"]),
        FieldKind::LongText => has(&["text", "clob"]),
        FieldKind::Date => has(&["date"]) && !has(&["time"]),
        FieldKind::DateTime => has(&["timestamp", "datetime"]),
        FieldKind::Json => has(&["json"]),
        FieldKind::Uuid => has(&["uuid", "blob"]),
    };
    if !compatible {
        problems.push(format!("the entity's {:?} is stored as `{kind}`", entity.kind));
    }
    // SQLite reports a primary key column as nullable unless it says NOT NULL.
    if !entity.primary_key && entity.nullable != column.nullable {
        let say = |n: bool| if n { "nullable" } else { "NOT NULL" };
        problems.push(format!("the entity says {}, the table {}", say(entity.nullable), say(column.nullable)));
    }
    if backend == DbBackend::Postgres
        && let FieldKind::Text(Some(length)) = entity.kind
        && column.max_length != Some(i64::from(length))
    {
        problems.push(format!("the entity allows {length} characters, the table {:?}", column.max_length));
    }
    problems
}

/// Reads one row of a backend's description of a table.
type ReadColumn = fn(&sea_orm::QueryResult) -> Result<DbColumn, sea_orm::DbErr>;

async fn describe_table(core: &CoreState, table: &str) -> Result<Vec<DbColumn>, sea_orm::DbErr> {
    let backend = core.db.get_database_backend();
    let (sql, read): (&str, ReadColumn) = match backend {
        DbBackend::Postgres => (
            "SELECT column_name, data_type, is_nullable, character_maximum_length::bigint AS max_length \
             FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
            |row| {
                Ok(DbColumn {
                    name: row.try_get("", "column_name")?,
                    kind: row.try_get::<String>("", "data_type")?.to_lowercase(),
                    nullable: row.try_get::<String>("", "is_nullable")? == "YES",
                    max_length: row.try_get("", "max_length")?,
                })
            },
        ),
        _ => ("SELECT name, type, \"notnull\" AS not_null FROM pragma_table_info(?)", |row| {
            Ok(DbColumn {
                name: row.try_get("", "name")?,
                kind: row.try_get::<String>("", "type")?.to_lowercase(),
                nullable: row.try_get::<i64>("", "not_null")? == 0,
                max_length: None,
            })
        }),
    };
    let rows = core.db.query_all_raw(Statement::from_sql_and_values(backend, sql, [table.into()])).await?;
    rows.iter().map(read).collect()
}
