//! Descriptive statistics of latency samples: numbers in, numbers out, no I/O.
//!
//! Percentiles use linear interpolation between order statistics (Hyndman & Fan type 7, what
//! numpy's default `percentile` does). The confidence interval of the median is distribution-free
//! (exact binomial order statistics), because latency samples are skewed and fat-tailed: a normal
//! approximation around the mean would be too narrow on the slow side.

use serde::{Deserialize, Serialize};

/// Confidence level used for every interval bench-gate reports.
pub const CONFIDENCE: f64 = 0.95;

/// A two-sided interval with the confidence it actually achieves (order statistics are discrete).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
    /// Achieved coverage, e.g. 0.956; lower than requested when there are too few samples.
    pub confidence: f64,
}

/// Summary of one sample set, in the samples' unit (milliseconds everywhere in bench-gate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub median: f64,
    pub p50: f64,
    pub p75: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub min: f64,
    pub max: f64,
    /// Sample standard deviation (n - 1 in the denominator); 0 for a single sample.
    pub stddev: f64,
    /// Coefficient of variation: stddev / mean.
    pub cv: f64,
    /// 95% confidence interval of the median.
    pub median_ci: Interval,
}

impl Summary {
    /// `None` when there are no samples or any sample is not finite.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let stddev = if n > 1 {
            (sorted.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let median = percentile_sorted(&sorted, 50.0);
        Some(Summary {
            n,
            mean,
            median,
            p50: median,
            p75: percentile_sorted(&sorted, 75.0),
            p90: percentile_sorted(&sorted, 90.0),
            p95: percentile_sorted(&sorted, 95.0),
            p99: percentile_sorted(&sorted, 99.0),
            min: sorted[0],
            max: sorted[n - 1],
            stddev,
            cv: if mean > 0.0 { stddev / mean } else { 0.0 },
            median_ci: median_ci_sorted(&sorted, CONFIDENCE),
        })
    }

    /// Relative half-width of the median's interval: (high - low) / 2 / median.
    pub fn median_ci_rel_half_width(&self) -> f64 {
        if self.median > 0.0 {
            (self.median_ci.high - self.median_ci.low) / 2.0 / self.median
        } else {
            f64::INFINITY
        }
    }
}

/// Percentile `p` in [0, 100] of ascending `sorted` (type 7 interpolation). NaN if empty.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let rank = (p.clamp(0.0, 100.0) / 100.0) * (n - 1) as f64;
            let lo = rank.floor() as usize;
            let hi = rank.ceil() as usize;
            sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
        }
    }
}

/// The standard deviation read robustly off the median absolute deviation (1.4826 MAD: the
/// normal's sd, and one wild value moves it by one rank). NaN if empty.
pub fn mad_sd(samples: &[f64]) -> f64 {
    let m = median(samples);
    let dev: Vec<f64> = samples.iter().map(|x| (x - m).abs()).collect();
    1.4826 * median(&dev)
}

/// Median of unsorted samples. NaN if empty.
pub fn median(samples: &[f64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    percentile_sorted(&s, 50.0)
}

/// Distribution-free interval for the median of ascending `sorted`: the widest-inward pair of
/// order statistics (x_(j), x_(n+1-j)) whose binomial coverage still reaches `confidence`.
/// With too few samples (n < 6 at 95%) it is [min, max] with the coverage it really has.
pub fn median_ci_sorted(sorted: &[f64], confidence: f64) -> Interval {
    let n = sorted.len();
    if n == 0 {
        return Interval {
            low: f64::NAN,
            high: f64::NAN,
            confidence: 0.0,
        };
    }
    let alpha = 1.0 - confidence;
    // cdf[k] = P(B <= k), B ~ Binomial(n, 1/2), accumulated in log space to survive large n.
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_choose = 0.0f64; // ln C(n, 0)
    let mut cdf = 0.0f64;
    // `j` = the largest 1-based rank with 2 * P(B <= j - 1) <= alpha; 0 if none.
    let mut j = 0usize;
    for k in 0..n / 2 {
        if k > 0 {
            ln_choose += ((n - k + 1) as f64).ln() - (k as f64).ln();
        }
        cdf += (ln_choose + ln_half_n).exp();
        if 2.0 * cdf > alpha {
            break;
        }
        j = k + 1;
    }
    if j == 0 {
        return Interval {
            low: sorted[0],
            high: sorted[n - 1],
            confidence: 1.0 - 2.0 * 0.5f64.powi(n as i32),
        };
    }
    let coverage = 1.0 - 2.0 * binom_half_cdf(n, j - 1);
    Interval {
        low: sorted[j - 1],
        high: sorted[n - j],
        confidence: coverage,
    }
}

/// P(B <= k) for B ~ Binomial(n, 1/2).
fn binom_half_cdf(n: usize, k: usize) -> f64 {
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_choose = 0.0f64;
    let mut cdf = 0.0;
    for i in 0..=k.min(n) {
        if i > 0 {
            ln_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        cdf += (ln_choose + ln_half_n).exp();
    }
    cdf.min(1.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn mad_sd_reads_the_spread_and_ignores_one_wild_value() {
        // Deviations from the median 3: 2, 1, 0, 1, 2 -> MAD 1.
        assert!((super::mad_sd(&[1.0, 2.0, 3.0, 4.0, 5.0]) - 1.4826).abs() < 1e-12);
        assert!((super::mad_sd(&[1.0, 2.0, 3.0, 4.0, 500.0]) - 1.4826).abs() < 1e-12);
        assert!(super::mad_sd(&[]).is_nan());
    }

    use super::*;

    #[test]
    fn percentiles_match_numpy_linear_interpolation() {
        // numpy.percentile([1..10], [50, 90, 95, 99]) = 5.5, 9.1, 9.55, 9.91
        let s: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((percentile_sorted(&s, 50.0) - 5.5).abs() < 1e-12);
        assert!((percentile_sorted(&s, 90.0) - 9.1).abs() < 1e-12);
        assert!((percentile_sorted(&s, 95.0) - 9.55).abs() < 1e-12);
        assert!((percentile_sorted(&s, 99.0) - 9.91).abs() < 1e-12);
        assert_eq!(percentile_sorted(&s, 0.0), 1.0);
        assert_eq!(percentile_sorted(&s, 100.0), 10.0);
    }

    #[test]
    fn summary_of_known_samples() {
        let s = Summary::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.n, 8);
        assert!((s.mean - 5.0).abs() < 1e-12);
        assert!((s.median - 4.5).abs() < 1e-12);
        // sample stddev of this classic set: sqrt(32 / 7)
        assert!((s.stddev - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert!((s.cv - s.stddev / 5.0).abs() < 1e-12);
        assert_eq!((s.min, s.max), (2.0, 9.0));
    }

    #[test]
    fn empty_or_non_finite_samples_have_no_summary() {
        assert!(Summary::of(&[]).is_none());
        assert!(Summary::of(&[1.0, f64::NAN]).is_none());
        assert!(Summary::of(&[1.0, f64::INFINITY]).is_none());
    }

    #[test]
    fn single_sample_and_zero_variance() {
        let s = Summary::of(&[3.0]).unwrap();
        assert_eq!((s.median, s.stddev, s.cv), (3.0, 0.0, 0.0));
        let z = Summary::of(&[5.0; 50]).unwrap();
        assert_eq!((z.median_ci.low, z.median_ci.high), (5.0, 5.0));
    }

    #[test]
    fn median_ci_uses_textbook_order_statistics() {
        // Known exact ranks for the 95% median CI: n=10 -> (2, 9), n=20 -> (6, 15), n=50 -> (18, 33), n=100 -> (40, 61).
        for (n, lo, hi) in [
            (10usize, 2usize, 9usize),
            (20, 6, 15),
            (50, 18, 33),
            (100, 40, 61),
        ] {
            let s: Vec<f64> = (1..=n).map(|i| i as f64).collect();
            let ci = median_ci_sorted(&s, 0.95);
            assert_eq!((ci.low as usize, ci.high as usize), (lo, hi), "n = {n}");
            assert!(ci.confidence >= 0.95, "n = {n}: coverage {}", ci.confidence);
        }
    }

    #[test]
    fn median_ci_with_too_few_samples_is_the_range_with_honest_coverage() {
        let ci = median_ci_sorted(&[1.0, 2.0, 3.0], 0.95);
        assert_eq!((ci.low, ci.high), (1.0, 3.0));
        assert!((ci.confidence - 0.75).abs() < 1e-12);
    }

    #[test]
    fn median_ci_narrows_with_more_samples() {
        let wide: Vec<f64> = (0..20).map(|i| 100.0 + (i % 7) as f64).collect();
        let narrow: Vec<f64> = (0..400).map(|i| 100.0 + (i % 7) as f64).collect();
        let a = Summary::of(&wide).unwrap();
        let b = Summary::of(&narrow).unwrap();
        assert!(b.median_ci_rel_half_width() <= a.median_ci_rel_half_width());
    }
}
