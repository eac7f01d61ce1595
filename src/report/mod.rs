//! Finished results in, text out. Nothing here measures, reads the environment or writes files;
//! only [`read`] reads the files a report is made of.

pub mod annotations;
mod attribution;
pub mod chart;
pub mod escape;
mod heard;
pub mod input;
pub mod json;
pub mod layout;
pub mod markdown;
pub mod numbers;
pub mod plan;
pub mod read;
pub mod rows;
mod sections;
mod sentences;
pub mod sides;
pub mod sizing;
pub mod table;
pub mod trend;

pub use input::{ReportInput, VerdictView, marker};
pub mod verdict;
