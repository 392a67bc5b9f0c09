//! Child rows edited on the parent's page: chapters (tabular) and reviews (stacked) of a book.

use quartet_core::admin::log::entry;
use quartet_testkit::{TestResponse, dbtest};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::admin::add_book;
use crate::library::{book, chapter, library_site, review};

/// A valid book form plus the given inline fields.
fn book_form<'a>(title: &'a str, slug: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("title", title),
        ("slug", slug),
        ("status", "DF"),
        ("published", "2026-03-04T05:06"),
        ("price", "10"),
        ("notes", ""),
        ("_save", ""),
    ];
    fields.extend_from_slice(extra);
    fields
}

fn management<'a>(prefix: &str, total: &'a str, initial: &'a str) -> Vec<(String, &'a str)> {
    vec![(format!("{prefix}-TOTAL_FORMS"), total), (format!("{prefix}-INITIAL_FORMS"), initial)]
}

async fn chapters(site: &quartet_testkit::TestSite, book_id: i64) -> Vec<(i32, String)> {
    chapter::Entity::find()
        .filter(chapter::Column::BookId.eq(book_id))
        .order_by_asc(chapter::Column::Number)
        .all(&site.core.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.number, c.title))
        .collect()
}

fn error_rows(page: &TestResponse) -> Vec<String> {
    page.attrs(".inline-form.row-error", "id")
}

dbtest! {
    using library_site();
    async fn a_book_is_added_with_its_chapters_and_reviews(site) {
        let (root, _) = site.superuser_client("root").await;
        let page = root.get("/admin/library/book/add/").await;
        assert_eq!(page.texts(".inline-group > h2"), ["Chapters", "Reviews"]);
        assert_eq!(page.attrs("#chapter_set-group.tabular", "data-prefix"), ["chapter_set"]);
        assert_eq!(page.attrs("#review_set-group.stacked", "data-prefix"), ["review_set"]);
        assert_eq!(page.attrs("[name=chapter_set-TOTAL_FORMS]", "value"), ["2"], "two blank chapters");
        assert_eq!(page.attrs("[name=review_set-TOTAL_FORMS]", "value"), ["1"]);
        assert_eq!(page.texts("#chapter_set-group thead th"), ["Number *", "Title *", "Delete?"]);
        assert_eq!(page.attrs("#chapter_set-group tbody input[name$=-title]", "name"), ["chapter_set-0-title", "chapter_set-1-title"]);
        assert_eq!(page.texts("#chapter_set-group .add-inline"), ["Add another Chapter"]);
        assert_eq!(page.texts("#review_set-group .inline-label"), ["Review #1"]);
        assert!(page.body.contains("id=\"chapter_set-empty\""), "the blank form the script copies");

        let mut fields = book_form("Inline Book", "inline-book", &[
            ("chapter_set-0-id", ""), ("chapter_set-0-number", "1"), ("chapter_set-0-title", "Intro"),
            ("chapter_set-1-id", ""), ("chapter_set-1-number", ""), ("chapter_set-1-title", ""),
            ("review_set-0-id", ""), ("review_set-0-reviewer", "Ann"), ("review_set-0-body", "Lovely."),
        ]);
        let management = [management("chapter_set", "2", "0"), management("review_set", "1", "0")].concat();
        fields.extend(management.iter().map(|(k, v)| (k.as_str(), *v)));
        let saved = root.post_form("/admin/library/book/add/", &fields).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let stored = book::Entity::find().one(&site.core.db).await.unwrap().unwrap();
        assert_eq!(chapters(&site, stored.id).await, [(1, "Intro".to_owned())], "the blank second chapter is skipped");
        let reviews = review::Entity::find().all(&site.core.db).await.unwrap();
        assert_eq!((reviews.len(), reviews[0].book_id, reviews[0].body.as_str()), (1, stored.id, "Lovely."));
        let log = entry::Entity::find().filter(entry::Column::ObjectId.eq(stored.id.to_string())).one(&site.core.db).await.unwrap().unwrap();
        assert_eq!(log.change_message, "Added. Added chapter “Intro”. Added review “Ann”.");
    }
}

dbtest! {
    using library_site();
    async fn inline_rows_are_changed_added_and_deleted_with_the_parent(site) {
        let (root, _) = site.superuser_client("root").await;
        let id = add_book(&site, "Parent", "DF", site.core.now(), None).await;
        let url = format!("/admin/library/book/{id}/change/");
        let mut fields = book_form("Parent", "parent", &[
            ("chapter_set-0-number", "1"), ("chapter_set-0-title", "One"),
            ("chapter_set-1-number", "2"), ("chapter_set-1-title", "Two"),
            ("review_set-0-reviewer", "Bo"), ("review_set-0-body", "Fine."),
        ]);
        let first = [management("chapter_set", "2", "0"), management("review_set", "1", "0")].concat();
        fields.extend(first.iter().map(|(k, v)| (k.as_str(), *v)));
        assert_eq!(root.post_form(&url, &fields).await.status, 303);
        assert_eq!(chapters(&site, id).await, [(1, "One".to_owned()), (2, "Two".to_owned())]);

        let page = root.get(&url).await;
        let ids = page.attrs("#chapter_set-group input[name$=-id]", "value");
        assert_eq!(ids.len(), 4, "two chapters and two blank forms: {ids:?}");
        assert!(ids[2].is_empty() && ids[3].is_empty());
        assert_eq!(page.attrs("[name=chapter_set-INITIAL_FORMS]", "value"), ["2"]);
        assert_eq!(page.attrs("#chapter_set-group input[name=chapter_set-0-title]", "value"), ["One"]);
        let review_id = page.attrs("#review_set-group input[name=review_set-0-id]", "value")[0].clone();
        assert_eq!(page.texts("#review_set-group .inline-label")[0], "Review: Bo");

        let mut fields = book_form("Parent", "parent", &[
            ("chapter_set-0-id", &ids[0]), ("chapter_set-0-number", "1"), ("chapter_set-0-title", "One, revised"),
            ("chapter_set-1-id", &ids[1]), ("chapter_set-1-number", "2"), ("chapter_set-1-title", "Two"), ("chapter_set-1-DELETE", "on"),
            ("chapter_set-2-id", ""), ("chapter_set-2-number", "3"), ("chapter_set-2-title", "Three"),
            ("review_set-0-id", &review_id), ("review_set-0-reviewer", "Bo"), ("review_set-0-body", "Fine."), ("review_set-0-DELETE", "on"),
        ]);
        let second = [management("chapter_set", "3", "2"), management("review_set", "1", "1")].concat();
        fields.extend(second.iter().map(|(k, v)| (k.as_str(), *v)));
        let saved = root.post_form(&url, &fields).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        assert_eq!(chapters(&site, id).await, [(1, "One, revised".to_owned()), (3, "Three".to_owned())]);
        assert_eq!(review::Entity::find().count(&site.core.db).await.unwrap(), 0);
        let last = entry::Entity::find().order_by_desc(entry::Column::Id).one(&site.core.db).await.unwrap().unwrap();
        assert_eq!(last.change_message, "Changed title for chapter “One, revised”. Deleted chapter “Two”. Added chapter “Three”. Deleted review “Bo”.");

        // A form that is not sent at all changes nothing.
        let plain = book_form("Parent", "parent", &[]);
        assert_eq!(root.post_form(&url, &plain).await.status, 303);
        assert_eq!(chapters(&site, id).await.len(), 2);
    }
}

dbtest! {
    using library_site();
    async fn inline_errors_keep_everything_and_save_nothing(site) {
        let (root, _) = site.superuser_client("root").await;
        let id = add_book(&site, "Careful", "DF", site.core.now(), None).await;
        let other = add_book(&site, "Other", "DF", site.core.now(), None).await;
        let url = format!("/admin/library/book/{id}/change/");
        let mut fields = book_form("Careful, renamed", "careful", &[
            ("chapter_set-0-number", "one"), ("chapter_set-0-title", "Typed"),
            ("chapter_set-1-number", ""), ("chapter_set-1-title", "No number"),
            ("chapter_set-2-number", "x"), ("chapter_set-2-title", ""),
        ]);
        let m = management("chapter_set", "3", "0");
        fields.extend(m.iter().map(|(k, v)| (k.as_str(), *v)));
        let page = root.post_form(&url, &fields).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.text(".errornote"), "Please correct the errors below.");
        assert_eq!(error_rows(&page), ["chapter_set-0", "chapter_set-1", "chapter_set-2"], "a form with anything typed is validated");
        assert_eq!(page.texts("#chapter_set-0 .errorlist li"), ["Enter a whole number."]);
        assert_eq!(page.texts("#chapter_set-1 .errorlist li"), ["This field is required."]);
        assert_eq!(page.attrs("input[name=chapter_set-1-title]", "value"), ["No number"], "typed values stay");
        assert_eq!(page.attrs("#id_title", "value"), ["Careful, renamed"]);
        assert_eq!(book::Entity::find_by_id(id).one(&site.core.db).await.unwrap().unwrap().title, "Careful", "the parent is not saved either");
        assert!(chapters(&site, id).await.is_empty());

        // Tampering: another book's chapter, a broken or huge form count.
        let foreign = chapter::ActiveModel { book_id: sea_orm::Set(other), number: sea_orm::Set(1), title: sea_orm::Set("Theirs".into()), ..Default::default() };
        let foreign = sea_orm::ActiveModelTrait::insert(foreign, &site.core.db).await.unwrap();
        let foreign_id = foreign.id.to_string();
        for (total, id_value, expected) in [
            ("1", foreign_id.as_str(), "The inline value did not match the parent instance."),
            ("abc", "", "ManagementForm data is missing or has been tampered with."),
            ("5000", "", "Please submit at most 1000 forms."),
        ] {
            let mut fields = book_form("Careful", "careful", &[("chapter_set-0-id", id_value), ("chapter_set-0-number", "9"), ("chapter_set-0-title", "Mine now")]);
            let m = management("chapter_set", total, "0");
            fields.extend(m.iter().map(|(k, v)| (k.as_str(), *v)));
            let page = root.post_form(&url, &fields).await;
            assert_eq!(page.status, 200, "{total}");
            assert_eq!(page.texts(".errorlist.nonform li"), [expected]);
        }
        let theirs = chapter::Entity::find_by_id(foreign.id).one(&site.core.db).await.unwrap().unwrap();
        assert_eq!((theirs.book_id, theirs.title.as_str()), (other, "Theirs"));
    }
}

dbtest! {
    using library_site();
    async fn inlines_follow_the_child_models_permissions(site) {
        let id = add_book(&site, "Guarded", "DF", site.core.now(), None).await;
        let chapter = chapter::ActiveModel { book_id: sea_orm::Set(id), number: sea_orm::Set(1), title: sea_orm::Set("Kept".into()), ..Default::default() };
        let chapter = sea_orm::ActiveModelTrait::insert(chapter, &site.core.db).await.unwrap();
        let url = format!("/admin/library/book/{id}/change/");

        let (editor, _) = site.staff_client("editor", &["library.view_book", "library.change_book"]).await;
        let page = editor.get(&url).await;
        assert!(page.texts(".inline-group > h2").is_empty(), "no permission on chapters or reviews, no inlines");

        let (reader, _) = site.staff_client("reader", &["library.view_book", "library.change_book", "library.view_chapter"]).await;
        let page = reader.get(&url).await;
        assert_eq!(page.texts(".inline-group > h2"), ["Chapters"]);
        assert_eq!(page.texts("#chapter_set-group .readonly"), ["1", "Kept"], "viewable, not editable");
        assert!(page.texts("#chapter_set-group .add-inline").is_empty());
        let chapter_id = chapter.id.to_string();
        let mut change = book_form("Guarded", "guarded", &[("chapter_set-0-id", &chapter_id), ("chapter_set-0-number", "1"), ("chapter_set-0-title", "Changed")]);
        let m = management("chapter_set", "1", "1");
        change.extend(m.iter().map(|(k, v)| (k.as_str(), *v)));
        assert_eq!(reader.post_form(&url, &change).await.status, 303);
        assert_eq!(chapters(&site, id).await, [(1, "Kept".to_owned())], "changes to rows one may only view are ignored");
        let mut add = book_form("Guarded", "guarded", &[("chapter_set-0-id", ""), ("chapter_set-0-number", "2"), ("chapter_set-0-title", "New")]);
        let m = management("chapter_set", "1", "0");
        add.extend(m.iter().map(|(k, v)| (k.as_str(), *v)));
        assert_eq!(reader.post_form(&url, &add).await.status, 403);
        let mut delete = book_form("Guarded", "guarded", &[("chapter_set-0-id", &chapter_id), ("chapter_set-0-DELETE", "on")]);
        let m = management("chapter_set", "1", "1");
        delete.extend(m.iter().map(|(k, v)| (k.as_str(), *v)));
        assert_eq!(reader.post_form(&url, &delete).await.status, 403);
        assert_eq!(chapters(&site, id).await.len(), 1);
    }
}
