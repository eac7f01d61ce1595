//! `compare`: one model of a result file against its baseline history.

use std::path::Path;

use super::comparability::{RunFacts, incomparable, what_changed};
use super::contamination::{self, BaselineNoise};
use super::verdict::{
    self, HistoryPoint, Rule, Z_99, bootstrap_log_sd, estimate_vs_history, metric_of,
};
use super::{BaselineUsed, ModelVerdict, PctInterval, Verdict, accuracy, memory};
use crate::baseline::{BaselineFile, BaselineRun, StoredBreakdown};
use crate::config::{GateSection, Metric, Thresholds};
use crate::operators::{ATTRIBUTION_NOTE, Attribution, OperatorBreakdown};
use crate::result::{ModelResult, RunResult};

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error(
        "model `{model}`: the baseline {path} is not comparable with this run:\n    {}\n  fix: compare on the same setup, or start a new baseline for this setup (bench-gate baseline update --force after moving the old file away)",
        differences.join("\n    ")
    )]
    Incomparable {
        model: String,
        path: String,
        differences: Vec<String>,
    },
    #[error(
        "model `{model}` in the result has no usable samples\n  fix: pass a result written by `bench-gate run -o`"
    )]
    NoSamples { model: String },
}

fn facts<'a>(run: &'a RunResult, m: &'a ModelResult) -> RunFacts<'a> {
    RunFacts {
        cpu_model: &m.cpu_model,
        architecture: &m.architecture,
        kind: m.kind,
        fingerprint: &m.fingerprint,
        session: &m.session,
        pinned_cpus: m.pinned_cpus.len(),
        cpu_limit: m.cpu_limit,
        ort_version: &run.ort.version,
        bench_gate_version: &run.bench_gate_version,
        host: &run.host,
        decoder_steps: m.tokens_per_iteration,
    }
}

/// The verdict skeleton shared by every outcome.
fn skeleton(m: &ModelResult, t: &Thresholds, test: String) -> ModelVerdict {
    ModelVerdict {
        iterations: m.iterations,
        wall_time_s: m.wall_time_s,
        stop_reason: Some(m.stop_reason),
        ..ModelVerdict::new(&m.name, &m.cpu_model, &m.architecture, t, test)
    }
}

/// `no_baseline`: nothing to compare with on this CPU model.
pub fn no_baseline(m: &ModelResult, t: &Thresholds, others: Vec<String>) -> ModelVerdict {
    let mut v = skeleton(m, t, "none (no baseline)".into());
    v.reasons.push(if others.is_empty() {
        format!(
            "no baseline for `{}` on {} {}; no CPU model has one yet",
            m.name, m.architecture, m.cpu_model
        )
    } else {
        format!(
            "no baseline for `{}` on {} {}; baselines exist for: {}",
            m.name,
            m.architecture,
            m.cpu_model,
            others.join(", ")
        )
    });
    v.candidate_ms = Some(metric_of(t.metric, &m.samples_ms));
    v.cpu_models_with_baseline = others;
    if m.memory_mb.is_finite() && m.memory_mb > 0.0 {
        // The noise prior is unused without a history: any positive value does.
        v.memory = Some(memory::judge(
            &[],
            m.memory_mb,
            t.max_memory_regression_pct,
            1.0,
        ));
    }
    v
}

/// Within-run sampling sd of ln(metric) of a stored run. The stored sample may be thinned to
/// fewer values than the run had; the bootstrap sd shrinks with sqrt(n), so it is rescaled.
fn stored_within_sd(r: &BaselineRun, metric: Metric) -> f64 {
    let sd = bootstrap_log_sd(&r.samples_ms, metric);
    let n = r.samples_ms.len() as f64;
    sd * (n / f64::from(r.iterations.max(1))).min(1.0).sqrt()
}

fn stored_metric(r: &BaselineRun, metric: Metric) -> f64 {
    match metric {
        Metric::Median => r.median_ms,
        Metric::P95 => r.p95_ms,
    }
}

/// Compares one model against its baseline file. Incomparable history runs are left out; if
/// none is left the comparison is refused with the differences to the newest run.
pub fn compare_model(
    run: &RunResult,
    m: &ModelResult,
    path: &Path,
    file: &BaselineFile,
    t: &Thresholds,
    gate: &GateSection,
) -> Result<ModelVerdict, CompareError> {
    if m.samples_ms.is_empty() || m.samples_ms.iter().any(|x| !(x.is_finite() && *x > 0.0)) {
        return Err(CompareError::NoSamples {
            model: m.name.clone(),
        });
    }
    let cand = facts(run, m);
    let usable: Vec<&BaselineRun> = file
        .runs
        .iter()
        .filter(|r| {
            incomparable(
                &RunFacts::of_baseline(r, &file.cpu_model, &file.architecture),
                &cand,
            )
            .is_empty()
        })
        .collect();
    let Some(newest) = usable.last() else {
        let differences = file.runs.last().map_or_else(Vec::new, |r| {
            incomparable(
                &RunFacts::of_baseline(r, &file.cpu_model, &file.architecture),
                &cand,
            )
        });
        return Err(CompareError::Incomparable {
            model: m.name.clone(),
            path: path.display().to_string(),
            differences,
        });
    };
    let mut v = skeleton(
        m,
        t,
        format!(
            "log-ratio of the {} vs the median of {} history run(s), noise from the history pooled with {}% assumed, z={Z_99}",
            metric_name(t.metric),
            usable.len(),
            gate.assumed_run_noise_pct
        ),
    );
    v.what_changed = what_changed(
        &RunFacts::of_baseline(newest, &file.cpu_model, &file.architecture),
        &cand,
    );
    let points: Vec<HistoryPoint> = usable
        .iter()
        .map(|r| HistoryPoint {
            metric_ms: stored_metric(r, t.metric),
            within_sd: stored_within_sd(r, t.metric),
        })
        .collect();
    let candidate_ms = metric_of(t.metric, &m.samples_ms);
    let candidate_sd = bootstrap_log_sd(&m.samples_ms, t.metric);
    let noise = BaselineNoise::of(usable.iter().map(|r| (r.cv, r.others_busy_cpus)));
    v.contamination = contamination::reasons(&m.during, m.latency_ms.cv, Some(noise));
    v.candidate_ms = Some(candidate_ms);
    let Some(e) = estimate_vs_history(
        &points,
        candidate_ms,
        candidate_sd,
        gate.assumed_run_noise_pct,
    ) else {
        return Err(CompareError::NoSamples {
            model: m.name.clone(),
        });
    };
    let rule = Rule {
        threshold_pct: t.max_regression_pct,
        min_abs_ms: t.min_abs_ms,
    };
    let d = verdict::decide(&e, &rule, &v.contamination);
    v.verdict = d.verdict;
    v.latency_verdict = Some(d.verdict);
    v.reasons = d.reasons;
    if m.memory_mb.is_finite() && m.memory_mb > 0.0 {
        let history_mb: Vec<f64> = usable.iter().filter_map(|r| r.memory_mb).collect();
        let mem = memory::judge(
            &history_mb,
            m.memory_mb,
            t.max_memory_regression_pct,
            gate.assumed_memory_noise_pct,
        );
        v.verdict = memory::combine(v.verdict, mem.verdict);
        if matches!(
            mem.verdict,
            Some(Verdict::Regressed | Verdict::Inconclusive)
        ) {
            v.reasons.extend(mem.reasons.iter().cloned());
        }
        v.memory = Some(mem);
    }
    if let (Some(now), Some(then)) = (
        m.tokens_per_iteration,
        usable.iter().rev().find_map(|r| r.tokens_per_iteration),
    ) && now != then
        && m.kind == crate::config::WorkloadKind::Whisper
    {
        v.reasons.push(format!(
            "the decoder ran {now} steps per iteration against {then} in the baseline: the model now transcribes the fixture differently, so each iteration does different work; a latency change may come from the transcript's length, not from slower or faster code (see the accuracy line)"
        ));
    }
    if let Some(cand) = &m.accuracy {
        match usable.iter().rev().find_map(|r| r.accuracy.as_ref()) {
            Some(base) => accuracy::apply(&mut v, Ok((base, cand)), t),
            None => v.reasons.push(format!(
                "WER {:.1}% on {} utterances: no baseline run recorded a WER yet (baselines from before bench-gate scored its labelled set), so accuracy is shown, not judged",
                cand.wer_pct,
                cand.utterances.len()
            )),
        }
    }
    if matches!(d.verdict, Verdict::Regressed | Verdict::Improved) {
        match (&file.operators, &m.operators) {
            (Some(base), Some(cand)) => {
                v.operators = Some(attribution(base, cand));
            }
            (None, _) => v.reasons.push(
                "no per-operator comparison: no run in the baseline was profiled (update it from a run without --no-profile)".into(),
            ),
            (_, None) => v.reasons.push(
                "no per-operator comparison: this run was not profiled (--no-profile, or see its warnings)".into(),
            ),
        }
    }
    if usable.len() < file.runs.len() {
        v.reasons.push(format!(
            "{} of {} history runs left out: not comparable with this run",
            file.runs.len() - usable.len(),
            file.runs.len()
        ));
    }
    v.change_pct = Some(e.change_pct());
    let (low, high) = e.ci_pct();
    v.ci_pct = Some(PctInterval { low, high });
    v.noise_pct = Some(e.noise_pct());
    let t_log = (1.0 + t.max_regression_pct / 100.0).ln();
    v.mde_pct = Some((e.minimum_detectable(t_log).exp() - 1.0) * 100.0);
    v.baseline = Some(BaselineUsed {
        source: path.display().to_string(),
        center_ms: e.baseline_ms,
        runs_used: usable.len(),
        runs_total: file.runs.len(),
    });
    Ok(v)
}

/// The operator comparison against the baseline's latest profiled run.
pub fn attribution(base: &StoredBreakdown, candidate: &OperatorBreakdown) -> Attribution {
    let commit = base
        .commit
        .as_deref()
        .map(|c| format!(", commit {}", c.chars().take(12).collect::<String>()))
        .unwrap_or_default();
    Attribution {
        note: ATTRIBUTION_NOTE.to_string(),
        baseline_source: format!("profiled baseline run of {}{commit}", base.timestamp),
        diff: crate::operators::diff(&base.breakdown, candidate),
    }
}

pub fn metric_name(m: Metric) -> &'static str {
    match m {
        Metric::Median => "median",
        Metric::P95 => "p95",
    }
}
