//! One rule for every path a command touches (src/commands/touches.rs): an output that is one of
//! the command's inputs, or another of its outputs, is refused with exit 2 before anything runs,
//! the message names both and the fix, and the input is left byte for byte (and mtime) as it
//! was. The rows mirror each command's declaration: every output flag, and a representative of
//! every kind of input (the flag's own file, a file a config names, a file in a baselines
//! folder, a file a verdict names, a file written inside an output folder).
//!
//! And `baseline update` is all or nothing across the baseline and its series.

mod common;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use common::*;

/// A folder holding one of every kind of input the commands read.
struct Fx {
    dir: tempfile::TempDir,
}

/// An op-pair config naming `model` (a copy of a committed micro model).
fn pair_config(model: &Path) -> String {
    common::op_pair_config(model, "")
}

impl Fx {
    fn new() -> Fx {
        let fx = Fx {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::copy(fixture("models/op-pair/base.onnx"), fx.p("model.onnx")).unwrap();
        std::fs::copy(
            fixture("models/op-pair/extra_matmul.onnx"),
            fx.p("bmodel.onnx"),
        )
        .unwrap();
        std::fs::write(fx.p("bench.toml"), pair_config(&fx.p("model.onnx"))).unwrap();
        std::fs::write(fx.p("acfg.toml"), pair_config(&fx.p("model.onnx"))).unwrap();
        std::fs::write(fx.p("bcfg.toml"), pair_config(&fx.p("bmodel.onnx"))).unwrap();
        doctored_result(
            &fx.p("result.json"),
            &[Doctored {
                model: "pair",
                cpu: "Test CPU 1",
                samples_ms: samples_around(10.0, 20),
            }],
        );
        std::fs::copy(fx.p("result.json"), fx.p("target.json")).unwrap();
        let out = bench_gate()
            .args(["baseline", "update", "--force", "--result"])
            .arg(fx.p("result.json"))
            .arg("--baselines")
            .arg(fx.p("bl"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(fx.baseline().is_file() && fx.series().is_file());
        let verdict = verdict_json(&fx.baseline());
        std::fs::write(fx.p("verdict.json"), &verdict).unwrap();
        std::fs::write(fx.p("so.json"), &verdict).unwrap();
        std::fs::write(fx.p("known.json"), "[]\n").unwrap();
        std::fs::write(fx.p("sizing.json"), "{}\n").unwrap();
        std::fs::write(fx.p("ratios.json"), "{}\n").unwrap();
        std::fs::write(fx.p("kube.yaml"), "apiVersion: v1\nkind: Config\n").unwrap();
        std::fs::write(fx.p("libfake.so"), b"\x7fELF not really").unwrap();
        std::fs::create_dir(fx.p("out")).unwrap();
        std::fs::create_dir(fx.p("issues")).unwrap();
        fx
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn baseline(&self) -> PathBuf {
        self.p("bl/pair/x86_64/test-cpu-1.json")
    }

    fn series(&self) -> PathBuf {
        self.p("bl/pair/x86_64/test-cpu-1.series.jsonl")
    }

    /// `rel` made absolute; `{baseline}` and `{series}` name the files in `bl/`.
    fn arg(&self, a: &str) -> String {
        match a {
            "{baseline}" => self.baseline().display().to_string(),
            "{series}" => self.series().display().to_string(),
            a if a.starts_with('@') => self.p(&a[1..]).display().to_string(),
            a => a.to_string(),
        }
    }
}

/// A verdict as `compare -o` writes it, judged against `baseline`.
fn verdict_json(baseline: &Path) -> String {
    serde_json::json!({
        "schema_version": 1,
        "bench_gate_version": "0.1.0",
        "timestamp": "2026-12-02T10:30:00Z",
        "mode": "compare",
        "verdict": "pass",
        "exit_code": 0,
        "models": [{
            "model": "pair",
            "cpu_model": "Test CPU 1",
            "architecture": "x86_64",
            "verdict": "pass",
            "reasons": [],
            "contamination": [],
            "metric": "median",
            "test": "log-ratio vs history, z=2.576",
            "change_pct": 0.5,
            "ci_pct": {"low": -1.0, "high": 2.0},
            "noise_pct": 1.0,
            "threshold_pct": 5.0,
            "min_abs_ms": 0.0,
            "on_inconclusive": "warn",
            "baseline": {"source": baseline.display().to_string(), "center_ms": 10.0, "runs_used": 1, "runs_total": 1},
            "candidate_ms": 10.05,
            "what_changed": [],
            "cpu_models_with_baseline": [],
            "iterations": 20,
            "wall_time_s": 1.0,
            "stop_reason": "count"
        }]
    })
    .to_string()
}

/// One refused command line: `args` (`@rel` is a file of the fixture folder), the output flag
/// and file the message must name, what the clashing input is called, and the file that must
/// come out untouched (`None` when the clash is between two outputs not written yet).
struct Row {
    args: &'static [&'static str],
    output: &'static str,
    output_file: &'static str,
    input: &'static str,
    kept: Option<&'static str>,
}

const fn row(
    args: &'static [&'static str],
    output: &'static str,
    output_file: &'static str,
    input: &'static str,
    kept: Option<&'static str>,
) -> Row {
    Row {
        args,
        output,
        output_file,
        input,
        kept,
    }
}

fn snapshot(path: &Path) -> (Vec<u8>, SystemTime) {
    let meta = std::fs::metadata(path).unwrap();
    (std::fs::read(path).unwrap(), meta.modified().unwrap())
}

/// Runs every row on a fresh fixture; panics listing every row that did not hold.
fn check_rows(rows: &[Row]) {
    let mut failures = Vec::new();
    for r in rows {
        let fx = Fx::new();
        let args: Vec<String> = r.args.iter().map(|a| fx.arg(a)).collect();
        let kept = r.kept.map(|k| PathBuf::from(fx.arg(k)));
        let before = kept.as_deref().map(snapshot);
        let every_file_before = files_in(fx.dir.path());
        let out = bench_gate()
            .args(&args)
            .env("RUST_BACKTRACE", "1")
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let err = stderr_of(&out);
        let shown = format!("{} {}", r.output, fx.arg(r.output_file));
        let mut problems = Vec::new();
        if out.status.code() != Some(2) {
            problems.push(format!("exit {:?}, not 2", out.status.code()));
        }
        if !err.contains(&shown) {
            problems.push(format!("the message does not name `{shown}`"));
        }
        if !err.contains(&format!("is also the {}", r.input)) {
            problems.push(format!("the message does not name the {}", r.input));
        }
        if !err.contains("fix:") {
            problems.push("the message has no fix".into());
        }
        if err.contains("panicked") {
            problems.push("panicked".into());
        }
        if let (Some(path), Some(before)) = (&kept, before)
            && snapshot(path) != before
        {
            problems.push(format!("{} was changed", path.display()));
        }
        let every_file_after = files_in(fx.dir.path());
        if every_file_after != every_file_before {
            problems.push(format!(
                "files appeared or vanished: {:?}",
                every_file_after
                    .symmetric_difference(&every_file_before)
                    .collect::<Vec<_>>()
            ));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "bench-gate {}\n    {}\n    stderr: {err}",
                r.args.join(" "),
                problems.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Every file under `dir`, recursively (refusing must create and remove nothing).
fn files_in(dir: &Path) -> std::collections::BTreeSet<PathBuf> {
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.insert(p);
        }
    }
    out
}

#[test]
fn trend_refuses_an_output_on_a_series_a_baseline_the_known_issues_or_its_own_plan() {
    check_rows(&[
        // The issue: the long series replaced by the trend JSON.
        row(
            &["trend", "--baselines", "@bl", "-o", "{series}"],
            "-o",
            "{series}",
            "series file in --baselines",
            Some("{series}"),
        ),
        row(
            &["trend", "--baselines", "@bl", "-o", "{baseline}"],
            "-o",
            "{baseline}",
            "baseline file in --baselines",
            Some("{baseline}"),
        ),
        // The issue: the known issues overwritten.
        row(
            &[
                "trend",
                "--baselines",
                "@bl",
                "--known-issues",
                "@known.json",
                "--issues-dir",
                "@issues",
                "-o",
                "@known.json",
            ],
            "-o",
            "@known.json",
            "--known-issues input",
            Some("@known.json"),
        ),
        // The issue: two outputs on one file, the JSON silently lost.
        row(
            &[
                "trend",
                "--baselines",
                "@bl",
                "--issues-dir",
                "@issues",
                "-o",
                "@issues/plan.tsv",
            ],
            "--issues-dir",
            "@issues/plan.tsv",
            "-o output",
            None,
        ),
        // An issue body the scan may write (how many is known only after it).
        row(
            &[
                "trend",
                "--baselines",
                "@bl",
                "--issues-dir",
                "@issues",
                "-o",
                "@issues/step-001.md",
            ],
            "--issues-dir",
            "@issues/step-001.md",
            "-o output",
            None,
        ),
        row(
            &[
                "trend",
                "--baselines",
                "@bl",
                "--known-issues",
                "@issues/plan.tsv",
                "--issues-dir",
                "@issues",
            ],
            "--issues-dir",
            "@issues/plan.tsv",
            "--known-issues input",
            None,
        ),
    ]);
}

#[test]
fn report_refuses_an_output_on_any_file_it_reads() {
    let base = ["report", "--verdict", "@verdict.json"];
    let with = |extra: &'static [&'static str]| -> &'static [&'static str] {
        Box::leak(
            base.iter()
                .chain(extra)
                .copied()
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        )
    };
    check_rows(&[
        // The issue: the second opinion replaced by markdown.
        row(
            with(&["--second-opinion", "@so.json", "-o", "@so.json"]),
            "-o",
            "@so.json",
            "--second-opinion input",
            Some("@so.json"),
        ),
        row(
            with(&["-o", "@verdict.json"]),
            "-o",
            "@verdict.json",
            "--verdict input",
            Some("@verdict.json"),
        ),
        row(
            with(&["--result", "@result.json", "-o", "@result.json"]),
            "-o",
            "@result.json",
            "--result input",
            Some("@result.json"),
        ),
        row(
            with(&["--sizing", "@sizing.json", "-o", "@sizing.json"]),
            "-o",
            "@sizing.json",
            "--sizing input",
            Some("@sizing.json"),
        ),
        row(
            with(&["-o", "{baseline}"]),
            "-o",
            "{baseline}",
            "baseline named by --verdict",
            Some("{baseline}"),
        ),
    ]);
}

#[test]
fn ab_refuses_an_output_on_a_config_or_any_model_file_a_variant_names() {
    const AB: &str = "ab";
    check_rows(&[
        // The issue: the model --b-config names replaced by the verdict.
        row(
            &[
                AB,
                "-c",
                "@bench.toml",
                "--b-config",
                "@bcfg.toml",
                "--budget",
                "1",
                "--max-units",
                "1",
                "-o",
                "@bmodel.onnx",
            ],
            "-o",
            "@bmodel.onnx",
            "model file named by --b-config",
            Some("@bmodel.onnx"),
        ),
        row(
            &[
                AB,
                "-c",
                "@bench.toml",
                "--b-config",
                "@bcfg.toml",
                "-o",
                "@bcfg.toml",
            ],
            "-o",
            "@bcfg.toml",
            "--b-config input",
            Some("@bcfg.toml"),
        ),
        row(
            &[
                AB,
                "-c",
                "@bench.toml",
                "--a-config",
                "@acfg.toml",
                "-o",
                "@acfg.toml",
            ],
            "-o",
            "@acfg.toml",
            "--a-config input",
            Some("@acfg.toml"),
        ),
        row(
            &[AB, "-c", "@bench.toml", "-o", "@bench.toml"],
            "-o",
            "@bench.toml",
            "-c input",
            Some("@bench.toml"),
        ),
        row(
            &[AB, "-c", "@bench.toml", "-o", "@model.onnx"],
            "-o",
            "@model.onnx",
            "model file named by -c",
            Some("@model.onnx"),
        ),
        row(
            &[
                AB,
                "-c",
                "@bench.toml",
                "--a-model",
                "@bmodel.onnx",
                "-o",
                "@bmodel.onnx",
            ],
            "-o",
            "@bmodel.onnx",
            "--a-model input",
            Some("@bmodel.onnx"),
        ),
        row(
            &[
                AB,
                "-c",
                "@bench.toml",
                "--b-model",
                "@bmodel.onnx",
                "-o",
                "@bmodel.onnx",
            ],
            "-o",
            "@bmodel.onnx",
            "--b-model input",
            Some("@bmodel.onnx"),
        ),
        row(
            &[
                AB,
                "-c",
                "@bench.toml",
                "--ort-lib",
                "@libfake.so",
                "-o",
                "@libfake.so",
            ],
            "-o",
            "@libfake.so",
            "--ort-lib input",
            Some("@libfake.so"),
        ),
    ]);
}

#[test]
fn run_sweep_and_load_refuse_an_output_on_the_config_its_model_or_another_output() {
    let mut rows = vec![
        row(
            &["run", "-c", "@bench.toml", "-o", "@bench.toml"],
            "-o",
            "@bench.toml",
            "-c input",
            Some("@bench.toml"),
        ),
        row(
            &["run", "-c", "@bench.toml", "-o", "@model.onnx"],
            "-o",
            "@model.onnx",
            "model file named by -c",
            Some("@model.onnx"),
        ),
        row(
            &[
                "run",
                "-c",
                "@bench.toml",
                "--ort-lib",
                "@libfake.so",
                "-o",
                "@libfake.so",
            ],
            "-o",
            "@libfake.so",
            "--ort-lib input",
            Some("@libfake.so"),
        ),
    ];
    for cmd in ["sweep", "load"] {
        let cmd: &'static str = cmd;
        let leak = |v: Vec<&'static str>| -> &'static [&'static str] { Box::leak(v.into()) };
        rows.extend([
            row(
                leak(vec![cmd, "-c", "@bench.toml", "-o", "@bench.toml"]),
                "-o",
                "@bench.toml",
                "-c input",
                Some("@bench.toml"),
            ),
            row(
                leak(vec![cmd, "-c", "@bench.toml", "--markdown", "@model.onnx"]),
                "--markdown",
                "@model.onnx",
                "model file named by -c",
                Some("@model.onnx"),
            ),
            row(
                leak(vec![
                    cmd,
                    "-c",
                    "@bench.toml",
                    "-o",
                    "@out/x.json",
                    "--markdown",
                    "@out/x.json",
                ]),
                "--markdown",
                "@out/x.json",
                "-o output",
                None,
            ),
        ]);
    }
    check_rows(&rows);
}

#[test]
fn compare_refuses_an_output_on_its_config_result_model_or_any_baseline_file() {
    const C: [&str; 7] = [
        "compare",
        "-c",
        "@bench.toml",
        "--result",
        "@result.json",
        "--baselines",
        "@bl",
    ];
    let with = |o: &'static str| -> &'static [&'static str] {
        Box::leak(
            C.iter()
                .copied()
                .chain(["-o", o])
                .collect::<Vec<_>>()
                .into(),
        )
    };
    check_rows(&[
        row(
            with("@bench.toml"),
            "-o",
            "@bench.toml",
            "-c input",
            Some("@bench.toml"),
        ),
        row(
            with("@result.json"),
            "-o",
            "@result.json",
            "--result input",
            Some("@result.json"),
        ),
        row(
            with("@model.onnx"),
            "-o",
            "@model.onnx",
            "model file named by -c",
            Some("@model.onnx"),
        ),
        row(
            with("{baseline}"),
            "-o",
            "{baseline}",
            "baseline file in --baselines",
            Some("{baseline}"),
        ),
        row(
            with("{series}"),
            "-o",
            "{series}",
            "series file in --baselines",
            Some("{series}"),
        ),
    ]);
}

#[test]
fn ci_refuses_an_input_inside_its_out_dir_where_it_writes() {
    check_rows(&[
        row(
            &[
                "ci",
                "-c",
                "@bench.toml",
                "--baselines",
                "@bl",
                "--no-comment",
                "--out-dir",
                "@out",
                "--result",
                "@out/verdict.json",
            ],
            "--out-dir",
            "@out/verdict.json",
            "--result input",
            None,
        ),
        row(
            &[
                "ci",
                "-c",
                "@bench.toml",
                "--baselines",
                "@bl",
                "--no-comment",
                "--out-dir",
                "@out",
                "--result",
                "@result.json",
                "--sizing",
                "@out/comment.md",
            ],
            "--out-dir",
            "@out/comment.md",
            "--sizing input",
            None,
        ),
        row(
            &[
                "ci",
                "-c",
                "@out/result.json",
                "--baselines",
                "@bl",
                "--no-comment",
                "--out-dir",
                "@out",
            ],
            "--out-dir",
            "@out/result.json",
            "-c input",
            None,
        ),
        row(
            &[
                "ci",
                "-c",
                "@bench.toml",
                "--base-config",
                "@out/verdict.json",
                "--baselines",
                "@bl",
                "--no-comment",
                "--out-dir",
                "@out",
            ],
            "--out-dir",
            "@out/verdict.json",
            "--base-config input",
            None,
        ),
        row(
            &[
                "ci",
                "-c",
                "@bench.toml",
                "--base-config",
                "@bcfg.toml",
                "--base-bin",
                "@out/comment.md",
                "--baselines",
                "@bl",
                "--no-comment",
                "--out-dir",
                "@out",
            ],
            "--out-dir",
            "@out/comment.md",
            "--base-bin input",
            None,
        ),
    ]);
}

#[test]
fn ci_refuses_a_model_of_its_config_inside_its_out_dir() {
    // A config whose model file sits where ci writes its result.
    let fx = Fx::new();
    std::fs::copy(fx.p("model.onnx"), fx.p("out/result.json")).unwrap();
    std::fs::write(fx.p("ci.toml"), pair_config(&fx.p("out/result.json"))).unwrap();
    let before = snapshot(&fx.p("out/result.json"));
    let out = bench_gate()
        .args(["ci", "--no-comment", "-c"])
        .arg(fx.p("ci.toml"))
        .arg("--baselines")
        .arg(fx.p("bl"))
        .arg("--out-dir")
        .arg(fx.p("out"))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is also the model file named by -c"), "{err}");
    assert!(err.contains("fix:"), "{err}");
    assert_eq!(snapshot(&fx.p("out/result.json")), before);
}

#[test]
fn size_refuses_an_output_on_any_measurement_it_reads_or_another_output() {
    check_rows(&[
        row(
            &["size", "--reference", "@result.json", "-o", "@result.json"],
            "-o",
            "@result.json",
            "--reference input",
            Some("@result.json"),
        ),
        row(
            &[
                "size",
                "--reference",
                "@result.json",
                "--target",
                "@target.json",
                "--markdown",
                "@target.json",
            ],
            "--markdown",
            "@target.json",
            "--target input",
            Some("@target.json"),
        ),
        row(
            &[
                "size",
                "--reference",
                "@result.json",
                "--ratios",
                "@ratios.json",
                "--ratio-config",
                "@ratios.json",
            ],
            "--ratio-config",
            "@ratios.json",
            "--ratios input",
            Some("@ratios.json"),
        ),
        row(
            &["size", "-c", "@bench.toml", "-o", "@bench.toml"],
            "-o",
            "@bench.toml",
            "-c input",
            Some("@bench.toml"),
        ),
        row(
            &[
                "size",
                "--baselines",
                "@bl",
                "--reference-cpu",
                "a",
                "--target-cpu",
                "b",
                "-o",
                "{baseline}",
            ],
            "-o",
            "{baseline}",
            "baseline file in --baselines",
            Some("{baseline}"),
        ),
        row(
            &[
                "size",
                "--reference",
                "@result.json",
                "-o",
                "@out/s.json",
                "--ratio-config",
                "@out/s.json",
            ],
            "--ratio-config",
            "@out/s.json",
            "-o output",
            None,
        ),
    ]);
}

#[test]
fn k8s_run_and_read_log_refuse_a_pool_result_on_their_inputs() {
    check_rows(&[
        row(
            &[
                "k8s",
                "run",
                "-c",
                "@out/xeon.json",
                "--pool",
                "xeon",
                "--out-dir",
                "@out",
            ],
            "--out-dir",
            "@out/xeon.json",
            "-c input",
            None,
        ),
        row(
            &[
                "k8s",
                "run",
                "-c",
                "@bench.toml",
                "--kubeconfig",
                "@out/xeon.json",
                "--pool",
                "xeon",
                "--out-dir",
                "@out",
            ],
            "--out-dir",
            "@out/xeon.json",
            "--kubeconfig input",
            None,
        ),
        row(
            &[
                "k8s",
                "read-log",
                "--log",
                "@out/xeon.json",
                "--pool",
                "xeon",
                "--out-dir",
                "@out",
            ],
            "--out-dir",
            "@out/xeon.json",
            "--log input",
            None,
        ),
    ]);
}

#[test]
fn baseline_update_refuses_a_config_that_is_one_of_the_files_it_rewrites() {
    check_rows(&[row(
        &[
            "baseline",
            "update",
            "--force",
            "--result",
            "@target.json",
            "--baselines",
            "@bl",
            "-c",
            "{baseline}",
        ],
        "--baselines",
        "{baseline}",
        "-c input",
        Some("{baseline}"),
    )]);
}

#[test]
fn baseline_update_with_a_series_of_another_cpu_changes_no_file() {
    let fx = Fx::new();
    // The series file at this (model, CPU)'s place claims another CPU.
    let text = std::fs::read_to_string(fx.series()).unwrap();
    let moved = text.replacen("Test CPU 1", "Other CPU 9", 1);
    assert_ne!(moved, text, "the series header names the CPU");
    std::fs::write(fx.series(), &moved).unwrap();
    // A newer run of the same model and CPU.
    doctored_result(
        &fx.p("newer.json"),
        &[Doctored {
            model: "pair",
            cpu: "Test CPU 1",
            samples_ms: samples_around(11.0, 20),
        }],
    );
    let before = [snapshot(&fx.baseline()), snapshot(&fx.series())];
    let files_before = files_in(fx.dir.path());
    let out = bench_gate()
        .args(["baseline", "update", "--force", "--result"])
        .arg(fx.p("newer.json"))
        .arg("--baselines")
        .arg(fx.p("bl"))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&fx.series().display().to_string()), "{err}");
    assert!(err.contains("Other CPU 9") && err.contains("fix:"), "{err}");
    assert_eq!(
        [snapshot(&fx.baseline()), snapshot(&fx.series())],
        before,
        "the baseline and the series are as they were"
    );
    assert_eq!(
        files_in(fx.dir.path()),
        files_before,
        "no temporary file left"
    );
}

#[test]
fn baseline_update_still_writes_both_files_when_everything_checks() {
    let fx = Fx::new();
    doctored_result(
        &fx.p("newer.json"),
        &[Doctored {
            model: "pair",
            cpu: "Test CPU 1",
            samples_ms: samples_around(11.0, 20),
        }],
    );
    // Measured a day later (the same time and commit would be the same series point).
    let mut newer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fx.p("newer.json")).unwrap()).unwrap();
    newer["models"][0]["timestamp"] = "2026-12-03T02:00:00Z".into();
    std::fs::write(fx.p("newer.json"), newer.to_string()).unwrap();
    let out = bench_gate()
        .args(["baseline", "update", "--force", "--result"])
        .arg(fx.p("newer.json"))
        .arg("--baselines")
        .arg(fx.p("bl"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fx.baseline()).unwrap()).unwrap();
    assert_eq!(baseline["runs"].as_array().unwrap().len(), 2);
    let series = std::fs::read_to_string(fx.series()).unwrap();
    assert_eq!(series.lines().count(), 3, "header and two points: {series}");
}
