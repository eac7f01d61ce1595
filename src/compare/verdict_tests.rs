use super::*;

const RULE: Rule = Rule {
    threshold_pct: 5.0,
    min_abs_ms: 1.0,
};

fn est(b: f64, c: f64, sigma: f64) -> Estimate {
    Estimate {
        baseline_ms: b,
        candidate_ms: c,
        delta: (c / b).ln(),
        sigma,
        q: Z_99,
    }
}

#[test]
fn a_big_clear_slowdown_regresses() {
    let d = decide(&est(100.0, 120.0, 0.02), &RULE, &[]);
    assert_eq!(d.verdict, Verdict::Regressed, "{:?}", d.reasons);
}

#[test]
fn beyond_threshold_but_within_noise_is_inconclusive_with_the_noise_named() {
    // +12% with a 6% log sd: 2.576 * 6% = 15.5% of noise.
    let d = decide(&est(100.0, 112.0, 0.06), &RULE, &[]);
    assert_eq!(d.verdict, Verdict::Inconclusive);
    assert!(
        d.reasons[0].contains("within run-to-run noise (+-"),
        "{:?}",
        d.reasons
    );
}

#[test]
fn within_threshold_passes_even_when_precise() {
    let d = decide(&est(100.0, 104.0, 0.001), &RULE, &[]);
    assert_eq!(d.verdict, Verdict::Pass);
}

#[test]
fn the_absolute_floor_ignores_tiny_models() {
    // +50% of 1 ms is 0.5 ms, under the 1 ms floor.
    let d = decide(&est(1.0, 1.5, 0.01), &RULE, &[]);
    assert_eq!(d.verdict, Verdict::Pass);
    assert!(d.reasons[0].contains("floor"), "{:?}", d.reasons);
}

#[test]
fn improvements_are_symmetric() {
    assert_eq!(
        decide(&est(120.0, 100.0, 0.02), &RULE, &[]).verdict,
        Verdict::Improved
    );
    // Faster but within noise: a pass, not an inconclusive (nothing to warn about).
    assert_eq!(
        decide(&est(112.0, 100.0, 0.06), &RULE, &[]).verdict,
        Verdict::Pass
    );
}

#[test]
fn contamination_is_never_a_regression() {
    let d = decide(
        &est(100.0, 300.0, 0.01),
        &RULE,
        &["throttled 30 of 31 periods".to_string()],
    );
    assert_eq!(d.verdict, Verdict::Inconclusive);
    assert!(d.reasons[0].contains("throttled"));
}

#[test]
fn a_pass_says_when_the_noise_hides_the_threshold() {
    let d = decide(&est(100.0, 101.0, 0.08), &RULE, &[]);
    assert_eq!(d.verdict, Verdict::Pass);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("wider than the threshold"))
    );
}

#[test]
fn history_noise_uses_the_prior_for_short_histories() {
    let one = [HistoryPoint {
        metric_ms: 100.0,
        within_sd: 0.01,
    }];
    let e = estimate_vs_history(&one, 100.0, 0.01, 8.0).unwrap();
    let prior = 1.08f64.ln();
    let expect = (prior * prior * std::f64::consts::FRAC_PI_2 + prior * prior).sqrt();
    assert!((e.sigma - expect).abs() < 1e-12, "{} vs {expect}", e.sigma);
    assert_eq!(e.delta, 0.0);
}

#[test]
fn a_long_steady_history_narrows_the_noise_and_a_noisy_one_widens_it() {
    let pts = |v: &[f64]| -> Vec<HistoryPoint> {
        v.iter()
            .map(|m| HistoryPoint {
                metric_ms: *m,
                within_sd: 0.005,
            })
            .collect()
    };
    let steady = pts(&[
        100.0, 101.0, 99.0, 100.5, 99.5, 100.0, 100.2, 99.8, 100.1, 99.9,
    ]);
    let noisy = pts(&[
        80.0, 120.0, 95.0, 110.0, 90.0, 105.0, 100.0, 85.0, 115.0, 100.0,
    ]);
    // A small prior, so that the history speaks.
    let s = estimate_vs_history(&steady, 112.0, 0.01, 2.0).unwrap();
    let n = estimate_vs_history(&noisy, 112.0, 0.01, 2.0).unwrap();
    assert!(s.sigma < 0.05 && n.sigma > 0.10, "{} {}", s.sigma, n.sigma);
    assert_eq!(decide(&s, &RULE, &[]).verdict, Verdict::Regressed);
    assert_eq!(decide(&n, &RULE, &[]).verdict, Verdict::Inconclusive);
    // The center is the median of the history: one wild run does not move it.
    let wild = pts(&[100.0, 100.0, 100.0, 100.0, 500.0]);
    assert_eq!(
        estimate_vs_history(&wild, 100.0, 0.01, 8.0)
            .unwrap()
            .baseline_ms,
        100.0
    );
}

#[test]
fn a_candidate_noisier_than_the_history_counts_its_own_noise() {
    let h = vec![
        HistoryPoint {
            metric_ms: 100.0,
            within_sd: 0.001
        };
        10
    ];
    let quiet = estimate_vs_history(&h, 100.0, 0.001, 1.0).unwrap();
    let loud = estimate_vs_history(&h, 100.0, 0.10, 1.0).unwrap();
    assert!(
        loud.sigma > 0.1 && quiet.sigma < 0.02,
        "{} {}",
        loud.sigma,
        quiet.sigma
    );
}

#[test]
fn empty_or_nonsense_input_gives_no_estimate() {
    assert!(estimate_vs_history(&[], 100.0, 0.0, 8.0).is_none());
    let h = [HistoryPoint {
        metric_ms: 100.0,
        within_sd: 0.0,
    }];
    assert!(estimate_vs_history(&h, f64::NAN, 0.0, 8.0).is_none());
}

#[test]
fn the_minimum_detectable_slowdown_clears_both_the_threshold_and_the_noise() {
    let e = |sigma: f64| Estimate {
        baseline_ms: 100.0,
        candidate_ms: 100.0,
        delta: 0.0,
        sigma,
        q: Z_99,
    };
    let t = 1.05f64.ln();
    // Quiet: the threshold binds; noisy: the noise does.
    let quiet = e(0.005).minimum_detectable(t);
    assert!((quiet - (t + 1.645 * 0.005)).abs() < 1e-12, "{quiet}");
    let noisy = e(0.05).minimum_detectable(t);
    assert!((noisy - (Z_99 + 1.645) * 0.05).abs() < 1e-12, "{noisy}");
}

#[test]
fn the_bootstrap_is_deterministic_and_shrinks_with_more_samples() {
    let small: Vec<f64> = (0..20).map(|i| 100.0 + f64::from(i % 7)).collect();
    let big: Vec<f64> = (0..500).map(|i| 100.0 + f64::from(i % 7)).collect();
    let a = bootstrap_log_sd(&small, Metric::Median);
    assert_eq!(a, bootstrap_log_sd(&small, Metric::Median));
    assert!(bootstrap_log_sd(&big, Metric::Median) < a);
    assert_eq!(bootstrap_log_sd(&[5.0], Metric::Median), 0.0);
    assert!(bootstrap_log_sd(&small, Metric::P95) > 0.0);
}

#[test]
fn metric_of_picks_the_statistic() {
    let s: Vec<f64> = (1..=100).map(f64::from).collect();
    assert!((metric_of(Metric::Median, &s) - 50.5).abs() < 1e-9);
    assert!((metric_of(Metric::P95, &s) - 95.05).abs() < 1e-9);
}
