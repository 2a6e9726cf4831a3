//! `reconcile unlock`: break a stack's lock left by a run that is gone.

use super::ExitStatus;
use super::Output;
use crate::aws::Connection;
use crate::ops;
use crate::stack;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Examples:
  reconcile unlock stacks/prod.toml
  reconcile unlock stacks/prod.toml --region eu-west-1 --force";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(super) struct UnlockArgs {
    /// The stack file.
    stack: PathBuf,
    /// Only these regions of the stack (repeatable).
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// Break the lock even if its holder may still be running.
    #[arg(long)]
    force: bool,
}

pub(super) async fn run(
    args: UnlockArgs,
    connection: &Connection,
    _output: &Output,
) -> Result<ExitStatus> {
    let stack = stack::load(&args.stack)?;
    let regions = ops::select_regions(&stack, &args.regions)?;
    let (aws, _) = super::connect(connection, &stack, false).await?;
    for line in ops::lock::unlock(&aws, &stack.name, &args.stack, &regions, args.force).await? {
        println!("{line}");
    }
    Ok(ExitStatus::Success)
}
