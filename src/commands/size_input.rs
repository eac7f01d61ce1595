//! Where `bench-gate size` gets its measurements: result files (`bench-gate run -o`) or the
//! committed baselines of the verdict feature (`baselines/<model>/<arch>/<cpu-slug>.json`).
//!
//! Both become [`CpuMeasurements`]: one CPU model's one-core latency estimate per model, with the
//! identity that decides whether two estimates may form a ratio. The baseline reader uses its own
//! tolerant view of the file (only the fields sizing needs) so a new field there never breaks
//! sizing; it reads the latest accepted run of each file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::{SessionOptions, WorkloadKind};
use crate::result::{Fingerprint, RunResult};
use crate::sizing::LatencyEstimate;
use crate::stats::Interval;

/// One model as measured on one CPU.
#[derive(Debug, Clone)]
pub struct ModelMeasurement {
    pub name: String,
    pub estimate: LatencyEstimate,
    /// Hash of the session options etc.: a difference is warned about, not refused.
    pub config_hash: String,
    /// Peak RSS of the measuring process, MiB; `None` when the source does not record it.
    pub peak_rss_mib: Option<f64>,
    /// CPU limit in force (CPUs) and CPUs pinned, to check the one-core method was followed.
    pub cpu_limit: Option<f64>,
    pub pinned_cpus: usize,
    pub intra_op_threads: u16,
}

/// Every model measured on one CPU model.
#[derive(Debug, Clone)]
pub struct CpuMeasurements {
    pub cpu_model: String,
    /// Where they came from, for messages.
    pub source: String,
    pub models: Vec<ModelMeasurement>,
}

impl CpuMeasurements {
    pub fn model(&self, name: &str) -> Option<&ModelMeasurement> {
        self.models.iter().find(|m| m.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.models.iter().map(|m| m.name.as_str()).collect()
    }
}

/// What was measured, by content: model name, workload kind, the model files' and the fixture's
/// sha256. Two estimates form a ratio only when this is equal. Short hashes keep messages legible.
pub fn identity(name: &str, kind: WorkloadKind, fp: &Fingerprint) -> String {
    let mut h = Sha256::new();
    for (file, sha) in &fp.models {
        h.update(file.as_bytes());
        h.update(sha.as_bytes());
    }
    let models: String = h
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    let fixture = fp
        .fixture
        .as_deref()
        .map_or("none", |f| f.get(..12).unwrap_or(f));
    let kind = match kind {
        WorkloadKind::Whisper => "whisper",
        WorkloadKind::Onnx => "onnx",
    };
    format!("{name} ({kind}, model files {models}, fixture {fixture})")
}

fn estimate(
    cpu: &str,
    what: String,
    median: f64,
    ci: &Interval,
    p95: f64,
    n: usize,
) -> LatencyEstimate {
    LatencyEstimate {
        cpu_model: cpu.to_string(),
        what,
        median_ms: median,
        median_ci: (ci.low, ci.high),
        p95_ms: p95,
        n,
    }
}

/// Every model of a result file.
pub fn from_result_file(path: &Path) -> Result<CpuMeasurements> {
    let r = RunResult::read(path)?;
    let Some(first) = r.models.first() else {
        bail!(
            "{} holds no model results\n  fix: pass a file written by `bench-gate run -o` that measured at least one model",
            path.display()
        );
    };
    let cpu_model = first.cpu_model.clone();
    let models = r
        .models
        .iter()
        .map(|m| ModelMeasurement {
            name: m.name.clone(),
            estimate: estimate(
                &m.cpu_model,
                identity(&m.name, m.kind, &m.fingerprint),
                m.latency_ms.median,
                &m.latency_ms.median_ci,
                m.latency_ms.p95,
                m.latency_ms.n,
            ),
            config_hash: m.fingerprint.config.clone(),
            peak_rss_mib: (m.memory_mb > 0.0).then_some(m.memory_mb),
            cpu_limit: m.cpu_limit,
            pinned_cpus: m.pinned_cpus.len(),
            intra_op_threads: m.session.intra_op_threads.get(),
        })
        .collect();
    Ok(CpuMeasurements {
        cpu_model,
        source: path.display().to_string(),
        models,
    })
}

/// The fields of a baseline file sizing needs (the verdict feature owns the full format).
#[derive(Debug, Deserialize)]
struct BaselineView {
    schema_version: u32,
    model: String,
    cpu_model: String,
    runs: Vec<BaselineRunView>,
}

#[derive(Debug, Deserialize)]
struct BaselineRunView {
    fingerprint: Fingerprint,
    session: SessionOptions,
    #[serde(default)]
    pinned_cpus: Vec<usize>,
    #[serde(default)]
    cpu_limit: Option<f64>,
    kind: WorkloadKind,
    iterations: u32,
    median_ms: f64,
    p95_ms: f64,
    median_ci: Interval,
    #[serde(default)]
    memory_mb: Option<f64>,
}

/// Baseline files this bench-gate understands.
const BASELINE_SCHEMA_VERSION: u32 = 1;

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read baseline folder {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            json_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Every CPU model in a baseline folder, each with the latest run of each of its models.
pub fn all_from_baselines(dir: &Path) -> Result<Vec<CpuMeasurements>> {
    let mut files = Vec::new();
    json_files(dir, &mut files)?;
    files.sort();
    let mut cpus: Vec<CpuMeasurements> = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read baseline {}", path.display()))?;
        let view: BaselineView = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a baseline file\n  fix: baselines are written by `bench-gate baseline`",
                path.display()
            )
        })?;
        if view.schema_version > BASELINE_SCHEMA_VERSION {
            bail!(
                "{} has schema_version {}, newer than this bench-gate understands\n  fix: upgrade bench-gate",
                path.display(),
                view.schema_version
            );
        }
        let Some(run) = view.runs.last() else {
            continue;
        };
        let m = ModelMeasurement {
            name: view.model.clone(),
            estimate: estimate(
                &view.cpu_model,
                identity(&view.model, run.kind, &run.fingerprint),
                run.median_ms,
                &run.median_ci,
                run.p95_ms,
                run.iterations as usize,
            ),
            config_hash: run.fingerprint.config.clone(),
            peak_rss_mib: run.memory_mb.filter(|m| *m > 0.0),
            cpu_limit: run.cpu_limit,
            pinned_cpus: run.pinned_cpus.len(),
            intra_op_threads: run.session.intra_op_threads.get(),
        };
        match cpus.iter_mut().find(|c| c.cpu_model == view.cpu_model) {
            Some(c) => c.models.push(m),
            None => cpus.push(CpuMeasurements {
                cpu_model: view.cpu_model.clone(),
                source: format!("{} (baselines)", dir.display()),
                models: vec![m],
            }),
        }
    }
    Ok(cpus)
}

/// One CPU model's measurements from a baseline folder, matched case-insensitively.
pub fn pick_cpu(all: &[CpuMeasurements], cpu: &str, dir: &Path) -> Result<CpuMeasurements> {
    all.iter()
        .find(|c| c.cpu_model.trim().eq_ignore_ascii_case(cpu.trim()))
        .cloned()
        .ok_or_else(|| {
            let known: Vec<&str> = all.iter().map(|c| c.cpu_model.as_str()).collect();
            anyhow::anyhow!(
                "no baseline for CPU `{cpu}` in {}; CPUs with baselines: {}\n  fix: use one of those names exactly, or record a baseline on that CPU first",
                dir.display(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn fp(model_sha: &str, fixture: Option<&str>) -> Fingerprint {
        Fingerprint {
            models: BTreeMap::from([("encoder_model.onnx".to_string(), model_sha.to_string())]),
            fixture: fixture.map(str::to_string),
            config: "c".into(),
        }
    }

    #[test]
    fn identity_changes_with_model_fixture_kind_and_name() {
        let base = identity(
            "tiny",
            WorkloadKind::Whisper,
            &fp("aa", Some("f1f1f1f1f1f1f1")),
        );
        assert!(base.starts_with("tiny (whisper, model files "), "{base}");
        assert!(base.ends_with("fixture f1f1f1f1f1f1)"), "{base}");
        for other in [
            identity(
                "tiny",
                WorkloadKind::Whisper,
                &fp("ab", Some("f1f1f1f1f1f1f1")),
            ),
            identity(
                "tiny",
                WorkloadKind::Whisper,
                &fp("aa", Some("f2f1f1f1f1f1f1")),
            ),
            identity(
                "tiny",
                WorkloadKind::Onnx,
                &fp("aa", Some("f1f1f1f1f1f1f1")),
            ),
            identity(
                "base",
                WorkloadKind::Whisper,
                &fp("aa", Some("f1f1f1f1f1f1f1")),
            ),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn baselines_are_read_latest_run_per_cpu_and_cpu_names_are_checked() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("whisper-tiny/x86_64");
        std::fs::create_dir_all(&dir).unwrap();
        let run = |median: f64| {
            serde_json::json!({
                "fingerprint": fp("aa", Some("ff")), "session": SessionOptions::default(),
                "pinned_cpus": [0], "cpu_limit": 1.0, "kind": "whisper", "iterations": 50,
                "median_ms": median, "p95_ms": median * 1.1,
                "median_ci": {"low": median * 0.99, "high": median * 1.01, "confidence": 0.95},
                "samples_ms": [median], "timestamp": "t", "host": "h"
            })
        };
        let file = serde_json::json!({
            "schema_version": 1, "model": "whisper-tiny", "architecture": "x86_64",
            "cpu_model": "Intel Xeon", "runs": [run(520.0), run(500.0)]
        });
        std::fs::write(dir.join("intel-xeon.json"), file.to_string()).unwrap();
        let all = all_from_baselines(d.path()).unwrap();
        let xeon = pick_cpu(&all, "intel xeon", d.path()).unwrap();
        assert_eq!(xeon.models[0].estimate.median_ms, 500.0, "latest run wins");
        assert_eq!(xeon.models[0].estimate.n, 50);
        let err = pick_cpu(&all, "Apple M4", d.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Intel Xeon") && err.contains("Apple M4"),
            "{err}"
        );
    }
}
