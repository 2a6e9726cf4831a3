//! Where a run's time goes: each phase (a region's discovery per service, the
//! comparison, an apply step, a wait, the lock) is a `tracing` span of target
//! [`TARGET`] carrying its `label`. The CLI's layer (`cli::profile`) adds
//! their times up for `--stats` and `apply --json`; without it they cost
//! nothing.

use serde::Serialize;
use tracing::Span;

/// The target of every phase span: what the profile layer listens to.
pub const TARGET: &str = "reconcile::profile";

/// A phase named `label` (`discover us-east-1 ec2`, `apply create`,
/// `wait subnet`): enter it, or instrument a future with it.
pub fn phase(label: &str) -> Span {
    tracing::info_span!(target: TARGET, "phase", label)
}

/// One phase as reported.
#[derive(Debug, Serialize, PartialEq)]
pub struct PhaseTime {
    pub phase: String,
    /// How many spans of this label ran.
    pub count: u32,
    /// From the first start to the last end.
    pub seconds: f64,
    /// The spans' durations added up (more than `seconds` when they overlap).
    pub busy_seconds: f64,
}
