//! The size of a step and its interval: the Hodges-Lehmann shift estimate between the points
//! before and after it, with the distribution-free interval from the Mann-Whitney statistic
//! (Hodges & Lehmann, Ann. Math. Statist. 34, 1963; Bauer, JASA 67, 1972; Hollander & Wolfe,
//! "Nonparametric Statistical Methods", ch. 4). Pure.
//!
//! The estimate is the median of all pairwise differences `after_j - before_i`; the interval is
//! the pair of order statistics of those differences that the Mann-Whitney distribution puts
//! `z * sd` from its centre (normal approximation, fine from ~5 points per side). Applied to the
//! logs of run medians, it is a ratio: robust to one odd night on either side, with no
//! assumption of normal noise.

use crate::stats::percentile_sorted;

/// A shift with its interval, in the units of the input (logs in, log ratios out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shift {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// Achieved coverage of `[low, high]` under the normal approximation.
    pub confidence: f64,
}

/// Hodges-Lehmann shift of `after` against `before` with a two-sided interval at quantile `z`
/// (2.576 for 99%). `None` when a side is empty or a value is not finite.
pub fn hodges_lehmann(before: &[f64], after: &[f64], z: f64) -> Option<Shift> {
    let (m, n) = (before.len(), after.len());
    if m == 0 || n == 0 || before.iter().chain(after).any(|v| !v.is_finite()) {
        return None;
    }
    let mut d: Vec<f64> = Vec::with_capacity(m * n);
    for a in after {
        for b in before {
            d.push(a - b);
        }
    }
    d.sort_by(f64::total_cmp);
    let estimate = percentile_sorted(&d, 50.0);
    let mn = (m * n) as f64;
    let sd = (mn * (m + n + 1) as f64 / 12.0).sqrt();
    // The k-th smallest and k-th largest differences (1-based) bound the interval.
    let k = (mn / 2.0 - z * sd).floor().max(1.0) as usize;
    let k = k.min(d.len().div_ceil(2));
    let (low, high) = (d[k - 1], d[d.len() - k]);
    // Coverage actually achieved by that k: P(k <= U <= mn - k) under the normal approximation.
    let zk = (mn / 2.0 - k as f64 + 0.5) / sd.max(f64::MIN_POSITIVE);
    let confidence = (2.0 * normal_cdf(zk) - 1.0).clamp(0.0, 1.0);
    Some(Shift {
        estimate,
        low,
        high,
        confidence,
    })
}

/// Standard normal CDF (Abramowitz & Stegun 26.2.17, |error| < 7.5e-8).
fn normal_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.231_641_9 * x.abs());
    let poly = t
        * (0.319_381_530
            + t * (-0.356_563_782
                + t * (1.781_477_937 + t * (-1.821_255_978 + t * 1.330_274_429))));
    let tail = (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt() * poly;
    if x >= 0.0 { 1.0 - tail } else { tail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_is_the_median_of_pairwise_differences() {
        // Differences: {4-1, 4-2, 6-1, 6-2} = {3, 2, 5, 4} -> median 3.5.
        let s = hodges_lehmann(&[1.0, 2.0], &[4.0, 6.0], 1.96).unwrap();
        assert_eq!(s.estimate, 3.5);
        assert!(s.low <= s.estimate && s.estimate <= s.high);
    }

    #[test]
    fn a_clean_shift_is_recovered_and_its_interval_holds_it() {
        let before: Vec<f64> = (0..20).map(|i| 100.0 + (i % 5) as f64).collect();
        let after: Vec<f64> = before.iter().map(|x| x + 10.0).collect();
        let s = hodges_lehmann(&before, &after, 2.576).unwrap();
        assert_eq!(s.estimate, 10.0);
        assert!(s.low <= 10.0 && 10.0 <= s.high, "{s:?}");
        assert!(s.high - s.low < 5.0, "{s:?}");
        assert!(s.confidence > 0.98, "{s:?}");
    }

    #[test]
    fn the_interval_is_the_kth_smallest_and_largest_difference() {
        // m = n = 10: k = floor(mn/2 - z * sqrt(mn(m+n+1)/12)) = floor(50 - 1.96 * 13.23) = 24
        // (the exact Mann-Whitney table gives the same k for 95% at 10 + 10 points).
        let before: Vec<f64> = (0..10).map(f64::from).collect();
        let after: Vec<f64> = (0..10).map(|i| f64::from(i) + 0.5).collect();
        let s = hodges_lehmann(&before, &after, 1.96).unwrap();
        let mut d: Vec<f64> = Vec::new();
        for a in &after {
            for b in &before {
                d.push(a - b);
            }
        }
        d.sort_by(f64::total_cmp);
        assert_eq!((s.low, s.high), (d[23], d[100 - 24]));
    }

    #[test]
    fn empty_or_broken_sides_give_nothing() {
        assert!(hodges_lehmann(&[], &[1.0], 1.96).is_none());
        assert!(hodges_lehmann(&[1.0], &[f64::NAN], 1.96).is_none());
        let one = hodges_lehmann(&[1.0], &[3.0], 2.576).unwrap();
        assert_eq!((one.estimate, one.low, one.high), (2.0, 2.0, 2.0));
    }

    #[test]
    fn normal_cdf_matches_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((normal_cdf(-2.576) - 0.005).abs() < 1e-4);
    }
}
