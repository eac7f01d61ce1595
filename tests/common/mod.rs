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
