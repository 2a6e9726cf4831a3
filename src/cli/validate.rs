//! `reconcile validate`: every check `plan` makes of a stack file before its
//! first AWS call, with no credentials and no call: a job without AWS access
//! catches a typo at its line.

use super::ExitStatus;
use crate::{ops, stack};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Loads each stack file as `plan` does (the files it extends, `[vars]` with
--var, references, regions, CIDRs, blue-green pairs, windows, rollout waves)
and compiles its Rego policies, with no AWS call and no credentials. Every
file is checked; the exit code is 1 if any has an error. In a GitHub Actions
job, each error is also an annotation on its line.

Examples:
  reconcile validate stacks/dev.toml stacks/staging.toml stacks/prod.toml
  reconcile validate stacks/prod.toml --var blue_image=ami-0123456789abcdef0";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(super) struct ValidateArgs {
    /// The stack files (each with what it extends).
    #[arg(required = true)]
    stacks: Vec<PathBuf>,
    #[command(flatten)]
    vars: super::VarArgs,
}

pub(super) fn run(args: ValidateArgs) -> Result<ExitStatus> {
    let mut status = ExitStatus::Success;
    for path in &args.stacks {
        match stack::load_with(path, &args.vars.overrides()) {
            Ok(stack) => match ops::policy::load(&stack, &[]) {
                Ok(_) => println!(
                    "{}: valid (stack {}, {} blocks, {} regions)",
                    path.display(),
                    stack.name,
                    stack.resources.len(),
                    stack.regions.len()
                ),
                Err(e) => {
                    eprintln!("error: {}: {e:#}", path.display());
                    status = ExitStatus::Error;
                }
            },
            Err(e) => {
                super::report_stack_error(&e);
                status = ExitStatus::Error;
            }
        }
    }
    Ok(status)
}
