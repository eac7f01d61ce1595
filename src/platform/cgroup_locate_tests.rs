use super::*;

/// Recorded on the development VM: hybrid layout, v1 controllers plus an empty cgroup2.
const THIS_VM_PROC_CGROUP: &str = "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n\
4:memory:/process_api/1669dc4413d5f17b1d409cae03d04068\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";
const THIS_VM_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

/// A Docker container on a v1 host without a cgroup namespace: `/proc/self/cgroup` shows the host
/// path, the mount root field shows the same path, and it is mounted at the controller root.
const DOCKER_V1_PROC_CGROUP: &str = "12:cpu,cpuacct:/docker/4f1c\n3:cpuset:/docker/4f1c\n0::/\n";
const DOCKER_V1_MOUNTINFO: &str = "\
700 699 0:40 /docker/4f1c /sys/fs/cgroup/cpu,cpuacct ro,nosuid,nodev,noexec,relatime master:18 - cgroup cgroup rw,cpu,cpuacct
701 699 0:41 /docker/4f1c /sys/fs/cgroup/cpuset ro,nosuid,nodev,noexec,relatime master:19 - cgroup cgroup rw,cpuset
";

/// A Kubernetes pod on a v2 node (cgroupns private): everything is `0::/`.
const K8S_V2_PROC_CGROUP: &str = "0::/\n";
const K8S_V2_MOUNTINFO: &str = "\
1205 1200 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot
";

/// A v2 host process in a systemd slice, used by GitHub's Ubuntu runners.
const RUNNER_V2_PROC_CGROUP: &str = "0::/system.slice/runner.service\n";

#[test]
fn parses_proc_self_cgroup() {
    let lines = parse_proc_self_cgroup(THIS_VM_PROC_CGROUP);
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[0].controllers, vec!["name=systemd"]);
    assert_eq!(
        lines[5].path,
        "/process_api/1669dc4413d5f17b1d409cae03d04068"
    );
    assert_eq!(
        lines[9],
        ProcCgroupLine {
            hierarchy_id: 0,
            controllers: vec![],
            path: "/".into()
        }
    );
    let docker = parse_proc_self_cgroup(DOCKER_V1_PROC_CGROUP);
    assert_eq!(docker[0].controllers, vec!["cpu", "cpuacct"]);
    assert!(parse_proc_self_cgroup("garbage\nx:y\n").is_empty());
}

#[test]
fn parses_mountinfo() {
    let m = parse_mountinfo(THIS_VM_MOUNTINFO);
    assert_eq!(m.len(), 6, "tmpfs is not a cgroup mount");
    assert_eq!(m[0].controllers, vec!["cpu"]);
    assert!(
        m[4].controllers.is_empty(),
        "named hierarchies carry no controller"
    );
    assert_eq!(m[5].version, CgroupVersion::V2);
    let d = parse_mountinfo(DOCKER_V1_MOUNTINFO);
    assert_eq!(d[0].root, "/docker/4f1c");
    assert_eq!(d[0].controllers, vec!["cpu", "cpuacct"]);
}

#[test]
fn locates_v1_on_hybrid_host() {
    let lines = parse_proc_self_cgroup(THIS_VM_PROC_CGROUP);
    let mounts = parse_mountinfo(THIS_VM_MOUNTINFO);
    let cpu = locate_controller("cpu", &lines, &mounts, |_| true).expect("cpu");
    assert_eq!(cpu.version, CgroupVersion::V1);
    assert_eq!(cpu.dir, Path::new("/sys/fs/cgroup/cpu"));
    let mem = locate_controller("memory", &lines, &mounts, |_| true).expect("memory");
    assert_eq!(
        mem.dir,
        Path::new("/sys/fs/cgroup/memory/process_api/1669dc4413d5f17b1d409cae03d04068")
    );
    assert_eq!(mem.ancestors().len(), 3);
    // cpuacct must not match "cpu".
    let acct = locate_controller("cpuacct", &lines, &mounts, |_| true).expect("cpuacct");
    assert_eq!(acct.mount_point, Path::new("/sys/fs/cgroup/cpuacct"));
}

#[test]
fn docker_v1_strips_mount_root() {
    let lines = parse_proc_self_cgroup(DOCKER_V1_PROC_CGROUP);
    let mounts = parse_mountinfo(DOCKER_V1_MOUNTINFO);
    let cpu = locate_controller("cpu", &lines, &mounts, |_| true).expect("cpu");
    assert_eq!(cpu.dir, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
    assert_eq!(
        cpu.ancestors(),
        vec![PathBuf::from("/sys/fs/cgroup/cpu,cpuacct")]
    );
}

#[test]
fn missing_path_falls_back_to_mount_root() {
    let lines = parse_proc_self_cgroup(RUNNER_V2_PROC_CGROUP);
    let mounts = parse_mountinfo(K8S_V2_MOUNTINFO);
    let found = locate_controller("cpu", &lines, &mounts, |_| true).expect("v2");
    assert_eq!(
        found.dir,
        Path::new("/sys/fs/cgroup/system.slice/runner.service")
    );
    assert_eq!(found.ancestors().len(), 3);
    let fallback = locate_controller("cpu", &lines, &mounts, |_| false).expect("v2");
    assert_eq!(fallback.dir, Path::new("/sys/fs/cgroup"));
}

#[test]
fn kubernetes_v2_namespace_root() {
    let lines = parse_proc_self_cgroup(K8S_V2_PROC_CGROUP);
    let mounts = parse_mountinfo(K8S_V2_MOUNTINFO);
    let found = locate_controller("cpu", &lines, &mounts, |_| true).expect("v2");
    assert_eq!(found.version, CgroupVersion::V2);
    assert_eq!(found.dir, Path::new("/sys/fs/cgroup"));
    assert!(locate_controller("cpu", &lines, &[], |_| true).is_none());
}
