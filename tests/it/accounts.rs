//! The account guard: a stack names the account it lives in, and the
//! credentials of another are refused before anything else is asked.

use crate::harness::*;
use crate::proxy::Proxy;

#[tokio::test]
async fn a_stack_of_another_account_is_refused_after_one_call_naming_both() {
    let name = unique("acct");
    let region = "us-west-2";
    // Whose credentials the emulator sees: the plan's header says it.
    let plan = StackFile::new(&vpc_stack(&name, region, "")).plan_json();
    let account = plan["account"]["account"]
        .as_str()
        .expect("an account")
        .to_string();
    let arn = plan["account"]["arn"].as_str().expect("an ARN").to_string();
    assert_eq!(account.len(), 12, "{plan}");

    let other = if account == "111111111111" {
        "222222222222"
    } else {
        "111111111111"
    };
    let text = |id: &str| {
        vpc_stack(&name, region, "").replacen(
            "\n\n[vpc.main]",
            &format!("\naccount = \"{id}\"\n\n[vpc.main]"),
            1,
        )
    };
    let elsewhere = StackFile::new(&text(other));
    let proxy = Proxy::start(endpoint(), 35);
    let out = run_cmd(proxy.via().args(["plan", elsewhere.arg()])).expect(1);
    let seen: Vec<String> = proxy
        .seen()
        .iter()
        .map(|s| format!("{}.{}", s.service, s.operation))
        .collect();
    assert_eq!(seen, ["sts.GetCallerIdentity"], "one call, nothing read");
    assert!(
        out.stderr.contains(&format!("lives in account {other}"))
            && out.stderr.contains(&format!("account {account} ({arn})")),
        "{}",
        out.stderr
    );
    // Nothing changes either: apply is refused the same way, before its lock.
    let proxy = Proxy::start(endpoint(), 36);
    run_cmd(
        proxy
            .via()
            .args(["apply", elsewhere.arg(), "--auto-approve"]),
    )
    .expect(1);
    assert_eq!(proxy.seen().len(), 1);

    let own = StackFile::new(&text(&account));
    let out = run_cmd(reconcile().args(["plan", own.arg()])).expect(0);
    assert!(
        out.stdout.starts_with(&format!(
            "reconcile will perform the following actions on stack {name} of account \
                 {account} (read as {arn}):\n"
        )),
        "{}",
        out.stdout
    );
}

/// `iam-policy` of a shipped environment: no call, no credentials; the
/// deploy role's policy holds what the plan role's does and more, and
/// neither has a wildcard action.
#[test]
fn the_policy_of_an_environment_is_written_without_a_call_or_credentials() {
    let tripwire = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    tripwire.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", tripwire.local_addr().unwrap());
    let stack = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/dev.toml");
    let policy = |extra: &[&str]| {
        let out = run_cmd(
            reconcile()
                .env("AWS_ENDPOINT_URL", &endpoint)
                .env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY")
                .env("AWS_PROFILE", "no-such-profile")
                .arg("iam-policy")
                .arg(&stack)
                .args(extra),
        )
        .expect(0);
        let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
        let documents = match json {
            serde_json::Value::Array(many) => many,
            one => vec![one],
        };
        documents
            .iter()
            .flat_map(|d| d["Statement"].as_array().unwrap().clone())
            .flat_map(|s| s["Action"].as_array().unwrap().clone())
            .map(|a| a.as_str().unwrap().to_string())
            .collect::<std::collections::BTreeSet<String>>()
    };
    let read = policy(&["--read-only"]);
    let full = policy(&[]);
    assert!(tripwire.accept().is_err(), "no AWS call");
    assert!(read.is_subset(&full) && read.len() < full.len());
    assert!(full.iter().all(|a| !a.contains('*')), "{full:?}");
    for action in [
        "sts:GetCallerIdentity",
        "ec2:DescribeVpcs",
        "autoscaling:DescribeAutoScalingGroups",
    ] {
        assert!(read.contains(action), "{action}");
    }
    for action in [
        "ec2:RunInstances",
        "iam:PassRole",
        "rds:DeleteDBInstance",
        "ec2:CreateKeyPair",
    ] {
        assert!(full.contains(action) && !read.contains(action), "{action}");
    }
}
