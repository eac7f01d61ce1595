//! Scheduler wait time of this process: how long its threads were runnable but not running.
//!
//! Neither cgroup throttling nor hypervisor steal sees another process of the same machine
//! sharing the pinned core (a neighbour's build, a second benchmark): the kernel simply runs
//! the other task part of the time, and every iteration gets uniformly slower, so even the
//! dispersion check stays quiet. `/proc/self/task/*/schedstat` (second field: run delay, ns)
//! counts exactly that wait.

/// What the scheduler says of this process's threads, summed over every current thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchedTimes {
    /// Time the threads ran on a CPU, nanoseconds.
    pub on_cpu_ns: u64,
    /// Time the threads were runnable but waiting for a CPU, nanoseconds.
    pub run_delay_ns: u64,
}

/// [`SchedTimes`] of this process now, both read from the same files so that they cover the
/// same threads. `None` off Linux or without schedstats. Threads that exited take their times
/// with them, so a difference of two readings may go backwards; callers treat that as unknown.
pub fn times() -> Option<SchedTimes> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut total = SchedTimes::default();
    let mut any = false;
    for t in tasks.flatten() {
        if let Some(one) = std::fs::read_to_string(t.path().join("schedstat"))
            .ok()
            .as_deref()
            .and_then(parse_schedstat)
        {
            total.on_cpu_ns = total.on_cpu_ns.saturating_add(one.on_cpu_ns);
            total.run_delay_ns = total.run_delay_ns.saturating_add(one.run_delay_ns);
            any = true;
        }
    }
    any.then_some(total)
}

/// The first two fields of one `schedstat` line: "cpu_ns run_delay_ns timeslices".
pub fn parse_schedstat(line: &str) -> Option<SchedTimes> {
    let mut fields = line.split_whitespace();
    Some(SchedTimes {
        on_cpu_ns: fields.next()?.parse().ok()?,
        run_delay_ns: fields.next()?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_first_two_fields() {
        assert_eq!(
            parse_schedstat("123456 7890 12\n"),
            Some(SchedTimes {
                on_cpu_ns: 123_456,
                run_delay_ns: 7890
            })
        );
        assert_eq!(parse_schedstat("123456"), None);
        assert_eq!(parse_schedstat("a b c"), None);
    }

    #[test]
    fn this_process_has_a_reading_on_linux() {
        if cfg!(target_os = "linux") && std::path::Path::new("/proc/self/schedstat").exists() {
            let t = times().expect("schedstat on linux");
            assert!(t.on_cpu_ns > 0, "this test ran on a CPU: {t:?}");
        }
    }
}
