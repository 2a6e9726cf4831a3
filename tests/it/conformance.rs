//! The conformance checker in front of moto (`localstack/conformance.py`):
//! checked itself, and seen to refuse a planted bad value the way AWS does.

use crate::harness::{elb, endpoint, engine, reconcile, run_cmd, Engine, REFUSED};
use std::path::Path;

#[test]
fn the_checker_decodes_every_wire_format_and_names_what_aws_refuses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("localstack/.venv/bin/python");
    assert!(
        python.exists(),
        "run `localstack/emulator.sh install` first"
    );
    let out = std::process::Command::new(python)
        .args(["-m", "unittest", "localstack/test_conformance.py"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_planted_value_aws_refuses_is_refused_by_the_emulator() {
    if engine() != Engine::Moto {
        return;
    }
    endpoint();
    let client = elb("us-west-2").await;
    let tag = aws_sdk_elasticloadbalancingv2::types::Tag::builder()
        .key("conformance-planted")
        .value("cutover app → green (100%)")
        .build();
    let err = client
        .add_tags()
        .resource_arns("arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/x/1")
        .tags(tag)
        .send()
        .await
        .unwrap_err();
    let message = format!(
        "{}",
        aws_sdk_elasticloadbalancingv2::error::DisplayErrorContext(&err)
    );
    assert!(message.contains(REFUSED), "{message}");
    assert!(
        message.contains("AddTags: Tags[1].Value = cutover app → green (100%): does not match"),
        "{message}"
    );
}

/// A stack as an unlucky new user names it: `internal-…` (the load balancer's
/// generated name once began so), a parameter group `pg16__tuning_` (two
/// hyphens and a trailing one in RDS), tags with spaces and `@`, an operator
/// `github-actions[bot]` in every change record. Applied, cut over and planned
/// through the checker: AWS would take every request.
#[test]
fn unusual_names_and_operators_make_only_requests_aws_takes() {
    if engine() != Engine::Moto {
        return;
    }
    let name = crate::harness::unique("internal");
    let stack = crate::harness::demo_stack(&name);
    let text = std::fs::read_to_string(&stack.path).unwrap();
    stack.write(&format!(
        "{}\n[db_parameter_group.pg16__tuning_]\nfamily = \"postgres16\"\nparameters = {{ work_mem = \"64MB\" }}\ntags = {{ \"cost center\" = \"ops@example.com\" }}\n",
        text.replace(
            "tags = { team = \"platform\" }",
            "tags = { team = \"platform core\", owner = \"ops@example.com\" }"
        )
    ));
    let bot = |args: &[&str]| {
        run_cmd(
            reconcile()
                .env("RECONCILE_OPERATOR", "github-actions[bot]")
                .args(args),
        )
    };
    bot(&[
        "apply",
        stack.arg(),
        "--auto-approve",
        "--version-label",
        "app:v2 (hotfix #7)",
        "--emergency",
        "INC-7: 50% errors",
    ])
    .expect(0);
    bot(&[
        "cutover",
        stack.arg(),
        "app",
        "--to",
        "green",
        "--steps",
        "50,100",
        "--bake",
        "0s",
        "--auto-approve",
        "--region",
        "us-west-2",
    ])
    .expect(0);
    let status = bot(&["status", stack.arg()]).expect(0).stdout;
    assert!(
        status.contains(
            "by github-actions[bot], version app:v2 (hotfix #7), ticket INC-7: 50% errors"
        ),
        "{status}"
    );
    bot(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
    let names = crate::harness::owned_elb("us-west-2", &name);
    let names = tokio::runtime::Runtime::new().unwrap().block_on(names);
    assert!(
        names
            .keys()
            .any(|arn| arn.contains(":loadbalancer/app/rc-internal-")),
        "{names:?}"
    );
}
