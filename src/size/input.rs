//! Where `bench-gate size` gets its measurements: result files (`bench-gate run -o`) or the
//! committed baselines of the verdict feature (`baselines/<model>/<arch>/<cpu-slug>.json`).
//!
//! Both become [`CpuMeasurements`]: one CPU model's one-core latency estimate per model, with the
//! identity that decides whether two estimates may form a ratio. Baselines are read through
//! `baseline::store` (the same reader as `compare`); sizing takes the latest accepted run of
//! each file.

use std::path::Path;

use anyhow::{Result, bail};
use sha2::{Digest, Sha256};

use crate::baseline::store;
use crate::config::WorkloadKind;
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
    // Validated on read: at least one model, positive latencies (result::validate).
    let r = RunResult::read(path)?;
    let cpu_model = r
        .models
        .first()
        .map(|m| m.cpu_model.clone())
        .unwrap_or_default();
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

/// Every CPU model in a baseline folder, each with the latest accepted run of each of its
/// models. The folder is read by the baseline store, the one reader of that format: every file
/// is validated and a bad one is an error naming it, as in `compare`.
pub fn all_from_baselines(dir: &Path) -> Result<Vec<CpuMeasurements>> {
    if !dir.is_dir() {
        bail!(
            "--baselines {}: no such folder\n  fix: pass the folder `bench-gate baseline update` writes (default: baselines)",
            dir.display()
        );
    }
    let mut cpus: Vec<CpuMeasurements> = Vec::new();
    for (_, file) in store::list(dir)? {
        let Some(run) = file.runs.last() else {
            continue;
        };
        let m = ModelMeasurement {
            name: file.model.clone(),
            estimate: estimate(
                &file.cpu_model,
                identity(&file.model, run.kind, &run.fingerprint),
                run.median_ms,
                &run.median_ci,
                run.p95_ms,
                run.iterations as usize,
            ),
            config_hash: run.fingerprint.config.clone(),
            // The latest run that recorded memory (baselines from before schema 3 have none:
            // the plan then assumes a figure and says so).
            peak_rss_mib: file.runs.iter().rev().find_map(|r| r.memory_mb),
            cpu_limit: run.cpu_limit,
            pinned_cpus: run.pinned_cpus.len(),
            intra_op_threads: run.session.intra_op_threads.get(),
        };
        match cpus.iter_mut().find(|c| c.cpu_model == file.cpu_model) {
            Some(c) => c.models.push(m),
            None => cpus.push(CpuMeasurements {
                cpu_model: file.cpu_model.clone(),
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

    fn run(median: f64) -> crate::baseline::BaselineRun {
        crate::baseline::BaselineRun {
            timestamp: "2026-12-01T00:00:00Z".into(),
            commit: None,
            host: "h".into(),
            bench_gate_version: "0.1.0".into(),
            ort_version: "1.32.0".into(),
            fingerprint: fp("aa", Some("ff")),
            session: crate::config::SessionOptions::default(),
            pinned_cpus: vec![0],
            cpu_limit: Some(1.0),
            kind: WorkloadKind::Whisper,
            iterations: 50,
            median_ms: median,
            p95_ms: median * 1.1,
            mean_ms: median,
            memory_mb: None,
            tokens_per_iteration: None,
            accuracy: None,
            cv: 0.02,
            median_ci: Interval {
                low: median * 0.99,
                high: median * 1.01,
                confidence: 0.95,
            },
            samples_ms: vec![median * 0.99, median, median * 1.1],
            others_busy_cpus: Some(0.0),
        }
    }

    #[test]
    fn baselines_written_by_the_store_are_read_latest_run_per_cpu() {
        let d = tempfile::tempdir().unwrap();
        let key = store::Key {
            model: "whisper-tiny".into(),
            architecture: "x86_64".into(),
            cpu_model: "Intel Xeon".into(),
        };
        store::append(d.path(), &key, run(520.0), 10, None).unwrap();
        let all = all_from_baselines(d.path()).unwrap();
        let xeon = pick_cpu(&all, "intel xeon", d.path()).unwrap();
        assert_eq!(xeon.models[0].peak_rss_mib, None, "no run recorded memory");
        let with_memory = crate::baseline::BaselineRun {
            memory_mb: Some(612.5),
            ..run(510.0)
        };
        store::append(d.path(), &key, with_memory, 10, None).unwrap();
        store::append(d.path(), &key, run(500.0), 10, None).unwrap();
        let all = all_from_baselines(d.path()).unwrap();
        let xeon = pick_cpu(&all, "intel xeon", d.path()).unwrap();
        assert_eq!(xeon.models[0].estimate.median_ms, 500.0, "latest run wins");
        assert_eq!(xeon.models[0].estimate.n, 50);
        assert_eq!(
            xeon.models[0].peak_rss_mib,
            Some(612.5),
            "memory from the latest run that recorded it"
        );
        let err = pick_cpu(&all, "Apple M4", d.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Intel Xeon") && err.contains("Apple M4"),
            "{err}"
        );
    }
}
