//! Plan and apply of the network layer against the emulator: create, no-op,
//! drift, prune, ownership, replacement, protection, partial failure, call counts.

use crate::harness::{
    actions, ec2, endpoint, has_tag, live, network, reconcile, run, run_cmd, tag, unique,
    vpc_stack, with_emulator, StackFile,
};
use crate::proxy::{Fault, Proxy};
use aws_sdk_ec2::types::{
    AttributeBooleanValue, IpPermission, IpRange, ResourceType, SecurityGroup, TagSpecification,
};

const REGION: &str = "us-east-2";

fn ingress_ports(group: &SecurityGroup) -> Vec<i32> {
    let mut ports: Vec<i32> = group
        .ip_permissions()
        .iter()
        .filter_map(|p| p.from_port())
        .collect();
    ports.sort();
    ports
}

/// `network` with `count` instances of `instance.web` in its subnet and group.
fn network_with_instances(name: &str, count: u32) -> String {
    format!(
        "{}\n[instance.web]\nami = \"ami-0a1b2c3d4e5f60718\"\ninstance_type = \"t3.micro\"\n\
         subnet = \"subnet.a\"\nsecurity_groups = [\"security_group.web\"]\ncount = {count}\n",
        network(name, REGION)
    )
}

fn tcp_from_anywhere(port: i32) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build()
}

fn no_changes(stack: &StackFile) {
    let plan = run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
    assert!(plan.stdout.starts_with("No changes."), "{}", plan.stdout);
}

#[tokio::test]
async fn creates_from_nothing_then_plans_no_op() {
    let name = unique("create");
    let stack = StackFile::new(&network(&name, REGION));

    let plan = run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout
            .contains("Plan: 5 to add, 0 to change, 0 to replace, 0 to destroy."),
        "{}",
        plan.stdout
    );
    let applied = stack.apply().expect(0);
    assert!(
        applied
            .stdout
            .contains("Apply complete: 5 created, 0 updated, 0 deleted."),
        "{}",
        applied.stdout
    );

    let live = live(REGION, &name).await;
    assert_eq!(live.vpcs.len(), 1);
    assert_eq!(live.vpcs[0].cidr_block(), Some("10.0.0.0/16"));
    let subnet = &live.subnets[0];
    assert_eq!(subnet.availability_zone(), Some("us-east-2a"));
    assert_eq!(subnet.vpc_id(), live.vpcs[0].vpc_id());
    let igw = live.gateways[0].internet_gateway_id();
    let table = &live.tables[0];
    assert!(table
        .routes()
        .iter()
        .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0") && r.gateway_id() == igw));
    assert!(table
        .associations()
        .iter()
        .any(|a| a.subnet_id() == subnet.subnet_id()));
    assert_eq!(ingress_ports(&live.groups[0]), vec![80]);

    no_changes(&stack);
}

#[tokio::test]
async fn drift_made_in_the_console_is_detected_and_corrected() {
    let name = unique("drift");
    let stack = StackFile::new(&network(&name, REGION));
    stack.apply().expect(0);
    let client = ec2(REGION).await;
    let before = live(REGION, &name).await;
    let (vpc_id, group_id) = (
        before.vpcs[0].vpc_id().unwrap(),
        before.groups[0].group_id().unwrap(),
    );

    // A colleague renames the VPC, adds a tag, deletes the port 80 rule and opens SSH.
    client
        .create_tags()
        .resources(vpc_id)
        .tags(tag("Name", "hand-edited"))
        .tags(tag("owner", "bob"))
        .send()
        .await
        .unwrap();
    client
        .revoke_security_group_ingress()
        .group_id(group_id)
        .ip_permissions(tcp_from_anywhere(80))
        .send()
        .await
        .unwrap();
    client
        .authorize_security_group_ingress()
        .group_id(group_id)
        .ip_permissions(tcp_from_anywhere(22))
        .send()
        .await
        .unwrap();

    assert_eq!(
        actions(&stack.plan_json()),
        vec![
            format!("update security_group.web@{REGION}"),
            format!("update vpc.main@{REGION}")
        ]
    );
    let human = run(&["plan", stack.arg(), "--detailed-exitcode"])
        .expect(2)
        .stdout;
    assert!(human.contains(r#"~ Name = "hand-edited" → "#), "{human}");
    assert!(human.contains(r#"- owner = "bob""#), "{human}");
    assert!(
        human.contains(r#"+ { cidr = "0.0.0.0/0", ports = "80", protocol = "tcp" }"#),
        "{human}"
    );
    assert!(
        human.contains(r#"- { cidr = "0.0.0.0/0", ports = "22", protocol = "tcp" }"#),
        "{human}"
    );

    run(&[
        "apply",
        stack.arg(),
        "--auto-approve",
        "--version-label",
        "infra:v2",
    ])
    .expect(0);
    no_changes(&stack);
    let after = live(REGION, &name).await;
    assert_eq!(ingress_ports(&after.groups[0]), vec![80]);
    let vpc = &after.vpcs[0];
    assert!(!vpc.tags().iter().any(|t| t.key() == Some("owner")));
    assert!(has_tag(vpc.tags(), "Name", &format!("{name}-main")));
    for tags in [vpc.tags(), after.groups[0].tags()] {
        assert!(
            has_tag(tags, "reconcile:version", "infra:v2"),
            "the apply that changed it is recorded: {tags:?}"
        );
    }
}

#[tokio::test]
async fn removing_a_block_prunes_the_resource() {
    let name = unique("prune");
    let full = network(&name, REGION);
    let stack = StackFile::new(&full);
    stack.apply().expect(0);
    let group_id = live(REGION, &name).await.groups[0]
        .group_id()
        .unwrap()
        .to_string();

    stack.write(full.split("[security_group.web]").next().unwrap());
    assert_eq!(
        actions(&stack.plan_json()),
        vec![format!("delete security_group.web@{REGION}")]
    );
    let human = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        human.contains(&format!(
            "- security_group.web ({group_id}) will be deleted (not in the stack file)"
        )),
        "{human}"
    );

    stack.apply().expect(0);
    assert!(live(REGION, &name).await.groups.is_empty());
    no_changes(&stack);
}

#[tokio::test]
async fn an_untagged_look_alike_vpc_is_never_touched() {
    let name = unique("lookalike");
    let region = "us-west-1";
    let client = ec2(region).await;
    let stranger = client
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Vpc)
                .tags(tag("Name", &format!("{name}-main")))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let stranger_id = stranger.vpc().unwrap().vpc_id().unwrap();

    let stack = StackFile::new(&vpc_stack(&name, region, ""));
    assert_eq!(
        actions(&stack.plan_json()),
        vec![format!("create vpc.main@{region}")]
    );
    stack.apply().expect(0);
    no_changes(&stack);

    // Emptying the stack prunes what it owns, and only that.
    stack.write(&format!(
        "[stack]\nname = \"{name}\"\nregions = [\"{region}\"]\n"
    ));
    assert_eq!(
        actions(&stack.plan_json()),
        vec![format!("delete vpc.main@{region}")]
    );
    stack.apply().expect(0);
    let still = client
        .describe_vpcs()
        .vpc_ids(stranger_id)
        .send()
        .await
        .unwrap();
    let still = &still.vpcs()[0];
    assert_eq!(
        still.tags().len(),
        1,
        "its tags are untouched: {:?}",
        still.tags()
    );
    assert!(live(region, &name).await.vpcs.is_empty());
}

#[tokio::test]
async fn a_zone_change_replaces_the_subnet_and_repoints_its_route_table() {
    let name = unique("replace");
    let full = network(&name, REGION);
    let stack = StackFile::new(&full);
    stack.apply().expect(0);
    let old_subnet = live(REGION, &name).await.subnets[0]
        .subnet_id()
        .unwrap()
        .to_string();

    stack.write(&full.replace("zone = \"a\"", "zone = \"b\""));
    let plan = stack.plan_json();
    assert_eq!(
        actions(&plan),
        vec![
            format!("replace subnet.a@{REGION}"),
            format!("update route_table.public@{REGION}")
        ]
    );
    let subnet = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "subnet.a")
        .unwrap();
    let zone = subnet["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "zone")
        .unwrap();
    assert_eq!(zone["forces_replacement"], true);
    assert_eq!(
        (zone["before"].as_str(), zone["after"].as_str()),
        (Some("us-east-2a"), Some("us-east-2b"))
    );
    let human = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(human.contains("-/+ subnet.a"), "{human}");
    assert!(
        human.contains(r#"zone = "us-east-2a" → "us-east-2b" # forces replacement"#),
        "{human}"
    );

    stack.apply().expect(0);
    no_changes(&stack);
    let after = live(REGION, &name).await;
    assert_eq!(after.subnets.len(), 1);
    let new_subnet = &after.subnets[0];
    assert_ne!(new_subnet.subnet_id().unwrap(), old_subnet);
    assert_eq!(new_subnet.availability_zone(), Some("us-east-2b"));
    let associated: Vec<_> = after.tables[0]
        .associations()
        .iter()
        .filter_map(|a| a.subnet_id())
        .collect();
    assert_eq!(associated, vec![new_subnet.subnet_id().unwrap()]);
}

#[tokio::test]
async fn a_protected_vpc_is_never_replaced_or_deleted() {
    let name = unique("protect");
    let region = "ca-central-1";
    let stack = StackFile::new(&vpc_stack(&name, region, "protect = true\n"));
    stack.apply().expect(0);
    let vpc = &live(region, &name).await.vpcs[0];
    let vpc_id = vpc.vpc_id().unwrap().to_string();
    assert!(has_tag(vpc.tags(), "reconcile:protect", "true"));

    let moved = |protect: bool| {
        vpc_stack(&name, region, &format!("protect = {protect}\n"))
            .replace("10.0.0.0/16", "10.1.0.0/16")
    };
    stack.write(&moved(true));
    let refused = run(&["plan", stack.arg()]).expect(1);
    let expected = format!(
        "vpc.main in {region} ({vpc_id}) is protected and this plan would replace it: `cidr`"
    );
    assert!(refused.stderr.contains(&expected), "{}", refused.stderr);
    run(&["apply", stack.arg(), "--auto-approve"]).expect(1);

    // Deleting the block does not lose it either: the protection lives on the VPC.
    stack.write(&format!(
        "[stack]\nname = \"{name}\"\nregions = [\"{region}\"]\n"
    ));
    let refused = run(&["apply", stack.arg(), "--auto-approve"]).expect(1);
    assert!(
        refused
            .stderr
            .contains("is protected and this plan would delete it (not in the stack file)"),
        "{}",
        refused.stderr
    );
    assert_eq!(live(region, &name).await.vpcs[0].vpc_id(), Some(&*vpc_id));

    // Releasing protection is its own visible step; then the replacement goes through.
    stack.write(&vpc_stack(&name, region, "protect = false\n"));
    let release = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(release.contains("~ protect = true → false"), "{release}");
    stack.apply().expect(0);
    stack.write(&moved(false));
    stack.apply().expect(0);
    let vpcs = live(region, &name).await.vpcs;
    assert_eq!(vpcs.len(), 1);
    assert_eq!(vpcs[0].cidr_block(), Some("10.1.0.0/16"));
}

#[tokio::test]
async fn a_failure_halfway_skips_dependents_finishes_the_rest_and_a_rerun_converges() {
    let name = unique("partial");
    let region = "eu-west-2";
    let text = |web_source: &str| {
        format!(
            r#"
[stack]
name = "{name}"
regions = ["{region}"]

[vpc.main]
cidr = "10.0.0.0/16"

[subnet.a]
vpc = "vpc.main"
cidr = "10.0.1.0/24"
zone = "a"

[security_group.web]
vpc = "vpc.main"
ingress = [{{ protocol = "tcp", port = 443, {web_source} }}]

[security_group.app]
vpc = "vpc.main"
ingress = [{{ protocol = "tcp", port = 8080, security_group = "security_group.web" }}]
"#
        )
    };
    // A group that does not exist: valid in the file, rejected by AWS.
    let stack = StackFile::new(&text(r#"security_group = "sg-0000dead0000dead0""#));
    let report = stack.apply().expect(1).stdout;
    assert!(report.contains("1 failed, 1 skipped, 3 done."), "{report}");
    assert!(
        report.contains(&format!("failed   security_group.web ({region}): create:")),
        "{report}"
    );
    assert!(report.contains("InvalidGroup.NotFound"), "{report}");
    // The group naming it is created; its rule naming the failed one waits.
    let skipped = format!("skipped  security_group.app ({region}): add rules to waits on security_group.web ({region}), which failed");
    assert!(report.contains(&skipped), "{report}");
    assert!(
        report.contains(&format!(
            "done     security_group.app ({region}): create sg-"
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!("done     vpc.main ({region}): create vpc-")),
        "{report}"
    );
    assert!(
        report.contains(&format!("done     subnet.a ({region}): create subnet-")),
        "{report}"
    );

    // The plan shows exactly the remaining work: the half-made group, and the
    // rule of the other that names it.
    assert_eq!(
        actions(&stack.plan_json()),
        vec![
            format!("update security_group.app@{region}"),
            format!("update security_group.web@{region}")
        ]
    );
    stack.write(&text(r#"cidr = "0.0.0.0/0""#));
    stack.apply().expect(0);
    no_changes(&stack);
}

#[tokio::test]
async fn plan_call_count_does_not_grow_with_the_number_of_subnets() {
    let region = "ap-southeast-2";
    let with_subnets = |n: usize| {
        let mut text = vpc_stack(&unique("scale"), region, "");
        for i in 0..n {
            text.push_str(&format!(
                "\n[subnet.s{i}]\nvpc = \"vpc.main\"\ncidr = \"10.0.{i}.0/24\"\nzone = \"a\"\n"
            ));
        }
        StackFile::new(&text)
    };
    let mut calls = Vec::new();
    for n in [1, 20] {
        let stack = with_subnets(n);
        stack.apply().expect(0);
        let plan = stack.plan_json();
        assert_eq!(plan["summary"]["no_op"], n + 1);
        let mut per_service = plan["aws_calls"].clone();
        // Route53 is global: its listing depends on every zone in the account,
        // which other tests create concurrently.
        per_service.as_object_mut().unwrap().remove("route53");
        calls.push(per_service);
    }
    assert_eq!(calls[0], calls[1], "calls with 1 and with 20 subnets");
    assert_eq!(
        calls[0],
        serde_json::json!({"cloudwatch": 1, "ec2": 8 + 1, "elbv2": 2, "rds": 3, "tagging": 2, "acm": 1, "iam": 2, "autoscaling": 1, "sts": 1}),
        "whose credentials these are, once (the account guard); \
         one Describe per EC2 kind and the regions record the apply left (a key pair); \
         the other services list once each (nothing of theirs to tag here; ACM's \
         certificates and the alarms named on their own each through the tagging API, \
         and at an emulator's endpoint, where it found no certificate, one ListCertificates; IAM, global, one ListRoles and one \
         ListInstanceProfiles with the stack's path); no other \
         region is searched: the record lists none"
    );

    // A stack never applied has no record: every region that may hold what it
    // left is searched, as with --search-all-regions.
    // The regions searched: opted in, and in the stack's partition (LocalStack
    // lists GovCloud's and China's regions too).
    let partition = |r: &str| r.starts_with("cn-") || r.starts_with("us-gov-");
    let enabled = ec2(region)
        .await
        .describe_regions()
        .send()
        .await
        .unwrap()
        .regions()
        .iter()
        .filter(|r| r.opt_in_status() != Some("not-opted-in"))
        .filter(|r| partition(r.region_name().unwrap()) == partition(region))
        .count();
    let searched = |args: &[&str]| {
        let plan: serde_json::Value = serde_json::from_str(&run(args).expect(0).stdout).unwrap();
        let mut per_service = plan["aws_calls"].clone();
        per_service.as_object_mut().unwrap().remove("route53");
        per_service
    };
    // The region read: ACM and alarms through the tagging API (and one
    // ListCertificates at an emulator); every other region: one tagging query.
    let every_region = serde_json::json!({
        "cloudwatch": 1, "ec2": 8 + 1 + 1, "elbv2": 2, "rds": 3, "acm": 1, "iam": 2, "autoscaling": 1,
        "tagging": 2 + enabled - 1, "sts": 1
    });
    let fresh = with_subnets(2);
    assert_eq!(
        searched(&["plan", "--json", fresh.arg()]),
        every_region,
        "DescribeRegions and one tagging query per other region"
    );
    let applied = with_subnets(1);
    applied.apply().expect(0);
    assert_eq!(
        searched(&["plan", "--json", "--search-all-regions", applied.arg()]),
        every_region
    );

    let stats = run(&["plan", "--stats", applied.arg()]).expect(0);
    for line in [
        "(acm=1, autoscaling=1, cloudwatch=1, ec2=9, elbv2=2, iam=2, rds=3, route53=",
        &format!("discover {region} ec2"),
        "compare",
    ] {
        assert!(stats.stderr.contains(line), "{line}: {}", stats.stderr);
    }
}

#[tokio::test]
async fn apply_without_a_terminal_refuses_unless_auto_approved() {
    let name = unique("tty");
    let stack = StackFile::new(&network(&name, "eu-north-1"));
    let refused = run_cmd(
        reconcile()
            .args(["apply", stack.arg()])
            .write_stdin("yes\n"),
    )
    .expect(1);
    assert!(
        refused.stderr.contains("stdin is not a terminal"),
        "{}",
        refused.stderr
    );
    assert!(
        live("eu-north-1", &name).await.vpcs.is_empty(),
        "nothing was created"
    );
}

#[tokio::test]
async fn apply_on_a_terminal_asks_and_only_yes_proceeds() {
    let name = unique("prompt");
    let region = "ap-northeast-2";
    let stack = StackFile::new(&vpc_stack(&name, region, ""));
    let binary = assert_cmd::cargo::cargo_bin("reconcile");
    // `script` gives the binary a terminal; what we write to it is typed at the prompt.
    let answer = |reply: &str| {
        let line = format!("'{}' apply '{}'", binary.display(), stack.arg());
        let mut cmd = assert_cmd::Command::new("script");
        with_emulator(&mut cmd)
            .args(["-qec", &line, "/dev/null"])
            .write_stdin(reply);
        run_cmd(&mut cmd)
    };
    let declined = answer("no\n").expect(1);
    assert!(
        declined
            .stdout
            .contains("Do you want to perform these actions?"),
        "{}",
        declined.stdout
    );
    assert!(
        declined
            .stdout
            .contains("apply cancelled; nothing was changed"),
        "{}",
        declined.stdout
    );
    assert!(live(region, &name).await.vpcs.is_empty());

    let accepted = answer("yes\n").expect(0);
    assert!(
        accepted.stdout.contains("Apply complete: 1 created"),
        "{}",
        accepted.stdout
    );
    assert_eq!(live(region, &name).await.vpcs.len(), 1);
}

#[tokio::test]
async fn a_duplicate_left_by_an_interrupted_create_is_pruned() {
    let name = unique("dup");
    let region = "eu-central-1";
    let stack = StackFile::new(&vpc_stack(&name, region, ""));
    stack.apply().expect(0);
    // A second VPC carrying the same ownership tags, as a create retried after a timeout leaves.
    ec2(region)
        .await
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Vpc)
                .tags(tag("reconcile:stack", &name))
                .tags(tag("reconcile:id", "vpc.main"))
                .tags(tag("Name", &format!("{name}-main")))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(live(region, &name).await.vpcs.len(), 2);

    let plan = stack.plan_json();
    assert_eq!(actions(&plan), vec![format!("delete vpc.main@{region}")]);
    let delete = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "delete")
        .unwrap();
    assert!(
        delete["reason"]
            .as_str()
            .unwrap()
            .starts_with("duplicate of vpc-"),
        "{delete}"
    );
    stack.apply().expect(0);
    assert_eq!(live(region, &name).await.vpcs.len(), 1);
    no_changes(&stack);
}

#[tokio::test]
async fn detached_gateway_deleted_route_and_flipped_subnet_attribute_are_repaired_in_place() {
    let name = unique("inplace");
    let region = "us-west-2";
    let stack = StackFile::new(&network(&name, region));
    stack.apply().expect(0);
    let client = ec2(region).await;
    let before = live(region, &name).await;
    let vpc_id = before.vpcs[0].vpc_id().unwrap();
    let igw = before.gateways[0].internet_gateway_id().unwrap();
    let subnet = before.subnets[0].subnet_id().unwrap();
    let table = before.tables[0].route_table_id().unwrap();

    client
        .delete_route()
        .route_table_id(table)
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    client
        .detach_internet_gateway()
        .internet_gateway_id(igw)
        .vpc_id(vpc_id)
        .send()
        .await
        .unwrap();
    client
        .modify_subnet_attribute()
        .subnet_id(subnet)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();

    assert_eq!(
        actions(&stack.plan_json()),
        vec![
            format!("update internet_gateway.main@{region}"),
            format!("update route_table.public@{region}"),
            format!("update subnet.a@{region}"),
        ]
    );
    stack.apply().expect(0);
    no_changes(&stack);
    let after = live(region, &name).await;
    assert_eq!(after.gateways[0].attachments()[0].vpc_id(), Some(vpc_id));
    assert_eq!(after.subnets[0].map_public_ip_on_launch(), Some(false));
    assert!(after.tables[0]
        .routes()
        .iter()
        .any(|r| r.gateway_id() == Some(igw)));
}

#[tokio::test]
async fn per_region_values_and_region_restricted_resources() {
    let name = unique("regional");
    let (west, east) = ("us-west-1", "us-east-1");
    let stack = StackFile::new(&format!(
        r#"
[stack]
name = "{name}"
regions = ["{west}", "{east}"]

[vpc.main]
cidr = {{ {west} = "10.1.0.0/16", default = "10.2.0.0/16" }}

[subnet.only_west]
vpc = "vpc.main"
regions = ["{west}"]
cidr = "10.1.9.0/24"
zone = "b"
"#
    ));
    assert_eq!(
        actions(&stack.plan_json()),
        vec![
            format!("create subnet.only_west@{west}"),
            format!("create vpc.main@{east}"),
            format!("create vpc.main@{west}"),
        ]
    );
    let east_only = run(&["plan", stack.arg(), "--region", east, "--json"])
        .expect(0)
        .json();
    assert_eq!(actions(&east_only), vec![format!("create vpc.main@{east}")]);

    stack.apply().expect(0);
    no_changes(&stack);
    let (west_live, east_live) = (live(west, &name).await, live(east, &name).await);
    assert_eq!(west_live.vpcs[0].cidr_block(), Some("10.1.0.0/16"));
    assert_eq!(west_live.subnets[0].availability_zone(), Some("us-west-1b"));
    assert_eq!(east_live.vpcs[0].cidr_block(), Some("10.2.0.0/16"));
    assert!(east_live.subnets.is_empty());

    let bad_region = run(&["plan", stack.arg(), "--region", "eu-west-1"]).expect(1);
    assert!(
        bad_region
            .stderr
            .contains("--region eu-west-1 is not a region of stack"),
        "{}",
        bad_region.stderr
    );
}

#[test]
fn apply_json_reports_even_when_there_is_nothing_to_do() {
    let name = unique("json-noop");
    let stack = StackFile::new(&vpc_stack(&name, REGION, ""));
    stack.apply().expect(0);
    let out = run(&["apply", stack.arg(), "--auto-approve", "--json"]).expect(0);
    let report = out.json();
    assert_eq!(report["stack"], name.as_str());
    assert_eq!(report["entries"], serde_json::json!([]));
    assert!(report["aws_calls"]["ec2"].as_u64().unwrap() > 0, "{report}");
}

#[tokio::test]
async fn a_route_to_a_nat_gateway_is_declared_by_live_id_and_kept() {
    let name = unique("nat");
    let text = network(&name, REGION);
    let stack = StackFile::new(&text);
    stack.apply().expect(0);
    let client = ec2(REGION).await;
    let l = live(REGION, &name).await;
    let subnet = l.subnets[0].subnet_id().unwrap().to_string();
    let table = l.tables[0].route_table_id().unwrap().to_string();
    // The NAT gateway is made elsewhere (another stack, the console).
    let eip = client
        .allocate_address()
        .domain(aws_sdk_ec2::types::DomainType::Vpc)
        .send()
        .await
        .unwrap();
    let nat = client
        .create_nat_gateway()
        .subnet_id(&subnet)
        .allocation_id(eip.allocation_id().unwrap())
        .send()
        .await
        .unwrap()
        .nat_gateway()
        .unwrap()
        .nat_gateway_id()
        .unwrap()
        .to_string();

    stack.write(&text.replace(
        r#"routes = [{ cidr = "0.0.0.0/0", gateway = "internet_gateway.main" }]"#,
        &format!(
            r#"routes = [{{ cidr = "0.0.0.0/0", gateway = "internet_gateway.main" }}, {{ cidr = "192.168.0.0/16", nat_gateway = "{nat}" }}]"#
        ),
    ));
    let plan = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        plan.contains(&format!(
            r#"+ {{ cidr = "192.168.0.0/16", nat_gateway = "{nat}" }}"#
        )),
        "{plan}"
    );
    stack.apply().expect(0);
    let routes = client
        .describe_route_tables()
        .route_table_ids(&table)
        .send()
        .await
        .unwrap();
    let to_nat = routes.route_tables()[0]
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("192.168.0.0/16"))
        .and_then(|r| r.nat_gateway_id())
        .map(str::to_string);
    assert_eq!(to_nat.as_deref(), Some(nat.as_str()));
    no_changes(&stack);
}

/// A NAT gateway the stack owns, with its Elastic IP: private subnets route to
/// it by reference; removing it deletes it and releases its address.
#[tokio::test]
async fn a_nat_gateway_is_created_with_its_address_routed_to_and_released_when_removed() {
    let name = unique("natgw");
    let private = |with_nat: bool| {
        let (nat, route) = if with_nat {
            (
                "\n[nat_gateway.main]\nsubnet = \"subnet.a\"\n",
                r#"[{ cidr = "0.0.0.0/0", nat_gateway = "nat_gateway.main" }]"#,
            )
        } else {
            ("", "[]")
        };
        format!(
            "{}{nat}\n[subnet.private]\nvpc = \"vpc.main\"\ncidr = \"10.0.2.0/24\"\nzone = \"a\"\n\n[route_table.private]\nvpc = \"vpc.main\"\nsubnets = [\"subnet.private\"]\nroutes = {route}\n",
            network(&name, REGION)
        )
    };
    let stack = StackFile::new(&private(true));
    let plan = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        plan.contains("+ nat_gateway.main will be created"),
        "{plan}"
    );
    stack.apply().expect(0);
    let client = ec2(REGION).await;
    let owned = |key: &str, value: &str| {
        aws_sdk_ec2::types::Filter::builder()
            .name(format!("tag:{key}"))
            .values(value)
            .build()
    };
    let nats = client
        .describe_nat_gateways()
        .filter(owned("reconcile:stack", &name))
        .send()
        .await
        .unwrap()
        .nat_gateways()
        .to_vec();
    assert_eq!(nats.len(), 1);
    let nat = nats[0].nat_gateway_id().unwrap().to_string();
    assert_eq!(nats[0].state().map(|s| s.as_str()), Some("available"));
    let addresses = || async {
        client
            .describe_addresses()
            .filters(owned("reconcile:stack", &name))
            .send()
            .await
            .unwrap()
            .addresses()
            .to_vec()
    };
    let eips = addresses().await;
    assert_eq!(eips.len(), 1, "one Elastic IP, tagged as the gateway");
    assert_eq!(
        nats[0].nat_gateway_addresses()[0].allocation_id(),
        eips[0].allocation_id()
    );
    let l = live(REGION, &name).await;
    let to_nat: Vec<_> = l
        .tables
        .iter()
        .flat_map(|t| t.routes())
        .filter_map(|r| r.nat_gateway_id())
        .collect();
    assert_eq!(to_nat, [nat.as_str()], "the private table routes to it");
    no_changes(&stack);

    stack.write(&private(false));
    let plan = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        plan.contains(&format!("- nat_gateway.main ({nat}) will be deleted")),
        "{plan}"
    );
    stack.apply().expect(0);
    let state = client
        .describe_nat_gateways()
        .nat_gateway_ids(&nat)
        .send()
        .await
        .unwrap()
        .nat_gateways()[0]
        .state()
        .map(|s| s.as_str().to_string());
    assert_eq!(state.as_deref(), Some("deleted"));
    assert!(addresses().await.is_empty(), "its Elastic IP is released");
    no_changes(&stack);
}

/// The least-privilege pattern: the load balancer's group allows egress only
/// to the app's group, which allows ingress only from the load balancer's.
/// Both are created first, their rules naming each other after; both go
/// when removed.
#[tokio::test]
async fn two_security_groups_naming_each_other_are_created_and_deleted() {
    let name = unique("mutual");
    let groups = r#"
[security_group.alb]
vpc = "vpc.main"
description = "load balancer"
ingress = [{ protocol = "tcp", port = 443, cidr = "0.0.0.0/0" }]
egress = [{ protocol = "tcp", port = 8080, security_group = "security_group.app" }]

[security_group.app]
vpc = "vpc.main"
description = "app"
ingress = [
  { protocol = "tcp", port = 8080, security_group = "security_group.alb" },
  { protocol = "tcp", port = 9000, security_group = "security_group.app" },
]
"#;
    let base = vpc_stack(&name, REGION, "");
    let stack = StackFile::new(&format!("{base}{groups}"));
    let applied = stack.apply().expect(0);
    assert!(
        applied
            .stderr
            .contains("security_group.alb (us-east-2): added its rules to")
            && applied
                .stderr
                .contains("security_group.app (us-east-2): added its rules to"),
        "{}",
        applied.stderr
    );
    let l = live(REGION, &name).await;
    let id = |group: &str| {
        l.groups
            .iter()
            .find(|g| g.group_name() == Some(&format!("{name}-{group}")))
            .and_then(|g| g.group_id())
            .unwrap()
            .to_string()
    };
    let (alb, app) = (id("alb"), id("app"));
    let names = |perms: &[IpPermission]| -> Vec<(i32, String)> {
        let mut v: Vec<(i32, String)> = perms
            .iter()
            .flat_map(|p| {
                p.user_id_group_pairs().iter().map(|g| {
                    (
                        p.from_port().unwrap_or(-1),
                        g.group_id().unwrap().to_string(),
                    )
                })
            })
            .collect();
        v.sort();
        v
    };
    let group = |gid: &str| l.groups.iter().find(|g| g.group_id() == Some(gid)).unwrap();
    assert_eq!(
        names(group(&alb).ip_permissions_egress()),
        [(8080, app.clone())]
    );
    assert_eq!(
        names(group(&app).ip_permissions()),
        [(8080, alb.clone()), (9000, app.clone())]
    );
    assert_eq!(ingress_ports(group(&alb)), [443]);
    no_changes(&stack);

    stack.write(&base);
    stack.apply().expect(0);
    assert!(live(REGION, &name).await.groups.is_empty(), "both deleted");
    no_changes(&stack);
}

#[tokio::test]
async fn a_renamed_block_declared_moved_is_retagged_in_place() {
    let name = unique("moved");
    let text = network(&name, REGION);
    let stack = StackFile::new(&text);
    stack.apply().expect(0);
    let before = live(REGION, &name).await.subnets[0]
        .subnet_id()
        .unwrap()
        .to_string();

    let renamed = text.replace("subnet.a", "subnet.public_a");
    // Without the declaration, the plan says why it would fail, and how to keep it.
    stack.write(&renamed);
    let undeclared = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        undeclared.contains(&format!(
            "Warning: subnet.public_a in {REGION}: its CIDR \"10.0.1.0/24\" is held by subnet.a ({before}), which this plan deletes"
        )) && undeclared.contains(r#"declare [[moved]] from = "subnet.a" to = "subnet.public_a""#),
        "{undeclared}"
    );
    stack.write(&format!(
        "{renamed}\n[[moved]]\nfrom = \"subnet.a\"\nto = \"subnet.public_a\"\n"
    ));
    let plan = stack.plan_json();
    assert_eq!(
        actions(&plan),
        vec![format!("update subnet.public_a@{REGION}")],
        "no create, no delete"
    );
    let shown = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        shown.contains(
            r#"~ address = "subnet.a" → "subnet.public_a" # [[moved]]: retagged in place"#
        ),
        "{shown}"
    );
    stack.apply().expect(0);
    let after = live(REGION, &name).await;
    assert_eq!(after.subnets.len(), 1);
    assert_eq!(
        after.subnets[0].subnet_id(),
        Some(before.as_str()),
        "the same subnet"
    );
    assert!(has_tag(
        after.subnets[0].tags(),
        "reconcile:id",
        "subnet.public_a"
    ));
    no_changes(&stack);
    // Once applied, the declaration may go.
    stack.write(&renamed);
    no_changes(&stack);
}

/// A subnet block renamed without `[[moved]]`, its CIDR unchanged: the old
/// subnet must go before the new one can hold the CIDR. With only a route
/// table in it, apply deletes first and converges in one run.
#[tokio::test]
async fn a_subnet_renamed_without_moved_is_deleted_before_its_cidr_is_created_again() {
    let name = unique("handover");
    let text = network(&name, REGION);
    let stack = StackFile::new(&text);
    stack.apply().expect(0);
    let before = live(REGION, &name).await.subnets[0]
        .subnet_id()
        .unwrap()
        .to_string();
    stack.write(&text.replace("subnet.a", "subnet.public_a"));
    let plan = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        plan.contains(&format!(
            "Warning: subnet.public_a in {REGION}: its CIDR \"10.0.1.0/24\" is held by subnet.a ({before}), which this plan deletes: apply deletes it first"
        )),
        "{plan}"
    );
    let applied = stack.apply().expect(0);
    let deleted = applied.stderr.find("subnet.a (us-east-2): deleted");
    let created = applied.stderr.find("subnet.public_a (us-east-2): created");
    assert!(
        deleted.is_some() && created.is_some() && deleted < created,
        "the old subnet goes first:\n{}",
        applied.stderr
    );
    let after = live(REGION, &name).await;
    assert_eq!(after.subnets.len(), 1);
    assert_ne!(after.subnets[0].subnet_id(), Some(before.as_str()));
    let associated: Vec<_> = after.tables[0]
        .associations()
        .iter()
        .filter_map(|a| a.subnet_id())
        .collect();
    assert_eq!(associated, [after.subnets[0].subnet_id().unwrap()]);
    no_changes(&stack);
}

/// The same with instances in the subnet (their `subnet` renamed with it, so
/// replaced): they are terminated first — the plan says so, an outage — then
/// the subnet goes, the new one takes the CIDR, and their replacements start
/// in it. One run converges (before: every run failed on the CIDR).
#[tokio::test]
async fn a_subnet_renamed_without_moved_takes_its_instances_down_first() {
    let name = unique("handinst");
    let text = network_with_instances(&name, 2);
    let stack = StackFile::new(&text);
    stack.apply().expect(0);
    let l = live(REGION, &name).await;
    let before = l.subnets[0].subnet_id().unwrap().to_string();
    let old: Vec<String> = l
        .instances
        .iter()
        .map(|i| i.instance_id().unwrap().to_string())
        .collect();
    assert_eq!(old.len(), 2);

    stack.write(&text.replace("subnet.a", "subnet.public_a"));
    let plan = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        plan.contains(&format!(
            "Warning: subnet.public_a in {REGION}: its CIDR \"10.0.1.0/24\" is held by subnet.a \
             ({before}), which this plan deletes: apply deletes it first, then creates \
             subnet.public_a (one subnet holds a CIDR at a time), so instance.web[0], \
             instance.web[1] in it are terminated before their replacement starts (an outage)"
        )) && plan.contains("-/+ instance.web[0]")
            && plan.contains(&format!(
                "the old one goes before the new one is made (an outage): it is in subnet.a \
                 ({before}), whose CIDR"
            )),
        "{plan}"
    );
    let applied = stack.apply().expect(0);
    let at = |line: &str| {
        applied
            .stderr
            .find(line)
            .unwrap_or_else(|| panic!("{line} not in:\n{}", applied.stderr))
    };
    let terminated = at(&format!("instance.web[0] ({REGION}): deleted i-"))
        .max(at(&format!("instance.web[1] ({REGION}): deleted i-")));
    assert!(old
        .iter()
        .all(|id| applied.stderr.contains(&format!("deleted {id}"))));
    let subnet_deleted = at(&format!("subnet.a ({REGION}): deleted"));
    let subnet_created = at(&format!("subnet.public_a ({REGION}): created"));
    let started = at(&format!("instance.web[0] ({REGION}): created"));
    assert!(
        terminated < subnet_deleted && subnet_deleted < subnet_created && subnet_created < started,
        "{}",
        applied.stderr
    );
    let after = live(REGION, &name).await;
    assert_eq!(after.subnets.len(), 1);
    let subnet = after.subnets[0].subnet_id().unwrap();
    assert_ne!(subnet, before);
    let running: Vec<&aws_sdk_ec2::types::Instance> = after
        .instances
        .iter()
        .filter(|i| !old.iter().any(|o| i.instance_id() == Some(o.as_str())))
        .collect();
    assert_eq!(running.len(), 2);
    assert!(running.iter().all(|i| i.subnet_id() == Some(subnet)));
    no_changes(&stack);
}

/// A VPC given a new CIDR is rebuilt in one run: it is replaced delete-first,
/// so what is in it and replaced create-first on its own (its security group,
/// its instance) goes first too — the plan says so — instead of every step
/// waiting on another.
#[tokio::test]
async fn a_vpc_given_a_new_cidr_is_rebuilt_in_one_run() {
    let name = unique("newcidr");
    let text = network_with_instances(&name, 1);
    let stack = StackFile::new(&text);
    stack.apply().expect(0);
    let before = live(REGION, &name).await;

    stack.write(&text.replace("10.0.", "10.1."));
    let plan = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        plan.contains("-/+ security_group.web") && plan.contains("-/+ instance.web"),
        "{plan}"
    );
    assert!(
        plan.contains("the old one goes before the new one is made (an outage)"),
        "{plan}"
    );
    stack.apply().expect(0);
    let after = live(REGION, &name).await;
    assert_eq!(
        (
            after.vpcs.len(),
            after.subnets.len(),
            after.groups.len(),
            after.instances.len()
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(after.vpcs[0].cidr_block(), Some("10.1.0.0/16"));
    assert_ne!(after.vpcs[0].vpc_id(), before.vpcs[0].vpc_id());
    let vpc = after.vpcs[0].vpc_id();
    assert_eq!(after.subnets[0].vpc_id(), vpc);
    assert_eq!(after.groups[0].vpc_id(), vpc);
    assert_eq!(
        after.groups[0].group_name(),
        Some(&*format!("{name}-web")),
        "deleted first, the old group held no name"
    );
    assert_eq!(after.instances[0].vpc_id(), vpc);
    assert_eq!(
        after.instances[0].security_groups()[0].group_id(),
        after.groups[0].group_id()
    );
    no_changes(&stack);
}

#[tokio::test]
async fn a_region_removed_from_the_stack_is_pruned_not_forgotten() {
    let name = unique("removed");
    let (kept, dropped) = ("us-east-2", "sa-east-1");
    let text = |regions: &str, extra: &str| {
        format!("[stack]\nname = \"{name}\"\nregions = [{regions}]\n\n[vpc.main]\ncidr = \"10.0.0.0/16\"\n{extra}")
    };
    let stack = StackFile::new(&text(
        &format!("\"{kept}\", \"{dropped}\""),
        "protect = true\n",
    ));
    stack.apply().expect(0);
    assert_eq!(live(dropped, &name).await.vpcs.len(), 1);

    // Dropping the region does not hide what lives there: protected, it is refused.
    stack.write(&text(&format!("\"{kept}\""), "protect = true\n"));
    let refused = run(&["plan", stack.arg()]).expect(1);
    assert!(
        refused.stderr.contains(&format!("vpc.main in {dropped} ("))
            && refused.stderr.contains(&format!(
                "would delete it ({dropped} is no longer in [stack] regions)"
            )),
        "{}",
        refused.stderr
    );

    // Released, it is pruned.
    stack.write(&text(&format!("\"{kept}\", \"{dropped}\""), ""));
    stack.apply().expect(0);
    stack.write(&text(&format!("\"{kept}\""), ""));
    let plan = stack.plan_json();
    assert_eq!(actions(&plan), vec![format!("delete vpc.main@{dropped}")]);
    // Two GetResources a region read, for its ACM certificates and its
    // alarms named on their own; a search of every region would add one for
    // each region the account has enabled.
    assert_eq!(
        plan["aws_calls"]["tagging"], 4,
        "found through the regions record, without searching every region: {}",
        plan["aws_calls"]
    );
    stack.apply().expect(0);
    assert!(live(dropped, &name).await.vpcs.is_empty());
    assert_eq!(live(kept, &name).await.vpcs.len(), 1);
    // Emptied, the region leaves the record, and its record goes.
    let records = |region: &'static str| {
        let name = format!("reconcile-regions-{name}");
        async move {
            ec2(region)
                .await
                .describe_key_pairs()
                .send()
                .await
                .unwrap()
                .key_pairs()
                .iter()
                .filter(|k| k.key_name() == Some(name.as_str()))
                .map(|k| k.tags().to_vec())
                .collect::<Vec<_>>()
        }
    };
    assert!(records(dropped).await.is_empty());
    let kept_record = records(kept).await;
    assert_eq!(kept_record.len(), 1);
    assert!(
        kept_record[0]
            .iter()
            .any(|t| t.key() == Some("reconcile:regions:1") && t.value() == Some(kept)),
        "{kept_record:?}"
    );
    no_changes(&stack);
}

/// Drives the binary on a terminal: waits for the prompt, then presses Ctrl-C.
const CTRL_C_AT_THE_PROMPT: &str = r#"
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], ["reconcile", "apply", sys.argv[2]])
out, started = b"", time.time()
while b"Only 'yes'" not in out and time.time() - started < 60:
    out += os.read(fd, 4096)
os.write(fd, b"\x03")
code = None
while code is None and time.time() - started < 90:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        code = os.waitstatus_to_exitcode(status)
    time.sleep(0.1)
if code is None:
    os.kill(pid, 9)
try:
    while chunk := os.read(fd, 4096):
        out += chunk
except OSError:
    pass
sys.stdout.write(out.decode(errors="replace"))
sys.exit(0 if code == 1 else 3)
"#;

#[tokio::test]
async fn ctrl_c_at_the_prompt_interrupts_and_gives_the_lock_back() {
    let name = unique("ctrlc");
    let region = "ap-northeast-3";
    let stack = StackFile::new(&vpc_stack(&name, region, ""));
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/localstack/.venv/bin/python");
    let binary = assert_cmd::cargo::cargo_bin("reconcile");
    let mut cmd = assert_cmd::Command::new(python);
    with_emulator(&mut cmd).args([
        "-c",
        CTRL_C_AT_THE_PROMPT,
        binary.to_str().unwrap(),
        stack.arg(),
    ]);
    let out = run_cmd(&mut cmd);
    assert_eq!(out.code, 0, "reconcile exits 1 on Ctrl-C:\n{}", out.stdout);
    assert!(
        out.stdout
            .contains("interrupted: steps under way were abandoned and the lock released"),
        "{}",
        out.stdout
    );
    assert!(
        live(region, &name).await.vpcs.is_empty(),
        "nothing was changed"
    );
    // The lock went with it: the next apply needs no unlock.
    stack.apply().expect(0);
}

/// A group replaced while something the stack does not manage uses it (a
/// network interface a colleague made): the new group is made, the old one
/// cannot go, and the failure says what holds it. Nothing is left half done:
/// the rerun plans only the old group's delete.
#[tokio::test]
async fn a_replaced_group_still_used_outside_the_stack_names_its_users() {
    let name = unique("sgheld");
    let text = network(&name, REGION);
    let stack = StackFile::new(&text);
    stack.apply().expect(0);
    let l = live(REGION, &name).await;
    let (old, subnet) = (
        l.groups[0].group_id().unwrap().to_string(),
        l.subnets[0].subnet_id().unwrap().to_string(),
    );
    let eni = ec2(REGION)
        .await
        .create_network_interface()
        .subnet_id(&subnet)
        .groups(&old)
        .description("a colleague's test box")
        .send()
        .await
        .unwrap()
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_string();

    stack.write(&text.replace("description = \"web\"", "description = \"web servers\""));
    // AWS refuses the old group's delete while the interface is in it (the
    // emulator would not).
    let proxy = Proxy::start(endpoint(), 17);
    proxy.on("DeleteSecurityGroup", Fault::InUse, 100);
    let failed = run_cmd(reconcile().env("AWS_ENDPOINT_URL", &proxy.url).args([
        "apply",
        stack.arg(),
        "--auto-approve",
    ]))
    .expect(1);
    assert!(
        failed.stderr.contains(&format!(
            "still used by {eni} (a colleague's test box) (not managed by this stack)"
        )),
        "{}",
        failed.stderr
    );
    let groups = live(REGION, &name).await.groups;
    assert_eq!(groups.len(), 2, "the new group exists beside the old one");
    let plan = stack.plan_json();
    assert_eq!(
        actions(&plan),
        vec![format!("delete security_group.web@{REGION}")],
        "only the old group is left to go"
    );
    assert_eq!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["action"] == "delete")
            .unwrap()["live_id"],
        old.as_str()
    );

    // Moved off it, the rerun converges.
    ec2(REGION)
        .await
        .delete_network_interface()
        .network_interface_id(&eni)
        .send()
        .await
        .unwrap();
    stack.apply().expect(0);
    let groups = live(REGION, &name).await.groups;
    assert_eq!(groups.len(), 1);
    assert_ne!(groups[0].group_id(), Some(old.as_str()));
    assert_eq!(groups[0].description(), Some("web servers"));
    no_changes(&stack);
}
