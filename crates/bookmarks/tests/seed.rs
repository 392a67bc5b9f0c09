//! `quartet seed` for the bookmarks: photos, drawn images stored like bookmarked ones, likes
//! (with their counts), follows, actions and view counts; a second run adds nothing.

use quartet_bookmarks::models::{action, contact, image, like, verbs};
use quartet_core::app::SeedOptions;
use quartet_core::auth::models::profile;
use quartet_testkit::dbtest;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::bookmarks_site;

dbtest! { using bookmarks_site();
    async fn quartet_seed_makes_a_living_bookmarks_site(site) {
        let options = SeedOptions { sizes: vec![("images".into(), 6), ("image-views".into(), 12)] };
        let report = quartet_core::core_app::seed_all(&site.core, &options).await.unwrap();
        assert!(report.created().iter().any(|l| l == "6 bookmarked images"), "{report:?}");
        let db = &site.core.db;
        let images = image::Entity::find().all(db).await.unwrap();
        assert_eq!(images.len(), 6);
        for row in &images {
            assert!(site.core.settings.media_root().join(&row.image).is_file(), "{}", row.image);
            let likes = like::Entity::find().filter(like::Column::ImageId.eq(row.id)).count(db).await.unwrap();
            assert_eq!(u64::try_from(row.total_likes).unwrap(), likes, "the kept count");
        }
        assert!(like::Entity::find().count(db).await.unwrap() > 0);
        let users = quartet_core::auth::models::user::Entity::find().count(db).await.unwrap().min(4);
        assert_eq!(contact::Entity::find().count(db).await.unwrap(), users);
        let bookmarked = action::Entity::find().filter(action::Column::Verb.eq(verbs::BOOKMARKED)).count(db).await.unwrap();
        assert_eq!(bookmarked, 6);
        let photos = profile::Entity::find().filter(profile::Column::Photo.ne("")).count(db).await.unwrap();
        assert_eq!(photos, users, "every seeded user has a photo");
        // The newest image is viewed most, and ranks first.
        let newest = images.iter().max_by_key(|i| i.created).unwrap();
        assert_eq!(site.core.kv.get(&format!("image:{}:views", newest.id)).await.unwrap(), 12);
        assert_eq!(site.core.kv.ztop("image_ranking", 1).await.unwrap()[0].0, newest.id.to_string());
        // The pages show it.
        let (client, _) = site.signed_in_client("visitor").await;
        assert_eq!(client.get("/images/").await.texts(".image").len(), 6);
        assert_eq!(client.get("/images/ranking/").await.texts(".ranking li").len(), 6);

        let again = quartet_core::core_app::seed_all(&site.core, &options).await.unwrap();
        assert!(again.notes().iter().any(|n| n.contains("already have images")), "{again:?}");
        assert_eq!(image::Entity::find().count(db).await.unwrap(), 6);
    }
}
