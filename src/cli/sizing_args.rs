//! Flags of the sizing commands: `size`, `sweep`, `load`. Kept beside `cli.rs` so the shared file
//! only gains three variants.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::ConfigArg;
use super::OrtLibArg;

/// Per-pod CPU policy of the capacity plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// Integer CPUs, requests == limits (Guaranteed QoS: exclusive cores under the static CPU
    /// manager, the fix of the noisy-neighbour incident).
    Guaranteed,
    /// Request = the exact share, limit = request x `sizing.limit_factor` rounded up to a whole
    /// CPU (Burstable QoS, the brief's 2.5 / 3 example).
    Headroom,
}

#[derive(Debug, Args)]
pub struct SizeArgs {
    /// Result file (`bench-gate run -o`) of the reference CPU, e.g. the Apple M4 dev laptop.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["baselines", "reference_cpu"])]
    pub reference: Option<PathBuf>,

    /// Result file of the target CPU, e.g. the production Xeon. The ratio is target / reference.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["baselines", "target_cpu"])]
    pub target: Option<PathBuf>,

    /// A ratio table written earlier (`--ratio-config`), used instead of a target measurement:
    /// the production CPU's latency is derived as the reference's x its ratio in the table (said
    /// so in the report). Use with --reference and --production-cpu.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["target", "baselines"], requires = "reference")]
    pub ratios: Option<PathBuf>,

    /// Baseline folder (`baselines/<model>/<arch>/<cpu>.json`): take both CPUs' latest accepted
    /// run from it instead of result files. Use with --reference-cpu and --target-cpu.
    #[arg(long, value_name = "DIR", requires_all = ["reference_cpu", "target_cpu"])]
    pub baselines: Option<PathBuf>,

    /// With --baselines: the reference CPU model, exactly as recorded (e.g. "Apple M4").
    #[arg(long, value_name = "CPU")]
    pub reference_cpu: Option<String>,

    /// With --baselines: the target CPU model, exactly as recorded.
    #[arg(long, value_name = "CPU")]
    pub target_cpu: Option<String>,

    /// Only size these models (repeat or separate with commas). Default: every model both sides
    /// measured.
    #[arg(
        short = 'm',
        long = "model",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub models: Vec<String>,

    /// Peak load to serve, requests per second (must be > 0). Without it only the ratios are
    /// reported.
    #[arg(long, value_name = "RPS", allow_negative_numbers = true)]
    pub target_rps: Option<f64>,

    /// p95 latency objective in milliseconds; the plan warns when one request's p95 on one
    /// production core is above it (more pods do not make one request faster).
    #[arg(long, value_name = "MS")]
    pub p95_slo_ms: Option<f64>,

    /// Share of the requested CPU the load may use, in (0, 1]. Default: `sizing.utilisation`
    /// (0.70). 1.0 reproduces the brief's raw arithmetic.
    #[arg(long, value_name = "FRACTION")]
    pub utilisation: Option<f64>,

    /// At least this many pods, for availability. Default: `sizing.min_pods` (2).
    #[arg(long, value_name = "N")]
    pub min_pods: Option<u32>,

    /// Per-pod CPU policy. Default: `sizing.policy` (guaranteed).
    #[arg(long, value_enum)]
    pub policy: Option<PolicyArg>,

    /// ONNX Runtime intra-op threads one request uses (1 = what a one-core measurement used).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads_per_request: u32,

    /// Which CPU the pods run on: the target's or the reference's CPU model. Default: the
    /// target. When that CPU has no measurement of a model, its latency is derived from the
    /// reference times the ratio, and the report says so.
    #[arg(long, value_name = "CPU")]
    pub production_cpu: Option<String>,

    /// The config holding `[sizing]` (policy, catalogue). Only that table is read, so the models
    /// need not exist here. Default: ./benchmark.toml when present, else built-in defaults.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Write the sizing report JSON (versioned `SizingReport`s) here, atomically.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write the markdown section (the team's sizing_report.md) here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,

    /// Write the ratio table (the team's ratio_config.json, versioned) here, atomically.
    #[arg(long, value_name = "FILE")]
    pub ratio_config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub config: ConfigArg,

    /// CPU limit to sweep under, in CPUs (0.5, 1, 2...). bench-gate applies it itself when it may
    /// create cgroups (root, or a delegated cgroup v2 subtree), the way `docker run --cpus` does;
    /// when it may not, giving this flag is an error unless the same limit is already in force.
    /// Without the flag: 1 CPU when it can be applied, else the limit in force (container), else
    /// none (measured unlimited, and said so).
    #[arg(long, value_name = "CPUS")]
    pub cpu_limit: Option<f64>,

    /// `intra_op_num_threads` values to measure, e.g. 1,2,4.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "1,2,4"
    )]
    pub threads: Vec<u32>,

    /// Only sweep these models. Default: every model of the config.
    #[arg(
        short = 'm',
        long = "model",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub models: Vec<String>,

    /// CPUs to pin to ("0-1", "all"). Default: every CPU bench-gate was started with (its
    /// inherited mask, never wider), so the quota (not the affinity mask) limits the threads.
    #[arg(long, value_name = "LIST")]
    pub cpus: Option<String>,

    /// Counted iterations per thread count (default: the config's).
    #[arg(long, value_name = "N")]
    pub iterations: Option<u32>,

    /// Warm-up iterations per thread count (default: the config's).
    #[arg(long, value_name = "N")]
    pub warmup: Option<u32>,

    #[command(flatten)]
    pub ort: OrtLibArg,

    /// Write the sweep JSON (versioned) here, atomically.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write the sweep's markdown section here.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,

    /// Print nothing but errors and the final table.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Arrival process of `load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoadModeArg {
    /// Each stream sends its next request when the last returns.
    Closed,
    /// Poisson arrivals at --rate requests per second; latency includes queueing.
    Open,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub config: ConfigArg,

    /// Concurrent stream counts to measure, e.g. 1,2,4; each stream has its own session on its
    /// own thread. A list gives the scale efficiency (RPS_N / RPS_1) / N and the knee.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "1")]
    pub streams: Vec<usize>,

    /// Run each stream count this long, e.g. 20s, 2m, 500ms (default 20s unless --requests).
    #[arg(long, value_name = "TIME", conflicts_with = "requests")]
    pub duration: Option<String>,

    /// Run each stream count for this many requests in total.
    #[arg(long, value_name = "N")]
    pub requests: Option<u64>,

    #[arg(long, value_enum, default_value_t = LoadModeArg::Closed)]
    pub mode: LoadModeArg,

    /// Open loop: mean arrival rate, requests per second over all streams.
    #[arg(long, value_name = "RPS", required_if_eq("mode", "open"))]
    pub rate: Option<f64>,

    /// Open loop: seed of the arrival times (same seed, same schedule).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,

    /// The model to load-test. Default: the config's only model (required when it has several).
    #[arg(short = 'm', long = "model", value_name = "NAME")]
    pub model: Option<String>,

    /// CPUs to pin every stream to, e.g. 0-1 or "all". Default: `run.cpus` of the config.
    #[arg(long, value_name = "LIST")]
    pub cpus: Option<String>,

    /// Un-timed requests per stream before the clock starts (default: the model's warm-up).
    #[arg(long, value_name = "N")]
    pub warmup: Option<u32>,

    #[command(flatten)]
    pub ort: OrtLibArg,

    /// Write the load JSON (versioned) here, atomically.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write the load markdown section here.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,

    /// Print nothing but errors and the final table.
    #[arg(short, long)]
    pub quiet: bool,
}
