//! Concurrent load in one process: N inference streams, each with its own workload instance
//! (ONNX Runtime's `Session::run` takes `&mut self`) on its own OS thread.
//!
//! Closed loop: each stream sends its next request when the last one returns (a fixed number of
//! users). Open loop: requests arrive at a fixed mean rate with exponential (Poisson) spacing from
//! a seeded generator, whatever the service does; a free stream takes the next arrival, and the
//! latency counts from the *scheduled* arrival, so queueing delay is in it. Closed loops hide an
//! overloaded service (it just slows the users down); open loops show it.
//!
//! The runner never prints and knows nothing of grades or reports.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::workload::{StageTime, Workload, WorkloadError};

/// How requests arrive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Each stream issues its next request when the last returns.
    Closed,
    /// Poisson arrivals at `rate` requests per second (all streams together), seeded.
    Open { rate: f64, seed: u64 },
}

/// When the run ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// After this much wall time (requests in flight finish and count).
    Duration(Duration),
    /// After this many requests in total.
    Requests(u64),
}

/// One load run's settings.
#[derive(Debug, Clone, Copy)]
pub struct LoadPlan {
    pub streams: usize,
    pub mode: Mode,
    pub stop: Stop,
    /// Un-timed requests per stream before the clock starts.
    pub warmup: u32,
}

/// What one load run produced. Latencies in milliseconds.
#[derive(Debug, Clone)]
pub struct LoadRun {
    /// Latency of every successful request, in completion order.
    pub latencies_ms: Vec<f64>,
    pub errors: u64,
    /// First error message, for the report.
    pub first_error: Option<String>,
    /// From the common start to the last completion.
    pub wall: Duration,
    /// Process CPU time (user + system, all threads) over `wall`; `None` when unreadable.
    pub cpu_time: Option<Duration>,
}

/// Open loop: arrival offsets from the start, exponential gaps of mean `1 / rate` s, until
/// `horizon` or `max` arrivals. Deterministic for a seed.
pub fn poisson_arrivals(rate: f64, seed: u64, horizon: Duration, max: u64) -> Vec<Duration> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = 0.0f64;
    let mut out = Vec::new();
    if !(rate.is_finite() && rate > 0.0) {
        return out;
    }
    while (out.len() as u64) < max {
        let u: f64 = rng.random();
        t += -(1.0 - u).ln() / rate;
        if t > horizon.as_secs_f64() {
            break;
        }
        out.push(Duration::from_secs_f64(t));
    }
    out
}

/// Runs `plan`, building each stream's workload with `build` on the stream's own thread (so the
/// workload need not be `Send`); the clock starts when every stream is built and warmed up.
pub fn drive<B>(plan: &LoadPlan, build: B) -> Result<LoadRun, WorkloadError>
where
    B: Fn() -> Result<Box<dyn Workload>, WorkloadError> + Sync,
{
    let streams = plan.streams.max(1);
    let (horizon, max_requests) = match plan.stop {
        Stop::Duration(d) => (d, u64::MAX),
        Stop::Requests(n) => (Duration::from_secs(24 * 3600), n),
    };
    let arrivals = match plan.mode {
        Mode::Open { rate, seed } => Some(poisson_arrivals(rate, seed, horizon, max_requests)),
        Mode::Closed => None,
    };
    let barrier = Barrier::new(streams + 1);
    let claimed = AtomicU64::new(0);
    let failed_setup = AtomicBool::new(false);
    let start_cell: Mutex<Option<Instant>> = Mutex::new(None);
    let results: Mutex<Vec<StreamOutcome>> = Mutex::new(Vec::new());
    let setup_error: Mutex<Option<WorkloadError>> = Mutex::new(None);

    let cpu_before = std::thread::scope(|scope| {
        for _ in 0..streams {
            scope.spawn(|| {
                let mut workload = match build() {
                    Ok(w) => Some(w),
                    Err(e) => {
                        failed_setup.store(true, Ordering::SeqCst);
                        *lock(&setup_error) = Some(e);
                        None
                    }
                };
                let mut stages: Vec<StageTime> = Vec::new();
                if let Some(w) = workload.as_mut() {
                    for _ in 0..plan.warmup {
                        stages.clear();
                        if let Err(e) = w.iterate(&mut stages) {
                            failed_setup.store(true, Ordering::SeqCst);
                            *lock(&setup_error) = Some(e);
                            break;
                        }
                    }
                }
                barrier.wait(); // everyone built and warm
                barrier.wait(); // the main thread has set the start time
                let Some(w) = workload.as_mut() else { return };
                if failed_setup.load(Ordering::SeqCst) {
                    return;
                }
                let Some(start) = *lock(&start_cell) else {
                    return;
                };
                let out = stream_loop(
                    w.as_mut(),
                    start,
                    horizon,
                    max_requests,
                    arrivals.as_deref(),
                    &claimed,
                );
                lock(&results).push(out);
            });
        }
        barrier.wait();
        let cpu_before = crate::platform::proc::process_cpu_time();
        *lock(&start_cell) = Some(Instant::now());
        barrier.wait();
        // The scope joins every stream before returning; CPU time is read after that.
        cpu_before
    });
    let cpu_end = crate::platform::proc::process_cpu_time();
    if let Some(e) = lock(&setup_error).take() {
        return Err(e);
    }
    let start = lock(&start_cell).unwrap_or_else(Instant::now);
    let mut latencies_ms = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    let mut last = start;
    for (lat, err, msg, end) in lock(&results).drain(..) {
        latencies_ms.extend(lat);
        errors += err;
        first_error = first_error.or(msg);
        last = last.max(end);
    }
    Ok(LoadRun {
        latencies_ms,
        errors,
        first_error,
        wall: last.saturating_duration_since(start),
        cpu_time: match (cpu_before, cpu_end) {
            (Some(b), Some(a)) => a.checked_sub(b),
            _ => None,
        },
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One stream's latencies (ms), error count, first error, and the time of its last completion.
type StreamOutcome = (Vec<f64>, u64, Option<String>, Instant);

/// One stream's loop.
fn stream_loop(
    w: &mut dyn Workload,
    start: Instant,
    horizon: Duration,
    max_requests: u64,
    arrivals: Option<&[Duration]>,
    claimed: &AtomicU64,
) -> StreamOutcome {
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    let mut stages: Vec<StageTime> = Vec::new();
    let mut last = start;
    loop {
        let index = claimed.fetch_add(1, Ordering::SeqCst);
        let issued_at = match arrivals {
            Some(a) => {
                let Some(offset) = usize::try_from(index).ok().and_then(|i| a.get(i)) else {
                    break;
                };
                let at = start + *offset;
                let now = Instant::now();
                if at > now {
                    std::thread::sleep(at - now);
                }
                at
            }
            None => {
                if index >= max_requests || start.elapsed() >= horizon {
                    break;
                }
                Instant::now()
            }
        };
        stages.clear();
        let result = w.iterate(&mut stages);
        let done = Instant::now();
        last = done;
        match result {
            Ok(()) => latencies.push(done.saturating_duration_since(issued_at).as_secs_f64() * 1e3),
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    (latencies, errors, first_error, last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::WorkloadInfo;

    /// Sleeps a fixed time per request; every `fail_every`-th request fails.
    struct Sleeper {
        ms: u64,
        count: u64,
        fail_every: u64,
        info: WorkloadInfo,
    }

    impl Workload for Sleeper {
        fn iterate(&mut self, _: &mut Vec<StageTime>) -> Result<(), WorkloadError> {
            std::thread::sleep(Duration::from_millis(self.ms));
            self.count += 1;
            if self.fail_every > 0 && self.count.is_multiple_of(self.fail_every) {
                return Err(WorkloadError::Run {
                    path: "sleeper".into(),
                    message: "planned failure".into(),
                });
            }
            Ok(())
        }
        fn info(&self) -> &WorkloadInfo {
            &self.info
        }
    }

    fn sleeper(ms: u64, fail_every: u64) -> Result<Box<dyn Workload>, WorkloadError> {
        Ok(Box::new(Sleeper {
            ms,
            count: 0,
            fail_every,
            info: WorkloadInfo::default(),
        }))
    }

    #[test]
    fn poisson_arrivals_are_seeded_and_have_the_asked_rate() {
        let a = poisson_arrivals(50.0, 7, Duration::from_secs(100), u64::MAX);
        assert_eq!(
            a,
            poisson_arrivals(50.0, 7, Duration::from_secs(100), u64::MAX)
        );
        assert_ne!(
            a,
            poisson_arrivals(50.0, 8, Duration::from_secs(100), u64::MAX)
        );
        // 5000 expected; Poisson sd ~71.
        assert!((4700..5300).contains(&a.len()), "{}", a.len());
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(
            poisson_arrivals(50.0, 7, Duration::from_secs(100), 10).len(),
            10
        );
        assert!(poisson_arrivals(0.0, 7, Duration::from_secs(1), 10).is_empty());
    }

    /// Each stream's first request waits (up to 60 s) until every stream has started one, so
    /// the run completes promptly only if the streams really run at the same time; then sleeps.
    struct Rendezvous {
        first: bool,
        started: std::sync::Arc<(Mutex<usize>, std::sync::Condvar)>,
        streams: usize,
        info: WorkloadInfo,
    }

    impl Workload for Rendezvous {
        fn iterate(&mut self, _: &mut Vec<StageTime>) -> Result<(), WorkloadError> {
            if std::mem::take(&mut self.first) {
                let (count, cv) = &*self.started;
                let mut n = lock(count);
                *n += 1;
                cv.notify_all();
                let (n, _) = cv
                    .wait_timeout_while(n, Duration::from_secs(60), |n| *n < self.streams)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if *n < self.streams {
                    return Err(WorkloadError::Run {
                        path: "rendezvous".into(),
                        message: format!("only {} of {} streams started", *n, self.streams),
                    });
                }
            }
            std::thread::sleep(Duration::from_millis(2));
            Ok(())
        }
        fn info(&self) -> &WorkloadInfo {
            &self.info
        }
    }

    /// Exactly the asked requests, shared by streams that are in flight together; no wall-time
    /// bound (it would fail on a loaded machine): the rendezvous proves the concurrency.
    #[test]
    fn closed_loop_runs_exactly_the_requests_across_streams() {
        let plan = LoadPlan {
            streams: 2,
            mode: Mode::Closed,
            stop: Stop::Requests(10),
            warmup: 0,
        };
        let started = std::sync::Arc::new((Mutex::new(0), std::sync::Condvar::new()));
        let run = drive(&plan, || {
            Ok(Box::new(Rendezvous {
                first: true,
                started: started.clone(),
                streams: 2,
                info: WorkloadInfo::default(),
            }))
        })
        .unwrap();
        assert_eq!(run.errors, 0, "{:?}", run.first_error);
        assert_eq!(run.latencies_ms.len(), 10);
        assert_eq!(*lock(&started.0), 2);
        assert!(run.latencies_ms.iter().all(|l| *l >= 2.0));
    }

    #[test]
    fn open_loop_counts_queueing_delay_and_errors() {
        // 200 RPS offered to one stream that serves 50 RPS: the queue grows, latency with it.
        let plan = LoadPlan {
            streams: 1,
            mode: Mode::Open {
                rate: 200.0,
                seed: 1,
            },
            stop: Stop::Requests(20),
            warmup: 0,
        };
        let run = drive(&plan, || sleeper(20, 5)).unwrap();
        assert_eq!(run.latencies_ms.len() + run.errors as usize, 20);
        assert_eq!(run.errors, 4);
        let max = run.latencies_ms.iter().copied().fold(0.0, f64::max);
        assert!(max > 150.0, "queueing delay must show: max {max} ms");
        assert!(run.first_error.unwrap().contains("planned failure"));
    }

    #[test]
    fn a_stream_that_cannot_build_fails_the_run() {
        let plan = LoadPlan {
            streams: 2,
            mode: Mode::Closed,
            stop: Stop::Requests(4),
            warmup: 0,
        };
        let err = drive(&plan, || {
            Err(WorkloadError::Run {
                path: "m.onnx".into(),
                message: "no such model".into(),
            })
        });
        assert!(err.is_err());
    }
}
