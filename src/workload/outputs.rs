//! What one iteration produced, kept for comparing two variants' numerics (the duet's output
//! drift). Every output ONNX Runtime returns is kept, whatever its element type: floats widened
//! to `f64` (exact for `f16`, `bf16` and `f32`), integers to `i128` (exact for `u64`), booleans
//! and strings as they are. An element type this build cannot read is kept as a named gap, never
//! dropped, so the comparison can say what it did not compare.
//!
//! The values travel from a worker to `ab` as JSON. JSON has no NaN or infinity (serde_json
//! writes them as `null`), so floats go as the little-endian bytes of their `f64`s in base64:
//! NaN, +-inf, -0.0 and subnormals arrive bit for bit.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

/// What one iteration produced: the outputs of its last model run and, for `whisper`, the
/// decoded tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outputs {
    pub tensors: Vec<OutputTensor>,
    #[serde(default)]
    pub tokens: Option<Vec<i64>>,
}

/// One output tensor: its name, shape, element type and values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputTensor {
    pub name: String,
    pub shape: Vec<i64>,
    /// Element type as [`super::elem_name`] spells it: `f32`, `f16`, `bf16`, `f64`, `i64`,
    /// `i32`, ..., `bool`, `string`.
    pub dtype: String,
    pub values: Values,
}

/// The elements of an output tensor, grouped by how they are compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Values {
    /// Any floating-point type, widened exactly to `f64`; compared as numpy's `isclose`.
    Float(#[serde(with = "float_bytes")] Vec<f64>),
    /// Any integer type, widened exactly to `i128`; compared exactly.
    Int(Vec<i128>),
    /// Compared exactly.
    Bool(Vec<bool>),
    /// Compared exactly.
    String(Vec<String>),
    /// Not read (the sentence says why, e.g. a complex element type); listed as not compared.
    NotRead(String),
}

impl Values {
    /// Number of elements; `None` when not read.
    pub fn elements(&self) -> Option<usize> {
        match self {
            Values::Float(v) => Some(v.len()),
            Values::Int(v) => Some(v.len()),
            Values::Bool(v) => Some(v.len()),
            Values::String(v) => Some(v.len()),
            Values::NotRead(_) => None,
        }
    }
}

impl OutputTensor {
    /// A tensor of `f32`s (tests and fakes).
    pub fn f32(name: &str, shape: &[i64], values: &[f32]) -> OutputTensor {
        OutputTensor {
            name: name.to_string(),
            shape: shape.to_vec(),
            dtype: "f32".into(),
            values: Values::Float(values.iter().map(|&v| f64::from(v)).collect()),
        }
    }

    /// The tensor `value` named `name`, whatever its element type. `None` only when `value`
    /// is not a tensor at all (a sequence or a map), which no workload here produces.
    pub fn of(name: &str, value: &ort::value::DynValue) -> Option<OutputTensor> {
        use ort::value::{TensorElementType as T, ValueType};
        let ValueType::Tensor { ty, shape, .. } = value.dtype() else {
            return None;
        };
        fn wide<E: ort::value::PrimitiveTensorElementType + Copy, W>(
            v: &ort::value::DynValue,
            f: impl Fn(E) -> W,
        ) -> Result<Vec<W>, String> {
            v.try_extract_tensor::<E>()
                .map(|(_, d)| d.iter().map(|&x| f(x)).collect())
                .map_err(|e| e.to_string())
        }
        let values = match ty {
            T::Float32 => wide(value, |x: f32| f64::from(x)).map(Values::Float),
            T::Float64 => wide(value, |x: f64| x).map(Values::Float),
            T::Float16 => wide(value, |x: half::f16| x.to_f64()).map(Values::Float),
            T::Bfloat16 => wide(value, |x: half::bf16| x.to_f64()).map(Values::Float),
            T::Int8 => wide(value, |x: i8| i128::from(x)).map(Values::Int),
            T::Int16 => wide(value, |x: i16| i128::from(x)).map(Values::Int),
            T::Int32 => wide(value, |x: i32| i128::from(x)).map(Values::Int),
            T::Int64 => wide(value, |x: i64| i128::from(x)).map(Values::Int),
            T::Uint8 => wide(value, |x: u8| i128::from(x)).map(Values::Int),
            T::Uint16 => wide(value, |x: u16| i128::from(x)).map(Values::Int),
            T::Uint32 => wide(value, |x: u32| i128::from(x)).map(Values::Int),
            T::Uint64 => wide(value, |x: u64| i128::from(x)).map(Values::Int),
            T::Bool => wide(value, |x: bool| x).map(Values::Bool),
            T::String => value
                .try_extract_strings()
                .map(|(_, s)| Values::String(s))
                .map_err(|e| e.to_string()),
            other => Ok(Values::NotRead(format!(
                "element type {} is not read",
                super::elem_name(*other)
            ))),
        };
        Some(OutputTensor {
            name: name.to_string(),
            shape: shape.iter().copied().collect(),
            dtype: super::elem_name(*ty).to_string(),
            values: values.unwrap_or_else(|e| {
                Values::NotRead(format!("ONNX Runtime could not read it: {e}"))
            }),
        })
    }
}

/// `Vec<f64>` as the base64 of its little-endian bytes: every bit pattern survives JSON.
mod float_bytes {
    use super::*;

    pub fn serialize<S: serde::Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        s.serialize_str(&B64.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        use serde::de::Error;
        let text = String::deserialize(d)?;
        let bytes = B64
            .decode(text.as_bytes())
            .map_err(|e| D::Error::custom(format!("float values are not base64: {e}")))?;
        if bytes.len() % 8 != 0 {
            return Err(D::Error::custom(format!(
                "float values are {} bytes, not a whole number of f64s",
                bytes.len()
            )));
        }
        Ok(bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(o: &Outputs) -> Outputs {
        let line = serde_json::to_string(o).unwrap();
        assert!(
            !line.contains('\n') && !line.replace(r#""tokens":null"#, "").contains("null"),
            "{line}"
        );
        serde_json::from_str(&line).unwrap()
    }

    #[test]
    fn non_finite_negative_zero_and_subnormal_floats_cross_json_bit_for_bit() {
        let floats = vec![
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            f64::from(f32::from_bits(1)),
            f64::from_bits(1),
            1.0 / 3.0,
            f64::MAX,
        ];
        let o = Outputs {
            tensors: vec![OutputTensor {
                name: "y".into(),
                shape: vec![floats.len() as i64],
                dtype: "f64".into(),
                values: Values::Float(floats.clone()),
            }],
            tokens: Some(vec![1, 2]),
        };
        let back = round_trip(&o);
        let Values::Float(got) = &back.tensors[0].values else {
            panic!("{back:?}")
        };
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(got), bits(&floats));
        assert_eq!(back.tokens, o.tokens);
    }

    #[test]
    fn integers_of_every_width_booleans_strings_and_unread_types_cross_json_unchanged() {
        let o = Outputs {
            tensors: vec![
                OutputTensor {
                    name: "ids".into(),
                    shape: vec![4],
                    dtype: "u64".into(),
                    values: Values::Int(vec![i128::from(u64::MAX), i128::from(i64::MIN), 0, -1]),
                },
                OutputTensor {
                    name: "mask".into(),
                    shape: vec![2],
                    dtype: "bool".into(),
                    values: Values::Bool(vec![true, false]),
                },
                OutputTensor {
                    name: "label".into(),
                    shape: vec![1],
                    dtype: "string".into(),
                    values: Values::String(vec!["ü \"quoted\"\n".into()]),
                },
                OutputTensor {
                    name: "c".into(),
                    shape: vec![1],
                    dtype: "other".into(),
                    values: Values::NotRead("element type other is not read".into()),
                },
            ],
            tokens: None,
        };
        assert_eq!(round_trip(&o), o);
    }

    #[test]
    fn float_values_that_are_not_whole_f64s_are_refused_not_guessed() {
        let line = r#"{"name":"y","shape":[1],"dtype":"f32","values":{"float":"AAAA"}}"#;
        let err = serde_json::from_str::<OutputTensor>(line).unwrap_err();
        assert!(
            err.to_string().contains("not a whole number of f64s"),
            "{err}"
        );
    }
}
