//! Word alignment: the minimum number of substitutions, deletions and insertions that turn a
//! reference into a hypothesis (Levenshtein over words), and which words they were.

/// One step of an alignment, reference side first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WordOp {
    Same(String),
    /// The reference word, then the word heard instead.
    Substituted(String, String),
    /// A reference word the hypothesis lacks.
    Deleted(String),
    /// A hypothesis word the reference lacks.
    Inserted(String),
}

/// Edit counts of one alignment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EditCounts {
    pub substitutions: u32,
    pub deletions: u32,
    pub insertions: u32,
}

impl EditCounts {
    pub fn errors(&self) -> u32 {
        self.substitutions + self.deletions + self.insertions
    }
}

/// A minimum-edit alignment of `hypothesis` against `reference`. Among equally short
/// alignments it prefers substitutions, then deletions, then insertions (as jiwer and
/// sclite do), so the counts are the same every time.
pub fn align(reference: &[String], hypothesis: &[String]) -> Vec<WordOp> {
    let (n, m) = (reference.len(), hypothesis.len());
    // cost[i][j]: edits turning reference[..i] into hypothesis[..j].
    let mut cost = vec![vec![0u32; m + 1]; n + 1];
    for (i, row) in cost.iter_mut().enumerate() {
        row[0] = i as u32;
    }
    for (j, c) in cost[0].iter_mut().enumerate() {
        *c = j as u32;
    }
    for i in 1..=n {
        for j in 1..=m {
            let diag = cost[i - 1][j - 1] + u32::from(reference[i - 1] != hypothesis[j - 1]);
            cost[i][j] = diag.min(cost[i - 1][j] + 1).min(cost[i][j - 1] + 1);
        }
    }
    let mut ops = Vec::with_capacity(n.max(m));
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        if i > 0 && j > 0 {
            let same = reference[i - 1] == hypothesis[j - 1];
            if cost[i][j] == cost[i - 1][j - 1] + u32::from(!same) {
                ops.push(if same {
                    WordOp::Same(reference[i - 1].clone())
                } else {
                    WordOp::Substituted(reference[i - 1].clone(), hypothesis[j - 1].clone())
                });
                i -= 1;
                j -= 1;
                continue;
            }
        }
        if i > 0 && cost[i][j] == cost[i - 1][j] + 1 {
            ops.push(WordOp::Deleted(reference[i - 1].clone()));
            i -= 1;
        } else {
            ops.push(WordOp::Inserted(hypothesis[j - 1].clone()));
            j -= 1;
        }
    }
    ops.reverse();
    ops
}

/// The edit counts of an alignment.
pub fn counts(ops: &[WordOp]) -> EditCounts {
    let mut c = EditCounts::default();
    for op in ops {
        match op {
            WordOp::Same(_) => {}
            WordOp::Substituted(..) => c.substitutions += 1,
            WordOp::Deleted(_) => c.deletions += 1,
            WordOp::Inserted(_) => c.insertions += 1,
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn counts_each_kind_of_edit_once() {
        let ops = align(
            &w("the cat sat on the mat"),
            &w("the bat sat the mat today"),
        );
        assert_eq!(
            counts(&ops),
            EditCounts {
                substitutions: 1,
                deletions: 1,
                insertions: 1
            }
        );
        assert!(ops.contains(&WordOp::Substituted("cat".into(), "bat".into())));
        assert!(ops.contains(&WordOp::Deleted("on".into())));
        assert!(ops.contains(&WordOp::Inserted("today".into())));
    }

    #[test]
    fn empty_sides_are_all_deletions_or_all_insertions() {
        assert_eq!(counts(&align(&w("a b c"), &[])).deletions, 3);
        assert_eq!(counts(&align(&[], &w("a b"))).insertions, 2);
        assert!(align(&[], &[]).is_empty());
    }

    #[test]
    fn the_alignment_replays_into_both_sentences() {
        let (r, h) = (
            w("one two three four five"),
            w("zero two four five six seven"),
        );
        let ops = align(&r, &h);
        let mut back_r = Vec::new();
        let mut back_h = Vec::new();
        for op in &ops {
            match op {
                WordOp::Same(x) => {
                    back_r.push(x.clone());
                    back_h.push(x.clone());
                }
                WordOp::Substituted(a, b) => {
                    back_r.push(a.clone());
                    back_h.push(b.clone());
                }
                WordOp::Deleted(a) => back_r.push(a.clone()),
                WordOp::Inserted(b) => back_h.push(b.clone()),
            }
        }
        assert_eq!((back_r, back_h), (r, h));
        assert_eq!(counts(&ops).errors(), 4);
    }
}
