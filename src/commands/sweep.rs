//! `bench-gate sweep`: the thread trap measured on the real kernel. Under one CPU limit (applied
//! by bench-gate when it may, else the container's), each intra-op thread count is measured with
//! fresh sessions, and the cgroup's throttling counters are read around each row.

use std::num::{NonZeroU16, NonZeroU32};

use crate::cli::SweepArgs;
use crate::config::{Config, CpuChoice, Iterations};
use crate::output;
use crate::platform::affinity;
use crate::platform::cgroup::detect_cpu_limit;
use crate::platform::cgroup_ctl::{LimitGuard, can_apply_limits};
use crate::platform::limit_decision::{LimitDecision, PERIOD_US, decide_limit};
use crate::report::sizing as render;
use crate::runner::{self, AutoPlan, Plan};
use crate::runtime::Runtime;
use crate::sizing::sweep::{
    LimitSource, ModelSweep, SWEEP_SCHEMA_VERSION, SweepReport, SweepRow, analyse,
};
use crate::stats::Summary;
use crate::workload;
use anyhow::{Context, Result, bail};

pub fn sweep(args: &SweepArgs) -> Result<u8> {
    let mut config = Config::load(&args.config.config)?;
    if args.threads.is_empty() || args.threads.contains(&0) {
        bail!("--threads: thread counts must be >= 1\n  fix: pass e.g. --threads 1,2,4");
    }
    let mut threads = args.threads.clone();
    threads.sort_unstable();
    threads.dedup();
    config.keep_models(&args.models)?;
    super::touches::sweep(args).check()?;
    // Default: every CPU bench-gate was started with: the quota, not affinity, is the constraint.
    let choice = CpuChoice::from_flag(
        args.cpus.as_deref(),
        affinity::inherited_affinity(),
        "every CPU bench-gate was started with",
    )?;
    choice.pin()?;
    let cpus = choice.cpus;
    let found = detect_cpu_limit().and_then(|l| l.cpus);
    let decision = decide_limit(args.cpu_limit, can_apply_limits(), found);
    let (guard, limit_cpus, source) = match decision {
        LimitDecision::Refuse(msg) => bail!(msg),
        LimitDecision::Apply(c) => {
            let g = LimitGuard::apply(c, PERIOD_US)
                .with_context(|| {
                    format!("cannot apply a {c} CPU limit\n  fix: run where bench-gate may create cgroups (a delegated subtree), or leave --cpu-limit out")
                })?;
            let cgroup = g.cgroup_dir().display().to_string();
            (Some(g), Some(c), LimitSource::Applied { cgroup })
        }
        LimitDecision::UseFound(c) => {
            let cgroup = detect_cpu_limit().map_or_else(String::new, |l| l.cgroup_path);
            (None, Some(c), LimitSource::Found { cgroup })
        }
        LimitDecision::Unlimited { reason } => {
            eprintln!(
                "warning: measuring WITHOUT a CPU limit: {reason}. The thread trap (threads fighting over one quota) cannot show; rows are flagged only by latency."
            );
            (None, None, LimitSource::None { reason })
        }
    };
    output::status(
        args.quiet,
        format!(
            "sweep: threads {threads:?}, limit {}, pinned to CPUs {} (all allowed CPUs unless --cpus: the quota, not affinity, is the constraint)",
            limit_cpus.map_or_else(|| "none".to_string(), |c| format!("{c} CPU ({source:?})")),
            affinity::format_cpu_list(&cpus)
        ),
    );
    // Sessions (and their thread pools) are built after the limit is applied.
    let runtime = Runtime::load(args.ort.path())?;
    let environment = crate::platform::Environment::detect(config.cpu_label.as_deref());
    let mut models = Vec::new();
    for model in &config.models {
        let mut rows = Vec::new();
        for &t in &threads {
            let mut m = model.clone();
            m.session.intra_op_threads =
                NonZeroU16::new(u16::try_from(t).unwrap_or(u16::MAX)).unwrap_or(NonZeroU16::MIN);
            if let Some(n) = args.iterations.and_then(NonZeroU32::new) {
                m.iterations = Iterations::Fixed(n);
            }
            if let Some(w) = args.warmup {
                m.warmup = w;
            }
            let mut w = workload::build(&runtime, &m)?;
            let plan = Plan {
                warmup: m.warmup,
                iterations: m.iterations,
                time_budget: m.time_budget,
                auto: AutoPlan::default(),
            };
            let mut observer = output::progress(&format!("{} x{t}", m.name), args.quiet);
            let meas = runner::measure(w.as_mut(), &plan, observer.as_mut())?;
            drop(w);
            let Some(s) = Summary::of(&meas.samples_ms) else {
                bail!(
                    "{}: no usable samples at {t} threads\n  fix: raise [run] iterations in the config, or leave {t} out of --threads",
                    m.name
                );
            };
            rows.push(SweepRow {
                threads: t,
                n: s.n,
                median_ms: s.median,
                p95_ms: s.p95,
                p99_ms: s.p99,
                nr_periods: meas.during.nr_periods,
                nr_throttled: meas.during.nr_throttled,
                throttled_time_ns: meas.during.throttled_time_ns,
                flags: vec![],
            });
        }
        let advice = analyse(&mut rows, limit_cpus);
        models.push(ModelSweep {
            model: model.name.clone(),
            intra_op_spinning: model.session.intra_op_spinning,
            rows,
            advice,
        });
    }
    drop(guard);
    let report = SweepReport {
        schema_version: SWEEP_SCHEMA_VERSION,
        cpu_model: environment.cpu.model.clone(),
        limit_cpus,
        limit_source: source,
        pinned_cpus: cpus,
        models,
    };
    super::write_report_files(
        &report,
        args.output.as_deref(),
        args.markdown.as_deref(),
        render::sweep_markdown,
        args.quiet,
    )?;
    println!("{}", render::sweep_table(&report));
    for m in &report.models {
        for line in &m.advice.lines {
            println!("{}: {line}", m.model);
        }
    }
    Ok(0)
}
