//! What the machine and its container did to a benchmark run.
//!
//! [`Environment`] is read once per run and stored with the results (CPU model = baseline key,
//! limits, cpuset, memory). [`Snapshot`] is taken before and after a measured phase; the
//! [`EnvDelta`] between two snapshots says whether the kernel throttled the run (CFS quota) or
//! the hypervisor stole CPU time (steal), so a slow result can be labelled contaminated instead
//! of failing the gate as a regression.

pub mod affinity;
pub mod cgroup;
pub mod cgroup_ctl;
pub mod cgroup_locate;
pub mod cgroup_memory;
pub mod cpu;
mod cpu_midr;
pub mod environment;
pub mod isolation;
pub mod limit_decision;
pub mod proc;
pub mod sched;
pub mod secrets;

pub use environment::Environment;

use cgroup::CpuStat;
use proc::CpuJiffies;
use serde::{Deserialize, Serialize};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Counters read at one instant. Taking one costs a few file reads (well under a millisecond):
/// take them around a measured phase, not inside the timed loop.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// Monotonic time of the reading (for the interval length).
    pub taken_at: Instant,
    /// Wall-clock time of the reading, milliseconds since the Unix epoch.
    pub unix_ms: u64,
    /// `cpu.stat` of the process's current cpu cgroup; `None` when unavailable.
    pub cpu_stat: Option<CpuStat>,
    /// System-wide `/proc/stat` jiffies; `None` off Linux.
    pub jiffies: Option<CpuJiffies>,
    /// Run delay and time on a CPU of this process's threads ([`sched`]); `None` off Linux.
    pub sched: Option<sched::SchedTimes>,
    /// CPU time this process has used so far (all threads).
    pub process_cpu: Option<std::time::Duration>,
}

impl Snapshot {
    /// Reads all counters now. Never fails: unreadable parts are `None`.
    pub fn take() -> Snapshot {
        Snapshot {
            cpu_stat: cgroup::current_cpu_stat(),
            jiffies: proc::read_proc_stat(),
            sched: sched::times(),
            process_cpu: proc::process_cpu_time(),
            unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            taken_at: Instant::now(),
        }
    }

    /// `self - before`; see [`EnvDelta::between`].
    pub fn since(&self, before: &Snapshot) -> EnvDelta {
        EnvDelta::between(before, self)
    }
}

/// What happened between two snapshots. A counter is `None` when either side lacked it or it went
/// backwards (the process changed cgroup in between, e.g. a `LimitGuard` was applied).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EnvDelta {
    /// Interval length in milliseconds.
    pub elapsed_ms: f64,
    /// CFS enforcement periods with runnable threads (count).
    pub nr_periods: Option<u64>,
    /// Periods in which the quota ran out and threads were stopped (count).
    pub nr_throttled: Option<u64>,
    /// Time threads spent stopped by the quota, nanoseconds (summed over CPUs by the kernel).
    pub throttled_time_ns: Option<u64>,
    /// `nr_throttled / nr_periods` (0..1); the common alert `CPUThrottlingHigh` fires at 0.25.
    pub throttled_period_ratio: Option<f64>,
    /// Steal jiffies over the interval, all CPUs.
    pub steal_jiffies: Option<u64>,
    /// Total jiffies over the interval, all CPUs.
    pub total_jiffies: Option<u64>,
    /// `steal_jiffies / total_jiffies` (0..1): share of CPU time the hypervisor gave to others.
    pub steal_ratio: Option<f64>,
    /// Time this process's threads were runnable but waiting for a CPU, milliseconds: another
    /// process shared the pinned CPUs. Absent in results written before it was recorded.
    #[serde(default)]
    pub run_delay_ms: Option<f64>,
    /// `run_delay_ms / elapsed_ms`: share of the interval spent waiting for the CPU.
    #[serde(default)]
    pub run_delay_ratio: Option<f64>,
    /// Time this process's threads ran on a CPU, milliseconds (the scheduler's count, read with
    /// the run delay). Absent in results written before it was recorded.
    #[serde(default)]
    pub on_cpu_ms: Option<f64>,
    /// CPU time other processes used on the machine's CPUs (all of `/proc/stat`, minus this
    /// process), milliseconds. A neighbour on *another* core is invisible to run delay but still
    /// competes for the shared caches and memory bandwidth. Absent in older results.
    #[serde(default)]
    pub others_busy_ms: Option<f64>,
    /// `others_busy_ms / elapsed_ms`: how many CPUs other processes kept busy, on average.
    #[serde(default)]
    pub others_busy_cpus: Option<f64>,
}

/// Share of CFS periods throttled from which a run is flagged; the Kubernetes
/// `CPUThrottlingHigh` alert uses the same 25 %.
pub const THROTTLED_PERIODS_WARN: f64 = 0.25;
/// Share of CPU time stolen by the hypervisor from which a run is flagged (5 %).
pub const STEAL_WARN: f64 = 0.05;
/// CPUs kept busy by other processes from which a run is flagged (half a core on average).
pub const OTHERS_BUSY_WARN: f64 = 0.5;

impl EnvDelta {
    /// Human-readable warnings when the interval was contaminated by CFS throttling
    /// (>= [`THROTTLED_PERIODS_WARN`] of periods) or hypervisor steal (>= [`STEAL_WARN`]).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(r), Some(t), Some(p)) = (
            self.throttled_period_ratio,
            self.nr_throttled,
            self.nr_periods,
        ) && r >= THROTTLED_PERIODS_WARN
        {
            out.push(format!(
                    "CPU quota throttled the run in {t} of {p} periods ({:.0}%), {:.0} ms held back: \
                     more busy threads than the CPU limit (set intra_op_num_threads <= the limit, or \
                     raise the limit); latencies are inflated",
                    r * 100.0,
                    self.throttled_time_ns.unwrap_or(0) as f64 / 1e6
                ));
        }
        if let Some(s) = self.steal_ratio.filter(|s| *s >= STEAL_WARN) {
            out.push(format!(
                "the hypervisor stole {:.1}% of CPU time during the run (a busy VM host): latencies \
                 are inflated, rerun on a quieter machine before trusting a regression",
                s * 100.0
            ));
        }
        if let Some(c) = self.others_busy_cpus.filter(|c| *c >= OTHERS_BUSY_WARN) {
            out.push(format!(
                "other processes kept {c:.1} CPUs busy during the run: they compete for the \
                 caches and memory bandwidth even on other cores; latencies may be inflated"
            ));
        }
        out
    }

    /// Several intervals as one: counts and times add up, the ratios are recomputed from the
    /// sums. A counter is known only if every interval knew it.
    pub fn total(parts: &[EnvDelta]) -> EnvDelta {
        fn sum<T: Copy + std::iter::Sum<T>>(
            parts: &[EnvDelta],
            f: impl Fn(&EnvDelta) -> Option<T>,
        ) -> Option<T> {
            if parts.is_empty() {
                return None;
            }
            parts.iter().map(f).sum()
        }
        let elapsed_ms: f64 = parts.iter().map(|p| p.elapsed_ms).sum();
        let nr_periods = sum(parts, |p| p.nr_periods);
        let nr_throttled = sum(parts, |p| p.nr_throttled);
        let steal_jiffies = sum(parts, |p| p.steal_jiffies);
        let total_jiffies = sum(parts, |p| p.total_jiffies);
        let run_delay_ms = sum(parts, |p| p.run_delay_ms);
        let on_cpu_ms = sum(parts, |p| p.on_cpu_ms);
        let others_busy_ms = sum(parts, |p| p.others_busy_ms);
        EnvDelta {
            elapsed_ms,
            nr_periods,
            nr_throttled,
            throttled_time_ns: sum(parts, |p| p.throttled_time_ns),
            throttled_period_ratio: match (nr_throttled, nr_periods) {
                (Some(t), Some(p)) if p > 0 => Some(t as f64 / p as f64),
                _ => None,
            },
            steal_jiffies,
            total_jiffies,
            steal_ratio: match (steal_jiffies, total_jiffies) {
                (Some(s), Some(t)) if t > 0 => Some(s as f64 / t as f64),
                _ => None,
            },
            run_delay_ms,
            run_delay_ratio: per_ms(run_delay_ms, elapsed_ms),
            on_cpu_ms,
            others_busy_ms,
            others_busy_cpus: per_ms(others_busy_ms, elapsed_ms),
        }
    }

    /// The share of the time this process's threads wanted a CPU that they spent waiting for
    /// one: run delay over run delay plus time on a CPU (0..1). For one busy thread it is the
    /// share of the interval another process held the CPU; summed over threads it stays below
    /// 1 however many threads waited. `None` when either count is unknown or nothing ran.
    pub fn wait_share(&self) -> Option<f64> {
        let (delay, ran) = (self.run_delay_ms?, self.on_cpu_ms?);
        Some(delay / (delay + ran)).filter(|w| w.is_finite() && (0.0..=1.0).contains(w))
    }

    /// `after - before`, field by field.
    pub fn between(before: &Snapshot, after: &Snapshot) -> EnvDelta {
        let stat = |f: fn(&CpuStat) -> u64| match (before.cpu_stat, after.cpu_stat) {
            (Some(b), Some(a)) => f(&a).checked_sub(f(&b)),
            _ => None,
        };
        let nr_periods = stat(|s| s.nr_periods);
        let nr_throttled = stat(|s| s.nr_throttled);
        let (steal, total) = match (before.jiffies, after.jiffies) {
            (Some(b), Some(a)) => (a.steal.checked_sub(b.steal), a.total.checked_sub(b.total)),
            _ => (None, None),
        };
        let elapsed_ms = after
            .taken_at
            .saturating_duration_since(before.taken_at)
            .as_secs_f64()
            * 1e3;
        let sched = |f: fn(&sched::SchedTimes) -> u64| match (before.sched, after.sched) {
            (Some(b), Some(a)) => f(&a).checked_sub(f(&b)).map(|d| d as f64 / 1e6),
            _ => None,
        };
        let run_delay_ms = sched(|t| t.run_delay_ns);
        let others_busy_ms = others_busy_ms(before, after);
        EnvDelta {
            elapsed_ms,
            run_delay_ms,
            run_delay_ratio: per_ms(run_delay_ms, elapsed_ms),
            on_cpu_ms: sched(|t| t.on_cpu_ns),
            others_busy_ms,
            others_busy_cpus: per_ms(others_busy_ms, elapsed_ms),
            nr_periods,
            nr_throttled,
            throttled_time_ns: stat(|s| s.throttled_time_ns),
            throttled_period_ratio: match (nr_throttled, nr_periods) {
                (Some(t), Some(p)) if p > 0 => Some(t as f64 / p as f64),
                _ => None,
            },
            steal_jiffies: steal,
            total_jiffies: total,
            steal_ratio: match (steal, total) {
                (Some(s), Some(t)) if t > 0 => Some(s as f64 / t as f64),
                _ => None,
            },
        }
    }
}

/// `ms / elapsed_ms`, when both are known and time passed.
fn per_ms(ms: Option<f64>, elapsed_ms: f64) -> Option<f64> {
    ms.filter(|_| elapsed_ms > 0.0).map(|m| m / elapsed_ms)
}

/// Busy CPU time of the whole machine minus this process's own, in ms, never negative (the
/// jiffy counters tick at 10 ms, so a quiet machine can come out a few ms below zero).
fn others_busy_ms(before: &Snapshot, after: &Snapshot) -> Option<f64> {
    let (b, a) = (before.jiffies?, after.jiffies?);
    let busy_ms = a.busy().checked_sub(b.busy())? as f64 * proc::jiffy_ms()?;
    let own_ms = after
        .process_cpu?
        .checked_sub(before.process_cpu?)?
        .as_secs_f64()
        * 1e3;
    Some((busy_ms - own_ms).max(0.0))
}

/// Serialises tests that change process-global state (cgroup membership, CPU affinity).
#[cfg(test)]
pub(crate) fn test_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn snap(at: Instant, stat: Option<CpuStat>, j: Option<CpuJiffies>) -> Snapshot {
        Snapshot {
            taken_at: at,
            unix_ms: 0,
            cpu_stat: stat,
            jiffies: j,
            sched: None,
            process_cpu: None,
        }
    }

    #[test]
    fn intervals_add_up_and_an_unknown_counter_stays_unknown() {
        let part = |ms: f64, delay: Option<f64>, steal: u64| EnvDelta {
            elapsed_ms: ms,
            run_delay_ms: delay,
            steal_jiffies: Some(steal),
            total_jiffies: Some(100),
            ..EnvDelta::default()
        };
        let t = EnvDelta::total(&[part(100.0, Some(3.0), 0), part(300.0, Some(5.0), 10)]);
        assert_eq!(t.elapsed_ms, 400.0);
        assert_eq!(t.run_delay_ratio, Some(8.0 / 400.0));
        assert_eq!(t.steal_ratio, Some(10.0 / 200.0));
        assert_eq!(t.nr_periods, None);
        let t = EnvDelta::total(&[part(100.0, Some(3.0), 0), part(100.0, None, 0)]);
        assert_eq!((t.run_delay_ms, t.run_delay_ratio), (None, None));
        assert_eq!(EnvDelta::total(&[]), EnvDelta::default());
    }

    #[test]
    fn run_delay_becomes_a_share_of_the_interval() {
        let t0 = Instant::now();
        let mut b = snap(t0, None, None);
        let mut a = snap(t0 + Duration::from_secs(10), None, None);
        let times = |on_cpu_ns, run_delay_ns| {
            Some(sched::SchedTimes {
                on_cpu_ns,
                run_delay_ns,
            })
        };
        b.sched = times(2_000_000_000, 1_000_000_000);
        a.sched = times(9_000_000_000, 4_000_000_000);
        let d = a.since(&b);
        assert_eq!(d.on_cpu_ms, Some(7000.0));
        assert!(
            (d.wait_share().unwrap() - 0.3).abs() < 1e-9,
            "3 s waiting of 10 s wanted"
        );
        assert_eq!(d.run_delay_ms, Some(3000.0));
        assert!((d.run_delay_ratio.unwrap() - 0.3).abs() < 1e-9);
        // A thread that exited took its delay along: unknown, not negative.
        a.sched = times(9_000_000_000, 10);
        assert_eq!(a.since(&b).run_delay_ms, None);
        assert_eq!(a.since(&b).wait_share(), None);
    }

    #[test]
    fn delta_subtracts_and_computes_ratios() {
        let t0 = Instant::now();
        let b = snap(
            t0,
            Some(CpuStat {
                nr_periods: 10,
                nr_throttled: 2,
                throttled_time_ns: 1_000,
            }),
            Some(CpuJiffies {
                total: 1000,
                steal: 10,
                idle: 0,
            }),
        );
        let a = snap(
            t0 + Duration::from_millis(500),
            Some(CpuStat {
                nr_periods: 14,
                nr_throttled: 5,
                throttled_time_ns: 9_000,
            }),
            Some(CpuJiffies {
                total: 1100,
                steal: 15,
                idle: 0,
            }),
        );
        let d = a.since(&b);
        assert!((d.elapsed_ms - 500.0).abs() < 1e-6);
        assert_eq!(
            (d.nr_periods, d.nr_throttled, d.throttled_time_ns),
            (Some(4), Some(3), Some(8_000))
        );
        assert_eq!(d.throttled_period_ratio, Some(0.75));
        assert_eq!(d.steal_ratio, Some(0.05));
        let w = d.warnings();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("3 of 4 periods (75%)") && w[1].contains("5.0%"),
            "{w:?}"
        );
    }

    #[test]
    fn delta_unknown_or_backwards_is_none() {
        let t0 = Instant::now();
        let d = EnvDelta::between(&snap(t0, None, None), &snap(t0, None, None));
        assert_eq!(d, EnvDelta::default());
        assert!(d.warnings().is_empty());
        let b = snap(
            t0,
            Some(CpuStat {
                nr_periods: 10,
                ..CpuStat::default()
            }),
            Some(CpuJiffies {
                total: 5,
                ..CpuJiffies::default()
            }),
        );
        let a = snap(
            t0,
            Some(CpuStat::default()),
            Some(CpuJiffies {
                total: 5,
                ..CpuJiffies::default()
            }),
        );
        let d = EnvDelta::between(&b, &a);
        assert_eq!(d.nr_periods, None, "counter went backwards: moved cgroup");
        assert_eq!(d.nr_throttled, Some(0));
        assert_eq!(d.throttled_period_ratio, None);
        assert_eq!(d.steal_ratio, None, "no time passed");
    }

    /// 2 CPUs for 1 s = 200 jiffies (at 100 Hz); 120 busy, of which this process used 0.7 s:
    /// others kept 0.5 CPUs busy. Without this process's CPU time the figure is unknown.
    #[test]
    fn others_busy_is_the_machine_minus_this_process() {
        let Some(jiffy) = proc::jiffy_ms() else {
            return;
        };
        let t0 = Instant::now();
        let j = |total: u64, idle: u64| {
            Some(CpuJiffies {
                total,
                idle,
                steal: 0,
            })
        };
        let per_s = (1000.0 / jiffy) as u64;
        let mut b = snap(t0, None, j(0, 0));
        let mut a = snap(
            t0 + Duration::from_secs(1),
            None,
            j(2 * per_s, 2 * per_s * 40 / 100),
        );
        b.process_cpu = Some(Duration::from_millis(300));
        a.process_cpu = Some(Duration::from_millis(1000));
        let d = a.since(&b);
        assert!((d.others_busy_ms.unwrap() - 500.0).abs() < 1e-6, "{d:?}");
        assert!((d.others_busy_cpus.unwrap() - 0.5).abs() < 1e-9, "{d:?}");
        assert!(
            d.warnings()[0].contains("0.5 CPUs busy"),
            "{:?}",
            d.warnings()
        );
        // This process alone: the jiffies' 10 ms rounding never makes it negative.
        a.process_cpu = Some(Duration::from_millis(1600));
        assert_eq!(a.since(&b).others_busy_ms, Some(0.0));
        assert!(a.since(&b).warnings().is_empty());
        a.process_cpu = None;
        assert_eq!(a.since(&b).others_busy_cpus, None);
        let t = EnvDelta::total(&[d, d]);
        assert!((t.others_busy_cpus.unwrap() - 0.5).abs() < 1e-9, "{t:?}");
    }

    /// A real neighbour: a child process spinning for a fixed amount of work (not of time) is
    /// outside this process's CPU time, so the machine-wide busy time must show at least the CPU
    /// time the kernel charged the child (less the 10 ms jiffy granularity). A lower bound only:
    /// anything else busy on the machine only adds to it, so it holds on a loaded machine.
    #[cfg(target_os = "linux")]
    #[test]
    fn live_neighbour_is_seen() {
        let b = Snapshot::take();
        #[expect(
            clippy::zombie_processes,
            reason = "reaped below with wait4, which also returns its CPU time"
        )]
        let child = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
            .spawn()
            .expect("spawn sh");
        let pid = libc::pid_t::try_from(child.id()).expect("pid");
        // SAFETY: plain structs for the kernel to fill; `pid` is our own unreaped child.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let mut status = 0;
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        assert_eq!(reaped, pid);
        let d = Snapshot::take().since(&b);
        let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
        let child_ms = ms(ru.ru_utime) + ms(ru.ru_stime);
        assert!(
            child_ms > 50.0,
            "the child must do real work: {child_ms} ms"
        );
        let others = d.others_busy_ms.expect("others busy");
        assert!(
            others >= 0.8 * child_ms - 30.0,
            "a child that used {child_ms:.0} ms of CPU: {d:?}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn live_snapshot_delta() {
        let b = Snapshot::take();
        std::thread::sleep(Duration::from_millis(30));
        let d = Snapshot::take().since(&b);
        assert!(d.elapsed_ms >= 30.0);
        assert!(d.total_jiffies.is_some());
        let json = serde_json::to_value(d).expect("serialize");
        assert!(json.get("steal_ratio").is_some() && json.get("throttled_time_ns").is_some());
    }
}
