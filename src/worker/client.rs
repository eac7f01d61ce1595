//! The `ab` side: spawns a worker command, checks its hello, and asks it for blocks. A worker
//! that dies, prints something else, or speaks another protocol version is an error naming the
//! variant, its command and the last of its stderr. The child is killed when dropped, so an
//! error or Ctrl-C in `ab` never leaves a worker measuring on the pinned core.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use super::protocol::{Hello, PROTOCOL_VERSION, Reply, Request};
use crate::platform::EnvDelta;

/// How much of a worker's stderr an error message quotes.
const STDERR_TAIL: usize = 2000;
/// How long a worker that stopped talking gets to exit and flush its stderr.
const EXIT_WAIT: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(20);

/// A running worker and what it said about itself.
pub struct Worker {
    pipe: Pipe,
    pub hello: Hello,
}

/// The process plumbing of a worker.
struct Pipe {
    label: String,
    shown: String,
    child: Child,
    stdin: Option<ChildStdin>,
    /// Lines of the worker's stdout, read on a thread so that a worker which exited while a
    /// grandchild still holds its stdout open is noticed instead of waited for.
    lines: Receiver<std::io::Result<String>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_reader: JoinHandle<()>,
}

impl Worker {
    /// Starts `command` (stdin/stdout piped, stderr captured) and waits for its hello.
    /// `label` is "A" or "B"; `shown` is the command as the user should see it.
    pub fn spawn(label: &str, shown: &str, mut command: Command) -> Result<Worker> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("variant {label}: cannot start `{shown}`"))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || forward_lines(stdout, &tx));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&stderr);
        let mut pipe = child.stderr.take().expect("piped stderr");
        let stderr_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                s.extend_from_slice(&buf[..n]);
                let excess = s.len().saturating_sub(4 * STDERR_TAIL);
                s.drain(..excess);
            }
        });
        let mut pipe = Pipe {
            label: label.into(),
            shown: shown.into(),
            child,
            stdin,
            lines,
            stderr,
            stderr_reader,
        };
        let hello = match pipe.receive("its first line (hello)")? {
            Reply::Hello(h) => *h,
            other => return Err(pipe.unexpected(&other)),
        };
        Ok(Worker { pipe, hello })
    }

    /// Runs `warmup` untimed and `iterations` timed iterations in the worker.
    pub fn measure(&mut self, warmup: u32, iterations: u32) -> Result<(Vec<f64>, EnvDelta)> {
        self.pipe.measure(warmup, iterations)
    }

    /// What one more (untimed) iteration of the variant produces.
    pub fn outputs(&mut self) -> Result<crate::workload::Outputs> {
        self.pipe.send(&Request::Outputs)?;
        match self.pipe.receive("its outputs")? {
            Reply::Outputs(o) => Ok(*o),
            other => Err(self.pipe.unexpected(&other)),
        }
    }
}

impl Worker {
    /// Peak memory and ORT's arena, then the profiled pass when `profile`.
    pub fn after_run(&mut self, profile: bool) -> Result<crate::runner::profile::AfterRun> {
        self.pipe.send(&Request::AfterRun { profile })?;
        match self.pipe.receive("its memory and profile")? {
            Reply::AfterRun(a) => Ok(*a),
            other => Err(self.pipe.unexpected(&other)),
        }
    }
}

impl Pipe {
    fn send(&mut self, request: &Request) -> Result<()> {
        let line = serde_json::to_string(request)? + "\n";
        let sent = self
            .stdin
            .as_mut()
            .map(|s| s.write_all(line.as_bytes()).and_then(|()| s.flush()));
        if !matches!(sent, Some(Ok(()))) {
            return Err(self.failure("stopped reading requests"));
        }
        Ok(())
    }

    fn measure(&mut self, warmup: u32, iterations: u32) -> Result<(Vec<f64>, EnvDelta)> {
        self.send(&Request::Measure { warmup, iterations })?;
        match self.receive("a measured block")? {
            Reply::Block { samples_ms, during } if samples_ms.len() == iterations as usize => {
                if let Some(bad) = samples_ms.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
                    bail!(
                        "variant {} (`{}`) reported a latency of {bad} ms",
                        self.label,
                        self.shown
                    );
                }
                Ok((samples_ms, during))
            }
            Reply::Block { samples_ms, .. } => bail!(
                "variant {} (`{}`) returned {} samples for a block of {iterations}",
                self.label,
                self.shown,
                samples_ms.len()
            ),
            other => Err(self.unexpected(&other)),
        }
    }

    fn receive(&mut self, what: &str) -> Result<Reply> {
        let mut exited_at = None;
        let line = loop {
            match self.lines.recv_timeout(10 * POLL) {
                Ok(Ok(line)) => break line,
                Ok(Err(e)) => {
                    return Err(
                        anyhow!(e).context(format!("variant {}: cannot read {what}", self.label))
                    );
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.failure(&format!("ended before sending {what}")));
                }
                Err(RecvTimeoutError::Timeout) => {
                    // Still working (a model load can take minutes), unless it has exited and
                    // the last lines had their chance to arrive.
                    if exited_at.is_none() && matches!(self.child.try_wait(), Ok(Some(_))) {
                        exited_at = Some(Instant::now());
                    }
                    if exited_at.is_some_and(|t| t.elapsed() > EXIT_WAIT) {
                        return Err(self.failure(&format!("ended before sending {what}")));
                    }
                }
            }
        };
        let value: serde_json::Value = serde_json::from_str(&line).map_err(|_| {
            anyhow!(
                "variant {} (`{}`) printed something that is not a bench-gate ab-worker message: {}\n  fix: the command must run `bench-gate ab-worker ...` and print nothing else on stdout",
                self.label,
                self.shown,
                clip(line.trim(), 200)
            )
        })?;
        if let Some(p) = value.pointer("/hello/protocol")
            && p.as_u64() != Some(u64::from(PROTOCOL_VERSION))
        {
            bail!(
                "variant {} (`{}`) speaks ab-worker protocol {p}, this bench-gate speaks {PROTOCOL_VERSION}\n  fix: use the same bench-gate version on both sides (the worker's image and the runner)",
                self.label,
                self.shown
            );
        }
        serde_json::from_value(value).map_err(|e| {
            anyhow!(
                "variant {} (`{}`) sent a message this bench-gate does not understand ({e}): {}\n  fix: use the same bench-gate version on both sides",
                self.label,
                self.shown,
                clip(line.trim(), 200)
            )
        })
    }

    fn unexpected(&mut self, reply: &Reply) -> anyhow::Error {
        match reply {
            Reply::Error { message } => anyhow!(
                "variant {} (`{}`) failed: {message}",
                self.label,
                self.shown
            ),
            _ => anyhow!(
                "variant {} (`{}`) sent an unexpected message",
                self.label,
                self.shown
            ),
        }
    }

    /// The worker stopped talking: its exit status and the end of its stderr. Waits a little
    /// for both (a worker that closed its pipes is exiting), never forever: a stuck process is
    /// killed, and a grandchild still holding stderr (`sh -c 'docker run ...'`) is not waited for.
    fn failure(&mut self, what: &str) -> anyhow::Error {
        self.stdin.take();
        let deadline = Instant::now() + EXIT_WAIT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break s.to_string(),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                Ok(None) => {
                    let _ = self.child.kill();
                    break "still running after it stopped talking; killed".to_string();
                }
                Err(e) => break e.to_string(),
            }
        };
        while !self.stderr_reader.is_finished() && Instant::now() < deadline + EXIT_WAIT {
            std::thread::sleep(POLL);
        }
        let err = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let text = String::from_utf8_lossy(&err);
        let text = text.trim();
        let start = (text.len().saturating_sub(STDERR_TAIL)..=text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        let tail = &text[start..];
        anyhow!(
            "variant {} (`{}`) {what} ({status}){}",
            self.label,
            self.shown,
            if tail.is_empty() {
                String::new()
            } else {
                format!("; its stderr ends with:\n{tail}")
            }
        )
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        // Closing stdin ends a healthy worker; kill covers a stuck or foreign one.
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn forward_lines(mut stdout: BufReader<ChildStdout>, tx: &mpsc::Sender<std::io::Result<String>>) {
    loop {
        let mut line = String::new();
        match stdout.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) => {
                if tx.send(Ok(line)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}
