//! How `ab` and the `ci` duet start a variant's worker: this build's `ab-worker` for a config
//! (and optionally another model file), or any shell command that speaks the protocol (another
//! build, a container image).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use super::serve::select_model;
use crate::config::Config;
use crate::platform::affinity;

/// How to start one variant's worker.
pub struct Launch {
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
    pub fn model_file(mut self, file: Option<&Path>) -> Launch {
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
pub struct Side<'a> {
    label: &'static str,
    model: Option<&'a Path>,
    config: Option<&'a Path>,
    cmd: Option<&'a str>,
}

impl<'a> Side<'a> {
    pub fn new(
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
    pub fn command(
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
                        "{} {}: both variants need a [models.{name}] table\n  fix: add [models.{name}] to that config, or choose a model both have with --model",
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
        let exe = std::env::current_exe().context(
            "cannot locate the bench-gate executable\n  fix: run bench-gate from a path that still exists (not a deleted or replaced binary)",
        )?;
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
pub fn clone_command(c: &Command) -> Command {
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
