//! The comment's accuracy section: each model's word error rate on its labelled set beside the
//! baseline's (or the base's), and for the utterances heard differently, the words that
//! changed. Words and file names come from transcripts and TSVs: every one goes through
//! [`inline`].

use std::fmt::Write;

use super::escape::inline;
use super::input::{AccuracyView, Outcome};
use super::rows::Row;

/// Changed utterances listed per model; the verdict JSON has them all.
pub const MAX_CHANGED: usize = 8;

/// Did accuracy alone make this model regress?
pub fn accuracy_only(r: &Row) -> bool {
    let v = r.verdict;
    v.accuracy
        .as_ref()
        .is_some_and(|a| a.verdict == Some(Outcome::Regressed))
        && v.latency_verdict.is_some_and(|l| l != Outcome::Regressed)
        && v.memory
            .as_ref()
            .is_none_or(|m| m.verdict != Some(Outcome::Regressed))
}

/// `WER 8.4% → 28.1% (+19.8 points, 95% interval +12.0 … +27.5)`.
pub fn wer_change(a: &AccuracyView) -> String {
    let interval = a.ci_pts.as_ref().map_or_else(String::new, |ci| {
        format!(", 95% interval {:+.1} … {:+.1}", ci.low, ci.high)
    });
    format!(
        "WER {:.1}% → {:.1}% ({:+.1} points{interval})",
        a.a_wer_pct, a.b_wer_pct, a.change_pts
    )
}

/// One block per model with an accuracy line.
pub fn accuracy(w: &mut String, rows: &[Row], max_rows: Option<usize>) {
    let heard: Vec<(&Row, &AccuracyView)> = rows
        .iter()
        .filter_map(|r| Some((r, r.verdict.accuracy.as_ref()?)))
        .take(max_rows.unwrap_or(usize::MAX))
        .collect();
    if heard.is_empty() {
        return;
    }
    let _ = writeln!(
        w,
        "**Accuracy** (word error rate on the labelled set, transcribed after the clock; baseline or base → this run or head):\n"
    );
    for (r, a) in heard {
        let badge = a.verdict.map_or("shown, not gated", |v| v.badge());
        let _ = writeln!(
            w,
            "- {}: {} on {} utterances ({} words): {badge}",
            inline(&r.verdict.model),
            wer_change(a),
            a.utterances,
            a.reference_words
        );
        if a.changed.is_empty() {
            continue;
        }
        let _ = writeln!(
            w,
            "  <details><summary>{} utterance(s) heard differently</summary>\n",
            a.changed.len()
        );
        let _ = writeln!(w, "  | utterance | errors | words that changed |");
        let _ = writeln!(w, "  | --- | --- | --- |");
        for c in a.changed.iter().take(MAX_CHANGED) {
            let words: Vec<String> = c.words.iter().map(|x| inline(x)).collect();
            let _ = writeln!(
                w,
                "  | {} | {} → {} | {} |",
                inline(&c.wav),
                c.a_errors,
                c.b_errors,
                words.join(", ")
            );
        }
        if a.changed.len() > MAX_CHANGED {
            let _ = writeln!(
                w,
                "\n  _…and {} more in the verdict JSON._",
                a.changed.len() - MAX_CHANGED
            );
        }
        let _ = writeln!(w, "\n  </details>");
    }
    w.push('\n');
}
