//! E-divisive change-point detection: numbers in, change points out, no I/O, deterministic.
//!
//! The method is Matteson & James, "A Nonparametric Approach for Multiple Change Point Analysis
//! of Multivariate Data", JASA 109(505), 2014 (arXiv:1306.4933), with the energy-distance
//! exponent alpha = 1, as Apache Otava (formerly Hunter, Fleming et al., ICPE 2023,
//! arXiv:2301.03034) uses it for performance series:
//!
//! - For a segment `Z[s..e)` and every split `s < tau < kappa <= e`, with `X = Z[s..tau)`
//!   (m points) and `Y = Z[tau..kappa)` (n points), the divergence is `Q = m n / (m + n) * E`
//!   with `E = 2/(m n) sum|X_i - Y_j| - sum_{i<k}|X_i - X_k| / C(m,2) -
//!   sum_{j<k}|Y_j - Y_k| / C(n,2)`. The best split maximises `Q` over `tau` and `kappa`
//!   (letting `kappa` stop short of the segment's end keeps a later change from blurring an
//!   earlier one).
//! - Hierarchical: the best split over all current segments is tested; if significant it
//!   becomes a change point and its segment is cut in two; repeat until a test fails.
//! - Significance: a permutation test. The points are shuffled within each current segment (the
//!   null hypothesis: no further change inside any segment), the best `Q` is recomputed, and the
//!   p-value is `(1 + #{permuted Q >= observed Q}) / (1 + R)` (Phipson & Smyth 2010: a
//!   permutation p-value is never zero). The shuffles are seeded, so the same series always
//!   gives the same change points.
//!
//! The best split of a segment of length L costs O(L^2) time and O(L) memory: the within-range
//! sums `W(a, b) = sum_{a<=i<j<b} |Z_i - Z_j|` are updated incrementally as `kappa` grows, and
//! the cross sum is `W(s, kappa) - W(s, tau) - W(tau, kappa)`.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// How hard to look and how sure to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Largest p-value accepted as a change point.
    pub significance: f64,
    /// Shuffles per test.
    pub permutations: usize,
    /// Fewest points on either side of a split: a single odd run is an outlier, not a step.
    pub min_size: usize,
    /// Seed of the shuffles.
    pub seed: u64,
    /// Stop after this many change points (a bound on the work for very long series).
    pub max_change_points: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            significance: 0.01,
            permutations: 199,
            min_size: 4,
            seed: 0x7E4D_C4A9,
            max_change_points: 32,
        }
    }
}

/// One significant split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePoint {
    /// Index of the first point after the change.
    pub index: usize,
    /// The divergence `Q` of the best split.
    pub q: f64,
    /// Permutation p-value.
    pub p_value: f64,
}

/// The best split of one segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub tau: usize,
    pub kappa: usize,
    pub q: f64,
}

/// Change points of `x`, sorted by index. Non-finite values or series shorter than two
/// minimal segments give none (nothing can be said), never an error.
pub fn change_points(x: &[f64], opts: &Options) -> Vec<ChangePoint> {
    let min = opts.min_size.max(2);
    if x.len() < 2 * min || x.iter().any(|v| !v.is_finite()) {
        return Vec::new();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut bounds: Vec<usize> = vec![0, x.len()];
    let mut found: Vec<ChangePoint> = Vec::new();
    // Best split per segment, recomputed only for segments that were just cut.
    let mut best: Vec<Option<Split>> = vec![best_split(x, 0, x.len(), min)];
    let mut scratch = x.to_vec();
    while found.len() < opts.max_change_points {
        let Some((seg, split)) = best
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.map(|b| (i, b)))
            .max_by(|a, b| a.1.q.total_cmp(&b.1.q))
        else {
            break;
        };
        let p = permutation_p_value(x, &bounds, split.q, min, opts, &mut rng, &mut scratch);
        if p > opts.significance {
            break;
        }
        found.push(ChangePoint {
            index: split.tau,
            q: split.q,
            p_value: p,
        });
        let (s, e) = (bounds[seg], bounds[seg + 1]);
        bounds.insert(seg + 1, split.tau);
        best[seg] = best_split(x, s, split.tau, min);
        best.insert(seg + 1, best_split(x, split.tau, e, min));
    }
    found.sort_by_key(|c| c.index);
    found
}

/// p-value of `observed` under shuffles within the segments delimited by `bounds`. Stops
/// early once the test cannot pass any more (the answer is then only known to be "too big").
fn permutation_p_value(
    x: &[f64],
    bounds: &[usize],
    observed: f64,
    min: usize,
    opts: &Options,
    rng: &mut ChaCha8Rng,
    scratch: &mut [f64],
) -> f64 {
    let r = opts.permutations.max(1);
    // The largest count of "as extreme" shuffles that still passes.
    let allowed = (opts.significance * (r + 1) as f64 - 1.0).floor();
    let mut extreme = 0usize;
    scratch.copy_from_slice(x);
    for done in 1..=r {
        let mut q_max = f64::NEG_INFINITY;
        for w in bounds.windows(2) {
            let seg = &mut scratch[w[0]..w[1]];
            seg.shuffle(rng);
            if let Some(s) = best_split(scratch, w[0], w[1], min) {
                q_max = q_max.max(s.q);
            }
        }
        if q_max >= observed {
            extreme += 1;
            if extreme as f64 > allowed {
                return (1 + extreme) as f64 / (1 + done) as f64;
            }
        }
    }
    (1 + extreme) as f64 / (1 + r) as f64
}

/// The split of `x[s..e)` with the largest divergence, both sides at least `min` points;
/// `None` when the segment is too short.
pub fn best_split(x: &[f64], s: usize, e: usize, min: usize) -> Option<Split> {
    let min = min.max(2);
    if e > x.len() || e < s + 2 * min {
        return None;
    }
    let len = e - s;
    // within[t] = W(s + t', s + kappa) for the current kappa, indexed by t' = tau - s.
    let mut within = vec![0.0f64; len + 1];
    // prefix[t] = W(s, s + t): the left side's within sum, frozen when kappa passed it.
    let mut prefix = vec![0.0f64; len + 1];
    let mut best: Option<Split> = None;
    for k in 1..len {
        // Add point s + k: every range [tau, s + k) gains the distances to it.
        let xk = x[s + k];
        let mut run = 0.0;
        for t in (0..k).rev() {
            run += (x[s + t] - xk).abs();
            within[t] += run;
        }
        let kappa = k + 1; // segment-relative exclusive end
        prefix[kappa] = within[0];
        let total = within[0];
        if kappa < 2 * min {
            continue;
        }
        for tau in min..=(kappa - min) {
            let (m, n) = (tau as f64, (kappa - tau) as f64);
            let left = prefix[tau];
            let right = within[tau];
            let cross = total - left - right;
            let e_hat = 2.0 * cross / (m * n)
                - left / (m * (m - 1.0) / 2.0)
                - right / (n * (n - 1.0) / 2.0);
            let q = m * n / (m + n) * e_hat;
            if best.is_none_or(|b| q > b.q) {
                best = Some(Split {
                    tau: s + tau,
                    kappa: s + kappa,
                    q,
                });
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// Seeded standard normal values (Box-Muller), for synthetic series with known answers.
    fn normals(seed: u64, n: usize) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let u1: f64 = rng.random_range(f64::EPSILON..1.0);
                let u2: f64 = rng.random::<f64>();
                (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
            })
            .collect()
    }

    /// The divergence straight from its definition, O(L^2) per split.
    fn q_direct(x: &[f64], s: usize, tau: usize, kappa: usize) -> f64 {
        let (a, b) = (&x[s..tau], &x[tau..kappa]);
        let (m, n) = (a.len() as f64, b.len() as f64);
        let mut cross = 0.0;
        for p in a {
            for q in b {
                cross += (p - q).abs();
            }
        }
        let within = |v: &[f64]| {
            let mut w = 0.0;
            for i in 0..v.len() {
                for j in i + 1..v.len() {
                    w += (v[i] - v[j]).abs();
                }
            }
            w
        };
        let e = 2.0 * cross / (m * n)
            - within(a) / (m * (m - 1.0) / 2.0)
            - within(b) / (n * (n - 1.0) / 2.0);
        m * n / (m + n) * e
    }

    #[test]
    fn best_split_matches_the_definition_by_brute_force() {
        let x = normals(3, 23);
        let (s, e, min) = (2, 23, 3);
        let mut want = (0, 0, f64::NEG_INFINITY);
        for kappa in s + 2 * min..=e {
            for tau in s + min..=kappa - min {
                let q = q_direct(&x, s, tau, kappa);
                if q > want.2 {
                    want = (tau, kappa, q);
                }
            }
        }
        let got = best_split(&x, s, e, min).unwrap();
        assert_eq!((got.tau, got.kappa), (want.0, want.1));
        assert!((got.q - want.2).abs() < 1e-9, "{} vs {}", got.q, want.2);
    }

    #[test]
    fn a_planted_step_is_found_at_its_index() {
        // 1% noise around 100 ms, +8% from run 70 on (log scale, as trend feeds it).
        let noise = normals(11, 120);
        let x: Vec<f64> = noise
            .iter()
            .enumerate()
            .map(|(i, z)| (100.0 * (1.0 + 0.01 * z) * if i >= 70 { 1.08 } else { 1.0 }).ln())
            .collect();
        let cps = change_points(&x, &Options::default());
        assert_eq!(cps.len(), 1, "{cps:?}");
        assert_eq!(cps[0].index, 70);
        assert!(cps[0].p_value <= 0.01, "{cps:?}");
    }

    #[test]
    fn two_planted_steps_are_both_found() {
        let noise = normals(5, 150);
        let x: Vec<f64> = noise
            .iter()
            .enumerate()
            .map(|(i, z)| {
                let level = if i < 50 {
                    1.0
                } else if i < 110 {
                    1.10
                } else {
                    1.03
                };
                (200.0 * level * (1.0 + 0.01 * z)).ln()
            })
            .collect();
        let idx: Vec<usize> = change_points(&x, &Options::default())
            .iter()
            .map(|c| c.index)
            .collect();
        assert_eq!(idx, vec![50, 110]);
    }

    #[test]
    fn a_stationary_series_has_no_change_point() {
        for seed in [1, 2, 3] {
            let x: Vec<f64> = normals(seed, 150)
                .iter()
                .map(|z| (100.0 * (1.0 + 0.02 * z)).ln())
                .collect();
            let cps = change_points(&x, &Options::default());
            assert!(cps.is_empty(), "seed {seed}: {cps:?}");
        }
    }

    #[test]
    fn one_outlier_is_not_a_step() {
        let mut x: Vec<f64> = normals(9, 60).iter().map(|z| 100.0 + z).collect();
        x[30] = 160.0;
        assert!(change_points(&x, &Options::default()).is_empty());
    }

    #[test]
    fn short_constant_or_broken_series_give_nothing() {
        let opts = Options::default();
        assert!(change_points(&[], &opts).is_empty());
        assert!(change_points(&[1.0; 7], &opts).is_empty());
        assert!(change_points(&[5.0; 40], &opts).is_empty());
        let mut x = vec![1.0; 20];
        x.extend(vec![2.0; 20]);
        x[3] = f64::NAN;
        assert!(change_points(&x, &opts).is_empty());
    }

    #[test]
    fn the_same_series_always_gives_the_same_answer() {
        let x: Vec<f64> = normals(21, 80)
            .iter()
            .enumerate()
            .map(|(i, z)| z + if i >= 40 { 1.5 } else { 0.0 })
            .collect();
        let a = change_points(&x, &Options::default());
        let b = change_points(&x, &Options::default());
        assert_eq!(a, b);
        assert_eq!(a.len(), 1);
    }
}
