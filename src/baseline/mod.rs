//! Committed baselines: one JSON file per (model, architecture, CPU model) under `baselines/`,
//! holding the last K accepted runs. History rather than one number, because the spread between
//! runs on different days and hosts of the same CPU model is the noise the gate must respect.
//!
//! A baseline file is input like any other: it is validated on every read (schema version,
//! finite positive latencies, a non-empty sample, a median inside the sample's range) and a bad
//! file is an error naming the path, never skipped and never overwritten.

pub mod series;
pub mod slug;
pub mod store;

use serde::{Deserialize, Serialize};

use crate::config::{SessionOptions, WorkloadKind};
use crate::operators::OperatorBreakdown;
use crate::result::{Fingerprint, ModelResult};
use crate::stats::{Interval, percentile_sorted};

/// Bumped on any incompatible change; readers refuse newer versions. 2: `others_busy_cpus`.
/// 3: `memory_mb` per run, the latest per-operator breakdown (`operators`).
pub const BASELINE_SCHEMA_VERSION: u32 = 3;
/// Raw latencies kept per run: enough to see the distribution's shape in a diff-able file.
pub const MAX_STORED_SAMPLES: usize = 200;

/// `baselines/<model>/<arch>/<cpu-slug>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    pub schema_version: u32,
    pub model: String,
    pub architecture: String,
    /// The full CPU model string (the file name is only its slug).
    pub cpu_model: String,
    /// Oldest first.
    pub runs: Vec<BaselineRun>,
    /// Where the newest run that was profiled spent its time (schema 3; absent before, or when
    /// no accepted run was profiled). `compare` shows which operators changed against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operators: Option<StoredBreakdown>,
}

/// A run's per-operator breakdown with the run it came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredBreakdown {
    /// RFC 3339: when the profiled run was measured.
    pub timestamp: String,
    pub commit: Option<String>,
    pub breakdown: OperatorBreakdown,
}

/// One accepted run of one model. Latencies in milliseconds, warm-up excluded.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineRun {
    /// RFC 3339, UTC: when the run was measured.
    pub timestamp: String,
    pub commit: Option<String>,
    /// The runner's host name.
    pub host: String,
    pub bench_gate_version: String,
    pub ort_version: String,
    pub fingerprint: Fingerprint,
    pub session: SessionOptions,
    pub pinned_cpus: Vec<usize>,
    pub cpu_limit: Option<f64>,
    pub kind: WorkloadKind,
    /// Counted iterations of the run (the stored sample may be a thinned copy).
    pub iterations: u32,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub mean_ms: f64,
    /// Coefficient of variation of the run's iterations.
    pub cv: f64,
    /// 95% confidence interval of the run's median.
    pub median_ci: Interval,
    /// Ascending; all samples when there were at most [`MAX_STORED_SAMPLES`], else that many
    /// evenly spaced quantiles of them (so the distribution, tails included, is kept).
    pub samples_ms: Vec<f64>,
    /// CPUs other processes kept busy during the run, on average (schema 2; absent in schema 1
    /// files). A new run with far busier neighbours than any of these is not comparable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub others_busy_cpus: Option<f64>,
    /// Peak resident memory of the run, MiB (schema 3; absent in older files). The memory gate
    /// compares against the runs that have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<f64>,
    /// Decoder steps per iteration (`whisper`): the transcript's length, i.e. the work done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_iteration: Option<u32>,
    /// Word error rate on the model's labelled set, with every utterance (runs that had one);
    /// `compare` judges a run's accuracy against the newest of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<crate::accuracy::Accuracy>,
}

impl BaselineRun {
    /// The baseline entry for one model of a result file.
    pub fn from_result(m: &ModelResult, commit: Option<String>, host: &str, ort: &str) -> Self {
        BaselineRun {
            timestamp: m.timestamp.clone(),
            commit,
            host: host.to_string(),
            bench_gate_version: env!("CARGO_PKG_VERSION").to_string(),
            ort_version: ort.to_string(),
            fingerprint: m.fingerprint.clone(),
            session: m.session.clone(),
            pinned_cpus: m.pinned_cpus.clone(),
            cpu_limit: m.cpu_limit,
            kind: m.kind,
            iterations: m.iterations,
            median_ms: m.latency_ms.median,
            p95_ms: m.latency_ms.p95,
            mean_ms: m.latency_ms.mean,
            cv: m.latency_ms.cv,
            median_ci: m.latency_ms.median_ci,
            samples_ms: thin_sample(&m.samples_ms, MAX_STORED_SAMPLES),
            others_busy_cpus: m.during.others_busy_cpus,
            memory_mb: (m.memory_mb.is_finite() && m.memory_mb > 0.0).then_some(m.memory_mb),
            tokens_per_iteration: m.tokens_per_iteration,
            accuracy: m.accuracy.clone(),
        }
    }

    /// What is wrong with this run, if anything (hand edits, truncation by a bad merge).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, v) in [
            ("median_ms", self.median_ms),
            ("p95_ms", self.p95_ms),
            ("mean_ms", self.mean_ms),
        ] {
            if !(v.is_finite() && v > 0.0) {
                out.push(format!("{name} = {v} is not a positive latency"));
            }
        }
        if !(self.cv.is_finite() && self.cv >= 0.0) {
            out.push(format!(
                "cv = {} is not a coefficient of variation",
                self.cv
            ));
        }
        if let Some(m) = self.memory_mb.filter(|m| !(m.is_finite() && *m > 0.0)) {
            out.push(format!("memory_mb = {m} is not a positive size in MiB"));
        }
        if let Some(c) = self
            .others_busy_cpus
            .filter(|c| !(c.is_finite() && *c >= 0.0))
        {
            out.push(format!("others_busy_cpus = {c} is not a number of CPUs"));
        }
        if self.iterations == 0 {
            out.push("iterations = 0".into());
        }
        if self.samples_ms.is_empty() {
            out.push("samples_ms is empty".into());
        } else if let Some(bad) = self
            .samples_ms
            .iter()
            .find(|x| !(x.is_finite() && **x > 0.0))
        {
            out.push(format!("samples_ms holds {bad}, not a positive latency"));
        } else {
            let min = self
                .samples_ms
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min);
            let max = self
                .samples_ms
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            // Thinning keeps the minimum and the maximum, so the median must lie between them.
            if self.median_ms.is_finite() && !(min <= self.median_ms && self.median_ms <= max) {
                out.push(format!(
                    "median_ms = {} lies outside the stored samples' range [{min}, {max}]",
                    self.median_ms
                ));
            }
        }
        out
    }
}

impl BaselineFile {
    /// Every problem of the file, each prefixed with where it is (`runs[3]: ...`).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.runs.is_empty() {
            out.push("`runs` is empty: a baseline needs at least one run".to_string());
        }
        if !crate::result::validate::is_safe_component(&self.model) {
            out.push(format!("model `{}` is not a valid model name", self.model));
        }
        for (i, r) in self.runs.iter().enumerate() {
            out.extend(r.problems().into_iter().map(|p| format!("runs[{i}]: {p}")));
        }
        if let Some(o) = &self.operators {
            out.extend(
                o.breakdown
                    .problems()
                    .into_iter()
                    .map(|p| format!("operators.breakdown: {p}")),
            );
        }
        out
    }
}

/// `sorted(samples)` when short enough, else `n` evenly spaced quantiles from min to max.
pub fn thin_sample(samples: &[f64], n: usize) -> Vec<f64> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    if sorted.len() <= n || n < 2 {
        return sorted;
    }
    (0..n)
        .map(|i| percentile_sorted(&sorted, i as f64 * 100.0 / (n - 1) as f64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_extremes_and_the_median() {
        let s: Vec<f64> = (0..1001).rev().map(f64::from).collect();
        let t = thin_sample(&s, MAX_STORED_SAMPLES);
        assert_eq!(t.len(), MAX_STORED_SAMPLES);
        assert_eq!((t[0], t[MAX_STORED_SAMPLES - 1]), (0.0, 1000.0));
        assert!(t.windows(2).all(|w| w[0] <= w[1]));
        let med = crate::stats::median(&t);
        assert!((med - 500.0).abs() < 5.0, "{med}");
        assert_eq!(thin_sample(&[3.0, 1.0], 200), vec![1.0, 3.0]);
    }
}
