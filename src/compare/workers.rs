//! The duet measured on worker processes: fresh pairs started from two [`Launch`]es, refused
//! unless both run on the same CPUs of the same machine, driven by [`super::ab::duet`] and judged
//! by [`super::ab::verdict`]. Shared by `ab` and the `ci` duet.

use anyhow::{Result, bail};

use super::ab::{DuetPlan, DuetStop, StartPair, Variant, duet_listening};
use super::comparability::{RunFacts, what_changed};
use super::{DEFAULT_THRESHOLDS, ModelVerdict, contamination};
use crate::config::{Config, Thresholds};
use crate::output;
use crate::platform::{EnvDelta, affinity};
use crate::worker::launch::{Launch, clone_command};
use crate::worker::protocol::Hello;
use crate::worker::{Patience, Worker};

/// The config's thresholds for the architecture this process runs on (or the defaults).
pub fn thresholds_here(config: &Config) -> Thresholds {
    let arch = crate::platform::Environment::detect(config.cpu_label.as_deref())
        .cpu
        .architecture;
    config
        .thresholds
        .get(&arch)
        .cloned()
        .unwrap_or(DEFAULT_THRESHOLDS)
}

/// Measures the duet of `launches` (A, B) for model `name` and returns its verdict. Shared by
/// `ab` and the `ci` duet. The process must already be pinned where the workers will run.
pub fn duet_verdict(
    name: &str,
    launches: [&Launch; 2],
    t: &Thresholds,
    plan: &DuetPlan,
    config: &Config,
    quiet: bool,
) -> Result<ModelVerdict> {
    for l in launches {
        output::status(quiet, format!("variant {}: {}", l.label, l.shown));
    }
    let (budget_s, pairs) = (plan.budget.as_secs_f64(), plan.pairs);
    // The first pair's hellos describe the variants; later pairs must say the same.
    let mut seen: Option<(Hello, Hello)> = None;
    let patience = Patience {
        first_answer: std::time::Duration::from_secs_f64(config.gate.worker_first_answer_s),
    };
    let mut start_pair = |p: u32| -> Result<(Box<dyn Variant>, Box<dyn Variant>)> {
        let spawn =
            |l: &Launch| Worker::spawn(&l.label, &l.shown, clone_command(&l.command), patience);
        let (a, b) = (spawn(launches[0])?, spawn(launches[1])?);
        check_same_place(&a.hello, &b.hello)?;
        match &seen {
            None => {
                output::status(
                    quiet,
                    format!(
                        "ab `{name}`: duet of up to {budget_s:.0} s of measuring on up to {pairs} fresh pair(s) of worker processes, pinned to CPUs {} on {}",
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
    // Both variants hear the config's labelled set, read here once (a bad set is the user's
    // mistake, found before anything is measured).
    let listen = config
        .model(name)
        .and_then(|m| m.labelled_set())
        .map(crate::accuracy::score::load_set)
        .transpose()?;
    let attempt = |start: &mut StartPair<'_>, plan: &DuetPlan| {
        duet_listening(plan, listen.as_ref(), start, &mut |i, r| {
            output::status(quiet, format!("  unit {i}: B/A = {:.3}", r.exp()));
        })
    };
    let mut out = attempt(&mut start_pair, plan)?;
    let mut notes = Vec::new();
    if !contamination::reasons_interleaved(&out.during).is_empty()
        && config.gate.rerun_on_contamination
        && !matches!(out.stop, DuetStop::Unanswered(_))
    {
        notes.push(
            "the first attempt was contaminated; measured again ([gate] rerun_on_contamination)"
                .to_string(),
        );
        out = attempt(&mut start_pair, plan)?;
    }
    // A wait the units were adjusted for is said by the verdict, with both variants' shares.
    let mut shared = out.during;
    if out.judged().how == crate::compare::wait::Adjustment::Applied {
        shared.run_delay_ratio = None;
    }
    notes.extend(contamination::interleaved_notes(&shared));
    let mut v = match &seen {
        Some((ha, hb)) => {
            let mut v = crate::compare::ab::verdict(name, &ha.cpu_model, &ha.architecture, t, &out);
            v.what_changed = what_changed(&facts(ha), &facts(hb));
            v
        }
        None => {
            // No worker said hello in time (the duet stopped at the first start): the CPU is
            // this machine's, where the workers were to run.
            let cpu = crate::platform::Environment::detect(config.cpu_label.as_deref()).cpu;
            crate::compare::ab::verdict(name, &cpu.model, &cpu.architecture, t, &out)
        }
    };
    // Side A as its launch names it (`A`, or `A (base)` in `ci`): the comment's columns follow.
    if let Some(b) = v.baseline.as_mut() {
        b.source = format!("variant {}", launches[0].label);
    }
    super::after_run::apply(&mut v, &out.after, t);
    if let Some(heard) = &out.accuracy {
        let pair = heard.as_ref().map(|(a, b)| (a, b)).map_err(Clone::clone);
        super::accuracy::apply(&mut v, pair, t);
    }
    v.reasons.extend(notes);
    Ok(v)
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
        decoder_steps: None,
    }
}

/// "2 busy threads on 1 CPU(s)" when a worker's session runs more busy threads than the CPUs
/// it may run on at once (pinned, and its CPU limit rounded up): its threads then wait for each
/// other. A quota below one CPU throttles rather than crowds; that is contamination's business.
fn crowding(h: &Hello) -> Option<String> {
    let s = &h.session;
    let inter = if s.parallel_execution {
        s.inter_op_threads.get()
    } else {
        1
    };
    let threads = u32::from(s.intra_op_threads.get()) * u32::from(inter);
    let mut cpus = h.pinned_cpus.len() as u32;
    if let Some(limit) = h.cpu_limit.filter(|l| l.is_finite() && *l > 0.0) {
        let limit = limit.ceil() as u32;
        cpus = if cpus > 0 { cpus.min(limit) } else { limit };
    }
    (cpus > 0 && threads > cpus).then(|| format!("{threads} busy threads on {cpus} CPU(s)"))
}

impl Variant for Worker {
    fn crowded(&self) -> Option<String> {
        crowding(&self.hello)
    }
    fn transcribe(&mut self, samples: &[f32]) -> Result<crate::workload::Transcript> {
        Worker::transcribe(self, samples)
    }
    fn block(&mut self, warmup: u32, iterations: u32) -> Result<(Vec<f64>, EnvDelta)> {
        self.measure(warmup, iterations)
    }
    fn outputs(&mut self) -> Result<crate::workload::Outputs> {
        Worker::outputs(self)
    }
    fn after_run(&mut self, profile: bool) -> Result<crate::runner::profile::AfterRun> {
        Worker::after_run(self, profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU16;

    fn hello(intra: u16, inter: u16, parallel: bool, cpus: &[usize], limit: Option<f64>) -> Hello {
        Hello {
            protocol: 1,
            bench_gate_version: "x".into(),
            ort_version: "x".into(),
            cpu_model: "cpu".into(),
            architecture: "x86_64".into(),
            host: "h".into(),
            model: "m".into(),
            kind: crate::config::WorkloadKind::Onnx,
            fingerprint: crate::result::Fingerprint {
                models: Default::default(),
                fixture: None,
                config: "c".into(),
            },
            session: crate::config::SessionOptions {
                intra_op_threads: NonZeroU16::new(intra).unwrap(),
                inter_op_threads: NonZeroU16::new(inter).unwrap(),
                parallel_execution: parallel,
                ..Default::default()
            },
            pinned_cpus: cpus.to_vec(),
            cpu_limit: limit,
        }
    }

    #[test]
    fn a_worker_crowds_when_its_busy_threads_outnumber_the_cpus_it_may_run_on() {
        assert_eq!(crowding(&hello(1, 1, false, &[0], None)), None);
        assert_eq!(
            crowding(&hello(2, 1, false, &[0], None)).as_deref(),
            Some("2 busy threads on 1 CPU(s)")
        );
        assert_eq!(crowding(&hello(2, 1, false, &[0, 1], None)), None);
        // Inter-op threads count only with parallel execution.
        assert_eq!(crowding(&hello(1, 4, false, &[0, 1], None)), None);
        assert_eq!(
            crowding(&hello(1, 4, true, &[0, 1], None)).as_deref(),
            Some("4 busy threads on 2 CPU(s)")
        );
        // Two pinned CPUs under a 1-CPU limit: one CPU at a time.
        assert_eq!(
            crowding(&hello(2, 1, false, &[0, 1], Some(1.0))).as_deref(),
            Some("2 busy threads on 1 CPU(s)")
        );
        // A quota below one CPU throttles one thread; it does not crowd it.
        assert_eq!(crowding(&hello(1, 1, false, &[0, 1], Some(0.5))), None);
    }
}
