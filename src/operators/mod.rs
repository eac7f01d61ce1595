//! Per-operator attribution: where one profiled pass spent its time, and which operators changed
//! between two passes. ONNX Runtime's profiler trace ([`trace`]) -> totals per operator type and
//! per node ([`breakdown`]) -> the comparison of two breakdowns ([`diff`]). Pure functions; the
//! profiled pass itself runs in `runner::profile`.

pub mod breakdown;
pub mod diff;
pub mod trace;

pub use breakdown::{OperatorBreakdown, aggregate};
pub use diff::{ATTRIBUTION_NOTE, Attribution, OperatorDiff, diff};
