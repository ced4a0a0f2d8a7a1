//! The sampling job: after a request closes, decide whether its citizen is asked about it.
//! `design` (rates, the draw) and `eligibility` (the rules) are pure; `run` does the I/O.

pub mod design;
pub mod eligibility;
pub mod run;

pub use run::{RunOptions, RunOutcome, RunReport, SamplingError, run};
