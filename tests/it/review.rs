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

    let dir = shipped_copy(&["base", "dev"]);
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
        bad.stderr.contains("help: did you mean `instance_class`?")
            && !bad.stderr.contains("secrets never go"),
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

/// `scripts/install.sh` installs a release's archive for this machine only
/// when it matches its SHA-256 in the release's SHA256SUMS (a release laid
/// out as `.github/workflows/release.yml` makes it, from this build).
#[test]
fn the_installer_checks_the_archive_against_the_releases_checksums() {
    let release = tempfile::tempdir().unwrap();
    let target = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "x86_64-unknown-linux-musl",
        ("linux", "aarch64") => "aarch64-unknown-linux-musl",
        ("macos", "x86_64") => "x86_64-apple-darwin",
        ("macos", "aarch64") => "aarch64-apple-darwin",
        other => panic!("no release target for {other:?}"),
    };
    let binary = assert_cmd::cargo::cargo_bin("reconcile");
    let staging = tempfile::tempdir().unwrap();
    std::fs::copy(&binary, staging.path().join("reconcile")).unwrap();
    std::fs::copy(root().join("README.md"), staging.path().join("README.md")).unwrap();
    let archive = format!("reconcile-{target}.tar.gz");
    let sh = |script: &str| {
        let out = std::process::Command::new("sh")
            .args(["-c", script])
            .current_dir(release.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh(&format!(
        "tar -czf {archive} -C '{}' reconcile README.md && sha256sum {archive} > SHA256SUMS",
        staging.path().display()
    ));
    let install = |into: &Path| {
        std::process::Command::new("sh")
            .arg(root().join("scripts/install.sh"))
            .env(
                "RECONCILE_DOWNLOAD_BASE",
                format!("file://{}", release.path().display()),
            )
            .env("INSTALL_DIR", into)
            .output()
            .unwrap()
    };
    let bin = tempfile::tempdir().unwrap();
    let out = install(bin.path());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!(
            "installed reconcile {}",
            env!("CARGO_PKG_VERSION")
        )),
        "{said}"
    );
    let installed =
        run_cmd(assert_cmd::Command::new(bin.path().join("reconcile")).arg("--version")).expect(0);
    assert!(
        installed.stdout.starts_with("reconcile "),
        "{}",
        installed.stdout
    );

    // An archive that is not what the release's checksums say: refused.
    sh(&format!("echo tampered >> {archive}"));
    let elsewhere = tempfile::tempdir().unwrap();
    let out = install(elsewhere.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not match its SHA-256 in SHA256SUMS"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !elsewhere.path().join("reconcile").exists(),
        "nothing installed"
    );
}

/// A one-rule change of the demo stack, drawn: the rule and its neighbours
/// as Mermaid (`--graph`), in `--markdown`'s comment, and as nodes and
/// edges in `--json`.
#[test]
fn a_plan_draws_the_change_and_what_it_touches() {
    let stack = demo_stack(&unique("graph"));
    stack.apply().expect(0);
    let text = std::fs::read_to_string(stack.arg()).unwrap();
    stack.write(&text.replacen(
        "conditions = { path = [\"/*\"] }",
        "conditions = { path = [\"/app/*\"] }",
        1,
    ));
    let picture = run(&["plan", stack.arg(), "--graph", "mermaid"])
        .expect(0)
        .stdout;
    assert!(picture.starts_with("flowchart LR\n"), "{picture}");
    // Its conditions change, not the forward the pair owns: no switch.
    assert!(
        picture.contains("[\"~ listener_rule.app\"]:::update"),
        "{picture}"
    );
    assert!(picture.contains("listener.http"), "{picture}");
    assert!(picture.matches(":::").count() <= 50);
    let dot = run(&["plan", stack.arg(), "--graph", "dot"])
        .expect(0)
        .stdout;
    assert!(
        dot.starts_with("digraph plan {") && dot.contains("~ listener_rule.app"),
        "{dot}"
    );

    let md = stack.dir.path().join("plan.md");
    run(&["plan", stack.arg(), "--markdown", md.to_str().unwrap()]).expect(0);
    let md = std::fs::read_to_string(md).unwrap();
    assert!(md.contains("```mermaid\nflowchart LR\n"), "{md}");

    // A rollout of the saved plan, drawn wave by wave: nothing runs.
    let saved = stack.dir.path().join("plan.json");
    run(&["plan", stack.arg(), "--out", saved.to_str().unwrap()]).expect(0);
    let waves = run(&[
        "rollout",
        "--plan",
        saved.to_str().unwrap(),
        "--graph",
        "mermaid",
    ])
    .expect(0)
    .stdout;
    assert_eq!(
        waves,
        "flowchart LR\n  subgraph w0[\"1. canary (bake 30s)\"]\n    w0r0[\"us-west-2: 1 change\"]\n  end\n  \
         subgraph w1[\"2. rest (bake 10s)\"]\n    w1r0[\"eu-west-1: 1 change\"]\n  end\n  w0 --> w1\n"
    );
    let json = stack.plan_json();
    let nodes = json["graph"]["nodes"].as_array().expect("nodes");
    let rule = nodes
        .iter()
        .find(|n| n["label"] == "listener_rule.app")
        .expect("the rule");
    assert_eq!(rule["mark"], "update");
    assert!(json["graph"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .any(|e| e["to"] == rule["id"]));
}
