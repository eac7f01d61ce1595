//! What `sweep` does about the CPU limit, decided from what was asked, what this process may
//! do and the limit already in force: apply one, use the container's, measure unlimited (said),
//! or refuse with the fix.

/// Default limit when bench-gate may apply one: the brief's one-CPU method.
const DEFAULT_LIMIT: f64 = 1.0;
pub const PERIOD_US: u64 = 100_000;

/// What to do about the CPU limit, decided from what was asked and what the machine allows.
#[derive(Debug, Clone, PartialEq)]
pub enum LimitDecision {
    /// Create a cgroup with this many CPUs of quota.
    Apply(f64),
    /// Use the limit already in force (a container's), in CPUs.
    UseFound(f64),
    /// Measure without a limit, and say why.
    Unlimited { reason: String },
    /// The user asked for a limit that cannot be had here: an error (exit 2).
    Refuse(String),
}

/// `requested`: `--cpu-limit`; `can_apply`: [`can_apply_limits`]; `found`: the limit in force.
pub fn decide_limit(
    requested: Option<f64>,
    can_apply: Result<(), String>,
    found: Option<f64>,
) -> LimitDecision {
    if let Some(r) = requested
        && !(r.is_finite() && r > 0.0)
    {
        return LimitDecision::Refuse(format!(
            "--cpu-limit {r}: a CPU limit must be a positive number of CPUs\n  fix: pass e.g. --cpu-limit 1 or --cpu-limit 0.5"
        ));
    }
    let reason = match can_apply {
        Ok(()) => return LimitDecision::Apply(requested.unwrap_or(DEFAULT_LIMIT)),
        Err(reason) => reason,
    };
    match (requested, found) {
        (None, Some(f)) => LimitDecision::UseFound(f),
        (Some(r), Some(f)) if (r - f).abs() < 1e-3 => LimitDecision::UseFound(f),
        (Some(r), Some(f)) => LimitDecision::Refuse(format!(
            "--cpu-limit {r} cannot be applied ({reason}), and the limit already in force is {f} CPUs\n  fix: run with --cpu-limit {f} (or without --cpu-limit) to sweep under the limit in force, or run as root"
        )),
        (Some(r), None) => LimitDecision::Refuse(format!(
            "--cpu-limit {r} cannot be applied: {reason}; no CPU limit is in force either, so the thread trap cannot be measured here\n  fix: run as root, or inside `docker run --cpus={r}`, or drop --cpu-limit to measure unlimited (flagged as such)"
        )),
        (None, None) => LimitDecision::Unlimited { reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_the_asked_limit_or_one_cpu_when_permitted() {
        assert_eq!(
            decide_limit(Some(0.5), Ok(()), None),
            LimitDecision::Apply(0.5)
        );
        assert_eq!(
            decide_limit(None, Ok(()), Some(2.0)),
            LimitDecision::Apply(1.0)
        );
    }

    #[test]
    fn without_permission_uses_the_limit_in_force() {
        let no = || Err("not root".to_string());
        assert_eq!(
            decide_limit(None, no(), Some(2.0)),
            LimitDecision::UseFound(2.0)
        );
        assert_eq!(
            decide_limit(Some(2.0), no(), Some(2.0)),
            LimitDecision::UseFound(2.0)
        );
    }

    #[test]
    fn an_asked_limit_that_cannot_be_had_is_refused_with_the_reason() {
        let no = || Err("cannot write /sys/fs/cgroup/cpu/cgroup.procs".to_string());
        let LimitDecision::Refuse(msg) = decide_limit(Some(1.0), no(), None) else {
            panic!("expected a refusal")
        };
        assert!(
            msg.contains("cannot write /sys/fs/cgroup/cpu") && msg.contains("fix:"),
            "{msg}"
        );
        let LimitDecision::Refuse(msg) = decide_limit(Some(1.0), no(), Some(2.0)) else {
            panic!("expected a refusal")
        };
        assert!(msg.contains("--cpu-limit 2"), "{msg}");
        assert!(matches!(
            decide_limit(Some(0.0), Ok(()), None),
            LimitDecision::Refuse(_)
        ));
    }

    #[test]
    fn nothing_asked_nothing_possible_measures_unlimited_and_says_why() {
        let d = decide_limit(None, Err("not root".into()), None);
        assert_eq!(
            d,
            LimitDecision::Unlimited {
                reason: "not root".into()
            }
        );
    }
}
