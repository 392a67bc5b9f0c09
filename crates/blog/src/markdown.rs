//! Markdown to safe HTML (the reference's `markdown` filter, sanitised), truncated to a number
//! of words (Django's `truncatewords_html`), and to plain text for search snippets.

use std::sync::LazyLock;

use pulldown_cmark::{Event, Options, Parser, TagEnd};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// The allow-list: ammonia's defaults (no scripts, styles, event handlers or `javascript:`
/// links), with links marked `nofollow` and opened without an opener, and the disabled
/// checkboxes of task lists (`- [x] done`), which can be nothing else.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some("nofollow noopener noreferrer"))
        .add_tags(["input"])
        .add_tag_attribute_values("input", "type", ["checkbox"])
        .add_tag_attribute_values("input", "checked", [""])
        .set_tag_attribute_value("input", "disabled", "");
    builder
});

/// Renders Markdown as sanitised HTML.
pub fn to_html(source: &str) -> String {
    render(Parser::new_ext(source, options()))
}

/// Renders the first `words` words of Markdown as sanitised HTML, closing every open element and
/// ending with " …" when something was cut (`truncatewords_html`).
pub fn to_html_truncated(source: &str, words: usize) -> String {
    render(Truncate::new(Parser::new_ext(source, options()), words))
}

fn render<'a>(events: impl Iterator<Item = Event<'a>>) -> String {
    let mut html = String::with_capacity(256);
    pulldown_cmark::html::push_html(&mut html, events);
    SANITIZER.clean(&html).to_string()
}

/// The text of Markdown without its markup, blocks separated by spaces.
pub fn to_text(source: &str) -> String {
    let mut text = String::with_capacity(source.len());
    for event in Parser::new_ext(source, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push(' '),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Passes events until `limit` words of text have gone by; at the first content after that it
/// writes " …" and closes what is open.
struct Truncate<'a, I: Iterator<Item = Event<'a>>> {
    inner: I,
    left: usize,
    open: Vec<TagEnd>,
    /// Closing events still to emit (popped from the end), once truncated.
    closing: Option<Vec<Event<'a>>>,
}

impl<'a, I: Iterator<Item = Event<'a>>> Truncate<'a, I> {
    fn new(inner: I, limit: usize) -> Self {
        Self { inner, left: limit, open: Vec::new(), closing: None }
    }

    /// Emits `text`, then every end tag still open.
    fn finish(&mut self, text: String) -> Option<Event<'a>> {
        // Popped from the end: the innermost element closes first.
        self.closing = Some(self.open.drain(..).map(Event::End).collect());
        Some(Event::Text(text.into()))
    }
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for Truncate<'a, I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        if let Some(rest) = &mut self.closing {
            return rest.pop();
        }
        let event = self.inner.next()?;
        match event {
            Event::Start(_) | Event::Code(_) | Event::InlineHtml(_) | Event::Html(_) if self.left == 0 => {
                self.finish(" …".to_owned())
            }
            Event::Start(tag) => {
                self.open.push(tag.to_end());
                Some(Event::Start(tag))
            }
            Event::End(end) => {
                self.open.pop();
                Some(Event::End(end))
            }
            Event::Text(text) => {
                let words: Vec<&str> = text.split_whitespace().collect();
                if words.len() <= self.left {
                    self.left -= words.len();
                    return Some(Event::Text(text));
                }
                // Keep the leading space so "a *b* c" still reads with its spaces.
                let lead = if text.starts_with(char::is_whitespace) || self.left == 0 { " " } else { "" };
                let kept = if self.left == 0 { "…".to_owned() } else { words[..self.left].join(" ") + " …" };
                self.left = 0;
                self.finish(format!("{lead}{kept}"))
            }
            other => Some(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_sanitised() {
        let html = to_html("# Hi\n\n*em* [link](https://example.com) <script>alert(1)</script>");
        assert!(html.contains("<h1>Hi</h1>"), "{html}");
        assert!(html.contains("<em>em</em>"));
        assert!(html.contains("href=\"https://example.com\""));
        assert!(html.contains("rel=\"nofollow noopener noreferrer\""));
        assert!(!html.contains("<script"), "{html}");
        let html = to_html("<img src=x onerror=alert(1)> [x](javascript:alert(1)) <a href=\"javascript:evil()\">y</a>");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn task_lists_keep_their_checkboxes_and_nothing_else_gets_in() {
        let html = to_html("- [x] done\n- [ ] to do");
        assert_eq!(html.matches("type=\"checkbox\"").count(), 2, "{html}");
        assert_eq!(html.matches("checked").count(), 1, "{html}");
        assert_eq!(html.matches("disabled").count(), 2, "{html}");
        // Raw inputs are reduced to a harmless disabled checkbox or dropped.
        let html = to_html("<input type=\"text\" name=\"password\" value=\"x\" onfocus=\"alert(1)\">");
        assert!(!html.contains("text") && !html.contains("onfocus") && !html.contains("password"), "{html}");
        let html = to_html("<input type=\"image\" src=\"https://evil.example/x\">");
        assert!(!html.contains("evil") && !html.contains("image"), "{html}");
    }

    #[test]
    fn truncation_counts_words_and_closes_tags() {
        let cut = |source: &str, words| to_html_truncated(source, words).trim().to_owned();
        assert_eq!(cut("one **two three** four\n\nfive six", 2), "<p>one <strong>two …</strong></p>");
        assert_eq!(cut("one two", 2), "<p>one two</p>");
        assert_eq!(cut("one two three", 2), "<p>one two …</p>");
        assert_eq!(cut("one two\n\nthree", 2), "<p>one two</p>\n …");
        assert_eq!(cut("- a\n- b c d\n- e", 3), "<ul>\n<li>a</li>\n<li>b c …</li>\n</ul>");
    }

    #[test]
    fn plain_text_drops_markup() {
        assert_eq!(to_text("# Title\n\nSome *em* and `code`."), "Title Some em and code.");
    }
}
