//! What a verdict says as CI annotations (errors and warnings on the run's page); `publish`
//! formats them for the CI system.

use crate::compare::{Verdict, VerdictReport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub severity: Severity,
    pub title: &'static str,
    pub message: String,
}

/// The annotations of a verdict: regressions fail the check visibly, and anything the reviewer
/// should question is a warning on the run's summary page.
pub fn annotations(v: &VerdictReport) -> Vec<Annotation> {
    let mut out = Vec::new();
    for m in &v.models {
        let memory = m
            .memory
            .as_ref()
            .filter(|x| x.verdict == Some(Verdict::Regressed));
        let memory_only = memory.is_some() && m.latency_verdict != Some(Verdict::Regressed);
        let change = match (memory_only, memory.and_then(|x| x.change_pct)) {
            (true, Some(c)) => format!(": peak memory {c:+.1}%"),
            _ => m
                .change_pct
                .map_or_else(String::new, |c| format!(" by {c:+.1}%")),
        };
        match m.verdict {
            Verdict::Regressed => out.push(Annotation {
                severity: Severity::Error,
                title: "bench-gate regression",
                message: format!("{} regressed{change} on {}", m.model, m.cpu_model),
            }),
            Verdict::Inconclusive => out.push(Annotation {
                severity: Severity::Warning,
                title: "bench-gate inconclusive",
                message: format!("{} on {}: {}", m.model, m.cpu_model, m.reasons.join("; ")),
            }),
            _ => {}
        }
        for c in &m.contamination {
            out.push(Annotation {
                severity: Severity::Warning,
                title: "bench-gate contaminated run",
                message: format!("{}: {c}", m.model),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{DEFAULT_THRESHOLDS, MemoryVerdict, Mode, ModelVerdict};

    #[test]
    fn a_memory_only_regression_is_annotated_as_memory() {
        let mut m = ModelVerdict::new("vad", "Xeon", "x86_64", &DEFAULT_THRESHOLDS, String::new());
        m.verdict = Verdict::Regressed;
        m.latency_verdict = Some(Verdict::Pass);
        m.change_pct = Some(0.4);
        m.memory = Some(MemoryVerdict {
            verdict: Some(Verdict::Regressed),
            candidate_mb: 240.0,
            baseline_mb: Some(200.0),
            change_pct: Some(20.0),
            ci_pct: None,
            noise_pct: None,
            threshold_pct: Some(10.0),
            runs_used: 3,
            reasons: vec![],
            pairs: vec![],
            arena: None,
        });
        let v = VerdictReport::new(Mode::Compare, vec![m], false);
        let a = annotations(&v);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].severity, Severity::Error);
        assert_eq!(a[0].message, "vad regressed: peak memory +20.0% on Xeon");
    }
}
