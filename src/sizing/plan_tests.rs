//! Tests of `plan.rs`: the brief's worked example, hand-checked variants, bad inputs, invariants.

use proptest::prelude::*;

use super::*;
use crate::sizing::ratio::{ratio, tests::est};
use crate::sizing::resources_yaml;

/// The brief: 10 RPS, M4 0.2 s per request, ratio 2.5 -> Xeon 0.5 s.
pub(crate) fn worked_example(policy: Policy, target_utilisation: f64) -> PlanInput {
    let r = ratio(
        &est("Intel Xeon E5-2680 v4", 500.0, 0.0),
        &est("Apple M4", 200.0, 0.0),
    )
    .unwrap();
    PlanInput {
        policy,
        target_utilisation,
        ..PlanInput::derived(10.0, 200.0, &r, 1024.0)
    }
}

#[test]
fn worked_example_headroom_is_two_pods_of_2_5_request_3_limit() {
    let p = plan(&worked_example(Policy::DEFAULT_HEADROOM, 1.0)).unwrap();
    assert_eq!(p.input.latency_ms_per_request_on_one_core, 500.0);
    assert_eq!(p.rps_per_core, 2.0);
    assert_eq!(p.cores_needed, 5.0);
    assert_eq!(p.pods, 2);
    assert_eq!(p.per_pod.cpu_request, Millicores(2500));
    assert_eq!(p.per_pod.cpu_limit, Millicores(3000));
    assert_eq!(p.qos, QosClass::Burstable);
    assert_eq!((p.intra_op_num_threads, p.workers_per_pod), (1, 3));
    assert_eq!(p.mean_in_flight, 5.0);
    assert_eq!(p.per_pod.memory_request_mib, 1280);
    // 1.0 reproduces the brief's arithmetic, and is warned as too tight for production.
    assert_eq!(
        p.warnings,
        vec![
            Warning::BurstableNoExclusiveCores,
            Warning::HighUtilisation { target: 1.0 }
        ]
    );
    assert_eq!(
        resources_yaml(&p),
        "resources:\n  requests:\n    cpu: \"2500m\"\n    memory: \"1280Mi\"\n  limits:\n    cpu: \"3\"\n    memory: \"1280Mi\"\n"
    );
}

#[test]
fn worked_example_guaranteed_is_two_pods_of_3_whole_cpus() {
    let p = plan(&worked_example(Policy::Guaranteed, 1.0)).unwrap();
    assert_eq!(p.pods, 2);
    assert_eq!(p.per_pod.cpu_request, Millicores::cpus(3));
    assert_eq!(p.per_pod.cpu_limit, Millicores::cpus(3));
    assert_eq!(p.qos, QosClass::Guaranteed);
    assert_eq!((p.intra_op_num_threads, p.workers_per_pod), (1, 3));
    assert_eq!(
        p.warnings,
        vec![
            Warning::GuaranteedRoundedUp {
                exact_per_pod: 2.5,
                per_pod: 3
            },
            Warning::HighUtilisation { target: 1.0 }
        ]
    );
    assert!(
        resources_yaml(&p)
            .contains("    cpu: \"3\"\n    memory: \"1280Mi\"\n  limits:\n    cpu: \"3\"")
    );
}

#[test]
fn worked_example_at_70_percent_utilisation() {
    // 10 RPS / 2 RPS per core / 0.7 = 7.142857 cores; 2 pods of 3.571 each.
    let p = plan(&worked_example(Policy::DEFAULT_HEADROOM, 0.7)).unwrap();
    assert!((p.cores_needed - 50.0 / 7.0).abs() < 1e-12);
    assert_eq!(p.pods, 2);
    assert_eq!(p.per_pod.cpu_request, Millicores(3600)); // 3.571 up to 0.1
    assert_eq!(p.per_pod.cpu_limit, Millicores(5000)); // 3.6 * 1.2 = 4.32 up to a whole CPU
    assert_eq!((p.intra_op_num_threads, p.workers_per_pod), (1, 5));
    let g = plan(&worked_example(Policy::Guaranteed, 0.7)).unwrap();
    assert_eq!((g.pods, g.per_pod.cpu_limit), (2, Millicores::cpus(4)));
}

#[test]
fn big_loads_add_pods_rather_than_grow_them() {
    // 100 RPS at 500 ms = 50 cores at 100%: ceil(50 / 4) = 13 pods of 3.85 -> 4 CPUs.
    let mut input = PlanInput::measured("Intel Xeon", 100.0, 500.0, 900.0);
    input.target_utilisation = 1.0;
    let p = plan(&input).unwrap();
    assert_eq!((p.pods, p.per_pod.cpu_limit), (13, Millicores::cpus(4)));
    assert_eq!(p.per_pod.memory_request_mib, 1152); // 900 * 1.25 = 1125 -> 18 * 64
}

#[test]
fn threads_beyond_the_quota_are_clamped_and_warned() {
    let mut input = worked_example(Policy::Guaranteed, 1.0);
    input.threads_per_request = 4;
    let p = plan(&input).unwrap();
    assert_eq!((p.intra_op_num_threads, p.workers_per_pod), (3, 1));
    assert!(p.warnings.contains(&Warning::ThreadsClamped {
        requested: 4,
        allowed: 3
    }));
    input.threads_per_request = 2;
    let p = plan(&input).unwrap();
    assert_eq!((p.intra_op_num_threads, p.workers_per_pod), (2, 1));
}

#[test]
fn p95_over_slo_warns_that_cores_do_not_fix_one_request() {
    let mut input = worked_example(Policy::Guaranteed, 0.7);
    input.p95_slo_ms = Some(500.0);
    input.p95_ms = Some(650.0);
    let p = plan(&input).unwrap();
    let w = p
        .warnings
        .iter()
        .find(|w| matches!(w, Warning::P95OverSlo { .. }))
        .unwrap();
    assert!(
        w.to_string().contains("not the speed of one request"),
        "{w}"
    );
    input.p95_ms = None;
    assert!(
        plan(&input)
            .unwrap()
            .warnings
            .contains(&Warning::SloNotChecked { slo_ms: 500.0 })
    );
    input.p95_ms = Some(450.0);
    assert!(
        !plan(&input)
            .unwrap()
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::P95OverSlo { .. }))
    );
}

#[test]
fn high_utilisation_and_burstable_are_warned() {
    let p = plan(&worked_example(Policy::DEFAULT_HEADROOM, 0.9)).unwrap();
    assert!(
        p.warnings
            .contains(&Warning::HighUtilisation { target: 0.9 })
    );
    let msg = Warning::BurstableNoExclusiveCores.to_string();
    assert!(msg.contains("static") && msg.contains("4-10 s"), "{msg}");
}

#[test]
fn a_wide_ratio_interval_that_outgrows_the_request_is_warned() {
    let r = ratio(
        &est("Intel Xeon", 500.0, 0.32),
        &est("Apple M4", 200.0, 0.0),
    )
    .unwrap();
    let input = PlanInput {
        target_utilisation: 1.0,
        ..PlanInput::derived(10.0, 200.0, &r, 1024.0)
    };
    let p = plan(&input).unwrap();
    assert!(
        p.warnings
            .iter()
            .any(|w| matches!(w, Warning::RatioUncertainty { .. })),
        "{:?}",
        p.warnings
    );
}

#[test]
fn bad_inputs_each_give_their_error() {
    let ok = worked_example(Policy::DEFAULT_HEADROOM, 0.7);
    let check = |edit: &dyn Fn(&mut PlanInput), want: &dyn Fn(&SizingError) -> bool| {
        let mut input = ok.clone();
        edit(&mut input);
        let err = plan(&input).unwrap_err();
        assert!(want(&err), "unexpected: {err}");
        assert!(err.to_string().contains("fix:"), "{err}");
    };
    for rps in [0.0, -3.0, f64::NAN, f64::INFINITY] {
        check(&|i| i.target_rps = rps, &|e| {
            matches!(e, SizingError::InvalidTargetRps(_))
        });
    }
    for u in [0.0, 1.01, -0.5, f64::NAN] {
        check(&|i| i.target_utilisation = u, &|e| {
            matches!(e, SizingError::InvalidUtilisation(_))
        });
    }
    for l in [0.0, -1.0, f64::NAN] {
        check(
            &|i| {
                i.latency_ms_per_request_on_one_core = l;
                i.source = Source::Measured;
            },
            &|e| matches!(e, SizingError::InvalidPlanLatency(_)),
        );
    }
    check(&|i| i.latency_ms_per_request_on_one_core = 400.0, &|e| {
        matches!(e, SizingError::InconsistentDerivation { .. })
    });
    check(&|i| i.min_pods = 0, &|e| {
        matches!(e, SizingError::ZeroMinPods)
    });
    check(
        &|i| i.policy = Policy::Headroom { limit_factor: 0.9 },
        &|e| matches!(e, SizingError::InvalidLimitFactor(_)),
    );
    check(&|i| i.max_cpu_per_pod = 0.5, &|e| {
        matches!(e, SizingError::InvalidMaxCpuPerPod(_))
    });
    check(&|i| i.peak_rss_mib = 0.0, &|e| {
        matches!(e, SizingError::InvalidMemory { .. })
    });
    check(&|i| i.memory_headroom = -0.1, &|e| {
        matches!(e, SizingError::InvalidMemory { .. })
    });
    check(&|i| i.threads_per_request = 0, &|e| {
        matches!(e, SizingError::ZeroThreads)
    });
    check(&|i| i.target_rps = 1e300, &|e| {
        matches!(e, SizingError::PlanTooLarge { .. })
    });
}

fn any_policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::Guaranteed),
        (1.0f64..3.0).prop_map(|limit_factor| Policy::Headroom { limit_factor })
    ]
}

proptest! {
    #[test]
    fn plans_cover_the_load_and_respect_the_quota(
        target_rps in 0.01f64..5000.0,
        latency_ms in 0.5f64..20_000.0,
        target_utilisation in 0.05f64..=1.0,
        min_pods in 1u32..6,
        max_cpu_per_pod in 1.0f64..16.0,
        policy in any_policy(),
        threads_per_request in 1u32..9,
        peak_rss_mib in 1.0f64..20_000.0,
    ) {
        let mut input = PlanInput::measured("cpu", target_rps, latency_ms, peak_rss_mib);
        input.target_utilisation = target_utilisation;
        input.min_pods = min_pods;
        input.max_cpu_per_pod = max_cpu_per_pod;
        input.policy = policy;
        input.threads_per_request = threads_per_request;
        let p = match plan(&input) {
            Ok(p) => p,
            // Absurd loads (a million pods) are refused by design, not sized.
            Err(SizingError::PlanTooLarge { .. }) => return Ok(()),
            Err(e) => panic!("{e}"),
        };
        let tol = 1e-9 * p.cores_needed.max(1.0);
        let (request, limit) = (p.per_pod.cpu_request, p.per_pod.cpu_limit);
        prop_assert!(p.pods >= min_pods);
        prop_assert!(f64::from(p.pods) * limit.as_cores() + tol >= p.cores_needed);
        prop_assert!(f64::from(p.pods) * request.as_cores() + tol >= p.cores_needed);
        prop_assert!(request <= limit);
        if policy == Policy::Guaranteed {
            prop_assert!(limit.is_whole() && request == limit);
        }
        prop_assert!(p.intra_op_num_threads >= 1 && p.workers_per_pod >= 1);
        prop_assert!(p.intra_op_num_threads * p.workers_per_pod <= limit.whole_cpus());
        prop_assert!(p.per_pod.memory_request_mib.is_multiple_of(64));
        prop_assert!(p.per_pod.memory_request_mib as f64 >= peak_rss_mib * 1.25 - 1e-6);
    }
}
