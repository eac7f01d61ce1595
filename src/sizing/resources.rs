//! Kubernetes resource quantities and the `resources:` block to paste into a Deployment.
//!
//! CPU is kept as integer millicores so rounding rules are exact (2.5 * 1.2 is 3, not
//! 2.9999999999999996) and JSON carries no float noise.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A CPU amount in Kubernetes millicores: 1000 = one CPU (one vCPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Millicores(pub u32);

impl Millicores {
    /// Whole CPUs.
    pub const fn cpus(n: u32) -> Millicores {
        Millicores(n * 1000)
    }

    /// The smallest multiple of `step` millicores that is >= `cores` CPUs. A relative tolerance of
    /// 1e-9 absorbs float noise, so 2.9999999999999996 rounds to 3000m, not 3100m.
    pub fn ceil_to_step(cores: f64, step: u32) -> Millicores {
        let steps = cores * 1000.0 / f64::from(step);
        let steps = (steps - steps.abs() * 1e-9).ceil().max(0.0);
        Millicores((steps as u32).saturating_mul(step))
    }

    /// Amount in CPUs, e.g. 2.5.
    pub fn as_cores(self) -> f64 {
        f64::from(self.0) / 1000.0
    }

    /// Whole CPUs, rounded down: the number of threads that fit under this quota unthrottled.
    pub fn whole_cpus(self) -> u32 {
        self.0 / 1000
    }

    pub fn is_whole(self) -> bool {
        self.0.is_multiple_of(1000)
    }

    /// The most readable valid Kubernetes quantity: "3" for whole CPUs, "2500m" otherwise.
    pub fn quantity(self) -> String {
        if self.is_whole() {
            self.whole_cpus().to_string()
        } else {
            format!("{}m", self.0)
        }
    }
}

impl fmt::Display for Millicores {
    /// CPUs as a decimal, e.g. "2.5" or "3".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::fmt_num(self.as_cores(), 3))
    }
}

/// Memory in MiB as a Kubernetes quantity: "2Gi" when it is whole GiB, else "1280Mi".
pub fn memory_quantity(mib: u64) -> String {
    if mib > 0 && mib.is_multiple_of(1024) {
        format!("{}Gi", mib / 1024)
    } else {
        format!("{mib}Mi")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kubernetes' quantity grammar, restricted to what sizing emits: an unsigned decimal
    /// integer followed by nothing, `m`, `Mi` or `Gi` (the API server's regex is
    /// `^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$`).
    pub(crate) fn is_valid_quantity(q: &str) -> bool {
        let digits = q.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let suffix = &q[digits.len()..];
        !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'))
            && ["", "m", "Mi", "Gi"].contains(&suffix)
    }

    #[test]
    fn rounding_absorbs_float_noise_but_not_real_excess() {
        assert_eq!(Millicores::ceil_to_step(2.5 * 1.2, 1000), Millicores(3000));
        assert_eq!(Millicores::ceil_to_step(3.0001, 1000), Millicores(4000));
        assert_eq!(Millicores::ceil_to_step(2.5, 100), Millicores(2500));
        assert_eq!(Millicores::ceil_to_step(3.571428, 100), Millicores(3600));
        assert_eq!(Millicores::ceil_to_step(0.0, 100), Millicores(0));
    }

    #[test]
    fn cpu_quantities_are_whole_numbers_or_millicores() {
        assert_eq!(Millicores(3000).quantity(), "3");
        assert_eq!(Millicores(2500).quantity(), "2500m");
        assert_eq!(Millicores(100).quantity(), "100m");
        assert_eq!(Millicores(2500).to_string(), "2.5");
        for m in [100, 1000, 2500, 3000, 12_300] {
            assert!(is_valid_quantity(&Millicores(m).quantity()), "{m}");
        }
    }

    #[test]
    fn memory_quantities_prefer_whole_gibibytes() {
        assert_eq!(memory_quantity(1280), "1280Mi");
        assert_eq!(memory_quantity(2048), "2Gi");
        assert!(
            is_valid_quantity(&memory_quantity(1280)) && is_valid_quantity(&memory_quantity(2048))
        );
        assert!(
            !is_valid_quantity("2.5.0") && !is_valid_quantity("3 cpu") && !is_valid_quantity("m")
        );
    }
}
