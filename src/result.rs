//! The versioned result of one `bench-gate run`: one JSON file, every raw sample kept, written
//! atomically. The per-model entry carries every field of the team's planned format
//! (timestamp, architecture, cpu_model, model_size, iterations, avg_latency_ms, total_time_s, rps,
//! cpu_limit, memory_mb) so a single entry stands on its own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::accuracy::Accuracy;
use crate::config::{ModelConfig, SessionOptions, WorkloadKind, WorkloadSpec};
use crate::operators::OperatorBreakdown;
use crate::platform::{EnvDelta, Environment};
use crate::runner::StopReason;
use crate::stats::Summary;
use crate::workload::ArenaStats;

mod measure;
mod outfile;
pub mod validate;

pub use measure::{Profile, measure_model, now};
pub use outfile::{
    Output, check_output_path, check_outputs, check_writes, given_outputs, same_file,
    write_all_atomic, write_atomic,
};

/// Bumped on any incompatible change; readers refuse newer versions.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunResult {
    pub schema_version: u32,
    pub bench_gate_version: String,
    /// RFC 3339, UTC.
    pub timestamp: String,
    pub host: String,
    /// `git rev-parse HEAD` of the working directory, when inside a repository.
    pub git_commit: Option<String>,
    pub config_file: String,
    pub ort: OrtInfo,
    pub environment: Environment,
    pub models: Vec<ModelResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrtInfo {
    pub version: String,
    pub library: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelResult {
    pub name: String,
    pub kind: WorkloadKind,
    // The team's planned fields.
    pub timestamp: String,
    pub architecture: String,
    pub cpu_model: String,
    pub model_size: Option<String>,
    /// Counted iterations (warm-up excluded).
    pub iterations: u32,
    pub avg_latency_ms: f64,
    /// Wall time of the counted iterations, seconds.
    pub total_time_s: f64,
    /// Sequential requests per second on the pinned CPUs: iterations / total_time_s.
    pub rps: f64,
    /// CPU limit in force (cgroup quota / period), None when unlimited.
    pub cpu_limit: Option<f64>,
    /// Peak resident memory of the process while this model was loaded and measured, MiB.
    pub memory_mb: f64,
    // Ours.
    pub warmup: u32,
    /// Model loading (session creation), excluded from every latency.
    pub load_time_ms: f64,
    pub latency_ms: Summary,
    /// Every counted iteration, in order, milliseconds.
    pub samples_ms: Vec<f64>,
    pub stages: Vec<StageResult>,
    /// Audio seconds per processing second (whisper), from the median iteration.
    pub rtf: Option<f64>,
    pub audio_seconds: Option<f64>,
    pub tokens_per_iteration: Option<u32>,
    pub stop_reason: StopReason,
    /// Warm-up plus counted iterations, seconds.
    pub wall_time_s: f64,
    pub session: SessionOptions,
    pub pinned_cpus: Vec<usize>,
    pub fingerprint: Fingerprint,
    /// What the environment did during the counted iterations.
    pub during: EnvDelta,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    /// Where one extra pass with ONNX Runtime's profiler spent its time, per operator type and
    /// per node (absent with `--no-profile` or in files from before it existed). For attribution
    /// only: no verdict reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operators: Option<OperatorBreakdown>,
    /// ONNX Runtime's arena figures per graph after the counted iterations (empty when ORT
    /// reports none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ort_arena: Vec<ArenaStats>,
    /// Word error rate on the model's labelled set, transcribed after the clock stopped
    /// (`whisper` models with a `labelled_set`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<Accuracy>,
}

/// One stage's latency (whisper: features, encoder, decoder).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StageResult {
    pub name: String,
    pub median_ms: f64,
    pub mean_ms: f64,
    pub p95_ms: f64,
    /// Median per decoded token, for the decoder stage.
    pub per_token_median_ms: Option<f64>,
}

/// What was measured, by content: later comparisons refuse or flag differences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fingerprint {
    /// File name -> sha256 of each model file.
    pub models: BTreeMap<String, String>,
    pub fixture: Option<String>,
    /// sha256 of the effective workload config (kind, session options, decoding, inputs).
    pub config: String,
}

impl Fingerprint {
    pub fn of(model: &ModelConfig) -> std::io::Result<Fingerprint> {
        let mut models = BTreeMap::new();
        for f in model.model_files() {
            let name = f.file_name().map_or_else(
                || f.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            models.insert(name, sha256_file(f)?);
        }
        let fixture = model.fixture().map(sha256_file).transpose()?;
        Ok(Fingerprint {
            models,
            fixture,
            config: effective_config_hash(model),
        })
    }
}

/// Hash of what defines the work (not how long it is measured), from a canonical JSON form.
pub fn effective_config_hash(model: &ModelConfig) -> String {
    let workload = match &model.workload {
        WorkloadSpec::Whisper { options, .. } => serde_json::json!({ "whisper": options }),
        WorkloadSpec::Onnx { inputs, steps, .. } => serde_json::json!({
            "onnx": {
                "steps": steps,
                "inputs": inputs.iter().map(|i| serde_json::json!({
                    "name": i.name, "dtype": i.dtype, "shape": i.shape, "fill": i.fill, "from_output": i.from_output,
                })).collect::<Vec<_>>(),
            }
        }),
    };
    let canonical =
        serde_json::json!({ "kind": model.kind(), "session": model.session, "workload": workload });
    hex(&Sha256::digest(canonical.to_string().as_bytes()))
}

/// The sha256 of a file's bytes; an error names the file (a model that cannot be read must say
/// which of its files it is).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let named =
        |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let mut f = std::fs::File::open(path).map_err(named)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(named)?;
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error(
        "cannot write {path}: the folder {dir} does not exist\n  fix: create it first (mkdir -p {dir}) or choose another -o path"
    )]
    NoFolder { path: PathBuf, dir: PathBuf },
    #[error(
        "cannot write {path}: the folder {dir} is not writable by this user ({source})\n  fix: choose an output in a folder this user may write (in a container, mount it writable for the container's user), or change the folder's permissions"
    )]
    NotWritable {
        path: PathBuf,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: it is {kind}\n  fix: pass the path of a file to write")]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error(
        "{output} {path} is also the {input}: writing it would destroy what is being read\n  fix: choose another {output} path"
    )]
    SameAsInput {
        path: PathBuf,
        output: String,
        input: String,
    },
    #[error(
        "{output} {path} is also the {other} output: one would overwrite the other\n  fix: give {output} or {other} another path"
    )]
    TwoOutputs {
        path: PathBuf,
        output: String,
        other: String,
    },
    #[error("cannot write {path}: {source}\n  fix: check the folder's permissions and free space")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot read result file {path}: {source}\n  fix: pass a file written by `bench-gate run -o`"
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a bench-gate result: {message}\n  fix: pass a file written by `bench-gate run -o` (its JSON Schema is schema/result.schema.json)"
    )]
    Parse { path: PathBuf, message: String },
    #[error(
        "{path} has schema_version {found}, newer than this bench-gate understands ({SCHEMA_VERSION})\n  fix: upgrade bench-gate"
    )]
    NewerSchema { path: PathBuf, found: u64 },
    #[error(
        "result file {path} is not a usable measurement:\n    {}\n  fix: pass the file exactly as `bench-gate run -o` wrote it (restore a hand-edited or truncated copy), or measure again",
        problems.join("\n    ")
    )]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}

impl RunResult {
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }

    /// Writes the result atomically, refusing one that no reader would accept.
    pub fn write(&self, path: &Path) -> Result<(), ResultError> {
        self.check(path)?;
        write_atomic(path, self.to_json().as_bytes())
    }

    pub fn read(path: &Path) -> Result<RunResult, ResultError> {
        let text = std::fs::read_to_string(path).map_err(|source| ResultError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<RunResult, ResultError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ResultError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let version = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| ResultError::Parse {
                path: path.to_path_buf(),
                message: "no `schema_version` field".into(),
            })?;
        if version > u64::from(SCHEMA_VERSION) {
            return Err(ResultError::NewerSchema {
                path: path.to_path_buf(),
                found: version,
            });
        }
        let result: RunResult =
            serde_path_to_error::deserialize(value).map_err(|e| ResultError::Parse {
                path: path.to_path_buf(),
                message: format!("at `{}`: {}", e.path(), e.inner()),
            })?;
        result.check(path)?;
        Ok(result)
    }

    /// Refuses a result with any of [`validate::problems`], naming `path` (where it was read
    /// from, or where it is about to be written).
    pub fn check(&self, path: &Path) -> Result<(), ResultError> {
        let problems = validate::problems(self);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ResultError::Invalid {
                path: path.to_path_buf(),
                problems,
            })
        }
    }
}

/// The JSON Schema of result files, as committed in `schema/result.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RunResult);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}
