//! When the duet looks at its units and what each look decides: the looks' schedule, their
//! boundaries ([`super::boundaries`]) and the rule ([`super::sequential::call`]). Pure: the
//! caller says how much of the budget is used; the simulation in `examples/duet_oc.rs` drives
//! this same object.

use super::boundaries::{Boundaries, Look};
use super::sequential::{self, ALPHA, Call, ShiftInterval};

/// The first look: 8 units are the fewest whose signed-rank interval can exclude anything at
/// an early look's share of the error (all 8 on one side: two-sided 1/128), so a gross change
/// stops there.
pub const FIRST_LOOK: usize = 8;
/// Each later look comes after this many times the previous look's units: looks cost nothing
/// but a little alpha granularity, so they are frequent enough for a run to stop within ~25% of
/// the length that decides it.
pub const LOOK_GROWTH: f64 = 1.25;

/// What one look saw and decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub look: Look,
    pub interval: ShiftInterval,
    pub call: Call,
}

/// The looks of one duet.
pub struct Stopping {
    boundaries: Boundaries,
    next: usize,
}

impl Default for Stopping {
    fn default() -> Self {
        Self::new()
    }
}

impl Stopping {
    pub fn new() -> Self {
        Stopping {
            boundaries: Boundaries::new(ALPHA),
            next: FIRST_LOOK,
        }
    }

    /// Whether a look is due now that `units` units are in.
    pub fn due(&self, units: usize) -> bool {
        units >= self.next
    }

    /// The looks taken so far.
    pub fn looks(&self) -> &[Look] {
        self.boundaries.looks()
    }

    /// Looks at the units' log ratios `d` (with the pair of each) at information time `tau` (the
    /// share of the measuring budget used: 1 for the last look, which spends all the error left)
    /// against the threshold `t` (log ratio). `None` when this look's boundary cannot exclude
    /// anything yet (too few units for the error spent so far).
    pub fn look(&mut self, d: &[f64], pairs: &[u32], tau: f64, t: f64) -> Option<Decision> {
        let n = d.len();
        self.next = (n + 1).max((n as f64 * LOOK_GROWTH).ceil() as usize);
        let look = self.boundaries.look(n, tau);
        let raw = sequential::shift_interval_at(d, look.rank, look.level)?;
        let (interval, _) = sequential::with_pair_effect(raw, d, pairs);
        Some(Decision {
            look,
            interval,
            call: sequential::call(&interval, t),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_come_from_the_first_look_on_growing_by_a_quarter() {
        let mut s = Stopping::new();
        assert!(!s.due(FIRST_LOOK - 1));
        assert!(s.due(FIRST_LOOK));
        let d = vec![0.01; FIRST_LOOK];
        let p: Vec<u32> = (0..FIRST_LOOK as u32).map(|u| u % 2).collect();
        s.look(&d, &p, 0.1, 0.02);
        assert!(!s.due(FIRST_LOOK + 1));
        assert!(s.due(10), "8 * 1.25 = 10");
    }

    #[test]
    fn a_gross_change_is_decided_at_the_first_look_that_can_exclude_zero() {
        // Ten units, all far above the threshold: rank 1 (the smallest unit) clears zero once
        // the error spent allows two-sided 2/1024.
        let d: Vec<f64> = (0..10).map(|k| 0.18 + 0.002 * k as f64).collect();
        let p: Vec<u32> = (0..10).map(|u| u % 2).collect();
        let mut s = Stopping::new();
        let early = s.look(&d[..8], &p[..8], 0.05, 0.02);
        assert!(
            early.is_none(),
            "8 units at tau 0.05: nothing can be excluded"
        );
        let dec = s.look(&d, &p, 0.2, 0.02).expect("a boundary at tau 0.2");
        assert_eq!(dec.call, Call::Regressed, "{dec:?}");
        assert!(dec.look.rank >= 1);
    }

    #[test]
    fn the_last_look_spends_the_whole_budget() {
        let mut s = Stopping::new();
        let d: Vec<f64> = (0..30)
            .map(|k| ((k * 7919) % 13) as f64 * 0.001 - 0.006)
            .collect();
        let p: Vec<u32> = (0..30).map(|u| u % 2).collect();
        s.look(&d[..8], &p[..8], 0.3, 0.02);
        s.look(&d, &p, 1.0, 0.02);
        let last = s.looks().last().unwrap();
        assert!((last.spent - ALPHA).abs() < 1e-12, "{last:?}");
    }
}
