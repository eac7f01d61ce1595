use proptest::prelude::*;

use super::*;
use crate::accuracy::wer::counts;

/// An utterance scored the way the worker scores it: normalised words, aligned.
fn heard(wav: &str, reference: &str, hypothesis: &str) -> UtteranceScore {
    let c = counts(&align(&words(reference), &words(hypothesis)));
    UtteranceScore {
        wav: wav.into(),
        reference: reference.into(),
        hypothesis: hypothesis.into(),
        tokens: hypothesis.bytes().map(i64::from).collect(),
        reference_words: words(reference).len() as u32,
        substitutions: c.substitutions,
        deletions: c.deletions,
        insertions: c.insertions,
    }
}

/// An utterance with only its counts: `errors` substitutions among `words` reference words.
fn scored(wav: &str, words: u32, errors: u32) -> UtteranceScore {
    UtteranceScore {
        wav: wav.into(),
        reference: String::new(),
        hypothesis: format!("{errors} errors"),
        tokens: vec![i64::from(errors)],
        reference_words: words,
        substitutions: errors,
        deletions: 0,
        insertions: 0,
    }
}

fn set(utterances: Vec<UtteranceScore>) -> Accuracy {
    Accuracy::new("set.tsv".into(), "5e7".into(), utterances)
}

/// `errors[i]` errors on utterance i of `words` words each.
fn counted(words: u32, errors: &[u32]) -> Accuracy {
    set(errors
        .iter()
        .enumerate()
        .map(|(i, &e)| scored(&format!("u{i}.wav"), words, e))
        .collect())
}

const REFERENCE: &str = "Mr. Dashwood had 25 pounds and the house";

#[test]
fn identical_transcripts_pass_with_no_change_at_all() {
    let a = counted(10, &[1, 0, 2, 0, 1, 3, 0, 0, 1, 0]);
    let v = judge(&a, &a.clone(), Some(AccuracyRule::Points(1.0))).unwrap();
    assert_eq!(v.verdict, Some(Verdict::Pass));
    assert_eq!(v.change_pts, 0.0);
    assert_eq!(
        v.ci_pts,
        Some(PctInterval {
            low: 0.0,
            high: 0.0
        })
    );
    assert!(v.changed.is_empty());
    assert!(
        v.reasons[0].starts_with("the same words on all 10 utterances"),
        "{v:?}"
    );
}

#[test]
fn one_utterance_slightly_worse_among_many_passes_a_large_limit() {
    let a = counted(10, &[0; 20]);
    let mut e = [0; 20];
    e[7] = 1;
    let v = judge(&a, &counted(10, &e), Some(AccuracyRule::Points(5.0))).unwrap();
    assert_eq!(v.verdict, Some(Verdict::Pass), "{v:?}");
    assert!((v.change_pts - 0.5).abs() < 1e-12);
    let ci = v.ci_pts.unwrap();
    assert!(ci.low <= 0.0 && ci.high > 0.5 && ci.high <= 5.0, "{ci:?}");
    assert!(v.reasons[0].contains("within the 5.0-point limit"), "{v:?}");
}

#[test]
fn a_damaged_model_worse_on_most_utterances_regresses() {
    let a = counted(
        12,
        &[0, 1, 0, 0, 2, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    );
    let b = counted(
        12,
        &[3, 5, 2, 4, 6, 1, 4, 3, 0, 5, 4, 2, 3, 6, 5, 2, 3, 4, 1, 5],
    );
    let v = judge(&a, &b, Some(AccuracyRule::Points(1.0))).unwrap();
    assert_eq!(v.verdict, Some(Verdict::Regressed), "{v:?}");
    assert_eq!(v.utterances, 20);
    assert_eq!(v.reference_words, 240);
    assert!(v.ci_pts.unwrap().low > 1.0, "{v:?}");
    assert!(
        v.reasons[0].starts_with("WER 2.9% -> 28.3% (+25.4 points, 95% interval +"),
        "{v:?}"
    );
    assert!(v.reasons[0].contains("on 20 utterances (240 words): beyond the 1.0-point limit"));
    assert_eq!(v.changed.len(), 19);
}

#[test]
fn one_changed_word_on_three_utterances_is_too_small_to_tell() {
    let refs = [REFERENCE, "It was a fine day", "She read the letter twice"];
    let a = set(refs
        .iter()
        .enumerate()
        .map(|(i, r)| heard(&format!("u{i}.wav"), r, r))
        .collect());
    let mut b = a.clone();
    b.utterances[0] = heard(
        "u0.wav",
        REFERENCE,
        "Mr. Dashboard had 25 pounds and the house",
    );
    let v = judge(&a, &b, Some(AccuracyRule::Points(1.0))).unwrap();
    assert_eq!(v.verdict, Some(Verdict::Inconclusive), "{v:?}");
    // Whisper's normaliser reads "twenty five pounds" as one word, "£25".
    assert_eq!(v.reference_words, 17);
    assert!(
        v.reasons[0].contains("on 3 utterances (17 words): beyond the 1.0-point limit, but the set is too small to tell"),
        "{v:?}"
    );
    assert!(v.reasons[0].contains("label more utterances"), "{v:?}");
    assert_eq!(v.changed[0].words, vec!["dashwood -> dashboard"]);
}

#[test]
fn b_better_everywhere_by_more_than_the_limit_is_improved() {
    let a = counted(10, &[2, 3, 1, 2, 4, 2, 3, 1, 2, 2, 3, 2]);
    let b = counted(10, &[0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    let v = judge(&a, &b, Some(AccuracyRule::Points(1.0))).unwrap();
    assert_eq!(v.verdict, Some(Verdict::Improved), "{v:?}");
    assert!(v.ci_pts.unwrap().high < 0.0);
    // Better, but within the limit: a pass, the same promise as latency's `improved`.
    let v = judge(&a, &b, Some(AccuracyRule::Points(30.0))).unwrap();
    assert_eq!(v.verdict, Some(Verdict::Pass), "{v:?}");
    assert!(v.reasons[0].ends_with("no more errors than A"), "{v:?}");
}

#[test]
fn a_pass_on_a_set_too_small_to_see_the_limit_says_so() {
    // B fixed one utterance and broke another: no more errors, but 4 utterances of 10 words
    // cannot rule out a change of several points.
    let v = judge(
        &counted(10, &[0, 2, 0, 0]),
        &counted(10, &[2, 0, 0, 0]),
        Some(AccuracyRule::Points(1.0)),
    )
    .unwrap();
    assert_eq!(v.verdict, Some(Verdict::Pass), "{v:?}");
    assert!(
        v.reasons[0].contains("no more errors than A, though the set cannot rule out up to +"),
        "{v:?}"
    );
}

#[test]
fn mlperf99_holds_at_99_percent_of_a_word_accuracy_and_fails_below() {
    let a = counted(100, &[10; 10]); // WER 10%: accuracy 90%, limit 89.1%
    let mut e = [10; 10];
    e[0] = 18; // WER 10.8%: accuracy 89.2%
    let v = judge(&a, &counted(100, &e), Some(AccuracyRule::Mlperf99)).unwrap();
    assert_eq!(v.verdict, Some(Verdict::Pass), "{v:?}");
    assert_eq!(
        v.reasons[0],
        "word accuracy 90.00% -> 89.20% on 10 utterances (1000 words): at or above the MLPerf limit of 99% of A's, 89.10%"
    );
    e[0] = 19; // WER 10.9%: accuracy 89.1%, exactly at the line
    let v = judge(&a, &counted(100, &e), Some(AccuracyRule::Mlperf99)).unwrap();
    assert_eq!(v.verdict, Some(Verdict::Pass), "{v:?}");
    e[0] = 20; // WER 11%: accuracy 89.0%
    let v = judge(&a, &counted(100, &e), Some(AccuracyRule::Mlperf99)).unwrap();
    assert_eq!(v.verdict, Some(Verdict::Regressed), "{v:?}");
    assert!(
        v.reasons[0].contains("89.00%: below") || v.reasons[0].contains("below the MLPerf limit")
    );
}

#[test]
fn another_set_or_other_utterances_cannot_be_compared() {
    let a = counted(10, &[0, 1, 2]);
    let mut b = a.clone();
    b.set_sha256 = "0ther".into();
    let e = judge(&a, &b, None).unwrap_err();
    assert!(matches!(e, Incomparable::OtherSet { .. }));
    assert!(e.to_string().contains("transcribe the same set"), "{e}");

    let mut b = a.clone();
    b.utterances[2].wav = "new.wav".into();
    let e = judge(&a, &b, None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the two records do not hold the same utterances (only in A: u2.wav; only in B: new.wav): transcribe the whole set with both variants"
    );

    let mut b = a.clone();
    b.normalizer = "whisper-english-0".into();
    assert!(matches!(
        judge(&a, &b, None),
        Err(Incomparable::OtherNormalizer { .. })
    ));
}

#[test]
fn utterances_pair_by_wav_whatever_their_order() {
    let a = counted(10, &[0, 1, 2, 0]);
    let mut b = a.clone();
    b.utterances.reverse();
    let v = judge(&a, &b, Some(AccuracyRule::Points(1.0))).unwrap();
    assert_eq!(v.verdict, Some(Verdict::Pass));
    assert_eq!(v.change_pts, 0.0);
}

#[test]
fn the_same_input_gives_the_same_interval() {
    let a = counted(15, &[0, 1, 0, 2, 1, 0, 0, 3, 1, 0, 0, 1]);
    let b = counted(15, &[1, 1, 2, 2, 0, 0, 1, 4, 1, 0, 2, 1]);
    let v1 = judge(&a, &b, Some(AccuracyRule::Points(1.0))).unwrap();
    let v2 = judge(&a, &b, Some(AccuracyRule::Points(1.0))).unwrap();
    assert_eq!(v1, v2);
    assert!(v1.ci_pts.is_some());
}

#[test]
fn a_change_exactly_at_the_limit_is_not_beyond_it() {
    // 10 utterances of 10 words; B makes one more error on each of the ten: exactly +10 points.
    let a = counted(10, &[0; 10]);
    let v = judge(&a, &counted(10, &[1; 10]), Some(AccuracyRule::Points(10.0))).unwrap();
    assert_eq!(v.change_pts, 10.0);
    // Every utterance changed alike: the whole interval sits at the limit, which is within it.
    assert_eq!(
        v.ci_pts,
        Some(PctInterval {
            low: 10.0,
            high: 10.0
        })
    );
    assert_eq!(v.verdict, Some(Verdict::Pass), "{v:?}");
    // The same change where one utterance carries it all: unknown.
    let mut e = [0; 10];
    e[3] = 10;
    let v = judge(&a, &counted(10, &e), Some(AccuracyRule::Points(10.0))).unwrap();
    assert_eq!(v.verdict, Some(Verdict::Inconclusive), "{v:?}");
}

#[test]
fn few_changed_utterances_cannot_regress_however_bad() {
    // Five utterances, all five much worse: the bootstrap is sure, but five coin flips all
    // landing the same way happen 1 time in 32 by chance.
    let v = judge(
        &counted(10, &[0; 5]),
        &counted(10, &[5; 5]),
        Some(AccuracyRule::Points(1.0)),
    )
    .unwrap();
    assert_eq!(v.verdict, Some(Verdict::Inconclusive), "{v:?}");
    assert!(v.reasons[0].contains("of the 5 utterances that changed, 5 got worse and 0 better, which chance alone does 3.1% of the time"), "{v:?}");
    // Six are enough (1 in 64).
    let v = judge(
        &counted(10, &[0; 6]),
        &counted(10, &[5; 6]),
        Some(AccuracyRule::Points(1.0)),
    )
    .unwrap();
    assert_eq!(v.verdict, Some(Verdict::Regressed), "{v:?}");
}

#[test]
fn a_single_utterance_has_no_interval_and_decides_nothing_but_no_worse() {
    let a = counted(10, &[1]);
    let v = judge(&a, &counted(10, &[3]), Some(AccuracyRule::Points(1.0))).unwrap();
    assert_eq!(v.ci_pts, None);
    assert_eq!(v.verdict, Some(Verdict::Inconclusive), "{v:?}");
    assert!(v.reasons[0].contains("one utterance cannot show"), "{v:?}");
    let v = judge(&a, &counted(10, &[0]), Some(AccuracyRule::Points(1.0))).unwrap();
    assert_eq!(v.verdict, Some(Verdict::Pass), "{v:?}");
    assert!(
        v.reasons[0].contains("though one utterance cannot show"),
        "{v:?}"
    );
}

#[test]
fn without_a_rule_the_change_is_shown_not_gated() {
    let v = judge(&counted(10, &[0; 8]), &counted(10, &[2; 8]), None).unwrap();
    assert_eq!(v.verdict, None);
    assert!((v.change_pts - 20.0).abs() < 1e-12);
    assert!(
        v.reasons[0].ends_with("(not gated: no accuracy rule configured)"),
        "{v:?}"
    );
}

#[test]
fn a_set_without_reference_words_is_inconclusive_not_a_pass() {
    let v = judge(
        &counted(0, &[0, 0]),
        &counted(0, &[0, 1]),
        Some(AccuracyRule::Points(1.0)),
    );
    let v = v.unwrap();
    assert_eq!(v.verdict, Some(Verdict::Inconclusive));
    assert!(v.reasons[0].contains("no words"), "{v:?}");
}

#[test]
fn changed_utterances_list_word_changes_from_a_to_b() {
    let a = set(vec![heard(
        "u0.wav",
        REFERENCE,
        "Mr. Dashwood had 25 pounds and house",
    )]);
    let b = set(vec![heard(
        "u0.wav",
        REFERENCE,
        "Mr. Dashboard had 25 and the house",
    )]);
    let v = judge(&a, &b, None).unwrap();
    let c = &v.changed[0];
    // "25 pounds" normalises to "£25" (Whisper's currency rule), plain "25" stays "25".
    assert_eq!(c.words, vec!["dashwood -> dashboard", "£25 -> 25", "+the"]);
    assert_eq!((c.a_errors, c.b_errors), (1, 2));
    assert_eq!(c.reference, REFERENCE);

    // Not number words: Whisper's normaliser would join "one two three" into one number.
    let long =
        "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november";
    let a = set(vec![heard("u0.wav", long, long)]);
    let b = set(vec![heard("u0.wav", long, "")]);
    let words = &judge(&a, &b, None).unwrap().changed[0].words;
    assert_eq!(words.len(), 13);
    assert_eq!(words[0], "-alpha");
    assert_eq!(words[12], "…and 2 more");
}

#[test]
fn the_rule_reads_and_writes_as_documented() {
    assert_eq!(
        serde_json::to_string(&AccuracyRule::Points(1.0)).unwrap(),
        r#"{"points":1.0}"#
    );
    assert_eq!(
        serde_json::from_str::<AccuracyRule>(r#""mlperf99""#).unwrap(),
        AccuracyRule::Mlperf99
    );
}

#[test]
fn only_bad_accuracy_news_changes_the_model_verdict() {
    use Verdict::*;
    assert_eq!(combine(Pass, Some(Regressed)), Regressed);
    assert_eq!(combine(Improved, Some(Inconclusive)), Inconclusive);
    assert_eq!(combine(Regressed, Some(Improved)), Regressed);
    assert_eq!(combine(Inconclusive, Some(Pass)), Inconclusive);
    assert_eq!(combine(Improved, Some(Improved)), Improved);
    assert_eq!(combine(Pass, None), Pass);
}

#[test]
fn the_sign_flip_test_counts_sign_patterns_exactly() {
    assert_eq!(sign_flip_p(&[1, 1, 1]), (0.125, 1.0));
    // +-2 +-1: sums 3, 1, -1, -3; observed 1.
    assert_eq!(sign_flip_p(&[2, -1, 0]), (0.5, 0.75));
    assert_eq!(sign_flip_p(&[0, 0]), (1.0, 1.0));
}

#[test]
fn the_expanded_interval_is_widest_on_few_utterances() {
    assert!(expanded_tail(2) < 1e-6);
    assert!(expanded_tail(5) < 0.002);
    let t20 = expanded_tail(20);
    assert!(t20 > 0.014 && t20 < 0.018, "{t20}");
    let t1000 = expanded_tail(1000);
    assert!((t1000 - 0.025).abs() < 0.0005, "{t1000}");
    assert!((student_t_975(31) - 2.040).abs() < 2e-3);
}

fn arb_pair() -> impl Strategy<Value = (Accuracy, Accuracy)> {
    prop::collection::vec((1u32..40, 0u32..8, 0u32..8), 1..25).prop_map(|rows| {
        let words: Vec<u32> = rows.iter().map(|r| r.0).collect();
        let make = |pick: fn(&(u32, u32, u32)) -> u32| {
            set(rows
                .iter()
                .enumerate()
                .map(|(i, r)| scored(&format!("u{i}.wav"), words[i], pick(r)))
                .collect())
        };
        (make(|r| r.1), make(|r| r.2))
    })
}

proptest! {
    #[test]
    fn swapping_a_and_b_negates_the_change_and_mirrors_the_interval((a, b) in arb_pair()) {
        let ab = judge(&a, &b, Some(AccuracyRule::Points(1.0))).unwrap();
        let ba = judge(&b, &a, Some(AccuracyRule::Points(1.0))).unwrap();
        prop_assert!((ab.change_pts + ba.change_pts).abs() < 1e-9);
        match (ab.ci_pts, ba.ci_pts) {
            (Some(x), Some(y)) => {
                prop_assert!((x.low + y.high).abs() < 1e-9, "{:?} {:?}", x, y);
                prop_assert!((x.high + y.low).abs() < 1e-9, "{:?} {:?}", x, y);
            }
            (None, None) => {}
            other => prop_assert!(false, "{:?}", other),
        }
        let mirrored = |v: Option<Verdict>| match v {
            Some(Verdict::Regressed) => Some(Verdict::Improved),
            Some(Verdict::Improved) => Some(Verdict::Regressed),
            v => v,
        };
        if ab.verdict == Some(Verdict::Regressed) || ab.verdict == Some(Verdict::Improved) {
            prop_assert_eq!(mirrored(ab.verdict), ba.verdict);
        }
    }

    #[test]
    fn the_interval_contains_the_change((a, b) in arb_pair()) {
        let v = judge(&a, &b, None).unwrap();
        if let Some(i) = v.ci_pts {
            prop_assert!(i.low <= v.change_pts && v.change_pts <= i.high, "{:?}", v);
        }
        prop_assert!(v.change_pts.is_finite());
    }
}
