//! The measurement loop: warm-up, then counted iterations (a fixed count, or "auto": until the
//! median's confidence interval is narrow enough), every sample kept, and the environment's
//! counters (throttling, steal) read before and after. The runner never prints: progress goes to
//! an observer that the caller picks (progress bar on a TTY, plain lines in CI, nothing).

pub mod load;
pub mod profile;

use std::time::{Duration, Instant};

use crate::config::Iterations;
use crate::platform::{EnvDelta, Snapshot};
use crate::stats::Summary;
use crate::workload::{StageTime, Workload, WorkloadError};

/// How long and how much to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    pub warmup: u32,
    pub iterations: Iterations,
    /// Stop counting once this much measured time has passed (at least `min_auto` samples are kept).
    pub time_budget: Option<Duration>,
    pub auto: AutoPlan,
}

/// Stopping rule for `iterations = "auto"`.
#[derive(Debug, Clone, Copy)]
pub struct AutoPlan {
    /// Stop when the 95% interval of the median is within +- this fraction of the median.
    pub target_rel_half_width: f64,
    pub min_iterations: u32,
    pub max_iterations: u32,
    /// Budget when none is configured.
    pub default_budget: Duration,
}

impl Default for AutoPlan {
    fn default() -> Self {
        AutoPlan {
            target_rel_half_width: 0.01,
            min_iterations: 10,
            max_iterations: 1000,
            default_budget: Duration::from_secs(60),
        }
    }
}

impl AutoPlan {
    /// The stopping rule for a gate allowing `max_regression_pct`: the median known to a third
    /// of the allowed regression (within 0.2%..5%), so noise alone cannot reach the threshold.
    pub fn for_threshold(max_regression_pct: Option<f64>) -> AutoPlan {
        let mut plan = AutoPlan::default();
        if let Some(pct) = max_regression_pct {
            plan.target_rel_half_width = (pct / 100.0 / 3.0).clamp(0.002, 0.05);
        }
        plan
    }
}

/// Why counting stopped.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The fixed iteration count was reached.
    Count,
    /// `auto`: the median is known precisely enough.
    Precision,
    /// The time budget ran out.
    Budget,
    /// `auto`: the iteration cap was reached before the target precision.
    Cap,
}

/// Everything one model's measurement produced. Times in milliseconds.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub samples_ms: Vec<f64>,
    /// Per-stage samples, in the order the workload reports stages.
    pub stages_ms: Vec<(&'static str, Vec<f64>)>,
    pub warmup: u32,
    pub stop: StopReason,
    /// Wall time of the counted iterations only.
    pub counted_time: Duration,
    /// Wall time of warm-up plus counted iterations.
    pub wall_time: Duration,
    pub during: EnvDelta,
}

/// Receives progress events.
pub trait Observer {
    fn warmup(&mut self, _done: u32, _total: u32) {}
    /// `planned` is None for auto iterations.
    fn iteration(&mut self, _done: u32, _planned: Option<u32>, _last_ms: f64) {}
    fn finished(&mut self) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

pub fn measure(
    workload: &mut dyn Workload,
    plan: &Plan,
    observer: &mut dyn Observer,
) -> Result<Measurement, WorkloadError> {
    let mut stages: Vec<StageTime> = Vec::with_capacity(8);
    let start = Instant::now();
    for i in 0..plan.warmup {
        stages.clear();
        workload.iterate(&mut stages)?;
        observer.warmup(i + 1, plan.warmup);
    }
    let (planned, budget) = match plan.iterations {
        Iterations::Fixed(n) => (Some(n.get()), plan.time_budget),
        Iterations::Auto(_) => (
            None,
            Some(plan.time_budget.unwrap_or(plan.auto.default_budget)),
        ),
    };
    let mut samples_ms = Vec::with_capacity(planned.unwrap_or(64) as usize);
    let mut stages_ms: Vec<(&'static str, Vec<f64>)> = Vec::new();
    let before = Snapshot::take();
    let counted_start = Instant::now();
    let stop = loop {
        stages.clear();
        let t = Instant::now();
        workload.iterate(&mut stages)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        samples_ms.push(ms);
        record_stages(&mut stages_ms, &stages);
        let done = samples_ms.len() as u32;
        observer.iteration(done, planned, ms);
        if let Some(reason) =
            should_stop(plan, planned, budget, &samples_ms, counted_start.elapsed())
        {
            break reason;
        }
    };
    let counted_time = counted_start.elapsed();
    let after = Snapshot::take();
    observer.finished();
    Ok(Measurement {
        samples_ms,
        stages_ms,
        warmup: plan.warmup,
        stop,
        counted_time,
        wall_time: start.elapsed(),
        during: after.since(&before),
    })
}

fn record_stages(acc: &mut Vec<(&'static str, Vec<f64>)>, stages: &[StageTime]) {
    for (name, d) in stages {
        let ms = d.as_secs_f64() * 1e3;
        match acc.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(ms),
            None => acc.push((name, vec![ms])),
        }
    }
}

/// The stopping rule, separate from the loop so it can be tested with numbers.
pub fn should_stop(
    plan: &Plan,
    planned: Option<u32>,
    budget: Option<Duration>,
    samples: &[f64],
    elapsed: Duration,
) -> Option<StopReason> {
    let n = samples.len() as u32;
    if let Some(p) = planned {
        if n >= p {
            return Some(StopReason::Count);
        }
        if budget.is_some_and(|b| elapsed >= b) {
            return Some(StopReason::Budget);
        }
        return None;
    }
    let auto = &plan.auto;
    if n < auto.min_iterations.max(2) {
        return None;
    }
    if Summary::of(samples).is_some_and(|s| {
        s.median_ci.confidence >= crate::stats::CONFIDENCE
            && s.median_ci_rel_half_width() <= auto.target_rel_half_width
    }) {
        return Some(StopReason::Precision);
    }
    if n >= auto.max_iterations {
        return Some(StopReason::Cap);
    }
    if budget.is_some_and(|b| elapsed >= b) {
        return Some(StopReason::Budget);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AutoKeyword;
    use std::num::NonZeroU32;

    fn auto_plan(target: f64) -> Plan {
        Plan {
            warmup: 0,
            iterations: Iterations::Auto(AutoKeyword::Auto),
            time_budget: None,
            auto: AutoPlan {
                target_rel_half_width: target,
                min_iterations: 10,
                max_iterations: 100,
                default_budget: Duration::from_secs(60),
            },
        }
    }

    #[test]
    fn fixed_count_stops_at_the_count() {
        let plan = Plan {
            warmup: 0,
            iterations: Iterations::Fixed(NonZeroU32::new(3).unwrap()),
            time_budget: None,
            auto: AutoPlan::default(),
        };
        assert_eq!(
            should_stop(&plan, Some(3), None, &[1.0, 1.0], Duration::ZERO),
            None
        );
        assert_eq!(
            should_stop(&plan, Some(3), None, &[1.0; 3], Duration::ZERO),
            Some(StopReason::Count)
        );
        assert_eq!(
            should_stop(
                &plan,
                Some(3),
                Some(Duration::from_secs(1)),
                &[1.0],
                Duration::from_secs(2)
            ),
            Some(StopReason::Budget)
        );
    }

    #[test]
    fn auto_stops_when_precise_and_not_before_the_minimum() {
        let plan = auto_plan(0.01);
        let steady = vec![100.0; 9];
        assert_eq!(
            should_stop(
                &plan,
                None,
                Some(Duration::from_secs(60)),
                &steady,
                Duration::ZERO
            ),
            None
        );
        let steady = vec![100.0; 10];
        assert_eq!(
            should_stop(
                &plan,
                None,
                Some(Duration::from_secs(60)),
                &steady,
                Duration::ZERO
            ),
            Some(StopReason::Precision)
        );
    }

    #[test]
    fn auto_keeps_noisy_runs_going_until_cap_or_budget() {
        let plan = auto_plan(0.01);
        // Alternating 50/150: the median's interval stays wide.
        let noisy: Vec<f64> = (0..40)
            .map(|i| if i % 2 == 0 { 50.0 } else { 150.0 })
            .collect();
        assert_eq!(
            should_stop(
                &plan,
                None,
                Some(Duration::from_secs(60)),
                &noisy,
                Duration::from_secs(1)
            ),
            None
        );
        assert_eq!(
            should_stop(
                &plan,
                None,
                Some(Duration::from_secs(60)),
                &noisy,
                Duration::from_secs(61)
            ),
            Some(StopReason::Budget)
        );
        let many: Vec<f64> = (0..100)
            .map(|i| if i % 2 == 0 { 50.0 } else { 150.0 })
            .collect();
        assert_eq!(
            should_stop(
                &plan,
                None,
                Some(Duration::from_secs(60)),
                &many,
                Duration::from_secs(1)
            ),
            Some(StopReason::Cap)
        );
    }
}
