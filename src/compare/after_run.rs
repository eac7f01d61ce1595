//! The duet's memory line and operator attribution, from what each worker reported once the
//! clock stopped ([`AfterRun`]). Memory: B against A within each worker pair, and ORT's arena
//! where it is deterministic ([`memory_pairs`]); a pair whose A or B gave no peak is left out.
//! Operators: the first pair's profiled passes, diffed when latency regressed or improved.

use super::{ModelVerdict, Verdict};
use super::{memory, memory_pairs};
use crate::config::Thresholds;
use crate::operators::{ATTRIBUTION_NOTE, Attribution};
use crate::runner::profile::AfterRun;

/// One worker's report, or why it gave none.
pub type Report = Result<AfterRun, String>;
/// Per worker pair, (A, B).
pub type PairReports = [(Report, Report)];

/// Adds memory (gated when `t.max_memory_regression_pct` is set) and, for a regressed or
/// improved latency, the operators that changed, to a duet's verdict.
pub fn apply(v: &mut ModelVerdict, after: &PairReports, t: &Thresholds) {
    let latency = v.verdict;
    v.latency_verdict = Some(latency);
    let both = |of: fn(&AfterRun) -> Option<f64>| {
        after
            .iter()
            .filter_map(|(a, b)| {
                let x = of(a.as_ref().ok()?)?;
                let y = of(b.as_ref().ok()?)?;
                (x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite()).then_some((x, y))
            })
            .collect::<Vec<(f64, f64)>>()
    };
    let rss = both(|r| r.peak_rss_mb);
    // Every worker of every pair must report its arena, or it is not compared.
    let arena = both(arena_peak_mb);
    let arena = if arena.len() == after.len() {
        arena
    } else {
        Vec::new()
    };
    if rss.is_empty() {
        v.reasons.push(format!(
            "peak memory not compared: {}",
            first_error(after).unwrap_or("a worker reported no peak memory")
        ));
    } else {
        let mem = memory_pairs::duet_memory(&rss, &arena, t.max_memory_regression_pct);
        v.verdict = memory::combine(latency, mem.verdict);
        if matches!(
            mem.verdict,
            Some(Verdict::Regressed | Verdict::Inconclusive)
        ) {
            v.reasons.extend(mem.reasons.iter().cloned());
        }
        v.memory = Some(mem);
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

/// ORT's arena peak in use over a worker's graphs, MiB (`None`: no arena reported).
fn arena_peak_mb(r: &AfterRun) -> Option<f64> {
    (!r.arena.is_empty()).then(|| r.arena.iter().map(|g| g.peak_in_use_mb).sum())
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
        apply(&mut v, &after, &gated(5.0));
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
        apply(&mut v, &after, &gated(5.0));
        assert_eq!(v.memory.as_ref().unwrap().verdict, Some(Verdict::Pass));
        assert_eq!(v.verdict, Verdict::Pass);
        let mut v = verdict(Verdict::Pass);
        apply(&mut v, &after, &DEFAULT_THRESHOLDS);
        assert_eq!(v.memory.as_ref().unwrap().verdict, None);
        assert_eq!(v.verdict, Verdict::Pass);
    }

    fn with_arena(mb: f64, arena_mb: f64) -> Result<AfterRun, String> {
        Ok(AfterRun {
            peak_rss_mb: Some(mb),
            arena: vec![crate::workload::ArenaStats {
                graph: "encoder".into(),
                reserved_mb: arena_mb * 2.0,
                peak_in_use_mb: arena_mb,
                in_use_mb: 0.0,
                allocations: 10,
                extensions: 1,
            }],
            operators: None,
        })
    }

    #[test]
    fn the_issues_duet_regresses_on_its_pairs_and_shows_its_deterministic_arena() {
        let after = [
            (with_arena(273.0, 163.79), with_arena(290.0, 170.0)),
            (with_arena(273.3, 163.79), with_arena(290.2, 170.0)),
        ];
        let mut v = verdict(Verdict::Pass);
        apply(&mut v, &after, &gated(5.0));
        let mem = v.memory.as_ref().unwrap();
        assert_eq!(mem.verdict, Some(Verdict::Regressed), "{mem:?}");
        assert_eq!(v.verdict, Verdict::Regressed);
        assert_eq!(mem.pairs.len(), 2);
        let arena = mem.arena.as_ref().expect("every worker reported an arena");
        assert!(arena.deterministic, "{arena:?}");
        assert_eq!(arena.verdict, Some(Verdict::Pass), "+3.8% is within 5%");
        assert!(
            v.reasons.iter().any(|r| r.contains("every pair beyond")),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn a_pair_with_one_silent_side_is_left_out_of_the_memory_line() {
        let after = [
            (report(273.0, None), report(273.5, None)),
            (
                Err("not asked: variant B stopped answering".into()),
                report(400.0, None),
            ),
        ];
        let mut v = verdict(Verdict::Pass);
        apply(&mut v, &after, &gated(5.0));
        let mem = v.memory.as_ref().unwrap();
        assert_eq!(mem.runs_used, 1, "{mem:?}");
        assert_eq!(mem.verdict, Some(Verdict::Pass), "{mem:?}");
        assert!(mem.arena.is_none(), "no worker reported an arena");
    }

    #[test]
    fn a_regressed_duet_names_the_operator_that_got_slower_first() {
        let a = [("MatMul", 50.0), ("Softmax", 10.0), ("Add", 5.0)];
        let b = [("MatMul", 51.0), ("Softmax", 30.0), ("Add", 5.0)];
        let after = [(report(200.0, Some(&a)), report(200.0, Some(&b)))];
        let mut v = verdict(Verdict::Regressed);
        apply(&mut v, &after, &DEFAULT_THRESHOLDS);
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
        apply(&mut v, &after, &gated(5.0));
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
