//! `bench-gate report`: reads the verdict, result, sizing and baseline history files, gathers
//! the footer's provenance from flags and the Actions environment, and writes the markdown or
//! JSON that `report/` renders.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::cli::{ReportArgs, ReportFormat};
use crate::compare::VERDICT_SCHEMA_VERSION;
use crate::report::escape::link_target;
use crate::report::input::{
    History, HistoryPoint, Provenance, ReportInput, SizingSection, VerdictView,
};
use crate::report::{json, markdown};
use crate::result::{RunResult, write_atomic};
use crate::sizing::{SIZING_REPORT_SCHEMA_VERSION, SizingReport};

use super::size::SIZE_OUTPUT_SCHEMA_VERSION;

pub fn report(args: &ReportArgs) -> Result<u8> {
    let input = load(args, &|name| std::env::var(name).ok())?;
    if let Some(out) = &args.output {
        let mut inputs = vec![("--verdict", args.verdict.as_path())];
        inputs.extend(args.result.as_deref().map(|p| ("--result", p)));
        inputs.extend(args.sizing.as_deref().map(|p| ("--sizing", p)));
        let sources: Vec<&Path> = input
            .verdict
            .models
            .iter()
            .filter_map(|m| Some(Path::new(&m.baseline.as_ref()?.source)))
            .collect();
        inputs.extend(sources.into_iter().map(|p| ("baseline", p)));
        crate::result::check_outputs(&[("-o", out)], &inputs)?;
    }
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

pub(crate) fn read_verdict(path: &Path) -> Result<VerdictView> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the verdict {}\n  fix: pass the file written by `bench-gate compare -o`",
            path.display()
        )
    })?;
    let not_a_verdict = || {
        format!(
            "{} is not a bench-gate verdict\n  fix: pass the file written by `bench-gate compare -o`",
            path.display()
        )
    };
    let value: serde_json::Value = serde_json::from_str(&text).with_context(not_a_verdict)?;
    check_schema(&value, path, "verdict", VERDICT_SCHEMA_VERSION)?;
    serde_json::from_value(value).with_context(not_a_verdict)
}

/// Refuses a file without a `schema_version`, or with one newer than this bench-gate writes:
/// its fields may mean something else, and a comment must not render a guess.
fn check_schema(value: &serde_json::Value, path: &Path, what: &str, known: u32) -> Result<()> {
    match value.get("schema_version").map(serde_json::Value::as_u64) {
        Some(Some(v)) if v <= u64::from(known) => Ok(()),
        Some(Some(v)) => bail!(
            "{} is a bench-gate {what} of schema_version {v}, newer than this bench-gate understands ({known})\n  fix: render it with the bench-gate version that wrote it, or upgrade bench-gate",
            path.display()
        ),
        _ => bail!(
            "{} is not a bench-gate {what}: it has no numeric `schema_version`\n  fix: pass the file bench-gate wrote (`{}`)",
            path.display(),
            if what == "verdict" {
                "compare -o"
            } else {
                "size -o"
            }
        ),
    }
}

/// A result rendered beside a verdict must be the run the verdict judged: the same models on the
/// same CPU. Anything else would put one run's numbers under another run's verdict, so it is
/// refused (exit 2) rather than warned about.
fn check_same_run(
    verdict: &VerdictView,
    verdict_path: &Path,
    result: &RunResult,
    result_path: &Path,
) -> Result<()> {
    for m in &verdict.models {
        let found = result.models.iter().find(|r| r.name == m.model);
        let ok = found.is_some_and(|r| m.cpu_model.is_empty() || r.cpu_model == m.cpu_model);
        if !ok {
            let has: Vec<String> = result
                .models
                .iter()
                .map(|r| format!("`{}` on {}", r.name, r.cpu_model))
                .collect();
            bail!(
                "--result {} is not the run the verdict {} judged: the verdict is about `{}` on {}, the result holds {}\n  fix: pass the result file the verdict was made from (the --result given to `bench-gate compare`), or leave --result out",
                result_path.display(),
                verdict_path.display(),
                m.model,
                if m.cpu_model.is_empty() {
                    "an unnamed CPU"
                } else {
                    &m.cpu_model
                },
                has.join(", ")
            );
        }
    }
    Ok(())
}

/// Reads what `bench-gate size -o` writes (one entry per model, each with an optional
/// capacity plan) or a bare sizing report. Only the fields the comment shows are read.
fn read_sizing(path: &Path) -> Result<Vec<SizingSection>> {
    #[derive(Deserialize)]
    struct SizeOutput {
        models: Vec<SizedModel>,
    }
    #[derive(Deserialize)]
    struct SizedModel {
        model: String,
        sizing: Option<SizingReport>,
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the sizing report {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a bench-gate sizing report\n  fix: pass the file written by `bench-gate size -o`",
            path.display()
        )
    })?;
    let known = if value.get("models").is_some() {
        SIZE_OUTPUT_SCHEMA_VERSION
    } else {
        SIZING_REPORT_SCHEMA_VERSION
    };
    check_schema(&value, path, "sizing report", known)?;
    if let Ok(output) = serde_json::from_str::<SizeOutput>(&text) {
        return Ok(output
            .models
            .into_iter()
            .filter_map(|m| {
                m.sizing.map(|report| SizingSection {
                    model: Some(m.model),
                    report,
                })
            })
            .collect());
    }
    let report: SizingReport = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a bench-gate sizing report\n  fix: pass the file written by `bench-gate size -o`",
            path.display()
        )
    })?;
    Ok(vec![SizingSection {
        model: None,
        report,
    }])
}

/// The runs of a baseline file, for the chart, read by the baseline store (the one reader of
/// that format). A missing file (an `ab` verdict's "variant A") or a bad one just means no
/// chart, said in a note: the verdict has already been decided.
fn read_history(path: &Path) -> Option<Vec<HistoryPoint>> {
    match crate::baseline::store::read(path) {
        Ok(Some(file)) => Some(
            file.runs
                .into_iter()
                .map(|r| HistoryPoint {
                    timestamp: r.timestamp,
                    commit: r.commit,
                    median_ms: r.median_ms,
                    p95_ms: r.p95_ms,
                })
                .collect(),
        ),
        Ok(None) => None,
        Err(e) => {
            eprintln!("note: no latency history: {e}");
            None
        }
    }
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

    #[test]
    fn history_is_read_from_what_the_store_writes() {
        let dir = tempfile::tempdir().unwrap();
        let result = RunResult::read(&PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/result_micro.json"
        )))
        .unwrap();
        let m = &result.models[0];
        let key = crate::baseline::store::Key {
            model: m.name.clone(),
            architecture: m.architecture.clone(),
            cpu_model: m.cpu_model.clone(),
        };
        let run = crate::baseline::BaselineRun::from_result(m, None, "h", "1.32.0");
        let (path, _) = crate::baseline::store::append(dir.path(), &key, run, 10, None).unwrap();
        let runs = read_history(&path).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].p95_ms, m.latency_ms.p95);
        assert_eq!(read_history(&dir.path().join("missing.json")), None);
        std::fs::write(&path, "{\"runs\": []}").unwrap();
        assert_eq!(read_history(&path), None, "a bad file gives no chart");
    }

    #[test]
    fn sizing_reads_the_size_output_and_a_bare_report() {
        use crate::sizing::plan::{PlanInput, plan};
        let p = plan(&PlanInput::measured("Intel Xeon", 10.0, 500.0, 1024.0)).unwrap();
        let report = SizingReport::new(&p, None, None);
        let dir = tempfile::tempdir().unwrap();
        let size_output = dir.path().join("size.json");
        let doc = serde_json::json!({
            "schema_version": 1, "reference_cpu": "Apple M4", "target_cpu": "Intel Xeon",
            "production_cpu": "Intel Xeon",
            "models": [
                {"model": "whisper-tiny", "ratio": {}, "notes": [], "sizing": report},
                {"model": "silero-vad", "ratio": {}, "notes": [], "sizing": null}
            ]
        });
        std::fs::write(&size_output, doc.to_string()).unwrap();
        let sections = read_sizing(&size_output).unwrap();
        assert_eq!(sections.len(), 1, "models without a plan have no section");
        assert_eq!(sections[0].model.as_deref(), Some("whisper-tiny"));
        assert_eq!(sections[0].report.plan.pods, report.plan.pods);

        let bare = dir.path().join("bare.json");
        std::fs::write(&bare, report.to_json()).unwrap();
        let sections = read_sizing(&bare).unwrap();
        assert_eq!((sections.len(), sections[0].model.as_deref()), (1, None));

        std::fs::write(&bare, "[]").unwrap();
        assert!(read_sizing(&bare).is_err());
    }
}
