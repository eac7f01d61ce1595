//! Output drift: both sides of a duet run the same inputs, so what they produce can be compared.
//! An ORT upgrade or a quantised model that changes the numerics is then visible in the same
//! pull request that changed the speed. Numbers in, finding out; no I/O.
//!
//! Every output is compared, whatever its element type, and the finding says how: floats
//! (`f32`, `f16`, `bf16`, `f64`) as numpy's `isclose(b, a)` with A as the reference, so
//! `|b - a| <= atol + rtol * |a|` for finite pairs, equal infinities close, an infinity against
//! anything else not, and NaN against anything a change (against NaN too, unless
//! `equal_nan`); integers, booleans and strings exactly. An output this build cannot read is
//! listed as not compared, never dropped.

use serde::{Deserialize, Serialize};

use crate::workload::{OutputTensor, Outputs, Values};

/// How far two float outputs may differ and still be the same: element-wise
/// `|b - a| <= atol + rtol * |a|` (numpy's `isclose` with A as the reference), and decoded
/// tokens identical.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub atol: f64,
    pub rtol: f64,
    /// NaN on both sides counts as the same output (`[gate] output_equal_nan`; numpy's
    /// `equal_nan`). Off by default: a NaN is a change even when both sides produce it.
    #[serde(default)]
    pub equal_nan: bool,
}

impl Tolerance {
    /// How floats are compared, for people: `isclose atol=1e-4 rtol=1e-3`.
    pub fn method(&self) -> String {
        format!(
            "isclose atol={:e} rtol={:e}{}",
            self.atol,
            self.rtol,
            if self.equal_nan { " equal_nan" } else { "" }
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftStatus {
    /// Bit for bit the same.
    Identical,
    WithinTolerance,
    Changed,
    /// The workers produced nothing to compare.
    Unknown,
}

/// One output tensor compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorDrift {
    pub name: String,
    /// Element type (`f32`, `i64`, ...), or `A -> B` when the two sides differ. `None` in
    /// verdicts written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<String>,
    /// How it was compared: `isclose atol=.. rtol=..` (floats), `exact` (integers, booleans,
    /// strings), or `not compared: <why>`. `None` in verdicts written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared: Option<String>,
    /// Largest `|a - b|` over elements finite on both sides (always a finite number);
    /// `None` when the shapes differ, one side lacks the tensor, or it holds strings.
    pub max_abs_diff: Option<f64>,
    /// Largest `|a - b| / |a|` over those elements where `a != 0`.
    pub max_rel_diff: Option<f64>,
    pub within_tolerance: bool,
    /// Elements compared (the tensor's size), when compared element by element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements: Option<u64>,
    /// Elements that differ beyond the tolerance (compared exactly: that differ at all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mismatched: Option<u64>,
    /// Of those, the ones where a side is NaN.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub nan_mismatched: u64,
    /// Of those, the ones where a side is infinite (and neither is NaN).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inf_mismatched: u64,
    /// Why it could not be compared element by element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The `compared` text of an output that was not compared.
const NOT_COMPARED: &str = "not compared";

impl TensorDrift {
    fn new(name: &str) -> TensorDrift {
        TensorDrift {
            name: name.to_string(),
            dtype: None,
            compared: None,
            max_abs_diff: None,
            max_rel_diff: None,
            within_tolerance: false,
            elements: None,
            mismatched: None,
            nan_mismatched: 0,
            inf_mismatched: 0,
            note: None,
        }
    }

    /// Whether the values were looked at (false: not compared, a gap, not a change).
    pub fn was_compared(&self) -> bool {
        !self
            .compared
            .as_deref()
            .is_some_and(|c| c.starts_with(NOT_COMPARED))
    }

    /// What was found, for people: `8 of 8 elements differ (8 NaN), max abs diff 1.000e-1`.
    pub fn finding(&self) -> String {
        if let Some(n) = &self.note {
            return n.clone();
        }
        let mut parts = Vec::new();
        if let (Some(m), Some(n)) = (self.mismatched, self.elements)
            && m > 0
        {
            let mut special = Vec::new();
            if self.nan_mismatched > 0 {
                special.push(format!("{} NaN", self.nan_mismatched));
            }
            if self.inf_mismatched > 0 {
                special.push(format!("{} infinite", self.inf_mismatched));
            }
            let special = if special.is_empty() {
                String::new()
            } else {
                format!(" ({})", special.join(", "))
            };
            parts.push(format!("{m} of {n} elements differ{special}"));
        }
        if let Some(d) = self.max_abs_diff
            && (d > 0.0 || parts.is_empty())
        {
            parts.push(format!("max abs diff {d:.3e}"));
        }
        if parts.is_empty() {
            "same".into()
        } else {
            parts.join(", ")
        }
    }

    /// `y (f32, isclose atol=1e-4 rtol=1e-3)`: the tensor and how it was compared.
    pub fn label(&self) -> String {
        let how: Vec<&str> = [self.dtype.as_deref(), self.compared.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if how.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, how.join(", "))
        }
    }
}

/// Most compared outputs named in [`OutputDrift::summary`] when none changed.
const MAX_LABELS: usize = 4;

/// What the two variants produced, compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputDrift {
    pub status: DriftStatus,
    pub tolerance: Tolerance,
    pub tensors: Vec<TensorDrift>,
    /// `whisper`: whether both decoded the same tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_identical: Option<bool>,
    /// The config says a change fails the check (`on_output_change = "fail"`).
    #[serde(default)]
    pub fails_check: bool,
}

impl OutputDrift {
    /// One line for people: the status, what changed and how it was compared, and what was not
    /// compared.
    pub fn summary(&self) -> String {
        let worst = self
            .tensors
            .iter()
            .filter_map(|t| t.max_abs_diff)
            .fold(0.0f64, f64::max);
        let tokens = match self.tokens_identical {
            Some(true) => ", same tokens",
            Some(false) => ", different tokens",
            None => "",
        };
        let skipped: Vec<String> = self
            .tensors
            .iter()
            .filter(|t| !t.was_compared())
            .map(TensorDrift::label)
            .collect();
        let skipped = if skipped.is_empty() {
            String::new()
        } else {
            format!("; {}", skipped.join("; "))
        };
        let compared: Vec<String> = self
            .tensors
            .iter()
            .filter(|t| t.was_compared())
            .map(TensorDrift::label)
            .collect();
        let compared = if compared.len() > MAX_LABELS {
            format!(
                "{} and {} more",
                compared[..MAX_LABELS].join(", "),
                compared.len() - MAX_LABELS
            )
        } else {
            compared.join(", ")
        };
        match self.status {
            DriftStatus::Identical => {
                format!("outputs identical: {compared}{tokens}{skipped}")
            }
            DriftStatus::WithinTolerance => format!(
                "outputs within tolerance (max abs diff {worst:.3e}): {compared}{tokens}{skipped}"
            ),
            DriftStatus::Changed => {
                let what: Vec<String> = self
                    .tensors
                    .iter()
                    .filter(|t| !t.within_tolerance)
                    .map(|t| format!("{}: {}", t.label(), t.finding()))
                    .collect();
                format!(
                    "outputs changed: {}{tokens}{skipped}",
                    if what.is_empty() {
                        "decoded tokens".to_string()
                    } else {
                        what.join("; ")
                    }
                )
            }
            DriftStatus::Unknown if self.tensors.is_empty() => {
                "outputs not compared: the workload reports none".into()
            }
            DriftStatus::Unknown => format!("outputs not compared{skipped}"),
        }
    }
}

/// Running maxima and counts over the elements of one tensor.
#[derive(Default)]
struct Tally {
    abs: f64,
    rel: f64,
    /// Whether `abs`/`rel` saw any element.
    any: bool,
    mismatched: u64,
    nan: u64,
    inf: u64,
}

impl Tally {
    fn diff(&mut self, reference: f64, diff: f64) {
        if diff.is_finite() {
            self.any = true;
            self.abs = self.abs.max(diff);
            if reference != 0.0 {
                let r = diff / reference.abs();
                if r.is_finite() {
                    self.rel = self.rel.max(r);
                }
            }
        }
    }

    /// One float pair as numpy's `isclose(b, a)`, `a` the reference.
    fn float(&mut self, a: f64, b: f64, tol: Tolerance) {
        if a.is_nan() || b.is_nan() {
            if !(a.is_nan() && b.is_nan() && tol.equal_nan) {
                self.mismatched += 1;
                self.nan += 1;
            }
        } else if a.is_infinite() || b.is_infinite() {
            if a != b {
                self.mismatched += 1;
                self.inf += 1;
            }
        } else {
            let diff = (b - a).abs();
            self.diff(a, diff);
            if diff > tol.atol + tol.rtol * a.abs() {
                self.mismatched += 1;
            }
        }
    }

    fn into(self, mut d: TensorDrift, elements: usize, with_diffs: bool) -> TensorDrift {
        if with_diffs {
            d.max_abs_diff = Some(if self.any { self.abs } else { 0.0 });
            d.max_rel_diff = Some(if self.any { self.rel } else { 0.0 });
        }
        d.elements = Some(elements as u64);
        d.mismatched = Some(self.mismatched);
        d.nan_mismatched = self.nan;
        d.inf_mismatched = self.inf;
        d.within_tolerance = self.mismatched == 0;
        d
    }
}

fn tensor(
    name: &str,
    a: Option<&OutputTensor>,
    b: Option<&OutputTensor>,
    tol: Tolerance,
) -> TensorDrift {
    let mut d = TensorDrift::new(name);
    let (a, b) = match (a, b) {
        (Some(a), Some(b)) => (a, b),
        (Some(a), None) => {
            d.dtype = Some(a.dtype.clone());
            d.note = Some("only A produces it".into());
            return d;
        }
        (None, Some(b)) => {
            d.dtype = Some(b.dtype.clone());
            d.note = Some("only B produces it".into());
            return d;
        }
        (None, None) => unreachable!("a name comes from one of the sides"),
    };
    if a.dtype != b.dtype {
        d.dtype = Some(format!("{} -> {}", a.dtype, b.dtype));
        d.note = Some(format!("element type {} became {}", a.dtype, b.dtype));
        return d;
    }
    d.dtype = Some(a.dtype.clone());
    let exact = || Some("exact".to_string());
    match (&a.values, &b.values) {
        (Values::NotRead(why), _) | (_, Values::NotRead(why)) => {
            d.compared = Some(format!("{NOT_COMPARED}: {why}"));
            d.within_tolerance = true;
            return d;
        }
        _ => {}
    }
    if a.shape != b.shape || a.values.elements() != b.values.elements() {
        d.note = Some(format!("shape {:?} became {:?}", a.shape, b.shape));
        return d;
    }
    let mut t = Tally::default();
    match (&a.values, &b.values) {
        (Values::Float(x), Values::Float(y)) => {
            d.compared = Some(tol.method());
            x.iter().zip(y).for_each(|(&p, &q)| t.float(p, q, tol));
            t.into(d, x.len(), true)
        }
        (Values::Int(x), Values::Int(y)) => {
            d.compared = exact();
            for (&p, &q) in x.iter().zip(y) {
                // Widened from at most 64 bits: the difference fits an i128 exactly.
                let diff = (q - p).unsigned_abs() as f64;
                t.diff(p as f64, diff);
                t.mismatched += u64::from(p != q);
            }
            t.into(d, x.len(), true)
        }
        (Values::Bool(x), Values::Bool(y)) => {
            d.compared = exact();
            for (&p, &q) in x.iter().zip(y) {
                t.diff(f64::from(u8::from(p)), f64::from(u8::from(p != q)));
                t.mismatched += u64::from(p != q);
            }
            t.into(d, x.len(), true)
        }
        (Values::String(x), Values::String(y)) => {
            d.compared = exact();
            t.mismatched = x.iter().zip(y).filter(|(p, q)| p != q).count() as u64;
            t.into(d, x.len(), false)
        }
        _ => {
            // The same element type read as two kinds of values: two builds disagree.
            d.note = Some(format!("the two sides sent {} values differently", a.dtype));
            d
        }
    }
}

/// The same tensors with the same bits (a NaN equals a NaN here) and the same tokens.
fn bit_for_bit(a: &Outputs, b: &Outputs) -> bool {
    let same = |x: &Values, y: &Values| match (x, y) {
        (Values::Float(p), Values::Float(q)) => {
            p.len() == q.len() && p.iter().zip(q).all(|(u, v)| u.to_bits() == v.to_bits())
        }
        (Values::NotRead(_), Values::NotRead(_)) => true,
        _ => x == y,
    };
    a.tokens == b.tokens
        && a.tensors.len() == b.tensors.len()
        && a.tensors.iter().zip(&b.tensors).all(|(x, y)| {
            x.name == y.name
                && x.dtype == y.dtype
                && x.shape == y.shape
                && same(&x.values, &y.values)
        })
}

/// Compares what A and B produced.
pub fn compare(a: &Outputs, b: &Outputs, tol: Tolerance) -> OutputDrift {
    let mut names: Vec<&str> = a
        .tensors
        .iter()
        .chain(&b.tensors)
        .map(|t| t.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let find = |o: &'_ Outputs, n: &str| o.tensors.iter().find(|t| t.name == n).cloned();
    let tensors: Vec<TensorDrift> = names
        .iter()
        .map(|n| tensor(n, find(a, n).as_ref(), find(b, n).as_ref(), tol))
        .collect();
    let tokens_identical = match (&a.tokens, &b.tokens) {
        (None, None) => None,
        (x, y) => Some(x == y),
    };
    let status = if !tensors.iter().any(TensorDrift::was_compared) && tokens_identical.is_none() {
        DriftStatus::Unknown
    } else if tokens_identical == Some(false) || tensors.iter().any(|t| !t.within_tolerance) {
        DriftStatus::Changed
    } else if bit_for_bit(a, b) {
        DriftStatus::Identical
    } else {
        DriftStatus::WithinTolerance
    };
    OutputDrift {
        status,
        tolerance: tol,
        tensors,
        tokens_identical,
        fails_check: false,
    }
}

#[cfg(test)]
#[path = "drift_tests.rs"]
mod tests;
