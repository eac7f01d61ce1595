//! Every process bench-gate starts for a duet is owned: it runs in its own process group
//! (so whatever it starts in turn, a shell's `docker run`, a `sleep`, goes with it), is
//! registered here while it lives, and is ended as a group (SIGTERM, a short grace, SIGKILL) when
//! its [`super::Worker`] is dropped, whatever the exit path.
//!
//! A worker in its own group no longer gets the terminal's Ctrl-C, and SIGTERM to bench-gate
//! alone (a CI runner cancelling a job) would otherwise leave it running. So the first spawn
//! installs handlers for SIGINT and SIGTERM (signal-hook's iterator: the handler only wakes a
//! dedicated thread), which ends every registered group and exits 130 or 143 with one line
//! saying so. Installed at the first spawn, not in
//! `main`, so commands that start no worker keep their own handling (`k8s run` deletes its Job
//! on Ctrl-C).

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

/// How long a group gets between SIGTERM and SIGKILL: enough for a worker (or a container
/// client forwarding the signal) to exit cleanly, short enough not to hold a cancelled job.
pub const GRACE: Duration = Duration::from_millis(2000);
const POLL: Duration = Duration::from_millis(10);

/// Process group ids (= the leader's pid) of the children alive.
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

fn groups() -> MutexGuard<'static, Vec<i32>> {
    GROUPS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts `command` as the leader of a new process group and registers the group. The
/// registry is locked across the spawn, so a signal arriving meanwhile still ends this child.
pub fn spawn(command: &mut Command) -> io::Result<Child> {
    install_signal_handlers();
    command.process_group(0);
    let mut g = groups();
    let child = command.spawn()?;
    g.push(pid_of(&child));
    Ok(child)
}

/// Ends `child`'s process group: SIGTERM, up to `grace` for the leader to exit, then SIGKILL
/// for anything left in the group, then reaps the leader. Returns how the leader ended.
pub fn end(child: &mut Child, grace: Duration) -> io::Result<std::process::ExitStatus> {
    let pgid = pid_of(child);
    if leader(pgid) == Leader::Reaped {
        // Its group id may be another's by now, so nothing is signalled; `wait` returns the
        // status std kept when it reaped it.
        forget(pgid);
        return child.wait();
    }
    signal_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while leader(pgid) == Leader::Running && Instant::now() < deadline {
        std::thread::sleep(POLL);
    }
    // The unreaped leader keeps its pid from being reused, so the group id is still ours.
    signal_group(pgid, libc::SIGKILL);
    let status = child.wait();
    forget(pgid);
    status
}

/// Whether `child` has exited, without reaping it: while it is unreaped its pid, and so its
/// group's id, cannot be reused, and [`end`] can still reach what it left in its group.
pub fn has_exited(child: &Child) -> bool {
    leader_exited(pid_of(child))
}

fn forget(pgid: i32) {
    groups().retain(|g| *g != pgid);
}

fn pid_of(child: &Child) -> i32 {
    i32::try_from(child.id()).unwrap_or(i32::MAX)
}

fn signal_group(pgid: i32, sig: libc::c_int) {
    if pgid > 1 {
        // SAFETY: kill has no memory effects; a negative pid addresses the group.
        unsafe { libc::kill(-pgid, sig) };
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leader {
    Running,
    /// Exited, not yet reaped: its pid (the group's id) is still reserved.
    Exited,
    /// Reaped already, or not our child.
    Reaped,
}

/// The state of our child `pid`, without reaping it.
fn leader(pid: i32) -> Leader {
    // SAFETY: `info` is a plain struct for the kernel to fill.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if r != 0 {
        return Leader::Reaped;
    }
    // SAFETY: si_pid is valid to read for the WEXITED info waitid filled (0 when none).
    if unsafe { info.si_pid() } == 0 {
        Leader::Running
    } else {
        Leader::Exited
    }
}

fn leader_exited(pid: i32) -> bool {
    leader(pid) != Leader::Running
}

fn install_signal_handlers() {
    INSTALL.call_once(|| {
        // signal-hook's iterator: the handler only wakes a pipe, this thread does the work.
        let Ok(mut signals) = signal_hook::iterator::Signals::new([libc::SIGINT, libc::SIGTERM])
        else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("bench-gate-signals".into())
            .spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    end_all_and_exit(sig);
                }
            });
    });
}

/// On SIGINT/SIGTERM: ends every registered group, says so, exits 128 + the signal. Holds the
/// registry's lock to the end, so no new child starts meanwhile.
fn end_all_and_exit(sig: i32) -> ! {
    let g = groups();
    for &pgid in g.iter() {
        signal_group(pgid, libc::SIGTERM);
    }
    let deadline = Instant::now() + GRACE;
    while g.iter().any(|p| !leader_exited(*p)) && Instant::now() < deadline {
        std::thread::sleep(POLL);
    }
    for &pgid in g.iter() {
        signal_group(pgid, libc::SIGKILL);
    }
    let name = if sig == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    eprintln!(
        "bench-gate: interrupted by {name}; ended {} child process group(s) it had started",
        g.len()
    );
    std::process::exit(128 + sig);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: i32) -> bool {
        // A zombie is not alive: it only waits for its parent to read its status.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            })
            .unwrap_or(false)
    }

    #[test]
    fn ending_a_child_ends_what_it_started_too() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("grandchild");
        let mut c = Command::new("sh");
        // The shell starts a grandchild that ignores SIGTERM, records its pid, and waits.
        c.arg("-c").arg(format!(
            "sh -c 'trap \"\" TERM; echo $$ > {f}; exec sleep 300' & wait",
            f = file.display()
        ));
        let mut child = spawn(&mut c).unwrap();
        let leader = pid_of(&child);
        assert!(groups().contains(&leader));
        let t = Instant::now();
        let grandchild = loop {
            if let Some(p) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
            {
                break p;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "no grandchild");
            std::thread::sleep(POLL);
        };
        assert!(alive(grandchild));
        end(&mut child, Duration::from_millis(300)).unwrap();
        assert!(!groups().contains(&leader));
        let t = Instant::now();
        while alive(grandchild) && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(POLL);
        }
        assert!(
            !alive(grandchild),
            "the grandchild {grandchild} outlived its group"
        );
    }

    fn pid_in(file: &std::path::Path) -> i32 {
        let t = Instant::now();
        loop {
            if let Some(p) = std::fs::read_to_string(file)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
            {
                return p;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "no grandchild");
            std::thread::sleep(POLL);
        }
    }

    #[test]
    fn a_leader_that_exited_is_not_reaped_before_its_group_is_ended() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("grandchild");
        let mut c = Command::new("sh");
        // Exits at once with status 4, leaving a grandchild in its group.
        c.arg("-c").arg(format!(
            "sh -c 'echo $$ > {f}; exec sleep 300' & exit 4",
            f = file.display()
        ));
        let mut child = spawn(&mut c).unwrap();
        let grandchild = pid_in(&file);
        let t = Instant::now();
        while !has_exited(&child) {
            assert!(t.elapsed() < Duration::from_secs(10));
            std::thread::sleep(POLL);
        }
        // Asking again does not reap it: the group is still reachable.
        assert_eq!(leader(pid_of(&child)), Leader::Exited);
        let status = end(&mut child, Duration::ZERO).unwrap();
        assert_eq!(status.code(), Some(4));
        let t = Instant::now();
        while alive(grandchild) && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(POLL);
        }
        assert!(!alive(grandchild), "{grandchild} outlived its group");
        assert_eq!(leader(pid_of(&child)), Leader::Reaped);
    }

    #[test]
    fn a_child_that_exits_on_sigterm_is_not_waited_for_the_whole_grace() {
        let mut c = Command::new("sleep");
        c.arg("300");
        let mut child = spawn(&mut c).unwrap();
        let t = Instant::now();
        let status = end(&mut child, Duration::from_secs(20)).unwrap();
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }
}
