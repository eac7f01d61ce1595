//! Reads the files a report is made of (verdict, sizing record, baseline history), refusing
//! versions this bench-gate does not understand. The one part of `report` that touches files.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::input::{HistoryPoint, SizingSection, VerdictView};
use crate::compare::VERDICT_SCHEMA_VERSION;
use crate::result::RunResult;
use crate::size::{SIZE_OUTPUT_SCHEMA_VERSION, SizeOutput};
use crate::sizing::{SIZING_REPORT_SCHEMA_VERSION, SizingReport};

pub fn read_verdict(path: &Path) -> Result<VerdictView> {
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
pub fn check_same_run(
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
pub fn read_sizing(path: &Path) -> Result<Vec<SizingSection>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| {
        format!(
            "cannot read the sizing report {}\n  fix: pass the file written by `bench-gate size -o` with --sizing",
            path.display()
        )
    })?;
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
pub fn read_history(path: &Path) -> Option<Vec<HistoryPoint>> {
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn history_is_read_from_what_the_store_writes() {
        let dir = tempfile::tempdir().unwrap();
        let result = RunResult::read(&PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/result_micro.json"
        )))
        .unwrap();
        let m = &result.models[0];
        let key = crate::baseline::store::Key::of(m);
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
        let ratio = crate::sizing::ratio(
            &crate::sizing::ratio::tests::est("Intel Xeon", 500.0, 0.02),
            &crate::sizing::ratio::tests::est("Apple M4", 200.0, 0.02),
        )
        .unwrap();
        let sized = |model: &str, sizing: Option<SizingReport>| crate::size::ModelSizing {
            model: model.into(),
            ratio: ratio.clone(),
            notes: vec![],
            sizing,
        };
        let doc = SizeOutput {
            schema_version: SIZE_OUTPUT_SCHEMA_VERSION,
            reference_cpu: "Apple M4".into(),
            target_cpu: "Intel Xeon".into(),
            production_cpu: "Intel Xeon".into(),
            models: vec![
                sized("whisper-tiny", Some(report.clone())),
                sized("silero-vad", None),
            ],
        };
        std::fs::write(&size_output, serde_json::to_string(&doc).unwrap()).unwrap();
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

#[cfg(test)]
mod round_trip {
    use super::*;
    use crate::compare::{
        BaselineUsed, DEFAULT_THRESHOLDS, MemoryVerdict, Mode, ModelVerdict, PctInterval,
        RoundChange, Verdict, VerdictReport,
    };
    use crate::config::{OnInconclusive, Thresholds};

    proptest::proptest! {
        /// Whatever numbers a writer put in a verdict (NaN and infinities included), the file
        /// `VerdictReport::new` makes reads back with both readers: finite numbers or none.
        #[test]
        fn every_verdict_file_reads_back_whatever_its_numbers(
            xs in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(f64::NAN),
                    proptest::strategy::Just(f64::INFINITY),
                    proptest::strategy::Just(f64::NEG_INFINITY),
                    -1e6..1e6f64,
                ],
                12,
            )
        ) {
            let t = Thresholds { on_inconclusive: OnInconclusive::Warn, ..DEFAULT_THRESHOLDS };
            let mut m = ModelVerdict {
                verdict: Verdict::Inconclusive,
                ..ModelVerdict::new("m", "c", "x86_64", &t, String::new())
            };
            m.change_pct = Some(xs[0]);
            m.ci_pct = Some(PctInterval { low: xs[1], high: xs[2] });
            m.noise_pct = Some(xs[3]);
            m.mde_pct = Some(xs[4]);
            m.candidate_ms = Some(xs[5]);
            m.baseline = Some(BaselineUsed {
                source: "variant A".into(),
                center_ms: xs[6],
                runs_used: 1,
                runs_total: 1,
            });
            m.wall_time_s = xs[7];
            m.rounds = vec![RoundChange { first: "AB".into(), change_pct: xs[8], pair: 1, env_diff: None, adjusted_change_pct: None }];
            m.memory = Some(MemoryVerdict {
                verdict: None,
                candidate_mb: xs[9],
                baseline_mb: Some(xs[10]),
                change_pct: Some(xs[11]),
                ci_pct: None,
                noise_pct: None,
                threshold_pct: None,
                runs_used: 1,
                reasons: vec![],
                pairs: vec![],
                arena: None,
            });
            let json = VerdictReport::new(Mode::Ab, vec![m], false).to_json();
            proptest::prop_assert!(!json.contains("NaN") && !json.contains("inf"), "{}", json);
            let back: Result<VerdictReport, _> = serde_json::from_str(&json);
            proptest::prop_assert!(back.is_ok(), "{:?}: {}", back.err(), json);
            let view: Result<VerdictView, _> = serde_json::from_str(&json);
            proptest::prop_assert!(view.is_ok(), "{:?}: {}", view.err(), json);
        }
    }
}
