//! What the comment calls the two things it compares: the committed baselines against this
//! run (`compare`), or a duet's two sides, named as the command that ran it names them: base
//! and head for `ci --base-config/--base-cmd`, A and B for `ab`.

use super::input::VerdictView;

/// The label a `ci` duet gives its base side (variant A); `ab` calls it plain `A`.
const BASE_LABEL: &str = "(base)";

/// The two sides of a verdict, as column headers and in sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sides {
    /// `compare`: the baseline history against this run.
    History,
    /// `ab`: variant A against variant B.
    Variants,
    /// `ci`'s duet: the pull request's base against its head.
    BaseHead,
}

impl Sides {
    /// Read from the verdict: its `mode`, and for a duet the label of side A
    /// (`variant A (base)` when `ci` ran it).
    pub fn of(v: &VerdictView) -> Sides {
        let sources = v.models.iter().filter_map(|m| m.baseline.as_ref());
        Sides::from_parts(
            v.mode.as_deref() == Some("ab"),
            sources.map(|b| b.source.as_str()),
        )
    }

    /// From whether the verdict is a duet's and the sources its models were compared with.
    pub fn from_parts<'a>(duet: bool, mut sources: impl Iterator<Item = &'a str>) -> Sides {
        if !duet {
            Sides::History
        } else if sources.any(|s| s.trim_end().ends_with(BASE_LABEL)) {
            Sides::BaseHead
        } else {
            Sides::Variants
        }
    }

    /// Both sides measured side by side in one run.
    pub fn duet(self) -> bool {
        self != Sides::History
    }

    /// The side compared against, capitalised for a column header.
    pub fn before(self) -> &'static str {
        match self {
            Sides::History => "Baseline",
            Sides::Variants => "A",
            Sides::BaseHead => "Base",
        }
    }

    /// The side judged, capitalised for a column header.
    pub fn after(self) -> &'static str {
        match self {
            Sides::History => "This run",
            Sides::Variants => "B",
            Sides::BaseHead => "Head",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::input::{BaselineView, ModelVerdictView, Outcome};

    fn verdict(mode: Option<&str>, source: Option<&str>) -> VerdictView {
        let mut m: ModelVerdictView =
            serde_json::from_str(r#"{"model": "m", "verdict": "pass"}"#).unwrap();
        m.baseline = source.map(|s| BaselineView {
            source: s.into(),
            center_ms: 1.0,
            runs_used: 12,
            runs_total: 12,
        });
        VerdictView {
            verdict: Outcome::Pass,
            exit_code: 0,
            mode: mode.map(Into::into),
            timestamp: None,
            models: vec![m],
        }
    }

    #[test]
    fn a_ci_duet_is_base_and_head_an_ab_duet_a_and_b_and_compare_the_history() {
        let ci = Sides::of(&verdict(Some("ab"), Some("variant A (base)")));
        assert_eq!((ci.before(), ci.after()), ("Base", "Head"));
        let ab = Sides::of(&verdict(Some("ab"), Some("variant A")));
        assert_eq!((ab.before(), ab.after()), ("A", "B"));
        let compare = Sides::of(&verdict(Some("compare"), Some("variant A (base)")));
        assert_eq!(
            (compare.before(), compare.after()),
            ("Baseline", "This run")
        );
        assert_eq!(
            Sides::of(&verdict(None, None)),
            Sides::History,
            "older files"
        );
        assert!(ci.duet() && ab.duet() && !compare.duet());
    }
}
