//! Tests for the pure parts of `github.rs` and its transport: where to comment (flags,
//! environment, recorded event payloads), body capping, comment choice, answer classification.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;

use super::from_env::pr_from_payload;
use super::transport::{Reply, Verdict, classify_at, next_link};
use super::*;

const MARKER: &str = "<!-- bench-gate:gate=pr-gate -->";

/// Recorded (abridged) event payloads, kept beside the module.
fn payload(name: &str) -> String {
    format!("{}/src/publish/testdata/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn actions_env(event: &str, file: &str) -> impl Fn(&str) -> Option<String> + use<> {
    env(&[
        ("GITHUB_REPOSITORY", "acme/speech-api"),
        ("GITHUB_EVENT_NAME", event),
        ("GITHUB_EVENT_PATH", &payload(file)),
    ])
}

#[test]
fn pull_request_event_gives_the_pr_number() {
    let target = target_from_env(
        &actions_env("pull_request", "event_pull_request.json"),
        None,
        None,
        None,
    );
    assert_eq!(
        target.expect("target"),
        Target {
            api_base: DEFAULT_API_BASE.to_owned(),
            owner: "acme".to_owned(),
            repo: "speech-api".to_owned(),
            pr: 42,
        }
    );
}

#[test]
fn workflow_run_event_gives_the_first_pull_request() {
    let get = actions_env("workflow_run", "event_workflow_run.json");
    assert_eq!(
        target_from_env(&get, None, None, None).expect("target").pr,
        42
    );
}

#[test]
fn issue_comment_on_a_pull_request_gives_its_number() {
    let get = actions_env("issue_comment", "event_issue_comment.json");
    assert_eq!(
        target_from_env(&get, None, None, None).expect("target").pr,
        42
    );
}

#[test]
fn fork_workflow_run_without_pull_requests_says_to_pass_pr() {
    let get = actions_env("workflow_run", "event_workflow_run_fork.json");
    let message = target_from_env(&get, None, None, None)
        .expect_err("no PR")
        .to_string();
    assert!(message.contains("--pr"), "{message}");
    assert!(message.contains("forks"), "{message}");
}

#[test]
fn missing_pr_outside_actions_says_to_pass_pr() {
    let get = env(&[("GITHUB_REPOSITORY", "acme/speech-api")]);
    let error = target_from_env(&get, None, None, None).expect_err("no PR");
    assert!(matches!(error, PublishError::MissingPullRequest { .. }));
    assert!(error.to_string().contains("pass --pr NUMBER"), "{error}");
}

#[test]
fn push_event_is_not_about_a_pull_request() {
    let get = actions_env("push", "event_pull_request.json");
    let message = target_from_env(&get, None, None, None)
        .expect_err("push")
        .to_string();
    assert!(message.contains("`push` event"), "{message}");
}

#[test]
fn unreadable_event_payload_is_reported_with_its_path() {
    let get = actions_env("pull_request", "no_such_event.json");
    let message = target_from_env(&get, None, None, None)
        .expect_err("missing file")
        .to_string();
    assert!(message.contains("no_such_event.json"), "{message}");
}

#[test]
fn flags_override_the_environment() {
    let get = actions_env("pull_request", "event_pull_request.json");
    let target = target_from_env(
        &get,
        Some("other/repo"),
        Some(9),
        Some("https://ghe.example/api/v3/"),
    );
    assert_eq!(
        target.expect("target"),
        Target {
            api_base: "https://ghe.example/api/v3".to_owned(),
            owner: "other".to_owned(),
            repo: "repo".to_owned(),
            pr: 9,
        }
    );
}

#[test]
fn api_url_comes_from_the_environment_and_empty_means_default() {
    let ghe = env(&[
        ("GITHUB_REPOSITORY", "a/b"),
        ("GITHUB_API_URL", "https://ghe.example/api/v3"),
    ]);
    assert_eq!(
        target_from_env(&ghe, None, Some(1), None)
            .expect("ghe")
            .api_base,
        "https://ghe.example/api/v3"
    );
    let empty = env(&[("GITHUB_REPOSITORY", "a/b"), ("GITHUB_API_URL", "")]);
    assert_eq!(
        target_from_env(&empty, None, Some(1), None)
            .expect("default")
            .api_base,
        DEFAULT_API_BASE
    );
}

#[test]
fn bad_repository_api_url_and_pr_zero_are_refused() {
    let get = env(&[]);
    for repo in ["acme", "acme/", "/x", "a/b/c", "../x", "a/.."] {
        let error = target_from_env(&get, Some(repo), Some(1), None).expect_err(repo);
        assert!(
            matches!(error, PublishError::InvalidRepository { .. }),
            "{repo}: {error:?}"
        );
    }
    assert!(matches!(
        target_from_env(&get, None, Some(1), None),
        Err(PublishError::MissingRepository)
    ));
    for api in ["ftp://x", "not a url", "https://x/api?q=1", "/api/v3"] {
        let error = target_from_env(&get, Some("a/b"), Some(1), Some(api)).expect_err(api);
        assert!(
            matches!(error, PublishError::InvalidApiUrl { .. }),
            "{api}: {error:?}"
        );
    }
    let zero = target_from_env(&get, Some("a/b"), Some(0), None);
    assert!(matches!(zero, Err(PublishError::MissingPullRequest { .. })));
}

#[test]
fn payload_shape_decides_when_the_event_name_is_unknown() {
    assert_eq!(
        pr_from_payload(None, &json!({ "pull_request": { "number": 3 } })),
        Ok(3)
    );
    let run = json!({ "workflow_run": { "pull_requests": [{ "number": 4 }, { "number": 5 }] } });
    assert_eq!(pr_from_payload(None, &run), Ok(4));
    let issue = json!({ "issue": { "number": 6 } });
    assert!(
        pr_from_payload(Some("issue_comment"), &issue).is_err(),
        "plain issue, not a PR"
    );
    assert!(pr_from_payload(None, &json!({ "ref": "refs/heads/main" })).is_err());
}

#[test]
fn token_comes_from_github_token_and_hides_itself() {
    let missing = token_from_env(&env(&[])).expect_err("missing").to_string();
    assert!(
        missing.contains("env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}"),
        "{missing}"
    );
    assert!(matches!(
        token_from_env(&env(&[("GITHUB_TOKEN", " ")])),
        Err(PublishError::MissingToken)
    ));
    assert!(matches!(
        Token::new("ghs_a b"),
        Err(PublishError::InvalidToken)
    ));
    let token = token_from_env(&env(&[("GITHUB_TOKEN", "ghs_SECRET\n")])).expect("token");
    assert_eq!(token.expose(), "ghs_SECRET");
    assert_eq!(format!("{token} {token:?}"), "*** Token(***)");
    assert_eq!(token.scrub("x ghs_SECRET y"), "x *** y");
}

#[test]
fn marker_is_prepended_only_when_missing() {
    assert_eq!(with_marker(MARKER, "body"), format!("{MARKER}\nbody"));
    let already = format!("# Title\n{MARKER}\nbody");
    assert_eq!(with_marker(MARKER, &already), already);
}

#[test]
fn short_bodies_are_left_alone() {
    let body = "x".repeat(MAX_BODY_CHARS);
    assert_eq!(cap_body(&body, MARKER), body);
}

#[test]
fn long_bodies_are_cut_at_a_char_boundary_with_a_note() {
    let body = format!("{MARKER}\n{}", "😀".repeat(MAX_BODY_CHARS));
    let capped = cap_body(&body, MARKER);
    assert!(capped.chars().count() <= MAX_BODY_CHARS);
    assert!(capped.starts_with(MARKER));
    assert!(capped.ends_with("the workflow run has the full report.\n"));
}

#[test]
fn cutting_keeps_a_marker_that_sat_at_the_end() {
    let body = format!("{}{MARKER}", "a".repeat(MAX_BODY_CHARS));
    let capped = cap_body(&body, MARKER);
    assert!(capped.starts_with(&format!("{MARKER}\n")));
    assert!(capped.chars().count() <= MAX_BODY_CHARS);
}

#[test]
fn cutting_closes_an_open_code_fence_and_html_comment() {
    let fenced = format!("{MARKER}\n```text\n{}", "line\n".repeat(20_000));
    let capped = cap_body(&fenced, MARKER);
    assert!(
        capped.contains("\n```\n\n> **Note:**"),
        "fence closed before the note"
    );
    let hidden = format!("{MARKER}\n<!-- {}", "z".repeat(MAX_BODY_CHARS));
    assert!(cap_body(&hidden, MARKER).contains(" -->\n\n> **Note:**"));
}

fn listed(id: u64, body: &str, kind: &str) -> ListedComment {
    ListedComment {
        id,
        body: Some(body.to_owned()),
        user: Some(Author {
            kind: Some(kind.to_owned()),
        }),
    }
}

#[test]
fn newest_bot_comment_wins_over_humans_and_older_ones() {
    let marked = format!("{MARKER}\nx");
    let page = [
        listed(1, &marked, "Bot"),
        listed(2, &marked, "Bot"),
        listed(3, &marked, "User"),
        listed(4, "no marker", "Bot"),
    ];
    assert_eq!(choose(&candidates(&page, MARKER)), Some(2));
    let humans = [listed(5, &marked, "User"), listed(6, &marked, "User")];
    assert_eq!(choose(&candidates(&humans, MARKER)), Some(6));
    assert_eq!(
        choose(&candidates(
            &[listed(7, "<!-- bench-gate:gate=pr -->", "Bot")],
            MARKER
        )),
        None
    );
}

fn reply(status: u16, headers: &[(&'static str, &str)], body: &str) -> Reply {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, HeaderValue::from_str(value).expect("header"));
    }
    Reply {
        status: StatusCode::from_u16(status).expect("status"),
        headers: map,
        body: body.to_owned(),
    }
}

#[test]
fn answers_are_classified_for_retry() {
    let now = UNIX_EPOCH + Duration::from_secs(1_000);
    let retry = |after: Option<u64>, ambiguous| Verdict::Retry {
        after: after.map(Duration::from_secs),
        ambiguous,
    };
    assert_eq!(classify_at(&reply(201, &[], "{}"), now), Verdict::Done);
    assert_eq!(classify_at(&reply(502, &[], ""), now), retry(None, true));
    assert_eq!(
        classify_at(&reply(403, &[], "Resource not accessible"), now),
        Verdict::Fail
    );
    assert_eq!(
        classify_at(&reply(422, &[], "Validation Failed"), now),
        Verdict::Fail
    );
    assert_eq!(
        classify_at(&reply(404, &[("retry-after", "1")], ""), now),
        Verdict::Fail
    );
    assert_eq!(
        classify_at(&reply(403, &[("retry-after", "7")], ""), now),
        retry(Some(7), false)
    );
    assert_eq!(
        classify_at(&reply(429, &[], ""), now),
        retry(Some(60), false)
    );
    let secondary = reply(403, &[], "You have exceeded a secondary rate limit");
    assert_eq!(classify_at(&secondary, now), retry(Some(60), false));
    let primary = reply(
        403,
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1030"),
        ],
        "",
    );
    assert_eq!(classify_at(&primary, now), retry(Some(30), false));
    assert_eq!(
        classify_at(&primary, SystemTime::now()),
        retry(Some(0), false)
    );
}

#[test]
fn backoff_doubles_and_every_wait_is_capped() {
    let policy = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(5),
    };
    let waits: Vec<u64> = (1..=4).map(|n| policy.delay(n, None).as_secs()).collect();
    assert_eq!(waits, [1, 2, 4, 5]);
    assert_eq!(
        policy.delay(1, Some(Duration::from_secs(3600))),
        Duration::from_secs(5)
    );
    assert_eq!(policy.delay(u32::MAX, None), Duration::from_secs(5));
    assert_eq!(
        RetryPolicy {
            max_attempts: 0,
            ..policy
        }
        .attempts(),
        1
    );
}

#[test]
fn next_link_is_read_from_githubs_link_header() {
    let link = "<https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=2>; rel=\"next\", \
                <https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=5>; rel=\"last\"";
    let headers = reply(200, &[("link", link)], "").headers;
    assert_eq!(
        next_link(&headers).as_deref(),
        Some("https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=2")
    );
    let last_page = "<https://api.github.com/x?page=1>; rel=\"first\", <https://api.github.com/x?page=4>; rel=\"prev\"";
    assert_eq!(
        next_link(&reply(200, &[("link", last_page)], "").headers),
        None
    );
    assert_eq!(next_link(&HeaderMap::new()), None);
}

#[test]
fn invalid_markers_are_refused_before_any_request() {
    for marker in ["", "bench-gate", "<!-- open", "<!---->", " <!-- x -->"] {
        assert!(validate_marker(marker).is_err(), "{marker:?}");
    }
    assert!(validate_marker(MARKER).is_ok());
}
