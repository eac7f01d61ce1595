//! Scheduler wait time of this process: how long its threads were runnable but not running.
//!
//! Neither cgroup throttling nor hypervisor steal sees another process of the same machine
//! sharing the pinned core (a neighbour's build, a second benchmark): the kernel simply runs
//! the other task part of the time, and every iteration gets uniformly slower, so even the
//! dispersion check stays quiet. `/proc/self/task/*/schedstat` (second field: run delay, ns)
//! counts exactly that wait.

/// Sum of the run delay of every current thread of this process, nanoseconds. `None` off Linux
/// or without schedstats. Threads that exited take their delay with them, so a difference of
/// two readings may go backwards; callers treat that as unknown.
pub fn run_delay_ns() -> Option<u64> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut total = 0u64;
    let mut any = false;
    for t in tasks.flatten() {
        if let Some(d) = std::fs::read_to_string(t.path().join("schedstat"))
            .ok()
            .as_deref()
            .and_then(parse_run_delay)
        {
            total = total.saturating_add(d);
            any = true;
        }
    }
    any.then_some(total)
}

/// The run delay (second field) of one `schedstat` line: "cpu_ns run_delay_ns timeslices".
pub fn parse_run_delay(line: &str) -> Option<u64> {
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_second_field() {
        assert_eq!(parse_run_delay("123456 7890 12\n"), Some(7890));
        assert_eq!(parse_run_delay("123456"), None);
        assert_eq!(parse_run_delay("a b c"), None);
    }

    #[test]
    fn this_process_has_a_reading_on_linux() {
        if cfg!(target_os = "linux") && std::path::Path::new("/proc/self/schedstat").exists() {
            assert!(run_delay_ns().is_some());
        }
    }
}
