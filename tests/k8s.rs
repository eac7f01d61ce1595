//! `bench-gate k8s render|run` through the binary. The Job flow itself (create, watch, logs,
//! delete on every outcome) is tested against a fake API server in src/publish/k8s/run_tests.rs.

mod common;

use common::*;

fn render(extra: &[&str]) -> serde_norway::Value {
    let out = bench_gate()
        .args(["k8s", "render", "-c", "benchmark.toml"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<serde_norway::Value> = text
        .split("\n---\n")
        .filter(|d| !d.trim().is_empty() && d.trim() != "---")
        .map(|d| serde_norway::from_str(d.trim_start_matches("---\n")).unwrap())
        .collect();
    docs.into_iter().next().unwrap()
}

#[test]
fn default_job_is_guaranteed_with_integer_cpu_deadline_and_ttl() {
    let job = render(&[]);
    assert_eq!(job["kind"], "Job");
    let spec = &job["spec"];
    assert_eq!(spec["backoffLimit"], 0);
    assert_eq!(spec["activeDeadlineSeconds"], 1800);
    assert_eq!(spec["ttlSecondsAfterFinished"], 3600);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let c = &pod["containers"][0];
    assert_eq!(
        c["resources"]["requests"], c["resources"]["limits"],
        "Guaranteed QoS needs requests == limits"
    );
    let cpu = c["resources"]["limits"]["cpu"].as_str().unwrap();
    assert!(
        cpu.parse::<u32>().is_ok(),
        "integer CPU for exclusive cores, got {cpu}"
    );
    assert_eq!(
        pod["nodeSelector"]["feature.node.kubernetes.io/cpu-model.vendor_id"],
        "Intel"
    );
    assert_eq!(c["securityContext"]["runAsNonRoot"], true);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    let args: Vec<&str> = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.windows(2).any(|w| w == ["--cpus", "all"]),
        "the pod measures on the cores it was given: {args:?}"
    );
}

#[test]
fn pool_label_and_options_reach_the_manifest() {
    let job = render(&[
        "--pool",
        "epyc",
        "--pool-label",
        "eks.amazonaws.com/nodegroup",
        "--pod-cpus",
        "4",
        "--memory-mib",
        "4096",
        "--toleration",
        "dedicated=bench:NoSchedule",
        "--pr",
        "7",
    ]);
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["nodeSelector"]["eks.amazonaws.com/nodegroup"], "epyc");
    assert_eq!(pod["containers"][0]["resources"]["limits"]["cpu"], "4");
    assert_eq!(
        pod["containers"][0]["resources"]["limits"]["memory"],
        "4096Mi"
    );
    assert_eq!(pod["tolerations"][0]["key"], "dedicated");
    assert_eq!(job["metadata"]["labels"]["bench-gate/pr"], "7");
}

#[test]
fn run_errors_are_clear_and_exit_2() {
    let out = bench_gate()
        .args([
            "k8s",
            "run",
            "-c",
            "benchmark.toml",
            "--kubeconfig",
            "/nonexistent/kubeconfig",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("/nonexistent/kubeconfig"),
        "{}",
        stderr_of(&out)
    );
    let out = bench_gate()
        .args(["k8s", "run", "-c", "benchmark.toml", "--pools", "a,b"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("--pool-label"),
        "{}",
        stderr_of(&out)
    );
    let out = bench_gate()
        .args([
            "k8s",
            "render",
            "-c",
            "benchmark.toml",
            "--toleration",
            "x:Sometimes",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("unknown effect"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn result_markers_wrap_the_json_for_the_pod_log() {
    let out = bench_gate()
        .args([
            "run",
            "-q",
            "-m",
            "silero-vad",
            "--iterations",
            "2",
            "--cpus",
            "all",
            "-c",
        ])
        .arg(fixture("configs/micro.toml"))
        .env("BENCH_GATE_RESULT_MARKERS", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let log = String::from_utf8(out.stdout).unwrap();
    let json = bench_gate::publish::k8s::run::extract_result(&log).unwrap();
    let r = bench_gate::result::RunResult::parse(&json, std::path::Path::new("pod.log")).unwrap();
    assert_eq!(r.models[0].name, "silero-vad");
    assert_eq!(
        r.models[0].pinned_cpus,
        bench_gate::platform::affinity::current_affinity()
    );
}
