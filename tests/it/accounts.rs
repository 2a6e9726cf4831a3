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

/// A stack's role is assumed before any other call, in the role's account:
/// moto keeps each account's resources apart, as AWS does.
#[tokio::test]
async fn a_stack_assumes_its_role_and_works_in_the_roles_account() {
    let name = unique("role");
    let region = "us-west-2";
    let text = vpc_stack(&name, region, "").replacen(
        "\n\n[vpc.main]",
        "\naccount = \"111111111111\"\n\n[stack.role]\n\
         arn = \"arn:aws:iam::111111111111:role/reconcile/deploy\"\n\
         plan = \"arn:aws:iam::111111111111:role/reconcile/plan\"\n\
         duration = \"15m\"\n\n[vpc.main]",
        1,
    );
    let stack = StackFile::new(&text);
    let plan = run_cmd(
        reconcile()
            .env("RECONCILE_OPERATOR", "Jane Doe")
            .args(["plan", stack.arg()]),
    )
    .expect(0);
    assert!(
        plan.stdout.starts_with(&format!(
            "reconcile will perform the following actions on stack {name} of account \
             111111111111 (read as arn:aws:sts::111111111111:assumed-role/plan/reconcile-Jane-Doe):"
        )),
        "{}",
        plan.stdout
    );
    let applied = run_cmd(reconcile().env("RECONCILE_OPERATOR", "Jane Doe").args([
        "apply",
        stack.arg(),
        "--auto-approve",
    ]))
    .expect(0);
    assert!(applied.stdout.contains("1 created"), "{}", applied.stdout);
    // Not in the credentials' own account: there, the stack has nothing.
    let own = ec2(region)
        .await
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:reconcile:stack")
                .values(&name)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(own.vpcs().is_empty(), "{:?}", own.vpcs());
    let again = run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);

    // `--role` of another account than the stack's: refused before a call.
    let refused = run(&[
        "plan",
        stack.arg(),
        "--role",
        "arn:aws:iam::222222222222:role/x",
    ])
    .expect(1);
    assert!(
        refused.stderr.contains("is of account 222222222222"),
        "{}",
        refused.stderr
    );
}

/// moto enforcing IAM (action level: it ignores resource scoping, so the
/// policies are the generated actions on `*`): CI's user may only assume
/// the stack's two roles; the deploy role holds `iam-policy`'s actions, the
/// plan role `iam-policy --read-only`'s. `stacks/dev.toml` is applied, cut
/// over and verified with no AccessDenied; the plan role plans, and an
/// apply as it stops at its first change naming the action and the command.
#[tokio::test]
async fn an_environment_runs_on_roles_holding_only_its_generated_policies() {
    let endpoint = private_moto();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let iam = aws_sdk_iam::Client::new(&sdk(&endpoint, "testing", "testing").await);
    let user = iam.create_user().user_name("ci").send().await.unwrap();
    let user_arn = user.user().unwrap().arn().to_string();
    let key = iam
        .create_access_key()
        .user_name("ci")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "AWS": user_arn },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "sts:ExternalId": "shop-ci" } }
        }]
    });
    for (role, extra) in [("deploy", vec![]), ("plan", vec!["--read-only"])] {
        let out = run_cmd(
            reconcile()
                .arg("iam-policy")
                .arg(root.join("stacks/dev.toml"))
                .args(&extra),
        )
        .expect(0);
        iam.create_role()
            .role_name(role)
            .path("/reconcile/")
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
        iam.put_role_policy()
            .role_name(role)
            .policy_name("reconcile")
            .policy_document(moto_actions(&out.stdout).to_string())
            .send()
            .await
            .unwrap();
    }
    // A role that trusts someone else.
    let elsewhere = trust.to_string().replace("user/ci", "user/someone-else");
    iam.create_role()
        .role_name("other")
        .path("/reconcile/")
        .assume_role_policy_document(elsewhere)
        .send()
        .await
        .unwrap();
    let roles: Vec<String> = ["deploy", "plan", "other"]
        .iter()
        .map(|r| format!("arn:aws:iam::123456789012:role/reconcile/{r}"))
        .collect();
    iam.put_user_policy()
        .user_name("ci")
        .policy_name("assume")
        .policy_document(
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{ "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": roles }]
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();

    // The shipped environment with its roles, in the emulator's account.
    let dir = shipped_copy(&["base", "dev"]);
    let dev = dir.path().join("dev.toml");
    let text = std::fs::read_to_string(&dev).unwrap().replacen(
        "regions = [\"us-west-2\"]\n",
        &format!(
            "regions = [\"us-west-2\"]\naccount = \"123456789012\"\n\n[stack.role]\n\
             arn = \"{}\"\nplan = \"{}\"\nexternal_id = \"shop-ci\"\n",
            roles[0], roles[1]
        ),
        1,
    );
    std::fs::write(&dev, text).unwrap();
    let dev = dev.to_str().unwrap();

    enforce_iam(&endpoint);
    let as_ci = |args: &[&str]| {
        run_cmd(
            reconcile()
                .env("AWS_ENDPOINT_URL", &endpoint)
                .env("AWS_ACCESS_KEY_ID", key.access_key_id())
                .env("AWS_SECRET_ACCESS_KEY", key.secret_access_key())
                .env("SHOP_DB_PASSWORD", "correct-horse-battery")
                .env("RECONCILE_OPERATOR", "ci")
                .args(args),
        )
    };
    let plan = as_ci(&["plan", dev, "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout
            .contains("(read as arn:aws:sts::123456789012:assumed-role/plan/reconcile-ci)"),
        "{}",
        plan.stdout
    );
    // The plan role cannot change anything: the apply's first change (its
    // lock) is refused, naming the action and what prints the policy.
    let denied = as_ci(&["apply", dev, "--auto-approve", "--role", &roles[1]]).expect(1);
    assert!(
        denied
            .stderr
            .contains("assumed-role/plan/reconcile-ci may not call ec2:CreateKeyPair")
            && denied.stderr.contains("`reconcile iam-policy STACK_FILE`"),
        "{}",
        denied.stderr
    );
    // A role that does not trust CI's user is not assumed, and says so
    // (moto's refusal has no code an SDK reads for STS: a bare 403).
    let untrusted = as_ci(&["plan", dev, "--role", &roles[2]]).expect(1);
    assert!(
        untrusted
            .stderr
            .contains(&format!("could not assume role {}", roles[2]))
            && untrusted.stderr.contains("may not call sts:AssumeRole")
            && untrusted
                .stderr
                .contains("the role's trust policy must allow"),
        "{}",
        untrusted.stderr
    );

    as_ci(&["apply", dev, "--auto-approve"]).expect(0);
    as_ci(&[
        "cutover",
        dev,
        "app",
        "--to",
        "green",
        "--steps",
        "50,100",
        "--bake",
        "0s",
        "--auto-approve",
    ])
    .expect(0);
    as_ci(&["verify", dev]).expect(0);
    as_ci(&["status", dev]).expect(0);
    let again = as_ci(&["plan", dev, "--detailed-exitcode"]).expect(0);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);
}

/// The actions of `iam-policy`'s output on `*` with no condition (moto
/// evaluates only actions), named as moto names them: by the service's
/// signing name (CloudWatch signs as `monitoring`, the tagging API as
/// `tagging`).
fn moto_actions(policy: &str) -> serde_json::Value {
    let json: serde_json::Value = serde_json::from_str(policy).expect("JSON");
    let documents = match json {
        serde_json::Value::Array(many) => many,
        one => vec![one],
    };
    let actions: std::collections::BTreeSet<String> = documents
        .iter()
        .flat_map(|d| d["Statement"].as_array().unwrap().clone())
        .flat_map(|s| s["Action"].as_array().unwrap().clone())
        .map(|a| {
            let a = a.as_str().unwrap();
            let (service, name) = a.split_once(':').unwrap();
            let service = match service {
                "cloudwatch" => "monitoring",
                "tag" => "tagging",
                other => other,
            };
            format!("{service}:{name}")
        })
        .collect();
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": "*" }]
    })
}

/// From now on moto checks every request against its caller's policies.
fn enforce_iam(endpoint: &str) {
    use std::io::{Read, Write};
    let address = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /moto-api/reset-auth HTTP/1.0\r\nHost: {address}\r\nContent-Length: 1\r\n\r\n0"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
        "{answer}"
    );
}

async fn sdk(endpoint: &str, key: &str, secret: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            key, secret, None, None, "tests",
        ))
        .load()
        .await
}

/// The generated policies of the shipped environments (and of one that
/// names its account) pass parliament, the IAM policy linter, with no
/// finding at all: no unknown action, no resource an action does not take,
/// no `*` where an action takes something narrower. The table of resource
/// types they are scoped by is the one `scripts/iam-resources.py` writes
/// from parliament's definitions.
#[test]
fn the_policies_of_the_shipped_environments_pass_parliament() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("localstack/.venv/bin/python");
    let dir = shipped_copy(&["base", "dev"]);
    let named = dir.path().join("dev.toml");
    let text = std::fs::read_to_string(&named).unwrap().replacen(
        "[stack]\n",
        "[stack]\naccount = \"210987654321\"\n",
        1,
    );
    std::fs::write(&named, text).unwrap();
    let mut stacks: Vec<std::path::PathBuf> = ["dev", "staging", "prod"]
        .iter()
        .map(|e| root.join(format!("stacks/{e}.toml")))
        .collect();
    stacks.push(named);
    let lint = "import json, sys\n\
        from parliament import analyze_policy_string\n\
        documents = json.load(sys.stdin)\n\
        for d in documents if isinstance(documents, list) else [documents]:\n\
        \x20   for f in analyze_policy_string(json.dumps(d)).findings:\n\
        \x20       print(f.issue, f.detail)\n";
    let mut full_actions = String::new();
    for stack in &stacks {
        for extra in [&[][..], &["--read-only"][..]] {
            let policy = run_cmd(reconcile().arg("iam-policy").arg(stack).args(extra)).expect(0);
            let findings = python_with(&python, &["-c", lint], &policy.stdout);
            assert_eq!(findings, "", "{} {extra:?}", stack.display());
            if extra.is_empty() {
                let json: serde_json::Value = serde_json::from_str(&policy.stdout).unwrap();
                for d in json.as_array().cloned().unwrap_or_else(|| vec![json]) {
                    for s in d["Statement"].as_array().unwrap() {
                        for a in s["Action"].as_array().unwrap() {
                            full_actions.push_str(a.as_str().unwrap());
                            full_actions.push('\n');
                        }
                    }
                }
            }
        }
    }
    // The example CI identities' own policies too.
    for example in ["ci-plan-policy.json", "ci-deploy-policy.json"] {
        let text = std::fs::read_to_string(root.join("examples/iam").join(example)).unwrap();
        assert_eq!(python_with(&python, &["-c", lint], &text), "", "{example}");
    }
    let table = python_with(
        &python,
        &[root.join("scripts/iam-resources.py").to_str().unwrap()],
        &full_actions,
    );
    assert!(
        table == std::fs::read_to_string(root.join("src/iam_policy/resources.tsv")).unwrap(),
        "src/iam_policy/resources.tsv is not current: regenerate it (scripts/iam-resources.py)"
    );
}

/// What `python` prints given `args` and `input` on stdin; it must succeed.
fn python_with(python: &std::path::Path, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(python)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the emulator's venv (localstack/emulator.sh install)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}
