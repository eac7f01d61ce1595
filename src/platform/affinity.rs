//! Pinning the benchmark to chosen CPUs with `sched_setaffinity`.
//!
//! Why the whole process: ORT creates its intra-op thread pool when a session is built; threads
//! inherit the affinity of the thread that creates them, so pinning before building the session
//! pins the pool. Threads that already exist (a progress-bar ticker, a runtime) are pinned too by
//! walking `/proc/self/task`. ORT's own per-thread affinity option is not needed (and has failed
//! with EINVAL inside restricted cpusets, onnxruntime #8313/#10113).

use super::cgroup::parse_cpu_list;
use std::io;
use std::sync::OnceLock;

/// Bits in the affinity masks we pass to the kernel (8192 CPUs, the largest NR_CPUS); larger
/// than `cpu_set_t` (1024) so `sched_getaffinity` does not fail with EINVAL on huge hosts.
#[cfg(target_os = "linux")]
const MASK_WORDS: usize = 8192 / 64;

/// Parses a `--cpus`-style CPU set argument: `"0"`, `"2-3"`, `"0,2"`. Rejects an empty set.
pub fn parse_cpu_set_arg(s: &str) -> Result<Vec<usize>, String> {
    let cpus = parse_cpu_list(s).map_err(|e| {
        format!("invalid CPU set {s:?}: {e}\n  fix: use a list such as `0`, `2-3` or `0,2,4-5`")
    })?;
    if cpus.is_empty() {
        return Err(format!(
            "invalid CPU set {s:?}: it names no CPU\n  fix: use e.g. `0` or `2-3`"
        ));
    }
    Ok(cpus)
}

/// Formats CPU ids compactly, the way the kernel does: `[0,1,2,5]` -> `"0-2,5"`.
pub fn format_cpu_list(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// Checks that every requested CPU is in the CPU mask this process was started with
/// (`inherited`) and in the cgroup's cpuset when known; the error names the sets.
///
/// bench-gate never widens the mask it was started with: `taskset -c 1 bench-gate run` with
/// `cpus = "0"` is refused rather than run on CPU 0 (the launcher's choice is deliberate: a CI
/// runner's or a container's CPUs), and not intersected either (a silently smaller set would be
/// measured under another name).
pub fn check_cpus_allowed(
    requested: &[usize],
    inherited: &[usize],
    cpuset: Option<&[usize]>,
) -> Result<(), String> {
    if requested.is_empty() {
        return Err("no CPU requested".to_string());
    }
    let outside = |set: &[usize]| -> Vec<usize> {
        requested
            .iter()
            .copied()
            .filter(|c| !set.contains(c))
            .collect()
    };
    if let Some(cpuset) = cpuset {
        let missing = outside(cpuset);
        if !missing.is_empty() {
            return Err(format!(
                "CPU(s) {} are not in this machine's or container's CPU set {} (the cgroup \
                 cpuset decides it in a container or pod)\n  fix: choose CPUs from {}",
                format_cpu_list(&missing),
                format_cpu_list(cpuset),
                format_cpu_list(inherited),
            ));
        }
    }
    if inherited.is_empty() {
        return Ok(());
    }
    let missing = outside(inherited);
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "CPU(s) {} are outside the CPU mask bench-gate was started with ({}; set by taskset, \
         numactl, a container's cpuset or the CI runner), and bench-gate does not widen it\n  \
         fix: choose CPUs within {} (run.cpus in the config, or --cpus), or start bench-gate \
         without the narrower mask",
        format_cpu_list(&missing),
        format_cpu_list(inherited),
        format_cpu_list(inherited),
    ))
}

/// The CPU mask this process was started with, read once, before bench-gate pins anything
/// (`main` reads it first thing). Later pins narrow the live mask; this stays what the launcher
/// gave.
pub fn inherited_affinity() -> &'static [usize] {
    static MASK: OnceLock<Vec<usize>> = OnceLock::new();
    MASK.get_or_init(current_affinity)
}

/// CPUs this thread may run on (`sched_getaffinity`). Empty when unknown (non-Linux or error).
pub fn current_affinity() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    {
        let mut mask = [0u64; MASK_WORDS];
        // SAFETY: the buffer is MASK_WORDS*8 bytes and we pass exactly that size; the kernel
        // writes at most that many bytes. cpu_set_t is itself just a bit array.
        let rc = unsafe {
            libc::sched_getaffinity(
                0,
                std::mem::size_of_val(&mask),
                mask.as_mut_ptr().cast::<libc::cpu_set_t>(),
            )
        };
        if rc != 0 {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (w, word) in mask.iter().enumerate() {
            for b in 0..64 {
                if word & (1u64 << b) != 0 {
                    out.push(w * 64 + b);
                }
            }
        }
        out
    }
    #[cfg(not(target_os = "linux"))]
    {
        Vec::new()
    }
}

/// Pins every thread of this process, and every thread created afterwards, to `cpus`.
/// Fails without changing anything when a CPU is outside the current allowed set.
pub fn pin_current_process(cpus: &[usize]) -> Result<(), io::Error> {
    #[cfg(target_os = "linux")]
    {
        // Within the mask the process was started with (the live mask may be narrower after an
        // earlier pin, and widening it back up to the inherited one is allowed) and the cgroup's
        // cpuset, which bounds what sched_setaffinity can grant.
        let cpuset = super::cgroup::cgroup_cpuset();
        check_cpus_allowed(cpus, inherited_affinity(), cpuset.as_deref())
            .map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, m))?;
        let mut mask = [0u64; MASK_WORDS];
        for &c in cpus {
            let word = mask.get_mut(c / 64).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("CPU id {c} is too large"),
                )
            })?;
            *word |= 1u64 << (c % 64);
        }
        let set = |tid: libc::pid_t| -> io::Result<()> {
            // SAFETY: mask outlives the call and its size is passed exactly.
            let rc = unsafe {
                libc::sched_setaffinity(
                    tid,
                    std::mem::size_of_val(&mask),
                    mask.as_ptr().cast::<libc::cpu_set_t>(),
                )
            };
            if rc == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        };
        // The calling thread first: threads it creates from now on inherit the mask.
        set(0)?;
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for entry in tasks.flatten() {
                let Some(tid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<libc::pid_t>().ok())
                else {
                    continue;
                };
                match set(tid) {
                    // ESRCH: the thread exited meanwhile.
                    Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                    other => other?,
                }
            }
        }
        // The kernel silently intersects the mask with the cpuset: check what we really got.
        let mut wanted = cpus.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let got = current_affinity();
        if got != wanted {
            return Err(io::Error::other(format!(
                "asked for CPUs {} but the kernel granted {} (the cgroup cpuset restricts them)",
                format_cpu_list(&wanted),
                format_cpu_list(&got)
            )));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cpus;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "CPU pinning needs Linux sched_setaffinity; on macOS run the benchmark in a Linux \
             container (`docker run --cpus=1 --cpuset-cpus=0`) instead",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_set_args() {
        assert_eq!(parse_cpu_set_arg("0"), Ok(vec![0]));
        assert_eq!(parse_cpu_set_arg("2-3"), Ok(vec![2, 3]));
        assert_eq!(parse_cpu_set_arg("0,2"), Ok(vec![0, 2]));
        assert_eq!(parse_cpu_set_arg(" 3,1-2 "), Ok(vec![1, 2, 3]));
        for bad in ["", "a", "3-1", "1-", "-1", "1,,x"] {
            assert!(
                parse_cpu_set_arg(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn formats_cpu_lists() {
        assert_eq!(format_cpu_list(&[5, 0, 1, 2]), "0-2,5");
        assert_eq!(format_cpu_list(&[7]), "7");
        assert_eq!(format_cpu_list(&[]), "");
    }

    #[test]
    fn subset_check_names_the_sets() {
        assert!(check_cpus_allowed(&[1], &[0, 1], Some(&[0, 1])).is_ok());
        let e = check_cpus_allowed(&[2, 3], &[0, 1], Some(&[0, 1])).expect_err("not allowed");
        assert!(e.contains("CPU(s) 2-3") && e.contains("CPU set 0-1"), "{e}");
        assert!(check_cpus_allowed(&[], &[0], None).is_err());
    }

    #[test]
    fn the_mask_bench_gate_was_started_with_is_never_widened() {
        // `taskset -c 1 bench-gate run` with cpus = "0": the cpuset allows 0, the launcher not.
        let e = check_cpus_allowed(&[0], &[1], Some(&[0, 1])).expect_err("outside the mask");
        assert!(
            e.contains("CPU(s) 0 are outside the CPU mask bench-gate was started with (1")
                && e.contains("fix: choose CPUs within 1"),
            "{e}"
        );
        assert!(check_cpus_allowed(&[1], &[1], Some(&[0, 1])).is_ok());
        assert!(check_cpus_allowed(&[0, 1], &[0, 1], None).is_ok());
    }

    /// Pins to one allowed CPU, checks a new thread inherits it, then restores the mask.
    /// Affinity is process-global, so this shares the lock with the cgroup tests.
    #[cfg(target_os = "linux")]
    #[test]
    fn pin_and_restore() {
        let _g = crate::platform::test_lock();
        let before = current_affinity();
        assert!(!before.is_empty());
        let target = before[before.len() - 1];
        pin_current_process(&[target]).expect("pin");
        assert_eq!(current_affinity(), vec![target]);
        let child = std::thread::spawn(current_affinity).join().expect("thread");
        assert_eq!(child, vec![target]);
        pin_current_process(&before).expect("restore");
        assert_eq!(current_affinity(), before);
        let err = pin_current_process(&[100_000]).expect_err("outside allowed set");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
