//! Verdicts and baseline listings as terminal tables: finished data in, text out.

use std::path::PathBuf;

use comfy_table::Cell;

use super::sides::Sides;
use super::table::{ms, new_table, right};
use crate::baseline::BaselineFile;
use crate::compare::{MemoryVerdict, Mode, ModelVerdict, VerdictReport};
use crate::operators::diff::{OpChange, Presence};
use crate::stats::median;

/// The table printed by `compare` and `ab`: one row per model, then the reasons. A duet's
/// columns name its sides as the comment does (base and head in `ci`, A and B in `ab`).
pub fn verdict_table(r: &VerdictReport) -> String {
    let sides = Sides::from_parts(
        r.mode == Mode::Ab,
        r.models
            .iter()
            .filter_map(|m| m.baseline.as_ref().map(|b| b.source.as_str())),
    );
    let (before, after) = match sides {
        Sides::History => ("baseline (runs)", "candidate"),
        Sides::Variants => ("A (units)", "B"),
        Sides::BaseHead => ("base (units)", "head"),
    };
    let mut t = new_table(&[
        "model",
        before,
        after,
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
    let failed_outputs: Vec<&str> = r
        .models
        .iter()
        .filter(|m| {
            m.outputs.as_ref().is_some_and(|o| {
                o.fails_check && o.status == crate::compare::drift::DriftStatus::Changed
            })
        })
        .map(|m| m.model.as_str())
        .collect();
    out.push_str(&format!(
        "\nverdict: {}{} (exit {})\n",
        r.verdict.as_str(),
        if failed_outputs.is_empty() {
            String::new()
        } else {
            format!(
                "; outputs changed ({}) and on_output_change = \"fail\"",
                failed_outputs.join(", ")
            )
        },
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
        if let Some(mem) = &m.memory {
            out.push_str(&format!("  {}: {}\n", m.model, memory_line(mem)));
        }
        // A regressed or undecided accuracy is already among the reasons.
        if let Some(a) = m.accuracy.as_ref().filter(|a| {
            !matches!(
                a.verdict,
                Some(crate::compare::Verdict::Regressed | crate::compare::Verdict::Inconclusive)
            )
        }) {
            let verdict = a.verdict.map_or("not gated", |v| v.as_str());
            out.push_str(&format!(
                "  {}: accuracy: WER {:.1}% vs {:.1}% ({:+.1} points) on {} utterances, {verdict}: {}\n",
                m.model,
                a.b_wer_pct,
                a.a_wer_pct,
                a.change_pts,
                a.utterances,
                a.reasons.first().map_or("", String::as_str)
            ));
        }
        // A change is already among the reasons; otherwise say what was compared, and how.
        if let Some(o) = m
            .outputs
            .as_ref()
            .filter(|o| o.status != crate::compare::drift::DriftStatus::Changed)
        {
            out.push_str(&format!("  {}: {}\n", m.model, o.summary()));
        }
        if let Some(a) = &m.operators {
            out.push_str(&format!(
                "  {}: operators whose profiled time changed most (attribution only, not the verdict): {}\n",
                m.model,
                top_operators(&a.diff.by_op, 5)
            ));
        }
    }
    out
}

/// `peak memory 212 MiB vs 210 MiB (+1.0% [-1.5, +3.6]), pass (threshold 10%)`; a duet's line
/// gives each pair's change and the A/A floor instead of an interval, then ORT's arena.
pub fn memory_line(m: &MemoryVerdict) -> String {
    let verdict = m
        .verdict
        .map_or_else(|| "not gated".to_string(), |v| v.as_str().to_string());
    let threshold = m
        .threshold_pct
        .map(|t| format!(" (threshold {t}%)"))
        .unwrap_or_default();
    let arena = m
        .arena
        .as_ref()
        .map(|a| format!("; {}", a.reason))
        .unwrap_or_default();
    if !m.pairs.is_empty() {
        let each: Vec<String> = m
            .pairs
            .iter()
            .map(|p| format!("{:+.1}%", p.change_pct))
            .collect();
        let floor = m
            .noise_pct
            .map(|f| format!("; A/A floor {f:.1}%"))
            .unwrap_or_default();
        let against = m
            .baseline_mb
            .map_or_else(String::new, |b| format!(" vs {b:.0} MiB"));
        return format!(
            "peak memory {:.0} MiB{against} (per pair {}{floor}), {verdict}{threshold}{arena}",
            m.candidate_mb,
            each.join(", ")
        );
    }
    match (m.baseline_mb, m.change_pct, m.ci_pct) {
        (Some(b), Some(c), Some(ci)) => format!(
            "peak memory {:.0} MiB vs {:.0} MiB ({c:+.1}% [{:+.1}, {:+.1}]), {verdict}{threshold}",
            m.candidate_mb, b, ci.low, ci.high
        ),
        _ => format!(
            "peak memory {:.0} MiB, no baseline figure, {verdict}{threshold}",
            m.candidate_mb
        ),
    }
}

/// `MatMul +3.20 ms (+12%), Softmax +1.10 ms (new), ...`.
pub fn top_operators(changes: &[OpChange], n: usize) -> String {
    let shown: Vec<String> = changes
        .iter()
        .take(n)
        .map(|c| {
            let how = match (c.presence, c.change_pct) {
                (Presence::New, _) => "new".to_string(),
                (Presence::Gone, _) => "gone".to_string(),
                (Presence::BelowCutoff, _) => "one side below the node cut-off".to_string(),
                (Presence::Both, Some(p)) => format!("{p:+.0}%"),
                (Presence::Both, None) => "-".to_string(),
            };
            format!("{} {:+.2} ms ({how})", c.name, c.change_ms)
        })
        .collect();
    if shown.is_empty() {
        "none".into()
    } else {
        shown.join(", ")
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::memory_pairs::duet_memory;
    use crate::compare::{BaselineUsed, DEFAULT_THRESHOLDS};

    #[test]
    fn a_duets_memory_line_gives_each_pair_the_floor_and_the_arena() {
        let m = duet_memory(
            &[(273.0, 290.0), (273.3, 290.2)],
            &[(163.79, 170.0), (163.79, 170.0)],
            Some(5.0),
        );
        assert_eq!(
            memory_line(&m),
            "peak memory 290 MiB vs 273 MiB (per pair +6.2%, +6.2%; A/A floor 1.0%), regressed (threshold 5%); ORT arena peak 170.0 MiB against 163.8 MiB (+3.8%, the same in every worker): within the 5% threshold"
        );
    }

    fn header_of(mode: Mode, source: &str) -> String {
        let mut m = ModelVerdict::new("m", "cpu", "x86_64", &DEFAULT_THRESHOLDS, "t".into());
        m.baseline = Some(BaselineUsed {
            source: source.into(),
            center_ms: 10.0,
            runs_used: 12,
            runs_total: 12,
        });
        let table = verdict_table(&VerdictReport::new(mode, vec![m], false));
        table.lines().nth(1).unwrap_or_default().to_owned()
    }

    #[test]
    fn the_terminal_table_names_a_duets_sides_as_the_comment_does() {
        let ci = header_of(Mode::Ab, "variant A (base)");
        assert!(ci.contains("base (units)") && ci.contains("head"), "{ci}");
        let ab = header_of(Mode::Ab, "variant A");
        assert!(ab.contains("A (units)") && !ab.contains("base"), "{ab}");
        let compare = header_of(Mode::Compare, "baselines/m.json");
        assert!(
            compare.contains("baseline (runs)") && compare.contains("candidate"),
            "{compare}"
        );
    }
}
