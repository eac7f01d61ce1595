use std::path::Path;

use super::*;

fn pod_spec(job: &Job) -> &PodSpec {
    job.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("job has a pod spec")
}

fn params() -> JobParams {
    JobParams {
        commit: "0123456789abcdef0123456789abcdef01234567".to_owned(),
        pr: Some(42),
        pool: "xeon-spr".to_owned(),
        cpus: NonZeroU32::new(2).expect("2 is not zero"),
        memory_mib: NonZeroU64::new(2048).expect("2048 is not zero"),
        ..JobParams::default()
    }
}

#[test]
fn requests_equal_limits_with_integer_cpu_for_guaranteed_qos() {
    let job = job(&params());
    let resources = pod_spec(&job).containers[0]
        .resources
        .as_ref()
        .expect("resources set");
    assert_eq!(resources.requests, resources.limits);
    let limits = resources.limits.as_ref().expect("limits set");
    assert_eq!(limits["cpu"], Quantity("2".to_owned()));
    assert_eq!(limits["memory"], Quantity("2048Mi".to_owned()));
    assert!(
        limits["cpu"].0.parse::<u32>().is_ok(),
        "CPU must be a whole number"
    );
}

#[test]
fn container_asks_for_result_markers() {
    let job = job(&params());
    let env = pod_spec(&job).containers[0].env.clone().unwrap_or_default();
    assert!(
        env.iter()
            .any(|e| e.name == RESULT_MARKERS_ENV && e.value.as_deref() == Some("1"))
    );
}

#[test]
fn pod_runs_once_and_job_never_retries() {
    let job = job(&params());
    let spec = job.spec.as_ref().expect("spec");
    assert_eq!(spec.backoff_limit, Some(0));
    assert_eq!(pod_spec(&job).restart_policy.as_deref(), Some("Never"));
}

#[test]
fn deadline_and_ttl_come_from_params() {
    let p = JobParams {
        active_deadline_s: 900,
        ttl_after_finished_s: 60,
        ..params()
    };
    let spec = job(&p).spec.expect("spec");
    assert_eq!(spec.active_deadline_seconds, Some(900));
    assert_eq!(spec.ttl_seconds_after_finished, Some(60));
}

#[test]
fn node_selector_defaults_to_nfd_cpu_vendor_and_is_configurable() {
    let default = job(&JobParams::default());
    let selector = pod_spec(&default).node_selector.clone().expect("selector");
    assert_eq!(
        selector.get(NFD_CPU_VENDOR_ID).map(String::as_str),
        Some("Intel")
    );

    let p = JobParams {
        node_selector: BTreeMap::from([
            (NFD_CPU_FAMILY.to_owned(), "6".to_owned()),
            (NFD_CPU_MODEL_ID.to_owned(), "143".to_owned()),
        ]),
        ..params()
    };
    let custom = job(&p);
    assert_eq!(
        pod_spec(&custom).node_selector.as_ref(),
        Some(&p.node_selector)
    );

    let none = job(&JobParams {
        node_selector: BTreeMap::new(),
        ..params()
    });
    assert_eq!(pod_spec(&none).node_selector, None);
}

#[test]
fn tolerations_use_exists_without_a_value() {
    let p = JobParams {
        tolerations: vec![
            TolerationSpec {
                key: "dedicated".into(),
                value: Some("benchmark".into()),
                effect: TaintEffect::NoSchedule,
            },
            TolerationSpec {
                key: "spot".into(),
                value: None,
                effect: TaintEffect::NoExecute,
            },
        ],
        ..params()
    };
    let tolerations = pod_spec(&job(&p)).tolerations.clone().expect("tolerations");
    assert_eq!(tolerations[0].operator.as_deref(), Some("Equal"));
    assert_eq!(tolerations[0].value.as_deref(), Some("benchmark"));
    assert_eq!(tolerations[1].operator.as_deref(), Some("Exists"));
    assert_eq!(tolerations[1].effect.as_deref(), Some("NoExecute"));
}

#[test]
fn pod_is_locked_down() {
    let job = job(&params());
    let pod = pod_spec(&job);
    assert_eq!(pod.automount_service_account_token, Some(false));
    let pod_sc = pod.security_context.as_ref().expect("pod securityContext");
    assert_eq!(pod_sc.run_as_non_root, Some(true));
    assert_eq!(pod_sc.run_as_user, Some(10001));
    assert_eq!(
        pod_sc.seccomp_profile.as_ref().map(|s| s.type_.as_str()),
        Some("RuntimeDefault")
    );
    let sc = pod.containers[0]
        .security_context
        .as_ref()
        .expect("container securityContext");
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.run_as_non_root, Some(true));
    let drop = sc.capabilities.as_ref().and_then(|c| c.drop.clone());
    assert_eq!(drop, Some(vec!["ALL".to_owned()]));
    // A read-only root needs somewhere to write.
    let mounts = pod.containers[0].volume_mounts.as_ref().expect("mounts");
    assert_eq!(mounts[0].mount_path, "/tmp");
    let volumes = pod.volumes.as_ref().expect("volumes");
    assert!(volumes[0].empty_dir.is_some());
}

#[test]
fn name_and_labels_identify_commit_pr_and_pool() {
    let job = job(&params());
    assert_eq!(
        job.metadata.name.as_deref(),
        Some("bench-gate-01234567-xeon-spr")
    );
    let labels = job.metadata.labels.as_ref().expect("labels");
    assert_eq!(labels[LABEL_APP], "bench-gate");
    assert_eq!(
        labels[LABEL_COMMIT],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(labels[LABEL_PR], "42");
    assert_eq!(labels[LABEL_POOL], "xeon-spr");
    let pod_labels = job.spec.as_ref().and_then(|s| s.template.metadata.as_ref());
    assert_eq!(pod_labels.and_then(|m| m.labels.as_ref()), Some(labels));
}

#[test]
fn hostile_pool_and_prefix_still_give_valid_names_and_labels() {
    let p = JobParams {
        name_prefix: "--Bench_Gate!!".to_owned(),
        pool: "Xeon Ünïcode/pool;rm -rf".to_owned(),
        commit: "ZZ top\n".to_owned(),
        ..params()
    };
    let job = job(&p);
    let name = job.metadata.name.expect("name");
    assert!(is_dns_label(&name), "{name}");
    for value in job.metadata.labels.expect("labels").values() {
        assert!(is_label_value(value), "{value:?}");
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

#[test]
fn dns_label_sanitises_hostile_input() {
    assert_eq!(dns_label("Bench_Gate--PR#12"), "bench-gate-pr-12");
    assert_eq!(dns_label("---"), "bench-gate");
    assert_eq!(dns_label(""), "bench-gate");
    assert_eq!(dns_label("日本語"), "bench-gate");
    assert_eq!(dns_label("-a-"), "a");
    assert_eq!(dns_label("a\u{0}b\nc"), "a-b-c");
    assert_eq!(dns_label("ÄBC"), "bc");
    for hostile in [
        "x".repeat(64),
        "a-".repeat(40),
        format!("{}Ü{}", "a".repeat(62), "b".repeat(10)),
        "../../etc/passwd".to_owned(),
        "a".repeat(1000),
    ] {
        let label = dns_label(&hostile);
        assert!(is_dns_label(&label), "{hostile:?} -> {label:?}");
    }
}

#[test]
fn long_names_keep_distinct_hash_suffixes() {
    let a = dns_label(&format!("{}-pool-a", "p".repeat(70)));
    let b = dns_label(&format!("{}-pool-b", "p".repeat(70)));
    assert_eq!(a.len(), 63);
    assert_ne!(a, b);
    assert_eq!(
        a,
        dns_label(&format!("{}-pool-a", "p".repeat(70))),
        "deterministic"
    );
}

#[test]
fn label_value_sanitises_hostile_input() {
    assert_eq!(label_value("feature/x y"), "feature_x_y");
    assert_eq!(label_value("_.-a-._"), "a");
    assert_eq!(label_value(""), "");
    assert_eq!(label_value(&"a".repeat(100)).len(), 63);
    assert_eq!(
        label_value(&format!("{}_b", "a".repeat(62))),
        "a".repeat(62)
    );
    for hostile in ["ü".repeat(70), "a\u{202e}b".to_owned(), " ".to_owned()] {
        let value = label_value(&hostile);
        assert!(is_label_value(&value), "{hostile:?} -> {value:?}");
    }
}

#[test]
fn rbac_is_limited_to_jobs_pods_and_logs_in_one_namespace() {
    let (account, role, binding) = rbac("ci", "runner");
    assert_eq!(account.metadata.name.as_deref(), Some("runner"));
    assert_eq!(account.metadata.namespace.as_deref(), Some("ci"));
    let rules = role.rules.expect("rules");
    let summary: Vec<(String, String, Vec<String>)> = rules
        .iter()
        .map(|r| {
            (
                r.api_groups.clone().unwrap_or_default().join(","),
                r.resources.clone().unwrap_or_default().join(","),
                r.verbs.clone(),
            )
        })
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        summary,
        vec![
            (
                "batch".into(),
                "jobs".into(),
                s(&["create", "get", "list", "watch", "delete"])
            ),
            (String::new(), "pods".into(), s(&["get", "list", "watch"])),
            (String::new(), "pods/log".into(), s(&["get"])),
        ]
    );
    assert_eq!(binding.role_ref.kind, "Role");
    assert_eq!(
        binding.role_ref.name,
        role.metadata.name.expect("role name")
    );
    let subject = &binding.subjects.expect("subjects")[0];
    assert_eq!(
        (subject.kind.as_str(), subject.name.as_str()),
        ("ServiceAccount", "runner")
    );
    assert_eq!(subject.namespace.as_deref(), Some("ci"));
}

#[test]
fn yaml_has_one_document_per_object() {
    let yaml = render_yaml(&Manifest::rbac("ci", "runner")).expect("render");
    assert_eq!(yaml.matches("---\n").count(), 3);
    assert!(
        yaml.starts_with("---\napiVersion: v1\nkind: ServiceAccount\n"),
        "{yaml}"
    );
}

#[test]
fn default_job_yaml_snapshot() {
    let yaml = render_yaml(&[Manifest::Job(Box::new(job(&JobParams::default())))]).expect("render");
    // No module prefix: the file name is the same in this crate and in bench-gate.
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("default_job_yaml", yaml);
    });
}

/// Header of the committed example manifests.
const GENERATED: &str = "# Generated by bench-gate's render code (src/publish/k8s/render.rs) for the default \
settings.\n# Regenerate: BENCH_GATE_UPDATE_MANIFESTS=1 cargo test committed_manifests\n";

/// k8s/job.yaml and k8s/rbac.yaml are exactly what the render code produces. With
/// BENCH_GATE_UPDATE_MANIFESTS=1 the files are rewritten instead.
#[test]
fn committed_manifests_match_render_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("k8s");
    let p = JobParams::default();
    let files = [
        ("job.yaml", vec![Manifest::Job(Box::new(job(&p)))]),
        ("rbac.yaml", Manifest::rbac(&p.namespace, RUNNER_NAME)),
    ];
    for (file, objs) in files {
        let want = format!("{GENERATED}{}", render_yaml(&objs).expect("render"));
        let path = dir.join(file);
        if std::env::var_os("BENCH_GATE_UPDATE_MANIFESTS").is_some() {
            std::fs::create_dir_all(&dir).expect("create k8s/");
            std::fs::write(&path, &want).expect("write manifest");
        }
        let got = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            got,
            want,
            "{} is stale: run with BENCH_GATE_UPDATE_MANIFESTS=1",
            path.display()
        );
    }
}

#[test]
fn more_threads_than_pod_cpus_is_named_with_both_fixes() {
    let two = NonZeroU32::new(2).unwrap();
    let w = thread_trap(&[("tiny", 1), ("base", 2), ("large", 4)], two);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("model large: intra_op_threads = 4 but the pod gets 2 CPU"),
        "{}",
        w[0]
    );
    assert!(
        w[0].contains("--pod-cpus 4") && w[0].contains("intra_op_threads <= 2"),
        "{}",
        w[0]
    );
    assert!(thread_trap(&[("tiny", 1)], NonZeroU32::MIN).is_empty());
    assert_eq!(thread_trap(&[("a", 2)], NonZeroU32::MIN).len(), 1);
}
