//! Reading ONNX Runtime's profiler output: a Chrome-trace JSON array of events. Pure: text in,
//! kernel events out.
//!
//! ORT writes one `"cat": "Node"` event per executed node and phase; the phase is the name's
//! suffix: `<node>_fence_before`, `<node>_kernel_time`, `<node>_fence_after`. Only
//! `_kernel_time` is the operator's own work (`dur` in microseconds); `args.op_name` is the
//! operator type (`MatMul`, `Conv`, a fused `FusedMatMul`), `args.provider` the execution
//! provider. `"cat": "Session"` events (`model_run`, `SequentialExecutor::Execute`,
//! `session_initialization`) frame the run and are not operators.
//!
//! Control-flow nodes (`If`, `Loop`, `Scan`) run a subgraph whose nodes are traced too, inside
//! the parent's interval on the same thread. Their time is counted once: each kernel's time is
//! its *self* time, its duration minus the durations of the kernels nested directly inside it.

use serde::Deserialize;

/// One node's kernel execution.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelEvent {
    /// The graph node's name (the ONNX node name, or ORT's name for a node it created by fusion).
    pub node: String,
    /// The operator type as ORT ran it (after fusion: `FusedConv`, `QuickGelu`, ...).
    pub op_type: String,
    /// Execution provider, e.g. `CPUExecutionProvider`.
    pub provider: Option<String>,
    /// Self time, microseconds: the kernel's duration less that of kernels nested inside it
    /// (a control-flow node's subgraph).
    pub dur_us: f64,
}

/// What a trace held besides the kernels.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trace {
    pub kernels: Vec<KernelEvent>,
    /// `model_run` events: how many runs the trace covers.
    pub model_runs: u32,
    /// Sum of the `model_run` durations, microseconds.
    pub model_run_us: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TraceError {
    #[error("not a JSON array of trace events: {0}")]
    NotJson(String),
    #[error("event {index}: {message}")]
    Event { index: usize, message: String },
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(default)]
    cat: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    dur: Option<f64>,
    #[serde(default)]
    ts: Option<f64>,
    #[serde(default)]
    tid: Option<serde_json::Value>,
    #[serde(default)]
    args: Option<RawArgs>,
}

#[derive(Deserialize)]
struct RawArgs {
    #[serde(default)]
    op_name: Option<String>,
    #[serde(default)]
    provider: Option<String>,
}

const KERNEL_SUFFIX: &str = "_kernel_time";

/// Parses one trace file's text. Events of other categories and phases are skipped; a kernel
/// event without a duration or operator type is an error (the format changed under us, and a
/// silently empty breakdown would mislead).
pub fn parse(text: &str) -> Result<Trace, TraceError> {
    let events: Vec<RawEvent> =
        serde_json::from_str(text).map_err(|e| TraceError::NotJson(e.to_string()))?;
    let mut trace = Trace::default();
    // (thread, start, duration, index into trace.kernels) of every kernel, for nesting.
    let mut spans: Vec<(String, f64, f64, usize)> = Vec::new();
    for (index, ev) in events.into_iter().enumerate() {
        let name = ev.name.unwrap_or_default();
        match ev.cat.as_deref() {
            Some("Session") if name == "model_run" => {
                trace.model_runs += 1;
                trace.model_run_us += ev.dur.unwrap_or(0.0).max(0.0);
            }
            Some("Node") => {
                let Some(node) = name.strip_suffix(KERNEL_SUFFIX) else {
                    continue;
                };
                let err = |message: &str| TraceError::Event {
                    index,
                    message: format!("`{name}`: {message}"),
                };
                let dur = ev.dur.ok_or_else(|| err("no `dur`"))?;
                if !(dur.is_finite() && dur >= 0.0) {
                    return Err(err("`dur` is not a duration"));
                }
                let args = ev.args.ok_or_else(|| err("no `args`"))?;
                let op_type = args
                    .op_name
                    .filter(|o| !o.is_empty())
                    .ok_or_else(|| err("no `args.op_name`"))?;
                if let Some(ts) = ev.ts.filter(|t| t.is_finite()) {
                    let tid = ev.tid.map(|t| t.to_string()).unwrap_or_default();
                    spans.push((tid, ts, dur, trace.kernels.len()));
                }
                trace.kernels.push(KernelEvent {
                    node: node.to_string(),
                    op_type,
                    provider: args.provider,
                    dur_us: dur,
                });
            }
            _ => {}
        }
    }
    subtract_nested(&mut trace.kernels, spans);
    Ok(trace)
}

/// Turns durations into self times: on each thread, a kernel whose interval lies inside another
/// kernel's is that kernel's child, and its duration is taken off the parent's.
fn subtract_nested(kernels: &mut [KernelEvent], mut spans: Vec<(String, f64, f64, usize)>) {
    // Parents before their children: by thread, start, then longest first.
    spans.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(b.2.total_cmp(&a.2))
    });
    let mut open: Vec<(&str, f64, usize)> = Vec::new(); // (thread, end, kernel index)
    for (tid, ts, dur, k) in &spans {
        while let Some(&(t, end, _)) = open.last() {
            if t != tid.as_str() || end <= *ts {
                open.pop();
            } else {
                break;
            }
        }
        if let Some(&(_, end, parent)) = open.last()
            && ts + dur <= end
        {
            kernels[parent].dur_us = (kernels[parent].dur_us - dur).max(0.0);
        }
        open.push((tid, ts + dur, *k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_events_are_kept_and_fences_and_sessions_are_not() {
        let text = r#"[
          {"cat":"Session","pid":1,"tid":1,"dur":900,"ts":1,"ph":"X","name":"model_run","args":{}},
          {"cat":"Node","pid":1,"tid":1,"dur":0,"ts":2,"ph":"X","name":"mm_fence_before","args":{"op_name":"MatMul"}},
          {"cat":"Node","pid":1,"tid":1,"dur":120,"ts":3,"ph":"X","name":"mm_kernel_time","args":{"op_name":"MatMul","provider":"CPUExecutionProvider"}},
          {"cat":"Node","pid":1,"tid":1,"dur":0,"ts":4,"ph":"X","name":"mm_fence_after","args":{"op_name":"MatMul"}},
          {"cat":"Node","pid":1,"tid":1,"dur":30,"ts":5,"ph":"X","name":"/a/Add_kernel_time","args":{"op_name":"Add"}}
        ]"#;
        let t = parse(text).unwrap();
        assert_eq!(t.model_runs, 1);
        assert_eq!(t.model_run_us, 900.0);
        assert_eq!(t.kernels.len(), 2);
        assert_eq!(t.kernels[0].node, "mm");
        assert_eq!(t.kernels[0].op_type, "MatMul");
        assert_eq!(
            t.kernels[0].provider.as_deref(),
            Some("CPUExecutionProvider")
        );
        assert_eq!(t.kernels[1].node, "/a/Add");
        assert_eq!(t.kernels[1].dur_us, 30.0);
    }

    #[test]
    fn a_control_flow_node_keeps_only_its_own_time() {
        // If_0 (100 us) contains a Conv (30 us) and a nested If (40 us) that contains an Add
        // (10 us); the Gather after it on the same thread is not nested.
        let text = r#"[
          {"cat":"Node","tid":1,"ts":10,"dur":30,"name":"b/Conv_kernel_time","args":{"op_name":"Conv"}},
          {"cat":"Node","tid":1,"ts":50,"dur":10,"name":"b/Add_kernel_time","args":{"op_name":"Add"}},
          {"cat":"Node","tid":1,"ts":45,"dur":40,"name":"b/If_kernel_time","args":{"op_name":"If"}},
          {"cat":"Node","tid":1,"ts":5,"dur":100,"name":"If_0_kernel_time","args":{"op_name":"If"}},
          {"cat":"Node","tid":2,"ts":20,"dur":50,"name":"other_thread_kernel_time","args":{"op_name":"MatMul"}},
          {"cat":"Node","tid":1,"ts":105,"dur":8,"name":"g_kernel_time","args":{"op_name":"Gather"}}
        ]"#;
        let t = parse(text).unwrap();
        let self_us = |n: &str| t.kernels.iter().find(|k| k.node == n).unwrap().dur_us;
        assert_eq!(self_us("If_0"), 30.0);
        assert_eq!(self_us("b/If"), 30.0);
        assert_eq!(self_us("b/Add"), 10.0);
        assert_eq!(self_us("b/Conv"), 30.0);
        assert_eq!(self_us("other_thread"), 50.0);
        assert_eq!(self_us("g"), 8.0);
    }

    #[test]
    fn a_kernel_event_without_its_operator_type_is_an_error_naming_the_event() {
        let text = r#"[{"cat":"Node","dur":5,"name":"x_kernel_time","args":{}}]"#;
        let e = parse(text).unwrap_err();
        assert!(e.to_string().contains("event 0"), "{e}");
        assert!(e.to_string().contains("op_name"), "{e}");
        assert!(matches!(parse("{}"), Err(TraceError::NotJson(_))));
        assert!(matches!(parse("[1, 2"), Err(TraceError::NotJson(_))));
    }
}
