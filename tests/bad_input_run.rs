//! Hostile configs, CPU masks, GitHub and Kubernetes arguments through the binary: exit 2 with
//! the file, line or step named, never a panic, never a hang.

mod common;

use std::os::unix::process::CommandExt;
use std::time::Duration;

use common::*;

fn refused(out: &std::process::Output) -> String {
    assert_user_error(out, &[])
}

#[test]
fn a_time_budget_no_duration_can_hold_is_a_config_error_not_a_panic() {
    let d = tempfile::tempdir().unwrap();
    let cfg = write_config(
        d.path(),
        &silero_config(SILERO_INPUTS)
            .replace("iterations = 2", "iterations = 2\ntime_budget_s = 1e30"),
    );
    let err = refused(&bench_gate().args(["run", "-c"]).arg(&cfg).output().unwrap());
    assert!(
        err.contains("benchmark.toml:4:")
            && err.contains("run.time_budget_s")
            && err.contains("fix:"),
        "{err}"
    );
}

#[test]
fn cpus_the_machine_does_not_have_name_the_config_line() {
    let d = tempfile::tempdir().unwrap();
    let cfg = write_config(
        d.path(),
        &silero_config(SILERO_INPUTS).replace("[run]", "[run]\ncpus = \"4095\""),
    );
    let err = refused(&bench_gate().args(["run", "-c"]).arg(&cfg).output().unwrap());
    assert!(
        err.contains("4095") && err.contains(&format!("{}:2:8", cfg.display())),
        "{err}"
    );
}

/// The CPUs this test process may use (its own affinity).
fn allowed_cpus() -> Vec<usize> {
    let text = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("Cpus_allowed_list:"))
        .unwrap();
    let mut out = Vec::new();
    for part in line.split(':').nth(1).unwrap().trim().split(',') {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<usize>().unwrap()..=b.parse().unwrap()),
            None => out.push(part.parse().unwrap()),
        }
    }
    out
}

/// `taskset -c <one CPU> bench-gate ...` with the config asking for another CPU: every command
/// that pins refuses, naming the config's CPUs and the mask it was started with.
#[test]
fn the_cpu_mask_bench_gate_was_started_with_is_never_widened() {
    let cpus = allowed_cpus();
    if cpus.len() < 2 {
        eprintln!("skipped: needs two CPUs to start on one and ask for another");
        return;
    }
    let (start_on, asked) = (cpus[1], cpus[0]);
    let d = tempfile::tempdir().unwrap();
    let cfg = write_config(
        d.path(),
        &silero_config(SILERO_INPUTS).replace("[run]", &format!("[run]\ncpus = \"{asked}\"")),
    );
    let c = cfg.to_str().unwrap();
    let out_dir = d.path().to_str().unwrap();
    let asked_s = asked.to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["run", "-c", c],
        vec!["ci", "-c", c, "--out-dir", out_dir, "--no-comment"],
        vec!["load", "-c", c, "--requests", "1"],
        vec!["ab", "-c", c],
        vec!["ab-worker", "-c", c, "--model", "vad"],
        vec!["sweep", "-c", c, "--cpus", &asked_s],
    ];
    for args in commands {
        let mut std_cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("bench-gate"));
        std_cmd
            .current_dir(repo())
            .env_remove("ORT_DYLIB_PATH")
            .args(&args);
        // SAFETY: sched_setaffinity is async-signal-safe and only affects the child.
        unsafe {
            std_cmd.pre_exec(move || {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(start_on, &mut set);
                if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = std_cmd.output().unwrap();
        let err = refused(&out);
        assert!(
            err.contains(&format!(
                "outside the CPU mask bench-gate was started with ({start_on}"
            )) && err.contains(&format!("cannot pin to CPUs {asked}")),
            "{args:?}: {err}"
        );
        if args[0] != "sweep" {
            assert!(
                err.contains("run.cpus = "),
                "{args:?} names the config: {err}"
            );
        }
        assert!(!err.contains("loaded in"), "{args:?} measured: {err}");
    }
}

#[test]
fn a_token_inside_the_api_url_is_never_printed() {
    let d = tempfile::tempdir().unwrap();
    let body = d.path().join("comment.md");
    std::fs::write(&body, "hello").unwrap();
    let out = bench_gate()
        .env_clear()
        .env("GITHUB_TOKEN", "ghs_SECRET_9999")
        .env(
            "GITHUB_API_URL",
            "https://user:ghp_URLTOKEN_1234@ghe.example/api/v3",
        )
        .args(["comment", "--repo", "acme/stt", "--pr", "7", "--body-file"])
        .arg(&body)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout), stderr_of(&out));
    assert_eq!(out.status.code(), Some(0), "not strict: a warning: {e}");
    assert!(
        !o.contains("ghp_URLTOKEN_1234") && !e.contains("ghp_URLTOKEN_1234"),
        "{o}{e}"
    );
    assert!(
        e.contains("https://***@ghe.example") && e.contains("credentials"),
        "{e}"
    );
}

#[test]
fn k8s_render_refuses_names_kubernetes_would_refuse() {
    for (flag, value, expect) in [
        (
            "--image",
            "Not A Valid Image!!",
            "image \"Not A Valid Image!!\"",
        ),
        ("--image", "", "an image is required"),
        ("--namespace", "Bad_NS!", "namespace \"Bad_NS!\""),
        ("--pool", "xeon 8480", "pool \"xeon 8480\""),
        (
            "--node-selector",
            "bad key=x",
            "node selector key \"bad key\"",
        ),
    ] {
        let out = bench_gate()
            .args(["k8s", "render", "-c", "benchmark.toml"])
            .arg(format!("{flag}={value}"))
            .output()
            .unwrap();
        let err = refused(&out);
        assert!(err.contains(expect), "{flag} {value}: {err}");
        assert!(out.stdout.is_empty(), "nothing rendered");
    }
}

/// Messages that once reached the user without a fix: each names its flag and says what to do,
/// and none measures first.
#[test]
fn flag_mistakes_name_the_flag_and_the_fix() {
    let d = tempfile::tempdir().unwrap();
    let cfg = write_config(d.path(), &silero_config(SILERO_INPUTS));
    let cfg = cfg.to_str().unwrap();
    let other_dir = d.path().join("other");
    std::fs::create_dir(&other_dir).unwrap();
    let other = write_config(
        &other_dir,
        &silero_config(SILERO_INPUTS).replace("models.vad", "models.old"),
    );
    let other = other.to_str().unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (&["load", "-c", cfg, "--streams", "0"], &["--streams"]),
        (&["load", "-c", cfg, "--duration", "0s"], &["--duration 0s"]),
        (&["load", "-c", cfg, "--requests", "0"], &["--requests 0"]),
        (&["sweep", "-c", cfg, "--threads", "0"], &["--threads"]),
        (&["sweep", "-c", cfg, "--cpu-limit=-1"], &["--cpu-limit -1"]),
        (
            &["ab", "-q", "-c", cfg, "--b-config", other],
            &["--b-config", other, "[models.vad]"],
        ),
        (
            &["k8s", "render", "-c", cfg, "--toleration", "dedicated"],
            &["--toleration dedicated"],
        ),
        (
            &["k8s", "render", "-c", cfg, "--toleration", "a=b:Sometimes"],
            &["--toleration a=b:Sometimes", "NoSchedule"],
        ),
        (
            &["k8s", "render", "-c", cfg, "--node-selector", "novalue"],
            &["--node-selector novalue"],
        ),
        (
            &["k8s", "render", "-c", cfg, "--pod-cpus", "0"],
            &["--pod-cpus"],
        ),
        (
            &["k8s", "run", "-c", cfg, "--pools", "a,b"],
            &["--pool-label"],
        ),
    ];
    for (args, names) in cases {
        let out = bench_gate()
            .args(*args)
            .env_remove("KUBECONFIG")
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        let err = assert_user_error(&out, names);
        assert!(!err.contains("loaded in"), "{args:?} measured: {err}");
    }
}

/// A worker fed something that is not a request says so, with the fix, instead of guessing.
#[test]
fn a_worker_fed_garbage_names_the_protocol_and_the_fix() {
    let d = tempfile::tempdir().unwrap();
    let cfg = write_config(d.path(), &silero_config(SILERO_INPUTS));
    let out = bench_gate()
        .args(["ab-worker", "--model", "vad", "-c"])
        .arg(&cfg)
        .write_stdin("this is not json\n")
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_user_error(&out, &["not a request of protocol", "this is not json"]);
}
