//! Terminal tables (comfy-table) for run results and the detected environment.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use crate::result::RunResult;

pub(crate) fn new_table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().map(Cell::new));
    t
}

pub(crate) fn right(s: String) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

/// Milliseconds with precision that suits the magnitude.
pub fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The summary printed after `bench-gate run`.
pub fn run_summary(r: &RunResult) -> String {
    let mut t = new_table(&[
        "model",
        "n",
        "median ms",
        "95% CI",
        "p90",
        "p95",
        "p99",
        "cv",
        "rps",
        "RTF",
        "peak MiB",
    ]);
    for m in &r.models {
        let l = &m.latency_ms;
        t.add_row(vec![
            Cell::new(&m.name),
            right(m.iterations.to_string()),
            right(ms(l.median)),
            right(format!("{}-{}", ms(l.median_ci.low), ms(l.median_ci.high))),
            right(ms(l.p90)),
            right(ms(l.p95)),
            right(ms(l.p99)),
            right(format!("{:.1}%", l.cv * 100.0)),
            right(format!("{:.2}", m.rps)),
            right(m.rtf.map_or_else(|| "-".into(), |r| format!("{r:.1}x"))),
            right(format!("{:.0}", m.memory_mb)),
        ]);
    }
    let mut out = format!(
        "{} ({}) · ONNX Runtime {} · CPUs {:?}\n{t}",
        r.environment.cpu.model,
        r.environment.cpu.architecture,
        r.ort.version,
        r.models
            .first()
            .map(|m| m.pinned_cpus.clone())
            .unwrap_or_default()
    );
    for m in &r.models {
        if !m.stages.is_empty() && m.stages.len() > 1 {
            let parts: Vec<String> = m
                .stages
                .iter()
                .map(|s| match s.per_token_median_ms {
                    Some(pt) => format!("{} {} ms ({} ms/token)", s.name, ms(s.median_ms), ms(pt)),
                    None => format!("{} {} ms", s.name, ms(s.median_ms)),
                })
                .collect();
            out.push_str(&format!(
                "\n{}: {} (medians; load {:.0} ms excluded)",
                m.name,
                parts.join(", "),
                m.load_time_ms
            ));
        }
        for w in &m.warnings {
            out.push_str(&format!("\nwarning: {}: {w}", m.name));
        }
    }
    out
}

/// What `bench-gate env` prints.
pub fn environment(env: &crate::platform::Environment, ort: &serde_json::Value) -> String {
    use crate::platform::affinity::format_cpu_list;
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    let cpu = &env.cpu;
    let mut row = |k: &str, v: String| {
        t.add_row(vec![Cell::new(k), Cell::new(v)]);
    };
    row(
        "CPU model",
        format!("{} (from {:?})", cpu.model, cpu.model_source),
    );
    row("vendor", cpu.vendor.clone().unwrap_or_else(|| "-".into()));
    row("architecture", cpu.architecture.clone());
    if let Some(sig) = &cpu.signature {
        row("signature", sig.clone());
    }
    row(
        "inference features",
        if cpu.features.is_empty() {
            "-".into()
        } else {
            cpu.features.join(" ")
        },
    );
    row(
        "logical / physical",
        format!(
            "{} / {}",
            cpu.logical_cpus,
            cpu.physical_cores
                .map_or_else(|| "?".into(), |c| c.to_string())
        ),
    );
    row(
        "CPUs online",
        env.online_cpus
            .map_or_else(|| "?".into(), |c| c.to_string()),
    );
    row("affinity (this process)", format_cpu_list(&env.affinity));
    row(
        "cgroup cpuset",
        env.cgroup_cpuset
            .as_deref()
            .map_or_else(|| "-".into(), format_cpu_list),
    );
    row(
        "cgroup CPU limit",
        match &env.cpu_limit {
            Some(l) => match l.cpus {
                Some(c) => format!(
                    "{c:.2} CPUs ({:?}: {} / {} us, at {})",
                    l.version,
                    l.quota_us.unwrap_or(0),
                    l.period_us,
                    l.cgroup_path
                ),
                None => format!("unlimited ({:?}, {})", l.version, l.cgroup_path),
            },
            None => "no cgroup cpu controller found".into(),
        },
    );
    row(
        "memory",
        format!(
            "{} total, limit {}",
            env.total_memory_bytes.map_or_else(|| "?".into(), mib),
            env.memory_limit
                .as_ref()
                .and_then(|m| m.limit_bytes)
                .map_or_else(|| "none".into(), mib)
        ),
    );
    row(
        "kernel",
        env.kernel_release.clone().unwrap_or_else(|| "-".into()),
    );
    row("host", env.hostname.clone().unwrap_or_else(|| "-".into()));
    row(
        "container",
        if env.in_container {
            format!("yes ({})", env.container_evidence.join(", "))
        } else {
            "no".into()
        },
    );
    match (ort.get("version"), ort.get("error")) {
        (Some(v), _) => row(
            "ONNX Runtime",
            format!(
                "{} ({})",
                v.as_str().unwrap_or("?"),
                ort.get("library").and_then(|l| l.as_str()).unwrap_or("?")
            ),
        ),
        (_, Some(e)) => row(
            "ONNX Runtime",
            format!("NOT LOADED: {}", e.as_str().unwrap_or("?")),
        ),
        _ => {}
    }
    let mut out = t.to_string();
    if let Some(w) = &env.isolation_warning {
        out.push_str(&format!("\nwarning: {w}"));
    }
    if let Some(h) = cpu.generic_model_hint() {
        out.push_str(&format!("\nwarning: {h}"));
    }
    out
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ms_precision_follows_magnitude() {
        assert_eq!(ms(412.345), "412.3");
        assert_eq!(ms(25.678), "25.68");
        assert_eq!(ms(0.12345), "0.123");
    }
}
