//! One issue per change point, not one per night: which steps open an issue, which update the
//! issue an earlier night opened, which are left alone. Pure: the known issues come in as data
//! (what `gh issue list --json number,state,body` prints), the plan goes out as data.
//!
//! An issue is recognised by a hidden marker in its body naming the series, the metric and the
//! time of the first run after the step. As the series grows, E-divisive may move a step by a
//! run or two; a known marker within [`MATCH_WINDOW`] runs of a step is the same step.

use serde::Deserialize;

use super::{SeriesTrend, Step, TrendMetric};

/// Runs a step may move between nights and still be the same step.
pub const MATCH_WINDOW: usize = 3;

/// An issue as `gh issue list --state all --json number,state,body` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KnownIssue {
    pub number: u64,
    /// `OPEN` or `CLOSED` (any case).
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub body: String,
}

/// What a marker says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub series: String,
    pub metric: TrendMetric,
    /// RFC 3339 time of the first run after the step.
    pub at: String,
}

const PREFIX: &str = "<!-- bench-gate:change-point ";

/// The hidden marker for `step` of `series`. Its fields hold no spaces (slugs, RFC 3339), so
/// it parses back unambiguously.
pub fn marker(series: &SeriesTrend, step: &Step) -> String {
    format!(
        "{PREFIX}series={} metric={} at={} -->",
        series.key(),
        metric_word(step.metric),
        step.after.t
    )
}

fn metric_word(m: TrendMetric) -> &'static str {
    match m {
        TrendMetric::Latency => "latency",
        TrendMetric::Memory => "memory",
    }
}

/// The marker in an issue body, if it has one.
pub fn parse_marker(body: &str) -> Option<Marker> {
    let start = body.find(PREFIX)? + PREFIX.len();
    let rest = &body[start..];
    let inner = &rest[..rest.find("-->")?];
    let (mut series, mut metric, mut at) = (None, None, None);
    for field in inner.split_whitespace() {
        match field.split_once('=') {
            Some(("series", v)) => series = Some(v.to_string()),
            Some(("metric", "latency")) => metric = Some(TrendMetric::Latency),
            Some(("metric", "memory")) => metric = Some(TrendMetric::Memory),
            Some(("at", v)) => at = Some(v.to_string()),
            _ => {}
        }
    }
    Some(Marker {
        series: series?,
        metric: metric?,
        at: at?,
    })
}

/// What to do about one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A new step: open an issue.
    Create,
    /// An open issue already tracks this step: refresh its body.
    Update { number: u64 },
    /// A closed issue already tracked it: someone dealt with it; leave it closed.
    Closed { number: u64 },
}

/// One planned action: `series` and `step` index into the trends given to [`plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub series: usize,
    pub step: usize,
    pub action: Action,
}

/// The plan for every step that deserves an issue (recent and not small). Each known issue
/// matches at most one step, the nearest first.
pub fn plan(trends: &[SeriesTrend], known: &[KnownIssue]) -> Vec<Planned> {
    let markers: Vec<(usize, Marker)> = known
        .iter()
        .enumerate()
        .filter_map(|(i, k)| parse_marker(&k.body).map(|m| (i, m)))
        .collect();
    let wanted: Vec<(usize, usize)> = trends
        .iter()
        .enumerate()
        .flat_map(|(si, s)| {
            s.steps
                .iter()
                .enumerate()
                .filter(|(_, st)| st.recent && !st.small)
                .map(move |(ti, _)| (si, ti))
        })
        .collect();
    // Every (distance, wanted step, known issue) within the window, nearest first.
    let mut pairs: Vec<(usize, usize, usize)> = Vec::new();
    for (w, &(si, ti)) in wanted.iter().enumerate() {
        let (series, step) = (&trends[si], &trends[si].steps[ti]);
        let key = series.key();
        for (ki, m) in &markers {
            if m.series != key || m.metric != step.metric {
                continue;
            }
            if let Some(i) = series.times.iter().position(|t| *t == m.at) {
                let d = i.abs_diff(step.index);
                if d <= MATCH_WINDOW {
                    pairs.push((d, w, *ki));
                }
            }
        }
    }
    pairs.sort_unstable();
    let mut step_issue: Vec<Option<usize>> = vec![None; wanted.len()];
    let mut used = vec![false; known.len()];
    for (_, w, ki) in pairs {
        if step_issue[w].is_none() && !used[ki] {
            step_issue[w] = Some(ki);
            used[ki] = true;
        }
    }
    wanted
        .into_iter()
        .zip(step_issue)
        .map(|((series, step), issue)| {
            let action = match issue.map(|ki| &known[ki]) {
                Some(k) if k.state.eq_ignore_ascii_case("closed") => {
                    Action::Closed { number: k.number }
                }
                Some(k) => Action::Update { number: k.number },
                None => Action::Create,
            };
            Planned {
                series,
                step,
                action,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trend::{Around, PctInterval};

    fn step(index: usize, t: &str, metric: TrendMetric) -> Step {
        let around = |t: &str| Around {
            t: t.into(),
            commit: None,
            value: 1.0,
            ort: "1.32.0".into(),
        };
        Step {
            metric,
            index,
            before: around("2026-01-01T00:00:00Z"),
            after: around(t),
            level_before: 1.0,
            level_after: 1.1,
            change_pct: 10.0,
            ci_pct: PctInterval {
                low: 8.0,
                high: 12.0,
            },
            p_value: 0.005,
            runs_before: 10,
            runs_after: 10,
            small: false,
            recent: true,
        }
    }

    fn trend(steps: Vec<Step>) -> SeriesTrend {
        SeriesTrend {
            model: "m".into(),
            architecture: "x86_64".into(),
            cpu_model: "Xeon".into(),
            source: "f".into(),
            runs: 20,
            first: None,
            last: None,
            steps,
            times: (0..20).map(|i| format!("t{i:02}")).collect(),
        }
    }

    #[test]
    fn markers_round_trip() {
        let t = trend(vec![step(12, "t12", TrendMetric::Memory)]);
        let m = marker(&t, &t.steps[0]);
        assert_eq!(
            m,
            "<!-- bench-gate:change-point series=m/x86_64/xeon metric=memory at=t12 -->"
        );
        let body = format!("{m}\n## Peak memory grew\n");
        assert_eq!(
            parse_marker(&body),
            Some(Marker {
                series: "m/x86_64/xeon".into(),
                metric: TrendMetric::Memory,
                at: "t12".into()
            })
        );
        assert_eq!(parse_marker("no marker here"), None);
        assert_eq!(
            parse_marker("<!-- bench-gate:change-point series=x -->"),
            None
        );
    }

    #[test]
    fn a_new_step_opens_an_issue_and_the_next_night_updates_it_even_if_it_moved() {
        let night1 = trend(vec![step(12, "t12", TrendMetric::Latency)]);
        let p = plan(std::slice::from_ref(&night1), &[]);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].action, Action::Create);
        let body = marker(&night1, &night1.steps[0]);
        let known = vec![KnownIssue {
            number: 7,
            state: "OPEN".into(),
            body,
        }];
        // One more night: E-divisive now puts the step one run later.
        let night2 = trend(vec![step(13, "t13", TrendMetric::Latency)]);
        assert_eq!(
            plan(&[night2], &known)[0].action,
            Action::Update { number: 7 }
        );
        // Far away, or another metric: a different step.
        let far = trend(vec![step(17, "t17", TrendMetric::Latency)]);
        assert_eq!(plan(&[far], &known)[0].action, Action::Create);
        let mem = trend(vec![step(12, "t12", TrendMetric::Memory)]);
        assert_eq!(plan(&[mem], &known)[0].action, Action::Create);
    }

    #[test]
    fn a_closed_issue_is_left_closed_and_old_or_small_steps_open_nothing() {
        let t = trend(vec![step(12, "t12", TrendMetric::Latency)]);
        let known = vec![KnownIssue {
            number: 3,
            state: "CLOSED".into(),
            body: marker(&t, &t.steps[0]),
        }];
        assert_eq!(
            plan(std::slice::from_ref(&t), &known)[0].action,
            Action::Closed { number: 3 }
        );
        let mut old = step(2, "t02", TrendMetric::Latency);
        old.recent = false;
        let mut small = step(9, "t09", TrendMetric::Latency);
        small.small = true;
        assert!(plan(&[trend(vec![old, small])], &[]).is_empty());
    }

    #[test]
    fn one_issue_matches_the_nearest_step_only() {
        let t = trend(vec![
            step(10, "t10", TrendMetric::Latency),
            step(12, "t12", TrendMetric::Latency),
        ]);
        let known = vec![KnownIssue {
            number: 5,
            state: "open".into(),
            body: marker(&t, &t.steps[1]),
        }];
        let actions: Vec<Action> = plan(&[t], &known).into_iter().map(|p| p.action).collect();
        assert_eq!(actions, vec![Action::Create, Action::Update { number: 5 }]);
    }
}
