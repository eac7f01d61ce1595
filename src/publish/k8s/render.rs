//! `bench-gate k8s render`: the benchmark Job and the runner's RBAC as typed Kubernetes
//! objects, serialised to YAML. Pure: parameters in, objects (or text) out; nothing here talks
//! to a cluster.
//!
//! The Job is built for exclusive cores: requests equal limits with an integer CPU count makes
//! the pod Guaranteed QoS, and on a node whose kubelet runs the static CPU manager policy such a
//! container gets whole cores of its own (a cpuset). Burstable pods never do. See k8s/README.md.

use std::collections::BTreeMap;
use std::num::{NonZeroU32, NonZeroU64};

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, PodSecurityContext, PodSpec,
    PodTemplateSpec, ResourceRequirements, SeccompProfile, SecurityContext, ServiceAccount,
    Toleration, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::{K8sError, RESULT_MARKERS_ENV};

/// Node Feature Discovery label with the CPU vendor, e.g. `Intel` or `AMD`.
pub const NFD_CPU_VENDOR_ID: &str = "feature.node.kubernetes.io/cpu-model.vendor_id";
/// Node Feature Discovery label with the CPU family number, e.g. `6` for Intel Core/Xeon.
pub const NFD_CPU_FAMILY: &str = "feature.node.kubernetes.io/cpu-model.family";
/// Node Feature Discovery label with the CPU model number, e.g. `143` (Sapphire Rapids).
/// Together with [`NFD_CPU_VENDOR_ID`] and [`NFD_CPU_FAMILY`] it pins one CPU model, which is
/// what baselines are keyed by.
pub const NFD_CPU_MODEL_ID: &str = "feature.node.kubernetes.io/cpu-model.id";

/// Recommended label: which application made the object.
pub const LABEL_APP: &str = "app.kubernetes.io/name";
/// The full commit the benchmarked image was built from.
pub const LABEL_COMMIT: &str = "bench-gate/commit";
/// The pull request number, when run for one.
pub const LABEL_PR: &str = "bench-gate/pr";
/// The node pool the Job was sent to.
pub const LABEL_POOL: &str = "bench-gate/pool";
/// Name of the only container in the benchmark pod (logs are read from it).
pub const CONTAINER_NAME: &str = "bench-gate";
/// Name of the ServiceAccount, Role and RoleBinding that the CI runner uses.
pub const RUNNER_NAME: &str = "bench-gate-runner";
/// The non-root user (and group) the image is built with (see Dockerfile).
pub const RUN_AS_USER: i64 = 10001;

/// How a taint affects pods that do not tolerate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl TaintEffect {
    fn as_str(self) -> &'static str {
        match self {
            Self::NoSchedule => "NoSchedule",
            Self::PreferNoSchedule => "PreferNoSchedule",
            Self::NoExecute => "NoExecute",
        }
    }
}

/// A taint the benchmark pod tolerates, e.g. `dedicated=benchmark:NoSchedule` on a node pool
/// reserved for benchmarks. Without a value the toleration matches any value (`Exists`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TolerationSpec {
    pub key: String,
    pub value: Option<String>,
    pub effect: TaintEffect,
}

/// 1 GiB: enough for Whisper-tiny/base encoders and the audio pipeline.
const DEFAULT_MEMORY_MIB: NonZeroU64 = NonZeroU64::new(1024).unwrap();

/// Everything that varies between benchmark Jobs.
#[derive(Debug, Clone)]
pub struct JobParams {
    /// First part of the Job name: `{prefix}-{short commit}-{pool}`, made a DNS-1123 label.
    pub name_prefix: String,
    pub namespace: String,
    /// The bench-gate image, ideally by digest (`repo@sha256:...`) or an immutable tag.
    pub image: String,
    /// Arguments after the image's `bench-gate` entrypoint.
    pub args: Vec<String>,
    /// Whole CPUs, requested and limited alike: Guaranteed QoS, exclusive cores under the static
    /// CPU manager policy.
    pub cpus: NonZeroU32,
    /// Memory in MiB, requested and limited alike.
    pub memory_mib: NonZeroU64,
    /// The commit the image was built from (full SHA; the name uses its first 8 characters).
    pub commit: String,
    /// The pull request, when there is one.
    pub pr: Option<u64>,
    /// The node pool's name, used in the Job name and the `bench-gate/pool` label.
    pub pool: String,
    /// Which nodes may run the pod. Default: Node Feature Discovery's CPU vendor label
    /// ([`NFD_CPU_VENDOR_ID`]`=Intel`); add [`NFD_CPU_FAMILY`] and [`NFD_CPU_MODEL_ID`] to pin a
    /// CPU model, or use your cloud's node pool label.
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<TolerationSpec>,
    /// Kubernetes stops the Job after this many seconds (`activeDeadlineSeconds`).
    pub active_deadline_s: i64,
    /// Kubernetes deletes the finished Job after this many seconds, should `k8s run` not.
    pub ttl_after_finished_s: i32,
    /// Extra labels for the Job and its pod; the `app.kubernetes.io/name` and `bench-gate/*`
    /// labels are always set and win over these.
    pub labels: BTreeMap<String, String>,
    /// The pod's ServiceAccount. Its token is never mounted: the benchmark needs no API access.
    pub service_account: String,
}

impl Default for JobParams {
    fn default() -> Self {
        Self {
            name_prefix: "bench-gate".to_owned(),
            namespace: "bench-gate".to_owned(),
            image: "ghcr.io/example/bench-gate:0.1.0".to_owned(),
            args: [
                "run",
                "-c",
                "/bench/benchmark.toml",
                "--cpus",
                "all",
                "--format",
                "json",
                "--quiet",
            ]
            .map(str::to_owned)
            .to_vec(),
            cpus: NonZeroU32::MIN,
            memory_mib: DEFAULT_MEMORY_MIB,
            commit: "0000000000000000000000000000000000000000".to_owned(),
            pr: None,
            pool: "xeon".to_owned(),
            node_selector: BTreeMap::from([(NFD_CPU_VENDOR_ID.to_owned(), "Intel".to_owned())]),
            tolerations: Vec::new(),
            active_deadline_s: 1800,
            ttl_after_finished_s: 3600,
            labels: BTreeMap::new(),
            service_account: "default".to_owned(),
        }
    }
}

impl JobParams {
    /// The Job's name: `{prefix}-{first 8 characters of the commit}-{pool}` as a DNS-1123 label.
    pub fn job_name(&self) -> String {
        let short: String = self.commit.chars().take(8).collect();
        dns_label(&format!("{}-{short}-{}", self.name_prefix, self.pool))
    }

    fn all_labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.labels.clone();
        labels.insert(LABEL_APP.to_owned(), "bench-gate".to_owned());
        labels.insert(LABEL_COMMIT.to_owned(), label_value(&self.commit));
        labels.insert(LABEL_POOL.to_owned(), label_value(&self.pool));
        if let Some(pr) = self.pr {
            labels.insert(LABEL_PR.to_owned(), pr.to_string());
        }
        labels
    }
}

/// The benchmark Job: one pod, never restarted, Guaranteed QoS with whole CPUs, locked down.
pub fn job(p: &JobParams) -> Job {
    let labels = p.all_labels();
    let quantities = BTreeMap::from([
        ("cpu".to_owned(), Quantity(p.cpus.to_string())),
        ("memory".to_owned(), Quantity(format!("{}Mi", p.memory_mib))),
    ]);
    let container = Container {
        name: CONTAINER_NAME.to_owned(),
        image: Some(p.image.clone()),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        args: Some(p.args.clone()),
        env: Some(vec![EnvVar {
            name: RESULT_MARKERS_ENV.to_owned(),
            value: Some("1".to_owned()),
            ..Default::default()
        }]),
        resources: Some(ResourceRequirements {
            requests: Some(quantities.clone()),
            limits: Some(quantities),
            ..Default::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS_USER),
            run_as_group: Some(RUN_AS_USER),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        // On failure the last log lines become the termination message, which `k8s run`
        // reports without an extra API call.
        termination_message_policy: Some("FallbackToLogsOnError".to_owned()),
        volume_mounts: Some(vec![VolumeMount {
            name: "tmp".to_owned(),
            mount_path: "/tmp".to_owned(),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let tolerations = p
        .tolerations
        .iter()
        .map(|t| Toleration {
            key: Some(t.key.clone()),
            operator: Some(if t.value.is_some() { "Equal" } else { "Exists" }.to_owned()),
            value: t.value.clone(),
            effect: Some(t.effect.as_str().to_owned()),
            ..Default::default()
        })
        .collect::<Vec<_>>();
    let pod = PodSpec {
        containers: vec![container],
        restart_policy: Some("Never".to_owned()),
        service_account_name: Some(p.service_account.clone()),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        node_selector: (!p.node_selector.is_empty()).then(|| p.node_selector.clone()),
        tolerations: (!tolerations.is_empty()).then_some(tolerations),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS_USER),
            run_as_group: Some(RUN_AS_USER),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        volumes: Some(vec![Volume {
            name: "tmp".to_owned(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("256Mi".to_owned())),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ..Default::default()
    };
    Job {
        metadata: ObjectMeta {
            name: Some(p.job_name()),
            namespace: Some(p.namespace.clone()),
            labels: Some(labels.clone()),
            ..Default::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            active_deadline_seconds: Some(p.active_deadline_s),
            ttl_seconds_after_finished: Some(p.ttl_after_finished_s),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        status: None,
    }
}

/// Warnings for models that ask for more intra-op threads than the pod has whole CPUs: in the
/// pod they share a quota of `cpus` and are throttled together (the thread trap). A real pod
/// run (scripts/check-pod.sh) showed that nothing else says so when the host is busy enough to
/// keep the threads from using their quota. `models`: each model's name and
/// `intra_op_num_threads`.
pub fn thread_trap(models: &[(&str, u16)], cpus: NonZeroU32) -> Vec<String> {
    models
        .iter()
        .filter(|(_, threads)| u32::from(*threads) > cpus.get())
        .map(|(name, threads)| {
            format!(
                "model {name}: intra_op_threads = {threads} but the pod gets {cpus} CPU (--pod-cpus): \
                 the threads share that quota and are throttled together (the thread trap)\n  \
                 fix: pass --pod-cpus {threads}, or set intra_op_threads <= {cpus} in the config"
            )
        })
        .collect()
}

/// The identity `bench-gate k8s run` uses: a ServiceAccount and a Role limited to what it
/// does in one namespace (create, follow and delete Jobs; read their pods and logs).
pub fn rbac(namespace: &str, service_account: &str) -> (ServiceAccount, Role, RoleBinding) {
    let meta = |name: &str| ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: Some(BTreeMap::from([(
            LABEL_APP.to_owned(),
            "bench-gate".to_owned(),
        )])),
        ..Default::default()
    };
    let rule = |group: &str, resource: &str, verbs: &[&str]| PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(vec![resource.to_owned()]),
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        ..Default::default()
    };
    let account = ServiceAccount {
        metadata: meta(service_account),
        ..Default::default()
    };
    let role = Role {
        metadata: meta(RUNNER_NAME),
        rules: Some(vec![
            rule(
                "batch",
                "jobs",
                &["create", "get", "list", "watch", "delete"],
            ),
            rule("", "pods", &["get", "list", "watch"]),
            rule("", "pods/log", &["get"]),
        ]),
    };
    let binding = RoleBinding {
        metadata: meta(RUNNER_NAME),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".to_owned()),
            kind: "Role".to_owned(),
            name: RUNNER_NAME.to_owned(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_owned(),
            name: service_account.to_owned(),
            namespace: Some(namespace.to_owned()),
            ..Default::default()
        }]),
    };
    (account, role, binding)
}

/// One object of a multi-document manifest. Serialises exactly as the object would.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Manifest {
    Job(Box<Job>),
    ServiceAccount(Box<ServiceAccount>),
    Role(Box<Role>),
    RoleBinding(Box<RoleBinding>),
}

impl Manifest {
    /// The three RBAC objects of [`rbac`], in the order `kubectl apply` needs them.
    pub fn rbac(namespace: &str, service_account: &str) -> Vec<Self> {
        let (account, role, binding) = rbac(namespace, service_account);
        vec![
            Self::ServiceAccount(Box::new(account)),
            Self::Role(Box::new(role)),
            Self::RoleBinding(Box::new(binding)),
        ]
    }
}

/// A multi-document YAML stream: each object after a `---` line.
pub fn render_yaml(objs: &[Manifest]) -> Result<String, K8sError> {
    let mut out = String::new();
    for obj in objs {
        out.push_str("---\n");
        out.push_str(&serde_norway::to_string(obj).map_err(|source| K8sError::Render { source })?);
    }
    Ok(out)
}

/// Maximum length of a DNS-1123 label (and of a label value).
const MAX_LABEL: usize = 63;

/// Makes `s` a valid RFC 1123 DNS label (what Job names must be to yield valid pod names and
/// `job-name` labels): lowercase ASCII letters, digits and `-`, alphanumeric at both ends, at
/// most 63 characters. Anything else becomes `-`, runs of `-` collapse. Too-long input is cut
/// and given a hash suffix of the whole input, so two long names that share a prefix stay
/// distinct. Empty results become `bench-gate`.
pub fn dns_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_LABEL));
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        return "bench-gate".to_owned();
    }
    if trimmed.len() <= MAX_LABEL {
        return trimmed.to_owned();
    }
    let suffix = format!("-{:08x}", fnv1a32(s.as_bytes()));
    let head = trimmed[..MAX_LABEL - suffix.len()].trim_end_matches('-');
    format!("{head}{suffix}")
}

/// Makes `s` a valid label value: at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric at
/// both ends (empty is allowed). Other characters become `_`; too-long input is cut.
pub fn label_value(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let is_edge = |c: char| !c.is_ascii_alphanumeric();
    let trimmed = mapped.trim_matches(is_edge);
    trimmed[..trimmed.len().min(MAX_LABEL)]
        .trim_end_matches(is_edge)
        .to_owned()
}

/// 32-bit FNV-1a: a stable, dependency-free hash for name suffixes (not for security).
fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
