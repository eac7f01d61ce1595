//! `run_job` against a fake Kubernetes API server (wiremock on 127.0.0.1), asserting the
//! requests it makes, and above all that the Job is deleted whatever happens.

use std::sync::Mutex;

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateTerminated, ContainerStateWaiting, PodCondition, PodStatus,
};
use serde_json::json;
use tokio::sync::oneshot;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::fake_api::*;
use super::*;
use crate::publish::k8s::render;
use crate::publish::k8s::wrap_result;

#[tokio::test]
async fn success_creates_polls_reads_log_then_deletes() {
    let server = MockServer::start().await;
    let s = Scenario::new("xeon");
    s.mount(
        &server,
        vec![
            (active(), pod_phase("Running")),
            (succeeded(), pod_phase("Succeeded")),
        ],
        1,
    )
    .await;
    s.mount_log(&server, format!("loading model\n{}", wrap_result(RESULT)))
        .await;

    let got = run_job(client(&server), s.job.clone(), fast(), never()).await;

    assert_eq!(got.expect("result"), RESULT);
    server.verify().await;
    let requests: Vec<(String, String)> = server
        .received_requests()
        .await
        .expect("recording is on")
        .iter()
        .map(|r: &Request| (r.method.to_string(), r.url.path().to_owned()))
        .collect();
    let jobs = format!("/apis/batch/v1/namespaces/{NS}/jobs");
    let pods = format!("/api/v1/namespaces/{NS}/pods");
    let expected = [
        ("POST", jobs.as_str()),
        ("GET", &s.job_path()),
        ("GET", &pods),
        ("GET", &s.job_path()),
        ("GET", &pods),
        ("GET", &s.log_path()),
        ("DELETE", &s.job_path()),
    ]
    .map(|(m, p)| (m.to_owned(), p.to_owned()));
    assert_eq!(requests, expected);
}

#[tokio::test]
async fn unschedulable_names_selector_and_request_and_deletes() {
    let status = PodStatus {
        phase: Some("Pending".to_owned()),
        conditions: Some(vec![PodCondition {
            type_: "PodScheduled".to_owned(),
            status: "False".to_owned(),
            reason: Some("Unschedulable".to_owned()),
            message: Some(
                "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
                    .to_owned(),
            ),
            ..PodCondition::default()
        }]),
        ..PodStatus::default()
    };
    let (_server, err) = run_failing(vec![(active(), Some(status))]).await;
    let K8sError::Unschedulable {
        node_selector,
        cpu,
        memory,
        message,
        ..
    } = &err
    else {
        panic!("expected Unschedulable, got {err:?}");
    };
    assert_eq!(
        node_selector
            .get(render::NFD_CPU_VENDOR_ID)
            .map(String::as_str),
        Some("Intel")
    );
    assert_eq!((cpu.as_str(), memory.as_str()), ("1", "1024Mi"));
    assert!(message.contains("didn't match"), "{message}");
    assert!(
        err.to_string()
            .contains("feature.node.kubernetes.io/cpu-model.vendor_id=Intel"),
        "{err}"
    );
}

#[tokio::test]
async fn image_pull_failure_is_reported_and_deletes() {
    let waiting = ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some("ImagePullBackOff".to_owned()),
            message: Some("Back-off pulling image".to_owned()),
        }),
        ..ContainerState::default()
    };
    let (_server, err) = run_failing(vec![(active(), pod_container("Pending", waiting))]).await;
    assert!(
        matches!(&err, K8sError::ImagePull { reason, image, .. } if reason == "ImagePullBackOff" && image.contains("bench-gate")),
        "{err:?}"
    );
}

#[tokio::test]
async fn oom_killed_is_reported_with_the_limit_and_deletes() {
    let killed = ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: 137,
            reason: Some("OOMKilled".to_owned()),
            ..ContainerStateTerminated::default()
        }),
        ..ContainerState::default()
    };
    let (_server, err) = run_failing(vec![(
        failed("BackoffLimitExceeded"),
        pod_container("Failed", killed),
    )])
    .await;
    assert!(
        matches!(&err, K8sError::OomKilled { memory_limit, .. } if memory_limit == "1024Mi"),
        "{err:?}"
    );
}

#[tokio::test]
async fn deadline_exceeded_is_reported_and_deletes() {
    let (_server, err) = run_failing(vec![
        (active(), pod_phase("Running")),
        (failed("DeadlineExceeded"), None),
    ])
    .await;
    assert!(
        matches!(
            &err,
            K8sError::DeadlineExceeded {
                deadline_s: Some(1800),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn nonzero_exit_is_reported_with_the_termination_message_and_deletes() {
    let exited = ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: 2,
            reason: Some("Error".to_owned()),
            message: Some("error: benchmark.toml:3:1: unknown key `modle`".to_owned()),
            ..ContainerStateTerminated::default()
        }),
        ..ContainerState::default()
    };
    let (_server, err) = run_failing(vec![(
        failed("BackoffLimitExceeded"),
        pod_container("Failed", exited),
    )])
    .await;
    assert!(
        matches!(&err, K8sError::PodFailed { exit_code: Some(2), message, .. } if message.contains("modle")),
        "{err:?}"
    );
}

#[tokio::test]
async fn missing_result_block_is_reported_and_deletes() {
    let server = MockServer::start().await;
    let s = Scenario::new("xeon");
    s.mount(&server, vec![(succeeded(), pod_phase("Succeeded"))], 1)
        .await;
    s.mount_log(&server, "{\"not\": \"wrapped\"}\n".to_owned())
        .await;
    let err = run_job(client(&server), s.job.clone(), fast(), never())
        .await
        .expect_err("no result block");
    assert!(
        matches!(&err, K8sError::NoResultBlock { log_tail } if log_tail.contains("wrapped")),
        "{err:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn timeout_is_reported_and_deletes() {
    let server = MockServer::start().await;
    let s = Scenario::new("xeon");
    s.mount(&server, vec![(active(), pod_phase("Running"))], 1)
        .await;
    let opts = RunOpts {
        timeout: Duration::from_millis(150),
        ..fast()
    };
    let err = run_job(client(&server), s.job.clone(), opts, never())
        .await
        .expect_err("timeout");
    assert!(
        matches!(&err, K8sError::Timeout { after, .. } if *after == Duration::from_millis(150)),
        "{err:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn cancellation_right_after_creation_deletes() {
    let server = MockServer::start().await;
    let s = Scenario::new("xeon");
    let (tx, rx) = oneshot::channel();
    Mock::given(method("POST"))
        .respond_with(CancelOnCreate {
            body: s.job_json(None),
            fire: Mutex::new(Some(tx)),
        })
        .expect(1)
        .mount(&server)
        .await;
    s.mount_delete(&server, 1).await;
    // Polls may or may not happen before the cancel is seen; the Job stays active.
    s.mount_polls(&server, vec![(active(), pod_phase("Running"))])
        .await;

    let err = run_job(client(&server), s.job.clone(), fast(), rx)
        .await
        .expect_err("cancelled");
    assert!(matches!(&err, K8sError::Cancelled { .. }), "{err:?}");
    server.verify().await;
}

#[tokio::test]
async fn cancellation_while_waiting_deletes() {
    let server = MockServer::start().await;
    let s = Scenario::new("xeon");
    s.mount(&server, vec![(active(), pod_phase("Running"))], 1)
        .await;
    // Cancel once the runner is polling (the Job was created), however slow the machine: a
    // fixed delay fired before the create on a loaded CI machine.
    let polling = async {
        loop {
            let seen = server.received_requests().await.unwrap_or_default();
            if seen.iter().any(|r| r.method.as_str() == "GET") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let err = run_job(client(&server), s.job.clone(), fast(), polling)
        .await
        .expect_err("cancelled");
    assert!(matches!(&err, K8sError::Cancelled { .. }), "{err:?}");
    server.verify().await;
}

#[tokio::test]
async fn forbidden_create_explains_rbac_and_deletes_nothing() {
    let server = MockServer::start().await;
    let s = Scenario::new("xeon");
    let status = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "jobs.batch is forbidden: User \"system:serviceaccount:ci:default\" cannot create resource \"jobs\" in API group \"batch\" in the namespace \"ci\"",
        "reason": "Forbidden", "details": { "group": "batch", "kind": "jobs" }, "code": 403
    });
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_json(status))
        .expect(1)
        .mount(&server)
        .await;
    s.mount_delete(&server, 0).await;
    let err = run_job(client(&server), s.job.clone(), fast(), never())
        .await
        .expect_err("forbidden");
    assert!(
        matches!(
            &err,
            K8sError::Forbidden {
                verb: "create",
                resource: "jobs",
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("k8s/rbac.yaml") && text.contains("cannot create resource"),
        "{text}"
    );
    server.verify().await;
    assert_eq!(
        server.received_requests().await.map(|r| r.len()),
        Some(1),
        "only the create"
    );
}

#[tokio::test]
async fn existing_job_with_the_same_name_is_explained() {
    let server = MockServer::start().await;
    let s = Scenario::new("xeon");
    let status = json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "jobs.batch \"x\" already exists", "reason": "AlreadyExists", "code": 409 });
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(409).set_body_json(status))
        .mount(&server)
        .await;
    s.mount_delete(&server, 0).await;
    let err = run_job(client(&server), s.job.clone(), fast(), never())
        .await
        .expect_err("exists");
    assert!(matches!(&err, K8sError::AlreadyExists { .. }), "{err:?}");
    server.verify().await;
}

#[tokio::test]
async fn failed_delete_keeps_the_result_inside_the_error() {
    let server = MockServer::start().await;
    let s = Scenario::new("xeon");
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(s.job_json(None)))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(500).set_body_string("etcd is down"))
        .expect(1)
        .mount(&server)
        .await;
    s.mount_polls(&server, vec![(succeeded(), pod_phase("Succeeded"))])
        .await;
    s.mount_log(&server, wrap_result(RESULT)).await;
    let err = run_job(client(&server), s.job.clone(), fast(), never())
        .await
        .expect_err("cleanup");
    let K8sError::CleanupFailed { outcome, .. } = &err else {
        panic!("expected CleanupFailed, got {err:?}");
    };
    assert_eq!(
        outcome.as_ref().as_ref().ok().map(String::as_str),
        Some(RESULT)
    );
    assert!(
        err.to_string().contains("kubectl -n ci delete job"),
        "{err}"
    );
    server.verify().await;
}

#[tokio::test]
async fn pools_run_concurrently_and_report_each() {
    let server = MockServer::start().await;
    let good = Scenario::new("spr");
    let bad = Scenario::new("icx");
    good.mount(
        &server,
        vec![
            (active(), pod_phase("Running")),
            (succeeded(), pod_phase("Succeeded")),
        ],
        1,
    )
    .await;
    good.mount_log(&server, wrap_result(RESULT)).await;
    let waiting = ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some("ErrImagePull".to_owned()),
            message: None,
        }),
        ..ContainerState::default()
    };
    bad.mount(
        &server,
        vec![(active(), pod_container("Pending", waiting))],
        1,
    )
    .await;

    let results = run_pools(
        client(&server),
        vec![good.job.clone(), bad.job.clone()],
        fast(),
        never(),
    )
    .await;

    assert_eq!(results.len(), 2);
    assert_eq!(results[0].0, "spr");
    assert_eq!(results[0].1.as_deref().ok(), Some(RESULT));
    assert_eq!(results[1].0, "icx");
    assert!(
        matches!(results[1].1, Err(K8sError::ImagePull { .. })),
        "{:?}",
        results[1].1
    );
    server.verify().await;
}

#[tokio::test]
async fn nonexistent_kubeconfig_names_the_path() {
    let missing = Path::new("/nonexistent/dir/kubeconfig.yaml");
    let Err(err) = client_from_kubeconfig(Some(missing), None).await else {
        panic!("a missing kubeconfig must fail");
    };
    assert!(
        matches!(&err, K8sError::KubeconfigNotFound { path } if path == missing),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("/nonexistent/dir/kubeconfig.yaml"),
        "{err}"
    );
}

#[tokio::test]
async fn kubeconfig_context_is_used() {
    let server = MockServer::start().await;
    let s = Scenario::new("xeon");
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: other\n\
         clusters:\n- name: fake\n  cluster:\n    server: {}\n\
         - name: nowhere\n  cluster:\n    server: http://127.0.0.1:1\n\
         contexts:\n- name: bench\n  context:\n    cluster: fake\n    user: ci\n    namespace: ci\n\
         - name: other\n  context:\n    cluster: nowhere\n    user: ci\n\
         users:\n- name: ci\n  user: {{}}\n",
        server.uri()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("kubeconfig");
    std::fs::write(&file, kubeconfig).expect("write kubeconfig");
    Mock::given(method("GET"))
        .and(path(s.job_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(s.job_json(active())))
        .expect(1)
        .mount(&server)
        .await;

    let client = client_from_kubeconfig(Some(&file), Some("bench"))
        .await
        .expect("client");
    let jobs: Api<Job> = Api::namespaced(client, NS);
    jobs.get(&s.name())
        .await
        .expect("GET through the bench context");
    server.verify().await;

    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, "{{ not yaml").expect("write");
    let Err(err) = client_from_kubeconfig(Some(&garbage), None).await else {
        panic!("a garbage kubeconfig must fail");
    };
    assert!(
        matches!(&err, K8sError::Kubeconfig { path, .. } if *path == garbage),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_few_failed_polls_are_retried() {
    let server = MockServer::start().await;
    let s = Scenario::new("xeon");
    // Mounted first, so these two answers come before the scenario's own.
    Mock::given(method("GET"))
        .and(path(s.job_path()))
        .respond_with(ResponseTemplate::new(503).set_body_string("apiserver restarting"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    s.mount(&server, vec![(succeeded(), pod_phase("Succeeded"))], 1)
        .await;
    s.mount_log(&server, wrap_result(RESULT)).await;
    let got = run_job(client(&server), s.job.clone(), fast(), never()).await;
    assert_eq!(got.expect("result after retries"), RESULT);
    server.verify().await;
}

#[tokio::test]
async fn persistent_api_errors_give_up_and_still_delete() {
    let server = MockServer::start().await;
    let s = Scenario::new("xeon");
    Mock::given(method("GET"))
        .and(path(s.job_path()))
        .respond_with(ResponseTemplate::new(500).set_body_string("etcd timeout"))
        .expect(4)
        .mount(&server)
        .await;
    s.mount(&server, vec![(active(), pod_phase("Running"))], 1)
        .await;
    let err = run_job(client(&server), s.job.clone(), fast(), never())
        .await
        .expect_err("gives up");
    assert!(matches!(&err, K8sError::Api { .. }), "{err:?}");
    server.verify().await;
}
