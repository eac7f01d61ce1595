//! The duet's memory gate: B against A within each worker pair, and ORT's arena where it is
//! deterministic. Numbers in, verdict out.
//!
//! A duet has few pairs (6 for a fast model, 2 for a slow one), so A's peaks are too few to estimate a noise as a history
//! does ([`super::memory::judge`]): one degree of freedom leaves the prior to decide. What each
//! pair gives instead is a direct comparison, B's process against A's, started together and run
//! on the same blocks. Each pair's log ratio `r = ln(B/A)` is compared with the threshold
//! `T = ln(1 + pct/100)` widened by a noise floor `f`, the larger of:
//!
//! - the measured A/A floor: [`AA_FLOOR_PCT`], or [`AA_FLOOR_MIB`] of A's smallest peak when that
//!   is more (a small model), from the differences seen between two processes of the same model
//!   (docs/verdict.md, "Memory in the duet"; `benches/memory_aa.py`);
//! - this run's own A/A spread: `ln(max/min)` of A's peaks over the pairs, and of B's (two
//!   processes of one model each time), so a run whose processes disagree more than the
//!   measured floor widens its own margin.
//!
//! The rule: `regressed` when every pair's `r > T + f`, `improved` when every `r < -(T + f)`,
//! `pass` when every `r < T - f`; otherwise `inconclusive`, saying which pair values would have
//! decided it. Pairs must agree, so one pair cannot make the call for the others. The floor
//! does not cover the ~15 MiB jump between the two allocation modes glibc's dynamic mmap
//! threshold gives some models (docs/verdict.md): with 4 or more pairs all of them landing
//! against B is unlikely, but with fewer an RSS-only growth that ORT's arena does not confirm
//! is `inconclusive`, not `regressed` ([`FEW_PAIRS`]).
//!
//! ORT's arena peak (`MaxInUse`, summed over a worker's graphs) is the same run to run for a fixed
//! input, so when every A reports the same figure and every B the same (within
//! [`ARENA_SAME_PCT`]) B's is judged against A's with the threshold alone, no noise margin. When
//! the workers of one side differ it is shown, not gated.

use serde::{Deserialize, Serialize};

use super::Verdict;
use super::memory::MemoryVerdict;
use crate::stats::median;

/// The A/A floor, relative part, percent: what one pair's B/A can show with nothing changed for
/// a large model. Measured A/A with `benches/memory_aa.py` (docs/verdict.md, "Memory in the
/// duet"): at most 0.41% between processes of the whisper-tiny encoder (release build) in the
/// same allocation mode.
pub const AA_FLOOR_PCT: f64 = 1.0;
/// The A/A floor, absolute part, MiB: page bookkeeping moves a small model's peak by a similar
/// number of MiB, a larger share of it (Silero VAD: up to 0.66 MiB, 1.25% of 53 MiB).
pub const AA_FLOOR_MIB: f64 = 1.0;

/// Two arena peaks of one side closer than this (percent of the larger) count as the same: ORT's
/// figures for a fixed input are identical to the byte (docs/explain.md), this leaves room for
/// nothing but rounding, far below any memory threshold anyone sets.
pub const ARENA_SAME_PCT: f64 = 0.1;

/// One worker pair's peak RSS.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairPeaks {
    /// Variant A's worker, MiB.
    pub a_mb: f64,
    /// Variant B's worker, MiB.
    pub b_mb: f64,
    /// B against A, percent.
    pub change_pct: f64,
}

/// ORT's arena peak in use (`MaxInUse`, summed over the graphs of a worker), per worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArenaLine {
    /// `None`: shown, not gated (the workers of a side differ, or memory is not gated).
    pub verdict: Option<Verdict>,
    /// Per pair, variant A's worker, MiB.
    pub a_mb: Vec<f64>,
    /// Per pair, variant B's worker, MiB.
    pub b_mb: Vec<f64>,
    /// B against A, percent (`None` when a side's workers differ).
    pub change_pct: Option<f64>,
    /// Every A reported the same peak, and every B the same.
    pub deterministic: bool,
    pub reason: String,
}

fn pct(log_ratio: f64) -> f64 {
    (log_ratio.exp() - 1.0) * 100.0
}

fn ln_pct(p: f64) -> f64 {
    (1.0 + p / 100.0).ln()
}

/// `ln(max/min)` of `xs` (0 for fewer than 2).
fn spread(xs: &[f64]) -> f64 {
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    if xs.len() < 2 { 0.0 } else { (hi / lo).ln() }
}

/// The measured A/A floor, percent and MiB ([`AA_FLOOR_PCT`], [`AA_FLOOR_MIB`] in the duet).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Floor {
    pub pct: f64,
    pub mib: f64,
}

/// The floor the duet uses.
pub const AA_FLOOR: Floor = Floor {
    pct: AA_FLOOR_PCT,
    mib: AA_FLOOR_MIB,
};

/// Judges the pairs' peaks `(a_mb, b_mb)` (all positive and finite) against `threshold_pct`,
/// with `floor` as the measured A/A floor ([`AA_FLOOR`] in the duet).
pub fn judge(pairs: &[(f64, f64)], threshold_pct: Option<f64>, floor: Floor) -> MemoryVerdict {
    let a: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let b: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let r: Vec<f64> = pairs.iter().map(|(a, b)| (b / a).ln()).collect();
    let (spread_a, spread_b) = (spread(&a), spread(&b));
    let smallest_a = a.iter().copied().fold(f64::INFINITY, f64::min);
    let measured = ln_pct(floor.pct).max((1.0 + floor.mib / smallest_a).ln());
    let f = measured.max(spread_a).max(spread_b);
    let floor_from = if f > measured {
        let (side, xs) = if spread_a >= spread_b {
            ("A", &a)
        } else {
            ("B", &b)
        };
        let shown: Vec<String> = xs.iter().map(|x| format!("{x:.1}")).collect();
        format!(
            "; this run's {side} peaks ({} MiB) set the floor",
            shown.join(" / ")
        )
    } else {
        String::new()
    };
    let each: Vec<String> = r.iter().map(|x| format!("{:+.1}%", pct(*x))).collect();
    let each = each.join(", ");
    let mut v = MemoryVerdict {
        verdict: None,
        candidate_mb: median(&b),
        baseline_mb: Some(median(&a)),
        change_pct: Some(pct(median(&r))),
        ci_pct: None,
        noise_pct: Some(pct(f)),
        threshold_pct,
        runs_used: pairs.len(),
        reasons: Vec::new(),
        pairs: pairs
            .iter()
            .zip(&r)
            .map(|(&(a_mb, b_mb), &x)| PairPeaks {
                a_mb,
                b_mb,
                change_pct: pct(x),
            })
            .collect(),
        arena: None,
    };
    let Some(t_pct) = threshold_pct else {
        v.reasons.push(format!(
            "peak memory per pair {each} (not gated: set max_memory_regression_pct in [thresholds.ARCH] to gate it)"
        ));
        return v;
    };
    let t = ln_pct(t_pct);
    let (lo, hi) = r
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    let (verdict, why) = if lo > t + f {
        (
            Verdict::Regressed,
            format!(
                "per pair {each}: every pair beyond {:+.1}% (the {t_pct}% threshold plus the {:.1}% A/A floor)",
                pct(t + f),
                pct(f)
            ),
        )
    } else if hi < -(t + f) {
        (
            Verdict::Improved,
            format!(
                "per pair {each}: every pair below {:+.1}% (less memory beyond the threshold and the floor)",
                pct(-(t + f))
            ),
        )
    } else if hi < t - f {
        (
            Verdict::Pass,
            format!(
                "per pair {each}: every pair below {:+.1}% (the {t_pct}% threshold less the {:.1}% A/A floor)",
                pct(t - f),
                pct(f)
            ),
        )
    } else {
        (
            Verdict::Inconclusive,
            format!(
                "per pair {each}: neither all beyond {:+.1}% nor all below {:+.1}% (the {t_pct}% threshold -+ the {:.1}% A/A floor); more pairs that agree decide it",
                pct(t + f),
                pct(t - f),
                pct(f)
            ),
        )
    };
    v.verdict = Some(verdict);
    v.reasons.push(format!("peak memory: {why}{floor_from}"));
    v
}

/// Judges ORT's arena peaks, per pair `(A, B)` in MiB, with the memory threshold when every A
/// reported the same and every B the same; `None` when a worker reported no arena.
pub fn arena(pairs: &[(f64, f64)], threshold_pct: Option<f64>) -> Option<ArenaLine> {
    if pairs.is_empty()
        || pairs
            .iter()
            .any(|&(a, b)| !(a.is_finite() && b.is_finite() && a > 0.0 && b > 0.0))
    {
        return None;
    }
    let a: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let b: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let same = ln_pct(ARENA_SAME_PCT);
    let deterministic = spread(&a) <= same && spread(&b) <= same;
    let mut line = ArenaLine {
        verdict: None,
        a_mb: a.clone(),
        b_mb: b.clone(),
        change_pct: None,
        deterministic,
        reason: String::new(),
    };
    if !deterministic {
        let range = |xs: &[f64]| {
            let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{lo:.1}..{hi:.1} MiB")
        };
        line.reason = format!(
            "ORT arena peak differs between workers (A {}, B {}): shown, not gated",
            range(&a),
            range(&b)
        );
        return Some(line);
    }
    let r = (b[0] / a[0]).ln();
    line.change_pct = Some(pct(r));
    let head = format!(
        "ORT arena peak {:.1} MiB against {:.1} MiB ({:+.1}%, the same in every worker)",
        b[0],
        a[0],
        pct(r)
    );
    let Some(t_pct) = threshold_pct else {
        line.reason = format!("{head}, not gated");
        return Some(line);
    };
    let t = ln_pct(t_pct);
    let (verdict, how) = if r > t {
        (Verdict::Regressed, "beyond")
    } else if r < -t {
        (Verdict::Improved, "smaller by more than")
    } else {
        (Verdict::Pass, "within")
    };
    line.verdict = Some(verdict);
    line.reason = format!("{head}: {how} the {t_pct}% threshold");
    Some(line)
}

/// Below this many pairs, every pair's B landing in glibc's upper allocation mode and every A in
/// the lower is likely enough (the helper's A/A duets: 1 in 4 with 2 pairs) that an RSS growth
/// the arena does not show is not called a regression.
pub const FEW_PAIRS: usize = 4;

/// The duet's memory line: the pairs' peak RSS judged by [`judge`], then the arena by [`arena`];
/// a gated arena that regressed makes the line `regressed`; with fewer than [`FEW_PAIRS`] pairs,
/// an RSS `regressed` that a gated arena contradicts (flat: within [`AA_FLOOR_PCT`]) is
/// `inconclusive`; otherwise the RSS verdict stands.
pub fn duet_memory(
    rss: &[(f64, f64)],
    arena_mb: &[(f64, f64)],
    threshold_pct: Option<f64>,
) -> MemoryVerdict {
    let mut v = judge(rss, threshold_pct, AA_FLOOR);
    if let Some(line) = arena(arena_mb, threshold_pct) {
        if line.verdict == Some(Verdict::Regressed) {
            v.verdict = Some(Verdict::Regressed);
            v.reasons.push(format!("peak memory: {}", line.reason));
        } else if line.verdict.is_some()
            && line.change_pct.is_some_and(|c| c.abs() < AA_FLOOR_PCT)
            && v.verdict == Some(Verdict::Regressed)
            && rss.len() < FEW_PAIRS
        {
            v.verdict = Some(Verdict::Inconclusive);
            v.reasons.push(format!(
                "peak memory: every pair grew but ORT's arena did not, and {} pair(s) cannot tell that from glibc's two allocation modes (~6% apart; docs/verdict.md); fix: --worker-pairs 4 or more",
                rss.len()
            ));
        }
        v.arena = Some(line);
    }
    v
}

#[cfg(test)]
#[path = "memory_pairs_tests.rs"]
mod tests;
