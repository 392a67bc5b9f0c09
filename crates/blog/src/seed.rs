//! Demo and benchmark data: `quartet seed` (a small living blog) and
//! `quartet seed --posts 1000 --tags 50 --comments 3` (the benchmark data set). The text is
//! generated from a fixed seed, so two runs with the same sizes make the same blog.

use chrono::Duration;
use quartet_kernel::app::CoreState;
use quartet_kernel::app::{SeedDice as Dice, SeedOptions, SeedReport, SeedSize};
use quartet_kernel::auth::models::user;
use sea_orm::{ActiveValue::Set, EntityTrait, PaginatorTrait, QueryOrder, QuerySelect};

use crate::models::{comment, post, status, tag, tagged_post};

/// Rows inserted per statement.
const CHUNK: usize = 200;

const TOPICS: &[&str] = &[
    "Django",
    "Rust",
    "PostgreSQL",
    "SQLite",
    "Redis",
    "RabbitMQ",
    "Python",
    "caching",
    "full-text search",
    "templates",
    "migrations",
    "async code",
    "testing",
    "deployment",
    "NGINX",
    "WebSockets",
    "REST APIs",
    "pagination",
    "Markdown",
    "RSS feeds",
    "sitemaps",
    "sessions",
    "authentication",
    "background jobs",
    "internationalisation",
    "the admin",
    "indexes",
    "transactions",
    "benchmarks",
    "observability",
];
const OPENERS: &[&str] = &[
    "A gentle introduction to",
    "Notes on",
    "Five lessons about",
    "Getting started with",
    "A closer look at",
    "What I learned about",
    "Practical",
    "Rethinking",
    "Debugging",
    "The case for",
    "Everyday",
    "Scaling",
];
const CLOSERS: &[&str] = &[
    "for beginners",
    "in production",
    "the hard way",
    "without tears",
    "step by step",
    "in one afternoon",
    "revisited",
    "on a small server",
    "for busy people",
    "done right",
];
const SUBJECTS: &[&str] = &[
    "The query planner",
    "A good index",
    "Every request",
    "The cache",
    "Our test suite",
    "A background worker",
    "The template engine",
    "Each migration",
    "The connection pool",
    "A careful review",
    "The search index",
    "A small benchmark",
    "The session store",
    "Our deployment script",
];
const VERBS: &[&str] =
    &["turns", "keeps", "makes", "shows", "hides", "rewards", "explains", "changes", "protects", "simplifies"];
const OBJECTS: &[&str] = &[
    "slow pages into fast ones",
    "the data consistent",
    "mistakes visible early",
    "how the system behaves",
    "needless work",
    "patience and curiosity",
    "why the numbers moved",
    "the shape of the code",
    "users from surprises",
    "the path from idea to release",
    "every edge case",
    "the cost of each query",
];
const ASIDES: &[&str] = &[
    "in my experience",
    "as the documentation says",
    "on a quiet afternoon",
    "surprisingly often",
    "with a little care",
    "after the first week",
    "when traffic grows",
    "for most teams",
];
const COMMENTERS: &[&str] = &["Ann", "Bob", "Chen", "Dana", "Emeka", "Farah", "Gus", "Hana", "Ivan", "Jo"];
const REMARKS: &[&str] = &[
    "Thanks, this helped me a lot.",
    "Great write-up!",
    "I tried this and it worked on the first go.",
    "Could you write a follow-up about testing?",
    "Clear and to the point.",
    "I disagree with the second part, but nice post.",
    "Bookmarked for later.",
    "This saved my afternoon.",
];

fn sentence(dice: &mut Dice, topic: &str) -> String {
    match dice.below(3) {
        0 => format!("{} {} {}, {}.", dice.pick(SUBJECTS), dice.pick(VERBS), dice.pick(OBJECTS), dice.pick(ASIDES)),
        1 => format!(
            "When working with {topic}, {} {} {}.",
            dice.pick(SUBJECTS).to_lowercase(),
            dice.pick(VERBS),
            dice.pick(OBJECTS)
        ),
        _ => format!("{} {} {} in {topic}.", dice.pick(SUBJECTS), dice.pick(VERBS), dice.pick(OBJECTS)),
    }
}

/// A Markdown body of about `chars` characters: paragraphs, a heading, a list, some code.
fn body(dice: &mut Dice, topic: &str, chars: usize) -> String {
    let mut out = String::with_capacity(chars + 200);
    let mut paragraph = 0;
    while out.len() < chars {
        match paragraph {
            2 => out.push_str(&format!("## Why {topic} matters\n\n")),
            3 => {
                for _ in 0..3 {
                    out.push_str(&format!("- {}\n", sentence(dice, topic)));
                }
                out.push('\n');
                paragraph += 1;
                continue;
            }
            5 => out.push_str("```\nquartet seed --posts 1000 --tags 50 --comments 3\n```\n\n"),
            _ => {}
        }
        let sentences = 3 + dice.below(3);
        let text: Vec<String> = (0..sentences).map(|_| sentence(dice, topic)).collect();
        out.push_str(&text.join(" "));
        if paragraph == 1 {
            out.push_str(&format!(" Read more about **{topic}** in the [documentation](https://example.com/docs)."));
        }
        out.push_str("\n\n");
        paragraph += 1;
    }
    out.trim_end().to_owned()
}

/// The sizes `quartet seed` takes for the blog (`--posts 1000 --tags 50 --comments 3`).
pub const SIZES: &[SeedSize] = &[
    SeedSize { name: "posts", help: "blog posts, one every seven hours back from now", default: 12 },
    SeedSize { name: "tags", help: "tags, three on each post", default: 10 },
    SeedSize { name: "comments", help: "comments on each post", default: 2 },
    SeedSize { name: "post-chars", help: "characters in the body of each post", default: 2000 },
    SeedSize {
        name: "drafts",
        help: "posts left as drafts (the oldest); 1 for the demo, 0 when sizes are given",
        default: 1,
    },
];

/// Creates the blog's demo posts, tags and comments.
pub async fn seed(core: &CoreState, options: &SeedOptions) -> anyhow::Result<SeedReport> {
    let mut report = SeedReport::default();
    if post::Entity::find().count(&core.db).await? > 0 {
        report.notes.push("The blog already has posts; no blog data was added.".into());
        return Ok(report);
    }
    let posts = options.size("posts", 12) as usize;
    let tags = (options.size("tags", 10) as usize).max(1);
    let comments = options.size("comments", 2) as usize;
    let chars = options.size("post-chars", 2000) as usize;
    // The demo shows one draft in the admin; sized data sets are all published unless asked.
    let drafts = options.size("drafts", u64::from(options.sizes.is_empty())) as usize;
    let authors: Vec<i64> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .order_by_asc(user::Column::Id)
        .limit(4)
        .into_tuple()
        .all(&core.db)
        .await?;
    if authors.is_empty() {
        anyhow::bail!("there is no user to write the posts; create one with `quartet createsuperuser`");
    }

    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let now = core.now();
    let tx = core.db.begin().await?;

    let mut tag_names: Vec<String> = TOPICS.iter().map(|t| (*t).to_owned()).collect();
    let mut round = 2;
    while tag_names.len() < tags {
        tag_names.extend(TOPICS.iter().map(|t| format!("{t} {round}")));
        round += 1;
    }
    tag_names.truncate(tags);
    let tag_rows: Vec<tag::ActiveModel> = tag_names
        .iter()
        .map(|name| {
            let mut row = tag::ActiveModel { name: Set(name.clone()), ..Default::default() };
            tag::RULES.apply(&mut row, now, true).map(|()| row)
        })
        .collect::<Result<_, _>>()?;
    for chunk in tag_rows.chunks(CHUNK) {
        tag::Entity::insert_many(chunk.to_vec()).exec(&tx).await?;
    }
    let tag_ids: Vec<(i64, String)> =
        tag::Entity::find().select_only().columns([tag::Column::Id, tag::Column::Name]).into_tuple().all(&tx).await?;

    // Posts, newest first: one every seven hours back from now; the oldest `drafts` are drafts.
    let mut titles = std::collections::HashSet::new();
    let mut post_rows = Vec::with_capacity(posts);
    let mut post_topics = Vec::with_capacity(posts);
    for i in 0..posts {
        let topic = dice.pick(TOPICS);
        let mut title = if i == 0 {
            "Django for beginners".to_owned()
        } else {
            format!("{} {topic} {}", dice.pick(OPENERS), dice.pick(CLOSERS))
        };
        if !titles.insert(title.clone()) {
            title = format!("{title}, part {i}");
            titles.insert(title.clone());
        }
        let publish = now - Duration::hours(7 * i as i64 + 1);
        let mut row = post::ActiveModel {
            title: Set(title),
            author_id: Set(authors[i % authors.len()]),
            body: Set(body(&mut dice, topic, chars)),
            publish: Set(publish),
            status: Set(if i + drafts >= posts { status::DRAFT } else { status::PUBLISHED }.to_owned()),
            ..Default::default()
        };
        // Written when it went out: the model's own rules stamp it and make its slug.
        post::RULES.apply(&mut row, publish, true)?;
        post_rows.push(row);
        post_topics.push(topic);
    }
    for chunk in post_rows.chunks(CHUNK) {
        post::Entity::insert_many(chunk.to_vec()).exec(&tx).await?;
    }
    let post_ids: Vec<i64> = post::Entity::find()
        .select_only()
        .column(post::Column::Id)
        .order_by_asc(post::Column::Id)
        .into_tuple()
        .all(&tx)
        .await?;

    // Three tags per post (fewer when there are fewer tags): its topic when it is a tag, then others.
    let per_post = 3.min(tag_ids.len());
    let mut links = Vec::with_capacity(post_ids.len() * per_post);
    for (n, id) in post_ids.iter().enumerate() {
        let mut chosen: Vec<i64> = tag_ids.iter().filter(|(_, name)| name == post_topics[n]).map(|(t, _)| *t).collect();
        while chosen.len() < per_post {
            let candidate = tag_ids[dice.below(tag_ids.len())].0;
            if !chosen.contains(&candidate) {
                chosen.push(candidate);
            }
        }
        links.extend(chosen.into_iter().map(|tag_id| tagged_post::ActiveModel {
            post_id: Set(*id),
            tag_id: Set(tag_id),
            ..Default::default()
        }));
    }
    for chunk in links.chunks(CHUNK) {
        tagged_post::Entity::insert_many(chunk.to_vec()).exec(&tx).await?;
    }

    let mut comment_rows = Vec::with_capacity(post_ids.len() * comments);
    for (n, id) in post_ids.iter().enumerate() {
        for c in 0..comments {
            let name = dice.pick(COMMENTERS);
            // Within the hour after the post went out (which is at least an hour ago), in order,
            // so a comment added now comes after all of them.
            let publish = now - Duration::hours(7 * n as i64 + 1);
            let at = publish + Duration::seconds(3600 * (c as i64 + 1) / (comments as i64 + 1));
            let mut row = comment::ActiveModel {
                post_id: Set(*id),
                name: Set(name.to_owned()),
                email: Set(format!("{}@example.com", name.to_lowercase())),
                body: Set(dice.pick(REMARKS).to_owned()),
                // Every seventh comment waits for moderation.
                active: Set((n + c) % 7 != 6),
                ..Default::default()
            };
            comment::RULES.apply(&mut row, at, true)?;
            comment_rows.push(row);
        }
    }
    for chunk in comment_rows.chunks(CHUNK) {
        comment::Entity::insert_many(chunk.to_vec()).exec(&tx).await?;
    }
    // Written in bulk: every post's count at once, in the same transaction.
    crate::counts::recount_all(&tx).await?;
    tx.commit().await?;
    report.created.push(format!("{} blog posts", post_ids.len()));
    report.created.push(format!("{} tags", tag_ids.len()));
    report.created.push(format!("{} comments", comment_rows.len()));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_about_the_asked_length_and_reproducible() {
        let a = body(&mut Dice(7), "Rust", 2000);
        let b = body(&mut Dice(7), "Rust", 2000);
        assert_eq!(a, b);
        assert!((2000..2600).contains(&a.len()), "{}", a.len());
        assert!(a.contains("## Why Rust matters"));
    }
}
