//! Taking a neighbour's hold on the pinned CPU out of the duet's units.
//!
//! Next to a busy neighbour the pinned core is shared: a block whose threads waited for a CPU a
//! share `w` of the time they wanted one took about `1 / (1 - w)` times as long as it would
//! alone. Which block of a unit waits more is chance (the neighbour does not know A from B), so
//! the random order keeps the estimate honest; but that chance is then the largest noise there
//! is: next to a neighbour on this project's VM, B's wait minus A's explained 95% of the units'
//! variance (docs/verdict.md, "Next to a neighbour").
//!
//! The adjustment is fixed, not fitted: each block's log time gets `ln(1 - w)` added, the time
//! it would have taken running alone. Nothing is estimated from the units, so under A/A a unit
//! stays as likely to favour A as B and the signed-rank boundaries stay exact.
//!
//! What it must not take out is waiting a variant causes itself: that is B's cost. Its cause is
//! more busy threads than CPUs (the thread trap), which the workers' hellos show, so a crowded
//! variant turns the adjustment off whatever the waits say. A statistical test alone cannot
//! catch it next to a bursty neighbour: simulated, B waiting 10% for its own threads beside one
//! was called a pass in 29% of duets (`wait_tests.rs`). For any other cause, the corrections
//! of a variant that waits on its own are not centred on zero: when their signed-rank interval
//! excludes zero, the units are judged as measured too, and the verdict says why.

use serde::{Deserialize, Serialize};

use super::sequential::shift_interval;
use crate::platform::EnvDelta;
use crate::stats::median;

/// A block counts as having waited at most this share of its time: a block that waited 95%
/// is not trusted to say it would have run 20 times faster alone.
pub const WAIT_SHARE_MAX: f64 = 0.9;
/// Two-sided level of each test that finds one variant waiting more than the other (its share
/// of the quietest blocks; the paired corrections). Not generous: next to a neighbour a chance
/// asymmetry of the waits is also a raw log ratio off zero, so falling back to the raw units on
/// a loose test would pick exactly the unlucky runs.
pub const OWN_WAIT_LEVEL: f64 = 0.01;
/// A typical block of the variant that waited less waits at least this share when a neighbour
/// is around: below it, the core is quiet and any wait a variant shows is its own.
pub const NEIGHBOUR_WAIT: f64 = 0.01;
/// A difference in the variants' median waits worth a sentence, points of share.
const OWN_WAIT_WORTH_SAYING: f64 = 0.005;

/// The share of the time each block of a unit waited for a CPU ([`EnvDelta::wait_share`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Waits {
    pub a: f64,
    pub b: f64,
}

impl Waits {
    /// The waits of a unit's two blocks; `None` when either block lacks the counts.
    pub fn of(a: &EnvDelta, b: &EnvDelta) -> Option<Waits> {
        Some(Waits {
            a: a.wait_share()?,
            b: b.wait_share()?,
        })
    }

    /// What the adjustment adds to the unit's `ln b - ln a`: each block counted as if it had
    /// run alone.
    pub fn correction(&self) -> f64 {
        let alone = |w: f64| (1.0 - w.clamp(0.0, WAIT_SHARE_MAX)).ln();
        alone(self.b) - alone(self.a)
    }
}

/// Whether the units were adjusted, and why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Adjustment {
    /// Every unit's blocks counted as if they had run alone.
    Applied,
    /// Some block lacked the scheduler's counts (off Linux, no schedstats): as measured.
    Unknown,
    /// One variant waited more than the other unit after unit on an otherwise quiet core: its
    /// own threads, so its own cost: as measured.
    OwnWait,
    /// One variant waited more than chance allows while a neighbour held the core: its own
    /// threads or the neighbour's timing, which the waits cannot tell apart. As measured, the
    /// units would carry that chance asymmetry whole, so the duet decides nothing.
    Unclear,
    /// A variant runs more busy threads than its CPUs: they wait for each other, its own cost,
    /// so the units are judged as measured whatever the waits say.
    Crowded,
}

/// The units as judged, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Adjusted {
    /// Each unit's log ratio, adjusted when `how` is [`Adjustment::Applied`].
    pub d: Vec<f64>,
    pub how: Adjustment,
    /// The median wait of A's and B's blocks (0..1); NaN when unknown.
    pub a_wait: f64,
    pub b_wait: f64,
    /// The typical correction (Hodges-Lehmann, log ratio): near zero when only a neighbour
    /// made the blocks wait; NaN when unknown.
    pub correction: f64,
    /// The crowded variant and how, when one's threads outnumber its CPUs.
    pub crowded: Option<String>,
}

/// The units' log ratios `d`, adjusted by each unit's `waits` unless a block lacks them, a
/// variant is `crowded`, or the variants wait differently (the corrections' signed-rank interval
/// at [`OWN_WAIT_LEVEL`] excludes zero): then on a quiet core ([`Adjustment::OwnWait`]) the
/// units are judged as measured, and beside a neighbour ([`Adjustment::Unclear`]) not at all.
pub fn adjust(d: &[f64], waits: &[Option<Waits>], crowded: Option<&str>) -> Adjusted {
    let known: Option<Vec<Waits>> = waits.iter().copied().collect();
    let Some(known) = known.filter(|k| k.len() == d.len() && !k.is_empty()) else {
        return Adjusted {
            d: d.to_vec(),
            how: Adjustment::Unknown,
            a_wait: f64::NAN,
            b_wait: f64::NAN,
            correction: f64::NAN,
            crowded: crowded.map(str::to_string),
        };
    };
    let corrections: Vec<f64> = known.iter().map(Waits::correction).collect();
    let centred = shift_interval(&corrections, OWN_WAIT_LEVEL);
    let own = centred.is_some_and(|i| i.low > 0.0 || i.high < 0.0);
    let a_wait = median(&known.iter().map(|w| w.a).collect::<Vec<_>>());
    let b_wait = median(&known.iter().map(|w| w.b).collect::<Vec<_>>());
    let (d, how) = if crowded.is_some() {
        (d.to_vec(), Adjustment::Crowded)
    } else if own && a_wait.min(b_wait) >= NEIGHBOUR_WAIT {
        (d.to_vec(), Adjustment::Unclear)
    } else if own {
        (d.to_vec(), Adjustment::OwnWait)
    } else {
        let adjusted = d.iter().zip(&corrections).map(|(d, c)| d + c).collect();
        (adjusted, Adjustment::Applied)
    };
    Adjusted {
        d,
        how,
        a_wait,
        b_wait,
        correction: centred.map_or(f64::NAN, |i| i.estimate),
        crowded: crowded.map(str::to_string),
    }
}

impl Adjusted {
    /// The sentence a reader needs, when there is one: a neighbour's wait taken out (from 1% of
    /// the blocks' time), or one variant waiting for its own threads.
    pub fn sentence(&self) -> Option<String> {
        let (a, b) = (100.0 * self.a_wait, 100.0 * self.b_wait);
        match self.how {
            Adjustment::Applied if a.max(b) >= 1.0 => Some(format!(
                "another process held the pinned CPU: the blocks waited for it {a:.1}% (A) and \
                 {b:.1}% (B) of their time (median); each block is counted as if it had run \
                 alone (the run-delay adjustment, docs/verdict.md)"
            )),
            Adjustment::OwnWait if (self.b_wait - self.a_wait).abs() >= OWN_WAIT_WORTH_SAYING => {
                let (more, m, other, o) = self.more_first();
                Some(format!(
                    "{more}'s threads waited for a CPU {m:.1}% of their time against {other}'s \
                     {o:.1}%, more than chance allows: {more} contends for its own CPUs (more busy \
                     threads than CPUs?), a cost the duet counts, so no run-delay adjustment"
                ))
            }
            Adjustment::Unclear => {
                let (more, m, other, o) = self.more_first();
                Some(format!(
                    "{more}'s blocks waited for a CPU {m:.1}% of their time against {other}'s \
                     {o:.1}%, more than chance allows, while another process held the core: \
                     {more}'s own threads or the neighbour's timing, which the duet cannot tell \
                     apart, so it decides nothing\n  fix: run on a core no other process uses \
                     (and keep intra_op_threads within the variant's CPUs)"
                ))
            }
            Adjustment::Crowded => self.crowded.as_ref().map(|c| {
                format!(
                    "{c}: its threads wait for each other, a cost the duet counts, so no \
                     run-delay adjustment (a neighbour's wait stays in the noise)"
                )
            }),
            _ => None,
        }
    }

    /// The variant that waited more and its median wait (percent), then the other.
    fn more_first(&self) -> (&'static str, f64, &'static str, f64) {
        let (a, b) = (100.0 * self.a_wait, 100.0 * self.b_wait);
        if b > a {
            ("B", b, "A", a)
        } else {
            ("A", a, "B", b)
        }
    }

    /// How the units were taken, for the verdict's `test` line.
    pub fn method(&self) -> &'static str {
        match self.how {
            Adjustment::Applied => "each block's time adjusted for the share it waited for a CPU",
            Adjustment::Unknown => "no run-delay adjustment (no scheduler counts)",
            Adjustment::OwnWait => {
                "no run-delay adjustment (the variants waited differently: their own cost)"
            }
            Adjustment::Crowded => {
                "no run-delay adjustment (a variant's threads outnumber its CPUs)"
            }
            Adjustment::Unclear => {
                "not decided: one variant waited for a CPU more than chance allows beside a neighbour"
            }
        }
    }
}

#[cfg(test)]
#[path = "wait_tests.rs"]
mod tests;
