//! The latency-history chart: the baseline runs and this run as a Mermaid `xychart-beta`.
//!
//! GitHub renders Mermaid inside a ```` ```mermaid ```` fence in comments, so the chart needs
//! no image hosting and no token. Every label is sanitised with
//! [`mermaid_label`](super::escape::mermaid_label) because Mermaid has no escaping inside
//! quoted labels and a stray backtick run would end the fence.

use std::fmt::Write;

use super::escape::mermaid_label;
use super::input::HistoryPoint;

/// Oldest history runs are dropped beyond this many points: the x axis stays readable.
pub const MAX_POINTS: usize = 30;

/// One chart: a model's gated metric over its baseline runs, then this run.
#[derive(Debug, Clone, PartialEq)]
pub struct Series<'a> {
    pub model: &'a str,
    /// `median` or `p95`: which value of each history run is drawn.
    pub metric: &'a str,
    /// Oldest first.
    pub history: &'a [HistoryPoint],
    /// This run's value of the metric, milliseconds.
    pub candidate_ms: f64,
}

/// The fenced Mermaid block, or `None` when there is nothing to compare with (no history) or
/// a value is not a finite positive number (Mermaid would draw nonsense or refuse the chart).
pub fn mermaid(series: &Series) -> Option<String> {
    if series.history.is_empty() {
        return None;
    }
    let skip = series.history.len().saturating_sub(MAX_POINTS - 1);
    let runs = &series.history[skip..];
    let pick = |p: &HistoryPoint| {
        if series.metric == "p95" {
            p.p95_ms
        } else {
            p.median_ms
        }
    };
    let mut values: Vec<f64> = runs.iter().map(pick).collect();
    values.push(series.candidate_ms);
    if values.iter().any(|v| !v.is_finite() || *v <= 0.0) {
        return None;
    }
    let mut labels: Vec<String> = runs.iter().map(axis_label).collect();
    labels.push("this run".to_owned());

    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // 10% padding (at least 1 ms) so a flat history does not sit on the frame.
    let pad = ((hi - lo) * 0.1).max(hi * 0.05).max(1.0);
    let (y_lo, y_hi) = ((lo - pad).max(0.0).floor(), (hi + pad).ceil());

    let mut out = String::from("```mermaid\nxychart-beta\n");
    let _ = writeln!(
        out,
        "    title \"{} latency of {} (ms)\"",
        mermaid_label(series.metric),
        mermaid_label(series.model)
    );
    let quoted: Vec<String> = labels.iter().map(|l| format!("\"{l}\"")).collect();
    let _ = writeln!(out, "    x-axis [{}]", quoted.join(", "));
    let _ = writeln!(out, "    y-axis \"ms\" {y_lo} --> {y_hi}");
    let numbers: Vec<String> = values.iter().map(|v| format!("{v:.2}")).collect();
    let _ = writeln!(out, "    line [{}]", numbers.join(", "));
    out.push_str("```\n");
    Some(out)
}

/// `2024-12-02 abc1234`: the date of the run and its short commit, when known.
fn axis_label(point: &HistoryPoint) -> String {
    let date: String = point.timestamp.chars().take(10).collect();
    let label = match point.commit.as_deref() {
        Some(c) if !c.is_empty() => format!("{date} {}", c.chars().take(7).collect::<String>()),
        _ => date,
    };
    mermaid_label(&label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(day: u32, median: f64) -> HistoryPoint {
        HistoryPoint {
            timestamp: format!("2024-12-{day:02}T03:00:00Z"),
            commit: Some("0123456789abcdef".into()),
            median_ms: median,
            p95_ms: median * 1.2,
        }
    }

    #[test]
    fn chart_has_one_point_per_run_plus_this_run() {
        let history = [point(1, 500.0), point(2, 510.0)];
        let chart = mermaid(&Series {
            model: "whisper-tiny",
            metric: "median",
            history: &history,
            candidate_ms: 560.0,
        })
        .unwrap();
        assert!(chart.starts_with("```mermaid\nxychart-beta\n"), "{chart}");
        assert!(
            chart.contains("x-axis [\"2024-12-01 0123456\", \"2024-12-02 0123456\", \"this run\"]")
        );
        assert!(chart.contains("line [500.00, 510.00, 560.00]"), "{chart}");
        assert!(chart.contains("y-axis \"ms\" 472 --> 588"), "{chart}");
        assert!(chart.ends_with("```\n"));
    }

    #[test]
    fn p95_metric_draws_the_p95_values() {
        let history = [point(1, 100.0)];
        let chart = mermaid(&Series {
            model: "m",
            metric: "p95",
            history: &history,
            candidate_ms: 130.0,
        })
        .unwrap();
        assert!(chart.contains("line [120.00, 130.00]"), "{chart}");
    }

    #[test]
    fn no_history_or_bad_numbers_give_no_chart() {
        let series = |history: &'static [HistoryPoint], candidate_ms| Series {
            model: "m",
            metric: "median",
            history,
            candidate_ms,
        };
        assert_eq!(mermaid(&series(&[], 1.0)), None);
        let history = vec![point(1, 1.0)].leak();
        assert_eq!(mermaid(&series(history, f64::NAN)), None);
        assert_eq!(mermaid(&series(history, 0.0)), None);
    }

    #[test]
    fn long_histories_keep_the_newest_points() {
        let history: Vec<HistoryPoint> = (1..=40).map(|d| point(d % 28 + 1, d as f64)).collect();
        let chart = mermaid(&Series {
            model: "m",
            metric: "median",
            history: &history,
            candidate_ms: 50.0,
        })
        .unwrap();
        let line = chart.lines().find(|l| l.contains("line [")).unwrap();
        assert_eq!(line.matches(',').count() + 1, MAX_POINTS);
        assert!(line.contains("[12.00,"), "{line}");
    }

    #[test]
    fn hostile_model_name_cannot_close_the_label_or_the_fence() {
        let history = [point(1, 1.0)];
        let chart = mermaid(&Series {
            model: "x\"]\n```\n<script>",
            metric: "median",
            history: &history,
            candidate_ms: 1.0,
        })
        .unwrap();
        assert_eq!(chart.matches("```").count(), 2, "{chart}");
        assert!(!chart.contains("<script>"));
        assert!(
            chart.contains("title \"median latency of x script (ms)\""),
            "{chart}"
        );
    }
}
