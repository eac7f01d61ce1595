//! `bench-gate run`: config -> pin -> workload -> runner -> result -> table/JSON.

use std::num::NonZeroU32;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::cli::{OutputFormat, RunArgs};
use crate::config::{AutoKeyword, Config, Iterations, ModelConfig};
use crate::output;
use crate::platform::{self, Environment, affinity};
use crate::publish::k8s::{RESULT_MARKERS_ENV, wrap_result};
use crate::report;
use crate::result::{Fingerprint, ModelResult, OrtInfo, RunResult, SCHEMA_VERSION, StageResult};
use crate::runner::{self, AutoPlan, Measurement, Plan};
use crate::runtime::Runtime;
use crate::stats::Summary;
use crate::workload::{self, WorkloadInfo};

pub fn run(args: &RunArgs) -> Result<u8> {
    let mut config = Config::load(&args.config.config)?;
    apply_overrides(&mut config, args)?;
    if let Some(out) = &args.output {
        crate::result::check_outputs(&[("-o", out)], &config.input_files())?;
    }
    affinity::pin_current_process(&config.cpus).with_context(|| {
        format!(
            "cannot pin to CPUs {} ({})",
            affinity::format_cpu_list(&config.cpus),
            config.cpus_origin
        )
    })?;
    let environment = Environment::detect(config.cpu_label.as_deref());
    let runtime = Runtime::load(args.ort.path())?;
    output::status(
        args.quiet,
        format!(
            "bench-gate {}: {} ({}), ONNX Runtime {}, pinned to CPUs {:?}",
            env!("CARGO_PKG_VERSION"),
            environment.cpu.model,
            environment.cpu.architecture,
            runtime.version,
            config.cpus
        ),
    );
    let mut models = Vec::with_capacity(config.models.len());
    for model in &config.models {
        let profile = Profile {
            enabled: !args.select.no_profile,
            keep: args
                .select
                .keep_profiles
                .as_ref()
                .map(|d| d.join(&model.name)),
        };
        models.push(run_model(
            &runtime,
            &config,
            model,
            &environment,
            &profile,
            args.quiet,
        )?);
    }
    let result = RunResult {
        schema_version: SCHEMA_VERSION,
        bench_gate_version: env!("CARGO_PKG_VERSION").to_string(),
        timestamp: now(),
        host: environment.hostname.clone().unwrap_or_default(),
        git_commit: super::head_commit(&config.path),
        config_file: config.path.display().to_string(),
        ort: OrtInfo {
            version: runtime.version.clone(),
            library: runtime.library.display().to_string(),
        },
        environment,
        models,
    };
    if let Some(out) = &args.output {
        result.write(out)?;
        output::status(args.quiet, format!("wrote {}", out.display()));
    }
    if std::env::var_os(RESULT_MARKERS_ENV).is_some_and(|v| v == "1") {
        // Inside the Kubernetes Job: the result goes back through the pod log.
        print!("{}", wrap_result(&result.to_json()));
        return Ok(0);
    }
    match args.format {
        OutputFormat::Json => print!("{}", result.to_json()),
        OutputFormat::Table if !args.quiet => println!("{}", report::table::run_summary(&result)),
        OutputFormat::Table => {}
    }
    Ok(0)
}

fn apply_overrides(config: &mut Config, args: &RunArgs) -> Result<()> {
    if !args.select.models.is_empty() {
        for name in &args.select.models {
            if config.model(name).is_none() {
                let known: Vec<&str> = config.models.iter().map(|m| m.name.as_str()).collect();
                bail!(
                    "no model `{name}` in {}\n  fix: use one of: {}",
                    config.path.display(),
                    known.join(", ")
                );
            }
        }
        config
            .models
            .retain(|m| args.select.models.contains(&m.name));
    }
    if let Some(cpus) = &args.select.cpus {
        config.cpus = crate::config::cpus_arg(cpus).map_err(|e| {
            anyhow::anyhow!("--cpus {cpus}: {e}\n  fix: use a CPU list such as 0, 2-3 or 0,2")
        })?;
        config.cpus_origin = format!("--cpus {cpus}");
    }
    if let Some(it) = &args.select.iterations {
        let parsed = parse_iterations(it)?;
        for m in &mut config.models {
            m.iterations = parsed;
        }
    }
    if let Some(w) = args.warmup {
        for m in &mut config.models {
            m.warmup = w;
        }
    }
    Ok(())
}

fn parse_iterations(s: &str) -> Result<Iterations> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(Iterations::Auto(AutoKeyword::Auto));
    }
    match s.parse::<u32>().ok().and_then(NonZeroU32::new) {
        Some(n) => Ok(Iterations::Fixed(n)),
        None => bail!(
            "--iterations {s}: expected a positive whole number or \"auto\"\n  fix: e.g. --iterations 50"
        ),
    }
}

/// The stopping rule for auto iterations: the median known to a third of the allowed regression.
fn auto_plan(config: &Config, arch: &str) -> AutoPlan {
    let mut plan = AutoPlan::default();
    if let Some(t) = config.thresholds.get(arch) {
        plan.target_rel_half_width = (t.max_regression_pct / 100.0 / 3.0).clamp(0.002, 0.05);
    }
    plan
}

/// Whether and where the profiled pass runs.
struct Profile {
    enabled: bool,
    keep: Option<std::path::PathBuf>,
}

fn run_model(
    runtime: &Runtime,
    config: &Config,
    model: &ModelConfig,
    env: &Environment,
    profile: &Profile,
    quiet: bool,
) -> Result<ModelResult> {
    let fingerprint = Fingerprint::of(model)
        .with_context(|| format!("cannot hash the files of model `{}`", model.name))?;
    platform::proc::reset_peak_rss();
    let load_start = Instant::now();
    let mut workload = workload::build(runtime, model)?;
    let load_time_ms = load_start.elapsed().as_secs_f64() * 1e3;
    output::status(
        quiet,
        format!("{}: loaded in {:.0} ms", model.name, load_time_ms),
    );
    let plan = Plan {
        warmup: model.warmup,
        iterations: model.iterations,
        time_budget: model.time_budget,
        auto: auto_plan(config, &env.cpu.architecture),
    };
    let mut observer = output::progress(&model.name, quiet);
    let m = runner::measure(workload.as_mut(), &plan, observer.as_mut())?;
    // Memory is read before the profiled pass: the profiler's buffers are not the model's.
    let memory_mb = platform::proc::peak_rss_bytes().map_or(0.0, |b| b as f64 / (1024.0 * 1024.0));
    let ort_arena = workload.arena();
    let mut result = model_result(
        model,
        env,
        &m,
        workload.info(),
        fingerprint,
        load_time_ms,
        memory_mb,
        &config.cpus,
    );
    result.ort_arena = ort_arena;
    if profile.enabled {
        match runner::profile::profile_pass(workload.as_mut(), profile.keep.as_deref()) {
            Ok(b) => {
                output::status(
                    quiet,
                    format!(
                        "{}: profiled pass {:.0} ms ({} kernels' time {:.0} ms over {} run(s))",
                        model.name,
                        b.wall_ms,
                        b.by_op.iter().map(|o| o.count).sum::<u32>(),
                        b.total_ms,
                        b.runs
                    ),
                );
                result.operators = Some(b);
            }
            // Attribution is a bonus: a failed profiled pass never fails the measurement.
            Err(e) => result
                .warnings
                .push(format!("no per-operator breakdown: {e}")),
        }
    }
    Ok(result)
}

#[expect(
    clippy::too_many_arguments,
    reason = "a plain assembly of one record from its parts"
)]
fn model_result(
    model: &ModelConfig,
    env: &Environment,
    m: &Measurement,
    info: &WorkloadInfo,
    fingerprint: Fingerprint,
    load_time_ms: f64,
    memory_mb: f64,
    cpus: &[usize],
) -> ModelResult {
    let latency = Summary::of(&m.samples_ms)
        .unwrap_or_else(|| Summary::of(&[0.0]).expect("one finite sample"));
    let n = m.samples_ms.len() as u32;
    let total_time_s = m.counted_time.as_secs_f64();
    let stages = m
        .stages_ms
        .iter()
        .filter_map(|(name, v)| {
            let s = Summary::of(v)?;
            let per_token = (*name == "decoder")
                .then_some(info.tokens_per_iteration)
                .flatten()
                .map(|t| s.median / f64::from(t.max(1)));
            Some(StageResult {
                name: (*name).to_string(),
                median_ms: s.median,
                mean_ms: s.mean,
                p95_ms: s.p95,
                per_token_median_ms: per_token,
            })
        })
        .collect();
    let rtf = info.audio_seconds.map(|a| a / (latency.median / 1e3));
    let mut warnings = Vec::new();
    warnings.extend(m.during.warnings());
    warnings.extend(env.isolation_warning());
    if n < 64 {
        warnings.push(format!("{n} iterations: p90/p95/p99 are rough at this sample size (a p90 needs >= 64 samples, a p99 >= 662)"));
    } else if n < 662 {
        warnings.push(format!(
            "{n} iterations: p99 is not meaningful below 662 samples"
        ));
    }
    ModelResult {
        name: model.name.clone(),
        kind: model.kind(),
        timestamp: now(),
        architecture: env.cpu.architecture.clone(),
        cpu_model: env.cpu.model.clone(),
        model_size: model.size.clone(),
        iterations: n,
        avg_latency_ms: latency.mean,
        total_time_s,
        rps: if total_time_s > 0.0 {
            f64::from(n) / total_time_s
        } else {
            0.0
        },
        cpu_limit: env.cpu_limit_cpus(),
        memory_mb,
        warmup: m.warmup,
        load_time_ms,
        latency_ms: latency,
        samples_ms: m.samples_ms.clone(),
        stages,
        rtf,
        audio_seconds: info.audio_seconds,
        tokens_per_iteration: info.tokens_per_iteration,
        stop_reason: m.stop,
        wall_time_s: m.wall_time.as_secs_f64(),
        session: model.session.clone(),
        pinned_cpus: cpus.to_vec(),
        fingerprint,
        during: m.during,
        warnings,
        notes: info.notes.clone(),
        operators: None,
        ort_arena: Vec::new(),
    }
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterations_flag_accepts_numbers_and_auto_only() {
        assert_eq!(
            parse_iterations("50").unwrap(),
            Iterations::Fixed(NonZeroU32::new(50).unwrap())
        );
        assert_eq!(
            parse_iterations("AUTO").unwrap(),
            Iterations::Auto(AutoKeyword::Auto)
        );
        for bad in ["0", "-3", "ten", ""] {
            assert!(parse_iterations(bad).is_err(), "{bad}");
        }
    }
}
