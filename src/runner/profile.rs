//! The profiled pass: after the counted iterations, one more iteration with ONNX Runtime's
//! run-level profiler on, its traces aggregated per operator type and per node. Never part of
//! any counted sample: profiling slows every kernel a little and adds work between kernels.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::operators::breakdown::GraphEvents;
use crate::operators::{OperatorBreakdown, aggregate, trace};
use crate::platform::proc::peak_rss_bytes;
use crate::workload::{ArenaStats, Workload, WorkloadError};

/// What a finished measurement leaves beside its samples: the process's peak memory and ORT's
/// arena (read first: the profiler's buffers are not the model's), then, when asked, the
/// profiled pass's breakdown. A failed pass is a message, never a failed measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AfterRun {
    /// Peak resident memory of the measuring process, MiB (`None` where the OS does not say).
    pub peak_rss_mb: Option<f64>,
    #[serde(default)]
    pub arena: Vec<ArenaStats>,
    /// `None`: not asked for.
    pub operators: Option<Result<OperatorBreakdown, String>>,
}

/// Reads memory, then runs the profiled pass if `profile`.
pub fn after_run(workload: &mut dyn Workload, profile: bool) -> AfterRun {
    let peak_rss_mb = peak_rss_bytes().map(|b| b as f64 / (1024.0 * 1024.0));
    let arena = workload.arena();
    let operators = profile.then(|| profile_pass(workload, None).map_err(|e| e.to_string()));
    AfterRun {
        peak_rss_mb,
        arena,
        operators,
    }
}

/// Runs the profiled pass and aggregates its traces. `keep`: a folder to copy ORT's raw trace
/// files into (`<graph>-<run>.json`, openable in Perfetto or chrome://tracing).
pub fn profile_pass(
    workload: &mut dyn Workload,
    keep: Option<&Path>,
) -> Result<OperatorBreakdown, WorkloadError> {
    let err = |message: String| WorkloadError::Profile { message };
    let dir = tempfile::Builder::new()
        .prefix("bench-gate-profile-")
        .tempdir()
        .map_err(|e| {
            err(format!(
                "cannot create a temporary folder for the traces: {e}"
            ))
        })?;
    let start = Instant::now();
    let graphs = workload.profile(dir.path())?;
    let wall_ms = start.elapsed().as_secs_f64() * 1e3;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .map_err(|e| err(format!("cannot list {}: {e}", dir.path().display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let qualify = graphs.len() > 1;
    let mut per_graph = Vec::with_capacity(graphs.len());
    let mut runs = 0;
    for g in &graphs {
        let mine: Vec<&PathBuf> = files
            .iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{}-", g.prefix)))
            })
            .collect();
        if mine.len() != g.runs as usize {
            return Err(err(format!(
                "{} ran {} time(s) with the profiler on but ONNX Runtime wrote {} trace file(s)",
                g.label,
                g.runs,
                mine.len()
            )));
        }
        let mut kernels = Vec::new();
        for (i, path) in mine.iter().enumerate() {
            let text = std::fs::read_to_string(path)
                .map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
            let t = trace::parse(&text)
                .map_err(|e| err(format!("{} ({}): {e}", path.display(), g.label)))?;
            runs += t.model_runs;
            kernels.extend(t.kernels);
            if let Some(k) = keep {
                let to = k.join(format!("{}-{:05}.json", g.label, i + 1));
                std::fs::create_dir_all(k)
                    .and_then(|()| std::fs::copy(path, &to).map(|_| ()))
                    .map_err(|e| err(format!("cannot keep the trace as {}: {e}", to.display())))?;
            }
        }
        per_graph.push((g.label.clone(), kernels));
    }
    let events: Vec<GraphEvents> = per_graph
        .iter()
        .map(|(label, kernels)| GraphEvents {
            graph: qualify.then_some(label.as_str()),
            kernels,
        })
        .collect();
    Ok(aggregate(&events, runs, wall_ms))
}
