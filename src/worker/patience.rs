//! When `ab` gives up on a silent worker. The first answer (the hello: process start, model
//! load, maybe an image pull) gets a generous, configured limit; every later request a limit
//! derived from the time the worker already took per iteration, so a hung worker is noticed in
//! seconds, not at the CI job's timeout. Pure: numbers in, a limit and its reason out.

use std::time::Duration;

/// Every later request gets at least this long, whatever was measured before: a process round
/// trip plus a page-in after the machine was busy is well under a second.
const FLOOR: Duration = Duration::from_secs(10);
/// A later request may take this many times the slowest per-iteration time seen so far (plus
/// [`FLOOR`]). Block-to-block spread on a shared runner is within 2x (docs/verdict.md); a 20x
/// stall is a hung worker, not noise.
const MARGIN: f64 = 20.0;
/// Before any iteration was timed (the first warm-up after the hello), a block may take this many
/// times the worker's start-up per iteration, and at least [`WARM_FLOOR_SHARE`] of the first
/// answer's limit (60 s of the default 600; raising that limit raises this floor): loading a
/// model (building and optimising its sessions) is not cheaper than running it many times over,
/// so a worker that answered its hello in 3 s and then says nothing for a minute has hung.
const START_MARGIN: f64 = 20.0;
const WARM_FLOOR_SHARE: f64 = 0.1;
/// The profiled pass builds new sessions (a model load again): it may take this many times the
/// hello's time on top of its iterations.
const PROFILE_LOADS: f64 = 5.0;

/// When a silent worker is given up on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Patience {
    /// The limit on the first answer (the hello), and on any request before an iteration's
    /// time is known (the first warm-up).
    pub first_answer: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Patience {
            first_answer: Duration::from_secs_f64(crate::config::DEFAULT_WORKER_FIRST_ANSWER_S),
        }
    }
}

/// What a request asks of a worker, for its time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ask {
    Hello,
    /// A block of this many iterations, warm-up included.
    Measure(u32),
    Outputs,
    AfterRun {
        profile: bool,
    },
    /// One utterance, decoded to `<|endoftext|>` (up to 224 tokens, where a benchmark
    /// iteration may decode a few): counted as [`TRANSCRIBE_ITERATIONS`] iterations.
    Transcribe,
}

/// How many timed iterations one transcription may take: Whisper's 224-token cap against a
/// benchmark that decodes as few as 16 tokens per iteration.
pub(super) const TRANSCRIBE_ITERATIONS: u32 = 15;

/// The limit on the answer to `ask`, and how it was set (said when it is exceeded).
/// `slowest_iteration_s`: the slowest time per iteration of any block this worker answered;
/// `hello_s`: how long its hello took.
pub(super) fn limit_for(
    p: Patience,
    ask: Ask,
    slowest_iteration_s: Option<f64>,
    hello_s: f64,
) -> (Duration, String) {
    let first = (
        p.first_answer,
        format!(
            "the first answer's limit, [gate] worker_first_answer_s = {:.0}",
            p.first_answer.as_secs_f64()
        ),
    );
    let Some(s) = slowest_iteration_s.filter(|s| s.is_finite() && *s >= 0.0) else {
        // No iteration timed yet: a block (the first warm-up) is bounded by the start-up the
        // hello took, never beyond the first answer's limit.
        if let (Ask::Measure(n), true) = (ask, hello_s.is_finite() && hello_s >= 0.0) {
            let secs = (START_MARGIN * hello_s * f64::from(n.max(1)))
                .max(WARM_FLOOR_SHARE * p.first_answer.as_secs_f64())
                .min(p.first_answer.as_secs_f64());
            return (
                Duration::from_secs_f64(secs),
                format!(
                    "before any timed iteration: {START_MARGIN:.0}x its start-up ({hello_s:.1} s) x {}, at least a tenth of [gate] worker_first_answer_s = {:.0}, at most all of it",
                    n.max(1),
                    p.first_answer.as_secs_f64()
                ),
            );
        }
        return first;
    };
    let (iterations, loads) = match ask {
        Ask::Hello => return first,
        Ask::Measure(n) => (n.max(1), 0.0),
        Ask::Outputs | Ask::AfterRun { profile: false } => (1, 0.0),
        Ask::Transcribe => (TRANSCRIBE_ITERATIONS, 0.0),
        Ask::AfterRun { profile: true } => (2, PROFILE_LOADS),
    };
    let secs = FLOOR.as_secs_f64() + MARGIN * s * f64::from(iterations) + loads * hello_s;
    let limit = Duration::from_secs_f64(secs.min(86_400.0));
    let basis = format!(
        "{:.0} s + {MARGIN:.0}x the slowest iteration so far ({:.1} ms) x {iterations}{}",
        FLOOR.as_secs_f64(),
        s * 1e3,
        if loads > 0.0 {
            format!(" + {loads:.0}x its start-up ({hello_s:.1} s) for the profiled sessions")
        } else {
            String::new()
        }
    );
    (limit, basis)
}

/// A worker that did not answer a request within its limit; its process group was ended.
/// Returned inside `anyhow::Error` (`downcast_ref::<Unanswered>()`), so the duet can stop with
/// what it measured instead of failing.
#[derive(Debug, Clone, PartialEq)]
pub struct Unanswered {
    /// "A", "B", "A (base)".
    pub label: String,
    /// The worker command as the user sees it.
    pub shown: String,
    /// What was awaited: "its first line (hello)", "a measured block", ...
    pub awaited: String,
    /// How long bench-gate waited.
    pub waited: Duration,
    /// The limit, and how it was set.
    pub limit: Duration,
    pub basis: String,
    /// Whether this was the first answer (the limit is the configured one, not derived).
    pub first_answer: bool,
    /// The end of its stderr, secrets masked; may be empty.
    pub stderr_tail: String,
}

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "variant {} stopped answering: no reply with {} after {:.0} s (limit {:.0} s: {}); its worker (`{}`) was ended",
            self.label,
            self.awaited,
            self.waited.as_secs_f64(),
            self.limit.as_secs_f64(),
            self.basis,
            self.shown
        )?;
        if !self.stderr_tail.is_empty() {
            write!(f, "; its stderr ends with:\n{}", self.stderr_tail)?;
        }
        if self.first_answer {
            write!(
                f,
                "\n  fix: run the worker command by hand to see where it stops; if it is only slow to start or to warm up (a big model, an image pull), raise [gate] worker_first_answer_s"
            )
        } else {
            write!(
                f,
                "\n  fix: the worker answered before and then hung: run its command by hand, check the machine's memory and the image, or re-run"
            )
        }
    }
}

impl std::error::Error for Unanswered {}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_MIN: Patience = Patience {
        first_answer: Duration::from_secs(600),
    };

    #[test]
    fn the_first_answer_and_anything_before_a_measured_iteration_get_the_configured_limit() {
        for ask in [Ask::Hello, Ask::Outputs, Ask::AfterRun { profile: true }] {
            let (limit, basis) = limit_for(TEN_MIN, ask, None, 3.0);
            assert_eq!(limit, Duration::from_secs(600), "{ask:?}");
            assert!(basis.contains("worker_first_answer_s = 600"), "{basis}");
        }
        // The hello's limit never shrinks to a measured one.
        assert_eq!(
            limit_for(TEN_MIN, Ask::Hello, Some(0.001), 3.0).0,
            Duration::from_secs(600)
        );
    }

    /// A worker that said hello and then went silent in its first warm-up is given up on in
    /// about a minute, not at the first answer's limit: the start-up bounds the warm-up.
    #[test]
    fn the_first_warm_up_is_bounded_by_the_start_up_the_hello_took() {
        // 3 s to hello, 1 warm-up iteration: 20 x 3 = 60 s.
        let (limit, basis) = limit_for(TEN_MIN, Ask::Measure(1), None, 3.0);
        assert_eq!(limit, Duration::from_secs(60));
        assert!(basis.contains("start-up (3.0 s) x 1"), "{basis}");
        // A quick start still gets the floor (a tenth of the first limit); a slow one grows with
        // it, up to the first limit. Raising the first limit raises the floor.
        assert_eq!(
            limit_for(TEN_MIN, Ask::Measure(1), None, 0.2).0.as_secs(),
            60
        );
        assert_eq!(
            limit_for(TEN_MIN, Ask::Measure(2), None, 5.0).0.as_secs(),
            200
        );
        assert_eq!(
            limit_for(TEN_MIN, Ask::Measure(4), None, 30.0).0.as_secs(),
            600
        );
        let hour = Patience {
            first_answer: Duration::from_secs(3600),
        };
        assert_eq!(limit_for(hour, Ask::Measure(1), None, 0.2).0.as_secs(), 360);
        // A configured first limit below 20x the start-up wins (tests, impatient users).
        let short = Patience {
            first_answer: Duration::from_secs(3),
        };
        assert_eq!(limit_for(short, Ask::Measure(1), None, 1.0).0.as_secs(), 3);
    }

    #[test]
    fn later_limits_grow_with_the_slowest_iteration_and_the_iterations_asked() {
        // 50 ms per iteration: a block of 10 may take 10 s + 20 x 0.05 x 10 = 20 s.
        let (block, basis) = limit_for(TEN_MIN, Ask::Measure(10), Some(0.05), 2.0);
        assert_eq!(block, Duration::from_secs(20));
        assert!(
            basis.contains("50.0 ms") && basis.contains("x 10"),
            "{basis}"
        );
        // One iteration for the outputs: 10 + 1 = 11 s.
        let (outputs, _) = limit_for(TEN_MIN, Ask::Outputs, Some(0.05), 2.0);
        assert_eq!(outputs, Duration::from_secs(11));
        // The profiled pass also gets 5x the start-up for its new sessions: 10 + 2 + 10 = 22 s.
        let (profiled, basis) =
            limit_for(TEN_MIN, Ask::AfterRun { profile: true }, Some(0.05), 2.0);
        assert_eq!(profiled, Duration::from_secs(22));
        assert!(basis.contains("start-up (2.0 s)"), "{basis}");
        // A fast model still gets the floor.
        assert_eq!(
            limit_for(TEN_MIN, Ask::Measure(1), Some(1e-6), 0.1)
                .0
                .as_secs(),
            10
        );
    }

    #[test]
    fn a_silent_worker_error_names_variant_what_how_long_and_the_fix() {
        let u = Unanswered {
            label: "B".into(),
            shown: "sh worker.sh".into(),
            awaited: "a measured block".into(),
            waited: Duration::from_millis(20_400),
            limit: Duration::from_secs(20),
            basis: "10 s + 20x".into(),
            first_answer: false,
            stderr_tail: "last words".into(),
        };
        let text = u.to_string();
        assert!(
            text.starts_with(
                "variant B stopped answering: no reply with a measured block after 20 s (limit 20 s"
            ),
            "{text}"
        );
        assert!(
            text.contains("`sh worker.sh`") && text.contains("last words"),
            "{text}"
        );
        assert!(text.contains("\n  fix: "), "{text}");
        let e = anyhow::Error::new(u.clone()).context("duet");
        assert_eq!(e.downcast_ref::<Unanswered>(), Some(&u));
    }
}
