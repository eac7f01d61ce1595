//! The messages between `bench-gate ab` and its two `bench-gate ab-worker` processes: one JSON
//! object per line, over the worker's stdin (requests) and stdout (replies). Small on purpose:
//! a worker in another image (`--a-cmd 'docker run -i ... bench-gate ab-worker ...'`) may be an
//! older or newer build, so the first line names the protocol version and both sides check it.

use serde::{Deserialize, Serialize};

use crate::config::{SessionOptions, WorkloadKind};
use crate::platform::EnvDelta;
use crate::result::Fingerprint;

/// Bumped on any change of the messages below. 2: outputs carry every element type, floats as
/// base64 bytes so NaN and infinities survive JSON (1 sent `f32`s as numbers, and a NaN as
/// `null`, which the reader refused). 3: [`Request::Transcribe`] (accuracy after the clock).
pub const PROTOCOL_VERSION: u32 = 3;
/// The first protocol whose workers transcribe; older ones are not asked, and the duet says
/// that accuracy was not compared.
pub const TRANSCRIBE_PROTOCOL: u32 = 3;
/// The oldest worker protocol this bench-gate still drives. Protocol 1 differs only in its
/// outputs message, so a protocol 1 worker (the merge base's build in the PR that brought
/// protocol 2, or an older image) measures, reports its memory and profile, and is not asked for
/// outputs: the duet decides, and says that its outputs were not compared.
pub const OLDEST_PROTOCOL: u32 = 1;

/// The worker's first line, once its model is loaded and warm: who it is and where it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub bench_gate_version: String,
    pub ort_version: String,
    pub cpu_model: String,
    pub architecture: String,
    pub host: String,
    pub model: String,
    pub kind: WorkloadKind,
    pub fingerprint: Fingerprint,
    pub session: SessionOptions,
    /// The CPUs the worker's measuring thread is pinned to.
    pub pinned_cpus: Vec<usize>,
    pub cpu_limit: Option<f64>,
}

/// A request from `ab` to a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Run `warmup` untimed iterations, then `iterations` timed ones (0: warm-up only).
    Measure { warmup: u32, iterations: u32 },
    /// Run one more untimed iteration and send what it produced (output drift). Asked only
    /// after the measuring is done: an older worker that does not know it fails then, costing
    /// the drift check alone.
    Outputs,
    /// Peak memory and ORT's arena, then the profiled pass when `profile` (after the duet).
    AfterRun { profile: bool },
    /// Transcribe this audio (16 kHz mono) to `<|endoftext|>`, after the clock: both variants
    /// hear the same samples, sent by `ab`, so a worker in another image needs no copy of the
    /// labelled set.
    Transcribe {
        #[serde(with = "f32_bytes")]
        samples: Vec<f32>,
    },
}

/// A worker's reply to one [`Request::Measure`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Hello(Box<Hello>),
    Block {
        samples_ms: Vec<f64>,
        /// Throttling, steal and run delay over this block, as the worker's own cgroup saw it.
        during: EnvDelta,
    },
    Outputs(Box<crate::workload::Outputs>),
    AfterRun(Box<crate::runner::profile::AfterRun>),
    /// What the worker's model heard in a [`Request::Transcribe`]'s audio.
    Transcript {
        tokens: Vec<i64>,
        /// `None` when the worker's config names no tokenizer.
        text: Option<String>,
        /// Whether decoding reached `<|endoftext|>`.
        finished: bool,
    },
    /// The worker failed; it exits after sending this.
    Error {
        message: String,
    },
}

/// `Vec<f32>` as the base64 of its little-endian bytes: a third of the size of JSON numbers.
mod f32_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use serde::Deserialize;

    pub fn serialize<S: serde::Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        s.serialize_str(&B64.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        use serde::de::Error;
        let bytes = B64
            .decode(String::deserialize(d)?.as_bytes())
            .map_err(|e| D::Error::custom(format!("audio samples are not base64: {e}")))?;
        if bytes.len() % 4 != 0 {
            return Err(D::Error::custom(format!(
                "audio samples are {} bytes, not a whole number of f32s",
                bytes.len()
            )));
        }
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_of_tagged_json_and_round_trip() {
        let r = Request::Measure {
            warmup: 1,
            iterations: 5,
        };
        let line = serde_json::to_string(&r).unwrap();
        assert_eq!(line, r#"{"measure":{"warmup":1,"iterations":5}}"#);
        assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), r);
        let b = Reply::Block {
            samples_ms: vec![1.5, 2.0],
            during: EnvDelta {
                elapsed_ms: 3.5,
                ..EnvDelta::default()
            },
        };
        let line = serde_json::to_string(&b).unwrap();
        assert!(!line.contains('\n'));
        assert!(
            line.starts_with(r#"{"block":{"samples_ms":[1.5,2.0]"#),
            "{line}"
        );
        assert_eq!(serde_json::from_str::<Reply>(&line).unwrap(), b);
        assert!(serde_json::from_str::<Request>(r#"{"measure":{"warmup":1}}"#).is_err());
    }

    #[test]
    fn audio_to_transcribe_crosses_the_pipe_bit_for_bit_in_one_line() {
        let r = Request::Transcribe {
            samples: vec![0.0, -1.0, 0.25, f32::MIN_POSITIVE, 1e-30, -0.0],
        };
        let line = serde_json::to_string(&r).unwrap();
        assert!(line.starts_with(r#"{"transcribe":{"samples":""#), "{line}");
        assert!(!line.contains('\n'));
        let Request::Transcribe { samples } = serde_json::from_str(&line).unwrap() else {
            panic!("{line}")
        };
        let Request::Transcribe { samples: sent } = r else {
            unreachable!()
        };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&samples), bits(&sent));
        assert!(
            serde_json::from_str::<Request>(r#"{"transcribe":{"samples":"AAA="}}"#)
                .unwrap_err()
                .to_string()
                .contains("not a whole number of f32s")
        );
    }

    #[test]
    fn outputs_with_nan_and_infinities_cross_the_pipe_unchanged() {
        use crate::workload::{OutputTensor, Outputs, Values};
        let o = Outputs {
            tensors: vec![
                OutputTensor::f32(
                    "y",
                    &[4],
                    &[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0],
                ),
                OutputTensor {
                    name: "ids".into(),
                    shape: vec![1],
                    dtype: "i64".into(),
                    values: Values::Int(vec![i128::from(i64::MAX)]),
                },
            ],
            tokens: None,
        };
        let line = serde_json::to_string(&Reply::Outputs(Box::new(o.clone()))).unwrap();
        assert!(
            !line.contains('\n') && !line.replace(r#""tokens":null"#, "").contains("null"),
            "{line}"
        );
        let Reply::Outputs(back) = serde_json::from_str::<Reply>(&line).unwrap() else {
            panic!("{line}")
        };
        let (Values::Float(got), Values::Float(sent)) =
            (&back.tensors[0].values, &o.tensors[0].values)
        else {
            panic!("{back:?}")
        };
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(got), bits(sent));
        assert_eq!(back.tensors[1], o.tensors[1]);
    }
}
