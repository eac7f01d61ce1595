//! Per-operator attribution: where one profiled pass spent its time, and which operators changed
//! between two passes. ONNX Runtime's profiler trace ([`trace`]) -> totals per operator type and
//! per node ([`breakdown`]) -> the comparison of two breakdowns ([`diff`]). Pure functions; the
//! profiled pass itself runs in `runner::profile`.

pub mod breakdown;
pub mod diff;
pub mod trace;

pub use breakdown::{OperatorBreakdown, aggregate};
pub use diff::{ATTRIBUTION_NOTE, Attribution, OperatorDiff, diff};

#[cfg(test)]
mod tests {
    use super::breakdown::GraphEvents;
    use super::*;

    /// A real trace: ONNX Runtime 1.32.0's run-level profiler on Silero VAD (one run of the
    /// profiled pass of `bench-gate run -c fixtures/configs/micro.toml --model silero-vad
    /// --keep-profiles DIR`). The expected figures were computed from the file by a separate
    /// script (fixtures/README.md): 57 kernels; their durations sum to 917 us because the
    /// subgraphs of the `If` nodes are traced inside them; self times sum to 458 us.
    const SILERO_TRACE: &str = include_str!("../../tests/data/ort_profile_silero_vad.json");

    #[test]
    fn a_real_ort_trace_aggregates_to_its_known_totals() {
        let t = trace::parse(SILERO_TRACE).unwrap();
        assert_eq!(t.kernels.len(), 57);
        assert_eq!(t.model_runs, 1);
        assert_eq!(t.model_run_us, 476.0);
        let b = aggregate(
            &[GraphEvents {
                graph: None,
                kernels: &t.kernels,
            }],
            t.model_runs,
            1.0,
        );
        assert!((b.total_ms - 0.458).abs() < 1e-9, "{}", b.total_ms);
        // Counted once, the kernels fit inside the run that contains them.
        assert!(b.total_ms * 1e3 <= t.model_run_us);
        let op = |name: &str| b.by_op.iter().find(|o| o.op_type == name).unwrap();
        assert_eq!(b.by_op[0].op_type, "If");
        assert!((op("If").total_ms - 0.197).abs() < 1e-9);
        assert_eq!(op("If").count, 7);
        assert!((op("FusedConv").total_ms - 0.046).abs() < 1e-9);
        assert_eq!(op("FusedConv").count, 5);
        assert!((op("LSTM").total_ms - 0.021).abs() < 1e-9);
        assert_eq!(b.nodes.len(), 57);
        let shares: f64 = b.by_op.iter().map(|o| o.share).sum();
        assert!((shares - 1.0).abs() < 1e-9);
    }
}
