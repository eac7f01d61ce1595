//! Verdicts and baseline listings as terminal tables: finished data in, text out.

use std::path::PathBuf;

use comfy_table::Cell;

use super::table::{ms, new_table, right};
use crate::baseline::BaselineFile;
use crate::compare::{ModelVerdict, VerdictReport};
use crate::stats::median;

/// The table printed by `compare` and `ab`: one row per model, then the reasons.
pub fn verdict_table(r: &VerdictReport) -> String {
    let mut t = new_table(&[
        "model",
        "baseline (runs)",
        "candidate",
        "change [CI]",
        "threshold",
        "would catch",
        "verdict",
        "reason",
    ]);
    for m in &r.models {
        t.add_row(vec![
            Cell::new(&m.model),
            right(m.baseline.as_ref().map_or_else(
                || "-".into(),
                |b| format!("{} ms ({})", ms(b.center_ms), b.runs_used),
            )),
            right(
                m.candidate_ms
                    .map_or_else(|| "-".into(), |c| format!("{} ms", ms(c))),
            ),
            right(change(m)),
            right(format!("{:.1}%", m.threshold_pct)),
            right(
                m.mde_pct
                    .map_or_else(|| "-".into(), |d| format!(">= {d:.1}%")),
            ),
            Cell::new(m.verdict.as_str()),
            Cell::new(m.reasons.first().cloned().unwrap_or_default()),
        ]);
    }
    let mut out = t.to_string();
    out.push_str(&format!(
        "\nverdict: {} (exit {})\n",
        r.verdict.as_str(),
        r.exit_code
    ));
    for m in &r.models {
        for line in m.reasons.iter().skip(1).chain(&m.contamination) {
            out.push_str(&format!("  {}: {line}\n", m.model));
        }
        for c in &m.what_changed {
            out.push_str(&format!(
                "  {}: changed {}: {} -> {}\n",
                m.model, c.what, c.baseline, c.candidate
            ));
        }
        out.push_str(&format!(
            "  {}: {}; {} iterations, {:.1} s\n",
            m.model, m.test, m.iterations, m.wall_time_s
        ));
    }
    out
}

fn change(m: &ModelVerdict) -> String {
    match (m.change_pct, m.ci_pct) {
        (Some(c), Some(ci)) => format!("{c:+.1}% [{:+.1}, {:+.1}]", ci.low, ci.high),
        (Some(c), None) => format!("{c:+.1}%"),
        _ => "-".into(),
    }
}

/// `baseline list`.
pub fn baseline_list(files: &[(PathBuf, BaselineFile)]) -> String {
    if files.is_empty() {
        return "no baselines yet: add one with `bench-gate baseline update --result run.json`\n"
            .into();
    }
    let mut t = new_table(&[
        "model",
        "arch",
        "CPU model",
        "runs",
        "first",
        "last",
        "median of medians",
        "spread (min..max)",
    ]);
    for (_, f) in files {
        let medians: Vec<f64> = f.runs.iter().map(|r| r.median_ms).collect();
        let lo = medians.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = medians.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let center = median(&medians);
        let date = |s: Option<&String>| s.map_or("-", |s| s.get(..10).unwrap_or(s)).to_string();
        t.add_row(vec![
            Cell::new(&f.model),
            Cell::new(&f.architecture),
            Cell::new(&f.cpu_model),
            right(f.runs.len().to_string()),
            Cell::new(date(f.runs.first().map(|r| &r.timestamp))),
            Cell::new(date(f.runs.last().map(|r| &r.timestamp))),
            right(format!("{} ms", ms(center))),
            right(format!(
                "{}..{} ms ({:+.1}%..{:+.1}%)",
                ms(lo),
                ms(hi),
                (lo / center - 1.0) * 100.0,
                (hi / center - 1.0) * 100.0
            )),
        ]);
    }
    format!("{t}\n")
}
