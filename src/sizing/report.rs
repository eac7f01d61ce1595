//! The versioned JSON record of a capacity plan, with the `resources:` block to paste. Its
//! markdown is `report::plan`.

use serde::{Deserialize, Serialize};

use super::cost::Fit;
use super::plan::CapacityPlan;
use super::ratio::Ratio;
use super::resources::memory_quantity;

/// Bumped on any incompatible change of [`SizingReport`].
pub const SIZING_REPORT_SCHEMA_VERSION: u32 = 1;

/// Everything sizing decided, for the JSON output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizingReport {
    pub schema_version: u32,
    pub ratio: Option<Ratio>,
    pub plan: CapacityPlan,
    /// The `resources:` block, exactly as the markdown shows it.
    pub resources_yaml: String,
    pub fit: Option<Fit>,
    /// The plan's warnings as sentences (the structured form is in `plan.warnings`).
    pub warnings: Vec<String>,
}

impl SizingReport {
    pub fn new(plan: &CapacityPlan, ratio: Option<&Ratio>, fit: Option<&Fit>) -> SizingReport {
        SizingReport {
            schema_version: SIZING_REPORT_SCHEMA_VERSION,
            ratio: ratio.cloned(),
            plan: plan.clone(),
            resources_yaml: resources_yaml(plan),
            fit: fit.cloned(),
            warnings: plan.warnings.iter().map(ToString::to_string).collect(),
        }
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .expect("a SizingReport holds only numbers and strings");
        s.push('\n');
        s
    }
}

/// The `resources:` block for the serving container, to paste under the container spec.
/// Values are quoted so YAML never reads them as numbers.
pub fn resources_yaml(plan: &CapacityPlan) -> String {
    let p = &plan.per_pod;
    format!(
        "resources:\n  requests:\n    cpu: \"{}\"\n    memory: \"{}\"\n  limits:\n    cpu: \"{}\"\n    memory: \"{}\"\n",
        p.cpu_request.quantity(),
        memory_quantity(p.memory_request_mib),
        p.cpu_limit.quantity(),
        memory_quantity(p.memory_limit_mib),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sizing::cost::{FitOptions, cheapest_fit, tests::catalogue};
    use crate::sizing::plan::{PlanInput, Policy, plan};
    use crate::sizing::ratio::{ratio, tests::est};

    /// Snapshot files named without the crate's module path, so they stay valid when this
    /// module moves between crates.
    pub(crate) fn snapshots() -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings
    }

    /// The brief's example, Headroom policy, utilisation 1.0, with `rel` relative width on the
    /// Xeon's median interval (0.04 gives the ratio a realistic ±0.1).
    pub(crate) fn worked_example_report(rel: f64) -> (CapacityPlan, Ratio, Fit) {
        let r = ratio(
            &est("Intel Xeon E5-2680 v4", 500.0, rel),
            &est("Apple M4", 200.0, 0.0),
        )
        .unwrap();
        let input = PlanInput {
            policy: Policy::DEFAULT_HEADROOM,
            target_utilisation: 1.0,
            ..PlanInput::derived(10.0, 200.0, &r, 1024.0)
        };
        let p = plan(&input).unwrap();
        let fit = cheapest_fit(&p, &catalogue(), &FitOptions::default()).unwrap();
        (p, r, fit)
    }

    #[test]
    fn worked_example_json_is_versioned_and_stable() {
        // Exact intervals, so no ln/exp result (last bits may vary by libm) enters the snapshot.
        let (p, r, fit) = worked_example_report(0.0);
        let report = SizingReport::new(&p, Some(&r), Some(&fit));
        assert_eq!(report.schema_version, 1);
        let back: SizingReport = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(back.plan.per_pod, report.plan.per_pod);
        assert_eq!(back.warnings, report.warnings);
        snapshots()
            .bind(|| insta::assert_json_snapshot!("sizing_report_worked_example_json", report));
    }
}
