//! Content types: one id per model label, made on first use, the same id when two requests make
//! it at once, and carried by `dumpdata` so a site moved to another database keeps its links.

use quartet_core::models::content_types::{id_of, label_of};
use quartet_testkit::dbtest;

dbtest! {
    async fn a_label_gets_one_id_made_on_first_use(site) {
        let db = &site.core.db;
        let image = id_of(db, "bookmarks.image").await.unwrap();
        assert_eq!(id_of(db, "bookmarks.image").await.unwrap(), image);
        let user = id_of(db, "accounts.user").await.unwrap();
        assert_ne!(user, image);
        assert_eq!(label_of(db, image).await.unwrap().as_deref(), Some("bookmarks.image"));
        assert_eq!(label_of(db, 999_999).await.unwrap(), None);
        // Made by many at once: one row, one id.
        let ids = futures_util::future::join_all((0..8).map(|_| id_of(db, "shop.product"))).await;
        let ids: Vec<i64> = ids.into_iter().map(Result::unwrap).collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        for bad in ["image", ".image", "bookmarks.", ""] {
            assert!(id_of(db, bad).await.is_err(), "{bad:?}");
        }
    }
}

dbtest! {
    async fn dumpdata_carries_the_content_types(site) {
        let id = id_of(&site.core.db, "bookmarks.image").await.unwrap();
        let options = quartet_core::models::DumpOptions { labels: vec!["core.contenttype".into()], ..Default::default() };
        let mut out = Vec::new();
        let progress = indicatif::ProgressBar::hidden();
        quartet_core::models::dump_data(&site.core.db, &site.core.registry.models, &options, &mut out, &progress)
            .await
            .unwrap();
        let rows: Vec<quartet_core::models::DumpRow> = serde_json::from_slice(&out).unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!((rows[0].model.as_str(), &rows[0].pk), ("core.contenttype", &serde_json::json!(id)));
        assert_eq!(rows[0].fields["app_label"], "bookmarks");
        assert_eq!(rows[0].fields["model"], "image");
    }
}
