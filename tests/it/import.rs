//! `import = "ID"` on resources a colleague made by hand: taken over in
//! place (their differences shown as updates), never replaced, never taken
//! from another stack, and refused when the id names nothing.

use crate::harness::{ec2, has_tag, live, run, tag, unique, zones_named, StackFile};
use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, TagSpecification};

const REGION: &str = "eu-north-1";

/// What the colleague made: ids of a VPC (tagged Name=legacy), a subnet in
/// it and a web security group with HTTPS from anywhere.
struct Handmade {
    vpc: String,
    subnet: String,
    group: String,
}

async fn handmade(name: &str) -> Handmade {
    let client = ec2(REGION).await;
    let tagged = |rt: ResourceType, value: &str| {
        TagSpecification::builder()
            .resource_type(rt)
            .tags(tag("Name", value))
            .build()
    };
    let vpc = client
        .create_vpc()
        .cidr_block("10.91.0.0/16")
        .tag_specifications(tagged(ResourceType::Vpc, &format!("{name}-legacy")))
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let subnet = client
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.91.1.0/24")
        .availability_zone(format!("{REGION}a"))
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_string();
    let group = client
        .create_security_group()
        .vpc_id(&vpc)
        .group_name(format!("legacy-web-{name}"))
        .description("web")
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    client
        .authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    Handmade { vpc, subnet, group }
}

/// The stack that takes them over, and adds a subnet of its own.
fn stack_text(name: &str, made: &Handmade, vpc_cidr: &str, group_name: &str) -> String {
    format!(
        r#"
[stack]
name = "{name}"
regions = ["{REGION}"]

[vpc.main]
cidr = "{vpc_cidr}"
import = "{vpc}"

[subnet.a]
vpc = "vpc.main"
cidr = "10.91.1.0/24"
zone = "a"
import = "{subnet}"

[subnet.b]
vpc = "vpc.main"
cidr = "10.91.2.0/24"
zone = "b"

[security_group.web]
vpc = "vpc.main"
{group_name}description = "web"
ingress = [{{ protocol = "tcp", port = 443, cidr = "0.0.0.0/0" }}]
import = "{group}"
"#,
        vpc = made.vpc,
        subnet = made.subnet,
        group = made.group,
    )
}

/// The run printed `said` (a refusal goes to stderr, the plan to stdout).
fn says(run: &crate::harness::Run, said: &str) {
    assert!(
        run.stdout.contains(said) || run.stderr.contains(said),
        "{said}\n{}{}",
        run.stdout,
        run.stderr
    );
}

/// A VPC `NET.0.0/16` a colleague made, and its subnets `NET.1.0/24` in
/// zone a and `NET.2.0/24` in zone b: their ids.
async fn network(net: &str) -> (String, Vec<String>) {
    let client = ec2(REGION).await;
    let vpc = client
        .create_vpc()
        .cidr_block(format!("{net}.0.0/16"))
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let mut subnets = Vec::new();
    for (zone, cidr) in [
        ("a", format!("{net}.1.0/24")),
        ("b", format!("{net}.2.0/24")),
    ] {
        let subnet = client
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(cidr)
            .availability_zone(format!("{REGION}{zone}"))
            .send()
            .await
            .unwrap();
        subnets.push(subnet.subnet().unwrap().subnet_id().unwrap().to_string());
    }
    (vpc, subnets)
}

async fn vpcs_with_cidr(cidr: &str) -> usize {
    ec2(REGION)
        .await
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("cidr")
                .values(cidr)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .vpcs()
        .len()
}

#[tokio::test]
async fn handmade_resources_are_imported_in_place_and_never_replaced() {
    let name = unique("imp");
    let made = handmade(&name).await;
    let before = vpcs_with_cidr("10.91.0.0/16").await;

    // The group's name is the colleague's: left out, the block would name it
    // `<stack>-web`, which only a replacement gives. Refused, saying what to write.
    let stack = StackFile::new(&stack_text(&name, &made, "10.91.0.0/16", ""));
    let refused = run(&["plan", stack.arg()]).expect(1);
    let said = format!(
        "importing {} as security_group.web would replace it, and an import never replaces: `name` is \"legacy-web-{name}\" there: write name = \"legacy-web-{name}\"",
        made.group
    );
    says(&refused, &said);

    let group_name = format!("name = \"legacy-web-{name}\"\n");
    stack.write(&stack_text(&name, &made, "10.91.0.0/16", &group_name));
    let plan = run(&["plan", stack.arg()]).expect(0);
    for line in [
        format!("= vpc.main ({}) will be imported", made.vpc),
        format!("= subnet.a ({}) will be imported", made.subnet),
        format!("= security_group.web ({}) will be imported", made.group),
        "+ subnet.b will be created".to_string(),
        "Plan: 1 to add, 0 to change, 0 to replace, 0 to destroy, 3 to import.".to_string(),
    ] {
        assert!(plan.stdout.contains(&line), "{line}\n{}", plan.stdout);
    }
    // The colleague's Name tag is not the file's: an update, in place.
    assert!(
        plan.stdout.contains(&format!("Name = \"{name}-legacy\"")),
        "{}",
        plan.stdout
    );
    let json = stack.plan_json();
    assert_eq!(json["summary"]["import"], 3, "{json:#}");

    stack.apply().expect(0);
    let owned = live(REGION, &name).await;
    assert_eq!(owned.vpcs.len(), 1);
    assert_eq!(
        owned.vpcs[0].vpc_id(),
        Some(made.vpc.as_str()),
        "the same VPC, now owned"
    );
    assert!(has_tag(owned.vpcs[0].tags(), "reconcile:id", "vpc.main"));
    assert_eq!(
        owned.subnets.len(),
        2,
        "the imported subnet and the new one"
    );
    assert!(owned
        .subnets
        .iter()
        .all(|s| s.vpc_id() == Some(made.vpc.as_str())));
    assert_eq!(owned.groups[0].group_id(), Some(made.group.as_str()));
    assert_eq!(
        vpcs_with_cidr("10.91.0.0/16").await,
        before,
        "nothing created in its place"
    );
    // The import key stays harmless.
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);

    // Another stack cannot take what this one owns.
    let other = StackFile::new(&stack_text(
        &unique("imp2"),
        &made,
        "10.91.0.0/16",
        &group_name,
    ));
    let refused = run(&["plan", other.arg()]).expect(1);
    let said = format!(
        "vpc.main imports {}, which belongs to stack {name}",
        made.vpc
    );
    says(&refused, &said);

    // An id that names nothing is refused, and nothing is made.
    let missing = Handmade {
        vpc: "vpc-0123456789abcdef0".into(),
        subnet: "subnet-0123456789abcdef0".into(),
        group: "sg-0123456789abcdef0".into(),
    };
    let ghost = StackFile::new(&stack_text(&unique("imp3"), &missing, "10.91.0.0/16", ""));
    let refused = run(&["apply", ghost.arg(), "--auto-approve"]).expect(1);
    let said = format!("vpc.main imports vpc-0123456789abcdef0, which does not exist in {REGION}");
    says(&refused, &said);
    assert_eq!(vpcs_with_cidr("10.91.0.0/16").await, before);
}

/// A running database a colleague made, with its subnet group: imported
/// (never created again), protected by default, so that dropping its
/// block afterwards is refused.
#[tokio::test]
async fn a_running_database_is_imported_with_its_subnet_group_and_protected() {
    let name = unique("impdb");
    let (vpc, subnets) = network("10.93").await;
    let rds = crate::harness::rds(REGION).await;
    let group = format!("legacy-{name}");
    rds.create_db_subnet_group()
        .db_subnet_group_name(&group)
        .db_subnet_group_description("legacy")
        .set_subnet_ids(Some(subnets.clone()))
        .send()
        .await
        .unwrap();
    let identifier = format!("legacy-{name}");
    rds.create_db_instance()
        .db_instance_identifier(&identifier)
        .engine("postgres")
        .engine_version("16.3")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("shop")
        .master_user_password("correct-horse-battery")
        .db_subnet_group_name(&group)
        .send()
        .await
        .unwrap();

    let text = |with_db: bool| {
        let db = format!(
            r#"
[db_instance.main]
identifier = "{identifier}"
engine = "postgres"
engine_version = "16.3"
instance_class = "db.t3.micro"
allocated_storage = 20
subnet_group = "db_subnet_group.main"
master_username = "shop"
master_password_env = "SHOP_DB_PASSWORD"   # never read for an import
import = "{identifier}"
"#
        );
        format!(
            r#"
[stack]
name = "{name}"
regions = ["{REGION}"]

[vpc.main]
cidr = "10.93.0.0/16"
import = "{vpc}"

[subnet.a]
vpc = "vpc.main"
cidr = "10.93.1.0/24"
zone = "a"
import = "{a}"

[subnet.b]
vpc = "vpc.main"
cidr = "10.93.2.0/24"
zone = "b"
import = "{b}"

# The colleague's description kept: moto loses a subnet group that
# ModifyDBSubnetGroup changes (it never puts it back in its registry).
[db_subnet_group.main]
subnets = ["subnet.a", "subnet.b"]
description = "legacy"
import = "{group}"
{}"#,
            if with_db { db } else { String::new() },
            a = subnets[0],
            b = subnets[1],
        )
    };
    let stack = StackFile::new(&text(true));
    let plan = run(&["plan", stack.arg()]).expect(0);
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 0 to replace, 0 to destroy, 5 to import."),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("= db_instance.main ("),
        "{}",
        plan.stdout
    );
    stack.apply().expect(0);
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
    let dbs = rds
        .describe_db_instances()
        .db_instance_identifier(&identifier)
        .send()
        .await
        .unwrap();
    let db = &dbs.db_instances()[0];
    let tags = db.tag_list();
    let tagged = |k: &str, v: &str| {
        tags.iter()
            .any(|t| t.key() == Some(k) && t.value() == Some(v))
    };
    assert!(tagged("reconcile:stack", &name), "{tags:?}");
    assert!(
        tagged("reconcile:protect", "true"),
        "protected by default: {tags:?}"
    );

    // Its block dropped: a protected database is not deleted.
    stack.write(&text(false));
    let refused = run(&["plan", stack.arg()]).expect(1);
    assert!(
        refused.stderr.contains(&format!(
            "db_instance.main in {REGION} (arn:aws:rds:{REGION}:123456789012:db:{identifier}) is protected and this plan would delete it"
        )),
        "{}{}",
        refused.stdout,
        refused.stderr
    );
}

/// A load balancer, target group, listener and rule a colleague made:
/// imported by their ARNs, in place.
#[tokio::test]
async fn load_balancing_made_by_hand_is_imported_by_arn() {
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, ProtocolEnum, RuleCondition,
    };
    let name = unique("implb");
    let (vpc, subnets) = network("10.94").await;
    let elb = crate::harness::elb(REGION).await;
    let lb = elb
        .create_load_balancer()
        .name(format!("legacy-{}", &name[name.len() - 8..]))
        // moto leaves the scheme empty when not given; AWS's default.
        .scheme(aws_sdk_elasticloadbalancingv2::types::LoadBalancerSchemeEnum::InternetFacing)
        .set_subnets(Some(subnets.clone()))
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let tg = elb
        .create_target_group()
        .name(format!("legacy-tg-{}", &name[name.len() - 8..]))
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    let forward = Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(&tg)
        .build();
    let listener = elb
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward.clone())
        .send()
        .await
        .unwrap()
        .listeners()[0]
        .listener_arn()
        .unwrap()
        .to_string();
    let rule = elb
        .create_rule()
        .listener_arn(&listener)
        .priority(10)
        .conditions(
            RuleCondition::builder()
                .field("path-pattern")
                .values("/api/*")
                .build(),
        )
        .actions(forward)
        .send()
        .await
        .unwrap()
        .rules()[0]
        .rule_arn()
        .unwrap()
        .to_string();

    let stack = StackFile::new(&format!(
        r#"
[stack]
name = "{name}"
regions = ["{REGION}"]

[vpc.main]
cidr = "10.94.0.0/16"
import = "{vpc}"

[subnet.a]
vpc = "vpc.main"
cidr = "10.94.1.0/24"
zone = "a"
import = "{a}"

[subnet.b]
vpc = "vpc.main"
cidr = "10.94.2.0/24"
zone = "b"
import = "{b}"

[load_balancer.app]
subnets = ["subnet.a", "subnet.b"]
import = "{lb}"

[target_group.web]
vpc = "vpc.main"
port = 80
import = "{tg}"

[listener.http]
load_balancer = "load_balancer.app"
port = 80
default_action = {{ forward = "target_group.web" }}
import = "{listener}"

[listener_rule.api]
listener = "listener.http"
priority = 10
conditions = {{ path = ["/api/*"] }}
action = {{ forward = "target_group.web" }}
import = "{rule}"
"#,
        a = subnets[0],
        b = subnets[1],
    ));
    let plan = run(&["plan", stack.arg()]).expect(0);
    for line in [
        format!("= load_balancer.app ({lb}) will be imported"),
        format!("= target_group.web ({tg}) will be imported"),
        format!("= listener.http ({listener}) will be imported"),
        format!("= listener_rule.api ({rule}) will be imported"),
        "0 to add, 0 to change, 0 to replace, 0 to destroy, 7 to import.".to_string(),
    ] {
        says(&plan, &line);
    }
    stack.apply().expect(0);
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
    let tags = elb
        .describe_tags()
        .resource_arns(&lb)
        .resource_arns(&tg)
        .resource_arns(&listener)
        .resource_arns(&rule)
        .send()
        .await
        .unwrap();
    let owners: Vec<(&str, Option<&str>)> = tags
        .tag_descriptions()
        .iter()
        .map(|d| {
            let owner = d.tags().iter().find(|t| t.key() == Some("reconcile:stack"));
            (
                d.resource_arn().unwrap_or_default(),
                owner.and_then(|t| t.value()),
            )
        })
        .collect();
    assert_eq!(owners.len(), 4, "{owners:?}");
    assert!(
        owners.iter().all(|(_, o)| *o == Some(name.as_str())),
        "the same four, now owned: {owners:?}"
    );
}

/// A public zone and its record a colleague made: imported by zone id and by
/// `NAME TYPE`, their drift shown as updates; afterwards the record carries
/// reconcile's marker and nothing else of the zone changed.
#[tokio::test]
async fn a_handmade_zone_and_record_are_imported() {
    use crate::dns::{records, upsert};
    use aws_sdk_route53::types::RrType;
    let name = unique("impdns");
    let domain = format!("{name}.example.com");
    let client = crate::harness::route53().await;
    let zone = client
        .create_hosted_zone()
        .name(&domain)
        .caller_reference(&name)
        .send()
        .await
        .unwrap();
    let zone = zone
        .hosted_zone()
        .unwrap()
        .id()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    upsert(
        &client,
        &zone,
        &format!("www.{domain}"),
        RrType::A,
        "192.0.2.10",
    )
    .await;
    upsert(
        &client,
        &zone,
        &format!("mail.{domain}"),
        RrType::A,
        "192.0.2.20",
    )
    .await;

    // The block wants TTL 300 where the colleague wrote 60: an update.
    let text = |import_www: &str| {
        format!(
            "[stack]\nname = \"{name}\"\nregions = [\"{REGION}\"]\n\n\
             [dns_zone.main]\nname = \"{domain}\"\nimport = \"{zone}\"\n\n\
             [dns_record.www]\nzone = \"dns_zone.main\"\nname = \"www.{domain}\"\ntype = \"A\"\n\
             ttl = 300\nvalues = [\"192.0.2.10\"]\nimport = \"{import_www}\"\n"
        )
    };
    let stack = StackFile::new(&text(&format!("www.{domain} A")));
    let plan = run(&["plan", stack.arg()]).expect(0);
    for line in [
        format!("= dns_zone.main ({zone}) will be imported"),
        format!("= dns_record.www ({zone}/www.{domain}/A) will be imported"),
        "~ ttl = 60 → 300".to_string(),
        "0 to add, 0 to change, 0 to replace, 0 to destroy, 2 to import.".to_string(),
    ] {
        says(&plan, &line);
    }
    stack.apply().expect(0);
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
    let sets = records(&client, &zone).await;
    let www: Vec<_> = sets
        .iter()
        .filter(|(n, _, _)| n.starts_with("www."))
        .collect();
    assert_eq!(www.len(), 1, "one record, updated in place: {sets:?}");
    assert!(
        sets.iter()
            .any(|(n, t, _)| n.starts_with(&format!("_reconcile-a.www.{domain}")) && t == "TXT"),
        "the marker written: {sets:?}"
    );
    assert!(
        sets.iter()
            .any(|(n, _, v)| n.starts_with("mail.") && v == &["192.0.2.20"]),
        "the record not imported left alone: {sets:?}"
    );
    assert_eq!(zones_named(&client, &domain).await, vec![zone.clone()]);

    // A record that is not there is refused.
    let other = text(&format!("ftp.{domain} A")).replacen(
        &format!("name = \"{name}\""),
        &format!("name = \"{}\"", unique("impdns2")),
        1,
    );
    let other = StackFile::new(&other);
    let refused = run(&["plan", other.arg()]).expect(1);
    says(
        &refused,
        &format!("dns_record.www imports ftp.{domain} A, which does not exist"),
    );
}
