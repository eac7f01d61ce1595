//! Output drift: both sides of a duet run the same inputs, so what they produce can be compared.
//! An ORT upgrade or a quantised model that changes the numerics is then visible in the same
//! pull request that changed the speed. Numbers in, finding out; no I/O.

use serde::{Deserialize, Serialize};

use crate::workload::{OutputTensor, Outputs};

/// How far two outputs may differ and still be the same: element-wise
/// `|a - b| <= atol + rtol * |a|` (numpy's `allclose`), and decoded tokens identical.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub atol: f64,
    pub rtol: f64,
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
    /// Largest `|a - b|`; `None` when the shapes differ or one side lacks the tensor.
    pub max_abs_diff: Option<f64>,
    /// Largest `|a - b| / |a|` over elements where `a != 0`.
    pub max_rel_diff: Option<f64>,
    pub within_tolerance: bool,
    /// Why it could not be compared element by element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

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
    /// One line for people: the status and the largest differences.
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
        match self.status {
            DriftStatus::Identical => format!("outputs identical{tokens}"),
            DriftStatus::WithinTolerance => format!(
                "outputs within tolerance (max abs diff {worst:.3e}; atol {:e}, rtol {:e}){tokens}",
                self.tolerance.atol, self.tolerance.rtol
            ),
            DriftStatus::Changed => {
                let what: Vec<String> = self
                    .tensors
                    .iter()
                    .filter(|t| !t.within_tolerance)
                    .map(|t| match (&t.note, t.max_abs_diff) {
                        (Some(n), _) => format!("{}: {n}", t.name),
                        (None, Some(d)) => format!("{}: max abs diff {d:.3e}", t.name),
                        (None, None) => t.name.clone(),
                    })
                    .collect();
                format!(
                    "outputs changed beyond atol {:e}, rtol {:e}: {}{tokens}",
                    self.tolerance.atol,
                    self.tolerance.rtol,
                    if what.is_empty() {
                        "decoded tokens".to_string()
                    } else {
                        what.join("; ")
                    }
                )
            }
            DriftStatus::Unknown => "outputs not compared: the workload reports none".into(),
        }
    }
}

fn tensor(
    name: &str,
    a: Option<&OutputTensor>,
    b: Option<&OutputTensor>,
    tol: Tolerance,
) -> TensorDrift {
    let mut d = TensorDrift {
        name: name.to_string(),
        max_abs_diff: None,
        max_rel_diff: None,
        within_tolerance: false,
        note: None,
    };
    let (a, b) = match (a, b) {
        (Some(a), Some(b)) => (a, b),
        (Some(_), None) => {
            d.note = Some("only A produces it".into());
            return d;
        }
        _ => {
            d.note = Some("only B produces it".into());
            return d;
        }
    };
    if a.shape != b.shape || a.values.len() != b.values.len() {
        d.note = Some(format!("shape {:?} became {:?}", a.shape, b.shape));
        return d;
    }
    let (mut abs, mut rel, mut within) = (0.0f64, 0.0f64, true);
    for (x, y) in a.values.iter().zip(&b.values) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        let diff = (x - y).abs();
        if diff.is_nan() {
            // NaN on one side only is a change; NaN on both is the same output.
            if x.is_nan() != y.is_nan() {
                within = false;
                abs = f64::INFINITY;
            }
            continue;
        }
        abs = abs.max(diff);
        if x != 0.0 {
            rel = rel.max(diff / x.abs());
        }
        within &= diff <= tol.atol + tol.rtol * x.abs();
    }
    d.max_abs_diff = Some(abs);
    d.max_rel_diff = Some(rel);
    d.within_tolerance = within;
    d
}

/// The same tensors with the same bits (a NaN equals a NaN here) and the same tokens.
fn bit_for_bit(a: &Outputs, b: &Outputs) -> bool {
    a.tokens == b.tokens
        && a.tensors.len() == b.tensors.len()
        && a.tensors.iter().zip(&b.tensors).all(|(x, y)| {
            x.name == y.name
                && x.shape == y.shape
                && x.values.len() == y.values.len()
                && x.values
                    .iter()
                    .zip(&y.values)
                    .all(|(p, q)| p.to_bits() == q.to_bits())
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
    let status = if tensors.is_empty() && tokens_identical.is_none() {
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
mod tests {
    use super::*;

    const TOL: Tolerance = Tolerance {
        atol: 1e-4,
        rtol: 1e-3,
    };

    fn out(values: &[f32], tokens: Option<Vec<i64>>) -> Outputs {
        Outputs {
            tensors: vec![OutputTensor {
                name: "y".into(),
                shape: vec![1, values.len() as i64],
                values: values.to_vec(),
            }],
            tokens,
        }
    }

    #[test]
    fn the_same_outputs_are_identical() {
        let a = out(&[1.0, -2.0, f32::NAN], Some(vec![1, 2]));
        let d = compare(&a, &a.clone(), TOL);
        assert_eq!(d.status, DriftStatus::Identical);
        assert_eq!(d.tokens_identical, Some(true));
        assert_eq!(d.tensors[0].max_abs_diff, Some(0.0));
    }

    #[test]
    fn small_numeric_noise_is_within_tolerance_and_measured() {
        let d = compare(
            &out(&[1.0, 100.0], None),
            &out(&[1.00005, 100.05], None),
            TOL,
        );
        assert_eq!(d.status, DriftStatus::WithinTolerance, "{d:?}");
        let t = &d.tensors[0];
        assert!((t.max_abs_diff.unwrap() - 0.05).abs() < 1e-4, "{t:?}");
        assert!((t.max_rel_diff.unwrap() - 5e-4).abs() < 1e-5, "{t:?}");
        assert!(
            d.summary().starts_with("outputs within tolerance"),
            "{}",
            d.summary()
        );
    }

    #[test]
    fn a_real_change_a_new_shape_a_lost_output_or_other_tokens_is_changed() {
        let a = out(&[1.0, 2.0], Some(vec![5, 6]));
        let bigger = compare(&a, &out(&[1.0, 2.1], Some(vec![5, 6])), TOL);
        assert_eq!(bigger.status, DriftStatus::Changed);
        assert!(
            bigger.summary().contains("y: max abs diff 1.000e-1"),
            "{}",
            bigger.summary()
        );
        let reshaped = compare(&a, &out(&[1.0, 2.0, 3.0], Some(vec![5, 6])), TOL);
        assert_eq!(reshaped.status, DriftStatus::Changed);
        assert!(
            reshaped.tensors[0]
                .note
                .as_ref()
                .unwrap()
                .contains("became")
        );
        let tokens = compare(&a, &out(&[1.0, 2.0], Some(vec![5, 7])), TOL);
        assert_eq!(tokens.status, DriftStatus::Changed);
        assert_eq!(tokens.tokens_identical, Some(false));
        let lost = compare(&a, &Outputs::default(), TOL);
        assert_eq!(lost.status, DriftStatus::Changed);
        assert_eq!(lost.tensors[0].note.as_deref(), Some("only A produces it"));
        let nan = compare(&a, &out(&[1.0, f32::NAN], Some(vec![5, 6])), TOL);
        assert_eq!(nan.status, DriftStatus::Changed);
    }

    #[test]
    fn nothing_to_compare_is_unknown() {
        let d = compare(&Outputs::default(), &Outputs::default(), TOL);
        assert_eq!(d.status, DriftStatus::Unknown);
    }
}
