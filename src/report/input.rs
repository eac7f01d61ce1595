//! What the report is made from, as the report reads it.
//!
//! The verdict comes in as the verdict JSON that `bench-gate compare` writes (the file is the
//! stable interface between the gate and the comment), read into the view types below: only
//! the fields the comment shows, unknown fields ignored, optional ones defaulted. A verdict
//! file from an older bench-gate therefore still renders (a newer `schema_version` is refused by
//! `bench-gate report` before it gets here), and `report/` does not depend on how `compare/`
//! builds its verdict.

use serde::{Deserialize, Serialize};

use crate::operators::Attribution;
use crate::result::RunResult;
use crate::sizing::SizingReport;

/// The outcome for one model or for the whole check, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Improved,
    Pass,
    NoBaseline,
    Inconclusive,
    Regressed,
}

impl Outcome {
    /// The emoji and word a reviewer scans for.
    pub fn badge(self) -> &'static str {
        match self {
            Outcome::Improved => "✅ improved",
            Outcome::Pass => "✅ pass",
            Outcome::NoBaseline => "ℹ️ no baseline",
            Outcome::Inconclusive => "⚠️ inconclusive",
            Outcome::Regressed => "❌ regressed",
        }
    }
}

/// The verdict file (`compare -o verdict.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerdictView {
    /// The worst model verdict.
    pub verdict: Outcome,
    /// The exit code the gate used (0 pass, 1 regressed, 2 user error, 3 inconclusive).
    #[serde(default)]
    pub exit_code: u8,
    /// `compare` (against the committed history) or `ab` (two variants side by side).
    #[serde(default)]
    pub mode: Option<String>,
    /// RFC 3339, UTC.
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub models: Vec<ModelVerdictView>,
}

/// One model's verdict with the numbers behind it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelVerdictView {
    pub model: String,
    #[serde(default)]
    pub cpu_model: String,
    #[serde(default)]
    pub architecture: String,
    pub verdict: Outcome,
    /// Why, in sentences (may contain file-derived names: escaped when shown).
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Why the run is not evidence (throttled, steal, dispersion); empty when clean.
    #[serde(default)]
    pub contamination: Vec<String>,
    /// The gated metric: `median` or `p95`.
    #[serde(default = "default_metric")]
    pub metric: String,
    /// The statistical test, e.g. "log-ratio vs history, z=2.576".
    #[serde(default)]
    pub test: String,
    /// Estimated change of the metric, percent (positive = slower).
    #[serde(default)]
    pub change_pct: Option<f64>,
    /// Interval of the change, percent (99% for `compare`, 95% over all looks for a duet).
    #[serde(default)]
    pub ci_pct: Option<PctInterval>,
    /// The smallest slowdown the run would have caught with 95% power, percent.
    #[serde(default)]
    pub mde_pct: Option<f64>,
    /// Duet: the two sides' outputs for the same inputs, compared.
    #[serde(default)]
    pub outputs: Option<OutputsView>,
    /// Allowed slowdown, percent.
    #[serde(default)]
    pub threshold_pct: Option<f64>,
    #[serde(default)]
    pub baseline: Option<BaselineView>,
    /// The candidate's metric, milliseconds.
    #[serde(default)]
    pub candidate_ms: Option<f64>,
    #[serde(default)]
    pub what_changed: Vec<ChangeView>,
    /// For `no_baseline`: the CPU models that do have a baseline for this model.
    #[serde(default)]
    pub cpu_models_with_baseline: Vec<String>,
    /// Counted iterations of the candidate.
    #[serde(default)]
    pub iterations: u32,
    /// The latency verdict alone; `verdict` may be worse because of memory.
    #[serde(default)]
    pub latency_verdict: Option<Outcome>,
    /// Peak memory against the baseline's, with its own verdict when gated.
    #[serde(default)]
    pub memory: Option<MemoryView>,
    /// Which operators' profiled time changed most (regressed or improved latency only).
    #[serde(default)]
    pub operators: Option<Attribution>,
    /// Word error rate on the labelled set against the baseline's (or the base's).
    #[serde(default)]
    pub accuracy: Option<AccuracyView>,
}

/// The accuracy line of a verdict, as the comment shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccuracyView {
    /// `None`: shown, not gated.
    #[serde(default)]
    pub verdict: Option<Outcome>,
    /// Baseline's (or base's) WER, percent.
    pub a_wer_pct: f64,
    /// This run's (or head's) WER, percent.
    pub b_wer_pct: f64,
    pub change_pts: f64,
    #[serde(default)]
    pub ci_pts: Option<PctInterval>,
    #[serde(default)]
    pub utterances: usize,
    #[serde(default)]
    pub reference_words: u32,
    #[serde(default)]
    pub changed: Vec<ChangedUtteranceView>,
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// An utterance the two sides heard differently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedUtteranceView {
    pub wav: String,
    #[serde(default)]
    pub a_errors: u32,
    #[serde(default)]
    pub b_errors: u32,
    /// "dashwood -> dashboard", "+the", "-had".
    #[serde(default)]
    pub words: Vec<String>,
}

/// The memory line of a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryView {
    /// `None`: shown, not gated.
    #[serde(default)]
    pub verdict: Option<Outcome>,
    /// Peak RSS of the run, MiB.
    pub candidate_mb: f64,
    #[serde(default)]
    pub baseline_mb: Option<f64>,
    #[serde(default)]
    pub change_pct: Option<f64>,
    #[serde(default)]
    pub ci_pct: Option<PctInterval>,
    #[serde(default)]
    pub threshold_pct: Option<f64>,
    /// Duet: the A/A floor the pairs were judged with, percent.
    #[serde(default)]
    pub noise_pct: Option<f64>,
    /// Duet: each worker pair's B against A.
    #[serde(default)]
    pub pairs: Vec<MemoryPairView>,
    /// Duet: ORT's arena peak, gated where deterministic.
    #[serde(default)]
    pub arena: Option<ArenaView>,
}

/// One worker pair's peaks in a duet's memory line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryPairView {
    pub a_mb: f64,
    pub b_mb: f64,
    pub change_pct: f64,
}

/// ORT's arena peak in a duet's memory line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArenaView {
    /// `None`: shown, not gated.
    #[serde(default)]
    pub verdict: Option<Outcome>,
    #[serde(default)]
    pub deterministic: bool,
    #[serde(default)]
    pub reason: String,
}

/// Output drift as the report reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutputsView {
    /// `identical`, `within_tolerance`, `changed` or `unknown`.
    pub status: String,
    #[serde(default)]
    pub tokens_identical: Option<bool>,
    #[serde(default)]
    pub tensors: Vec<OutputTensorView>,
    /// `on_output_change = "fail"`: a change fails the check (exit 1) whatever the latency.
    #[serde(default)]
    pub fails_check: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OutputTensorView {
    pub name: String,
    /// Element type (`f32`, `i64`, ...; `f32 -> f16` when it changed); absent in older verdicts.
    #[serde(default)]
    pub dtype: Option<String>,
    /// How it was compared: `isclose atol=.. rtol=..`, `exact`, or `not compared: <why>`.
    #[serde(default)]
    pub compared: Option<String>,
    #[serde(default)]
    pub max_abs_diff: Option<f64>,
    #[serde(default)]
    pub within_tolerance: bool,
    #[serde(default)]
    pub elements: Option<u64>,
    /// Elements beyond the tolerance (compared exactly: that differ at all).
    #[serde(default)]
    pub mismatched: Option<u64>,
    #[serde(default)]
    pub nan_mismatched: u64,
    #[serde(default)]
    pub inf_mismatched: u64,
    /// Why it could not be compared element by element (shape, a side lacks it).
    #[serde(default)]
    pub note: Option<String>,
}

impl OutputTensorView {
    /// What was found, for people: `4 of 4 elements differ (4 NaN)`, `max abs diff 2.5e-6`,
    /// `not compared: ...`, or the note (a changed shape, a side without it).
    pub fn finding(&self) -> String {
        if let Some(n) = &self.note {
            return n.clone();
        }
        if let Some(c) = self
            .compared
            .as_deref()
            .filter(|c| c.starts_with("not compared"))
        {
            return c.to_string();
        }
        let mut parts = Vec::new();
        if let (Some(m), Some(n)) = (self.mismatched, self.elements)
            && m > 0
        {
            let special: Vec<String> = [
                (self.nan_mismatched, "NaN"),
                (self.inf_mismatched, "infinite"),
            ]
            .into_iter()
            .filter(|(k, _)| *k > 0)
            .map(|(k, what)| format!("{k} {what}"))
            .collect();
            parts.push(if special.is_empty() {
                format!("{m} of {n} elements differ")
            } else {
                format!("{m} of {n} elements differ ({})", special.join(", "))
            });
        }
        if let Some(d) = self.max_abs_diff.filter(|d| *d > 0.0) {
            parts.push(format!("max abs diff {d:.1e}"));
        }
        if parts.is_empty() {
            return if self.within_tolerance {
                "same"
            } else {
                "changed"
            }
            .into();
        }
        parts.join(", ")
    }
}

fn default_metric() -> String {
    "median".to_owned()
}

/// A percent interval `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PctInterval {
    pub low: f64,
    pub high: f64,
}

/// What the candidate was compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineView {
    /// The baseline file (`compare`), or side A of a duet: `variant A` (`ab`), `variant A
    /// (base)` (`ci`).
    #[serde(default)]
    pub source: String,
    /// The baseline's metric, milliseconds.
    pub center_ms: f64,
    #[serde(default)]
    pub runs_used: usize,
    #[serde(default)]
    pub runs_total: usize,
}

/// One difference between baseline and candidate (ORT version, model hash, options, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeView {
    pub what: String,
    pub baseline: String,
    pub candidate: String,
}

/// One accepted baseline run of one model, for the latency-history chart. Milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    /// RFC 3339: when the run was measured.
    pub timestamp: String,
    #[serde(default)]
    pub commit: Option<String>,
    pub median_ms: f64,
    pub p95_ms: f64,
}

/// The baseline history of one model, oldest run first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct History {
    pub model: String,
    pub runs: Vec<HistoryPoint>,
}

/// The sizing of one model (`model` is `None` for a bare sizing report).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizingSection {
    pub model: Option<String>,
    pub report: SizingReport,
}

/// Where the report came from, for the footer; every field optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provenance {
    /// The commit that was measured.
    pub commit: Option<String>,
    /// A link to the workflow run (already checked to be a plain http(s) URL or not).
    pub run_url: Option<String>,
    /// The branch or ref that was measured.
    pub branch: Option<String>,
}

/// Everything one report is rendered from.
#[derive(Debug, Clone)]
pub struct ReportInput {
    /// Names the gate in the hidden marker, so several gates keep one comment each.
    pub gate: String,
    pub verdict: VerdictView,
    /// The run's result file, for candidate p95, environment and raw statistics.
    pub result: Option<RunResult>,
    /// Production sizing, one section per model that has a capacity plan.
    pub sizing: Vec<SizingSection>,
    /// Baseline histories for the chart (models without history get no line).
    pub history: Vec<History>,
    pub provenance: Provenance,
    /// Beside a duet's verdict: `compare` against the committed baselines, shown for the
    /// cross-CPU context and the trend; it never decides.
    pub second_opinion: Option<VerdictView>,
}

impl ReportInput {
    /// A report of a verdict alone, with the default gate name.
    pub fn new(verdict: VerdictView) -> Self {
        ReportInput {
            gate: DEFAULT_GATE.to_owned(),
            verdict,
            result: None,
            sizing: Vec::new(),
            history: Vec::new(),
            provenance: Provenance::default(),
            second_opinion: None,
        }
    }
}

/// Gate name used when `--gate` is not given.
pub const DEFAULT_GATE: &str = "bench-gate";

/// The hidden marker that lets `bench-gate comment` find this gate's comment again.
///
/// The gate name is reduced to `[A-Za-z0-9._-]` so it can neither close the HTML comment
/// early nor make one gate's marker a prefix-match of another's text.
pub fn marker(gate: &str) -> String {
    let name: String = gate
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(64)
        .collect();
    let name = if name.is_empty() { DEFAULT_GATE } else { &name };
    format!("<!-- bench-gate:gate={name} -->")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_keeps_safe_gate_names_and_strips_the_rest() {
        assert_eq!(marker("pr-gate"), "<!-- bench-gate:gate=pr-gate -->");
        assert_eq!(marker("a --> <b>"), "<!-- bench-gate:gate=a--b -->");
        assert_eq!(marker("!!"), "<!-- bench-gate:gate=bench-gate -->");
    }

    #[test]
    fn verdict_json_with_extra_and_missing_fields_still_reads() {
        let json = r#"{"schema_version": 9, "verdict": "regressed", "models": [
            {"model": "m", "verdict": "regressed", "future_field": [1, 2]}]}"#;
        let v: VerdictView = serde_json::from_str(json).unwrap();
        assert_eq!(v.verdict, Outcome::Regressed);
        assert_eq!(v.models[0].metric, "median");
        assert!(v.models[0].baseline.is_none());
    }

    #[test]
    fn outcomes_order_from_best_to_worst() {
        assert!(Outcome::Regressed > Outcome::Inconclusive);
        assert!(Outcome::Inconclusive > Outcome::NoBaseline);
        assert!(Outcome::NoBaseline > Outcome::Pass);
        assert!(Outcome::Pass > Outcome::Improved);
    }
}
