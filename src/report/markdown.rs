//! The pull-request comment: a pure function from a [`ReportInput`] to markdown.
//!
//! Layout, most important first so a reviewer can stop reading at any point: the hidden
//! marker, the verdict in one line, the per-model table, what changed, warnings, the sizing,
//! the latency-history chart, the environment and raw statistics (collapsed), the footer.
//!
//! GitHub rejects comments over [`GITHUB_COMMENT_LIMIT`] characters. [`render`] never fails
//! because of size: it drops the raw statistics first, then the chart, then table rows
//! beyond the worst N models, and says what it left out. Reasons are shown as whole sentences
//! ([`sentences`]): where room is short, later sentences are left out and the text says so.

use std::fmt::Write;

use super::chart::{self, Series};
use super::escape::inline;
use super::input::{Outcome, ReportInput, marker};
use super::layout::{Layout, MAX_CHARTS, MAX_SIZING};
use super::numbers::{ms, pct};
use super::rows::{Row, rows, tally};
use super::sentences::{self, MAX_HEADLINE_CHARS, MAX_SENTENCES_CHARS, MORE};
use super::sides::Sides;
use super::{attribution, heard, sections};

/// GitHub's limit on a comment body, in characters (Unicode scalar values).
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// The shrinking steps, in order: details, then the chart, then ever fewer rows.
const STEPS: [Layout; 8] = [
    Layout::FULL,
    Layout {
        details: false,
        ..Layout::FULL
    },
    Layout {
        details: false,
        chart: false,
        max_rows: None,
    },
    lean(100),
    lean(50),
    lean(20),
    lean(10),
    lean(3),
];

const fn lean(rows: usize) -> Layout {
    Layout {
        details: false,
        chart: false,
        max_rows: Some(rows),
    }
}

/// The comment, within [`GITHUB_COMMENT_LIMIT`] characters.
pub fn render(input: &ReportInput) -> String {
    render_within(input, GITHUB_COMMENT_LIMIT)
}

/// The comment, within `limit` characters: the fullest layout that fits, else a cut.
pub fn render_within(input: &ReportInput, limit: usize) -> String {
    for layout in STEPS {
        let text = render_layout(input, layout);
        if text.chars().count() <= limit {
            return text;
        }
    }
    // Even three rows do not fit (absurd inputs): cut, keeping the marker and the verdict.
    let text = render_layout(input, lean(3));
    let note = "\n\n_Cut to fit GitHub's comment limit; the workflow run has the full report._\n";
    let keep = limit.saturating_sub(note.chars().count());
    let mut cut: String = text.chars().take(keep).collect();
    // Whole lines only: a line cut short would end mid-word.
    cut.truncate(cut.rfind('\n').map_or(0, |end| end + 1));
    cut.push_str(note);
    cut
}

/// The comment in one given layout, whatever its length.
pub fn render_layout(input: &ReportInput, layout: Layout) -> String {
    let rows = rows(input);
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "{}", marker(&input.gate));
    let _ = writeln!(w, "{}\n", headline(input, &rows));
    model_table(w, &rows, Sides::of(&input.verdict), layout.max_rows);
    output_drift(w, &rows);
    if let Some(second) = &input.second_opinion {
        second_opinion(w, second);
    }
    attribution::memory(w, &rows, layout.max_rows);
    heard::accuracy(w, &rows, layout.max_rows);
    attribution::operators(w, &rows, layout);
    sections::what_changed(w, &rows, Sides::of(&input.verdict), layout.max_rows);
    sections::warnings(w, input, &rows, layout.max_rows);
    let sizings = layout.max_rows.unwrap_or(MAX_SIZING).min(MAX_SIZING);
    for section in input.sizing.iter().take(sizings) {
        sections::sizing(w, section);
    }
    if input.sizing.len() > sizings {
        let _ = writeln!(
            w,
            "_…and the sizing of {} more models (see the `size` output)._\n",
            input.sizing.len() - sizings
        );
    }
    if layout.chart {
        charts(w, input, &rows);
    }
    if layout.details {
        sections::details(w, input, &rows);
    }
    let omitted = omitted(input, &rows, layout);
    if !omitted.is_empty() {
        let _ = writeln!(
            w,
            "_Shortened to fit GitHub's comment limit: {} left out; the workflow run's artifact has the full report._\n",
            omitted.join(", ")
        );
    }
    sections::footer(w, input);
    out
}

/// What `layout` leaves out that the full report would have shown.
fn omitted(input: &ReportInput, rows: &[Row], layout: Layout) -> Vec<String> {
    let mut out = Vec::new();
    if !layout.details && (input.result.is_some() || !rows.is_empty()) {
        out.push("the environment and raw statistics".to_owned());
    }
    if !layout.chart && !input.history.is_empty() {
        out.push("the latency-history chart".to_owned());
    }
    if let Some(n) = layout.max_rows.filter(|n| rows.len() > *n) {
        out.push(format!("{} of {} models", rows.len() - n, rows.len()));
    }
    if !layout.details && rows.iter().any(|r| r.verdict.operators.is_some()) {
        out.push("the full per-operator breakdown".to_owned());
    }
    out
}

/// The verdict in one line: what a reviewer reads in the notification.
pub fn headline(input: &ReportInput, rows: &[Row]) -> String {
    let overall = input.verdict.verdict;
    let worst = rows.iter().find(|r| r.verdict.verdict == overall);
    let cpu = worst
        .map(|r| inline(&r.verdict.cpu_model))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "this CPU".to_owned());
    let count = rows.iter().filter(|r| r.verdict.verdict == overall).count();
    let of_models = |what: &str| {
        if rows.len() > 1 {
            format!(" ({count} of {} models {what})", rows.len())
        } else {
            String::new()
        }
    };
    let gate = "**bench-gate**:";
    // A failed output check fails the gate (exit 1) whatever the latency verdict says.
    let failed_outputs: Vec<String> = rows
        .iter()
        .filter(|r| {
            r.verdict
                .outputs
                .as_ref()
                .is_some_and(|o| o.fails_check && o.status == "changed")
        })
        .map(|r| inline(&r.verdict.model))
        .collect();
    if !failed_outputs.is_empty() {
        return format!(
            "{gate} ❌ **outputs changed** ({}; on\\_output\\_change = \"fail\"), latency {}",
            failed_outputs.join(", "),
            overall.badge()
        );
    }
    match (overall, worst) {
        (Outcome::Regressed, Some(r)) if heard::accuracy_only(r) => {
            let a = r.verdict.accuracy.as_ref();
            format!(
                "{gate} ❌ **regressed**: the model hears worse on {cpu}: {}, {}{}",
                inline(&r.verdict.model),
                a.map_or_else(String::new, heard::wer_change),
                of_models("regressed")
            )
        }
        (Outcome::Regressed, Some(r)) if attribution::memory_only(r) => {
            let m = r.verdict.memory.as_ref();
            format!(
                "{gate} ❌ **regressed**: peak memory grew by {} on {cpu}: {}{}{}",
                pct(m.and_then(|m| m.change_pct)),
                inline(&r.verdict.model),
                attribution::memory_ci_and_threshold(m),
                of_models("regressed")
            )
        }
        (Outcome::Regressed, Some(r)) => format!(
            "{gate} ❌ **regressed** by {} on {cpu}: {} {}{}{}",
            pct(r.verdict.change_pct),
            inline(&r.verdict.model),
            inline(&r.verdict.metric),
            ci_and_threshold(r),
            of_models("regressed")
        ),
        (Outcome::Inconclusive, Some(r)) => {
            let (why, more) = inconclusive_why(r);
            format!(
                "{gate} ⚠️ **inconclusive** because {why} ({}{}){}",
                inline(&r.verdict.model),
                if more {
                    format!("; {MORE}")
                } else {
                    String::new()
                },
                of_models("inconclusive")
            )
        }
        (Outcome::NoBaseline, Some(r)) => {
            let others = &r.verdict.cpu_models_with_baseline;
            let elsewhere = if others.is_empty() {
                String::new()
            } else {
                let names: Vec<String> = others.iter().take(5).map(|c| inline(c)).collect();
                format!("; baselines exist for {}", names.join(", "))
            };
            format!(
                "{gate} ℹ️ **no baseline** for {cpu} yet{elsewhere}{}",
                of_models("without a baseline")
            )
        }
        (Outcome::Improved, Some(r)) => format!(
            "{gate} ✅ **passed**, faster by {} on {cpu}: {}{}",
            pct(r.verdict.change_pct.map(|c| -c)),
            inline(&r.verdict.model),
            ci_and_threshold(r)
        ),
        _ => {
            let n = rows.len();
            let models = if n == 1 { "model" } else { "models" };
            format!("{gate} ✅ **passed**: {n} {models} within their thresholds on {cpu}")
        }
    }
}

/// Why a model is inconclusive, for the headline: the leading whole sentences of its first
/// contamination or reason, and whether any were left out. Never a sentence cut short.
fn inconclusive_why(r: &Row) -> (String, bool) {
    let first = r
        .verdict
        .contamination
        .first()
        .or(r.verdict.reasons.first());
    let Some(first) = first else {
        return ("the noise hides any change".to_owned(), false);
    };
    // A first sentence longer than the headline's room is still better whole than not at all.
    let shown = [MAX_HEADLINE_CHARS, MAX_SENTENCES_CHARS]
        .into_iter()
        .map(|max| sentences::leading(first, max))
        .find(|s| !s.text.is_empty());
    match shown {
        Some(s) => (s.text, s.more),
        None => ("of a reason too long for this line".to_owned(), true),
    }
}

fn ci_and_threshold(r: &Row) -> String {
    let mut parts = Vec::new();
    if let Some(ci) = r.verdict.ci_pct {
        parts.push(format!("CI {} … {}", pct(Some(ci.low)), pct(Some(ci.high))));
    }
    if let Some(t) = r.verdict.threshold_pct {
        parts.push(format!("threshold {}", threshold(t)));
    }
    if let Some(m) = r.verdict.mde_pct {
        parts.push(format!("would catch ≥ {}", pct1(m)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// The per-model table: baseline against candidate (a duet's base against head, or A against
/// B), median and p95, change, threshold, verdict.
fn model_table(w: &mut String, rows: &[Row], sides: Sides, max_rows: Option<usize>) {
    if rows.is_empty() {
        let _ = writeln!(w, "_The verdict lists no models._\n");
        return;
    }
    let shown = max_rows.unwrap_or(usize::MAX).min(rows.len());
    let (before, after) = (sides.before(), sides.after());
    let _ = writeln!(
        w,
        "| Model | CPU | {before} median | {after} median | {before} p95 | {after} p95 | Change (CI) | Threshold | Would catch | Peak memory | Verdict |"
    );
    let _ = writeln!(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|");
    for r in &rows[..shown] {
        let v = r.verdict;
        let change = match (v.change_pct, v.ci_pct) {
            (Some(c), Some(ci)) => format!(
                "{} ({} … {})",
                pct(Some(c)),
                pct(Some(ci.low)),
                pct(Some(ci.high))
            ),
            (c, _) => pct(c),
        };
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} on {} | {} | {} | {} |",
            inline(&v.model),
            inline(&v.cpu_model),
            ms(r.baseline_median_ms),
            ms(r.candidate_median_ms),
            ms(r.baseline_p95_ms),
            ms(r.candidate_p95_ms),
            change,
            v.threshold_pct.map_or_else(|| "—".to_owned(), threshold),
            if v.metric == "p95" { "p95" } else { "median" },
            v.mde_pct
                .map_or_else(|| "—".to_owned(), |m| format!("≥ {}", pct1(m))),
            attribution::memory_cell(r),
            v.verdict.badge()
        );
    }
    if shown < rows.len() {
        let rest: Vec<String> = tally(&rows[shown..])
            .iter()
            .map(|(o, n)| format!("{n} {}", o.badge()))
            .collect();
        let _ = writeln!(
            w,
            "\n_…and {} more models: {}._",
            rows.len() - shown,
            rest.join(", ")
        );
    }
    w.push('\n');
}

/// Charts for the worst models that have a history.
fn charts(w: &mut String, input: &ReportInput, rows: &[Row]) {
    let mut drawn = Vec::new();
    for r in rows {
        if drawn.len() == MAX_CHARTS {
            break;
        }
        let Some(history) = input.history.iter().find(|h| h.model == r.verdict.model) else {
            continue;
        };
        let candidate = if r.verdict.metric == "p95" {
            r.candidate_p95_ms
        } else {
            r.candidate_median_ms
        };
        let Some(candidate_ms) = candidate else {
            continue;
        };
        let series = Series {
            model: &r.verdict.model,
            metric: &r.verdict.metric,
            history: &history.runs,
            candidate_ms,
        };
        if let Some(c) = chart::mermaid(&series) {
            drawn.push(c);
        }
    }
    if !drawn.is_empty() {
        let _ = writeln!(w, "### Latency history\n");
        for c in drawn {
            let _ = writeln!(w, "{c}");
        }
    }
}

/// The duet's output comparison, one line per model, when any model has one.
fn output_drift(w: &mut String, rows: &[Row]) {
    let with: Vec<_> = rows
        .iter()
        .filter_map(|r| Some((r, r.verdict.outputs.as_ref()?)))
        .collect();
    if with.is_empty() {
        return;
    }
    let _ = writeln!(w, "**Outputs** (both sides ran the same inputs):\n");
    for (r, o) in with {
        let worst = o
            .tensors
            .iter()
            .filter_map(|t| t.max_abs_diff)
            .fold(0.0f64, f64::max);
        let tokens = match o.tokens_identical {
            Some(true) => ", same decoded tokens",
            Some(false) => ", **different decoded tokens**",
            None => "",
        };
        let what = match o.status.as_str() {
            "identical" => "identical".to_owned(),
            "within_tolerance" => format!("within tolerance (max abs diff {worst:.1e})"),
            "changed" => {
                let names: Vec<String> = o
                    .tensors
                    .iter()
                    .filter(|t| !t.within_tolerance)
                    .map(|t| inline(&t.name))
                    .collect();
                format!("⚠️ **changed**: {}", names.join(", "))
            }
            _ => "not compared".to_owned(),
        };
        let _ = writeln!(w, "- {}: {what}{tokens}", inline(&r.verdict.model));
        output_tensors(w, &o.tensors);
    }
    let _ = writeln!(w);
}

/// Most output tensors listed under a model; the verdict JSON has them all.
const MAX_TENSOR_LINES: usize = 8;

/// Under a model's output line, one line per tensor: its type, how it was compared and what
/// was found, changed ones first.
fn output_tensors(w: &mut String, tensors: &[super::input::OutputTensorView]) {
    let mut order: Vec<_> = tensors.iter().collect();
    order.sort_by_key(|t| t.within_tolerance);
    for t in order.iter().take(MAX_TENSOR_LINES) {
        let method = t
            .compared
            .as_deref()
            .filter(|c| !c.starts_with("not compared"));
        let how: Vec<String> = [t.dtype.as_deref(), method]
            .into_iter()
            .flatten()
            .map(inline)
            .collect();
        let how = if how.is_empty() {
            String::new()
        } else {
            format!(" ({})", how.join(", "))
        };
        let found = t.finding();
        let found = if t.within_tolerance {
            sentences::reason(&found)
        } else {
            format!("**{}**", sentences::reason(&found))
        };
        let _ = writeln!(w, "  - `{}`{how}: {found}", t.name.replace('`', "'"));
    }
    if order.len() > MAX_TENSOR_LINES {
        let _ = writeln!(
            w,
            "  - and {} more outputs (all in the verdict JSON)",
            order.len() - MAX_TENSOR_LINES
        );
    }
}

/// The committed-baseline verdict beside a duet: one line per model, marked as not deciding.
fn second_opinion(w: &mut String, v: &super::VerdictView) {
    let _ = writeln!(
        w,
        "**Second opinion** (this run against the committed baselines for this CPU; shown for context, the duet above decides):\n"
    );
    for m in &v.models {
        let change = match (m.change_pct, m.ci_pct) {
            (Some(c), Some(ci)) => format!(
                " {} (CI {} … {})",
                pct(Some(c)),
                pct(Some(ci.low)),
                pct(Some(ci.high))
            ),
            (c, _) => c.map_or_else(String::new, |c| format!(" {}", pct(Some(c)))),
        };
        let _ = writeln!(w, "- {}: {}{change}", inline(&m.model), m.verdict.badge());
    }
    let _ = writeln!(w);
}

/// A percentage to one decimal, for figures that come out of arithmetic.
fn pct1(p: f64) -> String {
    if p.is_finite() {
        format!("{p:.1}%")
    } else {
        "—".to_owned()
    }
}

fn threshold(t: f64) -> String {
    if t.is_finite() {
        format!("{t}%")
    } else {
        "—".to_owned()
    }
}

#[cfg(test)]
#[path = "markdown_tests.rs"]
mod tests;
