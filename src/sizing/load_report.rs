//! The result of `bench-gate load`: one row per stream count, with scale efficiency, the knee and
//! the grade. Built from raw latencies by [`LoadRow::from_run`]; pure.

use serde::{Deserialize, Serialize};

use super::load::{GradeBands, GradeOutcome, KneeRule, LoadSummary, grade, knee, scale_efficiency};
use crate::stats::Summary;

/// Bumped on any incompatible change of the load JSON.
pub const LOAD_SCHEMA_VERSION: u32 = 1;

/// One stream count. Latencies in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadRow {
    pub streams: usize,
    /// Successful requests.
    pub requests: usize,
    pub errors: u64,
    pub wall_s: f64,
    /// Successful requests per second of wall time.
    pub rps: f64,
    pub p50_ms: f64,
    pub p75_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Process CPU time / (wall x pinned CPUs), 0..1; `None` when CPU time was unreadable.
    pub cpu_utilisation: Option<f64>,
    /// (RPS / RPS at 1 stream) / streams; `None` without a 1-stream row.
    pub scale_efficiency: Option<f64>,
    pub grade: Option<GradeOutcome>,
    /// Tail percentiles' reliability at this sample count (p90 needs >= 64, p99 >= 662).
    pub notes: Vec<String>,
}

impl LoadRow {
    /// `None` when no request succeeded (nothing to take percentiles of).
    pub fn from_run(
        streams: usize,
        latencies_ms: &[f64],
        errors: u64,
        wall_s: f64,
        cpu_time_s: Option<f64>,
        cpus: usize,
    ) -> Option<LoadRow> {
        let s = Summary::of(latencies_ms)?;
        let rps = if wall_s > 0.0 {
            s.n as f64 / wall_s
        } else {
            0.0
        };
        let cpu_utilisation = cpu_time_s
            .filter(|_| wall_s > 0.0 && cpus > 0)
            .map(|c| c / (wall_s * cpus as f64));
        let mut notes = Vec::new();
        if s.n < 64 {
            notes.push(format!(
                "{} requests: p90 and above are rough (a p90 needs >= 64)",
                s.n
            ));
        } else if s.n < 662 {
            notes.push(format!("{} requests: p99 is not meaningful below 662", s.n));
        }
        Some(LoadRow {
            streams,
            requests: s.n,
            errors,
            wall_s,
            rps,
            p50_ms: s.p50,
            p75_ms: s.p75,
            p90_ms: s.p90,
            p95_ms: s.p95,
            p99_ms: s.p99,
            max_ms: s.max,
            cpu_utilisation,
            scale_efficiency: None,
            grade: None,
            notes,
        })
    }

    pub fn error_rate(&self) -> f64 {
        let all = self.requests as f64 + self.errors as f64;
        if all > 0.0 {
            self.errors as f64 / all
        } else {
            0.0
        }
    }
}

/// The `load -o` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    pub schema_version: u32,
    pub cpu_model: String,
    pub model: String,
    /// "closed" or "open at R RPS (seed S)".
    pub mode: String,
    pub pinned_cpus: Vec<usize>,
    pub intra_op_threads: u16,
    pub rows: Vec<LoadRow>,
    /// First stream count past which more streams only queue; `None` when not reached.
    pub knee_streams: Option<usize>,
    pub warnings: Vec<String>,
}

/// Fills scale efficiency (against the 1-stream row), grades, and returns the knee.
pub fn finish_rows(rows: &mut [LoadRow], bands: &GradeBands) -> Option<usize> {
    let rps_1 = rows.iter().find(|r| r.streams == 1).map(|r| r.rps);
    for r in rows.iter_mut() {
        r.scale_efficiency = rps_1.and_then(|b| scale_efficiency(b, r.rps, r.streams as u32));
        r.grade = Some(grade(
            &LoadSummary {
                rps: r.rps,
                p95_ms: r.p95_ms,
                error_rate: r.error_rate(),
                cpu_utilisation: r.cpu_utilisation.unwrap_or(f64::NAN),
            },
            bands,
        ));
    }
    let points: Vec<(usize, f64, f64)> =
        rows.iter().map(|r| (r.streams, r.rps, r.p95_ms)).collect();
    knee(&points, KneeRule::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sizing::load::Grade;

    #[test]
    fn rows_get_rps_utilisation_efficiency_and_grade() {
        // 1 stream: 40 requests of 50 ms in 2 s = 20 RPS on 1 busy CPU of 2.
        let one = LoadRow::from_run(1, &[50.0; 40], 0, 2.0, Some(2.0), 2).unwrap();
        assert_eq!(one.rps, 20.0);
        assert_eq!(one.cpu_utilisation, Some(0.5));
        // 2 streams: 72 requests in 2 s = 36 RPS, one error.
        let two = LoadRow::from_run(2, &[55.0; 72], 1, 2.0, Some(3.9), 2).unwrap();
        let mut rows = vec![one, two];
        let knee = finish_rows(&mut rows, &GradeBands::default());
        assert_eq!(rows[0].scale_efficiency, Some(1.0));
        assert_eq!(rows[1].scale_efficiency, Some(0.9));
        assert_eq!(knee, None);
        let g = rows[1].grade.as_ref().unwrap();
        assert_eq!(g.grade, Grade::NeedsWork, "36 RPS is under the 50 RPS band");
        assert!((rows[1].error_rate() - 1.0 / 73.0).abs() < 1e-12);
        assert!(rows[0].notes[0].contains("p90"));
    }

    #[test]
    fn no_success_no_row_and_unknown_cpu_never_passes_a_grade() {
        assert!(LoadRow::from_run(1, &[], 5, 1.0, None, 1).is_none());
        let mut rows = vec![LoadRow::from_run(1, &[1.0; 700], 0, 1.0, None, 1).unwrap()];
        finish_rows(&mut rows, &GradeBands::default());
        assert_ne!(rows[0].grade.as_ref().unwrap().grade, Grade::Excellent);
    }
}
