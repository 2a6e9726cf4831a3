//! `reconcile iam-policy`: the IAM policy a stack's commands need.

use super::ExitStatus;
use crate::iam_policy::{documents, POLICY_LIMIT};
use crate::stack;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Prints the IAM policy document a role needs to run reconcile on this stack,
written from the calls reconcile makes (every kind's, the account guard's, the
lock's): exact actions, never a wildcard one, each on the ARNs of the resource
types it takes in the stack's account (`[stack] account`; any without one),
IAM's on the stack's roles and instance profiles (`/reconcile/STACK/`, so
`iam:PassRole` only passes those); `*` only for actions that take no resource
type (most Describe and List calls). No AWS call, no credentials.

A policy over IAM's managed-policy size (6,144 characters) is printed as a
JSON list of documents, to attach as several policies.

Examples:
  reconcile iam-policy stacks/prod.toml --read-only > plan-role.json   # plan, verify, status
  reconcile iam-policy stacks/prod.toml > deploy-role.json             # everything";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(super) struct IamPolicyArgs {
    /// The stack file.
    stack: PathBuf,
    /// Only what `plan`, `verify` and `status` need: reads.
    #[arg(long)]
    read_only: bool,
    #[command(flatten)]
    vars: super::VarArgs,
}

pub(super) fn run(args: IamPolicyArgs) -> Result<ExitStatus> {
    let stack = stack::load_with(&args.stack, &args.vars.overrides())?;
    let documents = documents(&stack, args.read_only);
    let text = match &documents[..] {
        [one] => serde_json::to_string_pretty(one)?,
        many => {
            eprintln!(
                "The policy is over IAM's {POLICY_LIMIT} characters a managed policy: {} \
                 documents, to attach as {} policies.",
                many.len(),
                many.len()
            );
            serde_json::to_string_pretty(many)?
        }
    };
    println!("{text}");
    Ok(ExitStatus::Success)
}
