//! The stateful layer against the emulator: a protected database survives every
//! way of losing it, a deliberate deletion leaves a final snapshot, the password
//! never appears anywhere, modifications are in place, alarms follow the file.

use crate::harness::{
    actions, cloudwatch, elb, endpoint, live, owned_elb, rds, reconcile, run, run_cmd, unique, Run,
    StackFile,
};
use crate::proxy::Proxy;
use std::collections::BTreeMap;

/// A database in its own VPC, plus `extra` lines in its block.
pub(crate) fn database(
    name: &str,
    region: &str,
    identifier: &str,
    variable: &str,
    extra: &str,
) -> String {
    format!(
        r#"
[stack]
name = "{name}"
regions = ["{region}"]

[vpc.main]
cidr = "10.0.0.0/16"

[subnet.db_a]
vpc = "vpc.main"
cidr = "10.0.1.0/24"
zone = "a"

[subnet.db_b]
vpc = "vpc.main"
cidr = "10.0.2.0/24"
zone = "b"

[security_group.db]
vpc = "vpc.main"
ingress = [{{ protocol = "tcp", port = 5432, cidr = "10.0.0.0/16" }}]

[db_subnet_group.main]
subnets = ["subnet.db_a", "subnet.db_b"]

[db_instance.main]
identifier = "{identifier}"
engine = "postgres"
engine_version = "16.3"
instance_class = "db.t3.micro"
allocated_storage = 20
subnet_group = "db_subnet_group.main"
security_groups = ["security_group.db"]
master_username = "app"
master_password_env = "{variable}"
{extra}
"#
    )
}

/// Runs the binary with the password in the environment, and checks it never shows.
fn with_password(variable: &str, password: &str, args: &[&str]) -> Run {
    let out = run_cmd(reconcile().env(variable, password).args(args));
    assert!(
        !out.stdout.contains(password) && !out.stderr.contains(password),
        "the password leaked:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    out
}

/// Applies, then checks that a second plan has nothing left to do.
fn converge(variable: &str, password: &str, stack: &StackFile) {
    with_password(
        variable,
        password,
        &["apply", stack.arg(), "--auto-approve"],
    )
    .expect(0);
    with_password(
        variable,
        password,
        &["plan", stack.arg(), "--detailed-exitcode"],
    )
    .expect(0);
}

async fn database_arn(region: &str, identifier: &str) -> Option<String> {
    let found = rds(region)
        .await
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await
        .ok()?;
    found
        .db_instances()
        .first()?
        .db_instance_arn()
        .map(str::to_string)
}

#[tokio::test]
async fn a_protected_database_survives_every_way_of_losing_it() {
    let name = unique("db");
    let region = "us-east-1";
    let identifier = format!("{name}-main");
    let (variable, password) = ("RECONCILE_TEST_DB_PASSWORD_1", "pw-never-shown-7f3a9c");
    let text = |extra: &str| database(&name, region, &identifier, variable, extra);
    let stack = StackFile::new(&text(""));
    with_password(
        variable,
        password,
        &["apply", stack.arg(), "--auto-approve"],
    )
    .expect(0);
    let arn = database_arn(region, &identifier)
        .await
        .expect("the database exists");

    // A plan made before protection was added: it would replace the database.
    stack.write(&text("").replace("engine = \"postgres\"", "engine = \"mysql\""));
    let before_protection = stack.dir.path().join("replace.json");
    let planned = with_password(
        variable,
        password,
        &[
            "plan",
            stack.arg(),
            "--out",
            before_protection.to_str().unwrap(),
        ],
    );
    planned.expect(0);
    let saved = std::fs::read_to_string(&before_protection).unwrap();
    assert!(
        !saved.contains(password),
        "the saved plan holds no password"
    );

    // Protection is added (an in-place update), then every way of losing it is refused.
    stack.write(&text("protect = true"));
    with_password(
        variable,
        password,
        &["apply", stack.arg(), "--auto-approve"],
    )
    .expect(0);

    let refused = with_password(
        variable,
        password,
        &["apply", before_protection.to_str().unwrap()],
    )
    .expect(1);
    assert!(
        refused.stderr.contains("changed since this plan was made"),
        "{}",
        refused.stderr
    );

    let head = format!("db_instance.main in {region} ({arn}) is protected");
    let attempts = [
        (
            "block removed",
            text("")
                .split("[db_instance.main]")
                .next()
                .unwrap()
                .to_string(),
            "would delete it (not in the stack file)",
        ),
        (
            "identifier changed",
            text("protect = true").replace(
                &format!("\"{identifier}\""),
                &format!("\"{identifier}-v2\""),
            ),
            "would replace it: `identifier`",
        ),
        (
            "engine changed",
            text("protect = true").replace("engine = \"postgres\"", "engine = \"mysql\""),
            "would replace it: `engine`",
        ),
        (
            // A subnet group cannot change VPC: the database would be rebuilt.
            "VPC given a new CIDR",
            text("protect = true").replace("10.0.", "10.1."),
            "would replace it: `subnet_group`",
        ),
        (
            "stack pruned",
            format!("[stack]\nname = \"{name}\"\nregions = [\"{region}\"]\n"),
            "would delete it (not in the stack file)",
        ),
    ];
    for (how, file, why) in attempts {
        stack.write(&file);
        for command in [
            &["plan", stack.arg()][..],
            &["apply", stack.arg(), "--auto-approve"][..],
        ] {
            let out = with_password(variable, password, command).expect(1);
            assert!(
                out.stderr.contains(&head) && out.stderr.contains(why),
                "{how}: {}",
                out.stderr
            );
        }
        assert_eq!(
            database_arn(region, &identifier).await.as_deref(),
            Some(&*arn),
            "{how}: the database is still there"
        );
    }
    assert_eq!(
        live(region, &name).await.vpcs.len(),
        1,
        "a refused plan changes nothing at all"
    );
}

#[tokio::test]
async fn a_database_deleted_on_purpose_leaves_a_final_snapshot_and_no_password_anywhere() {
    let name = unique("dbdel");
    let region = "us-east-2";
    let identifier = format!("{name}-main");
    let (variable, password) = ("RECONCILE_TEST_DB_PASSWORD_2", "pw-never-shown-b81d2e");
    let full = database(&name, region, &identifier, variable, "");
    let stack = StackFile::new(&full);

    // Without the variable, apply stops before changing anything.
    let missing = run(&["apply", stack.arg(), "--auto-approve"]).expect(1);
    assert!(
        missing.stderr.contains(&format!("db_instance.main needs its master password in the environment variable {variable}, which is not set")),
        "{}",
        missing.stderr
    );
    assert!(
        live(region, &name).await.vpcs.is_empty(),
        "nothing was created"
    );

    with_password(variable, password, &["plan", stack.arg()]).expect(0);
    with_password(variable, password, &["plan", stack.arg(), "--json"]).expect(0);
    with_password(
        variable,
        password,
        &["-vv", "apply", stack.arg(), "--auto-approve"],
    )
    .expect(0);
    with_password(
        variable,
        password,
        &["plan", stack.arg(), "--detailed-exitcode"],
    )
    .expect(0);

    stack.write(full.split("[db_instance.main]").next().unwrap());
    assert_eq!(
        actions(&stack.plan_json()),
        vec![format!("delete db_instance.main@{region}")]
    );
    let shown = with_password(variable, password, &["plan", stack.arg()]).expect(0);
    assert!(
        shown.stdout.contains(&format!(
            "a final snapshot {identifier}-final-<time> is taken first"
        )),
        "the plan says what the delete leaves: {}",
        shown.stdout
    );
    let deleted = with_password(
        variable,
        password,
        &["apply", stack.arg(), "--auto-approve"],
    )
    .expect(0);
    assert!(
        deleted
            .stderr
            .contains(&format!("final snapshot {identifier}-final-")),
        "{}",
        deleted.stderr
    );
    assert!(database_arn(region, &identifier).await.is_none());
    let snapshots = rds(region)
        .await
        .describe_db_snapshots()
        .db_instance_identifier(&identifier)
        .snapshot_type("manual")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = snapshots
        .db_snapshots()
        .iter()
        .filter_map(|s| s.db_snapshot_identifier())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let stamp = names[0]
        .strip_prefix(&format!("{identifier}-final-"))
        .unwrap();
    assert!(
        stamp.len() == 15 && stamp.chars().all(|c| c.is_ascii_digit() || c == '-'),
        "timestamped: {stamp}"
    );
}

#[tokio::test]
async fn database_changes_are_in_place_and_say_what_they_cost() {
    let name = unique("dbmod");
    let region = "eu-west-3";
    let identifier = format!("{name}-main");
    let (variable, password) = ("RECONCILE_TEST_DB_PASSWORD_3", "pw-never-shown-33c0aa");
    let text = |class: &str, slow_query_ms: &str| {
        let db = database(
            &name,
            region,
            &identifier,
            variable,
            "apply_immediately = true\nparameter_group = \"db_parameter_group.main\"",
        );
        format!(
            "{}\n[db_parameter_group.main]\nfamily = \"postgres16\"\nparameters = {{ log_min_duration_statement = \"{slow_query_ms}\" }}\n",
            db.replace("db.t3.micro", class)
        )
    };
    let stack = StackFile::new(&text("db.t3.micro", "500"));
    converge(variable, password, &stack);
    let arn = database_arn(region, &identifier).await.unwrap();
    let client = rds(region).await;
    let found = client
        .describe_db_instances()
        .db_instance_identifier(&identifier)
        .send()
        .await
        .unwrap();
    let group = found.db_instances()[0].db_parameter_groups()[0]
        .db_parameter_group_name()
        .unwrap()
        .to_string();
    assert_eq!(
        group,
        format!("{name}-main"),
        "the database uses the stack's parameter group"
    );

    stack.write(&text("db.t3.small", "250"));
    let plan = with_password(variable, password, &["plan", stack.arg()])
        .expect(0)
        .stdout;
    assert!(plan.contains("~ db_instance.main"), "{plan}");
    assert!(plan.contains("(applied immediately)"), "{plan}");
    assert!(
        plan.contains(
            r#"instance_class = "db.t3.micro" → "db.t3.small" # downtime: the instance restarts"#
        ),
        "{plan}"
    );
    assert!(
        plan.contains("parameters: # applied at each instance's next reboot (pending-reboot)"),
        "{plan}"
    );
    assert!(
        plan.contains(r#"~ log_min_duration_statement = "500" → "250""#),
        "{plan}"
    );
    converge(variable, password, &stack);
    let found = client
        .describe_db_instances()
        .db_instance_identifier(&identifier)
        .send()
        .await
        .unwrap();
    assert_eq!(
        found.db_instances()[0].db_instance_class(),
        Some("db.t3.small")
    );
    assert_eq!(
        found.db_instances()[0].db_instance_arn(),
        Some(&*arn),
        "modified, not replaced"
    );
    let parameters = client
        .describe_db_parameters()
        .db_parameter_group_name(&group)
        .send()
        .await
        .unwrap();
    let slow = parameters
        .parameters()
        .iter()
        .find(|p| p.parameter_name() == Some("log_min_duration_statement"));
    assert_eq!(slow.and_then(|p| p.parameter_value()), Some("250"));
}

#[tokio::test]
async fn alarm_dimensions_interpolate_live_attributes_and_drift_is_corrected() {
    let name = unique("alarm");
    let region = "ap-southeast-1";
    let identifier = format!("{name}-main");
    let (variable, password) = ("RECONCILE_TEST_DB_PASSWORD_4", "pw-never-shown-41aa90");
    let alarm = r#"
[alarm.db_cpu]
namespace = "AWS/RDS"
metric = "CPUUtilization"
dimensions = { DBInstanceIdentifier = "${db_instance.main.identifier}" }
statistic = "Average"
period = 60
evaluation_periods = 3
threshold = 80
comparison = "GreaterThanThreshold"
description = "database CPU"
"#;
    let stack = StackFile::new(&format!(
        "{}{alarm}",
        database(&name, region, &identifier, variable, "")
    ));
    let plan = with_password(variable, password, &["plan", stack.arg()])
        .expect(0)
        .stdout;
    assert!(
        plan.contains("dimensions         = { DBInstanceIdentifier = (known after apply) }"),
        "{plan}"
    );
    converge(variable, password, &stack);

    let client = cloudwatch(region).await;
    let alarm_name = format!("{name}.db_cpu");
    let found = client
        .describe_alarms()
        .alarm_names(&alarm_name)
        .send()
        .await
        .unwrap();
    let live_alarm = &found.metric_alarms()[0];
    assert_eq!(live_alarm.dimensions()[0].value(), Some(&*identifier));
    assert_eq!(live_alarm.threshold(), Some(80.0));

    // A colleague raises the threshold in the console.
    client
        .put_metric_alarm()
        .alarm_name(&alarm_name)
        .namespace("AWS/RDS")
        .metric_name("CPUUtilization")
        .dimensions(live_alarm.dimensions()[0].clone())
        .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
        .period(60)
        .evaluation_periods(3)
        .threshold(95.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .alarm_description("database CPU")
        .send()
        .await
        .unwrap();
    let plan = with_password(
        variable,
        password,
        &["plan", stack.arg(), "--detailed-exitcode"],
    )
    .expect(2)
    .stdout;
    assert!(plan.contains("~ threshold = 95 → 80"), "{plan}");
    converge(variable, password, &stack);
    let found = client
        .describe_alarms()
        .alarm_names(&alarm_name)
        .send()
        .await
        .unwrap();
    assert_eq!(found.metric_alarms()[0].threshold(), Some(80.0));
}

#[tokio::test]
async fn only_settings_wait_for_the_maintenance_window_not_tags() {
    let name = unique("dbtags");
    let region = "eu-north-1";
    let identifier = format!("{name}-main");
    let (variable, password) = ("RECONCILE_TEST_DB_PASSWORD_5", "pw-never-shown-55e1");
    let text = database(
        &name,
        region,
        &identifier,
        variable,
        "apply_immediately = false",
    );
    let stack = StackFile::new(&text);
    converge(variable, password, &stack);

    stack.write(&text.replace(
        "apply_immediately = false",
        "apply_immediately = false\ntags = { owner = \"data\" }",
    ));
    let tags_only = with_password(variable, password, &["plan", stack.arg()]).expect(0);
    assert!(
        tags_only.stdout.contains("~ db_instance.main"),
        "{}",
        tags_only.stdout
    );
    assert!(
        !tags_only.stdout.contains("maintenance window"),
        "tags are set at once: {}",
        tags_only.stdout
    );

    stack.write(&text.replace("db.t3.micro", "db.t3.small"));
    let setting = with_password(variable, password, &["plan", stack.arg()]).expect(0);
    assert!(
        setting
            .stdout
            .contains("applied in the next maintenance window"),
        "{}",
        setting.stdout
    );
}

#[tokio::test]
async fn a_database_without_security_groups_keeps_what_aws_assigns() {
    let name = unique("dbsg");
    let region = "ca-central-1";
    let identifier = format!("{name}-main");
    let (variable, password) = ("RECONCILE_TEST_DB_PASSWORD_6", "pw-never-shown-66f2");
    let text = database(&name, region, &identifier, variable, "")
        .replace("security_groups = [\"security_group.db\"]\n", "");
    assert!(!text.contains("security_groups"));
    let stack = StackFile::new(&text);
    converge(variable, password, &stack);

    // AWS gives a database without groups the VPC's default group.
    let vpc = live(region, &name).await.vpcs[0]
        .vpc_id()
        .unwrap()
        .to_string();
    let default_group = crate::harness::ec2(region)
        .await
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&vpc)
                .build(),
        )
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .group_id()
        .unwrap()
        .to_string();
    rds(region)
        .await
        .modify_db_instance()
        .db_instance_identifier(&identifier)
        .vpc_security_group_ids(&default_group)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    let plan = with_password(
        variable,
        password,
        &["plan", stack.arg(), "--detailed-exitcode"],
    );
    assert_eq!(
        plan.code, 0,
        "left out means whatever AWS assigns:\n{}",
        plan.stdout
    );
}

/// A group in use cannot be deleted on AWS (DependencyViolation), so one
/// replaced (a new description) is created first, under a generated name
/// while the old one holds the declared one; every user is moved to it (an
/// instance, a load balancer, a database, rules in other groups); only then
/// does the old one go. The next replacement takes the declared name back.
#[tokio::test]
async fn a_security_group_in_use_is_replaced_create_first_and_its_users_moved() {
    let name = unique("sgswap");
    let region = "ap-southeast-2";
    let identifier = format!("{name}-main");
    let (variable, password) = ("RECONCILE_TEST_DB_PASSWORD_7", "pw-never-shown-7a1c");
    // The database stack, its group allowing the app's, with two more groups
    // naming each other, a load balancer and an instance.
    let base = database(&name, region, &identifier, variable, "");
    let db_group = "[security_group.db]\nvpc = \"vpc.main\"\ningress = [{ protocol = \"tcp\", port = 5432, cidr = \"10.0.0.0/16\" }]\n";
    assert!(base.contains(db_group));
    let text = |lb: &str, app: &str, db: &str| {
        let groups = format!(
            r#"[security_group.db]
vpc = "vpc.main"
description = "{db}"
ingress = [{{ protocol = "tcp", port = 5432, security_group = "security_group.app" }}]

[security_group.lb]
vpc = "vpc.main"
description = "{lb}"
ingress = [{{ protocol = "tcp", port = 443, cidr = "0.0.0.0/0" }}]
egress = [{{ protocol = "tcp", port = 8080, security_group = "security_group.app" }}]

[security_group.app]
vpc = "vpc.main"
description = "{app}"
ingress = [
  {{ protocol = "tcp", port = 8080, security_group = "security_group.lb" }},
  {{ protocol = "tcp", port = 9000, security_group = "security_group.app" }},
]

[load_balancer.web]
subnets = ["subnet.db_a", "subnet.db_b"]
security_groups = ["security_group.lb"]

[instance.app]
ami = "ami-0a1b2c3d4e5f60718"
instance_type = "t3.micro"
subnet = "subnet.db_a"
security_groups = ["security_group.app"]
"#
        );
        base.replace(db_group, &groups)
    };
    let stack = StackFile::new(&text("lb", "app", "db"));
    converge(variable, password, &stack);

    // The groups as they are live: by declared name, with their name, rules
    // (port, group named) and users.
    struct Group {
        id: String,
        name: String,
        declared_tag: Option<String>,
        named: Vec<(i32, String)>,
    }
    let groups = || async {
        let l = live(region, &name).await;
        l.groups
            .iter()
            .map(|g| {
                let named = |perms: &[aws_sdk_ec2::types::IpPermission]| {
                    perms
                        .iter()
                        .flat_map(|p| {
                            p.user_id_group_pairs().iter().map(|u| {
                                (
                                    p.from_port().unwrap_or(-1),
                                    u.group_id().unwrap().to_string(),
                                )
                            })
                        })
                        .collect::<Vec<_>>()
                };
                let mut rules = named(g.ip_permissions());
                rules.extend(named(g.ip_permissions_egress()));
                rules.sort();
                let tag = g
                    .tags()
                    .iter()
                    .find(|t| t.key() == Some("reconcile:name"))
                    .and_then(|t| t.value())
                    .map(str::to_string);
                let declared = tag
                    .clone()
                    .unwrap_or_else(|| g.group_name().unwrap().to_string());
                let block = declared.trim_start_matches(&format!("{name}-")).to_string();
                (
                    block,
                    Group {
                        id: g.group_id().unwrap().to_string(),
                        name: g.group_name().unwrap().to_string(),
                        declared_tag: tag,
                        named: rules,
                    },
                )
            })
            .collect::<BTreeMap<String, Group>>()
    };
    let users = || async {
        let instance = live(region, &name).await.instances[0]
            .security_groups()
            .iter()
            .map(|g| g.group_id().unwrap().to_string())
            .collect::<Vec<_>>();
        let db = rds(region)
            .await
            .describe_db_instances()
            .db_instance_identifier(&identifier)
            .send()
            .await
            .unwrap()
            .db_instances()[0]
            .vpc_security_groups()
            .iter()
            .map(|g| g.vpc_security_group_id().unwrap().to_string())
            .collect::<Vec<_>>();
        let arn = owned_elb(region, &name)
            .await
            .into_keys()
            .find(|a| a.contains(":loadbalancer/"))
            .unwrap();
        let lb = elb(region)
            .await
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send()
            .await
            .unwrap()
            .load_balancers()[0]
            .security_groups()
            .to_vec();
        (instance, lb, db)
    };
    // Every rule names the current groups, every user is in its current
    // group, and the stack plans no change.
    let wired = |all: &BTreeMap<String, Group>, users: (Vec<String>, Vec<String>, Vec<String>)| {
        let (app, lb, db) = (&all["app"], &all["lb"], &all["db"]);
        assert_eq!(lb.named, [(8080, app.id.clone())]);
        assert_eq!(app.named, [(8080, lb.id.clone()), (9000, app.id.clone())]);
        assert_eq!(db.named, [(5432, app.id.clone())]);
        assert_eq!(
            users,
            (
                vec![app.id.clone()],
                vec![lb.id.clone()],
                vec![db.id.clone()]
            ),
            "instance, load balancer, database"
        );
        with_password(
            variable,
            password,
            &["plan", stack.arg(), "--detailed-exitcode"],
        )
        .expect(0);
    };
    let before = groups().await;
    assert_eq!(before.keys().collect::<Vec<_>>(), ["app", "db", "lb"]);

    // 1. The app's group: its users are an instance and rules in two other
    // groups, which are re-pointed in place, not replaced.
    let proxy = Proxy::start(endpoint(), 71);
    let via = |args: &[&str]| {
        let out = run_cmd(
            reconcile()
                .env("AWS_ENDPOINT_URL", &proxy.url)
                .env(variable, password)
                .args(args),
        );
        assert!(!out.stdout.contains(password) && !out.stderr.contains(password));
        out
    };
    stack.write(&text("lb", "app servers", "db"));
    let plan = stack.plan_json();
    assert_eq!(
        actions(&plan),
        [
            format!("replace security_group.app@{region}"),
            format!("update instance.app@{region}"),
            format!("update security_group.db@{region}"),
            format!("update security_group.lb@{region}"),
        ]
    );
    let shown = with_password(variable, password, &["plan", stack.arg()])
        .expect(0)
        .stdout;
    assert!(
        shown.contains("+/- security_group.app")
            && shown.contains(&format!(
                "the old group holds the name {name}-app until it is deleted: the new one is \
                 created first as {name}-app-<generated>"
            )),
        "{shown}"
    );
    via(&["apply", stack.arg(), "--auto-approve"]).expect(0);
    let moved = |seen: &[crate::proxy::Seen], movers: &[&str]| {
        let ops: Vec<&str> = seen.iter().map(|s| s.operation.as_str()).collect();
        let at = |op: &str| ops.iter().position(|o| *o == op);
        let delete = at("DeleteSecurityGroup").expect("the old group is deleted");
        let create = ops
            .iter()
            .rposition(|o| *o == "CreateSecurityGroup")
            .unwrap();
        assert!(create < delete, "created before the old one goes: {ops:?}");
        for op in movers {
            let moved = at(op).unwrap_or_else(|| panic!("{op} was not called: {ops:?}"));
            assert!(moved < delete, "{op} before the old group goes: {ops:?}");
        }
    };
    moved(
        &proxy.seen(),
        &["ModifyInstanceAttribute", "AuthorizeSecurityGroupEgress"],
    );
    let after = groups().await;
    let (app, lb, db) = (&after["app"], &after["lb"], &after["db"]);
    assert_ne!(app.id, before["app"].id);
    assert_eq!((&lb.id, &db.id), (&before["lb"].id, &before["db"].id));
    assert!(
        app.name.starts_with(&format!("{name}-app-")) && app.name.len() == name.len() + 13,
        "a generated name: {}",
        app.name
    );
    assert_eq!(app.declared_tag.as_deref(), Some(&*format!("{name}-app")));
    wired(&after, users().await);

    // 2. All three: the load balancer and the database move too, and the app's
    // group takes its declared name back (nothing holds it now).
    let mark = proxy.seen().len();
    stack.write(&text("load balancer", "app", "database"));
    via(&["apply", stack.arg(), "--auto-approve"]).expect(0);
    moved(
        &proxy.seen()[mark..],
        &[
            "ModifyInstanceAttribute",
            "SetSecurityGroups",
            "ModifyDBInstance",
        ],
    );
    let last = groups().await;
    let (app, lb, db) = (&last["app"], &last["lb"], &last["db"]);
    assert!([&app.id, &lb.id, &db.id].iter().all(|id| ![
        &after["app"].id,
        &after["lb"].id,
        &after["db"].id
    ]
    .contains(id)));
    assert_eq!(
        (app.name.clone(), app.declared_tag.clone()),
        (format!("{name}-app"), None)
    );
    assert!(
        lb.name.starts_with(&format!("{name}-lb-")) && db.name.starts_with(&format!("{name}-db-"))
    );
    wired(&last, users().await);
}
