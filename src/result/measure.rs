//! One model measured into its [`ModelResult`]: the workload loaded from its config, timed by
//! the runner, peak memory and ORT's arena read before the profiled pass, and the per-operator
//! breakdown from that pass after the timed iterations (never inside them).

use std::time::Instant;

use anyhow::{Context, Result};

use super::{Fingerprint, ModelResult, StageResult};
use crate::accuracy;
use crate::config::{Config, ModelConfig};
use crate::output;
use crate::platform::{self, Environment};
use crate::runner::{self, AutoPlan, Measurement, Plan};
use crate::runtime::Runtime;
use crate::stats::Summary;
use crate::workload::{self, WorkloadInfo};

/// Whether and where the profiled pass runs.
pub struct Profile {
    pub enabled: bool,
    pub keep: Option<std::path::PathBuf>,
}

/// Loads, measures and (unless disabled) profiles one model; the record of what was measured.
pub fn measure_model(
    runtime: &Runtime,
    config: &Config,
    model: &ModelConfig,
    env: &Environment,
    profile: &Profile,
    quiet: bool,
) -> Result<ModelResult> {
    let fingerprint = Fingerprint::of(model)
        .with_context(|| {
            format!(
                "cannot hash the files of model `{}`\n  fix: make every model and fixture file it names readable by this user (check the path and its permissions)",
                model.name
            )
        })?;
    // A labelled set is read before anything is measured: a mistake in it costs no run.
    let listen = model
        .labelled_set()
        .map(accuracy::score::load_set)
        .transpose()?;
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
        auto: AutoPlan::for_threshold(
            config
                .thresholds
                .get(&env.cpu.architecture)
                .map(|t| t.max_regression_pct),
        ),
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
    if let Some((lo, hi)) = workload.decoder_steps_range()
        && lo != hi
    {
        result.warnings.push(format!(
            "the decoder ran {lo} to {hi} steps per iteration: the transcript changed between iterations, so iterations did different work"
        ));
    }
    if let Some(set) = &listen {
        output::status(
            quiet,
            format!("{}: transcribing {}", model.name, set.tsv.display()),
        );
        let t = Instant::now();
        let a = accuracy::score::score_workload(workload.as_mut(), &model.name, set)?;
        output::status(
            quiet,
            format!(
                "{}: WER {:.1}% on {} utterances ({:.1} s, not timed)",
                model.name,
                a.wer_pct,
                a.utterances.len(),
                t.elapsed().as_secs_f64()
            ),
        );
        result.accuracy = Some(a);
    }
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
    warnings.extend(platform::isolation::thread_trap_warning(
        model.session.intra_op_threads.get(),
        env.cpu_limit_cpus(),
    ));
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
        accuracy: None,
    }
}

/// Now, as the RFC 3339 UTC timestamp every bench-gate file uses.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
