//! One variant of `bench-gate ab` in its own process. Two processes instead of two sessions in
//! one: the same binary and heap history for both variants of an A/A (in one process the
//! second-built session measured 2-4% faster or slower depending on the build, a bias no
//! number of rounds removes), the same isolation a production pod gives its one model, and a
//! variant can come from another image (`--a-cmd 'docker run -i IMAGE bench-gate ab-worker ...'`).

pub mod children;
pub mod client;
pub mod launch;
pub mod patience;
pub mod protocol;
pub mod serve;

pub use client::{Patience, Unanswered, Worker};
