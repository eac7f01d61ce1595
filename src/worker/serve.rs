//! The worker side: `bench-gate ab-worker` loads one variant, pins itself, says hello, then
//! measures a block per request until its stdin closes. Nothing but protocol lines goes to
//! stdout.

use std::io::{BufRead, Write};
use std::num::NonZeroU32;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::protocol::{Hello, PROTOCOL_VERSION, Reply, Request};
use crate::config::{Config, Iterations, ModelConfig, WorkloadSpec};
use crate::platform::Environment;
use crate::result::Fingerprint;
use crate::runner::{self, AutoPlan, Plan, Silent};
use crate::runtime::Runtime;
use crate::workload::{self, Workload};

/// The config's model `name`, with its model file replaced by `model_file` when given.
/// `flag` names the option that supplied `model_file`, for the error message.
pub fn select_model(
    config: &Config,
    name: &str,
    model_file: Option<&Path>,
    flag: &str,
) -> Result<ModelConfig> {
    let mut m = config.model(name).cloned().with_context(|| {
        format!(
            "no model `{name}` in {}\n  fix: every variant's config needs a [models.{name}] table",
            config.path.display()
        )
    })?;
    let Some(path) = model_file else {
        return Ok(m);
    };
    match &mut m.workload {
        WorkloadSpec::Onnx { model, .. } => {
            if path.is_dir() {
                bail!(
                    "{flag} {} is a folder, not a model file\n  fix: pass the .onnx file itself",
                    path.display()
                );
            }
            if !path.is_file() {
                bail!(
                    "{flag} {}: no such file\n  fix: pass an existing .onnx file",
                    path.display()
                );
            }
            if let Err(e) = std::fs::File::open(path) {
                bail!(
                    "{flag} {}: cannot read it: {e}\n  fix: make the file readable by this user (chmod a+r {})",
                    path.display(),
                    path.display()
                );
            }
            *model = path.to_path_buf();
        }
        WorkloadSpec::Whisper { .. } => bail!(
            "{flag} replaces an `onnx` model's file; `{name}` is a whisper pipeline of three files\n  fix: use --a-config/--b-config with two configs"
        ),
    }
    Ok(m)
}

/// What a worker runs: everything resolved before the protocol starts.
pub struct WorkerSpec<'a> {
    pub config: &'a Path,
    pub model: &'a str,
    pub model_file: Option<&'a Path>,
    pub cpus: Option<&'a str>,
    pub ort_lib: Option<&'a Path>,
}

/// Serves requests from `input` on `output` until `input` ends. A failure is also sent as a
/// [`Reply::Error`] line, so `ab` can quote it even when the worker's stderr is not visible
/// (a container's).
pub fn serve(spec: &WorkerSpec, input: impl BufRead, output: &mut impl Write) -> Result<()> {
    let outcome = serve_inner(spec, input, output);
    if let Err(e) = &outcome {
        let message = format!("{e:#}");
        let _ = send(output, &Reply::Error { message });
    }
    outcome
}

fn serve_inner(spec: &WorkerSpec, input: impl BufRead, output: &mut impl Write) -> Result<()> {
    let config = Config::load(spec.config)?;
    let model = select_model(&config, spec.model, spec.model_file, "--model-file")?;
    let choice = config.cpu_choice(spec.cpus)?;
    choice.pin()?;
    let cpus = choice.cpus;
    let env = Environment::detect(config.cpu_label.as_deref());
    let runtime = Runtime::load(spec.ort_lib)?;
    let fingerprint = Fingerprint::of(&model).with_context(|| {
        format!("cannot hash the files of model `{}`\n  fix: make every model and fixture file it names readable by this user (check the path and its permissions)", model.name)
    })?;
    let mut w = workload::build(&runtime, &model)?;
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        bench_gate_version: env!("CARGO_PKG_VERSION").into(),
        ort_version: runtime.version.clone(),
        cpu_model: env.cpu.model.clone(),
        architecture: env.cpu.architecture.clone(),
        host: env.hostname.clone().unwrap_or_default(),
        model: model.name.clone(),
        kind: model.kind(),
        fingerprint,
        session: model.session.clone(),
        pinned_cpus: cpus,
        cpu_limit: env.cpu_limit_cpus(),
    };
    send(output, &Reply::Hello(Box::new(hello)))?;
    for line in input.lines() {
        let line = line.context(
            "cannot read the next request on stdin\n  fix: start ab-worker from `bench-gate ab` (--a-cmd/--b-cmd), which feeds it requests",
        )?;
        if line.trim().is_empty() {
            continue;
        }
        let request: Request = serde_json::from_str(&line)
            .with_context(|| format!("not a request of protocol {PROTOCOL_VERSION}: {line}\n  fix: use the same bench-gate version for `ab` and its workers"))?;
        let reply = match request {
            Request::Measure { warmup, iterations } => block(w.as_mut(), warmup, iterations)?,
            Request::Outputs => Reply::Outputs(Box::new(w.outputs()?)),
            Request::AfterRun { profile } => {
                Reply::AfterRun(Box::new(runner::profile::after_run(w.as_mut(), profile)))
            }
            Request::Transcribe { samples } => match w.transcribe(&samples)? {
                Some(t) => Reply::Transcript {
                    tokens: t.tokens,
                    text: t.text,
                    finished: t.finished,
                },
                None => bail!(
                    "model `{}` is not a speech model: it cannot transcribe\n  fix: only `whisper` models have a labelled set",
                    model.name
                ),
            },
        };
        send(output, &reply)?;
    }
    Ok(())
}

fn block(w: &mut dyn Workload, warmup: u32, iterations: u32) -> Result<Reply> {
    let Some(n) = NonZeroU32::new(iterations) else {
        let mut stages = Vec::new();
        for _ in 0..warmup {
            stages.clear();
            w.iterate(&mut stages)?;
        }
        return Ok(Reply::Block {
            samples_ms: Vec::new(),
            during: Default::default(),
        });
    };
    let plan = Plan {
        warmup,
        iterations: Iterations::Fixed(n),
        time_budget: None,
        auto: AutoPlan::default(),
    };
    let m = runner::measure(w, &plan, &mut Silent)?;
    Ok(Reply::Block {
        samples_ms: m.samples_ms,
        during: m.during,
    })
}

fn send(output: &mut impl Write, reply: &Reply) -> Result<()> {
    let mut line = serde_json::to_string(reply)?;
    line.push('\n');
    output
        .write_all(line.as_bytes())
        .and_then(|()| output.flush())
        .context("cannot write to bench-gate ab (it exited?)\n  fix: see the error `bench-gate ab` printed; a worker ends when ab does")
}
