//! `bench-gate report`: reads the verdict, result, sizing and baseline history files, gathers
//! the footer's provenance from flags and the Actions environment, and writes the markdown or
//! JSON that `report/` renders.

use std::path::Path;

use anyhow::Result;

use crate::cli::{ReportArgs, ReportFormat};
use crate::report::escape::link_target;
use crate::report::input::{History, Provenance, ReportInput};
use crate::report::read::{check_same_run, read_history, read_sizing, read_verdict};
use crate::report::{json, markdown};
use crate::result::{RunResult, write_atomic};

pub fn report(args: &ReportArgs) -> Result<u8> {
    // The flags' files first, before any is read; then the baselines the verdict names.
    let mut touches = super::touches::report(args);
    touches.check()?;
    let input = load(args, &|name| std::env::var(name).ok())?;
    let sources: Vec<&Path> = input
        .verdict
        .models
        .iter()
        .filter_map(|m| Some(Path::new(&m.baseline.as_ref()?.source)))
        .collect();
    touches
        .read_named("baseline named by --verdict", &sources)
        .check()?;
    let text = match args.format {
        ReportFormat::Markdown => markdown::render(&input),
        ReportFormat::Json => json::render(&input),
    };
    match &args.output {
        Some(path) => write_atomic(path, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(0)
}

/// Everything the renderer needs, from the files named by the flags and the environment
/// (`get`, so tests pass a map).
pub fn load(args: &ReportArgs, get: &dyn Fn(&str) -> Option<String>) -> Result<ReportInput> {
    let verdict = read_verdict(&args.verdict)?;
    let result = args.result.as_deref().map(RunResult::read).transpose()?;
    if let (Some(r), Some(path)) = (&result, &args.result) {
        check_same_run(&verdict, &args.verdict, r, path)?;
    }
    let sizing = match args.sizing.as_deref() {
        Some(path) => read_sizing(path)?,
        None => Vec::new(),
    };
    let history = verdict
        .models
        .iter()
        .filter_map(|m| {
            let source = &m.baseline.as_ref()?.source;
            read_history(Path::new(source)).map(|runs| History {
                model: m.model.clone(),
                runs,
            })
        })
        .collect();
    let provenance = provenance(args, result.as_ref(), get);
    let second_opinion = args
        .second_opinion
        .as_deref()
        .map(read_verdict)
        .transpose()?;
    Ok(ReportInput {
        second_opinion,
        gate: args.gate.clone(),
        verdict,
        result,
        sizing,
        history,
        provenance,
    })
}

/// The commit, branch and workflow-run link for the footer: flags, then the result, then what
/// the Actions runner sets.
pub(crate) fn provenance(
    args: &ReportArgs,
    result: Option<&RunResult>,
    get: &dyn Fn(&str) -> Option<String>,
) -> Provenance {
    let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    let commit = args
        .commit
        .clone()
        .or_else(|| result.and_then(|r| r.git_commit.clone()))
        .or_else(|| get("GITHUB_SHA"));
    let branch = get("GITHUB_HEAD_REF").or_else(|| get("GITHUB_REF_NAME"));
    let run_url = args
        .run_url
        .clone()
        .or_else(|| {
            let server = get("GITHUB_SERVER_URL")?;
            let repo = get("GITHUB_REPOSITORY")?;
            let id = get("GITHUB_RUN_ID")?;
            let mut url = format!("{}/{repo}/actions/runs/{id}", server.trim_end_matches('/'));
            if let Some(attempt) = get("GITHUB_RUN_ATTEMPT").filter(|a| a != "1") {
                url.push_str(&format!("/attempts/{attempt}"));
            }
            Some(url)
        })
        .and_then(|u| link_target(&u));
    Provenance {
        commit,
        run_url,
        branch,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use super::*;

    fn args() -> ReportArgs {
        ReportArgs {
            second_opinion: None,
            verdict: PathBuf::from("v.json"),
            format: ReportFormat::Markdown,
            result: None,
            sizing: None,
            output: None,
            gate: "bench-gate".into(),
            commit: None,
            run_url: None,
        }
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn run_url_comes_from_the_actions_environment() {
        let get = env(&[
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/stt"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_SHA", "abc"),
            ("GITHUB_HEAD_REF", "feature/x"),
        ]);
        let p = provenance(&args(), None, &get);
        assert_eq!(
            p.run_url.as_deref(),
            Some("https://github.com/acme/stt/actions/runs/42/attempts/2")
        );
        assert_eq!(p.commit.as_deref(), Some("abc"));
        assert_eq!(p.branch.as_deref(), Some("feature/x"));
    }

    #[test]
    fn flags_win_and_unsafe_urls_are_dropped() {
        let mut a = args();
        a.commit = Some("def".into());
        a.run_url = Some("javascript:alert(1)".into());
        let p = provenance(&a, None, &env(&[("GITHUB_SHA", "abc")]));
        assert_eq!(p.commit.as_deref(), Some("def"));
        assert_eq!(p.run_url, None);
    }
}
