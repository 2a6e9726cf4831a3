//! `plan`: read live state, compare, and describe the result; saved plans.

use super::select_regions;
use crate::aws::cloud::Discover;
use crate::model::profile::phase;
use crate::model::LiveRegion;
use crate::plan::{self, Plan, Summary};
use crate::stack::{self, Stack};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tracing::Instrument;

/// A plan with the live state it was computed from, and the stack as it was
/// compared: its DNS blocks in the homes the live state recorded
/// (`super::Observation::placed`). Apply carries out the plan with this stack.
pub struct Planned {
    pub plan: Plan,
    pub live: BTreeMap<String, LiveRegion>,
    pub stack: Stack,
}

/// Where a plan looks for the stack's resources in regions its file no
/// longer lists (to prune them, instead of leaving them running unseen).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Search {
    /// The regions the stack's record lists (`model::tags::regions`, read
    /// with discovery); every region when no region of the stack has one.
    #[default]
    Recorded,
    /// Every enabled region of the account (`plan --search-all-regions`).
    AllRegions,
}

/// Plans `stack` in `requested` regions (all of the stack's when empty, and
/// those it left that still hold its resources).
pub async fn run(
    aws: &impl Discover,
    stack: &Stack,
    requested: &[String],
    search: Search,
) -> Result<Planned> {
    let (regions, live) = if requested.is_empty() {
        let mut live = super::read(aws, stack, &stack.regions, true).await?;
        let left = left_regions(aws, stack, &live, search)
            .instrument(phase("search regions"))
            .await?;
        live.extend(super::read(aws, stack, &left, false).await?);
        (stack.regions.iter().chain(&left).cloned().collect(), live)
    } else {
        let regions = requested_regions(aws, stack, requested)
            .instrument(phase("search regions"))
            .await?;
        let live = super::read(aws, stack, &regions, true).await?;
        (regions, live)
    };
    let observation = super::settle(aws, stack, live).await?;
    let stack = observation.placed(stack);
    let plan = phase("compare").in_scope(|| plan::build(&stack, &regions, &observation.live));
    Ok(Planned {
        plan,
        live: observation.live,
        stack,
    })
}

/// The regions the stack left that may hold its resources: those recorded
/// in its regions beyond the ones it lists (one call per region, made with
/// discovery), or, when none of its regions records any (a stack never
/// applied, or applied before the record) or with `Search::AllRegions`,
/// every enabled region that holds anything tagged for it.
async fn left_regions(
    aws: &impl Discover,
    stack: &Stack,
    live: &BTreeMap<String, LiveRegion>,
    search: Search,
) -> Result<Vec<String>> {
    let recorded = live
        .values()
        .filter_map(|l| l.applied_regions.clone())
        .reduce(|mut all, more| {
            all.extend(more);
            all
        });
    match (search, recorded) {
        (Search::Recorded, Some(recorded)) => Ok(recorded
            .into_iter()
            .filter(|r| !stack.regions.contains(r))
            .collect()),
        _ => {
            let enabled = aws
                .enabled_regions(&stack.regions[0])
                .await
                .context("listing the account's regions, to find what the stack left in others")?;
            // AWS lists only the account's partition; LocalStack lists every
            // partition's regions and answers for them from one store.
            let partition = crate::model::partition(&stack.regions[0]);
            let others: Vec<String> = enabled
                .into_iter()
                .filter(|r| !stack.regions.contains(r) && crate::model::partition(r) == partition)
                .collect();
            holding(aws, stack, &others).await
        }
    }
}

async fn holding(aws: &impl Discover, stack: &Stack, candidates: &[String]) -> Result<Vec<String>> {
    if candidates.is_empty() {
        return Ok(vec![]);
    }
    aws.regions_holding(&stack.name, candidates)
        .await
        .context("looking for the stack's resources in regions it no longer lists")
}

/// `--region`: those of the stack's, and those outside it that still hold
/// its resources (as in a saved plan that prunes one).
async fn requested_regions(
    aws: &impl Discover,
    stack: &Stack,
    requested: &[String],
) -> Result<Vec<String>> {
    let others: Vec<String> = requested
        .iter()
        .filter(|r| !stack.regions.contains(r))
        .cloned()
        .collect();
    let holding = holding(aws, stack, &others).await?;
    let declared: Vec<String> = requested
        .iter()
        .filter(|r| stack.regions.contains(r) || !holding.contains(r))
        .cloned()
        .collect();
    let mut regions = if declared.is_empty() {
        vec![]
    } else {
        select_regions(stack, &declared)?
    };
    regions.extend(holding);
    Ok(regions)
}

/// Protected resources a plan would lose: reported, and the plan refused.
pub fn refuse(plan: &Plan) -> Result<()> {
    let refusals = plan.refusals();
    if refusals.is_empty() {
        return Ok(());
    }
    bail!("this plan is refused:\n{}", refusals.join("\n"))
}

/// The `--json` form of a plan: a published contract, `schema/plan.schema.json`.
#[derive(Serialize, schemars::JsonSchema)]
pub struct PlanReport<'a> {
    #[serde(flatten)]
    pub plan: &'a Plan,
    pub summary: Summary,
    /// Protected resources the plan would delete or replace; non-empty means it is refused.
    pub refusals: Vec<String>,
    pub aws_calls: BTreeMap<String, u64>,
    pub aws_operations: BTreeMap<String, u64>,
    /// The changed resources and their neighbours (`plan --graph`).
    pub graph: crate::plan::graph::Graph,
}

/// `plan --out`: the plan plus the stack file it was made from, so that
/// `apply PLAN.json` applies exactly this, or refuses.
#[derive(Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: u32,
    pub stack_path: PathBuf,
    pub stack_source: String,
    /// The files the stack extends, in turn, as they were when the plan was made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extends: Vec<stack::source::SourceFile>,
    pub regions: Vec<String>,
    /// Kept as JSON: a saved plan is compared with a fresh one, never edited.
    pub changes: serde_json::Value,
    /// The policies the plan passed: applied only under the same ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<crate::policy::PolicyFile>,
    /// The `[vars]` values it was made with (`--var`, else defaults): the
    /// stack is read again with them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
}

impl SavedPlan {
    /// How many changes (not no-ops) the plan has in each of its regions.
    pub fn changes_per_region(&self) -> BTreeMap<String, usize> {
        let mut out: BTreeMap<String, usize> =
            self.regions.iter().map(|r| (r.clone(), 0)).collect();
        for change in self.changes.as_array().into_iter().flatten() {
            if change["action"] != "no-op" {
                if let Some(region) = change["region"].as_str() {
                    *out.entry(region.to_string()).or_default() += 1;
                }
            }
        }
        out
    }

    pub fn new(stack: &Stack, plan: &Plan) -> Result<SavedPlan> {
        Ok(SavedPlan {
            format_version: plan.format_version,
            stack_path: stack.path.clone(),
            stack_source: stack
                .sources
                .files()
                .next()
                .map(|f| f.text.clone())
                .unwrap_or_default(),
            extends: stack.sources.files().skip(1).cloned().collect(),
            regions: plan.regions.clone(),
            vars: stack.vars.clone(),
            changes: serde_json::to_value(&plan.changes)?,
            policies: plan
                .policy
                .as_ref()
                .map(|p| p.files.clone())
                .unwrap_or_default(),
        })
    }

    pub fn read(path: &Path) -> Result<SavedPlan> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading plan file {}", path.display()))?;
        let saved: SavedPlan = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a plan file written by `reconcile plan --out`",
                path.display()
            )
        })?;
        if saved.format_version != plan::FORMAT_VERSION {
            bail!(
                "{} has plan format {}, this reconcile reads format {}; make the plan again",
                path.display(),
                saved.format_version,
                plan::FORMAT_VERSION
            );
        }
        Ok(saved)
    }

    pub fn stack(&self) -> Result<Stack, stack::StackError> {
        // The extended files as saved, not as they are now on disk.
        let read = |path: &Path| {
            self.extends
                .iter()
                .find(|f| f.path == path)
                .map(|f| f.text.clone())
                .ok_or_else(|| std::io::Error::other("not saved in the plan file"))
        };
        stack::parse_with_vars(
            &self.stack_path,
            self.stack_source.clone(),
            &read,
            &self.vars,
        )
    }

    /// Fails when the live resources changed since the plan was made: the
    /// fresh plan must be the saved one, change for change.
    pub fn check_current(&self, fresh: &Plan) -> Result<()> {
        let fresh_changes = serde_json::to_value(&fresh.changes)?;
        if fresh_changes == self.changes {
            return Ok(());
        }
        let describe = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|c| serde_json::to_string(c).unwrap_or_default())
                .collect()
        };
        let (saved, now) = (describe(&self.changes), describe(&fresh_changes));
        let differing: Vec<String> = now
            .iter()
            .filter(|c| !saved.contains(c))
            .chain(saved.iter().filter(|c| !now.contains(c)))
            .filter_map(|c| {
                let v: serde_json::Value = serde_json::from_str(c).ok()?;
                Some(format!(
                    "{} in {}",
                    v["address"].as_str()?,
                    v["region"].as_str()?
                ))
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        bail!(
            "the live resources changed since this plan was made ({}); nothing was applied. \
             Run `reconcile plan` again and review the new plan.",
            differing.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `schema/plan.schema.json` is what the types make: a change to the
    /// plan's JSON changes the published schema in the same commit.
    #[test]
    fn the_published_plan_schema_is_the_one_the_types_make() {
        let schema = schemars::schema_for!(PlanReport<'static>);
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/plan.schema.json");
        if std::env::var_os("RECONCILE_WRITE_SCHEMA").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        assert!(
            std::fs::read_to_string(&path).unwrap_or_default() == text,
            "schema/plan.schema.json is stale: RECONCILE_WRITE_SCHEMA=1 cargo test --bin \
             reconcile plan_schema writes it"
        );
    }
}
