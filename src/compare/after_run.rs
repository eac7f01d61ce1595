//! The duet's memory line and operator attribution, from what each worker reported once the
//! clock stopped ([`AfterRun`]). Memory: variant A's peaks over the worker pairs stand where a
//! baseline's history would, B's median peak is the candidate, judged by [`memory::judge`] (its
//! noise from A's spread, with `assumed_memory_noise_pct` as the floor for few pairs). Operators:
//! the first pair's profiled passes, diffed when latency regressed or improved.

use super::memory;
use super::{ModelVerdict, Verdict};
use crate::config::Thresholds;
use crate::operators::{ATTRIBUTION_NOTE, Attribution};
use crate::runner::profile::AfterRun;
use crate::stats::median;

/// One worker's report, or why it gave none.
pub type Report = Result<AfterRun, String>;
/// Per worker pair, (A, B).
pub type PairReports = [(Report, Report)];

/// Adds memory (gated when `t.max_memory_regression_pct` is set) and, for a regressed or
/// improved latency, the operators that changed, to a duet's verdict.
pub fn apply(v: &mut ModelVerdict, after: &PairReports, t: &Thresholds, assumed_noise_pct: f64) {
    let latency = v.verdict;
    v.latency_verdict = Some(latency);
    let peaks = |side: fn(&(Report, Report)) -> Option<f64>| {
        after
            .iter()
            .filter_map(side)
            .filter(|m| *m > 0.0)
            .collect::<Vec<f64>>()
    };
    let a_mb = peaks(|p| p.0.as_ref().ok()?.peak_rss_mb);
    let b_mb = peaks(|p| p.1.as_ref().ok()?.peak_rss_mb);
    match (a_mb.is_empty(), b_mb.is_empty()) {
        (false, false) => {
            let mem = memory::judge(
                &a_mb,
                median(&b_mb),
                t.max_memory_regression_pct,
                assumed_noise_pct,
            );
            v.verdict = memory::combine(latency, mem.verdict);
            if matches!(
                mem.verdict,
                Some(Verdict::Regressed | Verdict::Inconclusive)
            ) {
                v.reasons.extend(mem.reasons.iter().cloned());
            }
            v.memory = Some(mem);
        }
        _ => v.reasons.push(format!(
            "peak memory not compared: {}",
            first_error(after).unwrap_or("a worker reported no peak memory")
        )),
    }
    if !matches!(latency, Verdict::Regressed | Verdict::Improved) {
        return;
    }
    let Some((a, b)) = after.first() else {
        return;
    };
    let profiled = |r: &Report| match r {
        Ok(AfterRun {
            operators: Some(Ok(o)),
            ..
        }) => Ok(o.clone()),
        Ok(AfterRun {
            operators: Some(Err(e)),
            ..
        }) => Err(e.clone()),
        Ok(_) => Err("no profiled pass".to_string()),
        Err(e) => Err(e.clone()),
    };
    match (profiled(a), profiled(b)) {
        (Ok(base), Ok(cand)) => {
            v.operators = Some(Attribution {
                note: ATTRIBUTION_NOTE.to_string(),
                baseline_source: "variant A, profiled after the duet on the same inputs".into(),
                diff: crate::operators::diff(&base, &cand),
            });
        }
        (Err(e), _) | (_, Err(e)) => v.reasons.push(format!("no per-operator comparison: {e}")),
    }
}

fn first_error(after: &PairReports) -> Option<&str> {
    after.iter().find_map(|(a, b)| match (a, b) {
        (Err(e), _) | (_, Err(e)) => Some(e.as_str()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::DEFAULT_THRESHOLDS;
    use crate::operators::diff::tests::bd;

    fn report(mb: f64, ops: Option<&[(&str, f64)]>) -> Result<AfterRun, String> {
        Ok(AfterRun {
            peak_rss_mb: Some(mb),
            arena: vec![],
            operators: ops.map(|o| Ok(bd(o, &[], 0))),
        })
    }

    fn verdict(v: Verdict) -> ModelVerdict {
        let mut m = ModelVerdict::new("enc", "cpu", "x86_64", &DEFAULT_THRESHOLDS, "duet".into());
        m.verdict = v;
        m
    }

    fn gated(pct: f64) -> Thresholds {
        Thresholds {
            max_memory_regression_pct: Some(pct),
            ..DEFAULT_THRESHOLDS
        }
    }

    #[test]
    fn twenty_percent_more_memory_on_b_regresses_a_passing_duet() {
        let after = [
            (report(200.0, None), report(240.0, None)),
            (report(201.0, None), report(241.0, None)),
        ];
        let mut v = verdict(Verdict::Pass);
        apply(&mut v, &after, &gated(5.0), 1.0);
        let mem = v.memory.as_ref().unwrap();
        assert_eq!(mem.verdict, Some(Verdict::Regressed), "{mem:?}");
        assert_eq!((mem.baseline_mb, mem.candidate_mb), (Some(200.5), 240.5));
        assert_eq!(v.verdict, Verdict::Regressed);
        assert_eq!(v.latency_verdict, Some(Verdict::Pass));
        assert!(
            v.operators.is_none(),
            "a passing latency gets no attribution"
        );
    }

    #[test]
    fn equal_memory_passes_and_ungated_memory_is_only_shown() {
        let after = [(report(200.0, None), report(200.4, None))];
        let mut v = verdict(Verdict::Pass);
        apply(&mut v, &after, &gated(5.0), 1.0);
        assert_eq!(v.memory.as_ref().unwrap().verdict, Some(Verdict::Pass));
        assert_eq!(v.verdict, Verdict::Pass);
        let mut v = verdict(Verdict::Pass);
        apply(&mut v, &after, &DEFAULT_THRESHOLDS, 1.0);
        assert_eq!(v.memory.as_ref().unwrap().verdict, None);
        assert_eq!(v.verdict, Verdict::Pass);
    }

    #[test]
    fn a_regressed_duet_names_the_operator_that_got_slower_first() {
        let a = [("MatMul", 50.0), ("Softmax", 10.0), ("Add", 5.0)];
        let b = [("MatMul", 51.0), ("Softmax", 30.0), ("Add", 5.0)];
        let after = [(report(200.0, Some(&a)), report(200.0, Some(&b)))];
        let mut v = verdict(Verdict::Regressed);
        apply(&mut v, &after, &DEFAULT_THRESHOLDS, 1.0);
        let ops = v.operators.as_ref().expect("attribution");
        assert_eq!(ops.diff.by_op[0].name, "Softmax", "{ops:?}");
        assert!(ops.baseline_source.starts_with("variant A"));
    }

    #[test]
    fn a_worker_without_reports_is_said_not_fatal() {
        let after = [(
            Err("not a request of protocol 1".to_string()),
            report(200.0, None),
        )];
        let mut v = verdict(Verdict::Regressed);
        apply(&mut v, &after, &gated(5.0), 1.0);
        assert!(v.memory.is_none());
        assert_eq!(v.verdict, Verdict::Regressed);
        let said: Vec<&String> = v
            .reasons
            .iter()
            .filter(|r| r.contains("protocol 1"))
            .collect();
        assert_eq!(
            said.len(),
            2,
            "memory and operators each say why: {:?}",
            v.reasons
        );
    }
}
