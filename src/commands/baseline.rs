//! `bench-gate baseline update|list`.

use anyhow::{Result, bail};

use crate::baseline::series::{self, SeriesPoint};
use crate::baseline::store::{self, Key};
use crate::baseline::{BaselineRun, StoredBreakdown};
use crate::cli::{BaselineArgs, BaselineCommand, BaselineListArgs, BaselineUpdateArgs};
use crate::compare::contamination::{self, BaselineNoise};
use crate::config::{Config, GateSection};
use crate::report;
use crate::result::RunResult;

pub fn baseline(args: &BaselineArgs) -> Result<u8> {
    match &args.command {
        BaselineCommand::Update(a) => update(a),
        BaselineCommand::List(a) => list(a),
    }
}

fn update(args: &BaselineUpdateArgs) -> Result<u8> {
    let history = match (args.history, &args.config) {
        (Some(0), _) => {
            bail!("--history 0: a baseline keeps at least one run\n  fix: e.g. --history 10")
        }
        (Some(k), _) => k,
        (None, Some(c)) => Config::load(c)?.gate.history,
        (None, None) => GateSection::default().history,
    };
    let run = RunResult::read(&args.result)?;
    let root = &args.baselines.baselines;
    // Check every model (and every existing file) before writing any: a refused model must not
    // leave the others half-updated.
    let mut planned = Vec::with_capacity(run.models.len());
    for m in &run.models {
        let key = Key::of(m);
        let path = key.path(root)?;
        let existing = store::read(&path)?;
        let noise = existing
            .as_ref()
            .map(|f| BaselineNoise::of(f.runs.iter().map(|r| (r.cv, r.others_busy_cpus))));
        let dirty = contamination::reasons(&m.during, m.latency_ms.cv, noise);
        if !dirty.is_empty() && !args.force {
            bail!(
                "model `{}` in {} is contaminated and was not added to {}:\n    {}\n  fix: rerun on a quiet machine, or pass --force to accept it anyway",
                m.name,
                args.result.display(),
                path.display(),
                dirty.join("\n    ")
            );
        }
        let entry =
            BaselineRun::from_result(m, run.git_commit.clone(), &run.host, &run.ort.version);
        let operators = m.operators.clone().map(|breakdown| StoredBreakdown {
            timestamp: m.timestamp.clone(),
            commit: run.git_commit.clone(),
            breakdown,
        });
        let point = SeriesPoint::from_result(m, run.git_commit.clone(), &run.ort.version);
        // The series file must be readable too before anything is written.
        series::read(&series::path(root, &key)?)?;
        planned.push((key, entry, operators, point, existing));
    }
    for (key, entry, operators, point, existing) in planned {
        let (path, n) = store::append(root, &key, entry, history as usize, operators)?;
        println!("{}: {n} run(s) (keeping {history})", path.display());
        let (path, n) = series::append(root, &key, point, existing.as_ref())?;
        println!(
            "{}: {n} run(s) for `bench-gate trend` (keeping {})",
            path.display(),
            series::MAX_POINTS
        );
    }
    Ok(0)
}

fn list(args: &BaselineListArgs) -> Result<u8> {
    let files = store::list(&args.baselines.baselines)?;
    print!("{}", report::verdict::baseline_list(&files));
    Ok(0)
}
