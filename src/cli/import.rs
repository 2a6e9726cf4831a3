//! `reconcile import --tfstate`: a stack file taking over what a Terraform
//! state holds, and the commands that hand each resource over.

use super::{ExitStatus, Output};
use crate::aws::Connection;
use crate::ops;
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Examples:
  terraform state pull > terraform.tfstate
  reconcile import --tfstate terraform.tfstate --name shop --out stacks/shop.toml
  reconcile plan stacks/shop.toml        # only imports: nothing created, replaced or deleted
  reconcile apply stacks/shop.toml
  # then the printed `terraform state rm` commands, so Terraform lets go";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(super) struct ImportArgs {
    /// A Terraform state (format 4): the state file, or `terraform state pull`'s output.
    #[arg(long, value_name = "PATH")]
    tfstate: PathBuf,
    /// The name of the stack to write.
    #[arg(long, value_name = "STACK")]
    name: String,
    /// Where to write the stack file (standard output without it).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The region of resources whose state does not say one (else AWS_REGION).
    #[arg(long, env = "AWS_REGION", hide_env_values = true)]
    region: Option<String>,
}

pub(super) async fn run(
    args: ImportArgs,
    connection: &Connection,
    output: &Output,
) -> Result<ExitStatus> {
    if !crate::stack::valid_stack_name(&args.name) {
        anyhow::bail!(
            "--name {}: not a stack name: {}",
            args.name,
            crate::stack::STACK_NAME_RULE
        );
    }
    let source = args.tfstate.display().to_string();
    let text = std::fs::read_to_string(&args.tfstate)
        .with_context(|| format!("reading the Terraform state {source}"))?;
    let state = crate::terraform::parse(&text).with_context(|| source.clone())?;
    let aws = super::connect_as(connection, None, false).await?;
    let generated =
        ops::import::from_state(&aws, &state, &args.name, &source, args.region.as_deref()).await?;
    // The report goes where the stack file does not.
    let mut report = Vec::new();
    for (address, tf_type, why) in &generated.unmapped {
        report.push(format!("not mapped: {address} ({tf_type}): {why}"));
    }
    for (address, id) in &generated.missing {
        report.push(format!(
            "not found: {address}: {id} no longer exists; left out (refresh the state)"
        ));
    }
    for (address, owner) in &generated.owned_elsewhere {
        report.push(format!(
            "owned by stack {owner}: {address}; its plan will refuse to take it"
        ));
    }
    if !generated.handed_over.is_empty() {
        report.push(
            "Once the stack is applied, hand each resource over so that Terraform lets go:".into(),
        );
        for address in &generated.handed_over {
            report.push(format!("  terraform state rm '{address}'"));
        }
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, &generated.text)
                .with_context(|| format!("writing {}", path.display()))?;
            output.progress(&format!(
                "wrote {} ({} blocks, each importing a live resource)",
                path.display(),
                generated.blocks
            ));
            for line in report {
                println!("{line}");
            }
        }
        None => {
            print!("{}", generated.text);
            for line in report {
                eprintln!("{line}");
            }
        }
    }
    Ok(ExitStatus::Success)
}
