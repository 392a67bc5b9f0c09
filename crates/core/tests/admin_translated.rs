//! Fields stored per language, edited in one tab per language.

use quartet_core::admin::log::entry;
use quartet_testkit::dbtest;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::admin::staff;
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
        let (root, _) = staff(&site, "root", &[], true).await;
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
        let (viewer, _) = staff(&site, "viewer", &["library.view_genre"], false).await;
        let page = viewer.get(&format!("{url}?language=es")).await;
        assert_eq!(page.texts(".translated .readonly"), ["Ciencia ficción", "ciencia-ficcion"]);
        assert_eq!(viewer.post_form(&format!("{url}?language=es"), &[("code", "x"), ("translation-name", "x"), ("translation-slug", "x")]).await.status, 403);
    }
}
