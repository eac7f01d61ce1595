//! The profiled pass: after the counted iterations, one more iteration with ONNX Runtime's
//! run-level profiler on, its traces aggregated per operator type and per node. Never part of
//! any counted sample: profiling slows every kernel a little and adds work between kernels.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::operators::breakdown::GraphEvents;
use crate::operators::{OperatorBreakdown, aggregate, trace};
use crate::workload::{Workload, WorkloadError};

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
