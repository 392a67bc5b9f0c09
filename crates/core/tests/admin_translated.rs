//! Fields stored per language, edited in one tab per language.

use quartet_core::admin::log::entry;
use quartet_testkit::dbtest;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::library::{genre, genre_translation, library_site};

async fn translations(site: &quartet_testkit::TestSite) -> Vec<(String, String, String)> {
    genre_translation::Entity::find()
        .order_by_asc(genre_translation::Column::LanguageCode)
        .all(&site.core.db)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.language_code, t.name, t.slug))
        .collect()
}

dbtest! {
    using library_site();
    async fn translated_fields_are_edited_per_language_in_tabs(site) {
        let (root, _) = site.superuser_client("root").await;
        let add = root.get("/admin/library/genre/add/").await;
        assert_eq!(add.texts(".language-tabs a"), ["English (not translated yet)", "Español (not translated yet)"]);
        assert_eq!(add.attrs(".language-tabs a.current", "lang"), ["en"]);
        assert_eq!(add.attrs(".translated input[name^=translation-]", "name"), ["translation-name", "translation-slug"]);
        assert_eq!(add.attrs("#id_translation-slug", "data-prepopulate-from"), ["id_translation-name"]);

        let missing = root.post_form("/admin/library/genre/add/", &[("code", "scifi"), ("translation-name", ""), ("translation-slug", "")]).await;
        assert_eq!(missing.status, 200);
        assert_eq!(missing.texts(".translated .field-translation-name .errorlist li"), ["This field is required."]);
        assert!(genre::Entity::find().one(&site.core.db).await.unwrap().is_none(), "nothing saved without the translation");

        let added = root.post_form("/admin/library/genre/add/", &[("code", "scifi"), ("translation-name", "Science fiction"), ("translation-slug", "science-fiction"), ("_continue", "")]).await;
        assert_eq!(added.status, 303, "{}", added.body);
        let genre = genre::Entity::find().one(&site.core.db).await.unwrap().unwrap();
        let url = format!("/admin/library/genre/{}/change/", genre.id);
        assert_eq!(added.location(), Some(url.as_str()));
        assert_eq!(translations(&site).await, [("en".into(), "Science fiction".into(), "science-fiction".into())]);

        // The Spanish tab starts empty and saves its own row; the English one is untouched.
        let spanish = root.get(&format!("{url}?language=es")).await;
        assert_eq!(spanish.attrs(".language-tabs a.current", "lang"), ["es"]);
        assert_eq!(spanish.attrs(".language-tabs a", "href"), [format!("{url}?language=en"), format!("{url}?language=es")]);
        assert_eq!(spanish.attrs("#id_translation-name", "value"), [""]);
        let saved = root.post_form(&format!("{url}?language=es"), &[("code", "scifi"), ("translation-name", "Ciencia ficción"), ("translation-slug", "ciencia-ficcion"), ("_continue", "")]).await;
        assert_eq!(saved.location(), Some(format!("{url}?language=es").as_str()), "back to the same tab");
        assert_eq!(translations(&site).await, [
            ("en".into(), "Science fiction".into(), "science-fiction".into()),
            ("es".into(), "Ciencia ficción".into(), "ciencia-ficcion".into()),
        ]);
        let log = entry::Entity::find().filter(entry::Column::ActionFlag.eq(2)).one(&site.core.db).await.unwrap().unwrap();
        assert_eq!(log.change_message, "Changed name and slug (Español).");
        let english = root.get(&url).await;
        assert_eq!(english.attrs("#id_translation-name", "value"), ["Science fiction"]);
        assert!(english.attrs(".language-tabs a.empty", "lang").is_empty(), "both languages exist now");

        // An unknown language falls back to the default; a viewer sees the fields read-only.
        assert_eq!(root.get(&format!("{url}?language=xx")).await.attrs(".language-tabs a.current", "lang"), ["en"]);
        let (viewer, _) = site.staff_client("viewer", &["library.view_genre"]).await;
        let page = viewer.get(&format!("{url}?language=es")).await;
        assert_eq!(page.texts(".translated .readonly"), ["Ciencia ficción", "ciencia-ficcion"]);
        assert_eq!(viewer.post_form(&format!("{url}?language=es"), &[("code", "x"), ("translation-name", "x"), ("translation-slug", "x")]).await.status, 403);
    }
}

/// The message ids written literally in the admin's templates and code: `t("…")`, `t1("…", …)`,
/// `t2("…", …)`, `f("…", …)`, and both forms of `tn("…", "…", …)`.
fn literal_messages() -> Vec<(String, Option<String>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let roots: Vec<std::path::PathBuf> =
        ["../admin/templates/admin", "../admin/src", "../jobs/templates", "../jobs/src"]
            .iter()
            .map(|d| root.join(d))
            .collect();
    let mut out = Vec::new();
    for (_, text) in quartet_testkit::source_files(&roots) {
        for call in ["t(\"", "t1(\"", "t2(\"", "tn(\"", "f(\""] {
            let mut rest = text.as_str();
            while let Some(at) = rest.find(call) {
                let preceded = rest[..at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_');
                rest = &rest[at + call.len()..];
                let Some(end) = rest.find('"') else { break };
                let first = rest[..end].to_owned();
                if preceded {
                    continue;
                }
                let plural = (call == "tn(\"")
                    .then(|| rest[end + 1..].trim_start().strip_prefix(',').map(str::trim_start))
                    .flatten()
                    .and_then(|r| r.strip_prefix('"'))
                    .and_then(|r| r.find('"').map(|e| r[..e].to_owned()));
                out.push((first, plural));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[tokio::test]
async fn every_admin_text_has_a_spanish_translation() {
    let site = quartet_testkit::TestSite::builder().start(quartet_testkit::Backend::Sqlite).await;
    let tr = site.core.tr("es");
    // Texts that are the same in Spanish.
    let same = ["No", "0 {models}", "Error", "ID", "Total"];
    let literal = literal_messages();
    assert!(literal.len() > 100, "the scan finds the admin's texts: {}", literal.len());
    let mut ids: Vec<String> = Vec::new();
    let mut missing = Vec::new();
    for (singular, plural) in &literal {
        match plural {
            Some(plural) => {
                if tr.n(singular, plural, 2, &[]) == *plural {
                    missing.push(plural.clone());
                }
            }
            None => ids.push(singular.clone()),
        }
    }
    // Core's own registrations (the test app's are fixtures) and the app names.
    for admin in quartet_core::admin::site(&site.core).admins.iter().filter(|a| !a.label().starts_with("library.")) {
        ids.extend(admin.messages());
    }
    ids.extend(site.core.registry.apps.iter().map(|a| a.name.to_owned()));
    ids.extend(
        ["Select {model} to change", "Select {model} to view", "Select {model}", "Export to CSV"].map(String::from),
    );
    for id in ids {
        if tr.t(&id) == id && !same.contains(&id.as_str()) {
            missing.push(id);
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "untranslated admin texts: {missing:#?}");
}

dbtest! {
    using library_site();
    async fn the_admin_speaks_spanish(site) {
        let (root, _) = site.superuser_client("root").await;
        root.set_cookie("quartet_language", "es");
        let index = root.get("/admin/").await;
        assert_eq!(index.heading(), "Sitio administrativo");
        assert!(index.texts("table.module caption").contains(&"Cuentas".to_owned()));
        assert!(index.texts("table.module th[scope=row]").contains(&"Usuarios".to_owned()));
        let users = root.get("/admin/accounts/user/").await;
        assert_eq!(users.heading(), "Escoja usuario a modificar");
        assert!(users.texts(".changelist-filter summary").contains(&"Por es staff".to_owned()), "{:?}", users.texts(".changelist-filter summary"));
        let change = root.get(&users.attrs("#result_list tbody th a", "href")[0]).await;
        assert_eq!(change.texts(".submit-row button"), ["Guardar", "Guardar y añadir otro", "Guardar y continuar editando"]);
        assert_eq!(change.text(".field-is_active label"), "Activo");
    }
}
