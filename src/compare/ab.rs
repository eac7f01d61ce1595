//! The duet: two variants on the same pinned CPUs, alternated at the finest grain the workload
//! allows, judged sequentially ([`super::sequential`]).
//!
//! Why this shape (measured, docs/verdict.md): the speed of a core on a shared VM drifts over
//! seconds, so rounds of several iterations per variant do not cancel it, while alternating every
//! iteration does. Each unit is `A B` or `B A` on one worker pair, in a random order drawn from
//! a recorded seed (a block per letter: one iteration, or enough of a fast model's to last
//! [`TARGET_BLOCK_MS`]): a fixed pattern repeats, and interference near its period biases every
//! unit alike. Several fresh worker pairs take the units in turn, their warm-up order
//! alternating: the variant warmed second measured 1-2% faster for its whole life, which no
//! number of units on one pair can cancel. Starting and warming the pairs is off the clock: the
//! budget is measuring time. The looks ([`super::stopping`]) stop the run as soon as one decides.
//!
//! Each variant runs in its own worker process (`crate::worker`); a block is a call of
//! `runner::measure` with a fixed count: the same timed loop as `bench-gate run`.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use super::ab_verdict::verdict;
use super::boundaries::Look;
use super::drift::{self, OutputDrift, Tolerance};
use super::sequential::{self, Call, ShiftInterval};
use super::stopping::Stopping;
use super::verdict::metric_of;
use super::wait::{self, Adjusted, Waits};
use crate::accuracy::Accuracy;
use crate::accuracy::score::{LabelledAudio, score_set};
use crate::config::Metric;
use crate::platform::EnvDelta;
use crate::runner::profile::AfterRun;
use crate::stats::median;
use crate::workload::{Outputs, Transcript};

/// Time budget of a duet when `[thresholds.ARCH] ab_time_budget_s` is not set, seconds.
pub const DEFAULT_BUDGET_S: f64 = 60.0;
/// A block of a fast model lasts about this long: short enough that drift does not move within
/// it, long enough that a 1 ms model is not all process round trips.
pub const TARGET_BLOCK_MS: f64 = 100.0;
/// Worker pairs of a duet when the budget holds enough units ([`auto_pairs`]).
pub const DEFAULT_PAIRS: u32 = 6;
/// "Would catch" names the threshold plus this many points (a 2% threshold: +5%): a change a
/// reviewer would not want to miss, close enough to the threshold to say how blind a run was.
pub const CATCH_MARGIN_PTS: f64 = 3.0;

/// One side of the duet: something that measures a block of iterations on demand. In
/// `bench-gate ab` it is a worker process ([`crate::worker::Worker`]).
pub trait Variant {
    /// `warmup` untimed iterations, then `iterations` timed ones (0: warm-up only); the
    /// samples in milliseconds and what the environment did meanwhile.
    fn block(&mut self, warmup: u32, iterations: u32) -> anyhow::Result<(Vec<f64>, EnvDelta)>;
    /// Why this variant's threads wait for each other ("4 busy threads on 1 CPU(s)"), when
    /// they outnumber its CPUs: that wait is its own cost, never adjusted away
    /// ([`super::wait`]). `None` by default.
    fn crowded(&self) -> Option<String> {
        None
    }
    /// What one more untimed iteration produces (output drift); nothing by default.
    fn outputs(&mut self) -> anyhow::Result<Outputs> {
        Ok(Outputs::default())
    }
    /// Peak memory and ORT's arena, then the profiled pass when `profile`; asked once the
    /// clock has stopped. Unsupported by default.
    fn after_run(&mut self, _profile: bool) -> anyhow::Result<AfterRun> {
        anyhow::bail!("this variant reports no memory or profile")
    }
    /// What the variant's model hears in 16 kHz mono `samples`; asked once the clock has
    /// stopped, for accuracy. Unsupported by default.
    fn transcribe(&mut self, _samples: &[f32]) -> anyhow::Result<Transcript> {
        anyhow::bail!("this variant cannot transcribe")
    }
}

/// How to measure.
#[derive(Debug, Clone, Copy)]
pub struct DuetPlan {
    /// Stop undecided after this long measuring (start-up and warm-up are off the clock).
    pub budget: Duration,
    /// Seed of the random unit order.
    pub seed: u64,
    /// Iterations per block; `None`: 1, or enough for [`TARGET_BLOCK_MS`] for a fast model.
    pub per_block: Option<NonZeroU32>,
    /// Un-timed iterations of each variant when its pair starts.
    pub warmup: u32,
    /// Fresh pairs of variants that take the units in turn (the most, with `auto_pairs`).
    pub pairs: NonZeroU32,
    /// Fewer pairs when the budget holds too few units for them ([`auto_pairs`]), decided from
    /// the first pair's warm-up.
    pub auto_pairs: bool,
    /// Stop after this many units even if undecided (quick checks, tests).
    pub max_units: Option<usize>,
    /// The rule: allowed slowdown, percent, and the absolute floor, ms (see [`threshold`]).
    pub max_regression_pct: f64,
    pub min_abs_ms: f64,
    /// How far the variants' outputs may differ, and whether a change fails the check.
    pub tolerance: Tolerance,
    pub fail_on_output_change: bool,
}

/// The order of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Order {
    #[serde(rename = "AB")]
    Ab,
    #[serde(rename = "BA")]
    Ba,
}

/// One unit: which pair ran it, in which order, and its log-ratio `d` as measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    pub pair: u32,
    pub order: Order,
    pub log_ratio: f64,
    /// What the environment did to B's block minus A's.
    pub env_diff: super::EnvDiff,
    /// The share of its time each block waited for a CPU; `None` without scheduler counts.
    pub waits: Option<Waits>,
}

/// The units as the looks judge them: adjusted for the CPU each block waited for, unless a
/// variant is `crowded` or the variants waited differently ([`super::wait`]).
fn judged(units: &[Unit], crowded: Option<&str>) -> Adjusted {
    let d: Vec<f64> = units.iter().map(|u| u.log_ratio).collect();
    let waits: Vec<Option<Waits>> = units.iter().map(|u| u.waits).collect();
    wait::adjust(&d, &waits, crowded)
}

impl DuetOutcome {
    /// Its units as its looks judged them ([`judged`]).
    pub fn judged(&self) -> Adjusted {
        judged(&self.units, self.crowded.as_deref())
    }
}

/// Why the duet stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DuetStop {
    /// A look's interval left the threshold.
    Decided,
    /// The time budget ran out first.
    Budget,
    /// `max_units` was reached first.
    MaxUnits,
    /// A worker stopped answering ([`crate::worker::Unanswered`]): the sentence saying which
    /// variant, what it did not answer, after how long, and the fix. The verdict is
    /// `inconclusive`, whatever the units measured before say.
    Unanswered(String),
}

/// The sentence of a duet stopped by a silent worker, when `e` is one.
fn unanswered(e: &anyhow::Error) -> Option<String> {
    e.downcast_ref::<crate::worker::Unanswered>()
        .map(ToString::to_string)
}

/// Everything a duet produced. Times in milliseconds.
#[derive(Debug, Clone)]
pub struct DuetOutcome {
    pub units: Vec<Unit>,
    pub per_block: u32,
    pub looks: Vec<Look>,
    /// The last look taken, its interval and call; `None` when too few units for any interval.
    pub decision: Option<(Look, ShiftInterval, Call)>,
    /// Starting and warming the pairs (off the clock), and measuring.
    pub startup: Duration,
    pub measuring: Duration,
    pub stop: DuetStop,
    pub a_samples_ms: Vec<f64>,
    pub b_samples_ms: Vec<f64>,
    /// Throttling, steal and run delay over every counted block.
    pub during: EnvDelta,
    pub wall_time: Duration,
    /// The first pair's outputs for the same inputs, compared after the measuring; `Err` says
    /// why they could not be (e.g. a worker of an older bench-gate).
    pub drift: Result<OutputDrift, String>,
    /// The first pair's word error rates on the labelled set (A, B), scored after the
    /// measuring; `None` without a labelled set, `Err` says why they could not be.
    pub accuracy: Option<Result<(Accuracy, Accuracy), String>>,
    /// Per pair, (A, B): memory, and for the first pair the profiled pass; `Err` says why not.
    pub after: Vec<(Result<AfterRun, String>, Result<AfterRun, String>)>,
    /// The plan the duet ran under, so its verdict can name the knob that stopped it.
    pub plan: DuetPlan,
    /// A variant whose threads outnumber its CPUs, and how ("B: 4 busy threads on 1 CPU(s)"):
    /// the units are then judged as measured.
    pub crowded: Option<String>,
}

/// A fresh pair of variants (A, B) for pair number `p`.
pub type StartPair<'a> =
    dyn FnMut(u32) -> anyhow::Result<(Box<dyn Variant + 'a>, Box<dyn Variant + 'a>)> + 'a;

/// Iterations per block for a model whose iteration takes `iteration_ms`.
pub fn block_size(iteration_ms: f64) -> u32 {
    if iteration_ms.is_finite() && iteration_ms > 0.0 {
        (TARGET_BLOCK_MS / iteration_ms).floor().clamp(1.0, 1000.0) as u32
    } else {
        1
    }
}

/// The pair of unit number `u` (the pairs take the units in turn, so a duet stopped early has
/// used every pair alike) and its order, drawn from `rng`.
pub fn unit_slot(u: usize, pairs: u32, rng: &mut impl rand::Rng) -> (u32, Order) {
    let order = if rng.random::<bool>() {
        Order::Ab
    } else {
        Order::Ba
    };
    ((u % pairs.max(1) as usize) as u32, order)
}

/// How many pairs a duet of about `units` units starts when the user did not say: one pair per
/// ~8 units, an even number (the warm-up order alternates), from 2 up to `most`. A slow model
/// whose budget holds a handful of units does not pay for 12 worker starts it cannot use; a
/// fast one gets the 6 pairs the curve was drawn with (docs/verdict.md).
pub fn auto_pairs(units: f64, most: u32) -> u32 {
    let even = 2 * (units.max(0.0) / 16.0).floor().min(1e6) as u32;
    even.clamp(2.min(most), most)
}

/// The information time of a look: the share of the measuring budget used, or of `max_units`
/// when that comes first; 1 at the end.
pub fn information(plan: &DuetPlan, measured: Duration, units: usize) -> f64 {
    let time = measured.as_secs_f64() / plan.budget.as_secs_f64().max(1e-9);
    let count = plan
        .max_units
        .map_or(0.0, |m| units as f64 / m.max(1) as f64);
    time.max(count).clamp(0.0, 1.0)
}

/// Runs the duet: starts every pair and warms it (alternating which variant warms first), sizes
/// the blocks from the warm-up, runs units until a look decides, the budget runs out or
/// `max_units` is reached. `progress` is told each unit (1-based) and its log-ratio.
pub fn duet(
    plan: &DuetPlan,
    start_pair: &mut StartPair<'_>,
    progress: &mut dyn FnMut(usize, f64),
) -> anyhow::Result<DuetOutcome> {
    duet_listening(plan, None, start_pair, progress)
}

/// [`duet`], and after the clock both variants of the first pair transcribe `listen`, each
/// utterance scored for word errors.
pub fn duet_listening(
    plan: &DuetPlan,
    listen: Option<&LabelledAudio>,
    start_pair: &mut StartPair<'_>,
    progress: &mut dyn FnMut(usize, f64),
) -> anyhow::Result<DuetOutcome> {
    let start = Instant::now();
    let mut pairs = Vec::new();
    let mut warm_ms = Vec::new();
    // A worker that stops answering ends the duet with what was measured; its pair is not
    // asked anything more (its workers were ended).
    let mut silent: Option<(usize, String)> = None;
    let mut crowded: Option<String> = None;
    let mut want = plan.pairs.get();
    let mut p = 0;
    while p < want {
        let (mut a, mut b) = match start_pair(p) {
            Ok(ab) => {
                if crowded.is_none() {
                    crowded = [("A", &ab.0), ("B", &ab.1)]
                        .into_iter()
                        .find_map(|(label, v)| v.crowded().map(|why| format!("{label}: {why}")));
                }
                ab
            }
            Err(e) => match unanswered(&e) {
                Some(why) => {
                    silent = Some((pairs.len(), why));
                    break;
                }
                None => return Err(e),
            },
        };
        if plan.warmup > 0 {
            let (first, second) = if p % 2 == 0 {
                (&mut a, &mut b)
            } else {
                (&mut b, &mut a)
            };
            for v in [first, second] {
                let t = Instant::now();
                if let Err(e) = v.block(plan.warmup, 0) {
                    silent = Some((pairs.len(), unanswered(&e).ok_or(e)?));
                    break;
                }
                warm_ms.push(t.elapsed().as_secs_f64() * 1e3 / f64::from(plan.warmup));
            }
        }
        pairs.push((a, b));
        if silent.is_some() {
            break;
        }
        if p == 0 && plan.auto_pairs {
            let it_ms = median(&warm_ms);
            let per_block = plan
                .per_block
                .map_or_else(|| block_size(it_ms), NonZeroU32::get);
            let unit_s = 2e-3 * f64::from(per_block) * it_ms;
            let mut units = plan.budget.as_secs_f64() / unit_s;
            if let Some(m) = plan.max_units {
                units = units.min(m as f64);
            }
            if units.is_finite() {
                want = auto_pairs(units, want);
            }
        }
        p += 1;
    }
    let per_block = plan
        .per_block
        .map_or_else(|| block_size(median(&warm_ms)), NonZeroU32::get);
    let clock = Instant::now();
    let mut out = DuetOutcome {
        units: Vec::new(),
        per_block,
        looks: Vec::new(),
        decision: None,
        startup: clock - start,
        measuring: Duration::ZERO,
        stop: DuetStop::Budget,
        a_samples_ms: Vec::new(),
        b_samples_ms: Vec::new(),
        during: EnvDelta::default(),
        wall_time: Duration::ZERO,
        drift: Err("not compared".into()),
        accuracy: None,
        after: Vec::new(),
        plan: *plan,
        crowded,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
    let mut stopping = Stopping::new();
    let mut during = Vec::new();
    let mut unit_pairs = Vec::new();
    while silent.is_none() {
        let u = out.units.len();
        if plan.max_units.is_some_and(|m| u >= m) {
            out.stop = DuetStop::MaxUnits;
            break;
        }
        if clock.elapsed() >= plan.budget {
            out.stop = DuetStop::Budget;
            break;
        }
        let (p, order) = unit_slot(u, pairs.len() as u32, &mut rng);
        let (a, b) = &mut pairs[p as usize];
        let letters = match order {
            Order::Ab => [true, false],
            Order::Ba => [false, true],
        };
        let (mut am, mut bm) = (f64::NAN, f64::NAN);
        let (mut a_env, mut b_env) = (EnvDelta::default(), EnvDelta::default());
        // A unit counts whole or not at all: its samples join the run once both blocks are in.
        let (mut a_samples, mut b_samples, mut envs) = (Vec::new(), Vec::new(), Vec::new());
        for is_a in letters {
            let v = if is_a { a.as_mut() } else { b.as_mut() };
            let (samples, env) = match v.block(0, per_block) {
                Ok(block) => block,
                Err(e) => {
                    silent = Some((p as usize, unanswered(&e).ok_or(e)?));
                    break;
                }
            };
            let typical = median(&samples);
            envs.push(env);
            if is_a {
                a_env = env;
                am = typical;
                a_samples.extend(samples);
            } else {
                b_env = env;
                bm = typical;
                b_samples.extend(samples);
            }
        }
        if silent.is_some() {
            break;
        }
        during.extend(envs);
        out.a_samples_ms.extend(a_samples);
        out.b_samples_ms.extend(b_samples);
        let r = bm.ln() - am.ln();
        unit_pairs.push(p);
        out.units.push(Unit {
            pair: p,
            order,
            log_ratio: r,
            env_diff: super::EnvDiff::between(&a_env, &b_env),
            waits: Waits::of(&a_env, &b_env),
        });
        let n = out.units.len();
        progress(n, r);
        if stopping.due(n) {
            let tau = information(plan, clock.elapsed(), n);
            let th = plan_threshold(plan, &out.a_samples_ms);
            let judged = out.judged();
            if let Some(dec) = stopping.look(&judged.d, &unit_pairs, tau, th) {
                out.decision = Some((dec.look, dec.interval, dec.call));
                // Waits that cannot be told apart decide nothing; later units may.
                if dec.call != Call::Continue && judged.how != wait::Adjustment::Unclear {
                    out.stop = DuetStop::Decided;
                    break;
                }
            }
        }
    }
    out.measuring = clock.elapsed();
    if let Some((_, why)) = &silent {
        out.stop = DuetStop::Unanswered(why.clone());
    }
    // Stopped undecided: one last look at every unit measured, spending all the error left.
    let n = out.units.len();
    if out.stop != DuetStop::Decided
        && n > 0
        && stopping
            .looks()
            .last()
            .is_none_or(|l| l.tau < 1.0 || l.units < n)
    {
        let th = plan_threshold(plan, &out.a_samples_ms);
        let d = out.judged().d;
        if let Some(dec) = stopping.look(&d, &unit_pairs, 1.0, th) {
            out.decision = Some((dec.look, dec.interval, dec.call));
        }
    }
    out.looks = stopping.looks().to_vec();
    out.during = EnvDelta::total(&during);
    out.wall_time = start.elapsed();
    // After the clock. A silent pair's workers were ended: nothing is asked of them.
    // The reasons already hold the whole sentence; its head is enough here.
    let not_asked = |why: &str| {
        format!(
            "not asked: {}",
            why.split(':')
                .next()
                .unwrap_or("a worker stopped answering")
        )
    };
    let silent_pair = silent.as_ref().map(|(p, why)| (*p, not_asked(why)));
    let skip = |p: usize| {
        silent_pair
            .as_ref()
            .filter(|(s, _)| *s == p)
            .map(|(_, w)| w.clone())
    };
    // First every pair's memory, read before anything else is asked (the outputs serialise
    // whole tensors, the transcripts decode: both would raise pair 1's peaks alone), then one
    // profiled pass per variant (first pair, same inputs; run-level, it leaves the session as
    // it was for the outputs and transcripts after it).
    let err = |e: anyhow::Error| format!("{e:#}");
    for (p, (a, b)) in pairs.iter_mut().enumerate() {
        if let Some(why) = skip(p) {
            out.after.push((Err(why.clone()), Err(why)));
            continue;
        }
        let profile = p == 0;
        let after_a = a.after_run(profile).map_err(err);
        let after_b = b.after_run(profile).map_err(err);
        out.after.push((after_a, after_b));
    }
    // Then the outputs of one more iteration of each variant of the first pair.
    out.drift = match (pairs.first_mut(), skip(0)) {
        (Some((a, b)), None) => match (a.outputs(), b.outputs()) {
            (Ok(x), Ok(y)) => {
                let mut d = drift::compare(&x, &y, plan.tolerance);
                d.fails_check = plan.fail_on_output_change;
                Ok(d)
            }
            (Err(e), _) | (_, Err(e)) => Err(format!("{e:#}")),
        },
        (_, Some(why)) => Err(why),
        (None, None) => Err(silent_pair
            .as_ref()
            .map_or_else(|| "no worker pair started".into(), |(_, w)| w.clone())),
    };
    out.accuracy = listen.map(|set| match (pairs.first_mut(), skip(0)) {
        (Some((a, b)), None) => {
            let heard = |v: &mut Box<dyn Variant + '_>| {
                score_set(set, |samples| {
                    let t = v.transcribe(samples)?;
                    let text = t.text.ok_or_else(|| {
                        anyhow::anyhow!(
                            "a variant's config names no `tokenizer`, so its transcripts have no words"
                        )
                    })?;
                    Ok::<_, anyhow::Error>((t.tokens, text))
                })
                .map_err(|e| format!("{e:#}"))
            };
            Ok((heard(a)?, heard(b)?))
        }
        (_, Some(why)) => Err(why),
        (None, None) => Err("no worker pair started".into()),
    });
    Ok(out)
}

/// The between-pair sd counted in the duet's interval (the prior pooled with the pairs' own).
pub fn pair_sd(out: &DuetOutcome) -> f64 {
    let d = out.judged().d;
    let pairs: Vec<u32> = out.units.iter().map(|u| u.pair).collect();
    sequential::pair_variance(&d, &pairs).0.sqrt()
}

/// A log ratio as a percent change.
pub(super) fn pct(log_ratio: f64) -> f64 {
    (log_ratio.exp() - 1.0) * 100.0
}

/// The threshold of a duet as a log ratio: the configured percentage, raised so that the change
/// is also at least `min_abs_ms` on variant A's latency.
pub fn threshold(max_regression_pct: f64, min_abs_ms: f64, a_ms: f64) -> f64 {
    let rel = (1.0 + max_regression_pct / 100.0).ln();
    if a_ms.is_finite() && a_ms > 0.0 && min_abs_ms > 0.0 {
        rel.max((1.0 + min_abs_ms / a_ms).ln())
    } else {
        rel
    }
}

fn plan_threshold(plan: &DuetPlan, a_samples_ms: &[f64]) -> f64 {
    threshold(
        plan.max_regression_pct,
        plan.min_abs_ms,
        metric_of(Metric::Median, a_samples_ms),
    )
}

#[cfg(test)]
#[path = "ab_tests.rs"]
mod tests;
