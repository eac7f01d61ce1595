//! Reasons, warnings and test descriptions shown whole: a sentence is in the comment entire or
//! not at all, never cut mid-word.
//!
//! These texts are written by `compare/` (and by whoever controls a verdict file) and can be
//! long: a duet's undecided reason names the interval, the knob that stopped it and the fix.
//! Where the comment has less room than the text needs, whole sentences are dropped from the
//! end and the comment says more follows ([`MORE`]). A sentence is what lies between line
//! breaks, `; ` and `. `, outside brackets and code spans, so `(95% power; this run had 62 s)`
//! stays one piece.

use super::escape::inline_max;

/// Most characters (of the input) of one reason, warning or test description shown in the
/// comment; later sentences are dropped whole. Room for a duet's longest real reason (the
/// undecided interval with its fix, ~260 characters); small enough that a hostile verdict of
/// many reasons still shrinks within GitHub's limit (the details go first).
pub const MAX_SENTENCES_CHARS: usize = 400;

/// Most characters (of the input) of the reason quoted in the headline: its first sentence or
/// two, so the notification line stays readable.
pub const MAX_HEADLINE_CHARS: usize = 160;

/// Said where sentences were left out: the verdict file always has every reason whole.
pub const MORE: &str = "more in the verdict JSON";

/// Abbreviations whose full stop does not end a sentence (lower case, without the stop).
const ABBREVIATIONS: [&str; 4] = ["e.g", "i.e", "vs", "cf"];

/// What of a text is shown: its leading whole sentences, escaped, and whether any were left
/// out. `text` is empty when not even the first sentence fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub text: String,
    pub more: bool,
}

/// The leading whole sentences of `text` that fit in `max_chars` characters of the input,
/// escaped for inline markdown. Sentences kept are joined as written, except that a line break
/// between them becomes `; ` (one line in the comment).
pub fn leading(text: &str, max_chars: usize) -> Shown {
    let parts = sentences(text);
    let mut kept = String::new();
    let mut used = 0;
    let mut taken = 0;
    for (i, (sentence, _)) in parts.iter().enumerate() {
        let glue = if i == 0 {
            String::new()
        } else {
            join(parts[i - 1].0, parts[i - 1].1)
        };
        let n = glue.chars().count() + sentence.chars().count();
        if used + n > max_chars {
            break;
        }
        kept.push_str(&glue);
        kept.push_str(sentence);
        used += n;
        taken += 1;
    }
    Shown {
        text: inline_max(&kept, usize::MAX),
        more: taken < parts.len(),
    }
}

/// [`leading`] as one string: the sentences kept, followed by `(more in the verdict JSON)`
/// when any were left out, or only that note when none fits.
pub fn whole(text: &str, max_chars: usize) -> String {
    let shown = leading(text, max_chars);
    match (shown.text.is_empty(), shown.more) {
        (_, false) => shown.text,
        (true, true) => format!("(too long to show here; {MORE})"),
        (false, true) => format!("{} ({MORE})", shown.text),
    }
}

/// [`whole`] with [`MAX_SENTENCES_CHARS`]: a reason, warning or test description.
pub fn reason(text: &str) -> String {
    whole(text, MAX_SENTENCES_CHARS)
}

/// The sentences of `text`, trimmed, each with the separator that followed it (`""` for the
/// last). Separators count only outside `()`, `[]`, `{}` and backtick code spans.
pub fn sentences(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut code = false;
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let end_of_sentence = match c {
            '`' => {
                code = !code;
                false
            }
            '(' | '[' | '{' if !code => {
                depth += 1;
                false
            }
            ')' | ']' | '}' if !code => {
                depth = depth.saturating_sub(1);
                false
            }
            _ if code || depth > 0 => false,
            '\n' | '\r' => true,
            ';' => next.is_some_and(char::is_whitespace),
            '.' | '!' | '?' => {
                next.is_some_and(char::is_whitespace) && !(c == '.' && abbreviation(&text[..i]))
            }
            _ => false,
        };
        if !end_of_sentence {
            continue;
        }
        // The stop belongs to its sentence; `;` and line breaks belong to the separator.
        let cut = if matches!(c, '.' | '!' | '?') {
            i + c.len_utf8()
        } else {
            i
        };
        let mut after = i + c.len_utf8();
        while let Some(&(j, n)) = chars.peek() {
            if !n.is_whitespace() {
                break;
            }
            after = j + n.len_utf8();
            chars.next();
        }
        push(&mut out, &text[start..cut], &text[cut..after]);
        start = after;
    }
    push(&mut out, &text[start..], "");
    out
}

/// Adds a trimmed, non-empty sentence; an empty one only lends its separator to the previous.
fn push<'a>(out: &mut Vec<(&'a str, &'a str)>, sentence: &'a str, sep: &'a str) {
    let sentence = sentence.trim();
    if !sentence.is_empty() {
        out.push((sentence, sep));
    }
}

/// Does `before` (the text up to a full stop) end in an abbreviation?
fn abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    ABBREVIATIONS.iter().any(|a| word.eq_ignore_ascii_case(a))
}

/// How a kept sentence is joined to the next: as written, except a line break (the `\n  fix:`
/// of a reason) becomes `; ` after a bare sentence and a space after a stop.
fn join(sentence: &str, sep: &str) -> String {
    if !sep.contains(['\n', '\r']) {
        return if sep.trim().is_empty() {
            " ".to_owned()
        } else {
            format!("{} ", sep.trim())
        };
    }
    if sentence.ends_with(['.', '!', '?', ';', ':', ',']) {
        " ".to_owned()
    } else {
        "; ".to_owned()
    }
}

#[cfg(test)]
#[path = "sentences_tests.rs"]
mod tests;
