//! Alarms and metric checks on a stack without a load balancer: these run on
//! moto and on LocalStack (`RECONCILE_TEST_ENGINE=localstack`), which, unlike
//! moto, evaluates alarms by itself.

use crate::harness::{cloudwatch, engine, reconcile, run_cmd, unique, Engine, Run, StackFile};
use aws_sdk_cloudwatch::types::{MetricDatum, StateValue};
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime};

const REGION: &str = "us-east-1";

/// A VPC, an alarm on `App/NAME Errors` over `period` seconds (LocalStack
/// evaluates it every period: 10 s to see it move, an hour to leave a state
/// set by hand alone), and `checks`.
fn stack(name: &str, period: u32, checks: &str) -> StackFile {
    StackFile::new(&format!(
        r#"
[stack]
name = "{name}"
regions = ["{REGION}"]

[vpc.main]
cidr = "10.0.0.0/16"

[alarm.errors]
namespace = "App/{name}"
metric = "Errors"
statistic = "Sum"
period = {period}
evaluation_periods = 1
threshold = 5
comparison = "GreaterThanThreshold"
treat_missing_data = "notBreaching"
{checks}
"#
    ))
}

fn verify(stack: &StackFile) -> Run {
    run_cmd(reconcile().args(["verify", stack.arg(), "--json"]))
}

fn result<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check"] == check)
        .unwrap_or_else(|| panic!("no result for {check}: {report}"))
}

/// Errors counted now, as the application would publish them.
async fn errors(name: &str, value: f64, at: SystemTime) {
    cloudwatch(REGION)
        .await
        .put_metric_data()
        .namespace(format!("App/{name}"))
        .metric_data(
            MetricDatum::builder()
                .metric_name("Errors")
                .timestamp(at.into())
                .value(value)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

async fn alarm_state(name: &str) -> Option<StateValue> {
    cloudwatch(REGION)
        .await
        .describe_alarms()
        .alarm_names(format!("{name}.errors"))
        .send()
        .await
        .unwrap()
        .metric_alarms()
        .first()
        .and_then(|a| a.state_value().cloned())
}

#[tokio::test]
async fn a_metric_check_fails_over_its_threshold_with_the_value_and_passes_under_it() {
    let name = unique("metric");
    let stack = stack(
        &name,
        10,
        &format!(
            r#"
[[verify]]
name = "errors-sum"
namespace = "App/{name}"
metric = "Errors"
statistic = "Sum"
window = "5m"
max = 10
"#
        ),
    );
    stack.apply().expect(0);
    // Two points inside the window (it ends two whole minutes before now).
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let end = (now - 120) / 60 * 60;
    for (minutes_back, value) in [(1, 7.0), (2, 8.0)] {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(end - 30 - 60 * minutes_back);
        errors(&name, value, at).await;
    }
    let failed = verify(&stack).expect(3);
    let check = result(&failed.json(), "errors-sum").clone();
    assert_eq!(check["outcome"], "fail", "{check}");
    assert_eq!(check["value"], "15", "7 + 8: {check}");

    // Under the threshold: a stack of its own with max above what is there.
    stack.write(
        &std::fs::read_to_string(&stack.path)
            .unwrap()
            .replace("max = 10", "max = 20"),
    );
    let passed = verify(&stack).expect(0);
    assert_eq!(result(&passed.json(), "errors-sum")["outcome"], "pass");
}

#[tokio::test]
async fn an_alarm_set_by_hand_fails_verify_and_ok_passes() {
    let name = unique("alarmset");
    // An hour's period: LocalStack's next evaluation does not undo the state set here.
    let stack = stack(
        &name,
        3600,
        "\n[[verify]]\nname = \"errors\"\nalarm = \"alarm.errors\"\n",
    );
    stack.apply().expect(0);
    // LocalStack evaluates a new alarm once, soon after it is made: a state
    // set before that would be overwritten. Wait for it (moto never does).
    if engine() == Engine::LocalStack {
        let started = Instant::now();
        while alarm_state(&name).await != Some(StateValue::Ok) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "LocalStack evaluated the new alarm"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let client = cloudwatch(REGION).await;
    for (state, code) in [(StateValue::Alarm, 3), (StateValue::Ok, 0)] {
        client
            .set_alarm_state()
            .alarm_name(format!("{name}.errors"))
            .state_value(state.clone())
            .state_reason("set by the test")
            .send()
            .await
            .unwrap();
        let report = verify(&stack).expect(code).json();
        assert_eq!(result(&report, "errors")["value"], state.as_str());
    }
}

/// LocalStack evaluates an alarm from the metric data; moto never does, which
/// is why the moto suite sets alarm states by hand.
#[tokio::test]
async fn errors_over_the_threshold_put_the_alarm_in_alarm_and_verify_fails() {
    let name = unique("alarmeval");
    let stack = stack(
        &name,
        10,
        "\n[[verify]]\nname = \"errors\"\nalarm = \"alarm.errors\"\n",
    );
    stack.apply().expect(0);
    // LocalStack evaluates every period (10 s); moto is given a few periods.
    let patience = match engine() {
        Engine::LocalStack => Duration::from_secs(90),
        Engine::Moto => Duration::from_secs(25),
    };
    let started = Instant::now();
    let mut state = alarm_state(&name).await;
    while state != Some(StateValue::Alarm) && started.elapsed() < patience {
        // Keep the current 10-second period over the threshold while we wait.
        errors(&name, 50.0, SystemTime::now()).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        state = alarm_state(&name).await;
    }
    match engine() {
        Engine::LocalStack => {
            assert_eq!(
                state,
                Some(StateValue::Alarm),
                "LocalStack evaluated the alarm"
            );
            let report = verify(&stack).expect(3).json();
            let errors = result(&report, "errors");
            assert_eq!(
                (errors["outcome"].as_str(), errors["value"].as_str()),
                (Some("fail"), Some("ALARM"))
            );
        }
        Engine::Moto => {
            assert_ne!(
                state,
                Some(StateValue::Alarm),
                "moto does not evaluate alarms"
            );
        }
    }
}
