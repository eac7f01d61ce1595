use super::*;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::compare::sequential::ALPHA;

#[test]
fn spending_starts_at_zero_ends_at_alpha_and_grows() {
    assert_eq!(spent(0.02, 0.0), 0.0);
    assert!((spent(0.02, 1.0) - 0.02).abs() < 1e-15);
    let mut last = 0.0;
    for k in 1..=20 {
        let s = spent(0.02, k as f64 / 20.0);
        assert!(s > last);
        last = s;
    }
    // Pocock-type: over a quarter of the error by a fifth of the budget.
    assert!(spent(0.02, 0.2) > 0.02 / 4.0);
}

#[test]
fn a_single_look_at_the_end_is_the_exact_fixed_size_interval() {
    let mut b = Boundaries::new(ALPHA);
    let look = b.look(30, 1.0);
    assert_eq!(look.rank, signed_rank_rank(30, ALPHA));
    assert!(look.level <= ALPHA && look.level > ALPHA / 2.0, "{look:?}");
}

/// `T+` (positive Walsh averages) of `d`: the interval at rank `c` excludes zero exactly when
/// `min(T+, M - T+) < c`.
fn t_plus(d: &[f64]) -> u64 {
    let mut t = 0;
    for i in 0..d.len() {
        for j in i..d.len() {
            t += u64::from(d[i] + d[j] > 0.0);
        }
    }
    t
}

/// The looks of a 0.6 s model's 60 s duet: every ~25% more units, information by units.
const SCHEDULE: [usize; 9] = [8, 10, 13, 17, 22, 28, 35, 44, 50];

/// The promise: over every look of a run, the intervals exclude the truth at most `ALPHA` of the
/// time, whatever the (symmetric) noise. Checked on runs the boundaries never saw (another
/// generator, normal and heavy-tailed noise).
#[test]
fn the_looks_together_exclude_the_truth_at_most_alpha_of_the_time() {
    let mut b = Boundaries::new(ALPHA);
    let mut prev = 0.0;
    // (units, rank) of each look: the joint boundaries' and the union bound's.
    type Ranks = Vec<(usize, usize)>;
    let (ranks, union): (Ranks, Ranks) = SCHEDULE
        .iter()
        .map(|&n| {
            let look = b.look(n, n as f64 / 50.0);
            let u = signed_rank_rank(n, look.spent - prev);
            prev = look.spent;
            ((n, look.rank), (n, u))
        })
        .unzip();
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    for heavy in [false, true] {
        let runs = 6000;
        let (mut missed, mut missed_union) = (0, 0);
        for _ in 0..runs {
            let d: Vec<f64> = (0..50)
                .map(|_| {
                    let (u, v): (f64, f64) = (rng.random(), rng.random());
                    let z = (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos();
                    // Heavy: a Cauchy-like tail on one unit in ten.
                    if heavy && rng.random::<f64>() < 0.1 {
                        z / rng.random::<f64>().max(1e-3)
                    } else {
                        z
                    }
                })
                .collect();
            let excluded = |ranks: &[(usize, usize)]| {
                ranks.iter().any(|&(n, c)| {
                    let m = (n * (n + 1) / 2) as u64;
                    let t = t_plus(&d[..n]);
                    t.min(m - t) < c as u64
                })
            };
            missed += usize::from(excluded(&ranks));
            missed_union += usize::from(excluded(&union));
        }
        let rate = missed as f64 / runs as f64;
        eprintln!("heavy {heavy}: joint {missed}, union bound {missed_union} of {runs}");
        assert!(
            missed_union < missed,
            "the union bound leaves error unspent"
        );
        // Monte Carlo error of 6000 runs at 2%: sd 0.18%.
        assert!(rate <= ALPHA + 0.006, "heavy {heavy}: {missed} of {runs}");
        // ... and the budget is used: well above what the union bound's ranks give.
        assert!(rate >= 0.6 * ALPHA, "heavy {heavy}: {missed} of {runs}");
    }
}

#[test]
fn the_boundaries_are_never_stricter_than_the_union_bound_nor_looser_than_a_look_alone() {
    let mut b = Boundaries::new(ALPHA);
    let mut prev = 0.0;
    let mut gained = 0;
    for &n in &SCHEDULE {
        let look = b.look(n, n as f64 / 50.0);
        let union = signed_rank_rank(n, look.spent - prev);
        let alone = signed_rank_rank(n, look.spent);
        assert!(
            union <= look.rank && look.rank <= alone,
            "{look:?} {union} {alone}"
        );
        gained += usize::from(look.rank > union);
        prev = look.spent;
    }
    assert!(
        gained >= 4,
        "the joint distribution widens most later looks"
    );
    assert!(
        (prev - ALPHA).abs() < 1e-12,
        "the last look spends the whole budget"
    );
}

/// The memo gives what a fresh simulation of the same looks gives (the seeded paths are
/// replayed, not remembered), so a duet's boundaries depend on its looks alone.
#[test]
fn the_same_looks_give_the_same_boundaries_memoised_or_simulated_afresh() {
    let mut memo = Boundaries::new(ALPHA);
    let remembered: Vec<usize> = SCHEDULE
        .iter()
        .map(|&n| memo.look(n, n as f64 / 60.0).rank)
        .collect();
    let mut fresh = Boundaries::new(ALPHA);
    fresh.replay();
    let simulated: Vec<usize> = SCHEDULE
        .iter()
        .map(|&n| {
            let look = fresh.simulate(n, n as f64 / 60.0);
            fresh.looks.push(look);
            look.rank
        })
        .collect();
    assert_eq!(remembered, simulated);
    assert!(simulated.iter().any(|&r| r > 0), "{simulated:?}");
}

#[test]
fn eight_units_can_decide_only_once_enough_error_is_spent() {
    // All 8 on one side is two-sided 1/128: the first look needs that much spent.
    let mut early = Boundaries::new(ALPHA);
    assert_eq!(early.look(8, 0.1).rank, 0);
    let mut later = Boundaries::new(ALPHA);
    assert_eq!(later.look(8, 0.5).rank, 1);
    assert!((level_of_rank(8, 1) - 2.0 / 256.0).abs() < 1e-15);
}
