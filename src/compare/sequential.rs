//! The duet's statistics: when to stop adding units and what the change is. Numbers in, decision
//! out; no I/O, no clocks.
//!
//! A unit is four iterations on one worker pair, `A B B A` or `B A A B` (alternating), and yields
//! `d = (ln b1 + ln b2 - ln a1 - ln a2) / 2`: drift that is linear over the unit cancels, and the
//! advantage of running right after oneself (warm caches) goes to B in one kind of unit and to A
//! in the other, so it cancels over units. Under "B = A times a factor", with the noise of both
//! variants alike, `d` is symmetric around the log of that factor.
//!
//! The estimate is the Hodges-Lehmann estimator (median of the Walsh averages) and the interval
//! is the Wilcoxon signed-rank interval for the centre of symmetry: distribution-free, efficient
//! (95% of the t interval's efficiency on normal noise, better on heavy tails), and a single
//! stalled iteration moves it by one rank, never by its size.
//!
//! Sequential stopping is a group-sequential design with Bonferroni alpha spending: at most
//! [`LOOKS`] looks, planned before the first unit at fixed unit counts; look `k` of `K` spends
//! `alpha * (k^2 - (k-1)^2) / K^2` (quadratic spending: early looks are strict and cost little,
//! the last look keeps most of the error budget). The spent alphas sum to `alpha`, so by the union
//! bound the intervals of all looks hold together with probability at least `1 - alpha`, however
//! the looks are correlated: stopping at the first look whose interval lies wholly above or below
//! the threshold cannot inflate the error rate.

use crate::stats::median;

/// Error budget of the whole sequential run, two-sided: every interval the run looks at holds
/// together with probability >= 95%. A false `regressed` needs the interval wholly above the
/// threshold while the truth is below it: at most 2.5%, and far less for a change near zero.
pub const ALPHA: f64 = 0.05;
/// Looks per run; 6 spends the budget so the last look's interval is ~1.24x the width of a
/// single fixed-size test's (z 2.43 instead of 1.96), while a large change is called at the
/// first look.
pub const LOOKS: usize = 6;
/// Units at the first look: the signed-rank interval needs 11 to exclude anything at the first
/// look's alpha (0.0014); 12 makes the first look possible.
pub const MIN_UNITS: usize = 12;
/// One-sided 95% normal quantile: the power of the "minimum detectable effect".
pub const Z_POWER: f64 = 1.645;

/// One planned look: after `units` units, an interval at `1 - alpha`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    pub units: usize,
    pub alpha: f64,
}

/// The looks for a run that can afford about `max_units` units: [`LOOKS`] looks evenly spaced
/// from [`MIN_UNITS`] to `max_units` (fewer when the budget allows fewer distinct counts; one
/// look at `max_units` when it is below the minimum), quadratic alpha spending.
pub fn plan_looks(max_units: usize, alpha: f64) -> Vec<Look> {
    let max_units = max_units.max(2);
    let mut counts: Vec<usize> = if max_units <= MIN_UNITS {
        vec![max_units]
    } else {
        let span = (max_units - MIN_UNITS) as f64;
        (0..LOOKS)
            .map(|k| MIN_UNITS + (span * k as f64 / (LOOKS - 1) as f64).round() as usize)
            .collect()
    };
    counts.dedup();
    let k = counts.len() as f64;
    counts
        .iter()
        .enumerate()
        .map(|(i, &units)| {
            let (i, prev) = ((i + 1) as f64, i as f64);
            Look {
                units,
                alpha: alpha * (i * i - prev * prev) / (k * k),
            }
        })
        .collect()
}

/// `P(T+ <= t)` for `t = 0..=n(n+1)/2`, where `T+` is the Wilcoxon signed-rank statistic of
/// `n` observations under the null (each rank's sign a fair coin). Exact, by counting subsets.
fn signed_rank_cdf(n: usize) -> Vec<f64> {
    let m = n * (n + 1) / 2;
    let mut p = vec![0.0f64; m + 1];
    p[0] = 1.0;
    let mut top = 0;
    for r in 1..=n {
        top += r;
        for s in (0..=top).rev() {
            let with = if s >= r { p[s - r] } else { 0.0 };
            p[s] = 0.5 * (p[s] + with);
        }
    }
    let mut acc = 0.0;
    for x in &mut p {
        acc += *x;
        *x = acc;
    }
    p
}

/// Above this many observations the signed-rank statistic's normal approximation is used (its
/// error is far below the alpha steps that matter here), keeping the exact count's table small.
const EXACT_MAX: usize = 400;

/// The largest `c` with `P(T+ <= c - 1) <= alpha / 2`: the interval is the `c`-th smallest to the
/// `c`-th largest Walsh average. 0 when `n` is too small for any interval at this level.
fn signed_rank_rank(n: usize, alpha: f64) -> usize {
    if n <= EXACT_MAX {
        let cdf = signed_rank_cdf(n);
        // cdf[c - 1] <= alpha/2  <=>  c - 1 < first index above alpha/2
        cdf.iter().take_while(|p| **p <= alpha / 2.0).count()
    } else {
        let nf = n as f64;
        let mean = nf * (nf + 1.0) / 4.0;
        let sd = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt();
        let c = mean - normal_quantile(1.0 - alpha / 2.0) * sd + 0.5;
        c.floor().max(0.0) as usize
    }
}

/// Walsh averages `(d_i + d_j) / 2`, `i <= j`, sorted.
fn walsh_averages(d: &[f64]) -> Vec<f64> {
    let mut w = Vec::with_capacity(d.len() * (d.len() + 1) / 2);
    for (i, a) in d.iter().enumerate() {
        for b in &d[i..] {
            w.push((a + b) / 2.0);
        }
    }
    w.sort_by(f64::total_cmp);
    w
}

/// The Hodges-Lehmann estimate of the centre of symmetry: the median of the Walsh averages.
/// NaN when empty.
pub fn hodges_lehmann(d: &[f64]) -> f64 {
    median(&walsh_averages(d))
}

/// The estimate and its interval, log space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShiftInterval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// The level the interval was computed at (its own share of the error budget).
    pub alpha: f64,
}

/// The Wilcoxon signed-rank interval at `1 - alpha` for the centre of symmetry of `d`, with the
/// Hodges-Lehmann estimate; `None` when there are too few values for that level or a value is
/// not finite.
pub fn shift_interval(d: &[f64], alpha: f64) -> Option<ShiftInterval> {
    if d.is_empty() || d.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let c = signed_rank_rank(d.len(), alpha);
    if c == 0 {
        return None;
    }
    let w = walsh_averages(d);
    Some(ShiftInterval {
        estimate: median(&w),
        low: w[c - 1],
        high: w[w.len() - c],
        alpha,
    })
}

/// Adds the worker pairs' random effect to an interval. The units of one pair share its two
/// processes, and processes differ in speed by a few percent (memory layout, warm-up), an offset
/// their units' spread cannot show: with few pairs the unit-level interval is too narrow (in
/// simulation, 2 pairs with a 1.7% process sd: 11% of A/A intervals missed zero). The
/// between-pair variance is estimated from the pairs' Hodges-Lehmann centres (one-way random
/// effects, method of moments, within-pair spread from the MAD) and added, divided by the
/// number of pairs, to each side of the interval. Returns the interval and the estimated
/// between-pair sd; unchanged when the pairs agree or too few pairs (with two units each) leave
/// a degree of freedom beside the warm-up-order means: 2 pairs never do, 4 leave 2.
pub fn with_pair_effect(i: ShiftInterval, d: &[f64], pair: &[u32]) -> (ShiftInterval, f64) {
    let mut groups: std::collections::BTreeMap<u32, Vec<f64>> = Default::default();
    for (&x, &p) in d.iter().zip(pair) {
        groups.entry(p).or_default().push(x);
    }
    let groups: Vec<(u32, &Vec<f64>)> = groups
        .iter()
        .filter(|(_, g)| g.len() >= 2)
        .map(|(p, g)| (*p, g))
        .collect();
    let k = groups.len();
    // The warm-up order alternates by pair, and its effect is systematic: it is a fixed effect
    // (one centre for even pairs, one for odd), cancelled in the estimate by the balance of the
    // design; only what is left around those centres is the random process effect.
    let centres: Vec<(bool, f64)> = groups
        .iter()
        .map(|(p, g)| (p.is_multiple_of(2), hodges_lehmann(g)))
        .collect();
    let side_mean = |even: bool| {
        let c: Vec<f64> = centres
            .iter()
            .filter(|c| c.0 == even)
            .map(|c| c.1)
            .collect();
        (!c.is_empty()).then(|| c.iter().sum::<f64>() / c.len() as f64)
    };
    let means = [side_mean(true), side_mean(false)];
    let fitted = means.iter().flatten().count();
    if k <= fitted {
        return (i, 0.0);
    }
    let q = centres
        .iter()
        .map(|&(even, c)| {
            let m = means[usize::from(!even)].unwrap_or(c);
            (c - m).powi(2)
        })
        .sum::<f64>()
        / (k - fitted) as f64;
    // Within-pair variance of one unit, robustly (1.4826 MAD), pooled over pairs; the HL centre
    // of n units has about 1.047 / n of it (its efficiency at the normal is 95.5%).
    let (mut ss, mut df) = (0.0, 0.0);
    for (_, g) in &groups {
        let m = median(g);
        let dev: Vec<f64> = g.iter().map(|x| (x - m).abs()).collect();
        let sd = 1.4826 * median(&dev);
        ss += sd * sd * (g.len() - 1) as f64;
        df += (g.len() - 1) as f64;
    }
    let within = ss / df;
    let mean_inv_n = groups
        .iter()
        .map(|(_, g)| 1.0 / g.len() as f64)
        .sum::<f64>()
        / k as f64;
    let tau2 = (q - 1.047 * within * mean_inv_n).max(0.0);
    if tau2 == 0.0 {
        return (i, 0.0);
    }
    let extra = normal_quantile(1.0 - i.alpha / 2.0).powi(2) * tau2 / k as f64;
    let widen = |side: f64| (side * side + extra).sqrt();
    let widened = ShiftInterval {
        low: i.estimate - widen(i.estimate - i.low),
        high: i.estimate + widen(i.high - i.estimate),
        ..i
    };
    (widened, tau2.sqrt())
}

/// What a look decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// The whole interval is above the threshold.
    Regressed,
    /// The whole interval is below the threshold (and, for `Improved`, below minus it).
    Pass,
    Improved,
    /// Neither: keep measuring.
    Continue,
}

/// The rule at one look, with the threshold `t` as a log ratio (`ln(1 + pct / 100)`).
pub fn call(i: &ShiftInterval, t: f64) -> Call {
    if i.low > t {
        Call::Regressed
    } else if i.high < -t {
        Call::Improved
    } else if i.high < t {
        Call::Pass
    } else {
        Call::Continue
    }
}

/// The smallest slowdown (log ratio) this interval's run would have called `regressed` with 95%
/// power: the interval's lower end must clear `t`, so the truth must exceed it by the interval's
/// half-width plus 1.645 standard errors (the standard error read off the interval itself).
pub fn minimum_detectable(i: &ShiftInterval, t: f64) -> f64 {
    let half = (i.high - i.low) / 2.0;
    let se = half / normal_quantile(1.0 - i.alpha / 2.0);
    t + half + Z_POWER * se
}

/// How many times this look's units would decide, with 95% power, a change of the size this
/// look estimated: the interval's side toward the threshold plus [`Z_POWER`] standard errors must
/// fit in the gap between the estimate and the threshold, and at the same level both fall as one
/// over the square root of the units (the arithmetic of [`minimum_detectable`], solved for the
/// length). At least 1; `None` when the estimate sits on the threshold (no length would).
pub fn length_to_decide(i: &ShiftInterval, t: f64) -> Option<f64> {
    let (gap, side) = if i.estimate > t {
        (i.estimate - t, i.estimate - i.low)
    } else {
        (t - i.estimate, i.high - i.estimate)
    };
    let z = normal_quantile(1.0 - i.alpha / 2.0);
    let needed = side * (1.0 + Z_POWER / z);
    (gap > 1e-9 && needed.is_finite()).then(|| (needed / gap).powi(2).max(1.0))
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    if !(p > 0.0 && p < 1.0) {
        return if p <= 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Replays a sequence of unit log-ratios through the looks: the first look that calls it, or the
/// last look reached (`Continue`: the budget ran out undecided). `None` before the first look.
pub fn judge(d: &[f64], looks: &[Look], t: f64) -> Option<(Look, ShiftInterval, Call)> {
    let mut last = None;
    for look in looks.iter().take_while(|l| l.units <= d.len()) {
        let Some(i) = shift_interval(&d[..look.units], look.alpha) else {
            continue;
        };
        let c = call(&i, t);
        last = Some((*look, i, c));
        if c != Call::Continue {
            break;
        }
    }
    last
}

#[cfg(test)]
#[path = "sequential_tests.rs"]
mod tests;
