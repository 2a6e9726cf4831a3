//! `reconcile verify`: judge the live stack by its built-in and declared checks.

use super::ExitStatus;
use super::{duration, Output};
use crate::aws::Connection;
use crate::check::{CheckResult, Outcome};
use crate::ops;
use crate::ops::clock::SystemClock;
use crate::ops::verify::{self, Soak, Verdict, Verification};
use crate::stack;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
Checks: every owned load balancer is active; every target group a live
listener or rule forwards to with weight > 0 has its healthy targets
(`min_healthy` of its [blue_green] block, else all registered, at least one)
and none unhealthy; every owned database is available; and each [[verify]]
block of the stack (a metric held to min/max over a window, or an alarm's state).

Exit codes:
  0  every check passed
  1  an error: a bad stack file, credentials, or a check that could not be evaluated
  3  a check failed, or had no data where that fails (`no_data = \"fail\"`, the default)

Examples:
  reconcile verify stacks/prod.toml
  reconcile verify stacks/prod.toml --region us-east-1 --soak 10m --every 30s
  reconcile verify stacks/prod.toml --json";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(super) struct VerifyArgs {
    /// The stack file.
    stack: PathBuf,
    #[command(flatten)]
    vars: super::VarArgs,
    /// Only these regions of the stack (repeatable).
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// Keep evaluating for this long (e.g. 30m), failing at the first failure.
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    soak: Option<Duration>,
    /// How often a soak evaluates, e.g. 1m.
    #[arg(long, value_parser = duration, value_name = "DURATION", requires = "soak")]
    every: Option<Duration>,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub(super) async fn run(
    args: VerifyArgs,
    connection: &Connection,
    output: &Output,
) -> Result<ExitStatus> {
    let stack = stack::load_with(&args.stack, &args.vars.overrides())?;
    let regions = ops::select_regions(&stack, &args.regions)?;
    let (aws, _) = super::connect(connection, &stack, true).await?;
    let soak = args.soak.map(|duration| Soak {
        duration,
        every: args.every.unwrap_or(Duration::from_secs(60)),
    });
    let progress = output.progress_sink();
    let verification = verify::judge(&aws, &SystemClock, &stack, &regions, soak, &progress).await;
    output.settle();
    let verification = verification?;
    if args.json {
        let report = VerifyReport {
            verification: &verification,
            aws_calls: aws.calls.snapshot(),
            aws_operations: aws.calls.operations(),
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&verification));
    }
    step_summary(&verification)?;
    Ok(match verification.verdict {
        Verdict::Passed => ExitStatus::Success,
        Verdict::Failed => ExitStatus::Verification,
        Verdict::Error => ExitStatus::Error,
    })
}

/// `verify --json`: the results, and the AWS calls they took.
#[derive(serde::Serialize)]
struct VerifyReport<'a> {
    #[serde(flatten)]
    verification: &'a Verification,
    aws_calls: std::collections::BTreeMap<String, u64>,
    aws_operations: std::collections::BTreeMap<String, u64>,
}

fn result_word(r: &CheckResult) -> &'static str {
    match (r.outcome, r.passed) {
        (Outcome::Pass, _) => "pass",
        (Outcome::NoData, true) => "no data (passes)",
        (Outcome::NoData, false) => "NO DATA",
        (Outcome::Fail, true) => "fail (tolerated)",
        (Outcome::Fail, false) => "FAIL",
        (Outcome::Error, _) => "ERROR",
    }
}

fn window(r: &CheckResult) -> String {
    match (&r.evidence.window, r.evidence.points) {
        (Some(w), Some(n)) => format!("{} ({n} pts)", w.label()),
        (Some(w), None) => w.label(),
        _ => "now".into(),
    }
}

/// One table per region: check, value, threshold, window, result; then the
/// detail of what did not pass.
pub(super) fn render(v: &Verification) -> String {
    let mut out = String::new();
    let mut regions: Vec<&str> = v.results.iter().map(|r| r.region.as_str()).collect();
    regions.dedup();
    for region in regions {
        let rows: Vec<[String; 5]> = v
            .results
            .iter()
            .filter(|r| r.region == region)
            .map(|r| {
                [
                    r.check.clone(),
                    r.evidence.value.clone().unwrap_or_else(|| "-".into()),
                    r.evidence.threshold.clone(),
                    window(r),
                    result_word(r).to_string(),
                ]
            })
            .collect();
        let header = ["CHECK", "VALUE", "THRESHOLD", "WINDOW (UTC)", "RESULT"].map(String::from);
        let widths: Vec<usize> = (0..5)
            .map(|i| {
                std::iter::once(&header)
                    .chain(&rows)
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        out.push_str(&format!("{region}\n"));
        for row in std::iter::once(&header).chain(&rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            out.push_str(&format!("  {}\n", cells.join("  ").trim_end()));
        }
        for r in v.results.iter().filter(|r| r.region == region) {
            if let Some(detail) = &r.evidence.detail {
                out.push_str(&format!("  {}: {detail}\n", r.check));
            }
        }
        out.push('\n');
    }
    let count = |f: &dyn Fn(&CheckResult) -> bool| v.results.iter().filter(|r| f(r)).count();
    let evaluations = if v.evaluations > 1 {
        format!(" after {} evaluations", v.evaluations)
    } else {
        String::new()
    };
    out.push_str(&match v.verdict {
        Verdict::Passed => format!(
            "Verification passed{evaluations}: {} checks.\n",
            v.results.len()
        ),
        Verdict::Failed => format!(
            "Verification failed{evaluations}: {} of {} checks failed.\n",
            count(&|r| r.failed()),
            v.results.len()
        ),
        Verdict::Error => format!(
            "Verification incomplete{evaluations}: {} checks could not be evaluated.\n",
            count(&|r| r.outcome == Outcome::Error)
        ),
    });
    out
}

/// The markdown table GitHub shows on the run's page, when `GITHUB_STEP_SUMMARY` names a file.
fn step_summary(v: &Verification) -> Result<()> {
    let mut md = format!(
        "### reconcile verify {}: {}\n\n| region | check | value | threshold | window | result |\n|---|---|---|---|---|---|\n",
        v.stack,
        match v.verdict {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::Error => "incomplete",
        }
    );
    for r in &v.results {
        let cell = |s: &str| s.replace('|', "\\|");
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.region,
            cell(&r.check),
            cell(r.evidence.value.as_deref().unwrap_or("-")),
            cell(&r.evidence.threshold),
            window(r),
            result_word(r)
        ));
    }
    md.push('\n');
    super::step_summary(&md)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::progress::Progress;
    use crate::testing;

    #[tokio::test]
    async fn a_verification_as_printed() {
        let (stack, cloud, _) = testing::demo_on_a_fake_cloud();
        cloud.state().metric.insert("eu-west-1".into(), 12.0);
        let regions = stack.regions.clone();
        let verification = verify::judge(
            &cloud,
            &testing::clock(),
            &stack,
            &regions,
            None,
            &Progress::silent(),
        )
        .await
        .unwrap();
        insta::assert_snapshot!(render(&verification));
    }
}
