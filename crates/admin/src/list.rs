//! The change list: search, filters with counts (facets), sorting, pages and cells.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func};
use sea_orm::{Condition, DbErr};
use serde_json::Value;

use super::options::{ListColumn, ModelAdmin};
use quartet_kernel::app::Registry;
use quartet_kernel::db::Db;
use quartet_kernel::html::escape_html as escape;
use quartet_kernel::i18n::Tr;
use quartet_kernel::models::{ColumnInfo, FieldKind, ModelDef, Row, RowQuery, date_value, plain_text, to_db_value};
use quartet_kernel::pagination::{Page, Paginator};

/// Query parameters the change list understands; the rest are filters.
const RESERVED: &[&str] = &["q", "o", "page", "_popup"];

/// The parsed query string of a change list.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListParams {
    pairs: Vec<(String, String)>,
}

impl ListParams {
    pub(crate) fn parse(query: Option<&str>) -> Self {
        Self { pairs: url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect() }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether a search or filter holds a NUL character (no database stores one as text).
    pub(crate) fn has_null(&self) -> bool {
        self.pairs.iter().any(|(k, v)| k.contains('\0') || v.contains('\0'))
    }

    /// The query string with `changes` applied (`None` removes a parameter); the page resets
    /// unless it is what changes.
    pub(crate) fn with(&self, changes: &[(&str, Option<&str>)]) -> String {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != "page" && !changes.iter().any(|(name, _)| name == k))
            .cloned()
            .collect();
        for (name, value) in changes {
            if let Some(value) = value {
                pairs.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        format!("?{query}")
    }

    /// Whether the list is narrowed or reordered (anything but the page and the lookup flag).
    pub(crate) fn is_filtered(&self) -> bool {
        self.pairs.iter().any(|(k, _)| k != "page" && k != "_popup")
    }

    /// Without the parameters of one filter (`status`, `status__gte`...).
    fn without_filter(&self, column: &str) -> Self {
        Self { pairs: self.pairs.iter().filter(|(k, _)| filter_column(k) != column).cloned().collect() }
    }

    fn filters(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().filter(|(k, _)| !RESERVED.contains(&k.as_str())).map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// `publish__gte` → `publish`.
fn filter_column(key: &str) -> &str {
    key.split("__").next().unwrap_or(key)
}

/// A choice in a side-bar filter.
#[derive(Debug, Clone)]
pub struct FilterChoice {
    /// Label.
    pub label: String,
    /// Link (query string).
    pub href: String,
    /// Whether it is the active choice.
    pub selected: bool,
    /// Rows this choice would show (with the other filters applied); `None` for "All".
    pub count: Option<u64>,
}

/// A side-bar filter.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Title ("By status").
    pub title: String,
    /// Choices, "All" first.
    pub choices: Vec<FilterChoice>,
}

/// A column header.
#[derive(Debug, Clone)]
pub struct Header {
    /// Text.
    pub text: String,
    /// Link that sorts by this column (empty when it cannot be sorted).
    pub sort_href: String,
    /// `ascending`, `descending` or empty.
    pub sorted: &'static str,
}

/// A cell's HTML (already escaped) and whether it links to the change page.
#[derive(Debug, Clone)]
pub struct Cell {
    /// HTML.
    pub html: String,
    /// Whether the cell is a link to the object.
    pub link: bool,
}

/// One row of the change list.
#[derive(Debug, Clone)]
pub struct ListRow {
    /// Primary key as text.
    pub pk: String,
    /// The change page.
    pub url: String,
    /// Cells.
    pub cells: Vec<Cell>,
}

/// A link of the date hierarchy.
#[derive(Debug, Clone)]
pub struct DateLink {
    /// Label (`2026`, `November`, `24`).
    pub label: String,
    /// Link.
    pub href: String,
}

/// Everything the change-list template shows.
pub(crate) struct ChangeList {
    pub editable: bool,
    pub headers: Vec<Header>,
    pub rows: Vec<ListRow>,
    pub filters: Vec<Filter>,
    pub page: Page,
    pub total: u64,
    pub search: String,
    pub has_search: bool,
    pub dates: Vec<DateLink>,
    pub date_back: Option<DateLink>,
}

/// A value as text for people.
pub(crate) fn cell_text(kind: FieldKind, value: &Value, tr: &Tr) -> String {
    match (kind, value) {
        (_, Value::Null) => "-".to_owned(),
        (FieldKind::Boolean, v) => {
            if v.as_bool() == Some(true) || v.as_i64() == Some(1) { tr.t("Yes") } else { tr.t("No") }.to_owned()
        }
        (FieldKind::DateTime, Value::String(s)) => {
            s.parse::<DateTime<Utc>>().map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|_| s.clone())
        }
        (_, v) => plain_text(v),
    }
}

fn column_info<'a>(columns: &'a [ColumnInfo], name: &str) -> Option<&'a ColumnInfo> {
    columns.iter().find(|c| c.name == name)
}

fn target_model<'a>(registry: &'a Registry, model: &ModelDef, column: &str) -> Option<&'a ModelDef> {
    let fk = model.rows().foreign_keys().into_iter().find(|fk| fk.column == column)?;
    registry.models.iter().find(|m| m.table() == fk.table)
}

/// The search condition: every word must appear in one of the search fields.
fn search_condition(admin: &ModelAdmin, search: &str) -> Condition {
    let mut all = Condition::all();
    for word in search.split_whitespace().take(10) {
        let pattern =
            format!("%{}%", word.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let mut any = Condition::any();
        for field in &admin.search_fields {
            any = any.add(
                Expr::expr(Func::lower(Expr::col(Alias::new(field.as_str()))))
                    .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\')),
            );
        }
        all = all.add(any);
    }
    all
}

/// Start of today, and the start of the day after, in UTC.
fn day_bounds(now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let today = now.date_naive();
    (today, today + Duration::days(1))
}

/// The condition of one filter parameter, or `None` when it does not apply.
fn filter_condition(info: &ColumnInfo, key: &str, value: &str) -> Option<Condition> {
    let column = Expr::col(Alias::new(info.name));
    let suffix = key.split_once("__").map(|(_, s)| s).unwrap_or("exact");
    let date = |v: &str| v.parse::<NaiveDate>().ok().map(|d| date_value(info.kind, d));
    let single = match suffix {
        "exact" => to_db_value(info.kind, &Value::String(value.to_owned())).map(|v| column.eq(v)),
        "isnull" => Some(if value == "True" || value == "1" { column.is_null() } else { column.is_not_null() }),
        "gte" => date(value).map(|v| column.gte(v)),
        "lt" => date(value).map(|v| column.lt(v)),
        "year" | "month" | "day" => None,
        _ => None,
    }?;
    Some(Condition::all().add(single))
}

/// The date-hierarchy range from `<field>__year`, `__month`, `__day`.
fn hierarchy_range(params: &ListParams, field: &str) -> Option<(NaiveDate, NaiveDate, u8)> {
    let year: i32 = params.get(&format!("{field}__year"))?.parse().ok()?;
    let month: Option<u32> = params.get(&format!("{field}__month")).and_then(|m| m.parse().ok());
    let day: Option<u32> = params.get(&format!("{field}__day")).and_then(|d| d.parse().ok());
    match (month, day) {
        (Some(m), Some(d)) => {
            let start = NaiveDate::from_ymd_opt(year, m, d)?;
            Some((start, start + Duration::days(1), 3))
        }
        (Some(m), None) => {
            let start = NaiveDate::from_ymd_opt(year, m, 1)?;
            let end = if m == 12 {
                NaiveDate::from_ymd_opt(year + 1, 1, 1)?
            } else {
                NaiveDate::from_ymd_opt(year, m + 1, 1)?
            };
            Some((start, end, 2))
        }
        _ => Some((NaiveDate::from_ymd_opt(year, 1, 1)?, NaiveDate::from_ymd_opt(year + 1, 1, 1)?, 1)),
    }
}

/// The condition of every filter, the search and the date hierarchy, leaving out `skip`'s filter.
fn conditions(admin: &ModelAdmin, columns: &[ColumnInfo], params: &ListParams, skip: Option<&str>) -> Condition {
    let mut all = Condition::all();
    for (key, value) in params.filters() {
        let name = filter_column(key);
        if Some(name) == skip
            || !admin.list_filter.iter().any(|f| f == name) && admin.date_hierarchy.as_deref() != Some(name)
        {
            continue;
        }
        if let Some(info) = column_info(columns, name)
            && let Some(condition) = filter_condition(info, key, value)
        {
            all = all.add(condition);
        }
    }
    if let Some(field) = &admin.date_hierarchy
        && let Some(info) = column_info(columns, field)
        && let Some((start, end, _)) = hierarchy_range(params, field)
    {
        let column = Expr::col(Alias::new(info.name));
        all = all.add(column.clone().gte(date_value(info.kind, start))).add(column.lt(date_value(info.kind, end)));
    }
    let search = params.get("q").unwrap_or_default().trim();
    if !search.is_empty() && !admin.search_fields.is_empty() {
        all = all.add(search_condition(admin, search));
    }
    all
}

/// Normalises a grouped value (SQLite gives booleans as 0/1) to the text used in links.
fn facet_key(kind: FieldKind, value: &Value) -> String {
    match (kind, value) {
        (FieldKind::Boolean, Value::Number(n)) => (n.as_i64() == Some(1)).to_string(),
        (FieldKind::Boolean, Value::String(s)) => matches!(s.as_str(), "1" | "true" | "t").to_string(),
        (_, v) => plain_text(v),
    }
}

/// What building a side-bar filter needs.
struct FilterInput<'a> {
    admin: &'a ModelAdmin,
    registry: &'a Registry,
    db: &'a Db,
    columns: &'a [ColumnInfo],
    params: &'a ListParams,
    now: DateTime<Utc>,
    tr: &'a Tr,
}

async fn build_filter(input: &FilterInput<'_>, name: &str) -> Result<Option<Filter>, DbErr> {
    let FilterInput { admin, registry, db, columns, params, now, tr } = *input;
    let model = admin.model();
    let Some(info) = column_info(columns, name) else { return Ok(None) };
    let others = params.without_filter(name);
    let base = conditions(admin, columns, &others, Some(name));
    let title =
        quartet_kernel::i18n::fill(tr.t("By {field}"), &[("field", &tr.t(&admin.column_label(name)).to_lowercase())]);
    let current = params.get(name).or_else(|| params.get(&format!("{name}__exact")));
    let mut choices = vec![FilterChoice {
        label: tr.t("All").to_owned(),
        href: params.with(&[
            (name, None),
            (&format!("{name}__gte"), None),
            (&format!("{name}__lt"), None),
            (&format!("{name}__isnull"), None),
        ]),
        selected: !params.filters().any(|(k, _)| filter_column(k) == name),
        count: None,
    }];
    match info.kind {
        FieldKind::Date | FieldKind::DateTime => {
            let (today, tomorrow) = day_bounds(now);
            let ranges = [
                (tr.t("Today"), today, tomorrow),
                (tr.t("Past 7 days"), today - Duration::days(6), tomorrow),
                (tr.t("This month"), today.with_day(1).unwrap_or(today), tomorrow),
                (tr.t("This year"), NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today), tomorrow),
            ];
            let gte_key = format!("{name}__gte");
            let lt_key = format!("{name}__lt");
            for (label, start, end) in ranges {
                let column = Expr::col(Alias::new(info.name));
                let condition = base
                    .clone()
                    .add(column.clone().gte(date_value(info.kind, start)))
                    .add(column.lt(date_value(info.kind, end)));
                let count = model.rows().count_where(db, condition).await?;
                let (start, end) = (start.to_string(), end.to_string());
                choices.push(FilterChoice {
                    label: label.to_owned(),
                    href: params.with(&[(&gte_key, Some(&start)), (&lt_key, Some(&end)), (name, None)]),
                    selected: params.get(&gte_key) == Some(start.as_str()) && params.get(&lt_key) == Some(end.as_str()),
                    count: Some(count),
                });
            }
            if info.nullable {
                let isnull = format!("{name}__isnull");
                for (label, flag, condition) in [
                    (tr.t("No date"), "True", Expr::col(Alias::new(info.name)).is_null()),
                    (tr.t("Has date"), "False", Expr::col(Alias::new(info.name)).is_not_null()),
                ] {
                    let count = model.rows().count_where(db, base.clone().add(condition)).await?;
                    choices.push(FilterChoice {
                        label: label.to_owned(),
                        href: params.with(&[(&isnull, Some(flag)), (&gte_key, None), (&lt_key, None)]),
                        selected: params.get(&isnull) == Some(flag),
                        count: Some(count),
                    });
                }
            }
        }
        kind => {
            let counts: Vec<(String, u64)> = model
                .rows()
                .count_by(db, name, base)
                .await?
                .into_iter()
                .map(|(value, n)| (facet_key(kind, &value), n))
                .collect();
            let count_of = |value: &str| counts.iter().find(|(v, _)| v == value).map_or(0, |(_, n)| *n);
            let options: Vec<(String, String)> = if kind == FieldKind::Boolean {
                vec![("true".into(), tr.t("Yes").to_owned()), ("false".into(), tr.t("No").to_owned())]
            } else if let Some(list) = admin.choices.get(name) {
                list.iter().map(|(v, l)| (v.clone(), tr.t(l).to_owned())).collect()
            } else if let Some(target) = target_model(registry, model, name) {
                let keys: Vec<Value> =
                    counts.iter().filter(|(v, _)| !v.is_empty()).map(|(v, _)| Value::String(v.clone())).collect();
                let key = target.rows().columns().into_iter().find(|c| c.primary_key);
                let mut named = Vec::new();
                if let Some(key) = key {
                    for row in target.rows().find(db, &RowQuery::in_values(key.name, key.kind, &keys)).await? {
                        named.push((plain_text(row.get(key.name).unwrap_or(&Value::Null)), target.repr(&row)));
                    }
                }
                named.sort_by_key(|n| n.1.to_lowercase());
                named
            } else {
                let mut values: Vec<(String, String)> = counts.iter().map(|(v, _)| (v.clone(), v.clone())).collect();
                values.sort();
                values
            };
            for (value, label) in options {
                choices.push(FilterChoice {
                    href: params.with(&[(name, Some(&value)), (&format!("{name}__exact"), None)]),
                    selected: current == Some(value.as_str()),
                    count: Some(count_of(&value)),
                    label,
                });
            }
        }
    }
    Ok(Some(Filter { title, choices }))
}

/// Reads the page of the change list that `params` asks for.
pub(crate) async fn change_list(
    admin: &ModelAdmin,
    core: &quartet_kernel::app::CoreState,
    params: &ListParams,
    tr: &Tr,
    change_url: &(dyn Fn(&str) -> String + Sync),
    editable: bool,
) -> Result<ChangeList, DbErr> {
    let (registry, db, now) = (&*core.registry, &core.db, core.now());
    let model = admin.model();
    let columns = model.rows().columns();
    let pk = model.rows().primary_key();
    let condition = conditions(admin, &columns, params, None);
    let total = model.rows().count_where(db, condition.clone()).await?;
    let page = Paginator::new(total, admin.per_page)
        .get_page(params.get("page"))
        .with_query(Some(params.with(&[]).trim_start_matches('?')));

    // Sorting: `o=title` or `o=-title`, only by displayed model columns.
    let sortable = |name: &str| {
        admin.list_display.iter().any(|c| matches!(c, ListColumn::Field(f) if f == name))
            && column_info(&columns, name).is_some()
    };
    let requested = params.get("o").map(super::options::parse_order).filter(|(name, _)| sortable(name));
    let order = match &requested {
        Some(order) => vec![order.clone()],
        None if !admin.ordering.is_empty() => admin.ordering.clone(),
        None => vec![(pk.to_owned(), true)],
    };
    let rows =
        model.rows().find(db, &RowQuery { condition, order, offset: page.offset(), limit: Some(page.limit()) }).await?;

    // Names of referenced rows: one query per foreign-key column.
    let display: Vec<ListColumn> = if admin.list_display.is_empty() {
        vec![ListColumn::Computed {
            header: model.verbose_name.to_owned(),
            render: {
                let model = model.clone();
                std::sync::Arc::new(move |row: &Row| escape(&model.repr(row)))
            },
        }]
    } else {
        admin.list_display.clone()
    };
    let mut names: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for column in &display {
        let ListColumn::Field(name) = column else { continue };
        let Some(target) = target_model(registry, model, name) else { continue };
        names.push((name.clone(), super::form::referenced_names(db, target, name, &rows).await?));
    }

    let links: Vec<usize> = if admin.list_display_links.is_empty() {
        vec![0]
    } else {
        display
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c, ListColumn::Field(f) if admin.list_display_links.contains(f)))
            .map(|(i, _)| i)
            .collect()
    };
    let mut list_rows = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let key = plain_text(row.get(pk).unwrap_or(&Value::Null));
        let cells = display
            .iter()
            .enumerate()
            .map(|(i, column)| {
                let html = match column {
                    ListColumn::Computed { render, .. } => render(row),
                    ListColumn::Field(name) => {
                        let value = row.get(name).unwrap_or(&Value::Null);
                        let kind = column_info(&columns, name).map_or(FieldKind::Text(None), |c| c.kind);
                        if editable && admin.list_editable.contains(name) {
                            editable_input(admin, &format!("form-{index}-{name}"), kind, value, tr)
                        } else if let Some((_, found)) = names.iter().find(|(n, _)| n == name) {
                            let text = plain_text(value);
                            escape(&found.iter().find(|(k, _)| *k == text).map_or(text, |(_, n)| n.clone()))
                        } else if let Some(choices) = admin.choices.get(name) {
                            let text = plain_text(value);
                            escape(&choices.iter().find(|(v, _)| *v == text).map_or(text, |(_, l)| tr.t(l).to_owned()))
                        } else if kind == FieldKind::Boolean {
                            let yes = value.as_bool() == Some(true) || value.as_i64() == Some(1);
                            format!(
                                "<span class=\"bool {}\" title=\"{}\">{}</span>",
                                if yes { "yes" } else { "no" },
                                escape(if yes { tr.t("Yes") } else { tr.t("No") }),
                                if yes { "✔" } else { "✘" }
                            )
                        } else {
                            escape(&cell_text(kind, value, tr))
                        }
                    }
                };
                Cell { html, link: links.contains(&i) }
            })
            .collect();
        list_rows.push(ListRow { url: change_url(&key), pk: key, cells });
    }

    let headers = display
        .iter()
        .map(|column| match column {
            ListColumn::Computed { header, .. } => {
                Header { text: tr.t(header).to_owned(), sort_href: String::new(), sorted: "" }
            }
            ListColumn::Field(name) => {
                let sorted = match &requested {
                    Some((n, desc)) if n == name => {
                        if *desc {
                            "descending"
                        } else {
                            "ascending"
                        }
                    }
                    _ => "",
                };
                let next = if sorted == "ascending" { format!("-{name}") } else { name.clone() };
                Header {
                    text: tr.t(&admin.column_label(name)).to_owned(),
                    sort_href: if sortable(name) { params.with(&[("o", Some(&next))]) } else { String::new() },
                    sorted,
                }
            }
        })
        .collect();

    let mut filters = Vec::new();
    let input = FilterInput { admin, registry, db, columns: &columns, params, now, tr };
    for name in &admin.list_filter {
        if let Some(filter) = build_filter(&input, name).await? {
            filters.push(filter);
        }
    }
    let (dates, date_back) = date_hierarchy(admin, db, &columns, params, tr).await?;
    let search = params.get("q").unwrap_or_default().to_owned();
    Ok(ChangeList {
        editable: editable && !admin.list_editable.is_empty(),
        headers,
        rows: list_rows,
        filters,
        page,
        total,
        search,
        has_search: !admin.search_fields.is_empty(),
        dates,
        date_back,
    })
}

/// An input for a list-editable cell.
fn editable_input(admin: &ModelAdmin, name: &str, kind: FieldKind, value: &Value, tr: &Tr) -> String {
    let text = super::form::input_text(kind, value);
    let label = escape(&admin.column_label(name.rsplit('-').next().unwrap_or(name)));
    if let Some(choices) = admin.choices.get(name.rsplit('-').next().unwrap_or(name)) {
        let options: String = choices
            .iter()
            .map(|(v, l)| {
                let selected = if *v == text { " selected" } else { "" };
                format!("<option value=\"{}\"{selected}>{}</option>", escape(v), escape(tr.t(l)))
            })
            .collect();
        return format!("<select name=\"{}\" aria-label=\"{label}\">{options}</select>", escape(name));
    }
    match kind {
        FieldKind::Boolean => format!(
            "<input type=\"checkbox\" name=\"{}\" aria-label=\"{label}\"{}>",
            escape(name),
            if text == "true" { " checked" } else { "" }
        ),
        FieldKind::Integer | FieldKind::Float | FieldKind::Decimal => format!(
            "<input type=\"text\" inputmode=\"decimal\" size=\"8\" name=\"{}\" value=\"{}\" aria-label=\"{label}\">",
            escape(name),
            escape(&text)
        ),
        _ => format!(
            "<input type=\"text\" name=\"{}\" value=\"{}\" aria-label=\"{label}\">",
            escape(name),
            escape(&text)
        ),
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Links one level below the current date-hierarchy level, and one back up.
async fn date_hierarchy(
    admin: &ModelAdmin,
    db: &Db,
    columns: &[ColumnInfo],
    params: &ListParams,
    tr: &Tr,
) -> Result<(Vec<DateLink>, Option<DateLink>), DbErr> {
    let Some(field) = &admin.date_hierarchy else { return Ok((Vec::new(), None)) };
    let Some(info) = column_info(columns, field) else { return Ok((Vec::new(), None)) };
    let model = admin.model();
    let (year_key, month_key, day_key) = (format!("{field}__year"), format!("{field}__month"), format!("{field}__day"));
    // The dates present under the other filters, read from the column (bounded).
    let others = conditions(
        admin,
        columns,
        &ListParams {
            pairs: params.pairs.iter().filter(|(k, _)| !k.starts_with(&format!("{field}__"))).cloned().collect(),
        },
        None,
    );
    let range = hierarchy_range(params, field);
    let mut query =
        RowQuery { condition: others, order: vec![(field.clone(), false)], limit: Some(5000), ..RowQuery::default() };
    if let Some((start, end, _)) = range {
        let column = Expr::col(Alias::new(info.name));
        query.condition = query
            .condition
            .add(column.clone().gte(date_value(info.kind, start)))
            .add(column.lt(date_value(info.kind, end)));
    }
    let mut dates: Vec<NaiveDate> = model
        .rows()
        .find(db, &query)
        .await?
        .iter()
        .filter_map(|row| row.get(field.as_str()))
        .filter_map(|v| {
            let text = plain_text(v);
            text.parse::<DateTime<Utc>>().map(|t| t.date_naive()).ok().or_else(|| text.parse::<NaiveDate>().ok())
        })
        .collect();
    dates.dedup();
    let level = range.map_or(0, |(_, _, level)| level);
    let mut links: Vec<DateLink> = Vec::new();
    for date in dates {
        let (label, href) = match level {
            0 => (date.year().to_string(), params.with(&[(&year_key, Some(&date.year().to_string()))])),
            1 => (
                tr.t(MONTHS[date.month0() as usize]).to_owned(),
                params.with(&[(&month_key, Some(&date.month().to_string()))]),
            ),
            2 => (date.day().to_string(), params.with(&[(&day_key, Some(&date.day().to_string()))])),
            _ => continue,
        };
        if !links.iter().any(|l| l.label == label) {
            links.push(DateLink { label, href });
        }
    }
    let back = match level {
        1 => Some(DateLink {
            label: tr.t("All dates").to_owned(),
            href: params.with(&[(&year_key, None), (&month_key, None), (&day_key, None)]),
        }),
        2 => Some(DateLink {
            label: params.get(&year_key).unwrap_or_default().to_owned(),
            href: params.with(&[(&month_key, None), (&day_key, None)]),
        }),
        3 => {
            let month: usize = params.get(&month_key).and_then(|m| m.parse().ok()).unwrap_or(1);
            Some(DateLink {
                label: tr.t(MONTHS[month.clamp(1, 12) - 1]).to_owned(),
                href: params.with(&[(&day_key, None)]),
            })
        }
        _ => None,
    };
    Ok((links, back))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_other_parameters_and_reset_the_page() {
        let params = ListParams::parse(Some("q=caf%C3%A9&status=PB&page=3"));
        assert_eq!(params.with(&[("o", Some("-title"))]), "?q=caf%C3%A9&status=PB&o=-title");
        assert_eq!(params.with(&[("status", None)]), "?q=caf%C3%A9");
        assert_eq!(filter_column("publish__gte"), "publish");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;");
    }
}
