//! Every text of the bookmarks' templates and code has a Spanish translation.

use quartet_core::forms::Form as _;

use crate::support::bookmarks_site;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bookmarks_text_has_a_spanish_translation() {
    let site = bookmarks_site().start(quartet_testkit::Backend::Sqlite).await;
    let i18n = &site.core.i18n;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources: String = quartet_testkit::source_files(&[root.join("templates"), root.join("src")])
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    let (mut ids, plurals) = quartet_testkit::translatable_texts(&sources);
    ids.extend(quartet_bookmarks::views::ImageForm::FIELDS.iter().map(|f| f.label.to_owned()));
    ids.extend(site.core.registry.nav.iter().map(|l| l.label.to_owned()));
    for registration in
        quartet_core::admin::site(&site.core).admins.iter().filter(|a| a.label().starts_with("bookmarks."))
    {
        ids.extend(registration.messages());
    }
    use quartet_bookmarks::models::verbs;
    ids.extend([verbs::REGISTERED, verbs::BOOKMARKED, verbs::LIKES, verbs::FOLLOWING].map(str::to_owned));
    ids.sort();
    ids.dedup();
    assert!(ids.len() > 30, "found only {} texts: {ids:?}", ids.len());
    assert!(plurals.len() >= 3, "{plurals:?}");
    let same_in_spanish = ["Slug"];
    let mut missing: Vec<&String> = ids
        .iter()
        .filter(|id| !same_in_spanish.contains(&id.as_str()))
        .filter(|id| i18n.gettext("es", id) == id.as_str())
        .collect();
    missing.extend(
        plurals.iter().filter(|(one, many)| i18n.ngettext("es", one, many, 2) == many.as_str()).map(|(_, many)| many),
    );
    assert!(missing.is_empty(), "untranslated: {missing:?}");
}
