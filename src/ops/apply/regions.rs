//! The regions record (`model::tags::regions`) that apply keeps in each of
//! the stack's regions, so that a plan searches the regions the stack left
//! instead of every region of the account: every region an apply is about to
//! change is recorded before the first change, and a region the stack left
//! is dropped once an apply has emptied it.

use super::{EntryOutcome, Report, StepKind};
use crate::aws::cloud::Cloud;
use crate::model::progress::Progress;
use crate::ops::plan::Planned;
use anyhow::{Context, Result};
use std::collections::BTreeSet;

/// Records, before any change, the regions recorded so far and every region
/// this apply plans in: a region newly listed is known before anything is
/// made there, and one the stack left (found by a search of every region)
/// stays known until an apply has emptied it. Written only where it differs;
/// a failure stops the apply before any change. Returns the record.
pub async fn before<C: Cloud>(aws: &C, planned: &Planned) -> Result<BTreeSet<String>> {
    let mut record: BTreeSet<String> = recorded_in(planned).cloned().collect();
    record.extend(planned.plan.regions.iter().cloned());
    for region in listed(planned) {
        let held = planned
            .live
            .get(region)
            .and_then(|l| l.applied_regions.as_ref());
        if held != Some(&record) {
            aws.record_regions(region, &planned.stack.name, Some(&record))
                .await
                .with_context(|| {
                    format!(
                        "recording the regions of stack {} in {region}",
                        planned.stack.name
                    )
                })?;
        }
    }
    Ok(record)
}

/// After the changes: the regions the stack left that this apply emptied
/// leave the record (and theirs is removed). A failure is only said: a
/// record that lists a region too many costs that region's reads, never a
/// resource left unseen.
pub async fn after<C: Cloud>(
    aws: &C,
    planned: &Planned,
    report: &Report,
    mut record: BTreeSet<String>,
    progress: &Progress,
) {
    let emptied: Vec<&String> = planned
        .plan
        .regions
        .iter()
        .filter(|r| !planned.stack.regions.contains(r))
        .filter(|r| emptied(planned, report, r))
        .collect();
    if emptied.is_empty() {
        return;
    }
    let stack = &planned.stack.name;
    for region in &emptied {
        record.remove(*region);
        if let Err(e) = aws.record_regions(region, stack, None).await {
            progress.line(format!(
                "warning: could not remove the regions record of stack {stack} in {region}: {e}"
            ));
        }
    }
    for region in listed(planned) {
        if let Err(e) = aws.record_regions(region, stack, Some(&record)).await {
            progress.line(format!(
                "warning: could not record the regions of stack {stack} in {region} \
                 ({e}); the next plan also reads {}",
                emptied
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
}

/// The stack's own regions this apply plans in.
fn listed(planned: &Planned) -> impl Iterator<Item = &String> {
    planned
        .plan
        .regions
        .iter()
        .filter(|r| planned.stack.regions.contains(r))
}

/// Every region recorded in the stack's regions this apply read.
fn recorded_in(planned: &Planned) -> impl Iterator<Item = &String> {
    listed(planned)
        .filter_map(|r| planned.live.get(r)?.applied_regions.as_ref())
        .flatten()
}

/// Whether everything the stack had in `region` is deleted by `report`.
fn emptied(planned: &Planned, report: &Report, region: &str) -> bool {
    let Some(live) = planned.live.get(region) else {
        return true;
    };
    live.resources.iter().all(|o| {
        report.entries.iter().any(|e| {
            e.region == region
                && e.address == o.address
                && e.step == StepKind::Delete
                && matches!(e.outcome, EntryOutcome::Done { .. })
        })
    })
}
