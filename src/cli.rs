//! Command-line interface. Every flag carries its own manual entry.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod sizing_args;
pub use sizing_args::{LoadArgs, LoadModeArg, PolicyArg, SizeArgs, SweepArgs};
mod publish_args;
pub use publish_args::{CommentArgs, ReportArgs, ReportFormat};

#[derive(Debug, Parser)]
#[command(name = "bench-gate", version, about = "Catch ONNX Runtime inference slowdowns in CI and size production from real measurements.", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure the models of benchmark.toml on pinned CPUs and write a result file.
    Run(RunArgs),
    /// Show what bench-gate detects here: CPU, features, cgroup limits, cpuset, ONNX Runtime.
    Env(EnvArgs),
    /// Print what a `whisper` model of the config hears in WAV files (greedy decoding to
    /// <|endoftext|>, as `run` scores its labelled set).
    Transcribe(TranscribeArgs),
    /// Render or run the benchmark as a short-lived Kubernetes Job on a node pool.
    #[command(subcommand)]
    K8s(K8sCommand),
    /// Size production from two measurements: normalization ratio, cores, pods, requests/limits,
    /// threads, memory, cost.
    Size(SizeArgs),
    /// Measure the thread trap: latency and CFS throttling at several intra-op thread counts
    /// under one CPU limit.
    Sweep(SweepArgs),
    /// Drive N concurrent inference streams (closed or open loop): RPS, percentiles, CPU use,
    /// scale efficiency and grade.
    Load(LoadArgs),
    /// Compose the PR comment (markdown) or its JSON twin from a verdict, the run's result and
    /// the sizing report.
    Report(ReportArgs),
    /// Create or update this gate's one comment on the pull request, and append it to the
    /// step summary. A failure to comment warns and exits 0 unless --strict.
    Comment(CommentArgs),
    /// Judge a result file against the committed baseline for this CPU model: pass, improved,
    /// regressed, inconclusive or no_baseline (exit 0, 0, 1, 0/3, 0/2; docs/verdict.md).
    Compare(CompareArgs),
    /// Maintain the committed baselines (append an accepted run, list what exists).
    Baseline(BaselineArgs),
    /// Measure two variants (model files or configs) in alternating rounds on the same pinned
    /// CPUs and judge B against A with the same rules as `compare`.
    Ab(AbArgs),
    /// One variant of `ab` in its own process, speaking JSON lines on stdin/stdout.
    #[command(hide = true)]
    AbWorker(AbWorkerArgs),
    /// The common CI workflow in one command: run, compare, report, comment (exit codes as compare).
    Ci(CiArgs),
    /// Scan the long history of every (model, CPU model) for step changes in latency and memory
    /// (E-divisive with a permutation test): when, the commits around each step, its size and
    /// interval; optionally plan one issue per new step.
    Trend(TrendArgs),
    /// Print the JSON Schema of result files.
    #[command(hide = true)]
    Schema,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A human-readable table.
    Table,
    /// JSON on stdout.
    Json,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The benchmark configuration. Relative paths inside it resolve against its folder.
    #[arg(
        short = 'c',
        long = "config",
        default_value = "benchmark.toml",
        value_name = "FILE"
    )]
    pub config: PathBuf,
}

/// What to measure and where: shared by `run` and `ci`, which measure the same way.
#[derive(Debug, Clone, Default, Args)]
pub struct Selection {
    /// Only run these models (repeat the flag, or separate with commas). Default: every model.
    #[arg(
        short = 'm',
        long = "model",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub models: Vec<String>,

    /// CPUs to pin the process and ONNX Runtime's threads to, e.g. "0", "2-3", "0,2" or "all".
    /// Overrides `run.cpus` in the config (default: CPU 0).
    #[arg(long, value_name = "LIST")]
    pub cpus: Option<String>,

    /// Counted iterations (a number or "auto"), overriding the config for every model.
    #[arg(long, value_name = "N|auto")]
    pub iterations: Option<String>,

    /// Skip the profiled pass. By default, after the counted iterations, each model runs once
    /// more with ONNX Runtime's profiler on and the result records where that pass spent its
    /// time per operator type and per node (`operators`), which `compare` uses to say which
    /// operators got slower. The pass is never counted; it costs about one more iteration.
    #[arg(long)]
    pub no_profile: bool,

    /// Keep ONNX Runtime's raw trace files of the profiled pass in this folder
    /// (`<model>/<graph>-<run>.json`, Chrome-trace JSON for Perfetto or chrome://tracing).
    #[arg(long, value_name = "DIR", conflicts_with = "no_profile")]
    pub keep_profiles: Option<PathBuf>,
}

/// Where the ONNX Runtime library comes from; every command that loads it takes this flag.
#[derive(Debug, Clone, Default, Args)]
pub struct OrtLibArg {
    /// Path to libonnxruntime. Default: $ORT_DYLIB_PATH, else .ort/lib/ of this repository
    /// (see scripts/setup-ort.sh).
    #[arg(long = "ort-lib", value_name = "FILE")]
    pub ort_lib: Option<PathBuf>,
}

impl OrtLibArg {
    pub fn path(&self) -> Option<&std::path::Path> {
        self.ort_lib.as_deref()
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArg,

    /// Where to write the result JSON (atomically: a temp file in the same folder, then a rename).
    /// Without it, nothing is written and only the summary is printed.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub select: Selection,

    /// Warm-up iterations, overriding the config for every model.
    #[arg(long, value_name = "N")]
    pub warmup: Option<u32>,

    #[command(flatten)]
    pub ort: OrtLibArg,

    /// Print nothing but errors (and the JSON result with --format json).
    #[arg(short, long)]
    pub quiet: bool,

    /// `table` prints a summary; `json` prints the full result to stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum K8sCommand {
    /// Print the Job manifest (and with --rbac the ServiceAccount, Role and RoleBinding) as YAML.
    Render(K8sRenderArgs),
    /// Create the Job, wait for it, take the result from its log, delete it (always).
    Run(K8sRunArgs),
    /// Take the result from a saved pod log exactly as `run` does (the same reader and file),
    /// for checks that run the pod elsewhere (scripts/check-pod.sh plays it with podman).
    #[command(hide = true)]
    ReadLog(K8sReadLogArgs),
}

#[derive(Debug, Args)]
pub struct K8sReadLogArgs {
    /// The pod's log: stdout and stderr of its container, as `kubectl logs` prints it.
    #[arg(long, value_name = "FILE")]
    pub log: PathBuf,

    /// The pool the result is for: it is written as `<out-dir>/<pool>.json`, as `run` names it.
    #[arg(long, default_value = "xeon")]
    pub pool: String,

    /// Folder for the result.
    #[arg(long = "out-dir", default_value = ".", value_name = "DIR")]
    pub out_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct K8sJobArgs {
    #[command(flatten)]
    pub config: ConfigArg,

    /// Image holding bench-gate, the ORT library, the config and fixtures (see docs/container.md).
    #[arg(long, default_value = "ghcr.io/example/bench-gate:0.1.0")]
    pub image: String,

    /// Namespace of the Job.
    #[arg(long, default_value = "bench-gate")]
    pub namespace: String,

    /// Path of the config inside the image; the Job runs `bench-gate run -c PATH`.
    #[arg(long, default_value = "/bench/benchmark.toml", value_name = "PATH")]
    pub config_in_image: String,

    /// Whole CPUs for the pod. Requests equal limits (Guaranteed QoS), so with the kubelet's
    /// static CPU manager the pod gets exclusive cores.
    #[arg(long = "pod-cpus", default_value_t = 1, value_name = "N")]
    pub pod_cpus: u32,

    /// Memory for the pod (request = limit), MiB. Use the result's memory_mb plus headroom.
    #[arg(long = "memory-mib", default_value_t = 2048, value_name = "MIB")]
    pub memory_mib: u64,

    /// Node pool name, recorded as a label and used with --pool-label to select nodes.
    #[arg(long, default_value = "xeon")]
    pub pool: String,

    /// Node label whose value is the pool name (e.g. cloud.google.com/gke-nodepool). When unset,
    /// nodes are selected by --node-selector only (default: Node Feature Discovery's CPU vendor).
    #[arg(long = "pool-label", value_name = "KEY")]
    pub pool_label: Option<String>,

    /// Extra node selector KEY=VALUE (repeatable), e.g. feature.node.kubernetes.io/cpu-model.id=143.
    #[arg(long = "node-selector", value_name = "KEY=VALUE")]
    pub node_selector: Vec<String>,

    /// Toleration KEY[=VALUE]:EFFECT (repeatable), e.g. dedicated=bench:NoSchedule.
    #[arg(long = "toleration", value_name = "KEY[=VALUE]:EFFECT")]
    pub tolerations: Vec<String>,

    /// activeDeadlineSeconds: Kubernetes kills the Job after this long.
    #[arg(long = "deadline-s", default_value_t = 1800)]
    pub deadline_s: i64,

    /// ttlSecondsAfterFinished: Kubernetes removes a finished Job after this long.
    #[arg(long = "ttl-s", default_value_t = 3600)]
    pub ttl_s: i32,

    /// Commit the Job measures (label). Default: $GITHUB_SHA, else the repository's HEAD.
    #[arg(long)]
    pub commit: Option<String>,

    /// Pull request number (label).
    #[arg(long)]
    pub pr: Option<u64>,
}

#[derive(Debug, Args)]
pub struct K8sRenderArgs {
    #[command(flatten)]
    pub job: K8sJobArgs,

    /// Also print the ServiceAccount, Role and RoleBinding the CI identity needs.
    #[arg(long)]
    pub rbac: bool,
}

#[derive(Debug, Args)]
pub struct K8sRunArgs {
    #[command(flatten)]
    pub job: K8sJobArgs,

    /// kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or the in-cluster account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// kubeconfig context.
    #[arg(long)]
    pub context: Option<String>,

    /// Run one Job per node pool, in parallel (needs --pool-label), e.g. --pools xeon-8480,epyc-9654.
    #[arg(long, value_delimiter = ',', value_name = "A,B,C")]
    pub pools: Vec<String>,

    /// Give up (and delete the Job) after this many seconds.
    #[arg(long = "timeout-s", default_value_t = 2400)]
    pub timeout_s: u64,

    /// Folder for the results, one `<pool>.json` per pool.
    #[arg(long = "out-dir", default_value = ".", value_name = "DIR")]
    pub out_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CiArgs {
    #[command(flatten)]
    pub config: ConfigArg,

    #[command(flatten)]
    pub baselines: BaselinesArg,

    /// Folder for result.json, verdict.json and comment.md (upload it as the artifact). Only
    /// files this run writes are read back: one left by an earlier run is noted and kept.
    #[arg(long = "out-dir", default_value = ".", value_name = "DIR")]
    pub out_dir: PathBuf,

    /// Judge this result file (from `bench-gate run -o`, or `k8s run` on another node) instead
    /// of measuring here; it is not re-measured when contaminated.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["models", "cpus", "iterations"]
    )]
    pub result: Option<PathBuf>,

    /// The duet: the pull request's base measured side by side with its head, which decides
    /// the check. This is the merge base's benchmark.toml (its models and model files, e.g. from
    /// `git worktree add ../base $(git merge-base origin/main HEAD)`).
    #[arg(long = "base-config", value_name = "FILE", conflicts_with = "result")]
    pub base_config: Option<PathBuf>,

    /// The base's bench-gate build, for the base worker (default: this binary). A path (relative
    /// to the current folder), never looked up on PATH; it must be an executable file.
    #[arg(long = "base-bin", value_name = "FILE", requires = "base_config")]
    pub base_bin: Option<PathBuf>,

    /// The base as a worker command instead (e.g. the previous image: 'docker run -i --rm
    /// --uts host --cpuset-cpus "$BENCH_GATE_AB_CPUS" --entrypoint bench-gate IMAGE ab-worker
    /// -c /w/benchmark.toml --model "$BENCH_GATE_AB_MODEL" --cpus all').
    #[arg(long = "base-cmd", value_name = "SHELL", conflicts_with_all = ["base_config", "result"])]
    pub base_cmd: Option<String>,

    /// The head as a worker command (e.g. the new image); default: this binary with -c.
    #[arg(long = "head-cmd", value_name = "SHELL", conflicts_with = "result")]
    pub head_cmd: Option<String>,

    #[command(flatten)]
    pub knobs: DuetKnobs,

    /// In a duet, skip the measured run compared with the committed baselines (shown beside
    /// the duet as a second opinion; it never decides).
    #[arg(long = "no-second-opinion")]
    pub no_second_opinion: bool,

    #[command(flatten)]
    pub select: Selection,

    #[command(flatten)]
    pub ort: OrtLibArg,

    /// A sizing JSON (`bench-gate size -o`) to include in the comment.
    #[arg(long, value_name = "FILE")]
    pub sizing: Option<PathBuf>,

    /// Name of this gate: one comment per PR and gate, found again by a hidden marker.
    #[arg(long, default_value = "bench-gate", value_name = "NAME")]
    pub gate: String,

    /// Repository owner/name (default: $GITHUB_REPOSITORY).
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,

    /// Pull request number (default: from the event payload at $GITHUB_EVENT_PATH).
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,

    /// Write the comment but do not post it (it still goes to $GITHUB_STEP_SUMMARY).
    #[arg(long = "no-comment")]
    pub no_comment: bool,

    /// Fail (exit 2) when the comment cannot be posted; by default that only warns.
    #[arg(long = "strict-comment")]
    pub strict_comment: bool,

    /// Print nothing but errors and the verdict table.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Optional config whose `run.cpu_label` is applied to the detected CPU.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub ort: OrtLibArg,

    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct TranscribeArgs {
    #[command(flatten)]
    pub config: ConfigArg,

    /// The `whisper` model of the config that listens (needs its `tokenizer`). Default: the
    /// config's only whisper model.
    #[arg(short = 'm', long = "model", value_name = "NAME")]
    pub model: Option<String>,

    /// WAV files (any rate, PCM or float, mono or stereo; each at most 30 s).
    #[arg(value_name = "FILE.wav", required = true)]
    pub files: Vec<PathBuf>,

    /// CPUs to pin to (as `run --cpus`). Default: the config's `run.cpus`.
    #[arg(long, value_name = "LIST")]
    pub cpus: Option<String>,

    #[command(flatten)]
    pub ort: OrtLibArg,

    /// `table`: one line per file (`file: text`); `json`: the text and token ids.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

/// Where committed baselines live.
#[derive(Debug, Args)]
pub struct BaselinesArg {
    /// Folder of committed baselines: `<DIR>/<model>/<arch>/<cpu-slug>.json`, one file per
    /// model, architecture and CPU model, each keeping the last K accepted runs.
    #[arg(long = "baselines", default_value = "baselines", value_name = "DIR")]
    pub baselines: PathBuf,
}

#[derive(Debug, Args)]
pub struct TrendArgs {
    /// Folder of committed baselines; the series are the `<model>/<arch>/<cpu>.series.jsonl`
    /// files `bench-gate baseline update` keeps beside each baseline file.
    #[command(flatten)]
    pub baselines: BaselinesArg,

    /// Write the trend JSON (every series and step) to this file, atomically.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// `table` prints every series and its steps; `json` prints the trend JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Issues that already track steps, as `gh issue list --state all --json number,state,body`
    /// prints them: a step an open issue tracks updates that issue, one a closed issue tracked
    /// is left alone, a new one gets a new issue.
    #[arg(long, value_name = "FILE", requires = "issues_dir")]
    pub known_issues: Option<PathBuf>,

    /// Write one markdown body per step that deserves an issue (new, not small) into this
    /// folder, and `plan.tsv`: one line per issue, `create<TAB>-<TAB>FILE<TAB>TITLE` or
    /// `update<TAB>NUMBER<TAB>FILE<TAB>TITLE`, for the nightly workflow to pass to `gh`.
    #[arg(long, value_name = "DIR")]
    pub issues_dir: Option<PathBuf>,

    /// Repository web address for commit and compare links in issue bodies, e.g.
    /// `https://github.com/OWNER/REPO` (in Actions: `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY`).
    #[arg(long, value_name = "URL")]
    pub repo_url: Option<String>,

    /// Largest permutation p-value accepted as a step.
    #[arg(long, default_value_t = 0.01, value_name = "P")]
    pub significance: f64,

    /// Shuffles per permutation test (more: finer p-values, longer scans).
    #[arg(long, default_value_t = 199, value_name = "N")]
    pub permutations: usize,

    /// Steps smaller than this, in percent, are listed as small and open no issue.
    #[arg(long, default_value_t = 2.0, value_name = "PCT")]
    pub min_change_pct: f64,

    /// A step among the last N runs of its series is new enough to open an issue.
    #[arg(long, default_value_t = 30, value_name = "N")]
    pub recent: usize,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The benchmark configuration: thresholds per architecture and the `[gate]` policy.
    #[command(flatten)]
    pub config: ConfigArg,

    /// The result to judge, written by `bench-gate run -o`.
    #[arg(long = "result", value_name = "FILE")]
    pub result: PathBuf,

    #[command(flatten)]
    pub baselines: BaselinesArg,

    /// Also write the verdict JSON here (atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// `table` prints a verdict table; `json` prints the verdict JSON to stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    #[command(subcommand)]
    pub command: BaselineCommand,
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Append every model of a result to its baseline file (created if missing), keeping the
    /// newest runs only. Refuses contaminated runs (throttled, stolen CPU) unless --force.
    Update(BaselineUpdateArgs),
    /// Show every baseline: model, architecture, CPU model, runs, dates, spread of medians.
    List(BaselineListArgs),
}

#[derive(Debug, Args)]
pub struct BaselineUpdateArgs {
    /// The accepted result, written by `bench-gate run -o`.
    #[arg(long = "result", value_name = "FILE")]
    pub result: PathBuf,

    #[command(flatten)]
    pub baselines: BaselinesArg,

    /// Read `[gate] history` from this config (default: 10 runs kept).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Runs to keep per file, overriding the config.
    #[arg(long, value_name = "K")]
    pub history: Option<u32>,

    /// Accept a contaminated run (throttled or stolen CPU) anyway.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct BaselineListArgs {
    #[command(flatten)]
    pub baselines: BaselinesArg,
}

#[derive(Debug, Args)]
pub struct AbArgs {
    /// The benchmark configuration (pinning, thresholds, `[gate]`), and the model's defaults.
    #[command(flatten)]
    pub config: ConfigArg,

    /// The model (a `[models.NAME]` table) both variants run. Required when the config has
    /// more than one model.
    #[arg(short = 'm', long = "model", value_name = "NAME")]
    pub model: Option<String>,

    /// Variant A's model file (an `onnx` model's `model`), instead of the config's.
    #[arg(long = "a-model", value_name = "FILE", conflicts_with = "a_config")]
    pub a_model: Option<PathBuf>,

    /// Variant B's model file.
    #[arg(long = "b-model", value_name = "FILE", conflicts_with = "b_config")]
    pub b_model: Option<PathBuf>,

    /// Variant A's whole config (its model of the same name is used).
    #[arg(long = "a-config", value_name = "FILE")]
    pub a_config: Option<PathBuf>,

    /// Variant B's whole config (its model of the same name is used).
    #[arg(long = "b-config", value_name = "FILE")]
    pub b_config: Option<PathBuf>,

    /// Variant A as a shell command that runs `bench-gate ab-worker` (e.g. from another image:
    /// 'docker run -i --rm --uts host --cpuset-cpus "$BENCH_GATE_AB_CPUS" --entrypoint
    /// bench-gate IMAGE ab-worker -c /w/benchmark.toml --model NAME --cpus all').
    /// $BENCH_GATE_AB_CPUS holds the CPUs to pin to.
    #[arg(long = "a-cmd", value_name = "SHELL", conflicts_with_all = ["a_model", "a_config"])]
    pub a_cmd: Option<String>,

    /// Variant B as a shell command that runs `bench-gate ab-worker`.
    #[arg(long = "b-cmd", value_name = "SHELL", conflicts_with_all = ["b_model", "b_config"])]
    pub b_cmd: Option<String>,

    #[command(flatten)]
    pub knobs: DuetKnobs,

    /// CPUs to pin to, overriding `run.cpus`.
    #[arg(long, value_name = "LIST")]
    pub cpus: Option<String>,

    #[command(flatten)]
    pub ort: OrtLibArg,

    /// Also write the verdict JSON here (atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Print nothing but errors (and the JSON verdict with --format json).
    #[arg(short, long)]
    pub quiet: bool,
}

/// How long and how finely a duet measures: shared by `ab` and the `ci` duet.
#[derive(Debug, Clone, Args)]
pub struct DuetKnobs {
    /// Seconds to measure before calling the change inconclusive (default: the config's
    /// `[thresholds.ARCH] ab_time_budget_s`, else 60). The duet stops earlier as soon as its
    /// interval lies wholly above or below the threshold.
    #[arg(long, value_name = "SECONDS")]
    pub budget: Option<f64>,

    /// Iterations of a variant per block (default: 1, or enough of a fast model's iterations
    /// to last ~0.1 s, from the warm-up).
    #[arg(long = "iterations-per-block", value_name = "K")]
    pub per_block: Option<u32>,

    /// Stop after this many units (2 blocks each) even if undecided: a quick look, not a gate.
    #[arg(long = "max-units", value_name = "N")]
    pub max_units: Option<usize>,

    /// Fresh pairs of worker processes that take the units in turn (default: one pair per ~8
    /// units the budget holds, an even number from 2 to 6). The variant warmed up second tends
    /// to measure faster for its whole life, and each process runs at its own speed; the
    /// warm-up order alternates between pairs (an even number cancels it), and the processes'
    /// own differences are counted in the interval (fewer pairs, wider). Starting them is off
    /// the budget's clock, not off the wall clock (docs/verdict.md).
    #[arg(long = "worker-pairs", value_name = "P")]
    pub pairs: Option<u32>,

    /// Seed of the random order of A and B in each unit (default: drawn from the clock; the
    /// verdict records it, so a duet's order can be repeated).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// One variant of `bench-gate ab`, driven over stdin/stdout (src/worker/protocol.rs). Started
/// by `ab` itself, or by the user's `--a-cmd`/`--b-cmd` (e.g. inside another image).
#[derive(Debug, Args)]
pub struct AbWorkerArgs {
    #[command(flatten)]
    pub config: ConfigArg,

    /// The model (a `[models.NAME]` table) to load.
    #[arg(short = 'm', long = "model", value_name = "NAME")]
    pub model: String,

    /// Replace an `onnx` model's file with this one.
    #[arg(long = "model-file", value_name = "FILE")]
    pub model_file: Option<PathBuf>,

    /// CPUs to pin to ("0", "2-3", "all"), overriding `run.cpus`.
    #[arg(long, value_name = "LIST")]
    pub cpus: Option<String>,

    #[command(flatten)]
    pub ort: OrtLibArg,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_defaults_to_benchmark_toml_and_table_output() {
        let cli = Cli::try_parse_from(["bench-gate", "run"]).unwrap();
        let Command::Run(a) = cli.command else {
            panic!("not run")
        };
        assert_eq!(a.config.config, PathBuf::from("benchmark.toml"));
        assert_eq!(a.format, OutputFormat::Table);
        assert!(a.output.is_none());
    }

    #[test]
    fn models_accept_commas_and_repeats() {
        let cli = Cli::try_parse_from([
            "bench-gate",
            "run",
            "-m",
            "a,b",
            "--model",
            "c",
            "-o",
            "r.json",
        ])
        .unwrap();
        let Command::Run(a) = cli.command else {
            panic!("not run")
        };
        assert_eq!(a.select.models, ["a", "b", "c"]);
        assert_eq!(a.output, Some(PathBuf::from("r.json")));
    }

    #[test]
    fn gate_interfaces_keep_their_names() {
        let c = Cli::try_parse_from([
            "bench-gate",
            "compare",
            "-c",
            "benchmark.toml",
            "--result",
            "run.json",
            "--baselines",
            "baselines/",
        ])
        .unwrap();
        assert!(matches!(c.command, Command::Compare(_)));
        for sub in ["update", "list"] {
            let mut args = vec!["bench-gate", "baseline", sub, "--baselines", "baselines/"];
            if sub == "update" {
                args.extend(["--result", "run.json"]);
            }
            assert!(Cli::try_parse_from(args).is_ok(), "{sub}");
        }
        assert!(
            Cli::try_parse_from([
                "bench-gate",
                "ab",
                "--a-model",
                "a.onnx",
                "--a-config",
                "a.toml"
            ])
            .is_err(),
            "a variant is a model or a config, not both"
        );
    }
}
