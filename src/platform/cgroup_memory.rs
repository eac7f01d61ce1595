//! The cgroup memory limit: what a pod's `limits.memory` or `docker run --memory` set. The sizing
//! report compares it with the peak RSS of the run.

use super::cgroup::{CgroupParseError, CgroupVersion, controller_dir, num};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Values at or above this many bytes in v1 `memory.limit_in_bytes` mean "no limit"
/// (the kernel reports `PAGE_COUNTER_MAX * PAGE_SIZE`, 9223372036854771712 on 4 KiB pages).
pub const V1_UNLIMITED_MEMORY_THRESHOLD: u64 = 1 << 62;

/// A memory limit read from the process's memory cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MemoryLimit {
    /// Hierarchy the limit was read from.
    pub version: CgroupVersion,
    /// Limit in bytes; `None` = unlimited (v2 `max`, or a v1 value >= 2^62).
    pub limit_bytes: Option<u64>,
    /// Directory the limiting value was read from.
    pub cgroup_path: String,
}

/// Parses v1 `memory.limit_in_bytes`; values >= [`V1_UNLIMITED_MEMORY_THRESHOLD`] mean unlimited.
pub fn parse_v1_memory_limit(text: &str) -> Result<Option<u64>, CgroupParseError> {
    let v = num("memory.limit_in_bytes", text)?;
    Ok((v < V1_UNLIMITED_MEMORY_THRESHOLD).then_some(v))
}

/// Parses v2 `memory.max`: `max` or a byte count.
pub fn parse_memory_max(text: &str) -> Result<Option<u64>, CgroupParseError> {
    match text.trim() {
        "max" => Ok(None),
        t => num("memory.max", t).map(Some),
    }
}

/// The tightest memory limit between this process's memory cgroup and the mount root.
pub fn detect_memory_limit() -> Option<MemoryLimit> {
    let loc = controller_dir("memory")?;
    let file = match loc.version {
        CgroupVersion::V1 => "memory.limit_in_bytes",
        CgroupVersion::V2 => "memory.max",
    };
    let mut best: Option<(u64, PathBuf)> = None;
    let mut seen_any = false;
    for dir in loc.ancestors() {
        let Ok(t) = std::fs::read_to_string(dir.join(file)) else {
            continue;
        };
        seen_any = true;
        let parsed = match loc.version {
            CgroupVersion::V1 => parse_v1_memory_limit(&t),
            CgroupVersion::V2 => parse_memory_max(&t),
        };
        if let Ok(Some(v)) = parsed
            && best.as_ref().is_none_or(|(b, _)| v < *b)
        {
            best = Some((v, dir));
        }
    }
    if !seen_any {
        return None;
    }
    let (limit_bytes, path) = match best {
        Some((v, p)) => (Some(v), p),
        None => (None, loc.dir.clone()),
    };
    Some(MemoryLimit {
        version: loc.version,
        limit_bytes,
        cgroup_path: path.display().to_string(),
    })
}
