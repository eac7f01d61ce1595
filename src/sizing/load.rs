//! Throughput statistics of a load or concurrency run: scale efficiency, the saturation knee and
//! the service grade. Pure: numbers in, numbers out; `None` for inputs that define nothing.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::fmt_num;

/// `(rps_n / rps_1) / n`: how much of N-fold parallelism turns into throughput. 0.9 or more is
/// good (the brief). `None` when `rps_1` is not positive, `n` is 0 or a value is not finite.
pub fn scale_efficiency(rps_1: f64, rps_n: f64, n: u32) -> Option<f64> {
    let e = rps_n / rps_1 / f64::from(n);
    (rps_1 > 0.0 && rps_n >= 0.0 && n > 0 && e.is_finite()).then_some(e)
}

/// When a concurrency sweep counts as saturated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KneeRule {
    /// p95 must exceed the baseline p95 by more than this fraction (0.5 = 50%).
    pub p95_growth: f64,
    /// ... while RPS grows by less than this fraction over the previous stream count (0.1 = 10%).
    pub rps_growth: f64,
}

impl Default for KneeRule {
    fn default() -> Self {
        KneeRule {
            p95_growth: 0.5,
            rps_growth: 0.1,
        }
    }
}

/// The first stream count at which the service is saturated: its p95 is more than
/// `rule.p95_growth` above the baseline p95 (the smallest stream count measured, normally 1) and
/// its RPS grew by less than `rule.rps_growth` over the previous stream count. Past the knee,
/// extra concurrency only queues; the stream count before it is the useful concurrency.
///
/// `points` are `(streams, rps, p95_ms)` in any order. `None` when fewer than two points, a value
/// is not finite or not positive, or no point is saturated.
pub fn knee(points: &[(usize, f64, f64)], rule: KneeRule) -> Option<usize> {
    let usable = |&(s, rps, p95): &(usize, f64, f64)| {
        s > 0 && rps > 0.0 && p95 > 0.0 && rps.is_finite() && p95.is_finite()
    };
    if points.len() < 2 || !points.iter().all(usable) {
        return None;
    }
    let mut sorted = points.to_vec();
    sorted.sort_by_key(|p| p.0);
    let base_p95 = sorted[0].2;
    sorted.windows(2).find_map(|w| {
        let ((_, prev_rps, _), (streams, rps, p95)) = (w[0], w[1]);
        (p95 > base_p95 * (1.0 + rule.p95_growth) && rps < prev_rps * (1.0 + rule.rps_growth))
            .then_some(streams)
    })
}

/// What a load run produced, in the units the grades use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoadSummary {
    /// Successful requests per second.
    pub rps: f64,
    pub p95_ms: f64,
    /// Failed requests / all requests, a fraction (0.01 = 1%).
    pub error_rate: f64,
    /// Mean CPU use over the CPU limit, a fraction (0.7 = 70%).
    pub cpu_utilisation: f64,
}

/// One grade's thresholds: RPS at or above `min_rps` (strictly above when `min_rps_exclusive`),
/// and p95, error rate and CPU strictly below their maxima.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub min_rps: f64,
    pub min_rps_exclusive: bool,
    pub max_p95_ms: f64,
    pub max_error_rate: f64,
    pub max_cpu_utilisation: f64,
}

/// The bands, best first. Defaults are the brief's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GradeBands {
    pub excellent: Band,
    pub acceptable: Band,
}

impl Default for GradeBands {
    /// Excellent: RPS > 100, p95 < 200 ms, errors < 1%, CPU < 70%.
    /// Acceptable: RPS >= 50, p95 < 500 ms, errors < 5%, CPU < 85%.
    fn default() -> Self {
        GradeBands {
            excellent: Band {
                min_rps: 100.0,
                min_rps_exclusive: true,
                max_p95_ms: 200.0,
                max_error_rate: 0.01,
                max_cpu_utilisation: 0.70,
            },
            acceptable: Band {
                min_rps: 50.0,
                min_rps_exclusive: false,
                max_p95_ms: 500.0,
                max_error_rate: 0.05,
                max_cpu_utilisation: 0.85,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Grade {
    Excellent,
    Acceptable,
    NeedsWork,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Criterion {
    Rps,
    P95,
    ErrorRate,
    CpuUtilisation,
}

/// One criterion that kept the run out of the band above its grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Miss {
    pub criterion: Criterion,
    /// The grade the run missed because of this criterion.
    pub band: Grade,
    pub value: f64,
    pub bound: f64,
}

impl fmt::Display for Miss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let band = if self.band == Grade::Excellent {
            "excellent"
        } else {
            "acceptable"
        };
        let pct = |x: f64| format!("{}%", fmt_num(x * 100.0, 1));
        match self.criterion {
            // A value equal to the bound only misses a strict (exclusive) minimum.
            Criterion::Rps => {
                let verb = if self.value < self.bound {
                    "is below"
                } else {
                    "is not above"
                };
                write!(
                    f,
                    "{} RPS {verb} {} RPS ({band})",
                    fmt_num(self.value, 1),
                    fmt_num(self.bound, 1)
                )
            }
            Criterion::P95 => write!(
                f,
                "p95 {} ms is not below {} ms ({band})",
                fmt_num(self.value, 1),
                fmt_num(self.bound, 1)
            ),
            Criterion::ErrorRate => write!(
                f,
                "error rate {} is not below {} ({band})",
                pct(self.value),
                pct(self.bound)
            ),
            Criterion::CpuUtilisation => write!(
                f,
                "CPU {} is not below {} ({band})",
                pct(self.value),
                pct(self.bound)
            ),
        }
    }
}

/// A grade with the reasons it is not the grade above: empty for Excellent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeOutcome {
    pub grade: Grade,
    pub misses: Vec<Miss>,
}

fn misses(s: &LoadSummary, band: &Band, grade: Grade) -> Vec<Miss> {
    let rps_ok = if band.min_rps_exclusive {
        s.rps > band.min_rps
    } else {
        s.rps >= band.min_rps
    };
    let checks = [
        (Criterion::Rps, rps_ok, s.rps, band.min_rps),
        (
            Criterion::P95,
            s.p95_ms < band.max_p95_ms,
            s.p95_ms,
            band.max_p95_ms,
        ),
        (
            Criterion::ErrorRate,
            s.error_rate < band.max_error_rate,
            s.error_rate,
            band.max_error_rate,
        ),
        (
            Criterion::CpuUtilisation,
            s.cpu_utilisation < band.max_cpu_utilisation,
            s.cpu_utilisation,
            band.max_cpu_utilisation,
        ),
    ];
    checks
        .into_iter()
        .filter(|c| !c.1) // NaN fails every comparison, so it is a miss, never a pass.
        .map(|(criterion, _, value, bound)| Miss {
            criterion,
            band: grade,
            value,
            bound,
        })
        .collect()
}

/// Grades a load run: Excellent when every excellent criterion holds, Acceptable when every
/// acceptable one does, else NeedsWork. `misses` lists the criteria of the band just above.
pub fn grade(summary: &LoadSummary, bands: &GradeBands) -> GradeOutcome {
    let missed_excellent = misses(summary, &bands.excellent, Grade::Excellent);
    if missed_excellent.is_empty() {
        return GradeOutcome {
            grade: Grade::Excellent,
            misses: vec![],
        };
    }
    let missed_acceptable = misses(summary, &bands.acceptable, Grade::Acceptable);
    if missed_acceptable.is_empty() {
        GradeOutcome {
            grade: Grade::Acceptable,
            misses: missed_excellent,
        }
    } else {
        GradeOutcome {
            grade: Grade::NeedsWork,
            misses: missed_acceptable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rps: f64, p95_ms: f64, error_rate: f64, cpu_utilisation: f64) -> LoadSummary {
        LoadSummary {
            rps,
            p95_ms,
            error_rate,
            cpu_utilisation,
        }
    }

    #[test]
    fn scale_efficiency_is_the_share_of_n_fold_throughput() {
        assert_eq!(scale_efficiency(10.0, 36.0, 4), Some(0.9));
        assert_eq!(scale_efficiency(10.0, 10.0, 1), Some(1.0));
        assert_eq!(scale_efficiency(0.0, 10.0, 4), None);
        assert_eq!(scale_efficiency(10.0, 10.0, 0), None);
        assert_eq!(scale_efficiency(10.0, f64::NAN, 2), None);
    }

    #[test]
    fn knee_is_where_latency_climbs_and_throughput_stops() {
        let sweep = [
            (1, 2.0, 520.0),
            (2, 3.9, 540.0),
            (4, 7.5, 610.0),
            (8, 7.9, 1100.0),
            (16, 8.0, 2200.0),
        ];
        assert_eq!(knee(&sweep, KneeRule::default()), Some(8));
        // Order does not matter.
        let mut shuffled = sweep;
        shuffled.reverse();
        assert_eq!(knee(&shuffled, KneeRule::default()), Some(8));
        // Latency climbs but throughput still grows 30%: not saturated yet.
        assert_eq!(
            knee(&[(1, 2.0, 500.0), (2, 2.6, 900.0)], KneeRule::default()),
            None
        );
        // Flat throughput, latency +40%: under the 50% rule, over a 30% rule.
        let flat = [(1, 2.0, 500.0), (2, 2.05, 700.0)];
        assert_eq!(knee(&flat, KneeRule::default()), None);
        assert_eq!(
            knee(
                &flat,
                KneeRule {
                    p95_growth: 0.3,
                    rps_growth: 0.1
                }
            ),
            Some(2)
        );
        assert_eq!(knee(&[(1, 2.0, 500.0)], KneeRule::default()), None);
        assert_eq!(
            knee(
                &[(1, 2.0, 500.0), (2, f64::NAN, 900.0)],
                KneeRule::default()
            ),
            None
        );
    }

    #[test]
    fn excellent_band() {
        let g = grade(&run(150.0, 120.0, 0.001, 0.55), &GradeBands::default());
        assert_eq!(
            g,
            GradeOutcome {
                grade: Grade::Excellent,
                misses: vec![]
            }
        );
    }

    #[test]
    fn acceptable_band_names_what_missed_excellent() {
        let g = grade(&run(100.0, 250.0, 0.001, 0.55), &GradeBands::default());
        assert_eq!(g.grade, Grade::Acceptable);
        let crit: Vec<_> = g.misses.iter().map(|m| m.criterion).collect();
        assert_eq!(crit, [Criterion::Rps, Criterion::P95]); // exactly 100 RPS is not "> 100"
        assert_eq!(
            g.misses[0].to_string(),
            "100 RPS is not above 100 RPS (excellent)"
        );
        assert_eq!(
            g.misses[1].to_string(),
            "p95 250 ms is not below 200 ms (excellent)"
        );
        assert_eq!(
            grade(&run(50.0, 150.0, 0.0, 0.5), &GradeBands::default()).grade,
            Grade::Acceptable
        );
    }

    #[test]
    fn needs_work_names_what_missed_acceptable() {
        let g = grade(&run(49.9, 300.0, 0.06, 0.9), &GradeBands::default());
        assert_eq!(g.grade, Grade::NeedsWork);
        let text: Vec<_> = g.misses.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "49.9 RPS is below 50 RPS (acceptable)",
                "error rate 6% is not below 5% (acceptable)",
                "CPU 90% is not below 85% (acceptable)",
            ]
        );
        assert_eq!(
            grade(&run(f64::NAN, 100.0, 0.0, 0.1), &GradeBands::default()).grade,
            Grade::NeedsWork
        );
    }

    #[test]
    fn bands_are_configurable() {
        let mut bands = GradeBands::default();
        bands.excellent.min_rps = 10.0;
        assert_eq!(
            grade(&run(20.0, 100.0, 0.0, 0.5), &bands).grade,
            Grade::Excellent
        );
    }
}
