//! `reconcile apply`: converge a stack file, or apply a saved plan exactly.

use super::ExitStatus;
use super::{confirm, duration_or_zero, Output};
use crate::aws::Connection;
use crate::ops;
use crate::ops::apply::{self, Request};
use crate::ops::clock::SystemClock;
use crate::plan::render::render;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
Plans, shows the plan, asks, then makes the changes in dependency order
(independent ones in parallel). A stack with `approval = \"saved-plan\"`
refuses --auto-approve: apply a reviewed saved plan instead.

Examples:
  reconcile apply stacks/dev.toml
  reconcile apply stacks/dev.toml --auto-approve            # CI, no prompt
  reconcile apply prod.plan.json                            # a saved plan, exactly
  reconcile apply stacks/prod.toml --emergency INC-1234     # outside the change window

Exit codes:
  0  applied (or nothing to do)
  1  an error: a step failed, a refusal (protection, lock, change window, approval)";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(super) struct ApplyArgs {
    /// A stack file, or a plan saved with `plan --out`.
    target: PathBuf,
    /// Only these regions of the stack (repeatable).
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// Do not ask for confirmation (needed without a terminal, as in CI).
    #[arg(long)]
    auto_approve: bool,
    /// How many changes run at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    parallelism: u16,
    /// Version label recorded on changed resources; overrides the stack's `version`.
    #[arg(long)]
    version_label: Option<String>,
    /// Print the apply report as JSON on stdout.
    #[arg(long)]
    json: bool,
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

    /// Go ahead outside the stack's [change_window], recording this ticket.
    #[arg(long, value_name = "TICKET")]
    emergency: Option<String>,
    /// How long to wait for another run of the same stack to finish (0s: fail at once).
    #[arg(long, default_value = "0s", value_parser = duration_or_zero, value_name = "DURATION")]
    lock_timeout: Duration,
}

fn is_saved_plan(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
}

pub(super) async fn run(
    args: ApplyArgs,
    connection: &Connection,
    output: &Output,
) -> Result<ExitStatus> {
    let (stack_file, saved_plan) = if is_saved_plan(&args.target) {
        (None, Some(args.target.as_path()))
    } else {
        (Some(args.target.as_path()), None)
    };
    let ops::Subject {
        stack,
        saved,
        regions,
        policies,
    } = ops::subject(
        ops::Changing::Apply,
        stack_file,
        saved_plan,
        &args.regions,
        args.auto_approve,
        &args.policy,
        &args.vars.overrides(),
    )?;
    ops::admit(
        &stack,
        std::time::SystemTime::now(),
        args.emergency.as_deref(),
        "apply",
        &output.progress_sink(),
    )?;
    let (aws, _) = super::connect(connection, &stack, false).await?;
    let request = Request {
        saved: saved.as_ref(),
        regions,
        lock_timeout: args.lock_timeout,
        search: args.search.into(),
        policies: policies.as_ref(),
        emergency: args.emergency.as_deref(),
        settings: apply::Settings {
            parallelism: usize::from(args.parallelism),
            record: ops::change_record(
                args.version_label.as_deref().or(stack.version.as_deref()),
                args.emergency.as_deref(),
                ops::clock::Clock::now(&SystemClock),
            )?,
            progress: output.progress_sink(),
            wait_timeout: connection.wait_timeout,
        },
    };
    // A saved plan was reviewed when it was made, as with Terraform.
    let ask = saved.is_none() && !args.auto_approve;
    let review = async |plan: &crate::plan::Plan| {
        if !args.json {
            print!("{}", render(plan, output.style));
        }
        super::annotate_refusals(plan);
        if ask && plan.has_changes() && plan.refusals().is_empty() {
            confirm(
                "apply",
                ", or save a plan with `plan --out` and apply that file",
            )
            .await?;
        }
        Ok(())
    };
    let record = request.settings.record.clone();
    let report = apply::converge(&aws, &SystemClock, &stack, request, review).await;
    output.settle();
    let report = report?;
    step_summary(&report, &record)?;
    if args.json {
        let json = apply::ApplyReport {
            report: &report,
            emergency: args.emergency.clone(),
            aws_calls: aws.calls.snapshot(),
            aws_operations: aws.calls.operations(),
            profile: output.profile.phases(),
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else if !report.entries.is_empty() {
        print!("{}", report.render());
    }
    if args.stats {
        output.stats(&aws);
    }
    Ok(if report.failed() {
        ExitStatus::Error
    } else {
        ExitStatus::Success
    })
}

/// The apply as GitHub shows it on a run's page: the outcome (failures first),
/// and the change record it left on what it changed.
fn step_summary(
    report: &apply::Report,
    record: &std::collections::BTreeMap<String, String>,
) -> Result<()> {
    use crate::model::tags::{
        record::{OPERATOR, TICKET, TIME},
        VERSION,
    };
    let mut md = format!("### reconcile apply: `{}`\n\n", report.stack);
    if report.entries.is_empty() {
        md.push_str("No changes: nothing was applied.\n");
    } else {
        let mark = if report.failed() {
            ":x:"
        } else {
            ":white_check_mark:"
        };
        md.push_str(&format!("{mark}\n\n```\n{}```\n", report.render()));
    }
    let get = |k| record.get(k).map_or("-", String::as_str);
    md.push_str(&format!(
        "\nRecorded on what changed: version `{}`, by {}, at {}{}\n\n",
        get(VERSION),
        get(OPERATOR),
        get(TIME),
        record
            .get(TICKET)
            .map(|t| format!(", **emergency** ticket {t}"))
            .unwrap_or_default()
    ));
    super::step_summary(&md)
}
