//! May these two runs be compared at all, and what differs between them?
//!
//! Two kinds of difference. Some make the comparison meaningless (another CPU, another fixture,
//! another thread count or CPU limit): the gate refuses, naming the difference, because any
//! verdict would be about the setup, not the change. Others are what a pull request is there to
//! test (model files, ONNX Runtime, session options, bench-gate, the image or host): they are
//! listed as "what changed" next to the verdict.

use serde::{Deserialize, Serialize};

use crate::baseline::BaselineRun;
use crate::config::{SessionOptions, WorkloadKind};
use crate::result::Fingerprint;

/// The facts of one run that comparability and "what changed" look at.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFacts<'a> {
    pub cpu_model: &'a str,
    pub architecture: &'a str,
    pub kind: WorkloadKind,
    pub fingerprint: &'a Fingerprint,
    pub session: &'a SessionOptions,
    pub pinned_cpus: usize,
    pub cpu_limit: Option<f64>,
    pub ort_version: &'a str,
    pub bench_gate_version: &'a str,
    pub host: &'a str,
    /// Decoder steps per iteration (`whisper`): how long the transcript was, so how much work
    /// one iteration did. Unknown (`None`) in a duet's hello and in older baselines.
    pub decoder_steps: Option<u32>,
}

impl<'a> RunFacts<'a> {
    /// A stored baseline run (its file supplies the CPU model and architecture).
    pub fn of_baseline(run: &'a BaselineRun, cpu_model: &'a str, architecture: &'a str) -> Self {
        RunFacts {
            cpu_model,
            architecture,
            kind: run.kind,
            fingerprint: &run.fingerprint,
            session: &run.session,
            pinned_cpus: run.pinned_cpus.len(),
            cpu_limit: run.cpu_limit,
            ort_version: &run.ort_version,
            bench_gate_version: &run.bench_gate_version,
            host: &run.host,
            decoder_steps: run.tokens_per_iteration,
        }
    }
}

/// One difference that the verdict reports (not a reason to refuse).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub what: String,
    pub baseline: String,
    pub candidate: String,
}

/// Differences that make `a` and `b` incomparable, as sentences; empty when comparable.
pub fn incomparable(a: &RunFacts, b: &RunFacts) -> Vec<String> {
    let mut out = Vec::new();
    let mut diff = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{what}: baseline {x}, candidate {y}"));
        }
    };
    diff("CPU model", a.cpu_model.into(), b.cpu_model.into());
    diff("architecture", a.architecture.into(), b.architecture.into());
    diff(
        "workload kind",
        format!("{:?}", a.kind),
        format!("{:?}", b.kind),
    );
    diff(
        "fixture (sha256)",
        short(a.fingerprint.fixture.as_deref()),
        short(b.fingerprint.fixture.as_deref()),
    );
    diff(
        "intra_op_threads",
        a.session.intra_op_threads.to_string(),
        b.session.intra_op_threads.to_string(),
    );
    diff(
        "inter_op_threads",
        a.session.inter_op_threads.to_string(),
        b.session.inter_op_threads.to_string(),
    );
    diff(
        "pinned CPUs",
        a.pinned_cpus.to_string(),
        b.pinned_cpus.to_string(),
    );
    diff("CPU limit", limit(a.cpu_limit), limit(b.cpu_limit));
    out
}

/// Differences a pull request may legitimately make, for the verdict's "what changed".
pub fn what_changed(a: &RunFacts, b: &RunFacts) -> Vec<Change> {
    let mut out = Vec::new();
    let mut push = |what: &str, x: String, y: String| {
        if x != y {
            out.push(Change {
                what: what.into(),
                baseline: x,
                candidate: y,
            });
        }
    };
    let (ma, mb) = (&a.fingerprint.models, &b.fingerprint.models);
    if ma.len() == 1 && mb.len() == 1 && ma.keys().ne(mb.keys()) {
        // One file each under different names (an A/B of two exports): compare them as one.
        let one = |m: &std::collections::BTreeMap<String, String>| {
            m.iter()
                .map(|(n, h)| format!("{n} {}", short(Some(h))))
                .collect::<String>()
        };
        push("model file", one(ma), one(mb));
    } else {
        let files: std::collections::BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
        for f in files {
            push(
                &format!("model file {f}"),
                short(ma.get(f).map(String::as_str)),
                short(mb.get(f).map(String::as_str)),
            );
        }
    }
    push("ONNX Runtime", a.ort_version.into(), b.ort_version.into());
    let (sa, sb) = (other_session(a.session), other_session(b.session));
    push("session options", sa, sb);
    push(
        "bench-gate",
        a.bench_gate_version.into(),
        b.bench_gate_version.into(),
    );
    push(
        "effective config (sha256)",
        short(Some(&a.fingerprint.config)),
        short(Some(&b.fingerprint.config)),
    );
    push("host", a.host.into(), b.host.into());
    if let (Some(x), Some(y)) = (a.decoder_steps, b.decoder_steps) {
        push(
            "decoder steps per iteration (the transcript's length: a changed workload)",
            x.to_string(),
            y.to_string(),
        );
    }
    out
}

/// Session options other than the thread counts (those are a comparability condition).
fn other_session(s: &SessionOptions) -> String {
    format!(
        "graph_optimization_level={} intra_op_spinning={} inter_op_spinning={} parallel_execution={}",
        s.graph_optimization_level.0,
        s.intra_op_spinning,
        s.inter_op_spinning,
        s.parallel_execution
    )
}

fn short(h: Option<&str>) -> String {
    match h {
        Some(h) => h.chars().take(12).collect(),
        None => "none".into(),
    }
}

fn limit(l: Option<f64>) -> String {
    l.map_or_else(|| "unlimited".into(), |v| format!("{v:.2} CPUs"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU16;

    fn fp(model: &str, fixture: &str) -> Fingerprint {
        Fingerprint {
            models: [("m.onnx".to_string(), model.to_string())].into(),
            fixture: Some(fixture.into()),
            config: "cfg".into(),
        }
    }

    fn facts<'a>(fp: &'a Fingerprint, s: &'a SessionOptions) -> RunFacts<'a> {
        RunFacts {
            cpu_model: "Xeon",
            architecture: "x86_64",
            kind: WorkloadKind::Onnx,
            fingerprint: fp,
            session: s,
            pinned_cpus: 1,
            cpu_limit: None,
            ort_version: "1.32.0",
            bench_gate_version: "0.1.0",
            host: "h",
            decoder_steps: None,
        }
    }

    #[test]
    fn identical_runs_are_comparable_with_nothing_changed() {
        let (f, s) = (fp("aaa", "fff"), SessionOptions::default());
        assert!(incomparable(&facts(&f, &s), &facts(&f, &s)).is_empty());
        assert!(what_changed(&facts(&f, &s), &facts(&f, &s)).is_empty());
    }

    #[test]
    fn setup_differences_are_refused_by_name() {
        let (f, s) = (fp("aaa", "fff"), SessionOptions::default());
        let f2 = fp("aaa", "ggg");
        let s2 = SessionOptions {
            intra_op_threads: NonZeroU16::new(4).unwrap(),
            ..SessionOptions::default()
        };
        let mut b = facts(&f2, &s2);
        b.cpu_model = "EPYC";
        b.cpu_limit = Some(1.0);
        let r = incomparable(&facts(&f, &s), &b);
        let all = r.join("\n");
        for needle in ["CPU model", "fixture", "intra_op_threads", "CPU limit"] {
            assert!(all.contains(needle), "{needle} missing in {all}");
        }
        assert_eq!(r.len(), 4);
    }

    #[test]
    fn what_a_pr_changes_is_listed_not_refused() {
        let (f, s) = (fp("aaa", "fff"), SessionOptions::default());
        let f2 = fp("bbb", "fff");
        let s2 = SessionOptions {
            intra_op_spinning: true,
            ..SessionOptions::default()
        };
        let mut b = facts(&f2, &s2);
        b.ort_version = "1.33.0";
        assert!(incomparable(&facts(&f, &s), &b).is_empty());
        let w: Vec<String> = what_changed(&facts(&f, &s), &b)
            .into_iter()
            .map(|c| c.what)
            .collect();
        assert_eq!(w, ["model file m.onnx", "ONNX Runtime", "session options"]);
    }

    #[test]
    fn a_transcript_of_another_length_is_reported_as_a_changed_workload() {
        let (f, s) = (fp("a", "x"), SessionOptions::default());
        let mut a = facts(&f, &s);
        let mut b = facts(&f, &s);
        assert!(what_changed(&a, &b).is_empty());
        (a.decoder_steps, b.decoder_steps) = (Some(41), Some(57));
        let c = what_changed(&a, &b);
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(
            c[0].what.starts_with("decoder steps per iteration"),
            "{c:?}"
        );
        assert_eq!(
            (c[0].baseline.as_str(), c[0].candidate.as_str()),
            ("41", "57")
        );
        // Unknown on one side (a duet, an older baseline): nothing is claimed.
        b.decoder_steps = None;
        assert!(what_changed(&a, &b).is_empty());
    }
}
