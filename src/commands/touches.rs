//! What each command reads and writes, declared in one place, and the one check built on it: no
//! output may be a file the command reads (the same file, or the same path when it does not
//! exist yet), and no two outputs may name one file. Every command runs [`Touches::check`]
//! before it measures or reads anything expensive, so a refused command has touched nothing.
//!
//! A declaration names files, not only flags: a config brings every model and fixture file it
//! names, a baselines folder every baseline and series file inside it, an output folder the
//! files written there (`plan.tsv`, `verdict.json`, `<pool>.json`). Reading for the declaration
//! is lenient: a config or result that does not load declares only itself, and the command
//! reports the problem with its own message right after.
//!
//! The tests below walk the clap definition: every flag whose value is a path must show up in
//! its command's declaration (or in [`NOT_DECLARED`], with the reason), so a new flag cannot
//! forget the rule.

use std::path::{Path, PathBuf};

use crate::baseline::{series, store};
use crate::cli::{
    AbArgs, AbWorkerArgs, BaselineCommand, BaselineUpdateArgs, CiArgs, Command, CommentArgs,
    CompareArgs, EnvArgs, K8sCommand, K8sJobArgs, K8sReadLogArgs, K8sRunArgs, LoadArgs, ReportArgs,
    RunArgs, SizeArgs, SweepArgs, TranscribeArgs, TrendArgs,
};
use crate::config::Config;
use crate::result::{Output, ResultError, RunResult};

/// Path flags deliberately left out of every declaration, with the reason.
pub const NOT_DECLARED: &[(&str, &str, &str)] = &[
    (
        "run",
        "--keep-profiles",
        "a folder ONNX Runtime fills with new trace files under <model>/; it is created, never read",
    ),
    (
        "ci",
        "--keep-profiles",
        "a folder ONNX Runtime fills with new trace files under <model>/; it is created, never read",
    ),
];

/// One file and why it is touched.
#[derive(Debug, Clone, PartialEq)]
struct Touch {
    /// For reads, the whole phrase (`--known-issues input`, `model file named by --b-config`);
    /// for writes, the flag (`-o`, `--issues-dir`).
    what: String,
    path: PathBuf,
    /// Writes only: check now that it can be written.
    probe: bool,
}

/// The files one command reads and writes.
#[derive(Debug, Default, Clone)]
pub struct Touches {
    reads: Vec<Touch>,
    writes: Vec<Touch>,
}

impl Touches {
    /// A file read, named by `flag`.
    pub fn read(&mut self, flag: &str, path: Option<&Path>) -> &mut Self {
        self.read_as(format!("{flag} input"), path)
    }

    fn read_as(&mut self, what: String, path: Option<&Path>) -> &mut Self {
        if let Some(path) = path {
            self.reads.push(Touch {
                what,
                path: path.to_path_buf(),
                probe: false,
            });
        }
        self
    }

    /// Files a command reads beyond its flags (e.g. the baselines a verdict names).
    pub fn read_named(&mut self, what: &str, paths: &[&Path]) -> &mut Self {
        for p in paths {
            self.read_as(what.to_string(), Some(p));
        }
        self
    }

    /// A config named by `flag`, and every model and fixture file it names (when it loads).
    pub fn config(&mut self, flag: &str, path: Option<&Path>) -> &mut Self {
        let Some(path) = path else { return self };
        self.read(flag, Some(path));
        if let Ok(config) = Config::load(path) {
            for (what, file) in config.input_files().into_iter().skip(1) {
                let what = what.trim_start_matches("a ").trim_start_matches("the ");
                self.read_as(format!("{what} named by {flag}"), Some(file));
            }
        }
        self
    }

    /// A baselines folder named by `flag`: every baseline and series file in it.
    pub fn baselines(&mut self, flag: &str, root: Option<&Path>) -> &mut Self {
        let Some(root) = root else { return self };
        self.read_as(format!("{flag} folder"), Some(root));
        for f in store::files_under(root) {
            let kind = if f.to_string_lossy().ends_with(series::SERIES_SUFFIX) {
                "series"
            } else {
                "baseline"
            };
            self.read_as(format!("{kind} file in {flag}"), Some(&f));
        }
        self
    }

    /// A file written, named by `flag` (or inside the folder `flag` names).
    pub fn write(&mut self, flag: &str, path: Option<&Path>) -> &mut Self {
        self.write_with(flag, path, true)
    }

    /// A file written in a folder the command creates: not probed before the run.
    pub fn write_new(&mut self, flag: &str, path: Option<&Path>) -> &mut Self {
        self.write_with(flag, path, false)
    }

    fn write_with(&mut self, flag: &str, path: Option<&Path>, probe: bool) -> &mut Self {
        if let Some(path) = path {
            self.writes.push(Touch {
                what: flag.to_string(),
                path: path.to_path_buf(),
                probe,
            });
        }
        self
    }

    /// Refuses an output that is an input or another output, then checks each probed output
    /// can be written (`result::check_writes`).
    pub fn check(&self) -> Result<(), ResultError> {
        let outputs: Vec<Output> = self
            .writes
            .iter()
            .map(|t| Output {
                flag: &t.what,
                path: &t.path,
                probe: t.probe,
            })
            .collect();
        let inputs: Vec<(String, &Path)> = self
            .reads
            .iter()
            .map(|t| (t.what.clone(), t.path.as_path()))
            .collect();
        crate::result::check_writes(&outputs, &inputs)
    }
}

/// The declaration of `command`.
pub fn of(command: &Command) -> Touches {
    match command {
        Command::Run(a) => run(a),
        Command::Env(a) => env(a),
        Command::Transcribe(a) => transcribe(a),
        Command::K8s(K8sCommand::Render(a)) => k8s_job(&a.job),
        Command::K8s(K8sCommand::Run(a)) => k8s_run(a),
        Command::K8s(K8sCommand::ReadLog(a)) => k8s_read_log(a),
        Command::Size(a) => size(a),
        Command::Sweep(a) => sweep(a),
        Command::Load(a) => load(a),
        Command::Report(a) => report(a),
        Command::Comment(a) => comment(a),
        Command::Compare(a) => compare(a),
        Command::Baseline(a) => match &a.command {
            BaselineCommand::Update(a) => baseline_update(a),
            BaselineCommand::List(a) => {
                let mut t = Touches::default();
                t.baselines("--baselines", Some(&a.baselines.baselines));
                t
            }
        },
        Command::Ab(a) => ab(a),
        Command::AbWorker(a) => ab_worker(a),
        Command::Ci(a) => ci(a),
        Command::Trend(a) => trend(a),
        Command::Schema => Touches::default(),
    }
}

pub fn run(a: &RunArgs) -> Touches {
    let mut t = Touches::default();
    t.config("-c", Some(&a.config.config))
        .read("--ort-lib", a.ort.path())
        .write("-o", a.output.as_deref());
    t
}

fn env(a: &EnvArgs) -> Touches {
    let mut t = Touches::default();
    t.read("-c", a.config.as_deref())
        .read("--ort-lib", a.ort.path());
    t
}

pub fn transcribe(a: &TranscribeArgs) -> Touches {
    let mut t = Touches::default();
    t.config("-c", Some(&a.config.config))
        .read("--ort-lib", a.ort.path());
    for f in &a.files {
        t.read("FILE.wav", Some(f));
    }
    t
}

fn k8s_job(a: &K8sJobArgs) -> Touches {
    let mut t = Touches::default();
    t.config("-c", Some(&a.config.config));
    t
}

pub fn k8s_run(a: &K8sRunArgs) -> Touches {
    let mut t = k8s_job(&a.job);
    t.read("--kubeconfig", a.kubeconfig.as_deref());
    for pool in k8s_pools(a) {
        t.write("--out-dir", Some(&k8s_result_path(&a.out_dir, &pool)));
    }
    t
}

/// `k8s read-log` reads a saved pod log and writes the result where `k8s run` would.
pub fn k8s_read_log(a: &K8sReadLogArgs) -> Touches {
    let mut t = Touches::default();
    t.read("--log", Some(&a.log));
    t.write("--out-dir", Some(&k8s_result_path(&a.out_dir, &a.pool)));
    t
}

/// The pools `k8s run` measures: --pools, else --pool.
pub fn k8s_pools(a: &K8sRunArgs) -> Vec<String> {
    if a.pools.is_empty() {
        vec![a.job.pool.clone()]
    } else {
        a.pools.clone()
    }
}

/// Where `k8s run` writes a pool's result: `<dir>/<pool>.json`.
pub fn k8s_result_path(dir: &Path, pool: &str) -> PathBuf {
    dir.join(format!(
        "{}.json",
        crate::publish::k8s::render::dns_label(pool)
    ))
}

pub fn size(a: &SizeArgs) -> Touches {
    let default_config = Path::new("benchmark.toml");
    let config = a
        .config
        .as_deref()
        .or(Some(default_config).filter(|p| p.is_file()));
    let mut t = Touches::default();
    t.read("--reference", a.reference.as_deref())
        .read("--target", a.target.as_deref())
        .read("--ratios", a.ratios.as_deref())
        .baselines("--baselines", a.baselines.as_deref())
        // Only the `[sizing]` table is read: the models it names are not.
        .read("-c", config)
        .write("-o", a.output.as_deref())
        .write("--markdown", a.markdown.as_deref())
        .write("--ratio-config", a.ratio_config.as_deref());
    t
}

pub fn sweep(a: &SweepArgs) -> Touches {
    let mut t = Touches::default();
    t.config("-c", Some(&a.config.config))
        .read("--ort-lib", a.ort.path())
        .write("-o", a.output.as_deref())
        .write("--markdown", a.markdown.as_deref());
    t
}

pub fn load(a: &LoadArgs) -> Touches {
    let mut t = Touches::default();
    t.config("-c", Some(&a.config.config))
        .read("--ort-lib", a.ort.path())
        .write("-o", a.output.as_deref())
        .write("--markdown", a.markdown.as_deref());
    t
}

/// `report`'s flags; the baselines its verdict names are added by `report` once it has read the
/// verdict.
pub fn report(a: &ReportArgs) -> Touches {
    let mut t = Touches::default();
    t.read("--verdict", Some(&a.verdict))
        .read("--result", a.result.as_deref())
        .read("--sizing", a.sizing.as_deref())
        .read("--second-opinion", a.second_opinion.as_deref())
        .write("-o", a.output.as_deref());
    t
}

fn comment(a: &CommentArgs) -> Touches {
    let mut t = Touches::default();
    t.read("--body-file", Some(&a.body_file));
    t
}

pub fn compare(a: &CompareArgs) -> Touches {
    let mut t = Touches::default();
    t.config("-c", Some(&a.config.config))
        .read("--result", Some(&a.result))
        .baselines("--baselines", Some(&a.baselines.baselines))
        .write("-o", a.output.as_deref());
    t
}

/// `baseline update` rewrites the baseline and series files of each model of its result in
/// place (they are its outputs, not inputs); the result and config must not be among them.
pub fn baseline_update(a: &BaselineUpdateArgs) -> Touches {
    let root = &a.baselines.baselines;
    let mut t = Touches::default();
    t.read("--result", Some(&a.result))
        .read("-c", a.config.as_deref());
    t.read_as("--baselines folder".into(), Some(root));
    if let Ok(run) = RunResult::read(&a.result) {
        for m in &run.models {
            let key = store::Key::of(m);
            if let (Ok(b), Ok(s)) = (key.path(root), series::path(root, &key)) {
                t.write_new("--baselines", Some(&b));
                t.write_new("--baselines", Some(&s));
            }
        }
    }
    t
}

pub fn ab(a: &AbArgs) -> Touches {
    let mut t = Touches::default();
    t.config("-c", Some(&a.config.config))
        .config("--a-config", a.a_config.as_deref())
        .config("--b-config", a.b_config.as_deref())
        .read("--a-model", a.a_model.as_deref())
        .read("--b-model", a.b_model.as_deref())
        .read("--ort-lib", a.ort.path())
        .write("-o", a.output.as_deref());
    t
}

fn ab_worker(a: &AbWorkerArgs) -> Touches {
    let mut t = Touches::default();
    t.config("-c", Some(&a.config.config))
        .read("--model-file", a.model_file.as_deref())
        .read("--ort-lib", a.ort.path());
    t
}

/// The files `ci` keeps in --out-dir.
pub struct CiFiles {
    /// Measured here unless --result was given.
    pub result: PathBuf,
    /// The gate's verdict: `compare`'s, or the duet's.
    pub verdict: PathBuf,
    /// Beside a duet: `compare`'s verdict, shown but not deciding.
    pub second_opinion: PathBuf,
    pub comment: PathBuf,
}

impl CiFiles {
    pub fn in_dir(dir: &Path) -> CiFiles {
        CiFiles {
            result: dir.join("result.json"),
            verdict: dir.join("verdict.json"),
            second_opinion: dir.join("compare.json"),
            comment: dir.join("comment.md"),
        }
    }
}

/// What a `ci` run does, from its flags: the one place `ci` and its declaration learn it.
pub struct CiSteps {
    /// A base was given: the duet decides.
    pub duet: bool,
    /// This run measures (no --result, and not a duet without its second opinion).
    pub measures: bool,
    /// Beside the duet, the measured run compared with the baselines.
    pub second_opinion: bool,
}

impl CiSteps {
    pub fn of(a: &CiArgs) -> CiSteps {
        let duet = a.base_config.is_some() || a.base_cmd.is_some();
        CiSteps {
            duet,
            measures: a.result.is_none() && (!duet || !a.no_second_opinion),
            second_opinion: duet && !a.no_second_opinion,
        }
    }
}

pub fn ci(a: &CiArgs) -> Touches {
    let files = CiFiles::in_dir(&a.out_dir);
    let CiSteps {
        duet: _,
        measures,
        second_opinion,
    } = CiSteps::of(a);
    let mut t = Touches::default();
    t.config("-c", Some(&a.config.config))
        .config("--base-config", a.base_config.as_deref())
        .read("--base-bin", a.base_bin.as_deref())
        .read("--result", a.result.as_deref())
        .baselines("--baselines", Some(&a.baselines.baselines))
        .read("--sizing", a.sizing.as_deref())
        .read("--ort-lib", a.ort.path())
        .write("--out-dir", measures.then_some(files.result.as_path()))
        .write("--out-dir", Some(&files.verdict))
        .write(
            "--out-dir",
            second_opinion.then_some(files.second_opinion.as_path()),
        )
        .write("--out-dir", Some(&files.comment));
    t
}

pub fn trend(a: &TrendArgs) -> Touches {
    let plan = a.issues_dir.as_ref().map(|d| d.join("plan.tsv"));
    let mut t = Touches::default();
    t.baselines("--baselines", Some(&a.baselines.baselines))
        .read("--known-issues", a.known_issues.as_deref())
        .write("-o", a.output.as_deref())
        // The folder is created when missing: its plan cannot be probed before.
        .write_new("--issues-dir", plan.as_deref());
    // How many issue bodies a scan writes is known only after it; any other path given that
    // has the name of one (`step-007.md` in that folder) would be overwritten.
    if let Some(dir) = &a.issues_dir {
        for p in [a.output.as_deref(), a.known_issues.as_deref()]
            .into_iter()
            .flatten()
            .filter(|p| is_issue_body(dir, p))
        {
            t.write_new("--issues-dir", Some(p));
        }
    }
    t
}

/// `path` is where `trend` may write an issue body: `<dir>/step-<digits>.md`.
fn is_issue_body(dir: &Path, path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let in_dir = path.parent().is_some_and(|p| {
        crate::result::same_file(p, dir)
            || std::path::absolute(p).ok() == std::path::absolute(dir).ok()
    });
    in_dir
        && name
            .strip_prefix("step-")
            .and_then(|n| n.strip_suffix(".md"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use std::any::TypeId;

    use clap::{CommandFactory, Parser};

    use super::*;
    use crate::cli::Cli;

    /// Arguments a subcommand needs before one more flag can be added, and what a flag
    /// itself requires.
    fn base_args(command: &str) -> Vec<&'static str> {
        match command {
            "report" => vec!["--verdict", "/nonexistent/base-verdict.json"],
            "comment" => vec!["--body-file", "/nonexistent/base-body.md"],
            "compare" | "baseline update" => vec!["--result", "/nonexistent/base-result.json"],
            "ab-worker" => vec!["--model", "m"],
            "transcribe" => vec!["/nonexistent/base.wav"],
            _ => Vec::new(),
        }
    }

    fn requires(command: &str, flag: &str) -> Vec<&'static str> {
        match (command, flag) {
            ("trend", "known-issues") => vec!["--issues-dir", "/nonexistent/issues"],
            ("ci", "base-bin") => vec!["--base-config", "/nonexistent/base.toml"],
            ("k8s read-log", "log") => vec!["--out-dir", "/nonexistent/out"],
            ("k8s read-log", "out-dir") => vec!["--log", "/nonexistent/pod.log"],
            ("size", "ratios") => vec!["--reference", "/nonexistent/ref.json"],
            ("size", "baselines") => vec!["--reference-cpu", "a", "--target-cpu", "b"],
            _ => Vec::new(),
        }
    }

    /// Every (command words, flag) whose value is a path, from the clap definition.
    fn path_flags() -> Vec<(String, clap::Arg)> {
        fn walk(prefix: &str, cmd: &clap::Command, out: &mut Vec<(String, clap::Arg)>) {
            for sub in cmd.get_subcommands() {
                let name = format!("{prefix} {}", sub.get_name()).trim().to_string();
                walk(&name, sub, out);
                for arg in sub.get_arguments() {
                    let parser_is_path =
                        arg.get_value_parser().type_id() == TypeId::of::<PathBuf>();
                    let hint_is_path = matches!(
                        arg.get_value_hint(),
                        clap::ValueHint::FilePath
                            | clap::ValueHint::DirPath
                            | clap::ValueHint::AnyPath
                            | clap::ValueHint::ExecutablePath
                    );
                    if parser_is_path || hint_is_path {
                        out.push((name.clone(), arg.clone()));
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk("", &Cli::command(), &mut out);
        out
    }

    #[test]
    fn every_path_flag_of_every_command_is_declared_as_read_or_written() {
        let flags = path_flags();
        assert!(
            flags.len() > 30,
            "the walk found only {} flags",
            flags.len()
        );
        let dir = tempfile::tempdir().unwrap();
        let mut missing = Vec::new();
        for (command, arg) in &flags {
            // A positional path (`transcribe FILE.wav...`) is named by its value name.
            let positional = arg.get_long().is_none();
            let long = arg
                .get_long()
                .map(str::to_string)
                .or_else(|| {
                    arg.get_value_names()
                        .and_then(|v| v.first())
                        .map(|v| v.to_string())
                })
                .expect("every path argument has a long name or a value name");
            if NOT_DECLARED
                .iter()
                .any(|(c, f, _)| c == command && *f == format!("--{long}"))
            {
                continue;
            }
            let value = dir.path().join(format!(
                "{}-{}",
                command.replace(' ', "-"),
                long.replace('.', "-")
            ));
            let mut argv: Vec<String> = vec!["bench-gate".into()];
            argv.extend(command.split(' ').map(String::from));
            let base = base_args(command);
            if !base.contains(&format!("--{long}").as_str()) {
                argv.extend(base.into_iter().map(String::from));
            }
            argv.extend(requires(command, &long).into_iter().map(String::from));
            if !positional {
                argv.push(format!("--{long}"));
            }
            argv.push(value.display().to_string());
            let cli =
                Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{}: {e}", argv.join(" ")));
            let t = of(&cli.command);
            let names = |touch: &Touch| {
                let short = arg.get_short().map(|s| format!("-{s}"));
                let flag = if positional {
                    long.clone()
                } else {
                    format!("--{long}")
                };
                touch.what.contains(&flag)
                    || short.is_some_and(|s| touch.what.split(' ').any(|w| w == s))
            };
            let found = t
                .reads
                .iter()
                .chain(&t.writes)
                .any(|touch| names(touch) && touch.path.starts_with(&value));
            if !found {
                missing.push(format!("{command} --{long}"));
            }
        }
        assert!(
            missing.is_empty(),
            "path flags in no declaration (src/commands/touches.rs), neither read nor written nor in NOT_DECLARED: {missing:?}"
        );
    }

    #[test]
    fn the_not_declared_list_names_real_flags_only() {
        let flags = path_flags();
        for (command, flag, reason) in NOT_DECLARED {
            assert!(!reason.is_empty());
            assert!(
                flags.iter().any(|(c, a)| c == command
                    && a.get_long().is_some_and(|l| format!("--{l}") == *flag)),
                "{command} {flag} is not a path flag"
            );
        }
    }

    #[test]
    fn a_config_brings_the_files_it_names_and_a_baselines_folder_its_files() {
        let d = tempfile::tempdir().unwrap();
        let model = d.path().join("b.onnx");
        std::fs::write(&model, b"onnx").unwrap();
        let cfg = d.path().join("b.toml");
        std::fs::write(
            &cfg,
            format!(
                "[models.m]\nkind = \"onnx\"\nmodel = {:?}\n\n[[models.m.inputs]]\nname = \"x\"\ndtype = \"f32\"\nshape = [1]\nfill = {{ random = {{ seed = 1 }} }}\n",
                model.display().to_string()
            ),
        )
        .unwrap();
        let series = d.path().join("bl/m/x86_64/cpu.series.jsonl");
        std::fs::create_dir_all(series.parent().unwrap()).unwrap();
        std::fs::write(&series, "{}\n").unwrap();
        let mut t = Touches::default();
        t.config("--b-config", Some(&cfg))
            .baselines("--baselines", Some(&d.path().join("bl")));
        let what_of = |p: &Path| t.reads.iter().find(|r| r.path == p).map(|r| r.what.clone());
        assert_eq!(what_of(&cfg).as_deref(), Some("--b-config input"));
        assert_eq!(
            what_of(&model).as_deref(),
            Some("model file named by --b-config")
        );
        assert_eq!(
            what_of(&series).as_deref(),
            Some("series file in --baselines")
        );
        // An output on the model is refused, naming the flag that brought it.
        t.write("-o", Some(&model));
        let err = t.check().unwrap_err().to_string();
        assert!(
            err.contains("-o") && err.contains("model file named by --b-config"),
            "{err}"
        );
        assert!(err.contains("fix:"), "{err}");
    }

    #[test]
    fn an_output_folder_file_clashing_with_another_output_is_refused_even_before_it_exists() {
        let d = tempfile::tempdir().unwrap();
        let issues = d.path().join("issues");
        let mut t = Touches::default();
        t.write("-o", Some(&issues.join("plan.tsv")))
            .write_new("--issues-dir", Some(&issues.join("plan.tsv")));
        let err = t.check().unwrap_err().to_string();
        assert!(
            err.contains("--issues-dir") && err.contains("-o output"),
            "{err}"
        );
        let mut ok = Touches::default();
        ok.write("-o", Some(&d.path().join("trend.json")))
            .write_new("--issues-dir", Some(&issues.join("plan.tsv")));
        ok.check().unwrap();
    }
}
