//! Finished results in, text out. Nothing here measures, reads the environment or writes files.

pub mod table;
pub mod verdict;
