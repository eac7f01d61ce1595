//! A fake Kubernetes API server for `run.rs` tests: wiremock on 127.0.0.1 answering the
//! requests `run_job` makes for one Job, with builders for Job and pod states.

use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use k8s_openapi::api::core::v1::{ContainerState, ContainerStatus, Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Client, Config};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::{K8sError, RunOpts, run_job};
use crate::publish::k8s::render::{self, JobParams};

pub const NS: &str = "ci";
pub const RESULT: &str = r#"{"cpu_model":"Intel Xeon","avg_latency_ms":500.0}"#;

/// One Job and the paths of its fake API.
pub struct Scenario {
    pub job: Job,
}

impl Scenario {
    pub fn new(pool: &str) -> Self {
        let params = JobParams {
            namespace: NS.to_owned(),
            commit: "abcdef0123456789abcdef0123456789abcdef01".to_owned(),
            pool: pool.to_owned(),
            ..JobParams::default()
        };
        Self {
            job: render::job(&params),
        }
    }

    pub fn name(&self) -> String {
        self.job
            .metadata
            .name
            .clone()
            .expect("rendered job has a name")
    }

    pub fn pod(&self) -> String {
        format!("{}-x7k2p", self.name())
    }

    pub fn job_path(&self) -> String {
        format!("/apis/batch/v1/namespaces/{NS}/jobs/{}", self.name())
    }

    pub fn log_path(&self) -> String {
        format!("/api/v1/namespaces/{NS}/pods/{}/log", self.pod())
    }

    pub fn job_json(&self, status: Option<JobStatus>) -> Value {
        let mut job = self.job.clone();
        job.status = status;
        serde_json::to_value(job).expect("job serialises")
    }

    pub fn pods_json(&self, status: Option<PodStatus>) -> Value {
        let items = match status {
            None => vec![],
            Some(status) => vec![Pod {
                metadata: ObjectMeta {
                    name: Some(self.pod()),
                    namespace: Some(NS.to_owned()),
                    ..ObjectMeta::default()
                },
                spec: None,
                status: Some(status),
            }],
        };
        json!({ "apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items })
    }

    /// Mounts POST (create), DELETE (expected `deletes` times), and the polls.
    pub async fn mount(
        &self,
        server: &MockServer,
        polls: Vec<(Option<JobStatus>, Option<PodStatus>)>,
        deletes: u64,
    ) {
        Mock::given(method("POST"))
            .and(path(format!("/apis/batch/v1/namespaces/{NS}/jobs")))
            .and(body_partial_json(
                json!({ "metadata": { "name": self.name() } }),
            ))
            .respond_with(ResponseTemplate::new(201).set_body_json(self.job_json(None)))
            .expect(1)
            .named(format!("create {}", self.name()))
            .mount(server)
            .await;
        self.mount_delete(server, deletes).await;
        self.mount_polls(server, polls).await;
    }

    /// The given sequence of (Job status, pod status) answers to the polls, one per poll;
    /// the last one repeats forever.
    pub async fn mount_polls(
        &self,
        server: &MockServer,
        polls: Vec<(Option<JobStatus>, Option<PodStatus>)>,
    ) {
        let last = polls.len().saturating_sub(1);
        for (i, (job_status, pod_status)) in polls.into_iter().enumerate() {
            let times = if i == last { u64::MAX } else { 1 };
            Mock::given(method("GET"))
                .and(path(self.job_path()))
                .respond_with(ResponseTemplate::new(200).set_body_json(self.job_json(job_status)))
                .up_to_n_times(times)
                .mount(server)
                .await;
            Mock::given(method("GET"))
                .and(path(format!("/api/v1/namespaces/{NS}/pods")))
                .and(query_param(
                    "labelSelector",
                    format!("job-name={}", self.name()),
                ))
                .respond_with(ResponseTemplate::new(200).set_body_json(self.pods_json(pod_status)))
                .up_to_n_times(times)
                .mount(server)
                .await;
        }
    }

    pub async fn mount_delete(&self, server: &MockServer, deletes: u64) {
        Mock::given(method("DELETE"))
            .and(path(self.job_path()))
            .and(body_partial_json(
                json!({ "propagationPolicy": "Foreground" }),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(self.job_json(None)))
            .expect(deletes)
            .named(format!("delete {}", self.name()))
            .mount(server)
            .await;
    }

    pub async fn mount_log(&self, server: &MockServer, log: String) {
        Mock::given(method("GET"))
            .and(path(self.log_path()))
            .and(query_param("container", "bench-gate"))
            .respond_with(ResponseTemplate::new(200).set_body_string(log))
            .expect(1)
            .mount(server)
            .await;
    }
}

pub fn client(server: &MockServer) -> Client {
    let uri = server.uri().parse().expect("wiremock URI is a URI");
    Client::try_from(Config::new(uri)).expect("client for plain HTTP")
}

pub fn fast() -> RunOpts {
    RunOpts {
        timeout: Duration::from_secs(10),
        poll: Duration::from_millis(10),
        unschedulable_grace: Duration::ZERO,
    }
}

pub fn active() -> Option<JobStatus> {
    Some(JobStatus {
        active: Some(1),
        ..JobStatus::default()
    })
}

pub fn succeeded() -> Option<JobStatus> {
    Some(JobStatus {
        succeeded: Some(1),
        ..JobStatus::default()
    })
}

pub fn failed(reason: &str) -> Option<JobStatus> {
    Some(JobStatus {
        failed: Some(1),
        conditions: Some(vec![JobCondition {
            type_: "Failed".to_owned(),
            status: "True".to_owned(),
            reason: Some(reason.to_owned()),
            message: Some(format!("Job failed: {reason}")),
            ..JobCondition::default()
        }]),
        ..JobStatus::default()
    })
}

pub fn pod_phase(phase: &str) -> Option<PodStatus> {
    Some(PodStatus {
        phase: Some(phase.to_owned()),
        ..PodStatus::default()
    })
}

pub fn pod_container(phase: &str, state: ContainerState) -> Option<PodStatus> {
    Some(PodStatus {
        phase: Some(phase.to_owned()),
        container_statuses: Some(vec![ContainerStatus {
            name: "bench-gate".to_owned(),
            image: "ghcr.io/example/bench-gate:0.1.0".to_owned(),
            state: Some(state),
            ..ContainerStatus::default()
        }]),
        ..PodStatus::default()
    })
}

pub fn never() -> std::future::Pending<()> {
    std::future::pending()
}

/// Runs one scenario whose polls end in a failure and returns the error.
pub async fn run_failing(
    polls: Vec<(Option<JobStatus>, Option<PodStatus>)>,
) -> (MockServer, K8sError) {
    let server = MockServer::start().await;
    let s = Scenario::new("xeon");
    s.mount(&server, polls, 1).await;
    let err = run_job(client(&server), s.job.clone(), fast(), never())
        .await
        .expect_err("the run must fail");
    server.verify().await;
    (server, err)
}

/// Answers the create call like the API server, and fires the cancel signal as it does.
pub struct CancelOnCreate {
    pub body: Value,
    pub fire: Mutex<Option<oneshot::Sender<()>>>,
}

impl Respond for CancelOnCreate {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        if let Some(fire) = self.fire.lock().ok().and_then(|mut f| f.take()) {
            let _ = fire.send(());
        }
        ResponseTemplate::new(201).set_body_json(self.body.clone())
    }
}
