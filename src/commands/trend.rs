//! `bench-gate trend`: read every series under the baselines folder, scan it for steps, print or
//! write the trend, and plan one issue per new step.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::baseline::series;
use crate::cli::{OutputFormat, TrendArgs};
use crate::report;
use crate::result::write_atomic;
use crate::trend::issues::{self, Action, KnownIssue};
use crate::trend::{TREND_SCHEMA_VERSION, TrendOptions, TrendReport, analyze, edivisive, method};

pub fn trend(args: &TrendArgs) -> Result<u8> {
    let opts = options(args)?;
    super::touches::trend(args).check()?;
    let known = match &args.known_issues {
        Some(p) => read_known(p)?,
        None => Vec::new(),
    };
    let root = &args.baselines.baselines;
    let files = series::list(root)?;
    let report = TrendReport {
        schema_version: TREND_SCHEMA_VERSION,
        bench_gate_version: env!("CARGO_PKG_VERSION").to_string(),
        timestamp: crate::result::now(),
        method: method(&opts),
        series: files
            .iter()
            .map(|(path, s)| analyze(&path.display().to_string(), s, &opts))
            .collect(),
    };
    let json = {
        let mut s = serde_json::to_string_pretty(&report)?;
        s.push('\n');
        s
    };
    if let Some(out) = &args.output {
        write_atomic(out, json.as_bytes())?;
    }
    if let Some(dir) = &args.issues_dir {
        write_issues(dir, &report, &known, args.repo_url.as_deref())?;
    }
    match args.format {
        OutputFormat::Json => print!("{json}"),
        OutputFormat::Table => print!("{}", report::trend::table(&report)),
    }
    Ok(0)
}

fn options(args: &TrendArgs) -> Result<TrendOptions> {
    if !(args.significance > 0.0 && args.significance < 1.0) {
        bail!(
            "--significance {}: must be between 0 and 1\n  fix: e.g. --significance 0.01",
            args.significance
        );
    }
    if !(19..=100_000).contains(&args.permutations) {
        bail!(
            "--permutations {}: must be between 19 and 100000 (fewer cannot reach p = 0.05)\n  fix: e.g. --permutations 199",
            args.permutations
        );
    }
    if (args.significance * (args.permutations + 1) as f64) < 1.0 {
        bail!(
            "--significance {} cannot be reached with {} permutations (the smallest p-value is 1/{})\n  fix: raise --permutations to at least {}",
            args.significance,
            args.permutations,
            args.permutations + 1,
            (1.0 / args.significance).ceil() as usize - 1
        );
    }
    if !(args.min_change_pct.is_finite() && args.min_change_pct >= 0.0) {
        bail!(
            "--min-change-pct {}: must be zero or a positive percentage\n  fix: e.g. --min-change-pct 2",
            args.min_change_pct
        );
    }
    Ok(TrendOptions {
        edivisive: edivisive::Options {
            significance: args.significance,
            permutations: args.permutations,
            ..edivisive::Options::default()
        },
        min_change_pct: args.min_change_pct,
        recent: args.recent,
    })
}

fn read_known(path: &Path) -> Result<Vec<KnownIssue>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the known issues {}\n  fix: write it with `gh issue list --state all --label bench-gate-trend --json number,state,body > {}`",
            path.display(),
            path.display()
        )
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not JSON\n  fix: write it with `gh issue list --state all --json number,state,body`",
            path.display()
        )
    })?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a list of issues: at `{}`: {}\n  fix: write it with `gh issue list --state all --json number,state,body` (a JSON array of objects with a number)",
            path.display(),
            e.path(),
            e.inner()
        )
    })
}

/// One body file per planned issue and `plan.tsv`; closed matches are reported, not touched.
fn write_issues(
    dir: &Path,
    report: &TrendReport,
    known: &[KnownIssue],
    repo_url: Option<&str>,
) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| {
            format!(
                "cannot create the issues folder {}\n  fix: pass a --issues-dir this user can create (its parent must exist and be writable)",
                dir.display()
            )
        })?;
    let mut plan = String::new();
    for (i, p) in issues::plan(&report.series, known).iter().enumerate() {
        let s = &report.series[p.series];
        let step = &s.steps[p.step];
        let title = report::trend::issue_title(s, step);
        let number = match p.action {
            Action::Create => "-".to_string(),
            Action::Update { number } => number.to_string(),
            Action::Closed { number } => {
                eprintln!(
                    "trend: {} {} step at {} is tracked by closed issue #{number}: left closed",
                    s.key(),
                    step.metric.label(),
                    step.after.t
                );
                continue;
            }
        };
        let file = dir.join(format!("step-{:03}.md", i + 1));
        let body = report::trend::issue_body(s, step, &report.method, repo_url, &report.timestamp);
        write_atomic(&file, body.as_bytes())?;
        let action = if number == "-" { "create" } else { "update" };
        let _ = writeln!(plan, "{action}\t{number}\t{}\t{title}", file.display());
    }
    write_atomic(&dir.join("plan.tsv"), plan.as_bytes())?;
    Ok(())
}
