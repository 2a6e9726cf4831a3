//! The layering, held on the source itself: the SDK stays in `src/aws`, `aws`
//! imports only `model`, `ops` reaches the cloud through `aws::cloud` and
//! never names `Aws`, and every import points down.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The code of a file without its comments, line by line (a doc comment may
/// name anything), and without its unit tests (which may use `testing`).
fn code(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .take_while(|l| !l.starts_with("mod tests {"))
        .map(|l| l.split("//").next().unwrap_or_default().to_string())
        .collect()
}

/// Whether `line` names a path in an SDK crate (`aws_sdk_ec2::…`, `aws_config::…`).
fn names_the_sdk(line: &str) -> bool {
    ["aws_sdk_", "aws_smithy_", "aws_config"]
        .iter()
        .any(|prefix| {
            line.match_indices(prefix).any(|(i, _)| {
                let rest = &line[i..];
                let end = rest
                    .find(|c: char| !c.is_alphanumeric() && c != '_')
                    .unwrap_or(rest.len());
                rest[end..].starts_with("::")
            })
        })
}

/// The top-level modules of the crate, as `crate::NAME`.
const MODULES: [&str; 12] = [
    "aws",
    "check",
    "cli",
    "desired",
    "graph",
    "iam_policy",
    "model",
    "ops",
    "plan",
    "stack",
    "terraform",
    "testing",
];

/// Which crate modules `module` may use.
fn allowed(module: &str) -> &'static [&'static str] {
    match module {
        "model" | "graph" => &[],
        "stack" => &["model"],
        "aws" => &["model"],
        "check" | "terraform" | "iam_policy" => &["model", "stack"],
        "desired" => &["model", "stack"],
        "plan" => &["model", "stack", "desired"],
        "ops" => &[
            "model",
            "stack",
            "desired",
            "plan",
            "check",
            "graph",
            "aws",
            "terraform",
        ],
        "testing" => &["model", "stack", "desired", "plan", "aws", "ops"],
        "cli" => &[
            "model",
            "stack",
            "plan",
            "check",
            "aws",
            "ops",
            "terraform",
            "iam_policy",
        ],
        other => panic!("a new top-level module `{other}`: place it in the layers"),
    }
}

fn module_of(path: &Path) -> String {
    let rest = path.strip_prefix("src").unwrap();
    let first = rest
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn every_import_points_down_and_the_sdk_stays_in_aws() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(root).unwrap();
    let mut broken = Vec::new();
    for path in sources(Path::new("src")) {
        let module = module_of(&path);
        if module == "main" {
            continue;
        }
        for (n, line) in code(&path).iter().enumerate() {
            let at = format!("{}:{}", path.display(), n + 1);
            if module != "aws" && names_the_sdk(line) {
                broken.push(format!("{at}: the SDK outside src/aws: {line}"));
            }
            for other in MODULES.iter().filter(|m| **m != module) {
                let uses = line.contains(&format!("crate::{other}::"))
                    || line.contains(&format!("crate::{other};"))
                    || line.contains(&format!("crate::{other}}}"))
                    || line.contains(&format!("crate::{{{other}"));
                if uses && !allowed(&module).contains(other) {
                    broken.push(format!("{at}: {module} uses {other}: {line}"));
                }
            }
            if module == "ops"
                && line
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|w| w == "Aws")
            {
                broken.push(format!(
                    "{at}: ops names Aws (only cli constructs it): {line}"
                ));
            }
            if module != "cli" && line.contains("ExitStatus") {
                broken.push(format!("{at}: ExitStatus outside cli: {line}"));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_check_sees_a_broken_layer() {
    // The test above reads what it claims to: a line of ops naming Aws is found.
    let words = |line: &str| {
        line.split(|c: char| !c.is_alphanumeric() && c != '_')
            .any(|w| w == "Aws")
            .then_some(())
    };
    assert!(words("    aws: &Aws,").is_some());
    assert!(words("use crate::aws::AwsError;").is_none());
    assert_eq!(module_of(Path::new("src/aws/ec2/vpc.rs")), "aws");
    assert!(names_the_sdk("use aws_sdk_ec2::Client;"));
    assert!(!names_the_sdk(r#"(false, 0) => "warn,aws_config=error","#));
    assert_eq!(module_of(Path::new("src/check.rs")), "check");
}
