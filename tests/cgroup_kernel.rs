//! The cgroup CPU limit on the real kernel: applied, throttling, nested, cleaned up.
//!
//! These tests move the whole test process into a new cgroup (`cgroup.procs`, all threads).
//! They live in their own test binary so that no other test's threads run in the process while
//! it is under a quota: in the library's unit-test binary, concurrently running tests (audio
//! property tests) shared the 1-CPU quota with one spinning thread and got it throttled in 7 of 8
//! periods, which failed the comparison below on a CI machine. Cargo runs test binaries one at a
//! time, and `kernel()` below serialises the tests of this one.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bench_gate::platform::cgroup::{CgroupVersion, CpuStat, controller_dir};
use bench_gate::platform::cgroup_ctl::{CgroupCtlError, LimitGuard, can_apply_limits};

/// The machine to oneself: the lock that serialises these tests, or `None` (with the reason
/// printed) when the kernel's limits cannot be applied here.
fn kernel() -> Option<MutexGuard<'static, ()>> {
    static LOCK: Mutex<()> = Mutex::new(());
    let lock = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    match skip_reason() {
        Some(reason) => {
            eprintln!("skipped: {reason}");
            None
        }
        None => Some(lock),
    }
}

/// Why the real-kernel tests below may not run: not root, or no writable cpu controller.
fn skip_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    let cpus = bench_gate::platform::affinity::current_affinity().len();
    if cpus < 2 {
        return Some(format!(
            "needs 2 CPUs in the affinity mask to exceed a 1-CPU quota, has {cpus}"
        ));
    }
    can_apply_limits().err()
}

fn spin(threads: usize, dur: Duration) {
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let start = Instant::now();
                let mut x = 0u64;
                while start.elapsed() < dur {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
                x
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
}

/// Throttled share of periods for `threads` busy threads under `cpus`, measured in a fresh cgroup.
fn throttled_fraction(cpus: f64, threads: usize, dur: Duration) -> (CpuStat, f64) {
    let guard = LimitGuard::apply(cpus, 100_000).expect("apply limit");
    spin(threads, dur);
    let s = guard.read_stat().expect("read cpu.stat");
    drop(guard);
    let frac = if s.nr_periods == 0 {
        0.0
    } else {
        s.nr_throttled as f64 / s.nr_periods as f64
    };
    (s, frac)
}

/// Parallelism the host gives two busy unlimited threads right now (CPU seconds per wall second).
fn host_parallelism() -> f64 {
    let (c0, t0) = (
        bench_gate::platform::proc::process_cpu_time().unwrap_or_default(),
        Instant::now(),
    );
    spin(2, Duration::from_millis(300));
    let cpu = bench_gate::platform::proc::process_cpu_time()
        .unwrap_or_default()
        .saturating_sub(c0);
    cpu.as_secs_f64() / t0.elapsed().as_secs_f64()
}

/// Applies 0.5 CPU, spins 2 threads for 400 ms, expects throttling, then checks the cleanup.
/// Retried: 0.5 CPU is exceeded only if the host gives us more than half a CPU meanwhile.
#[test]
fn real_kernel_throttling_and_cleanup() {
    let Some(_lock) = kernel() else {
        return;
    };
    let before = controller_dir("cpu").expect("cpu controller").dir;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let guard = LimitGuard::apply(0.5, 100_000).expect("apply 0.5 CPU");
        let dir = guard.cgroup_dir().to_path_buf();
        assert_eq!(guard.original_dir(), before.as_path());
        assert_eq!(guard.limit().quota_us, Some(50_000));
        assert_eq!(
            controller_dir("cpu").expect("cpu").dir,
            dir,
            "process moved into the new cgroup"
        );
        // Detection and snapshots must see the limit the process is now under.
        let limit = bench_gate::platform::cgroup::detect_cpu_limit().expect("limit");
        assert_eq!(limit.cpus, Some(0.5));
        assert_eq!(limit.cgroup_path, dir.display().to_string());
        let snap = bench_gate::platform::Snapshot::take();
        spin(2, Duration::from_millis(400));
        let delta = bench_gate::platform::Snapshot::take().since(&snap);
        let s = guard.read_stat().expect("cpu.stat");
        eprintln!("snapshot delta under the guard: {delta:?}");
        assert!(delta.nr_periods.is_some_and(|p| p > 0), "{delta:?}");
        eprintln!("0.5 CPU, 2 threads, 400 ms: {s:?}");
        drop(guard);
        assert!(!dir.exists(), "{} should be removed", dir.display());
        assert_eq!(
            controller_dir("cpu").expect("cpu").dir,
            before,
            "process back in its cgroup"
        );
        assert!(s.nr_periods > 0, "{s:?}");
        if s.nr_throttled > 0 && s.throttled_time_ns > 0 {
            return;
        }
        seen.push(s);
    }
    panic!("2 busy threads under a 0.5-CPU quota were never throttled: {seen:?}");
}

/// On this 2-vCPU VM the host often runs only one of our vCPUs at a time (measured: two
/// unlimited busy threads got 539-794 ms of CPU in 800 ms, with no steal reported), and then two
/// threads cannot exceed a 1-CPU quota. An attempt therefore counts only when two unlimited
/// threads got >= 1.6 CPUs just before and just after it; with no such attempt the test skips.
#[test]
fn two_threads_throttle_far_more_than_one_under_one_cpu() {
    const ATTEMPTS: usize = 5;
    let Some(_lock) = kernel() else {
        return;
    };
    let dur = Duration::from_millis(700);
    let mut judged = Vec::new();
    let mut parallelism = Vec::new();
    for attempt in 1..=ATTEMPTS {
        let p_before = host_parallelism();
        if p_before < 1.6 {
            eprintln!("attempt {attempt}: host parallelism {p_before:.2}, not judged");
            parallelism.push((p_before, f64::NAN));
            continue;
        }
        let (s1, one) = throttled_fraction(1.0, 1, dur);
        let (s2, two) = throttled_fraction(1.0, 2, dur);
        let p_after = host_parallelism();
        eprintln!(
            "attempt {attempt}: host parallelism {p_before:.2}/{p_after:.2}; 1.0 CPU: 1 thread {s1:?} \
             ({one:.2}), 2 threads {s2:?} ({two:.2})"
        );
        parallelism.push((p_before, p_after));
        if p_after < 1.6 {
            continue;
        }
        if s2.nr_periods > 0
            && two > 0.5
            && two >= one + 0.3
            && s2.throttled_time_ns > s1.throttled_time_ns
        {
            return;
        }
        judged.push((one, two));
    }
    if judged.is_empty() {
        eprintln!("skipped: the host never gave 2 CPUs of parallelism (measured {parallelism:?})");
        return;
    }
    panic!(
        "with 2 CPUs available, 2 busy threads under a 1-CPU quota were not throttled in most \
         periods while 1 thread was not: (1-thread, 2-thread) fractions {judged:?}"
    );
}

/// A guard inside a guard: v1 refuses more CPU than the enclosing quota, with a clear error;
/// a smaller nested limit works and dropping both restores the original cgroup.
#[test]
fn nested_limits() {
    let Some(_lock) = kernel() else {
        return;
    };
    let before = controller_dir("cpu").expect("cpu controller").dir;
    let outer = LimitGuard::apply(0.5, 100_000).expect("outer");
    if outer.limit().version == CgroupVersion::V1 {
        let err = LimitGuard::apply(1.0, 100_000).expect_err("exceeds parent");
        assert!(matches!(err, CgroupCtlError::ExceedsParent { .. }), "{err}");
    }
    let inner = LimitGuard::apply(0.25, 100_000).expect("inner");
    assert_eq!(inner.original_dir(), outer.cgroup_dir());
    drop(inner);
    assert_eq!(controller_dir("cpu").expect("cpu").dir, outer.cgroup_dir());
    drop(outer);
    assert_eq!(controller_dir("cpu").expect("cpu").dir, before);
}
