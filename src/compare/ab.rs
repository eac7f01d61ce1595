//! Interleaved A/B: two variants on the same pinned CPUs, measured in alternating blocks, so
//! that machine drift (a neighbour's build, frequency changes) hits both variants of a round
//! alike and cancels in the round's ratio. The order inside each round is randomized with a
//! seeded generator (randomized multiple interleaved trials): a fixed A-then-B order would hand
//! B every warm cache or every slow start.
//!
//! Each variant runs in its own worker process (`crate::worker`), whose blocks are calls of
//! `runner::measure` with a fixed count: the same timed loop as `bench-gate run`.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::verdict::metric_of;
use crate::config::Metric;
use crate::platform::EnvDelta;

/// One side of an A/B: something that measures a block of iterations on demand. In
/// `bench-gate ab` it is a worker process ([`crate::worker::Worker`]).
pub trait Variant {
    /// `warmup` untimed iterations, then `iterations` timed ones (0: warm-up only); the
    /// samples in milliseconds and what the environment did meanwhile.
    fn block(&mut self, warmup: u32, iterations: u32) -> anyhow::Result<(Vec<f64>, EnvDelta)>;
}

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub struct AbPlan {
    /// Rounds; each yields one log-ratio (the sample size of the test).
    pub rounds: NonZeroU32,
    /// Counted iterations per variant per round.
    pub per_round: NonZeroU32,
    /// Un-timed iterations of each variant before the first round of each pair.
    pub warmup: u32,
    /// Fresh pairs of variants the rounds are split between; the warm-up order alternates
    /// between pairs (A first, then B first).
    pub pairs: NonZeroU32,
    /// Seeds the order of the variants within rounds.
    pub seed: u64,
}

/// Which variant ran first in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum First {
    A,
    B,
}

/// Everything an A/B run produced. Times in milliseconds.
#[derive(Debug, Clone)]
pub struct AbOutcome {
    /// `ln(metric_B / metric_A)` per round.
    pub round_log_ratios: Vec<f64>,
    pub order: Vec<First>,
    /// The pair (0-based) each round ran on.
    pub pair: Vec<u32>,
    pub a_samples_ms: Vec<f64>,
    pub b_samples_ms: Vec<f64>,
    /// Throttling and steal over the whole A/B run.
    pub during: EnvDelta,
    pub wall_time: Duration,
}

/// The seeded order of variants per round: balanced (half the rounds start with A, half with
/// B; one extra A-first round when R is odd), in a shuffled sequence. Plain coin flips can leave
/// 7 of 10 rounds starting with the same variant, and any cost of going first or second (a cold
/// cache after the other model evicted the weights) then biases the mean ratio; with a balanced
/// order it cancels.
pub fn round_order(rounds: u32, seed: u64) -> Vec<First> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<First> = (0..rounds)
        .map(|i| if i % 2 == 0 { First::A } else { First::B })
        .collect();
    // Fisher-Yates.
    for i in (1..order.len()).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
    order
}

/// Rounds per pair: as even as possible, the first pairs taking the remainder.
pub fn rounds_per_pair(rounds: u32, pairs: u32) -> Vec<u32> {
    let pairs = pairs.clamp(1, rounds.max(1));
    (0..pairs)
        .map(|p| rounds / pairs + u32::from(p < rounds % pairs))
        .collect()
}

/// A fresh pair of variants (A, B) for pair number `p`.
pub type StartPair<'a> =
    dyn FnMut(u32) -> anyhow::Result<(Box<dyn Variant + 'a>, Box<dyn Variant + 'a>)> + 'a;

/// Runs the rounds. Each pair of variants is started fresh, warmed, and runs its share of the
/// rounds in a balanced order. Why several pairs: the variant warmed up second measured 1-2%
/// faster for its whole life (measured: swapping only the warm-up order flipped the sign of an
/// A/A), an effect of when each process first touched its memory that no number of rounds on
/// one pair can cancel. Alternating the warm-up order between pairs turns it into round-to-round
/// spread, which the t interval counts. `progress` is told each round (1-based) and its
/// log-ratio.
pub fn interleave(
    plan: &AbPlan,
    metric: Metric,
    start_pair: &mut StartPair<'_>,
    progress: &mut dyn FnMut(u32, f64),
) -> anyhow::Result<AbOutcome> {
    let start = Instant::now();
    let mut out = AbOutcome {
        round_log_ratios: Vec::new(),
        order: Vec::new(),
        pair: Vec::new(),
        a_samples_ms: Vec::new(),
        b_samples_ms: Vec::new(),
        during: EnvDelta::default(),
        wall_time: Duration::ZERO,
    };
    let mut during = Vec::new();
    let k = plan.per_round.get();
    let shares = rounds_per_pair(plan.rounds.get(), plan.pairs.get());
    for (p, n) in (0u32..).zip(shares) {
        let (mut a, mut b) = start_pair(p)?;
        if plan.warmup > 0 {
            let (first, second) = if p % 2 == 0 {
                (&mut a, &mut b)
            } else {
                (&mut b, &mut a)
            };
            first.block(plan.warmup, 0)?;
            second.block(plan.warmup, 0)?;
        }
        for first in round_order(n, plan.seed.wrapping_add(u64::from(p))) {
            let ((sa, da), (sb, db)) = match first {
                First::A => {
                    let ra = a.block(0, k)?;
                    (ra, b.block(0, k)?)
                }
                First::B => {
                    let rb = b.block(0, k)?;
                    (a.block(0, k)?, rb)
                }
            };
            during.extend([da, db]);
            let r = (metric_of(metric, &sb) / metric_of(metric, &sa)).ln();
            out.round_log_ratios.push(r);
            out.order.push(first);
            out.pair.push(p);
            out.a_samples_ms.extend(sa);
            out.b_samples_ms.extend(sb);
            progress(out.round_log_ratios.len() as u32, r);
        }
    }
    out.during = EnvDelta::total(&during);
    out.wall_time = start.elapsed();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::cell::RefCell;
    use std::rc::Rc;

    /// A deterministic variant: every iteration takes a fixed time, 1% less if it was warmed
    /// up second (the effect several pairs cancel); logs its calls.
    struct Fixed {
        ms: f64,
        name: char,
        log: Rc<RefCell<Vec<(char, u32, u32)>>>,
    }
    impl Variant for Fixed {
        fn block(&mut self, warmup: u32, iterations: u32) -> anyhow::Result<(Vec<f64>, EnvDelta)> {
            let mut log = self.log.borrow_mut();
            let warmed_second = log.iter().filter(|(_, w, _)| *w > 0).count() % 2 == 1;
            if warmup > 0 && warmed_second {
                self.ms *= 0.99;
            }
            log.push((self.name, warmup, iterations));
            let during = EnvDelta {
                elapsed_ms: self.ms * f64::from(iterations),
                nr_periods: Some(10),
                nr_throttled: Some(1),
                ..EnvDelta::default()
            };
            Ok((vec![self.ms; iterations as usize], during))
        }
    }

    #[test]
    fn the_order_is_seeded_balanced_and_shuffled() {
        let o = round_order(40, 7);
        assert_eq!(o, round_order(40, 7));
        assert_ne!(o, round_order(40, 8));
        assert_eq!(o.iter().filter(|f| **f == First::A).count(), 20);
        assert_eq!(
            round_order(5, 1).iter().filter(|f| **f == First::A).count(),
            3
        );
        // Shuffled, not alternating.
        assert!(o.windows(2).any(|w| w[0] == w[1]));
    }

    #[test]
    fn rounds_are_shared_evenly_between_pairs() {
        assert_eq!(rounds_per_pair(10, 2), [5, 5]);
        assert_eq!(rounds_per_pair(10, 3), [4, 3, 3]);
        assert_eq!(rounds_per_pair(3, 5), [1, 1, 1]);
        assert_eq!(rounds_per_pair(7, 1), [7]);
    }

    #[test]
    fn pairs_alternate_the_warm_up_order_and_cancel_its_effect() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let plan = AbPlan {
            rounds: NonZeroU32::new(4).unwrap(),
            per_round: NonZeroU32::new(3).unwrap(),
            warmup: 1,
            pairs: NonZeroU32::new(2).unwrap(),
            seed: 1,
        };
        let mut started = Vec::new();
        let mut start = |p: u32| -> anyhow::Result<(Box<dyn Variant>, Box<dyn Variant>)> {
            started.push(p);
            let v = |ms, name| Fixed {
                ms,
                name,
                log: Rc::clone(&log),
            };
            Ok((Box::new(v(2.0, 'a')), Box::new(v(4.0, 'b'))))
        };
        let mut seen = 0;
        let out = interleave(&plan, Metric::Median, &mut start, &mut |_, _| seen += 1).unwrap();
        assert_eq!(started, [0, 1]);
        assert_eq!(seen, 4);
        assert_eq!(out.pair, [0, 0, 1, 1]);
        assert_eq!(out.a_samples_ms.len(), 12);
        assert_eq!(out.b_samples_ms.len(), 12);
        let warm: Vec<char> = log
            .borrow()
            .iter()
            .filter(|c| c.1 > 0)
            .map(|c| c.0)
            .collect();
        assert_eq!(warm, ['a', 'b', 'b', 'a']);
        // Pair 0 saw B 1% fast, pair 1 saw A 1% fast: the mean is the true doubling.
        let (r0, r1) = (out.round_log_ratios[0], out.round_log_ratios[3]);
        assert!((r0 - (2f64 * 0.99).ln()).abs() < 1e-12, "{r0}");
        assert!((r1 - (2f64 / 0.99).ln()).abs() < 1e-12, "{r1}");
        let mean = out.round_log_ratios.iter().sum::<f64>() / 4.0;
        assert!((mean - 2f64.ln()).abs() < 1e-12);
        // The environment of every block adds up: 8 blocks of 10 periods, 1 throttled each.
        assert_eq!(out.during.nr_periods, Some(80));
        assert_eq!(out.during.nr_throttled, Some(8));
        assert_eq!(out.during.throttled_period_ratio, Some(0.1));
        assert!((out.during.elapsed_ms - 4.0 * (6.0 + 12.0)).abs() < 1.0);
    }
}
