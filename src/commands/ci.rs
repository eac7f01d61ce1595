//! `bench-gate ci`: the common workflow in one command: run -> compare -> report -> comment, with
//! the exit code of `compare`. Each step is the same code as its own subcommand, and every
//! intermediate file is kept in --out-dir for the artifact upload.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::{
    BaselinesArg, CiArgs, CommentArgs, CompareArgs, ConfigArg, OutputFormat, ReportArgs,
    ReportFormat, RunArgs,
};
use crate::compare::VerdictReport;
use crate::config::Config;
use crate::publish::actions::{Level, workflow_command};
use crate::report::annotations::{Severity, annotations};

pub fn ci(a: &CiArgs) -> Result<u8> {
    if !a.out_dir.is_dir() {
        anyhow::bail!(
            "--out-dir {} is not a folder\n  fix: create it first (mkdir -p {})",
            a.out_dir.display(),
            a.out_dir.display()
        );
    }
    super::touches::ci(a).check()?;
    let config = Config::load(&a.config.config)?;
    let files = Files::in_dir(&a.out_dir, a.result.as_deref());
    // What this run writes (or was given): only these are read back. A file of the same name
    // left in --out-dir by an earlier run is never taken for this run's output.
    let super::touches::CiSteps {
        duet,
        measures,
        second_opinion,
    } = super::touches::CiSteps::of(a);
    files.note_stale(measures || a.result.is_some(), second_opinion);
    let mut code = if duet {
        let code = super::duet::base_against_head(a, &config, &files.verdict)?;
        if second_opinion {
            run_and_compare_to(a, &files.result, &files.second_opinion)?;
        }
        code
    } else {
        run_and_compare(a, &files)?
    };
    let mut verdict = VerdictReport::read(&files.verdict)?;
    if !duet
        && config.gate.rerun_on_contamination
        && a.result.is_none()
        && verdict.models.iter().any(|m| !m.contamination.is_empty())
    {
        eprintln!(
            "bench-gate ci: the run was contaminated ({}); measuring once more",
            contamination_summary(&verdict)
        );
        code = run_and_compare(a, &files)?;
        verdict = VerdictReport::read(&files.verdict)?;
    }
    let report = ReportArgs {
        verdict: files.verdict.clone(),
        format: ReportFormat::Markdown,
        result: (measures || a.result.is_some()).then(|| files.result.clone()),
        sizing: a.sizing.clone(),
        second_opinion: second_opinion.then(|| files.second_opinion.clone()),
        output: Some(files.comment.clone()),
        gate: a.gate.clone(),
        commit: None,
        run_url: None,
    };
    super::report::report(&report)?;
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        for a in annotations(&verdict) {
            let level = match a.severity {
                Severity::Error => Level::Error,
                Severity::Warning => Level::Warning,
            };
            println!("{}", workflow_command(level, Some(a.title), &a.message));
        }
    }
    if a.no_comment || std::env::var_os("GITHUB_TOKEN").is_none() {
        eprintln!(
            "bench-gate ci: not commenting ({}); the comment is in {}",
            if a.no_comment {
                "--no-comment"
            } else {
                "no GITHUB_TOKEN"
            },
            files.comment.display()
        );
        if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
            let md = std::fs::read_to_string(&files.comment)
                .with_context(|| {
                    format!(
                        "cannot read {}\n  fix: check that --out-dir is readable and nothing else removes files in it during the run",
                        files.comment.display()
                    )
                })?;
            crate::publish::actions::append_step_summary(Path::new(&summary), &md)
                .context("cannot append to $GITHUB_STEP_SUMMARY\n  fix: point GITHUB_STEP_SUMMARY at a writable file, or unset it outside GitHub Actions")?;
        }
    } else {
        let comment = CommentArgs {
            body_file: files.comment.clone(),
            repo: a.repo.clone(),
            pr: a.pr,
            api_url: None,
            gate: a.gate.clone(),
            strict: a.strict_comment,
            timeout_s: None,
        };
        // A failure to comment never changes the gate's verdict (unless --strict-comment).
        let comment_code = super::comment::comment(&comment)?;
        if comment_code != 0 {
            return Ok(comment_code.max(code));
        }
    }
    Ok(code)
}

struct Files {
    result: PathBuf,
    /// The gate's verdict: `compare`'s, or the duet's.
    verdict: PathBuf,
    /// Beside a duet: `compare`'s verdict, shown but not deciding.
    second_opinion: PathBuf,
    comment: PathBuf,
}

impl Files {
    /// The files in `dir`; the result is `given` when the run was measured elsewhere.
    /// Named once, in the declaration `touches::ci` checks.
    fn in_dir(dir: &Path, given: Option<&Path>) -> Files {
        let named = super::touches::CiFiles::in_dir(dir);
        Files {
            result: given.map_or(named.result, Path::to_path_buf),
            verdict: named.verdict,
            second_opinion: named.second_opinion,
            comment: named.comment,
        }
    }

    /// Says which files in the folder are left from an earlier run: this run neither writes
    /// nor reads them, and they stay untouched (they may be someone's only copy).
    fn note_stale(&self, has_result: bool, has_second_opinion: bool) {
        let unused = [
            (!has_result).then_some(&self.result),
            (!has_second_opinion).then_some(&self.second_opinion),
        ];
        for f in unused.into_iter().flatten().filter(|f| f.exists()) {
            eprintln!(
                "bench-gate ci: note: {} is from an earlier run; this run does not write or read it",
                f.display()
            );
        }
    }
}

/// Measures (unless a result was given) and compares; returns compare's exit code.
fn run_and_compare(a: &CiArgs, files: &Files) -> Result<u8> {
    run_and_compare_to(a, &files.result, &files.verdict)
}

fn run_and_compare_to(a: &CiArgs, result: &Path, verdict: &Path) -> Result<u8> {
    if a.result.is_none() {
        measure(a, result)?;
    }
    let compare = CompareArgs {
        config: ConfigArg {
            config: a.config.config.clone(),
        },
        result: result.to_path_buf(),
        baselines: BaselinesArg {
            baselines: a.baselines.baselines.clone(),
        },
        output: Some(verdict.to_path_buf()),
        format: OutputFormat::Table,
    };
    super::compare::compare(&compare)
}

fn measure(a: &CiArgs, result: &Path) -> Result<()> {
    let run = RunArgs {
        config: ConfigArg {
            config: a.config.config.clone(),
        },
        output: Some(result.to_path_buf()),
        select: a.select.clone(),
        warmup: None,
        ort: a.ort.clone(),
        quiet: a.quiet,
        format: OutputFormat::Table,
    };
    super::run::run(&run)?;
    Ok(())
}

fn contamination_summary(v: &VerdictReport) -> String {
    v.models
        .iter()
        .flat_map(|m| {
            m.contamination
                .iter()
                .map(move |c| format!("{}: {c}", m.model))
        })
        .collect::<Vec<_>>()
        .join("; ")
}
