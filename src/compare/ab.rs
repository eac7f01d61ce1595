//! Interleaved A/B: two workloads loaded in one process on the same pinned CPUs, measured in
//! alternating blocks, so that machine drift (a neighbour's build, frequency changes) hits both
//! variants of a round alike and cancels in the round's ratio. The order inside each round is
//! randomized with a seeded generator (randomized multiple interleaved trials): a fixed A-then-B
//! order would hand B every warm cache or every slow start.
//!
//! Each block is one call of [`runner::measure`] with a fixed count: the same timed loop as
//! `bench-gate run`, never a second one.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::verdict::metric_of;
use crate::config::{Iterations, Metric};
use crate::platform::{EnvDelta, Snapshot};
use crate::runner::{self, AutoPlan, Plan, Silent};
use crate::workload::{Workload, WorkloadError};

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub struct AbPlan {
    /// Rounds; each yields one log-ratio (the sample size of the test).
    pub rounds: NonZeroU32,
    /// Counted iterations per variant per round.
    pub per_round: NonZeroU32,
    /// Un-timed iterations of each variant before the first round.
    pub warmup: u32,
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

fn block(w: &mut dyn Workload, warmup: u32, n: NonZeroU32) -> Result<Vec<f64>, WorkloadError> {
    let plan = Plan {
        warmup,
        iterations: Iterations::Fixed(n),
        time_budget: None,
        auto: AutoPlan::default(),
    };
    Ok(runner::measure(w, &plan, &mut Silent)?.samples_ms)
}

/// Runs the rounds. `progress` is told each finished round (1-based) and its log-ratio.
pub fn interleave(
    a: &mut dyn Workload,
    b: &mut dyn Workload,
    plan: &AbPlan,
    metric: Metric,
    progress: &mut dyn FnMut(u32, f64),
) -> Result<AbOutcome, WorkloadError> {
    let start = Instant::now();
    // Warm both before the first round so neither pays first-touch costs inside a round.
    let one = NonZeroU32::MIN;
    if plan.warmup > 0 {
        block(a, plan.warmup - 1, one)?;
        block(b, plan.warmup - 1, one)?;
    }
    let before = Snapshot::take();
    let order = round_order(plan.rounds.get(), plan.seed);
    let mut out = AbOutcome {
        round_log_ratios: Vec::with_capacity(order.len()),
        order: order.clone(),
        a_samples_ms: Vec::new(),
        b_samples_ms: Vec::new(),
        during: EnvDelta::default(),
        wall_time: Duration::ZERO,
    };
    for (i, first) in order.iter().enumerate() {
        let (sa, sb) = match first {
            First::A => {
                let sa = block(a, 0, plan.per_round)?;
                (sa, block(b, 0, plan.per_round)?)
            }
            First::B => {
                let sb = block(b, 0, plan.per_round)?;
                (block(a, 0, plan.per_round)?, sb)
            }
        };
        let r = (metric_of(metric, &sb) / metric_of(metric, &sa)).ln();
        out.round_log_ratios.push(r);
        out.a_samples_ms.extend(sa);
        out.b_samples_ms.extend(sb);
        progress(i as u32 + 1, r);
    }
    out.during = Snapshot::take().since(&before);
    out.wall_time = start.elapsed();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{StageTime, WorkloadInfo};

    /// A deterministic workload: sleeps a fixed time per iteration.
    struct Sleep(Duration, WorkloadInfo);
    impl Workload for Sleep {
        fn iterate(&mut self, _: &mut Vec<StageTime>) -> Result<(), WorkloadError> {
            std::thread::sleep(self.0);
            Ok(())
        }
        fn info(&self) -> &WorkloadInfo {
            &self.1
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
    fn interleaving_measures_both_and_sees_a_doubling() {
        let mut a = Sleep(Duration::from_millis(2), WorkloadInfo::default());
        let mut b = Sleep(Duration::from_millis(4), WorkloadInfo::default());
        let plan = AbPlan {
            rounds: NonZeroU32::new(4).unwrap(),
            per_round: NonZeroU32::new(3).unwrap(),
            warmup: 1,
            seed: 1,
        };
        let mut seen = 0;
        let out = interleave(&mut a, &mut b, &plan, Metric::Median, &mut |_, _| seen += 1).unwrap();
        assert_eq!(seen, 4);
        assert_eq!(out.a_samples_ms.len(), 12);
        assert_eq!(out.b_samples_ms.len(), 12);
        let mean = out.round_log_ratios.iter().sum::<f64>() / 4.0;
        // ln(2) = 0.69; sleeps overshoot a little, never by half.
        assert!((0.35..1.0).contains(&mean), "{mean}");
    }
}
