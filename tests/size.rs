//! `bench-gate size` end to end on doctored result files (a real micro-Whisper result with the
//! latencies of the brief's worked example written in).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const RESULT: &str = "tests/data/result_micro.json";

/// A copy of the recorded result with one model's CPU, latencies (ms) and peak RSS replaced.
fn doctored(dir: &Path, file: &str, cpu: &str, median: f64, p95: f64) -> PathBuf {
    let text = std::fs::read_to_string(RESULT).expect("recorded result");
    let mut v: Value = serde_json::from_str(&text).expect("json");
    let m = &mut v["models"][0];
    m["cpu_model"] = cpu.into();
    m["memory_mb"] = 1024.0.into();
    let l = &mut m["latency_ms"];
    for key in ["median", "p50", "mean"] {
        l[key] = median.into();
    }
    l["median_ci"]["low"] = median.into();
    l["median_ci"]["high"] = median.into();
    l["p95"] = p95.into();
    let path = dir.join(file);
    std::fs::write(&path, serde_json::to_string_pretty(&v).expect("json")).expect("write");
    path
}

fn config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("sizing.toml");
    std::fs::write(&path, body).expect("write config");
    path
}

const CATALOGUE: &str = r#"
[sizing]
policy = "headroom"
limit_factor = 1.2

[[sizing.instances]]
name = "xeon-4x8"
vcpus = 4
memory_gib = 8
price_per_hour = 0.17
"#;

fn bench_gate() -> Command {
    Command::cargo_bin("bench-gate").expect("binary")
}

#[test]
fn worked_example_end_to_end_m4_200_ms_xeon_500_ms_10_rps() {
    let d = tempfile::tempdir().unwrap();
    let m4 = doctored(d.path(), "m4.json", "Apple M4", 200.0, 240.0);
    let xeon = doctored(d.path(), "xeon.json", "Intel Xeon E5-2680 v4", 500.0, 600.0);
    let cfg = config(d.path(), CATALOGUE);
    let out = d.path().join("sizing.json");
    let ratios = d.path().join("ratio_config.json");
    let assert = bench_gate()
        .args(["size", "--target-rps", "10", "--utilisation", "1.0"])
        .arg("--reference")
        .arg(&m4)
        .arg("--target")
        .arg(&xeon)
        .arg("-c")
        .arg(&cfg)
        .arg("-o")
        .arg(&out)
        .arg("--ratio-config")
        .arg(&ratios)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("**2.5 ± 0**"), "{stdout}");
    assert!(
        stdout.contains("`requests.cpu: 2.5`, `limits.cpu: 3`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cpu: \"2500m\"") && stdout.contains("cpu: \"3\""),
        "{stdout}"
    );

    let json: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 1);
    let m = &json["models"][0];
    assert_eq!(m["ratio"]["value"], 2.5);
    assert_eq!(m["ratio"]["p95_ratio"], 2.5);
    let plan = &m["sizing"]["plan"];
    assert_eq!(plan["cores_needed"], 5.0);
    assert_eq!(plan["pods"], 2);
    assert_eq!(plan["per_pod"]["cpu_request"], 2500);
    assert_eq!(plan["per_pod"]["cpu_limit"], 3000);
    assert_eq!(plan["input"]["source"]["kind"], "measured");
    assert_eq!(m["sizing"]["fit"]["instance"]["name"], "xeon-4x8");

    let table: Value = serde_json::from_str(&std::fs::read_to_string(&ratios).unwrap()).unwrap();
    assert_eq!(table["reference_cpu"], "Apple M4");
    assert_eq!(table["ratios"]["Intel Xeon E5-2680 v4"]["value"], 2.5);
}

#[test]
fn without_a_target_measurement_the_xeon_is_derived_from_the_table_and_says_so() {
    let d = tempfile::tempdir().unwrap();
    let m4 = doctored(d.path(), "m4.json", "Apple M4", 200.0, 240.0);
    let xeon = doctored(d.path(), "xeon.json", "Intel Xeon E5-2680 v4", 500.0, 600.0);
    let cfg = config(d.path(), CATALOGUE);
    let ratios = d.path().join("ratio_config.json");
    bench_gate()
        .arg("size")
        .arg("--reference")
        .arg(&m4)
        .arg("--target")
        .arg(&xeon)
        .arg("--ratio-config")
        .arg(&ratios)
        .arg("-c")
        .arg(&cfg)
        .assert()
        .success();
    let out = d.path().join("derived.json");
    let assert = bench_gate()
        .args(["size", "--target-rps", "10", "--utilisation", "1.0"])
        .arg("--reference")
        .arg(&m4)
        .arg("--ratios")
        .arg(&ratios)
        .arg("-c")
        .arg(&cfg)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("200 ms on Apple M4 × 2.5"), "{stdout}");
    assert!(stdout.contains("has no measurement of its own"), "{stdout}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let plan = &json["models"][0]["sizing"]["plan"];
    assert_eq!(plan["input"]["source"]["kind"], "derived");
    assert_eq!(plan["per_pod"]["cpu_request"], 2500);
    assert_eq!(plan["per_pod"]["cpu_limit"], 3000);
}

fn fails_with(cmd: &mut Command, needles: &[&str]) {
    let out = cmd.assert().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(stderr.contains(n), "missing `{n}` in:\n{stderr}");
    }
}

#[test]
fn zero_or_negative_target_rps_is_a_user_error() {
    let d = tempfile::tempdir().unwrap();
    let m4 = doctored(d.path(), "m4.json", "Apple M4", 200.0, 240.0);
    let xeon = doctored(d.path(), "xeon.json", "Intel Xeon", 500.0, 600.0);
    for rps in ["0", "-5"] {
        fails_with(
            bench_gate()
                .args(["size", "--target-rps", rps])
                .arg("--reference")
                .arg(&m4)
                .arg("--target")
                .arg(&xeon),
            &[&format!("--target-rps {rps}"), "positive", "fix:"],
        );
    }
}

#[test]
fn a_ratio_between_different_models_or_fixtures_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let m4 = doctored(d.path(), "m4.json", "Apple M4", 200.0, 240.0);
    let xeon = doctored(d.path(), "xeon.json", "Intel Xeon", 500.0, 600.0);
    // Same model name, different fixture: refused naming both identities.
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&xeon).unwrap()).unwrap();
    v["models"][0]["fingerprint"]["fixture"] = "0".repeat(64).into();
    let other_fixture = d.path().join("other-fixture.json");
    std::fs::write(&other_fixture, v.to_string()).unwrap();
    fails_with(
        bench_gate()
            .args(["size", "--target-rps", "10"])
            .arg("--reference")
            .arg(&m4)
            .arg("--target")
            .arg(&other_fixture),
        &[
            "cannot take a ratio",
            "fixture 000000000000",
            "same fixture",
        ],
    );
    // A different model altogether: nothing in common.
    v["models"][0]["name"] = "phobert".into();
    let other_model = d.path().join("other-model.json");
    std::fs::write(&other_model, v.to_string()).unwrap();
    fails_with(
        bench_gate()
            .arg("size")
            .arg("--reference")
            .arg(&m4)
            .arg("--target")
            .arg(&other_model),
        &["no model in common", "whisper-micro", "phobert"],
    );
}

#[test]
fn a_zero_price_in_the_catalogue_is_a_config_error_with_its_position() {
    let d = tempfile::tempdir().unwrap();
    let m4 = doctored(d.path(), "m4.json", "Apple M4", 200.0, 240.0);
    let xeon = doctored(d.path(), "xeon.json", "Intel Xeon", 500.0, 600.0);
    let cfg = config(
        d.path(),
        "[sizing]\n[[sizing.instances]]\nname = \"free\"\nvcpus = 4\nmemory_gib = 8\nprice_per_hour = 0\n",
    );
    fails_with(
        bench_gate()
            .args(["size", "--target-rps", "10"])
            .arg("--reference")
            .arg(&m4)
            .arg("--target")
            .arg(&xeon)
            .arg("-c")
            .arg(&cfg),
        &["sizing.toml:6:18", "price_per_hour", "free"],
    );
}
