//! Whisper's `EnglishNumberNormalizer` (openai-whisper 20250625, `normalizers/english.py`):
//! spelled numbers become digits ("twenty five" -> "25", "one hundred and two" -> "102",
//! "fifth" -> "5th", "one oh one" -> "101", "two point five" -> "2.5"), currency words become
//! symbols before the number ("twenty dollars" -> "$20", "five cents" -> "¢5"), "percent" and
//! "per cent" become "%", and a lone "1" is written "one" again for readability.
//!
//! The Python original keeps a running value that is either an `int` (arithmetic still
//! possible) or a `str` (digits were concatenated, as in "one oh one"); [`Value`] keeps that
//! distinction, since the rules branch on it. Python's integers are unbounded ("nine
//! decillion" has 34 digits), so integers here are decimal digit strings ([`Int`]).

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::decimal::{Int, times_pow10};
use super::{WS, is_py_space, py_split};

/// Python's running `value`: an `int`, or a `str` once digits were concatenated.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Int(Int),
    Text(String),
}

impl Value {
    /// Python's `str(value)`.
    fn text(&self) -> String {
        match self {
            Value::Int(n) => n.0.clone(),
            Value::Text(t) => t.clone(),
        }
    }

    /// Python's `str(value or "")`: `0` and `""` are falsy.
    fn text_or_empty(value: Option<&Value>) -> String {
        match value {
            Some(Value::Int(n)) if n.is_zero() => String::new(),
            Some(v) => v.text(),
            None => String::new(),
        }
    }
}

/// Python's `re.match(r"^\d+(\.\d+)?$", s)`, ASCII digits only (see the module doc of
/// `normalize` for digits of other scripts).
fn is_arabic(s: &str) -> bool {
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    match s.split_once('.') {
        Some((int, frac)) => all_digits(int) && all_digits(frac),
        None => all_digits(s),
    }
}

/// An arabic number as Whisper stores it: `Fraction(s)` with denominator 1 becomes an int
/// ("007" -> 7, "5.0" -> 5), any other stays the text as written ("1.50").
fn arabic_value(s: &str) -> Value {
    match s.split_once('.') {
        Some((_, frac)) if !frac.bytes().all(|b| b == b'0') => Value::Text(s.to_string()),
        Some((int, _)) => Value::Int(Int::from_digits(int)),
        None => Value::Int(Int::from_digits(s)),
    }
}

const ONES: [&str; 19] = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [(&str, u32); 8] = [
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
];
/// Multiplier words and their powers of ten.
const MULTIPLIERS: [(&str, usize); 12] = [
    ("hundred", 2),
    ("thousand", 3),
    ("million", 6),
    ("billion", 9),
    ("trillion", 12),
    ("quadrillion", 15),
    ("quintillion", 18),
    ("sextillion", 21),
    ("septillion", 24),
    ("octillion", 27),
    ("nonillion", 30),
    ("decillion", 33),
];
const PRECEDING_PREFIXERS: [(&str, char); 4] = [
    ("minus", '-'),
    ("negative", '-'),
    ("plus", '+'),
    ("positive", '+'),
];
const FOLLOWING_PREFIXERS: [(&str, char); 8] = [
    ("pound", '£'),
    ("pounds", '£'),
    ("euro", '€'),
    ("euros", '€'),
    ("dollar", '$'),
    ("dollars", '$'),
    ("cent", '¢'),
    ("cents", '¢'),
];
const PREFIXES: [char; 6] = ['-', '+', '£', '€', '$', '¢'];
const SPECIALS: [&str; 4] = ["and", "double", "triple", "point"];

/// The vocabulary, built the way the Python constructor builds it (including its quirks:
/// "nine" + "th" gives "nineth", so "ninth" is not a number word there either).
struct Vocab {
    zeros: HashSet<&'static str>,
    ones: HashMap<&'static str, u32>,
    ones_suffixed: HashMap<String, (u32, &'static str)>,
    tens: HashMap<&'static str, u32>,
    tens_suffixed: HashMap<String, (u32, &'static str)>,
    multipliers: HashMap<&'static str, usize>,
    multipliers_suffixed: HashMap<String, (usize, &'static str)>,
    preceding: HashMap<&'static str, char>,
    following: HashMap<&'static str, char>,
    decimals: HashSet<&'static str>,
    words: HashSet<String>,
}

static VOCAB: LazyLock<Vocab> = LazyLock::new(|| {
    let zeros: HashSet<&str> = ["o", "oh", "zero"].into();
    let ones: HashMap<&str, u32> = (1..).zip(ONES).map(|(v, n)| (n, v)).collect();
    let mut ones_suffixed = HashMap::new();
    for (&name, &value) in &ones {
        let plural = if name == "six" {
            "sixes".to_string()
        } else {
            format!("{name}s")
        };
        ones_suffixed.insert(plural, (value, "s"));
    }
    for (name, value, suffix) in [
        ("zeroth", 0, "th"),
        ("first", 1, "st"),
        ("second", 2, "nd"),
        ("third", 3, "rd"),
        ("fifth", 5, "th"),
        ("twelfth", 12, "th"),
    ] {
        ones_suffixed.insert(name.to_string(), (value, suffix));
    }
    for (&name, &value) in &ones {
        if value > 3 && value != 5 && value != 12 {
            let ending = if name.ends_with('t') { "h" } else { "th" };
            ones_suffixed.insert(format!("{name}{ending}"), (value, "th"));
        }
    }
    let tens: HashMap<&str, u32> = TENS.into();
    let mut tens_suffixed = HashMap::new();
    for (name, value) in TENS {
        tens_suffixed.insert(name.replace('y', "ies"), (value, "s"));
        tens_suffixed.insert(name.replace('y', "ieth"), (value, "th"));
    }
    let multipliers: HashMap<&str, usize> = MULTIPLIERS.into();
    let mut multipliers_suffixed = HashMap::new();
    for (name, exponent) in MULTIPLIERS {
        multipliers_suffixed.insert(format!("{name}s"), (exponent, "s"));
        multipliers_suffixed.insert(format!("{name}th"), (exponent, "th"));
    }
    let decimals: HashSet<&str> = ones
        .keys()
        .chain(tens.keys())
        .chain(zeros.iter())
        .copied()
        .collect();
    let mut words: HashSet<String> = decimals.iter().map(|w| w.to_string()).collect();
    words.extend(ones_suffixed.keys().cloned());
    words.extend(tens_suffixed.keys().cloned());
    words.extend(multipliers.keys().map(|w| w.to_string()));
    words.extend(multipliers_suffixed.keys().cloned());
    words.extend(PRECEDING_PREFIXERS.iter().map(|(w, _)| w.to_string()));
    words.extend(FOLLOWING_PREFIXERS.iter().map(|(w, _)| w.to_string()));
    words.extend(["per", "percent"].map(String::from));
    words.extend(SPECIALS.map(String::from));
    Vocab {
        zeros,
        ones,
        ones_suffixed,
        tens,
        tens_suffixed,
        multipliers,
        multipliers_suffixed,
        preceding: PRECEDING_PREFIXERS.into(),
        following: FOLLOWING_PREFIXERS.into(),
        decimals,
        words,
    }
});

/// The state Python's `process_words` keeps between words.
#[derive(Default)]
struct State {
    prefix: Option<char>,
    value: Option<Value>,
    out: Vec<String>,
}

impl State {
    /// Python's `yield output(result)`: the pending prefix goes in front, value and prefix
    /// are cleared.
    fn emit(&mut self, result: String) {
        let result = match self.prefix.take() {
            Some(p) => format!("{p}{result}"),
            None => result,
        };
        self.value = None;
        self.out.push(result);
    }

    /// Python's `if value is not None: yield output(value)`.
    fn flush(&mut self) {
        if let Some(v) = self.value.take() {
            self.emit(v.text());
        }
    }
}

/// `digits` with its last "0" replaced by `ones` (after a tens word: "twenty" "five").
fn replace_last_zero(digits: &str, ones: u32) -> String {
    // Python asserts the last digit is "0"; after a tens word it always is.
    match digits.strip_suffix('0') {
        Some(head) => format!("{head}{ones}"),
        None => format!("{digits}{ones}"),
    }
}

/// Python's `process_words`, word by word with the previous and next word in view.
fn process_words(words: &[&str]) -> Vec<String> {
    let v = &*VOCAB;
    let in_ones = |w: Option<&str>| w.is_some_and(|w| v.ones.contains_key(w));
    let in_tens = |w: Option<&str>| w.is_some_and(|w| v.tens.contains_key(w));
    let in_words = |w: Option<&str>| w.is_some_and(|w| v.words.contains(w));
    let mut st = State::default();
    let mut skip = false;
    for (i, &current) in words.iter().enumerate() {
        if skip {
            skip = false;
            continue;
        }
        let prev = i.checked_sub(1).map(|p| words[p]);
        let next = words.get(i + 1).copied();
        let next_is_numeric = next.is_some_and(is_arabic);
        let first = current.chars().next().unwrap_or(' ');
        let has_prefix = PREFIXES.contains(&first);
        let without_prefix = if has_prefix {
            &current[first.len_utf8()..]
        } else {
            current
        };

        if is_arabic(without_prefix) {
            if let Some(value) = &st.value {
                if let Value::Text(t) = value
                    && t.ends_with('.')
                {
                    // concatenate decimals / IP address components
                    st.value = Some(Value::Text(format!("{t}{current}")));
                    continue;
                }
                st.flush();
            }
            if has_prefix {
                st.prefix = Some(first);
            }
            st.value = Some(arabic_value(without_prefix));
        } else if !v.words.contains(current) {
            st.flush();
            st.emit(current.to_string());
        } else if v.zeros.contains(current) {
            st.value = Some(Value::Text(format!(
                "{}0",
                Value::text_or_empty(st.value.as_ref())
            )));
        } else if let Some(&ones) = v.ones.get(current) {
            st.value = Some(match st.value.take() {
                None => Value::Int(Int::small(ones)),
                // "five" after "twenty" adds, after "twenty five" it concatenates
                Some(Value::Int(n)) if !in_ones(prev) => {
                    let group = if ones < 10 { 1 } else { 2 };
                    if n.rem_pow10(group) == 0 {
                        Value::Int(n.add(&Int::small(ones)))
                    } else {
                        Value::Text(format!("{}{ones}", n.0))
                    }
                }
                Some(value) => {
                    if in_tens(prev) && ones < 10 {
                        Value::Text(replace_last_zero(&value.text(), ones))
                    } else {
                        Value::Text(format!("{}{ones}", value.text()))
                    }
                }
            });
        } else if let Some(&(ones, suffix)) = v.ones_suffixed.get(current) {
            // ordinal or plural: the number ends here
            let number = match st.value.take() {
                None => ones.to_string(),
                Some(Value::Int(n)) if !in_ones(prev) => {
                    let group = if ones < 10 { 1 } else { 2 };
                    if n.rem_pow10(group) == 0 {
                        n.add(&Int::small(ones)).0
                    } else {
                        format!("{}{ones}", n.0)
                    }
                }
                Some(value) => {
                    if in_tens(prev) && ones < 10 {
                        replace_last_zero(&value.text(), ones)
                    } else {
                        format!("{}{ones}", value.text())
                    }
                }
            };
            st.emit(format!("{number}{suffix}"));
        } else if let Some(&tens) = v.tens.get(current) {
            st.value = Some(match st.value.take() {
                None => Value::Int(Int::small(tens)),
                Some(Value::Text(t)) => Value::Text(format!("{t}{tens}")),
                Some(Value::Int(n)) if n.rem_pow10(2) == 0 => Value::Int(n.add(&Int::small(tens))),
                Some(Value::Int(n)) => Value::Text(format!("{}{tens}", n.0)),
            });
        } else if let Some(&(tens, suffix)) = v.tens_suffixed.get(current) {
            let number = match st.value.take() {
                None => tens.to_string(),
                Some(Value::Text(t)) => format!("{t}{tens}"),
                Some(Value::Int(n)) if n.rem_pow10(2) == 0 => n.add(&Int::small(tens)).0,
                Some(Value::Int(n)) => format!("{}{tens}", n.0),
            };
            st.emit(format!("{number}{suffix}"));
        } else if let Some(&exponent) = v.multipliers.get(current) {
            st.value = Some(match st.value.take() {
                None => Value::Int(Int::pow10(exponent)),
                Some(Value::Int(n)) if n.is_zero() => Value::Int(n),
                Some(Value::Int(n)) => Value::Int(n.scale_last_group(exponent)),
                Some(Value::Text(t)) => match times_pow10(&t, exponent) {
                    Some(p) => Value::Int(p),
                    None => {
                        st.emit(t);
                        Value::Int(Int::pow10(exponent))
                    }
                },
            });
        } else if let Some(&(exponent, suffix)) = v.multipliers_suffixed.get(current) {
            match st.value.take() {
                None => st.emit(format!("{}{suffix}", Int::pow10(exponent).0)),
                Some(Value::Text(t)) => match times_pow10(&t, exponent) {
                    Some(p) => st.emit(format!("{}{suffix}", p.0)),
                    None => {
                        st.emit(t);
                        st.emit(format!("{}{suffix}", Int::pow10(exponent).0));
                    }
                },
                Some(Value::Int(n)) => {
                    st.emit(format!("{}{suffix}", n.scale_last_group(exponent).0))
                }
            }
        } else if let Some(&sign) = v.preceding.get(current) {
            // a sign applies only if a number follows
            st.flush();
            if in_words(next) || next_is_numeric {
                st.prefix = Some(sign);
            } else {
                st.emit(current.to_string());
            }
        } else if let Some(&symbol) = v.following.get(current) {
            // a currency applies only after a number
            if st.value.is_some() {
                st.prefix = Some(symbol);
                st.flush();
            } else {
                st.emit(current.to_string());
            }
        } else if current == "percent" || current == "per" {
            match st.value.take() {
                Some(value) if current == "percent" => st.emit(format!("{}%", value.text())),
                Some(value) if next == Some("cent") => {
                    st.emit(format!("{}%", value.text()));
                    skip = true;
                }
                Some(value) => {
                    st.emit(value.text());
                    st.emit(current.to_string());
                }
                None => st.emit(current.to_string()),
            }
        } else if !in_words(next) && !next_is_numeric {
            // "and", "double", "triple", "point" are special only before a number word
            st.flush();
            st.emit(current.to_string());
        } else if current == "and" {
            // "and" after hundreds, thousands etc. is dropped
            if !prev.is_some_and(|p| v.multipliers.contains_key(p)) {
                st.flush();
                st.emit(current.to_string());
            }
        } else if current == "double" || current == "triple" {
            match next {
                Some(n) if v.ones.contains_key(n) || v.zeros.contains(n) => {
                    let repeats = if current == "double" { 2 } else { 3 };
                    let digit = v.ones.get(n).copied().unwrap_or(0).to_string();
                    st.value = Some(Value::Text(format!(
                        "{}{}",
                        Value::text_or_empty(st.value.as_ref()),
                        digit.repeat(repeats)
                    )));
                    skip = true;
                }
                _ => {
                    st.flush();
                    st.emit(current.to_string());
                }
            }
        } else if next.is_some_and(|n| v.decimals.contains(n)) || next_is_numeric {
            // "point" before a number word or digits
            st.value = Some(Value::Text(format!(
                "{}.",
                Value::text_or_empty(st.value.as_ref())
            )));
        }
    }
    st.flush();
    st.out
}

static AND_A_HALF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"\band{WS}+a{WS}+half\b")).expect("valid regex"));
static LETTER_DIGIT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([a-z])([0-9])").expect("valid regex"));
static DIGIT_LETTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([0-9])([a-z])").expect("valid regex"));
static DIGIT_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"([0-9]){WS}+(st|nd|rd|th|s)\b")).expect("valid regex"));
static COMBINE_CENTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([€£$])([0-9]+) (?:and )?¢([0-9]{1,2})\b").expect("valid regex"));
static EXTRACT_CENTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[€£$]0.([0-9]{1,2})\b").expect("valid regex"));
static ONE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b1(s?)\b").expect("valid regex"));

/// Python's `preprocess`: "<number> and a half" becomes "<number> point five", and digits
/// are split from letters except for ordinal and plural suffixes ("1960s", "21st").
fn preprocess(s: &str) -> String {
    let segments: Vec<&str> = AND_A_HALF.split(s).collect();
    let mut results: Vec<&str> = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        if segment.trim_matches(is_py_space).is_empty() {
            continue;
        }
        results.push(segment);
        if i + 1 < segments.len() {
            let last_word = py_split(segment).last().unwrap_or("");
            let v = &*VOCAB;
            if v.decimals.contains(last_word) || v.multipliers.contains_key(last_word) {
                results.push("point five");
            } else {
                results.push("and a half");
            }
        }
    }
    let s = results.join(" ");
    let s = LETTER_DIGIT.replace_all(&s, "${1} ${2}");
    let s = DIGIT_LETTER.replace_all(&s, "${1} ${2}");
    DIGIT_SUFFIX.replace_all(&s, "${1}${2}").into_owned()
}

/// Python's `postprocess`: "$2 and ¢7" -> "$2.07", "$0.07" -> "¢7", "1" -> "one".
fn postprocess(s: &str) -> String {
    let s = COMBINE_CENTS.replace_all(s, |c: &Captures| {
        let cents: u32 = c[3].parse().unwrap_or(0);
        format!("{}{}.{cents:02}", &c[1], &c[2])
    });
    let s = EXTRACT_CENTS.replace_all(&s, |c: &Captures| {
        format!("¢{}", c[1].parse::<u32>().unwrap_or(0))
    });
    ONE.replace_all(&s, "one${1}").into_owned()
}

/// Whether the number normaliser reads `word` (lower-case) as part of a number.
#[cfg(test)]
pub(super) fn is_number_word(word: &str) -> bool {
    VOCAB.words.contains(word)
}

/// Whisper's `EnglishNumberNormalizer.__call__`.
pub(super) fn standardize(s: &str) -> String {
    let s = preprocess(s);
    let words: Vec<&str> = py_split(&s).collect();
    postprocess(&process_words(&words).join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vocabulary_keeps_pythons_spellings() {
        let v = &*VOCAB;
        for w in [
            "fourth",
            "eighth",
            "nineth",
            "twentieth",
            "sixes",
            "hundredth",
        ] {
            assert!(v.words.contains(w), "{w}");
        }
        assert!(!v.words.contains("ninth"));
    }
}
