//! What a pull request's first job runs with no AWS access: `validate` and
//! `fmt --check`.

use crate::harness::*;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped environments with no credentials, at an endpoint that would
/// take a connection (none comes), are valid; a typo in the base they
/// extend exits 1 at its line, annotated in a GitHub Actions job.
#[test]
fn validate_checks_stack_files_with_no_credentials_and_no_call() {
    let tripwire = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    tripwire.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", tripwire.local_addr().unwrap());
    let offline = |args: &[&str]| {
        run_cmd(
            reconcile()
                .current_dir(root())
                .env("AWS_ENDPOINT_URL", &endpoint)
                .env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY")
                .env("AWS_PROFILE", "no-such-profile")
                .env("GITHUB_ACTIONS", "true")
                .args(args),
        )
    };
    let ok = offline(&[
        "validate",
        "stacks/dev.toml",
        "stacks/staging.toml",
        "stacks/prod.toml",
    ])
    .expect(0);
    assert!(
        ok.stdout
            .contains("stacks/prod.toml: valid (stack shop-prod, 26 blocks, 3 regions)"),
        "{}",
        ok.stdout
    );

    let dir = tempfile::tempdir().unwrap();
    for env in ["base", "dev"] {
        std::fs::copy(
            root().join(format!("stacks/{env}.toml")),
            dir.path().join(format!("{env}.toml")),
        )
        .unwrap();
    }
    let base = dir.path().join("base.toml");
    let text = std::fs::read_to_string(&base).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("instance_class = "))
        .expect("the database's class")
        + 1;
    std::fs::write(
        &base,
        text.replacen("instance_class = ", "instanse_class = ", 1),
    )
    .unwrap();
    let dev = dir.path().join("dev.toml");
    let bad = offline(&["validate", "stacks/prod.toml", dev.to_str().unwrap()]).expect(1);
    assert!(
        bad.stdout.contains("stacks/prod.toml: valid"),
        "every file is checked: {}",
        bad.stdout
    );
    assert!(
        bad.stderr.contains(&format!(
            "base.toml:{line}:1: unknown field `instanse_class`"
        )),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stdout.contains(&format!(
            "::error file={},line={line},col=1",
            base.display()
        )),
        "{}",
        bad.stdout
    );
    assert!(tripwire.accept().is_err(), "no AWS call");
}

/// The shipped stacks and examples are laid out; a messy copy is listed by
/// `--check` (exit 1, untouched) and laid out by `fmt`, comments and
/// meaning kept.
#[test]
fn fmt_lays_out_stack_files_keeping_comments_and_check_says_which_are_not() {
    run_cmd(reconcile().current_dir(root()).args([
        "fmt",
        "--check",
        "--recursive",
        "stacks",
        "examples",
        "schema",
    ]))
    .expect(0);

    let dir = tempfile::tempdir().unwrap();
    let tidy = std::fs::read_to_string(root().join("stacks/demo.toml")).unwrap();
    let messy: String = tidy
        .lines()
        .map(|l| match l.split_once(" = ") {
            Some((key, value)) if !l.starts_with('#') => format!("{key}   ={value}"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\n\n[", "\n\n\n\n[")
        + "\n";
    assert_ne!(messy, tidy);
    let file = dir.path().join("demo.toml");
    std::fs::write(&file, &messy).unwrap();
    let path = file.to_str().unwrap();
    let check = run(&["fmt", "--check", dir.path().to_str().unwrap()]).expect(1);
    assert_eq!(check.stdout.trim(), path);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), messy, "untouched");
    run(&["fmt", path]).expect(0);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), tidy);
    run(&["fmt", "--check", path]).expect(0);

    std::fs::write(&file, "[stack]\nname = \"x\n").unwrap();
    let broken = run(&["fmt", path]).expect(1);
    assert!(
        broken.stderr.contains(&format!("{path}:2:")),
        "{}",
        broken.stderr
    );
}
