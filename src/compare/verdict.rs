//! The decision: numbers in, verdict out. No I/O, no clocks, deterministic (the bootstrap is
//! seeded), so every rule is pinned by unit tests with recorded numbers.
//!
//! Everything works on the log of the latency ratio, `delta = ln(candidate / baseline)`: latency
//! noise is multiplicative (a busy neighbour slows every op by a factor), and log ratios make a
//! 10% slowdown and its reverse symmetric. A change is `regressed` only when it is beyond the
//! threshold, beyond the noise at 99% confidence, and beyond the absolute floor.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::Metric;
use crate::stats::{median, percentile_sorted};

/// Two-sided 99% normal quantile: with one comparison per model per PR, a false alarm rate of
/// 1% per model meets the "at most 1 in 100" A/A target when the noise estimate is right.
pub const Z_99: f64 = 2.576;
/// Weight, in degrees of freedom, of `assumed_run_noise_pct` when pooled with the noise measured
/// from a short history: 3 runs (2 df) cannot estimate a spread alone (two runs that happen to
/// agree would make the gate trigger-happy), 10 runs (9 df) mostly speak for themselves.
pub const PRIOR_NOISE_DF: f64 = 4.0;
/// Bootstrap resamples for the candidate's own sampling noise.
pub const BOOTSTRAP_RESAMPLES: usize = 1000;
/// Fixed seed: the same result file always gets the same verdict.
pub const BOOTSTRAP_SEED: u64 = 0x5EED_BE4C;

/// The outcome for one model (and, as the worst of them, for the whole check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Improved,
    Pass,
    NoBaseline,
    Inconclusive,
    Regressed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Pass => "pass",
            Verdict::NoBaseline => "no_baseline",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Regressed => "regressed",
        }
    }
}

/// The metric of a sample (any order), ms. NaN if empty.
pub fn metric_of(metric: Metric, samples: &[f64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    percentile_sorted(&s, percent(metric))
}

fn percent(metric: Metric) -> f64 {
    match metric {
        Metric::Median => 50.0,
        Metric::P95 => 95.0,
    }
}

/// What counts as a regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// Allowed slowdown, percent.
    pub threshold_pct: f64,
    /// Differences below this many milliseconds never count.
    pub min_abs_ms: f64,
}

/// An estimated change: `delta = ln(candidate / baseline)` with its standard error `sigma`
/// (log space) and the quantile `q` that makes `delta +- q * sigma` a 99% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub baseline_ms: f64,
    pub candidate_ms: f64,
    pub delta: f64,
    pub sigma: f64,
    pub q: f64,
}

impl Estimate {
    pub fn change_pct(&self) -> f64 {
        pct(self.delta)
    }
    /// The 99% interval of the change, percent.
    pub fn ci_pct(&self) -> (f64, f64) {
        (
            pct(self.delta - self.q * self.sigma),
            pct(self.delta + self.q * self.sigma),
        )
    }
    /// Half-width of the interval as a percentage: how big a change the noise can fake.
    pub fn noise_pct(&self) -> f64 {
        pct(self.q * self.sigma)
    }
    /// The smallest slowdown (log ratio) [`decide`] calls `regressed` with 95% power at this
    /// noise: the estimate must clear both the threshold `t` and `q` standard errors.
    pub fn minimum_detectable(&self, t: f64) -> f64 {
        t.max(self.q * self.sigma) + super::sequential::Z_POWER * self.sigma
    }
}

fn pct(log_ratio: f64) -> f64 {
    (log_ratio.exp() - 1.0) * 100.0
}

/// The verdict with the sentences that explain it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
}

/// Applies the rule. `contamination` non-empty makes the run no evidence: `inconclusive`,
/// whatever the numbers say (a throttled run is slower for reasons the PR did not cause).
pub fn decide(e: &Estimate, rule: &Rule, contamination: &[String]) -> Decision {
    let mut reasons = Vec::new();
    let t = (1.0 + rule.threshold_pct / 100.0).ln();
    let abs_ms = (e.candidate_ms - e.baseline_ms).abs();
    let valid = e.delta.is_finite() && e.sigma.is_finite() && e.sigma >= 0.0;
    if !contamination.is_empty() {
        reasons.push(format!(
            "contaminated run, not evidence: {}",
            contamination.join("; ")
        ));
        return Decision {
            verdict: Verdict::Inconclusive,
            reasons,
        };
    }
    if !valid {
        reasons.push("the change could not be estimated (non-finite numbers)".into());
        return Decision {
            verdict: Verdict::Inconclusive,
            reasons,
        };
    }
    let margin = e.q * e.sigma;
    let above_floor = abs_ms > rule.min_abs_ms;
    let verdict = if e.delta > t && above_floor {
        if e.delta - margin > 0.0 {
            reasons.push(format!(
                "{:+.1}% is beyond the {:.1}% threshold and beyond the run-to-run noise (+-{:.1}%)",
                e.change_pct(),
                rule.threshold_pct,
                e.noise_pct()
            ));
            Verdict::Regressed
        } else {
            reasons.push(format!(
                "{:+.1}% is beyond the {:.1}% threshold but within run-to-run noise (+-{:.1}%)",
                e.change_pct(),
                rule.threshold_pct,
                e.noise_pct()
            ));
            Verdict::Inconclusive
        }
    } else if e.delta < -t && above_floor && e.delta + margin < 0.0 {
        reasons.push(format!(
            "{:+.1}% is faster beyond the threshold and the noise (+-{:.1}%)",
            e.change_pct(),
            e.noise_pct()
        ));
        Verdict::Improved
    } else {
        if !above_floor && e.delta.abs() > t {
            reasons.push(format!(
                "{abs_ms:.2} ms difference is below the {:.2} ms floor",
                rule.min_abs_ms
            ));
        } else {
            reasons.push(format!(
                "{:+.1}% is within the {:.1}% threshold",
                e.change_pct(),
                rule.threshold_pct
            ));
        }
        Verdict::Pass
    };
    // A gate that cannot see the threshold should say so instead of passing silently.
    if verdict == Verdict::Pass && margin > t {
        reasons.push(format!(
            "the noise (+-{:.1}%) is wider than the threshold: only changes beyond ~{:.0}% can be caught here (a longer history, or `bench-gate ab` with more rounds, sees smaller ones)",
            e.noise_pct(),
            pct(t.max(margin))
        ));
    }
    Decision { verdict, reasons }
}

/// Bootstrap standard deviation of `ln(metric)` of `samples` (seeded, deterministic).
/// 0 for fewer than 2 samples.
pub fn bootstrap_log_sd(samples: &[f64], metric: Metric) -> f64 {
    let n = samples.len();
    if n < 2 || samples.iter().any(|x| !(x.is_finite() && *x > 0.0)) {
        return 0.0;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
    let mut buf = vec![0.0; n];
    let mut stats = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    for _ in 0..BOOTSTRAP_RESAMPLES {
        for slot in buf.iter_mut() {
            *slot = samples[rng.random_range(0..n)];
        }
        buf.sort_by(f64::total_cmp);
        stats.push(percentile_sorted(&buf, percent(metric)).ln());
    }
    sample_sd(&stats)
}

/// Sample standard deviation (n - 1). 0 for fewer than 2 values.
pub fn sample_sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// One history run as the estimator needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryPoint {
    /// The run's metric, ms.
    pub metric_ms: f64,
    /// Sampling sd of ln(metric) within that run.
    pub within_sd: f64,
}

/// Candidate run vs a history of separate runs.
///
/// Center `B` = median of the history's metrics (robust to one odd run). The noise of one run's
/// metric, `s`, is the spread of ln(metric) across history runs (it already contains each run's
/// own sampling noise), pooled with the assumed noise as a prior of [`PRIOR_NOISE_DF`] degrees
/// of freedom; with 1-2 runs the prior is all there is. The candidate is one more run, so its
/// variance is at least `s^2`, or its own bootstrap variance if it was noisier; the center's
/// variance is `s^2 * (pi/2) / K` (the median of K values is pi/2 less efficient than the mean).
pub fn estimate_vs_history(
    history: &[HistoryPoint],
    candidate_ms: f64,
    candidate_sd: f64,
    assumed_run_noise_pct: f64,
) -> Option<Estimate> {
    let k = history.len();
    if k == 0 || !(candidate_ms.is_finite() && candidate_ms > 0.0) {
        return None;
    }
    let metrics: Vec<f64> = history.iter().map(|h| h.metric_ms).collect();
    if metrics.iter().any(|m| !(m.is_finite() && *m > 0.0)) {
        return None;
    }
    let b = median(&metrics);
    let logs: Vec<f64> = metrics.iter().map(|m| m.ln()).collect();
    let prior = (1.0 + assumed_run_noise_pct / 100.0).ln();
    let df = (k - 1) as f64;
    let s_between = sample_sd(&logs);
    let within = history.iter().map(|h| h.within_sd).fold(0.0, f64::max);
    let s2 = ((df * s_between.powi(2) + PRIOR_NOISE_DF * prior.powi(2)) / (df + PRIOR_NOISE_DF))
        .max(within.powi(2));
    let center_var = s2 * std::f64::consts::FRAC_PI_2 / k as f64;
    let cand_var = s2.max(candidate_sd.powi(2));
    Some(Estimate {
        baseline_ms: b,
        candidate_ms,
        delta: (candidate_ms / b).ln(),
        sigma: (center_var + cand_var).sqrt(),
        q: Z_99,
    })
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
