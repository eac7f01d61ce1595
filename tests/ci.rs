//! `bench-gate ci` end to end on the micro fixtures: run -> compare -> report, exit codes as
//! compare, files kept for the artifact, workflow annotations on regression.

mod common;

use std::path::Path;

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
    let verdict: serde_json::Value = read_json(&dir.path().join("verdict.json"));
    assert_eq!(verdict["verdict"], "no_baseline");
    let md = std::fs::read_to_string(dir.path().join("comment.md")).unwrap();
    assert!(md.contains("<!-- bench-gate:gate=bench-gate -->"), "{md}");
    assert!(md.to_lowercase().contains("no baseline"), "{md}");
}

/// A live run, pinned to known samples, against a baseline made of the same run doctored to be
/// twice as fast: `ci --result` judges it without measuring again, so the exit code is the
/// gate's rule, not the machine's noise.
#[test]
fn a_baseline_four_times_as_fast_makes_ci_fail_with_an_annotation() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let baselines = dir.path().join("baselines");
    let run_json = dir.path().join("run.json");
    let run = bench_gate()
        .args(["run", "-q", "--iterations", "3", "-c"])
        .arg(&cfg)
        .arg("-o")
        .arg(&run_json)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr_of(&run));
    let fast = dir.path().join("fast.json");
    std::fs::copy(&run_json, &fast).unwrap();
    pin_result(&fast, &known_samples(5.0, 20), 0.0);
    pin_result(&run_json, &known_samples(10.0, 20), 0.0);
    let up = bench_gate()
        .args(["baseline", "update", "--result"])
        .arg(&fast)
        .arg("--baselines")
        .arg(&baselines)
        .output()
        .unwrap();
    assert!(up.status.success(), "{}", stderr_of(&up));
    let out = bench_gate()
        .args(["ci", "--no-comment", "-q", "-c"])
        .arg(&cfg)
        .arg("--baselines")
        .arg(&baselines)
        .arg("--out-dir")
        .arg(dir.path())
        .arg("--result")
        .arg(&run_json)
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    let verdict = std::fs::read_to_string(dir.path().join("verdict.json")).unwrap_or_default();
    assert_eq!(out.status.code(), Some(1), "{}\n{verdict}", stderr_of(&out));
    assert!(
        !dir.path().join("result.json").exists(),
        "--result: nothing measured"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("::error title=bench-gate regression::vad regressed by +100.0%")),
        "{stdout}"
    );
    let md = std::fs::read_to_string(dir.path().join("comment.md")).unwrap();
    assert!(md.to_lowercase().contains("regressed"), "{md}");
}

#[test]
fn ci_with_a_result_refuses_measuring_flags() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let out = bench_gate()
        .args([
            "ci",
            "--no-comment",
            "--result",
            "r.json",
            "--iterations",
            "3",
            "-c",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("--iterations"),
        "{}",
        stderr_of(&out)
    );
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
    assert_user_error(&out, &["--out-dir", "mkdir -p"]);
}

/// A JSON file this run wrote (verdict.json, compare.json).
fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ci_duet(cfg: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    bench_gate()
        .args(["ci", "--no-comment", "-q", "--max-units", "2", "-c"])
        .arg(cfg)
        .arg("--baselines")
        .arg(out.join("baselines"))
        .arg("--out-dir")
        .arg(out)
        .args(extra)
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap()
}

/// The duet decides (its verdict is whatever the machine's noise makes of 2 units: only the
/// shape is checked), and the committed-baseline comparison is shown beside it.
#[test]
fn the_duet_of_base_and_head_decides_and_compare_is_a_second_opinion() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let head = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let base_dir = dir.path().join("base");
    std::fs::create_dir(&base_dir).unwrap();
    let base = write_config(&base_dir, &silero_config(SILERO_INPUTS));
    let out = ci_duet(
        &head,
        dir.path(),
        &["--base-config", base.to_str().unwrap()],
    );
    let code = out.status.code().unwrap();
    assert!([0, 1, 3].contains(&code), "{}", stderr_of(&out));
    let v: serde_json::Value = read_json(&dir.path().join("verdict.json"));
    assert_eq!(v["mode"], "ab");
    assert_eq!(v["exit_code"], code);
    let m = &v["models"][0];
    assert_eq!(m["model"], "vad");
    assert_eq!(m["rounds"].as_array().unwrap().len(), 2);
    assert!(m["test"].as_str().unwrap().starts_with("duet:"), "{m}");
    let second: serde_json::Value = read_json(&dir.path().join("compare.json"));
    assert_eq!(second["mode"], "compare");
    assert_eq!(second["verdict"], "no_baseline");
    assert_eq!(m["baseline"]["source"], "variant A (base)", "{m}");
    let md = std::fs::read_to_string(dir.path().join("comment.md")).unwrap();
    assert!(md.contains("**Second opinion**"), "{md}");
    // The duet's columns say base and head, never the history's words.
    assert!(
        md.contains("| Base median | Head median | Base p95 | Head p95 |"),
        "{md}"
    );
    assert!(!md.contains("This run median"), "{md}");
}

#[test]
fn a_model_only_the_head_has_gets_no_duet_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let head = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let base_dir = dir.path().join("base");
    std::fs::create_dir(&base_dir).unwrap();
    let base = write_config(
        &base_dir,
        &silero_config(SILERO_INPUTS).replace("models.vad", "models.old"),
    );
    let out = ci_duet(
        &head,
        dir.path(),
        &[
            "--base-config",
            base.to_str().unwrap(),
            "--no-second-opinion",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let v: serde_json::Value = read_json(&dir.path().join("verdict.json"));
    assert_eq!(v["models"][0]["verdict"], "no_baseline");
    assert!(
        v["models"][0]["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("new model"),
        "{v:#}"
    );
    assert!(!dir.path().join("compare.json").exists());
}

#[test]
fn a_base_that_did_not_build_or_does_not_start_is_a_setup_error_not_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    let head = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let out = ci_duet(
        &head,
        dir.path(),
        &[
            "--base-config",
            head.to_str().unwrap(),
            "--base-bin",
            "/nonexistent/bench-gate",
        ],
    );
    assert_user_error(&out, &["--base-bin", "did the base fail to build?"]);
    let out = ci_duet(&head, dir.path(), &["--base-cmd", "echo gone >&2; exit 7"]);
    let err = assert_user_error(&out, &["--base-cmd"]);
    assert!(
        err.contains("variant A (base)")
            && err.contains("not a regression")
            && err.contains("gone"),
        "{err}"
    );
}

/// `--base-bin basebg` is the file `basebg` in the current folder: never a `PATH` lookup that
/// could run another program of that name. The `basebg` on `PATH` here would leave a marker.
#[test]
fn base_bin_is_a_path_from_the_current_folder_never_looked_up_on_path() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let decoy_dir = dir.path().join("decoy");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&decoy_dir).unwrap();
    std::fs::copy(
        assert_cmd::cargo::cargo_bin("bench-gate"),
        work.join("basebg"),
    )
    .unwrap();
    let marker = dir.path().join("decoy-ran");
    let decoy = decoy_dir.join("basebg");
    std::fs::write(
        &decoy,
        format!("#!/bin/sh\ntouch '{}'\nexit 1\n", marker.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&decoy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        decoy_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cfg = write_config(&work, &silero_config(SILERO_INPUTS));
    let out = bench_gate()
        .current_dir(&work)
        .env("PATH", path)
        .env("ORT_DYLIB_PATH", repo().join(".ort/lib/libonnxruntime.so"))
        .args(["ci", "--no-comment", "-q", "--max-units", "2", "-c"])
        .arg(&cfg)
        .args(["--base-config", "benchmark.toml", "--base-bin", "basebg"])
        .args(["--no-second-opinion", "--out-dir", "."])
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    assert!(!marker.exists(), "the `basebg` on PATH ran");
    let code = out.status.code().unwrap();
    assert!([0, 1, 3].contains(&code), "{}", stderr_of(&out));
    let v: serde_json::Value = read_json(&work.join("verdict.json"));
    assert_eq!(v["models"][0]["rounds"].as_array().unwrap().len(), 2);
}

#[test]
fn a_base_bin_that_is_a_folder_or_not_executable_is_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let head = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let plain = dir.path().join("plain");
    std::fs::write(&plain, "not a program").unwrap();
    for (bad, says) in [
        (dir.path().to_path_buf(), "is not a file"),
        (plain, "is not executable"),
    ] {
        let out = ci_duet(
            &head,
            dir.path(),
            &[
                "--base-config",
                head.to_str().unwrap(),
                "--base-bin",
                bad.to_str().unwrap(),
            ],
        );
        assert_user_error(&out, &["--base-bin", bad.to_str().unwrap(), says]);
        assert!(!dir.path().join("verdict.json").exists(), "nothing ran");
    }
}

/// A result.json and compare.json left in --out-dir by an earlier run (here garbage) are not
/// this run's: a duet without a second opinion writes neither, so it reads neither.
#[test]
fn files_left_in_the_out_dir_by_an_earlier_run_are_never_read_as_this_runs() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let head = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let stale = "STALE-FROM-AN-EARLIER-RUN {";
    for f in ["result.json", "compare.json"] {
        std::fs::write(dir.path().join(f), stale).unwrap();
    }
    let out = ci_duet(
        &head,
        dir.path(),
        &[
            "--base-config",
            head.to_str().unwrap(),
            "--no-second-opinion",
        ],
    );
    let err = stderr_of(&out);
    let code = out.status.code().unwrap();
    assert!([0, 1, 3].contains(&code), "{err}");
    let v: serde_json::Value = read_json(&dir.path().join("verdict.json"));
    assert_eq!(v["exit_code"], code, "the duet's verdict decides");
    let md = std::fs::read_to_string(dir.path().join("comment.md")).unwrap();
    assert!(
        !md.contains("STALE") && !md.contains("**Second opinion**"),
        "{md}"
    );
    assert!(err.contains("result.json is from an earlier run"), "{err}");
    for f in ["result.json", "compare.json"] {
        let kept = std::fs::read_to_string(dir.path().join(f)).unwrap();
        assert_eq!(kept, stale, "{f} is left untouched");
    }
}

/// "Could not decide" is a verdict through `ci` too: a base whose worker takes 2 s to start
/// (off the 1 s budget's clock, so the duet still measures) with too few units for an interval
/// ends inconclusive (exit 0 with on_inconclusive = "warn"), not as a setup error (exit 2,
/// "verdict.json is not a verdict file" before).
#[test]
fn ci_with_a_slow_starting_base_and_too_few_units_is_inconclusive_not_a_setup_error() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let base = format!(
        "sleep 2; exec '{}' ab-worker -c {} --model vad --cpus \"$BENCH_GATE_AB_CPUS\"",
        assert_cmd::cargo::cargo_bin("bench-gate").display(),
        cfg.display()
    );
    let out = ci_duet(
        &cfg,
        dir.path(),
        &["--budget", "1", "--no-second-opinion", "--base-cmd", &base],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let v = read_json(&dir.path().join("verdict.json"));
    assert_eq!(v["verdict"], "inconclusive", "{v:#}");
    let comment = std::fs::read_to_string(dir.path().join("comment.md")).unwrap();
    assert!(
        comment.contains("inconclusive") && comment.contains("only 2 unit(s) measured"),
        "{comment}"
    );
    assert!(!comment.contains("NaN"), "{comment}");
    let duet = &v["models"][0]["duet"];
    assert!(duet["startup_s"].as_f64().unwrap() >= 2.0, "{duet:#}");
}
