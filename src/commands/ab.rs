//! `bench-gate ab`: two variants interleaved on the same pinned CPUs, judged like `compare`.

use std::num::NonZeroU32;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cli::AbArgs;
use crate::compare::ab::{AbOutcome, AbPlan, interleave};
use crate::compare::comparability::{RunFacts, what_changed};
use crate::compare::verdict::{Rule, decide, estimate_ab, metric_of};
use crate::compare::{
    BaselineUsed, DEFAULT_THRESHOLDS, Mode, ModelVerdict, PctInterval, RoundChange, VerdictReport,
    contamination, history::metric_name,
};
use crate::config::{Config, ModelConfig, Thresholds, WorkloadSpec};
use crate::output;
use crate::platform::{Environment, affinity};
use crate::result::Fingerprint;
use crate::runtime::Runtime;
use crate::workload;

pub fn ab(args: &AbArgs) -> Result<u8> {
    let config = Config::load(&args.config.config)?;
    if let Some(out) = &args.output {
        crate::result::check_output_path(out)?;
    }
    let name = match (&args.model, config.models.as_slice()) {
        (Some(n), _) => n.clone(),
        (None, [only]) => only.name.clone(),
        (None, _) => bail!(
            "{} has several models\n  fix: pick one with --model NAME",
            config.path.display()
        ),
    };
    let base = config.model(&name).cloned().with_context(|| {
        format!(
            "no model `{name}` in {}\n  fix: pass --model with a model of that file",
            config.path.display()
        )
    })?;
    let a = variant(
        &base,
        args.a_model.as_deref(),
        args.a_config.as_deref(),
        "A",
    )?;
    let b = variant(
        &base,
        args.b_model.as_deref(),
        args.b_config.as_deref(),
        "B",
    )?;
    let (Some(rounds), Some(per_round)) = (
        NonZeroU32::new(args.rounds),
        NonZeroU32::new(args.per_round),
    ) else {
        bail!(
            "--rounds and --iterations-per-round must be at least 1\n  fix: e.g. --rounds 10 --iterations-per-round 5"
        );
    };
    if rounds.get() < 3 {
        bail!(
            "--rounds {rounds}: at least 3 rounds are needed to estimate the noise\n  fix: e.g. --rounds 10"
        );
    }
    let cpus = match &args.cpus {
        Some(c) => affinity::parse_cpu_set_arg(c).map_err(|e| {
            anyhow::anyhow!("--cpus {c}: {e}\n  fix: use a CPU list such as 0, 2-3 or 0,2")
        })?,
        None => config.cpus.clone(),
    };
    affinity::pin_current_process(&cpus).with_context(|| format!("cannot pin to CPUs {cpus:?}"))?;
    let env = Environment::detect(config.cpu_label.as_deref());
    let runtime = Runtime::load(args.ort.path())?;
    let t = config
        .thresholds
        .get(&env.cpu.architecture)
        .cloned()
        .unwrap_or(DEFAULT_THRESHOLDS);
    let fa = Fingerprint::of(&a).context("cannot hash variant A's files")?;
    let fb = Fingerprint::of(&b).context("cannot hash variant B's files")?;
    let mut wa = workload::build(&runtime, &a)?;
    let mut wb = workload::build(&runtime, &b)?;
    let plan = AbPlan {
        rounds,
        per_round,
        warmup: a.warmup.max(b.warmup).max(1),
        seed: args.seed,
    };
    let quiet = args.quiet;
    output::status(
        quiet,
        format!(
            "ab `{name}`: {rounds} rounds x {per_round} iterations per variant, pinned to CPUs {cpus:?} on {}",
            env.cpu.model
        ),
    );
    let mut attempt = || {
        interleave(wa.as_mut(), wb.as_mut(), &plan, t.metric, &mut |i, r| {
            output::status(quiet, format!("  round {i}: B/A = {:.3}", r.exp()));
        })
    };
    let mut out = attempt()?;
    let mut notes = Vec::new();
    if !contamination::reasons(&out.during, 0.0, None).is_empty()
        && config.gate.rerun_on_contamination
    {
        notes.push(
            "the first attempt was contaminated; measured again ([gate] rerun_on_contamination)"
                .to_string(),
        );
        out = attempt()?;
    }
    let facts = |m: &ModelConfig, f: &'_ Fingerprint| (m.kind(), m.session.clone(), f.clone());
    let (ka, sa, fa) = facts(&a, &fa);
    let (kb, sb, fb) = facts(&b, &fb);
    let fact = |kind, session, fp, host| RunFacts {
        cpu_model: &env.cpu.model,
        architecture: &env.cpu.architecture,
        kind,
        fingerprint: fp,
        session,
        pinned_cpus: cpus.len(),
        cpu_limit: env.cpu_limit_cpus(),
        ort_version: &runtime.version,
        bench_gate_version: env!("CARGO_PKG_VERSION"),
        host,
    };
    let changed = what_changed(&fact(ka, &sa, &fa, "A"), &fact(kb, &sb, &fb, "A"));
    let mut v = verdict(&name, &env, &t, &out, plan.per_round.get());
    v.what_changed = changed;
    v.reasons.extend(notes);
    let report = VerdictReport::new(Mode::Ab, vec![v], false);
    super::compare::finish(&report, args.output.as_deref(), args.format, quiet)
}

/// Variant A or B: the config's model, with its model file or whole config replaced.
fn variant(
    base: &ModelConfig,
    model: Option<&Path>,
    config: Option<&Path>,
    side: &str,
) -> Result<ModelConfig> {
    if let Some(c) = config {
        let other = Config::load(c)?;
        return other.model(&base.name).cloned().with_context(|| {
            format!("--{}-config {}: no model `{}` in it\n  fix: both variants need a [models.{}] table", side.to_lowercase(), c.display(), base.name, base.name)
        });
    }
    let Some(path) = model else {
        return Ok(base.clone());
    };
    let mut m = base.clone();
    match &mut m.workload {
        WorkloadSpec::Onnx { model, .. } => {
            if !path.is_file() {
                bail!(
                    "--{}-model {}: no such file\n  fix: pass an existing .onnx file",
                    side.to_lowercase(),
                    path.display()
                );
            }
            *model = path.to_path_buf();
        }
        WorkloadSpec::Whisper { .. } => bail!(
            "--{}-model replaces an `onnx` model's file; `{}` is a whisper pipeline of three files\n  fix: use --a-config/--b-config with two configs",
            side.to_lowercase(),
            m.name
        ),
    }
    Ok(m)
}

fn verdict(
    name: &str,
    env: &Environment,
    t: &Thresholds,
    out: &AbOutcome,
    per_round: u32,
) -> ModelVerdict {
    let a_ms = metric_of(t.metric, &out.a_samples_ms);
    let b_ms = metric_of(t.metric, &out.b_samples_ms);
    let r = out.round_log_ratios.len();
    let test = format!(
        "interleaved A/B: mean of {r} per-round log-ratios of the {} ({per_round} iterations each), t({}) 99%",
        metric_name(t.metric),
        r.saturating_sub(1)
    );
    let mut v = ModelVerdict {
        contamination: contamination::reasons_interleaved(&out.during),
        baseline: Some(BaselineUsed {
            source: "variant A".into(),
            center_ms: a_ms,
            runs_used: r,
            runs_total: r,
        }),
        candidate_ms: Some(b_ms),
        iterations: (out.a_samples_ms.len() + out.b_samples_ms.len()) as u32,
        wall_time_s: out.wall_time.as_secs_f64(),
        rounds: out
            .order
            .iter()
            .zip(&out.round_log_ratios)
            .map(|(f, r)| RoundChange {
                first: format!("{f:?}"),
                change_pct: (r.exp() - 1.0) * 100.0,
            })
            .collect(),
        ..ModelVerdict::new(name, &env.cpu.model, &env.cpu.architecture, t, test)
    };
    v.verdict = crate::compare::Verdict::Inconclusive;
    let rule = Rule {
        threshold_pct: t.max_regression_pct,
        min_abs_ms: t.min_abs_ms,
    };
    match estimate_ab(&out.round_log_ratios, a_ms, b_ms) {
        Some(e) => {
            let d = decide(&e, &rule, &v.contamination);
            v.verdict = d.verdict;
            v.reasons = d.reasons;
            v.change_pct = Some(e.change_pct());
            let (low, high) = e.ci_pct();
            v.ci_pct = Some(PctInterval { low, high });
            v.noise_pct = Some(e.noise_pct());
        }
        None => v
            .reasons
            .push("too few rounds to estimate the change".into()),
    }
    v
}
