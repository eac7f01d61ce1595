//! `benchmark.toml`: parsed into typed sections, validated once, paths resolved against the
//! config file's folder. Every error names the file, line and column, and what was expected.

mod choose;
pub mod limits;
mod schema;
mod sizing;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use choose::CpuChoice;
pub use schema::{
    AutoKeyword, DEFAULT_WORKER_FIRST_ANSWER_S, DType, Dim, Fill, GateSection, InputSpec,
    Iterations, Metric, OnInconclusive, OptLevel, SessionOptions, Thresholds, WerRule,
    WhisperOptions, WorkloadKind,
};
use schema::{RawConfig, RawModel};
use serde::Serialize;
pub use sizing::{SizingConfig, load_sizing, parse_sizing};
use toml::Spanned;

use crate::platform::affinity::parse_cpu_set_arg;

/// Iterations used when neither the model nor `[run]` says.
pub const DEFAULT_ITERATIONS: u32 = 20;

/// A position in the config file, for errors raised after parsing (e.g. against model metadata).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot read config file {path}: {source}\n  fix: pass an existing file with -c (default ./benchmark.toml); the repository's own benchmark.toml is a documented starting point"
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{at}: {message}\n{snippet}  fix: {help}")]
    Invalid {
        at: Location,
        message: String,
        snippet: String,
        help: String,
    },
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file as given.
    pub path: PathBuf,
    /// CPUs to pin to.
    pub cpus: Vec<usize>,
    /// Where `cpus` came from, for errors: `run.cpus = "0" (benchmark.toml:3:8)`, or the
    /// default; a command that takes `--cpus` replaces it with the flag.
    pub cpus_origin: String,
    /// Explicit CPU label (replaces the detected model name in results and baseline keys).
    pub cpu_label: Option<String>,
    pub models: Vec<ModelConfig>,
    pub thresholds: BTreeMap<String, Thresholds>,
    /// `[sizing]`: capacity-plan policy, instance catalogue, load grades (defaults when absent).
    pub sizing: SizingConfig,
    /// `[gate]`: baseline history length and the gate's policy.
    pub gate: GateSection,
}

/// One model, with `[run]` defaults applied and paths resolved.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub name: String,
    pub size: Option<String>,
    pub warmup: u32,
    pub iterations: Iterations,
    pub time_budget: Option<Duration>,
    pub session: SessionOptions,
    pub workload: WorkloadSpec,
    pub at: Location,
}

impl ModelConfig {
    pub fn kind(&self) -> WorkloadKind {
        match self.workload {
            WorkloadSpec::Whisper { .. } => WorkloadKind::Whisper,
            WorkloadSpec::Onnx { .. } => WorkloadKind::Onnx,
        }
    }

    /// Model files, in a stable order, for fingerprints.
    pub fn model_files(&self) -> Vec<&Path> {
        match &self.workload {
            WorkloadSpec::Whisper {
                encoder,
                decoder,
                decoder_with_past,
                ..
            } => vec![encoder, decoder, decoder_with_past],
            WorkloadSpec::Onnx { model, .. } => vec![model],
        }
    }

    /// The tokenizer that turns decoded ids into text, if any.
    pub fn tokenizer(&self) -> Option<&Path> {
        match &self.workload {
            WorkloadSpec::Whisper { tokenizer, .. } => tokenizer.as_deref(),
            WorkloadSpec::Onnx { .. } => None,
        }
    }

    /// The labelled set scored for accuracy, if any.
    pub fn labelled_set(&self) -> Option<&Path> {
        match &self.workload {
            WorkloadSpec::Whisper { labelled_set, .. } => labelled_set.as_deref(),
            WorkloadSpec::Onnx { .. } => None,
        }
    }

    pub fn fixture(&self) -> Option<&Path> {
        match &self.workload {
            WorkloadSpec::Whisper { fixture, .. } => Some(fixture),
            WorkloadSpec::Onnx { fixture, .. } => fixture.as_deref(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum WorkloadSpec {
    Whisper {
        encoder: PathBuf,
        decoder: PathBuf,
        decoder_with_past: PathBuf,
        fixture: PathBuf,
        options: WhisperOptions,
        /// The model's `tokenizer.json` (decoded ids to text); outside the fingerprint: it
        /// changes no timed work.
        tokenizer: Option<PathBuf>,
        /// The labelled set scored for accuracy.
        labelled_set: Option<PathBuf>,
    },
    Onnx {
        model: PathBuf,
        fixture: Option<PathBuf>,
        inputs: Vec<ResolvedInput>,
        steps: u32,
    },
}

/// An input spec with symbolic dimensions replaced by their values.
#[derive(Debug, Clone)]
pub struct ResolvedInput {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<i64>,
    pub fill: Fill,
    pub from_output: Option<String>,
    pub at: Location,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates `text` as if read from `path` (relative paths resolve against its folder).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let ctx = Ctx { text, path };
        let de = toml::Deserializer::parse(text).map_err(|e| ctx.toml_error(&e, None))?;
        let raw: RawConfig = serde_path_to_error::deserialize(de)
            .map_err(|e| ctx.toml_error(e.inner(), Some(key_path(e.path()))))?;
        ctx.validate(raw)
    }

    pub fn model(&self, name: &str) -> Option<&ModelConfig> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Every file a measurement reads (the config, each model's model files and fixture), with
    /// what names it, so a command can refuse an output that would overwrite one.
    pub fn input_files(&self) -> Vec<(&'static str, &Path)> {
        let mut out = vec![("-c", self.path.as_path())];
        for m in &self.models {
            out.extend(m.model_files().into_iter().map(|f| ("a model file", f)));
            out.extend(m.fixture().map(|f| ("the audio fixture", f)));
            if let WorkloadSpec::Whisper {
                tokenizer,
                labelled_set,
                ..
            } = &m.workload
            {
                out.extend(tokenizer.as_deref().map(|t| ("the tokenizer", t)));
                out.extend(labelled_set.as_deref().map(|l| ("the labelled set", l)));
            }
        }
        out
    }
}

struct Ctx<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Ctx<'_> {
    fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Location {
            file: self.path.to_path_buf(),
            line,
            column,
        }
    }

    fn snippet(&self, span: &Range<usize>) -> String {
        let at = self.location(span.start);
        let Some(line_text) = self.text.lines().nth(at.line - 1) else {
            return String::new();
        };
        let width = self.text[span.clone()]
            .lines()
            .next()
            .map_or(1, |s| s.chars().count().max(1));
        format!(
            "  {:>4} | {}\n       | {}{}\n",
            at.line,
            line_text,
            " ".repeat(at.column - 1),
            "^".repeat(width)
        )
    }

    fn error(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            at: self.location(span.start),
            snippet: self.snippet(&span),
            message: message.into(),
            help: help.into(),
        }
    }

    fn toml_error(&self, e: &toml::de::Error, key: Option<String>) -> ConfigError {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim().to_string();
        let message = match key.filter(|k| k != ".") {
            Some(k) => format!("`{k}`: {message}"),
            None => message,
        };
        let help = if message.contains("unknown field") {
            "remove or rename the key; the keys each table accepts are documented in the repository's benchmark.toml"
        } else if message.contains("missing field") {
            "add the key; see the repository's benchmark.toml for a documented example"
        } else {
            "change the value to the expected form; see the repository's benchmark.toml"
        };
        self.error(span, message, help)
    }

    fn path_of(&self, p: &Spanned<PathBuf>, what: &str) -> Result<PathBuf, ConfigError> {
        let resolved = self.dir().join(p.get_ref());
        match std::fs::metadata(&resolved) {
            Ok(m) if m.is_file() => Ok(resolved),
            Ok(_) => Err(self.error(
                p.span(),
                format!("{what} {} is not a file", resolved.display()),
                "point the key at a file; relative paths resolve against the config file's folder",
            )),
            Err(e) => Err(self.error(
                p.span(),
                format!("{what} {} cannot be read: {e}", resolved.display()),
                missing_file_help(p.get_ref()),
            )),
        }
    }

    fn required<'r>(
        &self,
        model: &Spanned<RawModel>,
        field: &'r Option<Spanned<PathBuf>>,
        key: &str,
        kind: &str,
    ) -> Result<&'r Spanned<PathBuf>, ConfigError> {
        field.as_ref().ok_or_else(|| {
            self.error(
                model.span(),
                format!("a `{kind}` model needs `{key}`"),
                format!("add `{key} = \"path/to/file\"` to this model's table"),
            )
        })
    }

    fn validate(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let cpus = cpus_arg(raw.run.cpus.get_ref()).map_err(|e| {
            self.error(
                raw.run.cpus.span(),
                format!("`run.cpus`: {e}"),
                "use a CPU list such as \"0\", \"2-3\", \"0,2\", or \"all\"",
            )
        })?;
        let cpus_origin = if raw.run.cpus.span().is_empty() {
            format!("the default run.cpus = \"0\" of {}", self.path.display())
        } else {
            format!(
                "run.cpus = {:?} at {}",
                raw.run.cpus.get_ref(),
                self.location(raw.run.cpus.span().start)
            )
        };
        self.warmup(&raw.run.warmup, "run.warmup")?;
        if raw.models.is_empty() {
            return Err(self.error(
                0..0,
                "`models` is empty: there is nothing to benchmark",
                "add a [models.NAME] table",
            ));
        }
        for (arch, t) in &raw.thresholds {
            if !matches!(arch.as_str(), "x86_64" | "aarch64") {
                return Err(self.error(
                    t.span(),
                    format!("unknown architecture `{arch}` in [thresholds]"),
                    "use [thresholds.x86_64] or [thresholds.aarch64]",
                ));
            }
            let v = t.get_ref();
            if !limits::in_range(v.max_regression_pct, 0.0, false, limits::MAX_REGRESSION_PCT) {
                return Err(self.error(
                    t.span(),
                    format!("`thresholds.{arch}.max_regression_pct` must be a percentage in (0, {}], got {}", limits::MAX_REGRESSION_PCT, v.max_regression_pct),
                    "set e.g. max_regression_pct = 5.0 (percent, not a fraction)",
                ));
            }
            if !limits::in_range(v.min_abs_ms, 0.0, true, limits::MAX_MIN_ABS_MS) {
                return Err(self.error(
                    t.span(),
                    format!(
                        "`thresholds.{arch}.min_abs_ms` must be between 0 and {} ms, got {}",
                        limits::MAX_MIN_ABS_MS,
                        v.min_abs_ms
                    ),
                    "set e.g. min_abs_ms = 1.0",
                ));
            }
            if let Some(b) = v.ab_time_budget_s
                && !(b.is_finite() && (1.0..=3600.0).contains(&b))
            {
                return Err(self.error(
                    t.span(),
                    format!(
                        "`thresholds.{arch}.ab_time_budget_s` must be between 1 and 3600 seconds, got {b}"
                    ),
                    "set e.g. ab_time_budget_s = 60",
                ));
            }
            if let Some(m) = v
                .max_memory_regression_pct
                .filter(|m| !(m.is_finite() && *m > 0.0))
            {
                return Err(self.error(
                    t.span(),
                    format!(
                        "`thresholds.{arch}.max_memory_regression_pct` must be a positive percentage, got {m}"
                    ),
                    "set e.g. max_memory_regression_pct = 10.0, or leave it out to show memory without gating it",
                ));
            }
            if let Some(w) = v
                .max_wer_increase_pts
                .filter(|w| !(w.is_finite() && (0.0..=100.0).contains(w)))
            {
                return Err(self.error(
                    t.span(),
                    format!(
                        "`thresholds.{arch}.max_wer_increase_pts` must be between 0 and 100 WER points, got {w}"
                    ),
                    "set e.g. max_wer_increase_pts = 1.0 (one word in a hundred), or leave it out to show WER without gating it",
                ));
            }
            if v.wer_rule == Some(WerRule::Points) && v.max_wer_increase_pts.is_none() {
                return Err(self.error(
                    t.span(),
                    format!("`thresholds.{arch}.wer_rule = \"points\"` needs the points: `max_wer_increase_pts` is not set"),
                    "add e.g. max_wer_increase_pts = 1.0, or use wer_rule = \"mlperf99\" (no limit to set)",
                ));
            }
        }
        let sizing = self.sizing(raw.sizing)?;
        let g = raw.gate.get_ref();
        if !(1..=1000).contains(&g.history) {
            return Err(self.error(
                raw.gate.span(),
                format!(
                    "`gate.history` must be between 1 and 1000 runs, got {}",
                    g.history
                ),
                "set e.g. history = 10",
            ));
        }
        if !limits::in_range(
            g.assumed_run_noise_pct,
            0.0,
            false,
            limits::MAX_RUN_NOISE_PCT,
        ) {
            return Err(self.error(
                raw.gate.span(),
                format!(
                    "`gate.assumed_run_noise_pct` must be a percentage in (0, {}], got {}",
                    limits::MAX_RUN_NOISE_PCT,
                    g.assumed_run_noise_pct
                ),
                "set e.g. assumed_run_noise_pct = 3.0 (percent, not a fraction)",
            ));
        }
        for (key, v) in [
            ("output_atol", g.output_atol),
            ("output_rtol", g.output_rtol),
        ] {
            if !limits::in_range(v, 0.0, true, 1e6) {
                return Err(self.error(
                    raw.gate.span(),
                    format!("`gate.{key}` must be zero or positive (at most 1e6), got {v}"),
                    "set e.g. output_atol = 1e-4, output_rtol = 1e-3",
                ));
            }
        }
        if !(g.assumed_memory_noise_pct.is_finite() && g.assumed_memory_noise_pct > 0.0) {
            return Err(self.error(
                raw.gate.span(),
                format!(
                    "`gate.assumed_memory_noise_pct` must be a positive percentage, got {}",
                    g.assumed_memory_noise_pct
                ),
                "set e.g. assumed_memory_noise_pct = 1.0",
            ));
        }
        if !(g.worker_first_answer_s.is_finite()
            && (1.0..=86_400.0).contains(&g.worker_first_answer_s))
        {
            return Err(self.error(
                raw.gate.span(),
                format!(
                    "`gate.worker_first_answer_s` must be between 1 and 86400 seconds, got {}",
                    g.worker_first_answer_s
                ),
                "set e.g. worker_first_answer_s = 600 (the default), more for a slow image pull",
            ));
        }
        let mut models = Vec::new();
        for (name, m) in &raw.models {
            models.push(self.model(name, m, &raw.run)?);
        }
        Ok(Config {
            path: self.path.to_path_buf(),
            cpus,
            cpus_origin,
            cpu_label: raw.run.cpu_label.clone().filter(|s| !s.trim().is_empty()),
            models,
            thresholds: raw
                .thresholds
                .into_iter()
                .map(|(k, v)| (k, v.into_inner()))
                .collect(),
            sizing,
            gate: raw.gate.into_inner(),
        })
    }

    fn budget(&self, b: &Option<Spanned<f64>>, key: &str) -> Result<Option<Duration>, ConfigError> {
        match b {
            None => Ok(None),
            Some(s) if limits::in_range(*s.get_ref(), 0.0, false, limits::MAX_TIME_BUDGET_S) => {
                Ok(Some(Duration::from_secs_f64(*s.get_ref())))
            }
            Some(s) => Err(self.error(
                s.span(),
                format!(
                    "`{key}` must be a number of seconds in (0, {}] (one day), got {:e}",
                    limits::MAX_TIME_BUDGET_S,
                    s.get_ref()
                ),
                "set e.g. time_budget_s = 60",
            )),
        }
    }

    fn warmup(&self, w: &Spanned<u32>, key: &str) -> Result<u32, ConfigError> {
        if *w.get_ref() > limits::MAX_WARMUP {
            return Err(self.error(
                w.span(),
                format!(
                    "`{key}` must be between 0 and {} warm-up iterations, got {}",
                    limits::MAX_WARMUP,
                    w.get_ref()
                ),
                "set e.g. warmup = 1 (each warm-up runs the whole model once)",
            ));
        }
        Ok(*w.get_ref())
    }

    fn model(
        &self,
        name: &str,
        m: &Spanned<RawModel>,
        run: &schema::RunSection,
    ) -> Result<ModelConfig, ConfigError> {
        if !valid_name(name) {
            return Err(self.error(
                m.span(),
                format!("model name `{name}` is not usable as a file name"),
                "use letters, digits, '.', '-' and '_' only (it names baseline folders)",
            ));
        }
        let raw = m.get_ref();
        let workload = match raw.kind {
            WorkloadKind::Whisper => {
                if let Some(f) = &raw.model {
                    return Err(self.error(
                        f.span(),
                        "`model` is for `onnx` models; a `whisper` model names `encoder`, `decoder` and `decoder_with_past`",
                        "rename the key, or set kind = \"onnx\"",
                    ));
                }
                if let Some(i) = raw.inputs.first() {
                    return Err(self.error(
                        i.span(),
                        "`inputs` are for `onnx` models; a `whisper` model's inputs come from the audio fixture",
                        "remove the inputs, or set kind = \"onnx\"",
                    ));
                }
                let encoder = self.path_of(
                    self.required(m, &raw.encoder, "encoder", "whisper")?,
                    "encoder",
                )?;
                let decoder = self.path_of(
                    self.required(m, &raw.decoder, "decoder", "whisper")?,
                    "decoder",
                )?;
                let dwp = self.path_of(
                    self.required(m, &raw.decoder_with_past, "decoder_with_past", "whisper")?,
                    "decoder_with_past",
                )?;
                let fixture = self.path_of(
                    self.required(m, &raw.fixture, "fixture", "whisper")?,
                    "fixture",
                )?;
                let options = raw.whisper.clone().unwrap_or_default();
                let token_ok = |t: &i64| (0..=limits::MAX_TOKEN_ID).contains(t);
                if options.prompt_tokens.is_empty() || !options.prompt_tokens.iter().all(token_ok) {
                    return Err(self.error(
                        m.span(),
                        format!("model `{name}`: `whisper.prompt_tokens` must be a non-empty list of token ids between 0 and {}", limits::MAX_TOKEN_ID),
                        "use Whisper's prompt, e.g. [50258, 50278, 50359, 50363]",
                    ));
                }
                if !token_ok(&options.eot_token) {
                    return Err(self.error(
                        m.span(),
                        format!(
                            "model `{name}`: `whisper.eot_token` = {} is not a token id between 0 and {}",
                            options.eot_token,
                            limits::MAX_TOKEN_ID
                        ),
                        "use Whisper's <|endoftext|>, 50257",
                    ));
                }
                let positions = options.prompt_tokens.len() + options.max_new_tokens.get() as usize;
                if positions > limits::WHISPER_MAX_POSITIONS {
                    return Err(self.error(
                        m.span(),
                        format!(
                            "model `{name}`: {} prompt tokens + `whisper.max_new_tokens` = {} exceed the {} positions of Whisper's decoder",
                            options.prompt_tokens.len(),
                            options.max_new_tokens,
                            limits::WHISPER_MAX_POSITIONS
                        ),
                        format!(
                            "set whisper.max_new_tokens to at most {}",
                            limits::WHISPER_MAX_POSITIONS.saturating_sub(options.prompt_tokens.len())
                        ),
                    ));
                }
                let tokenizer = raw
                    .tokenizer
                    .as_ref()
                    .map(|t| self.path_of(t, "tokenizer"))
                    .transpose()?;
                let labelled_set = match (&raw.labelled_set, &tokenizer) {
                    (Some(l), None) => {
                        return Err(self.error(
                            l.span(),
                            format!("model `{name}`: a `labelled_set` is scored on the transcripts' words, and without a `tokenizer` there are no words"),
                            "add `tokenizer = \"path/to/tokenizer.json\"` (the file that comes with the model) to the model's table",
                        ));
                    }
                    (l, _) => l
                        .as_ref()
                        .map(|l| self.path_of(l, "labelled_set"))
                        .transpose()?,
                };
                WorkloadSpec::Whisper {
                    encoder,
                    decoder,
                    decoder_with_past: dwp,
                    fixture,
                    options,
                    tokenizer,
                    labelled_set,
                }
            }
            WorkloadKind::Onnx => {
                for (field, key) in [
                    (&raw.encoder, "encoder"),
                    (&raw.decoder, "decoder"),
                    (&raw.decoder_with_past, "decoder_with_past"),
                ] {
                    if let Some(f) = field {
                        return Err(self.error(
                            f.span(),
                            format!("`{key}` is for `whisper` models; an `onnx` model names one `model` file"),
                            "rename the key to `model`, or set kind = \"whisper\"",
                        ));
                    }
                }
                for (field, key) in [
                    (&raw.tokenizer, "tokenizer"),
                    (&raw.labelled_set, "labelled_set"),
                ] {
                    if let Some(f) = field {
                        return Err(self.error(
                            f.span(),
                            format!("`{key}` is for `whisper` models: only speech models are transcribed and scored for accuracy"),
                            "remove the key, or set kind = \"whisper\"",
                        ));
                    }
                }
                if raw.whisper.is_some() {
                    return Err(self.error(
                        m.span(),
                        format!("model `{name}`: a [whisper] table on an `onnx` model"),
                        "remove it, or set kind = \"whisper\"",
                    ));
                }
                let model =
                    self.path_of(self.required(m, &raw.model, "model", "onnx")?, "model")?;
                let fixture = raw
                    .fixture
                    .as_ref()
                    .map(|f| self.path_of(f, "fixture"))
                    .transpose()?;
                let mut inputs = Vec::new();
                for spec in &raw.inputs {
                    inputs.push(self.input(spec, &raw.dims, fixture.is_some())?);
                }
                if raw.steps.get_ref().get() > limits::MAX_STEPS {
                    return Err(self.error(
                        raw.steps.span(),
                        format!(
                            "model `{name}`: `steps` must be between 1 and {} model runs per iteration, got {}",
                            limits::MAX_STEPS,
                            raw.steps.get_ref()
                        ),
                        "set e.g. steps = 1 (or the number of windows one request streams)",
                    ));
                }
                WorkloadSpec::Onnx {
                    model,
                    fixture,
                    inputs,
                    steps: raw.steps.get_ref().get(),
                }
            }
        };
        Ok(ModelConfig {
            name: name.to_string(),
            size: raw.size.clone(),
            warmup: match &raw.warmup {
                Some(w) => self.warmup(w, &format!("models.{name}.warmup"))?,
                None => *run.warmup.get_ref(),
            },
            iterations: raw
                .iterations
                .or(run.iterations)
                .unwrap_or(Iterations::Fixed(
                    std::num::NonZeroU32::new(DEFAULT_ITERATIONS)
                        .unwrap_or(std::num::NonZeroU32::MIN),
                )),
            time_budget: match self
                .budget(&raw.time_budget_s, &format!("models.{name}.time_budget_s"))?
            {
                Some(b) => Some(b),
                None => self.budget(&run.time_budget_s, "run.time_budget_s")?,
            },
            session: raw.session.clone(),
            workload,
            at: self.location(m.span().start),
        })
    }

    fn input(
        &self,
        spec: &Spanned<InputSpec>,
        dims: &BTreeMap<String, Spanned<i64>>,
        has_fixture: bool,
    ) -> Result<ResolvedInput, ConfigError> {
        let s = spec.get_ref();
        let mut shape = Vec::with_capacity(s.shape.len());
        for d in &s.shape {
            match d {
                Dim::Fixed(v) => shape.push(i64::from(*v)),
                Dim::Named(n) => {
                    match dims.get(n) {
                        Some(v) if (0..=limits::MAX_DIM).contains(v.get_ref()) => {
                            shape.push(*v.get_ref())
                        }
                        Some(v) => {
                            return Err(self.error(
                                v.span(),
                                format!(
                                    "input `{}`: dimension `{n}` = {} is not a size between 0 and {}",
                                    s.name,
                                    v.get_ref(),
                                    limits::MAX_DIM
                                ),
                                "give symbolic dimensions their real size in `dims`, e.g. { batch = 1 }",
                            ));
                        }
                        None => {
                            return Err(self.error(
                            spec.span(),
                            format!("input `{}`: symbolic dimension `{n}` has no value", s.name),
                            format!("add `dims = {{ {n} = 1 }}` (or its real size) to the model's table"),
                        ));
                        }
                    }
                }
            }
        }
        let elements = shape
            .iter()
            .try_fold(1i64, |acc, d| acc.checked_mul(*d))
            .filter(|n| *n <= limits::MAX_ELEMENTS);
        if elements.is_none() {
            return Err(self.error(
                spec.span(),
                format!(
                    "input `{}`: shape {shape:?} has more than {} elements (1 GiB of f32), too large to synthesise",
                    s.name,
                    limits::MAX_ELEMENTS
                ),
                "use the shape one request really has (e.g. batch 1)",
            ));
        }
        let (lo, hi) = dtype_range(s.dtype);
        match &s.fill {
            Fill::Audio if !has_fixture => {
                return Err(self.error(
                    spec.span(),
                    format!(
                        "input `{}` is filled from audio, but the model has no `fixture`",
                        s.name
                    ),
                    "add `fixture = \"path/to/audio.wav\"` to the model's table",
                ));
            }
            Fill::Audio if s.dtype != DType::F32 => {
                return Err(self.error(
                    spec.span(),
                    format!(
                        "input `{}`: audio windows are f32 samples, but dtype is {:?}",
                        s.name, s.dtype
                    ),
                    "set dtype = \"f32\"",
                ));
            }
            Fill::Random { low, high, .. }
                if !(low.is_finite() && high.is_finite() && low < high) =>
            {
                return Err(self.error(
                    spec.span(),
                    format!(
                        "input `{}`: random fill needs low < high, got low = {low}, high = {high}",
                        s.name
                    ),
                    "e.g. fill = { random = { seed = 1, low = 0, high = 100 } }",
                ));
            }
            Fill::Constant(v) if !v.is_finite() => {
                return Err(self.error(
                    spec.span(),
                    format!("input `{}`: constant {v} is not finite", s.name),
                    "use a finite number",
                ));
            }
            Fill::Constant(v) if !(lo..=hi).contains(v) => {
                return Err(self.error(
                    spec.span(),
                    format!(
                        "input `{}`: constant {v} does not fit dtype {:?} (range {lo} to {hi})",
                        s.name, s.dtype
                    ),
                    "use a value the input's dtype can hold",
                ));
            }
            Fill::Random { low, high, .. } if !(lo <= *low && *high <= hi) => {
                return Err(self.error(
                    spec.span(),
                    format!(
                        "input `{}`: random fill [{low}, {high}) does not fit dtype {:?} (range {lo} to {hi})",
                        s.name, s.dtype
                    ),
                    "use bounds the input's dtype can hold",
                ));
            }
            _ => {}
        }
        Ok(ResolvedInput {
            name: s.name.clone(),
            dtype: s.dtype,
            shape,
            fill: s.fill.clone(),
            from_output: s.from_output.clone(),
            at: self.location(spec.span().start),
        })
    }
}

/// Values a dtype can hold, for fills (f64 bounds; i64's are rounded to the nearest f64).
fn dtype_range(d: DType) -> (f64, f64) {
    match d {
        DType::F32 => (f64::from(f32::MIN), f64::from(f32::MAX)),
        DType::F16 => (-65_504.0, 65_504.0),
        DType::F64 => (f64::MIN, f64::MAX),
        DType::I64 => (i64::MIN as f64, i64::MAX as f64),
        DType::I32 => (f64::from(i32::MIN), f64::from(i32::MAX)),
        DType::I8 => (f64::from(i8::MIN), f64::from(i8::MAX)),
        DType::U8 => (0.0, f64::from(u8::MAX)),
        DType::Bool => (0.0, 1.0),
    }
}

/// A CPU list ("0", "2-3", "0,2") or "all": every CPU this process was started with (what a
/// Kubernetes pod was given, exclusive cores included, or what `taskset` allowed).
pub fn cpus_arg(s: &str) -> Result<Vec<usize>, String> {
    if s.trim() == "all" {
        let cpus = crate::platform::affinity::inherited_affinity().to_vec();
        if cpus.is_empty() {
            return Err("cannot read this process's CPU affinity".into());
        }
        return Ok(cpus);
    }
    parse_cpu_set_arg(s)
}

/// The key path of a deserialisation error as the user wrote it (`run.time_budget_s`), without
/// the segment `toml::Spanned` adds internally (`$__serde_spanned_private_value`).
pub(crate) fn key_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Map { key } if key.starts_with("$__serde_spanned") => {}
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    if out.is_empty() { ".".to_string() } else { out }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn missing_file_help(p: &Path) -> String {
    let s = p.to_string_lossy();
    if s.contains("whisper-tiny") {
        "the tiny Whisper fixtures are generated, not committed: run `scripts/setup.sh` (or `scripts/setup-fixtures.sh`)".into()
    } else {
        "check the path; relative paths resolve against the config file's folder".into()
    }
}

#[cfg(test)]
mod tests;
