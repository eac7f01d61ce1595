//! One row per model: the verdict's numbers joined with the result's and the history's, in the
//! order a reviewer should read them (worst verdict first). Shared by the markdown and the
//! JSON report so both always show the same figures.

use serde::Serialize;

use super::input::{History, ModelVerdictView, Outcome, ReportInput};
use super::sides::Sides;
use crate::stats::median;

/// The figures of one model, milliseconds; `None` when nothing provides the figure.
#[derive(Debug, Clone, Serialize)]
pub struct Row<'a> {
    #[serde(flatten)]
    pub verdict: &'a ModelVerdictView,
    pub baseline_median_ms: Option<f64>,
    pub baseline_p95_ms: Option<f64>,
    pub candidate_median_ms: Option<f64>,
    pub candidate_p95_ms: Option<f64>,
    /// Peak resident memory of the run, MiB: the verdict's memory line, else the result's.
    pub candidate_memory_mb: Option<f64>,
}

/// Rows sorted worst verdict first (then by larger slowdown), ties kept in file order.
pub fn rows(input: &ReportInput) -> Vec<Row<'_>> {
    let duet = Sides::of(&input.verdict).duet();
    let mut rows: Vec<Row> = input
        .verdict
        .models
        .iter()
        .map(|v| {
            if duet {
                duet_row(input, v)
            } else {
                row(input, v)
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.verdict.verdict.cmp(&a.verdict.verdict).then_with(|| {
            let change = |r: &Row| r.verdict.change_pct.unwrap_or(0.0);
            change(b).total_cmp(&change(a))
        })
    });
    rows
}

fn row<'a>(input: &'a ReportInput, v: &'a ModelVerdictView) -> Row<'a> {
    let result = input
        .result
        .as_ref()
        .and_then(|r| r.models.iter().find(|m| m.name == v.model));
    let history = input
        .history
        .iter()
        .find(|h| h.model == v.model)
        .filter(|h| !h.runs.is_empty());
    let is_p95 = v.metric == "p95";
    // The verdict's own figures fill the gated metric's column when nothing better is known.
    let center = v.baseline.as_ref().map(|b| b.center_ms);
    let (hist_median, hist_p95) = history.map_or((None, None), history_center);
    let baseline_median_ms = hist_median.or(if is_p95 { None } else { center });
    let baseline_p95_ms = hist_p95.or(if is_p95 { center } else { None });
    let candidate_median_ms =
        result
            .map(|m| m.latency_ms.median)
            .or(if is_p95 { None } else { v.candidate_ms });
    let candidate_p95_ms =
        result
            .map(|m| m.latency_ms.p95)
            .or(if is_p95 { v.candidate_ms } else { None });
    let candidate_memory_mb = v
        .memory
        .as_ref()
        .map(|m| m.candidate_mb)
        .or(result.map(|m| m.memory_mb))
        .filter(|m| m.is_finite() && *m > 0.0);
    Row {
        verdict: v,
        baseline_median_ms,
        baseline_p95_ms,
        candidate_median_ms,
        candidate_p95_ms,
        candidate_memory_mb,
    }
}

/// A duet's row: both medians from the duet itself (A's and B's, whatever the gated metric), so
/// the two sides are read from the same interleaved run. The duet measures no p95: none is
/// shown, rather than one side's from a separate run (`ci`'s head run is in the details).
fn duet_row<'a>(input: &'a ReportInput, v: &'a ModelVerdictView) -> Row<'a> {
    let finite = |x: f64| x.is_finite().then_some(x);
    Row {
        verdict: v,
        baseline_median_ms: v.baseline.as_ref().and_then(|b| finite(b.center_ms)),
        baseline_p95_ms: None,
        candidate_median_ms: v.candidate_ms.and_then(finite),
        candidate_p95_ms: None,
        candidate_memory_mb: row(input, v).candidate_memory_mb,
    }
}

/// The median over the history runs of their medians and of their p95s, as the gate centres
/// its baseline.
fn history_center(h: &History) -> (Option<f64>, Option<f64>) {
    let medians: Vec<f64> = h.runs.iter().map(|r| r.median_ms).collect();
    let p95s: Vec<f64> = h.runs.iter().map(|r| r.p95_ms).collect();
    let finite = |x: f64| x.is_finite().then_some(x);
    (finite(median(&medians)), finite(median(&p95s)))
}

/// How many rows have each outcome, worst first, for "2 regressed, 1 pass".
pub fn tally(rows: &[Row]) -> Vec<(Outcome, usize)> {
    let mut out: Vec<(Outcome, usize)> = Vec::new();
    for r in rows {
        match out.iter_mut().find(|(o, _)| *o == r.verdict.verdict) {
            Some((_, n)) => *n += 1,
            None => out.push((r.verdict.verdict, 1)),
        }
    }
    out.sort_by_key(|(outcome, _)| std::cmp::Reverse(*outcome));
    out
}
