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
