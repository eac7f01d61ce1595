//! bench-gate: a CI gate for ONNX Runtime inference latency, and production sizing from real
//! measurements.
//!
//! Data flows one way, and the modules follow it: a module uses only those before it.
//!
//! `config` -> `runtime` -> `workload` -> `accuracy` -> `runner` -> `result` -> `worker` ->
//! `baseline` -> `compare` -> `trend` -> `size` -> `report` -> `publish`
//!
//! - `config` reads `benchmark.toml`; `runtime` loads ONNX Runtime; `workload` builds what one
//!   iteration runs; `accuracy` scores what a speech model hears in a labelled set (word error
//!   rate, outside the clock); `runner` times the iterations; `result` is one run's record (`result::measure` turns a
//!   model into it); `worker` serves a workload to another process (`ab`); `baseline` keeps
//!   results per CPU model; `compare` judges a result against its baseline or a duet of two
//!   workers; `trend` finds change points in a baseline's long series.
//! - `size` sizes production from measurements with `sizing`'s pure arithmetic; `report` turns
//!   verdicts, results and plans into text; `publish` (GitHub, Kubernetes, Actions) stands
//!   alone and imports nothing of the rest.
//! - Leaves used along the way: `platform` (CPU, cgroups, affinity), `stats`, `operators`
//!   (profiler traces), `sizing` (numbers in, numbers out; `config` builds its policy types),
//!   `output` (progress for people).
//! - `cli` parses; `commands` holds one thin shell per subcommand (parse, call, print); only
//!   `main` exits.

pub mod accuracy;
pub mod baseline;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod config;
pub mod operators;
pub mod output;
pub mod platform;
pub mod publish;
pub mod report;
pub mod result;
pub mod runner;
pub mod runtime;
pub mod size;
pub mod sizing;
pub mod stats;
pub mod trend;
pub mod worker;
pub mod workload;

/// Exit code for every user error: bad config, missing file, bad input, failed run.
pub const EXIT_USER_ERROR: u8 = 2;
