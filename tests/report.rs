//! `bench-gate report` end to end: a verdict file (as `compare -o` writes it) in, the comment
//! and its JSON twin out, with the footer's link taken from the Actions environment.

mod common;

use assert_cmd::Command;
use common::*;
use serde_json::json;

fn verdict() -> serde_json::Value {
    json!({
        "schema_version": 1,
        "bench_gate_version": "0.1.0",
        "timestamp": "2024-12-02T10:30:00Z",
        "mode": "compare",
        "verdict": "regressed",
        "exit_code": 1,
        "models": [{
            "model": "whisper-tiny",
            "cpu_model": "Intel Xeon E5-2680 v4",
            "architecture": "x86_64",
            "verdict": "regressed",
            "reasons": ["slower"],
            "contamination": [],
            "metric": "median",
            "test": "log-ratio vs history, z=2.576",
            "change_pct": 12.0,
            "ci_pct": {"low": 9.0, "high": 15.0},
            "noise_pct": 3.0,
            "threshold_pct": 5.0,
            "min_abs_ms": 1.0,
            "on_inconclusive": "warn",
            "baseline": {"source": "BASELINE", "center_ms": 500.0, "runs_used": 2, "runs_total": 2},
            "candidate_ms": 560.0,
            "what_changed": [{"what": "model file encoder.onnx", "baseline": "aaaa", "candidate": "bbbb"}],
            "cpu_models_with_baseline": [],
            "iterations": 50,
            "wall_time_s": 30.0,
            "stop_reason": "count"
        }]
    })
}

#[test]
fn markdown_report_has_marker_verdict_chart_and_run_link() {
    let dir = tempfile::tempdir().unwrap();
    // The history comes from a baseline written the way `baseline update` writes it.
    let baselines = dir.path().join("baselines");
    for median in [495.0, 505.0] {
        let result = dir.path().join("run.json");
        doctored_result(
            &result,
            &[Doctored {
                model: "whisper-tiny",
                cpu: "Intel Xeon E5-2680 v4",
                samples_ms: vec![median; 5],
            }],
        );
        let out = bench_gate()
            .args(["baseline", "update", "--force", "--result"])
            .arg(&result)
            .arg("--baselines")
            .arg(&baselines)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
    let baseline = baselines.join("whisper-tiny/x86_64/intel-xeon-e5-2680-v4.json");
    assert!(baseline.is_file());
    let text = verdict()
        .to_string()
        .replace("BASELINE", &baseline.to_string_lossy());
    let verdict_file = dir.path().join("verdict.json");
    std::fs::write(&verdict_file, text).unwrap();
    let out_file = dir.path().join("comment.md");

    let out = Command::cargo_bin("bench-gate")
        .unwrap()
        .env_clear()
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "acme/stt")
        .env("GITHUB_RUN_ID", "99")
        .env("GITHUB_SHA", "0123456789abcdef")
        .args(["report", "--gate", "pr-gate", "--verdict"])
        .arg(&verdict_file)
        .arg("-o")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = std::fs::read_to_string(&out_file).unwrap();
    let mut lines = md.lines();
    assert_eq!(lines.next(), Some("<!-- bench-gate:gate=pr-gate -->"));
    assert!(
        lines
            .next()
            .unwrap_or_default()
            .contains("❌ **regressed** by +12.0% on Intel Xeon E5-2680 v4"),
        "{md}"
    );
    assert!(
        md.contains("line [495.00, 505.00, 560.00]"),
        "history from the baseline file: {md}"
    );
    assert!(md.contains("| model file encoder.onnx | aaaa | bbbb | whisper-tiny |"));
    assert!(md.contains("[workflow run](https://github.com/acme/stt/actions/runs/99)"));
    assert!(md.contains("commit 0123456789ab"));
}

#[test]
fn json_report_and_bad_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let verdict_file = dir.path().join("verdict.json");
    std::fs::write(&verdict_file, verdict().to_string()).unwrap();
    let out = Command::cargo_bin("bench-gate")
        .unwrap()
        .env_clear()
        .args(["report", "--format", "json", "--verdict"])
        .arg(&verdict_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "regressed");
    assert_eq!(report["models"][0]["candidate_median_ms"], 560.0);

    std::fs::write(&verdict_file, "{\"not\": \"a verdict\"}").unwrap();
    let out = Command::cargo_bin("bench-gate")
        .unwrap()
        .env_clear()
        .args(["report", "--verdict"])
        .arg(&verdict_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a bench-gate verdict"));
}
