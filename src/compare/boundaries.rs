//! Group-sequential boundaries for the duet's signed-rank interval, spent on the information
//! actually collected (Lan-DeMets).
//!
//! The duet looks at its units several times and stops at the first look that decides. For the
//! intervals of all looks to hold together with probability `1 - alpha`, each look's interval
//! must be wider than a one-off interval would be. A union bound (each look its own slice of
//! alpha) is valid whatever the looks' correlation, but the signed-rank statistics of nested
//! samples are strongly correlated, so it throws away much of the budget (in simulation the
//! true error was under half the alpha spent). Here the looks' joint null distribution is used
//! instead:
//!
//! - Under "the change is `theta`", the units' deviations from `theta` are symmetric, so which of
//!   them are positive is a fair coin each and the ranks of their sizes are a uniformly random
//!   order: the signed-rank process over looks has one distribution whatever the noise (that is
//!   what makes the test distribution-free). [`Boundaries`] simulates [`PATHS`] such null paths
//!   (seeded: the same looks give the same boundaries) and extends them look by look.
//! - At a look, the cumulative error allowed is [`spent`] at the look's information time `tau`
//!   (the share of the measuring budget used; 1 at the last look, which spends all that is left).
//!   The look's rank is the loosest whose interval, together with the earlier looks', excludes
//!   the truth on at most that share of the paths.
//! - The rank is then clamped between two exact bounds: never looser than the look's own
//!   exact marginal level at the cumulative alpha (no look can exceed what is spent by then) and
//!   never stricter than the union bound's (the exact level of this look's increment). Simulation
//!   error can only move it within those.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::sequential::{EXACT_MAX, normal_quantile, signed_rank_cdf, signed_rank_rank};

/// Simulated null paths: at a cumulative alpha of 0.02, about 160 of them exclude the truth, so
/// the Monte Carlo error of the spent alpha is ~8% of it, and the exact clamps bound the rest.
pub const PATHS: usize = 8000;
/// The paths' seed: fixed, so a duet's boundaries depend only on its looks.
const SEED: u64 = 0x5eed_b0de;

/// Cumulative error spent by information time `tau` (0..=1), Lan-DeMets' Pocock-type function
/// `alpha ln(1 + (e - 1) tau)`: it spends early (a gross change should stop a duet at its first
/// look) and still keeps about 60% for the second half of the budget.
pub fn spent(alpha: f64, tau: f64) -> f64 {
    let tau = tau.clamp(0.0, 1.0);
    alpha * (1.0 + (std::f64::consts::E - 1.0) * tau).ln()
}

/// One look's boundary.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Look {
    /// Units seen at this look.
    pub units: usize,
    /// Information time: the share of the measuring budget used (1 at the last look).
    pub tau: f64,
    /// Cumulative two-sided error spent by this look.
    pub spent: f64,
    /// The interval runs from the `rank`-th smallest to the `rank`-th largest Walsh average;
    /// 0 when this look cannot exclude anything.
    pub rank: usize,
    /// The two-sided level of this look's interval on its own (what one fixed-size test at this
    /// rank would have): its `1 - level` is the interval's nominal coverage.
    pub level: f64,
}

/// One simulated null path: its values so far (sorted), its signed-rank statistic `T+`, and
/// whether an earlier look's interval already excluded the truth on it.
#[derive(Clone)]
struct Path {
    sorted: Vec<i32>,
    t_plus: u64,
    crossed: bool,
}

/// The boundaries of one duet, look by look. The simulated paths are made only when a look's
/// boundary is not already known: the boundaries depend only on the looks (their units and
/// information times), so every duet with the same schedule (a simulation of thousands of
/// duets, say) shares them through [`KNOWN`].
pub struct Boundaries {
    alpha: f64,
    rng: ChaCha8Rng,
    /// `None` until a look's boundary must be simulated.
    paths: Option<Vec<Path>>,
    looks: Vec<Look>,
}

/// A look schedule's key: alpha, then each look's units and information time, bit for bit.
type Key = Vec<(usize, u64)>;

/// Boundaries already computed in this process, by their schedule.
static KNOWN: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<Key, Look>>> =
    std::sync::LazyLock::new(Default::default);
/// Beyond this many, the memo starts over (a long-lived process cannot grow it without bound).
const KNOWN_MAX: usize = 100_000;

impl Boundaries {
    /// For a run whose intervals must hold together at `1 - alpha` (two-sided).
    pub fn new(alpha: f64) -> Self {
        Boundaries {
            alpha,
            rng: ChaCha8Rng::seed_from_u64(SEED),
            paths: None,
            looks: Vec::new(),
        }
    }

    /// The looks taken so far.
    pub fn looks(&self) -> &[Look] {
        &self.looks
    }

    /// The boundary of a look after `units` units at information time `tau`. Looks must come
    /// with growing `units`; `tau` is clamped to be at least the previous look's and at most 1.
    pub fn look(&mut self, units: usize, tau: f64) -> Look {
        let (prev_units, prev_tau) = self.looks.last().map_or((0, 0.0), |l| (l.units, l.tau));
        let (units, tau) = (units.max(prev_units), tau.clamp(prev_tau, 1.0));
        let key = self.key(units, tau);
        let known = KNOWN.lock().ok().and_then(|k| k.get(&key).copied());
        let look = match known {
            Some(look) => {
                if self.paths.is_some() {
                    // Keep the paths in step for the looks after this one.
                    self.simulate(units, tau);
                }
                look
            }
            None => {
                if self.paths.is_none() {
                    self.replay();
                }
                let look = self.simulate(units, tau);
                if let Ok(mut k) = KNOWN.lock() {
                    if k.len() >= KNOWN_MAX {
                        k.clear();
                    }
                    k.insert(key, look);
                }
                look
            }
        };
        self.looks.push(look);
        look
    }

    fn key(&self, units: usize, tau: f64) -> Key {
        let mut key = vec![(0, self.alpha.to_bits())];
        key.extend(self.looks.iter().map(|l| (l.units, l.tau.to_bits())));
        key.push((units, tau.to_bits()));
        key
    }

    /// Makes the paths and brings them to where the looks taken so far left them (the same
    /// seed and looks: the same paths).
    fn replay(&mut self) {
        self.rng = ChaCha8Rng::seed_from_u64(SEED);
        self.paths = Some(vec![
            Path {
                sorted: Vec::new(),
                t_plus: 0,
                crossed: false,
            };
            PATHS
        ]);
        let looks = std::mem::take(&mut self.looks);
        for l in &looks {
            self.simulate(l.units, l.tau);
            self.looks.push(*l);
        }
    }

    /// The boundary of the next look, from the simulated paths (which must exist).
    fn simulate(&mut self, units: usize, tau: f64) -> Look {
        let prev_spent = self.looks.last().map_or(0.0, |l| l.spent);
        let target = spent(self.alpha, tau);
        let increment = (target - prev_spent).max(0.0);
        // Exact clamps: the union bound's rank (valid whatever the correlation) and the rank of
        // this look alone at the cumulative level (nothing can be looser).
        let strict = signed_rank_rank(units, increment);
        let loose = signed_rank_rank(units, target).max(strict);
        let simulated = self.simulated_rank(units, target);
        let rank = simulated.clamp(strict, loose);
        let m = (units * (units + 1) / 2) as u64;
        for p in self.paths.iter_mut().flatten() {
            if !p.crossed && p.t_plus.min(m - p.t_plus) < rank as u64 {
                p.crossed = true;
            }
        }
        Look {
            units,
            tau,
            spent: target,
            rank,
            level: level_of_rank(units, rank),
        }
    }

    /// Extends every path to `units` values and returns the loosest rank whose interval, with
    /// the earlier looks', excludes the truth on at most `target` of the paths.
    fn simulated_rank(&mut self, units: usize, target: f64) -> usize {
        let paths = self.paths.get_or_insert_with(Vec::new);
        for p in paths.iter_mut() {
            while p.sorted.len() < units {
                // A symmetric continuous value: a size and a fair sign (no zero, ties of
                // |x| have probability 2^-31 and only make the path a little conservative).
                let r: u32 = self.rng.random();
                let size = (r >> 1) as i32 + 1;
                let x = if r & 1 == 1 { size } else { -size };
                // Walsh averages with the earlier values (and itself) that are positive.
                let above = p.sorted.len() - p.sorted.partition_point(|&y| y <= -x);
                p.t_plus += above as u64 + u64::from(x > 0);
                let at = p.sorted.partition_point(|&y| y < x);
                p.sorted.insert(at, x);
            }
        }
        let m = (units * (units + 1) / 2) as u64;
        let crossed = paths.iter().filter(|p| p.crossed).count();
        let allowed = (target * PATHS as f64).floor() as usize;
        let Some(allowed) = allowed.checked_sub(crossed) else {
            return 0;
        };
        // How far each path still in play is from the nearer end of T+'s range: an interval at
        // rank c excludes the truth exactly when that distance is below c.
        let mut near: Vec<u64> = paths
            .iter()
            .filter(|p| !p.crossed)
            .map(|p| p.t_plus.min(m - p.t_plus))
            .collect();
        near.sort_unstable();
        match near.get(allowed) {
            Some(&e) => e as usize,
            None => usize::MAX,
        }
    }
}

/// The two-sided level of a signed-rank interval of `n` values at `rank`: `2 P(T+ <= rank - 1)`
/// (0 at rank 0: an interval that excludes nothing).
pub fn level_of_rank(n: usize, rank: usize) -> f64 {
    if rank == 0 {
        return 0.0;
    }
    if n <= EXACT_MAX {
        let cdf = signed_rank_cdf(n);
        (2.0 * cdf[(rank - 1).min(cdf.len() - 1)]).min(1.0)
    } else {
        let nf = n as f64;
        let mean = nf * (nf + 1.0) / 4.0;
        let sd = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt();
        let z = (rank as f64 - 0.5 - mean) / sd;
        (2.0 * normal_cdf(z)).min(1.0)
    }
}

/// The standard normal distribution function, by bisection on [`normal_quantile`] (accurate to
/// 1e-12: only used for the level of a very long run's look).
fn normal_cdf(z: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if normal_quantile(mid) < z {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

#[cfg(test)]
#[path = "boundaries_tests.rs"]
mod tests;
