//! HTTP plumbing for `github.rs`: one request through octocrab, what its answer means, and
//! the retry loop for idempotent requests.
//!
//! octocrab does auth, headers, TLS and base-URL handling; its raw `_get/_post/_patch` hand
//! back every status code untouched, so the retry and error policy stays ours and testable.

use std::cell::RefCell;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{LINK, RETRY_AFTER};
use http::{HeaderMap, StatusCode};
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{PublishError, RetryPolicy, Target, Token};

/// Safety stop for a server whose `next` links never end (100 comments each: 100,000).
pub(super) const MAX_PAGES: usize = 1_000;

/// A CI step must not hang on a dead connection. Both are well under the whole publish's
/// default bound (60 s, `commands/comment.rs`), so a silent server costs one attempt's wait and
/// still leaves time for a retry; the bound itself ends whatever is left.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(25);

/// GitHub's advice for a secondary rate limit that names no wait: at least one minute.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Server messages quoted in errors are cut to this many characters.
const MAX_DETAIL_CHARS: usize = 300;

/// The HTTP methods this module uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verb {
    Get,
    Post,
    Patch,
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
        })
    }
}

/// A complete answer: status, headers and the body read to the end.
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
}

/// Why an attempt did not succeed: an answer we may retry, or no answer at all.
pub(super) enum Failure {
    Status(Reply),
    /// Transport error text, already scrubbed of the token.
    Network(String),
}

/// What to do with an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Done,
    /// Try again after `after` (the server's hint) or the policy's backoff. `ambiguous` means
    /// the server may have carried out the request anyway (a 5xx), unlike a rate limit.
    Retry {
        after: Option<Duration>,
        ambiguous: bool,
    },
    Fail,
}

/// The fields of a created or updated comment that `Outcome` reports.
#[derive(Debug, serde::Deserialize)]
pub(super) struct Written {
    pub(super) id: u64,
    pub(super) html_url: Option<String>,
}

/// Classifies an answer now; see [`classify_at`].
pub(super) fn classify(reply: &Reply) -> Verdict {
    classify_at(reply, SystemTime::now())
}

/// 2xx is done; 5xx and rate limits are retried; any other 4xx fails at once, because
/// repeating a refused request only burns the rate limit.
pub(super) fn classify_at(reply: &Reply, now: SystemTime) -> Verdict {
    if reply.status.is_success() {
        Verdict::Done
    } else if reply.status.is_server_error() {
        Verdict::Retry {
            after: retry_after(&reply.headers),
            ambiguous: true,
        }
    } else if is_rate_limited(reply) {
        Verdict::Retry {
            after: Some(rate_limit_wait(&reply.headers, now)),
            ambiguous: false,
        }
    } else {
        Verdict::Fail
    }
}

/// A 429 always; a 403 only with a rate-limit sign, since a plain 403 is a permission problem.
fn is_rate_limited(reply: &Reply) -> bool {
    match reply.status.as_u16() {
        429 => true,
        403 => {
            reply.headers.contains_key(RETRY_AFTER)
                || header(&reply.headers, "x-ratelimit-remaining") == Some("0")
                || reply.body.to_ascii_lowercase().contains("rate limit")
        }
        _ => false,
    }
}

/// `Retry-After` in seconds (GitHub never sends the HTTP-date form).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds = header(headers, RETRY_AFTER.as_str())?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// How long GitHub asks us to wait: `Retry-After`, else until `x-ratelimit-reset` when the
/// primary limit is used up, else a minute. The policy caps it.
fn rate_limit_wait(headers: &HeaderMap, now: SystemTime) -> Duration {
    if let Some(wait) = retry_after(headers) {
        return wait;
    }
    let reset = header(headers, "x-ratelimit-reset").and_then(|v| v.trim().parse::<u64>().ok());
    match (header(headers, "x-ratelimit-remaining"), reset) {
        (Some("0"), Some(reset)) => {
            let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            Duration::from_secs(reset.saturating_sub(now))
        }
        _ => RATE_LIMIT_WAIT,
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok()
}

/// The `rel="next"` target of a `Link` header, as GitHub paginates.
pub(super) fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|link| {
            let (url, params) = link.split_once(';')?;
            let is_next = params
                .split(';')
                .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
            let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| url.to_owned())
        })
}

/// An error and all its causes on one line (octocrab's own message is often just "Hyper error").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `text` cut to `max` characters with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((byte, _)) => format!("{}…", &text[..byte]),
        None => text.to_owned(),
    }
}

/// An authenticated octocrab client bound to one target, with the policy and the scrubber.
pub(super) struct Api<'a> {
    octo: Octocrab,
    target: &'a Target,
    token: &'a Token,
    pub(super) retry: &'a RetryPolicy,
    /// What is being done right now, for the error when the whole publish times out.
    step: &'a RefCell<String>,
    /// The task the current request serves, in words ("listing the PR's comments"), put
    /// before the step so the time limit's message says what was being done, not only how.
    task: RefCell<String>,
}

impl<'a> Api<'a> {
    pub(super) fn new(
        target: &'a Target,
        token: &'a Token,
        retry: &'a RetryPolicy,
        step: &'a RefCell<String>,
    ) -> Result<Self, PublishError> {
        let client_error = |e: octocrab::Error| PublishError::Client {
            detail: token.scrub(&error_chain(&e)),
        };
        let octo = Octocrab::builder()
            .base_uri(target.api_base.as_str())
            .map_err(client_error)?
            .personal_token(token.expose().to_owned())
            .set_connect_timeout(Some(CONNECT_TIMEOUT))
            .set_read_timeout(Some(READ_TIMEOUT))
            .build()
            .map_err(client_error)?;
        Ok(Self {
            octo,
            target,
            token,
            retry,
            step,
            task: RefCell::new(String::new()),
        })
    }

    /// `POST` target for a new comment on the PR (PR comments live in the issues API).
    pub(super) fn issue_comments_path(&self) -> String {
        let Target {
            owner, repo, pr, ..
        } = self.target;
        format!("/repos/{owner}/{repo}/issues/{pr}/comments")
    }

    /// First page of the PR's comments, at GitHub's largest page size.
    pub(super) fn list_path(&self) -> String {
        format!("{}?per_page=100", self.issue_comments_path())
    }

    /// `PATCH` target for one comment.
    pub(super) fn comment_path(&self, id: u64) -> String {
        let Target { owner, repo, .. } = self.target;
        format!("/repos/{owner}/{repo}/issues/comments/{id}")
    }

    /// `METHOD URL` for messages; `uri` is relative to the API root or absolute (next links).
    pub(super) fn endpoint(&self, verb: Verb, uri: &str) -> String {
        let text = if uri.starts_with('/') {
            format!("{verb} {}{uri}", self.target.api_base)
        } else {
            format!("{verb} {uri}")
        };
        super::redact_url_credentials(&text)
    }

    /// Records the step in progress (see [`super::upsert_comment`]'s time limit).
    pub(super) fn doing(&self, step: String) {
        let task = self.task.borrow();
        *self.step.borrow_mut() = if task.is_empty() {
            step
        } else {
            format!("{task} ({step})")
        };
    }

    /// Names the task the next requests serve, e.g. "updating comment 101".
    pub(super) fn task(&self, task: String) {
        *self.task.borrow_mut() = task;
    }

    /// One request, no retry. Transport errors come back as scrubbed text.
    pub(super) async fn send_once(
        &self,
        verb: Verb,
        uri: &str,
        body: Option<&Value>,
    ) -> Result<Reply, String> {
        self.doing(format!(
            "waiting for the answer to {} (connecting, sending, reading its headers)",
            self.endpoint(verb, uri)
        ));
        let response = match verb {
            Verb::Get => self.octo._get(uri).await,
            Verb::Post => self.octo._post(uri, body).await,
            Verb::Patch => self.octo._patch(uri, body).await,
        }
        .map_err(|e| self.scrub(&error_chain(&e)))?;
        let status = response.status();
        let headers = response.headers().clone();
        self.doing(format!(
            "reading the body of the answer to {}",
            self.endpoint(verb, uri)
        ));
        let body = self
            .octo
            .body_to_string(response)
            .await
            .map_err(|e| self.scrub(&error_chain(&e)))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// A request with retries; only for idempotent requests (GET, PATCH).
    pub(super) async fn send(
        &self,
        verb: Verb,
        uri: &str,
        body: Option<&Value>,
    ) -> Result<Reply, PublishError> {
        let attempts = self.retry.attempts();
        let mut failures = 0;
        loop {
            let (hint, failure) = match self.send_once(verb, uri, body).await {
                Ok(reply) => match classify(&reply) {
                    Verdict::Done => return Ok(reply),
                    Verdict::Fail => return Err(self.status_error(verb, uri, &reply)),
                    Verdict::Retry { after, .. } => (after, Failure::Status(reply)),
                },
                Err(detail) => (None, Failure::Network(detail)),
            };
            failures += 1;
            if failures >= attempts {
                return Err(self.exhausted(verb, uri, attempts, failure));
            }
            self.pause(failures, hint, verb, uri).await;
        }
    }

    /// Waits before the next attempt, saying so for the time limit's message.
    pub(super) async fn pause(&self, failures: u32, hint: Option<Duration>, verb: Verb, uri: &str) {
        let wait = self.retry.delay(failures, hint);
        self.doing(format!(
            "waiting {} s before retrying {} (attempt {failures} failed)",
            wait.as_secs_f64(),
            self.endpoint(verb, uri)
        ));
        tokio::time::sleep(wait).await;
    }

    /// Server or transport text made safe to print: no token, no URL credentials.
    fn scrub(&self, text: &str) -> String {
        super::redact_url_credentials(&self.token.scrub(text))
    }

    /// Decodes a successful answer's JSON body.
    pub(super) fn parse<T: DeserializeOwned>(
        &self,
        verb: Verb,
        uri: &str,
        reply: &Reply,
    ) -> Result<T, PublishError> {
        serde_json::from_str(&reply.body).map_err(|e| PublishError::InvalidResponse {
            endpoint: self.endpoint(verb, uri),
            detail: self.token.scrub(&e.to_string()),
        })
    }

    /// The next page to read, refusing links to another host: the token must not follow them.
    pub(super) fn next_page(
        &self,
        uri: &str,
        headers: &HeaderMap,
    ) -> Result<Option<String>, PublishError> {
        let Some(next) = next_link(headers) else {
            return Ok(None);
        };
        if next.starts_with('/') || self.same_origin(&next) {
            Ok(Some(next))
        } else {
            Err(PublishError::InvalidResponse {
                endpoint: self.endpoint(Verb::Get, uri),
                detail: format!("pagination link points away from {}", self.target.api_base),
            })
        }
    }

    fn same_origin(&self, url: &str) -> bool {
        let (Ok(base), Ok(other)) = (
            self.target.api_base.parse::<http::Uri>(),
            url.parse::<http::Uri>(),
        ) else {
            return false;
        };
        base.scheme() == other.scheme() && base.authority() == other.authority()
    }

    /// The error for a final, non-retryable status.
    pub(super) fn status_error(&self, verb: Verb, uri: &str, reply: &Reply) -> PublishError {
        let endpoint = self.endpoint(verb, uri);
        let detail = self.detail(reply);
        match reply.status.as_u16() {
            401 => PublishError::Unauthorized { endpoint, detail },
            403 => PublishError::Forbidden { endpoint, detail },
            404 => PublishError::NotFound { endpoint, detail },
            status => PublishError::Status {
                endpoint,
                status,
                detail,
            },
        }
    }

    /// The error once every attempt failed, naming the last failure.
    pub(super) fn exhausted(
        &self,
        verb: Verb,
        uri: &str,
        attempts: u32,
        last: Failure,
    ) -> PublishError {
        let endpoint = self.endpoint(verb, uri);
        match last {
            Failure::Network(detail) => PublishError::Network {
                endpoint,
                attempts,
                detail,
            },
            Failure::Status(reply) => PublishError::RetriesExhausted {
                endpoint,
                attempts,
                status: reply.status.as_u16(),
                detail: self.detail(&reply),
            },
        }
    }

    /// The server's explanation: the JSON `message` (plus validation `errors`) or the raw body,
    /// scrubbed before it is shortened so a cut can never leave part of the token behind.
    fn detail(&self, reply: &Reply) -> String {
        let text = match serde_json::from_str::<Value>(&reply.body) {
            Ok(json) => json_message(&json),
            Err(_) => reply.body.trim().to_owned(),
        };
        let text = if text.is_empty() {
            reply
                .status
                .canonical_reason()
                .unwrap_or("no message")
                .to_owned()
        } else {
            text
        };
        shorten(&self.token.scrub(&text), MAX_DETAIL_CHARS)
    }
}

/// `message` and any `errors[].message`/`errors[].code` of a GitHub error body.
fn json_message(json: &Value) -> String {
    let mut parts: Vec<String> = json
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .into_iter()
        .collect();
    if let Some(errors) = json.get("errors").and_then(Value::as_array) {
        parts.extend(errors.iter().filter_map(|e| {
            let text = e.get("message").or_else(|| e.get("code"))?;
            text.as_str().map(str::to_owned)
        }));
    }
    parts.join("; ")
}
