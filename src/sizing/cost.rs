//! Cost per 1000 predictions and the cheapest instance type that holds a plan's pods.

use serde::{Deserialize, Serialize};

use super::SizingError;
use super::plan::{CapacityPlan, QosClass};
use super::resources::Millicores;

/// Hours in a billing month, the cloud providers' convention (365 * 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// One instance type of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub name: String,
    /// Kubernetes CPUs of the node (vCPUs: hyperthreads on most x86 clouds).
    pub vcpus: f64,
    pub memory_gib: f64,
    /// On-demand price of one node, catalogue currency per hour.
    pub price_per_hour: f64,
}

impl Instance {
    /// A zero or negative price would make every plan free, so it is refused, not skipped.
    pub fn validate(&self) -> Result<(), SizingError> {
        for (field, value) in [
            ("price_per_hour", self.price_per_hour),
            ("vcpus", self.vcpus),
            ("memory_gib", self.memory_gib),
        ] {
            if !(value.is_finite() && value > 0.0) {
                let rule = if field == "price_per_hour" {
                    "it must be a positive, finite price per hour (zero would make every plan free)"
                } else {
                    "it must be a positive, finite number"
                };
                return Err(SizingError::InvalidInstance {
                    name: self.name.clone(),
                    field,
                    value,
                    rule,
                });
            }
        }
        Ok(())
    }
}

/// A validated catalogue: non-empty, unique names, every instance valid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalogue {
    instances: Vec<Instance>,
}

impl Catalogue {
    pub fn new(instances: Vec<Instance>) -> Result<Catalogue, SizingError> {
        if instances.is_empty() {
            return Err(SizingError::EmptyCatalogue);
        }
        for (i, instance) in instances.iter().enumerate() {
            instance.validate()?;
            if instances[..i]
                .iter()
                .any(|other| other.name == instance.name)
            {
                return Err(SizingError::DuplicateInstance(instance.name.clone()));
            }
        }
        Ok(Catalogue { instances })
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }
}

/// What each node keeps for itself, and how far pods are spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    reserve_vcpu: f64,
    reserve_memory_gib: f64,
    spread_nodes: u32,
}

impl Default for FitOptions {
    /// 0.1 vCPU and 0.5 GiB per node for the kubelet and system daemons; pods on at least 2 nodes.
    fn default() -> Self {
        FitOptions {
            reserve_vcpu: 0.1,
            reserve_memory_gib: 0.5,
            spread_nodes: 2,
        }
    }
}

impl FitOptions {
    /// `spread_nodes`: the pods go on at least `min(pods, spread_nodes)` nodes so one node's loss
    /// leaves the service up.
    pub fn new(
        reserve_vcpu: f64,
        reserve_memory_gib: f64,
        spread_nodes: u32,
    ) -> Result<FitOptions, SizingError> {
        for (field, value) in [
            ("reserve_vcpu", reserve_vcpu),
            ("reserve_memory_gib", reserve_memory_gib),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(SizingError::InvalidReserve { field, value });
            }
        }
        Ok(FitOptions {
            reserve_vcpu,
            reserve_memory_gib,
            spread_nodes,
        })
    }
}

/// The cheapest way to run a plan's pods on one instance type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    pub instance: Instance,
    pub nodes_needed: u32,
    /// Most pods one node holds (CPU, memory and reserve counted).
    pub pods_per_node: u32,
    /// nodes_needed * price_per_hour.
    pub hourly_cost: f64,
    /// hourly_cost * 730 h.
    pub monthly_cost: f64,
    /// What 1000 predictions cost on these nodes at the plan's target RPS.
    pub cost_per_1000: f64,
    /// [`cost_per_1000`] of this instance if all its vCPUs were used at the target utilisation:
    /// the floor that bin-packing waste sits above.
    pub cost_per_1000_full_use: f64,
}

/// Cost of 1000 predictions on `instance` when each vCPU serves `rps_per_vcpu` at `utilisation`:
/// `price_per_hour / (rps_per_vcpu * vcpus * utilisation * 3600) * 1000`.
pub fn cost_per_1000(instance: &Instance, rps_per_vcpu: f64, utilisation: f64) -> f64 {
    instance.price_per_hour / (rps_per_vcpu * instance.vcpus * utilisation * 3600.0) * 1000.0
}

/// How many of the plan's pods one node of `instance` holds.
///
/// Pods are scheduled by their requests. Guaranteed pods with whole CPUs get exclusive cores from
/// the static CPU manager, which reserves the kubelet/system CPU in whole cores, so such pods see
/// `floor(vcpus) - ceil(reserve)` CPUs; other pods see `vcpus - reserve`.
fn pods_per_node(plan: &CapacityPlan, instance: &Instance, options: &FitOptions) -> u32 {
    let request = plan.per_pod.cpu_request;
    let exclusive = plan.qos == QosClass::Guaranteed && request.is_whole();
    let cpu = if exclusive {
        (instance.vcpus.floor() - options.reserve_vcpu.ceil()).max(0.0)
    } else {
        (instance.vcpus - options.reserve_vcpu).max(0.0)
    };
    let cpu = Millicores((cpu * 1000.0).round().min(f64::from(u32::MAX)) as u32);
    let memory_mib = ((instance.memory_gib - options.reserve_memory_gib) * 1024.0).max(0.0);
    let by_cpu = cpu.0 / request.0.max(1);
    let by_memory = (memory_mib / plan.per_pod.memory_request_mib.max(1) as f64).floor() as u32;
    by_cpu.min(by_memory)
}

/// The instance type and node count that hold every pod at the lowest hourly price; ties go to
/// fewer nodes, then to the name. `None` when no instance type holds even one pod.
pub fn cheapest_fit(
    plan: &CapacityPlan,
    catalogue: &Catalogue,
    options: &FitOptions,
) -> Option<Fit> {
    let mut best: Option<Fit> = None;
    for instance in catalogue.instances() {
        let per_node = pods_per_node(plan, instance, options);
        if per_node == 0 {
            continue;
        }
        let nodes = plan
            .pods
            .div_ceil(per_node)
            .max(plan.pods.min(options.spread_nodes));
        let hourly_cost = f64::from(nodes) * instance.price_per_hour;
        let fit = Fit {
            instance: instance.clone(),
            nodes_needed: nodes,
            pods_per_node: per_node,
            hourly_cost,
            monthly_cost: hourly_cost * HOURS_PER_MONTH,
            cost_per_1000: hourly_cost / (plan.input.target_rps * 3600.0) * 1000.0,
            cost_per_1000_full_use: cost_per_1000(
                instance,
                plan.rps_per_core,
                plan.input.target_utilisation,
            ),
        };
        let better = match &best {
            None => true,
            Some(b) => {
                let tol = 1e-9 * b.hourly_cost.max(fit.hourly_cost);
                if (fit.hourly_cost - b.hourly_cost).abs() > tol {
                    fit.hourly_cost < b.hourly_cost
                } else {
                    (fit.nodes_needed, &fit.instance.name) < (b.nodes_needed, &b.instance.name)
                }
            }
        };
        if better {
            best = Some(fit);
        }
    }
    best
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sizing::plan::{Policy, plan, tests::worked_example};

    pub(crate) fn inst(name: &str, vcpus: f64, memory_gib: f64, price_per_hour: f64) -> Instance {
        Instance {
            name: name.to_string(),
            vcpus,
            memory_gib,
            price_per_hour,
        }
    }

    /// A made-up catalogue (names and prices are illustrative, not a provider's).
    pub(crate) fn catalogue() -> Catalogue {
        Catalogue::new(vec![
            inst("xeon-2x8", 2.0, 8.0, 0.10),
            inst("xeon-4x8", 4.0, 8.0, 0.17),
            inst("xeon-8x16", 8.0, 16.0, 0.34),
        ])
        .unwrap()
    }

    #[test]
    fn cost_per_1000_follows_the_formula() {
        // 0.36 / (2 RPS * 4 vCPU * 0.5 * 3600) * 1000 = 0.025
        let c = cost_per_1000(&inst("n", 4.0, 8.0, 0.36), 2.0, 0.5);
        assert!((c - 0.025).abs() < 1e-12, "{c}");
    }

    #[test]
    fn guaranteed_worked_example_takes_two_small_nodes() {
        // 2 pods of 3 exclusive CPUs: a 4-vCPU node keeps 1 whole core, so holds exactly one pod.
        let p = plan(&worked_example(Policy::Guaranteed, 1.0)).unwrap();
        let fit = cheapest_fit(&p, &catalogue(), &FitOptions::default()).unwrap();
        assert_eq!(
            (
                fit.instance.name.as_str(),
                fit.nodes_needed,
                fit.pods_per_node
            ),
            ("xeon-4x8", 2, 1)
        );
        assert!((fit.hourly_cost - 0.34).abs() < 1e-12);
        assert!((fit.monthly_cost - 248.2).abs() < 1e-9);
        assert!((fit.cost_per_1000 - 0.34 / 36.0).abs() < 1e-12);
    }

    #[test]
    fn cheaper_instance_wins_and_ties_go_to_fewer_nodes() {
        let p = plan(&worked_example(Policy::Guaranteed, 1.0)).unwrap();
        let cheap = Catalogue::new(vec![
            inst("dear", 4.0, 8.0, 0.20),
            inst("cheap", 4.0, 8.0, 0.15),
        ])
        .unwrap();
        assert_eq!(
            cheapest_fit(&p, &cheap, &FitOptions::default())
                .unwrap()
                .instance
                .name,
            "cheap"
        );
        // No spread required: one 8-vCPU node at 0.34 ties two 4-vCPU nodes at 0.17.
        let solo = FitOptions::new(0.1, 0.5, 1).unwrap();
        let fit = cheapest_fit(&p, &catalogue(), &solo).unwrap();
        assert_eq!(
            (fit.instance.name.as_str(), fit.nodes_needed),
            ("xeon-8x16", 1)
        );
    }

    #[test]
    fn pods_spread_over_at_least_two_nodes_and_must_fit_one_node() {
        let p = plan(&worked_example(Policy::DEFAULT_HEADROOM, 1.0)).unwrap();
        let big = Catalogue::new(vec![inst("huge", 64.0, 256.0, 1.0)]).unwrap();
        let fit = cheapest_fit(&p, &big, &FitOptions::default()).unwrap();
        assert_eq!((fit.nodes_needed, fit.pods_per_node), (2, 25)); // 63.9 / 2.5
        let tiny = Catalogue::new(vec![
            inst("tiny", 2.0, 8.0, 0.01),
            inst("low-mem", 8.0, 1.5, 0.01),
        ])
        .unwrap();
        assert_eq!(cheapest_fit(&p, &tiny, &FitOptions::default()), None);
    }

    #[test]
    fn bad_catalogue_entries_are_refused_by_name() {
        let err = Catalogue::new(vec![inst("free-lunch", 4.0, 8.0, 0.0)]).unwrap_err();
        assert!(matches!(
            err,
            SizingError::InvalidInstance {
                field: "price_per_hour",
                ..
            }
        ));
        assert!(
            err.to_string().contains("free-lunch") && err.to_string().contains("free"),
            "{err}"
        );
        for bad in [
            inst("a", 0.0, 8.0, 1.0),
            inst("a", 4.0, -1.0, 1.0),
            inst("a", 4.0, 8.0, f64::NAN),
        ] {
            assert!(matches!(
                Catalogue::new(vec![bad]),
                Err(SizingError::InvalidInstance { .. })
            ));
        }
        assert!(matches!(
            Catalogue::new(vec![]),
            Err(SizingError::EmptyCatalogue)
        ));
        let dup = vec![inst("a", 4.0, 8.0, 1.0), inst("a", 8.0, 8.0, 2.0)];
        assert!(matches!(
            Catalogue::new(dup),
            Err(SizingError::DuplicateInstance(_))
        ));
        assert!(matches!(
            FitOptions::new(-0.1, 0.5, 2),
            Err(SizingError::InvalidReserve { .. })
        ));
    }
}
