//! The sane range of every number in `benchmark.toml`, in one place. A value outside its range
//! is a config error with the file, line and column (never a panic later, e.g. a time budget of
//! 1e30 s that no `Duration` can hold, or a tensor too large to allocate).
//!
//! The bounds are generous: they exist to catch typos and units mix-ups (seconds given in
//! milliseconds, a percentage given as a fraction), not to second-guess a real benchmark.

use std::num::NonZeroU16;

use serde::Deserialize;

/// Warm-up iterations per model: more than this is a typo (each runs the whole model).
pub const MAX_WARMUP: u32 = 10_000;
/// Counted iterations per model.
pub const MAX_ITERATIONS: u32 = 1_000_000;
/// Measuring time per model, seconds (one day).
pub const MAX_TIME_BUDGET_S: f64 = 86_400.0;
/// `onnx` model runs per counted iteration.
pub const MAX_STEPS: u32 = 100_000;
/// ONNX Runtime intra-/inter-op threads (more than any machine bench-gate runs on has cores).
pub const MAX_THREADS: u16 = 1024;
/// Whisper's decoder holds 448 positions: prompt plus generated tokens must fit.
pub const WHISPER_MAX_POSITIONS: usize = 448;
/// Largest token id accepted (Whisper's vocabulary has 51,865; others up to a few 100,000).
pub const MAX_TOKEN_ID: i64 = 1_000_000;
/// Largest size of one symbolic dimension.
pub const MAX_DIM: i64 = 1 << 31;
/// Elements of one synthesised input tensor (2^28: 1 GiB of f32).
pub const MAX_ELEMENTS: i64 = 1 << 28;
/// Allowed slowdown, percent.
pub const MAX_REGRESSION_PCT: f64 = 1_000.0;
/// Smallest difference worth reporting, milliseconds (ten minutes).
pub const MAX_MIN_ABS_MS: f64 = 600_000.0;
/// Assumed run-to-run noise, percent.
pub const MAX_RUN_NOISE_PCT: f64 = 100.0;

/// `intra_op_threads` / `inter_op_threads`: 1..=[`MAX_THREADS`]. ORT's 0 ("size the pool from
/// the host") is refused on purpose: it ignores cgroup limits, the thread trap by default.
pub fn threads<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NonZeroU16, D::Error> {
    let v = u64::deserialize(d)?;
    u16::try_from(v)
        .ok()
        .filter(|t| *t <= MAX_THREADS)
        .and_then(NonZeroU16::new)
        .ok_or_else(|| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Unsigned(v),
                &"a thread count between 1 and 1024",
            )
        })
}

/// `true` when `v` is finite and in `(low, high]` (`low_inclusive`: `[low, high]`).
pub fn in_range(v: f64, low: f64, low_inclusive: bool, high: f64) -> bool {
    v.is_finite() && (v > low || (low_inclusive && v == low)) && v <= high
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_include_their_ends_as_documented() {
        assert!(in_range(1.0, 0.0, false, 1.0));
        assert!(!in_range(0.0, 0.0, false, 1.0));
        assert!(in_range(0.0, 0.0, true, 1.0));
        assert!(!in_range(f64::NAN, 0.0, true, 1.0));
        assert!(!in_range(1e30, 0.0, true, MAX_TIME_BUDGET_S));
    }
}
