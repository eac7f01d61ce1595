//! The thread-trap sweep, analysed: which rows of a (threads x latency) sweep under one CPU limit
//! are throttled or blown up, which thread count to use at that limit, and which limit a thread
//! count needs. Pure: measured numbers in, flags and advice out.
//!
//! Why these rules (the brief): raising ONNX Runtime's `intra_op_num_threads` to 2 or 4 under a
//! 1-CPU quota made latency jump 0.5 s -> 2.0 s because the threads share one CFS quota and the
//! kernel stops them each period. The team's own check is "more than 2x the 1-thread figure";
//! the kernel's counters (`nr_throttled / nr_periods`, alerted at 25% as `CPUThrottlingHigh`)
//! and a p99 far above the median are the same trap seen from the scheduler and from the tail.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::fmt_num;

/// Bumped on any incompatible change of the sweep JSON.
pub const SWEEP_SCHEMA_VERSION: u32 = 1;
/// A row slower than this multiple of the 1-thread median is flagged (the brief's rule).
pub const SLOWDOWN_FACTOR: f64 = 2.0;
/// A row whose p99 exceeds this multiple of its own median is flagged as a tail blow-up.
pub const TAIL_FACTOR: f64 = 3.0;
/// A row is flagged when more than this share of CFS periods was throttled (the
/// `CPUThrottlingHigh` alert's `> 25%`).
pub const THROTTLED_SHARE: f64 = 0.25;
/// A row the kernel throttled at all (any `nr_throttled`) is flagged when it is also this much
/// slower than the fewest-threads row: more threads should never be slower, so throttled *and*
/// slower means the threads are fighting over the quota even below the 25% alert (measured here:
/// 2 threads under 1 CPU, 9% of periods throttled, 1.6x the 1-thread median).
pub const THROTTLED_SLOWDOWN: f64 = 1.2;
/// Among unflagged rows, a row must be this much faster than one with fewer threads to be
/// preferred: fewer threads leave CPU for other requests, so a 5% gain is not worth a thread.
const WORTH_A_THREAD: f64 = 0.05;

/// How the CPU limit of the sweep came about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LimitSource {
    /// bench-gate created a cgroup with this quota (the way `docker run --cpus` does).
    Applied { cgroup: String },
    /// A limit was already in force (a container or pod); bench-gate used it.
    Found { cgroup: String },
    /// No limit could be applied and none was in force: measured unlimited.
    None { reason: String },
}

/// The `sweep -o` file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepReport {
    pub schema_version: u32,
    pub cpu_model: String,
    /// The CPU limit the rows ran under, in CPUs; `None` = unlimited.
    pub limit_cpus: Option<f64>,
    pub limit_source: LimitSource,
    /// CPUs the process was pinned to (the whole allowed set unless --cpus).
    pub pinned_cpus: Vec<usize>,
    pub models: Vec<ModelSweep>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelSweep {
    pub model: String,
    /// Whether intra-op threads busy-wait between ops (from the config; off by default).
    pub intra_op_spinning: bool,
    pub rows: Vec<SweepRow>,
    pub advice: Advice,
}

/// One thread count's measurement. Latencies in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// `intra_op_num_threads` of the sessions.
    pub threads: u32,
    pub n: usize,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Increase of the cgroup's counters over the counted iterations; `None` when unreadable.
    pub nr_periods: Option<u64>,
    pub nr_throttled: Option<u64>,
    pub throttled_time_ns: Option<u64>,
    /// Filled by [`analyse`].
    #[serde(default)]
    pub flags: Vec<RowFlag>,
}

impl SweepRow {
    /// `nr_throttled / nr_periods`, when both are known and periods > 0.
    pub fn throttled_share(&self) -> Option<f64> {
        match (self.nr_throttled, self.nr_periods) {
            (Some(t), Some(p)) if p > 0 => Some(t as f64 / p as f64),
            _ => None,
        }
    }
}

/// Why a row is not to be trusted as a configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RowFlag {
    /// Median more than 2x the single-thread median.
    Slowdown { factor: f64 },
    /// p99 more than 3x this row's own median.
    TailBlowUp { p99_over_median: f64 },
    /// The kernel throttled more than 25% of the CFS periods.
    Throttled { share: f64 },
    /// The kernel throttled some periods and the row is more than 1.2x the fewest-threads median.
    ThrottledAndSlower { nr_throttled: u64, factor: f64 },
}

impl fmt::Display for RowFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowFlag::Slowdown { factor } => {
                write!(f, "{}x the 1-thread median", fmt_num(*factor, 2))
            }
            RowFlag::TailBlowUp { p99_over_median } => {
                write!(f, "p99 {}x its median", fmt_num(*p99_over_median, 1))
            }
            RowFlag::Throttled { share } => {
                write!(f, "throttled in {}% of periods", fmt_num(share * 100.0, 0))
            }
            RowFlag::ThrottledAndSlower {
                nr_throttled,
                factor,
            } => write!(
                f,
                "throttled ({nr_throttled} periods) and {}x slower than fewer threads",
                fmt_num(*factor, 2)
            ),
        }
    }
}

/// What the sweep says to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advice {
    /// The thread count to use at this limit; `None` when every row is flagged.
    pub use_threads: Option<u32>,
    /// For each measured thread count, the smallest whole CPU limit at which its threads do not
    /// compete for quota (= the thread count: each busy intra-op thread needs one CPU).
    pub limit_needed: Vec<(u32, u32)>,
    /// One sentence per decision, for people.
    pub lines: Vec<String>,
}

/// Flags each row against the rules above. The baseline is the 1-thread row, else the row with
/// the fewest threads.
pub fn flag_rows(rows: &mut [SweepRow]) {
    let base = rows
        .iter()
        .filter(|r| r.median_ms.is_finite() && r.median_ms > 0.0)
        .min_by_key(|r| r.threads)
        .map(|r| (r.threads, r.median_ms));
    for row in rows.iter_mut() {
        row.flags.clear();
        if let Some((base_threads, base_ms)) = base
            && row.threads != base_threads
        {
            let factor = row.median_ms / base_ms;
            if factor > SLOWDOWN_FACTOR {
                row.flags.push(RowFlag::Slowdown { factor });
            }
        }
        if row.median_ms > 0.0 {
            let tail = row.p99_ms / row.median_ms;
            if tail > TAIL_FACTOR {
                row.flags.push(RowFlag::TailBlowUp {
                    p99_over_median: tail,
                });
            }
        }
        if let Some(share) = row.throttled_share().filter(|s| *s > THROTTLED_SHARE) {
            row.flags.push(RowFlag::Throttled { share });
        } else if let (Some((base_threads, base_ms)), Some(t)) = (base, row.nr_throttled)
            && row.threads != base_threads
            && t > 0
            && row.median_ms / base_ms > THROTTLED_SLOWDOWN
            && !row
                .flags
                .iter()
                .any(|f| matches!(f, RowFlag::Slowdown { .. }))
        {
            row.flags.push(RowFlag::ThrottledAndSlower {
                nr_throttled: t,
                factor: row.median_ms / base_ms,
            });
        }
    }
}

/// Flags the rows, then advises for a sweep run under `limit_cpus` (`None` = unlimited).
pub fn analyse(rows: &mut [SweepRow], limit_cpus: Option<f64>) -> Advice {
    flag_rows(rows);
    let mut sorted: Vec<&SweepRow> = rows.iter().collect();
    sorted.sort_by_key(|r| r.threads);
    let mut best: Option<&SweepRow> = None;
    for r in sorted.iter().filter(|r| r.flags.is_empty()) {
        best = match best {
            Some(b) if r.median_ms < b.median_ms * (1.0 - WORTH_A_THREAD) => Some(r),
            Some(b) => Some(b),
            None => Some(r),
        };
    }
    let limit_text = limit_cpus.map_or_else(
        || "without a CPU limit".to_string(),
        |c| format!("at a {} CPU limit", fmt_num(c, 2)),
    );
    let mut lines = Vec::new();
    match best {
        Some(b) => lines.push(format!(
            "use intra_op_num_threads = {} {limit_text} ({} ms median)",
            b.threads,
            fmt_num(b.median_ms, 1)
        )),
        None => lines.push(format!(
            "every thread count is flagged {limit_text}: raise the limit or fix the noise before sizing"
        )),
    }
    let limit_needed: Vec<(u32, u32)> = sorted.iter().map(|r| (r.threads, r.threads)).collect();
    for r in sorted.iter().filter(|r| !r.flags.is_empty()) {
        let why: Vec<String> = r.flags.iter().map(ToString::to_string).collect();
        lines.push(format!(
            "{} threads {limit_text}: {}; {} threads need a CPU limit of at least {}",
            r.threads,
            why.join(", "),
            r.threads,
            r.threads
        ));
    }
    Advice {
        use_threads: best.map(|b| b.threads),
        limit_needed,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(threads: u32, median: f64, p99: f64, periods: u64, throttled: u64) -> SweepRow {
        SweepRow {
            threads,
            n: 20,
            median_ms: median,
            p95_ms: median * 1.1,
            p99_ms: p99,
            nr_periods: Some(periods),
            nr_throttled: Some(throttled),
            throttled_time_ns: Some(throttled * 50_000_000),
            flags: vec![],
        }
    }

    /// The brief's thread trap, with numbers shaped like the real kernel's under a 1-CPU quota.
    #[test]
    fn trap_flags_two_and_four_threads_and_advises_one() {
        let mut rows = vec![
            row(1, 500.0, 560.0, 110, 2),
            row(2, 1100.0, 1900.0, 240, 230),
            row(4, 2000.0, 6500.0, 420, 415),
        ];
        let advice = analyse(&mut rows, Some(1.0));
        assert!(rows[0].flags.is_empty(), "{:?}", rows[0].flags);
        assert!(
            matches!(rows[1].flags[0], RowFlag::Slowdown { factor } if (factor - 2.2).abs() < 1e-9)
        );
        assert!(
            rows[1]
                .flags
                .iter()
                .any(|f| matches!(f, RowFlag::Throttled { .. }))
        );
        assert!(
            rows[2]
                .flags
                .iter()
                .any(|f| matches!(f, RowFlag::TailBlowUp { .. }))
        );
        assert_eq!(advice.use_threads, Some(1));
        assert_eq!(advice.limit_needed, vec![(1, 1), (2, 2), (4, 4)]);
        assert!(
            advice.lines[0].contains("threads = 1 at a 1 CPU limit"),
            "{:?}",
            advice.lines
        );
        assert!(advice.lines[2].contains("4 threads need a CPU limit of at least 4"));
    }

    /// Recorded on this machine (2 vCPU Xeon, tiny Whisper, 1-CPU quota, spinning off).
    #[test]
    fn mild_throttling_with_a_slowdown_is_flagged_the_same_slowdown_unthrottled_is_not() {
        let mut rows = vec![
            row(1, 503.2, 751.5, 110, 0),
            row(2, 824.6, 896.4, 150, 13),
            row(4, 763.6, 967.4, 156, 24),
        ];
        let advice = analyse(&mut rows, Some(1.0));
        assert!(rows[0].flags.is_empty());
        assert!(matches!(
            rows[1].flags[..],
            [RowFlag::ThrottledAndSlower {
                nr_throttled: 13,
                ..
            }]
        ));
        assert!(matches!(
            rows[2].flags[..],
            [RowFlag::ThrottledAndSlower {
                nr_throttled: 24,
                ..
            }]
        ));
        assert_eq!(advice.use_threads, Some(1));
        // Same latencies without throttling (a busy host, not the quota): not this flag.
        let mut rows = vec![row(1, 503.2, 751.5, 110, 0), row(2, 824.6, 896.4, 150, 0)];
        flag_rows(&mut rows);
        assert!(rows[1].flags.is_empty());
    }

    #[test]
    fn a_worthwhile_extra_thread_is_preferred_a_marginal_one_is_not() {
        let mut rows = vec![row(1, 500.0, 550.0, 10, 0), row(2, 300.0, 330.0, 10, 0)];
        assert_eq!(analyse(&mut rows, Some(2.0)).use_threads, Some(2));
        let mut rows = vec![row(1, 500.0, 550.0, 10, 0), row(2, 490.0, 530.0, 10, 0)];
        assert_eq!(analyse(&mut rows, Some(2.0)).use_threads, Some(1));
    }

    #[test]
    fn throttling_alone_flags_even_at_equal_latency() {
        // 25% is at the alert's bound, not over it; 26% is over.
        let mut rows = vec![row(1, 500.0, 550.0, 100, 25), row(2, 500.0, 550.0, 100, 26)];
        flag_rows(&mut rows);
        assert!(rows[0].flags.is_empty());
        assert_eq!(rows[1].flags, vec![RowFlag::Throttled { share: 0.26 }]);
    }

    #[test]
    fn all_flagged_or_unknown_counters_are_said_plainly() {
        let mut rows = vec![row(1, 500.0, 2000.0, 100, 90)];
        let advice = analyse(&mut rows, None);
        assert_eq!(advice.use_threads, None);
        assert!(advice.lines[0].contains("every thread count is flagged without a CPU limit"));
        let mut r = row(2, 100.0, 110.0, 0, 0);
        r.nr_periods = None;
        assert_eq!(r.throttled_share(), None);
    }
}
