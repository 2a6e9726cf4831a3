//! `reconcile verify` against the emulator: metric data injected with
//! PutMetricData inside the window, alarm states set with SetAlarmState,
//! targets taken away with the SDK, as the live service would.

use crate::harness::{cloudwatch, elb, reconcile, run, run_cmd, unique, Run, StackFile};
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StateValue};
use serde_json::Value;
use std::time::{Duration, SystemTime};

const REGION: &str = "us-west-2";

/// A small blue-green service in one region, and `checks` (its [[verify]] blocks).
pub(crate) fn service(name: &str, checks: &str) -> StackFile {
    StackFile::new(&format!(
        r#"
[stack]
name = "{name}"
regions = ["{REGION}"]

[vpc.main]
cidr = "10.0.0.0/16"

[subnet.a]
vpc = "vpc.main"
cidr = "10.0.1.0/24"
zone = "a"

[subnet.b]
vpc = "vpc.main"
cidr = "10.0.2.0/24"
zone = "b"

[security_group.web]
vpc = "vpc.main"
ingress = [{{ protocol = "tcp", port = 80, cidr = "0.0.0.0/0" }}]

[load_balancer.app]
subnets = ["subnet.a", "subnet.b"]
security_groups = ["security_group.web"]

[target_group.blue]
vpc = "vpc.main"
protocol = "HTTP"
port = 80

[target_group.green]
vpc = "vpc.main"
protocol = "HTTP"
port = 80

[instance.blue]
ami = "ami-0a1b2c3d4e5f60718"
instance_type = "t3.micro"
subnet = "subnet.a"
security_groups = ["security_group.web"]
count = 2
target_groups = ["target_group.blue"]

[instance.green]
ami = "ami-0a1b2c3d4e5f60718"
instance_type = "t3.micro"
subnet = "subnet.b"
security_groups = ["security_group.web"]
count = 2
target_groups = ["target_group.green"]

[listener.http]
load_balancer = "load_balancer.app"
port = 80
protocol = "HTTP"
default_action = {{ forward = "target_group.blue" }}

[blue_green.app]
listener = "listener.http"
blue = "target_group.blue"
green = "target_group.green"
min_healthy = 2

[alarm.errors]
namespace = "App/{name}"
metric = "Errors"
statistic = "Sum"
period = 60
evaluation_periods = 1
threshold = 1
comparison = "GreaterThanThreshold"
{checks}
"#
    ))
}

fn verify(stack: &StackFile, extra: &[&str]) -> Run {
    let mut args = vec!["verify", stack.arg(), "--json"];
    args.extend_from_slice(extra);
    run(&args)
}

fn result<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check"] == check)
        .unwrap_or_else(|| panic!("no result for {check}: {report:#}"))
}

/// The load balancer's `arn_suffix`, CloudWatch's `LoadBalancer` dimension.
pub(crate) async fn balancer_suffix(stack: &str) -> String {
    let owned = crate::harness::owned_elb(REGION, stack).await;
    let arn = owned
        .iter()
        .find(|(arn, id)| id.as_str() == "load_balancer.app" && arn.contains(":loadbalancer/"))
        .map(|(arn, _)| arn.clone())
        .expect("the load balancer is live");
    arn.split_once(":loadbalancer/").unwrap().1.to_string()
}

/// Data points of `metric` a few minutes ago, one per minute: inside a
/// 5-minute window that ends 2 minutes (the default lag) before now.
async fn put(namespace: &str, metric: &str, dimension: (&str, &str), values: &[f64]) {
    let client = cloudwatch(REGION).await;
    // One point a minute, in the middle of the minutes before the window's
    // end (2 minutes of lag, whole minutes): still inside the window if a
    // minute turns before verify reads it.
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let end = (now - 120) / 60 * 60;
    let data = values.iter().enumerate().map(|(i, v)| {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(end - 90 - 60 * i as u64);
        MetricDatum::builder()
            .metric_name(metric)
            .dimensions(
                Dimension::builder()
                    .name(dimension.0)
                    .value(dimension.1)
                    .build(),
            )
            .timestamp(at.into())
            .value(*v)
            .build()
    });
    client
        .put_metric_data()
        .namespace(namespace)
        .set_metric_data(Some(data.collect()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_5xx_sum_over_its_threshold_fails_with_the_value_and_under_it_passes() {
    let name = unique("v5xx");
    let stack = service(
        &name,
        r#"
[[verify]]
name = "target-5xx"
namespace = "AWS/ApplicationELB"
metric = "HTTPCode_Target_5XX_Count"
dimensions = { LoadBalancer = "${load_balancer.app.arn_suffix}" }
statistic = "Sum"
max = 10

[[verify]]
name = "elb-5xx"
namespace = "AWS/ApplicationELB"
metric = "HTTPCode_ELB_5XX_Count"
dimensions = { LoadBalancer = "${load_balancer.app.arn_suffix}" }
statistic = "Sum"
max = 10
"#,
    );
    stack.apply().expect(0);
    let lb = balancer_suffix(&name).await;
    put(
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        ("LoadBalancer", &lb),
        &[7.0, 8.0],
    )
    .await;
    put(
        "AWS/ApplicationELB",
        "HTTPCode_ELB_5XX_Count",
        ("LoadBalancer", &lb),
        &[1.0, 2.0],
    )
    .await;

    let out = verify(&stack, &[]).expect(3);
    let report = out.json();
    assert_eq!(report["verdict"], "failed");
    let over = result(&report, "target-5xx");
    assert_eq!(
        (over["outcome"].as_str(), over["value"].as_str()),
        (Some("fail"), Some("15"))
    );
    assert_eq!(over["points"], 2);
    assert_eq!(over["threshold"], "Sum ≤ 10");
    assert!(over["window"]["start"].is_string() && over["window"]["end"].is_string());
    let under = result(&report, "elb-5xx");
    assert_eq!(
        (under["outcome"].as_str(), under["value"].as_str()),
        (Some("pass"), Some("3"))
    );
    // Built-ins hold: the load balancer is active, blue's two targets healthy.
    assert_eq!(
        result(&report, "load_balancer.app active")["outcome"],
        "pass"
    );
    assert_eq!(
        result(&report, "target_group.blue healthy (weight 1)")["value"],
        "2/2 healthy"
    );

    // The table a person reads says the same.
    let text = run(&["verify", stack.arg()]).expect(3).stdout;
    let row = text.lines().find(|l| l.contains("target-5xx")).unwrap();
    assert!(
        row.contains("15") && row.contains("Sum ≤ 10") && row.contains("FAIL"),
        "{text}"
    );
    assert!(text.contains("Verification failed: 1 of"), "{text}");

    // In GitHub Actions, the same table goes to the run's summary.
    let summary = stack.dir.path().join("summary.md");
    run_cmd(
        reconcile()
            .env("GITHUB_STEP_SUMMARY", &summary)
            .args(["verify", stack.arg()]),
    )
    .expect(3);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("### reconcile verify") && md.contains(": failed"),
        "{md}"
    );
    assert!(
        md.contains("| us-west-2 | target-5xx | 15 | Sum ≤ 10 |"),
        "{md}"
    );
}

#[tokio::test]
async fn no_data_fails_by_default_and_passes_when_the_check_says_so() {
    let name = unique("vnodata");
    let check = |name: &str, no_data: &str| {
        format!(
            "\n[[verify]]\nname = \"{name}\"\nnamespace = \"AWS/ApplicationELB\"\nmetric = \"HTTPCode_Target_5XX_Count\"\ndimensions = {{ LoadBalancer = \"${{load_balancer.app.arn_suffix}}\" }}\nstatistic = \"Sum\"\nmax = 10\n{no_data}\n"
        )
    };
    let stack = service(&name, &check("quiet-passes", "no_data = \"pass\""));
    stack.apply().expect(0);
    let report = verify(&stack, &[]).expect(0).json();
    let quiet = result(&report, "quiet-passes");
    assert_eq!(
        (quiet["outcome"].as_str(), quiet["passed"].as_bool()),
        (Some("no_data"), Some(true))
    );
    assert_eq!(quiet["points"], 0);

    stack.write(
        &std::fs::read_to_string(&stack.path)
            .unwrap()
            .replace("no_data = \"pass\"", ""),
    );
    let report = verify(&stack, &[]).expect(3).json();
    let quiet = result(&report, "quiet-passes");
    assert_eq!(
        (quiet["outcome"].as_str(), quiet["passed"].as_bool()),
        (Some("no_data"), Some(false))
    );
}

#[tokio::test]
async fn an_alarm_in_alarm_fails_ok_passes_and_insufficient_data_follows_no_data() {
    let name = unique("valarm");
    let stack = service(
        &name,
        r#"
[[verify]]
name = "errors"
alarm = "alarm.errors"

[[verify]]
name = "errors-lenient"
alarm = "alarm.errors"
no_data = "pass"
"#,
    );
    stack.apply().expect(0);
    let client = cloudwatch(REGION).await;
    let set = |state: StateValue| {
        let client = client.clone();
        let alarm = format!("{name}.errors");
        async move {
            client
                .set_alarm_state()
                .alarm_name(alarm)
                .state_value(state)
                .state_reason("set by the test")
                .send()
                .await
                .unwrap();
        }
    };
    set(StateValue::Alarm).await;
    let report = verify(&stack, &[]).expect(3).json();
    let errors = result(&report, "errors");
    assert_eq!(
        (errors["outcome"].as_str(), errors["value"].as_str()),
        (Some("fail"), Some("ALARM"))
    );
    assert_eq!(errors["detail"], "set by the test");

    set(StateValue::Ok).await;
    verify(&stack, &[]).expect(0);

    set(StateValue::InsufficientData).await;
    let report = verify(&stack, &[]).expect(3).json();
    assert_eq!(result(&report, "errors")["passed"], false);
    assert_eq!(result(&report, "errors-lenient")["passed"], true);
}

#[tokio::test]
async fn a_colour_with_too_few_targets_fails_the_built_in_check() {
    let name = unique("vtargets");
    let stack = service(&name, "");
    stack.apply().expect(0);
    verify(&stack, &[]).expect(0);
    // A colleague deregisters one of blue's two instances; min_healthy is 2.
    let owned = crate::harness::owned_elb(REGION, &name).await;
    let blue = owned
        .iter()
        .find(|(_, id)| id.as_str() == "target_group.blue")
        .map(|(arn, _)| arn.clone())
        .unwrap();
    let client = elb(REGION).await;
    let health = client
        .describe_target_health()
        .target_group_arn(&blue)
        .send()
        .await
        .unwrap();
    let first = health.target_health_descriptions()[0]
        .target()
        .unwrap()
        .clone();
    client
        .deregister_targets()
        .target_group_arn(&blue)
        .targets(first)
        .send()
        .await
        .unwrap();
    let report = verify(&stack, &[]).expect(3).json();
    let targets = result(&report, "target_group.blue healthy (weight 1)");
    assert_eq!(
        (targets["outcome"].as_str(), targets["value"].as_str()),
        (Some("fail"), Some("1/1 healthy"))
    );
    assert_eq!(targets["threshold"], "≥ 2 healthy, none unhealthy");
}

#[tokio::test]
async fn a_soak_evaluates_again_and_consecutive_waits_for_a_second_failure() {
    let name = unique("vsoak");
    let stack = service(
        &name,
        r#"
[[verify]]
name = "errors"
alarm = "alarm.errors"
consecutive = 2
"#,
    );
    stack.apply().expect(0);
    let client = cloudwatch(REGION).await;
    let set = |state: StateValue| {
        client
            .set_alarm_state()
            .alarm_name(format!("{name}.errors"))
            .state_value(state)
            .state_reason("set by the test")
            .send()
    };
    set(StateValue::Ok).await.unwrap();
    let out = run_cmd(reconcile().args([
        "verify",
        stack.arg(),
        "--json",
        "--soak",
        "3s",
        "--every",
        "1s",
    ]))
    .expect(0);
    let report = out.json();
    assert!(report["evaluations"].as_u64().unwrap() >= 3, "{report:#}");
    assert!(
        out.stderr.contains("soak: ") && out.stderr.contains(" left; evaluation 1:"),
        "{}",
        out.stderr
    );

    // Failing throughout: tolerated once, failed at the second evaluation.
    set(StateValue::Alarm).await.unwrap();
    let report = verify(&stack, &["--soak", "30s", "--every", "1s"])
        .expect(3)
        .json();
    assert_eq!(report["evaluations"], 2, "{report:#}");
}

#[tokio::test]
async fn the_metric_calls_of_one_evaluation_do_not_grow_with_the_checks() {
    let name = unique("vcalls");
    let checks: String = (0..6)
        .map(|i| {
            format!(
                "\n[[verify]]\nname = \"c{i}\"\nnamespace = \"AWS/ApplicationELB\"\nmetric = \"M{i}\"\ndimensions = {{ LoadBalancer = \"${{load_balancer.app.arn_suffix}}\" }}\nstatistic = \"{}\"\nmax = 1\nno_data = \"pass\"\n",
                ["Sum", "Average", "p99"][i % 3]
            )
        })
        .collect();
    let stack = service(&name, &format!("{checks}\n[[verify]]\nname = \"a\"\nalarm = \"alarm.errors\"\nno_data = \"pass\"\n[[verify]]\nname = \"b\"\nalarm_name = \"{name}.errors\"\nno_data = \"pass\"\n"));
    stack.apply().expect(0);
    let report = verify(&stack, &[]).expect(0).json();
    let calls = &report["aws_operations"];
    assert_eq!(calls["cloudwatch.GetMetricData"], 1, "{calls:#}");
    assert_eq!(
        calls["cloudwatch.DescribeAlarms"].as_u64(),
        Some(2),
        "one for discovery, one for the checks: {calls:#}"
    );
    assert_eq!(report["results"].as_array().unwrap().len(), 6 + 2 + 2);
}

#[test]
fn a_stack_with_nothing_live_fails_its_verification_as_missing() {
    let stack = service(&unique("vnothing"), "");
    let out = run(&["verify", stack.arg(), "--json"]).expect(3);
    let report = out.json();
    let missing: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["value"] == "missing")
        .map(|r| r["check"].as_str().unwrap())
        .collect();
    assert!(missing.contains(&"load_balancer.app live"), "{report:#}");
    assert!(missing.contains(&"target_group.blue live"), "{report:#}");
    assert!(
        missing.iter().any(|c| c.starts_with("instance.")),
        "{report:#}"
    );
    let text = run(&["verify", stack.arg()]).expect(3).stdout;
    assert!(
        text.contains("declared, not live here: apply the stack first"),
        "{text}"
    );
    // Nor does cutover --status speak of a split that is not there.
    let status = run(&["cutover", stack.arg(), "app", "--status"])
        .expect(0)
        .stdout;
    assert!(
        status.contains("us-west-2: no live forward") && !status.contains("split ()"),
        "{status}"
    );
    // Applied, nothing is missing.
    stack.apply().expect(0);
    let after = run(&["verify", stack.arg(), "--json"]).json();
    assert!(
        after["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["value"] != "missing"),
        "{after:#}"
    );
}

/// On a terminal, a soak draws a progress bar; the bar of the finished soak
/// is cleared before the report is printed (it stayed on screen above it).
/// Run under `script`, which gives the command a pseudo-terminal.
#[test]
fn a_finished_soak_leaves_no_bar_above_the_report() {
    let stack = StackFile::new(&format!(
        "[stack]\nname = \"{}\"\nregions = [\"{REGION}\"]\n\n[vpc.main]\ncidr = \"10.0.0.0/16\"\n\n[[verify]]\nname = \"errs\"\nnamespace = \"App\"\nmetric = \"E\"\nstatistic = \"Sum\"\nmax = 1\nno_data = \"pass\"\n",
        unique("pty")
    ));
    let binary = assert_cmd::cargo::cargo_bin("reconcile");
    let command = format!(
        "'{}' verify '{}' --soak 3s --every 1s",
        binary.display(),
        stack.arg()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("AWS_ENDPOINT_URL", crate::harness::endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("NO_COLOR")
        .output()
        .expect("script(1) runs the command on a pseudo-terminal");
    let screen = String::from_utf8_lossy(&out.stdout);
    let report = screen.find("  CHECK").expect("the report");
    let last_bar = screen[..report].rfind("soak:").expect("a bar was drawn");
    // After the bar's last text, the line is cleared (ESC [2K) before the report.
    assert!(
        screen[last_bar..report].contains("\u{1b}[2K"),
        "the bar stays above the report: {:?}",
        &screen[last_bar..report]
    );
}
