//! `bench-gate comment`: keeps exactly one bench-gate comment per gate on a pull request.
//!
//! The comment is found by a hidden HTML marker (`<!-- bench-gate:gate=pr-gate -->`), so a
//! re-run edits the comment a reviewer already knows instead of burying the PR in new ones.
//! This module only finds, updates or creates; the markdown is rendered upstream in `report/`.
//! The token goes to octocrab's auth header and nowhere else: every text that comes back from
//! the server or the HTTP stack is scrubbed before it reaches an error.

use std::cell::RefCell;
use std::fmt;
use std::time::Duration;

use serde_json::json;

#[path = "github_env.rs"]
mod from_env;
#[path = "github_http.rs"]
mod transport;

pub use from_env::{target_from_env, token_from_env};

use transport::{Api, Failure, MAX_PAGES, Verb, Verdict, Written, classify};

/// API root used when neither `--api-url` nor `GITHUB_API_URL` says otherwise.
pub const DEFAULT_API_BASE: &str = "https://api.github.com";

/// GitHub rejects comment bodies longer than this many characters (Unicode scalar values).
pub const MAX_BODY_CHARS: usize = 65_536;

/// Longest marker accepted; a marker is a short tag, and the body cap must leave it room.
const MAX_MARKER_CHARS: usize = 256;

/// Where the comment goes: one pull request of one repository on one GitHub instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// API root without a trailing slash: `https://api.github.com`, or
    /// `https://HOST/api/v3` for GitHub Enterprise Server.
    pub api_base: String,
    /// Account or organisation that owns the repository.
    pub owner: String,
    /// Repository name without the owner.
    pub repo: String,
    /// Pull request number (GitHub numbers PRs and issues in one sequence).
    pub pr: u64,
}

/// A GitHub token. It prints as `***` in `Debug` and `Display`, so it cannot leak into logs.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Accepts a token, trimming the newline a secret file or `echo` often leaves behind.
    ///
    /// Rejects characters that cannot go into an HTTP header: the HTTP client would otherwise
    /// panic while building the `Authorization` header.
    pub fn new(raw: &str) -> Result<Self, PublishError> {
        let token = raw.trim();
        if token.is_empty() {
            return Err(PublishError::MissingToken);
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PublishError::InvalidToken);
        }
        Ok(Self(token.to_owned()))
    }

    /// The secret itself, for the one place that needs it: the HTTP client's auth header.
    fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the token in `text`, for text a server may have echoed.
    fn scrub(&self, text: &str) -> String {
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How hard to try before giving up on a busy or rate-limiting server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts per request, the first one included (0 is treated as 1).
    pub max_attempts: u32,
    /// Wait after the first failure; doubled after each further failure.
    pub base_delay: Duration,
    /// Upper bound on any single wait, including one asked for by `Retry-After`, so a CI job
    /// never sleeps for the better part of an hour on a rate-limit reset.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Attempts actually made, never fewer than one.
    fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// Wait after the `failures`-th failure (1-based): the server's hint when it gave one,
    /// otherwise exponential backoff; both capped by `max_delay`.
    fn delay(&self, failures: u32, hint: Option<Duration>) -> Duration {
        let wait = hint.unwrap_or_else(|| {
            let factor = 2u32.saturating_pow(failures.saturating_sub(1));
            self.base_delay.saturating_mul(factor)
        });
        wait.min(self.max_delay)
    }
}

/// What `upsert_comment` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No marked comment existed; a new one was posted.
    Created { id: u64, url: String },
    /// The marked comment was edited in place.
    Updated { id: u64, url: String },
}

impl Outcome {
    /// The comment's numeric id.
    pub fn id(&self) -> u64 {
        match self {
            Outcome::Created { id, .. } | Outcome::Updated { id, .. } => *id,
        }
    }

    /// The comment's address in a browser (`html_url`); empty if the server sent none.
    pub fn url(&self) -> &str {
        match self {
            Outcome::Created { url, .. } | Outcome::Updated { url, .. } => url,
        }
    }
}

/// Everything that can go wrong while publishing. Messages say what to change; none of them
/// ever contains the token.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(
        "GITHUB_TOKEN is not set or empty\n  fix: give the step `env: GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}`"
    )]
    MissingToken,
    #[error(
        "GITHUB_TOKEN contains spaces or control characters\n  fix: check how the secret is passed (`env: GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}`, no quotes or line breaks around it)"
    )]
    InvalidToken,
    #[error(
        "no repository given (no --repo, no GITHUB_REPOSITORY)\n  fix: pass --repo OWNER/NAME, or run inside GitHub Actions, which sets GITHUB_REPOSITORY"
    )]
    MissingRepository,
    #[error(
        "repository {value:?} (--repo or GITHUB_REPOSITORY) is not of the form OWNER/NAME\n  fix: pass --repo OWNER/NAME, e.g. --repo acme/speech-api"
    )]
    InvalidRepository { value: String },
    #[error(
        "cannot tell which pull request to comment on: {reason}\n  fix: pass --pr NUMBER, or run on a `pull_request` event (its payload at GITHUB_EVENT_PATH names the PR)"
    )]
    MissingPullRequest { reason: String },
    #[error(
        "GitHub API URL {value:?} (--api-url or GITHUB_API_URL) is not usable: {reason}\n  fix: pass --api-url https://HOST/api/v3 (GitHub Enterprise) or unset it for https://api.github.com"
    )]
    InvalidApiUrl { value: String, reason: String },
    #[error(
        "comment marker {marker:?} must be a short HTML comment such as `<!-- bench-gate:gate=NAME -->`\n  fix: pass a short --gate NAME (letters, digits, - and _)"
    )]
    InvalidMarker { marker: String },
    #[error(
        "{endpoint} answered 401 Unauthorized ({detail}): the token is invalid or expired\n  fix: pass the job's own token (`env: GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}`) or renew the personal token"
    )]
    Unauthorized { endpoint: String, detail: String },
    #[error(
        "{endpoint} answered 403 Forbidden ({detail}): the token may not write PR comments\n  \
         fix: give the job `permissions: pull-requests: write`. Pull requests from forks always get \
         a read-only token: post the comment from a second workflow triggered by `workflow_run` \
         (the two-stage commenter)"
    )]
    Forbidden { endpoint: String, detail: String },
    #[error(
        "{endpoint} answered 404 Not Found ({detail}): the repository or pull request does not \
         exist, or the token cannot see it\n  fix: check --repo, --pr and GITHUB_API_URL; for pull \
         requests from forks use the two-stage `workflow_run` commenter"
    )]
    NotFound { endpoint: String, detail: String },
    #[error(
        "{endpoint} answered {status} ({detail})\n  fix: read GitHub's message above; check --repo, --pr and the comment body, or rerun the job if GitHub was failing"
    )]
    Status {
        endpoint: String,
        status: u16,
        detail: String,
    },
    #[error(
        "could not reach {endpoint} after {attempts} attempt(s): {detail}\n  fix: check GITHUB_API_URL (or --api-url) and the runner's network"
    )]
    Network {
        endpoint: String,
        attempts: u32,
        detail: String,
    },
    #[error(
        "{endpoint} still answered {status} after {attempts} attempt(s) ({detail})\n  fix: rerun the job later (GitHub is busy or failing), or leave out --strict so a comment never fails the gate"
    )]
    RetriesExhausted {
        endpoint: String,
        attempts: u32,
        status: u16,
        detail: String,
    },
    #[error(
        "{endpoint} sent a response bench-gate cannot read: {detail}\n  fix: check that GITHUB_API_URL (or --api-url) is a GitHub REST API root, e.g. https://HOST/api/v3"
    )]
    InvalidResponse { endpoint: String, detail: String },
    #[error(
        "could not set up the GitHub client: {detail}\n  fix: check --api-url / GITHUB_API_URL, --timeout-s and BENCH_GATE_COMMENT_TIMEOUT_S"
    )]
    Client { detail: String },
    #[error(
        "gave up after {limit_s} s (the bound on the whole publish: connecting, answers, retries) while {step}\n  fix: check GITHUB_API_URL and the runner's network, or raise the bound with --timeout-s / BENCH_GATE_COMMENT_TIMEOUT_S"
    )]
    Timeout { limit_s: f64, step: String },
}

/// `text` with the credentials of every URL in it (`https://user:token@host`) replaced by
/// `***`, for anything printed: an API URL from the environment may carry a token.
pub fn redact_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == '"')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&tail[at..end]);
            }
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Creates or updates the one comment carrying `marker` on the target PR.
///
/// `marker` is a hidden HTML comment; it is prepended to `body` when missing, because without
/// it the next run could not find this comment and would post a second one. A body over
/// GitHub's limit is truncated with a note rather than failing the job.
///
/// `limit` bounds the whole publish (connecting, every request and answer, the waits between
/// retries): a server that accepts the connection and never answers costs at most that long,
/// and the error says which step was in progress.
pub async fn upsert_comment(
    target: &Target,
    token: &Token,
    marker: &str,
    body: &str,
    retry: &RetryPolicy,
    limit: Duration,
) -> Result<Outcome, PublishError> {
    validate_marker(marker)?;
    let body = cap_body(&with_marker(marker, body), marker);
    let step = RefCell::new(format!("connecting to {}", target.api_base));
    let publish = async {
        let api = Api::new(target, token, retry, &step)?;
        match find_marked_comment(&api, marker).await? {
            Some(id) => update_comment(&api, id, &body).await,
            None => create_comment(&api, marker, &body).await,
        }
    };
    match tokio::time::timeout(limit, publish).await {
        Ok(outcome) => outcome,
        Err(_) => Err(PublishError::Timeout {
            limit_s: limit.as_secs_f64(),
            step: step.into_inner(),
        }),
    }
}

/// A marker must be a complete HTML comment: an empty or open-ended marker would match (and
/// overwrite) other people's comments, e.g. `gate=pr` matching `gate=pr-gate`.
fn validate_marker(marker: &str) -> Result<(), PublishError> {
    let trimmed = marker.trim();
    let ok = trimmed == marker
        && marker.starts_with("<!--")
        && marker.ends_with("-->")
        && marker.len() > "<!---->".len()
        && marker.chars().count() <= MAX_MARKER_CHARS;
    if ok {
        Ok(())
    } else {
        Err(PublishError::InvalidMarker {
            marker: marker.to_owned(),
        })
    }
}

/// The body with the marker on its first line unless it is already somewhere in it.
fn with_marker(marker: &str, body: &str) -> String {
    if body.contains(marker) {
        body.to_owned()
    } else {
        format!("{marker}\n{body}")
    }
}

/// Last line of defence against GitHub's size limit (the renderer should already have shrunk
/// the report): cuts at a character boundary, closes an open code fence or HTML comment so the
/// note stays visible, keeps the marker, and says that the comment was cut.
fn cap_body(body: &str, marker: &str) -> String {
    let total = body.chars().count();
    if total <= MAX_BODY_CHARS {
        return body.to_owned();
    }
    let note = format!(
        "\n\n> **Note:** bench-gate cut this comment to GitHub's limit of {MAX_BODY_CHARS} \
         characters (it had {total}); the workflow run has the full report.\n"
    );
    // Room for the note and for the closers below ("\n```" and " -->").
    let mut keep = MAX_BODY_CHARS - note.chars().count() - 8;
    let mut head = prefix_chars(body, keep).to_owned();
    if !head.contains(marker) {
        keep -= marker.chars().count() + 1;
        head = format!("{marker}\n{}", prefix_chars(body, keep));
    }
    if head.rfind("<!--") > head.rfind("-->") {
        head.push_str(" -->");
    }
    if has_open_fence(&head) {
        head.push_str("\n```");
    }
    head.push_str(&note);
    head
}

/// Whether a ```` ``` ```` code fence is left open: the note would render as code.
fn has_open_fence(text: &str) -> bool {
    let fences = text.lines().filter(|l| l.trim_start().starts_with("```"));
    fences.count() % 2 == 1
}

/// The first `n` characters of `text`, cut at a character boundary.
fn prefix_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((byte, _)) => &text[..byte],
        None => text,
    }
}

/// One comment as listed by the API: only what choosing needs.
#[derive(Debug, serde::Deserialize)]
struct ListedComment {
    id: u64,
    body: Option<String>,
    user: Option<Author>,
}

/// The author fields we look at; `type` is `"Bot"` for `github-actions[bot]` and other apps.
#[derive(Debug, serde::Deserialize)]
struct Author {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// A comment carrying the marker, remembered while the later pages are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Candidate {
    id: u64,
    by_bot: bool,
}

/// The marked comments of one page.
fn candidates(page: &[ListedComment], marker: &str) -> Vec<Candidate> {
    page.iter()
        .filter(|c| c.body.as_deref().is_some_and(|b| b.contains(marker)))
        .map(|c| Candidate {
            id: c.id,
            by_bot: c.user.as_ref().and_then(|u| u.kind.as_deref()) == Some("Bot"),
        })
        .collect()
}

/// Picks the comment to edit: the newest one written by a bot (our token is usually
/// `github-actions[bot]`, and a human who pasted the marker must not be overwritten), or the
/// newest one at all when a personal token wrote them. GitHub ids grow with creation time.
fn choose(found: &[Candidate]) -> Option<u64> {
    let newest = |bots_only: bool| {
        found
            .iter()
            .filter(|c| c.by_bot || !bots_only)
            .map(|c| c.id)
            .max()
    };
    newest(true).or_else(|| newest(false))
}

/// Lists every comment of the PR, following `Link: rel="next"` to the last page, because the
/// marked comment of a busy PR may sit on any page.
async fn find_marked_comment(api: &Api<'_>, marker: &str) -> Result<Option<u64>, PublishError> {
    api.task("listing the PR's comments".to_owned());
    let mut uri = api.list_path();
    let mut found = Vec::new();
    for _ in 0..MAX_PAGES {
        let reply = api.send(Verb::Get, &uri, None).await?;
        let page: Vec<ListedComment> = api.parse(Verb::Get, &uri, &reply)?;
        found.extend(candidates(&page, marker));
        match api.next_page(&uri, &reply.headers)? {
            Some(next) => uri = next,
            None => return Ok(choose(&found)),
        }
    }
    Err(PublishError::InvalidResponse {
        endpoint: api.endpoint(Verb::Get, &uri),
        detail: "pagination did not end".to_owned(),
    })
}

/// Edits comment `id` in place; PATCH is idempotent, so plain retries are safe.
async fn update_comment(api: &Api<'_>, id: u64, body: &str) -> Result<Outcome, PublishError> {
    api.task(format!("updating comment {id}"));
    let uri = api.comment_path(id);
    let payload = json!({ "body": body });
    let reply = api.send(Verb::Patch, &uri, Some(&payload)).await?;
    let written: Written = api.parse(Verb::Patch, &uri, &reply)?;
    Ok(Outcome::Updated {
        id: written.id,
        url: written.html_url.unwrap_or_default(),
    })
}

/// Posts a new comment. A POST that failed with a 5xx or a dropped connection may still have
/// created the comment, so before each retry the comments are listed again and an existing
/// marked comment is updated instead: a retry must never leave two comments behind.
async fn create_comment(api: &Api<'_>, marker: &str, body: &str) -> Result<Outcome, PublishError> {
    let uri = api.issue_comments_path();
    let payload = json!({ "body": body });
    let attempts = api.retry.attempts();
    let mut failures = 0;
    loop {
        api.task("creating the comment".to_owned());
        let (hint, ambiguous, failure) = match api.send_once(Verb::Post, &uri, Some(&payload)).await
        {
            Ok(reply) => match classify(&reply) {
                Verdict::Done => {
                    let written: Written = api.parse(Verb::Post, &uri, &reply)?;
                    return Ok(Outcome::Created {
                        id: written.id,
                        url: written.html_url.unwrap_or_default(),
                    });
                }
                Verdict::Fail => return Err(api.status_error(Verb::Post, &uri, &reply)),
                Verdict::Retry { after, ambiguous } => (after, ambiguous, Failure::Status(reply)),
            },
            Err(detail) => (None, true, Failure::Network(detail)),
        };
        failures += 1;
        if failures >= attempts {
            return Err(api.exhausted(Verb::Post, &uri, attempts, failure));
        }
        api.pause(failures, hint, Verb::Post, &uri).await;
        if ambiguous && let Some(id) = find_marked_comment(api, marker).await? {
            return update_comment(api, id, body).await;
        }
    }
}

#[cfg(test)]
#[path = "github_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "github_pure_tests.rs"]
mod pure_tests;
