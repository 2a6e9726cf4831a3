//! `reconcile rollout` against the emulator: a failing check halts the first
//! wave and the next is never touched; a rerun resumes where it stopped.

use crate::harness::{cloudwatch, ec2, reconcile, run, run_cmd, unique, StackFile};

const FIRST: &str = "us-west-2";
const SECOND: &str = "eu-west-1";

fn stack(name: &str) -> StackFile {
    StackFile::new(&format!(
        r#"
[stack]
name = "{name}"
regions = ["{FIRST}", "{SECOND}"]

[vpc.main]
cidr = "10.0.0.0/16"

[[verify]]
name = "requests"
namespace = "App/{name}"
metric = "Requests"
statistic = "Sum"
min = 1
regions = ["{FIRST}"]

[rollout]
every = "1s"
waves = [
  {{ name = "canary", regions = ["{FIRST}"], bake = "2s" }},
  {{ name = "rest", regions = ["{SECOND}"], bake = "1s" }},
]
"#
    ))
}

async fn vpcs(region: &str, stack: &str) -> usize {
    let filter = aws_sdk_ec2::types::Filter::builder()
        .name("tag:reconcile:stack")
        .values(stack)
        .build();
    ec2(region)
        .await
        .describe_vpcs()
        .filters(filter)
        .send()
        .await
        .unwrap()
        .vpcs()
        .len()
}

#[tokio::test]
async fn a_failing_check_halts_the_wave_and_a_rerun_resumes() {
    let name = unique("roll");
    let stack = stack(&name);
    // A 2s bake cannot see a whole period of a 1m metric with a 2m lag: said,
    // and refused before anything changes unless accepted.
    let refused = run(&["rollout", stack.arg(), "--auto-approve"]).expect(1);
    assert!(
        refused.stderr.contains("wave canary bakes 2s but its metric checks see a whole period only after period + lag: requests (3m); they cannot judge it. Bake at least 3m, or pass --short-bake"),
        "{}",
        refused.stderr
    );
    assert_eq!(vpcs(FIRST, &name).await, 0, "nothing was changed");
    // The canary serves no requests yet: the check (no_data = fail) fails.
    let roll_out = || {
        run(&[
            "rollout",
            stack.arg(),
            "--auto-approve",
            "--json",
            "--short-bake",
        ])
    };
    let report = roll_out().expect(3).json();
    assert_eq!(report["verdict"], "halted", "{report:#}");
    let canary = &report["waves"][0]["regions"][0];
    assert_eq!(canary["outcome"], "check_failed");
    assert_eq!(canary["checks"][0]["check"], "requests");
    assert_eq!(canary["checks"][0]["outcome"], "no_data");
    assert_eq!(report["waves"][1]["regions"][0]["outcome"], "not_started");
    assert_eq!(vpcs(FIRST, &name).await, 1);
    assert_eq!(
        vpcs(SECOND, &name).await,
        0,
        "the next wave is never touched"
    );

    // Traffic arrives (a data point inside the window: 2m lag, 5m window).
    let at = std::time::SystemTime::now() - std::time::Duration::from_secs(240);
    cloudwatch(FIRST)
        .await
        .put_metric_data()
        .namespace(format!("App/{name}"))
        .metric_data(
            aws_sdk_cloudwatch::types::MetricDatum::builder()
                .metric_name("Requests")
                .timestamp(at.into())
                .value(5.0)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let report = roll_out().expect(0).json();
    assert_eq!(report["verdict"], "completed", "{report:#}");
    assert_eq!(report["waves"][0]["regions"][0]["outcome"], "in_sync");
    assert_eq!(
        report["waves"][0]["evaluations"], 1,
        "in sync: verified once, not baked"
    );
    assert_eq!(report["waves"][1]["regions"][0]["outcome"], "done");
    assert!(
        report["waves"][1]["evaluations"].as_u64().unwrap() >= 2,
        "changed: baked"
    );
    assert_eq!(vpcs(SECOND, &name).await, 1);
}

#[test]
fn from_wave_skips_the_waves_before_it() {
    let name = unique("rollfrom");
    let stack = stack(&name);
    let report = run(&[
        "rollout",
        "--short-bake",
        stack.arg(),
        "--auto-approve",
        "--json",
        "--from-wave",
        "rest",
    ])
    .expect(0)
    .json();
    assert_eq!(report["waves"][0]["regions"][0]["outcome"], "skipped");
    assert_eq!(report["waves"][1]["regions"][0]["outcome"], "done");
    let wrong = run(&[
        "rollout",
        "--short-bake",
        stack.arg(),
        "--auto-approve",
        "--from-wave",
        "nope",
    ])
    .expect(1);
    assert!(
        wrong
            .stderr
            .contains("--from-wave nope: no such wave (waves: canary, rest)"),
        "{}",
        wrong.stderr
    );
}

#[test]
fn skip_bake_needs_an_emergency_ticket() {
    let stack = stack(&unique("rollskip"));
    let out = run(&["rollout", stack.arg(), "--auto-approve", "--skip-bake"]).expect(1);
    assert!(out.stderr.contains("--emergency"), "{}", out.stderr);
}

#[test]
fn a_wave_applies_up_to_max_parallel_regions_together() {
    let name = unique("rollpar");
    let stack = StackFile::new(&format!(
        r#"
[stack]
name = "{name}"
regions = ["us-west-2", "eu-west-1", "us-east-1"]

[vpc.main]
cidr = "10.0.0.0/16"

[rollout]
every = "1s"
waves = [
  {{ name = "canary", regions = ["us-west-2"], bake = "1s" }},
  {{ name = "wide", regions = ["eu-west-1", "us-east-1"], max_parallel = 2, bake = "1s" }},
]
"#
    ));
    let summary = stack.dir.path().join("summary.md");
    let out = run_cmd(reconcile().env("GITHUB_STEP_SUMMARY", &summary).args([
        "rollout",
        "--short-bake",
        stack.arg(),
        "--auto-approve",
        "--json",
        "--version-label",
        "infra:v7",
    ]))
    .expect(0);
    // The summary speaks words, not Rust's names; the label is recorded.
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with(&format!("### reconcile rollout {name}: complete\n")),
        "{md}"
    );
    let status = run(&["status", stack.arg(), "--json"]).expect(0).json();
    assert_eq!(status[0]["versions"]["infra:v7"], 1, "{status:#}");
    // One apply for both regions of the wide wave, after the canary's bake.
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("wave "))
        .collect();
    assert_eq!(
        lines,
        [
            "wave canary (1/2): applying us-west-2",
            "wave canary: baking 1s with checks every 1s",
            "wave wide (2/2): applying eu-west-1, us-east-1",
            "wave wide: baking 1s with checks every 1s",
        ],
        "{}",
        out.stderr
    );
    let report = out.json();
    assert_eq!(report["waves"][1]["regions"][0]["outcome"], "done");
    assert_eq!(report["waves"][1]["regions"][1]["outcome"], "done");
}
