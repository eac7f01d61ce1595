//! Change points over the long history: where did a (model, CPU) series step up or down, how
//! big was the step, and which commits surround it. Series in, steps out; no I/O.
//!
//! Each series is scanned twice, once per metric: the run medians (latency) and the peak RSS
//! (memory), both on a log scale so a step is a ratio. The scan is E-divisive with a permutation
//! test ([`edivisive`]); each step's size and interval are the Hodges-Lehmann shift between the
//! points on either side ([`shift`]). docs/explain.md explains the choices and their limits.

pub mod edivisive;
pub mod issues;
pub mod shift;

use serde::{Deserialize, Serialize};

use crate::baseline::series::{Series, SeriesPoint};
use crate::compare::verdict::Z_99;

/// Bumped on any incompatible change of the trend JSON.
pub const TREND_SCHEMA_VERSION: u32 = 1;

/// Points on either side of a step used for its size: enough for a tight interval, few enough
/// that a slow drift far away does not leak into it.
pub const SHIFT_WINDOW: usize = 60;

/// Which number of each run is scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrendMetric {
    /// The run's median latency, ms.
    Latency,
    /// The run's peak resident memory, MiB.
    Memory,
}

impl TrendMetric {
    pub fn unit(self) -> &'static str {
        match self {
            TrendMetric::Latency => "ms",
            TrendMetric::Memory => "MiB",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            TrendMetric::Latency => "median latency",
            TrendMetric::Memory => "peak memory",
        }
    }
}

/// What to look for and what to report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendOptions {
    pub edivisive: edivisive::Options,
    /// Steps smaller than this (percent, either way) are listed as `small` and open no issue:
    /// a real but negligible shift (memory moves by a page, a compiler update moves 0.5%).
    pub min_change_pct: f64,
    /// A step among the last `recent` points is new enough to open an issue.
    pub recent: usize,
}

impl Default for TrendOptions {
    fn default() -> Self {
        TrendOptions {
            edivisive: edivisive::Options::default(),
            min_change_pct: 2.0,
            recent: 30,
        }
    }
}

/// One run next to a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Around {
    /// RFC 3339.
    pub t: String,
    pub commit: Option<String>,
    /// The run's value of the metric.
    pub value: f64,
    pub ort: String,
}

/// A percent interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PctInterval {
    pub low: f64,
    pub high: f64,
}

/// One step in one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub metric: TrendMetric,
    /// Index in the series of the first run after the step.
    pub index: usize,
    /// The last run before the step and the first one after it: the commits between them hold
    /// the cause.
    pub before: Around,
    pub after: Around,
    /// Median of the metric over the runs used on each side, in the metric's unit.
    pub level_before: f64,
    pub level_after: f64,
    /// Size of the step, percent (positive = slower or bigger): the Hodges-Lehmann shift of the
    /// logs on either side.
    pub change_pct: f64,
    /// 99% interval of the size.
    pub ci_pct: PctInterval,
    /// Permutation p-value of the split.
    pub p_value: f64,
    /// Runs used on each side for the size (at most [`SHIFT_WINDOW`], never across another step).
    pub runs_before: usize,
    pub runs_after: usize,
    /// Smaller than the reporting floor: listed, no issue.
    pub small: bool,
    /// Among the last `recent` runs: new enough to open an issue.
    pub recent: bool,
}

/// One series and its steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesTrend {
    pub model: String,
    pub architecture: String,
    pub cpu_model: String,
    /// The series file.
    pub source: String,
    pub runs: usize,
    pub first: Option<String>,
    pub last: Option<String>,
    pub steps: Vec<Step>,
    /// Timestamps of the runs, for matching a step to an issue opened on an earlier night.
    #[serde(skip)]
    pub times: Vec<String>,
}

impl SeriesTrend {
    /// `model/arch/cpu-model`: the series' name in issue markers and titles.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}",
            self.model,
            self.architecture,
            crate::baseline::slug::cpu_slug(&self.cpu_model)
        )
    }
}

/// The trend file (`trend -o`): every series under a baselines folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendReport {
    pub schema_version: u32,
    pub bench_gate_version: String,
    /// RFC 3339, UTC.
    pub timestamp: String,
    /// How steps were found, in one sentence with its parameters.
    pub method: String,
    pub series: Vec<SeriesTrend>,
}

/// The method sentence for `opts`.
pub fn method(opts: &TrendOptions) -> String {
    format!(
        "E-divisive (Matteson & James 2014, alpha = 1) on the log of each run's value, permutation test with {} shuffles at p <= {}, at least {} runs per side; size = Hodges-Lehmann shift with its 99% interval over up to {SHIFT_WINDOW} runs per side; steps under {}% are listed as small",
        opts.edivisive.permutations,
        opts.edivisive.significance,
        opts.edivisive.min_size,
        opts.min_change_pct
    )
}

/// Scans one series for steps in latency and in memory.
pub fn analyze(source: &str, series: &Series, opts: &TrendOptions) -> SeriesTrend {
    let p = &series.points;
    let mut steps = scan(p, TrendMetric::Latency, |x| Some(x.median_ms), opts);
    steps.extend(scan(p, TrendMetric::Memory, |x| x.memory_mb, opts));
    steps.sort_by_key(|s| (s.index, s.metric));
    SeriesTrend {
        model: series.header.model.clone(),
        architecture: series.header.architecture.clone(),
        cpu_model: series.header.cpu_model.clone(),
        source: source.to_string(),
        runs: p.len(),
        first: p.first().map(|x| x.t.clone()),
        last: p.last().map(|x| x.t.clone()),
        steps,
        times: p.iter().map(|x| x.t.clone()).collect(),
    }
}

/// Steps of one metric. Runs without the metric (memory before it was recorded) are skipped;
/// indices stay those of the whole series.
fn scan(
    points: &[SeriesPoint],
    metric: TrendMetric,
    value: impl Fn(&SeriesPoint) -> Option<f64>,
    opts: &TrendOptions,
) -> Vec<Step> {
    let kept: Vec<(usize, f64)> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            value(p)
                .filter(|v| v.is_finite() && *v > 0.0)
                .map(|v| (i, v))
        })
        .collect();
    let logs: Vec<f64> = kept.iter().map(|(_, v)| v.ln()).collect();
    let cps = edivisive::change_points(&logs, &opts.edivisive);
    let mut bounds: Vec<usize> = vec![0];
    bounds.extend(cps.iter().map(|c| c.index));
    bounds.push(logs.len());
    let mut out = Vec::with_capacity(cps.len());
    for (i, cp) in cps.iter().enumerate() {
        let (prev, at, next) = (bounds[i], bounds[i + 1], bounds[i + 2]);
        let lo = prev.max(at.saturating_sub(SHIFT_WINDOW));
        let hi = next.min(at + SHIFT_WINDOW);
        let (left, right) = (&logs[lo..at], &logs[at..hi]);
        let Some(s) = shift::hodges_lehmann(left, right, Z_99) else {
            continue;
        };
        let pct = |x: f64| (x.exp() - 1.0) * 100.0;
        let level = |v: &[f64]| crate::stats::median(v).exp();
        let around = |k: usize| {
            let (idx, v) = kept[k];
            Around {
                t: points[idx].t.clone(),
                commit: points[idx].commit.clone(),
                value: v,
                ort: points[idx].ort.clone(),
            }
        };
        let index = kept[at].0;
        let change_pct = pct(s.estimate);
        out.push(Step {
            metric,
            index,
            before: around(at - 1),
            after: around(at),
            level_before: level(left),
            level_after: level(right),
            change_pct,
            ci_pct: PctInterval {
                low: pct(s.low),
                high: pct(s.high),
            },
            p_value: cp.p_value,
            runs_before: left.len(),
            runs_after: right.len(),
            small: change_pct.abs() < opts.min_change_pct,
            recent: index + opts.recent >= points.len(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::series::SeriesHeader;

    fn series(values: &[(f64, Option<f64>)]) -> Series {
        let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T02:00:00Z").unwrap();
        Series {
            header: SeriesHeader {
                schema_version: 1,
                model: "whisper-tiny".into(),
                architecture: "x86_64".into(),
                cpu_model: "Intel Xeon".into(),
            },
            points: values
                .iter()
                .enumerate()
                .map(|(i, (ms, mem))| SeriesPoint {
                    t: (start + chrono::Duration::days(i as i64)).to_rfc3339(),
                    commit: Some(format!("c{i:03}")),
                    median_ms: *ms,
                    p95_ms: ms * 1.1,
                    ci_ms: [ms * 0.99, ms * 1.01],
                    memory_mb: *mem,
                    n: 20,
                    ort: if i < 50 { "1.31.0" } else { "1.32.0" }.into(),
                })
                .collect(),
        }
    }

    /// A deterministic wiggle of about +-1%: the same every time, no step in it.
    fn wiggle(i: usize) -> f64 {
        1.0 + 0.01 * ((i as f64 * 2.399).sin() + 0.5 * (i as f64 * 0.731).cos()) / 1.5
    }

    #[test]
    fn a_planted_latency_step_is_reported_with_its_commits_size_and_interval() {
        let v: Vec<(f64, Option<f64>)> = (0..80)
            .map(|i| {
                (
                    400.0 * wiggle(i) * if i >= 50 { 1.10 } else { 1.0 },
                    Some(250.0),
                )
            })
            .collect();
        let t = analyze("f", &series(&v), &TrendOptions::default());
        assert_eq!(t.runs, 80);
        assert_eq!(t.steps.len(), 1, "{:?}", t.steps);
        let s = &t.steps[0];
        assert_eq!((s.metric, s.index), (TrendMetric::Latency, 50));
        assert_eq!(s.before.commit.as_deref(), Some("c049"));
        assert_eq!(s.after.commit.as_deref(), Some("c050"));
        assert_eq!(
            (s.before.ort.as_str(), s.after.ort.as_str()),
            ("1.31.0", "1.32.0")
        );
        assert!((s.change_pct - 10.0).abs() < 1.0, "{s:?}");
        assert!(
            s.ci_pct.low < s.change_pct && s.change_pct < s.ci_pct.high,
            "{s:?}"
        );
        assert!(s.ci_pct.low > 7.0 && s.ci_pct.high < 13.0, "{s:?}");
        assert_eq!((s.runs_before, s.runs_after), (50, 30));
        assert!(!s.small && s.recent);
        assert_eq!(t.key(), "whisper-tiny/x86_64/intel-xeon");
    }

    #[test]
    fn a_memory_step_is_found_in_runs_that_recorded_memory() {
        // Memory recorded from run 10 on; it grows by 20% at run 40.
        let v: Vec<(f64, Option<f64>)> = (0..70)
            .map(|i| {
                let mem = (i >= 10).then_some(if i >= 40 { 300.0 } else { 250.0 } * wiggle(i + 7));
                (400.0 * wiggle(i), mem)
            })
            .collect();
        let t = analyze("f", &series(&v), &TrendOptions::default());
        assert_eq!(t.steps.len(), 1, "{:?}", t.steps);
        assert_eq!(
            (t.steps[0].metric, t.steps[0].index),
            (TrendMetric::Memory, 40)
        );
        assert!(
            (t.steps[0].change_pct - 20.0).abs() < 1.5,
            "{:?}",
            t.steps[0]
        );
    }

    #[test]
    fn a_flat_series_has_no_steps_and_a_tiny_step_is_small() {
        let flat: Vec<(f64, Option<f64>)> = (0..90).map(|i| (400.0 * wiggle(i), None)).collect();
        assert!(
            analyze("f", &series(&flat), &TrendOptions::default())
                .steps
                .is_empty()
        );
        // A clean 1% step with no noise at all is real but below the 2% floor.
        let tiny: Vec<(f64, Option<f64>)> = (0..40)
            .map(|i| (if i >= 20 { 101.0 } else { 100.0 }, None))
            .collect();
        let t = analyze("f", &series(&tiny), &TrendOptions::default());
        assert_eq!(t.steps.len(), 1);
        assert!(t.steps[0].small && t.steps[0].recent);
        let older = TrendOptions {
            recent: 10,
            ..TrendOptions::default()
        };
        assert!(!analyze("f", &series(&tiny), &older).steps[0].recent);
    }
}
