//! Posts and comments in the admin (reference §1.8): columns, filters with facets, search,
//! tags typed as text, one slug per publish date, comment moderation.

use quartet_blog::models::{post, tag, tagged_post};
use quartet_testkit::dbtest;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{NewPost, add_comment, add_post, at, author, blog_site};

fn post_form<'a>(
    title: &'a str,
    slug: &'a str,
    author: &'a str,
    publish: &'a str,
    tags: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("title", title),
        ("slug", slug),
        ("author_id", author),
        ("body", "Some **Markdown**."),
        ("publish", publish),
        ("status", "PB"),
        ("tags", tags),
    ]
}

dbtest! { using blog_site();
    async fn staff_write_posts_with_tags_and_one_slug_per_publish_date(site) {
        let client = site.superuser_client("boss").await.0;
        let writer = author(&site).await.to_string();

        let form = client.get("/admin/blog/post/add/").await;
        assert_eq!(form.status, 200);
        assert_eq!(form.attrs("select[name=status] option[selected]", "value"), ["DF"]);
        assert_eq!(form.attrs("input[name=tags]", "type"), ["text"]);
        assert!(form.body.contains("A comma-separated list of tags."));
        assert_eq!(form.attrs("input[name=slug]", "data-prepopulate-from"), ["id_title"]);

        let page = client
            .post_form("/admin/blog/post/add/", &post_form("Hello", "hello", &writer, "2026-03-07T10:00", "Rust, web dev"))
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let saved = post::Entity::find().filter(post::Column::Slug.eq("hello")).one(&site.core.db).await.unwrap().unwrap();
        let tags: Vec<String> = tagged_post::Entity::find()
            .find_also_related(tag::Entity)
            .filter(tagged_post::Column::PostId.eq(saved.id))
            .all(&site.core.db)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|(_, t)| t.map(|t| format!("{}={}", t.name, t.slug)))
            .collect();
        assert_eq!(tags.len(), 2);
        assert!(tags.contains(&"Rust=rust".to_owned()) && tags.contains(&"web dev=web-dev".to_owned()), "{tags:?}");
        assert_eq!(site.client().get("/blog/2026/3/7/hello/").await.heading(), "Hello");

        // Null characters are refused, not sent to the database.
        let page = client
            .post_form("/admin/blog/post/add/", &post_form("Nul\0l", "nul", &writer, "2026-03-09T10:00", "a\0b"))
            .await;
        assert_eq!(page.status, 200);
        assert_eq!(
            page.form_errors(),
            ["Please correct the errors below.", "Null characters are not allowed.", "Null characters are not allowed."]
        );

        // The same slug on the same date is refused, with Django's message; another date is fine.
        let page = client
            .post_form("/admin/blog/post/add/", &post_form("Hello again", "hello", &writer, "2026-03-07T23:59", ""))
            .await;
        assert_eq!(page.status, 200);
        assert_eq!(page.form_errors(), ["Please correct the errors below.", "Slug must be unique for Publish date."]);
        let page = client
            .post_form("/admin/blog/post/add/", &post_form("Hello again", "hello", &writer, "2026-03-08T00:00", "rust"))
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(tag::Entity::find().count(&site.core.db).await.unwrap(), 2, "an existing tag is reused");

        // The change form shows the tags as text; changing them is recorded.
        let change = format!("/admin/blog/post/{}/change/", saved.id);
        let form = client.get(&change).await;
        assert_eq!(form.attrs("input[name=tags]", "value"), ["Rust, web dev"]);
        let page = client.post_form(&change, &post_form("Hello", "hello", &writer, "2026-03-07T10:00", "Rust")).await;
        assert_eq!(page.status, 303, "{}", page.body);
        let messages: Vec<String> = quartet_core::admin::log::entry::Entity::find()
            .all(&site.core.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.change_message)
            .collect();
        assert_eq!(messages.last().map(String::as_str), Some("Changed tags."), "{messages:?}");
        // Editing a post keeps its own slug valid on its own date.
        let page = client.post_form(&change, &post_form("Hello!", "hello", &writer, "2026-03-07T11:00", "Rust")).await;
        assert_eq!(page.status, 303, "{}", page.body);
    }
}

dbtest! { using blog_site();
    async fn the_post_list_has_the_reference_columns_filters_and_search(site) {
        let client = site.superuser_client("boss").await.0;
        add_post(&site, NewPost::published("Alpha", at(0)).body("about rust")).await;
        add_post(&site, NewPost::published("Beta", at(1))).await;
        add_post(&site, NewPost::published("Gamma", at(2)).draft()).await;

        let page = client.get("/admin/blog/post/").await;
        assert_eq!(page.status, 200);
        let headers = page.texts("#result_list thead th");
        for column in ["Title", "Slug", "Author", "Publish", "Status"] {
            assert!(headers.iter().any(|h| h.starts_with(column)), "{column} in {headers:?}");
        }
        // Ordered by status, then publish: drafts ("DF") first.
        let rows = page.texts("#result_list tbody th a");
        assert_eq!(rows.first().map(String::as_str), Some("Gamma"), "{rows:?}");
        let filters = page.texts(".changelist-filter li");
        for facet in ["Draft (1)", "Published (2)", "writer (3)"] {
            assert!(filters.iter().any(|f| f == facet), "{facet} in {filters:?}");
        }
        assert_eq!(page.texts(".date-hierarchy a"), ["2026"]);

        let found = client.get("/admin/blog/post/?q=rust").await;
        assert!(found.body.contains("Alpha") && !found.body.contains(">Beta<"), "{}", found.body);
        let drafts = client.get("/admin/blog/post/?status__exact=DF").await;
        assert!(drafts.body.contains("Gamma") && !drafts.body.contains(">Alpha<"));
    }
}

dbtest! { using blog_site();
    async fn comments_are_moderated_in_the_admin(site) {
        let client = site.superuser_client("boss").await.0;
        let post = add_post(&site, NewPost::published("Talked about", at(0))).await;
        let good = add_comment(&site, post.id, "Ann", "Kind words", true).await;
        let bad = add_comment(&site, post.id, "Troll", "Rude words", true).await;

        let page = client.get("/admin/blog/comment/").await;
        let headers = page.texts("#result_list thead th");
        for column in ["Name", "Email", "Post", "Created", "Active"] {
            assert!(headers.iter().any(|h| h.starts_with(column)), "{column} in {headers:?}");
        }
        let filters = page.texts(".changelist-filter summary");
        assert_eq!(filters, ["By active", "By created", "By updated"]);

        let page = client
            .post_form("/admin/blog/comment/", &[("action", "hide_comments"), ("_selected_action", &bad.id.to_string())])
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let list = client.get("/admin/blog/comment/").await;
        assert_eq!(list.messages(), ["1 comment was hidden."]);
        let detail = site.client().get(&post.path(&site.core)).await;
        assert!(!detail.body.contains("Rude words"));
        assert!(detail.body.contains("Kind words"));
        assert_eq!(detail.text(".comments h2"), "1 comment");

        client
            .post_form("/admin/blog/comment/", &[("action", "approve_comments"), ("_selected_action", &bad.id.to_string())])
            .await;
        assert!(site.client().get(&post.path(&site.core)).await.body.contains("Rude words"));
        let search = client.get("/admin/blog/comment/?q=kind").await;
        assert!(search.body.contains(&format!("/admin/blog/comment/{}/change/", good.id)));
        assert!(!search.body.contains(&format!("/admin/blog/comment/{}/change/", bad.id)));
    }
}

dbtest! { using blog_site();
    async fn the_add_page_asks_for_what_staff_fill_and_says_what_is_missing(site) {
        let client = site.superuser_client("boss").await.0;
        let form = client.get("/admin/blog/post/add/").await;
        // A required reference starts unchosen, never as id 0.
        assert_eq!(form.attrs("input[name=author_id]", "value"), [""], "{}", form.body);
        // Fields the model sets itself are not on the add page.
        assert!(form.texts(".field-created, .field-updated").is_empty(), "created/updated shown on the add page");
        assert!(!form.body.contains("name=\"created\"") && !form.body.contains(">Created<"), "{}", form.body);
        let page = client
            .post_form("/admin/blog/post/add/", &post_form("Hello", "hello", "", "2026-03-07T10:00", ""))
            .await;
        assert_eq!(page.status, 200);
        assert!(page.form_errors().contains(&"This field is required.".to_owned()), "{:?}", page.form_errors());
        assert!(!page.body.contains("Select a valid choice"), "{:?}", page.form_errors());
    }
}

dbtest! { using blog_site();
    async fn a_post_has_its_history_a_view_on_site_link_and_exports(site) {
        let client = site.superuser_client("boss").await.0;
        let writer = author(&site).await.to_string();
        client
            .post_form("/admin/blog/post/add/", &post_form("Hello", "hello", &writer, "2026-03-07T10:00", "Rust"))
            .await;
        let saved = post::Entity::find().filter(post::Column::Slug.eq("hello")).one(&site.core.db).await.unwrap().unwrap();
        let change = format!("/admin/blog/post/{}/change/", saved.id);
        let mut form: Vec<(&str, &str)> = post_form("Hello again", "hello", &writer, "2026-03-07T10:00", "Rust");
        form.push(("_save", "1"));
        assert_eq!(client.post_form(&change, &form).await.status, 303);

        let page = client.get(&change).await;
        assert_eq!(page.attrs("a.viewsitelink", "href"), ["/blog/2026/3/7/hello/"]);
        let history_url = format!("/admin/blog/post/{}/history/", saved.id);
        assert_eq!(page.attrs("a.historylink", "href"), std::slice::from_ref(&history_url));
        let history = client.get(&history_url).await;
        assert_eq!(history.status, 200);
        assert_eq!(history.heading(), "Change history: Hello again");
        let actions = history.texts("#change-history tbody td:last-child");
        assert_eq!(actions, ["Added.", "Changed title."], "{}", history.body);
        assert_eq!(history.texts("#change-history tbody td:nth-child(2)")[0], "boss");
        assert_eq!(site.client().get(&history_url).await.status, 303, "anonymous visitors sign in first");

        // A draft has no public page.
        let mut draft = post_form("Hello again", "hello", &writer, "2026-03-07T10:00", "Rust");
        draft[5] = ("status", "DF");
        client.post_form(&change, &draft).await;
        assert!(client.get(&change).await.attrs("a.viewsitelink", "href").is_empty());

        // Posts, comments and users can be exported; a user's password hash never is.
        add_comment(&site, saved.id, "Ann", "Hi", true).await;
        for list in ["/admin/blog/post/", "/admin/blog/comment/", "/admin/accounts/user/"] {
            let page = client.get(list).await;
            assert_eq!(page.attrs("select[name=action] option[value=export_to_csv]", "value").len(), 1, "{list}");
        }
        let users = client.get("/admin/accounts/user/").await;
        let ids = users.attrs("input.action-select", "value");
        let mut selection: Vec<(&str, &str)> = vec![("action", "export_to_csv")];
        selection.extend(ids.iter().map(|id| ("_selected_action", id.as_str())));
        let csv = client.post_form("/admin/accounts/user/", &selection).await;
        assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
        assert!(csv.body.starts_with("ID,last login,is superuser,username"), "{}", csv.body);
        assert!(!csv.body.contains("argon2") && !csv.body.contains("password"), "{}", csv.body);
    }
}

dbtest! { using blog_site();
    async fn a_viewer_sees_view_links_and_the_names_of_what_rows_point_to(site) {
        use quartet_core::auth::models::{user, user_permission};
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        let post = add_post(&site, NewPost::published("Read only", at(0))).await;
        let comment = add_comment(&site, post.id, "Amy", "A comment.", true).await;
        let (client, viewer) = site.signed_in_client("viewer").await;
        let mut staff: user::ActiveModel = viewer.clone().into();
        staff.is_staff = Set(true);
        staff.update(&site.core.db).await.unwrap();
        user_permission::ActiveModel { user_id: Set(viewer.id), permission_id: Set("blog.view_comment".into()), ..Default::default() }
            .insert(&site.core.db)
            .await
            .unwrap();
        let index = client.get("/admin/").await;
        assert_eq!(index.texts("table.module td a").iter().filter(|t| *t == "View").count(), 1, "{}", index.body);
        assert!(!index.texts("table.module td a").contains(&"Change".to_owned()), "{:?}", index.texts("table.module td a"));
        let page = client.get(&format!("/admin/blog/comment/{}/change/", comment.id)).await;
        assert_eq!(page.heading(), "View comment");
        let post_row = page.text(".field-post_id .readonly");
        assert_eq!(post_row, "Read only", "the post by its title, not its id");
        // Spanish agrees in gender with every model name.
        let admin = site.superuser_client("boss").await.0;
        admin.set_cookie("quartet_language", "es");
        let list = admin.get("/admin/blog/post/").await;
        assert!(list.texts("select[name=action] option").contains(&"Eliminar la selección de entradas".to_owned()), "{:?}", list.texts("select[name=action] option"));
    }
}
