//! `reconcile plan`: what apply would change, as text, JSON or a saved plan.

use super::ExitStatus;
use super::Output;
use crate::aws::Connection;
use crate::ops::{self, plan::PlanReport, plan::Planned, plan::SavedPlan};
use crate::plan::render::{markdown, render, COMMENT_LIMIT};
use crate::stack;
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Reads the live resources of every region of the stack (one batched query per
service and region) and shows what `apply` would change, as Terraform does:
+ create, ~ update in place, -/+ replace (delete first), +/- replace (create
first), - delete. Nothing is changed.

Examples:
  reconcile plan stacks/dev.toml
  reconcile plan stacks/prod.toml --out prod.plan.json    # apply exactly this later
  reconcile plan stacks/prod.toml --detailed-exitcode     # exit 2 when there are changes
  reconcile plan stacks/prod.toml --region eu-west-1 --json

Exit codes:
  0  no changes (or changes, without --detailed-exitcode)
  1  an error, or a plan that would delete or replace a protected resource
  2  --detailed-exitcode: there are changes";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(super) struct PlanArgs {
    /// The stack file.
    stack: PathBuf,
    /// Only these regions of the stack (repeatable).
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// Print the plan as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Write the plan as markdown for a pull request comment, never longer
    /// than GitHub's 65,536 characters (refusals first, then the counts, then
    /// as much of the plan as fits).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Save the plan, to apply exactly it later with `reconcile apply PLAN.json`.
    #[arg(long, value_name = "PLAN.json")]
    out: Option<PathBuf>,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Print a picture of the change instead of the plan's text: the changed
    /// resources and their neighbours, by region and VPC, at most 50 nodes.
    #[arg(long, value_enum, value_name = "FORMAT")]
    graph: Option<crate::plan::graph::Format>,
    /// Report how many AWS calls were made, per service, and where the time went.
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    search: super::SearchArgs,
    #[command(flatten)]
    vars: super::VarArgs,
    /// Rego policies (a directory of .rego files, or one file; repeatable)
    /// the plan must pass, besides the stack's `[stack] policies`.
    #[arg(long = "policy", value_name = "DIR")]
    policy: Vec<PathBuf>,
}

pub(super) async fn run(
    args: PlanArgs,
    connection: &Connection,
    output: &Output,
) -> Result<ExitStatus> {
    let stack = stack::load_with(&args.stack, &args.vars.overrides())?;
    let policies = ops::policy::load(&stack, &args.policy)?;
    let (aws, identity) = super::connect(connection, &stack, true).await?;
    let Planned { mut plan, .. } =
        ops::plan::run(&aws, &stack, &args.regions, args.search.into()).await?;
    plan.account = Some(identity);
    let context = ops::policy::Context {
        operation: "plan",
        emergency: None,
        now: std::time::SystemTime::now(),
    };
    ops::policy::judge(policies.as_ref(), &mut plan, &stack, &context)?;
    let graph = crate::plan::graph::build(&plan, &stack);
    let picture = crate::plan::graph::mermaid(&graph);
    if args.json {
        let report = PlanReport {
            plan: &plan,
            summary: plan.summary(),
            refusals: plan.refusals(),
            aws_calls: aws.calls.snapshot(),
            aws_operations: aws.calls.operations(),
            graph,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        match args.graph {
            Some(crate::plan::graph::Format::Mermaid) => print!("{picture}"),
            Some(crate::plan::graph::Format::Dot) => print!("{}", crate::plan::graph::dot(&graph)),
            None => print!("{}", render(&plan, output.style)),
        }
    }
    if args.stats {
        output.stats(&aws);
    }
    // Room for a marker line a workflow puts above it (examples/github-actions).
    let picture = plan.has_changes().then_some(picture.as_str());
    let md = markdown(&plan, picture, COMMENT_LIMIT - 256);
    if let Some(path) = &args.markdown {
        std::fs::write(path, &md).with_context(|| format!("writing {}", path.display()))?;
    }
    super::step_summary(&md)?;
    super::annotate_refusals(&plan);
    ops::plan::refuse(&plan)?;
    if let Some(out) = &args.out {
        let saved = serde_json::to_string_pretty(&SavedPlan::new(&stack, &plan)?)?;
        std::fs::write(out, saved).with_context(|| format!("writing {}", out.display()))?;
        output.progress(&format!(
            "Saved the plan to {0}. Apply exactly this plan with: reconcile apply {0}",
            out.display()
        ));
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
