//! `bench-gate k8s run`: create the benchmark Job, wait for it by polling, read the result from
//! the pod log, and delete the Job again whatever happened.
//!
//! Polling (GET the Job, LIST its pods by `job-name=<name>`, every `poll`) rather than watch
//! streams: a benchmark runs for minutes, a few requests a second are nothing, and plain
//! request/response is easy to fake in tests.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::render::{CONTAINER_NAME, LABEL_POOL};
use super::{K8sError, RESULT_BEGIN, RESULT_END};

/// How long to wait and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct RunOpts {
    /// Give up (and delete the Job) after this long, counted from creation.
    pub timeout: Duration,
    /// Time between two looks at the Job and its pods.
    pub poll: Duration,
    /// How long a pod may stay unschedulable before we give up: a node pool that scales from
    /// zero reports the pod unschedulable until the new node is ready. Zero fails at once.
    pub unschedulable_grace: Duration,
}

impl Default for RunOpts {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(40 * 60),
            poll: Duration::from_secs(5),
            unschedulable_grace: Duration::from_secs(5 * 60),
        }
    }
}

/// Largest pod log we read, in bytes: the result block is a few KiB.
const LOG_LIMIT_BYTES: i64 = 16 << 20;

/// Builds a client from a kubeconfig file (`path`), or when there is none, from `$KUBECONFIG`,
/// `~/.kube/config` or the in-cluster service account. `context` picks a kubeconfig context.
pub async fn client_from_kubeconfig(
    path: Option<&Path>,
    context: Option<&str>,
) -> Result<Client, K8sError> {
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..KubeConfigOptions::default()
    };
    let config = match path {
        Some(path) => {
            if !path.exists() {
                return Err(K8sError::KubeconfigNotFound {
                    path: path.to_owned(),
                });
            }
            let kubeconfig_error = |source| K8sError::Kubeconfig {
                path: path.to_owned(),
                source: Box::new(source),
            };
            let kubeconfig = Kubeconfig::read_from(path).map_err(kubeconfig_error)?;
            Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(kubeconfig_error)?
        }
        None if context.is_some() => {
            Config::from_kubeconfig(&options)
                .await
                .map_err(|source| K8sError::Kubeconfig {
                    path: "$KUBECONFIG or ~/.kube/config".into(),
                    source: Box::new(source),
                })?
        }
        None => Config::infer()
            .await
            .map_err(|source| K8sError::InferConfig {
                source: Box::new(source),
            })?,
    };
    Client::try_from(config).map_err(|source| K8sError::Client {
        source: Box::new(source),
    })
}

/// Runs one benchmark Job to the end and returns the result JSON from its log.
///
/// Once the Job is created it is always deleted (`propagationPolicy: Foreground`, so its pod
/// goes too): after success, after every failure, on our timeout, and when `cancel` resolves
/// (pass `tokio::signal::ctrl_c()`). If that deletion fails the error is
/// [`K8sError::CleanupFailed`], which still carries the run's own outcome.
pub async fn run_job(
    client: Client,
    job: Job,
    opts: RunOpts,
    cancel: impl Future,
) -> Result<String, K8sError> {
    let name = job.metadata.name.clone().ok_or(K8sError::IncompleteJob {
        field: "metadata.name",
    })?;
    let namespace = job
        .metadata
        .namespace
        .clone()
        .ok_or(K8sError::IncompleteJob {
            field: "metadata.namespace",
        })?;
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    let mut cancel = std::pin::pin!(cancel.fuse());

    // Cancellation during the create call: the Job may or may not exist, so delete anyway.
    let post = PostParams::default();
    let created = tokio::select! {
        created = jobs.create(&post, &job) => created,
        _ = &mut cancel => {
            let outcome = Err(K8sError::Cancelled { job: name.clone() });
            return finish(&jobs, &namespace, &name, outcome).await;
        }
    };
    if let Err(source) = created {
        // Nothing was created: nothing to delete.
        return Err(api_error(source, "create", "jobs", &namespace, &name));
    }

    let outcome = tokio::select! {
        waited = tokio::time::timeout(opts.timeout, wait_for_result(&client, &job, &name, &namespace, opts)) => {
            waited.unwrap_or_else(|_| Err(K8sError::Timeout { job: name.clone(), after: opts.timeout }))
        }
        _ = &mut cancel => Err(K8sError::Cancelled { job: name.clone() }),
    };
    finish(&jobs, &namespace, &name, outcome).await
}

/// Deletes the Job and returns the run's outcome, or [`K8sError::CleanupFailed`] wrapping it.
async fn finish(
    jobs: &Api<Job>,
    namespace: &str,
    name: &str,
    outcome: Result<String, K8sError>,
) -> Result<String, K8sError> {
    match jobs.delete(name, &DeleteParams::foreground()).await {
        Ok(_) => outcome,
        Err(kube::Error::Api(status)) if status.code == 404 => outcome,
        Err(source) => Err(K8sError::CleanupFailed {
            namespace: namespace.to_owned(),
            job: name.to_owned(),
            source: Box::new(source),
            outcome: Box::new(outcome),
        }),
    }
}

/// Runs one Job per pool at once; each result is paired with the Job's `bench-gate/pool`
/// label (or its name). One `cancel` stops them all.
pub async fn run_pools(
    client: Client,
    jobs: Vec<Job>,
    opts: RunOpts,
    cancel: impl Future,
) -> Vec<(String, Result<String, K8sError>)> {
    let cancel = cancel.map(|_| ()).shared();
    let runs = jobs.into_iter().map(|job| {
        let pool = job
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_POOL).cloned())
            .or_else(|| job.metadata.name.clone())
            .unwrap_or_default();
        let run = run_job(client.clone(), job, opts, cancel.clone());
        async move { (pool, run.await) }
    });
    futures::future::join_all(runs).await
}

/// Polls until the Job succeeded (then reads the result) or something failed.
async fn wait_for_result(
    client: &Client,
    job: &Job,
    name: &str,
    namespace: &str,
    opts: RunOpts,
) -> Result<String, K8sError> {
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let selector = ListParams::default().labels(&format!("job-name={name}"));
    let mut unschedulable_since: Option<Instant> = None;
    let mut transient_errors = 0;
    loop {
        let polled = match jobs.get(name).await {
            Ok(current) => match pods.list(&selector).await {
                Ok(pod_list) => Ok((current, pod_list)),
                Err(e) => Err((e, "list", "pods")),
            },
            Err(e) => Err((e, "get", "jobs")),
        };
        let (current, pod_list) = match polled {
            Ok(polled) => {
                transient_errors = 0;
                polled
            }
            Err((e, _, _)) if is_transient(&e) && transient_errors < MAX_TRANSIENT_ERRORS => {
                transient_errors += 1;
                tokio::time::sleep(opts.poll).await;
                continue;
            }
            Err((e, verb, resource)) => return Err(api_error(e, verb, resource, namespace, name)),
        };
        let conditions = job_conditions(&current);

        if let Some((_, message)) = conditions
            .iter()
            .find(|(reason, _)| reason == "DeadlineExceeded")
        {
            return Err(K8sError::DeadlineExceeded {
                job: name.to_owned(),
                deadline_s: job.spec.as_ref().and_then(|s| s.active_deadline_seconds),
                message: message.clone(),
            });
        }
        for pod in &pod_list.items {
            match pod_problem(pod, job) {
                Some(PodProblem::Unschedulable(e)) => {
                    let since = *unschedulable_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= opts.unschedulable_grace {
                        return Err(e);
                    }
                }
                Some(PodProblem::Fatal(e)) => return Err(e),
                None => {}
            }
        }
        if let Some((reason, message)) = conditions.into_iter().next() {
            return Err(K8sError::JobFailed {
                job: name.to_owned(),
                reason,
                message,
            });
        }
        let succeeded = current
            .status
            .as_ref()
            .and_then(|s| s.succeeded)
            .unwrap_or(0)
            > 0;
        if succeeded {
            let pod = pod_list
                .items
                .iter()
                .find(|p| phase(p) == Some("Succeeded"))
                .or_else(|| pod_list.items.first())
                .and_then(|p| p.metadata.name.clone())
                .ok_or_else(|| K8sError::JobFailed {
                    job: name.to_owned(),
                    reason: "NoPod".to_owned(),
                    message: "the Job succeeded but its pod is gone, and with it the log"
                        .to_owned(),
                })?;
            let params = LogParams {
                container: Some(CONTAINER_NAME.to_owned()),
                limit_bytes: Some(LOG_LIMIT_BYTES),
                ..LogParams::default()
            };
            let log = pods
                .logs(&pod, &params)
                .await
                .map_err(|e| api_error(e, "get", "pods/log", namespace, &pod))?;
            return extract_result(&log);
        }
        tokio::time::sleep(opts.poll).await;
    }
}

/// Consecutive failed polls tolerated before giving up: an API server restart or a load
/// balancer hiccup during a 30-minute benchmark should not lose the run.
const MAX_TRANSIENT_ERRORS: u32 = 3;

/// Errors worth another poll: the server is overloaded or restarting, or the connection broke.
fn is_transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(status) => status.code == 429 || status.code >= 500,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// `(reason, message)` of the Job's true `Failed` / `FailureTarget` conditions.
fn job_conditions(job: &Job) -> Vec<(String, String)> {
    let conditions = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    conditions
        .iter()
        .filter(|c| (c.type_ == "Failed" || c.type_ == "FailureTarget") && c.status == "True")
        .map(|c| {
            (
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref().and_then(|s| s.phase.as_deref())
}

enum PodProblem {
    /// Maybe transient (a node pool scaling up): tolerated for `unschedulable_grace`.
    Unschedulable(K8sError),
    Fatal(K8sError),
}

/// Waiting reasons that mean the image will not be pulled without a change on our side.
const IMAGE_PULL_REASONS: [&str; 4] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
];

/// What, if anything, stops this pod from producing a result.
fn pod_problem(pod: &Pod, job: &Job) -> Option<PodProblem> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let status = pod.status.as_ref()?;
    let unschedulable = status
        .conditions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
        });
    if let Some(condition) = unschedulable {
        let spec = job.spec.as_ref().and_then(|s| s.template.spec.as_ref());
        let requests = spec
            .and_then(|s| s.containers.first())
            .and_then(|c| c.resources.as_ref())
            .and_then(|r| r.requests.clone())
            .unwrap_or_default();
        let quantity = |k: &str| {
            requests
                .get(k)
                .map_or_else(|| "unset".to_owned(), |q| q.0.clone())
        };
        return Some(PodProblem::Unschedulable(K8sError::Unschedulable {
            pod: name,
            message: condition.message.clone().unwrap_or_default(),
            node_selector: spec
                .and_then(|s| s.node_selector.clone())
                .unwrap_or_default(),
            cpu: quantity("cpu"),
            memory: quantity("memory"),
        }));
    }
    for container in status.container_statuses.as_deref().unwrap_or_default() {
        let state = container.state.as_ref();
        if let Some(waiting) = state.and_then(|s| s.waiting.as_ref()) {
            let reason = waiting.reason.as_deref().unwrap_or_default();
            if IMAGE_PULL_REASONS.contains(&reason) {
                return Some(PodProblem::Fatal(K8sError::ImagePull {
                    pod: name,
                    image: container.image.clone(),
                    reason: reason.to_owned(),
                    message: waiting.message.clone().unwrap_or_default(),
                }));
            }
        }
        let terminated = state.and_then(|s| s.terminated.as_ref());
        if terminated.is_some_and(|t| t.reason.as_deref() == Some("OOMKilled")) {
            let memory_limit = job
                .spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .and_then(|s| s.containers.first())
                .and_then(|c| c.resources.as_ref())
                .and_then(|r| r.limits.as_ref())
                .and_then(|l| l.get("memory"))
                .map_or_else(|| "unset".to_owned(), |q| q.0.clone());
            return Some(PodProblem::Fatal(K8sError::OomKilled {
                pod: name,
                memory_limit,
            }));
        }
        if let Some(t) = terminated.filter(|t| t.exit_code != 0) {
            return Some(PodProblem::Fatal(K8sError::PodFailed {
                pod: name,
                exit_code: Some(t.exit_code),
                reason: t.reason.clone().unwrap_or_else(|| "Error".to_owned()),
                message: t.message.clone().unwrap_or_default(),
            }));
        }
    }
    if phase(pod) == Some("Failed") {
        // Failed without a terminated container: evicted, or rejected by the kubelet.
        return Some(PodProblem::Fatal(K8sError::PodFailed {
            pod: name,
            exit_code: None,
            reason: status.reason.clone().unwrap_or_else(|| "Failed".to_owned()),
            message: status.message.clone().unwrap_or_default(),
        }));
    }
    None
}

/// Maps an API error to what the user should do about it.
fn api_error(
    source: kube::Error,
    verb: &'static str,
    resource: &'static str,
    namespace: &str,
    name: &str,
) -> K8sError {
    if let kube::Error::Api(status) = &source {
        match status.code {
            403 => {
                return K8sError::Forbidden {
                    verb,
                    resource,
                    namespace: namespace.to_owned(),
                    message: status.message.clone(),
                };
            }
            404 if verb == "create" => {
                return K8sError::NamespaceNotFound {
                    namespace: namespace.to_owned(),
                };
            }
            409 if verb == "create" => {
                return K8sError::AlreadyExists {
                    namespace: namespace.to_owned(),
                    job: name.to_owned(),
                };
            }
            _ => {}
        }
    }
    K8sError::Api {
        action: format!("{verb} {resource} {namespace}/{name}"),
        source: Box::new(source),
    }
}

/// The result JSON between the [`RESULT_BEGIN`] and [`RESULT_END`] lines of a pod log
/// (the first such block), checked to be JSON and returned as printed, trimmed.
pub fn extract_result(log: &str) -> Result<String, K8sError> {
    let mut lines = log.lines().map(|l| l.trim_end_matches('\r'));
    if !lines.any(|l| l.trim() == RESULT_BEGIN) {
        let all: Vec<&str> = log.lines().collect();
        let tail = all[all.len().saturating_sub(20)..].join("\n");
        return Err(K8sError::NoResultBlock { log_tail: tail });
    }
    let mut body = Vec::new();
    for line in lines {
        if line.trim() == RESULT_END {
            let text = body.join("\n").trim().to_owned();
            serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|source| K8sError::ResultNotJson { source })?;
            return Ok(text);
        }
        body.push(line);
    }
    Err(K8sError::UnterminatedResult)
}

#[cfg(test)]
#[path = "run_fake_api.rs"]
mod fake_api;

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
