//! The blog's migrated tables match its entities on SQLite and PostgreSQL.

use quartet_testkit::{dbtest, schema_mismatches};

use crate::support::blog_site;

dbtest! { using blog_site();
    async fn every_blog_table_matches_its_entity(site) {
        let blog = site.core.registry.models.iter().filter(|m| m.label().starts_with("blog.")).count();
        assert!(blog >= 4, "the blog's models are checked: {blog}");
        // The PostgreSQL search index column is the database's own (docs/BLOG.md, search).
        let problems = schema_mismatches(&site.core, &["blog_post.search_vector"]).await;
        assert!(problems.is_empty(), "the schema differs from the entities:\n{}", problems.join("\n"));
    }
}
