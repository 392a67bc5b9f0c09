//! The migrated schema matches the entities of every registered model (the built-in apps and
//! the test apps), on SQLite and PostgreSQL: a migration that forgets a column, makes one
//! nullable or shortens it fails here instead of at the first write.

use quartet_testkit::{dbtest, schema_mismatches};
use sea_orm::ConnectionTrait;

use crate::library::library_site;

dbtest! {
    using library_site().app(crate::support::ProbeApp);
    async fn every_models_table_matches_its_entity(site) {
        assert!(site.core.registry.models.len() >= 8, "the check covers the models: {}", site.core.registry.models.len());
        let problems = schema_mismatches(&site.core, &[]).await;
        assert!(problems.is_empty(), "the schema differs from the entities:\n{}", problems.join("\n"));
        // The check reads the database: a column the entity does not know is reported.
        site.core.db.execute_unprepared("ALTER TABLE library_book ADD COLUMN stray INTEGER").await.unwrap();
        assert_eq!(
            schema_mismatches(&site.core, &[]).await,
            ["library_book.stray: in the table, not declared by the entity"]
        );
        assert!(schema_mismatches(&site.core, &["library_book.stray"]).await.is_empty());
    }
}
