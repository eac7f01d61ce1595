//! What the comment includes, shared by the sections that obey it.

/// Charts drawn at most: one per model, worst verdict first. More would bury the table.
pub const MAX_CHARTS: usize = 3;

/// Sizing sections shown at most: each is a screenful.
pub const MAX_SIZING: usize = 3;

/// What to include; [`render`] walks from the fullest layout to the leanest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The collapsed environment and raw statistics.
    pub details: bool,
    /// The Mermaid latency-history chart.
    pub chart: bool,
    /// Table rows (and per-model list items) kept; the rest are summarised in one line.
    pub max_rows: Option<usize>,
}

impl Layout {
    pub const FULL: Layout = Layout {
        details: true,
        chart: true,
        max_rows: None,
    };
}
