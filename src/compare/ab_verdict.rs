//! The duet's verdict: a finished [`DuetOutcome`] in, a [`ModelVerdict`] out, with every
//! sentence a reader needs: the interval against the threshold, the knob that stopped an
//! undecided run and the length that would decide it, a silent worker, contamination. Pure.

use super::ab::{DuetOutcome, DuetStop, pair_sd, pct, threshold};
use super::drift;
use super::sequential::{self, ALPHA, Call, ShiftInterval};
use super::verdict::metric_of;
use super::{BaselineUsed, ModelVerdict, PctInterval, RoundChange, Verdict, contamination};
use crate::config::{Metric, Thresholds};

/// The verdict of a duet for model `name` on `cpu_model`. A duet that measured too little for
/// an interval (nothing at all, when start-up ate the budget) is `inconclusive` with a sentence
/// naming the knob that stopped it; its latencies are then absent, never NaN.
pub fn verdict(
    name: &str,
    cpu_model: &str,
    architecture: &str,
    t: &Thresholds,
    out: &DuetOutcome,
) -> ModelVerdict {
    let finite = |x: f64| Some(x).filter(|x| x.is_finite());
    let a_ms = finite(metric_of(Metric::Median, &out.a_samples_ms));
    let b_ms = finite(metric_of(Metric::Median, &out.b_samples_ms));
    let n = out.units.len();
    let between = pair_sd(&out.units);
    let test = format!(
        "duet: {n} units (ABBA/BAAB, {} iteration(s) per block) on {} worker pair(s); Hodges-Lehmann estimate, Wilcoxon signed-rank interval{} at each of up to {} planned looks, alpha {ALPHA} spent quadratically (valid at every look)",
        out.per_block,
        out.units.iter().map(|u| u.pair).max().map_or(0, |p| p + 1),
        if between > 0.0 {
            format!(
                " widened by the worker pairs' random effect (between-pair sd {:.1}%)",
                pct(between)
            )
        } else {
            String::new()
        },
        sequential::LOOKS
    );
    let mut v = ModelVerdict {
        contamination: contamination::reasons_interleaved(&out.during),
        baseline: a_ms.map(|center_ms| BaselineUsed {
            source: "variant A".into(),
            center_ms,
            runs_used: n,
            runs_total: n,
        }),
        candidate_ms: b_ms,
        iterations: (out.a_samples_ms.len() + out.b_samples_ms.len()) as u32,
        wall_time_s: out.wall_time.as_secs_f64(),
        rounds: out
            .units
            .iter()
            .filter(|u| u.log_ratio.is_finite())
            .map(|u| RoundChange {
                first: serde_json::to_value(u.order)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                change_pct: pct(u.log_ratio),
                pair: u.pair + 1,
            })
            .collect(),
        ..ModelVerdict::new(name, cpu_model, architecture, t, test)
    };
    if t.metric == Metric::P95 {
        v.reasons.push(
            "the duet judges the typical latency (block medians); p95 is judged by `compare`"
                .into(),
        );
    }
    let th = threshold(t.max_regression_pct, t.min_abs_ms, a_ms.unwrap_or(f64::NAN));
    match &out.drift {
        Ok(d) => {
            if d.status == drift::DriftStatus::Changed {
                v.reasons.push(format!(
                    "{}{}",
                    d.summary(),
                    if d.fails_check {
                        " (on_output_change = \"fail\": the check fails)"
                    } else {
                        ""
                    }
                ));
            }
            v.outputs = Some(d.clone());
        }
        Err(e) => v.reasons.push(format!("outputs not compared: {e}")),
    }
    let Some((look, i, c)) = out.decision else {
        v.verdict = Verdict::Inconclusive;
        v.reasons
            .insert(0, too_little(n, out, architecture).to_string());
        return v;
    };
    v.change_pct = Some(pct(i.estimate));
    v.ci_pct = Some(PctInterval {
        low: pct(i.low),
        high: pct(i.high),
    });
    v.noise_pct = Some(pct((i.high - i.low) / 2.0));
    v.mde_pct = finite(pct(sequential::minimum_detectable(&i, th)));
    let interval = format!(
        "[{:+.1}%, {:+.1}%] ({:.1}% interval at look {} of {}, {} units)",
        pct(i.low),
        pct(i.high),
        100.0 * (1.0 - look.alpha),
        out.looks
            .iter()
            .position(|l| *l == look)
            .map_or(0, |k| k + 1),
        out.looks.len(),
        look.units
    );
    let (verdict, why) = match c {
        Call::Regressed => (
            Verdict::Regressed,
            format!(
                "{:+.1}%: the whole interval {interval} is above the {:.1}% threshold",
                pct(i.estimate),
                pct(th)
            ),
        ),
        Call::Improved => (
            Verdict::Improved,
            format!(
                "{:+.1}%: the whole interval {interval} is faster than -{:.1}%",
                pct(i.estimate),
                pct(th)
            ),
        ),
        Call::Pass => (
            Verdict::Pass,
            format!(
                "{:+.1}%: the whole interval {interval} is below the {:.1}% threshold",
                pct(i.estimate),
                pct(th)
            ),
        ),
        Call::Continue => (
            Verdict::Inconclusive,
            format!(
                "{:+.1}%: the interval {interval} still straddles the {:.1}% threshold; {}",
                pct(i.estimate),
                pct(th),
                stopped_by(out, architecture)
            ),
        ),
    };
    v.reasons.insert(0, why);
    if c == Call::Continue {
        v.reasons
            .insert(1, undecided_fix(&i, th, look.units, out, architecture));
    }
    v.verdict = verdict;
    if !v.contamination.is_empty() {
        v.verdict = Verdict::Inconclusive;
        v.reasons.insert(
            0,
            format!(
                "contaminated run, not evidence: {}",
                v.contamination.join("; ")
            ),
        );
    }
    // A worker that hung is no evidence, even when the units before it would have decided.
    if let DuetStop::Unanswered(why) = &out.stop {
        v.verdict = Verdict::Inconclusive;
        v.reasons.insert(0, why.clone());
    }
    v
}

/// What stopped an undecided duet, naming the knob: "the --max-units limit (4 units) was
/// reached", "the 60 s time budget ran out".
fn stopped_by(out: &DuetOutcome, architecture: &str) -> String {
    match out.stop {
        DuetStop::Unanswered(_) => "a worker stopped answering".to_string(),
        DuetStop::MaxUnits => format!(
            "the --max-units limit ({} units) was reached",
            out.plan.max_units.unwrap_or(out.units.len())
        ),
        _ => format!(
            "the {:.0} s time budget (--budget, else [thresholds.{architecture}] ab_time_budget_s) ran out",
            out.plan.budget.as_secs_f64()
        ),
    }
}

/// Why a duet with too few units for an interval decided nothing, and what to change: the
/// budget must hold start-up, warm-up and a dozen units; `--max-units` must allow an interval.
/// The first line is short: the PR comment's headline quotes its leading sentences whole.
fn too_little(n: usize, out: &DuetOutcome, architecture: &str) -> String {
    let wall = out.wall_time.as_secs_f64();
    let budget = out.plan.budget.as_secs_f64();
    let budget_fix = |above: f64| {
        format!(
            "fix: raise --budget (else [thresholds.{architecture}] ab_time_budget_s) well above {above:.0} s"
        )
    };
    match (&out.stop, n) {
        (DuetStop::Unanswered(why), _) => why.clone(),
        (DuetStop::MaxUnits, _) => format!(
            "only {n} unit(s) measured, too few for an interval: {}\n  fix: raise --max-units to at least {}",
            stopped_by(out, architecture),
            sequential::MIN_UNITS.max(n + 1)
        ),
        (_, 0) => format!(
            "no unit measured: starting and warming the workers took {wall:.0} s of the {budget:.0} s time budget\n  {}",
            budget_fix(wall.max(budget))
        ),
        _ => format!(
            "only {n} unit(s) measured in the {budget:.0} s time budget, too few for an interval\n  {}",
            budget_fix(budget)
        ),
    }
}

/// What would have decided an undecided duet: at the noise it measured, how long a run would
/// decide a change of the size it estimated (a noisy spell of a shared runner can need several
/// times the default budget; docs/verdict.md, "The duet, measured").
fn undecided_fix(
    i: &ShiftInterval,
    th: f64,
    units: usize,
    out: &DuetOutcome,
    architecture: &str,
) -> String {
    let Some(k) = sequential::length_to_decide(i, th).filter(|k| *k <= 100.0) else {
        return format!(
            "the estimate {:+.1}% is too close to the {:.1}% threshold for any practical run length to decide",
            pct(i.estimate),
            pct(th)
        );
    };
    // The look saw `units`; the run measured `out.units` in its wall time (start-up included).
    let per_unit = out.wall_time.as_secs_f64() / out.units.len().max(1) as f64;
    let units = (units as f64 * k).ceil();
    let secs = (units * per_unit).ceil();
    // The number first: the PR comment keeps a reason's leading sentences when room is short.
    let change = pct(i.estimate);
    match out.stop {
        DuetStop::MaxUnits => format!(
            "the {change:+.1}% measured needs about {units} units to decide at this run's noise (95% power)\n  fix: raise --max-units to about {units}"
        ),
        DuetStop::Unanswered(_) => format!(
            "the {change:+.1}% measured needs about {units} units to decide at this run's noise (95% power)"
        ),
        _ => format!(
            "the {change:+.1}% measured needs about {secs} s ({units} units) to decide at this run's noise (95% power; this run had {:.0} s)\n  fix: raise [thresholds.{architecture}] ab_time_budget_s to about {secs}, or run the duet on a quieter machine",
            out.wall_time.as_secs_f64()
        ),
    }
}
