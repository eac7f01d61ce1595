//! What makes a result file usable, checked once on every read: every command that reads a
//! result (`compare`, `baseline update`, `size`, `report`, `ci`, `k8s run`) goes through
//! [`super::RunResult::parse`], which refuses a file with any of these problems and names it.
//!
//! A result is input like any other: hand edits, a truncated copy or another tool's JSON must
//! not turn into a verdict, a baseline or a sizing. The rules are the invariants `run` itself
//! guarantees (at least one model, at least one counted iteration, positive finite latencies and
//! statistics), so a file `run` wrote always passes. Agreement between `samples_ms` and the
//! summary is not required: verdicts and baselines are computed from the samples, and tests
//! doctor the samples alone.

use std::collections::BTreeSet;

use super::{ModelResult, RunResult};
use crate::platform::EnvDelta;

/// Every problem of `r`, each prefixed with where it is (`models[0] (whisper-tiny): ...`).
pub fn problems(r: &RunResult) -> Vec<String> {
    let mut out = Vec::new();
    if r.models.is_empty() {
        out.push("`models` is empty: a result needs at least one measured model".to_string());
    }
    let mut seen = BTreeSet::new();
    for (i, m) in r.models.iter().enumerate() {
        let at = format!("models[{i}] ({})", m.name);
        if !seen.insert(m.name.as_str()) {
            out.push(format!(
                "{at}: the model `{}` appears twice; each model is measured once per result",
                m.name
            ));
        }
        out.extend(model_problems(m).into_iter().map(|p| format!("{at}: {p}")));
    }
    out
}

fn model_problems(m: &ModelResult) -> Vec<String> {
    let mut out = Vec::new();
    if !is_safe_component(&m.name) {
        out.push(format!(
            "name `{}` is not a model name (letters, digits, '.', '-' and '_' only)",
            m.name
        ));
    }
    if !is_safe_component(&m.architecture) {
        out.push(format!(
            "architecture `{}` is not an architecture name such as x86_64 or aarch64",
            m.architecture
        ));
    }
    if m.cpu_model.trim().is_empty() {
        out.push("cpu_model is empty".to_string());
    }
    out.extend(sample_problems(m));
    let s = &m.latency_ms;
    for (name, v) in [
        ("latency_ms.median", s.median),
        ("latency_ms.mean", s.mean),
        ("latency_ms.p50", s.p50),
        ("latency_ms.p75", s.p75),
        ("latency_ms.p90", s.p90),
        ("latency_ms.p95", s.p95),
        ("latency_ms.p99", s.p99),
        ("latency_ms.min", s.min),
        ("latency_ms.max", s.max),
        ("avg_latency_ms", m.avg_latency_ms),
    ] {
        if !positive(v) {
            out.push(format!("{name} = {v} is not a positive latency"));
        }
    }
    for (name, v) in [
        ("latency_ms.stddev", s.stddev),
        ("latency_ms.cv", s.cv),
        ("latency_ms.median_ci.low", s.median_ci.low),
        ("latency_ms.median_ci.high", s.median_ci.high),
        ("total_time_s", m.total_time_s),
        ("wall_time_s", m.wall_time_s),
        ("load_time_ms", m.load_time_ms),
        ("rps", m.rps),
        ("memory_mb", m.memory_mb),
    ] {
        if !non_negative(v) {
            out.push(format!("{name} = {v} must be a finite number >= 0"));
        }
    }
    if s.median_ci.low > s.median_ci.high {
        out.push(format!(
            "latency_ms.median_ci is [{}, {}]: its low end is above its high end",
            s.median_ci.low, s.median_ci.high
        ));
    }
    if let Some(c) = m.cpu_limit.filter(|c| !positive(*c)) {
        out.push(format!("cpu_limit = {c} is not a positive number of CPUs"));
    }
    for (name, v) in [("rtf", m.rtf), ("audio_seconds", m.audio_seconds)] {
        if let Some(v) = v.filter(|v| !non_negative(*v)) {
            out.push(format!("{name} = {v} must be a finite number >= 0"));
        }
    }
    for (i, st) in m.stages.iter().enumerate() {
        for (name, v) in [
            ("median_ms", st.median_ms),
            ("mean_ms", st.mean_ms),
            ("p95_ms", st.p95_ms),
        ] {
            if !non_negative(v) {
                out.push(format!(
                    "stages[{i}] ({}).{name} = {v} must be a finite number >= 0",
                    st.name
                ));
            }
        }
    }
    out.extend(during_problems(&m.during));
    out
}

/// The raw samples: the one field every verdict, baseline and ratio is computed from.
fn sample_problems(m: &ModelResult) -> Vec<String> {
    let mut out = Vec::new();
    if m.samples_ms.is_empty() {
        out.push("samples_ms is empty: there is no measurement to judge".to_string());
        return out;
    }
    if let Some((i, bad)) = m
        .samples_ms
        .iter()
        .enumerate()
        .find(|(_, x)| !positive(**x))
    {
        out.push(format!(
            "samples_ms[{i}] = {bad} is not a positive latency in milliseconds"
        ));
        return out;
    }
    if m.iterations == 0 {
        out.push("iterations = 0: a result counts at least one iteration".to_string());
    }
    out
}

fn during_problems(d: &EnvDelta) -> Vec<String> {
    let mut out = Vec::new();
    if !non_negative(d.elapsed_ms) {
        out.push(format!(
            "during.elapsed_ms = {} must be a finite number >= 0",
            d.elapsed_ms
        ));
    }
    for (name, v, max) in [
        ("throttled_period_ratio", d.throttled_period_ratio, 1.0),
        ("steal_ratio", d.steal_ratio, 1.0),
        ("run_delay_ms", d.run_delay_ms, f64::INFINITY),
        ("run_delay_ratio", d.run_delay_ratio, f64::INFINITY),
        ("on_cpu_ms", d.on_cpu_ms, f64::INFINITY),
        ("others_busy_ms", d.others_busy_ms, f64::INFINITY),
        ("others_busy_cpus", d.others_busy_cpus, f64::INFINITY),
    ] {
        if let Some(v) = v.filter(|v| !(non_negative(*v) && *v <= max)) {
            let range = if max.is_finite() {
                format!("between 0 and {max}")
            } else {
                ">= 0".to_string()
            };
            out.push(format!("during.{name} = {v} must be a number {range}"));
        }
    }
    out
}

fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

fn non_negative(v: f64) -> bool {
    v.is_finite() && v >= 0.0
}

/// Whether `s` may be used as one path component taken from a result file (model name,
/// architecture): the characters the config allows for model names, and never `.` or `..`.
pub fn is_safe_component(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}
