//! The normalization ratio between two CPUs for one model, with its uncertainty.
//!
//! `ratio = target median / reference median`, both measured with exactly one CPU. In the brief's
//! example the reference is the developer's Apple M4 (0.2 s) and the target the production Xeon
//! (0.5 s): ratio 2.5, so one M4 core does the work of 2.5 Xeon cores for this model, and a load
//! that needs 2 M4 cores needs 5 Xeon cores.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::SizingError;

/// z for a two-sided 95% interval: a 95% half-width is taken as 1.96 standard deviations.
const Z95: f64 = 1.959_963_984_540_054;

/// Bumped on any incompatible change of `ratio_config.json`; readers refuse other versions.
pub const RATIO_TABLE_SCHEMA_VERSION: u32 = 1;

/// One CPU's latency for one model, measured with exactly one CPU, model loading and warm-up
/// excluded. All latencies in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyEstimate {
    /// CPU model as reported by the platform, e.g. "Intel Xeon E5-2680 v4".
    pub cpu_model: String,
    /// Identity of what was measured (model and fixture fingerprint). Two estimates are only
    /// comparable when this is equal.
    pub what: String,
    /// Median latency of one request, milliseconds.
    pub median_ms: f64,
    /// 95% confidence interval of the median, milliseconds (low, high).
    pub median_ci: (f64, f64),
    /// 95th percentile latency, milliseconds.
    pub p95_ms: f64,
    /// Number of timed iterations behind the estimate.
    pub n: usize,
}

impl LatencyEstimate {
    /// Checks the estimate can enter a ratio: positive finite latencies, an interval around the
    /// median, at least one sample.
    pub fn validate(&self) -> Result<(), SizingError> {
        let cpu = || self.cpu_model.clone();
        for (field, value) in [
            ("median_ms", self.median_ms),
            ("median_ci.low", self.median_ci.0),
            ("median_ci.high", self.median_ci.1),
            ("p95_ms", self.p95_ms),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(SizingError::InvalidLatency {
                    cpu: cpu(),
                    field,
                    value,
                });
            }
        }
        let (low, high) = self.median_ci;
        if !(low <= self.median_ms && self.median_ms <= high) {
            return Err(SizingError::InvalidInterval {
                cpu: cpu(),
                low,
                median: self.median_ms,
                high,
            });
        }
        if self.n == 0 {
            return Err(SizingError::NoSamples { cpu: cpu() });
        }
        Ok(())
    }

    /// Half-width of the median's interval in natural-log space.
    fn log_half_width(&self) -> f64 {
        (self.median_ci.1.ln() - self.median_ci.0.ln()) / 2.0
    }
}

/// How many reference cores one target core is worth, inverted: `value` target cores do the work
/// of one reference core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    pub target_cpu: String,
    pub reference_cpu: String,
    /// Target median / reference median (dimensionless). 2.5 = the target is 2.5x slower per core.
    pub value: f64,
    /// 95% interval of `value`, propagated in log space (see [`ratio`]).
    pub ci: (f64, f64),
    /// Worst-case interval from the two intervals' ends: (target low / reference high,
    /// target high / reference low). Wider than `ci`; shown so a reader sees both.
    pub bounds: (f64, f64),
    /// Target p95 / reference p95: whether the tails scale like the medians.
    pub p95_ratio: f64,
    /// Relative half-width of `ci`: (high - low) / 2 / value. 0.04 reads "2.5 +- 4%".
    pub relative_uncertainty: f64,
}

impl Ratio {
    /// Absolute half-width of `ci`, for "2.5 +- 0.1".
    pub fn half_width(&self) -> f64 {
        (self.ci.1 - self.ci.0) / 2.0
    }
}

/// The normalization ratio `target.median / reference.median`.
///
/// Uncertainty: each median's 95% interval is turned into a half-width in natural-log space,
/// `h = (ln high - ln low) / 2`, taken as ~1.96 standard deviations of the log median. Logs make a
/// ratio a difference, so the two independent errors combine in quadrature:
/// `sigma = sqrt((h_t / 1.96)^2 + (h_r / 1.96)^2)`, and the interval is
/// `value * exp(-/+ 1.96 * sigma)`. This is multiplicative, stays positive, and is slightly
/// asymmetric like the ratio itself. It treats each interval as symmetric in log space around its
/// median (order-statistic intervals are only roughly so). [`Ratio::bounds`] gives the
/// conservative worst-case pairing of the interval ends as well.
///
/// Refuses estimates of different models or fixtures (`what` differs), and invalid latencies.
pub fn ratio(target: &LatencyEstimate, reference: &LatencyEstimate) -> Result<Ratio, SizingError> {
    if target.what != reference.what {
        return Err(SizingError::DifferentWorkload {
            target_cpu: target.cpu_model.clone(),
            target_what: target.what.clone(),
            reference_cpu: reference.cpu_model.clone(),
            reference_what: reference.what.clone(),
        });
    }
    target.validate()?;
    reference.validate()?;
    let value = target.median_ms / reference.median_ms;
    let sigma = ((target.log_half_width() / Z95).powi(2)
        + (reference.log_half_width() / Z95).powi(2))
    .sqrt();
    let spread = (Z95 * sigma).exp();
    let ci = (value / spread, value * spread);
    Ok(Ratio {
        target_cpu: target.cpu_model.clone(),
        reference_cpu: reference.cpu_model.clone(),
        value,
        ci,
        bounds: (
            target.median_ci.0 / reference.median_ci.1,
            target.median_ci.1 / reference.median_ci.0,
        ),
        p95_ratio: target.p95_ms / reference.p95_ms,
        relative_uncertainty: (ci.1 - ci.0) / 2.0 / value,
    })
}

/// The team's `ratio_config.json`: every CPU's ratio to one reference CPU, for one model.
/// Keys are sorted (BTreeMap) so regenerated files give small diffs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioTable {
    pub schema_version: u32,
    /// The model and fixture identity every estimate shares.
    pub what: String,
    /// The CPU every ratio divides by; its own ratio is 1 by definition and is not listed.
    pub reference_cpu: String,
    /// Ratio of each other CPU model to the reference, keyed by CPU model.
    pub ratios: BTreeMap<String, Ratio>,
}

impl RatioTable {
    /// Builds the table from one estimate per CPU model, all of the same `what`.
    pub fn build(
        reference_cpu: &str,
        estimates: &[LatencyEstimate],
    ) -> Result<RatioTable, SizingError> {
        let mut by_cpu: BTreeMap<&str, &LatencyEstimate> = BTreeMap::new();
        for e in estimates {
            if by_cpu.insert(e.cpu_model.as_str(), e).is_some() {
                return Err(SizingError::DuplicateCpu {
                    cpu: e.cpu_model.clone(),
                });
            }
        }
        let Some(reference) = by_cpu.get(reference_cpu).copied() else {
            return Err(SizingError::UnknownReference {
                reference: reference_cpu.to_string(),
                available: by_cpu.keys().copied().collect::<Vec<_>>().join(", "),
            });
        };
        reference.validate()?;
        let mut ratios = BTreeMap::new();
        for (cpu, e) in by_cpu.iter().filter(|(cpu, _)| **cpu != reference_cpu) {
            ratios.insert(cpu.to_string(), ratio(e, reference)?);
        }
        Ok(RatioTable {
            schema_version: RATIO_TABLE_SCHEMA_VERSION,
            what: reference.what.clone(),
            reference_cpu: reference_cpu.to_string(),
            ratios,
        })
    }

    /// Ratio of `cpu` to the reference; `None` for CPUs not in the table (the reference itself
    /// included: its ratio is exactly 1).
    pub fn get(&self, cpu: &str) -> Option<&Ratio> {
        self.ratios.get(cpu)
    }

    /// Pretty JSON with a trailing newline, stable field and key order.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .expect("a RatioTable holds only finite numbers and strings");
        s.push('\n');
        s
    }

    /// Parses `ratio_config.json`, refusing other schema versions and ratios that are not
    /// positive finite numbers (a hand edit must not size production with a negative ratio).
    /// Errors do not name the file: the caller, who read it, does.
    pub fn from_json(text: &str) -> Result<RatioTable, SizingError> {
        let table: RatioTable = serde_json::from_str(text)?;
        if table.schema_version != RATIO_TABLE_SCHEMA_VERSION {
            return Err(SizingError::UnsupportedSchema {
                found: table.schema_version,
                expected: RATIO_TABLE_SCHEMA_VERSION,
            });
        }
        if table.ratios.is_empty() {
            return Err(SizingError::InvalidTable("`ratios` is empty".into()));
        }
        for (cpu, r) in &table.ratios {
            let positive = |v: f64| v.is_finite() && v > 0.0;
            let ok = positive(r.value)
                && positive(r.p95_ratio)
                && positive(r.ci.0)
                && positive(r.ci.1)
                && r.ci.0 <= r.value
                && r.value <= r.ci.1;
            if !ok {
                return Err(SizingError::InvalidTable(format!(
                    "the ratio for `{cpu}` is {} (95% interval {}-{}, p95 ratio {}): ratios are positive and lie inside their interval",
                    r.value, r.ci.0, r.ci.1, r.p95_ratio
                )));
            }
        }
        Ok(table)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An estimate whose median interval is median * (1 -/+ rel).
    pub(crate) fn est(cpu: &str, median_ms: f64, rel: f64) -> LatencyEstimate {
        LatencyEstimate {
            cpu_model: cpu.to_string(),
            what: "whisper-base@vi-30s".to_string(),
            median_ms,
            median_ci: (median_ms * (1.0 - rel), median_ms * (1.0 + rel)),
            p95_ms: median_ms * 1.2,
            n: 50,
        }
    }

    #[test]
    fn brief_example_xeon_over_m4_is_2_5() {
        let r = ratio(&est("Intel Xeon", 500.0, 0.0), &est("Apple M4", 200.0, 0.0)).unwrap();
        assert_eq!(r.value, 2.5);
        assert_eq!(r.ci, (2.5, 2.5));
        assert_eq!(r.bounds, (2.5, 2.5));
        assert_eq!(r.relative_uncertainty, 0.0);
        assert!((r.p95_ratio - 2.5).abs() < 1e-12);
    }

    #[test]
    fn uncertainty_combines_in_quadrature_in_log_space() {
        // Same relative width on both sides: log half-widths h, combined sqrt(2) h.
        let r = ratio(&est("X", 500.0, 0.02), &est("M", 200.0, 0.02)).unwrap();
        let h = (1.02f64.ln() - 0.98f64.ln()) / 2.0;
        let expect = 2.5 * (2f64.sqrt() * h).exp();
        assert!((r.ci.1 - expect).abs() < 1e-12, "{:?}", r.ci);
        assert!(
            (r.ci.0 * r.ci.1 - 2.5 * 2.5).abs() < 1e-12,
            "interval is symmetric in log space"
        );
        // The conservative bounds are wider than the propagated interval.
        assert!(r.bounds.0 < r.ci.0 && r.bounds.1 > r.ci.1);
        assert!((r.bounds.0 - 490.0 / 204.0).abs() < 1e-12);
    }

    #[test]
    fn narrow_and_wide_intervals_give_different_relative_uncertainty() {
        // 2.5 +- 0.1 and 2.5 +- 0.8: put all the spread on the target for a clean check.
        let narrow = ratio(&est("X", 500.0, 0.04), &est("M", 200.0, 0.0)).unwrap();
        let wide = ratio(&est("X", 500.0, 0.32), &est("M", 200.0, 0.0)).unwrap();
        assert!(
            (narrow.half_width() - 0.1).abs() < 0.005,
            "{}",
            narrow.half_width()
        );
        assert!(
            (wide.half_width() - 0.8).abs() < 0.06,
            "{}",
            wide.half_width()
        );
        assert!((narrow.relative_uncertainty - 0.04).abs() < 0.002);
        assert!(wide.relative_uncertainty > 0.3);
        assert!(wide.relative_uncertainty > 7.0 * narrow.relative_uncertainty);
    }

    #[test]
    fn different_models_are_refused_naming_both() {
        let mut other = est("Apple M4", 200.0, 0.01);
        other.what = "phobert@sentences".to_string();
        let err = ratio(&est("Intel Xeon", 500.0, 0.01), &other).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, SizingError::DifferentWorkload { .. }));
        assert!(
            msg.contains("whisper-base@vi-30s") && msg.contains("phobert@sentences"),
            "{msg}"
        );
        assert!(msg.contains("Intel Xeon") && msg.contains("Apple M4"));
    }

    #[test]
    fn non_positive_or_non_finite_latency_is_refused() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut e = est("Intel Xeon", 500.0, 0.01);
            e.median_ms = bad;
            let err = ratio(&e, &est("Apple M4", 200.0, 0.01)).unwrap_err();
            assert!(
                matches!(
                    err,
                    SizingError::InvalidLatency {
                        field: "median_ms",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
        let mut e = est("Apple M4", 200.0, 0.01);
        e.p95_ms = 0.0;
        assert!(matches!(
            ratio(&est("X", 500.0, 0.0), &e),
            Err(SizingError::InvalidLatency {
                field: "p95_ms",
                ..
            })
        ));
    }

    #[test]
    fn interval_must_contain_the_median_and_samples_must_exist() {
        let mut e = est("X", 500.0, 0.01);
        e.median_ci = (510.0, 520.0);
        assert!(matches!(
            e.validate(),
            Err(SizingError::InvalidInterval { .. })
        ));
        let mut e = est("X", 500.0, 0.01);
        e.n = 0;
        assert!(matches!(e.validate(), Err(SizingError::NoSamples { .. })));
    }

    #[test]
    fn table_relative_to_reference_with_sorted_keys_round_trips() {
        let estimates = [
            est("Intel Xeon E5-2680 v4", 500.0, 0.02),
            est("Apple M4", 200.0, 0.02),
            est("AMD EPYC 7B13", 300.0, 0.02),
        ];
        let table = RatioTable::build("Apple M4", &estimates).unwrap();
        assert_eq!(
            table.ratios.keys().collect::<Vec<_>>(),
            ["AMD EPYC 7B13", "Intel Xeon E5-2680 v4"]
        );
        assert_eq!(table.get("Intel Xeon E5-2680 v4").unwrap().value, 2.5);
        assert!((table.get("AMD EPYC 7B13").unwrap().value - 1.5).abs() < 1e-12);
        assert!(table.get("Apple M4").is_none());
        let json = table.to_json();
        assert!(json.starts_with("{\n  \"schema_version\": 1,"), "{json}");
        // serde_json parses floats to within one ulp unless its `float_roundtrip` feature is on.
        let back = RatioTable::from_json(&json).unwrap();
        assert_eq!(
            back.ratios.keys().collect::<Vec<_>>(),
            table.ratios.keys().collect::<Vec<_>>()
        );
        for (cpu, r) in &table.ratios {
            let b = &back.ratios[cpu];
            assert_eq!(
                (&b.target_cpu, &b.reference_cpu, b.value),
                (&r.target_cpu, &r.reference_cpu, r.value)
            );
            assert!(
                (b.ci.1 - r.ci.1).abs() < 1e-12
                    && (b.relative_uncertainty - r.relative_uncertainty).abs() < 1e-12
            );
        }
    }

    #[test]
    fn table_refuses_unknown_reference_duplicates_and_other_schema() {
        let estimates = [est("Apple M4", 200.0, 0.0), est("Intel Xeon", 500.0, 0.0)];
        let err = RatioTable::build("AMD EPYC", &estimates).unwrap_err();
        assert!(err.to_string().contains("Apple M4, Intel Xeon"), "{err}");
        let dup = [est("Apple M4", 200.0, 0.0), est("Apple M4", 210.0, 0.0)];
        assert!(matches!(
            RatioTable::build("Apple M4", &dup),
            Err(SizingError::DuplicateCpu { .. })
        ));
        let json = RatioTable::build("Apple M4", &estimates)
            .unwrap()
            .to_json()
            .replace("\"schema_version\": 1", "\"schema_version\": 2");
        assert!(matches!(
            RatioTable::from_json(&json),
            Err(SizingError::UnsupportedSchema {
                found: 2,
                expected: 1
            })
        ));
    }
}
