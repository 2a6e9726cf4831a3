//! Policies on the command line, against the emulator: the shipped examples
//! refuse a plan that opens SSH to the world and pass a clean one; a saved
//! plan is applied only under the policies it passed; a policy that does not
//! parse is refused before any AWS call.

use crate::harness::{live, reconcile, run, run_cmd, unique, StackFile};
use std::path::{Path, PathBuf};

const REGION: &str = "ca-central-1";

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policy")
}

fn stack(name: &str, port: u16) -> String {
    format!(
        "[stack]\nname = \"{name}\"\nregions = [\"{REGION}\"]\ntags = {{ owner = \"ana\", team = \"shop\" }}\n\n\
         [vpc.main]\ncidr = \"10.0.0.0/16\"\n\n\
         [security_group.admin]\nvpc = \"vpc.main\"\ndescription = \"admin\"\n\
         ingress = [{{ protocol = \"tcp\", port = {port}, cidr = \"0.0.0.0/0\" }}]\n"
    )
}

#[tokio::test]
async fn the_shipped_policies_refuse_ssh_to_the_world_and_pass_a_clean_plan() {
    let name = unique("policy");
    let open = StackFile::new(&stack(&name, 22));
    let policy = shipped();
    let policy = policy.to_str().unwrap();
    let refused = run_cmd(reconcile().env("GITHUB_ACTIONS", "true").args([
        "plan",
        open.arg(),
        "--policy",
        policy,
    ]))
    .expect(1);
    let why = format!(
        "policy: security_group.admin in {REGION} opens port 22 to 0.0.0.0/0: reach it \
         through SSM, a bastion or a VPN instead"
    );
    assert!(
        refused.stderr.contains("this plan is refused"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains(&why), "{}", refused.stderr);
    assert!(
        refused
            .stdout
            .contains(&format!("::error title=reconcile: plan refused::{why}")),
        "{}",
        refused.stdout
    );
    // apply refuses it the same way, and changes nothing.
    let applied = run(&["apply", open.arg(), "--auto-approve", "--policy", policy]).expect(1);
    assert!(applied.stderr.contains(&why), "{}", applied.stderr);
    assert!(
        live(REGION, &name).await.vpcs.is_empty(),
        "nothing was made"
    );

    // The JSON plan carries the verdict.
    let json = run(&["plan", open.arg(), "--policy", policy, "--json"])
        .expect(1)
        .json();
    assert_eq!(
        json["policy"]["denials"][0],
        why.trim_start_matches("policy: ")
    );
    assert_eq!(json["policy"]["files"].as_array().unwrap().len(), 4);

    let clean = StackFile::new(&stack(&name, 443));
    run(&[
        "plan",
        clean.arg(),
        "--policy",
        policy,
        "--detailed-exitcode",
    ])
    .expect(2);
    run(&["apply", clean.arg(), "--auto-approve", "--policy", policy]).expect(0);
    assert_eq!(live(REGION, &name).await.vpcs.len(), 1);
}

#[test]
fn a_saved_plan_is_applied_only_under_the_policies_it_passed() {
    let name = unique("policysaved");
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    for f in std::fs::read_dir(shipped()).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, policies.join(f.file_name().unwrap())).unwrap();
    }
    // The stack names its policies itself, relative to its file.
    let text = stack(&name, 443).replacen("tags = {", "policies = [\"policies\"]\ntags = {", 1);
    let file = dir.path().join("stack.toml");
    std::fs::write(&file, text).unwrap();
    let saved = dir.path().join("plan.json");
    let (file, saved) = (file.to_str().unwrap(), saved.to_str().unwrap());
    run(&["plan", file, "--out", saved]).expect(0);
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    assert_eq!(plan["policies"].as_array().unwrap().len(), 4, "{plan}");

    // A policy edited since: refused, nothing applied.
    let rule = policies.join("admin_ports.rego");
    let original = std::fs::read_to_string(&rule).unwrap();
    std::fs::write(&rule, original.replace("3389", "3390")).unwrap();
    let refused = run(&["apply", saved]).expect(1);
    assert!(
        refused.stderr.contains(&format!(
            "policy {} is not what the saved plan passed",
            rule.display()
        )),
        "{}",
        refused.stderr
    );
    std::fs::write(&rule, original).unwrap();
    run(&["apply", saved]).expect(0);
}

#[test]
fn a_policy_that_does_not_parse_is_refused_before_any_aws_call() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.rego");
    std::fs::write(&bad, "package main\n\ndeny[msg] {\n  input.x ==\n}\n").unwrap();
    let stack = StackFile::new(&stack(&unique("policybad"), 443));
    // Nothing listens there: any call would fail differently.
    let out = run_cmd(
        reconcile()
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .args(["plan", stack.arg(), "--policy", bad.to_str().unwrap()]),
    )
    .expect(1);
    assert!(
        out.stderr
            .contains(&format!("policy {} does not parse", bad.display()))
            && out.stderr.contains(&format!("{}:3:11", bad.display())),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("could not connect"), "{}", out.stderr);
}
