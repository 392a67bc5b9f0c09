//! Ranked, typo-tolerant search over published posts, in two parts on both databases.
//!
//! 1. Full text. PostgreSQL: the weighted `search_vector` (title A, body B, English stemming)
//!    matched with `websearch_to_tsquery`, ranked with `ts_rank`. SQLite: FTS5 with Porter
//!    stemming, ranked by `bm25` with the title weighted ten times the body.
//! 2. Misspellings. Titles sharing trigrams with a query word are candidates (`pg_trgm`'s
//!    `word_similarity` on PostgreSQL, an FTS5 trigram index of the title's padded words on
//!    SQLite); a candidate matches when one of its words is within one edit of a query word
//!    (two for long words), so "djnago" finds "Django …" on both.
//!
//! At most [`MAX_RESULTS`] post ids come back, best first; the caller loads the page's posts.
//! Snippets with the matched words marked are made here, the same way on both.

use quartet_kernel::db::Db;
use quartet_kernel::html::escape_html as escape;
use sea_orm::{DbBackend, DbErr, FromQueryResult, Statement};

use crate::markdown;
use crate::migrations::WORD_BREAKS;

/// Results beyond this are not ranked or shown.
pub const MAX_RESULTS: usize = 1000;
/// Longest query accepted, in characters (longer queries are cut).
pub const MAX_QUERY_CHARS: usize = 200;
/// Most words of a query used for matching.
const MAX_WORDS: usize = 12;
/// PostgreSQL: the least `word_similarity` for a title to be checked for a misspelt word.
const PG_CANDIDATE: f64 = 0.2;
/// Titles checked for misspelt words, at most.
const MAX_CANDIDATES: usize = 500;

/// A ranked match.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ranked {
    /// The post's id.
    pub id: i64,
    /// Higher is better.
    pub score: f64,
}

/// The query's words: lower case, punctuation removed, at most [`MAX_WORDS`].
pub fn words(text: &str) -> Vec<String> {
    let lowered = text.to_lowercase();
    lowered
        .split(|c: char| c.is_whitespace() || c.is_control() || WORD_BREAKS.contains(&c))
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .map(ToOwned::to_owned)
        .collect()
}

/// The trigrams of a word padded as `pg_trgm` pads it (`"  word "`).
pub fn trigrams(word: &str) -> Vec<String> {
    let padded: Vec<char> = format!("  {word} ").chars().collect();
    let mut out: Vec<String> = padded.windows(3).map(|w| w.iter().collect()).collect();
    out.sort();
    out.dedup();
    out
}

/// The share of `query`'s trigrams found in `word` (0 to 1).
pub fn trigram_similarity(query: &str, word: &str) -> f64 {
    let q = trigrams(query);
    if q.is_empty() {
        return 0.0;
    }
    let w = trigrams(word);
    let shared = q.iter().filter(|t| w.binary_search(t).is_ok()).count();
    shared as f64 / q.len() as f64
}

/// Optimal-string-alignment distance (edits, with swapped neighbours counting as one).
pub fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// Whether `word` of a text is a misspelling of, or the same word as, `term` of a query.
pub fn is_close(term: &str, word: &str) -> bool {
    if term == word {
        return true;
    }
    let length = term.chars().count();
    if length < 5 {
        return false;
    }
    let allowed = if length >= 8 { 2 } else { 1 };
    edit_distance(term, word) <= allowed || trigram_similarity(term, word) >= 0.6
}

/// A crude English stem, only for marking words in snippets ("posts", "posting" → "post").
fn stem(word: &str) -> &str {
    for suffix in ["ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s"] {
        if let Some(stripped) = word.strip_suffix(suffix)
            && stripped.chars().count() >= 3
        {
            return stripped;
        }
    }
    word
}

/// Whether a word of a text should be marked for the query `terms`.
fn matches_any(terms: &[String], word: &str) -> bool {
    let lowered = word.to_lowercase();
    let bare = lowered.trim_matches(|c: char| !c.is_alphanumeric());
    if bare.is_empty() {
        return false;
    }
    terms.iter().any(|t| t == bare || stem(t) == stem(bare) || is_close(t, bare))
}

/// `text` as HTML with the words matching `terms` in `<mark>`.
pub fn highlight(text: &str, terms: &[String]) -> String {
    mark_words(&text.split_whitespace().collect::<Vec<_>>(), terms)
}

fn mark_words(words: &[&str], terms: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if !matches_any(terms, w) {
                return escape(w);
            }
            // Punctuation around the word stays outside the mark: "<mark>Django</mark>,".
            let core = w.trim_matches(|c: char| !c.is_alphanumeric());
            let start = w.find(core).unwrap_or(0);
            let (before, rest) = w.split_at(start);
            let (word, after) = rest.split_at(core.len());
            format!("{}<mark>{}</mark>{}", escape(before), escape(word), escape(after))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// About `length` words of the post's text around the first matched word, as HTML with the
/// matches marked and "…" where text was left out.
pub fn snippet(markdown_body: &str, terms: &[String], length: usize) -> String {
    let text = markdown::to_text(markdown_body);
    let words: Vec<&str> = text.split_whitespace().collect();
    let first = words.iter().position(|w| matches_any(terms, w)).unwrap_or(0);
    let start = first.saturating_sub(length / 3);
    let end = (start + length).min(words.len());
    let mut html = String::new();
    if start > 0 {
        html.push_str("… ");
    }
    html.push_str(&mark_words(&words[start..end], terms));
    if end < words.len() {
        html.push_str(" …");
    }
    html
}

#[derive(Debug, FromQueryResult)]
struct ScoreRow {
    id: i64,
    score: f64,
}

#[derive(Debug, FromQueryResult)]
struct TitleRow {
    id: i64,
    title: String,
}

/// The published posts matching `query`, best first.
pub async fn ranked(db: &Db, query: &str) -> Result<Vec<Ranked>, DbErr> {
    let query: String = query.trim().chars().take(MAX_QUERY_CHARS).collect();
    let terms = words(&query);
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let mut ranked = if postgres { postgres_text(db, &query).await? } else { sqlite_text(db, &terms).await? };

    // Misspelt words: titles sharing trigrams with a query word are candidates; a candidate
    // matches when one of its words is close to a query word.
    let fuzzy_terms: Vec<&String> = terms.iter().filter(|t| t.chars().count() >= 5).collect();
    if !fuzzy_terms.is_empty() {
        let candidates = if postgres {
            postgres_candidates(db, &fuzzy_terms).await?
        } else {
            sqlite_candidates(db, &fuzzy_terms).await?
        };
        for candidate in candidates {
            let title_words = words(&candidate.title);
            let close = fuzzy_terms.iter().filter(|t| title_words.iter().any(|w| is_close(t, w))).count();
            if close == 0 {
                continue;
            }
            let similarity = close as f64 / terms.len() as f64;
            match ranked.iter_mut().find(|r| r.id == candidate.id) {
                Some(found) => found.score += similarity,
                None => ranked.push(Ranked { id: candidate.id, score: similarity }),
            }
        }
    }
    // Stable: equal scores keep the text-search order (best rank, then newest).
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    ranked.truncate(MAX_RESULTS);
    Ok(ranked)
}

/// PostgreSQL full-text matches, ranked by `ts_rank` (0 to 1, title words weigh more).
async fn postgres_text(db: &Db, query: &str) -> Result<Vec<Ranked>, DbErr> {
    let sql = format!(
        "SELECT p.id, ts_rank(p.search_vector, q)::float8 AS score \
         FROM blog_post p, websearch_to_tsquery('english', $1) q \
         WHERE p.status = 'PB' AND p.search_vector @@ q \
         ORDER BY score DESC, p.publish DESC LIMIT {MAX_RESULTS}"
    );
    let rows = ScoreRow::find_by_statement(Statement::from_sql_and_values(DbBackend::Postgres, sql, [query.into()]))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| Ranked { id: r.id, score: r.score }).collect())
}

/// PostgreSQL titles with a part similar to one of `terms` (`pg_trgm`).
async fn postgres_candidates(db: &Db, terms: &[&String]) -> Result<Vec<TitleRow>, DbErr> {
    let joined = terms.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" ");
    let sql = format!(
        "SELECT p.id, p.title FROM blog_post p WHERE p.status = 'PB' AND EXISTS (\
         SELECT 1 FROM regexp_split_to_table($1, ' ') AS w WHERE word_similarity(w, p.title) >= {PG_CANDIDATE}) \
         ORDER BY p.publish DESC LIMIT {MAX_CANDIDATES}"
    );
    TitleRow::find_by_statement(Statement::from_sql_and_values(DbBackend::Postgres, sql, [joined.into()])).all(db).await
}

/// An FTS5 string literal.
fn fts_string(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// SQLite full-text matches (every word, after stemming), ranked by `bm25` turned into 0 to 1.
async fn sqlite_text(db: &Db, terms: &[String]) -> Result<Vec<Ranked>, DbErr> {
    let all_words = terms.iter().map(|t| fts_string(t)).collect::<Vec<_>>().join(" ");
    let sql = format!(
        "SELECT p.id AS id, bm25(blog_post_fts, 10.0, 1.0) AS score FROM blog_post_fts \
         CROSS JOIN blog_post p ON p.id = blog_post_fts.rowid \
         WHERE blog_post_fts MATCH ? AND p.status = 'PB' ORDER BY score, p.publish DESC LIMIT {MAX_RESULTS}"
    );
    let rows = ScoreRow::find_by_statement(Statement::from_sql_and_values(DbBackend::Sqlite, sql, [all_words.into()]))
        .all(db)
        .await?;
    // bm25 is negative, lower is better.
    Ok(rows
        .into_iter()
        .map(|r| {
            let relevance = (-r.score).max(0.0);
            Ranked { id: r.id, score: relevance / (1.0 + relevance) }
        })
        .collect())
}

/// SQLite titles sharing a trigram (word starts and ends included) with one of `terms`.
async fn sqlite_candidates(db: &Db, terms: &[&String]) -> Result<Vec<TitleRow>, DbErr> {
    let mut grams: Vec<String> =
        terms.iter().flat_map(|t| trigrams(t)).filter(|g| g.trim().chars().count() >= 2).collect();
    grams.sort();
    grams.dedup();
    let any_gram = grams.iter().map(|g| fts_string(g)).collect::<Vec<_>>().join(" OR ");
    let sql = format!(
        "SELECT p.id AS id, p.title AS title FROM blog_post_trigram \
         CROSS JOIN blog_post p ON p.id = blog_post_trigram.rowid \
         WHERE blog_post_trigram MATCH ? AND p.status = 'PB' ORDER BY rank LIMIT {MAX_CANDIDATES}"
    );
    TitleRow::find_by_statement(Statement::from_sql_and_values(DbBackend::Sqlite, sql, [any_gram.into()])).all(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lower_case_without_punctuation() {
        assert_eq!(words("Django's  ORM, (fast)!"), vec!["django", "s", "orm", "fast"]);
        assert!(words("  ...  ").is_empty());
    }

    #[test]
    fn trigrams_are_padded_like_pg_trgm() {
        assert_eq!(trigrams("cat"), vec!["  c", " ca", "at ", "cat"]);
    }

    #[test]
    fn misspellings_are_close_and_other_words_are_not() {
        assert!(is_close("djnago", "django"));
        assert!(is_close("pyhton", "python"));
        assert!(is_close("recomendation", "recommendation"));
        assert!(!is_close("django", "mango"));
        assert!(!is_close("rust", "dust"));
        assert_eq!(edit_distance("djnago", "django"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn snippets_mark_matches_and_escape_text() {
        let html =
            snippet("Intro <b>bold</b> text about **Django** models and posting posts.", &words("django post"), 6);
        assert!(html.contains("<mark>Django</mark>"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.ends_with(" …"), "{html}");
        assert_eq!(highlight("A <tag> & Djnago", &words("django")), "A &#60;tag&#62; &#38; <mark>Djnago</mark>");
        assert_eq!(highlight("(Django), yes", &words("django")), "(<mark>Django</mark>), yes");
    }
}
