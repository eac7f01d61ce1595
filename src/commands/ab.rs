//! `bench-gate ab`: two variants interleaved on the same pinned CPUs, judged like `compare`.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cli::{AbArgs, AbWorkerArgs};
use crate::compare::ab::{AbOutcome, AbPlan, StartPair, Variant, interleave};
use crate::compare::comparability::{RunFacts, what_changed};
use crate::compare::verdict::{Rule, decide, estimate_ab, metric_of};
use crate::compare::{
    BaselineUsed, DEFAULT_THRESHOLDS, Mode, ModelVerdict, PctInterval, RoundChange, VerdictReport,
    contamination, history::metric_name,
};
use crate::config::{Config, Thresholds};
use crate::output;
use crate::platform::{EnvDelta, affinity};
use crate::worker::Worker;
use crate::worker::protocol::Hello;
use crate::worker::serve::{WorkerSpec, select_model, serve};

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
    if config.model(&name).is_none() {
        bail!(
            "no model `{name}` in {}\n  fix: pass --model with a model of that file",
            config.path.display()
        );
    }
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
        Some(c) => crate::config::cpus_arg(c).map_err(|e| {
            anyhow::anyhow!("--cpus {c}: {e}\n  fix: use a CPU list such as 0, 2-3 or 0,2")
        })?,
        None => config.cpus.clone(),
    };
    // Pinned here too, so a user's worker command (and anything it starts) inherits the CPUs.
    affinity::pin_current_process(&cpus).with_context(|| format!("cannot pin to CPUs {cpus:?}"))?;
    let sides = [
        Side::new("A", &args.a_model, &args.a_config, &args.a_cmd),
        Side::new("B", &args.b_model, &args.b_config, &args.b_cmd),
    ];
    let mut commands = Vec::new();
    for side in &sides {
        commands.push(side.command(&config, &name, &cpus, args.ort.path())?);
    }
    let arch = crate::platform::Environment::detect(config.cpu_label.as_deref())
        .cpu
        .architecture;
    let t = config
        .thresholds
        .get(&arch)
        .cloned()
        .unwrap_or(DEFAULT_THRESHOLDS);
    let quiet = args.quiet;
    for (side, l) in sides.iter().zip(&commands) {
        output::status(quiet, format!("variant {}: {}", side.label, l.shown));
    }
    // A command variant's own config is not readable from here: the base config's counts.
    let warmup = commands.iter().map(|l| l.warmup).max().unwrap_or(1).max(1);
    let Some(pairs) = NonZeroU32::new(args.pairs).filter(|p| p.get() <= rounds.get()) else {
        bail!(
            "--worker-pairs {}: must be between 1 and --rounds ({rounds})\n  fix: e.g. --worker-pairs 2",
            args.pairs
        );
    };
    let plan = AbPlan {
        rounds,
        per_round,
        warmup,
        pairs,
        seed: args.seed,
    };
    // The first pair's hellos describe the variants; later pairs must say the same.
    let mut seen: Option<(Hello, Hello)> = None;
    let mut start_pair = |p: u32| -> Result<(Box<dyn Variant>, Box<dyn Variant>)> {
        let spawn = |i: usize| {
            let l = &commands[i];
            Worker::spawn(sides[i].label, &l.shown, clone_command(&l.command))
        };
        let (a, b) = (spawn(0)?, spawn(1)?);
        check_same_place(&a.hello, &b.hello)?;
        match &seen {
            None => {
                output::status(
                    quiet,
                    format!(
                        "ab `{name}`: {rounds} rounds x {per_round} iterations per variant on {pairs} fresh pair(s) of worker processes, pinned to CPUs {} on {}",
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
    let attempt = |start: &mut StartPair<'_>| {
        interleave(&plan, t.metric, start, &mut |i, r| {
            output::status(quiet, format!("  round {i}: B/A = {:.3}", r.exp()));
        })
    };
    let mut out = attempt(&mut start_pair)?;
    let mut notes = Vec::new();
    if !contamination::reasons_interleaved(&out.during).is_empty()
        && config.gate.rerun_on_contamination
    {
        notes.push(
            "the first attempt was contaminated; measured again ([gate] rerun_on_contamination)"
                .to_string(),
        );
        out = attempt(&mut start_pair)?;
    }
    let (ha, hb) = seen.expect("at least one pair ran");
    notes.extend(contamination::interleaved_notes(&out.during));
    let changed = what_changed(&facts(&ha), &facts(&hb));
    let mut v = verdict(&name, &ha, &t, &out, plan.per_round.get());
    v.what_changed = changed;
    v.reasons.extend(notes);
    let report = VerdictReport::new(Mode::Ab, vec![v], false);
    super::compare::finish(&report, args.output.as_deref(), args.format, quiet)
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
struct Launch {
    /// The command as the user should see it.
    shown: String,
    command: Command,
    /// Un-timed iterations its model asks for.
    warmup: u32,
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
        let cpu_list = affinity::format_cpu_list(cpus);
        if let Some(shell) = self.cmd {
            let mut c = Command::new("sh");
            c.arg("-c").arg(shell).env("BENCH_GATE_AB_CPUS", &cpu_list);
            let warmup = config.model(name).map_or(1, |m| m.warmup);
            return Ok(Launch {
                shown: shell.to_string(),
                command: c,
                warmup,
            });
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
        let mut args: Vec<std::ffi::OsString> = vec![
            "ab-worker".into(),
            "-c".into(),
            absolute(&config_path).into(),
            "--model".into(),
            name.into(),
            "--cpus".into(),
            cpu_list.into(),
        ];
        if let Some(m) = self.model {
            args.extend(["--model-file".into(), absolute(m).into()]);
        }
        if let Some(l) = ort_lib {
            args.extend(["--ort-lib".into(), absolute(l).into()]);
        }
        let shown = std::iter::once(std::ffi::OsString::from("bench-gate"))
            .chain(args.iter().cloned())
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let mut command = Command::new(exe);
        command.args(args);
        Ok(Launch {
            shown,
            command,
            warmup: model.warmup,
        })
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
}

fn verdict(
    name: &str,
    env: &Hello,
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
            .zip(&out.pair)
            .map(|((f, r), p)| RoundChange {
                first: format!("{f:?}"),
                change_pct: (r.exp() - 1.0) * 100.0,
                pair: p + 1,
            })
            .collect(),
        ..ModelVerdict::new(name, &env.cpu_model, &env.architecture, t, test)
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
