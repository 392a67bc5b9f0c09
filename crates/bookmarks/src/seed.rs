//! Demo and benchmark data of the bookmarks: `quartet seed` makes a photo for each of the
//! first users, images drawn by the seeder (stored like bookmarked ones: re-encoded under a
//! name of our own), likes, follows, the actions they would have recorded, and view counts
//! with the ranking. `quartet seed --images N` sizes it. The pictures and choices come from a
//! fixed seed, so two runs with the same sizes make the same site.

use chrono::Duration;
use quartet_kernel::app::{CoreState, SeedDice as Dice, SeedOptions, SeedReport, SeedSize};
use quartet_kernel::auth::models::{profile, user};
use quartet_kernel::forms::slugify;
use quartet_kernel::media;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::actions::{Target, create_action};
use crate::models::{contact, image, like, verbs};
use crate::people::USER_LABEL;
use crate::views::IMAGE_LABEL;

/// The sizes `quartet seed` takes for the bookmarks.
pub const SIZES: &[SeedSize] = &[
    SeedSize {
        name: "images",
        help: "bookmarked images, drawn by the seeder, one every five hours back from now",
        default: 12,
    },
    SeedSize {
        name: "image-views",
        help: "views counted for the most viewed image (fewer for the others)",
        default: 40,
    },
];

const SUBJECTS: &[&str] = &[
    "Sunset over the bay",
    "Mountain lake",
    "City lights",
    "Autumn forest",
    "Desert dunes",
    "Old harbour",
    "Spring garden",
    "Winter village",
    "Coral reef",
    "Rolling hills",
    "Lighthouse at dawn",
    "Rainy street",
];

/// A 480×360 picture: two colour bands and a sun, from `dice`.
fn picture(dice: &mut Dice, width: u32, height: u32) -> Vec<u8> {
    let colour = |dice: &mut Dice| [dice.below(200) as u8 + 30, dice.below(200) as u8 + 30, dice.below(200) as u8 + 30];
    let (sky, ground, sun) = (colour(dice), colour(dice), colour(dice));
    let horizon = height / 2 + dice.below((height / 4) as usize) as u32;
    let (cx, cy, r) = (dice.below(width as usize) as i64, (horizon / 2) as i64, (height / 8) as i64);
    let pixels = ::image::RgbImage::from_fn(width, height, |x, y| {
        let (dx, dy) = (i64::from(x) - cx, i64::from(y) - cy);
        if dx * dx + dy * dy < r * r {
            ::image::Rgb(sun)
        } else if y < horizon {
            let shade = (y * 60 / horizon.max(1)) as u8;
            ::image::Rgb(sky.map(|c| c.saturating_add(shade)))
        } else {
            ::image::Rgb(ground)
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    // Encoding an in-memory RGB image as PNG does not fail.
    let _ = pixels.write_to(&mut out, ::image::ImageFormat::Png);
    out.into_inner()
}

/// Seeds the bookmarks (nothing when there are images already).
pub async fn seed(core: &CoreState, options: &SeedOptions) -> anyhow::Result<SeedReport> {
    let mut report = SeedReport::default();
    if image::Entity::find().count(&core.db).await? > 0 {
        report.notes.push("The bookmarks already have images; no bookmarks data was added.".into());
        return Ok(report);
    }
    let images = options.size("images", 12) as usize;
    let top_views = options.size("image-views", 40);
    let users: Vec<i64> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::IsActive.eq(true))
        .order_by_asc(user::Column::Id)
        .limit(4)
        .into_tuple()
        .all(&core.db)
        .await?;
    if users.is_empty() {
        anyhow::bail!("there is no user to bookmark images; create one with `quartet createsuperuser`");
    }
    let mut dice = Dice(0xD1B5_4A32_D192_ED03);
    let now = core.now();

    // A photo for each user who has none.
    let mut photos = 0;
    for &id in &users {
        let profile = profile::Entity::find().filter(profile::Column::UserId.eq(id)).one(&core.db).await?;
        if profile.as_ref().is_some_and(|p| !p.photo.is_empty()) {
            continue;
        }
        let stored = media::store_image(core, &picture(&mut dice, 240, 240), "users").await?;
        match profile {
            Some(p) => {
                let mut p: profile::ActiveModel = p.into();
                p.photo = Set(stored);
                p.update(&core.db).await?;
            }
            None => {
                profile::ActiveModel {
                    user_id: Set(id),
                    date_of_birth: Set(None),
                    photo: Set(stored),
                    ..Default::default()
                }
                .insert(&core.db)
                .await?;
            }
        }
        photos += 1;
    }

    // Images, newest first, each bookmarked by one of the users; stored before the transaction.
    let mut rows = Vec::with_capacity(images);
    for i in 0..images {
        let subject = SUBJECTS[i % SUBJECTS.len()];
        let title =
            if i < SUBJECTS.len() { subject.to_owned() } else { format!("{subject} {}", i / SUBJECTS.len() + 1) };
        let stored = media::store_image(core, &picture(&mut dice, 480, 360), "images").await?;
        rows.push((users[i % users.len()], title, stored, now - Duration::hours(5 * i as i64)));
    }
    let tx = core.db.begin().await?;
    let mut ids = Vec::with_capacity(images);
    for (user_id, title, stored, created) in rows {
        let saved = image::ActiveModel {
            user_id: Set(user_id),
            slug: Set(slugify(&title)),
            url: Set(format!("https://images.example.com/{}.png", slugify(&title))),
            title: Set(title),
            image: Set(stored),
            description: Set(String::new()),
            created: Set(created),
            total_likes: Set(0),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        create_action(&tx, created, user_id, verbs::BOOKMARKED, Some(Target { label: IMAGE_LABEL, id: saved.id }))
            .await?;
        ids.push((saved.id, user_id, created));
    }
    // Likes: each image liked by the users other than its owner, one in two.
    let mut likes = 0;
    for &(id, owner, created) in &ids {
        for &user_id in users.iter().filter(|u| **u != owner) {
            if dice.below(2) == 0 {
                continue;
            }
            like::Entity::insert(like::ActiveModel { image_id: Set(id), user_id: Set(user_id), ..Default::default() })
                .on_conflict(OnConflict::columns([like::Column::ImageId, like::Column::UserId]).do_nothing().to_owned())
                .exec_without_returning(&tx)
                .await?;
            create_action(
                &tx,
                created + Duration::minutes(30),
                user_id,
                verbs::LIKES,
                Some(Target { label: IMAGE_LABEL, id }),
            )
            .await?;
            likes += 1;
        }
    }
    // Follows: each user follows the next one.
    let mut follows = 0;
    for (k, &from) in users.iter().enumerate() {
        let to = users[(k + 1) % users.len()];
        if to == from {
            continue;
        }
        contact::Entity::insert(contact::ActiveModel {
            user_from_id: Set(from),
            user_to_id: Set(to),
            created: Set(now - Duration::minutes(10 * k as i64)),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([contact::Column::UserFromId, contact::Column::UserToId]).do_nothing().to_owned(),
        )
        .exec_without_returning(&tx)
        .await?;
        create_action(
            &tx,
            now - Duration::minutes(10 * k as i64),
            from,
            verbs::FOLLOWING,
            Some(Target { label: USER_LABEL, id: to }),
        )
        .await?;
        follows += 1;
    }
    crate::likes::recount(&tx, &ids.iter().map(|(id, _, _)| *id).collect::<Vec<_>>()).await?;
    tx.commit().await?;

    // Views: the first image most, then fewer and fewer.
    let mut views = 0;
    for (rank, &(id, _, _)) in ids.iter().enumerate() {
        let count = top_views / (rank as u64 + 1);
        if count == 0 {
            continue;
        }
        core.kv.incr(&format!("image:{id}:views"), count as i64).await?;
        core.kv.zincrby("image_ranking", &id.to_string(), count as f64).await?;
        views += count;
    }

    report.created.push(format!("{images} bookmarked images"));
    report.created.push(format!("{likes} likes, {follows} follows, {views} views"));
    if photos > 0 {
        report.created.push(format!("{photos} profile photos"));
    }
    Ok(report)
}
