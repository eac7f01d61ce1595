//! `bench-gate ci --base-config/--base-cmd`: the pull request's base against its head, each model
//! measured as a duet (the same code as `ab`), which decides the check.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cli::CiArgs;
use crate::compare::workers::{duet_verdict, thresholds_here};
use crate::compare::{Mode, ModelVerdict, VerdictReport};
use crate::config::Config;
use crate::output;
use crate::worker::launch::Launch;

/// Runs the duet of every selected model and writes the verdict to `out`; returns its exit code.
pub fn base_against_head(a: &CiArgs, head: &Config, out: &Path) -> Result<u8> {
    let base = match &a.base_config {
        Some(p) => Some(Config::load(p).with_context(|| {
            format!(
                "the base's config {} cannot be used for the duet\n  fix: check out the merge base (git worktree add) and pass its benchmark.toml, or leave --base-config out to gate on the committed baselines alone",
                p.display()
            )
        })?),
        None => None,
    };
    let choice = head.cpu_choice(a.select.cpus.as_deref())?;
    choice.pin()?;
    let cpus = choice.cpus;
    let exe = std::env::current_exe().context(
        "cannot locate the bench-gate executable (for the head's worker)\n  fix: run bench-gate from a path that still exists (not a deleted or replaced binary), or pass --head-cmd",
    )?;
    let base_bin = match &a.base_bin {
        Some(p) => executable_path("--base-bin", p)?,
        None => exe.clone(),
    };
    let t = thresholds_here(head);
    let mut models = Vec::new();
    let mut selected = head.clone();
    selected.keep_models(&a.select.models)?;
    for m in &selected.models {
        let base_model = match &base {
            Some(b) => match b.model(&m.name) {
                Some(bm) => Some(bm),
                None => {
                    models.push(new_model(m.name.as_str(), &t));
                    continue;
                }
            },
            None => None,
        };
        let base_launch = match (&a.base_cmd, &base, base_model) {
            (Some(cmd), _, _) => Launch::shell("A (base)", cmd, &cpus, &m.name, m.warmup),
            (None, Some(b), Some(bm)) => Launch::worker(
                "A (base)",
                &base_bin,
                &b.path,
                &m.name,
                &cpus,
                a.ort.path(),
                bm.warmup,
            ),
            _ => unreachable!("duet mode needs --base-config or --base-cmd"),
        };
        let head_launch = match &a.head_cmd {
            Some(cmd) => Launch::shell("B (head)", cmd, &cpus, &m.name, m.warmup),
            None => Launch::worker(
                "B (head)",
                &exe,
                &head.path,
                &m.name,
                &cpus,
                a.ort.path(),
                m.warmup,
            ),
        };
        output::status(
            a.quiet,
            format!("duet `{}`: base (A) against head (B)", m.name),
        );
        let plan = a
            .knobs
            .plan(&t, &head.gate, &[&base_launch, &head_launch])?;
        let v = duet_verdict(
            &m.name,
            [&base_launch, &head_launch],
            &t,
            &plan,
            head,
            a.quiet,
        )
        .with_context(|| {
            format!(
                "the duet of `{}` could not run (a base that fails to build or start is a setup error, not a regression)\n  fix: run the failing side by hand (its command is quoted below) and fix what it says; --base-config, --base-bin and --base-cmd choose the base",
                m.name
            )
        })?;
        models.push(v);
    }
    if models.is_empty() {
        bail!(
            "no model of {} was selected for the duet\n  fix: check --model",
            head.path.display()
        );
    }
    let report = VerdictReport::new(Mode::Ab, models, false);
    super::compare::finish(&report, Some(out), crate::cli::OutputFormat::Table, a.quiet)
}

/// A model only the head has: nothing to measure it against side by side.
fn new_model(name: &str, t: &crate::config::Thresholds) -> ModelVerdict {
    let mut v = ModelVerdict::new(name, "", "", t, "none (new model)".into());
    v.reasons.push(format!(
        "new model: `{name}` is not in the base's config, so there is no duet; the committed-baseline comparison is its only verdict"
    ));
    v
}

/// `path` as an absolute path to an executable regular file. A relative path is relative to the
/// current folder, never looked up on `PATH`: `Command::new("basebg")` would search `PATH` and
/// could run a different program of the same name.
fn executable_path(flag: &str, path: &Path) -> Result<PathBuf> {
    let shown = path.display();
    let abs = std::path::absolute(path).with_context(|| {
        format!(
            "{flag} {shown}: cannot make the path absolute\n  fix: pass the base's bench-gate as an absolute path"
        )
    })?;
    let meta = match std::fs::metadata(&abs) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{flag} {shown}: no such file (did the base fail to build?)\n  fix: build the merge base's bench-gate, or leave {flag} out to run the base's config with this build"
        ),
        Err(e) => bail!(
            "{flag} {shown}: cannot read it: {e}\n  fix: pass a bench-gate executable this user can read and run, or leave {flag} out to run the base's config with this build"
        ),
    };
    if !meta.is_file() {
        bail!(
            "{flag} {shown} is not a file (a folder?)\n  fix: pass the base's bench-gate binary itself, e.g. {flag} ../base/target/release/bench-gate"
        );
    }
    if !is_executable(&meta) {
        bail!(
            "{flag} {shown} is not executable\n  fix: chmod +x {shown}, or pass the base's built bench-gate binary"
        );
    }
    Ok(abs)
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    true
}
