//! Faults between reconcile and AWS, through the fault-injecting proxy: lost
//! answers after the write, throttling, 5xx, resets, calls that never return,
//! two runs at once and runs killed halfway. Every run must end with exactly
//! the stack's resources, counted with the SDK: never a duplicate.

use crate::harness::{
    demo_stack, elb, endpoint, live, network, owned_elb, reconcile, run, run_cmd, spawn, spawn_at,
    tag, unique, vpc_stack, Run, StackFile,
};
use crate::proxy::{Fault, Proxy};
use std::collections::BTreeMap;
use std::time::Duration;

/// The binary, talking to AWS through `proxy`.
fn no_changes(stack: &StackFile) {
    let plan = run(&["plan", stack.arg(), "--detailed-exitcode"]);
    assert_eq!(
        plan.code, 0,
        "a converged stack plans no change:\n{}",
        plan.stdout
    );
}

/// What a stack owns in a region, per kind, as the console shows it.
async fn owned(region: &str, stack: &str) -> BTreeMap<&'static str, usize> {
    let ec2 = live(region, stack).await;
    let client = elb(region).await;
    let arns: Vec<String> = owned_elb(region, stack).await.into_keys().collect();
    let is = |part: &str| arns.iter().filter(|a| a.contains(part)).count();
    let (mut listeners, mut rules) = (0, 0);
    for lb in arns.iter().filter(|a| a.contains(":loadbalancer/")) {
        let found = client
            .describe_listeners()
            .load_balancer_arn(lb)
            .send()
            .await
            .unwrap();
        for l in found.listeners() {
            listeners += 1;
            let r = client
                .describe_rules()
                .listener_arn(l.listener_arn().unwrap())
                .send()
                .await
                .unwrap();
            rules += r
                .rules()
                .iter()
                .filter(|r| r.is_default() != Some(true))
                .count();
        }
    }
    BTreeMap::from([
        ("vpc", ec2.vpcs.len()),
        ("subnet", ec2.subnets.len()),
        ("internet_gateway", ec2.gateways.len()),
        ("route_table", ec2.tables.len()),
        ("security_group", ec2.groups.len()),
        ("instance", ec2.instances.len()),
        ("load_balancer", is(":loadbalancer/")),
        ("target_group", is(":targetgroup/")),
        ("listener", listeners),
        ("listener_rule", rules),
    ])
}

/// What `stacks/demo.toml` declares in each of its regions.
fn demo_per_region() -> BTreeMap<&'static str, usize> {
    BTreeMap::from([
        ("vpc", 1),
        ("subnet", 2),
        ("internet_gateway", 1),
        ("route_table", 1),
        ("security_group", 2),
        ("instance", 4),
        ("load_balancer", 1),
        ("target_group", 2),
        ("listener", 1),
        ("listener_rule", 1),
    ])
}

async fn assert_exactly_the_demo(name: &str) {
    for region in ["us-west-2", "eu-west-1"] {
        assert_eq!(
            owned(region, name).await,
            demo_per_region(),
            "{name} in {region}: exactly the stack's resources, no duplicate"
        );
    }
}

const CREATES: [&str; 10] = [
    "CreateVpc",
    "CreateSubnet",
    "CreateInternetGateway",
    "CreateRouteTable",
    "CreateSecurityGroup",
    "RunInstances",
    "CreateLoadBalancer",
    "CreateTargetGroup",
    "CreateListener",
    "CreateRule",
];

#[tokio::test]
async fn a_lost_answer_to_any_create_leaves_no_duplicate() {
    let name = unique("lost");
    let stack = demo_stack(&name);
    let proxy = Proxy::start(endpoint(), 7);
    for op in CREATES {
        proxy.on(op, Fault::LoseAnswer, 1);
    }
    let out = run_cmd(proxy.via().args(["apply", stack.arg(), "--auto-approve"])).expect(0);
    let mut lost = proxy.faulted(Fault::LoseAnswer);
    lost.sort();
    let mut expected = CREATES.map(String::from).to_vec();
    expected.sort();
    assert_eq!(lost, expected, "every create lost its first answer");
    assert!(
        out.stderr.contains("adopted"),
        "what the lost calls made is adopted:\n{}",
        out.stderr
    );
    assert!(out.stdout.contains("Apply complete"), "{}", out.stdout);
    no_changes(&stack);
    assert_exactly_the_demo(&name).await;
}

#[tokio::test]
async fn lost_answers_on_the_stateful_and_dns_creates_leave_no_duplicate() {
    let name = unique("lost-db");
    let domain = format!("{name}.example.com");
    let identifier = format!("db-{}", name.replace('.', "-"));
    let database = crate::stateful::database(
        &name,
        "us-east-1",
        &identifier,
        "LOST_DB_PASSWORD",
        "parameter_group = \"db_parameter_group.main\"",
    );
    let stack = StackFile::new(&format!(
        r#"{database}
[db_parameter_group.main]
family = "postgres16"
parameters = {{ log_min_duration_statement = "500" }}

[dns_zone.main]
name = "{domain}"

[dns_record.www]
zone = "dns_zone.main"
name = "www.{domain}"
type = "CNAME"
ttl = 300
values = ["example.org"]
"#
    ));
    let proxy = Proxy::start(endpoint(), 11);
    for op in [
        "CreateDBSubnetGroup",
        "CreateDBParameterGroup",
        "CreateDBInstance",
        "CreateHostedZone",
        "ChangeResourceRecordSets",
    ] {
        proxy.on(op, Fault::LoseAnswer, 1);
    }
    let apply = || {
        run_cmd(
            proxy
                .via()
                .env("LOST_DB_PASSWORD", "correct-horse-battery")
                .args(["apply", stack.arg(), "--auto-approve"]),
        )
    };
    apply().expect(0);
    assert_eq!(proxy.faulted(Fault::LoseAnswer).len(), 5);
    no_changes(&stack);

    let rds = crate::harness::rds("us-east-1").await;
    let dbs = rds.describe_db_instances().send().await.unwrap();
    let ours = dbs
        .db_instances()
        .iter()
        .filter(|d| d.db_instance_identifier() == Some(identifier.as_str()))
        .count();
    assert_eq!(ours, 1, "one database");
    let subnet_groups = rds.describe_db_subnet_groups().send().await.unwrap();
    let named = subnet_groups
        .db_subnet_groups()
        .iter()
        .filter(|g| {
            g.db_subnet_group_name()
                .unwrap_or_default()
                .starts_with(&name)
        })
        .count();
    assert_eq!(named, 1, "one DB subnet group");
    let route53 = crate::harness::route53().await;
    assert_eq!(
        crate::harness::zones_named(&route53, &domain).await.len(),
        1,
        "one hosted zone named {domain}"
    );
}

#[tokio::test]
async fn the_demo_converges_under_mixed_faults_with_exactly_its_resources() {
    let name = unique("mixed");
    let stack = demo_stack(&name);
    let proxy = Proxy::start(endpoint(), 20261124);
    proxy.mixed(30);
    let mut runs: Vec<Run> = Vec::new();
    for _ in 0..5 {
        let out = run_cmd(proxy.via().args(["apply", stack.arg(), "--auto-approve"]));
        let done = out.code == 0;
        runs.push(out);
        if done {
            break;
        }
    }
    proxy.heal();
    let last = runs.last().unwrap();
    assert_eq!(
        last.code,
        0,
        "converged within {} applies:\n{}\n{}",
        runs.len(),
        last.stdout,
        last.stderr
    );
    for fault in [
        Fault::Throttle,
        Fault::ServerError,
        Fault::Reset,
        Fault::LoseAnswer,
    ] {
        assert!(
            proxy.faulted(fault).len() >= 3,
            "{fault:?} was injected: {:?}",
            proxy.faulted(fault)
        );
    }
    no_changes(&stack);
    assert_exactly_the_demo(&name).await;
}

/// A network of one VPC, subnet, gateway, route table and security group.
fn network_stack(name: &str) -> StackFile {
    StackFile::new(&network(name, "us-east-2"))
}

async fn network_counts(name: &str) -> [usize; 5] {
    let l = live("us-east-2", name).await;
    [
        l.vpcs.len(),
        l.subnets.len(),
        l.gateways.len(),
        l.tables.len(),
        l.groups.len(),
    ]
}

const ONE_NETWORK: [usize; 5] = [1, 1, 1, 1, 1];

#[tokio::test]
async fn a_planted_duplicate_vpc_is_resolved_by_deleting_the_empty_one() {
    let name = unique("dup");
    let stack = network_stack(&name);
    stack.apply().expect(0);
    let client = crate::harness::ec2("us-east-2").await;
    let before = live("us-east-2", &name).await;
    let used = before.vpcs[0].vpc_id().unwrap().to_string();
    // A copy, tagged as the same resource, as a retried create used to leave.
    let planted = client
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Vpc)
                .tags(tag("reconcile:stack", &name))
                .tags(tag("reconcile:id", "vpc.main"))
                .build(),
        )
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();

    let plan = stack.plan_json();
    let changes: Vec<&serde_json::Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .collect();
    assert_eq!(changes.len(), 1, "only the copy goes: {changes:#?}");
    assert_eq!(changes[0]["action"], "delete");
    assert_eq!(changes[0]["live_id"], planted.as_str());
    assert!(
        changes[0]["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("duplicate of {used}")),
        "{}",
        changes[0]
    );
    stack.apply().expect(0);
    let after = live("us-east-2", &name).await;
    assert_eq!(after.vpcs.len(), 1);
    assert_eq!(
        after.vpcs[0].vpc_id(),
        Some(used.as_str()),
        "the VPC in use stays"
    );
    no_changes(&stack);
}

/// Waits until `operation` has reached the proxy: the run is at work.
fn wait_for(proxy: &Proxy, operation: &str) {
    let started = std::time::Instant::now();
    while !proxy.seen().iter().any(|s| s.operation == operation) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never sent {operation}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn finish(child: std::process::Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn two_applies_started_together_make_one_copy() {
    let name = unique("twice");
    let stack = network_stack(&name);
    let args = [
        "apply",
        stack.arg(),
        "--auto-approve",
        "--lock-timeout",
        "3m",
    ];
    // A slow AWS, so that the two runs certainly overlap.
    let proxy = Proxy::start(endpoint(), 13);
    proxy.slow(Duration::from_millis(100));
    let (first, second) = (spawn_at(&proxy.url, &args), spawn_at(&proxy.url, &args));
    let (first, second) = (finish(first), finish(second));
    for run in [&first, &second] {
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    }
    let waited = [&first, &second]
        .iter()
        .filter(|r| r.stderr.contains("is locked in us-east-2 by"))
        .count();
    assert_eq!(
        waited, 1,
        "one waited for the other:\n{}\n---\n{}",
        first.stderr, second.stderr
    );
    assert_eq!(network_counts(&name).await, ONE_NETWORK);
    no_changes(&stack);
}

#[tokio::test]
async fn a_locked_stack_is_refused_with_the_holder_and_nothing_changes() {
    let name = unique("held");
    let stack = network_stack(&name);
    // The first run holds the lock while one of its calls hangs.
    let proxy = Proxy::start(endpoint(), 3);
    proxy.hang("CreateSecurityGroup");
    let holder = spawn_at(
        &proxy.url,
        &[
            "apply",
            stack.arg(),
            "--auto-approve",
            "--call-timeout",
            "4s",
        ],
    );
    wait_for(&proxy, "CreateSecurityGroup");
    let refused = stack.apply().expect(1);
    // The holder is named as the change record names its operator.
    let operator = std::env::var("RECONCILE_OPERATOR")
        .or_else(|_| std::env::var("GITHUB_ACTOR"))
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    assert!(
        refused.stderr.contains(&format!(
            "stack {name} is locked in us-east-2 by {operator}@"
        )) && refused.stderr.contains("(apply, since")
            && refused.stderr.contains("nothing was changed"),
        "{}",
        refused.stderr
    );
    // The command its hint names runs as written (the holder is alive: the
    // lock is not stale, so it is refused, not misused).
    let hint = refused
        .stderr
        .split('`')
        .find(|s| s.starts_with("reconcile unlock "))
        .unwrap_or_else(|| panic!("a hint to unlock: {}", refused.stderr));
    let unlock = run_cmd(reconcile().args(hint.split_whitespace().skip(1)));
    assert!(
        !unlock.stderr.contains("required arguments")
            && !unlock.stderr.contains("unexpected argument")
            && unlock.stderr.contains("which may still be running"),
        "{}",
        unlock.stderr
    );
    let first = finish(holder);
    assert_eq!(first.code, 1, "its security groups never got an answer");
    proxy.heal();
    // The lock was released when the first run ended, on its error.
    stack.apply().expect(0);
    assert_eq!(network_counts(&name).await, ONE_NETWORK);
}

#[tokio::test]
async fn a_create_that_never_returns_fails_within_the_timeout_and_the_rest_finishes() {
    let name = unique("hang");
    let stack = network_stack(&name);
    let proxy = Proxy::start(endpoint(), 5);
    proxy.hang("CreateSecurityGroup");
    let out = run_cmd(
        proxy
            .via()
            .args([
                "apply",
                stack.arg(),
                "--auto-approve",
                "--call-timeout",
                "2s",
            ])
            .timeout(Duration::from_secs(120)),
    )
    .expect(1);
    let report = &out.stdout;
    assert!(
        report.contains("failed   security_group.web (us-east-2): create: CreateSecurityGroup: NoAnswer: no answer in time"),
        "{report}"
    );
    assert!(
        report.contains(&format!("region us-east-2, endpoint {}", proxy.url)),
        "{report}"
    );
    for done in [
        "vpc.main",
        "subnet.a",
        "internet_gateway.main",
        "route_table.public",
    ] {
        assert!(
            report.contains(&format!("done     {done} (us-east-2)")),
            "{report}"
        );
    }
    assert!(!report.contains("DispatchFailure") && !out.stderr.contains("ConnectorError"));
    proxy.heal();
    stack.apply().expect(0);
    assert_eq!(network_counts(&name).await, ONE_NETWORK);
}

/// A read the endpoint did not answer in time may still be under way there
/// (an emulator filtering thousands of groups): it is sent again only after
/// waiting as long as the call was given, not at once on top of itself.
#[test]
fn a_read_that_timed_out_is_sent_again_only_after_waiting_as_long() {
    let stack = network_stack(&unique("slowread"));
    let proxy = Proxy::start(endpoint(), 9);
    proxy.on("DescribeSubnets", Fault::Hang, 1);
    run_cmd(
        proxy
            .via()
            .args(["plan", stack.arg(), "--call-timeout", "2s"])
            .timeout(Duration::from_secs(120)),
    )
    .expect(0);
    let sent: Vec<std::time::Instant> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.operation == "DescribeSubnets")
        .map(|s| s.at)
        .collect();
    assert_eq!(sent.len(), 2, "one timed out, one answered");
    let gap = sent[1] - sent[0];
    assert!(
        gap >= Duration::from_millis(3900),
        "2s without an answer, then 2s of waiting: {gap:?}"
    );
}

#[test]
fn an_endpoint_that_never_answers_fails_the_plan_with_where_and_what() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    // Accepts connections (the backlog does) and never answers.
    let stack = network_stack(&unique("silent"));
    let out = run_cmd(
        reconcile()
            .env("AWS_ENDPOINT_URL", &url)
            .args(["plan", stack.arg(), "--call-timeout", "1s"])
            .timeout(Duration::from_secs(120)),
    )
    .expect(1);
    assert!(
        out.stderr.contains("no answer in time")
            && out
                .stderr
                .contains(&format!("region us-east-2, endpoint {url}")),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("DispatchFailure("), "{}", out.stderr);
    drop(silent);
}

#[test]
fn a_refused_connection_says_nothing_was_sent() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let stack = network_stack(&unique("refused"));
    let out = run_cmd(
        reconcile()
            .env("AWS_ENDPOINT_URL", &url)
            .args(["plan", stack.arg(), "-v"]),
    )
    .expect(1);
    assert!(
        out.stderr
            .contains("could not connect to AWS, nothing was sent: connection refused")
            && out.stderr.contains(&url),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("DispatchFailure("), "{}", out.stderr);
}

#[tokio::test]
async fn killed_at_any_moment_a_rerun_converges() {
    for (i, after_ms) in [150u64, 600, 1200, 2500].into_iter().enumerate() {
        let name = unique(&format!("kill{i}"));
        let stack = network_stack(&name);
        let mut child = spawn(&["apply", stack.arg(), "--auto-approve"]);
        std::thread::sleep(Duration::from_millis(after_ms));
        // SIGKILL: no chance to release anything.
        child.kill().unwrap();
        child.wait().unwrap();
        // The lock of a process gone from this host is stale and can be broken.
        let unlocked = run(&["unlock", stack.arg()]).expect(0);
        assert!(
            unlocked.stdout.contains("not locked")
                || unlocked.stdout.contains("broke the lock held by"),
            "{}",
            unlocked.stdout
        );
        stack.apply().expect(0);
        no_changes(&stack);
        assert_eq!(
            network_counts(&name).await,
            ONE_NETWORK,
            "killed after {after_ms} ms"
        );
    }
}

#[tokio::test]
async fn a_stale_lock_is_broken_by_unlock_and_a_live_one_only_with_force() {
    let name = unique("stale");
    let stack = network_stack(&name);
    let client = crate::harness::ec2("us-east-2").await;
    let plant = |expires: u64, host: String, pid: u32| {
        let client = client.clone();
        let name = name.clone();
        async move {
            let holder = format!("ci@{host} (pid {pid})");
            client
                .create_key_pair()
                .key_name(format!("reconcile-lock-{name}"))
                .tag_specifications(
                    aws_sdk_ec2::types::TagSpecification::builder()
                        .resource_type(aws_sdk_ec2::types::ResourceType::KeyPair)
                        .tags(tag("reconcile:lock", &name))
                        .tags(tag("reconcile:lock-holder", &holder))
                        .tags(tag("reconcile:lock-host", &host))
                        .tags(tag("reconcile:lock-pid", &pid.to_string()))
                        .tags(tag("reconcile:lock-token", "theirs"))
                        .tags(tag("reconcile:lock-operation", "apply"))
                        .tags(tag("reconcile:lock-since", "1000"))
                        .tags(tag("reconcile:lock-expires", &expires.to_string()))
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
    };
    let elsewhere = || ("elsewhere".to_string(), 42);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();

    let (host, pid) = elsewhere();
    plant(now + 3600, host, pid).await;
    let refused = stack.apply().expect(1);
    assert!(
        refused
            .stderr
            .contains("locked in us-east-2 by ci@elsewhere (pid 42)"),
        "{}",
        refused.stderr
    );
    let kept = run(&["unlock", stack.arg()]).expect(1);
    assert!(
        kept.stderr.contains("may still be running") && kept.stderr.contains("--force"),
        "{}",
        kept.stderr
    );
    let forced = run(&["unlock", stack.arg(), "--force"]).expect(0);
    assert!(
        forced
            .stdout
            .contains("broke the lock held by ci@elsewhere (pid 42)"),
        "{}",
        forced.stdout
    );

    let (host, pid) = elsewhere();
    plant(now - 60, host, pid).await;
    let refused = stack.apply().expect(1);
    assert!(refused.stderr.contains("looks stale"), "{}", refused.stderr);
    // The hint names a command that works: unlock takes the stack file.
    assert!(
        refused
            .stderr
            .contains(&format!("break it with `reconcile unlock {}`", stack.arg())),
        "{}",
        refused.stderr
    );
    let broken = run(&["unlock", stack.arg()]).expect(0);
    assert!(broken.stdout.contains("it expired at"), "{}", broken.stdout);
    stack.apply().expect(0);
    assert_eq!(network_counts(&name).await, ONE_NETWORK);

    // A run on this host killed with kill -9: its process is provably gone,
    // and the next run takes the lock over by itself, saying whose it was.
    let this_host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    let mut killed = std::process::Command::new("true").spawn().unwrap();
    let dead = killed.id();
    killed.wait().unwrap();
    plant(now + 3600, this_host.clone(), dead).await;
    let taken = stack.apply().expect(0);
    assert!(
        taken.stderr.contains(&format!(
            "took over the lock of stack {name} in us-east-2 from ci@{this_host} (pid {dead})"
        )) && taken
            .stderr
            .contains(&format!("process {dead} on this host is gone")),
        "{}",
        taken.stderr
    );
}

#[tokio::test]
async fn an_interrupted_apply_gives_its_lock_back() {
    let name = unique("sigint");
    let stack = network_stack(&name);
    let proxy = Proxy::start(endpoint(), 9);
    proxy.hang("CreateSecurityGroup");
    let child = spawn_at(&proxy.url, &["apply", stack.arg(), "--auto-approve"]);
    wait_for(&proxy, "CreateSecurityGroup");
    // Ctrl-C, as a person at the terminal (CI cancels with SIGTERM, handled alike).
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = finish(child);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("interrupted: steps under way were abandoned and the lock released"),
        "{}",
        out.stderr
    );
    proxy.heal();
    // No unlock needed: the lock went with the interrupted run.
    stack.apply().expect(0);
    assert_eq!(network_counts(&name).await, ONE_NETWORK);
}

/// An endpoint without ELBv2 and RDS (LocalStack's community edition answers
/// 501 "not included in your current license plan"): a network-only stack
/// plans and applies, warned once per service; a stack with a load balancer
/// is refused with what to do; the 501 is never asked again.
#[tokio::test]
async fn a_service_the_endpoint_lacks_is_a_warning_unless_the_stack_declares_its_kinds() {
    let name = unique("nolb");
    let region = "eu-north-1";
    let stack = StackFile::new(&vpc_stack(&name, region, ""));
    let proxy = Proxy::start(endpoint(), 501);
    proxy.without("elasticloadbalancing").without("rds");
    // Each run asks ELBv2 its two first reads together and gives up on the
    // first 501: the other may or may not have been sent. Never retried:
    // no operation twice in a run.
    let asked_in = |run: &dyn Fn() -> Run| {
        let before = proxy.seen().len();
        let out = run();
        let asked: Vec<String> = proxy.seen()[before..]
            .iter()
            .filter(|s| s.service == "elasticloadbalancing")
            .map(|s| s.operation.clone())
            .collect();
        let mut once = asked.clone();
        once.sort();
        once.dedup();
        assert!(
            !asked.is_empty() && once.len() == asked.len(),
            "once per run, never retried: {asked:?}"
        );
        out
    };
    let plan = asked_in(&|| run_cmd(proxy.via().args(["plan", stack.arg()])).expect(0));
    for service in ["elbv2", "rds"] {
        let warning = format!("Warning: {service} is not available at {}", proxy.url);
        assert_eq!(plan.stdout.matches(&warning).count(), 1, "{}", plan.stdout);
    }
    assert!(plan.stdout.contains("load_balancer, target_group, listener, listener_rule are not read in eu-north-1, so none this stack left there is pruned"), "{}", plan.stdout);
    asked_in(&|| run_cmd(proxy.via().args(["apply", stack.arg(), "--auto-approve"])).expect(0));
    let again = asked_in(&|| {
        run_cmd(
            proxy
                .via()
                .args(["plan", stack.arg(), "--detailed-exitcode"]),
        )
        .expect(0)
    });
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);

    let with_group = StackFile::new(&vpc_stack(
        &name,
        region,
        "\n[target_group.web]\nvpc = \"vpc.main\"\nprotocol = \"HTTP\"\nport = 80\n",
    ));
    let refused = run_cmd(proxy.via().args(["plan", with_group.arg()])).expect(1);
    assert!(
        refused.stderr.contains(&format!(
            "elbv2 is not available at {} (InternalFailure: The API for service elasticloadbalancing is either not included",
            proxy.url
        )) && refused
            .stderr
            .contains(&format!("stack {name} declares target_group in {region}"))
            && refused.stderr.contains("LocalStack's community edition has no ELBv2 and no RDS"),
        "{}",
        refused.stderr
    );
}
