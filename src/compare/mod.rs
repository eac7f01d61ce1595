//! The gate: is this run slower than the committed baseline for this CPU (`compare`), or is
//! variant B slower than variant A measured side by side (`ab`)? Both produce the same
//! [`VerdictReport`], decided by the same rules ([`verdict::decide`]); docs/verdict.md explains
//! the statistics and the figures measured on the project's machine.

pub mod ab;
mod ab_verdict;
pub mod accuracy;
pub mod after_run;
pub mod boundaries;
pub mod comparability;
pub mod contamination;
pub mod drift;
pub mod history;
pub mod memory;
pub mod memory_pairs;
pub mod sequential;
pub mod stopping;
pub mod verdict;
pub mod wait;
pub mod workers;

use serde::{Deserialize, Serialize};

use crate::config::{Metric, OnInconclusive, Thresholds};
use crate::operators::Attribution;
use crate::runner::StopReason;

pub use comparability::Change;
pub use memory::MemoryVerdict;
pub use verdict::Verdict;

/// Bumped on any incompatible change of the verdict JSON.
pub const VERDICT_SCHEMA_VERSION: u32 = 1;

/// Thresholds used for an architecture that has no `[thresholds.ARCH]` table; the verdict says so.
pub const DEFAULT_THRESHOLDS: Thresholds = Thresholds {
    metric: Metric::Median,
    max_regression_pct: 5.0,
    min_abs_ms: 0.0,
    on_inconclusive: OnInconclusive::Warn,
    ab_time_budget_s: None,
    max_memory_regression_pct: None,
    max_wer_increase_pts: None,
    wer_rule: None,
};

/// How the change was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A result file against the committed baseline history.
    Compare,
    /// Two variants alternated on the same CPUs (the duet).
    Ab,
}

/// The verdict file: stable, versioned, one entry per model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerdictReport {
    pub schema_version: u32,
    pub bench_gate_version: String,
    /// RFC 3339, UTC.
    pub timestamp: String,
    pub mode: Mode,
    /// The worst model verdict (regressed > inconclusive > no_baseline > pass > improved).
    pub verdict: Verdict,
    /// The process exit code this verdict maps to (0, 1, 2 or 3; see docs/verdict.md).
    pub exit_code: u8,
    pub models: Vec<ModelVerdict>,
}

/// The verdict for one model, with everything needed to believe or question it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelVerdict {
    pub model: String,
    pub cpu_model: String,
    pub architecture: String,
    /// The model's outcome: the latency verdict, made worse by a memory regression (or a memory
    /// change the noise hides) when memory is gated.
    pub verdict: Verdict,
    /// The latency verdict alone (absent in files from before memory was gated: then equal to
    /// `verdict`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_verdict: Option<Verdict>,
    /// Why, in sentences.
    pub reasons: Vec<String>,
    /// Why the run is not evidence (throttled, steal, dispersion); empty when clean.
    pub contamination: Vec<String>,
    pub metric: Metric,
    /// The statistical test, e.g. "log-ratio vs history, z=2.576".
    pub test: String,
    /// Estimated change of the metric, percent (positive = slower).
    pub change_pct: Option<f64>,
    /// 99% interval of the change, percent.
    pub ci_pct: Option<PctInterval>,
    /// Half-width of that interval: the change the noise alone can produce, percent.
    pub noise_pct: Option<f64>,
    /// The smallest slowdown this run would have called `regressed` with 95% power, percent: how
    /// blind a `pass` was.
    #[serde(default)]
    pub mde_pct: Option<f64>,
    pub threshold_pct: f64,
    pub min_abs_ms: f64,
    pub on_inconclusive: OnInconclusive,
    /// What the candidate was compared with.
    pub baseline: Option<BaselineUsed>,
    /// The candidate's metric, ms.
    pub candidate_ms: Option<f64>,
    pub what_changed: Vec<Change>,
    /// `no_baseline`: the CPU models that do have a baseline for this model and architecture.
    pub cpu_models_with_baseline: Vec<String>,
    /// Counted iterations of the candidate (`ab`: of both variants together).
    pub iterations: u32,
    /// Seconds from the first warm-up to the last counted iteration (`ab`: the whole A/B run).
    pub wall_time_s: f64,
    pub stop_reason: Option<StopReason>,
    /// `ab`: each round's change of B against A, percent, in round order (with which variant
    /// went first), so drift or an order effect can be seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<RoundChange>,
    /// Duet: what the two variants produced for the same inputs, compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<drift::OutputDrift>,
    /// Peak memory against the baseline's, with its own verdict when gated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryVerdict>,
    /// Word error rate on the labelled set against the baseline's (or variant A's), with its
    /// own verdict when gated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<accuracy::AccuracyVerdict>,
    /// `regressed` or `improved` latency: which operators' profiled time changed most, every
    /// operator type and node (for attribution only: the verdict never reads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operators: Option<Attribution>,
    /// Duet: how it measured (seed of the unit order, start-up and measuring time, the looks
    /// and their boundaries, the noise it saw) and what length would catch a named change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duet: Option<DuetFacts>,
}

/// How a duet measured, for the reader who wants to re-run or question it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuetFacts {
    /// Seed of the random unit order (`--seed` repeats it).
    pub seed: u64,
    /// Starting and warming the workers, seconds: off the clock.
    pub startup_s: f64,
    /// Measuring, seconds: what the budget counts.
    pub measuring_s: f64,
    /// The sd of one unit's log ratio, percent (robust: 1.4826 MAD).
    #[serde(default)]
    pub unit_sd_pct: Option<f64>,
    /// The between-pair sd counted in the interval (prior pooled with the pairs' own), percent.
    #[serde(default)]
    pub pair_sd_pct: Option<f64>,
    /// Every look taken, with its boundary.
    pub looks: Vec<boundaries::Look>,
    /// The length that would catch a named slowdown at this run's noise.
    #[serde(default)]
    pub catch: Option<Catch>,
    /// Whether the units were adjusted for the CPU their blocks waited for, and the waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<WaitFacts>,
}

/// The run-delay adjustment of a duet ([`wait`]): whether it was made, and what it saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitFacts {
    pub adjustment: wait::Adjustment,
    /// The median share of their time A's and B's blocks waited for a CPU, percent.
    #[serde(default)]
    pub a_wait_pct: Option<f64>,
    #[serde(default)]
    pub b_wait_pct: Option<f64>,
    /// The typical correction the waits imply, percent (Hodges-Lehmann): near zero when only
    /// a neighbour made the blocks wait; significantly off zero, the units were not adjusted.
    #[serde(default)]
    pub correction_pct: Option<f64>,
}

/// "A run of this length would catch this slowdown 19 times in 20", at a run's measured noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catch {
    /// The named slowdown, percent: the threshold plus [`ab::CATCH_MARGIN_PTS`].
    pub change_pct: f64,
    pub units: u64,
    /// Measuring seconds (start-up excluded) at this run's seconds per unit.
    pub seconds: f64,
}

/// One `ab` round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundChange {
    pub first: String,
    pub change_pct: f64,
    /// The worker pair (1-based) the round ran on: pairs warm up in alternating order, so a
    /// systematic difference between pairs is visible here.
    #[serde(default)]
    pub pair: u32,
    /// Duet: the change once each block is counted as if it had run alone (the run-delay
    /// adjustment the verdict used); absent when the units were judged as measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjusted_change_pct: Option<f64>,
    /// Duet: what the environment did to B's block minus what it did to A's (the covariates a
    /// variance-reducing adjustment would use; docs/verdict.md measured how much they explain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_diff: Option<EnvDiff>,
}

/// B's block minus A's block of one unit: share of the block waiting for the CPU, share stolen
/// by the hypervisor, CPUs other processes kept busy. Absent where either block lacked it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvDiff {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_delay_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steal_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub others_busy_cpus: Option<f64>,
}

impl EnvDiff {
    /// `b - a`, field by field.
    pub fn between(a: &crate::platform::EnvDelta, b: &crate::platform::EnvDelta) -> Self {
        let diff =
            |x: Option<f64>, y: Option<f64>| x.zip(y).map(|(x, y)| y - x).filter(|d| d.is_finite());
        EnvDiff {
            run_delay_ratio: diff(a.run_delay_ratio, b.run_delay_ratio),
            steal_ratio: diff(a.steal_ratio, b.steal_ratio),
            others_busy_cpus: diff(a.others_busy_cpus, b.others_busy_cpus),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PctInterval {
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineUsed {
    /// The baseline file (`compare`), or side A of a duet as its launch names it: `variant A`
    /// (`ab`), `variant A (base)` (`ci`); the comment's columns say base and head for the latter.
    pub source: String,
    /// The baseline's metric, ms: the median of the history runs' metrics (`ab`: variant A).
    pub center_ms: f64,
    /// History runs used (`ab`: rounds).
    pub runs_used: usize,
    /// Runs in the file, including those refused as incomparable.
    pub runs_total: usize,
}

impl ModelVerdict {
    /// A verdict with nothing decided yet (`no_baseline`, no numbers): the thresholds and the
    /// test named, the rest filled in by whoever measures.
    pub fn new(
        model: &str,
        cpu_model: &str,
        architecture: &str,
        t: &Thresholds,
        test: String,
    ) -> Self {
        ModelVerdict {
            model: model.to_string(),
            cpu_model: cpu_model.to_string(),
            architecture: architecture.to_string(),
            verdict: Verdict::NoBaseline,
            reasons: vec![],
            contamination: vec![],
            metric: t.metric,
            test,
            change_pct: None,
            ci_pct: None,
            noise_pct: None,
            mde_pct: None,
            threshold_pct: t.max_regression_pct,
            min_abs_ms: t.min_abs_ms,
            on_inconclusive: t.on_inconclusive,
            baseline: None,
            candidate_ms: None,
            what_changed: vec![],
            cpu_models_with_baseline: vec![],
            iterations: 0,
            wall_time_s: 0.0,
            stop_reason: None,
            rounds: vec![],
            outputs: None,
            latency_verdict: None,
            memory: None,
            accuracy: None,
            operators: None,
            duet: None,
        }
    }
}

impl ModelVerdict {
    /// Every number of the verdict finite or absent: a measurement that produced nothing (a
    /// duet whose budget start-up ate, a median of no samples) leaves a field out instead of
    /// writing NaN, which JSON cannot hold and no reader could read back. Called by
    /// [`VerdictReport::new`], the one way a verdict file is made.
    pub fn finite_or_absent(&mut self) {
        fn keep(x: &mut Option<f64>) {
            if x.is_some_and(|v| !v.is_finite()) {
                *x = None;
            }
        }
        fn keep_interval(i: &mut Option<PctInterval>) {
            if i.is_some_and(|i| !(i.low.is_finite() && i.high.is_finite())) {
                *i = None;
            }
        }
        for x in [
            &mut self.change_pct,
            &mut self.noise_pct,
            &mut self.mde_pct,
            &mut self.candidate_ms,
        ] {
            keep(x);
        }
        keep_interval(&mut self.ci_pct);
        if self
            .baseline
            .as_ref()
            .is_some_and(|b| !b.center_ms.is_finite())
        {
            self.baseline = None;
        }
        self.rounds.retain(|r| r.change_pct.is_finite());
        if let Some(f) = &mut self.duet {
            keep(&mut f.unit_sd_pct);
            keep(&mut f.pair_sd_pct);
            if let Some(w) = &mut f.wait {
                keep(&mut w.a_wait_pct);
                keep(&mut w.b_wait_pct);
                keep(&mut w.correction_pct);
            }
            f.looks
                .retain(|l| l.tau.is_finite() && l.spent.is_finite() && l.level.is_finite());
            if f.catch
                .as_ref()
                .is_some_and(|c| !(c.change_pct.is_finite() && c.seconds.is_finite()))
            {
                f.catch = None;
            }
            for x in [&mut f.startup_s, &mut f.measuring_s] {
                if !x.is_finite() {
                    *x = 0.0;
                }
            }
        }
        for x in [
            &mut self.threshold_pct,
            &mut self.min_abs_ms,
            &mut self.wall_time_s,
        ] {
            if !x.is_finite() {
                *x = 0.0;
            }
        }
        if self.memory.as_mut().is_some_and(|m| !m.finite_or_absent()) {
            self.memory = None;
        }
    }
}

impl VerdictReport {
    /// Reads a verdict file this bench-gate wrote (`compare -o`, `ab -o`, the `ci` duet).
    pub fn read(path: &std::path::Path) -> anyhow::Result<VerdictReport> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| {
                format!(
                    "cannot read the verdict {}\n  fix: pass the file written by `bench-gate compare -o` or `ab -o`",
                    path.display()
                )
            })?;
        serde_json::from_str(&text)
            .with_context(|| {
                format!(
                    "{} is not a verdict file\n  fix: pass the file written by `bench-gate compare -o` or `ab -o` (of this bench-gate version)",
                    path.display()
                )
            })
    }

    /// Builds the report; the overall verdict and exit code follow from the models.
    pub fn new(mode: Mode, mut models: Vec<ModelVerdict>, require_baseline: bool) -> Self {
        models.iter_mut().for_each(ModelVerdict::finite_or_absent);
        let verdict = models
            .iter()
            .map(|m| m.verdict)
            .max()
            .unwrap_or(Verdict::Pass);
        VerdictReport {
            schema_version: VERDICT_SCHEMA_VERSION,
            bench_gate_version: env!("CARGO_PKG_VERSION").to_string(),
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            mode,
            verdict,
            exit_code: exit_code(&models, require_baseline),
            models,
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }
}

/// 1 if any model regressed (or its outputs changed with `on_output_change = "fail"`); else 3 if an inconclusive model's thresholds say `fail`; else 2 if
/// a baseline is required and missing (a setup problem, not a slowdown: scripts that read 1 as
/// "slower" must not be misled); else 0.
pub fn exit_code(models: &[ModelVerdict], require_baseline: bool) -> u8 {
    let output_fails = |m: &ModelVerdict| {
        m.outputs
            .as_ref()
            .is_some_and(|o| o.fails_check && o.status == drift::DriftStatus::Changed)
    };
    if models
        .iter()
        .any(|m| m.verdict == Verdict::Regressed || output_fails(m))
    {
        1
    } else if models
        .iter()
        .any(|m| m.verdict == Verdict::Inconclusive && m.on_inconclusive == OnInconclusive::Fail)
    {
        3
    } else if require_baseline && models.iter().any(|m| m.verdict == Verdict::NoBaseline) {
        2
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(verdict: Verdict, on: OnInconclusive) -> ModelVerdict {
        let t = Thresholds {
            on_inconclusive: on,
            ..DEFAULT_THRESHOLDS
        };
        ModelVerdict {
            verdict,
            ..ModelVerdict::new("m", "c", "x86_64", &t, String::new())
        }
    }

    #[test]
    fn exit_codes_follow_the_documented_order() {
        use OnInconclusive::{Fail, Warn};
        use Verdict::*;
        let code = |v: &[(Verdict, OnInconclusive)], req| {
            exit_code(&v.iter().map(|(a, b)| mv(*a, *b)).collect::<Vec<_>>(), req)
        };
        assert_eq!(code(&[(Pass, Warn), (Improved, Warn)], true), 0);
        assert_eq!(code(&[(NoBaseline, Warn)], false), 0);
        assert_eq!(code(&[(NoBaseline, Warn)], true), 2);
        assert_eq!(code(&[(Inconclusive, Warn)], false), 0);
        assert_eq!(code(&[(Inconclusive, Fail)], false), 3);
        assert_eq!(code(&[(Inconclusive, Fail), (Regressed, Warn)], false), 1);
    }

    #[test]
    fn the_overall_verdict_is_the_worst() {
        let r = VerdictReport::new(
            Mode::Compare,
            vec![
                mv(Verdict::Improved, OnInconclusive::Warn),
                mv(Verdict::Inconclusive, OnInconclusive::Warn),
                mv(Verdict::NoBaseline, OnInconclusive::Warn),
            ],
            false,
        );
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(r.exit_code, 0);
        let json = r.to_json();
        assert!(json.contains("\"verdict\": \"inconclusive\""), "{json}");
    }
}
