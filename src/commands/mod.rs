//! One function per subcommand. Each returns the process exit code or an error (exit code 2).

mod ab;
mod baseline;
mod ci;
mod comment;
mod compare;
mod duet;
mod env;
mod k8s;
mod load;
mod report;
mod run;
mod size;
mod sweep;
pub mod touches;
mod transcribe;
mod trend;

use anyhow::Result;

use crate::cli::Command;

pub fn dispatch(command: Command) -> Result<u8> {
    match command {
        Command::Run(args) => run::run(&args),
        Command::Env(args) => env::env(&args),
        Command::Transcribe(args) => transcribe::transcribe(&args),
        Command::K8s(cmd) => k8s::k8s(&cmd),
        Command::Size(args) => size::size(&args),
        Command::Sweep(args) => sweep::sweep(&args),
        Command::Load(args) => load::load(&args),
        Command::Report(args) => report::report(&args),
        Command::Comment(args) => comment::comment(&args),
        Command::Compare(args) => compare::compare(&args),
        Command::Baseline(args) => baseline::baseline(&args),
        Command::Ab(args) => ab::ab(&args),
        Command::AbWorker(args) => ab::worker(&args),
        Command::Ci(args) => ci::ci(&args),
        Command::Trend(args) => trend::trend(&args),
        Command::Schema => {
            print!("{}", crate::result::json_schema());
            Ok(0)
        }
    }
}

/// The commit of the git repository holding `path` (a config file), if any. Never an error:
/// results outside git are fine.
pub fn head_commit(path: &std::path::Path) -> Option<String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && s.len() == 40).then_some(s)
}

/// Writes a report's versioned JSON and its markdown section where the user asked (each
/// atomically), saying so unless quiet. Shared by `sweep` and `load`.
pub fn write_report_files<T: serde::Serialize>(
    report: &T,
    json: Option<&std::path::Path>,
    markdown: Option<&std::path::Path>,
    render_markdown: impl FnOnce(&T) -> String,
    quiet: bool,
) -> anyhow::Result<()> {
    if let Some(path) = json {
        let mut text = serde_json::to_string_pretty(report)?;
        text.push('\n');
        crate::result::write_atomic(path, text.as_bytes())?;
        crate::output::status(quiet, format!("wrote {}", path.display()));
    }
    if let Some(path) = markdown {
        crate::result::write_atomic(path, render_markdown(report).as_bytes())?;
        crate::output::status(quiet, format!("wrote {}", path.display()));
    }
    Ok(())
}
