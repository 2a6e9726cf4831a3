//! Flags, and the thin command wrappers: each loads the stack, calls one
//! operation and prints its result.

use crate::aws::{self, Aws, Connection, Progress};
use crate::ops::plan::{PlanReport, Planned, SavedPlan};
use crate::ops::{self, apply};
use crate::plan::render::{render, Style};
use crate::plan::Plan;
use crate::stack::{self, Stack};
use crate::ExitStatus;
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const EXIT_CODES: &str = "\
Exit codes:
  0  success; for `plan --detailed-exitcode`, no changes
  1  error, including a plan that would delete or replace a protected resource,
     a usage error (an unknown flag, a missing argument), an apply refused
     because another run holds the stack's lock, and an interrupted apply
  2  `plan --detailed-exitcode` found changes";

#[derive(Parser, Debug)]
#[command(name = "reconcile", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Send every AWS call to this endpoint (a local emulator); AWS's own
    /// endpoints when not given.
    #[arg(
        long,
        global = true,
        env = "AWS_ENDPOINT_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    endpoint_url: Option<String>,
    /// The AWS profile to use (otherwise aws-config's default chain).
    #[arg(long, global = true)]
    profile: Option<String>,
    /// More logging (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors and results: no progress lines.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Colour in the output: auto (when stdout is a terminal and NO_COLOR is unset), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// How long one attempt of one AWS call may take (an operation with its
    /// retries gets four times that), e.g. 30s.
    #[arg(long, global = true, env = "RECONCILE_CALL_TIMEOUT", default_value = "30s", value_parser = duration, value_name = "DURATION")]
    call_timeout: Duration,
    /// How long apply waits for AWS to finish one resource (an RDS instance
    /// becoming available), e.g. 1h.
    #[arg(long, global = true, env = "RECONCILE_WAIT_TIMEOUT", default_value = "1h", value_parser = duration, value_name = "DURATION")]
    wait_timeout: Duration,
}

/// A duration as people write it: 90s, 5m, 1h30m.
fn duration(text: &str) -> Result<Duration, String> {
    let parsed =
        humantime::parse_duration(text).map_err(|e| format!("{e} (write it as 30s, 5m or 1h)"))?;
    if parsed.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(parsed)
}

/// A duration that may be zero (`--lock-timeout 0s`: do not wait).
fn duration_or_zero(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (write it as 0s, 30s or 5m)"))
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show what apply would change, reading the live resources.
    Plan(PlanArgs),
    /// Make the live resources match the stack file, or apply a saved plan.
    Apply(ApplyArgs),
    /// Break a stack's lock left by a run that is gone.
    Unlock(UnlockArgs),
}

#[derive(Args, Debug)]
struct UnlockArgs {
    /// The stack file.
    stack: PathBuf,
    /// Only these regions of the stack (repeatable).
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// Break the lock even if its holder may still be running.
    #[arg(long)]
    force: bool,
}

#[derive(Args, Debug)]
struct PlanArgs {
    /// The stack file.
    stack: PathBuf,
    /// Only these regions of the stack (repeatable).
    #[arg(long = "region", value_name = "REGION")]
    regions: Vec<String>,
    /// Print the plan as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Save the plan, to apply exactly it later with `reconcile apply PLAN.json`.
    #[arg(long, value_name = "PLAN.json")]
    out: Option<PathBuf>,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Report how many AWS calls were made, per service.
    #[arg(long)]
    stats: bool,
}

#[derive(Args, Debug)]
struct ApplyArgs {
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
    /// Report how many AWS calls were made, per service.
    #[arg(long)]
    stats: bool,
    /// How long to wait for another run of the same stack to finish (0s: fail at once).
    #[arg(long, default_value = "0s", value_parser = duration_or_zero, value_name = "DURATION")]
    lock_timeout: Duration,
}

pub fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        // aws-config warns about every credential provider it tries; the error says enough.
        (false, 0) => "warn,aws_config=error",
        (false, 1) => "info,aws=warn",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}

/// Resolved output settings: the "high-level" form of the raw flags.
struct Output {
    style: Style,
    quiet: bool,
}

impl Output {
    fn new(cli: &Cli) -> Output {
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
            }
        };
        Output {
            style: Style { color },
            quiet: cli.quiet,
        }
    }

    fn progress(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    fn stats(&self, aws: &Aws) {
        let calls = aws.calls.snapshot();
        let total: u64 = calls.values().sum();
        let per: Vec<String> = calls.iter().map(|(k, v)| format!("{k}={v}")).collect();
        eprintln!("AWS calls: {total} ({})", per.join(", "));
    }
}

pub async fn run(cli: Cli) -> Result<ExitStatus> {
    let output = Output::new(&cli);
    let connection = Connection {
        endpoint_url: cli.endpoint_url.clone(),
        profile: cli.profile.clone(),
        call_timeout: cli.call_timeout,
        wait_timeout: cli.wait_timeout,
    };
    aws::check_profile(&connection).map_err(anyhow::Error::msg)?;
    match cli.command {
        Command::Plan(args) => plan(args, &connection, &output).await,
        Command::Apply(args) => apply(args, &connection, &output).await,
        Command::Unlock(args) => unlock(args, &connection).await,
    }
}

async fn unlock(args: UnlockArgs, connection: &Connection) -> Result<ExitStatus> {
    let stack = stack::load(&args.stack)?;
    let regions = ops::select_regions(&stack, &args.regions)?;
    let aws = Aws::connect(connection).await;
    for line in ops::lock::unlock(&aws, &stack.name, &regions, args.force).await? {
        println!("{line}");
    }
    Ok(ExitStatus::Success)
}

/// Runs `work` until it ends or the process is told to stop (Ctrl-C, SIGTERM):
/// then it is dropped (steps under way are abandoned) and an error says so.
async fn interruptible<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => bail!(INTERRUPTED),
        _ = terminate => bail!(INTERRUPTED),
    }
}

const INTERRUPTED: &str = "interrupted: steps under way were abandoned and the lock released. \
    Nothing was rolled back; `reconcile plan` shows what remains.";

/// Protected resources a plan would lose: reported, and the plan refused.
fn refuse(plan: &Plan) -> Result<()> {
    let refusals = plan.refusals();
    if refusals.is_empty() {
        return Ok(());
    }
    bail!("this plan is refused:\n{}", refusals.join("\n"))
}

async fn plan(args: PlanArgs, connection: &Connection, output: &Output) -> Result<ExitStatus> {
    let mut stack = stack::load(&args.stack)?;
    let aws = Aws::connect(connection).await;
    let Planned { plan, .. } = ops::plan::run(&aws, &mut stack, &args.regions).await?;
    if args.json {
        let report = PlanReport {
            plan: &plan,
            summary: plan.summary(),
            refusals: plan.refusals(),
            aws_calls: aws.calls.snapshot(),
            aws_operations: aws.calls.operations(),
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&plan, output.style));
    }
    if args.stats {
        output.stats(&aws);
    }
    refuse(&plan)?;
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

fn is_saved_plan(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
}

async fn apply(args: ApplyArgs, connection: &Connection, output: &Output) -> Result<ExitStatus> {
    let saved = if is_saved_plan(&args.target) {
        Some(SavedPlan::read(&args.target)?)
    } else {
        None
    };
    let mut stack: Stack = match &saved {
        Some(saved) => saved.stack()?,
        None => stack::load(&args.target)?,
    };
    let regions = match &saved {
        Some(saved) if !args.regions.is_empty() => {
            bail!(
                "--region cannot narrow a saved plan; it covers {}",
                saved.regions.join(", ")
            )
        }
        Some(saved) => saved.regions.clone(),
        None => args.regions.clone(),
    };
    let aws = Aws::connect(connection).await;
    let quiet = output.quiet;
    let progress: Progress = Arc::new(move |line| {
        if !quiet {
            eprintln!("{line}");
        }
    });
    // The stack's regions of this run; a region the stack was removed from is
    // only pruned, and not locked.
    let lock_regions: Vec<String> = stack
        .regions
        .iter()
        .filter(|r| regions.is_empty() || regions.contains(r))
        .cloned()
        .collect();
    // Taken before reading: a second run plans only once the first is done.
    let lock = ops::lock::acquire(
        &aws,
        &stack.name,
        &lock_regions,
        "apply",
        args.lock_timeout,
        &progress,
    )
    .await?;
    let result = interruptible(apply_locked(
        &args,
        &aws,
        &mut stack,
        saved.as_ref(),
        &regions,
        output,
        progress,
    ))
    .await;
    lock.release().await;
    result
}

async fn apply_locked(
    args: &ApplyArgs,
    aws: &Aws,
    stack: &mut Stack,
    saved: Option<&SavedPlan>,
    regions: &[String],
    output: &Output,
    progress: Progress,
) -> Result<ExitStatus> {
    let planned = ops::plan::run(aws, stack, regions).await?;
    if let Some(saved) = saved {
        saved.check_current(&planned.plan)?;
    }
    if !args.json {
        print!("{}", render(&planned.plan, output.style));
    }
    refuse(&planned.plan)?;
    let report = if planned.plan.has_changes() {
        // A saved plan was reviewed when it was made, as with Terraform.
        if saved.is_none() && !args.auto_approve {
            confirm().await?;
        }
        apply::preflight(stack, &planned).map_err(anyhow::Error::msg)?;
        let settings = apply::Settings {
            parallelism: usize::from(args.parallelism),
            version: args.version_label.clone().or_else(|| stack.version.clone()),
            progress,
        };
        let report = apply::run(aws, stack, &planned, &settings).await;
        if !args.json {
            print!("{}", report.render());
        }
        report
    } else {
        apply::Report {
            stack: stack.name.clone(),
            entries: vec![],
        }
    };
    if args.json {
        let json = ApplyReport {
            report: &report,
            aws_calls: aws.calls.snapshot(),
            aws_operations: aws.calls.operations(),
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    if args.stats {
        output.stats(aws);
    }
    Ok(if report.failed() {
        ExitStatus::Error
    } else {
        ExitStatus::Success
    })
}

/// `apply --json`: the report, and the AWS calls it took.
#[derive(serde::Serialize)]
struct ApplyReport<'a> {
    #[serde(flatten)]
    report: &'a apply::Report,
    aws_calls: std::collections::BTreeMap<String, u64>,
    aws_operations: std::collections::BTreeMap<String, u64>,
}

async fn confirm() -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "refusing to apply without confirmation: stdin is not a terminal. \
             Pass --auto-approve (as in CI), or save a plan with `plan --out` and apply that file."
        );
    }
    eprint!("\nDo you want to perform these actions? Only 'yes' will be accepted: ");
    std::io::stderr().flush()?;
    // Read off the runtime, so that Ctrl-C at the prompt interrupts (and
    // releases the lock) instead of waiting for Enter.
    let answer = tokio::task::spawn_blocking(move || {
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer).map(|_| answer)
    })
    .await??;
    if answer.trim() != "yes" {
        bail!("apply cancelled; nothing was changed");
    }
    Ok(())
}
