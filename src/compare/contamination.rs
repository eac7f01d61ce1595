//! Is a run evidence at all? A run the kernel throttled, the hypervisor robbed, that was far
//! noisier than the baseline's runs, that shared its pinned core with another process, or that
//! had far busier neighbours on the other cores than the baseline's runs had, measured the
//! machine, not the change: its verdict is `inconclusive`, never `regressed`.
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
/// A run is contaminated when other processes kept more CPUs busy than the busiest baseline run
/// by this many ...
pub const NEIGHBOUR_MARGIN_CPUS: f64 = 0.5;
/// ... and by this factor (a node whose neighbours always keep 20 CPUs busy is not contaminated
/// at 21). Measured here: a memory-streaming loop on the *other* core made the encoder pinned to
/// CPU 0 12% slower with no throttling, steal, run delay or extra dispersion (docs/verdict.md).
pub const NEIGHBOUR_FACTOR: f64 = 1.5;

/// What the baseline's runs were like, for judging a new run against them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BaselineNoise {
    /// Median cv of the baseline runs' iterations.
    pub cv: f64,
    /// The most CPUs other processes kept busy during any baseline run; `None` when no run
    /// recorded it (older files), and then the neighbour rule is skipped.
    pub others_busy_cpus: Option<f64>,
}

impl BaselineNoise {
    /// Summary of the history runs given as (cv, others busy) pairs.
    pub fn of(runs: impl IntoIterator<Item = (f64, Option<f64>)>) -> BaselineNoise {
        let (cvs, busy): (Vec<f64>, Vec<Option<f64>>) = runs.into_iter().unzip();
        BaselineNoise {
            cv: crate::stats::median(&cvs),
            others_busy_cpus: busy.into_iter().flatten().reduce(f64::max),
        }
    }
}

/// The most CPUs other processes may keep busy before a run stops being comparable with
/// a history whose busiest run had `baseline` of them.
pub fn neighbour_limit(baseline: f64) -> f64 {
    (baseline + NEIGHBOUR_MARGIN_CPUS).max(baseline * NEIGHBOUR_FACTOR)
}

/// Reasons the run is not evidence; empty when it is clean. `baseline` describes the baseline
/// runs (None when there is none, e.g. the A side of an A/B run).
pub fn reasons(during: &EnvDelta, cv: f64, baseline: Option<BaselineNoise>) -> Vec<String> {
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
    if let (Some(busy), Some(base)) = (
        during.others_busy_cpus,
        baseline.and_then(|b| b.others_busy_cpus),
    ) {
        let limit = neighbour_limit(base);
        if busy > limit {
            out.push(format!(
                "other processes kept {busy:.1} CPUs busy during the run, more than the baseline \
                 runs' {base:.1} (limit {limit:.1}): neighbours on other cores share the caches \
                 and memory bandwidth"
            ));
        }
    }
    if let Some(base) = baseline.map(|b| b.cv) {
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

/// Conditions that widen an interleaved run's noise without biasing it, as notes. There is no
/// history to judge busy neighbours against, so they are noted from half a busy CPU.
pub fn interleaved_notes(during: &EnvDelta) -> Vec<String> {
    let shared = EnvDelta {
        nr_throttled: None,
        ..*during
    };
    let mut notes = reasons(&shared, 0.0, None);
    if let Some(busy) = during
        .others_busy_cpus
        .filter(|b| *b >= NEIGHBOUR_MARGIN_CPUS)
    {
        notes.push(format!(
            "other processes kept {busy:.1} CPUs busy during the run"
        ));
    }
    notes
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
            on_cpu_ms: Some(19_900.0),
            others_busy_ms: Some(400.0),
            others_busy_cpus: Some(0.02),
        }
    }

    fn base(cv: f64) -> Option<BaselineNoise> {
        Some(BaselineNoise {
            cv,
            others_busy_cpus: Some(0.03),
        })
    }

    #[test]
    fn busier_neighbours_than_the_baseline_make_it_contaminated() {
        // Recorded: memory streaming on CPU 1 while the encoder ran on CPU 0 (1.0 CPU busy).
        let mut d = delta();
        d.others_busy_cpus = Some(1.0);
        let r = reasons(&d, 0.03, base(0.03));
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].contains("1.0 CPUs busy") && r[0].contains("limit 0.5"),
            "{}",
            r[0]
        );
        // A history that had such neighbours too: comparable.
        let busy_history = Some(BaselineNoise {
            cv: 0.03,
            others_busy_cpus: Some(0.9),
        });
        assert!(reasons(&d, 0.03, busy_history).is_empty());
        // A history that never recorded it, or no history: the rule is skipped.
        let unknown = Some(BaselineNoise {
            cv: 0.03,
            others_busy_cpus: None,
        });
        assert!(reasons(&d, 0.03, unknown).is_empty());
        assert!(reasons(&d, 0.03, None).is_empty());
        // An ab run notes it against an idle machine, as a note, never a reason.
        assert!(reasons_interleaved(&d).is_empty());
        assert_eq!(
            interleaved_notes(&d),
            [
                "other processes kept 1.0 CPUs busy during the run (hits both variants alike; \
              interleaving cancels it)"
            ]
        );
    }

    #[test]
    fn the_neighbour_limit_grows_with_the_history() {
        assert_eq!(neighbour_limit(0.0), 0.5);
        assert_eq!(neighbour_limit(0.5), 1.0);
        assert_eq!(neighbour_limit(20.0), 30.0);
        let b = BaselineNoise::of([(0.02, None), (0.04, Some(0.1)), (0.08, Some(0.3))]);
        assert_eq!(b.cv, 0.04);
        assert_eq!(b.others_busy_cpus, Some(0.3));
        assert_eq!(BaselineNoise::of([(0.02, None)]).others_busy_cpus, None);
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
        let r = reasons(&d, 0.03, base(0.05));
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].contains("33.0%"), "{}", r[0]);
    }

    #[test]
    fn a_clean_run_is_evidence() {
        assert!(reasons(&delta(), 0.05, base(0.04)).is_empty());
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
        let r = reasons(&d, 0.05, base(0.04));
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
        assert!(reasons(&delta(), 0.09, base(0.04)).is_empty());
        assert_eq!(reasons(&delta(), 0.11, base(0.04)).len(), 1);
        assert!(reasons(&delta(), 0.30, base(0.15)).is_empty());
        assert_eq!(reasons(&delta(), 0.45, base(0.15)).len(), 1);
    }
}
