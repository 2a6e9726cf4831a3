//! `reconcile cutover` against the emulator: steps read back, the record,
//! resume and undo, refusals that move nothing, and the switch back on a
//! failed check and on Ctrl-C — each checked with the SDK, as the load
//! balancer itself forwards.

use crate::harness::{
    cloudwatch, elb, owned_elb, reconcile, run, run_cmd, spawn, unique, Run, StackFile,
};
use crate::verify::service;
use aws_sdk_cloudwatch::types::StateValue;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const REGION: &str = "us-west-2";

/// The listener's live forward: target group address → percent.
async fn live_split(stack: &str) -> BTreeMap<String, i64> {
    let owned = owned_elb(REGION, stack).await;
    let lb = owned
        .iter()
        .find(|(arn, id)| id.as_str() == "load_balancer.app" && arn.contains(":loadbalancer/"))
        .map(|(arn, _)| arn.clone())
        .unwrap();
    let client = elb(REGION).await;
    let listeners = client
        .describe_listeners()
        .load_balancer_arn(lb)
        .send()
        .await
        .unwrap();
    let action = &listeners.listeners()[0].default_actions()[0];
    let groups: Vec<(String, i64)> = match action.forward_config() {
        Some(f) if !f.target_groups().is_empty() => f
            .target_groups()
            .iter()
            .map(|t| {
                (
                    t.target_group_arn().unwrap().to_string(),
                    i64::from(t.weight().unwrap_or(1)),
                )
            })
            .collect(),
        _ => vec![(action.target_group_arn().unwrap().to_string(), 1)],
    };
    let total: i64 = groups.iter().map(|(_, w)| w).sum();
    groups
        .into_iter()
        .map(|(arn, w)| {
            (
                owned.get(&arn).cloned().unwrap_or(arn),
                w * 100 / total.max(1),
            )
        })
        .filter(|(_, w)| *w > 0)
        .collect()
}

fn split(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn cutover(stack: &StackFile, extra: &[&str]) -> Run {
    let mut args = vec!["cutover", stack.arg(), "app", "--auto-approve", "--json"];
    args.extend_from_slice(extra);
    run_cmd(
        reconcile()
            .env("RECONCILE_OPERATOR", "alice")
            .env("GITHUB_STEP_SUMMARY", stack.dir.path().join("summary.md"))
            .args(&args),
    )
}

async fn set_alarm(stack: &str, state: StateValue) {
    cloudwatch(REGION)
        .await
        .set_alarm_state()
        .alarm_name(format!("{stack}.errors"))
        .state_value(state)
        .state_reason("set by the test")
        .send()
        .await
        .unwrap();
}

const ALARM_CHECK: &str = "\n[[verify]]\nname = \"errors\"\nalarm = \"alarm.errors\"\n";

#[tokio::test]
async fn a_cutover_moves_in_steps_read_back_records_itself_and_is_not_drift() {
    let name = unique("cut");
    let stack = service(&name, ALARM_CHECK);
    stack.apply().expect(0);
    set_alarm(&name, StateValue::Ok).await;
    assert_eq!(
        live_split(&name).await,
        split(&[("target_group.blue", 100)])
    );

    let report = cutover(
        &stack,
        &[
            "--to",
            "green",
            "--steps",
            "10,50,100",
            "--bake",
            "1s",
            "--every",
            "1s",
            "--emergency",
            "INC-42",
        ],
    )
    .expect(0)
    .json();
    let region = &report["regions"][0];
    assert_eq!(region["outcome"], "done", "{report:#}");
    let steps: Vec<i64> = region["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["weight"].as_i64().unwrap())
        .collect();
    assert_eq!(steps, [10, 50, 100]);
    assert!(region["steps"][0]["confirmed"].is_string());
    // The CI summary has the steps and the record, as the README says.
    let summary = std::fs::read_to_string(stack.dir.path().join("summary.md")).unwrap();
    for step in ["10% at ", "50% at ", "100% at "] {
        assert!(summary.contains(step), "{summary}");
    }
    assert!(
        summary.contains("Recorded on the listener or rule:"),
        "{summary}"
    );
    assert!(
        summary.contains("cutover app → green (100%)")
            && summary.contains("by alice")
            && summary.contains("ticket INC-42"),
        "{summary}"
    );
    assert_eq!(
        live_split(&name).await,
        split(&[("target_group.green", 100)])
    );

    // The record, on the listener.
    let status = run(&["cutover", stack.arg(), "app", "--status", "--json"])
        .expect(0)
        .json();
    let s = &status[0];
    assert_eq!(s["active"], "green");
    assert_eq!(s["weights"]["green"], 100);
    assert_eq!(s["targets"]["blue"], serde_json::json!([2, 2]));
    assert_eq!(
        s["record"]["reconcile:cutover"],
        "cutover app → green (100%)"
    );
    assert_eq!(s["record"]["reconcile:cutover-operator"], "alice");
    assert_eq!(s["record"]["reconcile:cutover-ticket"], "INC-42");

    // apply never calls the switch drift.
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
    // Bob edits the listener and applies: the last cutover stays Alice's.
    let text = std::fs::read_to_string(&stack.path).unwrap();
    let forward = "default_action = { forward = \"target_group.blue\" }";
    assert!(text.contains(forward));
    stack.write(&text.replace(forward, &format!("{forward}\ntags = {{ owner = \"bob\" }}")));
    run_cmd(reconcile().env("RECONCILE_OPERATOR", "bob").args([
        "apply",
        stack.arg(),
        "--auto-approve",
    ]))
    .expect(0);
    let after = run(&["cutover", stack.arg(), "app", "--status", "--json"])
        .expect(0)
        .json();
    assert_eq!(after[0]["record"], s["record"], "{after:#}");
    // Again to green: nothing to do. Back to blue: undone.
    let again = cutover(&stack, &["--to", "green"]).expect(0).json();
    assert_eq!(again["regions"][0]["outcome"], "already_there");
    cutover(&stack, &["--to", "blue", "--steps", "100", "--bake", "0s"]).expect(0);
    assert_eq!(
        live_split(&name).await,
        split(&[("target_group.blue", 100)])
    );
    // An ordinary cutover after an emergency one: its record carries no ticket.
    let last = run(&["cutover", stack.arg(), "app", "--status", "--json"])
        .expect(0)
        .json();
    let record = &last[0]["record"];
    assert_eq!(
        record["reconcile:cutover"], "cutover app → blue (100%)",
        "{last:#}"
    );
    assert!(record.get("reconcile:cutover-ticket").is_none(), "{last:#}");
}

#[tokio::test]
async fn pre_checks_refuse_and_nothing_moves() {
    let name = unique("cutpre");
    let stack = service(&name, ALARM_CHECK);
    stack.apply().expect(0);
    set_alarm(&name, StateValue::Alarm).await;
    let report = cutover(&stack, &["--to", "green", "--bake", "0s"])
        .expect(3)
        .json();
    let region = &report["regions"][0];
    assert_eq!(region["outcome"], "refused");
    assert!(
        region["reason"].as_str().unwrap().contains("errors (fail)"),
        "{report:#}"
    );
    let errors = region["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "errors")
        .unwrap();
    assert_eq!(errors["value"], "ALARM");
    assert_eq!(
        live_split(&name).await,
        split(&[("target_group.blue", 100)])
    );

    // The target colour without healthy targets: refused too.
    set_alarm(&name, StateValue::Ok).await;
    let owned = owned_elb(REGION, &name).await;
    let green = owned
        .iter()
        .find(|(_, id)| id.as_str() == "target_group.green")
        .unwrap()
        .0
        .clone();
    let client = elb(REGION).await;
    let registered = client
        .describe_target_health()
        .target_group_arn(&green)
        .send()
        .await
        .unwrap();
    for d in registered.target_health_descriptions() {
        client
            .deregister_targets()
            .target_group_arn(&green)
            .targets(d.target().unwrap().clone())
            .send()
            .await
            .unwrap();
    }
    let report = cutover(&stack, &["--to", "green", "--bake", "0s"])
        .expect(3)
        .json();
    let health = report["regions"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "target_group.green healthy (cutover target)")
        .cloned()
        .unwrap();
    assert_eq!(
        (health["outcome"].as_str(), health["value"].as_str()),
        (Some("fail"), Some("0/0 healthy"))
    );
    assert_eq!(
        live_split(&name).await,
        split(&[("target_group.blue", 100)])
    );
}

#[tokio::test]
async fn a_forward_changed_by_hand_is_drift_and_is_refused() {
    let name = unique("cutdrift");
    let stack = service(&name, "");
    stack.apply().expect(0);
    let owned = owned_elb(REGION, &name).await;
    let lb = owned
        .iter()
        .find(|(a, id)| id.as_str() == "load_balancer.app" && a.contains(":loadbalancer/"))
        .unwrap()
        .0
        .clone();
    let client = elb(REGION).await;
    let listener = client
        .describe_listeners()
        .load_balancer_arn(lb)
        .send()
        .await
        .unwrap()
        .listeners()[0]
        .listener_arn()
        .unwrap()
        .to_string();
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, FixedResponseActionConfig,
    };
    client
        .modify_listener()
        .listener_arn(&listener)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    FixedResponseActionConfig::builder()
                        .status_code("503")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let report = cutover(&stack, &["--to", "green"]).expect(3).json();
    assert_eq!(report["regions"][0]["outcome"], "refused");
    assert!(
        report["regions"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not a forward"),
        "{report:#}"
    );
}

/// Starts a cutover to green with long bakes; returns once its first step
/// (30 %) shows on the load balancer.
async fn cutover_in_progress(name: &str, stack: &StackFile) -> std::process::Child {
    let child = spawn(&[
        "cutover",
        stack.arg(),
        "app",
        "--to",
        "green",
        "--steps",
        "30,100",
        "--bake",
        "60s",
        "--every",
        "1s",
        "--auto-approve",
        "--json",
    ]);
    let started = Instant::now();
    while live_split(name).await != split(&[("target_group.blue", 70), ("target_group.green", 30)])
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first step never showed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child
}

fn finish(child: std::process::Child) -> (i32, serde_json::Value) {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), report)
}

#[tokio::test]
async fn a_check_failing_during_a_step_switches_all_traffic_back() {
    let name = unique("cutback");
    let stack = service(&name, ALARM_CHECK);
    stack.apply().expect(0);
    set_alarm(&name, StateValue::Ok).await;
    let child = cutover_in_progress(&name, &stack).await;
    set_alarm(&name, StateValue::Alarm).await;
    let (code, report) = finish(child);
    assert_eq!(code, 3, "{report:#}");
    let region = &report["regions"][0];
    assert_eq!(region["outcome"], "switched_back", "{report:#}");
    assert_eq!(region["weights"]["blue"], 100);
    let errors = region["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "errors")
        .unwrap();
    assert_eq!(
        (errors["value"].as_str(), errors["detail"].as_str()),
        (Some("ALARM"), Some("set by the test"))
    );
    assert_eq!(
        live_split(&name).await,
        split(&[("target_group.blue", 100)])
    );
    let status = run(&["cutover", stack.arg(), "app", "--status", "--json"])
        .expect(0)
        .json();
    assert_eq!(
        status[0]["record"]["reconcile:cutover"],
        "cutover app → green switched back to blue"
    );
}

#[tokio::test]
async fn sigterm_during_a_step_switches_back_before_exiting() {
    let name = unique("cutint");
    let stack = service(&name, "");
    stack.apply().expect(0);
    let child = cutover_in_progress(&name, &stack).await;
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let (code, report) = finish(child);
    assert_eq!(code, 3, "{report:#}");
    assert_eq!(report["regions"][0]["outcome"], "switched_back");
    assert!(
        report["regions"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("interrupted"),
        "{report:#}"
    );
    assert_eq!(
        live_split(&name).await,
        split(&[("target_group.blue", 100)])
    );
    // The lock was given back: the next run is not refused.
    cutover(&stack, &["--to", "green", "--steps", "100", "--bake", "0s"]).expect(0);
}

#[tokio::test]
async fn five_xx_on_the_new_colour_during_a_step_switches_back() {
    let name = unique("cut5xx");
    let stack = service(
        &name,
        r#"
[[verify]]
name = "green-5xx"
namespace = "AWS/ApplicationELB"
metric = "HTTPCode_Target_5XX_Count"
dimensions = { LoadBalancer = "${load_balancer.app.arn_suffix}", TargetGroup = "${blue_green.app.target}" }
statistic = "Sum"
period = "1m"
window = "1m"
lag = "0s"
max = 5
no_data = "pass"
"#,
    );
    stack.apply().expect(0);
    let child = spawn(&[
        "cutover",
        stack.arg(),
        "app",
        "--to",
        "green",
        "--steps",
        "10,50,100",
        "--bake",
        "150s",
        "--every",
        "2s",
        "--auto-approve",
        "--json",
    ]);
    let started = Instant::now();
    while live_split(&name).await != split(&[("target_group.blue", 90), ("target_group.green", 10)])
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first step never showed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // 5xx from green in the first whole minute after the switch: what the
    // step's checks may look at (nothing from before it).
    let owned = owned_elb(REGION, &name).await;
    let green = owned
        .iter()
        .find(|(_, id)| id.as_str() == "target_group.green")
        .unwrap()
        .0;
    let green = format!(
        "targetgroup/{}",
        green.split_once(":targetgroup/").unwrap().1
    );
    let lb = crate::verify::balancer_suffix(&name).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at = std::time::UNIX_EPOCH + Duration::from_secs(now.div_ceil(60) * 60 + 5);
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    cloudwatch(REGION)
        .await
        .put_metric_data()
        .namespace("AWS/ApplicationELB")
        .metric_data(
            MetricDatum::builder()
                .metric_name("HTTPCode_Target_5XX_Count")
                .dimensions(Dimension::builder().name("LoadBalancer").value(&lb).build())
                .dimensions(
                    Dimension::builder()
                        .name("TargetGroup")
                        .value(&green)
                        .build(),
                )
                .timestamp(at.into())
                .value(20.0)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (code, report) = finish(child);
    assert_eq!(code, 3, "{report:#}");
    let region = &report["regions"][0];
    assert_eq!(region["outcome"], "switched_back", "{report:#}");
    let check = region["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "green-5xx")
        .unwrap();
    assert_eq!(
        (check["outcome"].as_str(), check["value"].as_str()),
        (Some("fail"), Some("20"))
    );
    assert_eq!(
        live_split(&name).await,
        split(&[("target_group.blue", 100)])
    );
}

/// A bake shorter than a metric check's period + lag cannot judge it: the
/// cutover says so before anything moves, and with --short-bake goes ahead,
/// reporting the check as not evaluated rather than passed.
#[tokio::test]
async fn a_bake_too_short_for_its_metric_checks_is_refused_unless_accepted() {
    let name = unique("cutshort");
    let stack = service(
        &name,
        r#"
[[verify]]
name = "green-5xx"
namespace = "AWS/ApplicationELB"
metric = "HTTPCode_Target_5XX_Count"
dimensions = { LoadBalancer = "${load_balancer.app.arn_suffix}", TargetGroup = "${blue_green.app.target}" }
statistic = "Sum"
max = 5
no_data = "pass"
"#,
    );
    stack.apply().expect(0);
    let refused = cutover(&stack, &["--to", "green", "--steps", "100", "--bake", "8s"]).expect(1);
    assert!(
        refused.stderr.contains("the cutover bakes 8s but its metric checks see a whole period only after period + lag: green-5xx (3m); they cannot judge it. Bake at least 3m, or pass --short-bake"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        live_split(&name).await,
        split(&[("target_group.blue", 100)]),
        "nothing moved"
    );
    let report = cutover(
        &stack,
        &[
            "--to",
            "green",
            "--steps",
            "100",
            "--bake",
            "3s",
            "--every",
            "1s",
            "--short-bake",
        ],
    )
    .expect(0)
    .json();
    let step = &report["regions"][0]["steps"][0];
    assert_eq!(
        step["not_evaluated"],
        serde_json::json!(["green-5xx"]),
        "{report:#}"
    );
}

#[tokio::test]
async fn a_sticky_forward_stays_sticky_through_a_cutover_which_warns_of_it() {
    let name = unique("cutsticky");
    let stack = service(&name, "");
    let text = std::fs::read_to_string(&stack.path).unwrap();
    let forward = "default_action = { forward = \"target_group.blue\" }";
    assert!(text.contains(forward));
    stack.write(&text.replace(
        forward,
        "default_action = { forward = \"target_group.blue\", stickiness = \"1h\" }",
    ));
    stack.apply().expect(0);
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
    let sticky = || async {
        let owned = owned_elb(REGION, &name).await;
        let lb = owned
            .iter()
            .find(|(arn, id)| id.as_str() == "load_balancer.app" && arn.contains(":loadbalancer/"))
            .map(|(arn, _)| arn.clone())
            .unwrap();
        let listeners = elb(REGION)
            .await
            .describe_listeners()
            .load_balancer_arn(lb)
            .send()
            .await
            .unwrap();
        let config = listeners.listeners()[0].default_actions()[0]
            .forward_config()
            .and_then(|f| f.target_group_stickiness_config())
            .cloned()
            .unwrap();
        (config.enabled(), config.duration_seconds())
    };
    assert_eq!(sticky().await, (Some(true), Some(3600)));

    let out = cutover(&stack, &["--to", "green", "--steps", "100", "--bake", "1s"]).expect(0);
    assert!(
        out.stderr.contains(
            "is sticky for 1h and each step bakes 1s: clients already on blue stay there"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(
        live_split(&name).await,
        split(&[("target_group.green", 100)])
    );
    assert_eq!(
        sticky().await,
        (Some(true), Some(3600)),
        "the cutover kept it sticky"
    );
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
}
