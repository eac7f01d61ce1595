//! Does this run have cores of its own? The check behind the brief's noisy-neighbour incident.
//!
//! Kubernetes gives a container exclusive cores only with the kubelet static CPU manager, a
//! Guaranteed pod and an integer CPU request; the container's cpuset then has exactly N CPUs.
//! With the default policy (`none`) an integer limit is enforced by CFS quota alone while the
//! cpuset still spans every core, so other pods' thread pools run on the same cores.

/// Tolerance when deciding that a quota is an integer number of CPUs.
const INTEGER_EPS: f64 = 1e-6;

/// A warning when the CPU quota does not come with exclusive cores.
///
/// * `cpus`: the quota in CPUs (`None` = no quota: nothing to say, e.g. a static-CPU-manager pod
///   on Kubernetes >= 1.33, which gets a cpuset and no quota).
/// * `cpuset`: CPUs the process may run on (sched_getaffinity / cgroup cpuset); empty = unknown.
/// * `online_cpus`: CPUs online on the node.
pub fn isolation_warning(
    cpus: Option<f64>,
    cpuset: &[usize],
    online_cpus: usize,
) -> Option<String> {
    let cpus = cpus?;
    if !cpus.is_finite() || cpus <= 0.0 {
        return None;
    }
    if (cpus - cpus.round()).abs() > INTEGER_EPS {
        return Some(format!(
            "CPU limit {cpus} is fractional: fractional CPUs never get exclusive cores (the kubelet \
             static CPU manager only pins Guaranteed pods with an integer CPU request), so this run \
             shares cores with other workloads through CFS quota; expect throttling and noisy-neighbour \
             variance, and use an integer CPU count for production-like numbers"
        ));
    }
    let n = cpus.round() as usize;
    if cpuset.is_empty() || cpuset.len() <= n {
        return None;
    }
    if cpuset.len() >= online_cpus && online_cpus > n {
        Some(format!(
            "CPU limit {n} is enforced by CFS quota while the cpuset still spans all {online_cpus} online \
             CPUs: the container shares every core with other pods (kubelet CPU manager policy is \
             `none`, or the pod is not Guaranteed with an integer CPU request). This is the \
             noisy-neighbour setup: set `--cpu-manager-policy=static` and requests.cpu = limits.cpu = {n}"
        ))
    } else {
        Some(format!(
            "CPU limit {n} is enforced by CFS quota over a shared pool of {} CPUs, not {n} exclusive \
             cores: other workloads in that pool can slow this run down",
            cpuset.len()
        ))
    }
}

/// The thread trap, said before it is measured: more intra-op threads than the CPU quota.
///
/// Each busy thread draws on the same quota, so the kernel stops all of them for the rest of a
/// period once it is spent (0.5 s became 2.0 s in the brief's incident). Whether a run is
/// actually throttled depends on how busy the threads are and on the host; this warning does
/// not, so a pod rendered with fewer CPUs than threads always says so in its result.
///
/// * `intra_op_threads`: the session's `intra_op_num_threads`.
/// * `cpus`: the quota in CPUs (`None` = no quota: nothing to say).
pub fn thread_trap_warning(intra_op_threads: u16, cpus: Option<f64>) -> Option<String> {
    let cpus = cpus.filter(|c| c.is_finite() && *c > 0.0)?;
    if intra_op_threads < 2 || f64::from(intra_op_threads) <= cpus + INTEGER_EPS {
        return None;
    }
    Some(format!(
        "thread trap: intra_op_threads = {intra_op_threads} but the CPU limit is {cpus} CPU: \
         the threads share one quota and the kernel throttles all of them once it is spent, \
         so latency grows instead of shrinking; set intra_op_threads <= {} or raise the CPU limit",
        cpus.floor().max(1.0)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_threads_than_the_quota_is_the_thread_trap() {
        let w = thread_trap_warning(2, Some(1.0)).expect("warns");
        assert!(
            w.starts_with("thread trap: intra_op_threads = 2 but the CPU limit is 1 CPU"),
            "{w}"
        );
        assert!(w.contains("intra_op_threads <= 1"), "{w}");
        let w = thread_trap_warning(4, Some(2.5)).expect("warns");
        assert!(w.contains("<= 2 "), "{w}");
    }

    #[test]
    fn threads_within_the_quota_or_no_quota_say_nothing() {
        assert_eq!(thread_trap_warning(1, Some(1.0)), None);
        assert_eq!(thread_trap_warning(2, Some(2.0)), None);
        assert_eq!(thread_trap_warning(8, None), None);
        // One thread under half a CPU is slow, not a trap (the isolation warning covers it).
        assert_eq!(thread_trap_warning(1, Some(0.5)), None);
        assert_eq!(thread_trap_warning(4, Some(f64::NAN)), None);
    }

    #[test]
    fn no_quota_no_warning() {
        assert_eq!(isolation_warning(None, &[0, 1, 2, 3], 4), None);
    }

    #[test]
    fn fractional_quota_warns() {
        let w = isolation_warning(Some(2.5), &[0, 1], 2).expect("warns");
        assert!(w.contains("fractional") && w.contains("2.5"), "{w}");
        assert!(isolation_warning(Some(0.5), &[3], 8).is_some());
    }

    #[test]
    fn integer_quota_over_all_cores_warns() {
        let w = isolation_warning(Some(2.0), &[0, 1, 2, 3, 4, 5, 6, 7], 8).expect("warns");
        assert!(w.contains("all 8 online") && w.contains("static"), "{w}");
    }

    #[test]
    fn integer_quota_with_exclusive_cpuset_is_fine() {
        assert_eq!(isolation_warning(Some(2.0), &[4, 5], 8), None);
        assert_eq!(isolation_warning(Some(1.0), &[0], 1), None);
    }

    #[test]
    fn quota_equal_to_node_size_is_not_noisy() {
        // A 2-CPU quota on a 2-CPU node: the cpuset cannot be any smaller.
        assert_eq!(isolation_warning(Some(2.0), &[0, 1], 2), None);
    }

    #[test]
    fn integer_quota_over_shared_pool_warns() {
        let w = isolation_warning(Some(2.0), &[2, 3, 4, 5], 8).expect("warns");
        assert!(w.contains("shared pool of 4"), "{w}");
    }

    #[test]
    fn unknown_cpuset_or_nonsense_quota() {
        assert_eq!(isolation_warning(Some(2.0), &[], 8), None);
        assert_eq!(isolation_warning(Some(0.0), &[0], 8), None);
        assert_eq!(isolation_warning(Some(f64::NAN), &[0], 8), None);
    }
}
