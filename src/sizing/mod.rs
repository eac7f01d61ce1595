//! Production sizing: numbers in, numbers out, no I/O.
//!
//! The flow follows the team's manual method (see the brief): a latency measured with exactly one
//! CPU on two machines gives a normalization [`ratio`]; the latency on one production core gives a
//! capacity [`plan`] (cores, pods, per-pod requests/limits, threads, memory); a catalogue of
//! instances gives a [`cost`] and the cheapest fit; [`load`] grades a concurrency run; [`report`]
//! keeps the finished plan as a versioned JSON record. Nothing here reads a file, measures or
//! prints, and nothing here imports another bench-gate module but `stats`: the `size` module
//! feeds it measurements, `report::plan` renders its plans.
//!
//! Units: latency in milliseconds, CPU in Kubernetes CPU units (1 = one vCPU / hyperthread, the
//! same unit as `docker run --cpus=1` and `limits.cpu: 1`), memory in MiB (GiB for instances),
//! prices in the catalogue's currency per hour.

pub mod cost;
pub mod load;
pub mod load_report;
pub mod plan;
pub mod ratio;
pub mod report;
pub mod resources;
pub mod sweep;
pub mod warning;

pub use cost::{
    Catalogue, Fit, FitOptions, HOURS_PER_MONTH, Instance, cheapest_fit, cost_per_1000,
};
pub use load::{
    Band, Criterion, Grade, GradeBands, GradeOutcome, KneeRule, LoadSummary, Miss, grade, knee,
    scale_efficiency,
};
pub use plan::{CapacityPlan, PlanInput, PodResources, Policy, QosClass, Source, plan};
pub use ratio::{LatencyEstimate, RATIO_TABLE_SCHEMA_VERSION, Ratio, RatioTable, ratio};
pub use report::{SIZING_REPORT_SCHEMA_VERSION, SizingReport, resources_yaml};
pub use resources::{Millicores, memory_quantity};
pub use warning::Warning;

/// Every way sizing can refuse its input. Each message names the bad value and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SizingError {
    #[error(
        "cannot take a ratio between {target_cpu} running `{target_what}` and {reference_cpu} running `{reference_what}`: a ratio only means something for the same model on the same fixture\n  fix: measure both CPUs with the same model and fixture (same fingerprint)"
    )]
    DifferentWorkload {
        target_cpu: String,
        target_what: String,
        reference_cpu: String,
        reference_what: String,
    },
    #[error(
        "{field} of {cpu} is {value}: a latency must be a positive, finite number of milliseconds\n  fix: check the measurement that produced it (a zero or NaN latency means nothing was timed)"
    )]
    InvalidLatency {
        cpu: String,
        field: &'static str,
        value: f64,
    },
    #[error(
        "the median's 95% interval of {cpu} is ({low}, {high}) around a median of {median}: it must satisfy 0 < low <= median <= high\n  fix: pass the interval computed from the same samples as the median"
    )]
    InvalidInterval {
        cpu: String,
        low: f64,
        median: f64,
        high: f64,
    },
    #[error(
        "the estimate for {cpu} has no samples (n = 0)\n  fix: run at least a few timed iterations"
    )]
    NoSamples { cpu: String },
    #[error("{cpu} appears more than once\n  fix: pass one estimate per CPU model")]
    DuplicateCpu { cpu: String },
    #[error(
        "reference CPU {reference} has no estimate; the estimates are for: {available}\n  fix: choose one of those as the reference, or measure {reference}"
    )]
    UnknownReference {
        reference: String,
        available: String,
    },
    #[error(
        "the ratio table has schema_version {found}, but this bench-gate understands {expected}\n  fix: regenerate it with this version (`bench-gate size --ratio-config`), or upgrade bench-gate"
    )]
    UnsupportedSchema { found: u32, expected: u32 },
    #[error(
        "the ratio table is not valid: {0}\n  fix: regenerate it with `bench-gate size --ratio-config`"
    )]
    Json(#[from] serde_json::Error),
    #[error(
        "the ratio table is not usable: {0}\n  fix: regenerate it with `bench-gate size --ratio-config`"
    )]
    InvalidTable(String),

    #[error(
        "target RPS is {0}: it must be a positive, finite number of requests per second\n  fix: set the expected peak load, e.g. 10"
    )]
    InvalidTargetRps(f64),
    #[error(
        "target utilisation is {0}: it must be in (0, 1]\n  fix: use 0.70 (the default) to leave room for bursts, or 1.0 for the raw arithmetic"
    )]
    InvalidUtilisation(f64),
    #[error(
        "latency per request on one core is {0} ms: it must be a positive, finite number\n  fix: pass the median measured with exactly one CPU on the production CPU (or derived through a ratio)"
    )]
    InvalidPlanLatency(f64),
    #[error(
        "the ratio is {0}: it must be a positive, finite number\n  fix: compute it with `ratio` from two valid estimates"
    )]
    InvalidRatio(f64),
    #[error(
        "the plan's latency ({latency_ms} ms) is not the reference latency ({reference_ms} ms) x ratio ({ratio})\n  fix: build a derived input with PlanInput::derived so both agree"
    )]
    InconsistentDerivation {
        latency_ms: f64,
        reference_ms: f64,
        ratio: f64,
    },
    #[error(
        "min_pods is 0: a service needs at least one pod\n  fix: use 2 (the default) so one pod can fail or be rescheduled"
    )]
    ZeroMinPods,
    #[error(
        "limit_factor is {0}: it must be finite and at least 1 (a limit below the request is invalid)\n  fix: use 1.2 (the default)"
    )]
    InvalidLimitFactor(f64),
    #[error(
        "max_cpu_per_pod is {0}: it must be finite and at least 1\n  fix: use 4 (the default) or the largest pod your nodes schedule comfortably"
    )]
    InvalidMaxCpuPerPod(f64),
    #[error(
        "{field} is {value}: {rule}\n  fix: pass the measured peak RSS in MiB and a headroom such as 0.25"
    )]
    InvalidMemory {
        field: &'static str,
        value: f64,
        rule: &'static str,
    },
    #[error(
        "threads_per_request is 0: ONNX Runtime needs at least one intra-op thread\n  fix: use 1 (what the one-core measurement used)"
    )]
    ZeroThreads,
    #[error(
        "the plan needs {pods} pods, more than sizing can express\n  fix: check target RPS and latency units (RPS, milliseconds)"
    )]
    PlanTooLarge { pods: f64 },

    #[error("instance `{name}`: {field} is {value}: {rule}\n  fix: correct the catalogue entry")]
    InvalidInstance {
        name: String,
        field: &'static str,
        value: f64,
        rule: &'static str,
    },
    #[error(
        "instance `{0}` appears more than once in the catalogue\n  fix: give each instance type a unique name"
    )]
    DuplicateInstance(String),
    #[error(
        "the instance catalogue is empty\n  fix: add at least one instance type with name, vcpus, memory_gib and price_per_hour"
    )]
    EmptyCatalogue,
    #[error(
        "node reserve {field} is {value}: it must be finite and not negative\n  fix: use the defaults (0.1 vCPU, 0.5 GiB)"
    )]
    InvalidReserve { field: &'static str, value: f64 },
}

/// Formats a number for people: at most `decimals` decimals, trailing zeros dropped (2.50 -> 2.5).
pub(crate) fn fmt_num(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use super::fmt_num;

    #[test]
    fn fmt_num_drops_trailing_zeros_only() {
        assert_eq!(fmt_num(2.5, 2), "2.5");
        assert_eq!(fmt_num(5.0, 2), "5");
        assert_eq!(fmt_num(7.142857, 2), "7.14");
        assert_eq!(fmt_num(100.0, 0), "100");
        assert_eq!(fmt_num(-0.0001, 2), "0");
    }
}
