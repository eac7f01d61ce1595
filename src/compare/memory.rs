//! The memory gate: a run's peak resident memory against the peaks of its baseline history.
//! Numbers in, verdict out, the same estimator and rule as latency ([`super::verdict`]).
//!
//! Memory is far less noisy than time: the same binary loading the same model allocates the
//! same tensors, and what moves the peak from run to run is the allocator's and the kernel's
//! page bookkeeping. Its noise is estimated like latency's: the spread of `ln(peak)` across the
//! history runs, pooled with an assumed prior (`[gate] assumed_memory_noise_pct`, measured in
//! docs/explain.md) while the history is short. CPU contamination (throttling, steal, busy
//! neighbours) does not change what a process allocates, so it does not touch this verdict.

use serde::{Deserialize, Serialize};

use super::PctInterval;
use super::memory_pairs::{ArenaLine, PairPeaks};
use super::verdict::{Decision, HistoryPoint, Rule, Verdict, decide, estimate_vs_history};

/// The memory line of a model's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryVerdict {
    /// `None`: shown, not gated (no `max_memory_regression_pct` for this architecture).
    pub verdict: Option<Verdict>,
    /// The run's peak RSS, MiB.
    pub candidate_mb: f64,
    /// Median of the history's peaks, MiB (`None` when no history run recorded memory).
    pub baseline_mb: Option<f64>,
    /// Percent (positive = more memory).
    pub change_pct: Option<f64>,
    /// 99% interval of the change, percent.
    pub ci_pct: Option<PctInterval>,
    /// Half-width of that interval: the change the noise alone can make, percent.
    pub noise_pct: Option<f64>,
    pub threshold_pct: Option<f64>,
    /// History runs with a recorded peak (duet: worker pairs).
    pub runs_used: usize,
    pub reasons: Vec<String>,
    /// Duet: each worker pair's peaks and B against A ([`super::memory_pairs`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pairs: Vec<PairPeaks>,
    /// Duet: ORT's arena peak per worker, gated where deterministic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arena: Option<ArenaLine>,
}

impl MemoryVerdict {
    /// Every number finite or absent (see `ModelVerdict::finite_or_absent`); `false` when the
    /// line itself has no finite peak and must go.
    pub fn finite_or_absent(&mut self) -> bool {
        fn keep(x: &mut Option<f64>) {
            if x.is_some_and(|v| !v.is_finite()) {
                *x = None;
            }
        }
        for x in [
            &mut self.baseline_mb,
            &mut self.change_pct,
            &mut self.noise_pct,
            &mut self.threshold_pct,
        ] {
            keep(x);
        }
        if self
            .ci_pct
            .is_some_and(|i| !(i.low.is_finite() && i.high.is_finite()))
        {
            self.ci_pct = None;
        }
        self.pairs
            .retain(|p| p.a_mb.is_finite() && p.b_mb.is_finite() && p.change_pct.is_finite());
        if let Some(a) = &mut self.arena {
            keep(&mut a.change_pct);
            if !a.a_mb.iter().chain(&a.b_mb).all(|x| x.is_finite()) {
                self.arena = None;
            }
        }
        self.candidate_mb.is_finite()
    }
}

/// Judges `candidate_mb` against `history_mb` (the peaks of comparable history runs).
pub fn judge(
    history_mb: &[f64],
    candidate_mb: f64,
    threshold_pct: Option<f64>,
    assumed_noise_pct: f64,
) -> MemoryVerdict {
    let mut v = MemoryVerdict {
        verdict: threshold_pct.map(|_| Verdict::NoBaseline),
        candidate_mb,
        baseline_mb: None,
        change_pct: None,
        ci_pct: None,
        noise_pct: None,
        threshold_pct,
        runs_used: history_mb.len(),
        reasons: Vec::new(),
        pairs: Vec::new(),
        arena: None,
    };
    let points: Vec<HistoryPoint> = history_mb
        .iter()
        .map(|&m| HistoryPoint {
            metric_ms: m,
            within_sd: 0.0,
        })
        .collect();
    let Some(e) = estimate_vs_history(&points, candidate_mb, 0.0, assumed_noise_pct) else {
        v.reasons.push(if history_mb.is_empty() {
            "peak memory: no history run recorded it yet (baselines from before bench-gate measured it)".into()
        } else {
            format!("peak memory: {candidate_mb} MiB cannot be compared (not a positive size)")
        });
        return v;
    };
    v.baseline_mb = Some(e.baseline_ms);
    v.change_pct = Some(e.change_pct());
    let (low, high) = e.ci_pct();
    v.ci_pct = Some(PctInterval { low, high });
    v.noise_pct = Some(e.noise_pct());
    match threshold_pct {
        Some(t) => {
            let Decision { verdict, reasons } = decide(
                &e,
                &Rule {
                    threshold_pct: t,
                    min_abs_ms: 0.0,
                },
                &[],
            );
            v.verdict = Some(verdict);
            v.reasons = reasons
                .into_iter()
                .map(|r| format!("peak memory: {r}"))
                .collect();
        }
        None => v.reasons.push(format!(
            "peak memory {:+.1}% (not gated: set max_memory_regression_pct in [thresholds.ARCH] to gate it)",
            e.change_pct()
        )),
    }
    v
}

/// The model's verdict once memory is counted: a memory regression (or a memory change beyond
/// the threshold that the noise hides) makes a better latency verdict that bad; an improved,
/// passing or baseline-less memory line never changes it.
pub fn combine(latency: Verdict, memory: Option<Verdict>) -> Verdict {
    match memory {
        Some(m @ (Verdict::Regressed | Verdict::Inconclusive)) => latency.max(m),
        _ => latency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_percent_more_memory_beyond_a_five_percent_gate_regresses() {
        let v = judge(&[200.0, 201.0, 199.5, 200.5], 220.0, Some(5.0), 1.0);
        assert_eq!(v.verdict, Some(Verdict::Regressed), "{v:?}");
        assert_eq!(v.baseline_mb, Some(200.25));
        assert!((v.change_pct.unwrap() - 9.86).abs() < 0.01, "{v:?}");
        assert!(v.reasons[0].starts_with("peak memory: +9.9%"), "{v:?}");
    }

    #[test]
    fn a_small_change_passes_and_an_ungated_one_is_only_shown() {
        let h = [200.0, 201.0, 199.5];
        assert_eq!(
            judge(&h, 203.0, Some(5.0), 1.0).verdict,
            Some(Verdict::Pass)
        );
        let shown = judge(&h, 260.0, None, 1.0);
        assert_eq!(shown.verdict, None);
        assert!(shown.change_pct.unwrap() > 25.0);
        assert!(shown.reasons[0].contains("not gated"), "{shown:?}");
    }

    #[test]
    fn a_noisy_memory_history_makes_a_change_beyond_the_threshold_inconclusive() {
        // Peaks spread +-15% across runs: +12% against a 10% gate is within that noise.
        let h = [180.0, 230.0, 200.0, 175.0, 225.0, 205.0];
        let v = judge(&h, 226.0, Some(10.0), 1.0);
        assert_eq!(v.verdict, Some(Verdict::Inconclusive), "{v:?}");
    }

    #[test]
    fn no_recorded_memory_is_no_baseline_not_an_error() {
        let v = judge(&[], 150.0, Some(10.0), 1.0);
        assert_eq!(v.verdict, Some(Verdict::NoBaseline));
        assert!(v.reasons[0].contains("no history run"), "{v:?}");
    }

    #[test]
    fn only_bad_memory_news_changes_the_model_verdict() {
        use Verdict::*;
        assert_eq!(combine(Pass, Some(Regressed)), Regressed);
        assert_eq!(combine(Improved, Some(Inconclusive)), Inconclusive);
        assert_eq!(combine(Regressed, Some(Improved)), Regressed);
        assert_eq!(combine(Pass, Some(NoBaseline)), Pass);
        assert_eq!(combine(Pass, Some(Improved)), Pass);
        assert_eq!(combine(Inconclusive, None), Inconclusive);
    }
}
