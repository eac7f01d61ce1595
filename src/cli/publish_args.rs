//! Flags of the publishing commands (`report`, `comment`). Kept beside `cli.rs` so the
//! measuring and judging commands' flags stay readable on their own.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Gate name used in the hidden comment marker when `--gate` is not given.
pub const DEFAULT_GATE: &str = crate::report::input::DEFAULT_GATE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The pull-request comment (GitHub-flavoured markdown, at most 65,536 characters).
    Markdown,
    /// The same figures as JSON, for scripts and dashboards.
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The verdict JSON written by `bench-gate compare -o` (or `ab -o`).
    #[arg(long, value_name = "FILE")]
    pub verdict: PathBuf,

    /// `markdown` for the PR comment and step summary; `json` for machines.
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,

    /// The run's result file (`bench-gate run -o`): adds p95, the environment and the raw
    /// statistics. Without it the table shows only what the verdict carries.
    #[arg(long, value_name = "FILE")]
    pub result: Option<PathBuf>,

    /// The sizing written by `bench-gate size -o` (with --target-rps): adds the production
    /// sizing section (ratio, cores, pods, requests/limits, threads, cost) per model.
    #[arg(long, value_name = "FILE")]
    pub sizing: Option<PathBuf>,

    /// A second verdict to show beside the first without deciding anything: the `compare`
    /// against committed baselines beside a `ci` duet.
    #[arg(long = "second-opinion", value_name = "FILE")]
    pub second_opinion: Option<PathBuf>,

    /// Where to write the report (atomically). Default: stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Names this gate in the hidden marker, so several gates (or model groups) can each keep
    /// one comment on the same PR. Use the same name for `comment --gate`.
    #[arg(long, default_value = DEFAULT_GATE, value_name = "NAME")]
    pub gate: String,

    /// The commit shown in the footer. Default: the result's commit, else $GITHUB_SHA.
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,

    /// Link to the workflow run in the footer. Default: built from $GITHUB_SERVER_URL,
    /// $GITHUB_REPOSITORY and $GITHUB_RUN_ID when set.
    #[arg(long = "run-url", value_name = "URL")]
    pub run_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct CommentArgs {
    /// The markdown to post, usually `report -o comment.md`.
    #[arg(long = "body-file", value_name = "FILE")]
    pub body_file: PathBuf,

    /// OWNER/NAME. Default: $GITHUB_REPOSITORY.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,

    /// Pull request number. Default: from the event payload at $GITHUB_EVENT_PATH.
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,

    /// API root, e.g. https://HOST/api/v3 for GitHub Enterprise. Default: $GITHUB_API_URL,
    /// else https://api.github.com.
    #[arg(long = "api-url", value_name = "URL")]
    pub api_url: Option<String>,

    /// The gate whose comment to create or edit (must match `report --gate`).
    #[arg(long, default_value = DEFAULT_GATE, value_name = "NAME")]
    pub gate: String,

    /// Exit 2 when the comment cannot be posted. Default: warn and exit 0, because a missing
    /// permission or a GitHub outage must not change the gate's verdict.
    #[arg(long)]
    pub strict: bool,

    /// Upper bound on the whole publish, in seconds: connecting, every request and answer, and
    /// the waits between retries. On expiry the error names the step that was in progress.
    /// Default: $BENCH_GATE_COMMENT_TIMEOUT_S, else 60.
    #[arg(long = "timeout-s", value_name = "SECONDS")]
    pub timeout_s: Option<u64>,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    #[test]
    fn report_defaults_to_markdown_and_the_default_gate() {
        let cli = Cli::try_parse_from(["bench-gate", "report", "--verdict", "v.json"]).unwrap();
        let Command::Report(a) = cli.command else {
            panic!("not report")
        };
        assert_eq!(a.format, super::ReportFormat::Markdown);
        assert_eq!(a.gate, "bench-gate");
        assert!(a.output.is_none());
    }

    #[test]
    fn comment_requires_a_body_file_and_accepts_overrides() {
        assert!(Cli::try_parse_from(["bench-gate", "comment"]).is_err());
        let cli = Cli::try_parse_from([
            "bench-gate",
            "comment",
            "--body-file",
            "c.md",
            "--repo",
            "o/r",
            "--pr",
            "7",
            "--strict",
        ])
        .unwrap();
        let Command::Comment(a) = cli.command else {
            panic!("not comment")
        };
        assert_eq!(
            (a.repo.as_deref(), a.pr, a.strict),
            (Some("o/r"), Some(7), true)
        );
    }
}
