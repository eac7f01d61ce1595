use super::*;
use crate::platform::cgroup_memory::{parse_memory_max, parse_v1_memory_limit};

/// cgroup v2 `cpu.stat` of a throttled container (format of kernel 5.14+; 6.x adds the burst lines).
const V2_CPU_STAT: &str = "usage_usec 8541962\nuser_usec 8016281\nsystem_usec 525681\n\
core_sched.force_idle_usec 0\nnr_periods 4567\nnr_throttled 3115\nthrottled_usec 280126471\n\
nr_bursts 0\nburst_usec 0\n";

/// cgroup v2 `cpu.stat` where the cpu controller is not enabled (only usage is accounted).
const V2_CPU_STAT_NO_CONTROLLER: &str = "usage_usec 100\nuser_usec 60\nsystem_usec 40\n";

/// cgroup v1 `cpu.stat` recorded on the development VM (`/sys/fs/cgroup/cpu/cpu.stat`).
const V1_CPU_STAT_THIS_VM: &str =
    "nr_periods 0\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n";

/// cgroup v1 `cpu.stat` after two busy threads under a 1-CPU quota (FACTS.md: 30 of 31).
const V1_CPU_STAT_THROTTLED: &str = "nr_periods 31\nnr_throttled 30\nthrottled_time 2912503010\n";

#[test]
fn cpu_max_v2() {
    assert_eq!(
        parse_cpu_max("max 100000\n"),
        Ok(CpuQuota {
            quota_us: None,
            period_us: 100_000
        })
    );
    let q = parse_cpu_max("150000 100000\n").expect("parses");
    assert_eq!(
        q,
        CpuQuota {
            quota_us: Some(150_000),
            period_us: 100_000
        }
    );
    assert_eq!(q.cpus(), Some(1.5));
    assert_eq!(parse_cpu_max("max 100000").map(|q| q.cpus()), Ok(None));
    assert!(matches!(
        parse_cpu_max("max"),
        Err(CgroupParseError::BadFormat { .. })
    ));
    assert!(matches!(
        parse_cpu_max("1 2 3"),
        Err(CgroupParseError::BadFormat { .. })
    ));
    assert!(matches!(
        parse_cpu_max("abc 100000"),
        Err(CgroupParseError::BadNumber { .. })
    ));
}

#[test]
fn quota_v1() {
    // Recorded on the development VM: root cpu cgroup, no quota.
    assert_eq!(
        parse_v1_quota("-1\n", "100000\n"),
        Ok(CpuQuota {
            quota_us: None,
            period_us: 100_000
        })
    );
    let q = parse_v1_quota("50000\n", "100000\n").expect("parses");
    assert_eq!(q.cpus(), Some(0.5));
    assert!(parse_v1_quota("-2", "100000").is_err());
    assert!(parse_v1_quota("50000", "").is_err());
}

#[test]
fn cpu_stat_v2_converts_usec_to_ns() {
    let s = parse_cpu_stat(V2_CPU_STAT, CgroupVersion::V2).expect("parses");
    assert_eq!(
        s,
        CpuStat {
            nr_periods: 4567,
            nr_throttled: 3115,
            throttled_time_ns: 280_126_471_000
        }
    );
    assert_eq!(
        parse_cpu_stat(V2_CPU_STAT_NO_CONTROLLER, CgroupVersion::V2),
        Err(CgroupParseError::MissingKey("throttled_usec"))
    );
}

#[test]
fn cpu_stat_v1_is_already_ns() {
    assert_eq!(
        parse_cpu_stat(V1_CPU_STAT_THIS_VM, CgroupVersion::V1),
        Ok(CpuStat::default())
    );
    let s = parse_cpu_stat(V1_CPU_STAT_THROTTLED, CgroupVersion::V1).expect("parses");
    assert_eq!(
        s,
        CpuStat {
            nr_periods: 31,
            nr_throttled: 30,
            throttled_time_ns: 2_912_503_010
        }
    );
    // The v1 reader must not accept the v2 key and vice versa.
    assert!(parse_cpu_stat(V2_CPU_STAT, CgroupVersion::V1).is_err());
    assert!(
        parse_cpu_stat(
            "nr_periods x\nnr_throttled 1\nthrottled_time 1\n",
            CgroupVersion::V1
        )
        .is_err()
    );
}

#[test]
fn cpu_lists() {
    assert_eq!(
        parse_cpu_list("0-3,8,10-11\n"),
        Ok(vec![0, 1, 2, 3, 8, 10, 11])
    );
    assert_eq!(parse_cpu_list("0-1\n"), Ok(vec![0, 1]));
    assert_eq!(parse_cpu_list("\n"), Ok(vec![]));
    assert_eq!(parse_cpu_list("3,1,1-2"), Ok(vec![1, 2, 3]));
    assert!(parse_cpu_list("4-2").is_err());
    assert!(parse_cpu_list("0-99999999").is_err());
    assert!(parse_cpu_list("x").is_err());
}

#[test]
fn memory_limits() {
    // Recorded on the development VM: v1 "unlimited".
    assert_eq!(parse_v1_memory_limit("9223372036854771712\n"), Ok(None));
    assert_eq!(parse_v1_memory_limit("1073741824\n"), Ok(Some(1 << 30)));
    assert_eq!(parse_memory_max("max\n"), Ok(None));
    assert_eq!(parse_memory_max("2147483648\n"), Ok(Some(2 << 30)));
    assert!(parse_memory_max("lots").is_err());
}

#[test]
fn serde_names_are_stable() {
    let l = CpuLimit {
        version: CgroupVersion::V2,
        quota_us: Some(100_000),
        period_us: 100_000,
        cpus: Some(1.0),
        cgroup_path: "/sys/fs/cgroup".into(),
    };
    let v = serde_json::to_value(&l).expect("serialize");
    assert_eq!(v["version"], "v2");
    assert_eq!(v["quota_us"], 100_000);
    assert_eq!(v["cpus"], 1.0);
    let back: CpuLimit = serde_json::from_value(v).expect("deserialize");
    assert_eq!(back, l);
}

/// On this machine the detection must find the v1 cpu controller and readable counters.
#[cfg(target_os = "linux")]
#[test]
fn live_detection_does_not_panic() {
    if let Some(l) = detect_cpu_limit() {
        assert!(l.period_us > 0);
        assert_eq!(l.cpus.is_some(), l.quota_us.is_some());
    }
    let _ = current_cpu_stat();
    if let Some(set) = cgroup_cpuset() {
        assert!(!set.is_empty());
    }
    let _ = detect_memory_limit();
}
