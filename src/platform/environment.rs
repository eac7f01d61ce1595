//! The machine a run happened on, stored with every result file.

use super::cgroup::{self, CpuLimit, MemoryLimit};
use super::cpu::CpuInfo;
use super::{affinity, isolation, proc};
use serde::{Deserialize, Serialize};

/// Everything about the machine and container that shapes a benchmark result. Field names are
/// part of the result-file format: do not rename them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Environment {
    /// `std::env::consts::OS`: `linux`, `macos`.
    pub os: String,
    /// CPU identity and features (the baseline key is `cpu.model`).
    pub cpu: CpuInfo,
    /// CFS quota in force for this process; `None` when no cpu controller is visible.
    pub cpu_limit: Option<CpuLimit>,
    /// CPU ids this process may run on (`sched_getaffinity`); empty when unknown (macOS).
    pub affinity: Vec<usize>,
    /// CPU ids of the cgroup cpuset (`cpuset.effective_cpus` / `cpuset.cpus.effective`, else
    /// `cpuset.cpus`); `None` when unreadable.
    pub cgroup_cpuset: Option<Vec<usize>>,
    /// CPUs online on the machine (`/sys/devices/system/cpu/online`, else sysconf).
    pub online_cpus: Option<usize>,
    /// Physical RAM in bytes.
    pub total_memory_bytes: Option<u64>,
    /// cgroup memory limit (`memory.limit_in_bytes` / `memory.max`); `limit_bytes: None` = unlimited.
    pub memory_limit: Option<MemoryLimit>,
    /// `uname -r`, e.g. `6.1.0-18-amd64`.
    pub kernel_release: Option<String>,
    /// `uname -n`.
    pub hostname: Option<String>,
    /// Best guess whether this runs in a container (any `container_evidence`).
    pub in_container: bool,
    /// Why `in_container` was guessed: `/.dockerenv`, `KUBERNETES_SERVICE_HOST`, ...
    pub container_evidence: Vec<String>,
    /// [`isolation::isolation_warning`] for this environment, if any.
    pub isolation_warning: Option<String>,
}

/// The reasons to believe we are in a container, from injected observations (pure, testable).
pub fn container_evidence(
    dockerenv: bool,
    containerenv: bool,
    kubernetes_env: bool,
    proc_self_cgroup: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    if dockerenv {
        out.push("/.dockerenv exists".to_string());
    }
    if containerenv {
        out.push("/run/.containerenv exists".to_string());
    }
    if kubernetes_env {
        out.push("KUBERNETES_SERVICE_HOST is set".to_string());
    }
    for marker in ["kubepods", "docker", "containerd", "libpod", "crio"] {
        if proc_self_cgroup.contains(marker) {
            out.push(format!("/proc/self/cgroup mentions {marker}"));
        }
    }
    out
}

fn c_chars_to_string(chars: &[libc::c_char]) -> Option<String> {
    let bytes: Vec<u8> = chars
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    let s = String::from_utf8_lossy(&bytes).trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// (kernel release, hostname) from `uname(2)`.
fn uname() -> (Option<String>, Option<String>) {
    // SAFETY: utsname is plain old data; uname fills it and returns 0 on success.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: pointer to a live utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return (None, None);
    }
    (
        c_chars_to_string(&u.release),
        c_chars_to_string(&u.nodename),
    )
}

fn online_cpus() -> Option<usize> {
    if let Ok(t) = std::fs::read_to_string("/sys/devices/system/cpu/online")
        && let Ok(list) = cgroup::parse_cpu_list(&t)
        && !list.is_empty()
    {
        return Some(list.len());
    }
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).ok().filter(|&n| n > 0)
}

impl Environment {
    /// Reads the environment; `cpu_label` (from the config) overrides the detected CPU model.
    /// Never fails: what cannot be read is `None`/empty.
    pub fn detect(cpu_label: Option<&str>) -> Environment {
        let cpu = CpuInfo::detect(cpu_label);
        let cpu_limit = cgroup::detect_cpu_limit();
        let affinity = affinity::current_affinity();
        let cgroup_cpuset = cgroup::cgroup_cpuset();
        let online = online_cpus();
        let (kernel_release, hostname) = uname();
        let evidence = container_evidence(
            std::path::Path::new("/.dockerenv").exists(),
            std::path::Path::new("/run/.containerenv").exists(),
            std::env::var_os("KUBERNETES_SERVICE_HOST").is_some(),
            &std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default(),
        );
        // The narrower of the two views decides which cores we can use.
        let usable: &[usize] = match (&affinity, &cgroup_cpuset) {
            (a, _) if !a.is_empty() => a,
            (_, Some(c)) => c,
            _ => &[],
        };
        let isolation_warning = isolation::isolation_warning(
            cpu_limit.as_ref().and_then(|l| l.cpus),
            usable,
            online.unwrap_or(usable.len()),
        );
        Environment {
            os: std::env::consts::OS.to_string(),
            cpu,
            cpu_limit,
            cgroup_cpuset,
            affinity,
            online_cpus: online,
            total_memory_bytes: proc::total_memory_bytes(),
            memory_limit: cgroup::detect_memory_limit(),
            kernel_release,
            hostname,
            in_container: !evidence.is_empty(),
            container_evidence: evidence,
            isolation_warning,
        }
    }
}

impl Environment {
    /// The CPU limit in CPUs (`quota / period`), `None` when unlimited or unknown.
    pub fn cpu_limit_cpus(&self) -> Option<f64> {
        self.cpu_limit.as_ref().and_then(|l| l.cpus)
    }

    /// The isolation warning, if any, as an owned value for a result's warning list.
    pub fn isolation_warning(&self) -> Option<String> {
        self.isolation_warning.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_guess() {
        assert!(container_evidence(false, false, false, "0::/\n").is_empty());
        let e = container_evidence(
            true,
            false,
            true,
            "0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-ab.scope\n",
        );
        assert_eq!(e.len(), 4, "{e:?}");
    }

    #[test]
    fn detect_never_panics_and_field_names_are_stable() {
        let env = Environment::detect(None);
        let json = serde_json::to_value(&env).expect("serialize");
        let keys: Vec<&str> = json
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = vec![
            "os",
            "cpu",
            "cpu_limit",
            "affinity",
            "cgroup_cpuset",
            "online_cpus",
            "total_memory_bytes",
            "memory_limit",
            "kernel_release",
            "hostname",
            "in_container",
            "container_evidence",
            "isolation_warning",
        ];
        let mut got = keys.clone();
        got.sort_unstable();
        expected.sort_unstable();
        assert_eq!(got, expected);
        let back: Environment = serde_json::from_value(json).expect("round trip");
        assert_eq!(back, env);
        assert_eq!(
            env.cpu_limit_cpus(),
            env.cpu_limit.as_ref().and_then(|l| l.cpus)
        );
        assert_eq!(Environment::detect(Some("Apple M4")).cpu.model, "Apple M4");
        eprintln!("{}", serde_json::to_string_pretty(&env).unwrap_or_default());
    }
}
