//! The comment's secondary sections: what changed, warnings, sizing, the collapsed details and
//! the footer. Every string that came from a file or the environment goes through
//! [`inline`] (names) or [`reason`] (sentences, shown whole); numbers are formatted here.

use std::fmt::Write;

use super::escape::{inline, link_target};
use super::input::{ReportInput, SizingSection};
use super::numbers::ms;
use super::rows::Row;
use super::sentences::reason;
use super::sides::Sides;
use crate::platform::THROTTLED_PERIODS_WARN;
use crate::sizing::{Source, Warning};

/// "What changed" between baseline and candidate, from the fingerprints: one row per distinct
/// change, with the models it concerns.
pub fn what_changed(w: &mut String, rows: &[Row], sides: Sides, max_rows: Option<usize>) {
    let compared = rows.iter().any(|r| r.verdict.baseline.is_some());
    let mut changes: Vec<(String, String, String, Vec<&str>)> = Vec::new();
    for r in rows {
        for c in &r.verdict.what_changed {
            match changes
                .iter_mut()
                .find(|(w, b, n, _)| *w == c.what && *b == c.baseline && *n == c.candidate)
            {
                Some((.., models)) => models.push(&r.verdict.model),
                None => changes.push((
                    c.what.clone(),
                    c.baseline.clone(),
                    c.candidate.clone(),
                    vec![&r.verdict.model],
                )),
            }
        }
    }
    if changes.is_empty() {
        if compared {
            let _ = writeln!(
                w,
                "**What changed:** nothing in the fingerprints (same model files, ONNX Runtime, session options and image {}).\n",
                if sides.duet() {
                    "on both sides"
                } else {
                    "as the baseline"
                }
            );
        }
        return;
    }
    let _ = writeln!(w, "### What changed\n");
    let _ = writeln!(
        w,
        "| What | {} | {} | Models |",
        sides.before(),
        sides.after()
    );
    let _ = writeln!(w, "|---|---|---|---|");
    let shown = max_rows.unwrap_or(usize::MAX).min(changes.len());
    for (what, baseline, candidate, models) in &changes[..shown] {
        let names = if models.len() == rows.len() && rows.len() > 1 {
            "all".to_owned()
        } else {
            let first: Vec<String> = models.iter().take(3).map(|m| inline(m)).collect();
            let more = models.len().saturating_sub(3);
            if more > 0 {
                format!("{} and {more} more", first.join(", "))
            } else {
                first.join(", ")
            }
        };
        let _ = writeln!(
            w,
            "| {} | {} | {} | {names} |",
            inline(what),
            inline(baseline),
            inline(candidate)
        );
    }
    if shown < changes.len() {
        let _ = writeln!(w, "\n_…and {} more changes._", changes.len() - shown);
    }
    w.push('\n');
}

/// Throttling, contaminated measurements and missing exclusive cores: what makes a number
/// less trustworthy or a production setup fragile.
pub fn warnings(w: &mut String, input: &ReportInput, rows: &[Row], max_rows: Option<usize>) {
    let mut items: Vec<String> = Vec::new();
    let mut add = |s: String| {
        if !items.contains(&s) {
            items.push(s);
        }
    };
    for r in rows {
        for c in &r.verdict.contamination {
            add(format!(
                "**Contaminated measurement** ({}): {}",
                inline(&r.verdict.model),
                reason(c)
            ));
        }
    }
    if let Some(result) = &input.result {
        for m in &result.models {
            if let Some(ratio) = m.during.throttled_period_ratio
                && ratio >= THROTTLED_PERIODS_WARN
            {
                add(format!(
                    "**Throttled** ({}): the CFS quota stopped the container in {:.0}% of periods during the measurement; latency is inflated",
                    inline(&m.name),
                    ratio * 100.0
                ));
            }
            for warning in &m.warnings {
                add(format!("{}: {}", inline(&m.name), reason(warning)));
            }
        }
        if let Some(isolation) = &result.environment.isolation_warning {
            add(format!("**No exclusive cores**: {}", reason(isolation)));
        }
    }
    if input.sizing.iter().any(|s| {
        s.report
            .plan
            .warnings
            .contains(&Warning::BurstableNoExclusiveCores)
    }) {
        add("**No exclusive cores in production**: the suggested pods are Burstable (requests below limits), so they share every core with their neighbours; see the sizing warnings".to_owned());
    }
    if items.is_empty() {
        return;
    }
    let _ = writeln!(w, "### Warnings\n");
    let shown = max_rows.unwrap_or(usize::MAX).min(items.len());
    for item in &items[..shown] {
        let _ = writeln!(w, "- ⚠️ {item}");
    }
    if shown < items.len() {
        let _ = writeln!(w, "- …and {} more warnings", items.len() - shown);
    }
    w.push('\n');
}

/// The sizing section, rendered by `sizing::markdown` from a copy whose names are escaped
/// (CPU models and instance names come from result files and the catalogue).
pub fn sizing(w: &mut String, section: &SizingSection) {
    let report = &section.report;
    let mut plan = report.plan.clone();
    plan.input.production_cpu = inline(&plan.input.production_cpu);
    if let Source::Derived { reference_cpu, .. } = &mut plan.input.source {
        *reference_cpu = inline(reference_cpu);
    }
    let ratio = report.ratio.clone().map(|mut r| {
        r.target_cpu = inline(&r.target_cpu);
        r.reference_cpu = inline(&r.reference_cpu);
        r
    });
    let fit = report.fit.clone().map(|mut f| {
        f.instance.name = inline(&f.instance.name);
        f
    });
    let text = super::plan::markdown(&plan, ratio.as_ref(), fit.as_ref());
    // One level below the comment's own sections' peers: the comment has no `##` headings.
    let heading = match &section.model {
        Some(model) => format!("### Production sizing of {} on ", inline(model)),
        None => "### Production sizing on ".to_owned(),
    };
    let text = text.replacen("## Production sizing on ", &heading, 1);
    let _ = writeln!(w, "{}\n", text.trim_end());
}

/// Environment and raw statistics, collapsed. Blank lines inside `<details>` are required for
/// GitHub to render the markdown tables inside it.
pub fn details(w: &mut String, input: &ReportInput, rows: &[Row]) {
    let duet = Sides::of(&input.verdict).duet();
    let _ = writeln!(
        w,
        "<details><summary>Environment and raw statistics</summary>\n"
    );
    if let Some(result) = &input.result {
        let env = &result.environment;
        let _ = writeln!(w, "| Environment | |\n|---|---|");
        let mut line = |k: &str, v: String| {
            let _ = writeln!(w, "| {k} | {v} |");
        };
        line("CPU", inline(&env.cpu.model));
        line("Architecture", inline(&env.cpu.architecture));
        line("ISA features", inline(&env.cpu.features.join(" ")));
        line(
            "CPUs online",
            env.online_cpus.map_or("—".into(), |n| n.to_string()),
        );
        line(
            "CPU limit (cgroup)",
            env.cpu_limit
                .as_ref()
                .and_then(|l| l.cpus)
                .map_or("unlimited".into(), |c| format!("{c} CPU")),
        );
        line("OS / kernel", {
            let kernel = env.kernel_release.as_deref().unwrap_or("—");
            format!("{} {}", inline(&env.os), inline(kernel))
        });
        line(
            "Container",
            if env.in_container {
                inline(&env.container_evidence.join(", "))
            } else {
                "no".into()
            },
        );
        line("ONNX Runtime", inline(&result.ort.version));
        line("bench-gate", inline(&result.bench_gate_version));
        line("Measured at", inline(&result.timestamp));
        w.push('\n');

        let _ = writeln!(
            w,
            "| Model | n | mean | median (95% CI) | p90 | p95 | p99 | min | max | CV | pinned CPUs | threads |"
        );
        let _ = writeln!(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|");
        for m in &result.models {
            let s = &m.latency_ms;
            let cpus: Vec<String> = m.pinned_cpus.iter().map(usize::to_string).collect();
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} ({} – {}) | {} | {} | {} | {} | {} | {:.1}% | {} | {} |",
                inline(&m.name),
                s.n,
                ms(Some(s.mean)),
                ms(Some(s.median)),
                ms(Some(s.median_ci.low)),
                ms(Some(s.median_ci.high)),
                ms(Some(s.p90)),
                ms(Some(s.p95)),
                ms(Some(s.p99)),
                ms(Some(s.min)),
                ms(Some(s.max)),
                s.cv * 100.0,
                cpus.join(","),
                m.session.intra_op_threads
            );
        }
        w.push('\n');
    }
    let explained: Vec<&Row> = rows
        .iter()
        .filter(|r| !r.verdict.reasons.is_empty() || !r.verdict.test.is_empty())
        .collect();
    if !explained.is_empty() {
        let _ = writeln!(w, "**How each verdict was reached**\n");
        for r in explained {
            let v = r.verdict;
            let mut parts: Vec<String> = v.reasons.iter().map(|s| reason(s)).collect();
            if !v.test.is_empty() {
                parts.push(format!("test: {}", reason(&v.test)));
            }
            match &v.baseline {
                Some(b) if duet => parts.push(format!(
                    "against {}, {} units",
                    inline(&b.source),
                    b.runs_used
                )),
                Some(b) => parts.push(format!(
                    "baseline {} ({} of {} runs)",
                    inline(&b.source),
                    b.runs_used,
                    b.runs_total
                )),
                None => {}
            }
            // One line per reason: a reason's own `; ` would blur a joined list.
            let _ = writeln!(w, "- {}:", inline(&v.model));
            for part in parts {
                let _ = writeln!(w, "  - {part}");
            }
        }
        w.push('\n');
    }
    let _ = writeln!(w, "</details>\n");
}

/// The commit and a link to the workflow run, when known.
pub fn footer(w: &mut String, input: &ReportInput) {
    let p = &input.provenance;
    let mut parts = vec![format!("bench-gate {}", env!("CARGO_PKG_VERSION"))];
    if let Some(commit) = &p.commit {
        let short: String = commit.chars().take(12).collect();
        parts.push(format!("commit {}", inline(&short)));
    }
    if let Some(branch) = &p.branch {
        parts.push(format!("branch {}", inline(branch)));
    }
    if let Some(url) = p.run_url.as_deref().and_then(link_target) {
        parts.push(format!("[workflow run]({url})"));
    }
    let _ = writeln!(w, "<sub>{}</sub>", parts.join(" · "));
}
