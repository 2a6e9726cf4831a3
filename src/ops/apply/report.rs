//! What an apply did, step by step: done, failed (typed, `StepError`) or
//! skipped because what it waited on failed; rendered for a person, or JSON.

use super::StepKind;
use crate::aws::{AwsError, ErrorClass};
use crate::model::Address;
use serde::Serialize;
use std::collections::BTreeMap;

/// `apply --json`: the report, and the AWS calls it took.
#[derive(Serialize)]
pub struct ApplyReport<'a> {
    #[serde(flatten)]
    pub report: &'a Report,
    /// `--emergency`: the ticket that let it through a closed change window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emergency: Option<String>,
    pub aws_calls: BTreeMap<String, u64>,
    pub aws_operations: BTreeMap<String, u64>,
    /// Where the time went (`crate::model::profile`).
    pub profile: Vec<crate::model::profile::PhaseTime>,
}

#[derive(Debug, Serialize)]
pub struct Entry {
    pub region: String,
    pub address: Address,
    pub step: StepKind,
    #[serde(flatten)]
    pub outcome: EntryOutcome,
}

#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EntryOutcome {
    Done {
        live_id: Option<String>,
    },
    Failed {
        error: String,
        /// What kind of failure it was, typed (the report prints `error`;
        /// nothing decides on it yet).
        #[serde(skip)]
        class: ErrorClass,
    },
    Skipped {
        upstream: String,
    },
}

/// Why a step failed: AWS's answer, typed, or what apply found missing
/// before it could call AWS.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Cloud(#[from] AwsError),
    /// A reference or live resource the step needs is not there.
    #[error("{0}")]
    Missing(String),
}

impl StepError {
    pub fn class(&self) -> ErrorClass {
        match self {
            StepError::Cloud(e) => e.class,
            StepError::Missing(_) => ErrorClass::NotFound,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub stack: String,
    pub entries: Vec<Entry>,
}

impl Report {
    pub fn failed(&self) -> bool {
        self.entries
            .iter()
            .any(|e| !matches!(e.outcome, EntryOutcome::Done { .. }))
    }

    pub fn render(&self) -> String {
        let count =
            |f: fn(&EntryOutcome) -> bool| self.entries.iter().filter(|e| f(&e.outcome)).count();
        let done = count(|o| matches!(o, EntryOutcome::Done { .. }));
        if !self.failed() {
            let of = |k| self.entries.iter().filter(|e| e.step == k).count();
            return format!(
                "Apply complete: {} created, {} updated, {} deleted.\n",
                of(StepKind::Create),
                of(StepKind::Update),
                of(StepKind::Delete)
            );
        }
        let mut out = format!(
            "Apply stopped on stack {}: {} failed, {} skipped, {done} done.\n",
            self.stack,
            count(|o| matches!(o, EntryOutcome::Failed { .. })),
            count(|o| matches!(o, EntryOutcome::Skipped { .. })),
        );
        for order in 0..3 {
            for e in &self.entries {
                let line = match (&e.outcome, order) {
                    (EntryOutcome::Failed { error, .. }, 0) => format!(
                        "  failed   {} ({}): {}: {error}",
                        e.address,
                        e.region,
                        e.step.verb()
                    ),
                    (EntryOutcome::Skipped { upstream }, 1) => {
                        format!(
                            "  skipped  {} ({}): {} waits on {upstream}, which failed",
                            e.address,
                            e.region,
                            e.step.verb()
                        )
                    }
                    (EntryOutcome::Done { live_id }, 2) => format!(
                        "  done     {} ({}): {} {}",
                        e.address,
                        e.region,
                        e.step.verb(),
                        live_id.as_deref().unwrap_or_default()
                    ),
                    _ => continue,
                };
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
        out.push_str("Nothing was rolled back. `reconcile plan` shows the remaining work; `reconcile apply` does it.\n");
        out
    }
}
