//! `compare`, `baseline` and `ab` on the real ONNX Runtime with the committed micro encoder.
//! Iteration counts are small: these tests pin behaviour (exit codes, refusals, file handling),
//! never speed. Every result a verdict is asked of is first rewritten with known samples and a
//! clean environment ([`common::pin_result`]): a live measurement's noise on a busy CI machine
//! must not decide what a test expects. Live `ab` runs are checked for what holds at any speed.

mod common;

use std::path::{Path, PathBuf};

use common::{known_samples, pin_result};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

struct Dir {
    dir: tempfile::TempDir,
}

/// Other CPUs kept busy during a quiet run, as `others_busy_cpus`.
const QUIET: f64 = 0.02;

fn micro() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/models/whisper-micro/encoder_model.onnx")
}

impl Dir {
    /// A config measuring the micro encoder, with the given extra TOML appended.
    fn new(extra: &str) -> Dir {
        let dir = tempfile::tempdir().unwrap();
        let text = common::micro_encoder_config(&format!(
            "[thresholds.x86_64]\nmax_regression_pct = 5.0\nmin_abs_ms = 0.1\n{extra}"
        ));
        std::fs::write(dir.path().join("bench.toml"), text).unwrap();
        Dir { dir }
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

    /// Runs the benchmark once (a real result file, with the real fingerprint, session and
    /// CPU) and returns its path, with the numbers pinned: 20 steady samples around 10 ms and a
    /// quiet machine (0.02 other CPUs busy).
    fn run(&self, name: &str) -> PathBuf {
        let out = self.p(name);
        self.bin()
            .args(["run", "-c", "bench.toml", "-q", "-o"])
            .arg(&out)
            .assert()
            .success();
        pin_result(&out, &known_samples(10.0, 20), QUIET);
        out
    }

    fn update(&self, result: &Path) -> assert_cmd::assert::Assert {
        self.bin()
            .args(["baseline", "update", "--baselines", "baselines", "--result"])
            .arg(result)
            .assert()
    }

    fn compare(&self, result: &Path) -> (i32, Value) {
        let a = self
            .bin()
            .args([
                "compare",
                "-c",
                "bench.toml",
                "--baselines",
                "baselines",
                "--format",
                "json",
                "--result",
            ])
            .arg(result)
            .assert();
        let out = a.get_output();
        let code = out.status.code().unwrap_or(-1);
        let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (code, v)
    }

    fn baseline_file(&self) -> PathBuf {
        let root = self.p("baselines/micro");
        let arch = std::fs::read_dir(&root)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        // The baseline file, not the `.series.jsonl` that `trend` reads beside it.
        std::fs::read_dir(arch)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "json"))
            .unwrap()
    }
}

fn edit(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// Multiplies the first model's samples (what `compare` judges) by `f`, and its summary with
/// them, so the file stays a consistent result.
fn scale_samples(v: &mut Value, f: f64) {
    let m = &mut v["models"][0];
    let s: Vec<f64> = m["samples_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() * f)
        .collect();
    m["latency_ms"] = serde_json::to_value(bench_gate::stats::Summary::of(&s).unwrap()).unwrap();
    m["samples_ms"] = serde_json::json!(s);
}

fn verdict(v: &Value) -> &str {
    v["models"][0]["verdict"].as_str().unwrap_or("?")
}

#[test]
fn a_result_compared_with_itself_passes_and_slower_samples_regress() {
    let d = Dir::new("");
    let r = d.run("run.json");
    d.update(&r)
        .success()
        .stdout(predicate::str::contains("1 run(s)"));
    let (code, v) = d.compare(&r);
    assert_eq!((code, verdict(&v)), (0, "pass"), "{v:#}");
    assert!(v["models"][0]["change_pct"].as_f64().unwrap().abs() < 1e-9);
    assert_eq!(v["schema_version"], 1);

    let slow = d.p("slow.json");
    std::fs::copy(&r, &slow).unwrap();
    edit(&slow, |v| {
        scale_samples(v, 1.5);
    });
    let (code, v) = d.compare(&slow);
    assert_eq!((code, verdict(&v)), (1, "regressed"), "{v:#}");
    let ch = v["models"][0]["change_pct"].as_f64().unwrap();
    assert!((ch - 50.0).abs() < 0.5, "{ch}");
}

#[test]
fn throttled_runs_are_inconclusive_never_regressed_and_can_fail_the_check() {
    for (extra, expect_code) in [("", 0), ("on_inconclusive = \"fail\"", 3)] {
        let d = Dir::new(extra);
        let r = d.run("run.json");
        d.update(&r).success();
        edit(&r, |v| {
            scale_samples(v, 3.0);
            let m = &mut v["models"][0];
            m["during"]["nr_periods"] = 31.into();
            m["during"]["nr_throttled"] = 30.into();
            m["during"]["throttled_period_ratio"] = (30.0 / 31.0).into();
        });
        let (code, v) = d.compare(&r);
        assert_eq!((code, verdict(&v)), (expect_code, "inconclusive"), "{v:#}");
        assert!(
            v["models"][0]["contamination"][0]
                .as_str()
                .unwrap()
                .contains("throttled")
        );
        // ... and such a run is not accepted as a baseline without --force.
        d.update(&r)
            .code(2)
            .stderr(predicate::str::contains("contaminated"));
    }
}

#[test]
fn no_baseline_passes_lists_other_cpus_and_fails_only_when_required() {
    let d = Dir::new("");
    let r = d.run("run.json");
    let (code, v) = d.compare(&r);
    assert_eq!((code, verdict(&v)), (0, "no_baseline"), "{v:#}");
    // A baseline of another CPU model is listed, not used.
    let other = d.p("other.json");
    std::fs::copy(&r, &other).unwrap();
    edit(&other, |v| v["models"][0]["cpu_model"] = "Apple M4".into());
    d.update(&other).success();
    let (code, v) = d.compare(&r);
    assert_eq!((code, verdict(&v)), (0, "no_baseline"));
    assert_eq!(v["models"][0]["cpu_models_with_baseline"][0], "Apple M4");

    let strict = Dir::new("[gate]\nrequire_baseline = true");
    let r = strict.run("run.json");
    let (code, v) = strict.compare(&r);
    assert_eq!((code, verdict(&v)), (2, "no_baseline"));
}

#[test]
fn an_incomparable_baseline_is_refused_naming_the_difference() {
    let d = Dir::new("");
    let r = d.run("run.json");
    d.update(&r).success();
    edit(&r, |v| {
        v["models"][0]["session"]["intra_op_threads"] = 4.into()
    });
    d.bin()
        .args([
            "compare",
            "-c",
            "bench.toml",
            "--baselines",
            "baselines",
            "--result",
        ])
        .arg(&r)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "intra_op_threads: baseline 1, candidate 4",
        ));
}

#[test]
fn bad_baseline_files_are_named_and_never_overwritten() {
    let d = Dir::new("");
    let r = d.run("run.json");
    d.update(&r).success();
    let file = d.baseline_file();
    let good = std::fs::read_to_string(&file).unwrap();
    let cases: Vec<(&str, String)> = vec![
        (
            "not valid JSON",
            "{ \"schema_version\": 1, \"runs\": [".to_string(),
        ),
        ("not valid JSON", good[..good.len() / 2].to_string()),
        ("newer than this bench-gate", {
            let mut v: Value = serde_json::from_str(&good).unwrap();
            v["schema_version"] = 99.into();
            v.to_string()
        }),
        ("not a number of CPUs", {
            let mut v: Value = serde_json::from_str(&good).unwrap();
            v["runs"][0]["others_busy_cpus"] = (-1.0).into();
            v.to_string()
        }),
        ("not a positive latency", {
            let mut v: Value = serde_json::from_str(&good).unwrap();
            v["runs"][0]["median_ms"] = (-3.0).into();
            v.to_string()
        }),
        ("samples_ms is empty", {
            let mut v: Value = serde_json::from_str(&good).unwrap();
            v["runs"][0]["samples_ms"] = serde_json::json!([]);
            v.to_string()
        }),
        ("outside the stored samples", {
            let mut v: Value = serde_json::from_str(&good).unwrap();
            v["runs"][0]["median_ms"] = 1e6.into();
            v.to_string()
        }),
    ];
    for (needle, text) in cases {
        std::fs::write(&file, &text).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        for args in [
            vec!["compare", "-c", "bench.toml"],
            vec!["baseline", "update"],
        ] {
            d.bin()
                .args(&args)
                .args(["--baselines", "baselines", "--result"])
                .arg(&r)
                .assert()
                .code(2)
                .stderr(
                    predicate::str::contains(needle).and(predicate::str::contains(name.as_str())),
                );
            assert_eq!(
                std::fs::read_to_string(&file).unwrap(),
                text,
                "{needle}: file changed by {args:?}"
            );
        }
        d.bin()
            .args(["baseline", "list", "--baselines", "baselines"])
            .assert()
            .code(2);
    }
}

/// Sets how many CPUs other processes kept busy during every model of a result.
fn set_neighbours(path: &Path, others: f64) {
    edit(path, |v| {
        for m in v["models"].as_array_mut().unwrap() {
            let elapsed = m["during"]["elapsed_ms"].as_f64().unwrap();
            m["during"]["others_busy_ms"] = (others * elapsed).into();
            m["during"]["others_busy_cpus"] = others.into();
        }
    });
}

/// A neighbour on another core slows the run without throttling, steal or run delay (measured:
/// +12% here): a run with far busier neighbours than the history had is not evidence.
#[test]
fn busier_neighbours_than_the_history_make_a_slow_run_inconclusive() {
    let d = Dir::new("");
    let base = d.run("base.json");
    d.update(&base).success();
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(d.baseline_file()).unwrap()).unwrap();
    assert_eq!(stored["schema_version"], 3);
    assert_eq!(stored["runs"][0]["others_busy_cpus"], QUIET);
    // The same run, 50% slower: only the neighbours differ between the two judgements below.
    let slow = d.p("slow.json");
    std::fs::copy(&base, &slow).unwrap();
    edit(&slow, |v| scale_samples(v, 1.5));
    // Quiet neighbours: the +50% is a regression.
    expect_with_neighbours(&d, &slow, 0.1, 1, "regressed");
    // A neighbour keeping a whole other CPU busy: inconclusive, and it names the reason.
    let v = expect_with_neighbours(&d, &slow, 1.0, 0, "inconclusive");
    let why = v["models"][0]["contamination"].to_string();
    assert!(
        why.contains("1.0 CPUs busy") && why.contains("limit 0.5"),
        "{why}"
    );
    // ... and it is not accepted into the history without --force.
    d.update(&slow)
        .code(2)
        .stderr(predicate::str::contains("1.0 CPUs busy"));
}

fn expect_with_neighbours(d: &Dir, result: &Path, others: f64, code: i32, want: &str) -> Value {
    set_neighbours(result, others);
    let (got, v) = d.compare(result);
    assert_eq!((got, verdict(&v)), (code, want), "{v:#}");
    v
}

/// Files written before `others_busy_cpus` existed (schema 1) are read, skip the neighbour rule,
/// and are rewritten in the current schema (3) with their history intact on the next update.
#[test]
fn schema_1_baselines_are_read_and_upgraded() {
    let d = Dir::new("");
    let r = d.run("run.json");
    d.update(&r).success();
    let file = d.baseline_file();
    edit(&file, |v| {
        v["schema_version"] = 1.into();
        v["runs"][0]
            .as_object_mut()
            .unwrap()
            .remove("others_busy_cpus");
    });
    let old = std::fs::read_to_string(&file).unwrap();
    set_neighbours(&r, 1.0);
    let (code, v) = d.compare(&r);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        v["models"][0]["contamination"],
        serde_json::json!([]),
        "{v:#}"
    );
    d.update(&r).success();
    let new: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let old: Value = serde_json::from_str(&old).unwrap();
    assert_eq!(new["schema_version"], 3);
    assert_eq!(new["runs"][0], old["runs"][0]);
    assert_eq!(new["runs"][1]["others_busy_cpus"], 1.0);
}

#[test]
fn updates_keep_the_newest_k_runs_and_list_shows_them() {
    let d = Dir::new("");
    let r = d.run("run.json");
    for _ in 0..3 {
        d.bin()
            .args([
                "baseline",
                "update",
                "--baselines",
                "baselines",
                "--history",
                "2",
                "--result",
            ])
            .arg(&r)
            .assert()
            .success();
    }
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(d.baseline_file()).unwrap()).unwrap();
    assert_eq!(v["runs"].as_array().unwrap().len(), 2);
    assert!(v["runs"][0]["samples_ms"].as_array().unwrap().len() <= 200);
    d.bin()
        .args(["baseline", "list", "--baselines", "baselines"])
        .assert()
        .success()
        .stdout(predicate::str::contains("micro").and(predicate::str::contains("┆    2 ┆")));
}

/// The verdict of a live `ab` depends on the machine's noise (the statistics are tested with
/// synthetic samples in `compare::ab`); what holds at any speed is checked here.
fn assert_a_verdict(code: i32, v: &Value, err: &str) {
    assert!([0, 1, 3].contains(&code), "{code} {err}");
    let want = ["pass", "improved", "regressed", "inconclusive"];
    assert!(want.contains(&verdict(v)), "{v:#}");
    assert_eq!(v["exit_code"], code, "{v:#}");
}

#[test]
fn ab_of_a_model_with_itself_writes_a_complete_verdict() {
    let d = Dir::new("");
    let m = micro().display().to_string();
    let (code, v, err) = ab(&d, &["--a-model", &m, "--b-model", &m]);
    assert_a_verdict(code, &v, &err);
    assert_eq!(v["mode"], "ab");
    // 4 units of two blocks of 2 iterations.
    assert_eq!(v["models"][0]["iterations"], 16);
    assert!(
        v["models"][0]["what_changed"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // 4 units on 2 worker pairs, taken in turn.
    let pairs: Vec<u64> = v["models"][0]["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["pair"].as_u64().unwrap())
        .collect();
    assert_eq!(pairs, [1, 2, 1, 2]);
    // The same file on both sides, the same inputs, one thread: bit for bit the same outputs.
    assert_eq!(v["models"][0]["outputs"]["status"], "identical", "{v:#}");
    let orders: Vec<&str> = v["models"][0]["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["first"].as_str().unwrap())
        .collect();
    // Each unit's order is a coin from the seed the verdict records.
    assert!(
        orders.iter().all(|o| *o == "AB" || *o == "BA"),
        "{orders:?}"
    );
    assert!(v["models"][0]["duet"]["seed"].is_u64(), "{v:#}");
    assert!(
        v["models"][0]["duet"]["startup_s"].as_f64().unwrap() > 0.0,
        "{v:#}"
    );
    // Every worker reported its peak memory after the clock stopped: B against A per pair.
    let mem = &v["models"][0]["memory"];
    assert!(mem["candidate_mb"].as_f64().unwrap() > 1.0, "{mem:#}");
    assert!(mem["baseline_mb"].as_f64().unwrap() > 1.0, "{mem:#}");
    assert_eq!(mem["runs_used"], 2, "one A peak per worker pair: {mem:#}");
    let pairs = mem["pairs"].as_array().expect("each pair's peaks");
    assert_eq!(pairs.len(), 2, "{mem:#}");
    assert!(
        pairs
            .iter()
            .all(|p| p["a_mb"].as_f64().unwrap() > 1.0 && p["change_pct"].is_number()),
        "{mem:#}"
    );
    assert!(v["models"][0]["latency_verdict"].is_string(), "{v:#}");
}

/// `ab` with the given extra arguments; exit code, parsed JSON stdout (or Null), stderr.
fn ab(d: &Dir, extra: &[&str]) -> (i32, Value, String) {
    let out = d
        .bin()
        .args([
            "ab",
            "-c",
            "bench.toml",
            "--max-units",
            "4",
            "--iterations-per-block",
            "2",
            "--format",
            "json",
            "-q",
        ])
        .args(extra)
        // 2 pairs (the default) unless a test asks otherwise; 4 units use both.
        .args(if extra.contains(&"--worker-pairs") {
            &[][..]
        } else {
            &["--worker-pairs", "2"][..]
        })
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), v, err)
}

/// A worker command line for --a-cmd/--b-cmd: this build's binary, pinned where `ab` says.
fn worker_cmd(extra: &str) -> String {
    format!(
        "'{}' ab-worker -c bench.toml --model micro --cpus \"$BENCH_GATE_AB_CPUS\" {extra}",
        assert_cmd::cargo::cargo_bin("bench-gate").display()
    )
}

#[test]
fn ab_runs_a_variant_given_as_a_worker_command() {
    let d = Dir::new("");
    let cmd = worker_cmd("");
    let (code, v, err) = ab(&d, &["--b-cmd", &cmd]);
    assert_a_verdict(code, &v, &err);
    assert_eq!(v["mode"], "ab");
    let m = &v["models"][0];
    // 4 units on 2 fresh worker pairs (2 units each), 2 blocks of 2 iterations per unit.
    assert_eq!(m["iterations"], 16);
    assert_eq!(m["rounds"].as_array().unwrap().len(), 4);
    assert!(m["what_changed"].as_array().unwrap().is_empty(), "{m:#}");
}

#[test]
fn ab_names_the_variant_whose_command_fails_or_talks_nonsense() {
    let d = Dir::new("");
    let (code, _, err) = ab(&d, &["--b-cmd", "echo boom >&2; exit 3"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("variant B (`echo boom >&2; exit 3`)"), "{err}");
    assert!(
        err.contains("exit status: 3") && err.contains("boom"),
        "{err}"
    );

    let (code, _, err) = ab(&d, &["--a-cmd", "echo hello there"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("variant A")
            && err.contains("not a bench-gate ab-worker message: hello there"),
        "{err}"
    );

    // A worker that fails to load its model reports why, through the protocol.
    let cmd = worker_cmd("--model-file missing.onnx");
    let (code, _, err) = ab(&d, &["--b-cmd", &cmd]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("variant B") && err.contains("missing.onnx: no such file"),
        "{err}"
    );
}

#[test]
fn ab_refuses_variants_pinned_to_different_cpus() {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("skipped: needs 2 CPUs to pin the variants apart");
        return;
    }
    let d = Dir::new("");
    let cmd = format!(
        "'{}' ab-worker -c bench.toml --model micro --cpus 1",
        assert_cmd::cargo::cargo_bin("bench-gate").display()
    );
    // ab pins itself (and so every worker it starts) to 0-1; B narrows itself to 1 within that
    // (a worker can never widen the mask it was started with).
    let (code, _, err) = ab(&d, &["--cpus", "0-1", "--b-cmd", &cmd]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("do not run on the same CPUs") && err.contains("pinned CPUs: A 0-1, B 1"),
        "{err}"
    );
}

#[test]
fn ab_rejects_bad_pair_counts() {
    let d = Dir::new("");
    for pairs in ["0", "9"] {
        let (code, _, err) = ab(&d, &["--worker-pairs", pairs]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("must be between 1 and 8"), "{err}");
    }
}

#[test]
fn a_worker_answers_requests_and_reports_a_bad_one_on_stdout() {
    let d = Dir::new("");
    let out = d
        .bin()
        .args(["ab-worker", "-c", "bench.toml", "--model", "micro"])
        .write_stdin("{\"measure\":{\"warmup\":1,\"iterations\":3}}\nnonsense\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    let hello = &lines[0]["hello"];
    assert_eq!(hello["protocol"], 3);
    assert_eq!(hello["model"], "micro");
    assert_eq!(hello["pinned_cpus"], serde_json::json!([0]));
    let samples = lines[1]["block"]["samples_ms"].as_array().unwrap();
    assert_eq!(samples.len(), 3);
    assert!(samples.iter().all(|s| s.as_f64().unwrap() > 0.0));
    let error = lines[2]["error"]["message"].as_str().unwrap();
    assert!(
        error.contains("not a request of protocol 3: nonsense"),
        "{error}"
    );
}

#[test]
fn ab_does_not_hang_on_a_worker_that_stops_talking_but_keeps_running() {
    let d = Dir::new("");
    // Closes stdout and sleeps: killed after a short grace period, and said so.
    let (code, _, err) = ab(&d, &["--b-cmd", "exec >&-; sleep 60"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("variant B") && err.contains("still running after it stopped talking; killed"),
        "{err}"
    );
    // Exits, but leaves a grandchild holding its stdout and stderr: the exit is noticed and
    // reported with its status and stderr.
    let (code, _, err) = ab(&d, &["--b-cmd", "sleep 60 & echo nope >&2; exit 4"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("exit status: 4") && err.contains("nope"),
        "{err}"
    );
}

/// Output drift: a variant whose outputs differ (here its inputs are drawn from another seed, as
/// a changed preprocessing would) is reported as `changed`, and fails the check when the config
/// says so, whatever the speed.
#[test]
fn outputs_that_changed_are_reported_and_can_fail_the_check() {
    let d = Dir::new("[gate]\non_output_change = \"fail\"");
    let other = std::fs::read_to_string(d.p("bench.toml"))
        .unwrap()
        .replace("seed = 1", "seed = 2");
    std::fs::write(d.p("other.toml"), other).unwrap();
    let (code, v, err) = ab(&d, &["--b-config", "other.toml"]);
    assert_eq!(code, 1, "{err}\n{v:#}");
    let m = &v["models"][0];
    assert_eq!(m["outputs"]["status"], "changed", "{m:#}");
    assert!(m["outputs"]["tensors"][0]["max_abs_diff"].as_f64().unwrap() > 0.0);
    assert!(
        m["reasons"].to_string().contains("on_output_change"),
        "{m:#}"
    );
}

/// A real neighbour on the pinned CPU (a spinning thread of this test, pinned to CPU 0 where the
/// duet runs): the kernel makes every block wait for it, the workers' scheduler counts say so,
/// and the duet takes that wait out of each block ("applied"), saying so. Skipped, with the
/// reason, where the kernel keeps no schedstats.
#[test]
fn ab_beside_a_busy_neighbour_on_its_cpu_takes_the_wait_out() {
    if !Path::new("/proc/self/task").exists()
        || std::fs::read_to_string("/proc/self/schedstat").is_err()
    {
        eprintln!("skipped: this kernel keeps no schedstats (/proc/self/schedstat)");
        return;
    }
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            // SAFETY: a zeroed cpu_set_t is the empty set; the pointer and size are exact.
            let pinned = unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(0, &mut set);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
            };
            let mut x = 1u64;
            while pinned && !stop.load(Ordering::Relaxed) {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
            pinned
        })
    };
    let d = Dir::new("");
    let m = micro().display().to_string();
    let (code, v, err) = ab(&d, &["--a-model", &m, "--b-model", &m, "--cpus", "0"]);
    stop.store(true, Ordering::Relaxed);
    assert!(
        spinner.join().unwrap(),
        "the neighbour could not pin itself to CPU 0"
    );
    assert_a_verdict(code, &v, &err);
    let model = &v["models"][0];
    let wait = &model["duet"]["wait"];
    assert_eq!(wait["adjustment"], "applied", "{model:#}");
    // CFS shares the CPU with the spinner: each block waits a large share of its time.
    for side in ["a_wait_pct", "b_wait_pct"] {
        let w = wait[side].as_f64().unwrap();
        assert!((15.0..95.0).contains(&w), "{side} = {w}: {model:#}");
    }
    let rounds = model["rounds"].as_array().unwrap();
    assert!(
        rounds.iter().all(|r| r["adjusted_change_pct"].is_number()),
        "{model:#}"
    );
    assert!(
        model["test"]
            .as_str()
            .unwrap()
            .contains("adjusted for the share it waited"),
        "{model:#}"
    );
    let reasons = model["reasons"].to_string();
    assert!(reasons.contains("as if it had run alone"), "{reasons}");
}

/// The thread trap as a real duet: B runs 2 intra-op threads pinned to 1 CPU. Its hello says
/// so, and the duet judges the units as measured ("crowded"), naming B: B's threads waiting for
/// each other is B's cost, never adjusted away.
#[test]
fn ab_never_adjusts_away_a_variant_crowding_its_own_cpu() {
    let d = Dir::new("");
    let b = d.p("b.toml");
    let text = std::fs::read_to_string(d.p("bench.toml")).unwrap();
    std::fs::write(
        &b,
        format!("{text}\n[models.micro.session]\nintra_op_threads = 2\n"),
    )
    .unwrap();
    let (code, v, err) = ab(&d, &["--b-config", b.to_str().unwrap(), "--cpus", "0"]);
    assert_a_verdict(code, &v, &err);
    let model = &v["models"][0];
    assert_eq!(model["duet"]["wait"]["adjustment"], "crowded", "{model:#}");
    assert!(
        model["rounds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["adjusted_change_pct"].is_null()),
        "{model:#}"
    );
    let reasons = model["reasons"].to_string();
    assert!(
        reasons.contains("B: 2 busy threads on 1 CPU(s): its threads wait for each other"),
        "{reasons}"
    );
}
