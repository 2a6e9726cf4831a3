//! The command line: global flags and output settings here, one file per
//! command, each of which parses its flags, has `ops` load and admit the
//! stack (`ops::subject`, `ops::admit`: what is judged before any AWS call),
//! calls one operation (`crate::ops`) and hands its result to one printer.

mod apply;
mod cutover;
mod fmt;
mod iam_policy;
mod import;
mod plan;
mod profile;
mod rollout;
mod status;
mod unlock;
mod validate;
mod verify;

use crate::aws::{self, Aws, Connection};
use crate::model::progress::{Note, Progress};
use crate::plan::render::Style;
use anyhow::{bail, Result};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const EXIT_CODES: &str = "\
Exit codes:
  0  success; for `plan --detailed-exitcode`, no changes
  1  error, including a plan that would delete or replace a protected resource,
     a usage error (an unknown flag, a missing argument), an apply refused
     because another run holds the stack's lock, an apply, rollout or cutover
     refused by the stack's [change_window], and an interrupted apply
  2  `plan --detailed-exitcode` found changes
  3  `verify`: a check failed, or had no data where that fails; `cutover`:
     refused by its pre-checks, or switched back; `rollout`: halted by a check";

/// The documented exit codes (0/1/2/3); `reconcile --help` lists them (`EXIT_CODES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    Error = 1,
    /// `plan --detailed-exitcode` found changes.
    Changes = 2,
    /// A verification failed, a cutover was refused by its checks or
    /// switched back, a rollout halted.
    Verification = 3,
}

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
    /// Assume this IAM role before the first call, instead of the stack's
    /// `[stack] role` (its external id and duration still apply).
    #[arg(long, global = true, env = "RECONCILE_ROLE", value_name = "ARN")]
    role: Option<String>,
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

/// In a GitHub Actions job, each refusal of a plan (a protected resource, a
/// policy's denial) is also an `::error` annotation on the run's page.
fn annotate_refusals(plan: &crate::plan::Plan) {
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        for refusal in plan.refusals() {
            // The workflow command's escapes: %, CR and LF.
            let text = refusal
                .replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A");
            println!("::error title=reconcile: plan refused::{text}");
        }
    }
}

/// `--var NAME=VALUE`: values for the stack's `[vars]`.
#[derive(clap::Args, Debug)]
struct VarArgs {
    /// A value for a variable the stack declares in `[vars]` (repeatable),
    /// used wherever it says `${var.NAME}`.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = crate::stack::vars::parse_override)]
    vars: Vec<(String, String)>,
}

impl VarArgs {
    fn overrides(&self) -> crate::stack::vars::Overrides {
        self.vars.iter().cloned().collect()
    }
}

/// Where a plan looks for what the stack left in regions it no longer lists.
#[derive(clap::Args, Debug)]
struct SearchArgs {
    /// Look for the stack's resources in every enabled region of the account,
    /// not only in the regions its record lists as applied to (the record is
    /// kept by apply; without one, every region is searched anyway).
    #[arg(long)]
    search_all_regions: bool,
}

impl From<SearchArgs> for crate::ops::plan::Search {
    fn from(args: SearchArgs) -> Self {
        if args.search_all_regions {
            crate::ops::plan::Search::AllRegions
        } else {
            crate::ops::plan::Search::Recorded
        }
    }
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
    Plan(plan::PlanArgs),
    /// Make the live resources match the stack file, or apply a saved plan.
    Apply(apply::ApplyArgs),
    /// Judge the live stack: load balancers active, targets healthy, databases
    /// available, and its [[verify]] checks; once, or through a soak.
    Verify(verify::VerifyArgs),
    /// Move a blue-green pair's traffic to one colour, region by region, in
    /// steps with checks; switch back on a failure.
    Cutover(cutover::CutoverArgs),
    /// Every region, wave by wave: apply, verify, bake; halt on a failure.
    Rollout(rollout::RolloutArgs),
    /// Per region: in sync or changes pending, the version labels live, each
    /// blue-green pair's active colour and last cutover, protected resources.
    Status(status::StatusArgs),
    /// Break a stack's lock left by a run that is gone.
    Unlock(unlock::UnlockArgs),
    /// Write a stack file that takes over what a Terraform state holds.
    Import(import::ImportArgs),
    /// Print the IAM policy a role needs to run reconcile on a stack (no AWS call).
    IamPolicy(iam_policy::IamPolicyArgs),
    /// Check stack files (and their policies) with no credentials and no AWS call.
    Validate(validate::ValidateArgs),
    /// Lay out stack files in their one layout (`--check`: only say which are not).
    Fmt(fmt::FmtArgs),
    /// Print a shell completion script.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

const COMPLETIONS_HELP: &str = "\
Examples:
  reconcile completions bash > ~/.local/share/bash-completion/completions/reconcile
  reconcile completions zsh > \"${fpath[1]}/_reconcile\"
  reconcile completions fish > ~/.config/fish/completions/reconcile.fish";

/// Logging to stderr at the level the flags choose, and the run's time profile.
pub fn init_logging(cli: &Cli) -> profile::Profile {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        // aws-config warns about every credential provider it tries; the error says enough.
        (false, 0) => "warn,aws_config=error",
        (false, 1) => "info,aws=warn",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let profile = profile::Profile::new();
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_filter(filter);
    tracing_subscriber::registry()
        .with(log)
        .with(profile.layer())
        .init();
    profile
}

/// Resolved output settings: the "high-level" form of the raw flags.
struct Output {
    style: Style,
    quiet: bool,
    /// The progress bar of the wait under way, on a terminal.
    bar: Arc<Mutex<Option<ProgressBar>>>,
    /// Where the run's time went (`--stats`, `apply --json`).
    profile: profile::Profile,
}

impl Drop for Output {
    /// An error ends the command too: no bar stays above its message.
    fn drop(&mut self) {
        self.settle();
    }
}

impl Output {
    fn new(cli: &Cli, profile: profile::Profile) -> Output {
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
            bar: Arc::default(),
            profile,
        }
    }

    fn progress(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// Where an operation sends its notes, unless quiet: lines to stderr;
    /// waits (bakes, soaks, a database being created) as one progress bar
    /// redrawn in place on a terminal, and as lines without one (a CI log).
    fn progress_sink(&self) -> Progress {
        if self.quiet {
            return Progress::silent();
        }
        let terminal = std::io::stderr().is_terminal();
        let bar = self.bar.clone();
        Progress::new(move |note| match note {
            Note::Wait {
                status,
                elapsed,
                total,
            } if terminal => {
                let mut slot = bar.lock().unwrap_or_else(|e| e.into_inner());
                let b = slot.get_or_insert_with(|| {
                    let b = ProgressBar::new_spinner();
                    b.enable_steady_tick(Duration::from_millis(120));
                    b
                });
                let template = match total {
                    Some(total) => {
                        b.set_length(total.as_secs().max(1));
                        b.set_position(elapsed.as_secs());
                        "{spinner} [{bar:24}] {msg}"
                    }
                    None => "{spinner} {elapsed} {msg}",
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    b.set_style(style.progress_chars("=> "));
                }
                b.set_message(status);
            }
            Note::Wait { status, .. } => eprintln!("{status}"),
            Note::Line(line) => {
                Output::clear(&bar);
                eprintln!("{line}");
            }
        })
    }

    /// The operation is over: its last wait's bar goes before the report
    /// is printed (a finished bake left it on screen above the report).
    fn settle(&self) {
        Output::clear(&self.bar);
    }

    /// Ends the wait's progress bar, if one is drawn.
    fn clear(bar: &Mutex<Option<ProgressBar>>) {
        if let Some(b) = bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b.finish_and_clear();
        }
    }

    fn stats(&self, aws: &Aws) {
        let calls = aws.calls.snapshot();
        let total: u64 = calls.values().sum();
        let per: Vec<String> = calls.iter().map(|(k, v)| format!("{k}={v}")).collect();
        eprintln!("AWS calls: {total} ({})", per.join(", "));
        eprint!("{}", self.profile.render());
    }
}

pub async fn run(cli: Cli, profile: profile::Profile) -> Result<ExitStatus> {
    // No AWS call, so no credentials or profile needed.
    match cli.command {
        Command::IamPolicy(args) => return iam_policy::run(args),
        Command::Validate(args) => return validate::run(args),
        Command::Fmt(args) => return fmt::run(args),
        _ => {}
    }
    if let Command::Completions { shell } = cli.command {
        use clap::CommandFactory;
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "reconcile", &mut script);
        match std::io::stdout().write_all(&script) {
            // `reconcile completions bash | head` closes the pipe early: not an error.
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
            _ => return Ok(ExitStatus::Success),
        }
    }
    let output = Output::new(&cli, profile);
    let connection = Connection {
        endpoint_url: cli.endpoint_url.clone(),
        profile: cli.profile.clone(),
        role: cli.role.clone(),
        call_timeout: cli.call_timeout,
        wait_timeout: cli.wait_timeout,
    };
    aws::check_profile(&connection)?;
    let status = match cli.command {
        Command::Plan(args) => plan::run(args, &connection, &output).await,
        Command::Apply(args) => apply::run(args, &connection, &output).await,
        Command::Cutover(args) => cutover::run(args, &connection, &output).await,
        Command::Rollout(args) => rollout::run(args, &connection, &output).await,
        Command::Status(args) => status::run(args, &connection, &output).await,
        Command::Unlock(args) => unlock::run(args, &connection, &output).await,
        Command::Import(args) => import::run(args, &connection, &output).await,
        Command::Verify(args) => verify::run(args, &connection, &output).await,
        Command::Completions { .. }
        | Command::IamPolicy(_)
        | Command::Validate(_)
        | Command::Fmt(_) => {
            unreachable!("answered above")
        }
    };
    Output::clear(&output.bar);
    status
}

/// Connects to AWS with the run's credentials, or as the role `--role` or
/// the stack's `[stack] role` names (its plan role for a command that only
/// reads), assumed before any other call in the stack's first region.
async fn connect_as(
    connection: &Connection,
    stack: Option<&crate::stack::Stack>,
    read_only: bool,
) -> Result<Aws> {
    let aws = Aws::connect(connection).await;
    let named = stack.and_then(|s| s.role.as_ref());
    let Some(arn) = connection
        .role
        .clone()
        .or_else(|| named.map(|r| r.arn_for(read_only).to_string()))
    else {
        return Ok(aws);
    };
    if let Some(stack) = stack.filter(|s| !s.accounts.is_empty()) {
        let account = arn.split(':').nth(4).unwrap_or_default();
        if !stack.accounts.iter().any(|a| a == account) {
            bail!(
                "--role {arn} is of account {account}, but stack {} lives in {}: nothing was read or changed",
                stack.name,
                stack.accounts.join(", ")
            );
        }
    }
    let role = aws::Role {
        arn,
        external_id: named.and_then(|r| r.external_id.clone()),
        duration: named.and_then(|r| r.duration),
        session: aws::Role::session_of(&crate::ops::operator()),
    };
    let region = stack
        .and_then(|s| s.regions.first())
        .map_or("us-east-1", String::as_str);
    Ok(aws.assume(role, region).await?)
}

/// The first calls of every command on a stack: its role assumed, if it
/// names one, then the account guard.
async fn connect(
    connection: &Connection,
    stack: &crate::stack::Stack,
    read_only: bool,
) -> Result<(Aws, crate::model::Identity)> {
    let aws = connect_as(connection, Some(stack), read_only).await?;
    let identity = crate::ops::account::check(&aws, stack).await?;
    Ok((aws, identity))
}

/// A stack file's errors on stderr; in a GitHub Actions job, each also an
/// annotation on its line of the file.
pub fn report_stack_error(error: &crate::stack::StackError) {
    eprintln!("error: {error}");
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        print!("{}", error.annotations());
    }
}

/// Appends `markdown` to the file `GITHUB_STEP_SUMMARY` names (GitHub shows
/// it on the run's page); nothing without it.
fn step_summary(markdown: &str) -> Result<()> {
    use anyhow::Context as _;
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return Ok(());
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(markdown.as_bytes()))
        .with_context(|| format!("writing GITHUB_STEP_SUMMARY {}", path.to_string_lossy()))
}

/// A check that did not pass, with its evidence, as the reports list it:
/// `green-5xx Fail: 20 (threshold Sum ≤ 5); detail`.
fn check_line(c: &crate::check::CheckResult) -> String {
    format!(
        "{} {:?}: {} (threshold {}){}",
        c.check,
        c.outcome,
        c.evidence.value.as_deref().unwrap_or("-"),
        c.evidence.threshold,
        c.evidence
            .detail
            .as_ref()
            .map(|d| format!("; {d}"))
            .unwrap_or_default()
    )
}

/// A cutover's record as a person reads it: `cutover app → green (100%),
/// 2026-… by alice, version …, ticket …`.
fn record_line(record: &std::collections::BTreeMap<String, String>) -> Option<String> {
    use crate::model::tags::cutover::{CHANGE, OPERATOR, TICKET, TIME, VERSION};
    let get = |k| record.get(k).map_or("-", String::as_str);
    let change = record.get(CHANGE)?;
    Some(format!(
        "{change}, {} by {}, version {}{}",
        get(TIME),
        get(OPERATOR),
        get(VERSION),
        record
            .get(TICKET)
            .map(|t| format!(", ticket {t}"))
            .unwrap_or_default()
    ))
}

/// Asks before `command` changes anything; without a terminal, refuses
/// (`otherwise` says what to do instead).
async fn confirm(command: &str, otherwise: &str) -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "refusing to {command} without confirmation: stdin is not a terminal. \
             Pass --auto-approve (as in CI){otherwise}."
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
        bail!("{command} cancelled; nothing was changed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_wait_leaves_no_bar_above_the_report() {
        let output = Output {
            style: Style { color: false },
            quiet: false,
            bar: Arc::default(),
            profile: profile::Profile::new(),
        };
        let bar = ProgressBar::hidden();
        *output.bar.lock().unwrap() = Some(bar.clone());
        output.settle();
        assert!(output.bar.lock().unwrap().is_none());
        assert!(bar.is_finished(), "the bar is finished and cleared");
    }
}
