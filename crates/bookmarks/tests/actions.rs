//! `create_action`: the verbs of the stream, targets of any model, and the 60-second
//! de-duplication of the reference.

use chrono::{Duration, TimeZone, Utc};
use quartet_bookmarks::actions::{Target, create_action};
use quartet_bookmarks::models::{action, verbs};
use quartet_core::models::content_types;
use quartet_testkit::dbtest;
use sea_orm::{EntityTrait, PaginatorTrait, QueryOrder};

use crate::support::bookmarks_site;

dbtest! { using bookmarks_site();
    async fn an_action_repeated_within_a_minute_is_recorded_once(site) {
        let db = &site.core.db;
        let ana = site.create_user("ana", "correct-horse-battery").await;
        let ben = site.create_user("ben", "correct-horse-battery").await;
        let t0 = Utc.with_ymd_and_hms(2026, 3, 7, 10, 0, 0).unwrap();
        let image = Target { label: "bookmarks.image", id: 7 };

        assert!(create_action(db, t0, ana.id, verbs::LIKES, Some(image)).await.unwrap());
        // The same within 60 s: nothing; another target, verb or user: recorded.
        assert!(!create_action(db, t0 + Duration::seconds(59), ana.id, verbs::LIKES, Some(image)).await.unwrap());
        assert!(create_action(db, t0 + Duration::seconds(1), ana.id, verbs::LIKES, Some(Target { id: 8, ..image })).await.unwrap());
        assert!(create_action(db, t0 + Duration::seconds(1), ben.id, verbs::LIKES, Some(image)).await.unwrap());
        let user = Target { label: "accounts.user", id: ben.id };
        assert!(create_action(db, t0 + Duration::seconds(2), ana.id, verbs::FOLLOWING, Some(user)).await.unwrap());
        // After the minute: recorded again.
        assert!(create_action(db, t0 + Duration::seconds(61), ana.id, verbs::LIKES, Some(image)).await.unwrap());
        // Without a target, the verb alone is compared.
        assert!(create_action(db, t0, ben.id, verbs::REGISTERED, None).await.unwrap());
        assert!(!create_action(db, t0 + Duration::seconds(30), ben.id, verbs::REGISTERED, None).await.unwrap());

        assert_eq!(action::Entity::find().count(db).await.unwrap(), 6);
        let rows = action::Entity::find().order_by_asc(action::Column::Id).all(db).await.unwrap();
        let image_ct = content_types::id_of(db, "bookmarks.image").await.unwrap();
        let user_ct = content_types::id_of(db, "accounts.user").await.unwrap();
        assert_eq!((rows[0].target_ct_id, rows[0].target_id), (Some(image_ct), Some(7)));
        assert_eq!((rows[3].verb.as_str(), rows[3].target_ct_id, rows[3].target_id), (verbs::FOLLOWING, Some(user_ct), Some(ben.id)));
        assert_eq!((rows[5].target_ct_id, rows[5].target_id), (None, None));
    }
}
