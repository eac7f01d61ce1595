//! The capacity plan: from a target load and the latency of one request on one production core
//! to cores, pods, per-pod requests/limits, ONNX Runtime threads and memory.

use serde::{Deserialize, Serialize};

use super::SizingError;
use super::ratio::Ratio;
use super::resources::Millicores;
pub use super::warning::Warning;

/// Above this target utilisation a burst or a slow node leaves no room; warned, not refused.
pub const HIGH_UTILISATION: f64 = 0.85;
/// More pods than this is taken as a unit mistake (seconds for milliseconds), not a plan.
const MAX_PODS: f64 = 1_000_000.0;

/// Where the one-core latency on the production CPU comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// Measured with exactly one CPU on the production CPU itself: the best evidence.
    Measured,
    /// A reference CPU's one-core latency times the normalization ratio (production / reference).
    Derived {
        reference_cpu: String,
        /// One-core median on the reference CPU, milliseconds.
        reference_latency_ms: f64,
        ratio: f64,
        /// The ratio's 95% interval, when known; used to say whether the plan survives it.
        ratio_ci: Option<(f64, f64)>,
    },
}

/// How per-pod CPU is expressed to Kubernetes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Policy {
    /// Integer CPU per pod, requests == limits (Guaranteed QoS): with the kubelet's static CPU
    /// manager the container gets exclusive cores (a cpuset). This is what fixed the brief's
    /// noisy-neighbour incident, so it is the default.
    Guaranteed,
    /// Request = the exact share rounded up to 0.1 CPU; limit = request * `limit_factor` rounded up
    /// to a whole CPU (at least 1). Burstable QoS: never exclusive cores.
    Headroom {
        /// Limit over request before rounding; 1.2 gives request 2.5 -> limit 3.
        limit_factor: f64,
    },
}

impl Policy {
    /// The team's habit from the brief: a little burst headroom above the request.
    pub const DEFAULT_HEADROOM: Policy = Policy::Headroom { limit_factor: 1.2 };
}

/// Everything the plan needs, in the units the field docs give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInput {
    /// The CPU model the pods will run on.
    pub production_cpu: String,
    /// Peak load to serve, requests per second.
    pub target_rps: f64,
    /// Median latency of one request with exactly one CPU on the production CPU, milliseconds.
    pub latency_ms_per_request_on_one_core: f64,
    pub source: Source,
    /// Share of the requested CPU the load may use, in (0, 1]. 0.70 by default; 1.0 reproduces
    /// the brief's raw arithmetic.
    pub target_utilisation: f64,
    /// At least this many pods, for availability. 2 by default.
    pub min_pods: u32,
    /// Largest exact CPU share per pod before another pod is added. 4 by default.
    pub max_cpu_per_pod: f64,
    pub policy: Policy,
    /// Latency objective for one request at the 95th percentile, milliseconds.
    pub p95_slo_ms: Option<f64>,
    /// Measured p95 latency with one CPU on the production CPU, milliseconds.
    pub p95_ms: Option<f64>,
    /// Peak resident memory of one serving process (model loaded, under load), MiB.
    pub peak_rss_mib: f64,
    /// Extra memory over the peak, as a fraction: 0.25 by default.
    pub memory_headroom: f64,
    /// ONNX Runtime intra-op threads one request uses; 1 is what the one-core latency measured.
    pub threads_per_request: u32,
}

impl PlanInput {
    /// Input for a latency measured on the production CPU, with the defaults.
    pub fn measured(
        production_cpu: &str,
        target_rps: f64,
        latency_ms: f64,
        peak_rss_mib: f64,
    ) -> PlanInput {
        PlanInput {
            production_cpu: production_cpu.to_string(),
            target_rps,
            latency_ms_per_request_on_one_core: latency_ms,
            source: Source::Measured,
            target_utilisation: 0.70,
            min_pods: 2,
            max_cpu_per_pod: 4.0,
            policy: Policy::Guaranteed,
            p95_slo_ms: None,
            p95_ms: None,
            peak_rss_mib,
            memory_headroom: 0.25,
            threads_per_request: 1,
        }
    }

    /// Input for a latency derived from the reference CPU through `ratio`, with the defaults.
    pub fn derived(
        target_rps: f64,
        reference_latency_ms: f64,
        ratio: &Ratio,
        peak_rss_mib: f64,
    ) -> PlanInput {
        PlanInput {
            source: Source::Derived {
                reference_cpu: ratio.reference_cpu.clone(),
                reference_latency_ms,
                ratio: ratio.value,
                ratio_ci: Some(ratio.ci),
            },
            ..PlanInput::measured(
                &ratio.target_cpu,
                target_rps,
                reference_latency_ms * ratio.value,
                peak_rss_mib,
            )
        }
    }
}

/// Kubernetes QoS class the per-pod resources produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QosClass {
    Guaranteed,
    Burstable,
}

/// One pod's resources (the serving container's).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PodResources {
    pub cpu_request: Millicores,
    pub cpu_limit: Millicores,
    /// Peak RSS * (1 + headroom), rounded up to 64 MiB.
    pub memory_request_mib: u64,
    /// Equal to the request: memory cannot be throttled, only OOM-killed.
    pub memory_limit_mib: u64,
}

/// The computed plan, with its input echoed so a report stands on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityPlan {
    pub input: PlanInput,
    /// Requests per second one production core serves: 1000 / latency_ms.
    pub rps_per_core: f64,
    /// target_rps / rps_per_core / target_utilisation, before any rounding (CPUs).
    pub cores_needed: f64,
    /// Average requests in flight at the target load (Little's law: rps * latency).
    pub mean_in_flight: f64,
    pub pods: u32,
    pub per_pod: PodResources,
    pub qos: QosClass,
    /// ONNX Runtime `intra_op_num_threads` for each session.
    pub intra_op_num_threads: u32,
    /// Requests one pod serves concurrently; workers * threads <= the pod's whole CPUs.
    pub workers_per_pod: u32,
    pub warnings: Vec<Warning>,
}

impl CapacityPlan {
    pub fn total_cpu_request(&self) -> f64 {
        f64::from(self.pods) * self.per_pod.cpu_request.as_cores()
    }

    pub fn total_cpu_limit(&self) -> f64 {
        f64::from(self.pods) * self.per_pod.cpu_limit.as_cores()
    }
}

fn check_input(input: &PlanInput) -> Result<(), SizingError> {
    let finite_pos = |x: f64| x.is_finite() && x > 0.0;
    if !finite_pos(input.target_rps) {
        return Err(SizingError::InvalidTargetRps(input.target_rps));
    }
    let u = input.target_utilisation;
    if !(u.is_finite() && u > 0.0 && u <= 1.0) {
        return Err(SizingError::InvalidUtilisation(u));
    }
    let latency = input.latency_ms_per_request_on_one_core;
    if !finite_pos(latency) {
        return Err(SizingError::InvalidPlanLatency(latency));
    }
    if let Source::Derived {
        reference_latency_ms,
        ratio,
        ..
    } = &input.source
    {
        if !finite_pos(*ratio) {
            return Err(SizingError::InvalidRatio(*ratio));
        }
        if ((reference_latency_ms * ratio) - latency).abs() > 1e-9 * latency {
            return Err(SizingError::InconsistentDerivation {
                latency_ms: latency,
                reference_ms: *reference_latency_ms,
                ratio: *ratio,
            });
        }
    }
    if input.min_pods == 0 {
        return Err(SizingError::ZeroMinPods);
    }
    if !(input.max_cpu_per_pod.is_finite() && input.max_cpu_per_pod >= 1.0) {
        return Err(SizingError::InvalidMaxCpuPerPod(input.max_cpu_per_pod));
    }
    if let Policy::Headroom { limit_factor } = input.policy
        && !(limit_factor.is_finite() && limit_factor >= 1.0)
    {
        return Err(SizingError::InvalidLimitFactor(limit_factor));
    }
    if !finite_pos(input.peak_rss_mib) {
        let rule = "peak RSS must be a positive, finite number of MiB";
        return Err(SizingError::InvalidMemory {
            field: "peak_rss_mib",
            value: input.peak_rss_mib,
            rule,
        });
    }
    if !(input.memory_headroom.is_finite() && input.memory_headroom >= 0.0) {
        let rule = "memory headroom must be a finite fraction >= 0";
        return Err(SizingError::InvalidMemory {
            field: "memory_headroom",
            value: input.memory_headroom,
            rule,
        });
    }
    if input.threads_per_request == 0 {
        return Err(SizingError::ZeroThreads);
    }
    Ok(())
}

/// Sizes production for `input`.
///
/// * `cores_needed = target_rps / (1000 / latency_ms) / target_utilisation`.
/// * `pods = max(min_pods, ceil(cores_needed / max_cpu_per_pod))`; pods split the cores evenly.
/// * Guaranteed: each pod gets `ceil(cores_needed / pods)` whole CPUs, request == limit.
/// * Headroom: request = `cores_needed / pods` rounded UP to 0.1 CPU; limit = `request *
///   limit_factor` rounded UP to a whole CPU, at least 1. Whole-CPU limits give a thread count
///   that uses the quota exactly. The brief's example: 5 cores / 2 pods = 2.5 -> 2.5 * 1.2 = 3.
/// * Threads: a pod has `floor(limit)` whole CPUs (= its CPUs under Guaranteed). Each request
///   uses `min(threads_per_request, whole CPUs)` intra-op threads, and a pod serves
///   `whole CPUs / threads` requests at once, so threads in flight never exceed the quota (more
///   threads than the quota is the brief's thread trap: CFS throttling).
/// * Memory: request == limit == peak RSS * (1 + headroom), rounded up to 64 MiB.
pub fn plan(input: &PlanInput) -> Result<CapacityPlan, SizingError> {
    check_input(input)?;
    let latency_ms = input.latency_ms_per_request_on_one_core;
    let rps_per_core = 1000.0 / latency_ms;
    let cores_needed = input.target_rps / rps_per_core / input.target_utilisation;
    let pods_by_size = (cores_needed / input.max_cpu_per_pod * (1.0 - 1e-9)).ceil();
    let pods = pods_by_size.max(f64::from(input.min_pods));
    if pods > MAX_PODS || pods.is_nan() {
        return Err(SizingError::PlanTooLarge { pods });
    }
    let pods = pods as u32;
    let share = cores_needed / f64::from(pods);
    let mut warnings = Vec::new();

    let (cpu_request, cpu_limit, qos) = match input.policy {
        Policy::Guaranteed => {
            let cpu = Millicores::ceil_to_step(share, 1000).max(Millicores::cpus(1));
            if (cpu.as_cores() - share).abs() > 1e-9 * share.max(1.0) {
                warnings.push(Warning::GuaranteedRoundedUp {
                    exact_per_pod: share,
                    per_pod: cpu.whole_cpus(),
                });
            }
            (cpu, cpu, QosClass::Guaranteed)
        }
        Policy::Headroom { limit_factor } => {
            let request = Millicores::ceil_to_step(share, 100).max(Millicores(100));
            let limit = Millicores::ceil_to_step(request.as_cores() * limit_factor, 1000)
                .max(Millicores::cpus(1));
            let qos = if request == limit {
                QosClass::Guaranteed
            } else {
                QosClass::Burstable
            };
            if qos == QosClass::Burstable {
                warnings.push(Warning::BurstableNoExclusiveCores);
            }
            (request, limit, qos)
        }
    };

    let whole_cpus = cpu_limit.whole_cpus().max(1);
    let intra_op_num_threads = input.threads_per_request.min(whole_cpus);
    if intra_op_num_threads < input.threads_per_request {
        warnings.push(Warning::ThreadsClamped {
            requested: input.threads_per_request,
            allowed: whole_cpus,
        });
    }
    let workers_per_pod = whole_cpus / intra_op_num_threads;

    let memory_mib = input.peak_rss_mib * (1.0 + input.memory_headroom);
    let memory_mib = ((memory_mib / 64.0) * (1.0 - 1e-12)).ceil() as u64 * 64;

    if input.target_utilisation > HIGH_UTILISATION {
        warnings.push(Warning::HighUtilisation {
            target: input.target_utilisation,
        });
    }
    match (input.p95_ms, input.p95_slo_ms) {
        (Some(p95_ms), Some(slo_ms)) if p95_ms > slo_ms => {
            warnings.push(Warning::P95OverSlo { p95_ms, slo_ms })
        }
        (None, Some(slo_ms)) => warnings.push(Warning::SloNotChecked { slo_ms }),
        _ => {}
    }
    let cpu_requested = f64::from(pods) * cpu_request.as_cores();
    if let Source::Derived {
        reference_latency_ms,
        ratio_ci: Some((_, ratio_high)),
        ..
    } = &input.source
    {
        let cores_needed_high = input.target_rps * reference_latency_ms * ratio_high
            / 1000.0
            / input.target_utilisation;
        if cores_needed_high > cpu_requested * (1.0 + 1e-9) {
            warnings.push(Warning::RatioUncertainty {
                ratio_high: *ratio_high,
                cores_needed_high,
                cpu_requested,
            });
        }
    }

    Ok(CapacityPlan {
        input: input.clone(),
        rps_per_core,
        cores_needed,
        mean_in_flight: input.target_rps * latency_ms / 1000.0,
        pods,
        per_pod: PodResources {
            cpu_request,
            cpu_limit,
            memory_request_mib: memory_mib,
            memory_limit_mib: memory_mib,
        },
        qos,
        intra_op_num_threads,
        workers_per_pod,
        warnings,
    })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
pub(crate) mod tests;
