//! A capacity plan as markdown (`sizing_report.md`, the PR comment's sizing section, `size`'s
//! output): a finished plan in, text out. The one home of sizing text.

use std::fmt::Write;

use crate::size::SizeOutput;
use crate::sizing::cost::Fit;
use crate::sizing::fmt_num;
use crate::sizing::plan::{CapacityPlan, Policy, QosClass, Source};
use crate::sizing::ratio::Ratio;
use crate::sizing::resources::memory_quantity;
use crate::sizing::resources_yaml;

/// A price or small number with three significant digits: 0.009444 -> "0.00944", 248.2 -> "248".
fn sig3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return fmt_num(x, 0);
    }
    let decimals = (2 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    fmt_num(x, decimals)
}

fn pct(x: f64) -> String {
    format!("{}%", fmt_num(x * 100.0, 1))
}

/// The `sizing_report.md` section: ratio with its uncertainty, cores, pods, per-pod resources,
/// the YAML to paste, threads, memory, cost and the cheapest instance, then the warnings.
pub fn markdown(plan: &CapacityPlan, ratio: Option<&Ratio>, fit: Option<&Fit>) -> String {
    let input = &plan.input;
    let cpu = &input.production_cpu;
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "## Production sizing on {cpu}\n");

    if let Some(r) = ratio {
        let _ = writeln!(
            w,
            "**Normalization ratio** {} / {}: **{} ± {}** (95% interval {}–{}, worst case {}–{}; p95 ratio {}). One {} core does the work of {} {} cores for this model.\n",
            r.target_cpu,
            r.reference_cpu,
            fmt_num(r.value, 2),
            fmt_num(r.half_width(), 2),
            fmt_num(r.ci.0, 2),
            fmt_num(r.ci.1, 2),
            fmt_num(r.bounds.0, 2),
            fmt_num(r.bounds.1, 2),
            fmt_num(r.p95_ratio, 2),
            r.reference_cpu,
            fmt_num(r.value, 2),
            r.target_cpu,
        );
    }

    let latency = fmt_num(input.latency_ms_per_request_on_one_core, 1);
    let origin = match &input.source {
        Source::Measured => "measured on this CPU".to_string(),
        Source::Derived {
            reference_cpu,
            reference_latency_ms,
            ratio,
            ..
        } => {
            format!(
                "{} ms on {reference_cpu} × {}",
                fmt_num(*reference_latency_ms, 1),
                fmt_num(*ratio, 2)
            )
        }
    };
    let p = &plan.per_pod;
    let qos = match plan.qos {
        QosClass::Guaranteed => "Guaranteed",
        QosClass::Burstable => "Burstable",
    };
    let _ = writeln!(w, "| | |\n|---|---|");
    let _ = writeln!(
        w,
        "| Target load | {} RPS at {} utilisation |",
        fmt_num(input.target_rps, 2),
        pct(input.target_utilisation)
    );
    let _ = writeln!(w, "| One request on one core | {latency} ms ({origin}) |");
    let _ = writeln!(
        w,
        "| Throughput per core | {} RPS |",
        fmt_num(plan.rps_per_core, 2)
    );
    let _ = writeln!(w, "| Cores needed | {} |", fmt_num(plan.cores_needed, 2));
    let _ = writeln!(w, "| Pods | {} ({qos} QoS) |", plan.pods);
    let _ = writeln!(
        w,
        "| Per pod | `requests.cpu: {}`, `limits.cpu: {}`, memory {} |",
        p.cpu_request,
        p.cpu_limit,
        memory_quantity(p.memory_request_mib)
    );
    let _ = writeln!(
        w,
        "| Total CPU | {} requested, {} limit |",
        fmt_num(plan.total_cpu_request(), 2),
        fmt_num(plan.total_cpu_limit(), 2)
    );
    let _ = writeln!(
        w,
        "| ONNX Runtime | `intra_op_num_threads = {}`, {} concurrent requests per pod |",
        plan.intra_op_num_threads, plan.workers_per_pod
    );
    let _ = writeln!(
        w,
        "| Requests in flight (mean) | {} |",
        fmt_num(plan.mean_in_flight, 2)
    );
    let _ = writeln!(
        w,
        "| Memory per pod | {} MiB peak RSS + {} → {} MiB |",
        fmt_num(input.peak_rss_mib, 0),
        pct(input.memory_headroom),
        p.memory_request_mib
    );
    if let Some(f) = fit {
        let i = &f.instance;
        let _ = writeln!(
            w,
            "| Cheapest instance | {} × {} ({} vCPU, {} GiB), at most {} per node |",
            f.nodes_needed,
            i.name,
            fmt_num(i.vcpus, 2),
            fmt_num(i.memory_gib, 2),
            if f.pods_per_node == 1 {
                "1 pod".to_string()
            } else {
                format!("{} pods", f.pods_per_node)
            }
        );
        let _ = writeln!(
            w,
            "| Cost | {} per hour, {} per month (730 h) |",
            sig3(f.hourly_cost),
            sig3(f.monthly_cost)
        );
        let _ = writeln!(
            w,
            "| Cost per 1000 predictions | {} at the target load ({} if every vCPU were used) |",
            sig3(f.cost_per_1000),
            sig3(f.cost_per_1000_full_use)
        );
    }

    let _ = writeln!(w, "\n```yaml\n{}```\n", resources_yaml(plan));
    if input.policy == Policy::Guaranteed {
        let _ = writeln!(
            w,
            "Exclusive cores also need the node's kubelet to run `--cpu-manager-policy=static`: Guaranteed QoS alone did not fix the noisy-neighbour incident.\n"
        );
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(w, "**Warnings**\n");
        for warning in &plan.warnings {
            let _ = writeln!(w, "- {warning}");
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The `size` command's markdown: per model, the plan (or the ratio alone) and the method notes.
pub fn size_markdown(out: &SizeOutput) -> String {
    let mut md = String::new();
    for m in &out.models {
        md.push_str(&format!("# Sizing: {}\n\n", m.model));
        match &m.sizing {
            Some(s) => {
                md.push_str(&markdown(&s.plan, Some(&m.ratio), s.fit.as_ref()));
                md.push('\n');
            }
            None => {
                let r = &m.ratio;
                md.push_str(&format!(
                    "**Normalization ratio** {} / {}: **{:.2} ± {:.2}** (95% interval {:.2}–{:.2}; p95 ratio {:.2}). Pass `--target-rps` for a capacity plan.\n",
                    r.target_cpu, r.reference_cpu, r.value, r.half_width(), r.ci.0, r.ci.1, r.p95_ratio
                ));
            }
        }
        if !m.notes.is_empty() {
            md.push_str("\n**Method notes**\n\n");
            for n in &m.notes {
                md.push_str(&format!("- {n}\n"));
            }
        }
        md.push('\n');
    }
    while md.ends_with("\n\n") {
        md.pop();
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sizing::plan::{PlanInput, plan};
    use crate::sizing::report::tests::{snapshots, worked_example_report};

    #[test]
    fn worked_example_markdown() {
        let (p, r, fit) = worked_example_report(0.04);
        let md = markdown(&p, Some(&r), Some(&fit));
        assert!(md.contains("**2.5 ± 0.1**"), "{md}");
        assert!(md.contains("`requests.cpu: 2.5`, `limits.cpu: 3`"));
        snapshots().bind(|| insta::assert_snapshot!("sizing_report_worked_example", md));
    }

    #[test]
    fn guaranteed_mentions_the_static_cpu_manager_and_measured_source() {
        let p = plan(&PlanInput::measured("Intel Xeon", 10.0, 500.0, 1024.0)).unwrap();
        let md = markdown(&p, None, None);
        assert!(md.contains("--cpu-manager-policy=static"), "{md}");
        assert!(md.contains("500 ms (measured on this CPU)"));
        assert!(!md.contains("Normalization ratio") && !md.contains("Cheapest instance"));
    }

    #[test]
    fn small_costs_keep_three_significant_digits() {
        assert_eq!(sig3(0.009444), "0.00944");
        assert_eq!(sig3(248.2), "248");
        assert_eq!(sig3(0.34), "0.34");
        assert_eq!(sig3(0.0), "0");
    }
}
