//! Tests for `upsert_comment`: a fake GitHub (wiremock) asserts every request it receives,
//! and `expect(n)` fails the test on any missing or extra request.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

use super::*;

/// Distinctive, so a leak anywhere is easy to search for.
const TOKEN: &str = "ghs_TESTTOKEN123";
const MARKER: &str = "<!-- bench-gate:gate=pr-gate -->";
/// Bound on a whole publish in tests: far above what a local fake server needs.
const LIMIT: Duration = Duration::from_secs(30);
const COMMENTS: &str = "/repos/acme/speech-api/issues/7/comments";

fn target_at(api_base: String) -> Target {
    Target {
        api_base,
        owner: "acme".to_owned(),
        repo: "speech-api".to_owned(),
        pr: 7,
    }
}

fn target(server: &MockServer) -> Target {
    target_at(server.uri())
}

fn token() -> Token {
    Token::new(TOKEN).expect("test token is valid")
}

/// Millisecond delays keep retry tests fast; the cap also bounds a 60 s rate-limit default.
fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

/// Every request must carry the token in the `Authorization` header, the one allowed place.
fn authed(verb: &str, route: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
}

/// The first page of the PR's comments.
fn list_first_page() -> MockBuilder {
    authed("GET", COMMENTS)
        .and(query_param("per_page", "100"))
        .and(query_param_is_missing("page"))
}

/// Mounts a mock that answers `response` exactly `times` times: a further matching request
/// falls through to the next mock or to wiremock's 404, and fewer fail the test on drop.
async fn serve(server: &MockServer, mock: MockBuilder, response: ResponseTemplate, times: u64) {
    let mock = mock.respond_with(response).expect(times);
    // wiremock refuses a limit of 0; a mock expected never to match needs none.
    let mock = if times > 0 {
        mock.up_to_n_times(times)
    } else {
        mock
    };
    mock.mount(server).await;
}

fn comment(id: u64, body: &str, kind: &str) -> Value {
    json!({
        "id": id,
        "body": body,
        "html_url": format!("https://github.com/acme/speech-api/pull/7#issuecomment-{id}"),
        "user": { "login": "someone", "type": kind },
        "created_at": "2026-11-28T10:00:00Z"
    })
}

fn written(id: u64, status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(comment(id, "ignored", "Bot"))
}

fn ok_json(value: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(value)
}

fn marked(text: &str) -> String {
    format!("{MARKER}\n{text}")
}

async fn upsert(server: &MockServer, body: &str) -> Result<Outcome, PublishError> {
    upsert_comment(&target(server), &token(), MARKER, body, &fast(), LIMIT).await
}

#[tokio::test]
async fn creates_one_comment_with_the_marker_when_none_exists() {
    let server = MockServer::start().await;
    serve(
        &server,
        list_first_page(),
        ok_json(json!([comment(1, "LGTM", "User")])),
        1,
    )
    .await;
    serve(
        &server,
        authed("POST", COMMENTS).and(body_json(json!({ "body": marked("## Bench: pass") }))),
        written(501, 201),
        1,
    )
    .await;

    let outcome = upsert(&server, "## Bench: pass").await.expect("created");

    assert_eq!(
        outcome,
        Outcome::Created {
            id: 501,
            url: "https://github.com/acme/speech-api/pull/7#issuecomment-501".to_owned()
        }
    );
}

#[tokio::test]
async fn updates_the_marked_comment_and_never_posts() {
    let server = MockServer::start().await;
    serve(
        &server,
        list_first_page(),
        ok_json(json!([
            comment(10, "first!", "User"),
            comment(11, &marked("old numbers"), "Bot"),
        ])),
        1,
    )
    .await;
    serve(
        &server,
        authed("PATCH", "/repos/acme/speech-api/issues/comments/11")
            .and(body_json(json!({ "body": marked("new numbers") }))),
        written(11, 200),
        1,
    )
    .await;
    serve(&server, authed("POST", COMMENTS), written(1, 201), 0).await;

    let outcome = upsert(&server, &marked("new numbers"))
        .await
        .expect("updated");

    assert!(
        matches!(outcome, Outcome::Updated { id: 11, .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn follows_pagination_to_find_the_marker_on_page_two() {
    let server = MockServer::start().await;
    let page_one: Vec<Value> = (1..=100).map(|id| comment(id, "chatter", "User")).collect();
    let next = format!("{}{COMMENTS}?per_page=100&page=2", server.uri());
    serve(
        &server,
        list_first_page(),
        ok_json(Value::Array(page_one)).insert_header(
            "Link",
            format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\""),
        ),
        1,
    )
    .await;
    serve(
        &server,
        authed("GET", COMMENTS)
            .and(query_param("per_page", "100"))
            .and(query_param("page", "2")),
        ok_json(json!([comment(250, &marked("old"), "Bot")])),
        1,
    )
    .await;
    serve(
        &server,
        authed("PATCH", "/repos/acme/speech-api/issues/comments/250")
            .and(body_json(json!({ "body": marked("new") }))),
        written(250, 200),
        1,
    )
    .await;

    let outcome = upsert(&server, "new").await.expect("updated");

    assert_eq!(outcome.id(), 250);
}

#[tokio::test]
async fn retries_a_post_that_got_a_502() {
    let server = MockServer::start().await;
    // Listed twice: before the first POST, and again before the retry in case the 502 lied.
    serve(&server, list_first_page(), ok_json(json!([])), 2).await;
    serve(
        &server,
        authed("POST", COMMENTS).and(body_json(json!({ "body": marked("body") }))),
        ResponseTemplate::new(502),
        1,
    )
    .await;
    serve(
        &server,
        authed("POST", COMMENTS).and(body_json(json!({ "body": marked("body") }))),
        written(77, 201),
        1,
    )
    .await;

    let outcome = upsert(&server, "body").await.expect("created after retry");

    assert!(
        matches!(outcome, Outcome::Created { id: 77, .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_502_post_that_created_the_comment_is_not_posted_twice() {
    let server = MockServer::start().await;
    serve(&server, list_first_page(), ok_json(json!([])), 1).await;
    serve(
        &server,
        list_first_page(),
        ok_json(json!([comment(88, &marked("body"), "Bot")])),
        1,
    )
    .await;
    serve(
        &server,
        authed("POST", COMMENTS),
        ResponseTemplate::new(502),
        1,
    )
    .await;
    serve(
        &server,
        authed("PATCH", "/repos/acme/speech-api/issues/comments/88")
            .and(body_json(json!({ "body": marked("body") }))),
        written(88, 200),
        1,
    )
    .await;

    let outcome = upsert(&server, "body").await.expect("updated instead");

    assert!(
        matches!(outcome, Outcome::Updated { id: 88, .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn secondary_rate_limit_with_retry_after_is_retried() {
    let server = MockServer::start().await;
    serve(&server, list_first_page(), ok_json(json!([])), 1).await;
    serve(
        &server,
        authed("POST", COMMENTS),
        ResponseTemplate::new(403).insert_header("Retry-After", "0"),
        1,
    )
    .await;
    serve(&server, authed("POST", COMMENTS), written(5, 201), 1).await;

    let outcome = upsert(&server, "body")
        .await
        .expect("created after waiting");

    assert_eq!(outcome.id(), 5);
}

#[tokio::test]
async fn secondary_rate_limit_message_is_retried() {
    let server = MockServer::start().await;
    serve(&server, list_first_page() , ResponseTemplate::new(403).set_body_json(json!({ "message": "You have exceeded a secondary rate limit. Please wait a few minutes." }),), 1).await;
    serve(&server, list_first_page(), ok_json(json!([])), 1).await;
    serve(&server, authed("POST", COMMENTS), written(6, 201), 1).await;

    let outcome = upsert(&server, "body")
        .await
        .expect("created after waiting");

    assert_eq!(outcome.id(), 6);
}

#[tokio::test]
async fn enterprise_api_root_with_a_path_prefix_is_honoured() {
    let server = MockServer::start().await;
    let target = target_at(format!("{}/api/v3", server.uri()));
    serve(
        &server,
        authed("GET", &format!("/api/v3{COMMENTS}")).and(query_param("per_page", "100")),
        ok_json(json!([comment(3, &marked("x"), "Bot")])),
        1,
    )
    .await;
    serve(
        &server,
        authed("PATCH", "/api/v3/repos/acme/speech-api/issues/comments/3"),
        written(3, 200),
        1,
    )
    .await;

    let outcome = upsert_comment(&target, &token(), MARKER, "y", &fast(), LIMIT).await;

    assert_eq!(outcome.expect("updated").id(), 3);
}

#[tokio::test]
async fn oversized_body_is_cut_below_the_limit_with_the_marker_kept() {
    let server = MockServer::start().await;
    serve(&server, list_first_page(), ok_json(json!([])), 1).await;
    serve(&server, authed("POST", COMMENTS), written(4, 201), 1).await;

    upsert(&server, &"é".repeat(70_000)).await.expect("created");

    let requests = server.received_requests().await.unwrap_or_default();
    let post = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .expect("a POST");
    let sent: Value = serde_json::from_slice(&post.body).expect("JSON body");
    let sent = sent["body"].as_str().expect("body string");
    assert!(sent.chars().count() <= MAX_BODY_CHARS);
    assert!(sent.starts_with(MARKER));
    assert!(sent.contains("cut this comment"));
}

#[path = "github_error_tests.rs"]
mod errors;
