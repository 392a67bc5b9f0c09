//! The admin site over HTTP, on the account models and the library test model.

use chrono::{Duration, TimeZone, Utc};
use quartet_core::admin::log::entry;
use quartet_core::auth::NewUser;
use quartet_core::auth::models::user;
use quartet_testkit::{TestSite, dbtest};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};

use crate::library::{book, library_site};

pub(crate) const PASSWORD: &str = "correct-horse-battery";

pub(crate) async fn add_book(
    site: &TestSite,
    title: &str,
    status: &str,
    published: chrono::DateTime<Utc>,
    author: Option<i64>,
) -> i64 {
    book::ActiveModel {
        title: Set(title.into()),
        slug: Set(title.to_lowercase().replace(' ', "-")),
        status: Set(status.into()),
        published: Set(published),
        in_print: Set(status == "PB"),
        pages: Set(None),
        price: Set("9.50".parse().unwrap()),
        author_id: Set(author),
        notes: Set(format!("Notes about {title}")),
        ..Default::default()
    }
    .insert(&site.core.db)
    .await
    .unwrap()
    .id
}

dbtest! {
    using library_site();
    async fn only_active_staff_get_in_through_the_admin_login(site) {
        let client = site.client();
        let index = client.get("/admin/").await;
        assert_eq!((index.status, index.location()), (303, Some("/admin/login/?next=%2Fadmin%2F")));
        assert_eq!(client.get("/admin/library/book/").await.location(), Some("/admin/login/?next=%2Fadmin%2Flibrary%2Fbook%2F"));

        site.create_user("visitor", PASSWORD).await;
        let refused = client.post_form("/admin/login/", &[("username", "visitor"), ("password", PASSWORD)]).await;
        assert_eq!(refused.status, 200);
        assert!(refused.text(".errornote").starts_with("Please enter the correct username and password for a staff account."));
        let wrong = client.post_form("/admin/login/", &[("username", "nobody"), ("password", "x")]).await;
        assert_eq!(wrong.text(".errornote"), refused.text(".errornote"), "unknown users look the same");

        let (staff_client, _) = site.staff_client("editor", &[]).await;
        let page = staff_client.get("/admin/").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.heading(), "Site administration");
        assert!(page.body.contains("You don’t have permission to view or edit anything."));
        assert_eq!(staff_client.get("/admin/library/book/").await.status, 403);
        let out = staff_client.post_form("/admin/logout/", &[]).await;
        assert_eq!(out.location(), Some("/admin/login/"));
        assert_eq!(staff_client.get("/admin/").await.status, 303);
    }
}

dbtest! {
    using library_site();
    async fn the_index_lists_what_the_user_may_see(site) {
        let (root, _) = site.superuser_client("root").await;
        let index = root.get("/admin/").await;
        let captions = index.texts("table.module caption");
        assert_eq!(captions, ["Accounts", "Administration", "Background jobs", "Library"]);
        assert_eq!(index.texts("table.module th[scope=row]"), ["Users", "Groups", "Profiles", "User social auths", "Services", "Background jobs", "Genres", "Books", "Library statistics", "Shelf audit"]);

        let (viewer, _) = site.staff_client("viewer", &["library.view_book"]).await;
        let index = viewer.get("/admin/").await;
        assert_eq!(index.texts("table.module caption"), ["Library"]);
        assert!(index.attrs("a.addlink", "href").is_empty(), "no add permission, no add link");
        assert_eq!(viewer.get("/admin/library/").await.status, 200);
        assert_eq!(viewer.get("/admin/accounts/").await.status, 404);
        assert_eq!(viewer.get("/admin/accounts/user/").await.status, 403);
        assert_eq!(viewer.get("/admin/nothing/here/").await.status, 404);
    }
}

dbtest! {
    using library_site();
    async fn the_change_list_searches_sorts_filters_with_counts_and_pages(site) {
        let (root, ada) = site.superuser_client("ada").await;
        let now = site.core.now();
        add_book(&site, "Rust in Action", "PB", now, Some(ada.id)).await;
        add_book(&site, "Django by Example", "PB", now - Duration::days(3), None).await;
        add_book(&site, "Draft Ideas", "DF", now - Duration::days(400), Some(ada.id)).await;

        let list = root.get("/admin/library/book/").await;
        assert_eq!(list.status, 200);
        assert_eq!(list.heading(), "Select book to change");
        assert_eq!(list.texts("#result_list thead th:not(.action-checkbox-column)"), ["Title", "Slug", "Author", "Published", "Status", "In print", "View"]);
        // Default ordering: status, then newest first.
        assert_eq!(list.texts("#result_list tbody th"), ["Draft Ideas", "Rust in Action", "Django by Example"]);
        assert_eq!(list.texts("#result_list tbody tr:first-child td:not(.action-checkbox)")[1], "ada");
        assert_eq!(list.texts("#result_list tbody tr:first-child td select[name=form-0-status] option[selected]"), ["Draft"], "list-editable column");
        assert!(list.body.contains("<a class=\"view\" href=\"/books/"), "computed HTML column");

        let sorted = root.get("/admin/library/book/?o=title").await;
        assert_eq!(sorted.texts("#result_list tbody th"), ["Django by Example", "Draft Ideas", "Rust in Action"]);
        let reversed = root.get("/admin/library/book/?o=-title").await;
        assert_eq!(reversed.texts("#result_list tbody th")[0], "Rust in Action");
        let ignored = root.get("/admin/library/book/?o=notes%3Bdrop").await;
        assert_eq!(ignored.status, 200, "an unknown sort column is ignored");

        let search = root.get("/admin/library/book/?q=DJANGO").await;
        assert_eq!(search.texts("#result_list tbody th"), ["Django by Example"]);
        let both_words = root.get("/admin/library/book/?q=notes+draft").await;
        assert_eq!(both_words.texts("#result_list tbody th"), ["Draft Ideas"]);
        let percent = root.get("/admin/library/book/?q=%25").await;
        assert!(percent.texts("#result_list tbody th").is_empty(), "% is matched literally");

        // Facets: counts per choice, with the other filters applied.
        let filters = list.texts(".changelist-filter li");
        for expected in ["Draft (1)", "Published (2)", "Yes (2)", "No (1)", "Today (1)", "Past 7 days (2)", "ada (2)"] {
            assert!(filters.contains(&expected.to_owned()), "{expected} not in {filters:?}");
        }
        let published = root.get("/admin/library/book/?status=PB").await;
        assert_eq!(published.texts("#result_list tbody th").len(), 2);
        let facets = published.texts(".changelist-filter li");
        assert!(facets.contains(&"ada (1)".to_owned()), "{facets:?}");
        assert!(facets.contains(&"Draft (1)".to_owned()), "the status filter counts ignore its own choice: {facets:?}");
        let today = now.date_naive();
        let week = root.get(&format!("/admin/library/book/?published__gte={}&published__lt={}", today - Duration::days(6), today + Duration::days(1))).await;
        assert_eq!(week.texts("#result_list tbody th").len(), 2);
        let junk = root.get("/admin/library/book/?published__gte=yesterday&in_print=maybe&p=x").await;
        assert_eq!(junk.status, 200, "bad filter values are ignored, never a 500");

        // Date hierarchy: years, then months.
        let years = list.texts(".date-hierarchy a");
        assert!(years.contains(&now.format("%Y").to_string()), "{years:?}");
    }
}

dbtest! {
    using library_site();
    async fn a_hundred_rows_per_page(site) {
        let (root, _) = site.superuser_client("ada").await;
        let start = Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap();
        for n in 0..105 {
            add_book(&site, &format!("Book {n:03}"), "PB", start + Duration::hours(n), None).await;
        }
        let first = root.get("/admin/library/book/?o=title").await;
        assert_eq!(first.texts("#result_list tbody tr").len(), 100);
        assert_eq!(first.text(".paginator"), "105 objects");
        let second = root.get(&first.attrs("a[rel=next]", "href")[0].replace('?', "/admin/library/book/?")).await;
        assert_eq!(second.texts("#result_list tbody th"), ["Book 100", "Book 101", "Book 102", "Book 103", "Book 104"]);
    }
}

dbtest! {
    using library_site();
    async fn adding_validates_each_field_then_saves_and_records_it(site) {
        let (root, ada) = site.superuser_client("ada").await;
        add_book(&site, "Taken", "PB", site.core.now(), None).await;
        let form = root.get("/admin/library/book/add/").await;
        assert_eq!(form.heading(), "Add book");
        assert_eq!(form.attrs("#id_slug", "data-prepopulate-from"), ["id_title"]);
        assert_eq!(form.texts("#id_status option"), ["---------", "Draft", "Published"]);
        assert_eq!(form.attrs("#id_published", "type"), ["datetime-local"]);
        assert_eq!(form.attrs("#id_in_print", "type"), ["checkbox"]);
        assert_eq!(form.attrs("a.related-lookup", "href"), ["/admin/accounts/user/?_popup=1"]);
        assert!(form.texts("label.required").iter().any(|l| l.starts_with("Title")));

        let bad = root
            .post_form("/admin/library/book/add/", &[
                ("title", ""), ("slug", "taken"), ("status", "XX"), ("published", "yesterday"),
                ("pages", "many"), ("price", "cheap"), ("author_id", "999"), ("notes", ""), ("_save", ""),
            ])
            .await;
        assert_eq!(bad.status, 200);
        assert_eq!(bad.text(".errornote"), "Please correct the errors below.");
        let errors = |field: &str| bad.texts(&format!(".field-{field} .errorlist li"));
        assert_eq!(errors("title"), ["This field is required."]);
        assert_eq!(errors("slug"), ["Book with this Slug already exists."]);
        assert_eq!(errors("status"), ["Select a valid choice. XX is not one of the available choices."]);
        assert_eq!(errors("published"), ["Enter a valid date/time."]);
        assert_eq!(errors("pages"), ["Enter a whole number."]);
        assert_eq!(errors("price"), ["Enter a number."]);
        assert_eq!(errors("author_id"), ["Select a valid choice. That choice is not one of the available choices."]);
        assert_eq!(bad.attrs("#id_slug", "value"), ["taken"], "what was typed is kept");
        let precise = root.post_form("/admin/library/book/add/", &[("title", "T"), ("slug", "t"), ("status", "DF"), ("published", "2026-03-04T05:06"), ("price", "1.999")]).await;
        assert_eq!(precise.texts(".field-price .errorlist li"), ["Ensure that there are no more than 2 decimal places."]);
        assert_eq!(book::Entity::find().count(&site.core.db).await.unwrap(), 1);

        let author = ada.id.to_string();
        let saved = root
            .post_form("/admin/library/book/add/", &[
                ("title", "Café <Society>"), ("slug", "cafe-society"), ("status", "PB"), ("published", "2026-03-04T05:06"),
                ("in_print", "on"), ("pages", ""), ("price", "12.5"), ("author_id", &author), ("notes", ""), ("_continue", ""),
            ])
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let stored = book::Entity::find().filter(book::Column::Slug.eq("cafe-society")).one(&site.core.db).await.unwrap().unwrap();
        assert_eq!(saved.location(), Some(format!("/admin/library/book/{}/change/", stored.id).as_str()), "save and continue editing");
        assert_eq!((stored.title.as_str(), stored.in_print, stored.pages, stored.author_id), ("Café <Society>", true, None, Some(ada.id)));
        assert_eq!(stored.price, "12.5".parse().unwrap(), "12.5 and 12.50 are the same price");
        assert_eq!(stored.published, Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 0).unwrap());
        let page = root.get(saved.location().unwrap()).await;
        assert_eq!(page.messages(), ["The book “Café <Society>” was added successfully."]);
        assert_eq!(page.attrs("#id_published", "value"), ["2026-03-04T05:06:00"]);
        assert_eq!(page.text(".raw-id-name"), "ada");

        let index = root.get("/admin/").await;
        assert_eq!(index.texts(".actionlist li.addition a"), ["Café <Society>"]);
        let another = root.post_form("/admin/library/book/add/", &[
            ("title", "Second"), ("slug", "second"), ("status", "DF"), ("published", "2026-03-04T05:06"), ("price", "1"), ("_addanother", ""),
        ]).await;
        assert_eq!(another.location(), Some("/admin/library/book/add/"));
    }
}

dbtest! {
    using library_site();
    async fn changing_records_what_changed_and_needs_the_change_permission(site) {
        let id = add_book(&site, "Old Title", "DF", site.core.now(), None).await;
        let (root, root_user) = site.superuser_client("root").await;
        let url = format!("/admin/library/book/{id}/change/");
        let form = root.get(&url).await;
        assert_eq!(form.heading(), "Change book");
        let mut fields: Vec<(String, String)> = ["title", "slug", "status", "published", "pages", "price", "author_id", "notes"]
            .iter()
            .map(|name| {
                let value = form.attrs(&format!("[name={name}]"), "value").pop()
                    .or_else(|| form.attrs(&format!("[name={name}] option[selected]"), "value").pop())
                    .unwrap_or_else(|| form.text(&format!("textarea[name={name}]")));
                ((*name).to_owned(), value)
            })
            .collect();
        fields[0].1 = "New Title".into();
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let saved = root.post_form(&url, &pairs).await;
        assert_eq!((saved.status, saved.location()), (303, Some("/admin/library/book/")), "{}", saved.body);
        let entry = entry::Entity::find().filter(entry::Column::ObjectId.eq(id.to_string())).one(&site.core.db).await.unwrap().unwrap();
        assert_eq!((entry.user_id, entry.action_flag, entry.change_message.as_str()), (root_user.id, 2, "Changed title."));

        let (viewer, _) = site.staff_client("viewer", &["library.view_book"]).await;
        let view = viewer.get(&url).await;
        assert_eq!(view.status, 200);
        assert_eq!(view.heading(), "View book");
        assert!(view.texts("button[type=submit]").iter().all(|b| b == "Log out"), "no save buttons for a viewer");
        assert!(view.texts(".readonly").contains(&"New Title".to_owned()));
        let refused = viewer.post_form(&url, &pairs).await;
        assert_eq!(refused.status, 403);
        assert_eq!(viewer.get("/admin/library/book/add/").await.status, 403);
        assert_eq!(viewer.post_form("/admin/library/book/add/", &pairs).await.status, 403);
        assert_eq!(viewer.get(&format!("/admin/library/book/{id}/delete/")).await.status, 403);
        assert_eq!(viewer.post_form(&format!("/admin/library/book/{id}/delete/"), &[]).await.status, 403);
        assert_eq!(book::Entity::find_by_id(id).one(&site.core.db).await.unwrap().unwrap().title, "New Title");
        assert_eq!(root.get("/admin/library/book/999999/change/").await.status, 404);
        assert_eq!(root.get("/admin/library/book/not-a-number/change/").await.status, 404);
    }
}

dbtest! {
    using library_site();
    async fn deleting_asks_first_and_lists_what_goes_with_it(site) {
        let (root, _) = site.superuser_client("root").await;
        let author = site.create_user("writer", PASSWORD).await;
        add_book(&site, "Their Book", "PB", site.core.now(), Some(author.id)).await;
        let url = format!("/admin/accounts/user/{}/delete/", author.id);
        let confirm = root.get(&url).await;
        assert_eq!(confirm.heading(), "Are you sure?");
        let items = confirm.texts(".deleted-objects li li");
        assert!(items.contains(&"Books: Their Book".to_owned()), "{items:?}");
        assert!(items.iter().any(|i| i.starts_with("Profiles: ")), "{items:?}");
        let done = root.post_form(&url, &[("post", "yes")]).await;
        assert_eq!(done.location(), Some("/admin/accounts/user/"));
        assert!(user::Entity::find_by_id(author.id).one(&site.core.db).await.unwrap().is_none());
        assert_eq!(book::Entity::find().count(&site.core.db).await.unwrap(), 0, "the cascade went with it");
        let index = root.get("/admin/").await;
        assert!(index.texts(".actionlist li.deletion")[0].starts_with("writer"));
    }
}

dbtest! {
    using library_site();
    async fn users_are_added_with_a_password_and_get_permissions_through_groups(site) {
        let (root, _) = site.superuser_client("root").await;
        let add = root.get("/admin/accounts/user/add/").await;
        assert_eq!(add.attrs(".admin-form input[name]:not([type=hidden])", "name"), ["username", "password1", "password2"]);
        let mismatch = root.post_form("/admin/accounts/user/add/", &[("username", "newbie"), ("password1", "lilac-meadow-42"), ("password2", "other")]).await;
        assert_eq!(mismatch.texts(".field-password2 .errorlist li"), ["The two password fields didn’t match."]);
        let weak = root.post_form("/admin/accounts/user/add/", &[("username", "newbie"), ("password1", "12345678"), ("password2", "12345678")]).await;
        assert!(weak.texts(".field-password2 .errorlist li").contains(&"This password is entirely numeric.".to_owned()));
        let taken = root.post_form("/admin/accounts/user/add/", &[("username", "root"), ("password1", "lilac-meadow-42"), ("password2", "lilac-meadow-42")]).await;
        assert_eq!(taken.texts(".field-username .errorlist li"), ["User with this Username already exists."]);

        let created = root.post_form("/admin/accounts/user/add/", &[("username", "newbie"), ("password1", "lilac-meadow-42"), ("password2", "lilac-meadow-42")]).await;
        assert_eq!(created.status, 303, "{}", created.body);
        let newbie = user::Entity::find().filter(user::Column::Username.eq("newbie")).one(&site.core.db).await.unwrap().unwrap();
        assert!(newbie.password.starts_with("$argon2id$") && newbie.is_active && !newbie.is_staff);
        assert_eq!(created.location(), Some(format!("/admin/accounts/user/{}/change/", newbie.id).as_str()));
        let profiles = quartet_core::auth::models::profile::Entity::find()
            .filter(quartet_core::auth::models::profile::Column::UserId.eq(newbie.id)).count(&site.core.db).await.unwrap();
        assert_eq!(profiles, 1, "every user has a profile");

        // A group that may view books; the user joins it and becomes staff.
        let group = root.post_form("/admin/accounts/group/add/", &[("name", "Librarians"), ("permissions", "library.view_book")]).await;
        assert_eq!(group.status, 303, "{}", group.body);
        let change = root.get(&format!("/admin/accounts/user/{}/change/", newbie.id)).await;
        let group_id = change.attrs("#id_groups option", "value")[0].clone();
        assert!(change.texts("#id_user_permissions option").contains(&"Can view book".to_owned()));
        assert_eq!(change.attrs(".field-password a", "href"), [format!("/admin/accounts/user/{}/password/", newbie.id)]);
        let saved = root.post_form(&format!("/admin/accounts/user/{}/change/", newbie.id), &[
            ("username", "newbie"), ("first_name", "New"), ("last_name", ""), ("email", "newbie@example.com"),
            ("is_active", "on"), ("is_staff", "on"), ("groups", &group_id), ("password", "ignored"),
        ]).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let stored = user::Entity::find_by_id(newbie.id).one(&site.core.db).await.unwrap().unwrap();
        assert_eq!(stored.password, newbie.password, "the hash is never edited in the form");
        assert!(stored.is_staff);

        let member = site.client();
        assert_eq!(member.post_form("/admin/login/", &[("username", "newbie"), ("password", "lilac-meadow-42")]).await.status, 303);
        assert_eq!(member.get("/admin/library/book/").await.status, 200, "the group's permission applies");
        assert_eq!(member.get("/admin/library/book/add/").await.status, 403);

        // The admin sets a new password.
        let url = format!("/admin/accounts/user/{}/password/", newbie.id);
        assert_eq!(root.get(&url).await.heading(), "Change password: newbie");
        let done = root.post_form(&url, &[("password1", "amber-river-77"), ("password2", "amber-river-77")]).await;
        assert_eq!(done.status, 303);
        let again = site.client();
        assert_eq!(again.post_form("/admin/login/", &[("username", "newbie"), ("password", "amber-river-77")]).await.status, 303);
        let (plain, _) = site.staff_client("plain", &["accounts.view_user"]).await;
        assert_eq!(plain.get(&url).await.status, 403);
        assert_eq!(plain.post_form(&url, &[("password1", "x"), ("password2", "x")]).await.status, 403);

        // Help texts are shown; unticking "Active" deactivates the account, which can no longer sign in.
        let change_url = format!("/admin/accounts/user/{}/change/", newbie.id);
        let page = root.get(&change_url).await;
        assert_eq!(page.text(".field-is_active .help"), "Designates whether this user should be treated as active. Unselect this instead of deleting accounts.");
        let deactivated = root.post_form(&change_url, &[
            ("username", "newbie"), ("first_name", "New"), ("last_name", ""), ("email", "newbie@example.com"), ("is_staff", "on"),
        ]).await;
        assert_eq!(deactivated.status, 303, "{}", deactivated.body);
        assert!(!user::Entity::find_by_id(newbie.id).one(&site.core.db).await.unwrap().unwrap().is_active);
        let refused = site.client().post_form("/admin/login/", &[("username", "newbie"), ("password", "amber-river-77")]).await;
        assert_eq!(refused.status, 200, "an inactive user cannot sign in");
    }
}

dbtest! {
    using library_site();
    async fn list_editable_columns_are_saved_in_bulk(site) {
        let (root, root_user) = site.superuser_client("root").await;
        let now = site.core.now();
        let first = add_book(&site, "First", "DF", now, None).await;
        let second = add_book(&site, "Second", "DF", now - Duration::days(1), None).await;
        let list = root.get("/admin/library/book/").await;
        assert_eq!(list.attrs("#changelist-form input[type=hidden][name$=-id]", "value"), [first.to_string(), second.to_string()]);
        assert_eq!(list.attrs("#result_list select[name$=-status]", "name"), ["form-0-status", "form-1-status"]);

        // A bad choice on one row: nothing is saved, the page says why.
        let bad = root.post_form("/admin/library/book/", &[
            ("form-0-id", &first.to_string()), ("form-0-status", "PB"), ("form-0-in_print", "on"),
            ("form-1-id", &second.to_string()), ("form-1-status", "XX"), ("_save", "1"),
        ]).await;
        assert_eq!(bad.location(), Some("/admin/library/book/"));
        let page = root.get("/admin/library/book/").await;
        assert!(page.messages()[0].starts_with("Please correct the errors below."), "{:?}", page.messages());
        assert!(page.messages()[0].contains("Select a valid choice. XX is not one of the available choices."));
        assert_eq!(book::Entity::find_by_id(first).one(&site.core.db).await.unwrap().unwrap().status, "DF");

        let saved = root.post_form("/admin/library/book/", &[
            ("form-0-id", &first.to_string()), ("form-0-status", "PB"), ("form-0-in_print", "on"),
            ("form-1-id", &second.to_string()), ("form-1-status", "DF"), ("_save", "1"),
        ]).await;
        assert_eq!(saved.location(), Some("/admin/library/book/"));
        assert_eq!(root.get("/admin/library/book/").await.messages(), ["1 book was changed successfully."]);
        let stored = book::Entity::find_by_id(first).one(&site.core.db).await.unwrap().unwrap();
        assert_eq!((stored.status.as_str(), stored.in_print), ("PB", true));
        let entry = entry::Entity::find().filter(entry::Column::ObjectId.eq(first.to_string())).one(&site.core.db).await.unwrap().unwrap();
        assert_eq!((entry.user_id, entry.change_message.as_str()), (root_user.id, "Changed status and in print."));
        assert!(entry::Entity::find().filter(entry::Column::ObjectId.eq(second.to_string())).one(&site.core.db).await.unwrap().is_none(), "unchanged rows are not logged");

        let (viewer, _) = site.staff_client("viewer", &["library.view_book"]).await;
        assert!(viewer.get("/admin/library/book/").await.attrs("select[name$=-status]", "name").is_empty(), "viewers get text, not inputs");
        let refused = viewer.post_form("/admin/library/book/", &[("form-0-id", &first.to_string()), ("form-0-status", "DF"), ("_save", "1")]).await;
        assert_eq!(refused.status, 403);
        assert_eq!(book::Entity::find_by_id(first).one(&site.core.db).await.unwrap().unwrap().status, "PB");
    }
}

dbtest! {
    using library_site();
    async fn delete_selected_confirms_then_deletes_and_needs_the_delete_permission(site) {
        let (root, _) = site.superuser_client("root").await;
        let now = site.core.now();
        let keep = add_book(&site, "Keep Me", "PB", now, None).await;
        let a = add_book(&site, "Gone A", "DF", now, None).await;
        let b = add_book(&site, "Gone B", "DF", now, None).await;
        let list = root.get("/admin/library/book/").await;
        assert_eq!(list.attrs("select[name=action] option", "value"), ["", "delete_selected", "export_to_csv", "mark_published"]);
        assert_eq!(list.texts("select[name=action] option")[1], "Delete selected books");

        let none = root.post_form("/admin/library/book/", &[("action", "delete_selected")]).await;
        assert_eq!(none.location(), Some("/admin/library/book/"));
        assert_eq!(root.get("/admin/library/book/").await.messages(), ["Items must be selected in order to perform actions on them. No items have been changed."]);
        root.post_form("/admin/library/book/", &[("action", ""), ("_selected_action", &a.to_string())]).await;
        assert_eq!(root.get("/admin/library/book/").await.messages(), ["No action selected."]);

        let selection = [("action", "delete_selected"), ("_selected_action", &a.to_string()), ("_selected_action", &b.to_string())];
        let confirm = root.post_form("/admin/library/book/", &selection).await;
        assert_eq!((confirm.status, confirm.heading()), (200, "Are you sure?".to_owned()));
        assert_eq!(confirm.texts(".deleted-objects > li"), ["Gone A", "Gone B"]);
        assert_eq!(confirm.attrs("input[name=_selected_action]", "value"), [a.to_string(), b.to_string()]);
        assert_eq!(book::Entity::find().count(&site.core.db).await.unwrap(), 3, "nothing goes before the confirmation");

        let (viewer, _) = site.staff_client("viewer", &["library.view_book", "library.change_book"]).await;
        assert!(!viewer.get("/admin/library/book/").await.attrs("select[name=action] option", "value").contains(&"delete_selected".to_owned()));
        let mut confirmed = selection.to_vec();
        confirmed.push(("post", "yes"));
        assert_eq!(viewer.post_form("/admin/library/book/", &confirmed).await.status, 403);
        assert_eq!(book::Entity::find().count(&site.core.db).await.unwrap(), 3);

        let done = root.post_form("/admin/library/book/", &confirmed).await;
        assert_eq!(done.location(), Some("/admin/library/book/"));
        assert_eq!(root.get("/admin/library/book/").await.messages(), ["Successfully deleted 2 books."]);
        let left: Vec<i64> = book::Entity::find().all(&site.core.db).await.unwrap().into_iter().map(|b| b.id).collect();
        assert_eq!(left, [keep]);
        let deletions = entry::Entity::find().filter(entry::Column::ActionFlag.eq(3)).count(&site.core.db).await.unwrap();
        assert_eq!(deletions, 2);
        // Keys that are not numbers select nothing rather than failing.
        let odd = root.post_form("/admin/library/book/", &[("action", "delete_selected"), ("_selected_action", "x'; DROP")]).await;
        assert!(odd.status == 200 || odd.status == 303, "{}", odd.status);
    }
}

dbtest! {
    using library_site();
    async fn export_to_csv_writes_the_selected_rows(site) {
        let (root, ada) = site.superuser_client("ada").await;
        let when = Utc.with_ymd_and_hms(2026, 3, 7, 10, 30, 0).unwrap();
        let one = add_book(&site, "Rust, Safely", "PB", when, Some(ada.id)).await;
        let two = add_book(&site, "=HYPERLINK(1)", "DF", when, None).await;
        let csv = root.post_form("/admin/library/book/", &[("action", "export_to_csv"), ("_selected_action", &one.to_string()), ("_selected_action", &two.to_string())]).await;
        assert_eq!(csv.status, 200);
        assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
        assert_eq!(csv.header("content-disposition"), Some("attachment; filename=book.csv"));
        let lines: Vec<&str> = csv.body.lines().collect();
        assert_eq!(lines[0], "ID,title,slug,status,published,in print,pages,price,author,notes");
        assert_eq!(lines[1], format!("{one},\"Rust, Safely\",\"rust,-safely\",PB,07/03/2026,true,,9.50,ada,\"Notes about Rust, Safely\""));
        assert!(lines[2].starts_with(&format!("{two},'=HYPERLINK(1),")), "formulas are neutralised: {}", lines[2]);
        assert_eq!(lines.len(), 3);

        let (viewer, _) = site.staff_client("viewer", &["library.view_book"]).await;
        let allowed = viewer.post_form("/admin/library/book/", &[("action", "export_to_csv"), ("_selected_action", &one.to_string())]).await;
        assert_eq!(allowed.status, 200, "exporting needs only the view permission");
        let (nobody, _) = site.staff_client("nobody", &[]).await;
        assert_eq!(nobody.post_form("/admin/library/book/", &[("action", "export_to_csv"), ("_selected_action", &one.to_string())]).await.status, 403);
    }
}

dbtest! {
    using library_site();
    async fn the_raw_id_lookup_lists_rows_to_pick(site) {
        let (root, ada) = site.superuser_client("ada").await;
        let form = root.get("/admin/library/book/add/").await;
        assert_eq!(form.attrs("a.related-lookup", "data-lookup-for"), ["id_author_id"]);
        let popup = root.get("/admin/accounts/user/?_popup=1").await;
        assert_eq!(popup.status, 200);
        assert_eq!(popup.heading(), "Select user");
        assert_eq!(popup.attrs("body.popup", "class").len(), 1);
        assert_eq!(popup.attrs("a[data-popup-value]", "data-popup-value"), [ada.id.to_string()]);
        assert!(popup.attrs("select[name=action]", "name").is_empty(), "no actions in a lookup");
        assert!(popup.attrs("a.addlink", "href").is_empty());
        assert!(popup.attrs(".changelist-filter a", "href").iter().all(|h| h.contains("_popup=1")), "filters stay in the lookup");
        assert_eq!(popup.attrs("form.search input[name=_popup]", "value"), ["1"]);
    }
}

dbtest! {
    using library_site();
    async fn apps_add_pages_and_dashboards_inside_the_admin(site) {
        let id = add_book(&site, "Paged", "PB", site.core.now(), None).await;
        let url = format!("/library/admin/book/{id}/summary/");
        let visitor = site.client();
        assert_eq!(visitor.get(&url).await.location(), Some(format!("/admin/login/?next=%2Flibrary%2Fadmin%2Fbook%2F{id}%2Fsummary%2F").as_str()));
        site.create_user("member", PASSWORD).await;
        let member = site.client();
        member.login("member", PASSWORD).await;
        assert_eq!(member.get(&url).await.status, 303, "not staff: to the admin sign-in");

        let (plain, _) = site.staff_client("plain", &[]).await;
        assert_eq!(plain.get(&url).await.status, 403);
        assert_eq!(plain.get("/library/admin/stats/").await.status, 403);
        assert!(plain.get("/admin/").await.texts(".admin-page-link th").is_empty());

        let (viewer, _) = site.staff_client("viewer", &["library.view_book"]).await;
        let page = viewer.get(&url).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.heading(), "Book summary");
        assert_eq!(page.texts(".breadcrumbs a"), ["Home", "Library", "Books"]);
        assert_eq!(page.text(".breadcrumbs [aria-current=page]"), "Paged");
        assert_eq!(page.text(".summary"), "Paged (PB), 0 pages");
        assert_eq!(page.text(".admin-brand"), "Quartet administration", "inside the admin layout");
        assert_eq!(viewer.get("/library/admin/book/999/summary/").await.status, 404);
        let index = viewer.get("/admin/").await;
        assert_eq!(index.texts(".admin-page-link th"), ["Library statistics"], "superuser-only links are hidden");
        assert_eq!(index.attrs(".admin-page-link th a", "href"), ["/library/admin/stats/"]);
        let stats = viewer.get("/library/admin/stats/").await;
        assert_eq!((stats.heading(), stats.text(".summary")), ("Library statistics".to_owned(), "1 books".to_owned()));
        assert_eq!(stats.texts(".breadcrumbs a"), ["Home"]);

        let (root, _) = site.superuser_client("root").await;
        assert_eq!(root.get("/admin/").await.texts(".admin-page-link th"), ["Services", "Background jobs", "Library statistics", "Shelf audit"]);
    }
}

dbtest! {
    using library_site();
    async fn apps_add_their_own_actions(site) {
        let now = site.core.now();
        let a = add_book(&site, "Draft A", "DF", now, None).await;
        let b = add_book(&site, "Draft B", "DF", now, None).await;
        let untouched = add_book(&site, "Draft C", "DF", now, None).await;
        let selection = [("action", "mark_published"), ("_selected_action", &a.to_string()), ("_selected_action", &b.to_string())];
        let (viewer, _) = site.staff_client("viewer", &["library.view_book"]).await;
        assert!(!viewer.get("/admin/library/book/").await.attrs("select[name=action] option", "value").contains(&"mark_published".to_owned()), "it needs the change permission");
        assert_eq!(viewer.post_form("/admin/library/book/", &selection).await.status, 403);
        let (root, _) = site.superuser_client("root").await;
        let done = root.post_form("/admin/library/book/", &selection).await;
        assert_eq!(done.location(), Some("/admin/library/book/"));
        assert_eq!(root.get("/admin/library/book/").await.messages(), ["2 books marked as published."]);
        let statuses: Vec<(i64, String)> = book::Entity::find().order_by_asc(book::Column::Id).all(&site.core.db).await.unwrap().into_iter().map(|b| (b.id, b.status)).collect();
        assert_eq!(statuses, [(a, "PB".to_owned()), (b, "PB".to_owned()), (untouched, "DF".to_owned())]);
        let unknown = root.post_form("/admin/library/book/", &[("action", "no_such_action"), ("_selected_action", &a.to_string())]).await;
        assert_eq!(unknown.location(), Some("/admin/library/book/"));
        assert_eq!(root.get("/admin/library/book/").await.messages(), ["No action selected."]);
    }
}

dbtest! {
    using library_site().settings(|s| s.auth.login_failures_per_account_per_hour = 3);
    async fn the_admin_sign_in_shares_the_brute_force_limit_and_rotates_the_session(site) {
        site.create(NewUser { username: "boss".into(), email: "boss@example.com".into(), password: Some(PASSWORD.into()), is_staff: true, ..NewUser::default() }).await;
        let client = site.client();
        for _ in 0..3 {
            let wrong = client.post_form("/admin/login/", &[("username", "boss"), ("password", "not-it")]).await;
            assert_eq!(wrong.status, 200);
        }
        let blocked = client.post_form("/admin/login/", &[("username", "boss"), ("password", PASSWORD)]).await;
        assert_eq!(blocked.status, 429, "the fourth try is refused, even with the right password");

        let other = site.client();
        other.get("/admin/login/").await;
        let before = other.cookie("sessionid");
        site.create(NewUser { username: "chief".into(), email: "chief@example.com".into(), password: Some(PASSWORD.into()), is_staff: true, ..NewUser::default() }).await;
        let signed_in = other.post_form("/admin/login/", &[("username", "chief"), ("password", PASSWORD)]).await;
        assert_eq!(signed_in.status, 303);
        assert_ne!(other.cookie("sessionid"), before, "a new session key at sign-in");
        assert_eq!(other.get("/admin/").await.status, 200);
    }
}
