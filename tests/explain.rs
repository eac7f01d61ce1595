//! Explaining a regression, end to end through the binary: the per-operator breakdown of a real
//! profiled pass on real ONNX Runtime, the memory gate, and `trend` over a long series.
//!
//! Nothing here asserts a timing or the statistical outcome of a live measurement: verdicts are
//! reached on result and series files whose numbers are written in by the test. The one live
//! fact relied on is the op-pair fixture's: a 1 GFLOP MatMul takes far longer than two
//! elementwise kernels on 0.26 M elements (fixtures/gen_op_pair.py).

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn bin(&self) -> Command {
        let mut c = Command::cargo_bin("bench-gate").unwrap();
        c.current_dir(self.dir.path());
        if let Some(lib) = common::repo_ort_lib() {
            c.env("ORT_DYLIB_PATH", lib);
        }
        c
    }

    /// A config for one op-pair model, gating memory at 10%.
    fn config(&self, name: &str, model: &str) -> PathBuf {
        let path = self.p(name);
        let text = common::op_pair_config(
            &common::fixture(&format!("models/op-pair/{model}")),
            r#"[thresholds.x86_64]
max_regression_pct = 5.0
max_memory_regression_pct = 10.0

[thresholds.aarch64]
max_regression_pct = 5.0
max_memory_regression_pct = 10.0"#,
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// Writes in a run's numbers: 20 samples around `median_ms` (+-2%), the summary that goes with
/// them, a clean environment, and the peak memory.
fn doctor(path: &Path, median_ms: f64, memory_mb: f64) {
    let mut v = read(path);
    for m in v["models"].as_array_mut().unwrap() {
        let samples: Vec<f64> = (0..20)
            .map(|i| median_ms * (1.0 + 0.01 * f64::from((i * 7) % 5 - 2)))
            .collect();
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        m["samples_ms"] = json!(samples);
        m["iterations"] = json!(20);
        m["memory_mb"] = json!(memory_mb);
        let l = &mut m["latency_ms"];
        for k in ["median", "p50", "mean"] {
            l[k] = json!(median_ms);
        }
        for k in ["p75", "p90", "p95", "p99", "max"] {
            l[k] = json!(sorted[19]);
        }
        l["min"] = json!(sorted[0]);
        l["n"] = json!(20);
        l["cv"] = json!(0.014);
        l["median_ci"] =
            json!({"low": median_ms * 0.99, "high": median_ms * 1.01, "confidence": 0.95});
        m["during"] = json!({ "elapsed_ms": 1000.0 });
    }
    write(path, &v);
}

#[test]
fn a_model_pair_that_differs_in_one_operator_shows_that_operator_first() {
    let d = Dir::new();
    let base_cfg = d.config("base.toml", "base.onnx");
    let cand_cfg = d.config("cand.toml", "extra_matmul.onnx");
    let keep = d.p("traces");
    d.bin()
        .args(["run", "-q", "-o", "base.json", "--keep-profiles"])
        .arg(&keep)
        .arg("-c")
        .arg(&base_cfg)
        .assert()
        .success();
    d.bin()
        .args(["run", "-q", "-o", "cand.json", "-c"])
        .arg(&cand_cfg)
        .assert()
        .success();
    // The real breakdowns, as `run` stored them.
    let cand = read(&d.p("cand.json"));
    let ops = &cand["models"][0]["operators"];
    let names: Vec<&str> = ops["by_op"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["op_type"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{ops}");
    assert!(names.contains(&"MatMul") && names.contains(&"Relu") && names.contains(&"Neg"));
    assert_eq!(ops["runs"], 1);
    assert!(
        keep.join("pair/base-00001.json").is_file(),
        "raw trace kept"
    );
    // Written-in latencies and memory, so the verdict does not depend on this machine.
    doctor(&d.p("base.json"), 10.0, 200.0);
    doctor(&d.p("cand.json"), 15.0, 202.0);
    d.bin()
        .args([
            "baseline",
            "update",
            "--baselines",
            "bl",
            "--result",
            "base.json",
        ])
        .assert()
        .success();
    let out = d
        .bin()
        .args([
            "compare",
            "--baselines",
            "bl",
            "--result",
            "cand.json",
            "-o",
            "v.json",
            "-c",
        ])
        .arg(&cand_cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = read(&d.p("v.json"));
    let m = &v["models"][0];
    assert_eq!(m["verdict"], "regressed");
    let a = &m["operators"];
    assert_eq!(a["by_op"][0]["name"], "MatMul", "{a}");
    assert_eq!(a["by_op"][0]["presence"], "new", "{a}");
    assert_eq!(a["nodes"][0]["name"], "matmul", "{a}");
    assert_eq!(a["nodes"][0]["op_type"], "MatMul", "{a}");
    assert!(
        a["note"]
            .as_str()
            .unwrap()
            .contains("not whether the change is real"),
        "{a}"
    );
    // Memory is its own line: +1% passes the 10% gate.
    assert_eq!(m["memory"]["verdict"], "pass", "{m}");
    assert_eq!(m["latency_verdict"], "regressed");
    let md = d
        .bin()
        .args(["report", "--verdict", "v.json", "--result", "cand.json"])
        .output()
        .unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    let section = md.split("### Where the time went: pair").nth(1).unwrap();
    let first_row = section
        .lines()
        .find(|l| l.starts_with("| ") && !l.starts_with("| Operator"))
        .unwrap();
    assert!(
        first_row.starts_with("| MatMul (only in this run) | — |"),
        "{first_row}"
    );
    assert!(section.contains("for attribution, not for the verdict"));
}

#[test]
fn memory_beyond_its_threshold_regresses_with_its_own_line_while_latency_passes() {
    let d = Dir::new();
    let cfg = d.config("bench.toml", "base.onnx");
    std::fs::copy(
        common::repo().join("tests/data/result_micro.json"),
        d.p("a.json"),
    )
    .unwrap();
    std::fs::copy(
        common::repo().join("tests/data/result_micro.json"),
        d.p("b.json"),
    )
    .unwrap();
    for (i, mb) in [200.0, 201.0, 199.0].iter().enumerate() {
        let mut v = read(&d.p("a.json"));
        v["models"][0]["name"] = json!("pair");
        v["models"][0]["timestamp"] = json!(format!("2026-01-0{}T02:00:00Z", i + 1));
        write(&d.p("a.json"), &v);
        doctor(&d.p("a.json"), 10.0, *mb);
        d.bin()
            .args([
                "baseline",
                "update",
                "--baselines",
                "bl",
                "--result",
                "a.json",
            ])
            .assert()
            .success();
    }
    let mut v = read(&d.p("b.json"));
    v["models"][0]["name"] = json!("pair");
    write(&d.p("b.json"), &v);
    doctor(&d.p("b.json"), 10.0, 240.0);
    let out = d
        .bin()
        .args([
            "compare",
            "--baselines",
            "bl",
            "--result",
            "b.json",
            "--format",
            "json",
            "-c",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &v["models"][0];
    assert_eq!(m["verdict"], "regressed");
    assert_eq!(m["latency_verdict"], "pass");
    assert_eq!(m["memory"]["verdict"], "regressed");
    assert_eq!(m["memory"]["baseline_mb"], 200.0);
    assert_eq!(m["memory"]["runs_used"], 3);
    assert!((m["memory"]["change_pct"].as_f64().unwrap() - 20.0).abs() < 1e-9);
    assert!(
        m.get("operators").is_none(),
        "latency passed: no attribution"
    );
    // The terminal table says it in its own line.
    let out = d
        .bin()
        .args(["compare", "--baselines", "bl", "--result", "b.json", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("pair: peak memory 240 MiB vs 200 MiB (+20.0% ["),
        "{table}"
    );
    assert!(table.contains("regressed (threshold 10%)"), "{table}");
}

/// A series file with `n` nightly runs: median 400 ms (x1.10 from run `step` on when given),
/// a deterministic +-1% wiggle, peak memory 250 MiB.
fn series(root: &Path, n: usize, step: Option<usize>) -> PathBuf {
    let dir = root.join("whisper-tiny/x86_64");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("intel-xeon-platinum-8480.series.jsonl");
    let mut text = String::from(
        r#"{"schema_version":1,"model":"whisper-tiny","architecture":"x86_64","cpu_model":"Intel Xeon Platinum 8480+"}"#,
    );
    text.push('\n');
    for i in 0..n {
        let wiggle = 1.0 + 0.01 * ((i as f64 * 2.399).sin() + 0.5 * (i as f64 * 0.731).cos()) / 1.5;
        let level = if step.is_some_and(|s| i >= s) {
            1.10
        } else {
            1.0
        };
        let ms = 400.0 * wiggle * level;
        let line = json!({
            "t": format!("2026-{:02}-{:02}T02:17:00Z", 1 + i / 28, 1 + i % 28),
            "commit": format!("{:040x}", 0xabc000 + i),
            "median_ms": ms,
            "p95_ms": ms * 1.05,
            "ci_ms": [ms * 0.99, ms * 1.01],
            "memory_mb": 250.0,
            "n": 20,
            "ort": "1.32.0",
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn trend_finds_the_planted_step_opens_one_issue_and_updates_it_the_next_night() {
    let d = Dir::new();
    series(&d.p("bl"), 70, Some(55));
    let out = d
        .bin()
        .args([
            "trend",
            "--baselines",
            "bl",
            "--format",
            "json",
            "--issues-dir",
            "issues",
        ])
        .args(["--repo-url", "https://github.com/acme/speech"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = v["series"][0]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{steps:?}");
    let s = &steps[0];
    assert_eq!(s["metric"], "latency");
    assert_eq!(s["index"], 55);
    assert_eq!(s["before"]["commit"], format!("{:040x}", 0xabc000 + 54));
    assert_eq!(s["after"]["commit"], format!("{:040x}", 0xabc000 + 55));
    assert!(
        (s["change_pct"].as_f64().unwrap() - 10.0).abs() < 1.0,
        "{s}"
    );
    let plan = std::fs::read_to_string(d.p("issues/plan.tsv")).unwrap();
    let lines: Vec<&str> = plan.lines().collect();
    assert_eq!(lines.len(), 1, "{plan}");
    let fields: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(fields[0], "create");
    assert_eq!(fields[1], "-");
    assert!(
        fields[3].starts_with("bench-gate: whisper-tiny got slower by "),
        "{plan}"
    );
    let body = std::fs::read_to_string(fields[2])
        .unwrap_or_else(|_| std::fs::read_to_string(d.dir.path().join(fields[2])).unwrap());
    assert!(body.contains("/compare/"), "{body}");
    // The next night: one more run, and the issue the first night opened is known.
    series(&d.p("bl"), 71, Some(55));
    let known = json!([{ "number": 12, "state": "OPEN", "body": body }]);
    std::fs::write(d.p("known.json"), known.to_string()).unwrap();
    d.bin()
        .args(["trend", "--baselines", "bl", "--issues-dir", "issues2"])
        .args(["--known-issues", "known.json"])
        .assert()
        .success();
    let plan = std::fs::read_to_string(d.p("issues2/plan.tsv")).unwrap();
    assert_eq!(plan.lines().count(), 1, "{plan}");
    assert!(plan.starts_with("update\t12\t"), "{plan}");
}

#[test]
fn trend_on_a_flat_series_finds_nothing_and_plans_no_issue() {
    let d = Dir::new();
    series(&d.p("bl"), 90, None);
    let out = d
        .bin()
        .args(["trend", "--baselines", "bl", "--issues-dir", "issues"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("no step"), "{text}");
    assert_eq!(std::fs::read_to_string(d.p("issues/plan.tsv")).unwrap(), "");
}

#[test]
fn trend_refuses_a_broken_series_or_issue_list_naming_the_file_and_line() {
    let d = Dir::new();
    let path = series(&d.p("bl"), 10, None);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"t\": \"yesterday\"}\n");
    std::fs::write(&path, text).unwrap();
    let out = d
        .bin()
        .args(["trend", "--baselines", "bl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("intel-xeon-platinum-8480.series.jsonl"),
        "{err}"
    );
    assert!(err.contains("line 12"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let d = Dir::new();
    series(&d.p("bl"), 10, None);
    std::fs::write(d.p("known.json"), r#"[{"state": "OPEN"}]"#).unwrap();
    let out = d
        .bin()
        .args([
            "trend",
            "--baselines",
            "bl",
            "--issues-dir",
            "i",
            "--known-issues",
            "known.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("known.json") && err.contains("number"),
        "{err}"
    );

    let out = d
        .bin()
        .args([
            "trend",
            "--baselines",
            "bl",
            "--permutations",
            "50",
            "--significance",
            "0.001",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("raise --permutations")
    );
}

#[test]
fn baseline_update_keeps_the_series_and_the_latest_breakdown() {
    let d = Dir::new();
    std::fs::copy(
        common::repo().join("tests/data/result_micro.json"),
        d.p("r.json"),
    )
    .unwrap();
    let mut v = read(&d.p("r.json"));
    v["models"][0]["operators"] = json!({
        "runs": 1, "total_ms": 2.0, "wall_ms": 3.0,
        "by_op": [{"op_type": "MatMul", "total_ms": 2.0, "share": 1.0, "count": 4}],
        "nodes": [{"node": "mm", "op_type": "MatMul", "total_ms": 2.0, "share": 1.0, "count": 4}]
    });
    write(&d.p("r.json"), &v);
    for _ in 0..2 {
        d.bin()
            .args([
                "baseline",
                "update",
                "--baselines",
                "bl",
                "--result",
                "r.json",
            ])
            .assert()
            .success();
    }
    let dir = d.p("bl/whisper-micro/x86_64");
    let base = read(&dir.join("intel-r-xeon-r-processor.json"));
    assert_eq!(base["schema_version"], 3);
    assert_eq!(base["runs"].as_array().unwrap().len(), 2);
    assert_eq!(base["runs"][0]["memory_mb"], 133.07421875);
    assert_eq!(
        base["operators"]["breakdown"]["by_op"][0]["op_type"],
        "MatMul"
    );
    let series =
        std::fs::read_to_string(dir.join("intel-r-xeon-r-processor.series.jsonl")).unwrap();
    // Header + one point: the same run twice is one point.
    assert_eq!(series.lines().count(), 2, "{series}");
    assert!(
        series
            .lines()
            .nth(1)
            .unwrap()
            .contains("\"memory_mb\":133.0742")
    );
}
