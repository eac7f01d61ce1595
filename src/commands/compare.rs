//! `bench-gate compare`: a result file against the committed baselines -> verdict table + JSON.

use anyhow::{Context, Result};

use crate::baseline::store::{self, Key};
use crate::cli::{CompareArgs, OutputFormat};
use crate::compare::{DEFAULT_THRESHOLDS, Mode, VerdictReport, history};
use crate::config::Config;
use crate::report;
use crate::result::RunResult;

pub fn compare(args: &CompareArgs) -> Result<u8> {
    super::touches::compare(args).check()?;
    let config = Config::load(&args.config.config)?;
    let run = RunResult::read(&args.result)?;
    let root = &args.baselines.baselines;
    let mut paths = Vec::with_capacity(run.models.len());
    for m in &run.models {
        let key = Key::of(m);
        paths.push(key.path(root)?);
    }
    let mut models = Vec::with_capacity(run.models.len());
    for (m, path) in run.models.iter().zip(paths) {
        let configured = config.thresholds.get(&m.architecture);
        let t = configured.cloned().unwrap_or(DEFAULT_THRESHOLDS);
        let mut v = match store::read(&path)? {
            Some(file) => history::compare_model(&run, m, &path, &file, &t, &config.gate)
                .with_context(|| {
                    format!(
                        "cannot judge model `{}` of {} against {}\n  fix: check that --result and the baseline are of the same model and CPU (or refresh the baseline with `bench-gate baseline update`)",
                        m.name,
                        args.result.display(),
                        path.display()
                    )
                })?,
            None => {
                let others = if root.is_dir() {
                    store::cpu_models_with_baseline(root, &m.name, &m.architecture)?
                } else {
                    Vec::new()
                };
                history::no_baseline(m, &t, others)
            }
        };
        if configured.is_none() {
            v.reasons.push(format!(
                "no [thresholds.{}] in {}: used the defaults (median, 5%, 0 ms, warn)",
                m.architecture,
                config.path.display()
            ));
        }
        models.push(v);
    }
    let report = VerdictReport::new(Mode::Compare, models, config.gate.require_baseline);
    finish(&report, args.output.as_deref(), args.format, false)
}

/// Writes and prints a verdict; returns its exit code. Shared by `compare` and `ab`.
pub fn finish(
    report: &VerdictReport,
    output: Option<&std::path::Path>,
    format: OutputFormat,
    quiet: bool,
) -> Result<u8> {
    if let Some(out) = output {
        crate::result::write_atomic(out, report.to_json().as_bytes())?;
    }
    match format {
        OutputFormat::Json => print!("{}", report.to_json()),
        OutputFormat::Table if !quiet => print!("{}", report::verdict::verdict_table(report)),
        OutputFormat::Table => {}
    }
    if report.exit_code == 2 {
        eprintln!(
            "error: no baseline for this CPU model and the config requires one ([gate] require_baseline = true)\n  fix: record one with `bench-gate baseline update --result run.json`"
        );
    }
    Ok(report.exit_code)
}
