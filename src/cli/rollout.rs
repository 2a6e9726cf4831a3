//! `reconcile rollout`: every region, wave by wave, with checks between.

use super::ExitStatus;
use super::{confirm, duration_or_zero, Output};
use crate::aws::Connection;
use crate::ops;
use crate::ops::apply::Settings;
use crate::ops::clock::SystemClock;
use crate::ops::rollout::{self, RegionOutcome, Request, RolloutReport, Verdict};
use crate::plan::render::render;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
One plan of every region, shown and approved once; then, wave by wave (the
stack's [rollout], else one wave of all regions): apply the wave's regions (at
most max_parallel at once), verify them (built-in and [[verify]] checks), and
bake the regions that changed for the wave's `bake`, re-checking every `every`.
A failed apply or check halts: no later wave is touched and nothing is rolled
back. Rerun to resume: regions already in sync are verified once, not baked.

Exit codes:
  0  every wave applied, verified and baked
  1  an error: a bad stack file, the lock, the change window, an apply that failed
  3  a check failed: the rollout halted

Examples:
  reconcile rollout stacks/staging.toml --auto-approve
  reconcile plan stacks/prod.toml --out prod.plan.json && reconcile rollout --plan prod.plan.json
  reconcile rollout stacks/staging.toml --from-wave rest   # resume after fixing a halt";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(super) struct RolloutArgs {
    /// The stack file (optional with --plan: the plan names it).
    #[arg(required_unless_present = "plan")]
    stack: Option<PathBuf>,
    #[command(flatten)]
    vars: super::VarArgs,
    /// Roll out a plan saved with `plan --out` (reviewed), only if a fresh plan equals it.
    #[arg(long, value_name = "PLAN.json")]
    plan: Option<PathBuf>,
    /// Do not ask for confirmation (needed without a terminal, as in CI).
    #[arg(long)]
    auto_approve: bool,
    /// Start at this wave; the waves before it are not touched.
    #[arg(long, value_name = "WAVE")]
    from_wave: Option<String>,
    /// Verify each wave once instead of baking it (needs --emergency).
    #[arg(long, requires = "emergency")]
    skip_bake: bool,
    /// An emergency ticket: lets the rollout through a closed change window, recorded.
    #[arg(long, value_name = "TICKET")]
    emergency: Option<String>,
    /// Version label recorded on changed resources; overrides the stack's `version`.
    #[arg(long)]
    version_label: Option<String>,
    /// Bake although a wave's bake is too short for some metric checks to see
    /// a whole period (period + lag).
    #[arg(long)]
    short_bake: bool,
    /// How many changes run at once within a region group.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    parallelism: u16,
    /// How long to wait for another run of the same stack to finish (0s: fail at once).
    #[arg(long, default_value = "0s", value_parser = duration_or_zero, value_name = "DURATION")]
    lock_timeout: Duration,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Draw the waves (with --plan, each region's changes) and stop: nothing
    /// is read from AWS or changed.
    #[arg(long, value_enum, value_name = "FORMAT")]
    graph: Option<crate::plan::graph::Format>,
    /// Rego policies (a directory of .rego files, or one file; repeatable)
    /// the plan must pass, besides the stack's `[stack] policies`.
    #[arg(long = "policy", value_name = "DIR")]
    policy: Vec<PathBuf>,
}

pub(super) async fn run(
    args: RolloutArgs,
    connection: &Connection,
    output: &Output,
) -> Result<ExitStatus> {
    let ops::Subject {
        stack,
        saved,
        policies,
        ..
    } = ops::subject(
        ops::Changing::Rollout,
        args.stack.as_deref(),
        args.plan.as_deref(),
        &[],
        // Drawing changes nothing: no approval to judge.
        args.auto_approve || args.graph.is_some(),
        &args.policy,
        &args.vars.overrides(),
    )?;
    if let Some(format) = args.graph {
        let changes = saved.as_ref().map(|s| s.changes_per_region());
        let waves = crate::stack::rollout::Rollout::of(&stack);
        print!(
            "{}",
            crate::plan::graph::waves(&waves, changes.as_ref(), format)
        );
        return Ok(ExitStatus::Success);
    }
    let progress = output.progress_sink();
    ops::admit(
        &stack,
        std::time::SystemTime::now(),
        args.emergency.as_deref(),
        "rollout",
        &progress,
    )?;
    let (aws, _) = super::connect(connection, &stack, false).await?;
    let request = Request {
        saved: saved.as_ref(),
        from_wave: args.from_wave.clone(),
        skip_bake: args.skip_bake,
        short_bake: args.short_bake,
        emergency: args.emergency.clone(),
        lock_timeout: args.lock_timeout,
        settings: Settings {
            parallelism: usize::from(args.parallelism),
            record: ops::change_record(
                args.version_label.as_deref().or(stack.version.as_deref()),
                args.emergency.as_deref(),
                ops::clock::Clock::now(&SystemClock),
            )?,
            progress,
            wait_timeout: connection.wait_timeout,
        },
        policies: policies.as_ref(),
    };
    let review = async |plan: &crate::plan::Plan| {
        if !args.json {
            print!("{}", render(plan, output.style));
        }
        super::annotate_refusals(plan);
        // A saved plan was reviewed when it was made.
        if saved.is_none() && !args.auto_approve && plan.refusals().is_empty() {
            confirm("roll out", "").await?;
        }
        Ok(())
    };
    let report = rollout::run(&aws, &SystemClock, &stack, &request, review).await;
    output.settle();
    let report = report?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_report(&report));
    }
    step_summary(&report)?;
    Ok(match report.verdict {
        Verdict::Completed => ExitStatus::Success,
        Verdict::Halted => ExitStatus::Verification,
        Verdict::Failed => ExitStatus::Error,
    })
}

fn word(o: RegionOutcome) -> &'static str {
    match o {
        RegionOutcome::Done => "done",
        RegionOutcome::InSync => "in sync (verified)",
        RegionOutcome::ApplyFailed => "APPLY FAILED",
        RegionOutcome::CheckFailed => "CHECK FAILED",
        RegionOutcome::NotStarted => "not started",
        RegionOutcome::Skipped => "skipped (before --from-wave)",
    }
}

fn render_report(report: &RolloutReport) -> String {
    let mut out = String::new();
    if report.apply.failed() {
        out.push_str(&report.apply.render());
    }
    for w in &report.waves {
        out.push_str(&format!("wave {}\n", w.name));
        for r in &w.regions {
            out.push_str(&format!(
                "  {}: {} ({} changes)\n",
                r.region,
                word(r.outcome),
                r.changes
            ));
            for c in &r.checks {
                out.push_str(&format!("    {}\n", super::check_line(c)));
            }
        }
    }
    out.push_str(match report.verdict {
        Verdict::Completed => "Rollout complete.\n",
        Verdict::Halted => "Rollout halted: a check failed. Nothing was rolled back; fix and rerun to resume.\n",
        Verdict::Failed => "Rollout stopped: an apply failed or a check could not be evaluated. Nothing was rolled back; rerun to resume.\n",
    });
    out
}

fn step_summary(report: &RolloutReport) -> Result<()> {
    let verdict = match report.verdict {
        Verdict::Completed => "complete",
        Verdict::Halted => "halted by a check",
        Verdict::Failed => "stopped",
    };
    let mut md = format!("### reconcile rollout {}: {verdict}\n\n| wave | region | result | changes |\n|---|---|---|---|\n", report.stack);
    for w in &report.waves {
        for r in &w.regions {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                w.name,
                r.region,
                word(r.outcome),
                r.changes
            ));
        }
    }
    if let Some(t) = &report.emergency {
        md.push_str(&format!("\nEmergency ticket: {t}\n"));
    }
    md.push('\n');
    super::step_summary(&md)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::progress::Progress;
    use crate::ops::apply::Settings;
    use crate::testing::{self, FakeCloud};

    #[tokio::test]
    async fn a_halted_rollout_as_printed() {
        let cloud = FakeCloud::default();
        cloud.state().metric.insert("us-west-2".into(), 50.0);
        let stack = testing::stack(testing::WAVES);
        let request = Request {
            saved: None,
            from_wave: None,
            skip_bake: false,
            short_bake: false,
            emergency: None,
            lock_timeout: std::time::Duration::ZERO,
            settings: Settings {
                parallelism: 4,
                record: Default::default(),
                progress: Progress::silent(),
                wait_timeout: std::time::Duration::from_secs(3600),
            },
            policies: None,
        };
        let report = rollout::run(
            &cloud,
            &testing::clock(),
            &stack,
            &request,
            async |_| Ok(()),
        )
        .await
        .unwrap();
        insta::assert_snapshot!(render_report(&report));
    }
}
