//! What runs: the real inference code paths being measured. A workload is built once (sessions
//! loaded, inputs prepared, fixtures decoded) and then iterated; only `iterate` is timed.

pub mod onnx;
pub mod outputs;
pub mod profiling;
pub mod whisper;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ort::value::ValueType;

use crate::config::{Location, ModelConfig, WorkloadSpec};
use crate::runtime::{Runtime, RuntimeError};

pub use outputs::{OutputTensor, Outputs, Values};
pub use profiling::{ArenaStats, ProfiledGraph};
pub use whisper::Transcript;
pub use whisper::audio::AudioError;

/// Time spent in one named stage of one iteration.
pub type StageTime = (&'static str, Duration);

/// Facts about the work one iteration does, for the result.
#[derive(Debug, Clone, Default)]
pub struct WorkloadInfo {
    /// Seconds of audio processed per iteration (for the real-time factor), if audio-driven.
    pub audio_seconds: Option<f64>,
    /// Tokens decoded per iteration (`whisper`), for per-token decoder time.
    pub tokens_per_iteration: Option<u32>,
    /// Model runs per iteration (`onnx` steps).
    pub runs_per_iteration: u32,
    /// Free-form notes shown to the user (e.g. how the fixture was converted).
    pub notes: Vec<String>,
}

pub trait Workload {
    /// One counted unit of work. Pushes the time of each stage into `stages`.
    fn iterate(&mut self, stages: &mut Vec<StageTime>) -> Result<(), WorkloadError>;
    fn info(&self) -> &WorkloadInfo;
    /// One more iteration, untimed, keeping what it produced: for comparing two variants'
    /// numerics (the duet's output drift). Workloads that cannot say return nothing.
    fn outputs(&mut self) -> Result<Outputs, WorkloadError> {
        Ok(Outputs::default())
    }

    /// One more iteration, never counted, with ONNX Runtime's run-level profiler on: every
    /// model run writes a Chrome-trace file into `dir`. Returns the graphs run, in order.
    fn profile(&mut self, _dir: &Path) -> Result<Vec<ProfiledGraph>, WorkloadError> {
        Err(WorkloadError::Profile {
            message: "this workload cannot be profiled".into(),
        })
    }

    /// Transcribes 16 kHz mono `samples` once, outside the clock, decoding to `<|endoftext|>`
    /// whatever the benchmark's cap: what the model hears. `None` for workloads that do not
    /// transcribe.
    fn transcribe(&mut self, _samples_16k: &[f32]) -> Result<Option<Transcript>, WorkloadError> {
        Ok(None)
    }

    /// Fewest and most decoder steps the timed iterations took, for workloads that decode.
    fn decoder_steps_range(&self) -> Option<(u32, u32)> {
        None
    }

    /// ONNX Runtime's arena figures per graph (empty when ORT reports none).
    fn arena(&self) -> Vec<ArenaStats> {
        Vec::new()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error("{at}: {message}\n  fix: {help}")]
    Spec {
        at: Location,
        message: String,
        help: String,
    },
    #[error("model {path} does not look like {expected}: {message}\n  fix: {help}")]
    Shape {
        path: PathBuf,
        expected: &'static str,
        message: String,
        help: String,
    },
    #[error(
        "running {path} failed: {message}\n  fix: check that the inputs in the config match what the model expects (bench-gate env shows the ORT version)"
    )]
    Run { path: PathBuf, message: String },
    #[error(
        "the profiled pass failed: {message}\n  fix: run with --no-profile to skip it (the timed iterations are unaffected), and report the ONNX Runtime version (bench-gate env)"
    )]
    Profile { message: String },
}

/// Loads the sessions and fixtures for `model`. Loading is not part of any iteration.
pub fn build(runtime: &Runtime, model: &ModelConfig) -> Result<Box<dyn Workload>, WorkloadError> {
    match &model.workload {
        WorkloadSpec::Whisper { .. } => {
            Ok(Box::new(whisper::WhisperWorkload::build(runtime, model)?))
        }
        WorkloadSpec::Onnx { .. } => Ok(Box::new(onnx::OnnxWorkload::build(runtime, model)?)),
    }
}

/// Human form of an ORT value type, e.g. `f32[1, -1, 80]`, for error messages.
pub fn describe_type(t: &ValueType) -> String {
    match t {
        ValueType::Tensor { ty, shape, .. } => {
            let dims: Vec<String> = shape.iter().map(i64::to_string).collect();
            format!("{}[{}]", elem_name(*ty), dims.join(", "))
        }
        other => format!("{other:?}"),
    }
}

pub fn elem_name(t: ort::value::TensorElementType) -> &'static str {
    use ort::value::TensorElementType as T;
    match t {
        T::Float32 => "f32",
        T::Float16 => "f16",
        T::Float64 => "f64",
        T::Int64 => "i64",
        T::Int32 => "i32",
        T::Int16 => "i16",
        T::Int8 => "i8",
        T::Uint8 => "u8",
        T::Uint16 => "u16",
        T::Uint32 => "u32",
        T::Uint64 => "u64",
        T::Bool => "bool",
        T::String => "string",
        T::Bfloat16 => "bf16",
        _ => "other",
    }
}
