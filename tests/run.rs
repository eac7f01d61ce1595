//! `bench-gate run` end to end on the committed micro fixtures, with the real ONNX Runtime.

mod common;

use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn sha256(path: &std::path::Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn micro_config_writes_a_complete_result() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("result.json");
    let cfg = fixture("configs/micro.toml");
    let run = bench_gate()
        .args(["run", "-c"])
        .arg(&cfg)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["ort"]["version"], "1.32.0");
    assert!(
        r["environment"]["cpu"]["model"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    let models = r["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    for m in models {
        // Every field of the team's planned format.
        for key in [
            "timestamp",
            "architecture",
            "cpu_model",
            "model_size",
            "iterations",
            "avg_latency_ms",
            "total_time_s",
            "rps",
            "cpu_limit",
            "memory_mb",
        ] {
            assert!(m.get(key).is_some(), "missing {key} in {}", m["name"]);
        }
        let n = m["iterations"].as_u64().unwrap();
        assert_eq!(n, 5);
        let samples = m["samples_ms"].as_array().unwrap();
        assert_eq!(samples.len() as u64, n);
        let l = &m["latency_ms"];
        let (min, med, max) = (
            l["min"].as_f64().unwrap(),
            l["median"].as_f64().unwrap(),
            l["max"].as_f64().unwrap(),
        );
        assert!(min > 0.0 && min <= med && med <= max);
        assert!(
            l["median_ci"]["low"].as_f64().unwrap() <= med
                && med <= l["median_ci"]["high"].as_f64().unwrap()
        );
        let rps = m["rps"].as_f64().unwrap();
        let total = m["total_time_s"].as_f64().unwrap();
        assert!((rps - n as f64 / total).abs() < 1e-6 * rps);
        assert!(m["memory_mb"].as_f64().unwrap() > 10.0);
        assert_eq!(m["pinned_cpus"], serde_json::json!([0]));
    }
    let w = models
        .iter()
        .find(|m| m["name"] == "whisper-micro")
        .unwrap();
    let stages: Vec<&str> = w["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["features", "encoder", "decoder"]);
    assert_eq!(w["tokens_per_iteration"], 8);
    assert!(w["stages"][2]["per_token_median_ms"].as_f64().unwrap() > 0.0);
    // RTF = audio seconds / processing seconds of the median iteration.
    let rtf = w["rtf"].as_f64().unwrap();
    assert!((rtf - 30.0 / (w["latency_ms"]["median"].as_f64().unwrap() / 1e3)).abs() < 1e-6 * rtf);
    let enc = fixture("models/whisper-micro/encoder_model.onnx");
    assert_eq!(
        w["fingerprint"]["models"]["encoder_model.onnx"],
        sha256(&enc)
    );
    assert_eq!(
        w["fingerprint"]["fixture"],
        sha256(&fixture("audio/vi_speech_30s.wav"))
    );
    // The third-party model, described only in TOML, ran its recurrent state through 20 steps.
    let v = models.iter().find(|m| m["name"] == "silero-vad").unwrap();
    assert_eq!(v["kind"], "onnx");
    assert!(v["rtf"].is_null());
}

#[test]
fn json_format_prints_the_result_and_quiet_prints_no_progress() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let run = bench_gate()
        .args(["run", "--quiet", "--format", "json", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    assert!(
        run.stderr.is_empty(),
        "quiet run printed: {}",
        stderr_of(&run)
    );
    let r: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(r["models"][0]["name"], "vad");
    assert_eq!(r["models"][0]["iterations"], 2);
}

#[test]
fn cli_overrides_iterations_and_model_selection() {
    let run = bench_gate()
        .args([
            "run",
            "--quiet",
            "--format",
            "json",
            "-m",
            "silero-vad",
            "--iterations",
            "3",
            "--warmup",
            "0",
            "-c",
        ])
        .arg(fixture("configs/micro.toml"))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let r: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(r["models"].as_array().unwrap().len(), 1);
    assert_eq!(r["models"][0]["iterations"], 3);
    assert_eq!(r["models"][0]["warmup"], 0);
}

#[test]
fn auto_iterations_stop_on_precision_or_budget_and_say_which() {
    let dir = tempfile::tempdir().unwrap();
    let text = silero_config(SILERO_INPUTS)
        .replace("iterations = 2", "iterations = \"auto\"\ntime_budget_s = 3");
    let cfg = write_config(dir.path(), &text);
    let run = bench_gate()
        .args(["run", "--quiet", "--format", "json", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let r: Value = serde_json::from_slice(&run.stdout).unwrap();
    let m = &r["models"][0];
    let reason = m["stop_reason"].as_str().unwrap();
    assert!(["precision", "budget", "cap"].contains(&reason), "{reason}");
    assert!(
        m["iterations"].as_u64().unwrap() >= 10,
        "auto keeps at least 10 samples"
    );
    if reason == "precision" {
        let l = &m["latency_ms"];
        let half = (l["median_ci"]["high"].as_f64().unwrap()
            - l["median_ci"]["low"].as_f64().unwrap())
            / 2.0;
        assert!(half / l["median"].as_f64().unwrap() <= 0.01 + 1e-9);
    }
}

#[test]
fn env_reports_cpu_and_runtime() {
    let out = bench_gate()
        .args(["env", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ort"]["version"], "1.32.0");
    assert_eq!(
        v["environment"]["cpu"]["architecture"],
        std::env::consts::ARCH
    );
    assert!(!v["environment"]["affinity"].as_array().unwrap().is_empty());
    let table = bench_gate().arg("env").output().unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("CPU model") && text.contains("1.32.0"),
        "{text}"
    );
}

#[test]
fn env_label_from_config_replaces_the_cpu_model() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &silero_config(SILERO_INPUTS).replace("[run]", "[run]\ncpu_label = \"Apple M4 (docker)\""),
    );
    let out = bench_gate()
        .args(["env", "--format", "json", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["environment"]["cpu"]["model"], "Apple M4 (docker)");
    assert_eq!(v["environment"]["cpu"]["model_source"], "config");
}
