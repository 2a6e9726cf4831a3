//! The operations behind the commands: each takes a loaded stack and settings,
//! talks to AWS through `crate::aws`, and returns data for the printer.

pub mod apply;
pub mod lock;
pub mod plan;

use crate::aws::Aws;
use crate::model::LiveRegion;
use crate::stack::Stack;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;

/// The regions a command works on: `--region` flags (which must be the stack's), or all.
pub fn select_regions(stack: &Stack, requested: &[String]) -> Result<Vec<String>> {
    if requested.is_empty() {
        return Ok(stack.regions.clone());
    }
    for r in requested {
        if !stack.regions.contains(r) {
            bail!(
                "--region {r} is not a region of stack {} ({}); choose among its regions",
                stack.name,
                stack.regions.join(", ")
            );
        }
    }
    Ok(stack
        .regions
        .iter()
        .filter(|r| requested.contains(r))
        .cloned()
        .collect())
}

/// Reads what the stack owns in every region, all regions and services at once.
pub async fn observe(
    aws: &Aws,
    stack: &Stack,
    regions: &[String],
) -> Result<BTreeMap<String, LiveRegion>> {
    let reads = regions.iter().map(|region| async move {
        let live = aws.discover(&stack.name, region).await.with_context(|| {
            format!("reading live resources of stack {} in {region}", stack.name)
        })?;
        Ok::<_, anyhow::Error>((region.clone(), live))
    });
    Ok(futures::future::try_join_all(reads)
        .await?
        .into_iter()
        .collect())
}
