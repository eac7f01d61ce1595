//! Making text from files and the environment safe to drop into the PR comment.
//!
//! Model names, CPU strings, branch names and reasons are written by whoever controls the
//! config, the runner or the pull request. In a GitHub comment such a string could break a
//! table (a `|` adds a column, a newline ends the row), inject HTML (`<script>`, `<img>`,
//! an unclosed `<details>`), ping people (`@org/team`) or bloat the comment past GitHub's size
//! limit. Everything that did not come from bench-gate's own format strings goes through
//! [`inline`] (names in markdown and table cells) or [`mermaid_label`] (chart labels) first;
//! sentences (reasons, warnings) are escaped whole by `report::sentences`, never cut here.

/// Longest escaped name kept, in characters of the input; longer ones end in an ellipsis.
/// Enough for any real CPU model string or model name, small enough that 200 hostile names
/// cannot push the comment over GitHub's limit. Sentences are never cut: see
/// `report::sentences`.
pub const MAX_INLINE_CHARS: usize = 120;

/// Longest Mermaid label kept, in characters: the chart's x axis has little room.
pub const MAX_LABEL_CHARS: usize = 40;

/// Zero-width joiner: placed after `@` it stops GitHub's mention and team-mention matching
/// while the text still reads `@name`. An entity such as `&#64;` would not do: GitHub
/// decodes entities before it looks for mentions.
const MENTION_BREAK: char = '\u{200D}';

/// Escapes `text` for inline markdown, including a GFM table cell: one line, no HTML, no
/// emphasis or links, no mention, at most [`MAX_INLINE_CHARS`] characters plus an ellipsis.
pub fn inline(text: &str) -> String {
    inline_max(text, MAX_INLINE_CHARS)
}

/// [`inline`] with an explicit length cap (characters of the input).
pub fn inline_max(text: &str, max_chars: usize) -> String {
    let (kept, cut) = truncate(text, max_chars);
    let mut out = String::with_capacity(kept.len() + 8);
    for c in kept.chars() {
        match c {
            // Table structure: an unescaped pipe adds a column.
            '|' => out.push_str("\\|"),
            // HTML and entities: everything that could open a tag or spell one.
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            // A backslash could escape our own escapes; as an entity it is just a character.
            '\\' => out.push_str("&#92;"),
            // Code spans, emphasis, strikethrough, links and images, headings.
            '`' => out.push_str("&#96;"),
            '*' | '_' | '[' | ']' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '@' => {
                out.push('@');
                out.push(MENTION_BREAK);
            }
            // Line breaks end a table row; other controls have no business in a comment.
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    if cut {
        out.push('…');
    }
    out
}

/// A label for a Mermaid chart: inside double quotes in the diagram source, and inside a
/// ```` ``` ```` fence in the comment. Only letters, digits, spaces and `-_.:/+()%,` survive;
/// anything else (quotes, brackets, backticks, semicolons, HTML) becomes a space, because
/// Mermaid has no escape for a quote inside a quoted label and a backtick run could close the
/// fence.
pub fn mermaid_label(text: &str) -> String {
    let (kept, cut) = truncate(text, MAX_LABEL_CHARS);
    let mut out: String = kept
        .chars()
        .map(|c| {
            if c.is_alphanumeric()
                || matches!(c, ' ' | '-' | '_' | '.' | ':' | '/' | '+' | '%' | ',')
            {
                c
            } else {
                ' '
            }
        })
        .collect();
    if cut {
        out.push_str("...");
    }
    let trimmed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if trimmed.is_empty() {
        "?".to_owned()
    } else {
        trimmed
    }
}

/// An http(s) link target from the environment or a flag, or `None` when it could break out
/// of `[text](url)` or is not a web address (`javascript:` and friends).
pub fn link_target(url: &str) -> Option<String> {
    let url = url.trim();
    let web = url.starts_with("https://") || url.starts_with("http://");
    // `https://user:token@host/...` would publish a credential in the comment.
    let authority = url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("");
    let web = web && !authority.contains('@');
    let plain = url.chars().all(|c| {
        c.is_ascii_graphic() && !matches!(c, '(' | ')' | '<' | '>' | '"' | '\'' | '`' | '\\')
    });
    (web && plain && url.len() <= 2048).then(|| url.to_owned())
}

/// The first `max_chars` characters of `text` and whether anything was cut.
fn truncate(text: &str, max_chars: usize) -> (&str, bool) {
    match text.char_indices().nth(max_chars) {
        Some((byte, _)) => (&text[..byte], true),
        None => (text, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_and_newlines_cannot_add_columns_or_rows() {
        let s = inline("a|b\nc\r\td");
        assert_eq!(s, "a\\|b c  d");
        assert!(!s.contains('\n'));
    }

    #[test]
    fn html_becomes_text() {
        assert_eq!(
            inline("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(inline("a&amp;b"), "a&amp;amp;b");
    }

    #[test]
    fn markdown_syntax_is_escaped() {
        assert_eq!(
            inline("*b* _i_ [l](u) `c` ~s~ #h !x \\"),
            "\\*b\\* \\_i\\_ \\[l\\](u) &#96;c&#96; \\~s\\~ \\#h \\!x &#92;"
        );
    }

    #[test]
    fn mentions_are_broken_with_a_zero_width_joiner() {
        let s = inline("ping @octocat and @org/team");
        assert_eq!(s, "ping @\u{200D}octocat and @\u{200D}org/team");
        assert!(!s.contains("@octocat"));
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary_with_an_ellipsis() {
        let long = "é".repeat(10_000);
        let s = inline(&long);
        assert_eq!(s.chars().count(), MAX_INLINE_CHARS + 1);
        assert!(s.ends_with('…'));
        assert_eq!(inline_max("abc", 3), "abc");
        assert_eq!(inline_max("abcd", 3), "abc…");
    }

    #[test]
    fn mermaid_labels_lose_quotes_brackets_and_fences() {
        assert_eq!(mermaid_label("a\"b]c[d`e;f"), "a b c d e f");
        assert_eq!(mermaid_label("```\n</script>"), "/script");
        assert_eq!(mermaid_label("2024-12-02 abc1234"), "2024-12-02 abc1234");
        assert_eq!(mermaid_label("\"\""), "?");
        assert!(mermaid_label(&"x".repeat(500)).ends_with("..."));
    }

    #[test]
    fn only_plain_web_links_are_accepted() {
        assert_eq!(
            link_target("https://github.com/o/r/actions/runs/1").as_deref(),
            Some("https://github.com/o/r/actions/runs/1")
        );
        assert_eq!(link_target("javascript:alert(1)"), None);
        assert_eq!(link_target("https://x/a) [y](https://evil"), None);
        assert_eq!(link_target("https://x/<img>"), None);
    }
}
