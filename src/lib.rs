//! bench-gate: a CI gate for ONNX Runtime inference latency, and production sizing from real
//! measurements.
//!
//! Data flows one way, and the modules follow it: `config` -> `workload` -> `runner` ->
//! `result` -> (`compare` -> `sizing`) -> `report` -> `publish`. `platform` and `stats` are
//! leaves used along the way; `commands` wires one subcommand each; only `main` exits.

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
