//! Tables and markdown for the thread sweep and the load test: finished reports in, text out.

use std::fmt::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use super::table::ms;
use crate::sizing::load::Grade;
use crate::sizing::load_report::LoadReport;
use crate::sizing::sweep::{LimitSource, SweepReport, SweepRow};

fn new_table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().map(Cell::new));
    t
}

fn right(s: String) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn throttled(r: &SweepRow) -> String {
    match (r.nr_throttled, r.nr_periods) {
        (Some(t), Some(p)) => format!(
            "{t}/{p} ({})",
            r.throttled_share()
                .map_or_else(|| "-".into(), |s| format!("{:.0}%", s * 100.0))
        ),
        _ => "-".into(),
    }
}

fn flags(r: &SweepRow) -> String {
    if r.flags.is_empty() {
        "ok".into()
    } else {
        r.flags
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// How the limit came about, in words.
pub fn limit_text(r: &SweepReport) -> String {
    match (&r.limit_source, r.limit_cpus) {
        (LimitSource::Applied { cgroup }, Some(c)) => {
            format!("{c} CPU, applied by bench-gate (cgroup {cgroup})")
        }
        (LimitSource::Found { cgroup }, Some(c)) => {
            format!("{c} CPU, already in force (cgroup {cgroup})")
        }
        (LimitSource::None { reason }, _) => {
            format!("NONE: measured without a CPU limit ({reason})")
        }
        (_, None) => "none".into(),
    }
}

pub fn sweep_table(r: &SweepReport) -> String {
    let mut t = new_table(&[
        "model",
        "threads",
        "n",
        "median ms",
        "p95",
        "p99",
        "throttled periods",
        "throttled ms",
        "flag",
    ]);
    for m in &r.models {
        for row in &m.rows {
            t.add_row(vec![
                Cell::new(&m.model),
                right(row.threads.to_string()),
                right(row.n.to_string()),
                right(ms(row.median_ms)),
                right(ms(row.p95_ms)),
                right(ms(row.p99_ms)),
                right(throttled(row)),
                right(opt(row
                    .throttled_time_ns
                    .map(|n| format!("{:.0}", n as f64 / 1e6)))),
                Cell::new(flags(row)),
            ]);
        }
    }
    format!(
        "CPU limit: {}; pinned to CPUs {}\n{t}",
        limit_text(r),
        crate::platform::affinity::format_cpu_list(&r.pinned_cpus)
    )
}

pub fn sweep_markdown(r: &SweepReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Thread sweep on {}\n", r.cpu_model);
    let _ = writeln!(
        s,
        "CPU limit: {}; pinned to CPUs {} (the quota, not affinity, is the constraint).\n",
        limit_text(r),
        crate::platform::affinity::format_cpu_list(&r.pinned_cpus)
    );
    for m in &r.models {
        let _ = writeln!(s, "### {}\n", m.model);
        let _ = writeln!(
            s,
            "| threads | n | median ms | p95 | p99 | throttled periods | throttled ms | flag |\n|---:|---:|---:|---:|---:|---:|---:|---|"
        );
        for row in &m.rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                row.threads,
                row.n,
                ms(row.median_ms),
                ms(row.p95_ms),
                ms(row.p99_ms),
                throttled(row),
                opt(row
                    .throttled_time_ns
                    .map(|n| format!("{:.0}", n as f64 / 1e6))),
                flags(row)
            );
        }
        let _ = writeln!(s);
        for line in &m.advice.lines {
            let _ = writeln!(s, "- {line}");
        }
        let _ = writeln!(s);
    }
    s
}

fn grade_text(g: Option<&crate::sizing::GradeOutcome>) -> String {
    match g.map(|g| g.grade) {
        Some(Grade::Excellent) => "excellent".into(),
        Some(Grade::Acceptable) => "acceptable".into(),
        Some(Grade::NeedsWork) => "needs work".into(),
        None => "-".into(),
    }
}

fn pct(v: Option<f64>) -> String {
    opt(v.map(|v| format!("{:.0}%", v * 100.0)))
}

pub fn load_table(r: &LoadReport) -> String {
    let mut t = new_table(&[
        "streams",
        "requests",
        "errors",
        "RPS",
        "p50",
        "p75",
        "p90",
        "p95",
        "p99",
        "max",
        "CPU",
        "scale eff.",
        "grade",
    ]);
    for row in &r.rows {
        t.add_row(vec![
            right(row.streams.to_string()),
            right(row.requests.to_string()),
            right(row.errors.to_string()),
            right(format!("{:.2}", row.rps)),
            right(ms(row.p50_ms)),
            right(ms(row.p75_ms)),
            right(ms(row.p90_ms)),
            right(ms(row.p95_ms)),
            right(ms(row.p99_ms)),
            right(ms(row.max_ms)),
            right(pct(row.cpu_utilisation)),
            right(pct(row.scale_efficiency)),
            Cell::new(grade_text(row.grade.as_ref())),
        ]);
    }
    let mut out = format!(
        "{} on {}, {} loop, pinned to CPUs {}, {} intra-op thread(s) per stream\n{t}",
        r.model,
        r.cpu_model,
        r.mode,
        crate::platform::affinity::format_cpu_list(&r.pinned_cpus),
        r.intra_op_threads
    );
    out.push_str(&format!(
        "\nknee: {}",
        opt(r.knee_streams.map(|k| format!("{k} streams")))
    ));
    for w in &r.warnings {
        out.push_str(&format!("\nwarning: {w}"));
    }
    out
}

pub fn load_markdown(r: &LoadReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Load test: {} on {}\n", r.model, r.cpu_model);
    let _ = writeln!(
        s,
        "{} loop, pinned to CPUs {}, {} intra-op thread(s) per stream.\n",
        r.mode,
        crate::platform::affinity::format_cpu_list(&r.pinned_cpus),
        r.intra_op_threads
    );
    let _ = writeln!(
        s,
        "| streams | RPS | p50 | p75 | p90 | p95 | p99 | max | errors | CPU | scale eff. | grade |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for row in &r.rows {
        let _ = writeln!(
            s,
            "| {} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.streams,
            row.rps,
            ms(row.p50_ms),
            ms(row.p75_ms),
            ms(row.p90_ms),
            ms(row.p95_ms),
            ms(row.p99_ms),
            ms(row.max_ms),
            row.errors,
            pct(row.cpu_utilisation),
            pct(row.scale_efficiency),
            grade_text(row.grade.as_ref())
        );
    }
    let _ = writeln!(
        s,
        "\nScale efficiency = (RPS at N / RPS at 1) / N; 90% or more is good. Knee: {}.",
        opt(r.knee_streams.map(|k| format!("{k} streams")))
    );
    for row in &r.rows {
        if let Some(g) = &row.grade {
            for miss in &g.misses {
                let _ = writeln!(s, "- {} streams: {miss}", row.streams);
            }
        }
        for n in &row.notes {
            let _ = writeln!(s, "- {} streams: {n}", row.streams);
        }
    }
    for w in &r.warnings {
        let _ = writeln!(s, "- warning: {w}");
    }
    s
}
