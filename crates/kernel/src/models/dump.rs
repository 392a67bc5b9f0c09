//! `dumpdata` and `loaddata`: every installed model in one JSON format.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{Context as _, bail};
use indicatif::ProgressBar;

use super::{DumpRow, ModelDef, RowData};
use crate::db::Db;

/// Rows read per query while dumping.
const PAGE: u64 = 1000;

/// What to dump.
#[derive(Debug, Clone, Default)]
pub struct DumpOptions {
    /// App labels (`accounts`) or model labels (`accounts.user`); empty means everything.
    pub labels: Vec<String>,
    /// App or model labels to leave out.
    pub exclude: Vec<String>,
    /// Pretty-print with this many spaces.
    pub indent: Option<usize>,
}

fn matches(model: &ModelDef, label: &str) -> bool {
    label == model.app || label == model.label()
}

fn check_labels(models: &[ModelDef], labels: &[String]) -> anyhow::Result<()> {
    for label in labels {
        if !models.iter().any(|m| matches(m, label)) {
            if label.contains('.') {
                bail!("Unknown model: {label}");
            }
            bail!("No installed app with label '{label}'.");
        }
    }
    Ok(())
}

/// The models a dump covers, in installed order (parents before children).
pub fn select_models<'a>(models: &'a [ModelDef], options: &DumpOptions) -> anyhow::Result<Vec<&'a ModelDef>> {
    check_labels(models, &options.labels)?;
    check_labels(models, &options.exclude)?;
    Ok(models
        .iter()
        .filter(|m| options.labels.is_empty() || options.labels.iter().any(|l| matches(m, l)))
        .filter(|m| !options.exclude.iter().any(|l| matches(m, l)))
        .collect())
}

/// Writes the selected models as a JSON array; returns how many objects were written.
pub async fn dump_data(
    db: &Db,
    models: &[ModelDef],
    options: &DumpOptions,
    out: &mut dyn Write,
    progress: &ProgressBar,
) -> anyhow::Result<u64> {
    let models = select_models(models, options)?;
    let mut total = 0;
    for model in &models {
        total += model.rows().count(db).await?;
    }
    progress.set_length(total);
    out.write_all(b"[")?;
    let mut written = 0u64;
    for model in models {
        let label = model.label();
        progress.set_message(label.clone());
        let mut offset = 0;
        loop {
            let rows = model.rows().dump(db, offset, PAGE).await.with_context(|| format!("reading {label}"))?;
            let count = rows.len() as u64;
            for (pk, fields) in rows {
                let row = DumpRow { model: label.clone(), pk, fields };
                out.write_all(if written == 0 { b"\n" } else { b",\n" })?;
                match options.indent {
                    Some(n) => {
                        let indent = " ".repeat(n);
                        let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
                        let mut serializer = serde_json::Serializer::with_formatter(&mut *out, formatter);
                        serde::Serialize::serialize(&row, &mut serializer)?;
                    }
                    None => serde_json::to_writer(&mut *out, &row)?,
                }
                written += 1;
                progress.inc(1);
            }
            if count < PAGE {
                break;
            }
            offset += PAGE;
        }
    }
    out.write_all(if written == 0 { b"]\n" } else { b"\n]\n" })?;
    out.flush()?;
    progress.finish_and_clear();
    Ok(written)
}

/// What `loaddata` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadReport {
    /// Objects installed.
    pub objects: u64,
    /// Distinct models among them.
    pub models: usize,
}

/// Parses a dump; the error names the line and column of a syntax error.
pub fn parse_dump(text: &str) -> anyhow::Result<Vec<DumpRow>> {
    serde_json::from_str(text)
        .map_err(|e| anyhow::anyhow!("the fixture is not a valid dump (line {}, column {}): {e}", e.line(), e.column()))
}

/// Installs rows in one transaction: every row or none. Rows replace rows with the same key.
pub async fn load_data(
    db: &Db,
    models: &[ModelDef],
    rows: Vec<DumpRow>,
    progress: &ProgressBar,
) -> anyhow::Result<LoadReport> {
    let mut by_model: HashMap<String, Vec<RowData>> = HashMap::new();
    for row in rows {
        if !models.iter().any(|m| m.label() == row.model) {
            bail!("Invalid model identifier: '{}'", row.model);
        }
        by_model.entry(row.model).or_default().push((row.pk, row.fields));
    }
    let total: usize = by_model.values().map(Vec::len).sum();
    progress.set_length(total as u64);
    let tx = db.begin().await?;
    let mut report = LoadReport { objects: 0, models: 0 };
    for model in models {
        let Some(rows) = by_model.remove(&model.label()) else { continue };
        progress.set_message(model.label());
        let n = rows.len() as u64;
        model.rows().load(&tx, rows).await.map_err(|e| anyhow::anyhow!("could not load {}: {e}", model.label()))?;
        model.rows().reset_sequence(&tx).await?;
        report.objects += n;
        report.models += 1;
        progress.inc(n);
    }
    tx.commit().await?;
    progress.finish_and_clear();
    Ok(report)
}
