//! The messages between `bench-gate ab` and its two `bench-gate ab-worker` processes: one JSON
//! object per line, over the worker's stdin (requests) and stdout (replies). Small on purpose:
//! a worker in another image (`--a-cmd 'docker run -i ... bench-gate ab-worker ...'`) may be an
//! older or newer build, so the first line names the protocol version and both sides check it.

use serde::{Deserialize, Serialize};

use crate::config::{SessionOptions, WorkloadKind};
use crate::platform::EnvDelta;
use crate::result::Fingerprint;

/// Bumped on any incompatible change of the messages below.
pub const PROTOCOL_VERSION: u32 = 1;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The worker failed; it exits after sending this.
    Error {
        message: String,
    },
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
}
