use super::*;

#[test]
fn quota_validation() {
    assert_eq!(quota_for(1.0, 100_000).ok(), Some(100_000));
    assert_eq!(quota_for(0.5, 100_000).ok(), Some(50_000));
    assert_eq!(quota_for(2.5, 100_000).ok(), Some(250_000));
    for (cpus, period) in [
        (0.0, 100_000),
        (-1.0, 100_000),
        (f64::NAN, 100_000),
        (1.0, 999),
        (1.0, 2_000_000),
        (0.001, 100_000),
    ] {
        let e = quota_for(cpus, period).expect_err("invalid");
        assert!(e.to_string().contains("invalid CPU limit"), "{e}");
    }
}

#[test]
fn errors_name_the_fix() {
    let e = CgroupCtlError::PermissionDenied {
        path: "/sys/fs/cgroup/cpu/x".into(),
        source: io::Error::from_raw_os_error(libc::EACCES),
    };
    let msg = e.to_string();
    assert!(
        msg.contains("/sys/fs/cgroup/cpu/x") && msg.contains("docker run --cpus=1"),
        "{msg}"
    );
    assert!(
        CgroupCtlError::NoCpuController
            .to_string()
            .contains("limits.cpu")
    );
    let ro = io_err(
        "write",
        Path::new("/x"),
        io::Error::from_raw_os_error(libc::EROFS),
    );
    assert!(matches!(ro, CgroupCtlError::PermissionDenied { .. }));
}
