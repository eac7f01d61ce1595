//! The `ab` side: spawns a worker command, checks its hello, and asks it for blocks. A worker
//! that dies, prints something else, or speaks another protocol version is an error naming the
//! variant, its command and the last of its stderr (secrets masked). A worker that stays silent
//! past its limit ([`Patience`]) is an [`Unanswered`] error and its process group is ended. The
//! child's group is ended when dropped too ([`super::children`]), so an error or a signal in
//! `ab` never leaves a worker measuring on the pinned core.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use super::children;
use super::patience::{Ask, limit_for};
pub use super::patience::{Patience, Unanswered};
use super::protocol::{
    Hello, OLDEST_PROTOCOL, PROTOCOL_VERSION, Reply, Request, TRANSCRIBE_PROTOCOL,
};
use crate::platform::EnvDelta;
use crate::platform::secrets::redact;

/// How much of a worker's stderr an error message quotes.
const STDERR_TAIL: usize = 2000;
/// How long a worker that stopped talking gets to exit and flush its stderr.
const EXIT_WAIT: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(20);
/// How long a worker gets to exit by itself once its stdin is closed, before its group is
/// signalled: a `bench-gate ab-worker` exits within milliseconds.
const EOF_EXIT: Duration = Duration::from_secs(1);

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
    patience: Patience,
    /// How long the hello took, seconds.
    hello_s: f64,
    /// The slowest time per iteration of any block answered, seconds.
    slowest_iteration_s: Option<f64>,
}

impl Worker {
    /// Starts `command` (stdin/stdout piped, stderr captured, its own process group) and waits
    /// for its hello, at most `patience.first_answer`. `label` is "A" or "B"; `shown` is the
    /// command as the user should see it.
    pub fn spawn(
        label: &str,
        shown: &str,
        mut command: Command,
        patience: Patience,
    ) -> Result<Worker> {
        let started = Instant::now();
        let mut child = children::spawn(
            command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        )
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
            patience,
            hello_s: 0.0,
            slowest_iteration_s: None,
        };
        let hello = match pipe.receive("its first line (hello)", Ask::Hello)? {
            Reply::Hello(h) => *h,
            other => return Err(pipe.unexpected(&other)),
        };
        pipe.hello_s = started.elapsed().as_secs_f64();
        Ok(Worker { pipe, hello })
    }

    /// Runs `warmup` untimed and `iterations` timed iterations in the worker.
    pub fn measure(&mut self, warmup: u32, iterations: u32) -> Result<(Vec<f64>, EnvDelta)> {
        self.pipe.measure(warmup, iterations)
    }

    /// What one more (untimed) iteration of the variant produces.
    pub fn outputs(&mut self) -> Result<crate::workload::Outputs> {
        if self.hello.protocol < 2 {
            bail!(
                "variant {}'s worker speaks ab-worker protocol {} (an older bench-gate), whose outputs cannot carry NaN or infinities, so they were not asked for; use the same bench-gate version on both sides to compare them",
                self.pipe.label,
                self.hello.protocol
            );
        }
        self.pipe.send(&Request::Outputs)?;
        match self.pipe.receive("its outputs", Ask::Outputs)? {
            Reply::Outputs(o) => Ok(*o),
            other => Err(self.pipe.unexpected(&other)),
        }
    }
}

impl Worker {
    /// What the variant's model hears in `samples` (16 kHz mono), decoded to `<|endoftext|>`.
    pub fn transcribe(&mut self, samples: &[f32]) -> Result<crate::workload::Transcript> {
        if self.hello.protocol < TRANSCRIBE_PROTOCOL {
            bail!(
                "variant {}'s worker speaks ab-worker protocol {} (an older bench-gate), which cannot transcribe, so accuracy was not compared; use the same bench-gate version on both sides",
                self.pipe.label,
                self.hello.protocol
            );
        }
        self.pipe.send(&Request::Transcribe {
            samples: samples.to_vec(),
        })?;
        match self.pipe.receive("a transcript", Ask::Transcribe)? {
            Reply::Transcript {
                tokens,
                text,
                finished,
            } => Ok(crate::workload::Transcript {
                tokens,
                text,
                finished,
            }),
            other => Err(self.pipe.unexpected(&other)),
        }
    }

    /// Peak memory and ORT's arena, then the profiled pass when `profile`.
    pub fn after_run(&mut self, profile: bool) -> Result<crate::runner::profile::AfterRun> {
        self.pipe.send(&Request::AfterRun { profile })?;
        match self
            .pipe
            .receive("its memory and profile", Ask::AfterRun { profile })?
        {
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
        let t = Instant::now();
        let n = warmup.saturating_add(iterations);
        let what = if iterations == 0 {
            "its warm-up"
        } else {
            "a measured block"
        };
        match self.receive(what, Ask::Measure(n))? {
            Reply::Block { samples_ms, during } if samples_ms.len() == iterations as usize => {
                check_latencies(&self.label, &self.shown, &samples_ms)?;
                let per = t.elapsed().as_secs_f64() / f64::from(n.max(1));
                self.slowest_iteration_s =
                    Some(self.slowest_iteration_s.map_or(per, |s| s.max(per)));
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

    fn receive(&mut self, what: &str, ask: Ask) -> Result<Reply> {
        let (limit, basis) = limit_for(self.patience, ask, self.slowest_iteration_s, self.hello_s);
        let started = Instant::now();
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
                    if exited_at.is_none() && children::has_exited(&self.child) {
                        exited_at = Some(Instant::now());
                    }
                    if exited_at.is_some_and(|t| t.elapsed() > EXIT_WAIT) {
                        return Err(self.failure(&format!("ended before sending {what}")));
                    }
                    if exited_at.is_none() && started.elapsed() >= limit {
                        return Err(self.unanswered(what, ask, started.elapsed(), limit, basis));
                    }
                }
            }
        };
        let value: serde_json::Value = serde_json::from_str(&line).map_err(|_| {
            anyhow!(
                "variant {} (`{}`) printed something that is not a bench-gate ab-worker message: {}\n  fix: the command must run `bench-gate ab-worker ...` and print nothing else on stdout",
                self.label,
                self.shown,
                clip(&redact(line.trim()), 200)
            )
        })?;
        if let Some(p) = value.pointer("/hello/protocol")
            && !p.as_u64().is_some_and(|p| {
                (u64::from(OLDEST_PROTOCOL)..=u64::from(PROTOCOL_VERSION)).contains(&p)
            })
        {
            bail!(
                "variant {} (`{}`) speaks ab-worker protocol {p}, this bench-gate speaks {OLDEST_PROTOCOL} to {PROTOCOL_VERSION}\n  fix: use the same bench-gate version on both sides (the worker's image and the runner)",
                self.label,
                self.shown
            );
        }
        serde_json::from_value(value).map_err(|e| {
            anyhow!(
                "variant {} (`{}`) sent a message this bench-gate does not understand ({}): {}\n  fix: use the same bench-gate version on both sides",
                self.label,
                self.shown,
                redact(&e.to_string()),
                clip(&redact(line.trim()), 200)
            )
        })
    }

    fn unexpected(&mut self, reply: &Reply) -> anyhow::Error {
        match reply {
            Reply::Error { message } => anyhow!(
                "variant {} (`{}`) failed: {}",
                self.label,
                self.shown,
                redact(message)
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
    /// killed, and so is a grandchild still holding stderr (`sh -c 'sleep 60 & exit 4'`).
    fn failure(&mut self, what: &str) -> anyhow::Error {
        self.stdin.take();
        let deadline = Instant::now() + EXIT_WAIT;
        while !children::has_exited(&self.child) && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        let exited = children::has_exited(&self.child);
        // Ends what is left of its group (a grandchild holding its pipes), then reaps it.
        let status = match children::end(&mut self.child, Duration::ZERO) {
            Ok(s) if exited => s.to_string(),
            Ok(_) => "still running after it stopped talking; killed".to_string(),
            Err(e) => e.to_string(),
        };
        let tail = self.stderr_tail(deadline + EXIT_WAIT);
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

impl Pipe {
    /// The worker did not answer within `limit`: its group is ended, and the error says so.
    fn unanswered(
        &mut self,
        what: &str,
        ask: Ask,
        waited: Duration,
        limit: Duration,
        basis: String,
    ) -> anyhow::Error {
        self.stdin.take();
        let _ = children::end(&mut self.child, children::GRACE);
        let stderr_tail = self.stderr_tail(Instant::now() + EXIT_WAIT);
        anyhow::Error::new(Unanswered {
            label: self.label.clone(),
            shown: self.shown.clone(),
            awaited: what.to_string(),
            waited,
            limit,
            basis,
            first_answer: ask == Ask::Hello || self.slowest_iteration_s.is_none(),
            stderr_tail,
        })
    }

    /// The end of the worker's stderr, secrets masked, once its reader finished (or at
    /// `deadline`: a grandchild outside the group may hold the pipe).
    fn stderr_tail(&self, deadline: Instant) -> String {
        while !self.stderr_reader.is_finished() && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        let err = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let text = redact(String::from_utf8_lossy(&err).trim());
        let start = (text.len().saturating_sub(STDERR_TAIL)..=text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text[start..].to_string()
    }
}

/// Every latency a worker reports must be a positive, finite number of milliseconds: a 0 or
/// negative time is a broken clock or a worker that did not run the model, and would be judged.
fn check_latencies(label: &str, shown: &str, samples_ms: &[f64]) -> Result<()> {
    if let Some(bad) = samples_ms.iter().find(|x| !(x.is_finite() && **x > 0.0)) {
        bail!(
            "variant {label} (`{shown}`) reported a latency of {bad} ms: every latency must be a positive number of milliseconds\n  fix: the command must run `bench-gate ab-worker ...` (it times each iteration); a worker of your own must report the measured time of each iteration"
        );
    }
    Ok(())
}

impl Drop for Pipe {
    fn drop(&mut self) {
        // Closing stdin ends a healthy worker (a container's too, cleanly); ending its group
        // covers a stuck or foreign one and whatever it started.
        self.stdin.take();
        let deadline = Instant::now() + EOF_EXIT;
        while !children::has_exited(&self.child) && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        let _ = children::end(&mut self.child, children::GRACE);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_must_be_positive_and_finite() {
        assert!(check_latencies("A", "w", &[0.4, 12.0]).is_ok());
        for bad in [0.0, -0.0, -1.5, f64::NAN, f64::INFINITY] {
            let e = check_latencies("B", "w", &[1.0, bad])
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("variant B (`w`) reported a latency of {bad} ms")),
                "{e}"
            );
            assert!(e.contains("\n  fix: "), "{e}");
        }
    }
}
