//! `reconcile`: AWS infrastructure from TOML stack files, diffed against the
//! live account, with no state file.

mod aws;
mod check;
mod cli;
mod desired;
mod graph;
mod iam_policy;
mod model;
mod ops;
mod plan;
mod policy;
mod stack;
mod terraform;
#[cfg(test)]
mod testing;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Usage errors exit 1, not clap's 2: 2 means "plan found changes" to a pipeline.
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                cli::ExitStatus::Error as u8
            } else {
                cli::ExitStatus::Success as u8
            });
        }
    };
    let profile = cli::init_logging(&args);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let result = runtime.block_on(cli::run(args, profile));
    // Do not wait for a prompt's read still blocked on stdin after Ctrl-C.
    runtime.shutdown_background();
    let status = match result {
        Ok(status) => status,
        Err(e) => {
            match e.downcast_ref::<stack::StackError>() {
                Some(stack_error) => cli::report_stack_error(stack_error),
                None => eprintln!("error: {e:#}"),
            }
            cli::ExitStatus::Error
        }
    };
    ExitCode::from(status as u8)
}
