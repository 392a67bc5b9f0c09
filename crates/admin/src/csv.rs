//! The "Export to CSV" action: every column of the selected rows (but a password hash, which is
//! never exported), with a header of column labels, dates as `dd/mm/yyyy`, and foreign keys as
//! the name of the row they point at.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::options::{ActionInput, humanize};
use quartet_kernel::models::{FieldKind, plain_text};

/// Quotes a CSV field when it needs it (RFC 4180).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

/// A spreadsheet would run a cell starting with `=`, `+`, `-` or `@` as a formula.
fn neutralise(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@']) && text.parse::<f64>().is_err() { format!("'{text}") } else { text }
}

fn date_text(kind: FieldKind, value: &Value) -> Option<String> {
    let text = value.as_str()?;
    match kind {
        FieldKind::DateTime => {
            text.parse::<chrono::DateTime<chrono::Utc>>().ok().map(|t| t.format("%d/%m/%Y").to_string())
        }
        FieldKind::Date => text.parse::<chrono::NaiveDate>().ok().map(|d| d.format("%d/%m/%Y").to_string()),
        _ => None,
    }
}

pub(crate) async fn export(input: &ActionInput) -> quartet_kernel::Result<Response> {
    let model = &input.model;
    let columns: Vec<_> = model.rows().columns().into_iter().filter(|c| c.name != "password").collect();
    let tr = input.core.tr(input.lang.clone());
    let mut out = String::new();
    // Django's verbose names: "ID", then lower-case words ("first name", "coupon").
    let header: Vec<String> = columns
        .iter()
        .map(|c| if c.primary_key { "ID".to_owned() } else { tr.t(&humanize(c.name)).to_lowercase() })
        .map(|h| field(&h))
        .collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    // Names of referenced rows, one query per foreign key.
    let mut names: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for fk in model.rows().foreign_keys() {
        let Some(target) = input.core.registry.models.iter().find(|m| m.table() == fk.table) else { continue };
        let found = super::form::referenced_names(&input.core.db, target, &fk.column, &input.rows).await?;
        names.push((fk.column.clone(), found));
    }
    for row in &input.rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| {
                let value = row.get(c.name).unwrap_or(&Value::Null);
                let text = if let Some((_, found)) = names.iter().find(|(n, _)| n == c.name) {
                    let key = plain_text(value);
                    found.iter().find(|(k, _)| *k == key).map_or(key, |(_, name)| name.clone())
                } else {
                    date_text(c.kind, value).unwrap_or_else(|| plain_text(value))
                };
                field(&neutralise(text))
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    let filename: String =
        model.verbose_name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename={filename}.csv")),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(neutralise("=HYPERLINK(\"x\")".into()), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("-12.5".into()), "-12.5");
        assert_eq!(date_text(FieldKind::DateTime, &Value::from("2026-03-04T05:06:00Z")).as_deref(), Some("04/03/2026"));
    }
}
