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

/// CPU seconds per wall second that two busy unlimited threads of this process get right now.
fn host_parallelism() -> f64 {
    let spin = || {
        let end = std::time::Instant::now() + std::time::Duration::from_millis(300);
        let mut x = 0u64;
        while std::time::Instant::now() < end {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    };
    let cpu0 = bench_gate::platform::proc::process_cpu_time().unwrap_or_default();
    let t0 = std::time::Instant::now();
    std::thread::scope(|s| {
        s.spawn(spin);
        s.spawn(spin);
    });
    let cpu = bench_gate::platform::proc::process_cpu_time()
        .unwrap_or_default()
        .saturating_sub(cpu0);
    cpu.as_secs_f64() / t0.elapsed().as_secs_f64()
}

/// One sweep of 1 and 2 threads on both CPUs under half a CPU; the rows as JSON.
fn sweep_half_a_cpu(out: &std::path::Path) -> Vec<Value> {
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
        .args([
            "--cpus",
            "0-1",
            "--iterations",
            "10",
            "--warmup",
            "1",
            "-q",
            "-o",
        ])
        .arg(out)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    assert_eq!(v["limit_cpus"], 0.5);
    assert_eq!(v["limit_source"]["kind"], "applied");
    let rows = v["models"][0]["rows"].as_array().expect("rows").clone();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["threads"], 2);
    rows
}

/// The counters are read for every row. Throttling itself is expected only where the quota is
/// known to be exceeded: 0.5 CPU is exceeded whenever the host gives this process's threads more
/// than half a CPU, so an attempt is judged only when two busy threads got >= 0.8 CPUs just
/// before it (on a machine so loaded that they did not, the test says so and skips).
#[test]
fn sweep_under_half_a_cpu_shows_kernel_throttling_of_two_threads() {
    if let Some(reason) = quota_skip_reason() {
        eprintln!("skipped: {reason}");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for attempt in 0..3 {
        let parallelism = host_parallelism();
        let rows = sweep_half_a_cpu(&d.path().join(format!("sweep{attempt}.json")));
        for r in &rows {
            let throttled = r["nr_throttled"].as_u64().expect("nr_throttled read");
            assert!(
                r["nr_periods"].as_u64().expect("nr_periods read") >= throttled,
                "{r}"
            );
            assert!(r["throttled_time_ns"].as_u64().is_some(), "{r}");
        }
        let throttled = rows[1]["nr_throttled"].as_u64().unwrap();
        if throttled > 0 {
            return;
        }
        seen.push((parallelism, rows[1].clone()));
    }
    if seen.iter().all(|(p, _)| *p < 0.8) {
        eprintln!(
            "skipped: the host never gave two threads 0.8 CPUs, so 0.5 was not exceeded: {seen:?}"
        );
        return;
    }
    panic!("2 threads under 0.5 CPU were never throttled, with the host giving more: {seen:?}");
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
    // Efficiency is the measured throughput ratio: its value depends on the machine's noise, its
    // arithmetic does not.
    assert_eq!(rows[0]["scale_efficiency"], 1.0);
    let e2 = rows[1]["scale_efficiency"].as_f64().expect("efficiency");
    let rps = |i: usize| rows[i]["rps"].as_f64().unwrap();
    assert!(
        (e2 - rps(1) / rps(0) / 2.0).abs() < 1e-9 * e2.max(1.0),
        "{e2}"
    );
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
