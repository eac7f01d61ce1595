//! The comment of a duet: its columns name the sides as the command that ran it does (base and
//! head for `ci`, A and B for `ab`), and its medians are the duet's own.

use super::*;

/// `ci`'s duet of whisper-tiny, undecided: A (the base) 520 ms, B (the head) 540.3 ms; the
/// head's own run (the second opinion's measurement) has a median of 700 ms.
fn ci_duet(source: &str) -> ReportInput {
    let mut m = model_verdict("whisper-tiny", Outcome::Inconclusive, Some(3.9));
    m.cpu_model = "AMD EPYC 7763 64-Core Processor".into();
    m.test = "duet: 40 units (AB/BA in random order, seed 7, 1 iteration(s) per block) on 6 worker pair(s); Hodges-Lehmann estimate, Wilcoxon signed-rank interval widened by the pairs' random effect (sd 0.8%), group-sequential boundaries spending alpha 0.02 on the budget used; regressed = significantly slower and estimate above the threshold".into();
    m.reasons = vec![
        "+3.9%: undecided, [+1.9%, +5.9%] (98.9% interval, look 9, 40 units); the 60 s measuring budget (--budget, else [thresholds.x86_64] ab_time_budget_s) ran out".into(),
        "catching +8.0% at this run's noise needs about 336 s of measuring (217 units; this run measured 62 s)\n  fix: raise [thresholds.x86_64] ab_time_budget_s to about 336, or use a quieter machine".into(),
    ];
    m.baseline = Some(BaselineView {
        source: source.into(),
        center_ms: 520.0,
        runs_used: 40,
        runs_total: 40,
    });
    m.candidate_ms = Some(540.3);
    let mut v = verdict(vec![m]);
    v.mode = Some("ab".into());
    v.verdict = Outcome::Inconclusive;
    v.exit_code = 3;
    let mut input = full_input(v);
    input.result = Some(run_result(vec![model_result("whisper-tiny", 700.0)]));
    input.history.clear();
    input.sizing.clear();
    input
}

fn header(md: &str) -> &str {
    md.lines()
        .find(|l| l.starts_with("| Model |"))
        .unwrap_or_else(|| panic!("{md}"))
}

#[test]
fn a_ci_duet_says_base_and_head_and_shows_the_duets_own_medians() {
    let md = render(&ci_duet("variant A (base)"));
    assert!(
        header(&md)
            .starts_with("| Model | CPU | Base median | Head median | Base p95 | Head p95 |"),
        "{md}"
    );
    assert!(!md.contains("This run median"), "{md}");
    // Both medians from the duet (not the head's separate run, 700 ms); a duet has no p95.
    assert!(md.contains("| 520 ms | 540 ms | — | — | "), "{md}");
    assert!(md.contains("against variant A (base), 40 units"), "{md}");
    snapshots().bind(|| insta::assert_snapshot!("comment_ci_duet_undecided", md));
}

#[test]
fn an_ab_duet_says_a_and_b_and_compare_keeps_baseline_and_this_run() {
    let md = render(&ci_duet("variant A"));
    assert!(
        header(&md).starts_with("| Model | CPU | A median | B median | A p95 | B p95 |"),
        "{md}"
    );
    let mut compare = ci_duet("baselines/whisper-tiny/x86_64/amd-epyc-7763.json");
    compare.verdict.mode = Some("compare".into());
    let md = render(&compare);
    assert!(
        header(&md).starts_with(
            "| Model | CPU | Baseline median | This run median | Baseline p95 | This run p95 |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| 520 ms | 700 ms | "),
        "compare reads the run: {md}"
    );
}
