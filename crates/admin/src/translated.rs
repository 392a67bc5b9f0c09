//! Fields stored per language (a product's name, slug and description), edited in one tab per
//! language on the model's change page, as django-parler's admin does.
//!
//! The translations live in a model of their own with one row per object and language
//! (`shop_product_translation`: `master_id`, `language_code`, `name`, ...). The page shows a tab
//! for every configured language (`?language=es`); the translated fields of the chosen language
//! are part of the form and are saved with the object, in its transaction.

use serde_json::Value;

use super::form::{
    AdminField, Submission, apply_errors, build_fields, key_value, parse_submission, prefix_fields, store_uploads,
};
use super::options::ModelAdmin;
use super::views::{field_list, new_row, write_error};
use quartet_kernel::app::CoreState;
use quartet_kernel::error::Result;
use quartet_kernel::forms::FormData;
use quartet_kernel::i18n::{Tr, fill};
use quartet_kernel::models::{Row, RowQuery, plain_text};

/// Form names of translated fields start with this (`translation-name`).
const PREFIX: &str = "translation-";

/// Where a model's translated fields are stored.
#[derive(Clone)]
pub struct Translations {
    pub(crate) admin: ModelAdmin,
    pub(crate) fk: String,
    pub(crate) language_column: String,
}

impl Translations {
    /// Rows of `model` (options as for any model: `ModelAdmin::new("shop.producttranslation")`)
    /// hold the translations; `fk` points at the object and `language_column` holds the code.
    pub fn new(model: ModelAdmin, fk: impl Into<String>, language_column: impl Into<String>) -> Self {
        Self { admin: model, fk: fk.into(), language_column: language_column.into() }
    }

    /// The object key and language code are set by the page, never typed.
    pub(crate) fn exclude_keys(&mut self) {
        let keys = [self.fk.clone(), self.language_column.clone()];
        if let Some(fields) = &mut self.admin.fields {
            fields.retain(|f| !keys.contains(f));
        }
        self.admin.exclude.extend(keys);
    }

    /// The stored translation of `pk` in `language`, if any.
    async fn row(&self, core: &CoreState, pk: Option<&str>, language: &str) -> Result<Option<Row>> {
        let Some(pk) = pk else { return Ok(None) };
        let rows = self.admin.model().rows().find(&core.db, &RowQuery::key_equals(&self.fk, pk)).await?;
        Ok(rows.into_iter().find(|r| r.get(&self.language_column).map(plain_text).as_deref() == Some(language)))
    }
}

/// A language tab.
pub struct LanguageTab {
    /// Code (`es`).
    pub code: String,
    /// Name in itself (`Español`).
    pub name: String,
    /// Link to the page in that language.
    pub href: String,
    /// Whether it is the tab shown.
    pub current: bool,
    /// Whether a translation is stored.
    pub exists: bool,
}

/// The translated part of a page.
pub struct TranslatedPart {
    /// The tabs.
    pub tabs: Vec<LanguageTab>,
    /// The fields of the current language (prefixed names).
    pub fields: Vec<AdminField>,
    /// The current language's name.
    pub language_name: String,
}

/// The language a page edits: `?language=` when it is offered, else the default.
pub(crate) fn language_of(core: &CoreState, query: Option<&str>) -> String {
    let asked = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "language")
        .map(|(_, v)| v.into_owned());
    match asked {
        Some(code) if core.i18n.is_offered(&code) => code,
        _ => core.i18n.default_language().to_owned(),
    }
}

/// The tabs and fields; `submitted` re-shows posted values with their errors.
pub(crate) async fn build(
    core: &CoreState,
    admin: &ModelAdmin,
    pk: Option<&str>,
    language: &str,
    page_url: &str,
    submitted: Option<(&FormData, &Submission)>,
    tr: &Tr,
) -> Result<Option<TranslatedPart>> {
    let Some(translations) = &admin.translations else { return Ok(None) };
    let child = &translations.admin;
    let mut tabs = Vec::new();
    for l in core.i18n.languages() {
        let exists = translations.row(core, pk, &l.code).await?.is_some();
        let href = format!("{page_url}?language={}", l.code);
        tabs.push(LanguageTab {
            code: l.code.clone(),
            name: l.name_local.clone(),
            href,
            current: l.code == language,
            exists,
        });
    }
    let stored = translations.row(core, pk, language).await?;
    let child_pk = stored.as_ref().and_then(|r| r.get(child.model().rows().primary_key())).map(plain_text);
    let row = stored.unwrap_or_else(|| new_row(child, core.now()));
    let mut fields =
        build_fields(child, &core.registry, &core.db, &row, child_pk.as_deref(), tr, &core.url("admin:index")).await?;
    if let Some((data, submission)) = submitted {
        apply_errors(&mut fields, &data.prefixed(PREFIX), &submission.errors);
    }
    prefix_fields(&mut fields, PREFIX);
    let language_name = tabs.iter().find(|t| t.current).map(|t| t.name.clone()).unwrap_or_default();
    Ok(Some(TranslatedPart { tabs, fields, language_name }))
}

/// Reads the translated fields of `language` (the parent's key is `None` when adding).
pub(crate) async fn parse(
    core: &CoreState,
    admin: &ModelAdmin,
    data: &FormData,
    pk: Option<&str>,
    language: &str,
    tr: &Tr,
) -> Result<Option<Submission>> {
    let Some(translations) = &admin.translations else { return Ok(None) };
    let child = &translations.admin;
    let stored = translations.row(core, pk, language).await?;
    let child_pk = stored.as_ref().and_then(|r| r.get(child.model().rows().primary_key())).map(plain_text);
    let row = stored.unwrap_or_else(|| new_row(child, core.now()));
    let sub = data.prefixed(PREFIX);
    let mut submission = parse_submission(child, &core.registry, &core.db, &sub, row, child_pk.as_deref(), tr).await?;
    if submission.errors.is_empty() {
        store_uploads(core, child, &mut submission, tr).await?;
    }
    Ok(Some(submission))
}

/// Saves the translation with the object; returns the history message of a change
/// ("Changed name and slug (Español).").
pub(crate) async fn save(
    tx: &quartet_kernel::db::Tx,
    core: &CoreState,
    admin: &ModelAdmin,
    pk: &str,
    language: &str,
    submission: Option<Submission>,
    tr: &Tr,
) -> Result<Vec<String>> {
    let (Some(translations), Some(submission)) = (&admin.translations, submission) else { return Ok(Vec::new()) };
    let child = translations.admin.model();
    let key = child.rows().primary_key();
    let mut row = submission.row;
    row.insert(translations.fk.clone(), key_value(child, &translations.fk, pk));
    row.insert(translations.language_column.clone(), Value::from(language));
    if row.get(key).is_some_and(|k| !k.is_null()) {
        if !submission.changed.is_empty() {
            child.rows().update(tx, row).await.map_err(write_error)?;
        }
    } else {
        child.rows().insert(tx, row).await.map_err(write_error)?;
    }
    if submission.changed.is_empty() {
        return Ok(Vec::new());
    }
    let name = core.i18n.languages().iter().find(|l| l.code == language).map_or(language, |l| l.name_local.as_str());
    let fields = field_list(&translations.admin, tr, &submission.changed);
    Ok(vec![fill(tr.t("Changed {fields} ({language})."), &[("fields", &fields), ("language", &name)])])
}
