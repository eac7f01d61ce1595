//! `bench-gate trend` as text: the terminal listing of every series and its steps, and the
//! title and body of the one issue each new step gets. Trends in, text out.

use std::fmt::Write;

use comfy_table::Cell;

use super::escape::{inline, link_target};
use super::table::{new_table, right};
use crate::trend::issues::marker;
use crate::trend::{SeriesTrend, Step, TrendMetric, TrendReport};

/// Every series with its steps, for the terminal.
pub fn table(report: &TrendReport) -> String {
    if report.series.is_empty() {
        return "no series yet: `bench-gate baseline update` starts one per model and CPU model (<model>/<arch>/<cpu>.series.jsonl)\n".into();
    }
    let mut t = new_table(&[
        "model",
        "CPU model",
        "runs",
        "metric",
        "step at (first run after)",
        "commits",
        "before -> after",
        "change [99% CI]",
        "p",
        "",
    ]);
    for s in &report.series {
        if s.steps.is_empty() {
            t.add_row(vec![
                Cell::new(&s.model),
                Cell::new(&s.cpu_model),
                right(s.runs.to_string()),
                Cell::new("-"),
                Cell::new("no step"),
                Cell::new(""),
                Cell::new(""),
                Cell::new(""),
                Cell::new(""),
                Cell::new(""),
            ]);
        }
        for st in &s.steps {
            let flag = if st.small {
                "small"
            } else if st.recent {
                "new"
            } else {
                ""
            };
            t.add_row(vec![
                Cell::new(&s.model),
                Cell::new(&s.cpu_model),
                right(s.runs.to_string()),
                Cell::new(metric_word(st.metric)),
                Cell::new(format!("{} (#{})", st.after.t, st.index)),
                Cell::new(format!(
                    "{}..{}",
                    short(st.before.commit.as_deref()),
                    short(st.after.commit.as_deref())
                )),
                right(format!(
                    "{} -> {} {}",
                    num(st.level_before),
                    num(st.level_after),
                    st.metric.unit()
                )),
                right(format!(
                    "{:+.1}% [{:+.1}, {:+.1}]",
                    st.change_pct, st.ci_pct.low, st.ci_pct.high
                )),
                right(format!("{:.3}", st.p_value)),
                Cell::new(flag),
            ]);
        }
    }
    format!("{t}\nmethod: {}\n", report.method)
}

fn metric_word(m: TrendMetric) -> &'static str {
    match m {
        TrendMetric::Latency => "latency",
        TrendMetric::Memory => "memory",
    }
}

fn short(c: Option<&str>) -> String {
    c.map_or_else(|| "?".into(), |c| c.chars().take(10).collect())
}

fn num(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// `bench-gate: whisper-tiny median latency +8.2% on Intel Xeon ... (x86_64) from 2026-01-05`:
/// one line, no tabs, at most ~200 characters (GitHub allows 256).
pub fn issue_title(series: &SeriesTrend, step: &Step) -> String {
    let what = match (step.metric, step.change_pct >= 0.0) {
        (TrendMetric::Latency, true) => "got slower",
        (TrendMetric::Latency, false) => "got faster",
        (TrendMetric::Memory, true) => "uses more memory",
        (TrendMetric::Memory, false) => "uses less memory",
    };
    let clean = |s: &str, n: usize| -> String {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(n)
            .collect()
    };
    format!(
        "bench-gate: {} {what} by {:.1}% on {} ({}) from {}",
        clean(&series.model, 60),
        step.change_pct.abs(),
        clean(&series.cpu_model, 80),
        clean(&series.architecture, 16),
        step.after.t.get(..10).unwrap_or(&step.after.t)
    )
}

/// The issue body: marker, the step in one sentence, its numbers, the commits to look at.
pub fn issue_body(
    series: &SeriesTrend,
    step: &Step,
    method: &str,
    repo_url: Option<&str>,
    updated: &str,
) -> String {
    let mut w = String::new();
    let _ = writeln!(w, "{}", marker(series, step));
    let direction = if step.change_pct >= 0.0 { "up" } else { "down" };
    let _ = writeln!(
        w,
        "The nightly history of **{}** on **{}** ({}) stepped **{direction} by {:.1}%** in {} (99% CI {:+.1}% … {:+.1}%), between the run of {} and the run of {}.\n",
        inline(&series.model),
        inline(&series.cpu_model),
        inline(&series.architecture),
        step.change_pct.abs(),
        step.metric.label(),
        step.ci_pct.low,
        step.ci_pct.high,
        inline(&step.before.t),
        inline(&step.after.t)
    );
    let _ = writeln!(w, "| | Before the step | After the step |");
    let _ = writeln!(w, "|---|--:|--:|");
    let _ = writeln!(
        w,
        "| {} (median of the runs) | {} {unit} | {} {unit} |",
        step.metric.label(),
        num(step.level_before),
        num(step.level_after),
        unit = step.metric.unit()
    );
    let _ = writeln!(
        w,
        "| Runs used | {} | {} |",
        step.runs_before, step.runs_after
    );
    let _ = writeln!(
        w,
        "| Nearest run | {} ({} {}) | {} ({} {}) |",
        inline(&step.before.t),
        num(step.before.value),
        step.metric.unit(),
        inline(&step.after.t),
        num(step.after.value),
        step.metric.unit()
    );
    let _ = writeln!(
        w,
        "| Commit | {} | {} |",
        commit(step.before.commit.as_deref(), repo_url),
        commit(step.after.commit.as_deref(), repo_url)
    );
    let _ = writeln!(
        w,
        "| ONNX Runtime | {} | {} |\n",
        inline(&step.before.ort),
        inline(&step.after.ort)
    );
    let base = repo_url.and_then(link_target);
    if let (Some(base), Some(a), Some(b)) = (
        base.as_deref(),
        step.before.commit.as_deref().filter(|c| is_hex(c)),
        step.after.commit.as_deref().filter(|c| is_hex(c)),
    ) {
        let _ = writeln!(
            w,
            "The cause is among the commits between them: [{}...{}]({}/compare/{a}...{b}).\n",
            &a[..a.len().min(10)],
            &b[..b.len().min(10)],
            base.trim_end_matches('/')
        );
    }
    if step.before.ort != step.after.ort {
        let _ = writeln!(
            w,
            "ONNX Runtime changed at the step ({} → {}): check its release notes first.\n",
            inline(&step.before.ort),
            inline(&step.after.ort)
        );
    }
    let _ = writeln!(
        w,
        "Significance: p = {:.3}. How it was found: {}.\n",
        step.p_value,
        inline(method)
    );
    let _ = writeln!(
        w,
        "_One issue per change point: the nightly job updates this issue while the step stays in view and never opens a second one for it; close it once explained. Series file: {}. Updated {}._",
        inline(&series.source),
        inline(updated)
    );
    w
}

fn commit(c: Option<&str>, repo_url: Option<&str>) -> String {
    match (c, repo_url.and_then(link_target)) {
        (Some(c), Some(base)) if is_hex(c) => format!(
            "[{}]({}/commit/{c})",
            &c[..c.len().min(10)],
            base.trim_end_matches('/')
        ),
        (Some(c), _) => inline(c),
        (None, _) => "—".into(),
    }
}

fn is_hex(c: &str) -> bool {
    (7..=64).contains(&c.len()) && c.chars().all(|x| x.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trend::{Around, PctInterval};

    fn series() -> (SeriesTrend, Step) {
        let around = |t: &str, c: &str, v: f64, ort: &str| Around {
            t: t.into(),
            commit: Some(c.into()),
            value: v,
            ort: ort.into(),
        };
        let step = Step {
            metric: TrendMetric::Latency,
            index: 41,
            before: around(
                "2026-01-04T02:17:00Z",
                "0123456789abcdef0123456789abcdef01234567",
                401.0,
                "1.31.0",
            ),
            after: around(
                "2026-01-05T02:17:00Z",
                "89abcdef0123456789abcdef0123456789abcdef",
                436.0,
                "1.32.0",
            ),
            level_before: 400.0,
            level_after: 432.8,
            change_pct: 8.2,
            ci_pct: PctInterval {
                low: 6.9,
                high: 9.6,
            },
            p_value: 0.005,
            runs_before: 41,
            runs_after: 12,
            small: false,
            recent: true,
        };
        let s = SeriesTrend {
            model: "whisper-tiny".into(),
            architecture: "x86_64".into(),
            cpu_model: "Intel(R) Xeon(R) Platinum 8480+".into(),
            source: "baselines/whisper-tiny/x86_64/intel-r-xeon-r-platinum-8480.series.jsonl"
                .into(),
            runs: 53,
            first: None,
            last: None,
            steps: vec![step.clone()],
            times: vec![],
        };
        (s, step)
    }

    #[test]
    fn the_issue_names_the_step_its_commits_and_carries_its_marker() {
        let (s, st) = series();
        let title = issue_title(&s, &st);
        assert_eq!(
            title,
            "bench-gate: whisper-tiny got slower by 8.2% on Intel(R) Xeon(R) Platinum 8480+ (x86_64) from 2026-01-05"
        );
        let body = issue_body(
            &s,
            &st,
            "E-divisive",
            Some("https://github.com/acme/speech"),
            "2026-01-17T02:30:00Z",
        );
        assert!(body.starts_with("<!-- bench-gate:change-point series=whisper-tiny/x86_64/intel-r-xeon-r-platinum-8480 metric=latency at=2026-01-05T02:17:00Z -->\n"), "{body}");
        assert!(
            body.contains("stepped **up by 8.2%** in median latency (99% CI +6.9% … +9.6%)"),
            "{body}"
        );
        assert!(body.contains("[0123456789...89abcdef01](https://github.com/acme/speech/compare/0123456789abcdef0123456789abcdef01234567...89abcdef0123456789abcdef0123456789abcdef)"), "{body}");
        assert!(
            body.contains("ONNX Runtime changed at the step (1.31.0 → 1.32.0)"),
            "{body}"
        );
        assert!(body.contains("| Runs used | 41 | 12 |"), "{body}");
    }

    #[test]
    fn an_unsafe_repository_url_gets_no_links() {
        let (s, st) = series();
        let body = issue_body(&s, &st, "m", Some("javascript:alert(1)"), "now");
        assert!(!body.contains("]("), "{body}");
        assert!(body.contains("| Commit | 0123456789abcdef"), "{body}");
    }
}
