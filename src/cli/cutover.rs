//! `reconcile cutover`: move a blue-green pair's traffic, or show where it is.

use super::ExitStatus;
use super::{confirm, duration, Output};
use crate::aws::Connection;
use crate::ops;
use crate::ops::clock::SystemClock;
use crate::ops::cutover::{self, CutoverReport, RegionOutcome, RegionStatus, Request};
use crate::stack::{self, Colour};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
Per region, in the stack's order: pre-checks (the live forward is the pair's,
the target colour has min_healthy healthy targets and none unhealthy, the
checks pass), then each step: one write of the weights, read back until AWS
shows it, then a bake re-evaluating the checks every `every`, never on data
from before the step. A failed check, an error, or Ctrl-C/SIGTERM during a
step puts all traffic back on the source colour in that region and stops.

Exit codes:
  0  every region is on the target colour (or already was)
  1  an error (a bad stack file or flag, credentials, the lock, a switch-back that failed)
  3  refused by the pre-checks (nothing moved), or switched back

Examples:
  reconcile cutover stacks/prod.toml app --to green
  reconcile cutover stacks/prod.toml app --to green --steps 5,25,100 --bake 10m --region us-east-1
  reconcile cutover stacks/prod.toml app --to blue      # undo: all traffic back on blue
  reconcile cutover stacks/prod.toml app --status";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(super) struct CutoverArgs {
    /// The stack file.
    stack: PathBuf,
    #[command(flatten)]
    vars: super::VarArgs,
    /// The pair: NAME of a [blue_green.NAME] block.
    name: String,
    /// The colour to move all traffic to.
    #[arg(long, value_enum, required_unless_present = "status")]
    to: Option<Colour>,
    /// The target colour's weight at each step, e.g. 10,50,100 (default: the pair's `steps`).
    #[arg(long, value_delimiter = ',', value_name = "WEIGHTS")]
    steps: Option<Vec<i64>>,
    /// How long each step bakes with checks (default: the pair's `bake`, else 5m).
    #[arg(long, value_parser = duration_or_zero, value_name = "DURATION")]
    bake: Option<Duration>,
    /// How often checks run during a bake (default: the pair's `every`, else 30s).
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    every: Option<Duration>,
    /// Only these regions of the stack (repeatable), in the stack's order.
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// An emergency ticket, recorded with the change.
    #[arg(long, value_name = "TICKET")]
    emergency: Option<String>,
    /// Do not ask for confirmation (needed without a terminal, as in CI).
    #[arg(long)]
    auto_approve: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Go ahead although the bake is too short for some metric checks to see
    /// a whole period after a step (period + lag): they are reported as not evaluated.
    #[arg(long)]
    short_bake: bool,
    /// Show per region the weights, the active colour, healthy targets per colour, the last record.
    #[arg(long, conflicts_with_all = ["to", "steps", "bake", "every", "emergency", "auto_approve"])]
    status: bool,
}

fn duration_or_zero(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (write it as 0s, 30s or 5m)"))
}

pub(super) async fn run(
    args: CutoverArgs,
    connection: &Connection,
    output: &Output,
) -> Result<ExitStatus> {
    let stack = stack::load_with(&args.stack, &args.vars.overrides())?;
    let pair = cutover::pair_named(&stack, &args.name)?.clone();
    let regions = ops::select_regions(&stack, &args.regions)?;
    // The account guard runs in `cutover::perform`, after the change window.
    let aws = super::connect_as(connection, Some(&stack), args.status).await?;
    if args.status {
        ops::account::check(&aws, &stack).await?;
        let status = cutover::show(&aws, &stack, &regions, &args.name).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&status)?);
        } else {
            print!("{}", render_status(&args.name, &status));
        }
        return Ok(ExitStatus::Success);
    }
    let to = args.to.context("--to blue|green is required")?;
    let steps = args.steps.clone().unwrap_or_else(|| pair.steps.clone());
    stack::check_steps(&steps).map_err(|e| anyhow::anyhow!("--steps: {e}"))?;
    let request = Request {
        pair: args.name.clone(),
        to,
        steps,
        bake: args.bake.unwrap_or(pair.bake),
        every: args.every.unwrap_or(pair.every),
        ticket: args.emergency.clone(),
        version: stack.version.clone(),
        operator: ops::operator(),
        short_bake: args.short_bake,
    };
    let progress = output.progress_sink();
    let env = cutover::Env {
        cloud: &aws,
        clock: &SystemClock,
        progress: &progress,
    };
    let confirm = async || {
        eprintln!(
            "Cutover of blue_green.{} to {} in {}: steps {}, bake {} each, checks every {}.",
            request.pair,
            to.as_str(),
            regions.join(", "),
            request
                .steps
                .iter()
                .map(|s| format!("{s}%"))
                .collect::<Vec<_>>()
                .join(", "),
            humantime::format_duration(request.bake),
            humantime::format_duration(request.every),
        );
        if args.auto_approve {
            return Ok(());
        }
        confirm("cut over", "").await
    };
    let report = cutover::perform(&env, &stack, &regions, &request, confirm).await;
    output.settle();
    let report = report?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    step_summary(&report)?;
    Ok(if report.succeeded() {
        ExitStatus::Success
    } else if report.judged_unhealthy() {
        ExitStatus::Verification
    } else {
        ExitStatus::Error
    })
}

fn outcome_word(o: RegionOutcome) -> &'static str {
    match o {
        RegionOutcome::Done => "done",
        RegionOutcome::AlreadyThere => "already there",
        RegionOutcome::Refused => "REFUSED",
        RegionOutcome::SwitchedBack => "SWITCHED BACK",
        RegionOutcome::Failed => "FAILED",
        RegionOutcome::NotStarted => "not started",
    }
}

fn weights(w: &std::collections::BTreeMap<&'static str, i64>) -> String {
    w.iter()
        .map(|(c, w)| format!("{c} {w}%"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `; not evaluated: alb-5xx (...)` for checks a step's bake could not judge.
fn not_evaluated(checks: &[String]) -> String {
    if checks.is_empty() {
        return String::new();
    }
    format!(
        "; not evaluated: {} (no whole period since the step)",
        checks.join(", ")
    )
}

fn render(report: &CutoverReport) -> String {
    let mut out = String::new();
    for r in &report.regions {
        out.push_str(&format!("{}: {}", r.region, outcome_word(r.outcome)));
        if !r.weights.is_empty() {
            out.push_str(&format!(" ({})", weights(&r.weights)));
        }
        out.push('\n');
        for s in &r.steps {
            out.push_str(&format!(
                "  step {}%: confirmed {}, {} evaluations passed{}\n",
                s.weight,
                humantime::format_rfc3339_seconds(s.confirmed),
                s.evaluations,
                not_evaluated(&s.not_evaluated)
            ));
        }
        if let Some(reason) = &r.reason {
            out.push_str(&format!("  {reason}\n"));
        }
        for c in r.checks.iter().filter(|c| !c.passed) {
            out.push_str(&format!("  {}\n", super::check_line(c)));
        }
    }
    let finished: Vec<&str> = report
        .regions
        .iter()
        .filter(|r| r.outcome == RegionOutcome::Done)
        .map(|r| r.region.as_str())
        .collect();
    out.push_str(&if report.succeeded() {
        format!(
            "Cutover complete: blue_green.{} is on {}.\n",
            report.pair,
            report.to.as_str()
        )
    } else if finished.is_empty() {
        "Cutover stopped: no region was moved.\n".to_string()
    } else {
        format!(
            "Cutover stopped. {} finished before and stay on {} (they passed their own checks).\n",
            finished.join(", "),
            report.to.as_str()
        )
    });
    out
}

fn render_status(name: &str, status: &[RegionStatus]) -> String {
    let mut out = format!("blue_green.{name}\n");
    for s in status {
        match (s.active, s.weights.is_empty()) {
            (_, true) => out.push_str(&format!("  {}: no live forward\n", s.region)),
            (Some(c), false) => out.push_str(&format!(
                "  {}: {} ({})\n",
                s.region,
                c.as_str(),
                weights(&s.weights)
            )),
            (None, false) => out.push_str(&format!(
                "  {}: split ({})\n",
                s.region,
                weights(&s.weights)
            )),
        }
        for (colour, (healthy, registered)) in &s.targets {
            out.push_str(&format!(
                "    {colour}: {healthy}/{registered} targets healthy\n"
            ));
        }
        if let Some(line) = super::record_line(&s.record) {
            out.push_str(&format!(
                "    last: {line}
"
            ));
        }
        if let Some(e) = &s.error {
            out.push_str(&format!("    {e}\n"));
        }
    }
    out
}

fn step_summary(report: &CutoverReport) -> Result<()> {
    super::step_summary(&markdown(report))
}

/// The CI step summary: per region the outcome, the steps with when each was
/// confirmed and how many evaluations passed, the weights, and the record written.
fn markdown(report: &CutoverReport) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut md = format!(
        "### reconcile cutover {} blue_green.{} → {}\n\n| region | result | steps | weights | detail |\n|---|---|---|---|---|\n",
        report.stack,
        report.pair,
        report.to.as_str()
    );
    for r in &report.regions {
        let steps: Vec<String> = r
            .steps
            .iter()
            .map(|s| {
                format!(
                    "{}% at {} ({} evaluations passed{})",
                    s.weight,
                    humantime::format_rfc3339_seconds(s.confirmed),
                    s.evaluations,
                    not_evaluated(&s.not_evaluated)
                )
            })
            .collect();
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.region,
            outcome_word(r.outcome),
            cell(&steps.join("<br>")),
            weights(&r.weights),
            cell(r.reason.as_deref().unwrap_or(""))
        ));
    }
    let records: Vec<String> = report
        .regions
        .iter()
        .filter_map(|r| {
            Some(format!(
                "- {}: {}",
                r.region,
                super::record_line(&r.record)?
            ))
        })
        .collect();
    if !records.is_empty() {
        md.push_str(&format!(
            "\nRecorded on the listener or rule:\n{}\n",
            records.join("\n")
        ));
    }
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::progress::Progress;
    use crate::testing;

    const TIMES: &str = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z";

    async fn cut_over_demo(errors: Option<f64>) -> (CutoverReport, Vec<RegionStatus>) {
        let (stack, cloud, _) = testing::demo_on_a_fake_cloud();
        if let Some(errors) = errors {
            cloud.state().metric.insert("us-west-2".into(), errors);
        }
        let clock = testing::clock();
        let progress = Progress::silent();
        let env = cutover::Env {
            cloud: &cloud,
            clock: &clock,
            progress: &progress,
        };
        let request = Request {
            pair: "app".into(),
            to: Colour::Green,
            steps: vec![10, 100],
            bake: Duration::from_secs(180),
            every: Duration::from_secs(60),
            ticket: Some("CHG-7".into()),
            version: Some("app:v2".into()),
            operator: "alice".into(),
            short_bake: false,
        };
        let regions = vec!["us-west-2".to_string()];
        let report = cutover::perform(&env, &stack, &regions, &request, async || Ok(()))
            .await
            .unwrap();
        let status = cutover::show(&cloud, &stack, &regions, "app")
            .await
            .unwrap();
        (report, status)
    }

    #[tokio::test]
    async fn a_cutover_as_printed_then_its_pair() {
        let (report, status) = cut_over_demo(None).await;
        insta::assert_snapshot!(render(&report));
        insta::with_settings!({filters => vec![(TIMES, "[TIME]")]}, {
            insta::assert_snapshot!(markdown(&report));
        });
        insta::with_settings!({filters => vec![(TIMES, "[TIME]")]}, {
            insta::assert_snapshot!(render_status("app", &status));
        });
    }

    #[tokio::test]
    async fn a_cutover_refused_by_its_pre_checks_as_printed() {
        let (report, status) = cut_over_demo(Some(50.0)).await;
        insta::assert_snapshot!(render(&report));
        insta::assert_snapshot!(render_status("app", &status));
    }
}
