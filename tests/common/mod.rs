//! Helpers shared by the integration tests: paths to the committed fixtures and a runner for the
//! real binary (with the real ONNX Runtime from .ort/lib, set up by scripts/setup.sh).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("fixtures").join(rel)
}

pub fn bench_gate() -> Command {
    let mut c = Command::cargo_bin("bench-gate").expect("binary built");
    c.current_dir(repo());
    c.env_remove("ORT_DYLIB_PATH");
    c
}

/// Writes `text` as benchmark.toml in `dir` and returns its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("benchmark.toml");
    std::fs::write(&p, text).expect("write config");
    p
}

/// A one-model config for the micro Whisper pair with `fixture` as the audio.
pub fn micro_whisper_config(fixture_path: &Path) -> String {
    let m = fixture("models/whisper-micro");
    format!(
        r#"[run]
warmup = 0
iterations = 2

[models.w]
kind = "whisper"
encoder = "{e}"
decoder = "{d}"
decoder_with_past = "{p}"
fixture = "{f}"

[models.w.whisper]
max_new_tokens = 3
prompt_tokens = [1, 2, 3, 4]
eot_token = 0
"#,
        e = m.join("encoder_model.onnx").display(),
        d = m.join("decoder_model.onnx").display(),
        p = m.join("decoder_with_past_model.onnx").display(),
        f = fixture_path.display()
    )
}

/// The silero-vad model described only in TOML; `sr_dtype` lets tests break the spec.
pub fn silero_config(inputs: &str) -> String {
    format!(
        r#"[run]
warmup = 0
iterations = 2

[models.vad]
kind = "onnx"
model = "{m}"
fixture = "{f}"
steps = 4
dims = {{ batch = 1 }}
{inputs}
"#,
        m = fixture("models/silero-vad/silero_vad.onnx").display(),
        f = fixture("audio/vi_speech_30s.wav").display(),
    )
}

pub const SILERO_INPUTS: &str = r#"
[[models.vad.inputs]]
name = "input"
dtype = "f32"
shape = ["batch", 512]
fill = "audio"

[[models.vad.inputs]]
name = "state"
dtype = "f32"
shape = [2, "batch", 128]
from_output = "stateN"

[[models.vad.inputs]]
name = "sr"
dtype = "i64"
shape = []
fill = { constant = 16000 }
"#;

pub fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `n` latencies spread evenly over `center_ms` +-2%, low and high alternating: a steady run
/// whose statistics are known (cv ~1.2%), the same on every machine.
pub fn known_samples(center_ms: f64, n: usize) -> Vec<f64> {
    let span = n.max(2) as f64 - 1.0;
    (0..n)
        .map(|i| {
            let rank = if i % 2 == 0 { i / 2 } else { n - 1 - i / 2 };
            center_ms * (1.0 + 0.04 * (rank as f64 / span - 0.5))
        })
        .collect()
}

/// Rewrites every model of the result file at `path` with known numbers, so a verdict read from
/// it depends on nothing the machine did: `samples_ms` and every figure derived from them
/// (summary, cv, mean, total time, RPS, iterations), and a clean environment (`during`: no
/// throttling, no steal, no run delay, `others_busy_cpus` other CPUs busy). Tests that measure
/// live call this before judging, then change only the field they are about.
pub fn pin_result(path: &Path, samples_ms: &[f64], others_busy_cpus: f64) {
    use bench_gate::platform::EnvDelta;
    use bench_gate::result::RunResult;
    use bench_gate::stats::Summary;

    let mut r = RunResult::read(path).expect("a result written by bench-gate run");
    let summary = Summary::of(samples_ms).expect("finite samples");
    let total_s = samples_ms.iter().sum::<f64>() / 1e3;
    for m in &mut r.models {
        m.samples_ms = samples_ms.to_vec();
        m.latency_ms = summary.clone();
        m.iterations = samples_ms.len() as u32;
        m.avg_latency_ms = summary.mean;
        m.total_time_s = total_s;
        m.rps = samples_ms.len() as f64 / total_s;
        m.during = EnvDelta {
            elapsed_ms: 1000.0 * total_s,
            nr_periods: Some(0),
            nr_throttled: Some(0),
            throttled_time_ns: Some(0),
            throttled_period_ratio: None,
            steal_jiffies: Some(0),
            total_jiffies: Some(1000),
            steal_ratio: Some(0.0),
            run_delay_ms: Some(0.0),
            run_delay_ratio: Some(0.0),
            on_cpu_ms: Some(1000.0 * total_s),
            others_busy_ms: Some(others_busy_cpus * 1000.0 * total_s),
            others_busy_cpus: Some(others_busy_cpus),
        };
    }
    r.write(path).expect("rewrite the result");
}
/// One model of a doctored result: its name, CPU model and the latencies to write.
pub struct Doctored<'a> {
    pub model: &'a str,
    pub cpu: &'a str,
    pub samples_ms: Vec<f64>,
}

/// Writes a result file to `path` holding the given models with exactly these samples (the
/// summary recomputed from them, everything else from the committed micro result), so tests of
/// verdicts, baselines and sizing feed known numbers instead of a live measurement.
pub fn doctored_result(path: &Path, models: &[Doctored<'_>]) {
    let template =
        bench_gate::result::RunResult::read(&repo().join("tests/data/result_micro.json"))
            .expect("the committed micro result reads");
    let mut r = template.clone();
    r.models = models
        .iter()
        .map(|d| {
            let mut m = template.models[0].clone();
            m.name = d.model.to_string();
            m.cpu_model = d.cpu.to_string();
            m.samples_ms = d.samples_ms.clone();
            m.iterations = d.samples_ms.len() as u32;
            m.latency_ms = bench_gate::stats::Summary::of(&d.samples_ms).expect("finite samples");
            m.avg_latency_ms = m.latency_ms.mean;
            m
        })
        .collect();
    std::fs::write(path, r.to_json()).expect("write the doctored result");
}

/// `n` samples spread evenly (+-1%) around `median_ms`.
pub fn samples_around(median_ms: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| median_ms * (0.99 + 0.02 * i as f64 / (n.max(2) - 1) as f64))
        .collect()
}

/// The contract of every user error: exit 2, never a panic or a backtrace, one message starting
/// `error: ` that names each of `names` (the file, flag or key at fault) and says what to do on
/// a line `  fix: ...`. Returns stderr for further checks.
pub fn assert_user_error(out: &std::process::Output, names: &[&str]) -> String {
    let err = stderr_of(out);
    assert_eq!(out.status.code(), Some(2), "expected exit 2: {err}");
    assert!(
        !err.contains("panicked")
            && !err.contains("RUST_BACKTRACE")
            && !err.contains("stack backtrace"),
        "{err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("\n  fix: "), "no `  fix:` line: {err}");
    for name in names {
        assert!(err.contains(name), "does not name {name}: {err}");
    }
    err
}

/// The micro Whisper encoder measured as a plain ONNX model on CPU 0 (`[models.micro]`, one
/// warm-up, 8 iterations): the duet tests' model. `extra` (thresholds, a `[gate]`) is appended.
pub fn micro_encoder_config(extra: &str) -> String {
    format!(
        r#"[run]
cpus = "0"
warmup = 1
iterations = 8

[models.micro]
kind = "onnx"
model = {model:?}

[[models.micro.inputs]]
name = "input_features"
dtype = "f32"
shape = [1, 80, 3000]
fill = {{ random = {{ seed = 1 }} }}

{extra}
"#,
        model = fixture("models/whisper-micro/encoder_model.onnx")
            .display()
            .to_string()
    )
}

/// One op-pair micro model at `model` on CPU 0 (`[models.pair]`, one warm-up, 3 iterations);
/// `extra` is appended.
pub fn op_pair_config(model: &Path, extra: &str) -> String {
    format!(
        r#"[run]
cpus = "0"
warmup = 1
iterations = 3

[models.pair]
kind = "onnx"
model = {model:?}

[[models.pair.inputs]]
name = "x"
dtype = "f32"
shape = [1, 128, 2048]
fill = {{ random = {{ seed = 1 }} }}

{extra}
"#,
        model = model.display().to_string()
    )
}

/// The repository's ONNX Runtime, for a binary started outside the repository (a test's
/// temporary folder): the binary finds `.ort/` from its own folder, which is not under the
/// repository when CARGO_TARGET_DIR points elsewhere. `None` when ORT_DYLIB_PATH already says.
pub fn repo_ort_lib() -> Option<PathBuf> {
    let lib = repo().join(".ort/lib/libonnxruntime.so.1.32.0");
    (std::env::var_os("ORT_DYLIB_PATH").is_none() && lib.is_file()).then_some(lib)
}
