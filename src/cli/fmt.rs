//! `reconcile fmt`: stack files in their one layout (`stack::layout`).

use super::ExitStatus;
use crate::stack::layout;
use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};

const AFTER_HELP: &str = "\
Lays out stack files as taplo's formatter does (editors with taplo do the
same on save): spacing, alignment, line breaks. Comments, the order of blocks
and keys, and every value are kept. A directory stands for its .toml files
(with --recursive, those of its subdirectories too, hidden ones and target/
aside). Prints each file it changes (with --check: would change).

Exit codes: 0 every file is laid out (or was rewritten); 1 with --check, some
file is not, or a file is not TOML (nothing is written to it).

Examples:
  reconcile fmt stacks
  reconcile fmt --check stacks examples     # in CI";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(super) struct FmtArgs {
    /// Files or directories (the current directory when none is given).
    paths: Vec<PathBuf>,
    /// Change nothing: list the files that are not laid out, exit 1 if any.
    #[arg(long)]
    check: bool,
    /// Also the .toml files of subdirectories.
    #[arg(long)]
    recursive: bool,
}

pub(super) fn run(args: FmtArgs) -> Result<ExitStatus> {
    let roots = match args.paths.is_empty() {
        true => vec![PathBuf::from(".")],
        false => args.paths.clone(),
    };
    let mut files = vec![];
    for root in &roots {
        collect(root, args.recursive, &mut files)?;
    }
    let mut status = ExitStatus::Success;
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let tidy = match layout::format(&text) {
            Ok(tidy) => tidy,
            Err(e) => {
                eprintln!("error: {}:{e}", file.display());
                status = ExitStatus::Error;
                continue;
            }
        };
        if tidy == text {
            continue;
        }
        println!("{}", file.display());
        if args.check {
            status = ExitStatus::Error;
        } else {
            std::fs::write(&file, tidy).with_context(|| format!("writing {}", file.display()))?;
        }
    }
    Ok(status)
}

/// `path`, or the .toml files of the directory it names, sorted.
fn collect(path: &Path, recursive: bool, files: &mut Vec<PathBuf>) -> Result<()> {
    if !path.is_dir() {
        anyhow::ensure!(
            path.exists(),
            "{}: no such file or directory",
            path.display()
        );
        files.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("reading {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if entry.is_dir() {
            if recursive && !name.starts_with('.') && name != "target" {
                collect(&entry, recursive, files)?;
            }
        } else if name.ends_with(".toml") {
            files.push(entry);
        }
    }
    Ok(())
}
