//! `/proc` readings: system-wide CPU jiffies (for steal time) and this process's memory use.
//!
//! Why steal: on a VM (every cloud CI runner) the hypervisor can run other guests on "our" core;
//! that time shows up as `steal` in `/proc/stat` and inflates latency without any sign inside the
//! benchmark. Why peak RSS: the sizing report recommends a memory limit per pod.

use serde::{Deserialize, Serialize};

/// Aggregate CPU time of all CPUs from the first line of `/proc/stat`, in jiffies (USER_HZ,
/// normally 1/100 s). Only the ratio of two deltas is meaningful, so the unit cancels out.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct CpuJiffies {
    /// user + nice + system + idle + iowait + irq + softirq + steal. `guest`/`guest_nice` are
    /// left out because the kernel already counts them inside `user`/`nice`.
    pub total: u64,
    /// Time this VM was runnable but the hypervisor ran something else.
    pub steal: u64,
    /// idle + iowait: time no process wanted the CPUs. `total - idle - steal` is the time some
    /// process (this one or a neighbour) kept a CPU busy.
    #[serde(default)]
    pub idle: u64,
}

impl CpuJiffies {
    /// Jiffies in which some process ran on some CPU.
    pub fn busy(&self) -> u64 {
        self.total
            .saturating_sub(self.idle)
            .saturating_sub(self.steal)
    }
}

/// Length of a `/proc/stat` jiffy in milliseconds (USER_HZ, normally 100 per second).
pub fn jiffy_ms() -> Option<f64> {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| 1000.0 / hz as f64)
}

/// Memory use of this process, in bytes.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct MemoryUsage {
    /// Peak resident set from `getrusage(RUSAGE_SELF).ru_maxrss` (KiB on Linux, bytes on
    /// macOS; converted to bytes here).
    pub peak_rss_rusage_bytes: Option<u64>,
    /// Peak resident set from `/proc/self/status` `VmHWM` (Linux only).
    pub peak_rss_status_bytes: Option<u64>,
    /// Current resident set from `/proc/self/status` `VmRSS` (Linux only).
    pub current_rss_bytes: Option<u64>,
}

/// Why a `/proc` text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcParseError {
    #[error("/proc/stat does not start with an aggregate `cpu ` line")]
    NoCpuLine,
    #[error(
        "/proc/stat `cpu` line has {0} numeric fields, expected at least 4 (user nice system idle)"
    )]
    TooFewFields(usize),
    #[error("/proc/stat `cpu` line has a non-numeric field {0:?}")]
    BadNumber(String),
}

/// Parses the aggregate `cpu` line of `/proc/stat`:
/// `cpu user nice system idle iowait irq softirq steal guest guest_nice`.
/// Old kernels print fewer fields; missing ones count as 0.
pub fn parse_proc_stat(text: &str) -> Result<CpuJiffies, ProcParseError> {
    let line = text
        .lines()
        .find(|l| l.starts_with("cpu ") || l.starts_with("cpu\t"))
        .ok_or(ProcParseError::NoCpuLine)?;
    let fields = line
        .split_whitespace()
        .skip(1)
        .map(|f| {
            f.parse::<u64>()
                .map_err(|_| ProcParseError::BadNumber(f.to_string()))
        })
        .collect::<Result<Vec<u64>, _>>()?;
    if fields.len() < 4 {
        return Err(ProcParseError::TooFewFields(fields.len()));
    }
    let total = fields
        .iter()
        .take(8)
        .fold(0u64, |a, &b| a.saturating_add(b));
    Ok(CpuJiffies {
        total,
        steal: fields.get(7).copied().unwrap_or(0),
        idle: fields[3].saturating_add(fields.get(4).copied().unwrap_or(0)),
    })
}

/// Reads `/proc/stat`; `None` off Linux or when unreadable.
pub fn read_proc_stat() -> Option<CpuJiffies> {
    parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?).ok()
}

/// Returns the value of a `Key:   123 kB` line (as in `/proc/self/status` and `/proc/meminfo`)
/// converted to bytes. `None` when the key is absent or malformed.
pub fn parse_kib_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, rest) = l.split_once(':')?;
        if k.trim() != key {
            return None;
        }
        let mut it = rest.split_whitespace();
        let v: u64 = it.next()?.parse().ok()?;
        match it.next() {
            Some("kB") | None => v.checked_mul(1024),
            Some(_) => None,
        }
    })
}

/// Converts `ru_maxrss` to bytes: the unit is KiB on Linux and bytes on macOS.
pub fn maxrss_to_bytes(ru_maxrss: i64, is_macos: bool) -> Option<u64> {
    let v = u64::try_from(ru_maxrss).ok()?;
    if is_macos {
        Some(v)
    } else {
        v.checked_mul(1024)
    }
}

fn rusage_peak_bytes() -> Option<u64> {
    // SAFETY: getrusage writes a plain-old-data struct we own; zeroed is a valid initial value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pointer to a live, correctly typed struct.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return None;
    }
    #[allow(clippy::useless_conversion)] // c_long is i32 on some targets
    maxrss_to_bytes(i64::from(ru.ru_maxrss), cfg!(target_os = "macos"))
}

/// CPU time (user + system) consumed so far by all threads of this process. Divided by wall
/// time it gives the parallelism a phase really got, which a busy host or a quota can cap.
pub fn process_cpu_time() -> Option<std::time::Duration> {
    // SAFETY: as in rusage_peak_bytes.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pointer to a live, correctly typed struct.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return None;
    }
    let us = |t: libc::timeval| {
        u64::try_from(t.tv_sec)
            .ok()?
            .checked_mul(1_000_000)?
            .checked_add(u64::try_from(t.tv_usec).ok()?)
    };
    Some(std::time::Duration::from_micros(
        us(ru.ru_utime)?.checked_add(us(ru.ru_stime)?)?,
    ))
}

/// Resets the kernel's peak-RSS mark (`VmHWM`) to the current RSS by writing `5` to
/// `/proc/self/clear_refs` (Linux >= 4.0), so [`peak_rss_bytes`] measures one model at a time.
/// Returns false where that is impossible (macOS, old kernels): the peak then covers the
/// whole process lifetime.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident memory in bytes since the last [`reset_peak_rss`] (Linux `VmHWM`), else since
/// process start (`getrusage` `ru_maxrss`, which cannot be reset).
pub fn peak_rss_bytes() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| parse_kib_field(&s, "VmHWM"))
        .or_else(rusage_peak_bytes)
}

/// Reads this process's memory use now. Never fails; unknown parts are `None`.
pub fn memory_usage() -> MemoryUsage {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    MemoryUsage {
        peak_rss_rusage_bytes: rusage_peak_bytes(),
        peak_rss_status_bytes: parse_kib_field(&status, "VmHWM"),
        current_rss_bytes: parse_kib_field(&status, "VmRSS"),
    }
}

/// Total RAM in bytes (`/proc/meminfo` `MemTotal` on Linux, `sysctl hw.memsize` on macOS).
pub fn total_memory_bytes() -> Option<u64> {
    #[cfg(target_os = "macos")]
    {
        let out = std::process::Command::new("sysctl")
            .args(["-n", "hw.memsize"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
    #[cfg(not(target_os = "macos"))]
    {
        parse_kib_field(&std::fs::read_to_string("/proc/meminfo").ok()?, "MemTotal")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded on the development VM (Debian 12, 2 vCPUs), `head -3 /proc/stat`.
    const THIS_VM: &str = "cpu  2303 0 1290 31577 284 0 35 12 0 0\n\
cpu0 973 0 477 16246 43 0 6 3 0 0\ncpu1 1329 0 812 15331 241 0 28 8 0 0\n";

    #[test]
    fn proc_stat_this_vm() {
        let j = parse_proc_stat(THIS_VM).expect("parses");
        assert_eq!(j.steal, 12);
        assert_eq!(j.total, 2303 + 1290 + 31577 + 284 + 35 + 12);
        assert_eq!(j.idle, 31577 + 284);
        assert_eq!(j.busy(), 2303 + 1290 + 35);
    }

    #[test]
    fn proc_stat_guest_not_double_counted() {
        let j = parse_proc_stat("cpu  100 0 50 800 0 0 0 40 30 0\n").expect("parses");
        assert_eq!(j.total, 990);
        assert_eq!(j.steal, 40);
    }

    #[test]
    fn proc_stat_old_kernel_without_steal() {
        let j = parse_proc_stat("cpu 1 2 3 4\n").expect("parses");
        assert_eq!((j.total, j.steal, j.idle, j.busy()), (10, 0, 4, 6));
    }

    #[test]
    fn proc_stat_errors() {
        assert_eq!(
            parse_proc_stat("cpu0 1 2 3 4\n"),
            Err(ProcParseError::NoCpuLine)
        );
        assert_eq!(
            parse_proc_stat("cpu 1 2\n"),
            Err(ProcParseError::TooFewFields(2))
        );
        assert!(matches!(
            parse_proc_stat("cpu 1 x 3 4\n"),
            Err(ProcParseError::BadNumber(_))
        ));
    }

    #[test]
    fn status_fields() {
        let status = "Name:\tcat\nVmPeak:\t    5784 kB\nVmHWM:\t    1944 kB\nVmRSS:\t    1900 kB\n";
        assert_eq!(parse_kib_field(status, "VmHWM"), Some(1944 * 1024));
        assert_eq!(parse_kib_field(status, "VmRSS"), Some(1900 * 1024));
        assert_eq!(parse_kib_field(status, "VmSwap"), None);
        assert_eq!(
            parse_kib_field("MemTotal:       24684092 kB\n", "MemTotal"),
            Some(24684092 * 1024)
        );
    }

    #[test]
    fn maxrss_units() {
        assert_eq!(maxrss_to_bytes(2048, false), Some(2048 * 1024));
        assert_eq!(maxrss_to_bytes(2048, true), Some(2048));
        assert_eq!(maxrss_to_bytes(-1, false), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn live_readings_are_sane() {
        let j = read_proc_stat().expect("/proc/stat readable");
        assert!(j.total > 0 && j.steal <= j.total);
        let m = memory_usage();
        let peak = m.peak_rss_rusage_bytes.expect("getrusage");
        let cur = m.current_rss_bytes.expect("VmRSS");
        assert!(peak > 0 && cur > 0);
        assert!(total_memory_bytes().expect("MemTotal") > cur);
        assert!(process_cpu_time().is_some());
        // A 64 MiB touched allocation raises the peak; a reset brings it back near current RSS.
        let big = vec![1u8; 64 << 20];
        let peak = peak_rss_bytes().expect("peak");
        assert!(peak >= 64 << 20, "{peak}");
        drop(std::hint::black_box(big));
        if reset_peak_rss() {
            assert!(peak_rss_bytes().expect("peak") < peak, "reset lowers VmHWM");
        }
    }
}
