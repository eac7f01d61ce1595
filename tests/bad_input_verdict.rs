//! "Could not decide" is an ordinary verdict, never a setup error: a duet with too few units
//! for an interval is inconclusive, and its verdict file is still one that `report`, `ci` and
//! the PR comment read (issue 18, class 1; `ci`'s case is in tests/ci.rs). A duet whose start-up
//! ate the budget measured nothing before issue 21; start-up is now off the budget's clock, and
//! the slow start here is real (the worker command sleeps before it starts the real
//! `bench-gate ab-worker`). The no-unit case is `compare::ab`'s unit test.

mod common;

use common::*;

/// `--b-cmd` (`--base-cmd` in tests/ci.rs) that starts this build's worker after `delay_s`
/// seconds.
fn slow_worker(delay_s: u32, config: &str) -> String {
    format!(
        "sleep {delay_s}; exec '{}' ab-worker -c {config} --model vad --cpus \"$BENCH_GATE_AB_CPUS\"",
        assert_cmd::cargo::cargo_bin("bench-gate").display()
    )
}

#[test]
fn a_slow_start_is_off_the_clock_and_an_undecided_duet_is_a_verdict_report_reads() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let verdict = dir.path().join("verdict.json");
    let out = bench_gate()
        .args([
            "ab",
            "-q",
            "--budget",
            "1",
            "--worker-pairs",
            "1",
            "--max-units",
            "1",
        ])
        .arg("-c")
        .arg(&cfg)
        .arg("--b-cmd")
        .arg(slow_worker(2, cfg.to_str().unwrap()))
        .arg("-o")
        .arg(&verdict)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    // Inconclusive with on_inconclusive = "warn" (the default): exit 0, like any other.
    assert_eq!(out.status.code(), Some(0), "{err}");
    let text = std::fs::read_to_string(&verdict).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let m = &v["models"][0];
    assert_eq!(m["verdict"], "inconclusive", "{m:#}");
    let reason = m["reasons"][0].as_str().unwrap();
    assert!(
        reason.starts_with("only 1 unit(s) measured") && reason.contains("fix: raise --max-units"),
        "{reason}"
    );
    // The 2 s start did not count against the 1 s budget: the unit was measured after it.
    let duet = &m["duet"];
    assert!(duet["startup_s"].as_f64().unwrap() >= 2.0, "{duet:#}");
    // Both renderings read it and show no NaN.
    let json = bench_gate()
        .args(["report", "--format", "json", "--verdict"])
        .arg(&verdict)
        .output()
        .unwrap();
    let md = bench_gate()
        .args(["report", "--verdict"])
        .arg(&verdict)
        .output()
        .unwrap();
    for r in [&json, &md] {
        let shown = String::from_utf8_lossy(&r.stdout);
        assert_eq!(r.status.code(), Some(0), "{}", stderr_of(r));
        assert!(
            shown.contains("inconclusive") && !shown.contains("NaN"),
            "{shown}"
        );
    }
}
