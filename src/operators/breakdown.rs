//! Aggregation of one profiled pass: per operator type and per node, total milliseconds, share
//! of all kernel time and how many times it ran. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::trace::KernelEvent;

/// Nodes kept per breakdown, slowest first; the rest are summed in `nodes_omitted`. A whisper
/// pass has ~100-400 nodes per graph: the slowest 200 hold nearly all the time, and the result
/// and baseline files stay small.
pub const MAX_NODES: usize = 200;

/// Where one profiled pass spent its kernel time.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OperatorBreakdown {
    /// Model runs the pass made (whisper: the encoder once, the decoder once, the cached decoder
    /// once per further token; onnx: `steps`).
    pub runs: u32,
    /// Sum of every kernel's time, milliseconds.
    pub total_ms: f64,
    /// Wall time of the profiled pass, milliseconds: with the profiler on, so above the median of
    /// the timed iterations (the difference is the profiler's cost plus the time between kernels).
    pub wall_ms: f64,
    /// Per operator type (as ORT ran it, after fusion), slowest first.
    pub by_op: Vec<OpTotal>,
    /// Per node, slowest first, at most [`MAX_NODES`].
    pub nodes: Vec<NodeTotal>,
    /// Nodes beyond [`MAX_NODES`], summed.
    #[serde(default)]
    pub nodes_omitted: Omitted,
}

/// One operator type's total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OpTotal {
    pub op_type: String,
    /// Milliseconds over the pass.
    pub total_ms: f64,
    /// Fraction of all kernel time, 0..1.
    pub share: f64,
    /// Kernel executions.
    pub count: u32,
}

/// One node's total. The node name is qualified by its graph (`encoder_model:/blocks.0/MatMul`)
/// when the workload runs several graphs, so names from different files never merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NodeTotal {
    pub node: String,
    pub op_type: String,
    pub total_ms: f64,
    pub share: f64,
    pub count: u32,
}

/// What was left out of a list.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Omitted {
    pub count: u32,
    pub total_ms: f64,
}

/// Kernel events of one graph, labelled for node names (`None`: a single-graph workload).
#[derive(Debug, Clone, Copy)]
pub struct GraphEvents<'a> {
    pub graph: Option<&'a str>,
    pub kernels: &'a [KernelEvent],
}

/// Aggregates the kernels of one pass. `runs` and `wall_ms` are the caller's to know.
pub fn aggregate(graphs: &[GraphEvents], runs: u32, wall_ms: f64) -> OperatorBreakdown {
    let mut ops: BTreeMap<&str, (f64, u32)> = BTreeMap::new();
    let mut nodes: BTreeMap<(String, &str), (f64, u32)> = BTreeMap::new();
    let mut total_us = 0.0;
    for g in graphs {
        for k in g.kernels {
            total_us += k.dur_us;
            let o = ops.entry(&k.op_type).or_default();
            o.0 += k.dur_us;
            o.1 += 1;
            let name = match g.graph {
                Some(graph) => format!("{graph}:{}", k.node),
                None => k.node.clone(),
            };
            let n = nodes.entry((name, &k.op_type)).or_default();
            n.0 += k.dur_us;
            n.1 += 1;
        }
    }
    let share = |us: f64| if total_us > 0.0 { us / total_us } else { 0.0 };
    let mut by_op: Vec<OpTotal> = ops
        .into_iter()
        .map(|(op, (us, count))| OpTotal {
            op_type: op.to_string(),
            total_ms: us / 1e3,
            share: share(us),
            count,
        })
        .collect();
    by_op.sort_by(|a, b| {
        b.total_ms
            .total_cmp(&a.total_ms)
            .then_with(|| a.op_type.cmp(&b.op_type))
    });
    let mut all_nodes: Vec<NodeTotal> = nodes
        .into_iter()
        .map(|((node, op), (us, count))| NodeTotal {
            node,
            op_type: op.to_string(),
            total_ms: us / 1e3,
            share: share(us),
            count,
        })
        .collect();
    all_nodes.sort_by(|a, b| {
        b.total_ms
            .total_cmp(&a.total_ms)
            .then_with(|| a.node.cmp(&b.node))
    });
    let rest = all_nodes.split_off(all_nodes.len().min(MAX_NODES));
    OperatorBreakdown {
        runs,
        total_ms: total_us / 1e3,
        wall_ms,
        by_op,
        nodes: all_nodes,
        nodes_omitted: Omitted {
            count: rest.len() as u32,
            total_ms: rest.iter().map(|n| n.total_ms).sum(),
        },
    }
}

impl OperatorBreakdown {
    /// What is wrong with a breakdown read from a file, if anything.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let bad = |v: f64| !(v.is_finite() && v >= 0.0);
        if bad(self.total_ms) || bad(self.wall_ms) {
            out.push(format!(
                "total_ms = {}, wall_ms = {} are not durations",
                self.total_ms, self.wall_ms
            ));
        }
        let mut check = |list: &str, rows: Vec<(&str, f64, f64)>| {
            for (i, (name, ms, share)) in rows.into_iter().enumerate() {
                if bad(ms) || bad(share) {
                    out.push(format!(
                        "{list}[{i}] ({name}): total_ms or share is not a number >= 0"
                    ));
                }
            }
        };
        let ops = self
            .by_op
            .iter()
            .map(|o| (o.op_type.as_str(), o.total_ms, o.share));
        check("by_op", ops.collect());
        let nodes = self
            .nodes
            .iter()
            .map(|n| (n.node.as_str(), n.total_ms, n.share));
        check("nodes", nodes.collect());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(node: &str, op: &str, us: f64) -> KernelEvent {
        KernelEvent {
            node: node.into(),
            op_type: op.into(),
            provider: None,
            dur_us: us,
        }
    }

    #[test]
    fn totals_shares_and_counts_add_up_per_type_and_per_node() {
        let enc = [
            k("mm1", "MatMul", 600.0),
            k("mm2", "MatMul", 200.0),
            k("add", "Add", 100.0),
        ];
        let dec = [k("mm1", "MatMul", 50.0), k("mm1", "MatMul", 50.0)];
        let b = aggregate(
            &[
                GraphEvents {
                    graph: Some("encoder"),
                    kernels: &enc,
                },
                GraphEvents {
                    graph: Some("decoder"),
                    kernels: &dec,
                },
            ],
            3,
            1.5,
        );
        assert_eq!(b.runs, 3);
        assert!((b.total_ms - 1.0).abs() < 1e-12);
        assert_eq!(b.by_op[0].op_type, "MatMul");
        assert!((b.by_op[0].total_ms - 0.9).abs() < 1e-12);
        assert_eq!(b.by_op[0].count, 4);
        assert!((b.by_op[0].share - 0.9).abs() < 1e-12);
        assert_eq!((b.by_op[1].op_type.as_str(), b.by_op[1].count), ("Add", 1));
        // Same node name in two graphs: two nodes; equal times in name order.
        let names: Vec<&str> = b.nodes.iter().map(|n| n.node.as_str()).collect();
        assert_eq!(
            names,
            vec!["encoder:mm1", "encoder:mm2", "decoder:mm1", "encoder:add"]
        );
        assert_eq!(b.nodes[2].count, 2);
        assert_eq!(b.nodes_omitted, Omitted::default());
    }

    #[test]
    fn nodes_beyond_the_cap_are_summed_not_dropped() {
        let many: Vec<KernelEvent> = (0..MAX_NODES + 5)
            .map(|i| k(&format!("n{i}"), "Relu", 1.0 + i as f64))
            .collect();
        let b = aggregate(
            &[GraphEvents {
                graph: None,
                kernels: &many,
            }],
            1,
            1.0,
        );
        assert_eq!(b.nodes.len(), MAX_NODES);
        assert_eq!(b.nodes_omitted.count, 5);
        // The five smallest: 1..=5 us.
        assert!((b.nodes_omitted.total_ms - 0.015).abs() < 1e-12);
        let kept: f64 = b.nodes.iter().map(|n| n.total_ms).sum();
        assert!((kept + b.nodes_omitted.total_ms - b.total_ms).abs() < 1e-9);
    }

    #[test]
    fn a_hand_edited_breakdown_names_what_is_wrong() {
        let mut b = aggregate(
            &[GraphEvents {
                graph: None,
                kernels: &[k("a", "Add", 5.0), k("m", "MatMul", 9.0)],
            }],
            1,
            1.0,
        );
        assert!(b.problems().is_empty());
        b.by_op[1].total_ms = -1.0;
        b.nodes[0].share = f64::NAN;
        assert_eq!(
            b.problems(),
            vec![
                "by_op[1] (Add): total_ms or share is not a number >= 0",
                "nodes[0] (m): total_ms or share is not a number >= 0",
            ]
        );
    }

    #[test]
    fn an_empty_pass_has_zero_shares_not_nan() {
        let b = aggregate(&[], 0, 0.0);
        assert_eq!(b.total_ms, 0.0);
        assert!(b.by_op.is_empty() && b.problems().is_empty());
    }
}
