//! `bench-gate comment`: posts (or edits) this gate's one comment on the pull request and
//! appends the same markdown to the job summary.
//!
//! Commenting is a courtesy, not the gate: a missing `pull-requests: write`, a fork's
//! read-only token or a GitHub outage prints a warning and exits 0, so the check's status is
//! still the verdict's. `--strict` turns that into exit 2 for workflows where the comment is
//! the point (the `workflow_run` commenter). The token is only ever handed to the publisher,
//! whose errors never contain it.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::EXIT_USER_ERROR;
use crate::cli::CommentArgs;
use crate::publish::actions::{Level, append_step_summary, workflow_command};
use crate::publish::github::{
    Outcome, PublishError, RetryPolicy, target_from_env, token_from_env, upsert_comment,
};
use crate::report::marker;

pub fn comment(args: &CommentArgs) -> Result<u8> {
    let get = |name: &str| std::env::var(name).ok();
    let body = std::fs::read_to_string(&args.body_file).with_context(|| {
        format!(
            "cannot read the comment body {}\n  fix: write it first with `bench-gate report -o {}`",
            args.body_file.display(),
            args.body_file.display()
        )
    })?;
    let in_actions = get("GITHUB_ACTIONS").as_deref() == Some("true");

    if let Some(summary) = get("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty())
        && let Err(e) = append_step_summary(Path::new(&summary), &body)
    {
        warn(
            in_actions,
            &format!("could not append to the step summary {summary}: {e}"),
        );
    }

    match post(args, &body, &get) {
        Ok(outcome) => {
            let verb = match outcome {
                Outcome::Created { .. } => "created",
                Outcome::Updated { .. } => "updated",
            };
            eprintln!(
                "bench-gate: {verb} comment {} {}",
                outcome.id(),
                outcome.url()
            );
            Ok(0)
        }
        Err(e) => {
            let message = format!("could not comment on the pull request: {e}");
            if args.strict {
                // --strict: the comment is the point, so its failure is this step's error.
                eprintln!("error: {message}");
                if in_actions {
                    println!(
                        "{}",
                        workflow_command(Level::Error, Some("bench-gate comment"), &message)
                    );
                }
                Ok(EXIT_USER_ERROR)
            } else {
                warn(in_actions, &message);
                Ok(0)
            }
        }
    }
}

/// Resolves token and target and runs the upsert on a single-threaded runtime: one request
/// at a time is all a comment needs, and it keeps the CI job's thread count at one.
fn post(
    args: &CommentArgs,
    body: &str,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Outcome, PublishError> {
    let token = token_from_env(get)?;
    let target = target_from_env(get, args.repo.as_deref(), args.pr, args.api_url.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PublishError::Client {
            detail: format!("cannot start the async runtime: {e}"),
        })?;
    let marker = marker(&args.gate);
    let limit = publish_timeout(args.timeout_s, get)?;
    runtime.block_on(upsert_comment(
        &target,
        &token,
        &marker,
        body,
        &RetryPolicy::default(),
        limit,
    ))
}

/// Default bound on the whole publish: a few slow requests and a retry fit (a healthy GitHub
/// answers in well under a second), a server that accepts and never answers does not hold the
/// CI job (billed by the minute) for more than a minute.
pub const DEFAULT_TIMEOUT_S: u64 = 60;

/// `--timeout-s`, else `BENCH_GATE_COMMENT_TIMEOUT_S`, else [`DEFAULT_TIMEOUT_S`].
fn publish_timeout(
    flag: Option<u64>,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Duration, PublishError> {
    let secs = match flag {
        Some(s) => s,
        None => match get(TIMEOUT_ENV).filter(|v| !v.trim().is_empty()) {
            Some(v) => v.trim().parse().map_err(|_| PublishError::Client {
                detail: format!(
                    "{TIMEOUT_ENV}={v:?} is not a whole number of seconds (e.g. {DEFAULT_TIMEOUT_S})"
                ),
            })?,
            None => DEFAULT_TIMEOUT_S,
        },
    };
    if secs == 0 {
        return Err(PublishError::Client {
            detail: format!(
                "a publish timeout of 0 s (--timeout-s or {TIMEOUT_ENV}) leaves no time to post; use e.g. {DEFAULT_TIMEOUT_S}"
            ),
        });
    }
    Ok(Duration::from_secs(secs))
}

const TIMEOUT_ENV: &str = "BENCH_GATE_COMMENT_TIMEOUT_S";

/// A plain line on stderr for people, plus a `::warning::` annotation on stdout when the
/// Actions runner is listening.
fn warn(in_actions: bool, message: &str) {
    eprintln!("warning: {message}");
    if in_actions {
        println!(
            "{}",
            workflow_command(Level::Warning, Some("bench-gate comment"), message)
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::publish_timeout;

    #[test]
    fn a_silent_server_is_given_up_on_within_a_minute_by_default() {
        let limit = publish_timeout(None, &|_| None).unwrap();
        assert!(limit <= Duration::from_secs(60), "{limit:?}");
        assert!(
            limit >= Duration::from_secs(10),
            "room for a slow answer: {limit:?}"
        );
    }

    #[test]
    fn the_flag_wins_over_the_environment_and_zero_is_refused_naming_both() {
        let env = |k: &str| (k == super::TIMEOUT_ENV).then(|| "7".to_owned());
        assert_eq!(
            publish_timeout(Some(3), &env).unwrap(),
            Duration::from_secs(3)
        );
        assert_eq!(publish_timeout(None, &env).unwrap(), Duration::from_secs(7));
        let zero = publish_timeout(Some(0), &env).unwrap_err().to_string();
        assert!(
            zero.contains("--timeout-s")
                && zero.contains(super::TIMEOUT_ENV)
                && zero.contains("fix:"),
            "{zero}"
        );
    }
}
