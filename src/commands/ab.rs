//! `bench-gate ab`: two variants interleaved on the same pinned CPUs, judged like `compare`.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cli::{AbArgs, AbWorkerArgs, DuetKnobs};
use crate::compare::ab::{DuetPlan, StartPair, Variant, duet};
use crate::compare::comparability::{RunFacts, what_changed};
use crate::compare::drift::Tolerance;
use crate::compare::{DEFAULT_THRESHOLDS, Mode, ModelVerdict, VerdictReport, contamination};
use crate::config::{Config, GateSection, OnInconclusive, Thresholds};
use crate::output;
use crate::platform::{EnvDelta, affinity};
use crate::worker::Worker;
use crate::worker::protocol::Hello;
use crate::worker::serve::{WorkerSpec, select_model, serve};

pub fn ab(args: &AbArgs) -> Result<u8> {
    let config = Config::load(&args.config.config)?;
    if let Some(out) = &args.output {
        let mut inputs = config.input_files();
        for (flag, p) in [
            ("--a-config", &args.a_config),
            ("--b-config", &args.b_config),
            ("--a-model", &args.a_model),
            ("--b-model", &args.b_model),
        ] {
            inputs.extend(p.as_deref().map(|p| (flag, p)));
        }
        crate::result::check_outputs(&[("-o", out)], &inputs)?;
    }
    let name = match (&args.model, config.models.as_slice()) {
        (Some(n), _) => n.clone(),
        (None, [only]) => only.name.clone(),
        (None, _) => bail!(
            "{} has several models\n  fix: pick one with --model NAME",
            config.path.display()
        ),
    };
    if config.model(&name).is_none() {
        bail!(
            "no model `{name}` in {}\n  fix: pass --model with a model of that file",
            config.path.display()
        );
    }
    let cpus = match &args.cpus {
        Some(c) => crate::config::cpus_arg(c).map_err(|e| {
            anyhow::anyhow!("--cpus {c}: {e}\n  fix: use a CPU list such as 0, 2-3 or 0,2")
        })?,
        None => config.cpus.clone(),
    };
    // Pinned here too, so a user's worker command (and anything it starts) inherits the CPUs.
    affinity::pin_current_process(&cpus).with_context(|| {
        let origin = args
            .cpus
            .as_ref()
            .map_or_else(|| config.cpus_origin.clone(), |c| format!("--cpus {c}"));
        format!(
            "cannot pin to CPUs {} ({origin})",
            affinity::format_cpu_list(&cpus)
        )
    })?;
    let sides = [
        Side::new("A", &args.a_model, &args.a_config, &args.a_cmd),
        Side::new("B", &args.b_model, &args.b_config, &args.b_cmd),
    ];
    let a = sides[0].command(&config, &name, &cpus, args.ort.path())?;
    let b = sides[1].command(&config, &name, &cpus, args.ort.path())?;
    let t = thresholds_here(&config);
    let v = duet_verdict(&name, [&a, &b], &t, &args.knobs, &config, args.quiet)?;
    let report = VerdictReport::new(Mode::Ab, vec![v], false);
    super::compare::finish(&report, args.output.as_deref(), args.format, args.quiet)
}

/// The config's thresholds for the architecture this process runs on (or the defaults).
pub(super) fn thresholds_here(config: &Config) -> Thresholds {
    let arch = crate::platform::Environment::detect(config.cpu_label.as_deref())
        .cpu
        .architecture;
    config
        .thresholds
        .get(&arch)
        .cloned()
        .unwrap_or(DEFAULT_THRESHOLDS)
}

impl DuetKnobs {
    /// The plan these flags ask for, checked, with the config's budget as the default.
    fn plan(&self, t: &Thresholds, gate: &GateSection, warmup: u32) -> Result<DuetPlan> {
        let Some(pairs) = NonZeroU32::new(self.pairs).filter(|p| p.get() <= 8) else {
            bail!(
                "--worker-pairs {}: must be between 1 and 8\n  fix: e.g. --worker-pairs 2",
                self.pairs
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
        Ok(DuetPlan {
            budget: std::time::Duration::from_secs_f64(budget),
            per_block,
            warmup,
            pairs,
            max_units: self.max_units,
            max_regression_pct: t.max_regression_pct,
            min_abs_ms: t.min_abs_ms,
            tolerance: Tolerance {
                atol: gate.output_atol,
                rtol: gate.output_rtol,
            },
            fail_on_output_change: gate.on_output_change == OnInconclusive::Fail,
        })
    }
}

/// Measures the duet of `launches` (A, B) for model `name` and returns its verdict. Shared by
/// `ab` and the `ci` duet. The process must already be pinned where the workers will run.
pub(super) fn duet_verdict(
    name: &str,
    launches: [&Launch; 2],
    t: &Thresholds,
    knobs: &DuetKnobs,
    config: &Config,
    quiet: bool,
) -> Result<ModelVerdict> {
    for l in launches {
        output::status(quiet, format!("variant {}: {}", l.label, l.shown));
    }
    let warmup = launches.iter().map(|l| l.warmup).max().unwrap_or(1).max(1);
    let plan = knobs.plan(t, &config.gate, warmup)?;
    let (budget_s, pairs) = (plan.budget.as_secs_f64(), plan.pairs);
    // The first pair's hellos describe the variants; later pairs must say the same.
    let mut seen: Option<(Hello, Hello)> = None;
    let mut start_pair = |p: u32| -> Result<(Box<dyn Variant>, Box<dyn Variant>)> {
        let spawn = |l: &Launch| Worker::spawn(&l.label, &l.shown, clone_command(&l.command));
        let (a, b) = (spawn(launches[0])?, spawn(launches[1])?);
        check_same_place(&a.hello, &b.hello)?;
        match &seen {
            None => {
                output::status(
                    quiet,
                    format!(
                        "ab `{name}`: duet of up to {budget_s:.0} s on {pairs} fresh pair(s) of worker processes, pinned to CPUs {} on {}",
                        affinity::format_cpu_list(&a.hello.pinned_cpus),
                        a.hello.cpu_model
                    ),
                );
                seen = Some((a.hello.clone(), b.hello.clone()));
            }
            Some((ha, hb)) => {
                for (label, first, now) in [("A", ha, &a.hello), ("B", hb, &b.hello)] {
                    if first != now {
                        bail!("{}", restart_mismatch(label, p + 1, first, now));
                    }
                }
            }
        }
        Ok((Box::new(a), Box::new(b)))
    };
    let attempt = |start: &mut StartPair<'_>, plan: &DuetPlan| {
        duet(plan, start, &mut |i, r| {
            output::status(quiet, format!("  unit {i}: B/A = {:.3}", r.exp()));
        })
    };
    let mut out = attempt(&mut start_pair, &plan)?;
    let mut notes = Vec::new();
    if !contamination::reasons_interleaved(&out.during).is_empty()
        && config.gate.rerun_on_contamination
    {
        notes.push(
            "the first attempt was contaminated; measured again ([gate] rerun_on_contamination)"
                .to_string(),
        );
        out = attempt(&mut start_pair, &plan)?;
    }
    let (ha, hb) = seen.expect("at least one pair ran");
    notes.extend(contamination::interleaved_notes(&out.during));
    let mut v = crate::compare::ab::verdict(name, &ha.cpu_model, &ha.architecture, t, &out);
    v.what_changed = what_changed(&facts(&ha), &facts(&hb));
    v.reasons.extend(notes);
    Ok(v)
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

/// How to start one variant's worker.
pub(super) struct Launch {
    /// How errors and progress name the variant: "A", "B", "A (base)".
    pub label: String,
    /// The command as the user should see it.
    pub shown: String,
    pub command: Command,
    /// Un-timed iterations its model asks for.
    pub warmup: u32,
}

impl Launch {
    /// A worker given as a shell command; it is told the CPUs and the model in
    /// `$BENCH_GATE_AB_CPUS` and `$BENCH_GATE_AB_MODEL`.
    pub fn shell(label: &str, shell: &str, cpus: &[usize], model: &str, warmup: u32) -> Launch {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(shell)
            .env("BENCH_GATE_AB_CPUS", affinity::format_cpu_list(cpus))
            .env("BENCH_GATE_AB_MODEL", model);
        Launch {
            label: label.into(),
            shown: shell.to_string(),
            command: c,
            warmup,
        }
    }

    /// `exe ab-worker` for model `name` of `config_path`, pinned to `cpus`.
    pub fn worker(
        label: &str,
        exe: &Path,
        config_path: &Path,
        name: &str,
        cpus: &[usize],
        ort_lib: Option<&Path>,
        warmup: u32,
    ) -> Launch {
        let mut l = Launch {
            label: label.into(),
            shown: exe.display().to_string(),
            command: Command::new(exe),
            warmup,
        };
        l.arg("ab-worker")
            .arg("-c")
            .arg(absolute(config_path))
            .arg("--model")
            .arg(name)
            .arg("--cpus")
            .arg(affinity::format_cpu_list(cpus));
        if let Some(lib) = ort_lib {
            l.arg("--ort-lib").arg(absolute(lib));
        }
        l
    }

    /// Replaces an `onnx` model's file in the worker.
    fn model_file(mut self, file: Option<&Path>) -> Launch {
        if let Some(m) = file {
            self.arg("--model-file").arg(absolute(m));
        }
        self
    }

    fn arg(&mut self, a: impl AsRef<std::ffi::OsStr>) -> &mut Launch {
        self.shown.push(' ');
        self.shown.push_str(&a.as_ref().to_string_lossy());
        self.command.arg(a);
        self
    }
}

/// How one variant is given on the command line.
struct Side<'a> {
    label: &'static str,
    model: Option<&'a Path>,
    config: Option<&'a Path>,
    cmd: Option<&'a str>,
}

impl<'a> Side<'a> {
    fn new(
        label: &'static str,
        model: &'a Option<PathBuf>,
        config: &'a Option<PathBuf>,
        cmd: &'a Option<String>,
    ) -> Self {
        Side {
            label,
            model: model.as_deref(),
            config: config.as_deref(),
            cmd: cmd.as_deref(),
        }
    }

    /// The worker command and how to show it. Model files and configs are checked here, before
    /// anything starts, so their errors name `--a-model`, not the worker's own flags.
    fn command(
        &self,
        config: &Config,
        name: &str,
        cpus: &[usize],
        ort_lib: Option<&Path>,
    ) -> Result<Launch> {
        let flag = |what: &str| format!("--{}-{what}", self.label.to_lowercase());
        if let Some(shell) = self.cmd {
            let warmup = config.model(name).map_or(1, |m| m.warmup);
            return Ok(Launch::shell(self.label, shell, cpus, name, warmup));
        }
        let (config_path, model) = match self.config {
            Some(p) => {
                let other = Config::load(p)?;
                let m = select_model(&other, name, None, &flag("config")).with_context(|| {
                    format!(
                        "{} {}: both variants need a [models.{name}] table",
                        flag("config"),
                        p.display()
                    )
                })?;
                (p.to_path_buf(), m)
            }
            None => (
                config.path.clone(),
                select_model(config, name, self.model, &flag("model"))?,
            ),
        };
        let exe = std::env::current_exe().context("cannot locate the bench-gate executable")?;
        Ok(Launch::worker(
            self.label,
            &exe,
            &config_path,
            name,
            cpus,
            ort_lib,
            model.warmup,
        )
        .model_file(self.model))
    }
}

/// `Command` is not `Clone`; each pair starts the same program with the same arguments and
/// environment.
fn clone_command(c: &Command) -> Command {
    let mut n = Command::new(c.get_program());
    n.args(c.get_args());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => n.env(k, v),
            None => n.env_remove(k),
        };
    }
    n
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Why a variant's worker of a later pair is refused: it is not what pair 1 measured.
fn restart_mismatch(label: &str, pair: u32, first: &Hello, now: &Hello) -> String {
    let same_but_host = Hello {
        host: first.host.clone(),
        ..now.clone()
    } == *first;
    if same_but_host {
        // Found by the real two-image run (tests/image.rs): the hostname is the container's id.
        return format!(
            "variant {label}'s worker of pair {pair} runs on host `{}`, pair 1's on `{}`: a container gets a new hostname at every start\n  fix: give the worker the machine's hostname (`docker run --uts host ...`, `podman run --uts host ...`) or a fixed one (`--hostname NAME`)",
            now.host, first.host
        );
    }
    format!(
        "variant {label}'s worker of pair {pair} describes itself differently from pair 1's (model files, versions or CPUs changed in between)\n  fix: pin the variant's image and files so every start runs the same thing"
    )
}

/// Interleaving means nothing unless both variants ran on the same CPUs of the same machine.
fn check_same_place(a: &Hello, b: &Hello) -> Result<()> {
    let mut sa = a.pinned_cpus.clone();
    let mut sb = b.pinned_cpus.clone();
    sa.sort_unstable();
    sb.sort_unstable();
    let mut diffs = Vec::new();
    if (&a.cpu_model, &a.architecture) != (&b.cpu_model, &b.architecture) {
        diffs.push(format!(
            "CPU: A {} {}, B {} {}",
            a.architecture, a.cpu_model, b.architecture, b.cpu_model
        ));
    }
    if sa != sb {
        diffs.push(format!(
            "pinned CPUs: A {}, B {}",
            affinity::format_cpu_list(&sa),
            affinity::format_cpu_list(&sb)
        ));
    }
    if a.cpu_limit != b.cpu_limit {
        diffs.push(format!(
            "CPU limit: A {:?}, B {:?}",
            a.cpu_limit, b.cpu_limit
        ));
    }
    if !diffs.is_empty() {
        bail!(
            "the two variants do not run on the same CPUs, so interleaving cannot cancel drift:\n    {}\n  fix: start both workers with the same --cpus (e.g. \"$BENCH_GATE_AB_CPUS\") on the same machine and CPU limit",
            diffs.join("\n    ")
        );
    }
    Ok(())
}

fn facts(h: &Hello) -> RunFacts<'_> {
    RunFacts {
        cpu_model: &h.cpu_model,
        architecture: &h.architecture,
        kind: h.kind,
        fingerprint: &h.fingerprint,
        session: &h.session,
        pinned_cpus: h.pinned_cpus.len(),
        cpu_limit: h.cpu_limit,
        ort_version: &h.ort_version,
        bench_gate_version: &h.bench_gate_version,
        host: &h.host,
    }
}

impl Variant for Worker {
    fn block(&mut self, warmup: u32, iterations: u32) -> Result<(Vec<f64>, EnvDelta)> {
        self.measure(warmup, iterations)
    }
    fn outputs(&mut self) -> Result<crate::workload::Outputs> {
        Worker::outputs(self)
    }
}
