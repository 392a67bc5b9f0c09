//! What a model does to its own rows whoever writes them — Django's field options `auto_now_add`,
//! `auto_now` and `unique_for_date`, and the slug a title makes (the admin's
//! `prepopulated_fields`). Declared once beside the entity ([`ModelDef::with_rules`]), they are read by
//! the admin (which fields it asks for, the slug filled as you type, the clash message), by the
//! app's own views and by its seeders, so the three cannot drift apart.
//!
//! ```
//! use quartet_kernel::models::ModelRules;
//!
//! pub const POST: ModelRules = ModelRules {
//!     auto_now_add: &["created"],
//!     auto_now: &["updated"],
//!     unique_for_date: &[("slug", "publish")],
//!     slug_from: &[("slug", "title")],
//! };
//! assert!(POST.sets_itself("updated"));
//! assert_eq!(POST.slug_source("slug"), Some("title"));
//! ```

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ActiveValue, ColumnTrait, Condition, DbErr, EntityTrait, IdenStatic, Iterable};
use serde_json::Value;

use super::meta::{ColumnInfo, FieldKind, plain_text};
use super::{ModelDef, Row};
use crate::db::Db;

/// The rules of one model; every list names columns of its entity (checked at start-up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelRules {
    /// Columns set to the current time when a row is created (`created`).
    pub auto_now_add: &'static [&'static str],
    /// Columns set to the current time at every save (`updated`).
    pub auto_now: &'static [&'static str],
    /// `(column, date column)`: no two rows share a value of the column on the same UTC date of
    /// the date column ("Slug must be unique for Publish date.").
    pub unique_for_date: &'static [(&'static str, &'static str)],
    /// `(slug column, source column)`: the slug is made from the source with
    /// [`slugify`](crate::forms::slugify) when it is left empty; the admin fills it as you type.
    pub slug_from: &'static [(&'static str, &'static str)],
}

impl ModelRules {
    /// A model without rules.
    pub const NONE: Self = Self { auto_now_add: &[], auto_now: &[], unique_for_date: &[], slug_from: &[] };

    /// Whether the model sets the column itself (a form does not ask for it).
    pub fn sets_itself(&self, column: &str) -> bool {
        self.auto_now_add.iter().chain(self.auto_now).any(|c| *c == column)
    }

    /// The column a slug column is made from.
    pub fn slug_source(&self, column: &str) -> Option<&'static str> {
        self.slug_from.iter().find(|(target, _)| *target == column).map(|(_, source)| *source)
    }

    /// [`ModelDef::stamp`] and [`ModelDef::fill_slugs`] for a typed active model, as an app's
    /// views and seeders write rows. Fails only when a rule names a column the entity does not
    /// have or one of another type, which start-up refuses first.
    pub fn apply<A: ActiveModelTrait>(&self, model: &mut A, now: DateTime<Utc>, adding: bool) -> Result<(), DbErr> {
        for name in self.stamped(adding) {
            let column = column_of::<A::Entity>(name)?;
            let value = match column.def().get_column_type() {
                sea_orm::sea_query::ColumnType::Date => sea_orm::Value::from(now.date_naive()),
                sea_orm::sea_query::ColumnType::DateTime | sea_orm::sea_query::ColumnType::Timestamp => {
                    sea_orm::Value::from(now.naive_utc())
                }
                _ => sea_orm::Value::from(now),
            };
            model.try_set(column, value)?;
        }
        for (target, source) in self.slug_from {
            let target = column_of::<A::Entity>(target)?;
            let empty = match model.get(target) {
                ActiveValue::Set(v) | ActiveValue::Unchanged(v) => text_of(&v).is_empty(),
                ActiveValue::NotSet => true,
            };
            if empty {
                let source = match model.get(column_of::<A::Entity>(source)?) {
                    ActiveValue::Set(v) | ActiveValue::Unchanged(v) => text_of(&v),
                    ActiveValue::NotSet => String::new(),
                };
                model.try_set(target, sea_orm::Value::from(crate::forms::slugify(&source)))?;
            }
        }
        Ok(())
    }

    /// Every rule names a column of the model, of a kind the rule can work with.
    pub(crate) fn check(&self, model: &ModelDef) -> anyhow::Result<()> {
        let columns = model.rows().columns();
        let find = |rule: &str, name: &str, kinds: &dyn Fn(FieldKind) -> bool| -> anyhow::Result<()> {
            match columns.iter().find(|c| c.name == name) {
                None => anyhow::bail!("the model `{}` has no column `{name}` (its rule `{rule}`)", model.label()),
                Some(ColumnInfo { kind, .. }) if !kinds(*kind) => {
                    anyhow::bail!("the rule `{rule}` of `{}` cannot use the column `{name}` ({kind:?})", model.label())
                }
                Some(_) => Ok(()),
            }
        };
        let dated = |k: FieldKind| matches!(k, FieldKind::DateTime | FieldKind::Date);
        let text = |k: FieldKind| matches!(k, FieldKind::Text(_) | FieldKind::LongText);
        for column in self.auto_now_add {
            find("auto_now_add", column, &dated)?;
        }
        for column in self.auto_now {
            find("auto_now", column, &dated)?;
        }
        for (column, date_column) in self.unique_for_date {
            find("unique_for_date", column, &|_| true)?;
            find("unique_for_date", date_column, &dated)?;
        }
        for (target, source) in self.slug_from {
            find("slug_from", target, &text)?;
            find("slug_from", source, &|_| true)?;
        }
        Ok(())
    }

    fn stamped(&self, adding: bool) -> impl Iterator<Item = &&'static str> {
        self.auto_now.iter().chain(if adding { self.auto_now_add } else { &[] })
    }
}

impl ModelDef {
    /// Sets the time columns of a row about to be written: `auto_now` always, `auto_now_add`
    /// when `adding` a new row (an existing row keeps its creation time).
    pub fn stamp(&self, row: &mut Row, now: DateTime<Utc>, adding: bool) {
        let columns = self.rows().columns();
        for column in self.rules.stamped(adding) {
            let value = match columns.iter().find(|c| c.name == *column).map(|c| c.kind) {
                Some(FieldKind::Date) => now.date_naive().to_string(),
                _ => now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            };
            row.insert((*column).to_owned(), Value::String(value));
        }
    }

    /// Fills each empty slug column of a row from its source column.
    pub fn fill_slugs(&self, row: &mut Row) {
        for (target, source) in self.rules.slug_from {
            if row.get(*target).map(plain_text).is_none_or(|s| s.is_empty()) {
                let slug = crate::forms::slugify(&row.get(*source).map(plain_text).unwrap_or_default());
                row.insert((*target).to_owned(), Value::String(slug));
            }
        }
    }

    /// The `unique_for_date` rules a row would break, as `(column, date column)`: another row
    /// (not `own_key`, the row's stored key when it is being changed) has the same value on the
    /// same UTC date. A rule whose value or date is missing is not checked (the form reports
    /// those first).
    pub async fn date_clashes(
        &self,
        db: &Db,
        row: &Row,
        own_key: Option<&str>,
    ) -> Result<Vec<(&'static str, &'static str)>, DbErr> {
        let columns = self.rows().columns();
        let mut clashes = Vec::new();
        for &(column, date_column) in self.rules.unique_for_date {
            let value = row.get(column).map(plain_text).unwrap_or_default();
            let Some(date) = row.get(date_column).map(plain_text).and_then(|t| day_of(&t)) else { continue };
            let kind = columns.iter().find(|c| c.name == date_column).map_or(FieldKind::DateTime, |c| c.kind);
            let mut condition = Condition::all()
                .add(Expr::col(Alias::new(column)).eq(value))
                .add(Expr::col(Alias::new(date_column)).gte(date_value(kind, date)))
                .add(Expr::col(Alias::new(date_column)).lt(date_value(kind, date + chrono::Duration::days(1))));
            if let Some(key) = own_key {
                condition = condition.add(Expr::col(Alias::new(self.rows().primary_key())).ne(super::key_value(key)));
            }
            if self.rows().count_where(db, condition).await? > 0 {
                clashes.push((column, date_column));
            }
        }
        Ok(clashes)
    }
}

fn column_of<E: EntityTrait>(name: &str) -> Result<E::Column, DbErr> {
    E::Column::iter()
        .find(|c| c.as_str() == name)
        .ok_or_else(|| DbErr::Custom(format!("`{}` has no column `{name}`", E::default().table_name())))
}

fn text_of(value: &sea_orm::Value) -> String {
    match value {
        sea_orm::Value::String(Some(s)) => s.clone(),
        _ => String::new(),
    }
}

/// The date of a stored or typed date-time (`2026-03-07T10:00:00Z`, `2026-03-07 10:00`) or date.
pub fn day_of(text: &str) -> Option<NaiveDate> {
    if let Ok(at) = text.parse::<DateTime<Utc>>() {
        return Some(at.date_naive());
    }
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// The start of a date as a value of a date or date-time column (UTC midnight).
pub fn date_value(kind: FieldKind, date: NaiveDate) -> sea_orm::Value {
    match kind {
        FieldKind::DateTime => {
            sea_orm::Value::ChronoDateTimeUtc(Some(date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()))
        }
        _ => sea_orm::Value::ChronoDate(Some(date)),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use sea_orm::ActiveValue::{NotSet, Set};

    use super::*;

    mod note {
        use sea_orm::entity::prelude::*;
        use serde::{Deserialize, Serialize};

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
        #[sea_orm(table_name = "rules_note")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i64,
            pub title: String,
            pub slug: String,
            pub day: Date,
            pub created: DateTimeUtc,
            pub updated: DateTimeUtc,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    const RULES: ModelRules = ModelRules {
        auto_now_add: &["created", "day"],
        auto_now: &["updated"],
        unique_for_date: &[("slug", "created")],
        slug_from: &[("slug", "title")],
    };

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 7, hour, 0, 0).unwrap()
    }

    #[test]
    fn a_typed_row_is_stamped_and_slugged_as_the_rules_say() {
        let mut new = note::ActiveModel { title: Set("Crème brûlée & Rust".into()), ..Default::default() };
        RULES.apply(&mut new, at(9), true).unwrap();
        assert_eq!(new.created, Set(at(9)));
        assert_eq!(new.updated, Set(at(9)));
        assert_eq!(new.day, Set(at(9).date_naive()));
        assert_eq!(new.slug, Set("creme-brulee-rust".into()));

        // A save of an existing row moves `updated` only, and keeps a slug that was typed.
        let mut stored = note::ActiveModel {
            title: Set("New title".into()),
            slug: Set("kept".into()),
            created: Set(at(9)),
            ..Default::default()
        };
        RULES.apply(&mut stored, at(11), false).unwrap();
        assert_eq!(stored.created, Set(at(9)));
        assert_eq!(stored.updated, Set(at(11)));
        assert_eq!(stored.day, NotSet);
        assert_eq!(stored.slug, Set("kept".into()));
    }

    #[test]
    fn a_rule_on_a_column_the_entity_lacks_is_an_error_not_a_panic() {
        let rules = ModelRules { auto_now: &["modified"], ..ModelRules::NONE };
        let error = rules.apply(&mut note::ActiveModel { ..Default::default() }, at(9), true).unwrap_err();
        assert!(error.to_string().contains("`rules_note` has no column `modified`"), "{error}");
        let rules = ModelRules { auto_now: &["title"], ..ModelRules::NONE };
        let mut empty = note::ActiveModel { ..Default::default() };
        assert!(rules.apply(&mut empty, at(9), true).is_err(), "a text column takes no time");
    }

    #[test]
    fn an_untyped_row_follows_the_same_rules() {
        let model = ModelDef::of::<note::Entity>("note", "note", "notes").with_rules(RULES);
        model.check_rules().unwrap();
        let mut row = Row::new();
        row.insert("title".into(), Value::String("Hello World".into()));
        row.insert("slug".into(), Value::String(String::new()));
        model.stamp(&mut row, at(9), true);
        model.fill_slugs(&mut row);
        assert_eq!(row["created"], "2026-03-07T09:00:00.000000Z");
        assert_eq!(row["updated"], "2026-03-07T09:00:00.000000Z");
        assert_eq!(row["day"], "2026-03-07");
        assert_eq!(row["slug"], "hello-world");
        model.stamp(&mut row, at(10), false);
        assert_eq!(row["created"], "2026-03-07T09:00:00.000000Z", "creation time kept");
        assert_eq!(row["updated"], "2026-03-07T10:00:00.000000Z");
        assert!(RULES.sets_itself("created") && RULES.sets_itself("updated") && !RULES.sets_itself("slug"));
        assert_eq!(RULES.slug_source("slug"), Some("title"));
        assert_eq!(RULES.slug_source("title"), None);
    }

    #[test]
    fn start_up_names_the_rule_and_column_that_do_not_fit() {
        let check = |rules| ModelDef::of::<note::Entity>("note", "note", "notes").with_rules(rules).check_rules();
        let missing = check(ModelRules { unique_for_date: &[("slug", "published")], ..ModelRules::NONE });
        assert!(missing.unwrap_err().to_string().contains("has no column `published` (its rule `unique_for_date`)"));
        let unfit = check(ModelRules { slug_from: &[("created", "title")], ..ModelRules::NONE });
        assert!(
            unfit.unwrap_err().to_string().contains("the rule `slug_from` of `.note` cannot use the column `created`")
        );
    }

    #[test]
    fn dates_are_read_from_stored_and_typed_text() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
        assert_eq!(day_of("2026-03-07T23:59:59Z"), Some(day));
        assert_eq!(day_of("2026-03-07 10:00"), Some(day));
        assert_eq!(day_of("2026-03-07"), Some(day));
        assert_eq!(day_of("07/03/2026"), None);
        assert_eq!(day_of("2026-03-0é"), None, "a cut inside a character is no date, not a panic");
    }
}
