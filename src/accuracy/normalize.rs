//! English text normalisation before counting word errors: a port of the rules of Whisper's
//! `EnglishTextNormalizer` (openai-whisper 20250625, `whisper/normalizers/english.py` and
//! `basic.py`, MIT), so a WER here means what a WER in Whisper's papers and evaluations means.
//! "And Mr. John Dashwood had 25 pounds." and "and mister john dashwood had twenty five
//! pounds" both become `and mister john dashwood had £25`.
//!
//! The rules, in Whisper's order ([`normalize`]):
//! 1. lower-case;
//! 2. remove text between `<...>`/`[...]` and between `(...)`;
//! 3. remove the fillers hmm, mm, mhm, mmm, uh, um;
//! 4. expand contractions and titles (won't -> will not, mr -> mister, 's been -> has been,
//!    's -> is, ...);
//! 5. remove commas between digits and periods not followed by a digit;
//! 6. NFKD, drop diacritics (category Mn, plus æ -> ae, ø -> o, ß -> ss, ...), every other
//!    mark, symbol and punctuation character becomes a space except `. % $ ¢ € £`;
//! 7. numbers (`numbers.rs`): spelled numbers to digits, ordinals, plurals, "point",
//!    "double"/"triple", "and a half", signs, currencies, percent;
//! 8. British -> American spelling (`english_spelling.json`, Whisper's list);
//! 9. remove `. $ ¢ € £` not followed by a digit and `%` not preceded by one;
//! 10. collapse whitespace.
//!
//! Whisper's quirks are kept on purpose: "pounds" after a number is currency ("twenty five
//! pounds" -> "£25"), "ninth" is not an ordinal there (its table builds "nineth"), "and a
//! half" at the very start is dropped. Nor is the normaliser idempotent in Whisper: ".." ->
//! "." -> "", "minus twenty" -> "-20" -> "20", "9 1" -> "9 one" -> "91". Both sides of a WER
//! are normalised once, as Whisper's evaluation does.
//!
//! Left out (rare; none occurs in ASCII text):
//! - digits of other scripts ("٣"): Python's `\d` and `Fraction` read them as numbers, here
//!   they stay words;
//! - word boundaries (`\b`) next to combining marks, connector punctuation other than `_`
//!   and numbers that are not digits (², ½): Python's `\w` is `str.isalnum()` + `_`, the
//!   regex crate's is Unicode's `\w` ("won't²" keeps "won t" in Whisper, "wo not" here);
//! - Unicode versions: categories come from the regex crate's tables and NFKD from ICU4X, which
//!   may be a Unicode version apart from the Python that made the test table.

mod decimal;
mod numbers;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::LazyLock;

use icu_normalizer::DecomposingNormalizerBorrowed;
use regex::{NoExpand, Regex};

/// The words of `text` after normalisation.
pub fn words(text: &str) -> Vec<String> {
    py_split(&normalize(text)).map(str::to_string).collect()
}

/// Whisper's `EnglishTextNormalizer()(text)`: the normalised text, words separated by single
/// spaces (a leading or trailing space may remain, as in Whisper).
pub fn normalize(text: &str) -> String {
    let s = text.to_lowercase();
    let s = BRACKETS.replace_all(&s, "");
    let s = PARENTHESES.replace_all(&s, "");
    let s = FILLERS.replace_all(&s, "");
    let s = SPACE_APOSTROPHE.replace_all(&s, "'");
    let mut s = s.into_owned();
    for (pattern, replacement) in REPLACERS.iter() {
        s = pattern.replace_all(&s, NoExpand(replacement)).into_owned();
    }
    let s = DIGIT_COMMA_DIGIT.replace_all(&s, "${1}${2}");
    let s = PERIOD.replace_all(&s, " ${1}");
    let s = remove_symbols_and_diacritics(&s, ".%$¢€£");
    let s = numbers::standardize(&s);
    let s = py_split(&s)
        .map(|w| SPELLING.get(w).map_or(w, String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let s = LONE_SYMBOL.replace_all(&s, " ${1}");
    let s = LONE_PERCENT.replace_all(&s, "${1} ");
    SPACES.replace_all(&s, " ").into_owned()
}

/// Python's whitespace (`str.isspace`, `\s`): Unicode White_Space plus the information
/// separators U+001C..U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.split()`.
fn py_split(s: &str) -> impl DoubleEndedIterator<Item = &str> {
    s.split(is_py_space).filter(|w| !w.is_empty())
}

/// Python's `\s` as a regex class.
const WS: &str = r"[\s\x1C-\x1F]";

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the normaliser's patterns are valid")
}

static BRACKETS: LazyLock<Regex> = LazyLock::new(|| re(r"[<\[][^>\]]*[>\]]"));
static PARENTHESES: LazyLock<Regex> = LazyLock::new(|| re(r"\(([^)]+?)\)"));
static FILLERS: LazyLock<Regex> = LazyLock::new(|| re(r"\b(hmm|mm|mhm|mmm|uh|um)\b"));
static SPACE_APOSTROPHE: LazyLock<Regex> = LazyLock::new(|| re(&format!("{WS}+'")));
static DIGIT_COMMA_DIGIT: LazyLock<Regex> = LazyLock::new(|| re(r"(\d),(\d)"));
static PERIOD: LazyLock<Regex> = LazyLock::new(|| re(r"\.([^0-9]|$)"));
static LONE_SYMBOL: LazyLock<Regex> = LazyLock::new(|| re(r"[.$¢€£]([^0-9])"));
static LONE_PERCENT: LazyLock<Regex> = LazyLock::new(|| re(r"([^0-9])%"));
static SPACES: LazyLock<Regex> = LazyLock::new(|| re(&format!("{WS}+")));

/// Whisper's replacers, applied one after another in this order.
static REPLACERS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // common contractions
        (r"\bwon't\b", "will not"),
        (r"\bcan't\b", "can not"),
        (r"\blet's\b", "let us"),
        (r"\bain't\b", "aint"),
        (r"\by'all\b", "you all"),
        (r"\bwanna\b", "want to"),
        (r"\bgotta\b", "got to"),
        (r"\bgonna\b", "going to"),
        (r"\bi'ma\b", "i am going to"),
        (r"\bimma\b", "i am going to"),
        (r"\bwoulda\b", "would have"),
        (r"\bcoulda\b", "could have"),
        (r"\bshoulda\b", "should have"),
        (r"\bma'am\b", "madam"),
        // contractions in titles/prefixes
        (r"\bmr\b", "mister "),
        (r"\bmrs\b", "missus "),
        (r"\bst\b", "saint "),
        (r"\bdr\b", "doctor "),
        (r"\bprof\b", "professor "),
        (r"\bcapt\b", "captain "),
        (r"\bgov\b", "governor "),
        (r"\bald\b", "alderman "),
        (r"\bgen\b", "general "),
        (r"\bsen\b", "senator "),
        (r"\brep\b", "representative "),
        (r"\bpres\b", "president "),
        (r"\brev\b", "reverend "),
        (r"\bhon\b", "honorable "),
        (r"\basst\b", "assistant "),
        (r"\bassoc\b", "associate "),
        (r"\blt\b", "lieutenant "),
        (r"\bcol\b", "colonel "),
        (r"\bjr\b", "junior "),
        (r"\bsr\b", "senior "),
        (r"\besq\b", "esquire "),
        // perfect tenses (Whisper: "ideally it should be any past participles")
        (r"'d been\b", " had been"),
        (r"'s been\b", " has been"),
        (r"'d gone\b", " had gone"),
        (r"'s gone\b", " has gone"),
        (r"'d done\b", " had done"), // "'s done" is ambiguous
        (r"'s got\b", " has got"),
        // general contractions
        (r"n't\b", " not"),
        (r"'re\b", " are"),
        (r"'s\b", " is"),
        (r"'d\b", " would"),
        (r"'ll\b", " will"),
        (r"'t\b", " not"),
        (r"'ve\b", " have"),
        (r"'m\b", " am"),
    ]
    .into_iter()
    .map(|(pattern, replacement)| (re(pattern), replacement))
    .collect()
});

/// British -> American spellings, Whisper's `english.json` unchanged (openai-whisper,
/// MIT licence, Copyright (c) 2022 OpenAI; the list itself is after
/// <https://www.tysto.com/uk-us-spelling-list.html>). Bench-gate is MIT too.
static SPELLING: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("english_spelling.json"))
        .expect("english_spelling.json is a JSON object of strings (checked by a unit test)")
});

/// Letters NFKD does not split into a base and a diacritic (Whisper's `ADDITIONAL_DIACRITICS`).
fn additional_diacritic(c: char) -> Option<&'static str> {
    Some(match c {
        'œ' => "oe",
        'Œ' => "OE",
        'ø' => "o",
        'Ø' => "O",
        'æ' => "ae",
        'Æ' => "AE",
        'ß' => "ss",
        'ẞ' => "SS",
        'đ' | 'ð' => "d",
        'Đ' | 'Ð' => "D",
        'þ' | 'Þ' => "th",
        'ł' => "l",
        'Ł' => "L",
        _ => return None,
    })
}

static NONSPACING_MARK: LazyLock<Regex> = LazyLock::new(|| re(r"^\p{Mn}$"));
static MARK_SYMBOL_PUNCTUATION: LazyLock<Regex> = LazyLock::new(|| re(r"^[\p{M}\p{S}\p{P}]$"));

/// Whisper's `remove_symbols_and_diacritics(s, keep)`: NFKD; characters in `keep` stay,
/// diacritics (Mn) go, every other mark, symbol and punctuation becomes a space.
fn remove_symbols_and_diacritics(s: &str, keep: &str) -> String {
    let decomposed = DecomposingNormalizerBorrowed::new_nfkd().normalize(s);
    let mut out = String::with_capacity(decomposed.len());
    let mut buf = [0u8; 4];
    for c in decomposed.chars() {
        if keep.contains(c) {
            out.push(c);
        } else if c.is_ascii() {
            // ASCII punctuation is all P or S; letters, digits, spaces and controls stay.
            out.push(if c.is_ascii_punctuation() { ' ' } else { c });
        } else if let Some(plain) = additional_diacritic(c) {
            out.push_str(plain);
        } else {
            let one = c.encode_utf8(&mut buf);
            if NONSPACING_MARK.is_match(one) {
                continue;
            }
            out.push(if MARK_SYMBOL_PUNCTUATION.is_match(one) {
                ' '
            } else {
                c
            });
        }
    }
    out
}
