//! Where finished reports go: GitHub (the pull-request comment, the step summary, workflow
//! commands) and Kubernetes (the benchmark Job). Nothing here measures or formats numbers.

pub mod actions;
pub mod github;
pub mod k8s;
