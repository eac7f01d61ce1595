//! `report --format json`: the same rows and headline as the markdown, for scripts and
//! dashboards that should not parse a comment.

use serde::Serialize;

use super::input::{Outcome, ReportInput, marker};
use super::markdown::headline;
use super::rows::{Row, rows};
use crate::sizing::SizingReport;

/// Bumped on any incompatible change of the JSON report.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    gate: &'a str,
    marker: String,
    verdict: Outcome,
    exit_code: u8,
    /// The one-line verdict as markdown (escaped), exactly as the comment shows it.
    headline: String,
    /// Worst verdict first.
    models: Vec<Row<'a>>,
    sizing: Option<&'a SizingReport>,
    commit: Option<&'a str>,
    run_url: Option<&'a str>,
}

/// Pretty JSON with a trailing newline.
pub fn render(input: &ReportInput) -> String {
    let rows = rows(input);
    let report = JsonReport {
        schema_version: REPORT_SCHEMA_VERSION,
        gate: &input.gate,
        marker: marker(&input.gate),
        verdict: input.verdict.verdict,
        exit_code: input.verdict.exit_code,
        headline: headline(input, &rows),
        models: rows,
        sizing: input.sizing.as_ref(),
        commit: input.provenance.commit.as_deref(),
        run_url: input.provenance.run_url.as_deref(),
    };
    // Only strings, numbers and options of them: serialisation cannot fail; if it ever did,
    // an empty object is a better output than a panic in CI.
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}
