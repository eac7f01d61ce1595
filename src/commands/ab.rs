//! `bench-gate ab`: two variants interleaved on the same pinned CPUs, judged like `compare`.

use std::num::NonZeroU32;

use anyhow::{Context, Result, bail};

use crate::cli::{AbArgs, AbWorkerArgs, DuetKnobs};
use crate::compare::ab::DuetPlan;
use crate::compare::drift::Tolerance;
use crate::compare::workers::{duet_verdict, thresholds_here};
use crate::compare::{Mode, VerdictReport};
use crate::config::{Config, GateSection, OnInconclusive, Thresholds};
use crate::worker::launch::{Launch, Side};
use crate::worker::serve::{WorkerSpec, serve};

pub fn ab(args: &AbArgs) -> Result<u8> {
    super::touches::ab(args).check()?;
    let config = Config::load(&args.config.config)?;
    let name = config.one_model(args.model.as_deref())?.name.clone();
    let choice = config.cpu_choice(args.cpus.as_deref())?;
    // Pinned here too, so a user's worker command (and anything it starts) inherits the CPUs.
    choice.pin()?;
    let cpus = choice.cpus;
    let sides = [
        Side::new("A", &args.a_model, &args.a_config, &args.a_cmd),
        Side::new("B", &args.b_model, &args.b_config, &args.b_cmd),
    ];
    let a = sides[0].command(&config, &name, &cpus, args.ort.path())?;
    let b = sides[1].command(&config, &name, &cpus, args.ort.path())?;
    let t = thresholds_here(&config);
    let plan = args.knobs.plan(&t, &config.gate, &[&a, &b])?;
    let v = duet_verdict(&name, [&a, &b], &t, &plan, &config, args.quiet).with_context(|| {
        format!(
            "the A/B duet of `{name}` could not run (a variant that fails to start or answer is a setup error, not a regression)\n  fix: run the failing variant's command (quoted below) by hand and fix what it says; --a-cmd/--b-cmd, --a-config/--b-config and --a-model/--b-model choose the variants"
        )
    })?;
    let report = VerdictReport::new(Mode::Ab, vec![v], false);
    super::compare::finish(&report, args.output.as_deref(), args.format, args.quiet)
}

impl DuetKnobs {
    /// The plan these flags ask for, checked, with the config's budget as the default; the
    /// warm-up is the most any of the `launches` asks for.
    pub(super) fn plan(
        &self,
        t: &Thresholds,
        gate: &GateSection,
        launches: &[&Launch],
    ) -> Result<DuetPlan> {
        let warmup = launches.iter().map(|l| l.warmup).max().unwrap_or(1).max(1);
        let asked = self.pairs.unwrap_or(crate::compare::ab::DEFAULT_PAIRS);
        let Some(pairs) = NonZeroU32::new(asked).filter(|p| p.get() <= 8) else {
            bail!(
                "--worker-pairs {asked}: must be between 1 and 8\n  fix: e.g. --worker-pairs 6, or leave it out"
            );
        };
        let budget = self
            .budget
            .or(t.ab_time_budget_s)
            .unwrap_or(crate::compare::ab::DEFAULT_BUDGET_S);
        if !(budget.is_finite() && (1.0..=86_400.0).contains(&budget)) {
            bail!(
                "--budget {budget}: must be between 1 and 86400 seconds\n  fix: e.g. --budget 60"
            );
        }
        let per_block = match self.per_block {
            None => None,
            Some(k) => Some(NonZeroU32::new(k).filter(|k| k.get() <= 100_000).with_context(|| {
                format!("--iterations-per-block {k}: must be between 1 and 100000\n  fix: leave it out (automatic) or e.g. --iterations-per-block 1")
            })?),
        };
        if self.max_units == Some(0) {
            bail!(
                "--max-units 0: at least 1 unit is needed\n  fix: leave it out, or e.g. --max-units 20"
            );
        }
        let seed = self.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |t| t.as_nanos() as u64)
        });
        Ok(DuetPlan {
            budget: std::time::Duration::from_secs_f64(budget),
            seed,
            per_block,
            warmup,
            pairs,
            auto_pairs: self.pairs.is_none(),
            max_units: self.max_units,
            max_regression_pct: t.max_regression_pct,
            min_abs_ms: t.min_abs_ms,
            tolerance: Tolerance {
                atol: gate.output_atol,
                rtol: gate.output_rtol,
                equal_nan: gate.output_equal_nan,
            },
            fail_on_output_change: gate.on_output_change == OnInconclusive::Fail,
        })
    }
}

/// `bench-gate ab-worker`: serves one variant on stdin/stdout.
pub fn worker(args: &AbWorkerArgs) -> Result<u8> {
    let spec = WorkerSpec {
        config: &args.config.config,
        model: &args.model,
        model_file: args.model_file.as_deref(),
        cpus: args.cpus.as_deref(),
        ort_lib: args.ort.path(),
    };
    let stdin = std::io::stdin().lock();
    serve(&spec, stdin, &mut std::io::stdout().lock())?;
    Ok(0)
}
