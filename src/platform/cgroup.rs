//! Reading this process's cgroup CPU limit, CPU throttling counters, cpuset and memory limit.
//!
//! Why: a benchmark inside `docker run --cpus=1` or a Kubernetes pod runs under a CFS quota the
//! process cannot see through `nproc` or ORT's thread-pool sizing. The quota and the throttling
//! counters (`nr_throttled`, `throttled_time`) are the evidence that the run was starved, which
//! is how the noisy-neighbour incident in the brief was diagnosed. Both cgroup v1 (one mount per
//! controller, e.g. `/sys/fs/cgroup/cpu`) and v2 (one unified mount, `cpu.max`) are supported.
//!
//! Every parser here is pure (text in, typed value out) so it is tested with recorded file
//! contents; the `read_*`/`detect_*` functions do the I/O.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

// Location and memory parsing live in sibling files to keep each under 400 lines.
pub use super::cgroup_locate::{ControllerDir, controller_dir};
pub use super::cgroup_memory::{MemoryLimit, detect_memory_limit};

/// Which cgroup hierarchy a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CgroupVersion {
    /// Legacy hierarchy, one mount per controller (`/sys/fs/cgroup/cpu`).
    V1,
    /// Unified hierarchy (`/sys/fs/cgroup`, files `cpu.max`, `memory.max`).
    V2,
}

/// A CFS bandwidth setting: `quota_us` of CPU time per `period_us` of wall time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CpuQuota {
    /// CPU time allowed per period, in microseconds; `None` = unlimited (`max` / `-1`).
    pub quota_us: Option<u64>,
    /// Length of one accounting period, in microseconds (kernel default 100000 = 100 ms).
    pub period_us: u64,
}

impl CpuQuota {
    /// The limit in CPUs (`quota / period`, e.g. 1.5); `None` when unlimited.
    pub fn cpus(&self) -> Option<f64> {
        match (self.quota_us, self.period_us) {
            (Some(q), p) if p > 0 => Some(q as f64 / p as f64),
            _ => None,
        }
    }
}

/// The CPU limit in force for this process, as `docker run --cpus` or a pod's `limits.cpu` sets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CpuLimit {
    /// Hierarchy the limit was read from.
    pub version: CgroupVersion,
    /// CPU time per period in microseconds; `None` = no quota anywhere up the hierarchy.
    pub quota_us: Option<u64>,
    /// Period in microseconds that `quota_us` refers to.
    pub period_us: u64,
    /// `quota_us / period_us` in CPUs (e.g. 1.0, 2.5); `None` = unlimited.
    pub cpus: Option<f64>,
    /// Directory the limiting values were read from (the tightest cgroup between this process's
    /// cgroup and the mount root; the process's own cgroup when unlimited).
    pub cgroup_path: String,
}

/// Throttling counters from `cpu.stat`, normalised to the same units for v1 and v2.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct CpuStat {
    /// Enforcement periods that had runnable tasks (count).
    pub nr_periods: u64,
    /// Periods in which the cgroup used its whole quota and was stopped (count).
    pub nr_throttled: u64,
    /// Total time the cgroup's threads were held back, in nanoseconds
    /// (v1 `throttled_time` is already ns; v2 `throttled_usec` is µs and is multiplied by 1000).
    pub throttled_time_ns: u64,
}

/// Why a cgroup file's text could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CgroupParseError {
    /// A field was not an unsigned integer.
    #[error("field `{field}` is not a number: {text:?}")]
    BadNumber { field: &'static str, text: String },
    /// A required key was absent (v2 `cpu.stat` without the cpu controller has no `nr_periods`).
    #[error(
        "key `{0}` is missing (on cgroup v2 the cpu controller may not be enabled for this cgroup)"
    )]
    MissingKey(&'static str),
    /// The overall shape was wrong.
    #[error("expected {expected}, found {text:?}")]
    BadFormat {
        expected: &'static str,
        text: String,
    },
}

/// A cgroup file could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse {path}: {source}")]
    Parse {
        path: PathBuf,
        source: CgroupParseError,
    },
}

pub(crate) fn num(field: &'static str, text: &str) -> Result<u64, CgroupParseError> {
    text.trim()
        .parse::<u64>()
        .map_err(|_| CgroupParseError::BadNumber {
            field,
            text: text.trim().to_string(),
        })
}

/// Parses v2 `cpu.max`: `"max 100000"` (unlimited) or `"150000 100000"` (1.5 CPUs).
pub fn parse_cpu_max(text: &str) -> Result<CpuQuota, CgroupParseError> {
    let mut it = text.split_whitespace();
    let (Some(q), Some(p), None) = (it.next(), it.next(), it.next()) else {
        return Err(CgroupParseError::BadFormat {
            expected: "`<quota|max> <period>`",
            text: text.trim().to_string(),
        });
    };
    let quota_us = if q == "max" {
        None
    } else {
        Some(num("quota", q)?)
    };
    Ok(CpuQuota {
        quota_us,
        period_us: num("period", p)?,
    })
}

/// Parses v1 `cpu.cfs_quota_us` (µs, `-1` = unlimited) and `cpu.cfs_period_us` (µs).
pub fn parse_v1_quota(quota_text: &str, period_text: &str) -> Result<CpuQuota, CgroupParseError> {
    let q = quota_text.trim();
    let quota_us = if q.starts_with('-') {
        if q == "-1" {
            None
        } else {
            return Err(CgroupParseError::BadNumber {
                field: "cpu.cfs_quota_us",
                text: q.into(),
            });
        }
    } else {
        Some(num("cpu.cfs_quota_us", q)?)
    };
    Ok(CpuQuota {
        quota_us,
        period_us: num("cpu.cfs_period_us", period_text)?,
    })
}

/// Parses `cpu.stat`. v1 keys: `nr_periods nr_throttled throttled_time` (ns);
/// v2 keys: `nr_periods nr_throttled throttled_usec` (µs, converted to ns). Unknown keys ignored.
pub fn parse_cpu_stat(text: &str, version: CgroupVersion) -> Result<CpuStat, CgroupParseError> {
    let (mut periods, mut throttled, mut time) = (None, None, None);
    let time_key = match version {
        CgroupVersion::V1 => "throttled_time",
        CgroupVersion::V2 => "throttled_usec",
    };
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(k), Some(v)) = (it.next(), it.next()) else {
            continue;
        };
        match k {
            "nr_periods" => periods = Some(num("nr_periods", v)?),
            "nr_throttled" => throttled = Some(num("nr_throttled", v)?),
            _ if k == time_key => time = Some(num("throttled_time", v)?),
            _ => {}
        }
    }
    let time = time.ok_or(CgroupParseError::MissingKey(match version {
        CgroupVersion::V1 => "throttled_time",
        CgroupVersion::V2 => "throttled_usec",
    }))?;
    Ok(CpuStat {
        nr_periods: periods.ok_or(CgroupParseError::MissingKey("nr_periods"))?,
        nr_throttled: throttled.ok_or(CgroupParseError::MissingKey("nr_throttled"))?,
        throttled_time_ns: match version {
            CgroupVersion::V1 => time,
            CgroupVersion::V2 => time.saturating_mul(1000),
        },
    })
}

/// Parses a kernel CPU list (`cpuset.cpus`, `/sys/devices/system/cpu/online`): `"0-3,8,10-11"`.
/// Returns sorted, de-duplicated ids. Empty text gives an empty list (a fresh v1 cpuset).
pub fn parse_cpu_list(text: &str) -> Result<Vec<usize>, CgroupParseError> {
    /// No kernel supports more CPUs than this (NR_CPUS max 8192); guards huge allocations.
    const MAX_CPU_ID: usize = 1 << 16;
    let bad = || CgroupParseError::BadFormat {
        expected: "a CPU list like `0-3,8`",
        text: text.trim().to_string(),
    };
    let mut out = Vec::new();
    for part in text
        .trim()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let a: usize = a.parse().map_err(|_| bad())?;
        let b: usize = b.parse().map_err(|_| bad())?;
        if a > b || b >= MAX_CPU_ID {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

pub(crate) fn read_text(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(|source| CgroupError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_at<T>(path: &Path, r: Result<T, CgroupParseError>) -> Result<T, CgroupError> {
    r.map_err(|source| CgroupError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads the CFS quota of one cgroup directory. `Ok(None)` when the files do not exist there
/// (the v2 root cgroup has no `cpu.max`).
pub fn read_quota_at(dir: &Path, version: CgroupVersion) -> Result<Option<CpuQuota>, CgroupError> {
    match version {
        CgroupVersion::V2 => {
            let p = dir.join("cpu.max");
            if !p.exists() {
                return Ok(None);
            }
            parse_at(&p, parse_cpu_max(&read_text(&p)?)).map(Some)
        }
        CgroupVersion::V1 => {
            let (qp, pp) = (dir.join("cpu.cfs_quota_us"), dir.join("cpu.cfs_period_us"));
            if !qp.exists() {
                return Ok(None);
            }
            parse_at(&qp, parse_v1_quota(&read_text(&qp)?, &read_text(&pp)?)).map(Some)
        }
    }
}

/// Reads `cpu.stat` in `dir`.
pub fn read_cpu_stat_at(dir: &Path, version: CgroupVersion) -> Result<CpuStat, CgroupError> {
    let p = dir.join("cpu.stat");
    parse_at(&p, parse_cpu_stat(&read_text(&p)?, version))
}

/// The effective CPU limit: the smallest quota (in CPUs) between this process's cgroup and the
/// mount root, since a parent's quota caps its children (Kubernetes sets pod and container
/// levels). `None` when no cpu controller is found.
pub fn detect_cpu_limit() -> Option<CpuLimit> {
    let loc = controller_dir("cpu")?;
    let mut best: Option<(CpuQuota, PathBuf)> = None;
    for dir in loc.ancestors() {
        let Ok(Some(q)) = read_quota_at(&dir, loc.version) else {
            continue;
        };
        let Some(c) = q.cpus() else { continue };
        if best
            .as_ref()
            .and_then(|(b, _)| b.cpus())
            .is_none_or(|bc| c < bc)
        {
            best = Some((q, dir));
        }
    }
    let (quota, path) = match best {
        Some(b) => b,
        None => {
            let own = read_quota_at(&loc.dir, loc.version).ok().flatten();
            let period_us = own.map_or(100_000, |q| q.period_us);
            (
                CpuQuota {
                    quota_us: None,
                    period_us,
                },
                loc.dir.clone(),
            )
        }
    };
    Some(CpuLimit {
        version: loc.version,
        quota_us: quota.quota_us,
        period_us: quota.period_us,
        cpus: quota.cpus(),
        cgroup_path: path.display().to_string(),
    })
}

/// Throttling counters of this process's current cpu cgroup; `None` when unavailable
/// (no cpu controller, or v2 without the cpu controller enabled for this cgroup).
pub fn current_cpu_stat() -> Option<CpuStat> {
    let loc = controller_dir("cpu")?;
    read_cpu_stat_at(&loc.dir, loc.version).ok()
}

/// CPUs of this process's cpuset cgroup (effective list first, then the configured one), walking
/// up when a level has no file or an empty list.
pub fn cgroup_cpuset() -> Option<Vec<usize>> {
    let loc = controller_dir("cpuset")?;
    let names: &[&str] = match loc.version {
        CgroupVersion::V1 => &["cpuset.effective_cpus", "cpuset.cpus"],
        CgroupVersion::V2 => &["cpuset.cpus.effective", "cpuset.cpus"],
    };
    for dir in loc.ancestors() {
        for name in names {
            if let Ok(t) = std::fs::read_to_string(dir.join(name))
                && let Ok(list) = parse_cpu_list(&t)
                && !list.is_empty()
            {
                return Some(list);
            }
        }
    }
    None
}

#[cfg(test)]
#[path = "cgroup_tests.rs"]
mod tests;
