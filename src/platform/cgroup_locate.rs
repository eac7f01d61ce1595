//! Finding this process's cgroup directories: `/proc/self/cgroup` says which cgroup the process
//! is in, `/proc/self/mountinfo` says where each hierarchy is mounted and which part of it is
//! visible (inside containers the mount root is the container's own cgroup).

use super::cgroup::CgroupVersion;
use std::path::{Path, PathBuf};

/// One line of `/proc/self/cgroup`: `hierarchy-id:controller-list:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcCgroupLine {
    /// Hierarchy id; 0 is the v2 unified hierarchy.
    pub hierarchy_id: u32,
    /// Controllers bound to this hierarchy (`["cpu", "cpuacct"]`); empty for v2.
    pub controllers: Vec<String>,
    /// Path of the cgroup relative to the hierarchy root, e.g. `/docker/abc` or `/`.
    pub path: String,
}

/// A cgroup filesystem mount from `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    /// `cgroup` (v1) or `cgroup2` (v2).
    pub version: CgroupVersion,
    /// Which cgroup of the hierarchy is mounted (field 4); not `/` in some containers.
    pub root: String,
    /// Where it is mounted, e.g. `/sys/fs/cgroup/cpu,cpuacct`.
    pub mount_point: PathBuf,
    /// v1: controllers from the super options (`cpu`, `cpuacct`); v2: empty.
    pub controllers: Vec<String>,
}

/// Where one controller's files for this process live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerDir {
    /// Hierarchy of this controller.
    pub version: CgroupVersion,
    /// The mount point (the highest directory we may read).
    pub mount_point: PathBuf,
    /// This process's cgroup directory (the mount point when the path does not exist under the
    /// mount, as inside containers without a cgroup namespace).
    pub dir: PathBuf,
    /// The path from `/proc/self/cgroup`, e.g. `/docker/abc`.
    pub proc_path: String,
}

impl ControllerDir {
    /// `dir` and its parents up to and including `mount_point`, innermost first.
    pub fn ancestors(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for p in self.dir.ancestors() {
            out.push(p.to_path_buf());
            if p == self.mount_point || !p.starts_with(&self.mount_point) {
                break;
            }
        }
        out
    }
}

/// Parses `/proc/self/cgroup`; malformed lines are skipped.
pub fn parse_proc_self_cgroup(text: &str) -> Vec<ProcCgroupLine> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.splitn(3, ':');
            let id = it.next()?.trim().parse::<u32>().ok()?;
            let ctrls = it.next()?;
            let path = it.next()?.trim().to_string();
            let controllers = ctrls
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            Some(ProcCgroupLine {
                hierarchy_id: id,
                controllers,
                path,
            })
        })
        .collect()
}

/// Parses the cgroup entries of `/proc/self/mountinfo`
/// (`id parent maj:min root mount-point opts [tags] - fstype source super-opts`).
pub fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fields: Vec<&str> = left.split_whitespace().collect();
            let mut r = right.split_whitespace();
            let fstype = r.next()?;
            let _source = r.next();
            let super_opts = r.next().unwrap_or("");
            let version = match fstype {
                "cgroup" => CgroupVersion::V1,
                "cgroup2" => CgroupVersion::V2,
                _ => return None,
            };
            let controllers = match version {
                CgroupVersion::V1 => super_opts
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains('='))
                    .map(str::to_string)
                    .collect(),
                CgroupVersion::V2 => Vec::new(),
            };
            Some(CgroupMount {
                version,
                root: unescape_mount(fields.get(3)?),
                mount_point: PathBuf::from(unescape_mount(fields.get(4)?)),
                controllers,
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
fn unescape_mount(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// Finds where `controller` (e.g. `"cpu"`) lives for this process. A v1 hierarchy carrying the
/// controller wins over v2 (hybrid hosts like this VM mount an empty cgroup2 beside v1).
/// `is_dir` is injected so the logic is testable; when the joined path does not exist (a
/// container that sees the host path in `/proc/self/cgroup` but has its own cgroup mounted at
/// the root) the mount point is used.
pub fn locate_controller(
    controller: &str,
    proc_lines: &[ProcCgroupLine],
    mounts: &[CgroupMount],
    is_dir: impl Fn(&Path) -> bool,
) -> Option<ControllerDir> {
    let has = |list: &[String]| list.iter().any(|c| c == controller);
    let v1 = proc_lines
        .iter()
        .find(|l| l.hierarchy_id != 0 && has(&l.controllers))
        .and_then(|l| {
            let m = mounts
                .iter()
                .find(|m| m.version == CgroupVersion::V1 && has(&m.controllers))?;
            Some((l, m))
        });
    let (line, mount) = match v1 {
        Some(found) => found,
        None => {
            let l = proc_lines
                .iter()
                .find(|l| l.hierarchy_id == 0 && l.controllers.is_empty())?;
            let m = mounts.iter().find(|m| m.version == CgroupVersion::V2)?;
            (l, m)
        }
    };
    let rel = if mount.root == "/" {
        line.path.as_str()
    } else {
        line.path
            .strip_prefix(mount.root.as_str())
            .unwrap_or(line.path.as_str())
    };
    let rel = rel.trim_start_matches('/');
    let joined = if rel.is_empty() {
        mount.mount_point.clone()
    } else {
        mount.mount_point.join(rel)
    };
    let dir = if is_dir(&joined) {
        joined
    } else {
        mount.mount_point.clone()
    };
    Some(ControllerDir {
        version: mount.version,
        mount_point: mount.mount_point.clone(),
        dir,
        proc_path: line.path.clone(),
    })
}

/// Locates `controller` for the current process from `/proc/self/cgroup` and `/proc/self/mountinfo`.
pub fn controller_dir(controller: &str) -> Option<ControllerDir> {
    let lines = parse_proc_self_cgroup(&std::fs::read_to_string("/proc/self/cgroup").ok()?);
    let mounts = parse_mountinfo(&std::fs::read_to_string("/proc/self/mountinfo").ok()?);
    let found = locate_controller(controller, &lines, &mounts, Path::is_dir)?;
    if found.version == CgroupVersion::V2 {
        // On v2 the controller must be available in the hierarchy at all.
        let avail = std::fs::read_to_string(found.mount_point.join("cgroup.controllers")).ok()?;
        if !avail.split_whitespace().any(|c| c == controller) {
            return None;
        }
    }
    Some(found)
}

#[cfg(test)]
#[path = "cgroup_locate_tests.rs"]
mod tests;
