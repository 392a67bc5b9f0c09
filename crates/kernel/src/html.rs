//! HTML text outside templates: one escaper (askama's, the one templates use) and
//! `backticked` words shown as code.

use askama::filters::{Escaper, Html};

/// Escapes text for HTML (element content and quoted attribute values), exactly as a template
/// escapes `{{ value }}`.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    // Writing into a String cannot fail.
    let _ = Html.write_escaped_str(&mut out, text);
    out
}

/// Escapes `text` for HTML and shows its `backticked` parts as `<code>`; an unpaired backtick
/// stays as it is.
pub fn inline_code(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    let mut out = String::with_capacity(text.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        // Odd parts are between backticks, unless the last backtick has no closing one.
        let inside = i % 2 == 1;
        let closed = i + 1 < parts.len();
        if inside && closed {
            out.push_str("<code>");
            out.push_str(&escape_html(part));
            out.push_str("</code>");
        } else {
            if inside {
                out.push('`');
            }
            out.push_str(&escape_html(part));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape_html, inline_code};

    #[test]
    fn escaping_is_the_templates_escaping() {
        #[derive(askama::Template)]
        #[template(source = "{{ text }}", ext = "html")]
        struct Page<'a> {
            text: &'a str,
        }
        let text = r#"<a href="x">Tom & 'Jerry'</a>"#;
        assert_eq!(escape_html(text), askama::Template::render(&Page { text }).unwrap());
        assert!(!escape_html(text).contains(['<', '>', '"', '\'']));
    }

    #[test]
    fn backticks_become_code_and_the_rest_is_escaped() {
        assert_eq!(inline_code("Run `quartet seed` now"), "Run <code>quartet seed</code> now");
        assert_eq!(inline_code("a `<b>` c"), format!("a <code>{}</code> c", escape_html("<b>")));
        assert_eq!(inline_code("one ` alone"), "one ` alone");
        assert_eq!(inline_code("`x` and `y"), "<code>x</code> and `y");
        assert_eq!(inline_code("<script>"), escape_html("<script>"));
    }
}
