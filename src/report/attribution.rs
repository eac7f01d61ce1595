//! The comment's explanations of a verdict: the memory line of each gated model, and for a
//! regressed or improved model the operators whose profiled time changed most (a compact table
//! of the top few, the rest collapsed). Names come from model files: every one goes through
//! [`inline`].

use std::fmt::Write;

use super::escape::inline;
use super::input::MemoryView;
use super::layout::{Layout, MAX_CHARTS};
use super::numbers::pct;
use super::rows::Row;
use crate::operators::diff::{OpChange, Presence};

/// Operator types shown in the compact table; the rest go in the collapsed details.
pub const TOP_OPERATORS: usize = 5;
/// Nodes listed in the collapsed details (the verdict JSON has them all).
pub const DETAIL_NODES: usize = 15;

/// Did memory alone make this model regress?
pub fn memory_only(r: &Row) -> bool {
    let v = r.verdict;
    v.memory
        .as_ref()
        .is_some_and(|m| m.verdict == Some(super::input::Outcome::Regressed))
        && v.latency_verdict
            .is_some_and(|l| l != super::input::Outcome::Regressed)
}

/// ` (99% CI +8.0% … +12.1%, threshold 10%)` for a memory line; a duet's gives each pair's
/// change and the A/A floor instead: ` (per pair +6.2%, +6.2%, A/A floor 1.0%, threshold 5%)`.
pub fn memory_ci_and_threshold(m: Option<&MemoryView>) -> String {
    let Some(m) = m else {
        return String::new();
    };
    let mut parts = Vec::new();
    if !m.pairs.is_empty() {
        let each: Vec<String> = m.pairs.iter().map(|p| pct(Some(p.change_pct))).collect();
        parts.push(format!("per pair {}", each.join(", ")));
        if let Some(f) = m.noise_pct.filter(|f| f.is_finite()) {
            parts.push(format!("A/A floor {f:.1}%"));
        }
    }
    if let Some(ci) = m.ci_pct {
        parts.push(format!(
            "99% CI {} … {}",
            pct(Some(ci.low)),
            pct(Some(ci.high))
        ));
    }
    if let Some(t) = m.threshold_pct.filter(|t| t.is_finite()) {
        parts.push(format!("threshold {t}%"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// The table's memory cell: `212 MiB (+1.0%)`, `212 MiB`, or `—`.
pub fn memory_cell(r: &Row) -> String {
    let Some(mb) = r.candidate_memory_mb else {
        return "—".to_owned();
    };
    match r.verdict.memory.as_ref().and_then(|m| m.change_pct) {
        Some(c) if c.is_finite() => format!("{} ({})", mib(mb), pct(Some(c))),
        _ => mib(mb),
    }
}

fn mib(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0} MiB")
    } else {
        format!("{x:.1} MiB")
    }
}

/// One line per model whose memory is gated: the memory verdict beside the latency one.
pub fn memory(w: &mut String, rows: &[Row], max_rows: Option<usize>) {
    let gated: Vec<(&Row, &MemoryView)> = rows
        .iter()
        .filter_map(|r| {
            let m = r.verdict.memory.as_ref()?;
            m.verdict.map(|_| (r, m))
        })
        .take(max_rows.unwrap_or(usize::MAX))
        .collect();
    if gated.is_empty() {
        return;
    }
    let _ = writeln!(w, "**Peak memory** (resident set, gated per model):\n");
    for (r, m) in gated {
        let against = match (m.baseline_mb, m.change_pct) {
            (Some(b), Some(c)) => format!(
                "{} against {}, {}{}",
                mib(m.candidate_mb),
                mib(b),
                pct(Some(c)),
                memory_ci_and_threshold(Some(m))
            ),
            _ => format!("{}, no baseline figure yet", mib(m.candidate_mb)),
        };
        let badge = m.verdict.map_or("—", |v| v.badge());
        let _ = writeln!(w, "- {}: {against}: {badge}", inline(&r.verdict.model));
        if let Some(a) = &m.arena {
            let badge = a.verdict.map_or("not gated", |v| v.badge());
            let _ = writeln!(w, "  - {}: {badge}", inline(&a.reason));
        }
    }
    w.push('\n');
}

/// "Where the time went" for each regressed or improved model that has an operator comparison.
pub fn operators(w: &mut String, rows: &[Row], layout: Layout) {
    let limit = layout.max_rows.unwrap_or(MAX_CHARTS).min(MAX_CHARTS);
    for r in rows
        .iter()
        .filter(|r| r.verdict.operators.is_some())
        .take(limit)
    {
        let Some(a) = &r.verdict.operators else {
            continue;
        };
        let d = &a.diff;
        let _ = writeln!(w, "### Where the time went: {}\n", inline(&r.verdict.model));
        let _ = writeln!(
            w,
            "Kernel time of one profiled pass: {} in the baseline ({}), {} in this run. _Profiled timings are for attribution, not for the verdict: the profiler slows the pass down and one pass is one sample._\n",
            ms(d.baseline_total_ms),
            inline(&a.baseline_source),
            ms(d.candidate_total_ms)
        );
        let top = TOP_OPERATORS.min(d.by_op.len());
        op_table(w, "Operator", &d.by_op[..top]);
        let rest = &d.by_op[top..];
        if layout.details && (!rest.is_empty() || !d.nodes.is_empty()) {
            let nodes = DETAIL_NODES.min(d.nodes.len());
            let summary = match (rest.len(), nodes) {
                (0, n) => format!("The {n} nodes that changed most"),
                (r, 0) => format!("The other {r} operator types"),
                (r, n) => {
                    format!("The other {r} operator types and the {n} nodes that changed most")
                }
            };
            let _ = writeln!(w, "<details><summary>{summary}</summary>\n");
            if !rest.is_empty() {
                op_table(w, "Operator", rest);
            }
            if nodes > 0 {
                node_table(w, &d.nodes[..nodes]);
            }
            let _ = writeln!(w, "</details>\n");
        }
    }
}

fn op_table(w: &mut String, what: &str, changes: &[OpChange]) {
    let _ = writeln!(
        w,
        "| {what} | Baseline | This run | Change | Share of kernel time |"
    );
    let _ = writeln!(w, "|---|--:|--:|--:|--:|");
    for c in changes {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            name_with_presence(c),
            ms_opt(c.baseline_ms),
            ms_opt(c.candidate_ms),
            change(c),
            share(c)
        );
    }
    w.push('\n');
}

fn node_table(w: &mut String, changes: &[OpChange]) {
    let _ = writeln!(w, "| Node | Operator | Baseline | This run | Change |");
    let _ = writeln!(w, "|---|---|--:|--:|--:|");
    for c in changes {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            name_with_presence(c),
            inline(c.op_type.as_deref().unwrap_or("—")),
            ms_opt(c.baseline_ms),
            ms_opt(c.candidate_ms),
            change(c)
        );
    }
    w.push('\n');
}

fn name_with_presence(c: &OpChange) -> String {
    let name = inline(&c.name);
    match c.presence {
        Presence::Both => name,
        Presence::New => format!("{name} (only in this run)"),
        Presence::Gone => format!("{name} (only in the baseline)"),
        Presence::BelowCutoff => format!("{name} (below the node cut-off on one side)"),
    }
}

fn change(c: &OpChange) -> String {
    match c.change_pct {
        Some(p) if p.is_finite() => format!("{:+.2} ms ({})", c.change_ms, pct(Some(p))),
        _ => format!("{:+.2} ms", c.change_ms),
    }
}

fn share(c: &OpChange) -> String {
    let s = |x: Option<f64>| x.map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", v * 100.0));
    format!("{} → {}", s(c.baseline_share), s(c.candidate_share))
}

fn ms_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_owned(), ms)
}

fn ms(x: f64) -> String {
    super::numbers::ms(Some(x))
}
