//! Where `bench-gate comment` posts: flags first, then what the GitHub Actions runner
//! provides (`GITHUB_REPOSITORY`, `GITHUB_API_URL`, the event payload, `GITHUB_TOKEN`).
//!
//! Environment access goes through a `get` closure so tests pass a map instead of mutating
//! the process environment.

use serde_json::Value;

use super::{DEFAULT_API_BASE, PublishError, Target, Token};

/// Reads the token from `GITHUB_TOKEN`, the variable GitHub's own workflow examples set.
pub fn token_from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Token, PublishError> {
    let raw = get("GITHUB_TOKEN").ok_or(PublishError::MissingToken)?;
    Token::new(&raw)
}

/// Works out where to comment: flags first, then what the Actions runner provides.
///
/// `get` looks up environment variables (tests pass a map). The PR number comes from `--pr`,
/// else from the event payload at `GITHUB_EVENT_PATH`, read according to `GITHUB_EVENT_NAME`.
pub fn target_from_env(
    get: &dyn Fn(&str) -> Option<String>,
    repo_flag: Option<&str>,
    pr_flag: Option<u64>,
    api_flag: Option<&str>,
) -> Result<Target, PublishError> {
    // An empty variable means "unset": a local `GITHUB_API_URL=` must not break the default.
    let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    let api_base = match api_flag
        .map(str::to_owned)
        .or_else(|| get("GITHUB_API_URL"))
    {
        Some(value) => parse_api_base(&value)?,
        None => DEFAULT_API_BASE.to_owned(),
    };
    let repository = repo_flag
        .map(str::to_owned)
        .or_else(|| get("GITHUB_REPOSITORY"))
        .ok_or(PublishError::MissingRepository)?;
    let (owner, repo) = parse_repository(&repository)?;
    let pr = match pr_flag {
        Some(0) => {
            return Err(PublishError::MissingPullRequest {
                reason: "0 is not a pull request number".to_owned(),
            });
        }
        Some(number) => number,
        None => pr_from_event(&get)?,
    };
    Ok(Target {
        api_base,
        owner,
        repo,
        pr,
    })
}

/// Validates an API root and drops trailing slashes so paths can be appended verbatim.
fn parse_api_base(value: &str) -> Result<String, PublishError> {
    let invalid = |reason: &str| PublishError::InvalidApiUrl {
        value: super::redact_url_credentials(value),
        reason: reason.to_owned(),
    };
    let trimmed = value.trim().trim_end_matches('/');
    let uri: http::Uri = trimmed
        .parse()
        .map_err(|_| invalid("not a URL (expected e.g. https://HOST/api/v3)"))?;
    if !matches!(uri.scheme_str(), Some("https" | "http")) || uri.authority().is_none() {
        return Err(invalid("expected an http(s) URL with a host"));
    }
    if uri.query().is_some() {
        return Err(invalid("must not contain a query string"));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(invalid(
            "must not carry credentials (user:token@host); the token is read from GITHUB_TOKEN",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Splits `owner/name`, allowing only the characters GitHub allows, so nothing can smuggle
/// extra path segments into the API routes.
fn parse_repository(value: &str) -> Result<(String, String), PublishError> {
    let invalid = || PublishError::InvalidRepository {
        value: value.to_owned(),
    };
    let (owner, repo) = value.trim().split_once('/').ok_or_else(invalid)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let valid =
        |part: &str| !part.is_empty() && part != "." && part != ".." && part.chars().all(allowed);
    if !valid(owner) || !valid(repo) {
        return Err(invalid());
    }
    Ok((owner.to_owned(), repo.to_owned()))
}

/// Reads the PR number from the event payload the runner wrote to `GITHUB_EVENT_PATH`.
fn pr_from_event(get: &dyn Fn(&str) -> Option<String>) -> Result<u64, PublishError> {
    let missing = |reason: String| PublishError::MissingPullRequest { reason };
    let path = get("GITHUB_EVENT_PATH").ok_or_else(|| {
        missing("GITHUB_EVENT_PATH is not set (not running in GitHub Actions?)".to_owned())
    })?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| missing(format!("cannot read the event payload {path}: {e}")))?;
    let payload: Value = serde_json::from_str(&text)
        .map_err(|e| missing(format!("the event payload {path} is not JSON: {e}")))?;
    pr_from_payload(get("GITHUB_EVENT_NAME").as_deref(), &payload).map_err(missing)
}

/// Finds the PR number in an event payload. Pure, so recorded payloads test it directly.
///
/// With no event name (a local run with only `GITHUB_EVENT_PATH`) the payload's shape decides.
pub(super) fn pr_from_payload(event: Option<&str>, payload: &Value) -> Result<u64, String> {
    let event = match event {
        Some(name) => name,
        None if payload.get("pull_request").is_some() => "pull_request",
        None if payload.get("workflow_run").is_some() => "workflow_run",
        None if payload.get("issue").is_some() => "issue_comment",
        None => return Err("the event payload mentions no pull request".to_owned()),
    };
    let number =
        |value: Option<&Value>| value.and_then(|n| n.get("number")).and_then(Value::as_u64);
    match event {
        "pull_request"
        | "pull_request_target"
        | "pull_request_review"
        | "pull_request_review_comment" => number(payload.get("pull_request"))
            .ok_or_else(|| format!("the `{event}` payload has no pull_request.number")),
        "workflow_run" => {
            let first = payload.pointer("/workflow_run/pull_requests/0");
            number(first).ok_or_else(|| {
                "workflow_run.pull_requests is empty (GitHub leaves it empty for pull requests \
                 from forks); have the first workflow upload the PR number as an artifact and \
                 pass it on"
                    .to_owned()
            })
        }
        "issue_comment" => {
            let issue = payload.get("issue");
            if issue.and_then(|i| i.get("pull_request")).is_none() {
                return Err("the comment is on an issue, not on a pull request".to_owned());
            }
            number(issue)
                .ok_or_else(|| "the `issue_comment` payload has no issue.number".to_owned())
        }
        other => Err(format!("the `{other}` event is not about a pull request")),
    }
}
