//! `bench-gate comment` end to end: the real binary against a fake GitHub (wiremock), with
//! the repository, PR, API root and token passed the way the Actions runner passes them.

mod common;

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Distinctive, so a leak anywhere in the output is easy to find.
const TOKEN: &str = "ghs_SECRETTOKEN_4242";
const MARKER: &str = "<!-- bench-gate:gate=pr-gate -->";
const COMMENTS: &str = "/repos/acme/speech-api/issues/7/comments";
const BODY: &str = "<!-- bench-gate:gate=pr-gate -->\n**bench-gate**: ✅ **passed**\n";

fn comment_json(id: u64, body: &str) -> Value {
    json!({
        "id": id,
        "body": body,
        "html_url": format!("https://github.com/acme/speech-api/pull/7#issuecomment-{id}"),
        "user": { "login": "github-actions[bot]", "type": "Bot" },
        "created_at": "2026-11-28T10:00:00Z"
    })
}

/// Runs `bench-gate comment` with only the variables a runner would set (plus `extra`).
fn run(server: &MockServer, body_file: &Path, extra: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::cargo_bin("bench-gate").expect("binary built");
    cmd.env_clear()
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", server.uri())
        .env("GITHUB_REPOSITORY", "acme/speech-api")
        .args(["comment", "--body-file"])
        .arg(body_file)
        .args(["--pr", "7", "--gate", "pr-gate"])
        .args(args)
        // Far above every bound the tests set: only a hang reaches it (and fails the test).
        .timeout(std::time::Duration::from_secs(120));
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().expect("binary runs")
}

/// A folder holding the comment body, and a fake GitHub with nothing mounted yet.
async fn setup() -> (tempfile::TempDir, std::path::PathBuf, MockServer) {
    let dir = tempfile::tempdir().unwrap();
    let body_file = dir.path().join("comment.md");
    std::fs::write(&body_file, BODY).unwrap();
    (dir, body_file, MockServer::start().await)
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_no_token(output: &Output) {
    let (out, err) = text(output);
    assert!(
        !out.contains(TOKEN) && !err.contains(TOKEN),
        "token leaked:\n{out}\n{err}"
    );
}

#[tokio::test]
async fn first_run_creates_second_run_edits_the_same_comment() {
    let dir = tempfile::tempdir().unwrap();
    let body_file = dir.path().join("comment.md");
    std::fs::write(&body_file, BODY).unwrap();
    let summary = dir.path().join("summary.md");
    let summary_env = summary.to_string_lossy().into_owned();
    let server = MockServer::start().await;

    // Run 1: no comment yet -> exactly one POST with the body, carrying the token in the header.
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(json!({ "body": BODY })))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment_json(101, BODY)))
        .expect(1)
        .mount(&server)
        .await;
    let first = run(
        &server,
        &body_file,
        &[("GITHUB_STEP_SUMMARY", &summary_env)],
        &[],
    );
    assert_eq!(first.status.code(), Some(0), "{:?}", text(&first));
    assert!(
        text(&first).1.contains("created comment 101"),
        "{:?}",
        text(&first)
    );
    assert_no_token(&first);
    server.verify().await;
    server.reset().await;

    // Run 2: the marked comment exists -> PATCH that id, no POST.
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            comment_json(55, "an unrelated human comment"),
            comment_json(101, &format!("{MARKER}\nold body")),
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/speech-api/issues/comments/101"))
        .and(body_json(json!({ "body": BODY })))
        .respond_with(ResponseTemplate::new(200).set_body_json(comment_json(101, BODY)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let second = run(
        &server,
        &body_file,
        &[("GITHUB_STEP_SUMMARY", &summary_env)],
        &[],
    );
    assert_eq!(second.status.code(), Some(0), "{:?}", text(&second));
    assert!(text(&second).1.contains("updated comment 101"));
    assert_no_token(&second);
    server.verify().await;

    // Both runs appended the markdown to the job summary.
    let written = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(written.matches("**bench-gate**: ✅ **passed**").count(), 2);
}

fn forbidden() -> ResponseTemplate {
    ResponseTemplate::new(403).set_body_json(json!({
        "message": format!("Resource not accessible by integration (token {TOKEN})"),
        "documentation_url": "https://docs.github.com/rest"
    }))
}

#[tokio::test]
async fn forbidden_warns_and_exits_0_without_strict() {
    let (_dir, body_file, server) = setup().await;
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(forbidden())
        .mount(&server)
        .await;

    let out = run(&server, &body_file, &[("GITHUB_ACTIONS", "true")], &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("pull-requests: write"), "{stderr}");
    assert!(stderr.contains("workflow_run"), "the fork advice: {stderr}");
    assert!(
        stdout.starts_with("::warning title=bench-gate comment::"),
        "annotation for the runner: {stdout}"
    );
    assert_no_token(&out);
}

#[tokio::test]
async fn forbidden_with_strict_exits_2() {
    let (_dir, body_file, server) = setup().await;
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(forbidden())
        .mount(&server)
        .await;

    let out = run(&server, &body_file, &[], &["--strict"]);
    common::assert_user_error(&out, &["pull-requests: write", "fix: "]);
    assert!(text(&out).0.is_empty(), "no annotation outside Actions");
    assert_no_token(&out);
}

#[tokio::test]
async fn missing_token_is_a_warning_and_sends_nothing() {
    let (_dir, body_file, server) = setup().await;
    let out = Command::cargo_bin("bench-gate")
        .unwrap()
        .env_clear()
        .env("GITHUB_API_URL", server.uri())
        .args([
            "comment",
            "--repo",
            "acme/speech-api",
            "--pr",
            "7",
            "--body-file",
        ])
        .arg(&body_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out).1.contains("GITHUB_TOKEN is not set"),
        "{:?}",
        text(&out)
    );
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[test]
fn missing_body_file_is_a_user_error() {
    let out = Command::cargo_bin("bench-gate")
        .unwrap()
        .env_clear()
        .args(["comment", "--body-file", "/nonexistent/comment.md"])
        .output()
        .unwrap();
    common::assert_user_error(&out, &["/nonexistent/comment.md", "bench-gate report -o"]);
}

/// A server that accepts the connection and never answers costs at most `--timeout-s`, and
/// the error names what was being done (listing the PR's comments) and the fix.
#[tokio::test]
async fn a_server_that_never_answers_is_given_up_on_naming_the_step() {
    let (_dir, body_file, server) = setup().await;
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(std::time::Duration::from_secs(600)),
        )
        .mount(&server)
        .await;

    let started = std::time::Instant::now();
    let out = run(&server, &body_file, &[], &["--strict", "--timeout-s", "2"]);
    let took = started.elapsed();
    let stderr = common::assert_user_error(&out, &["--timeout-s"]);
    assert!(
        stderr.contains("gave up after 2 s")
            && stderr.contains("listing the PR's comments")
            && stderr.contains(&format!(
                "waiting for the answer to GET {}{COMMENTS}",
                server.uri()
            )),
        "{stderr}"
    );
    assert!(
        took < std::time::Duration::from_secs(30),
        "a 2 s bound took {took:?}"
    );
    assert_no_token(&out);
}
