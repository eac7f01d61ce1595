//! The real two-image `ab`: two container images that differ the way a pull request's image
//! would (another model file baked in), each variant's worker started by `podman run` through
//! `--a-cmd/--b-cmd`, exactly as the README's image-build gate does it.
//!
//! The images come from `scripts/check-image.sh` (`scripts/test.sh` runs it first): the
//! Dockerfile's runtime image plus tests/data/image-ab.toml and a model at /w/. Without podman
//! or those images the test says why and does nothing. It asserts only what holds at any speed:
//! the exit code is a verdict's, both variants ran every requested iteration, and the report
//! names the two images and the model files that differ; never which verdict came out.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Built by scripts/check-image.sh: the image under test with the micro (A) and the tiny (B)
/// Whisper encoder baked in as /w/model.onnx.
const IMAGE_A: &str = "localhost/bench-gate-check:ab-a";
const IMAGE_B: &str = "localhost/bench-gate-check:ab-b";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The containers.conf scripts/check-image.sh wrote (podman needs it on hosts like the one this
/// project is developed on), unless CONTAINERS_CONF already names one.
fn containers_conf() -> Option<PathBuf> {
    if std::env::var_os("CONTAINERS_CONF").is_some() {
        return None;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let conf = target.join("check-image/containers.conf");
    conf.is_file().then_some(conf)
}

fn podman(conf: Option<&Path>) -> Command {
    let mut c = Command::new("podman");
    if let Some(conf) = conf {
        c.env("CONTAINERS_CONF", conf);
    }
    c
}

/// Why the test cannot run here, if it cannot.
fn skip_reason(conf: Option<&Path>) -> Option<String> {
    if conf.is_none() && std::env::var_os("CONTAINERS_CONF").is_none() {
        return Some(
            "no containers.conf from scripts/check-image.sh (podman's defaults fail on this kind of machine); run it first".into(),
        );
    }
    match podman(conf).arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => return Some("podman is not installed (scripts/check-image.sh installs it)".into()),
    }
    for image in [IMAGE_A, IMAGE_B] {
        let exists = podman(conf)
            .args(["image", "exists", image])
            .status()
            .is_ok_and(|s| s.success());
        if !exists {
            return Some(format!(
                "no image {image} (scripts/check-image.sh builds it, as root)"
            ));
        }
    }
    None
}

/// The README's worker command for one image: the worker pinned by the container's cpuset,
/// with the machine's hostname (`--uts host`) so that every start describes the same worker.
fn worker_cmd(image: &str) -> String {
    worker_cmd_with(image, "--uts host")
}

fn worker_cmd_with(image: &str, options: &str) -> String {
    format!(
        "podman run -i --rm --network none {options} --cpuset-cpus \"$BENCH_GATE_AB_CPUS\" \
         --entrypoint bench-gate {image} ab-worker -c /w/benchmark.toml --model encoder --cpus all"
    )
}

const UNITS: u64 = 4;
const PER_BLOCK: u64 = 2;

/// `bench-gate ab` on CPU 0 with the two worker commands: exit code, JSON stdout (or Null),
/// stderr. `None` (with the reason printed) when the images are not there.
fn ab(a_cmd: &str, b_cmd: &str) -> Option<(i32, Value, String)> {
    let conf = containers_conf();
    if let Some(reason) = skip_reason(conf.as_deref()) {
        eprintln!("skipped: {reason}");
        return None;
    }
    // The host side reads the same config as the images, next to a model file of its own.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("tests/data/image-ab.toml"),
        dir.path().join("benchmark.toml"),
    )
    .unwrap();
    std::fs::copy(
        repo().join("fixtures/models/whisper-micro/encoder_model.onnx"),
        dir.path().join("model.onnx"),
    )
    .unwrap();
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("bench-gate"));
    c.current_dir(dir.path())
        .args(["ab", "-c", "benchmark.toml"])
        .args(["--model", "encoder", "--cpus", "0"])
        .args(["--max-units", &UNITS.to_string(), "--worker-pairs", "2"])
        // A budget no machine exhausts in UNITS units: every unit runs, however slow it is.
        .args(["--budget", "3600"])
        .args(["--iterations-per-block", &PER_BLOCK.to_string()])
        .args(["--format", "json", "--a-cmd", a_cmd, "--b-cmd", b_cmd]);
    if let Some(conf) = &conf {
        c.env("CONTAINERS_CONF", conf);
    }
    let out = c.output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    Some((out.status.code().unwrap_or(-1), v, err))
}

#[test]
fn ab_compares_two_images_through_podman_run() {
    let Some((code, v, err)) = ab(&worker_cmd(IMAGE_A), &worker_cmd(IMAGE_B)) else {
        return;
    };
    // 0 pass/improved, 1 regressed, 3 inconclusive: a verdict, whichever it is.
    assert!([0, 1, 3].contains(&code), "exit {code}\n{err}");
    assert_eq!(v["mode"], "ab", "{v:#}\n{err}");
    let m = &v["models"][0];
    assert_eq!(m["model"], "encoder", "{m:#}");
    assert!(m["verdict"].is_string(), "{m:#}");
    // Every unit ran: 2 blocks (one of each variant) of PER_BLOCK iterations per unit.
    assert_eq!(m["iterations"], 2 * UNITS * PER_BLOCK, "{m:#}");
    let r = m["rounds"].as_array().unwrap();
    assert_eq!(r.len() as u64, UNITS, "{m:#}");
    assert!(r.iter().all(|r| r["change_pct"].is_f64()), "{m:#}");

    // The variants are described by the images they ran in.
    for (label, image) in [("A", IMAGE_A), ("B", IMAGE_B)] {
        assert!(
            err.lines()
                .any(|l| l.contains(&format!("variant {label}")) && l.contains(image)),
            "no description of variant {label} naming {image}:\n{err}"
        );
    }
    // The images differ in their model file, not in the host: the report says so.
    let changed: Vec<&str> = m["what_changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["what"].as_str().unwrap())
        .collect();
    assert!(
        changed.iter().any(|w| w.starts_with("model file")),
        "{changed:?}\n{m:#}"
    );
    assert!(!changed.contains(&"host"), "{changed:?}\n{m:#}");
}

#[test]
fn ab_names_the_fix_when_each_container_start_gets_a_new_hostname() {
    // Without --uts host every `podman run` has its own hostname (the container's id), so the
    // second worker pair does not describe itself as the first did.
    let a = worker_cmd_with(IMAGE_A, "");
    let Some((code, _, err)) = ab(&a, &worker_cmd(IMAGE_B)) else {
        return;
    };
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("variant A's worker of pair 2 runs on host")
            && err.contains("a container gets a new hostname at every start")
            && err.contains("--uts host"),
        "{err}"
    );
}
