//! Applying a CPU limit to this process the way `docker run --cpus=N` does, for `sweep`.
//!
//! Why: the brief's sizing method runs the model at exactly one CPU of quota, and its thread trap
//! (2-4 ORT threads under a 1-CPU quota) only shows under a real CFS quota. Creating a child cgroup
//! with `quota = cpus * period` and moving the whole process into it reproduces that on a CI host
//! without Docker. Needs root (or a delegated v2 subtree); inside a container use the container's
//! own limit instead.

use super::cgroup::{
    CgroupVersion, ControllerDir, CpuLimit, CpuStat, controller_dir, parse_cpu_stat,
};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Distinguishes several guards created by one process over its lifetime.
static SEQ: AtomicU32 = AtomicU32::new(0);

const FIX_PERMISSION: &str = "run as root, or in a container use `docker run --cpus=1` and \
bench-gate will use the limit it finds";

/// Why a CPU limit could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum CgroupCtlError {
    /// The requested numbers are outside what the kernel accepts.
    #[error("invalid CPU limit {cpus} CPUs with period {period_us} µs: {reason}")]
    InvalidLimit {
        cpus: f64,
        period_us: u64,
        reason: &'static str,
    },
    /// Neither a v1 hierarchy with `cpu` nor a v2 hierarchy offering `cpu` is mounted.
    #[error(
        "no cgroup cpu controller is mounted (checked /proc/self/cgroup and /proc/self/mountinfo); \
         a CPU limit cannot be applied here: run bench-gate inside `docker run --cpus=1` or a pod \
         with limits.cpu and it will use the limit it finds"
    )]
    NoCpuController,
    /// Writing a cgroup file or directory was refused (not root, read-only cgroupfs in a container).
    #[error("cannot write {path}: {source}; {FIX_PERMISSION}", path = path.display())]
    PermissionDenied { path: PathBuf, source: io::Error },
    /// cgroup v2 without a delegated subtree where the cpu controller can be enabled.
    #[error(
        "cgroup v2 directory {path} cannot host a CPU-limited child: {reason}; give bench-gate a \
         delegated subtree (e.g. `systemd-run --scope -p Delegate=yes bench-gate ...`) or run it \
         in `docker run --cpus=N` and it will use the limit it finds", path = path.display()
    )]
    V2NotDelegated { path: PathBuf, reason: String },
    /// cgroup v1 refuses a child quota above an ancestor's quota (EINVAL).
    #[error(
        "{path} rejected a quota of {cpus} CPUs: cgroup v1 does not allow a child more CPU than \
         an enclosing cgroup's quota; request at most the limit this process already runs under",
        path = path.display()
    )]
    ExceedsParent { path: PathBuf, cpus: f64 },
    /// Any other I/O failure.
    #[error("{op} {path} failed: {source}", path = path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

fn io_err(op: &'static str, path: &Path, source: io::Error) -> CgroupCtlError {
    let denied = matches!(
        source.raw_os_error(),
        Some(libc::EACCES | libc::EPERM | libc::EROFS)
    ) || source.kind() == io::ErrorKind::PermissionDenied;
    if denied {
        CgroupCtlError::PermissionDenied {
            path: path.to_path_buf(),
            source,
        }
    } else {
        CgroupCtlError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

fn write(path: &Path, value: &str) -> Result<(), CgroupCtlError> {
    std::fs::write(path, value).map_err(|e| io_err("write", path, e))
}

fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c is a valid NUL-terminated string for the duration of the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

fn has_word(path: &Path, word: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.split_whitespace().any(|w| w == word))
}

/// Quota in µs for `cpus` CPUs, validated against the kernel's limits
/// (period 1 ms..1 s, quota >= 1 ms).
pub fn quota_for(cpus: f64, period_us: u64) -> Result<u64, CgroupCtlError> {
    let bad = |reason| CgroupCtlError::InvalidLimit {
        cpus,
        period_us,
        reason,
    };
    if !cpus.is_finite() || cpus <= 0.0 {
        return Err(bad("the CPU count must be a positive number"));
    }
    if !(1_000..=1_000_000).contains(&period_us) {
        return Err(bad("the kernel accepts periods from 1000 to 1000000 µs"));
    }
    let quota = (cpus * period_us as f64).round();
    if quota < 1_000.0 {
        return Err(bad("the quota (cpus x period) must be at least 1000 µs"));
    }
    if quota > 1e12 {
        return Err(bad("the quota is unreasonably large"));
    }
    Ok(quota as u64)
}

/// v2: the directory under which the limited cgroup is created. Our own cgroup cannot get
/// children with controllers while it holds processes ("no internal processes"), so a sibling is
/// made under its parent; at the hierarchy root (exempt from that rule) a child is used.
fn v2_parent(loc: &ControllerDir) -> PathBuf {
    match loc.dir.parent() {
        Some(p) if loc.dir != loc.mount_point && p.starts_with(&loc.mount_point) => p.to_path_buf(),
        _ => loc.dir.clone(),
    }
}

/// Checks, without changing anything, whether [`LimitGuard::apply`] can work here.
pub fn can_apply_limits() -> Result<(), String> {
    let loc = controller_dir("cpu").ok_or_else(|| CgroupCtlError::NoCpuController.to_string())?;
    let procs = loc.dir.join("cgroup.procs");
    if !writable(&procs) {
        return Err(format!(
            "cannot write {} (needed to move back afterwards); {FIX_PERMISSION}",
            procs.display()
        ));
    }
    match loc.version {
        CgroupVersion::V1 => {
            if writable(&loc.dir) || writable(&loc.mount_point) {
                Ok(())
            } else {
                Err(format!(
                    "cannot create a cgroup under {}; {FIX_PERMISSION}",
                    loc.dir.display()
                ))
            }
        }
        CgroupVersion::V2 => {
            let parent = v2_parent(&loc);
            let not_delegated = |reason: &str| {
                CgroupCtlError::V2NotDelegated {
                    path: parent.clone(),
                    reason: reason.into(),
                }
                .to_string()
            };
            if !has_word(&parent.join("cgroup.controllers"), "cpu") {
                return Err(not_delegated("`cpu` is not in its cgroup.controllers"));
            }
            if !has_word(&parent.join("cgroup.subtree_control"), "cpu")
                && !writable(&parent.join("cgroup.subtree_control"))
            {
                return Err(not_delegated(
                    "`cpu` is not enabled in cgroup.subtree_control and it is not writable",
                ));
            }
            if writable(&parent) {
                Ok(())
            } else {
                Err(not_delegated("the directory is not writable"))
            }
        }
    }
}

/// A CPU limit applied to this whole process; dropping it moves the process back and removes the
/// cgroup. Threads started while the guard lives are limited too (they inherit the cgroup).
#[derive(Debug)]
pub struct LimitGuard {
    version: CgroupVersion,
    dir: PathBuf,
    original: PathBuf,
    limit: CpuLimit,
    /// v2: the `cgroup.subtree_control` in which this guard enabled `cpu` (disabled again on drop).
    enabled_cpu_in: Option<PathBuf>,
}

impl LimitGuard {
    /// Limits this process to `cpus` CPUs of CFS quota per `period_us` µs (100000 is the kernel
    /// and Docker default). v1: `mkdir <cpu cgroup>/bench-gate-<pid>-<n>`, write
    /// `cpu.cfs_period_us` then `cpu.cfs_quota_us`, then the PID to `cgroup.procs` (all threads;
    /// `tasks` would move only one). v2: the same with `cpu.max` in a delegated subtree.
    pub fn apply(cpus: f64, period_us: u64) -> Result<LimitGuard, CgroupCtlError> {
        let quota_us = quota_for(cpus, period_us)?;
        let loc = controller_dir("cpu").ok_or(CgroupCtlError::NoCpuController)?;
        let name = format!(
            "bench-gate-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let mut enabled_cpu_in = None;
        let dir = match loc.version {
            CgroupVersion::V1 => {
                let parent = if writable(&loc.dir) {
                    loc.dir.clone()
                } else {
                    loc.mount_point.clone()
                };
                let dir = parent.join(&name);
                std::fs::create_dir(&dir).map_err(|e| io_err("mkdir", &dir, e))?;
                let set = write(&dir.join("cpu.cfs_period_us"), &period_us.to_string())
                    .and_then(|()| write(&dir.join("cpu.cfs_quota_us"), &quota_us.to_string()));
                if let Err(e) = set {
                    let _ = std::fs::remove_dir(&dir);
                    return Err(match e {
                        CgroupCtlError::Io { path, source, .. }
                            if source.raw_os_error() == Some(libc::EINVAL) =>
                        {
                            CgroupCtlError::ExceedsParent { path, cpus }
                        }
                        other => other,
                    });
                }
                dir
            }
            CgroupVersion::V2 => {
                let parent = v2_parent(&loc);
                let subtree = parent.join("cgroup.subtree_control");
                if !has_word(&parent.join("cgroup.controllers"), "cpu") {
                    return Err(CgroupCtlError::V2NotDelegated {
                        path: parent,
                        reason: "`cpu` is not in its cgroup.controllers".into(),
                    });
                }
                if !has_word(&subtree, "cpu") {
                    std::fs::write(&subtree, "+cpu").map_err(|e| {
                        CgroupCtlError::V2NotDelegated {
                            path: parent.clone(),
                            reason: format!("enabling cpu in cgroup.subtree_control failed: {e}"),
                        }
                    })?;
                    enabled_cpu_in = Some(subtree.clone());
                }
                let dir = parent.join(&name);
                std::fs::create_dir(&dir).map_err(|e| io_err("mkdir", &dir, e))?;
                if let Err(e) = write(&dir.join("cpu.max"), &format!("{quota_us} {period_us}")) {
                    let _ = std::fs::remove_dir(&dir);
                    return Err(e);
                }
                dir
            }
        };
        let guard = LimitGuard {
            version: loc.version,
            limit: CpuLimit {
                version: loc.version,
                quota_us: Some(quota_us),
                period_us,
                cpus: Some(quota_us as f64 / period_us as f64),
                cgroup_path: dir.display().to_string(),
            },
            dir,
            original: loc.dir,
            enabled_cpu_in,
        };
        // From here on Drop cleans up, including when the move fails.
        write(
            &guard.dir.join("cgroup.procs"),
            &std::process::id().to_string(),
        )?;
        Ok(guard)
    }

    /// The limit in force, with `cgroup_path` = the created cgroup.
    pub fn limit(&self) -> &CpuLimit {
        &self.limit
    }

    /// The created cgroup directory.
    pub fn cgroup_dir(&self) -> &Path {
        &self.dir
    }

    /// The cgroup directory the process is moved back to on drop.
    pub fn original_dir(&self) -> &Path {
        &self.original
    }

    /// Throttling counters of the created cgroup (since it was created).
    pub fn read_stat(&self) -> Result<CpuStat, CgroupCtlError> {
        let path = self.dir.join("cpu.stat");
        let text = std::fs::read_to_string(&path).map_err(|e| io_err("read", &path, e))?;
        parse_cpu_stat(&text, self.version).map_err(|e| CgroupCtlError::Io {
            op: "parse",
            path,
            source: io::Error::new(io::ErrorKind::InvalidData, e),
        })
    }
}

impl Drop for LimitGuard {
    fn drop(&mut self) {
        let back = self.original.join("cgroup.procs");
        if let Err(e) = std::fs::write(&back, std::process::id().to_string()) {
            eprintln!(
                "warning: could not move bench-gate back to {}: {e}",
                self.original.display()
            );
        }
        // rmdir fails with EBUSY while exiting threads are still being reaped: retry briefly.
        let mut last = None;
        for _ in 0..50 {
            match std::fs::remove_dir(&self.dir) {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        if let Some(e) = last {
            eprintln!(
                "warning: could not remove cgroup {}: {e} (remove it with rmdir)",
                self.dir.display()
            );
        }
        if let Some(subtree) = &self.enabled_cpu_in {
            let _ = std::fs::write(subtree, "-cpu");
        }
    }
}

#[cfg(test)]
#[path = "cgroup_ctl_tests.rs"]
mod tests;
