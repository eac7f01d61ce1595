use super::*;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.random(), rng.random());
    (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Heavy-tailed unit noise: normal with sd `sd`, and one unit in 20 hit by a stall of 1.5-3x in
/// one of its iterations (either variant: a stall in A reads as B being faster).
fn noisy_unit(rng: &mut ChaCha8Rng, sd: f64) -> f64 {
    let mut d = sd * normal(rng);
    if rng.random::<f64>() < 0.05 {
        let stall = (1.5 + 1.5 * rng.random::<f64>()).ln() / 2.0;
        d += if rng.random::<bool>() { stall } else { -stall };
    }
    d
}

#[test]
fn t_quantiles_match_the_tables() {
    // Exact values: t(0.995; 4) 4.604, t(0.995; 6) 3.707, t(0.975; 10) 2.228.
    for (p, df, exact) in [
        (0.995, 4.0, 4.604),
        (0.995, 6.0, 3.707),
        (0.975, 10.0, 2.228),
    ] {
        let t = t_quantile(p, df);
        assert!((t / exact - 1.0).abs() < 0.015, "{p} {df}: {t} vs {exact}");
    }
    assert!((t_quantile(0.975, 1e9) - normal_quantile(0.975)).abs() < 1e-6);
}

#[test]
fn normal_quantiles_match_the_tables() {
    assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-6);
    assert!((normal_quantile(0.995) - 2.575_829).abs() < 1e-6);
    assert!((normal_quantile(0.05) + 1.644_854).abs() < 1e-6);
    assert!((normal_quantile(1e-6) + 4.753_424).abs() < 1e-5);
    assert_eq!(normal_quantile(0.5), 0.0);
}

#[test]
fn the_signed_rank_distribution_is_counted_exactly() {
    // n = 3: subset sums 0,1,2,3,3,4,5,6 of 8.
    let cdf = signed_rank_cdf(3);
    let want = [1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 8.0].map(|c| c / 8.0);
    assert_eq!(cdf.len(), 7);
    for (got, want) in cdf.iter().zip(want) {
        assert!((got - want).abs() < 1e-15, "{cdf:?}");
    }
    // The textbook critical value: n = 20, two-sided 5%: reject when T+ <= 52.
    assert_eq!(signed_rank_rank(20, 0.05), 53);
    // Too few observations for any interval at 1% two-sided: 2 / 2^7 > 0.01.
    assert_eq!(signed_rank_rank(7, 0.01), 0);
    assert!(signed_rank_rank(8, 0.01) > 0);
}

#[test]
fn the_normal_approximation_continues_the_exact_count() {
    let exact = signed_rank_rank(EXACT_MAX, 0.01) as f64;
    let nf = EXACT_MAX as f64;
    let approx = nf * (nf + 1.0) / 4.0
        - normal_quantile(0.995) * (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt()
        + 0.5;
    // Within 0.05% of the exact rank, and on the conservative side (a wider interval).
    assert!(
        approx.floor() <= exact && exact - approx < 5e-4 * exact,
        "{exact} vs {approx}"
    );
    assert!(signed_rank_rank(EXACT_MAX + 1, 0.01) > signed_rank_rank(EXACT_MAX, 0.01));
}

#[test]
fn hodges_lehmann_is_the_median_of_walsh_averages() {
    // Walsh averages of [0, 1, 10]: 0, 0.5, 5, 1, 5.5, 10 -> median (1 + 5) / 2.
    assert_eq!(hodges_lehmann(&[0.0, 1.0, 10.0]), 3.0);
    assert!(hodges_lehmann(&[]).is_nan());
    assert_eq!(shift_interval(&[1.0, f64::NAN, 2.0], 0.05), None);
}

/// Coverage of the interval at a fixed size, for normal and heavy-tailed noise with a known
/// shift: at least the nominal level (it is exact for symmetric noise), within simulation error.
#[test]
fn the_interval_covers_the_true_shift_at_its_level() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for heavy in [false, true] {
        let shift = 0.03;
        let trials = 2000;
        let covered = (0..trials)
            .filter(|_| {
                let d: Vec<f64> = (0..20)
                    .map(|_| {
                        shift
                            + if heavy {
                                noisy_unit(&mut rng, 0.04)
                            } else {
                                0.04 * normal(&mut rng)
                            }
                    })
                    .collect();
                let i = shift_interval(&d, 0.05).unwrap();
                i.low <= shift && shift <= i.high
            })
            .count();
        let rate = covered as f64 / trials as f64;
        // 95% nominal; the binomial sd of the rate is 0.5%.
        assert!(rate > 0.935, "heavy {heavy}: coverage {rate}");
    }
}

#[test]
fn one_stalled_unit_moves_the_interval_by_one_rank_not_by_its_size() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut d: Vec<f64> = (0..24).map(|_| 0.03 * normal(&mut rng)).collect();
    let before = shift_interval(&d, 0.01).unwrap();
    d[5] = 3.0f64.ln(); // one unit where B stalled at 3x
    let after = shift_interval(&d, 0.01).unwrap();
    assert!(
        after.estimate - before.estimate < 0.01,
        "{before:?} -> {after:?}"
    );
    assert!(after.low - before.low < 0.01, "{before:?} -> {after:?}");
    assert_eq!(call(&after, 1.02f64.ln()), call(&before, 1.02f64.ln()));
}

#[test]
fn calls_follow_where_the_interval_and_the_estimate_lie() {
    let t = 1.05f64.ln();
    let i = |low: f64, high: f64| ShiftInterval {
        estimate: (low + high) / 2.0,
        low,
        high,
        alpha: 0.01,
    };
    assert_eq!(call(&i(0.06, 0.2), t), Call::Regressed);
    // Significantly slower and most likely beyond the threshold, though the interval still
    // reaches below it: regressed, as `compare` would say.
    assert_eq!(call(&i(0.01, 0.1), t), Call::Regressed);
    // Significantly slower but most likely within the threshold: undecided.
    assert_eq!(call(&i(0.005, 0.08), t), Call::Continue);
    assert_eq!(call(&i(-0.01, 0.04), t), Call::Pass);
    assert_eq!(call(&i(-0.2, -0.06), t), Call::Improved);
    assert_eq!(call(&i(0.0, 0.1), t), Call::Continue);
    // The minimum detectable effect grows with the interval and sits above the threshold.
    let narrow = minimum_detectable(&i(-0.01, 0.01), t);
    let wide = minimum_detectable(&i(-0.05, 0.05), t);
    assert!(t < narrow && narrow < wide, "{narrow} {wide}");
    let se = 0.01 / normal_quantile(0.995);
    assert!(
        (narrow - (t + Z_POWER * se)).abs() < 1e-12,
        "the threshold binds"
    );
    let se = 0.05 / normal_quantile(0.995);
    assert!(
        (wide - (normal_quantile(0.995) + Z_POWER) * se).abs() < 1e-12,
        "zero binds"
    );
}

/// A whole sequential run on simulated unit log-ratios: `units` available, spread over 4 pairs
/// in turn, looks on the unit count as information, threshold 2%.
fn simulate(rng: &mut ChaCha8Rng, shift: f64, sd: f64, units: usize) -> (Call, usize) {
    let d: Vec<f64> = (0..units).map(|_| shift + noisy_unit(rng, sd)).collect();
    let p: Vec<u32> = (0..units as u32).map(|u| u % 4).collect();
    let t = 1.02f64.ln();
    let mut s = crate::compare::stopping::Stopping::new();
    let mut last = (Call::Continue, units);
    for n in 1..=units {
        if s.due(n) || n == units {
            let tau = n as f64 / units as f64;
            if let Some(dec) = s.look(&d[..n], &p[..n], tau, t) {
                last = (dec.call, n);
                if dec.call != Call::Continue {
                    break;
                }
            }
        }
    }
    last
}

/// The false-alarm rate over many simulated A/A runs, with heavy tails and a budget of 50 units
/// (a 0.6 s model's 60 s): repeated looks must not push it past alpha / 2.
#[test]
fn repeated_looks_keep_false_alarms_rare_on_heavy_tailed_a_a_runs() {
    let mut rng = ChaCha8Rng::seed_from_u64(20261202);
    let runs = 1000;
    let mut regressed = 0;
    let mut passed = 0;
    for _ in 0..runs {
        match simulate(&mut rng, 0.0, 0.05, 50).0 {
            Call::Regressed => regressed += 1,
            Call::Pass => passed += 1,
            _ => {}
        }
    }
    assert!(
        regressed as f64 / runs as f64 <= ALPHA / 2.0,
        "{regressed} of {runs}"
    );
    assert!(passed > 0, "{passed} of {runs}");
    // The price of the rule: a true change exactly at the threshold is flagged about half the
    // time (docs/verdict.md, the operating characteristic).
    let boundary = (0..400)
        .filter(|_| simulate(&mut rng, 1.02f64.ln(), 0.03, 50).0 == Call::Regressed)
        .count();
    assert!((100..=300).contains(&boundary), "{boundary} of 400");
}

/// Power at a known shift, and early stopping for a large one.
#[test]
fn real_slowdowns_are_caught_and_large_ones_early() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let runs = 400;
    let caught = (0..runs)
        .filter(|_| simulate(&mut rng, 1.05f64.ln(), 0.04, 50).0 == Call::Regressed)
        .count();
    assert!(
        caught as f64 / runs as f64 >= 0.95,
        "+5%: {caught} of {runs}"
    );
    let mut at = Vec::new();
    for _ in 0..100 {
        let (c, units) = simulate(&mut rng, 1.2f64.ln(), 0.05, 50);
        assert_eq!(c, Call::Regressed);
        at.push(units as f64);
    }
    assert!(
        median(&at) <= 10.0,
        "+20% is called at the first look that can exclude zero: {}",
        median(&at)
    );
}

#[test]
fn the_pair_effect_widens_by_the_prior_and_more_when_pairs_disagree() {
    // 4 pairs of 6 units each, unit noise +-0.01 around each pair's centre.
    let noise = [-0.01, 0.004, 0.01, -0.004, 0.0, 0.002];
    let units = |centres: [f64; 4]| -> (Vec<f64>, Vec<u32>) {
        let mut d = Vec::new();
        let mut p = Vec::new();
        for (k, c) in centres.iter().enumerate() {
            for e in noise {
                d.push(c + e);
                p.push(k as u32);
            }
        }
        (d, p)
    };
    // Pairs that agree: the prior pooled with their own estimate of zero (2 df of their own).
    let pooled = PAIR_SD_PRIOR * (PAIR_PRIOR_DF / (PAIR_PRIOR_DF + 2.0)).sqrt();
    let (d, p) = units([0.0; 4]);
    let i = shift_interval(&d, 0.01).unwrap();
    let (w, tau) = with_pair_effect(i, &d, &p);
    assert!((tau - pooled).abs() < 1e-12, "{tau}");
    assert!(w.low < i.low && w.high > i.high);
    // A pure warm-up-order effect (even pairs -2%, odd +2%) is a fixed effect: the same.
    let (d, p) = units([-0.02, 0.02, -0.02, 0.02]);
    let i = shift_interval(&d, 0.01).unwrap();
    assert!((with_pair_effect(i, &d, &p).1 - pooled).abs() < 1e-12);
    // Pairs scattered at random (+-3%) beyond their noise: much wider, same estimate.
    let (d, p) = units([0.03, 0.0, -0.03, 0.01]);
    let i = shift_interval(&d, 0.01).unwrap();
    let (w, tau) = with_pair_effect(i, &d, &p);
    assert!(tau > 0.015 && tau < 0.05, "{tau}");
    assert!(
        w.low < i.low && w.high > i.high && w.estimate == i.estimate,
        "{w:?} {i:?}"
    );
    // Two pairs leave no degree of freedom beside the warm-up-order means: the prior alone.
    let two: Vec<usize> = (0..d.len()).filter(|&k| p[k] < 2).collect();
    let (d2, p2): (Vec<f64>, Vec<u32>) = two.iter().map(|&k| (d[k], p[k])).unzip();
    let i2 = shift_interval(&d2, 0.01).unwrap();
    assert!((with_pair_effect(i2, &d2, &p2).1 - PAIR_SD_PRIOR).abs() < 1e-12);
}

#[test]
fn the_length_to_catch_follows_the_power_arithmetic() {
    // No pair variance: +5% over a 2% threshold, unit sd 4%, last level 1% (z 2.576): zero
    // binds, se 0.01185, n = 1.047 sd^2 / se^2.
    let se = 0.05 / (normal_quantile(0.995) + Z_POWER);
    let n = units_to_catch(0.05, 0.02, 0.04, 0.0, 2, 0.01).unwrap();
    assert!(
        (n - 1.047 * 0.04f64.powi(2) / se.powi(2)).abs() < 0.5,
        "{n}"
    );
    // Twice the noise, four times the units.
    let n2 = units_to_catch(0.05, 0.02, 0.08, 0.0, 2, 0.01).unwrap();
    assert!((n2 / n - 4.0).abs() < 0.05, "{n2} {n}");
    // Near the threshold the estimate's margin binds instead.
    let near = units_to_catch(0.025, 0.02, 0.04, 0.0, 2, 0.01).unwrap();
    let se_near = 0.005 / Z_POWER;
    assert!(
        (near - 1.047 * 0.0016 / se_near.powi(2)).abs() < 0.5,
        "{near}"
    );
    // The pairs' offsets cost units, and beyond a point no length makes up for them: more
    // pairs do.
    let with_pairs = units_to_catch(0.05, 0.02, 0.04, 0.0001, 6, 0.01).unwrap();
    assert!(with_pairs > n, "{with_pairs} {n}");
    assert_eq!(units_to_catch(0.05, 0.02, 0.04, 0.0004, 2, 0.01), None);
    assert!(units_to_catch(0.05, 0.02, 0.04, 0.0004, 64, 0.01).is_some());
    // Not above the threshold: no length.
    assert_eq!(units_to_catch(0.02, 0.02, 0.04, 0.0, 2, 0.01), None);
}
