//! Search: ranked, with snippets, paginated, forgiving typos — on both databases.

use quartet_testkit::dbtest;

use crate::support::{NewPost, add_post, at, blog_site};

fn result_titles(page: &quartet_testkit::TestResponse) -> Vec<String> {
    page.texts(".search-result h4")
}

dbtest! { using blog_site();
    async fn search_ranks_title_matches_first_and_marks_the_words(site) {
        add_post(&site, NewPost::published("Gardening notes", at(5)).body("Tomatoes like sun. Django is mentioned once here.")).await;
        add_post(&site, NewPost::published("Django for beginners", at(0)).body("Install it and write views.")).await;
        add_post(&site, NewPost::published("Cooking", at(1)).body("Nothing about web frameworks.")).await;
        add_post(&site, NewPost::published("Django secrets", at(2)).body("Draft only").draft()).await;
        let client = site.client();

        let page = client.get("/blog/search/?query=django").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.heading(), "Posts containing \"django\"");
        assert_eq!(page.text(".result-count"), "Found 2 results");
        assert_eq!(result_titles(&page), ["Django for beginners", "Gardening notes"]);
        assert!(page.body.contains("<mark>Django</mark> for beginners"), "{}", page.body);
        let snippets = page.texts(".snippet");
        assert!(snippets[1].contains("Django is mentioned"), "{snippets:?}");
        assert!(page.body.contains("<mark>Django</mark> is mentioned"));

        // Stemming: "mentions" finds "mentioned".
        let page = client.get("/blog/search/?query=mentions").await;
        assert_eq!(result_titles(&page), ["Gardening notes"]);

        let page = client.get("/blog/search/?query=quantum").await;
        assert_eq!(page.text(".result-count"), "Found 0 results");
        assert_eq!(page.text(".empty"), "There are no results for your query.");
        assert_eq!(page.attrs(".blog-main p a", "href"), ["/blog/search/"]);
    }
}

dbtest! { using blog_site();
    async fn a_misspelt_query_still_finds_the_post(site) {
        add_post(&site, NewPost::published("Django for beginners", at(0)).body("Views and templates.")).await;
        add_post(&site, NewPost::published("Mango smoothies", at(1)).body("Fruit.")).await;
        add_post(&site, NewPost::published("Recommendation engines", at(2)).body("Sorted sets.")).await;
        let client = site.client();

        let page = client.get("/blog/search/?query=djnago").await;
        assert_eq!(result_titles(&page), ["Django for beginners"]);
        let page = client.get("/blog/search/?query=recomendation").await;
        assert_eq!(result_titles(&page), ["Recommendation engines"]);
        let page = client.get("/blog/search/?query=Djangoo%20beginers").await;
        assert_eq!(result_titles(&page), ["Django for beginners"]);
    }
}

dbtest! { using blog_site();
    async fn search_results_are_paginated_and_odd_queries_are_harmless(site) {
        for i in 0..12 {
            add_post(&site, NewPost::published(&format!("Rust tip {i}"), at(i)).body("Ownership and borrowing.")).await;
        }
        let client = site.client();
        let page = client.get("/blog/search/?query=rust").await;
        assert_eq!(page.text(".result-count"), "Found 12 results");
        assert_eq!(page.texts(".search-result").len(), 10);
        assert_eq!(page.attrs(".pagination a[rel=next]", "href"), ["?query=rust&page=2"]);
        let page = client.get("/blog/search/?query=rust&page=2").await;
        assert_eq!(page.texts(".search-result").len(), 2);
        let page = client.get("/blog/search/?query=rust&page=zzz").await;
        assert_eq!(page.texts(".search-result").len(), 10);

        // No query: the form. An empty query: the form with its error.
        let page = client.get("/blog/search/").await;
        assert_eq!(page.heading(), "Search for posts");
        assert!(page.form_errors().is_empty());
        let page = client.get("/blog/search/?query=++").await;
        assert_eq!(page.form_errors(), ["This field is required."]);
        let page = client.get("/blog/search/?query=rust%00").await;
        assert_eq!(page.status, 200);
        assert_eq!(page.form_errors(), ["Null characters are not allowed."]);

        // Query syntax of either engine is text to us.
        let long = "a".repeat(5000);
        for query in ["\"", "rust\"", "NEAR(", "a OR", "*", "-rust", "'; DROP TABLE blog_post; --", "%", "_", long.as_str(), "ümlaut ñ 日本", "rust\u{1}\u{7f}"] {
            let path = format!("/blog/search/?query={}", percent_encode(query));
            let page = client.get(&path).await;
            assert_eq!(page.status, 200, "{query}");
        }
        assert_eq!(quartet_blog::queries::count_published(&site.core.db, None).await.unwrap(), 12);
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The deepest nesting of parentheses in `sql`, outside string literals.
fn nesting(sql: &str) -> usize {
    let (mut depth, mut deepest, mut quoted) = (0usize, 0usize, false);
    for c in sql.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' if !quoted => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

async fn rows(site: &quartet_testkit::TestSite, sql: &str) -> Vec<sea_orm::QueryResult> {
    use sea_orm::ConnectionTrait;
    let db = &site.core.db;
    db.query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_schema_nests_little_enough_for_older_sqlite_to_open_it() {
    // SQLite before 3.46 (Debian 12's sqlite3 and Python's sqlite3 module) refuses a whole
    // database whose schema nests ~30 calls deep: "parser stack overflow". The search triggers
    // once nested 37.
    let site = blog_site().start(quartet_testkit::Backend::Sqlite).await;
    let schema = rows(&site, "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").await;
    assert!(schema.len() > 10, "the schema is read");
    for row in &schema {
        let (name, sql): (String, String) = (row.try_get("", "name").unwrap(), row.try_get("", "sql").unwrap());
        assert!(nesting(&sql) <= 12, "{name} nests {} deep: {sql}", nesting(&sql));
    }
    assert_eq!(nesting("replace(replace('(', ')', ''), 'a', 'b')"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trigram_words_are_written_on_insert_and_rewritten_on_update() {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
    let site = blog_site().start(quartet_testkit::Backend::Sqlite).await;
    let breaks: String = quartet_blog::migrations::WORD_BREAKS.iter().collect();
    let post = add_post(&site, NewPost::published(&format!("Alpha{breaks}BETA gamma"), at(0))).await;
    let words = |id: i64| {
        let site = &site;
        async move {
            let found = rows(site, &format!("SELECT words FROM blog_post_trigram WHERE rowid = {id}")).await;
            found.first().map(|row| row.try_get::<String>("", "words").unwrap())
        }
    };
    let written = words(post.id).await.expect("the insert trigger wrote the words");
    assert!(written.starts_with("  alpha ") && written.ends_with("   gamma "), "{written:?}");
    assert!(written.contains(" beta "), "{written:?}");
    assert!(written.chars().all(|c| c == ' ' || c.is_ascii_lowercase()), "no break is left: {written:?}");

    let mut changed = post.clone().into_active_model();
    changed.title = Set("Mango smoothies".to_owned());
    let changed = changed.update(&site.core.db).await.unwrap();
    assert_eq!(words(changed.id).await.as_deref(), Some("  mango   smoothies "));
    // No bump: the committed update made the cached search stale.
    let page = site.client().get("/blog/search/?query=mangoo").await;
    assert_eq!(result_titles(&page), ["Mango smoothies"]);
    let page = site.client().get("/blog/search/?query=alpah").await;
    assert!(result_titles(&page).is_empty(), "the old title's words are gone");
}
