//! Two breakdowns side by side: which operator types and nodes changed most, in milliseconds
//! and in share of the pass. Pure; used by `compare` (run against the baseline's latest
//! breakdown) and meant for `ab` (variant B against variant A, same inputs).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::breakdown::OperatorBreakdown;

/// Said wherever operator timings are shown.
pub const ATTRIBUTION_NOTE: &str = "Per-operator times come from one extra pass with ONNX Runtime's profiler after the timed iterations: they say where the time went, not whether the change is real (the profiler slows the pass down, and one pass is one sample). The verdict comes from the timed iterations only.";

/// On which side an operator or node appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Both,
    /// Only in the candidate (variant B): a new layer, a different fusion.
    New,
    /// Only in the baseline (variant A): removed or fused away.
    Gone,
    /// A node missing on one side whose list was cut at the slowest nodes: it may be there,
    /// below the cut-off.
    BelowCutoff,
}

/// One operator type's or node's change, milliseconds per profiled pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpChange {
    /// Operator type (`by_op`) or graph-qualified node name (`nodes`).
    pub name: String,
    /// The node's operator type (`nodes` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_type: Option<String>,
    pub presence: Presence,
    pub baseline_ms: Option<f64>,
    pub candidate_ms: Option<f64>,
    /// `candidate - baseline`, a missing side counting as 0.
    pub change_ms: f64,
    /// Relative change, percent; `None` unless on both sides.
    pub change_pct: Option<f64>,
    pub baseline_share: Option<f64>,
    pub candidate_share: Option<f64>,
    #[serde(default)]
    pub baseline_count: u32,
    #[serde(default)]
    pub candidate_count: u32,
}

/// The whole comparison, every operator type and node, largest absolute change first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorDiff {
    /// Kernel time of each profiled pass, milliseconds.
    pub baseline_total_ms: f64,
    pub candidate_total_ms: f64,
    pub by_op: Vec<OpChange>,
    pub nodes: Vec<OpChange>,
}

/// What the verdict carries: the note, where the baseline breakdown came from, the diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// [`ATTRIBUTION_NOTE`].
    pub note: String,
    /// The baseline's breakdown: when and at which commit it was profiled (`ab`: "variant A").
    pub baseline_source: String,
    #[serde(flatten)]
    pub diff: OperatorDiff,
}

struct Side {
    ms: f64,
    share: f64,
    count: u32,
    op_type: Option<String>,
}

/// Compares two breakdowns.
pub fn diff(baseline: &OperatorBreakdown, candidate: &OperatorBreakdown) -> OperatorDiff {
    let ops = |b: &OperatorBreakdown| -> BTreeMap<String, Side> {
        b.by_op
            .iter()
            .map(|o| {
                (
                    o.op_type.clone(),
                    Side {
                        ms: o.total_ms,
                        share: o.share,
                        count: o.count,
                        op_type: None,
                    },
                )
            })
            .collect()
    };
    let nodes = |b: &OperatorBreakdown| -> BTreeMap<String, Side> {
        b.nodes
            .iter()
            .map(|n| {
                (
                    n.node.clone(),
                    Side {
                        ms: n.total_ms,
                        share: n.share,
                        count: n.count,
                        op_type: Some(n.op_type.clone()),
                    },
                )
            })
            .collect()
    };
    let cut = (
        baseline.nodes_omitted.count > 0,
        candidate.nodes_omitted.count > 0,
    );
    OperatorDiff {
        baseline_total_ms: baseline.total_ms,
        candidate_total_ms: candidate.total_ms,
        by_op: join(ops(baseline), ops(candidate), (false, false)),
        nodes: join(nodes(baseline), nodes(candidate), cut),
    }
}

fn join(
    mut a: BTreeMap<String, Side>,
    mut b: BTreeMap<String, Side>,
    (a_cut, b_cut): (bool, bool),
) -> Vec<OpChange> {
    let names: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    let mut out: Vec<OpChange> = Vec::with_capacity(names.len());
    for name in names {
        let (x, y) = (a.remove(&name), b.remove(&name));
        if x.is_none() && y.is_none() {
            continue; // already joined
        }
        let presence = match (&x, &y) {
            (Some(_), Some(_)) => Presence::Both,
            (None, Some(_)) if a_cut => Presence::BelowCutoff,
            (Some(_), None) if b_cut => Presence::BelowCutoff,
            (None, _) => Presence::New,
            (_, None) => Presence::Gone,
        };
        let ms = |s: &Option<Side>| s.as_ref().map(|s| s.ms);
        let change_ms = ms(&y).unwrap_or(0.0) - ms(&x).unwrap_or(0.0);
        let change_pct = match (ms(&x), ms(&y)) {
            (Some(p), Some(q)) if p > 0.0 => Some((q / p - 1.0) * 100.0),
            _ => None,
        };
        let op_type = x
            .as_ref()
            .and_then(|s| s.op_type.clone())
            .or_else(|| y.as_ref().and_then(|s| s.op_type.clone()));
        out.push(OpChange {
            name,
            op_type,
            presence,
            baseline_ms: ms(&x),
            candidate_ms: ms(&y),
            change_ms,
            change_pct,
            baseline_share: x.as_ref().map(|s| s.share),
            candidate_share: y.as_ref().map(|s| s.share),
            baseline_count: x.as_ref().map_or(0, |s| s.count),
            candidate_count: y.as_ref().map_or(0, |s| s.count),
        });
    }
    out.sort_by(|p, q| {
        q.change_ms
            .abs()
            .total_cmp(&p.change_ms.abs())
            .then_with(|| p.name.cmp(&q.name))
    });
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::operators::breakdown::{NodeTotal, Omitted, OpTotal};

    pub(crate) fn bd(
        ops: &[(&str, f64)],
        nodes: &[(&str, &str, f64)],
        omitted: u32,
    ) -> OperatorBreakdown {
        let total: f64 = ops.iter().map(|o| o.1).sum();
        OperatorBreakdown {
            runs: 1,
            total_ms: total,
            wall_ms: total,
            by_op: ops
                .iter()
                .map(|(o, ms)| OpTotal {
                    op_type: (*o).into(),
                    total_ms: *ms,
                    share: ms / total,
                    count: 1,
                })
                .collect(),
            nodes: nodes
                .iter()
                .map(|(n, o, ms)| NodeTotal {
                    node: (*n).into(),
                    op_type: (*o).into(),
                    total_ms: *ms,
                    share: ms / total,
                    count: 1,
                })
                .collect(),
            nodes_omitted: Omitted {
                count: omitted,
                total_ms: 0.0,
            },
        }
    }

    #[test]
    fn largest_absolute_change_comes_first_and_one_sided_operators_say_so() {
        let a = bd(
            &[("MatMul", 10.0), ("Add", 1.0), ("Gelu", 2.0)],
            &[("mm", "MatMul", 10.0), ("g", "Gelu", 2.0)],
            0,
        );
        let b = bd(
            &[("MatMul", 11.0), ("Add", 1.0), ("Softmax", 4.0)],
            &[("mm", "MatMul", 11.0), ("sm", "Softmax", 4.0)],
            0,
        );
        let d = diff(&a, &b);
        let order: Vec<(&str, Presence)> = d
            .by_op
            .iter()
            .map(|c| (c.name.as_str(), c.presence))
            .collect();
        assert_eq!(
            order,
            vec![
                ("Softmax", Presence::New),
                ("Gelu", Presence::Gone),
                ("MatMul", Presence::Both),
                ("Add", Presence::Both),
            ]
        );
        assert_eq!(d.by_op[0].change_ms, 4.0);
        assert_eq!(d.by_op[0].change_pct, None);
        assert_eq!(d.by_op[1].change_ms, -2.0);
        assert!((d.by_op[2].change_pct.unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(d.nodes[0].op_type.as_deref(), Some("Softmax"));
        assert_eq!((d.baseline_total_ms, d.candidate_total_ms), (13.0, 16.0));
    }

    #[test]
    fn a_node_missing_beside_a_cut_list_is_below_the_cutoff_not_new() {
        let a = bd(&[("Add", 1.0)], &[("x", "Add", 1.0)], 7);
        let b = bd(&[("Add", 1.0)], &[("x", "Add", 0.5), ("y", "Add", 0.5)], 0);
        let d = diff(&a, &b);
        let y = d.nodes.iter().find(|c| c.name == "y").unwrap();
        assert_eq!(y.presence, Presence::BelowCutoff);
    }
}
