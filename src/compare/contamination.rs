//! Is a run evidence at all? A run the kernel throttled, the hypervisor robbed, or that was far
//! noisier than the baseline's runs, or shared its pinned core with another process, measured the machine, not the change: its verdict is
//! `inconclusive`, never `regressed`.
//!
//! The thresholds are deliberately lower than the warnings of `bench-gate run`
//! ([`crate::platform::THROTTLED_PERIODS_WARN`] = 25%): a warning says "latencies are inflated",
//! the gate must refuse to convict on much less, because a 1% share of throttled periods is
//! already a few percent of latency on a workload that runs at its quota.

use crate::platform::EnvDelta;

/// Share of CFS periods throttled from which a run is contaminated (with at least one throttle).
pub const THROTTLED_PERIODS_MAX: f64 = 0.01;
/// Time held back by the quota, as a share of the run's elapsed time, from which it is
/// contaminated (covers a few long throttles in a short run).
pub const THROTTLED_TIME_MAX: f64 = 0.01;
/// Share of CPU time stolen by the hypervisor from which a run is contaminated.
pub const STEAL_MAX: f64 = 0.05;
/// Share of the run spent runnable but waiting for the CPU (another process on the pinned
/// core) from which it is contaminated. A quiet pinned core shows well under 1%.
pub const RUN_DELAY_MAX: f64 = 0.03;
/// A run is contaminated when its iterations' coefficient of variation exceeds this many times
/// the baseline runs' median cv ...
pub const CV_FACTOR: f64 = 2.5;
/// ... and this absolute floor (so a very steady baseline does not flag ordinary runs). The
/// project's machine shows 3-16% per-iteration cv on a pinned core (docs/verdict.md).
pub const CV_FLOOR: f64 = 0.10;

/// Reasons the run is not evidence; empty when it is clean. `baseline_cv` is the median cv of
/// the baseline runs (None when there is no baseline, e.g. the A side of an A/B run).
pub fn reasons(during: &EnvDelta, cv: f64, baseline_cv: Option<f64>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = during.nr_throttled.filter(|t| *t > 0) {
        let ratio = during.throttled_period_ratio.unwrap_or(0.0);
        let held_ms = during.throttled_time_ns.unwrap_or(0) as f64 / 1e6;
        let time_share = if during.elapsed_ms > 0.0 {
            held_ms / during.elapsed_ms
        } else {
            0.0
        };
        if ratio >= THROTTLED_PERIODS_MAX || time_share > THROTTLED_TIME_MAX {
            out.push(format!(
                "the CPU quota throttled the run in {t} periods ({:.1}% of periods, {held_ms:.0} ms held back)",
                ratio * 100.0
            ));
        }
    }
    if let Some(s) = during.steal_ratio.filter(|s| *s >= STEAL_MAX) {
        out.push(format!(
            "the hypervisor stole {:.1}% of CPU time",
            s * 100.0
        ));
    }
    if let Some(r) = during.run_delay_ratio.filter(|r| *r >= RUN_DELAY_MAX) {
        out.push(format!(
            "another process shared the pinned CPU: the run waited for it {:.1}% of the time",
            r * 100.0
        ));
    }
    if let Some(base) = baseline_cv {
        let limit = (CV_FACTOR * base).max(CV_FLOOR);
        if cv.is_finite() && cv > limit {
            out.push(format!(
                "iterations varied {:.0}% (cv), more than {CV_FACTOR}x the baseline's {:.0}% (limit {:.0}%)",
                cv * 100.0,
                base * 100.0,
                limit * 100.0
            ));
        }
    }
    out
}

/// Contamination of an interleaved A/B run. Steal and run delay hit both variants of a round
/// alike and cancel in the round's ratio (they only widen its noise, which the t interval
/// already reflects), so only throttling counts: a quota penalises the variant with more busy
/// threads more, which is not a fair comparison of the two.
pub fn reasons_interleaved(during: &EnvDelta) -> Vec<String> {
    let throttling_only = EnvDelta {
        steal_ratio: None,
        run_delay_ratio: None,
        ..*during
    };
    reasons(&throttling_only, 0.0, None)
}

/// Conditions that widen an interleaved run's noise without biasing it, as notes.
pub fn interleaved_notes(during: &EnvDelta) -> Vec<String> {
    let shared = EnvDelta {
        nr_throttled: None,
        ..*during
    };
    reasons(&shared, 0.0, None)
        .into_iter()
        .map(|r| format!("{r} (hits both variants alike; interleaving cancels it)"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta() -> EnvDelta {
        EnvDelta {
            elapsed_ms: 20_000.0,
            nr_periods: Some(200),
            nr_throttled: Some(0),
            throttled_time_ns: Some(0),
            throttled_period_ratio: Some(0.0),
            steal_jiffies: Some(0),
            total_jiffies: Some(4000),
            steal_ratio: Some(0.0),
            run_delay_ms: Some(20.0),
            run_delay_ratio: Some(0.001),
        }
    }

    #[test]
    fn interleaved_runs_only_count_throttling() {
        let mut d = delta();
        d.run_delay_ratio = Some(0.3);
        d.steal_ratio = Some(0.2);
        assert!(reasons_interleaved(&d).is_empty());
        assert_eq!(interleaved_notes(&d).len(), 2);
        d.nr_throttled = Some(30);
        d.throttled_period_ratio = Some(0.5);
        assert_eq!(reasons_interleaved(&d).len(), 1);
        assert_eq!(interleaved_notes(&d).len(), 2);
    }

    #[test]
    fn a_neighbour_on_the_pinned_core_makes_it_contaminated() {
        // Recorded: the encoder pinned to CPU 0 while a cargo build ran got ~67% of the CPU.
        let mut d = delta();
        d.run_delay_ms = Some(6_600.0);
        d.run_delay_ratio = Some(0.33);
        let r = reasons(&d, 0.03, Some(0.05));
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].contains("33.0%"), "{}", r[0]);
    }

    #[test]
    fn a_clean_run_is_evidence() {
        assert!(reasons(&delta(), 0.05, Some(0.04)).is_empty());
        assert!(reasons(&EnvDelta::default(), 0.05, None).is_empty());
    }

    #[test]
    fn throttling_counters_make_it_contaminated() {
        // Two busy threads under a 1-CPU quota: 30 of 31 periods throttled (FACTS.md).
        let mut d = delta();
        d.nr_periods = Some(31);
        d.nr_throttled = Some(30);
        d.throttled_period_ratio = Some(30.0 / 31.0);
        d.throttled_time_ns = Some(1_450_000_000);
        let r = reasons(&d, 0.05, Some(0.04));
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].contains("30 periods"), "{}", r[0]);
    }

    #[test]
    fn rare_short_throttles_are_tolerated_but_long_ones_are_not() {
        let mut d = delta();
        d.nr_throttled = Some(1);
        d.throttled_period_ratio = Some(1.0 / 200.0);
        d.throttled_time_ns = Some(5_000_000); // 5 ms of 20 s
        assert!(reasons(&d, 0.05, None).is_empty());
        d.throttled_time_ns = Some(400_000_000); // 400 ms of 20 s = 2%
        assert_eq!(reasons(&d, 0.05, None).len(), 1);
    }

    #[test]
    fn steal_and_dispersion() {
        let mut d = delta();
        d.steal_ratio = Some(0.08);
        assert!(reasons(&d, 0.05, None)[0].contains("stole 8.0%"));
        // Baseline cv 4%: the limit is the 10% floor; 3x a 15% baseline cv is over 2.5x.
        assert!(reasons(&delta(), 0.09, Some(0.04)).is_empty());
        assert_eq!(reasons(&delta(), 0.11, Some(0.04)).len(), 1);
        assert!(reasons(&delta(), 0.30, Some(0.15)).is_empty());
        assert_eq!(reasons(&delta(), 0.45, Some(0.15)).len(), 1);
    }
}
