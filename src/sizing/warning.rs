//! Warnings a capacity plan carries: things a reviewer should know before applying it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::fmt_num;

/// Something a reviewer should know before applying the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    BurstableNoExclusiveCores,
    GuaranteedRoundedUp {
        exact_per_pod: f64,
        per_pod: u32,
    },
    HighUtilisation {
        target: f64,
    },
    P95OverSlo {
        p95_ms: f64,
        slo_ms: f64,
    },
    SloNotChecked {
        slo_ms: f64,
    },
    ThreadsClamped {
        requested: u32,
        allowed: u32,
    },
    RatioUncertainty {
        ratio_high: f64,
        cores_needed_high: f64,
        cpu_requested: f64,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::BurstableNoExclusiveCores => write!(
                f,
                "requests below limits make the pods Burstable: they never get exclusive cores and share every core with the node's other pods through CFS quotas. That is how the noisy-neighbour incident happened (4-10 s in production vs 0.5-1 s in test on a half-idle node); the fix was kubelet --cpu-manager-policy=static plus Guaranteed QoS with an integer CPU count"
            ),
            Warning::GuaranteedRoundedUp {
                exact_per_pod,
                per_pod,
            } => write!(
                f,
                "each pod needs {} CPU, but exclusive cores come in whole CPUs: each pod gets {per_pod} ({} CPU idle headroom per pod)",
                fmt_num(*exact_per_pod, 2),
                fmt_num(f64::from(*per_pod) - exact_per_pod, 2)
            ),
            Warning::HighUtilisation { target } => write!(
                f,
                "target utilisation {}% leaves little room for bursts, GC pauses or a slow node; 70% is the usual target",
                fmt_num(target * 100.0, 1)
            ),
            Warning::P95OverSlo { p95_ms, slo_ms } => write!(
                f,
                "p95 on one core is {} ms, above the {} ms SLO: more cores or pods raise throughput, not the speed of one request; use more intra-op threads per request (with a CPU limit at least that high) or a faster CPU",
                fmt_num(*p95_ms, 1),
                fmt_num(*slo_ms, 1)
            ),
            Warning::SloNotChecked { slo_ms } => write!(
                f,
                "a {} ms p95 SLO is set but no p95 latency was given, so it was not checked",
                fmt_num(*slo_ms, 1)
            ),
            Warning::ThreadsClamped { requested, allowed } => write!(
                f,
                "{requested} intra-op threads per request were asked for, but a pod has only {allowed} whole CPUs: more threads than the CPU quota get throttled (0.5 s became 2.0 s in the thread trap), so intra_op_num_threads is {allowed}"
            ),
            Warning::RatioUncertainty {
                ratio_high,
                cores_needed_high,
                cpu_requested,
            } => write!(
                f,
                "at the upper end of the ratio's 95% interval ({}) the load needs {} cores, more than the {} CPU requested in total; measure more iterations to narrow the ratio, or measure on the production CPU itself",
                fmt_num(*ratio_high, 2),
                fmt_num(*cores_needed_high, 2),
                fmt_num(*cpu_requested, 2)
            ),
        }
    }
}
