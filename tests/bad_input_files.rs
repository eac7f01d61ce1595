//! Hostile files for the commands that read them (results, baselines, verdicts, sizing, ratio
//! tables) and hostile output paths: exit 2, the right file named, nothing overwritten. Result
//! files are doctored with known numbers, never measured here.

mod common;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use common::*;

fn refused(out: &std::process::Output) -> String {
    assert_user_error(out, &[])
}

fn good_result(dir: &Path, name: &str, cpu: &str, median: f64) -> PathBuf {
    let p = dir.join(name);
    doctored_result(
        &p,
        &[Doctored {
            model: "whisper-micro",
            cpu,
            samples_ms: samples_around(median, 21),
        }],
    );
    p
}

/// The committed result with one edit applied to its JSON.
fn edited_result(dir: &Path, name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let p = good_result(dir, name, "Intel Xeon", 500.0);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&p, v.to_string()).unwrap();
    p
}

fn compare(result: &Path, baselines: &Path) -> assert_cmd::Command {
    let mut c = bench_gate();
    c.args(["compare", "-c"])
        .arg(fixture("configs/micro.toml"))
        .arg("--result")
        .arg(result)
        .arg("--baselines")
        .arg(baselines);
    c
}

#[test]
fn every_command_refuses_an_unusable_result_and_names_it() {
    let d = tempfile::tempdir().unwrap();
    let baselines = d.path().join("baselines");
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        (
            "no models",
            edited_result(d.path(), "empty.json", |v| {
                v["models"] = serde_json::json!([])
            }),
            "`models` is empty",
        ),
        (
            "empty samples",
            edited_result(d.path(), "nosamples.json", |v| {
                v["models"][0]["samples_ms"] = serde_json::json!([])
            }),
            "samples_ms is empty",
        ),
        (
            "negative sample",
            edited_result(d.path(), "negative.json", |v| {
                v["models"][0]["samples_ms"][3] = serde_json::json!(-4.0)
            }),
            "samples_ms[3] = -4",
        ),
        (
            "negative median",
            edited_result(d.path(), "negmedian.json", |v| {
                v["models"][0]["latency_ms"]["median"] = serde_json::json!(-500.0)
            }),
            "latency_ms.median = -500",
        ),
    ];
    let good = good_result(d.path(), "good.json", "Intel Xeon", 500.0);
    for (what, file, expect) in &cases {
        let name = file.display().to_string();
        let mut runs: Vec<(&str, assert_cmd::Command)> = Vec::new();
        runs.push(("compare", compare(file, &baselines)));
        let mut c = bench_gate();
        c.args(["baseline", "update", "--result"])
            .arg(file)
            .arg("--baselines")
            .arg(&baselines);
        runs.push(("baseline update", c));
        let mut c = bench_gate();
        c.args(["size", "--reference"])
            .arg(&good)
            .arg("--target")
            .arg(file);
        runs.push(("size --target", c));
        let mut c = bench_gate();
        c.args(["size", "--reference"])
            .arg(file)
            .arg("--target")
            .arg(&good);
        runs.push(("size --reference", c));
        for (cmd, mut c) in runs {
            let err = refused(&c.output().unwrap());
            assert!(
                err.contains(&name) && err.contains(expect),
                "{what}, {cmd}: {err}"
            );
            assert!(
                !err.contains("baseline ") && !err.contains("delete"),
                "{what}, {cmd}: blames the baseline: {err}"
            );
        }
    }
    assert!(!baselines.exists(), "no baseline was written");
}

#[test]
fn size_reads_the_baselines_that_baseline_update_writes() {
    let d = tempfile::tempdir().unwrap();
    let baselines = d.path().join("baselines");
    for (file, cpu, median) in [
        ("m4.json", "Apple M4", 200.0),
        ("xeon.json", "Intel Xeon", 500.0),
    ] {
        let r = good_result(d.path(), file, cpu, median);
        let out = bench_gate()
            .args(["baseline", "update", "--force", "--result"])
            .arg(&r)
            .arg("--baselines")
            .arg(&baselines)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(baselines.join("whisper-micro/x86_64/apple-m4.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        written["schema_version"],
        bench_gate::baseline::BASELINE_SCHEMA_VERSION,
        "the store's current schema"
    );
    let size_out = d.path().join("size.json");
    let out = bench_gate()
        .args(["size", "--baselines"])
        .arg(&baselines)
        .args(["--reference-cpu", "Apple M4", "--target-cpu", "Intel Xeon"])
        .args(["--target-rps", "10", "-o"])
        .arg(&size_out)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&size_out).unwrap()).unwrap();
    let ratio = s["models"][0]["ratio"]["value"].as_f64().unwrap();
    assert!((ratio - 2.5).abs() < 1e-9, "500 ms / 200 ms: {ratio}");
    assert!(s["models"][0]["sizing"]["plan"].is_object(), "{s}");
}

#[test]
fn a_bad_ratio_table_is_named() {
    let d = tempfile::tempdir().unwrap();
    let reference = good_result(d.path(), "m4.json", "Apple M4", 200.0);
    let table = d.path().join("my-ratios.json");
    for text in ["not json", "{\"schema_version\": 7}"] {
        std::fs::write(&table, text).unwrap();
        let out = bench_gate()
            .args(["size", "--reference"])
            .arg(&reference)
            .arg("--ratios")
            .arg(&table)
            .output()
            .unwrap();
        let err = refused(&out);
        assert!(
            err.contains("my-ratios.json") && !err.contains("ratio_config.json"),
            "{err}"
        );
    }
}

#[test]
fn an_output_never_replaces_an_input() {
    let d = tempfile::tempdir().unwrap();
    let result = good_result(d.path(), "r.json", "Intel Xeon", 500.0);
    let before = std::fs::read(&result).unwrap();
    let err = refused(
        &compare(&result, &d.path().join("b"))
            .arg("-o")
            .arg(&result)
            .output()
            .unwrap(),
    );
    assert!(
        err.contains("-o") && err.contains("--result input"),
        "{err}"
    );
    assert_eq!(std::fs::read(&result).unwrap(), before);

    // A verdict, then `report -o` onto the verdict, and `size` onto its own input.
    let verdict = d.path().join("v.json");
    let out = compare(&result, &d.path().join("b"))
        .arg("-o")
        .arg(&verdict)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = refused(
        &bench_gate()
            .args(["report", "--verdict"])
            .arg(&verdict)
            .arg("-o")
            .arg(&verdict)
            .output()
            .unwrap(),
    );
    assert!(err.contains("--verdict input"), "{err}");
    let other = good_result(d.path(), "o.json", "Apple M4", 200.0);
    let err = refused(
        &bench_gate()
            .args(["size", "--reference"])
            .arg(&other)
            .arg("--target")
            .arg(&result)
            .arg("-o")
            .arg(&result)
            .output()
            .unwrap(),
    );
    assert!(err.contains("--target input"), "{err}");
    let md = d.path().join("s.md");
    let err = refused(
        &bench_gate()
            .args(["size", "--reference"])
            .arg(&other)
            .arg("--target")
            .arg(&result)
            .arg("-o")
            .arg(&md)
            .arg("--markdown")
            .arg(&md)
            .output()
            .unwrap(),
    );
    assert!(
        err.contains("--markdown") && err.contains("-o output"),
        "{err}"
    );
    assert_eq!(std::fs::read(&result).unwrap(), before);
}

#[test]
fn a_device_output_is_written_in_place_and_stays_a_device() {
    let d = tempfile::tempdir().unwrap();
    let result = good_result(d.path(), "r.json", "Intel Xeon", 500.0);
    let out = compare(&result, &d.path().join("b"))
        .args(["-o", "/dev/null"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(meta.file_type().is_char_device(), "/dev/null was replaced");
    let err = refused(
        &compare(&result, &d.path().join("b"))
            .arg("-o")
            .arg(d.path())
            .output()
            .unwrap(),
    );
    assert!(err.contains("is a directory"), "{err}");
}

#[test]
fn new_output_files_get_the_umask_mode_not_0600() {
    let d = tempfile::tempdir().unwrap();
    let result = good_result(d.path(), "r.json", "Intel Xeon", 500.0);
    for (umask, mode) in [(0o022, 0o644), (0o027, 0o640)] {
        let verdict = d.path().join(format!("v{umask:o}.json"));
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("bench-gate"));
        c.current_dir(repo())
            .args(["compare", "-c"])
            .arg(fixture("configs/micro.toml"))
            .arg("--result")
            .arg(&result)
            .arg("--baselines")
            .arg(d.path().join("b"))
            .arg("-o")
            .arg(&verdict);
        // SAFETY: umask is async-signal-safe and touches only the child.
        unsafe {
            c.pre_exec(move || {
                libc::umask(umask);
                Ok(())
            });
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let got = std::fs::metadata(&verdict).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, mode, "umask {umask:o}");
    }
}

#[test]
fn an_unwritable_output_folder_fails_before_measuring() {
    let d = tempfile::tempdir().unwrap();
    let cfg = write_config(d.path(), &silero_config(SILERO_INPUTS));
    // /proc refuses new files even to root; a 0555 folder does for other users.
    let mut folders = vec![PathBuf::from("/proc")];
    let ro = d.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        folders.push(ro);
    }
    for folder in folders {
        let out = bench_gate()
            .args(["run", "-c"])
            .arg(&cfg)
            .arg("-o")
            .arg(folder.join("r.json"))
            .output()
            .unwrap();
        let err = refused(&out);
        assert!(err.contains("not writable"), "{err}");
        assert!(!err.contains("loaded in"), "it measured first: {err}");
    }
}

fn verdict_json(model: &str, cpu: &str, schema: u64) -> serde_json::Value {
    serde_json::json!({
        "schema_version": schema, "mode": "compare", "verdict": "pass", "exit_code": 0,
        "models": [{"model": model, "cpu_model": cpu, "architecture": "x86_64", "verdict": "pass"}]
    })
}

#[test]
fn report_refuses_newer_or_unversioned_files_and_a_result_of_another_run() {
    let d = tempfile::tempdir().unwrap();
    let verdict = d.path().join("v.json");
    let result = good_result(d.path(), "r.json", "Intel Xeon", 500.0);
    let report = |extra: &[&std::ffi::OsStr]| {
        bench_gate()
            .args(["report", "--verdict"])
            .arg(&verdict)
            .args(extra)
            .output()
            .unwrap()
    };
    std::fs::write(
        &verdict,
        verdict_json("whisper-micro", "Intel Xeon", 999).to_string(),
    )
    .unwrap();
    let err = refused(&report(&[]));
    assert!(
        err.contains("schema_version 999") && err.contains("v.json"),
        "{err}"
    );
    let mut unversioned = verdict_json("whisper-micro", "Intel Xeon", 1);
    unversioned
        .as_object_mut()
        .unwrap()
        .remove("schema_version");
    std::fs::write(&verdict, unversioned.to_string()).unwrap();
    assert!(refused(&report(&[])).contains("no numeric `schema_version`"));

    std::fs::write(
        &verdict,
        verdict_json("whisper-micro", "Intel Xeon", 1).to_string(),
    )
    .unwrap();
    let sizing = d.path().join("size.json");
    std::fs::write(&sizing, r#"{"schema_version": 999, "models": []}"#).unwrap();
    let err = refused(&report(&["--sizing".as_ref(), sizing.as_os_str()]));
    assert!(err.contains("size.json") && err.contains("999"), "{err}");

    // The result of the same model and CPU renders; another model or CPU is refused.
    let out = report(&["--result".as_ref(), result.as_os_str()]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    for (model, cpu) in [("other-model", "Intel Xeon"), ("whisper-micro", "AMD EPYC")] {
        std::fs::write(&verdict, verdict_json(model, cpu, 1).to_string()).unwrap();
        let err = refused(&report(&["--result".as_ref(), result.as_os_str()]));
        assert!(err.contains("is not the run the verdict"), "{err}");
    }
}

/// A `--b-model` that is a folder, a dangling link or (for a user other than root) unreadable
/// is refused before any worker starts, naming the flag, the file and the fix.
#[test]
fn an_unusable_b_model_names_the_flag_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &silero_config(SILERO_INPUTS));
    let folder = dir.path().join("model-folder.onnx");
    std::fs::create_dir(&folder).unwrap();
    let dangling = dir.path().join("dangling.onnx");
    std::os::unix::fs::symlink(dir.path().join("gone.onnx"), &dangling).unwrap();
    let locked = dir.path().join("locked.onnx");
    std::fs::copy(fixture("models/silero-vad/silero_vad.onnx"), &locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut cases = vec![(folder, "is a folder"), (dangling, "no such file")];
    if std::fs::read(&locked).is_err() {
        cases.push((locked, "cannot read it"));
    } else {
        eprintln!("running as root: mode 000 does not stop reads, the unreadable case is skipped");
    }
    for (bad, says) in cases {
        let out = bench_gate()
            .args(["ab", "-q", "--max-units", "2", "-c"])
            .arg(&cfg)
            .arg("--b-model")
            .arg(&bad)
            .output()
            .unwrap();
        let err = assert_user_error(&out, &["--b-model", &bad.display().to_string(), says]);
        assert!(
            !err.contains("variant B"),
            "refused by a started worker: {err}"
        );
    }
}

/// Hashing a model's files names the file that could not be read (the worker's fingerprint).
#[test]
fn a_file_that_cannot_be_hashed_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let e = bench_gate::result::sha256_file(dir.path()).unwrap_err();
    assert!(
        e.to_string().contains(&dir.path().display().to_string()),
        "{e}"
    );
}
