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
    super::touches::baseline_update(args).check()?;
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
    // All or nothing: every model's baseline and series are checked and rendered first, then
    // written together (staged beside their targets, then renamed). A refused model, a series
    // of another (model, CPU) or an unreadable file leaves every file as it was.
    let mut pending = Vec::with_capacity(2 * run.models.len());
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
        let baseline = store::prepare_append(root, &key, entry, history as usize, operators)?;
        let series = series::prepare_append(root, &key, point, existing.as_ref())?;
        if let Some(p) = pending
            .iter()
            .find(|p: &&store::Pending| p.path == baseline.path)
        {
            bail!(
                "{} holds two models for {}: one baseline file cannot take both\n  fix: measure each model once per result file",
                args.result.display(),
                p.path.display()
            );
        }
        pending.push(baseline);
        pending.push(series);
    }
    store::write_all(&pending)?;
    for pair in pending.chunks(2) {
        println!(
            "{}: {} run(s) (keeping {history})",
            pair[0].path.display(),
            pair[0].count
        );
        println!(
            "{}: {} run(s) for `bench-gate trend` (keeping {})",
            pair[1].path.display(),
            pair[1].count,
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
