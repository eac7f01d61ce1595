//! Kubernetes: run the benchmark as a short-lived Job on a pinned-CPU node pool.
//!
//! - [`render`] builds the Job and its RBAC as typed `k8s-openapi` objects and serialises them
//!   to YAML (`bench-gate k8s render`). Pure: parameters in, objects out.
//! - [`run`] creates the Job with `kube`, waits for it by polling, reads the result from the pod
//!   log and always deletes the Job again (`bench-gate k8s run`).
//!
//! The pod hands its result back through its log: with [`RESULT_MARKERS_ENV`] set (the Job sets
//! it), `bench-gate run` prints the result JSON between the [`RESULT_BEGIN`] and [`RESULT_END`] lines (see [`wrap_result`]), and
//! [`run::extract_result`] finds it again. Logs are the one output channel every cluster has
//! and that needs no volume, no object store and no extra RBAC beyond `pods/log: get`.

pub mod render;
pub mod run;
pub mod validate;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// First line of the result block in the benchmark pod's log.
pub const RESULT_BEGIN: &str = "----- BEGIN BENCH-GATE RESULT -----";
/// Last line of the result block in the benchmark pod's log.
pub const RESULT_END: &str = "----- END BENCH-GATE RESULT -----";

/// Set to `1` in the benchmark container: `bench-gate run` then prints its result JSON on
/// stdout wrapped by [`wrap_result`], so that `k8s run` can find it in the pod log.
pub const RESULT_MARKERS_ENV: &str = "BENCH_GATE_RESULT_MARKERS";

/// The text `bench-gate run` prints in a pod so that [`run::extract_result`] can find the
/// result: the markers on lines of their own around the JSON.
pub fn wrap_result(json: &str) -> String {
    format!("{RESULT_BEGIN}\n{}\n{RESULT_END}\n", json.trim_end())
}

/// Everything that can go wrong while talking to a cluster or reading a Job's outcome.
/// Each message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    #[error(
        "kubeconfig {} does not exist\n  fix: pass --kubeconfig with an existing file, \
         or omit it to use $KUBECONFIG, ~/.kube/config or the in-cluster service account",
        path.display()
    )]
    KubeconfigNotFound { path: PathBuf },

    #[error(
        "could not load kubeconfig {}: {source}\n  fix: check the file with `kubectl --kubeconfig FILE config view`, or pass another --kubeconfig / --context",
        path.display()
    )]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: Box<kube::config::KubeconfigError>,
    },

    #[error(
        "could not load a Kubernetes configuration (tried $KUBECONFIG, ~/.kube/config and the \
         in-cluster service account): {source}\n  fix: pass --kubeconfig FILE"
    )]
    InferConfig {
        #[source]
        source: Box<kube::config::InferConfigError>,
    },

    #[error(
        "could not build a Kubernetes client: {source}\n  fix: check the kubeconfig's server URL and certificates (`kubectl cluster-info`), or pass another --kubeconfig / --context"
    )]
    Client {
        #[source]
        source: Box<kube::Error>,
    },

    #[error(
        "the Job to run has no {field}\n  fix: render it with `bench-gate k8s render` (render::job)"
    )]
    IncompleteJob { field: &'static str },

    #[error(
        "not allowed to {verb} {resource} in namespace {namespace:?}: {message}\n  \
         fix: apply k8s/rbac.yaml there (Role bench-gate-runner: jobs create/get/list/watch/delete, \
         pods get/list/watch, pods/log get, bound to ServiceAccount bench-gate-runner) and use \
         a kubeconfig for that ServiceAccount, or ask your cluster admin for the same rights"
    )]
    Forbidden {
        verb: &'static str,
        resource: &'static str,
        namespace: String,
        message: String,
    },

    #[error(
        "namespace {namespace:?} does not exist\n  fix: create it (kubectl create namespace {namespace}) \
         or pass another with --namespace"
    )]
    NamespaceNotFound { namespace: String },

    #[error(
        "a Job named {job:?} already exists in namespace {namespace:?} (a run for the same commit \
         and pool is in progress or was not cleaned up)\n  fix: wait for it, or delete it with \
         `kubectl -n {namespace} delete job {job} --cascade=foreground`"
    )]
    AlreadyExists { namespace: String, job: String },

    #[error(
        "Kubernetes API call failed ({action}): {source}\n  fix: check that the cluster is reachable (`kubectl get jobs -n NAMESPACE`) and run again"
    )]
    Api {
        action: String,
        #[source]
        source: Box<kube::Error>,
    },

    #[error(
        "pod {pod} cannot be scheduled: {message}. It asks for cpu={cpu} memory={memory} on a \
         node matching {}\n  fix: check that a node carries these labels (kubectl get nodes -L <key>), \
         has that much allocatable CPU and memory free, and that the pod tolerates its taints",
        fmt_selector(node_selector)
    )]
    Unschedulable {
        pod: String,
        message: String,
        node_selector: BTreeMap<String, String>,
        cpu: String,
        memory: String,
    },

    #[error(
        "pod {pod} cannot pull image {image:?} ({reason}): {message}\n  fix: check the image name and \
         tag, that it was pushed, and the registry credentials (imagePullSecrets)"
    )]
    ImagePull {
        pod: String,
        image: String,
        reason: String,
        message: String,
    },

    #[error(
        "pod {pod} was killed for using more than its memory limit ({memory_limit}) (OOMKilled)\n  \
         fix: raise --memory-mib"
    )]
    OomKilled { pod: String, memory_limit: String },

    #[error(
        "Job {job} ran past its activeDeadlineSeconds ({deadline}) and was stopped: {message}\n  \
         fix: raise --deadline-s, or lower the iterations in benchmark.toml",
        deadline = deadline_s.map_or_else(|| "unset".to_owned(), |s| format!("{s} s"))
    )]
    DeadlineExceeded {
        job: String,
        deadline_s: Option<i64>,
        message: String,
    },

    #[error(
        "pod {pod} failed ({reason}{code}): {message}\n  fix: read its log (kubectl logs {pod}) and fix what bench-gate said there",
        code = exit_code.map_or_else(String::new, |c| format!(", exit code {c}"))
    )]
    PodFailed {
        pod: String,
        exit_code: Option<i32>,
        reason: String,
        message: String,
    },

    #[error(
        "Job {job} failed ({reason}): {message}\n  fix: see `kubectl describe job {job}` and fix what it reports"
    )]
    JobFailed {
        job: String,
        reason: String,
        message: String,
    },

    #[error(
        "Job {job} did not finish within {}s (our --timeout-s); it was deleted\n  fix: raise --timeout-s, \
         or check why it is slow (kubectl describe job {job})",
        after.as_secs()
    )]
    Timeout { job: String, after: Duration },

    #[error(
        "cancelled while Job {job} was running; it was deleted\n  fix: run `bench-gate k8s run` again and let it finish"
    )]
    Cancelled { job: String },

    #[error(
        "the pod log has no line {RESULT_BEGIN:?}: the image's bench-gate did not print a result \
         (is it older than this one, or did the container run another command?). Last log lines:\n{log_tail}\n  \
         fix: use an --image built from this bench-gate version, with bench-gate as its entrypoint"
    )]
    NoResultBlock { log_tail: String },

    #[error(
        "the pod log has {RESULT_BEGIN:?} but no {RESULT_END:?} after it: the output was cut \
         (log rotated, or the container was killed while printing)\n  \
         fix: run again; if it repeats, raise --memory-mib (a killed container cuts its log)"
    )]
    UnterminatedResult,

    #[error(
        "the result block in the pod log is not valid JSON: {source}\n  fix: use an --image built from this bench-gate version"
    )]
    ResultNotJson {
        #[source]
        source: serde_json::Error,
    },

    #[error(
        "could not delete Job {job} in namespace {namespace:?}: {source}\n  fix: delete it by hand: \
         kubectl -n {namespace} delete job {job} --cascade=foreground (its ttlSecondsAfterFinished \
         removes it once finished)"
    )]
    CleanupFailed {
        namespace: String,
        job: String,
        #[source]
        source: Box<kube::Error>,
        /// What the run itself produced before the deletion failed.
        outcome: Box<Result<String, K8sError>>,
    },

    #[error(
        "the Job would be refused by Kubernetes:\n    {}\n  fix: correct these values (--image, --namespace, --pool, --node-selector, --toleration, --deadline-s, --ttl-s)",
        problems.join("\n    ")
    )]
    InvalidJob { problems: Vec<String> },

    #[error(
        "could not serialise manifests to YAML: {source}\n  fix: check the values passed to --image, --namespace, --pool and --node-selector"
    )]
    Render {
        #[source]
        source: serde_norway::Error,
    },
}

fn fmt_selector(selector: &BTreeMap<String, String>) -> String {
    if selector.is_empty() {
        return "any node (no nodeSelector)".to_owned();
    }
    let pairs: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("nodeSelector {}", pairs.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_result_round_trips_through_extract() {
        let log = format!("warming up\n{}done\n", wrap_result("{\"rps\": 2.0}\n"));
        assert_eq!(
            run::extract_result(&log).ok().as_deref(),
            Some("{\"rps\": 2.0}")
        );
    }

    #[test]
    fn unschedulable_message_names_selector_and_request() {
        let e = K8sError::Unschedulable {
            pod: "p".into(),
            message: "0/3 nodes are available".into(),
            node_selector: BTreeMap::from([("a/b".to_owned(), "x".to_owned())]),
            cpu: "2".into(),
            memory: "1024Mi".into(),
        };
        let text = e.to_string();
        assert!(text.contains("nodeSelector a/b=x"), "{text}");
        assert!(text.contains("cpu=2 memory=1024Mi"), "{text}");
    }

    #[test]
    fn extract_result_edge_cases() {
        let ok = format!("a\r\n{RESULT_BEGIN}\r\n  {{\"x\": 1}}\r\n{RESULT_END}\r\ntrailing\n");
        assert_eq!(run::extract_result(&ok).ok().as_deref(), Some("{\"x\": 1}"));

        let two = format!(
            "{}{}",
            wrap_result("{\"first\": 1}"),
            wrap_result("{\"second\": 2}")
        );
        assert_eq!(
            run::extract_result(&two).ok().as_deref(),
            Some("{\"first\": 1}"),
            "first block wins"
        );

        assert!(matches!(
            run::extract_result(""),
            Err(K8sError::NoResultBlock { .. })
        ));
        let long: String = (0..100).map(|i| format!("line {i}\n")).collect();
        match run::extract_result(&long) {
            Err(K8sError::NoResultBlock { log_tail }) => {
                assert!(
                    log_tail.starts_with("line 80") && log_tail.ends_with("line 99"),
                    "{log_tail}"
                );
            }
            other => panic!("{other:?}"),
        }
        // A marker inside a line is not a marker line.
        let inline = format!("echo {RESULT_BEGIN}\n{{}}\n{RESULT_END}\n");
        assert!(matches!(
            run::extract_result(&inline),
            Err(K8sError::NoResultBlock { .. })
        ));

        let cut = format!("{RESULT_BEGIN}\n{{\"x\": 1");
        assert!(matches!(
            run::extract_result(&cut),
            Err(K8sError::UnterminatedResult)
        ));

        for body in ["not json", "", "{\"x\": }"] {
            let bad = format!("{RESULT_BEGIN}\n{body}\n{RESULT_END}\n");
            assert!(
                matches!(
                    run::extract_result(&bad),
                    Err(K8sError::ResultNotJson { .. })
                ),
                "{body:?}"
            );
        }
    }
}
