//! `sweep` and `load` on the committed micro Whisper, with the real kernel where it allows.

use assert_cmd::Command;
use serde_json::Value;

use bench_gate::platform::affinity::current_affinity;
use bench_gate::platform::cgroup_ctl::can_apply_limits;

const CONFIG: &str = "tests/data/micro.toml";

fn bench_gate() -> Command {
    Command::cargo_bin("bench-gate").expect("binary")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Why the real-quota test cannot run here, if it cannot.
fn quota_skip_reason() -> Option<String> {
    if !is_root() {
        return Some("not root".into());
    }
    if current_affinity().len() < 2 {
        return Some("needs 2 CPUs so 2 threads can exceed a fractional quota".into());
    }
    can_apply_limits().err()
}

#[test]
fn sweep_under_half_a_cpu_shows_kernel_throttling_of_two_threads() {
    if let Some(reason) = quota_skip_reason() {
        eprintln!("skipped: {reason}");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("sweep.json");
    bench_gate()
        .args([
            "sweep",
            "-c",
            CONFIG,
            "--cpu-limit",
            "0.5",
            "--threads",
            "1,2",
        ])
        .args(["--iterations", "10", "--warmup", "1", "-q", "-o"])
        .arg(&out)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["limit_cpus"], 0.5);
    assert_eq!(v["limit_source"]["kind"], "applied");
    let rows = v["models"][0]["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["threads"], 2);
    let throttled = rows[1]["nr_throttled"].as_u64().expect("counter read");
    assert!(throttled > 0, "2 threads under 0.5 CPU: {}", rows[1]);
    assert!(rows[1]["nr_periods"].as_u64().unwrap() >= throttled);
}

#[test]
fn sweep_refuses_a_limit_it_cannot_apply() {
    // Run as `nobody` when we are root (so the permission really is missing); as a normal
    // user the binary already lacks it.
    let mut cmd = if is_root() {
        match which("setpriv") {
            Some(setpriv) => {
                let mut c = std::process::Command::new(setpriv);
                c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                    .arg(assert_cmd::cargo::cargo_bin("bench-gate"));
                Command::from_std(c)
            }
            None => {
                eprintln!("skipped: root without setpriv cannot drop the permission");
                return;
            }
        }
    } else {
        bench_gate()
    };
    if can_apply_limits().is_err() && !is_root() && bench_gate_limit_in_force() {
        eprintln!("skipped: a CPU limit is already in force, so the asked one may be used");
        return;
    }
    let out = cmd
        .args(["sweep", "-c", CONFIG, "--cpu-limit", "1", "--threads", "1"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--cpu-limit 1 cannot be applied"),
        "{stderr}"
    );
    assert!(stderr.contains("fix:"), "{stderr}");
}

fn bench_gate_limit_in_force() -> bool {
    bench_gate::platform::cgroup::detect_cpu_limit().is_some_and(|l| l.cpus.is_some())
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| std::path::Path::new(d).join(name))
        .find(|p| p.is_file())
}

#[test]
fn load_with_one_and_two_streams_reports_scale_efficiency() {
    if current_affinity().len() < 2 {
        eprintln!("skipped: needs 2 CPUs for 2 streams");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("load.json");
    bench_gate()
        .args(["load", "-c", CONFIG, "--streams", "1,2", "--requests", "12"])
        .args(["--cpus", "0-1", "-q", "-o"])
        .arg(&out)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert_eq!(r["requests"], 12);
        assert_eq!(r["errors"], 0);
        assert!(r["rps"].as_f64().unwrap() > 0.0);
        assert!(r["p99_ms"].as_f64().unwrap() >= r["p50_ms"].as_f64().unwrap());
    }
    assert_eq!(rows[0]["scale_efficiency"], 1.0);
    let e2 = rows[1]["scale_efficiency"].as_f64().expect("efficiency");
    assert!(e2 > 0.0 && e2 <= 1.5, "{e2}");
    assert!(rows[1]["grade"]["grade"].is_string());
}

#[test]
fn open_loop_needs_a_rate() {
    let out = bench_gate()
        .args(["load", "-c", CONFIG, "--mode", "open"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--rate"));
}
