//! The accuracy gate: did variant B (candidate, head) hear worse than variant A (baseline, base)
//! on the same labelled set? Two [`Accuracy`] records in, a verdict out, paired by utterance.
//!
//! What a verdict promises under `Points(t)` (t in WER points): `regressed`, that B made more
//! word errors than A by more than `t` points on this set and that chance cannot explain it
//! (the 95% interval of the change lies above 0, and an exact sign-flip test over the
//! utterances whose error count changed gives one-sided p <= 0.025); `improved`, the same
//! mirrored (better by more than `t`, the promise latency's `improved` makes, so a smaller gain
//! is a `pass`). `pass`: B made no more errors than A on the set, or the whole 95% interval of
//! the change is at or below `t`. Anything else is `inconclusive`: the set is too small to
//! tell, and more labelled utterances is the fix. A change exactly at `t` is not beyond it
//! (never `regressed`), and one utterance has no interval (it cannot show how WER varies
//! between sentences), so it passes only with no more errors.
//!
//! The change is `D = 100 x (B's word errors - A's) / reference words`, pooled over the set like
//! the WER itself. Its uncertainty comes from which sentences happen to be in the set: a paired
//! bootstrap over utterances (Bisani & Ney 2004), seeded, with Hesterberg's (2015) expanded
//! percentiles, since a plain percentile interval is too narrow on the few utterances a CI set
//! has (at 5 utterances by a factor of ~1.6; at 2-3 the expanded interval is the bootstrap's
//! whole range). The bootstrap alone cannot doubt a set where every changed utterance moved the
//! same way (every resample agrees), hence the sign-flip test: with k changed utterances no
//! test can be surer than 1 in 2^k, so fewer than 6 can never be `regressed` or `improved`.
//!
//! `Mlperf99` is MLPerf Inference's Whisper rule as MLPerf applies it: B's word accuracy
//! (100 - WER) must be at least 99% of A's on the fixed set, a point check without interval.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::ModelVerdict;
use super::PctInterval;
use super::verdict::{BOOTSTRAP_SEED, Verdict};
use crate::accuracy::normalize::words;
use crate::accuracy::wer::{WordOp, align};
use crate::accuracy::{Accuracy, UtteranceScore};
use crate::config::{Thresholds, WerRule};

/// Bootstrap resamples of the utterances: 2000 put the expanded 95% percentiles' own
/// resampling error well below the 0.1 point the reasons print.
pub const ACCURACY_RESAMPLES: usize = 2000;
/// One-sided level of each direction (`regressed`, `improved`): a two-sided 95% claim.
pub const ONE_SIDED_ALPHA: f64 = 0.025;
/// Word changes listed per changed utterance; the rest are counted.
pub const MAX_WORD_CHANGES: usize = 12;

/// How B's WER is judged against A's. JSON: `{"points": 1.0}` (B may be worse by at most 1.0
/// WER point) or `"mlperf99"`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccuracyRule {
    /// The largest allowed increase of the WER, in points (percentage points of WER, >= 0).
    Points(f64),
    /// B's word accuracy (100 - WER) at least 99% of A's on the set (MLPerf's Whisper rule).
    Mlperf99,
}

/// The accuracy line of a model's verdict. A = baseline / base, B = candidate / head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccuracyVerdict {
    /// `None`: shown, not gated (no rule configured).
    pub verdict: Option<Verdict>,
    pub rule: Option<AccuracyRule>,
    /// A's WER on the set, percent (all word errors over all reference words).
    pub a_wer_pct: f64,
    /// B's WER on the set, percent.
    pub b_wer_pct: f64,
    /// B - A, WER points (positive = B hears worse).
    pub change_pts: f64,
    /// 95% interval of the change, WER points (`None` with fewer than 2 utterances, or no words).
    pub ci_pts: Option<PctInterval>,
    pub utterances: usize,
    /// Words of all normalised references.
    pub reference_words: u32,
    /// The utterances whose decoded text differs, in the set's order (A's).
    pub changed: Vec<ChangedUtterance>,
    /// Why, in sentences.
    pub reasons: Vec<String>,
}

/// One utterance the two variants transcribed differently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedUtterance {
    pub wav: String,
    pub reference: String,
    pub a_text: String,
    pub b_text: String,
    /// Word errors of A's text against the reference.
    pub a_errors: u32,
    pub b_errors: u32,
    /// A's normalised words turned into B's: "dashwood -> dashboard", "+the" (B added it),
    /// "-had" (B lost it); at most [`MAX_WORD_CHANGES`], then "…and N more".
    pub words: Vec<String>,
}

/// Why two accuracy records cannot be compared; the message says what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Incomparable {
    #[error(
        "the two WERs are of different labelled sets (sha256 {a} vs {b}): transcribe the same set (the same TSV and WAVs) with both variants to compare them"
    )]
    OtherSet { a: String, b: String },
    #[error(
        "the two WERs were normalised differently ({a} vs {b}): score both variants with the same bench-gate version"
    )]
    OtherNormalizer { a: String, b: String },
    #[error(
        "the two records do not hold the same utterances (only in A: {}; only in B: {}): transcribe the whole set with both variants",
        list(only_a),
        list(only_b)
    )]
    OtherUtterances {
        only_a: Vec<String>,
        only_b: Vec<String>,
    },
    #[error(
        "{side} names the utterance {wav} twice: a labelled set lists each WAV once; fix the set's TSV"
    )]
    Duplicate { side: char, wav: String },
    #[error(
        "{wav} has {a} reference words in A and {b} in B: the references were not scored alike; score both variants with the same bench-gate version"
    )]
    OtherReference { wav: String, a: u32, b: u32 },
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// Judges B's WER against A's on the same labelled set; `rule` `None` shows without gating.
pub fn judge(
    a: &Accuracy,
    b: &Accuracy,
    rule: Option<AccuracyRule>,
) -> Result<AccuracyVerdict, Incomparable> {
    let pairs = pair(a, b)?;
    let n = pairs.len();
    let words_total: u32 = pairs.iter().map(|(x, _)| x.reference_words).sum();
    let a_errors: u32 = pairs.iter().map(|(x, _)| x.errors()).sum();
    let b_errors: u32 = pairs.iter().map(|(_, y)| y.errors()).sum();
    let pct = |e: u32| {
        if words_total == 0 {
            0.0
        } else {
            100.0 * f64::from(e) / f64::from(words_total)
        }
    };
    let identical = pairs.iter().all(|(x, y)| x.tokens == y.tokens);
    let mut v = AccuracyVerdict {
        verdict: None,
        rule,
        a_wer_pct: pct(a_errors),
        b_wer_pct: pct(b_errors),
        change_pts: if identical {
            0.0
        } else {
            pct(b_errors) - pct(a_errors)
        },
        ci_pts: None,
        utterances: n,
        reference_words: words_total,
        changed: pairs
            .iter()
            .filter(|(x, y)| x.hypothesis != y.hypothesis)
            .map(|(x, y)| changed(x, y))
            .collect(),
        reasons: Vec::new(),
    };
    if words_total == 0 {
        v.verdict = rule.map(|_| Verdict::Inconclusive);
        v.reasons.push(format!(
            "the labelled set's references have no words ({}): no WER to compare; give the set reference texts",
            utterances(n)
        ));
        return Ok(v);
    }
    if identical {
        v.verdict = rule.map(|_| Verdict::Pass);
        v.ci_pts = (n >= 2).then_some(PctInterval {
            low: 0.0,
            high: 0.0,
        });
        v.reasons.push(format!(
            "the same words on all {} (WER {:.1}%)",
            utterances(n),
            v.a_wer_pct
        ));
        return Ok(v);
    }
    let diffs: Vec<i64> = pairs
        .iter()
        .map(|(x, y)| i64::from(y.errors()) - i64::from(x.errors()))
        .collect();
    let word_counts: Vec<u32> = pairs.iter().map(|(x, _)| x.reference_words).collect();
    v.ci_pts = interval(&diffs, &word_counts, v.change_pts);
    let summary = summary(&v);
    match rule {
        None => v.reasons.push(format!(
            "{summary} (not gated: no accuracy rule configured)"
        )),
        Some(AccuracyRule::Mlperf99) => {
            let (a_acc, b_acc) = (100.0 - v.a_wer_pct, 100.0 - v.b_wer_pct);
            let limit = 0.99 * a_acc;
            // Exactly at the line is at it: 1e-9 points absorb the rounding of 0.99 x A.
            let below = b_acc < limit - 1e-9;
            v.verdict = Some(if below {
                Verdict::Regressed
            } else {
                Verdict::Pass
            });
            v.reasons.push(format!(
                "word accuracy {a_acc:.2}% -> {b_acc:.2}% on {} ({words_total} words): {} the MLPerf limit of 99% of A's, {limit:.2}%",
                utterances(n),
                if below { "below" } else { "at or above" }
            ));
        }
        Some(AccuracyRule::Points(t)) => {
            let (verdict, reason) = points(&v, &diffs, t, &summary);
            v.verdict = Some(verdict);
            v.reasons.push(reason);
        }
    }
    Ok(v)
}

/// The model's verdict once accuracy is counted: an accuracy regression, or a change the set
/// is too small to judge, makes a better latency verdict that bad; a passing or improved
/// accuracy line never changes it (hearing better does not excuse being slower). The same
/// rule as memory's ([`super::memory::combine`]).
pub fn combine(latency: Verdict, accuracy: Option<Verdict>) -> Verdict {
    super::memory::combine(latency, accuracy)
}

/// The rule `[thresholds.ARCH]` asks for: `wer_rule = "mlperf99"`, else the points limit;
/// `None` (shown, not gated) when neither is set.
pub fn rule_of(t: &Thresholds) -> Option<AccuracyRule> {
    match (t.wer_rule, t.max_wer_increase_pts) {
        (Some(WerRule::Mlperf99), _) => Some(AccuracyRule::Mlperf99),
        (_, Some(p)) => Some(AccuracyRule::Points(p)),
        (_, None) => None,
    }
}

/// Adds the accuracy line to a model's verdict: `a` the baseline's (or variant A's) record,
/// `b` the candidate's. `Err` says why there is no pair to judge; a gated model then becomes
/// `inconclusive` (it was asked to hear, and could not be checked), an ungated one notes it.
pub fn apply(
    v: &mut ModelVerdict,
    records: Result<(&Accuracy, &Accuracy), String>,
    t: &Thresholds,
) {
    let rule = rule_of(t);
    let judged = records.and_then(|(a, b)| judge(a, b, rule).map_err(|e| e.to_string()));
    match judged {
        Ok(acc) => {
            let before = v.verdict;
            v.verdict = combine(before, acc.verdict);
            if matches!(
                acc.verdict,
                Some(Verdict::Regressed | Verdict::Inconclusive)
            ) {
                // When accuracy decides the verdict, its reason is the one to read first.
                let at = if v.verdict > before {
                    0
                } else {
                    v.reasons.len()
                };
                v.reasons.splice(at..at, acc.reasons.iter().cloned());
            }
            v.accuracy = Some(acc);
        }
        Err(why) => {
            if rule.is_some() {
                v.verdict = combine(v.verdict, Some(Verdict::Inconclusive));
            }
            v.reasons.push(format!("accuracy not compared: {why}"));
        }
    }
}

/// A's and B's score of each utterance, in A's order, once the records are shown comparable.
fn pair<'a>(
    a: &'a Accuracy,
    b: &'a Accuracy,
) -> Result<Vec<(&'a UtteranceScore, &'a UtteranceScore)>, Incomparable> {
    if a.set_sha256 != b.set_sha256 {
        return Err(Incomparable::OtherSet {
            a: a.set_sha256.clone(),
            b: b.set_sha256.clone(),
        });
    }
    if a.normalizer != b.normalizer {
        return Err(Incomparable::OtherNormalizer {
            a: a.normalizer.clone(),
            b: b.normalizer.clone(),
        });
    }
    let index = |acc: &'a Accuracy, side: char| {
        let mut m = HashMap::new();
        for u in &acc.utterances {
            if m.insert(u.wav.as_str(), u).is_some() {
                return Err(Incomparable::Duplicate {
                    side,
                    wav: u.wav.clone(),
                });
            }
        }
        Ok(m)
    };
    let (ia, ib) = (index(a, 'A')?, index(b, 'B')?);
    let only = |from: &'a Accuracy, other: &HashMap<&str, &UtteranceScore>| -> Vec<String> {
        from.utterances
            .iter()
            .filter(|u| !other.contains_key(u.wav.as_str()))
            .map(|u| u.wav.clone())
            .collect()
    };
    let (only_a, only_b) = (only(a, &ib), only(b, &ia));
    if !only_a.is_empty() || !only_b.is_empty() {
        return Err(Incomparable::OtherUtterances { only_a, only_b });
    }
    a.utterances
        .iter()
        .map(|x| {
            let y = ib[x.wav.as_str()];
            if x.reference_words == y.reference_words {
                Ok((x, y))
            } else {
                Err(Incomparable::OtherReference {
                    wav: x.wav.clone(),
                    a: x.reference_words,
                    b: y.reference_words,
                })
            }
        })
        .collect()
}

fn changed(x: &UtteranceScore, y: &UtteranceScore) -> ChangedUtterance {
    let ops = align(&words(&x.hypothesis), &words(&y.hypothesis));
    let mut changes: Vec<String> = ops
        .into_iter()
        .filter_map(|op| match op {
            WordOp::Same(_) => None,
            WordOp::Substituted(p, q) => Some(format!("{p} -> {q}")),
            WordOp::Deleted(p) => Some(format!("-{p}")),
            WordOp::Inserted(q) => Some(format!("+{q}")),
        })
        .collect();
    if changes.len() > MAX_WORD_CHANGES {
        let more = changes.len() - MAX_WORD_CHANGES;
        changes.truncate(MAX_WORD_CHANGES);
        changes.push(format!("…and {more} more"));
    }
    ChangedUtterance {
        wav: x.wav.clone(),
        reference: x.reference.clone(),
        a_text: x.hypothesis.clone(),
        b_text: y.hypothesis.clone(),
        a_errors: x.errors(),
        b_errors: y.errors(),
        words: changes,
    }
}

/// "WER 12.3% -> 31.0% (+18.7 points, 95% interval +9.1 to +27.5) on 20 utterances (212 words)"
fn summary(v: &AccuracyVerdict) -> String {
    let interval = match v.ci_pts {
        Some(i) => format!("95% interval {:+.1} to {:+.1}", i.low, i.high),
        None => "no interval from a single utterance".into(),
    };
    format!(
        "WER {:.1}% -> {:.1}% ({:+.1} points, {interval}) on {} ({} words)",
        v.a_wer_pct,
        v.b_wer_pct,
        v.change_pts,
        utterances(v.utterances),
        v.reference_words
    )
}

/// "1 utterance", "5 utterances".
fn utterances(n: usize) -> String {
    if n == 1 {
        "1 utterance".into()
    } else {
        format!("{n} utterances")
    }
}

/// The `Points(t)` rule (module doc): the verdict and its one sentence.
fn points(v: &AccuracyVerdict, diffs: &[i64], t: f64, summary: &str) -> (Verdict, String) {
    let d = v.change_pts;
    let (low, high) = v
        .ci_pts
        .map_or((f64::NEG_INFINITY, f64::INFINITY), |i| (i.low, i.high));
    let (p_worse, p_better) = sign_flip_p(diffs);
    let worse = diffs.iter().filter(|&&x| x > 0).count();
    let better = diffs.iter().filter(|&&x| x < 0).count();
    let limit = format!("the {t:.1}-point limit");
    if d > t && low > 0.0 && p_worse <= ONE_SIDED_ALPHA {
        return (
            Verdict::Regressed,
            format!(
                "{summary}: beyond {limit}; {} got worse, {better} better",
                utterances(worse)
            ),
        );
    }
    if d < -t && high < 0.0 && p_better <= ONE_SIDED_ALPHA {
        return (
            Verdict::Improved,
            format!(
                "{summary}: better by more than {limit}; {} got better, {worse} worse",
                utterances(better)
            ),
        );
    }
    if d <= 0.0 {
        let mut reason = format!("{summary}: no more errors than A");
        // A pass on the set, not a promise beyond it: say so when the set is that blind.
        if v.ci_pts.is_none() {
            reason.push_str(", though one utterance cannot show how the WER varies between sentences; label more utterances");
        } else if high > t {
            reason.push_str(&format!(
                ", though the set cannot rule out up to {high:+.1} points, beyond {limit}; label more utterances to see changes that small"
            ));
        }
        return (Verdict::Pass, reason);
    }
    if high <= t {
        return (
            Verdict::Pass,
            format!("{summary}: within {limit} across the whole interval"),
        );
    }
    let n = v.utterances;
    let why = if n < 2 {
        "one utterance cannot show how much the WER varies from sentence to sentence".to_string()
    } else if d > t && low > 0.0 {
        format!(
            "of the {} that changed, {worse} got worse and {better} better, which chance alone does {:.1}% of the time",
            utterances(worse + better),
            100.0 * p_worse
        )
    } else if d > t {
        "its 95% interval reaches down to no change".to_string()
    } else {
        "its 95% interval reaches beyond the limit".to_string()
    };
    let side = if d > t { "beyond" } else { "within" };
    (
        Verdict::Inconclusive,
        format!(
            "{summary}: {side} {limit}, but the set is too small to tell: {why}; label more utterances (the interval narrows with the square root of their number)"
        ),
    )
}

/// The 95% interval of the change, WER points: a paired bootstrap over utterances with
/// expanded percentiles (module doc), widened to hold `d` itself. `None` below 2 utterances.
fn interval(diffs: &[i64], word_counts: &[u32], d: f64) -> Option<PctInterval> {
    let n = diffs.len();
    if n < 2 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
    let mut stats = Vec::with_capacity(ACCURACY_RESAMPLES);
    for _ in 0..ACCURACY_RESAMPLES {
        let (mut diff, mut w) = (0i64, 0u64);
        for _ in 0..n {
            let i = rng.random_range(0..n);
            diff += diffs[i];
            w += u64::from(word_counts[i]);
        }
        // A resample of utterances without reference words has no WER: left out.
        if w > 0 {
            stats.push(100.0 * diff as f64 / w as f64);
        }
    }
    if stats.is_empty() {
        return None;
    }
    stats.sort_by(f64::total_cmp);
    let tail = expanded_tail(n);
    let low = crate::stats::percentile_sorted(&stats, 100.0 * tail);
    let high = crate::stats::percentile_sorted(&stats, 100.0 * (1.0 - tail));
    Some(PctInterval {
        low: low.min(d),
        high: high.max(d),
    })
}

/// The tail probability of each end of Hesterberg's expanded percentile interval for a 95%
/// interval of a mean of `n >= 2` values: the normal tail beyond `sqrt(n / (n - 1)) x
/// t(0.975, n - 1)` instead of 0.025, which undoes the bootstrap's narrowness on few values.
fn expanded_tail(n: usize) -> f64 {
    let df = (n - 1) as f64;
    upper_tail((n as f64 / df).sqrt() * student_t_975(n - 1))
}

/// Student's t quantile at 0.975 for `df >= 1` degrees of freedom: the table for 1-30, then
/// the Cornish-Fisher expansion (within 1e-3 of the table at 30).
fn student_t_975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    if (1..=30).contains(&df) {
        return T[df - 1];
    }
    let z: f64 = 1.959_964;
    let v = df.max(1) as f64;
    z + (z.powi(3) + z) / (4.0 * v)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * v * v)
}

/// P(Z > x) for a standard normal Z (Numerical Recipes' erfc, fractional error < 1.2e-7).
fn upper_tail(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 {
        0.5 * erfc
    } else {
        1.0 - 0.5 * erfc
    }
}

/// The exact sign-flip (paired randomisation) test of the per-utterance error differences:
/// if A and B were the same model, each utterance's difference would be as likely negated.
/// Returns one-sided p-values (B worse, B better): the share of the 2^k sign patterns of the k
/// non-zero differences whose sum is at least (at most) the observed one. Exact by counting
/// sums (differences are whole errors); a normal approximation beyond 50 million steps.
fn sign_flip_p(diffs: &[i64]) -> (f64, f64) {
    let mags: Vec<usize> = diffs
        .iter()
        .filter(|&&x| x != 0)
        .map(|x| x.unsigned_abs() as usize)
        .collect();
    let observed: i64 = diffs.iter().sum();
    let total: usize = mags.iter().sum();
    if mags.is_empty() {
        return (1.0, 1.0);
    }
    if mags.len().saturating_mul(2 * total + 1) > 50_000_000 {
        let sd = mags.iter().map(|&m| (m * m) as f64).sum::<f64>().sqrt();
        let z = observed as f64 / sd;
        return (upper_tail(z), upper_tail(-z));
    }
    // dist[s + total]: probability that the signed sum is s.
    let mut dist = vec![0.0f64; 2 * total + 1];
    dist[total] = 1.0;
    let mut reach = 0;
    for &m in &mags {
        let mut next = vec![0.0f64; dist.len()];
        for s in total - reach..=total + reach {
            if dist[s] > 0.0 {
                next[s + m] += 0.5 * dist[s];
                next[s - m] += 0.5 * dist[s];
            }
        }
        reach += m;
        dist = next;
    }
    let at = (observed + total as i64) as usize;
    let worse: f64 = dist[at..].iter().sum();
    let better: f64 = dist[..=at].iter().sum();
    (worse.min(1.0), better.min(1.0))
}

#[cfg(test)]
#[path = "accuracy_tests.rs"]
mod tests;
