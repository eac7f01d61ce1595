use super::*;

/// The relative floor alone (no MiB part), at the duet's 1%.
const PCT: Floor = Floor { pct: 1.0, mib: 0.0 };

/// The issue's duet: one more encoder layer, A 273.0 / 273.3 MiB, B 290 / 290.2 MiB.
const ISSUE: [(f64, f64); 2] = [(273.0, 290.0), (273.3, 290.2)];

#[test]
fn the_issues_pairs_agreeing_on_six_percent_regress_a_five_percent_gate() {
    let v = judge(&ISSUE, Some(5.0), PCT);
    assert_eq!(v.verdict, Some(Verdict::Regressed), "{v:?}");
    assert_eq!(v.pairs.len(), 2);
    assert!((v.pairs[0].change_pct - 6.227).abs() < 0.01, "{v:?}");
    assert!((v.pairs[1].change_pct - 6.184).abs() < 0.01, "{v:?}");
    assert_eq!((v.baseline_mb, v.candidate_mb), (Some(273.15), 290.1));
    assert!(
        (v.noise_pct.unwrap() - 1.0).abs() < 1e-9,
        "the measured floor: {v:?}"
    );
    assert!(
        v.reasons[0].starts_with("peak memory: per pair +6.2%, +6.2%: every pair beyond +6.0%"),
        "{v:?}"
    );
}

#[test]
fn a_floor_as_wide_as_the_gap_to_the_threshold_leaves_the_issues_pairs_inconclusive() {
    // With a 2% floor every pair must be beyond +7.1%: +6.2% is not, nor below +2.9%.
    let v = judge(&ISSUE, Some(5.0), Floor { pct: 2.0, mib: 0.0 });
    assert_eq!(v.verdict, Some(Verdict::Inconclusive), "{v:?}");
    let why = &v.reasons[0];
    assert!(
        why.contains("neither all beyond +7.1% nor all below +2.9%")
            && why.contains("more pairs that agree decide it"),
        "{why}"
    );
}

#[test]
fn a_a_within_a_third_of_a_percent_passes() {
    let v = judge(&[(273.0, 273.8), (273.5, 273.0)], Some(5.0), PCT);
    assert_eq!(v.verdict, Some(Verdict::Pass), "{v:?}");
    assert!(v.reasons[0].contains("every pair below +4.0%"), "{v:?}");
    // Shown, not gated, without a threshold.
    let shown = judge(&[(273.0, 273.8), (273.5, 273.0)], None, PCT);
    assert_eq!(shown.verdict, None);
    assert!(shown.reasons[0].contains("not gated"), "{shown:?}");
}

#[test]
fn one_pair_disagreeing_makes_it_inconclusive_both_ways() {
    // Pair 2 sees no change: the pairs do not agree on a regression.
    let v = judge(&[(273.0, 290.0), (273.3, 273.5)], Some(5.0), PCT);
    assert_eq!(v.verdict, Some(Verdict::Inconclusive), "{v:?}");
    // B's own peaks differ by 6%: that spread is the floor, wider than the measured one.
    assert!((v.noise_pct.unwrap() - 6.0).abs() < 0.1, "{v:?}");
    assert!(
        v.reasons[0].contains("this run's B peaks (290.0 / 273.5 MiB) set the floor"),
        "{v:?}"
    );
}

#[test]
fn this_runs_own_a_a_spread_widens_the_floor() {
    // A's two processes differ by 3%: a +6.2% B is not beyond 5% + 3%.
    let v = judge(&[(265.0, 290.0), (273.0, 290.2)], Some(5.0), PCT);
    assert_eq!(v.verdict, Some(Verdict::Inconclusive), "{v:?}");
    assert!(v.reasons[0].contains("this run's A peaks"), "{v:?}");
    // The same run against a 15% gate passes: +9.4% and +6.3% are below 15% - 3%.
    let v = judge(&[(265.0, 290.0), (273.0, 290.2)], Some(15.0), PCT);
    assert_eq!(v.verdict, Some(Verdict::Pass), "{v:?}");
}

#[test]
fn one_pair_alone_is_judged_with_the_measured_floor() {
    assert_eq!(
        judge(&[(273.0, 290.0)], Some(5.0), PCT).verdict,
        Some(Verdict::Regressed)
    );
    assert_eq!(
        judge(&[(273.0, 289.0)], Some(5.0), PCT).verdict,
        Some(Verdict::Inconclusive),
        "+5.9% is not beyond +6.05%"
    );
    let v = judge(&[(273.0, 250.0)], Some(5.0), PCT);
    assert_eq!(v.verdict, Some(Verdict::Improved), "{v:?}");
}

#[test]
fn a_deterministic_arena_is_gated_without_noise() {
    // +4.9% against a 5% gate passes, +5.1% regresses: no margin needed when every worker agrees.
    let pass = arena(&[(163.79, 171.8), (163.79, 171.8)], Some(5.0)).unwrap();
    assert!(pass.deterministic);
    assert_eq!(pass.verdict, Some(Verdict::Pass), "{pass:?}");
    let reg = arena(&[(163.79, 172.2), (163.79, 172.2)], Some(5.0)).unwrap();
    assert_eq!(reg.verdict, Some(Verdict::Regressed), "{reg:?}");
    assert!(
        reg.reason.starts_with(
            "ORT arena peak 172.2 MiB against 163.8 MiB (+5.1%, the same in every worker)"
        ),
        "{reg:?}"
    );
}

#[test]
fn an_arena_that_differs_between_workers_is_shown_not_gated() {
    let line = arena(&[(163.79, 200.0), (160.0, 200.0)], Some(5.0)).unwrap();
    assert!(!line.deterministic);
    assert_eq!((line.verdict, line.change_pct), (None, None));
    assert!(
        line.reason.contains("A 160.0..163.8 MiB") && line.reason.ends_with("not gated"),
        "{line:?}"
    );
    // A worker without an arena: no line.
    assert!(arena(&[(163.79, 0.0)], Some(5.0)).is_none());
    assert!(arena(&[], Some(5.0)).is_none());
}

#[test]
fn a_regressed_arena_regresses_the_memory_line_that_rss_passed() {
    let rss = [(273.0, 273.8), (273.5, 273.0)];
    let v = duet_memory(&rss, &[(163.79, 180.0), (163.79, 180.0)], Some(5.0));
    assert_eq!(v.verdict, Some(Verdict::Regressed), "{v:?}");
    assert!(
        v.reasons[1].starts_with("peak memory: ORT arena peak 180.0 MiB"),
        "{v:?}"
    );
    // An arena that does not decide leaves RSS's verdict as it was.
    let v = duet_memory(&rss, &[(163.79, 180.0), (150.0, 180.0)], Some(5.0));
    assert_eq!(v.verdict, Some(Verdict::Pass), "{v:?}");
    assert!(v.arena.as_ref().is_some_and(|a| !a.deterministic));
}

/// Two pairs whose RSS grew while ORT's arena did not may be glibc's two allocation modes (an
/// A/A duet here: A 285.1/285.5, B 303.2/302.8 MiB): not a regression with so few pairs. With
/// the 6 pairs a fast model gets, every pair agreeing is the growth it looks like.
#[test]
fn an_rss_growth_the_arena_contradicts_needs_more_than_two_pairs_to_regress() {
    let flat = [(163.79, 163.79); 6];
    let v = duet_memory(&ISSUE, &flat[..2], Some(5.0));
    assert_eq!(v.verdict, Some(Verdict::Inconclusive), "{v:?}");
    assert!(
        v.reasons
            .iter()
            .any(|r| r.contains("glibc's two allocation modes")
                && r.contains("fix: --worker-pairs 4 or more")),
        "{v:?}"
    );
    assert_eq!(v.arena.as_ref().unwrap().verdict, Some(Verdict::Pass));
    // An arena that grew too (within its threshold) confirms the growth: 2 pairs suffice.
    let v = duet_memory(&ISSUE, &[(163.79, 170.0); 2], Some(5.0));
    assert_eq!(v.verdict, Some(Verdict::Regressed), "{v:?}");
    let six: Vec<(f64, f64)> = ISSUE.iter().cycle().take(6).copied().collect();
    let v = duet_memory(&six, &flat, Some(5.0));
    assert_eq!(v.verdict, Some(Verdict::Regressed), "{v:?}");
}

#[test]
fn a_small_models_floor_is_a_mib_not_a_percent() {
    // 53 MiB: 1 MiB is a 1.9% floor. +6.6% in both pairs is below 5% + 1.9%; with the relative
    // floor alone it would regress.
    let pairs = [(53.0, 56.5), (53.0, 56.5)];
    let v = judge(&pairs, Some(5.0), AA_FLOOR);
    assert_eq!(v.verdict, Some(Verdict::Inconclusive), "{v:?}");
    assert!((v.noise_pct.unwrap() - 100.0 / 53.0).abs() < 1e-9, "{v:?}");
    assert_eq!(
        judge(&pairs, Some(5.0), PCT).verdict,
        Some(Verdict::Regressed)
    );
    // The issue's 273 MiB: 1 MiB is 0.37%, the 1% part decides.
    let v = judge(&ISSUE, Some(5.0), AA_FLOOR);
    assert_eq!(v.verdict, Some(Verdict::Regressed), "{v:?}");
    assert!((v.noise_pct.unwrap() - 1.0).abs() < 1e-9, "{v:?}");
}
