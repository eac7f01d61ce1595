//! The serde types of `benchmark.toml`. Every table denies unknown keys, and value ranges are
//! enforced by the types themselves (non-zero counts, unsigned thread counts) so that toml can
//! point at the exact line and column of a bad value.

use std::collections::BTreeMap;
use std::num::{NonZeroU16, NonZeroU32};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Settings shared by every model unless the model overrides them.
    #[serde(default)]
    pub run: RunSection,
    /// Named models; the table key is the model's name in results and baselines.
    pub models: BTreeMap<String, Spanned<RawModel>>,
    /// Regression thresholds per CPU architecture (`x86_64`, `aarch64`).
    #[serde(default)]
    pub thresholds: BTreeMap<String, Spanned<Thresholds>>,
    /// Capacity planning: policy, instance catalogue, load grades (see `super::sizing`).
    #[serde(default)]
    pub sizing: Option<super::sizing::RawSizing>,
    /// How the gate keeps baselines and treats runs it cannot judge (`compare`, `ab`, `baseline`).
    #[serde(default = "default_gate")]
    pub gate: Spanned<GateSection>,
}

/// `[run]`: where and how long to measure.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// CPU set to pin the process and its ORT threads to, e.g. "0" or "2-3".
    #[serde(default = "default_cpus")]
    pub cpus: Spanned<String>,
    /// Explicit CPU label for machines whose CPU cannot be told apart (e.g. Docker on a Mac).
    #[serde(default)]
    pub cpu_label: Option<String>,
    /// Un-timed runs before the counted iterations (at most `limits::MAX_WARMUP`).
    #[serde(default = "default_warmup")]
    pub warmup: Spanned<u32>,
    /// Counted iterations, or "auto".
    #[serde(default)]
    pub iterations: Option<Iterations>,
    /// Upper bound on counted measuring time per model, in seconds.
    #[serde(default)]
    pub time_budget_s: Option<Spanned<f64>>,
}

impl Default for RunSection {
    fn default() -> Self {
        RunSection {
            cpus: default_cpus(),
            cpu_label: None,
            warmup: default_warmup(),
            iterations: None,
            time_budget_s: None,
        }
    }
}

fn default_cpus() -> Spanned<String> {
    Spanned::new(0..0, "0".to_string())
}

fn default_warmup() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

/// A fixed iteration count or "auto" (measure until the median is known precisely enough).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Iterations {
    Fixed(NonZeroU32),
    Auto(AutoKeyword),
}

impl<'de> Deserialize<'de> for Iterations {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const EXPECTED: &str = "a number of iterations between 1 and 1000000, or \"auto\"";
        impl serde::de::Visitor<'_> for V {
            type Value = Iterations;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Iterations, E> {
                u32::try_from(v)
                    .ok()
                    .filter(|n| *n <= super::limits::MAX_ITERATIONS)
                    .and_then(NonZeroU32::new)
                    .map(Iterations::Fixed)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Signed(v), &EXPECTED))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Iterations, E> {
                u32::try_from(v)
                    .ok()
                    .filter(|n| *n <= super::limits::MAX_ITERATIONS)
                    .and_then(NonZeroU32::new)
                    .map(Iterations::Fixed)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Unsigned(v), &EXPECTED))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Iterations, E> {
                if v == "auto" {
                    Ok(Iterations::Auto(AutoKeyword::Auto))
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Str(v), &EXPECTED))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// The literal string "auto".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoKeyword {
    Auto,
}

/// One `[models.NAME]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// What runs: `whisper` (audio -> log-mel -> encoder -> greedy decode) or `onnx` (any model).
    pub kind: WorkloadKind,
    /// Free-form size label copied into results (`model_size`), e.g. "tiny", "base".
    #[serde(default)]
    pub size: Option<String>,
    /// `onnx` kind: the model file.
    #[serde(default)]
    pub model: Option<Spanned<PathBuf>>,
    /// `whisper` kind: Optimum export files.
    #[serde(default)]
    pub encoder: Option<Spanned<PathBuf>>,
    #[serde(default)]
    pub decoder: Option<Spanned<PathBuf>>,
    #[serde(default)]
    pub decoder_with_past: Option<Spanned<PathBuf>>,
    /// Audio fixture (WAV).
    #[serde(default)]
    pub fixture: Option<Spanned<PathBuf>>,
    /// `whisper` kind: the model's `tokenizer.json`, to turn decoded ids into text.
    #[serde(default)]
    pub tokenizer: Option<Spanned<PathBuf>>,
    /// `whisper` kind: a TSV of `wav<TAB>reference text` lines, transcribed after the clock
    /// stops and scored by word error rate (needs `tokenizer`).
    #[serde(default)]
    pub labelled_set: Option<Spanned<PathBuf>>,
    /// Per-model overrides of `[run]`.
    #[serde(default)]
    pub warmup: Option<Spanned<u32>>,
    #[serde(default)]
    pub iterations: Option<Iterations>,
    #[serde(default)]
    pub time_budget_s: Option<Spanned<f64>>,
    /// ONNX Runtime session options.
    #[serde(default)]
    pub session: SessionOptions,
    /// `whisper` kind: front end and decoding.
    #[serde(default)]
    pub whisper: Option<WhisperOptions>,
    /// `onnx` kind: values for symbolic dimensions, e.g. `{ batch = 1 }`.
    #[serde(default)]
    pub dims: BTreeMap<String, Spanned<i64>>,
    /// `onnx` kind: how to synthesise each input.
    #[serde(default)]
    pub inputs: Vec<Spanned<InputSpec>>,
    /// `onnx` kind: model runs per counted iteration (streaming models: windows per iteration).
    #[serde(default = "one")]
    pub steps: Spanned<NonZeroU32>,
}

fn one() -> Spanned<NonZeroU32> {
    Spanned::new(0..0, NonZeroU32::MIN)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    Whisper,
    Onnx,
}

/// ONNX Runtime session options that change performance; all are part of the fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionOptions {
    /// `intra_op_num_threads`. Never 0: ORT's 0 sizes the pool from the host, ignoring cgroup limits.
    #[serde(default = "one_thread", deserialize_with = "super::limits::threads")]
    pub intra_op_threads: NonZeroU16,
    /// `inter_op_num_threads` (only used with parallel execution).
    #[serde(default = "one_thread", deserialize_with = "super::limits::threads")]
    pub inter_op_threads: NonZeroU16,
    /// 0 = disable, 1 = basic, 2 = extended, 3 = all (layout) optimisations.
    #[serde(default = "opt_all")]
    pub graph_optimization_level: OptLevel,
    /// Busy-wait in the intra-op pool between ops; burns CPU quota while idle.
    #[serde(default)]
    pub intra_op_spinning: bool,
    #[serde(default)]
    pub inter_op_spinning: bool,
    /// Run independent graph branches in parallel (needs inter-op threads > 1 to matter).
    #[serde(default)]
    pub parallel_execution: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            intra_op_threads: one_thread(),
            inter_op_threads: one_thread(),
            graph_optimization_level: opt_all(),
            intra_op_spinning: false,
            inter_op_spinning: false,
            parallel_execution: false,
        }
    }
}

fn one_thread() -> NonZeroU16 {
    NonZeroU16::MIN
}

fn opt_all() -> OptLevel {
    OptLevel(3)
}

/// Graph optimisation level 0..=3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct OptLevel(pub u8);

impl<'de> Deserialize<'de> for OptLevel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u8::deserialize(d)?;
        if v > 3 {
            return Err(serde::de::Error::invalid_value(
                serde::de::Unexpected::Unsigned(v.into()),
                &"a graph optimization level 0, 1, 2 or 3",
            ));
        }
        Ok(OptLevel(v))
    }
}

/// `[models.NAME.whisper]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhisperOptions {
    /// 80 (tiny..large-v2) or 128 (large-v3) mel bins.
    #[serde(default = "default_mels")]
    pub n_mels: MelBins,
    /// Tokens the decoder generates per iteration (the first from `decoder`, the rest with the KV cache).
    #[serde(default = "default_new_tokens")]
    pub max_new_tokens: NonZeroU32,
    /// Decoder prompt: <|startoftranscript|> <|vi|> <|transcribe|> <|notimestamps|>.
    #[serde(default = "default_prompt")]
    pub prompt_tokens: Vec<i64>,
    /// <|endoftext|>; only used when `stop_at_eot` is true.
    #[serde(default = "default_eot")]
    pub eot_token: i64,
    /// Stop decoding at <|endoftext|>. Off by default so every iteration does the same work.
    #[serde(default)]
    pub stop_at_eot: bool,
}

impl Default for WhisperOptions {
    fn default() -> Self {
        WhisperOptions {
            n_mels: default_mels(),
            max_new_tokens: default_new_tokens(),
            prompt_tokens: default_prompt(),
            eot_token: default_eot(),
            stop_at_eot: false,
        }
    }
}

fn default_mels() -> MelBins {
    MelBins(80)
}
fn default_new_tokens() -> NonZeroU32 {
    NonZeroU32::new(16).unwrap_or(NonZeroU32::MIN)
}
fn default_prompt() -> Vec<i64> {
    vec![50258, 50278, 50359, 50363]
}
fn default_eot() -> i64 {
    50257
}

/// 80 or 128.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct MelBins(pub usize);

impl<'de> Deserialize<'de> for MelBins {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        match v {
            80 | 128 => Ok(MelBins(v as usize)),
            _ => Err(serde::de::Error::invalid_value(
                serde::de::Unexpected::Unsigned(v),
                &"80 or 128 mel bins",
            )),
        }
    }
}

/// `[[models.NAME.inputs]]`: one model input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub name: String,
    pub dtype: DType,
    /// Dimensions: integers, or names looked up in `dims`. Empty for a scalar.
    pub shape: Vec<Dim>,
    /// How the tensor is filled.
    #[serde(default)]
    pub fill: Fill,
    /// Feed this output of the previous step back into this input (recurrent state).
    #[serde(default)]
    pub from_output: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    F32,
    F16,
    F64,
    I64,
    I32,
    I8,
    U8,
    Bool,
}

/// A dimension: a fixed size or a symbolic name resolved through `dims`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Dim {
    Fixed(u32),
    Named(String),
}

/// Input synthesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Fill {
    #[default]
    Zeros,
    Ones,
    /// Every element equals this value.
    Constant(f64),
    /// Seeded uniform random values in [low, high) (integers: [low, high)).
    Random {
        #[serde(default)]
        seed: u64,
        #[serde(default)]
        low: f64,
        #[serde(default = "one_f64")]
        high: f64,
    },
    /// Consecutive windows of the audio fixture (16 kHz mono floats), one window per step.
    Audio,
}

fn one_f64() -> f64 {
    1.0
}

/// `[thresholds.ARCH]`: what counts as a regression on this architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Statistic compared with the baseline.
    #[serde(default)]
    pub metric: Metric,
    /// Allowed slowdown in percent before a change can count as a regression.
    pub max_regression_pct: f64,
    /// Differences smaller than this many milliseconds are ignored.
    #[serde(default)]
    pub min_abs_ms: f64,
    /// What an inconclusive (contaminated or too noisy) run does to the check.
    #[serde(default)]
    pub on_inconclusive: OnInconclusive,
    /// Seconds `ab` (and the `ci` duet) may measure before it calls the change inconclusive;
    /// default 60 s (`compare::ab::DEFAULT_BUDGET_S`).
    #[serde(default)]
    pub ab_time_budget_s: Option<f64>,
    /// Allowed growth of peak resident memory, percent. Unset: memory is shown, not gated.
    #[serde(default)]
    pub max_memory_regression_pct: Option<f64>,
    /// Allowed increase of the word error rate on a model's labelled set, in absolute points
    /// (`wer_rule = "points"`). Unset: WER is shown, not gated.
    #[serde(default)]
    pub max_wer_increase_pts: Option<f64>,
    /// How accuracy is judged: `points` (the limit above, with the uncertainty the set's size
    /// allows) or `mlperf99` (MLPerf's rule: word accuracy at least 99% of the baseline's).
    #[serde(default)]
    pub wer_rule: Option<WerRule>,
}

/// `[thresholds.ARCH] wer_rule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WerRule {
    Points,
    Mlperf99,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    #[default]
    Median,
    P95,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnInconclusive {
    #[default]
    Warn,
    Fail,
}

/// `[gate]`: baseline history and the gate's policy. See docs/verdict.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSection {
    /// Accepted runs kept per baseline file (the oldest are dropped by `baseline update`).
    #[serde(default = "default_history")]
    pub history: u32,
    /// Exit 2 instead of 0 when no baseline exists for this CPU model.
    #[serde(default)]
    pub require_baseline: bool,
    /// Run-to-run noise of a run's median, in percent (one standard deviation), assumed while the
    /// baseline history is too short (fewer than 3 runs) to measure it; it is also the prior that
    /// a short measured history is pooled with.
    #[serde(default = "default_run_noise")]
    pub assumed_run_noise_pct: f64,
    /// `ab`: measure once more when the first attempt was contaminated (throttled, stolen CPU).
    /// `compare` only reads a finished result and cannot rerun.
    #[serde(default)]
    pub rerun_on_contamination: bool,
    /// Duet output drift: absolute tolerance of `|b - a| <= atol + rtol * |a|` (numpy's
    /// `isclose(b, a)`, A the reference), applied to float outputs (`f32`, `f16`, `bf16`, `f64`);
    /// integer, boolean and string outputs are compared exactly.
    #[serde(default = "default_output_atol")]
    pub output_atol: f64,
    /// Duet output drift: relative tolerance.
    #[serde(default = "default_output_rtol")]
    pub output_rtol: f64,
    /// Duet output drift: NaN on both sides counts as the same output (numpy's `equal_nan`).
    /// Default false: a NaN output is a change even when both sides produce it; NaN against a
    /// number is always a change.
    #[serde(default)]
    pub output_equal_nan: bool,
    /// What outputs that changed beyond the tolerances (or other decoded tokens) do to the check.
    #[serde(default)]
    pub on_output_change: OnInconclusive,
    /// Run-to-run noise of a run's peak RSS, in percent (one standard deviation), assumed while
    /// the history is short and pooled with the measured spread of the history's peaks.
    #[serde(default = "default_memory_noise")]
    pub assumed_memory_noise_pct: f64,
    /// Duet: seconds a worker may take for its first answer (process start, model load, an image
    /// pull) before it is given up on and the duet is `inconclusive`; also the most its first
    /// warm-up may take (otherwise bounded by its start-up time). Later answers get limits
    /// derived from the time already measured (`worker::patience`).
    #[serde(default = "default_worker_first_answer")]
    pub worker_first_answer_s: f64,
}

impl Default for GateSection {
    fn default() -> Self {
        GateSection {
            history: default_history(),
            require_baseline: false,
            assumed_run_noise_pct: default_run_noise(),
            rerun_on_contamination: false,
            output_atol: default_output_atol(),
            output_rtol: default_output_rtol(),
            output_equal_nan: false,
            on_output_change: OnInconclusive::Warn,
            assumed_memory_noise_pct: default_memory_noise(),
            worker_first_answer_s: default_worker_first_answer(),
        }
    }
}

/// How long a duet's worker may take for its first answer (the hello: process start, model
/// load, maybe an image pull) when `[gate] worker_first_answer_s` is not set, seconds. Ten
/// minutes: a cold pull of a multi-GB image on a CI runner takes a few, a whisper-tiny load
/// seconds.
pub const DEFAULT_WORKER_FIRST_ANSWER_S: f64 = 600.0;

fn default_worker_first_answer() -> f64 {
    DEFAULT_WORKER_FIRST_ANSWER_S
}

/// Float32 noise of a reordered reduction is ~1e-6 relative; a changed kernel or fusion in an
/// ORT upgrade stays well under these, a quantised model or a changed layer does not.
fn default_output_atol() -> f64 {
    1e-4
}

fn default_output_rtol() -> f64 {
    1e-3
}

fn default_gate() -> Spanned<GateSection> {
    Spanned::new(0..0, GateSection::default())
}

fn default_history() -> u32 {
    10
}

/// Measured on the project's 2-vCPU machine: see docs/verdict.md.
fn default_run_noise() -> f64 {
    3.0
}

/// Measured on the project's 2-vCPU machine (peak RSS of 12 runs: sd of ln 0.8% for Silero VAD,
/// 1.6% for whisper-tiny): see docs/explain.md.
fn default_memory_noise() -> f64 {
    2.0
}
