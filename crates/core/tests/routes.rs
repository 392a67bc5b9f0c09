//! Routes mounted per app: the site qualifies the names and mounts each app at its prefix
//! (moved by `apps.mounts`, links and the admin's own parts following), a path translated per
//! language, and the language switch that goes to the same page in the other language.

use chrono::Utc;
use quartet_testkit::dbtest;

use crate::admin::add_book;
use crate::library::library_site;

dbtest! {
    using library_site();
    async fn a_translated_path_leads_to_the_page_and_the_switch_keeps_the_page(site) {
        let id = add_book(&site, "Dune", "PB", Utc::now(), None).await;
        let (client, _) = site.staff_client("reader", &["library.view_book"]).await;
        let english = format!("/library/admin/book/{id}/summary/");
        let spanish = format!("/library/admin/libro/{id}/resumen/");
        assert_eq!(site.core.url_in("en", "library:admin-book-summary", &[&id]), english);
        assert_eq!(site.core.url_in("es", "library:admin-book-summary", &[&id]), spanish);
        for path in [&english, &spanish] {
            let page = client.get(path).await;
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            assert!(page.body.contains("Dune (PB), 0 pages"), "{path}: {}", page.body);
        }
        // The language switch, posted from the English page, lands on the Spanish one (query kept).
        let to_spanish =
            client.post_form("/i18n/setlang/", &[("language", "es"), ("next", &format!("{english}?tab=1"))]).await;
        assert_eq!(to_spanish.status, 303);
        assert_eq!(to_spanish.location(), Some(format!("{spanish}?tab=1").as_str()));
        let back = client.post_form("/i18n/setlang/", &[("language", "en"), ("next", &spanish)]).await;
        assert_eq!(back.location(), Some(english.as_str()));
        // A page without a translated path stays where it is; a path no route has is kept as given.
        let stays = client.post_form("/i18n/setlang/", &[("language", "es"), ("next", "/admin/")]).await;
        assert_eq!(stays.location(), Some("/admin/"));
        let unknown = client.post_form("/i18n/setlang/", &[("language", "es"), ("next", "/nowhere/")]).await;
        assert_eq!(unknown.location(), Some("/nowhere/"));
    }
}

dbtest! {
    using library_site().settings(|s| s.apps.mounts = vec!["library=/books/".into(), "admin=/backoffice/".into()]);
    async fn apps_mounted_elsewhere_answer_there_and_everything_follows(site) {
        let (client, _) = site.staff_client("reader", &["library.view_book"]).await;
        assert_eq!(site.core.url("library:admin-stats"), "/books/admin/stats/");
        assert_eq!(client.get("/books/admin/stats/").await.status, 200);
        assert_eq!(client.get("/library/admin/stats/").await.status, 404);
        // The admin's index, its links to other apps' pages, its fallback and its error layout
        // are where the admin is.
        let index = client.get("/backoffice/").await;
        assert_eq!(index.status, 200, "{}", index.body);
        assert!(index.attrs("a", "href").iter().any(|h| h == "/books/admin/stats/"), "{}", index.body);
        let unknown = client.get("/backoffice/library/nothing/").await;
        assert_eq!(unknown.status, 404);
        assert_eq!(unknown.attrs("body", "class")[0].split_whitespace().next(), Some("admin"), "{}", unknown.body);
        let old = client.get("/admin/").await;
        assert_eq!(old.status, 404);
        assert!(!old.attrs("body", "class")[0].contains("admin"), "the old prefix is the public site's: {}", old.body);
    }
}

dbtest! {
    using library_site().app(crate::support::ProbeApp);
    async fn each_app_translates_its_own_pages_first_then_the_kernels_texts(site) {
        let client = site.client();
        let spanish = |path: &'static str| {
            let client = &client;
            async move { client.send(client.request(reqwest::Method::GET, path).header("Accept-Language", "es")).await }
        };
        // "Order" is a purchase in the probe app's catalog and a sort order in the library's.
        assert_eq!(spanish("/test/order/").await.body, "Pedido | Ir a la página de inicio");
        assert_eq!(spanish("/library/order/").await.body, "Orden | Ir a la página de inicio");
        assert_eq!(client.get("/test/order/").await.body, "Order | Go to the home page", "English needs no catalog");
    }
}
