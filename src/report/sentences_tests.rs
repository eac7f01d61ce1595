//! Sentences in, whole sentences out: the splitter, the budget, and the comment as a reviewer
//! reads it for the real long reasons of an undecided duet and for arbitrary ones.

use proptest::prelude::*;

use super::*;
use crate::report::escape::inline_max;
use crate::report::input::{ModelVerdictView, Outcome, PctInterval, ReportInput, VerdictView};
use crate::report::markdown::{GITHUB_COMMENT_LIMIT, render};

/// The undecided duet of issue 21 (whisper-tiny, `graph_optimization_level` 3 -> 1, 5%
/// threshold), its reasons as `compare::ab_verdict` words them since issue 21's second round.
const STRADDLES: &str = "+3.9%: undecided, [+1.5%, +5.5%] (98.9% interval, look 9, 40 units); the 60 s measuring budget (--budget, else [thresholds.x86_64] ab_time_budget_s) ran out";
const NEEDS: &str = "catching +8.0% at this run's noise needs about 336 s of measuring (217 units; this run measured 62 s)\n  fix: raise [thresholds.x86_64] ab_time_budget_s to about 336, or use a quieter machine";
const DUET_TEST: &str = "duet: 40 units (AB/BA in random order, seed 7, 1 iteration(s) per block) on 6 worker pair(s); Hodges-Lehmann estimate, Wilcoxon signed-rank interval widened by the pairs' random effect (sd 0.8%), group-sequential boundaries spending alpha 0.02 on the budget used; regressed = significantly slower and estimate above the threshold";

fn sentence_texts(text: &str) -> Vec<&str> {
    sentences(text).into_iter().map(|(s, _)| s).collect()
}

#[test]
fn sentences_end_at_line_breaks_semicolons_and_stops_outside_brackets() {
    assert_eq!(
        sentence_texts(NEEDS),
        [
            "catching +8.0% at this run's noise needs about 336 s of measuring (217 units; this run measured 62 s)",
            "fix: raise [thresholds.x86_64] ab_time_budget_s to about 336, or use a quieter machine",
        ]
    );
    assert_eq!(
        sentence_texts("One. Two, e.g. three; four `a; b` five\r\nsix."),
        ["One.", "Two, e.g. three", "four `a; b` five", "six."]
    );
    assert_eq!(sentence_texts("3.5 ms; x.y"), ["3.5 ms", "x.y"]);
    assert!(sentences(" ;  \n ").is_empty() && sentences("").is_empty());
    assert_eq!(whole(" ; ", 10), "");
}

#[test]
fn unbalanced_brackets_keep_the_rest_in_one_sentence() {
    assert_eq!(sentence_texts("a (b; c. d"), ["a (b; c. d"]);
    assert_eq!(sentence_texts("a) b; c"), ["a) b", "c"]);
}

#[test]
fn leading_keeps_whole_sentences_within_the_budget_and_says_more_follows() {
    let shown = leading(NEEDS, 150);
    assert_eq!(
        shown.text,
        "catching +8.0% at this run's noise needs about 336 s of measuring (217 units; this run measured 62 s)"
    );
    assert!(shown.more);
    assert_eq!(
        whole(NEEDS, 150),
        format!("{} (more in the verdict JSON)", shown.text)
    );
    // Room for both: the line break becomes `; ` so the comment keeps one line.
    assert_eq!(
        reason(NEEDS),
        "catching +8.0% at this run's noise needs about 336 s of measuring (217 units; this run measured 62 s); fix: raise \\[thresholds.x86\\_64\\] ab\\_time\\_budget\\_s to about 336, or use a quieter machine"
    );
    // Not even the first sentence fits: nothing of it, and the note.
    assert_eq!(
        whole(NEEDS, 20),
        "(too long to show here; more in the verdict JSON)"
    );
    assert_eq!(whole("short", 20), "short");
}

#[test]
fn a_stop_keeps_its_sentence_and_a_line_break_after_it_becomes_a_space() {
    assert_eq!(
        whole("First one.\nSecond one.", 100),
        "First one. Second one."
    );
    assert_eq!(
        whole("First one. Second one.", 12),
        "First one. (more in the verdict JSON)"
    );
}

fn undecided_duet(reasons: &[&str]) -> ReportInput {
    let mut m: ModelVerdictView =
        serde_json::from_str(r#"{"model": "whisper-tiny", "verdict": "inconclusive"}"#).unwrap();
    m.cpu_model = "AMD EPYC 7763 64-Core Processor".into();
    m.reasons = reasons.iter().map(|s| (*s).to_owned()).collect();
    m.test = DUET_TEST.into();
    m.change_pct = Some(3.9);
    m.ci_pct = Some(PctInterval {
        low: 1.5,
        high: 5.5,
    });
    m.threshold_pct = Some(5.0);
    ReportInput::new(VerdictView {
        verdict: Outcome::Inconclusive,
        exit_code: 3,
        mode: Some("ab".into()),
        timestamp: None,
        models: vec![m],
    })
}

/// No `…` right after a letter or digit: nothing was cut inside a word.
fn cut_inside_a_word(md: &str) -> Option<String> {
    let chars: Vec<char> = md.chars().collect();
    chars.windows(2).enumerate().find_map(|(i, w)| {
        (w[1] == '…' && w[0].is_alphanumeric()).then(|| {
            chars[i.saturating_sub(40)..(i + 2).min(chars.len())]
                .iter()
                .collect()
        })
    })
}

#[test]
fn the_undecided_duets_headline_quotes_its_first_reason_whole_with_the_model() {
    let md = render(&undecided_duet(&[STRADDLES, NEEDS]));
    let headline = md.lines().nth(1).unwrap();
    assert_eq!(
        headline,
        "**bench-gate**: ⚠️ **inconclusive** because +3.9%: undecided, \\[+1.5%, +5.5%\\] (98.9% interval, look 9, 40 units); the 60 s measuring budget (--budget, else \\[thresholds.x86\\_64\\] ab\\_time\\_budget\\_s) ran out (whisper-tiny)"
    );
    assert_eq!(cut_inside_a_word(&md), None, "{md}");
}

#[test]
fn how_each_verdict_was_reached_shows_the_fix_and_the_test_whole() {
    let md = render(&undecided_duet(&[STRADDLES, NEEDS]));
    let line = md
        .split("- whisper-tiny:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or_else(|| panic!("{md}"));
    for whole_text in [STRADDLES, NEEDS, DUET_TEST] {
        for s in sentence_texts(whole_text) {
            let escaped = inline_max(s, usize::MAX);
            assert!(line.contains(&escaped), "{escaped}\nnot in\n{line}");
        }
    }
    assert!(line.contains("to about 336, or use a quieter machine\n  - test: duet:"));
    assert!(!line.contains('…'), "{line}");
}

#[test]
fn a_first_sentence_too_long_for_the_headline_is_still_quoted_whole() {
    // The wording before issue 21: one long sentence, no `;` before the knob.
    let old = STRADDLES.replace("units); the", "units) when the");
    let md = render(&undecided_duet(&[&old]));
    let headline = md.lines().nth(1).unwrap();
    assert!(
        headline.ends_with("ab\\_time\\_budget\\_s) ran out (whisper-tiny)"),
        "{headline}"
    );
    let endless = format!("{} and so on", "word ".repeat(200));
    let md = render(&undecided_duet(&[&endless]));
    assert_eq!(
        md.lines().nth(1).unwrap(),
        "**bench-gate**: ⚠️ **inconclusive** because of a reason too long for this line (whisper-tiny; more in the verdict JSON)"
    );
    assert!(md.contains("(too long to show here; more in the verdict JSON)"));
}

/// Words that need escaping, but none that ends a sentence or opens a bracket or code span
/// (an unbalanced one would make the rest of the text one sentence; tested above).
fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9%+|<>_*@&'~#-]{1,10}"
}

/// A generated sentence: its words, and maybe an aside (where, its words).
type Sentence = (Vec<String>, Option<(usize, Vec<String>)>);

/// A generated text: sentences, each with its separator (0: `; `, 1: `. `, 2: a line break).
type Text = Vec<(Sentence, u8)>;

/// A sentence: words, sometimes with a bracketed aside that holds a `; `.
fn sentence() -> impl Strategy<Value = Sentence> {
    (
        prop::collection::vec(word(), 1..60),
        prop::option::of((0usize..60, prop::collection::vec(word(), 2..6))),
    )
}

/// A text of 1 to 5 sentences, each followed by `; `, `. ` or a `\n  ` (as in `\n  fix:`).
fn text() -> impl Strategy<Value = Text> {
    prop::collection::vec((sentence(), 0u8..3), 1..5)
}

/// Builds the text, each word tagged `ʘnʘ` with its sentence's number `n` (counted on from
/// `next`), and returns it with its sentences.
fn build(parts: &[(Sentence, u8)], next: &mut usize) -> (String, Vec<(usize, String)>) {
    let mut text = String::new();
    let mut shown = Vec::new();
    for (k, ((words, aside), sep)) in parts.iter().enumerate() {
        let id = *next;
        *next += 1;
        let tag = |w: &String| format!("{w}ʘ{id}ʘ");
        let mut tagged: Vec<String> = words.iter().map(tag).collect();
        if let Some((at, aside)) = aside {
            let (a, b) = aside.split_at(aside.len() / 2);
            let a: Vec<String> = a.iter().map(tag).collect();
            let b: Vec<String> = b.iter().map(tag).collect();
            let at = (*at).min(tagged.len());
            tagged.insert(at, format!("({}; {})", a.join(" "), b.join(" ")));
        }
        let mut s = tagged.join(" ");
        let last = k + 1 == parts.len();
        let sep = match sep {
            0 => "; ",
            1 => {
                s.push('.');
                " "
            }
            _ => "\n  ",
        };
        text.push_str(&s);
        if !last {
            text.push_str(sep);
        }
        shown.push((id, s));
    }
    (text, shown)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever the reasons, contamination and test say, every sentence of them that appears
    /// in the comment (any of its tagged words) appears whole, and nothing ends in `…` inside
    /// a word.
    #[test]
    fn every_sentence_in_the_comment_is_whole(
        reasons in prop::collection::vec(text(), 1..4),
        contamination in prop::collection::vec(text(), 0..2),
        test in text(),
    ) {
        let mut next = 0;
        let mut all = Vec::new();
        let mut texts = |parts: &[_]| {
            let (t, s) = build(parts, &mut next);
            all.extend(s);
            t
        };
        let reasons: Vec<String> = reasons.iter().map(|r| texts(r)).collect();
        let contamination: Vec<String> = contamination.iter().map(|c| texts(c)).collect();
        let test = texts(&test);
        let mut input = undecided_duet(&[]);
        let m = &mut input.verdict.models[0];
        m.reasons = reasons;
        m.contamination = contamination;
        m.test = test;
        let md = render(&input);
        prop_assert!(md.chars().count() <= GITHUB_COMMENT_LIMIT);
        prop_assert_eq!(cut_inside_a_word(&md), None);
        for (id, s) in &all {
            if md.contains(&format!("ʘ{id}ʘ")) {
                let escaped = inline_max(s, usize::MAX);
                prop_assert!(md.contains(&escaped), "sentence {} cut:\n{}\n\n{}", id, escaped, md);
            }
        }
        // Something of the first reason always reaches the reader: its sentence or the note.
        prop_assert!(md.contains("ʘ") || md.contains(MORE));
    }
}
