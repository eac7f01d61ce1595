//! The duet's verdict: a finished [`DuetOutcome`] in, a [`ModelVerdict`] out, with every
//! sentence a reader needs: the interval against the threshold, the knob that stopped an
//! undecided run and the length that would decide it, a silent worker, contamination. Pure.

use super::ab::{CATCH_MARGIN_PTS, DuetOutcome, DuetStop, pair_sd, pct, threshold};
use super::drift;
use super::sequential::{self, ALPHA, Call};
use super::stopping::FIRST_LOOK;
use super::verdict::metric_of;
use super::{
    BaselineUsed, Catch, DuetFacts, ModelVerdict, PctInterval, RoundChange, Verdict, WaitFacts,
    contamination, wait,
};
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
    let between = pair_sd(out);
    let judged = out.judged();
    let test = format!(
        "duet: {n} units (AB/BA in random order, seed {}, {} iteration(s) per block) on {} worker pair(s); {}; Hodges-Lehmann estimate, Wilcoxon signed-rank interval widened by the pairs' random effect (sd {:.1}%), group-sequential boundaries spending alpha {ALPHA} on the budget used; regressed = significantly slower and estimate above the threshold",
        out.plan.seed,
        out.per_block,
        out.units.iter().map(|u| u.pair).max().map_or(0, |p| p + 1),
        judged.method(),
        pct(between),
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
            .zip(&judged.d)
            .filter(|(u, _)| u.log_ratio.is_finite())
            .map(|(u, d)| RoundChange {
                first: serde_json::to_value(u.order)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                change_pct: pct(u.log_ratio),
                pair: u.pair + 1,
                env_diff: Some(u.env_diff).filter(|e| *e != super::EnvDiff::default()),
                adjusted_change_pct: (judged.how == wait::Adjustment::Applied).then(|| pct(*d)),
            })
            .collect(),
        ..ModelVerdict::new(name, cpu_model, architecture, t, test)
    };
    let th = threshold(t.max_regression_pct, t.min_abs_ms, a_ms.unwrap_or(f64::NAN));
    v.duet = Some(facts(out, &judged, th, t.max_regression_pct));
    if t.metric == Metric::P95 {
        v.reasons.push(
            "the duet judges the typical latency (block medians); p95 is judged by `compare`"
                .into(),
        );
    }
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
    v.reasons.extend(judged.sentence());
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
        "[{:+.1}%, {:+.1}%] ({:.1}% interval, look {}, {} units)",
        pct(i.low),
        pct(i.high),
        100.0 * (1.0 - i.alpha),
        out.looks
            .iter()
            .position(|l| *l == look)
            .map_or(0, |k| k + 1),
        look.units
    );
    let (e, th_pct) = (pct(i.estimate), pct(th));
    let (verdict, why) = match c {
        Call::Regressed => (
            Verdict::Regressed,
            format!("{e:+.1}%: slower than A, {interval}, and above the {th_pct:.1}% threshold"),
        ),
        Call::Improved => (
            Verdict::Improved,
            format!("{e:+.1}%: faster than A, {interval}, and beyond -{th_pct:.1}%"),
        ),
        Call::Pass => (
            Verdict::Pass,
            format!("{e:+.1}%: the whole interval {interval} is below the {th_pct:.1}% threshold"),
        ),
        Call::Continue => (
            Verdict::Inconclusive,
            format!(
                "{e:+.1}%: undecided, {interval}; {}",
                stopped_by(out, architecture)
            ),
        ),
    };
    v.reasons.insert(0, why);
    if c == Call::Continue {
        v.reasons
            .insert(1, undecided_fix(v.duet.as_ref(), out, architecture));
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
    // Waits that cannot be told apart: whatever the units say, nothing is decided.
    if judged.how == wait::Adjustment::Unclear {
        v.verdict = Verdict::Inconclusive;
        // Its sentence, said above, leads.
        if let Some(why) = judged.sentence() {
            v.reasons.retain(|r| *r != why);
            v.reasons.insert(0, why);
        }
    }
    // A worker that hung is no evidence, even when the units before it would have decided.
    if let DuetStop::Unanswered(why) = &out.stop {
        v.verdict = Verdict::Inconclusive;
        v.reasons.insert(0, why.clone());
    }
    v
}

/// What stopped an undecided duet, naming the knob: "the --max-units limit (4 units) was
/// reached", "the 60 s measuring budget ran out".
fn stopped_by(out: &DuetOutcome, architecture: &str) -> String {
    match out.stop {
        DuetStop::Unanswered(_) => "a worker stopped answering".to_string(),
        DuetStop::MaxUnits => format!(
            "the --max-units limit ({} units) was reached",
            out.plan.max_units.unwrap_or(out.units.len())
        ),
        _ => format!(
            "the {:.0} s measuring budget (--budget, else [thresholds.{architecture}] ab_time_budget_s) ran out",
            out.plan.budget.as_secs_f64()
        ),
    }
}

/// Why a duet with too few units for an interval decided nothing, and what to change: the
/// measuring budget (start-up is off its clock) must hold ten units or so; `--max-units` must
/// allow an interval.
/// The first line is short: the PR comment's headline quotes its leading sentences whole.
fn too_little(n: usize, out: &DuetOutcome, architecture: &str) -> String {
    let budget = out.plan.budget.as_secs_f64();
    let per_unit = out.measuring.as_secs_f64() / n.max(1) as f64;
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
            (FIRST_LOOK + 2).max(n + 1)
        ),
        (_, 0) => format!(
            "no unit measured in the {budget:.0} s measuring budget (start-up, off its clock, took {:.0} s)\n  {}",
            out.startup.as_secs_f64(),
            budget_fix(budget)
        ),
        _ => format!(
            "only {n} unit(s) measured in the {budget:.0} s measuring budget, too few for an interval\n  {}",
            budget_fix(budget.max(per_unit * (FIRST_LOOK + 2) as f64))
        ),
    }
}

/// The facts of a duet: its seed, clocks, looks, noise, and the length that would catch the
/// threshold plus [`CATCH_MARGIN_PTS`] at that noise.
fn facts(out: &DuetOutcome, judged: &wait::Adjusted, th: f64, threshold_pct: f64) -> DuetFacts {
    let d = &judged.d;
    let pairs: Vec<u32> = out.units.iter().map(|u| u.pair).collect();
    let unit_sd = unit_sd(d);
    let (pair_var, k) = sequential::pair_variance(d, &pairs);
    let measuring_s = out.measuring.as_secs_f64();
    let change = (1.0 + (threshold_pct.max(pct(th)) + CATCH_MARGIN_PTS) / 100.0).ln();
    // The last look of a run of the needed length spends the whole error: its level is about
    // that of one interval at ALPHA / 2 (the boundaries' final z is ~2.6 at ALPHA 0.02).
    let catch = unit_sd.and_then(|sd| {
        let units = sequential::units_to_catch(change, th, sd, pair_var, k, ALPHA / 2.0)?;
        let per_unit = measuring_s / d.len().max(1) as f64;
        Some(Catch {
            change_pct: pct(change),
            units: units.ceil() as u64,
            seconds: (units.ceil() * per_unit).ceil(),
        })
    });
    DuetFacts {
        seed: out.plan.seed,
        startup_s: out.startup.as_secs_f64(),
        measuring_s,
        unit_sd_pct: unit_sd.map(pct),
        pair_sd_pct: Some(pct(pair_var.sqrt())),
        looks: out.looks.clone(),
        catch,
        wait: Some(WaitFacts {
            adjustment: judged.how,
            a_wait_pct: Some(100.0 * judged.a_wait),
            b_wait_pct: Some(100.0 * judged.b_wait),
            correction_pct: Some(pct(judged.correction)),
        }),
    }
}

/// One unit's sd, robustly (1.4826 MAD); `None` below 3 units.
pub fn unit_sd(d: &[f64]) -> Option<f64> {
    if d.len() < 3 {
        return None;
    }
    Some(crate::stats::mad_sd(d)).filter(|s| s.is_finite())
}

/// What would have decided an undecided duet: at the noise it measured, how long a run would
/// catch the threshold plus [`CATCH_MARGIN_PTS`] 19 times in 20 (start-up excluded). The
/// estimate is not used: near the threshold it would make the length explode.
fn undecided_fix(facts: Option<&DuetFacts>, out: &DuetOutcome, architecture: &str) -> String {
    let Some(c) = facts.and_then(|f| f.catch.as_ref()) else {
        return format!(
            "at this run's noise no practical length catches the threshold plus {CATCH_MARGIN_PTS} points; fix: more --worker-pairs, or a quieter machine"
        );
    };
    let (change, units, secs) = (c.change_pct, c.units, c.seconds);
    match out.stop {
        DuetStop::MaxUnits => format!(
            "catching {change:+.1}% at this run's noise needs about {units} units\n  fix: raise --max-units to about {units}"
        ),
        DuetStop::Unanswered(_) => {
            format!("catching {change:+.1}% at this run's noise needs about {units} units")
        }
        _ => format!(
            "catching {change:+.1}% at this run's noise needs about {secs:.0} s of measuring ({units} units; this run measured {:.0} s)\n  fix: raise [thresholds.{architecture}] ab_time_budget_s to about {secs:.0}, or use a quieter machine",
            out.measuring.as_secs_f64()
        ),
    }
}
