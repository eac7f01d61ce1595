//! Issue 18, class 5 and part of 7: every process `ab` starts is bounded and reaped, and what a
//! child prints is relayed without secrets. Each test runs the real binary with the committed
//! micro encoder; the misbehaving workers are shell commands around the real `ab-worker` (its
//! hello is real, so both variants describe the same machine) or hand-written protocol lines.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A secret-looking value, set as `GITHUB_TOKEN` for the binary under test.
const TOKEN: &str = "ghs_benchgateTest0123456789";

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    /// A config measuring the micro encoder on CPU 0; `gate` is the body of its `[gate]`.
    fn new(gate: &str) -> Dir {
        let dir = tempfile::tempdir().unwrap();
        let text = common::micro_encoder_config(&format!(
            r#"[thresholds.x86_64]
max_regression_pct = 5.0
on_inconclusive = "fail"

[thresholds.aarch64]
max_regression_pct = 5.0
on_inconclusive = "fail"

[gate]
{gate}"#
        ));
        std::fs::write(dir.path().join("bench.toml"), text).unwrap();
        std::fs::write(dir.path().join("fake.sh"), FAKE_WORKER).unwrap();
        Dir { dir }
    }

    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary, in this folder, with the repository's ONNX Runtime and a secret in its
    /// environment.
    fn command(&self) -> std::process::Command {
        let mut c = std::process::Command::new(bin());
        c.current_dir(self.dir.path()).env("GITHUB_TOKEN", TOKEN);
        if let Some(lib) = common::repo_ort_lib() {
            c.env("ORT_DYLIB_PATH", lib);
        }
        c
    }

    /// `ab` with one worker pair and small blocks, the verdict as JSON on stdout; killed (and
    /// the test failed) if it outlives `deadline`.
    fn ab(&self, extra: &[&str], deadline: Duration) -> (Option<i32>, Value, String) {
        let mut c = self.command();
        c.args([
            "ab",
            "-c",
            "bench.toml",
            "--worker-pairs",
            "1",
            "--max-units",
            "4",
            "--iterations-per-block",
            "2",
            "--format",
            "json",
            "-q",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let t = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if t.elapsed() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "ab still running after {deadline:?}; stderr:\n{}",
                    common::stderr_of(&out)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code(), v, common::stderr_of(&out))
    }
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("bench-gate")
}

/// This build's worker for the config's model, pinned where `ab` says.
fn worker_cmd() -> String {
    format!(
        "'{}' ab-worker -c bench.toml --model micro --cpus \"$BENCH_GATE_AB_CPUS\"",
        bin().display()
    )
}

/// A worker that says the real worker's hello, then answers every `measure` with `$SAMPLE` ms
/// per iteration and everything else with an error quoting `$GITHUB_TOKEN`.
const FAKE_WORKER: &str = r#"
"$BG" ab-worker -c bench.toml --model micro --cpus "$BENCH_GATE_AB_CPUS" </dev/null | head -n 1
while read -r req; do
  case "$req" in
    *measure*)
      n=$(printf '%s' "$req" | sed 's/.*"iterations":\([0-9]*\).*/\1/')
      s=""; i=0
      while [ "$i" -lt "$n" ]; do s="$s${s:+,}$SAMPLE"; i=$((i+1)); done
      printf '{"block":{"samples_ms":[%s],"during":{"elapsed_ms":1.0}}}\n' "$s";;
    *)
      printf '{"error":{"message":"cannot do that here (token %s)"}}\n' "$GITHUB_TOKEN";;
  esac
done
"#;

fn fake_worker(sample_ms: &str) -> String {
    format!("BG='{}' SAMPLE={sample_ms} sh fake.sh", bin().display())
}

/// Whether process `pid` is alive (a zombie is not: it only waits to be reaped).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Waits up to `limit` for `pid` to end; ends it (so a failing test leaves nothing behind) and
/// returns false if it did not.
fn gone_within(pid: i32, limit: Duration) -> bool {
    let t = Instant::now();
    while alive(pid) {
        if t.elapsed() > limit {
            // SAFETY: plain kill of a process this test's command started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

fn read_pid(file: &Path, limit: Duration) -> i32 {
    let t = Instant::now();
    loop {
        if let Some(p) = std::fs::read_to_string(file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return p;
        }
        assert!(t.elapsed() < limit, "{} never written", file.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_worker_that_says_hello_and_then_goes_silent_makes_the_duet_inconclusive_within_its_limit() {
    // 20 s: room for variant A's real hello on a loaded machine (A starts first, under the same
    // limit); B's warm-up then gets 20x its start-up, a few seconds.
    let d = Dir::new("worker_first_answer_s = 20");
    let pid_file = d.p("b.pid");
    // `$$` is the shell, which becomes the `sleep` that holds the worker's pipes.
    let b = format!(
        "echo $$ > '{}'; {} </dev/null | head -n 1; exec sleep 600",
        pid_file.display(),
        worker_cmd()
    );
    let t = Instant::now();
    let (code, v, err) = d.ab(&["--b-cmd", &b], Duration::from_secs(120));
    let took = t.elapsed();
    let silent = read_pid(&pid_file, Duration::from_secs(1));
    assert!(
        gone_within(silent, Duration::from_secs(5)),
        "the silent worker {silent} outlived ab"
    );
    assert_eq!(
        code,
        Some(3),
        "inconclusive, on_inconclusive = fail: {err}\n{v:#}"
    );
    let m = &v["models"][0];
    assert_eq!(m["verdict"], "inconclusive", "{m:#}");
    let first = m["reasons"][0].as_str().unwrap_or_default();
    assert!(
        first.starts_with("variant B stopped answering") && first.contains("worker_first_answer_s"),
        "the first reason names the variant and the knob: {m:#}"
    );
    assert!(
        m["reasons"].to_string().contains("not asked"),
        "the silent pair is not asked for its outputs: {m:#}"
    );
    // Two model loads plus B's warm-up limit (at most 20 s) and the 2 s grace; far from a hang.
    assert!(took < Duration::from_secs(100), "{took:?}");
}

#[test]
fn a_worker_that_never_says_hello_is_given_up_on_at_the_first_answer_limit() {
    // 10 s: variant A, a real worker started first under the same limit, must say hello in
    // time on a loaded machine.
    let d = Dir::new("worker_first_answer_s = 10");
    let pid_file = d.p("b.pid");
    let b = format!("echo $$ > '{}'; exec sleep 600", pid_file.display());
    let (code, v, err) = d.ab(&["--b-cmd", &b], Duration::from_secs(90));
    let silent = read_pid(&pid_file, Duration::from_secs(1));
    assert!(
        gone_within(silent, Duration::from_secs(5)),
        "the silent worker {silent} outlived ab"
    );
    assert_eq!(code, Some(3), "{err}\n{v:#}");
    let m = &v["models"][0];
    assert_eq!(m["verdict"], "inconclusive", "{m:#}");
    // No worker described the machine: the verdict still names this one's CPU.
    assert!(
        !m["cpu_model"].as_str().unwrap_or_default().is_empty(),
        "{m:#}"
    );
    let first = m["reasons"][0].as_str().unwrap_or_default();
    assert!(
        first
            .starts_with("variant B stopped answering: no reply with its first line (hello) after")
            && first.contains("(limit 10 s: "),
        "{m:#}"
    );
}

/// Sends `sig` to bench-gate alone (a cancelled CI job, `kill -INT`; not its process group)
/// running `ab` with `extra`, once the commands recording their pids in `pid_files` have started
/// and its stderr shows `ready`: bench-gate exits 128 + the signal, says so, and every recorded
/// process is gone within a few seconds.
fn a_signal_ends_every_worker(
    sig: i32,
    name: &str,
    d: &Dir,
    extra: &[&str],
    pid_files: &[&str],
    ready: &str,
) {
    let mut child = d
        .command()
        .args(["ab", "-c", "bench.toml", "--worker-pairs", "1"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = std::sync::Arc::clone(&err);
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n @ 1..) = std::io::Read::read(&mut pipe, &mut buf) {
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let workers: Vec<i32> = pid_files
        .iter()
        .map(|f| read_pid(&d.p(f), Duration::from_secs(60)))
        .collect();
    let t = Instant::now();
    while !err.lock().unwrap().contains(ready) {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "never ready: {}",
            err.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: a signal to the child this test started, by its pid only (not its group).
    unsafe { libc::kill(child.id() as i32, sig) };
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let err = err.lock().unwrap().clone();
    let left: Vec<i32> = workers
        .iter()
        .copied()
        .filter(|p| !gone_within(*p, Duration::from_secs(5)))
        .collect();
    assert_eq!(status.code(), Some(128 + sig), "{status:?}: {err}");
    assert!(
        err.contains(&format!("interrupted by {name}")),
        "one line says so: {err}"
    );
    assert!(
        left.is_empty(),
        "worker(s) {left:?} outlived bench-gate: {err}"
    );
}

/// Variant A's command records its pid and never says hello: bench-gate is still starting it.
fn while_a_worker_starts(sig: i32, name: &str) {
    let d = Dir::new("");
    let a = format!("echo $$ > '{}'; exec sleep 300", d.p("a.pid").display());
    a_signal_ends_every_worker(sig, name, &d, &["--a-cmd", &a], &["a.pid"], "variant B:");
}

#[test]
fn sigterm_while_a_worker_command_starts_exits_143_and_ends_it() {
    while_a_worker_starts(libc::SIGTERM, "SIGTERM");
}

#[test]
fn sigint_to_bench_gate_alone_exits_130_and_ends_the_worker_it_started() {
    while_a_worker_starts(libc::SIGINT, "SIGINT");
}

#[test]
fn sigterm_mid_duet_exits_143_and_ends_both_workers() {
    let d = Dir::new("");
    // Both variants are the real worker, each recording its pid first (`exec` keeps it).
    let side = |f: &str| format!("echo $$ > '{}'; exec {}", d.p(f).display(), worker_cmd());
    let (a, b) = (side("a.pid"), side("b.pid"));
    a_signal_ends_every_worker(
        libc::SIGTERM,
        "SIGTERM",
        &d,
        &["--budget", "300", "--a-cmd", &a, "--b-cmd", &b],
        &["a.pid", "b.pid"],
        // A unit is measured and the duet goes on: no look decides before 2 units.
        "unit 1:",
    );
}

#[test]
fn a_token_a_worker_prints_is_masked_in_errors_and_in_the_verdict() {
    let d = Dir::new("");
    // Quoted from its stderr when it fails to start.
    let (code, _, err) = d.ab(
        &["--b-cmd", "echo \"loading with $GITHUB_TOKEN\" >&2; exit 3"],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        !err.contains(TOKEN) && err.contains("loading with ***"),
        "{err}"
    );
    // Quoted as the line that is not a protocol message.
    let (code, _, err) = d.ab(
        &["--b-cmd", "echo \"hello $GITHUB_TOKEN\"; sleep 1"],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        !err.contains(TOKEN) && err.contains("hello ***") && err.contains("variant B"),
        "{err}"
    );
    // Quoted in the verdict: the worker measured, then refused its outputs and memory.
    let (code, v, err) = d.ab(
        &["--b-cmd", &fake_worker("1.5"), "-o", "verdict.json"],
        Duration::from_secs(120),
    );
    assert!(code.is_some_and(|c| c != 2), "{code:?}: {err}");
    let file = std::fs::read_to_string(d.p("verdict.json")).unwrap();
    let reasons = v["models"][0]["reasons"].to_string();
    assert!(
        reasons.contains("(token ***)"),
        "the worker's error is quoted, masked: {reasons}"
    );
    for (what, text) in [("stderr", &err), ("stdout", &v.to_string()), ("-o", &file)] {
        assert!(
            !text.contains(TOKEN),
            "the token leaked into {what}: {text}"
        );
    }
}

#[test]
fn a_worker_reporting_zero_or_negative_latencies_is_refused_naming_variant_and_value() {
    let d = Dir::new("");
    for (sample, shown) in [("0.000", "0 ms"), ("-1.5", "-1.5 ms")] {
        let (code, v, err) = d.ab(
            &["--b-cmd", &fake_worker(sample), "-o", "verdict.json"],
            Duration::from_secs(120),
        );
        assert_eq!(code, Some(2), "{sample}: {err}\n{v:#}");
        assert!(
            err.contains("variant B")
                && err.contains(&format!("reported a latency of {shown}"))
                && err.contains("fix:"),
            "{sample}: {err}"
        );
        assert!(!d.p("verdict.json").exists(), "no verdict is written");
    }
}

/// A worker of the previous protocol (the merge base's build in the PR that changed it) still
/// takes part: the duet measures and decides, and says its outputs were not compared, instead
/// of failing the PR's gate as a setup error.
#[test]
fn a_worker_of_the_previous_protocol_measures_and_its_outputs_are_not_compared() {
    let d = Dir::new("");
    let v1 = fake_worker("5.0").replace(
        "sh fake.sh",
        "sh fake.sh | sed -u 's/\"protocol\":[0-9]*/\"protocol\":1/'",
    );
    let (code, v, err) = d.ab(&["--b-cmd", &v1], Duration::from_secs(120));
    assert!(matches!(code, Some(0 | 1 | 3)), "{code:?} {err}");
    let m = &v["models"][0];
    assert_eq!(m["rounds"].as_array().map(Vec::len), Some(4), "{m:#}");
    let reasons = m["reasons"].to_string();
    assert!(
        reasons.contains("outputs not compared: variant B's worker speaks ab-worker protocol 1"),
        "{reasons}"
    );
    // A protocol this bench-gate does not know is a setup error naming both versions.
    let v99 = fake_worker("5.0").replace(
        "sh fake.sh",
        "sh fake.sh | sed -u 's/\"protocol\":[0-9]*/\"protocol\":99/'",
    );
    let (code, _, err) = d.ab(&["--b-cmd", &v99], Duration::from_secs(120));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("speaks ab-worker protocol 99, this bench-gate speaks 1 to 3")
            && err.contains("fix: use the same bench-gate version"),
        "{err}"
    );
}
