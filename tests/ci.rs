//! `bench-gate ci` end to end on the micro fixtures: run -> compare -> report, exit codes as
//! compare, files kept for the artifact, workflow annotations on regression.

mod common;

use std::path::Path;

use bench_gate::result::RunResult;
use bench_gate::stats::Summary;
use common::*;

/// The runs pin to CPU 0; two tests measuring at once would contaminate each other (and the
/// gate rightly says so), so the tests of this file take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn ci(cfg: &Path, baselines: &Path, out: &Path) -> std::process::Output {
    bench_gate()
        .args(["ci", "--no-comment", "-q", "--iterations", "5", "-c"])
        .arg(cfg)
        .arg("--baselines")
        .arg(baselines)
        .arg("--out-dir")
        .arg(out)
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap()
}

#[test]
fn without_a_baseline_ci_passes_and_writes_every_file() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let out = ci(&cfg, &dir.path().join("baselines"), dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    for f in ["result.json", "verdict.json", "comment.md"] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let verdict: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("verdict.json")).unwrap())
            .unwrap();
    assert_eq!(verdict["verdict"], "no_baseline");
    let md = std::fs::read_to_string(dir.path().join("comment.md")).unwrap();
    assert!(md.contains("<!-- bench-gate:gate=bench-gate -->"), "{md}");
    assert!(md.to_lowercase().contains("no baseline"), "{md}");
}

#[test]
fn a_baseline_four_times_as_fast_makes_ci_fail_with_an_annotation() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // 50 windows per iteration: milliseconds, not microseconds, so the run is not all noise.
    let cfg = write_config(
        dir.path(),
        &silero_config(SILERO_INPUTS).replace("steps = 4", "steps = 50"),
    );
    let baselines = dir.path().join("baselines");
    // A first run, doctored to be four times as fast, becomes the baseline. (Twice was not
    // enough on the shared VM: medians of separate 5-iteration runs moved 4.3-6.0 ms, and a
    // candidate 36% faster than the first run came out at +27%, inside the noise margin.)
    let first = dir.path().join("first.json");
    let run = bench_gate()
        .args(["run", "-q", "--iterations", "5", "-c"])
        .arg(&cfg)
        .arg("-o")
        .arg(&first)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let mut r = RunResult::read(&first).unwrap();
    for m in &mut r.models {
        m.samples_ms.iter_mut().for_each(|s| *s *= 0.25);
        m.latency_ms = Summary::of(&m.samples_ms).unwrap();
    }
    r.write(&first).unwrap();
    let up = bench_gate()
        .args(["baseline", "update", "--result"])
        .arg(&first)
        .arg("--baselines")
        .arg(&baselines)
        .output()
        .unwrap();
    assert!(up.status.success(), "{}", stderr_of(&up));
    let out = ci(&cfg, &baselines, dir.path());
    let verdict = std::fs::read_to_string(dir.path().join("verdict.json")).unwrap_or_default();
    assert_eq!(out.status.code(), Some(1), "{}\n{verdict}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("::error title=bench-gate regression::vad regressed by +")),
        "{stdout}"
    );
    let md = std::fs::read_to_string(dir.path().join("comment.md")).unwrap();
    assert!(md.to_lowercase().contains("regressed"), "{md}");
}

#[test]
fn ci_refuses_a_missing_out_dir() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let out = ci(
        &cfg,
        &dir.path().join("baselines"),
        &dir.path().join("nope"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--out-dir"), "{}", stderr_of(&out));
}
