//! `reconcile status`: what is live where, and whether it matches the file.

use super::ExitStatus;
use super::Output;
use crate::aws::Connection;
use crate::model::tags::record::{OPERATOR, TICKET, TIME};
use crate::ops::status::{self, RegionStatus};
use crate::stack;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Examples:
  reconcile status stacks/prod.toml
  reconcile status stacks/prod.toml --json | jq '.[] | {region, versions}'";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(super) struct StatusArgs {
    /// The stack file.
    stack: PathBuf,
    #[command(flatten)]
    vars: super::VarArgs,
    /// Print the status as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub(super) async fn run(
    args: StatusArgs,
    connection: &Connection,
    _output: &Output,
) -> Result<ExitStatus> {
    let stack = stack::load_with(&args.stack, &args.vars.overrides())?;
    let (aws, _) = super::connect(connection, &stack, true).await?;
    let regions = status::run(&aws, &stack).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&regions)?);
    } else {
        print!("{}", render(&stack.name, &regions));
    }
    Ok(ExitStatus::Success)
}

fn render(stack: &str, regions: &[RegionStatus]) -> String {
    let mut out = format!("stack {stack}\n");
    for r in regions {
        let sync = if r.pending == 0 {
            "in sync".to_string()
        } else {
            format!(
                "{} change{} pending (`reconcile plan` shows them)",
                r.pending,
                if r.pending == 1 { "" } else { "s" }
            )
        };
        out.push_str(&format!(
            "{}: {sync}, {} resources\n",
            r.region, r.resources
        ));
        let versions: Vec<String> = r
            .versions
            .iter()
            .map(|(v, n)| format!("{v} ({n})"))
            .collect();
        if !versions.is_empty() {
            out.push_str(&format!("  version: {}\n", versions.join(", ")));
        }
        for p in &r.blue_green {
            let weights: Vec<String> = p.weights.iter().map(|(c, w)| format!("{c} {w}%")).collect();
            out.push_str(&format!(
                "  blue_green.{}: {} ({})\n",
                p.name,
                p.active.map_or("split", |c| c.as_str()),
                weights.join(", ")
            ));
            for (colour, runs) in &p.runs {
                out.push_str(&format!("    {colour} runs {runs}\n"));
            }
            if let Some(line) = super::record_line(&p.record) {
                out.push_str(&format!(
                    "    last: {line}
"
                ));
            }
        }
        if let Some(time) = r.last_change.get(TIME) {
            let get = |k| r.last_change.get(k).map_or("-", String::as_str);
            out.push_str(&format!(
                "  last change: {time} by {}, version {}{}\n",
                get(OPERATOR),
                get(crate::model::tags::VERSION),
                r.last_change
                    .get(TICKET)
                    .map(|t| format!(", ticket {t}"))
                    .unwrap_or_default()
            ));
        }
        if !r.protected.is_empty() {
            out.push_str(&format!("  protected: {}\n", r.protected.join(", ")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[tokio::test]
    async fn a_status_as_printed() {
        let (stack, cloud, _) = testing::demo_on_a_fake_cloud();
        let regions = status::run(&cloud, &stack).await.unwrap();
        insta::assert_snapshot!(render(&stack.name, &regions));
    }
}
