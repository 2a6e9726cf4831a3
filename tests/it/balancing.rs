//! The application layer against the emulator: the blue-green example stack,
//! drift on load balancing and instances, replacement without outage, in-place
//! rule priorities, and blue-green weights that belong to cutover.

use crate::harness::{actions, demo_stack, ec2, elb, has_tag, live, run, unique, StackFile};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, ForwardActionConfig,
    PathPatternConditionConfig, Rule, RuleCondition, TargetGroup, TargetGroupTuple,
};

const REGION: &str = "us-west-2";

/// The load balancing a stack owns in a region, found through its tags.
struct Balancing {
    client: aws_sdk_elasticloadbalancingv2::Client,
    groups: Vec<TargetGroup>,
    listener: String,
    rule: Rule,
}

async fn balancing(region: &str, stack: &str) -> Balancing {
    let client = elb(region).await;
    let balancers = client.describe_load_balancers().send().await.unwrap();
    let groups = client.describe_target_groups().send().await.unwrap();
    let owned = crate::harness::owned_elb(region, stack).await;
    let balancer: Vec<_> = balancers
        .load_balancers()
        .iter()
        .filter(|b| owned.contains_key(b.load_balancer_arn().unwrap()))
        .collect();
    assert_eq!(balancer.len(), 1, "one owned load balancer");
    let mut groups: Vec<TargetGroup> = groups
        .target_groups()
        .iter()
        .filter(|g| owned.contains_key(g.target_group_arn().unwrap()))
        .cloned()
        .collect();
    groups.sort_by_key(|g| owned[g.target_group_arn().unwrap()].clone());
    let listeners = client
        .describe_listeners()
        .load_balancer_arn(balancer[0].load_balancer_arn().unwrap())
        .send()
        .await
        .unwrap();
    let listener = listeners.listeners()[0].listener_arn().unwrap().to_string();
    let rules = client
        .describe_rules()
        .listener_arn(&listener)
        .send()
        .await
        .unwrap();
    let rule = rules
        .rules()
        .iter()
        .find(|r| !r.is_default().unwrap_or(false))
        .unwrap()
        .clone();
    Balancing {
        client,
        groups,
        listener,
        rule,
    }
}

impl Balancing {
    /// Target group ARN by colour: the groups sort as `target_group.blue`, `target_group.green`.
    fn blue(&self) -> &str {
        self.groups[0].target_group_arn().unwrap()
    }

    fn green(&self) -> &str {
        self.groups[1].target_group_arn().unwrap()
    }

    async fn registered(&self, group: &str) -> Vec<String> {
        let health = self
            .client
            .describe_target_health()
            .target_group_arn(group)
            .send()
            .await
            .unwrap();
        let mut ids: Vec<String> = health
            .target_health_descriptions()
            .iter()
            .filter_map(|d| d.target()?.id().map(str::to_string))
            .collect();
        ids.sort();
        ids
    }

    /// The live rule's forward as (target group ARN, weight) pairs.
    async fn rule_forwards(&self) -> Vec<(String, i32)> {
        let rules = self
            .client
            .describe_rules()
            .rule_arns(self.rule.rule_arn().unwrap())
            .send()
            .await
            .unwrap();
        let action = &rules.rules()[0].actions()[0];
        let mut targets: Vec<(String, i32)> = match action.forward_config() {
            Some(f) if !f.target_groups().is_empty() => f
                .target_groups()
                .iter()
                .map(|t| {
                    (
                        t.target_group_arn().unwrap().to_string(),
                        t.weight().unwrap_or(1),
                    )
                })
                .collect(),
            _ => vec![(action.target_group_arn().unwrap_or_default().to_string(), 1)],
        };
        targets.sort();
        targets
    }

    async fn set_rule_weights(&self, blue: i32, green: i32) {
        let tuple = |arn: &str, weight| {
            TargetGroupTuple::builder()
                .target_group_arn(arn)
                .weight(weight)
                .build()
        };
        let forward = Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(
                ForwardActionConfig::builder()
                    .target_groups(tuple(self.blue(), blue))
                    .target_groups(tuple(self.green(), green))
                    .build(),
            )
            .build();
        self.client
            .modify_rule()
            .rule_arn(self.rule.rule_arn().unwrap())
            .actions(forward)
            .send()
            .await
            .unwrap();
    }
}

fn created_from_scratch(name: &str) -> StackFile {
    let stack = demo_stack(name);
    let plan = run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout
            .contains("Plan: 32 to add, 0 to change, 0 to replace, 0 to destroy."),
        "{}",
        plan.stdout
    );
    let applied = stack.apply().expect(0);
    assert!(
        applied.stdout.contains("Apply complete: 32 created"),
        "{}",
        applied.stdout
    );
    stack
}

fn no_changes(stack: &StackFile) {
    let plan = run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
    assert!(plan.stdout.starts_with("No changes."), "{}", plan.stdout);
}

#[tokio::test]
async fn the_blue_green_example_is_created_from_nothing_and_then_plans_no_op() {
    let name = unique("bg");
    let stack = created_from_scratch(&name);
    no_changes(&stack);

    for region in [REGION, "eu-west-1"] {
        let b = balancing(region, &name).await;
        assert_eq!(b.groups.len(), 2);
        let blue = &b.groups[0];
        assert_eq!(blue.health_check_path(), Some("/health"));
        assert_eq!(blue.health_check_interval_seconds(), Some(15));
        assert_eq!(b.rule.priority(), Some("100"));
        assert_eq!(b.rule_forwards().await, vec![(b.blue().to_string(), 1)]);
        let instances = live(region, &name).await.instances;
        assert_eq!(instances.len(), 4);
        let tagged = |colour: &str| -> Vec<String> {
            let mut ids: Vec<String> = instances
                .iter()
                .filter(|i| {
                    i.tags().iter().any(|t| {
                        t.key() == Some("reconcile:id") && t.value().unwrap().contains(colour)
                    })
                })
                .map(|i| i.instance_id().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(b.registered(b.blue()).await, tagged("web_blue"));
        assert_eq!(b.registered(b.green()).await, tagged("web_green"));
        let ami = if region == REGION {
            "ami-0a1b2c3d4e5f60718"
        } else {
            "ami-0f1e2d3c4b5a69788"
        };
        assert!(
            instances.iter().all(|i| i.image_id() == Some(ami)),
            "per-region AMIs"
        );
        assert!(instances.iter().all(|i| has_tag(
            i.tags(),
            "reconcile:version",
            "app:v1.4.2-infra:v0.2.0"
        )));
    }
}

#[tokio::test]
async fn drift_on_listener_rule_health_check_and_instance_count_is_repaired() {
    let name = unique("bgdrift");
    let stack = created_from_scratch(&name);
    let b = balancing(REGION, &name).await;
    let doomed = live(REGION, &name)
        .await
        .instances
        .iter()
        .find(|i| has_tag(i.tags(), "reconcile:id", "instance.web_green[1]"))
        .unwrap()
        .instance_id()
        .unwrap()
        .to_string();

    let unavailable = Action::builder()
        .r#type(ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            FixedResponseActionConfig::builder()
                .status_code("503")
                .content_type("text/plain")
                .build(),
        )
        .build();
    b.client
        .modify_listener()
        .listener_arn(&b.listener)
        .default_actions(unavailable)
        .send()
        .await
        .unwrap();
    let api_only = RuleCondition::builder()
        .field("path-pattern")
        .path_pattern_config(
            PathPatternConditionConfig::builder()
                .values("/api/*")
                .build(),
        )
        .build();
    b.client
        .modify_rule()
        .rule_arn(b.rule.rule_arn().unwrap())
        .conditions(api_only)
        .send()
        .await
        .unwrap();
    b.client
        .modify_target_group()
        .target_group_arn(b.blue())
        .health_check_path("/")
        .send()
        .await
        .unwrap();
    ec2(REGION)
        .await
        .terminate_instances()
        .instance_ids(&doomed)
        .send()
        .await
        .unwrap();

    let plan = stack.plan_json();
    assert_eq!(
        actions(&plan),
        vec![
            format!("create instance.web_green[1]@{REGION}"),
            format!("update listener.http@{REGION}"),
            format!("update listener_rule.app@{REGION}"),
            format!("update target_group.blue@{REGION}"),
        ]
    );
    let human = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(human.contains(r#"~ path = "/" → "/health""#), "{human}");
    assert!(human.contains(r#"~ status = "503" → "404""#), "{human}");

    stack.apply().expect(0);
    no_changes(&stack);
    let b = balancing(REGION, &name).await;
    assert_eq!(b.groups[0].health_check_path(), Some("/health"));
    let conditions = b.rule.conditions();
    assert_eq!(
        conditions[0].path_pattern_config().unwrap().values(),
        ["/*"]
    );
    assert_eq!(
        b.registered(b.green()).await.len(),
        2,
        "the replacement instance is registered"
    );
}

#[tokio::test]
async fn replacing_a_target_group_moves_its_rule_and_listener_first() {
    let name = unique("bgreplace");
    let stack = created_from_scratch(&name);
    let before = balancing(REGION, &name).await;
    let old_blue = before.blue().to_string();

    // A new port forces a new target group; its unique name lets it exist beside the old one.
    let text = std::fs::read_to_string(&stack.path).unwrap();
    let blue_block = text.find("[target_group.blue]").unwrap();
    let port = blue_block + text[blue_block..].find("port = 80").unwrap();
    stack.write(&format!(
        "{}port = 8080{}",
        &text[..port],
        &text[port + "port = 80".len()..]
    ));
    let human = run(&["plan", stack.arg(), "--region", REGION]).expect(0);
    assert!(
        human.stdout.contains("+/- target_group.blue"),
        "created before the old one goes, as Terraform writes it: {}",
        human.stdout
    );
    let plan = run(&["plan", stack.arg(), "--region", REGION, "--json"])
        .expect(0)
        .json();
    assert_eq!(
        actions(&plan),
        vec![
            format!("replace target_group.blue@{REGION}"),
            format!("update instance.web_blue[0]@{REGION}"),
            format!("update instance.web_blue[1]@{REGION}"),
            format!("update listener_rule.app@{REGION}"),
        ]
    );

    let applied = run(&["apply", stack.arg(), "--region", REGION, "--auto-approve"]).expect(0);
    // The rule moved to the new group before the old one was deleted.
    let moved = applied
        .stderr
        .find("listener_rule.app (us-west-2): updated")
        .unwrap();
    let deleted = applied
        .stderr
        .find(&format!(
            "target_group.blue (us-west-2): deleted {old_blue}"
        ))
        .unwrap();
    assert!(moved < deleted, "{}", applied.stderr);

    let after = balancing(REGION, &name).await;
    assert_ne!(after.blue(), old_blue);
    assert_eq!(after.groups[0].port(), Some(8080));
    assert_eq!(
        after.rule_forwards().await,
        vec![(after.blue().to_string(), 1)]
    );
    assert_eq!(after.registered(after.blue()).await.len(), 2);
    assert!(
        after
            .client
            .describe_target_groups()
            .target_group_arns(&old_blue)
            .send()
            .await
            .is_err(),
        "the old group is gone"
    );
    let plan = run(&["plan", stack.arg(), "--region", REGION, "--json"])
        .expect(0)
        .json();
    assert!(actions(&plan).is_empty(), "{plan}");

    // The same with a listener: its default action forwards to green, then green is replaced.
    let text = std::fs::read_to_string(&stack.path).unwrap().replace(
        r#"default_action = { fixed_response = { status = 404, body = "no route" } }"#,
        r#"default_action = { forward = "target_group.green" }"#,
    );
    stack.write(&text);
    run(&["apply", stack.arg(), "--region", REGION, "--auto-approve"]).expect(0);
    let old_green = balancing(REGION, &name).await.green().to_string();
    let green_block = text.find("[target_group.green]").unwrap();
    let port = green_block + text[green_block..].find("port = 80").unwrap();
    stack.write(&format!(
        "{}port = 8081{}",
        &text[..port],
        &text[port + "port = 80".len()..]
    ));
    assert_eq!(
        actions(
            &run(&["plan", stack.arg(), "--region", REGION, "--json"])
                .expect(0)
                .json()
        ),
        vec![
            format!("replace target_group.green@{REGION}"),
            format!("update instance.web_green[0]@{REGION}"),
            format!("update instance.web_green[1]@{REGION}"),
            format!("update listener.http@{REGION}"),
        ]
    );
    run(&["apply", stack.arg(), "--region", REGION, "--auto-approve"]).expect(0);
    let after = balancing(REGION, &name).await;
    assert_ne!(after.green(), old_green);
    let listener = after
        .client
        .describe_listeners()
        .listener_arns(&after.listener)
        .send()
        .await
        .unwrap();
    let action = &listener.listeners()[0].default_actions()[0];
    let forwarded: Vec<_> = action
        .forward_config()
        .unwrap()
        .target_groups()
        .iter()
        .filter_map(|t| t.target_group_arn())
        .collect();
    assert_eq!(
        forwarded,
        vec![after.green()],
        "the listener is on the new group"
    );
    assert_eq!(after.registered(after.green()).await.len(), 2);
}

#[tokio::test]
async fn a_priority_change_is_an_in_place_update() {
    let name = unique("bgprio");
    let stack = created_from_scratch(&name);
    let before = balancing(REGION, &name).await;
    stack.write(
        &std::fs::read_to_string(&stack.path)
            .unwrap()
            .replace("priority = 100", "priority = 200"),
    );

    let plan = stack.plan_json();
    assert_eq!(
        actions(&plan),
        vec![
            format!("update listener_rule.app@eu-west-1"),
            format!("update listener_rule.app@{REGION}")
        ]
    );
    let human = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(human.contains("~ priority = 100 → 200"), "{human}");
    assert!(!human.contains("forces replacement"), "{human}");

    stack.apply().expect(0);
    no_changes(&stack);
    let after = balancing(REGION, &name).await;
    assert_eq!(
        after.rule.rule_arn(),
        before.rule.rule_arn(),
        "the same rule"
    );
    assert_eq!(after.rule.priority(), Some("200"));
}

#[tokio::test]
async fn live_blue_green_weights_are_never_drift() {
    let name = unique("bgweights");
    let stack = created_from_scratch(&name);
    let b = balancing(REGION, &name).await;

    // Mid-cutover: half the traffic on green.
    b.set_rule_weights(50, 50).await;
    no_changes(&stack);
    stack.apply().expect(0);
    let mut split = vec![(b.blue().to_string(), 50), (b.green().to_string(), 50)];
    split.sort();
    assert_eq!(b.rule_forwards().await, split, "apply never flips traffic");

    // Cut over: all on green; still not drift.
    b.set_rule_weights(0, 100).await;
    no_changes(&stack);

    // Something that is not a blue-green split is drift, and is corrected.
    let unavailable = Action::builder()
        .r#type(ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            FixedResponseActionConfig::builder()
                .status_code("503")
                .build(),
        )
        .build();
    b.client
        .modify_rule()
        .rule_arn(b.rule.rule_arn().unwrap())
        .actions(unavailable)
        .send()
        .await
        .unwrap();
    assert_eq!(
        actions(
            &run(&["plan", stack.arg(), "--region", REGION, "--json"])
                .expect(0)
                .json()
        ),
        vec![format!("update listener_rule.app@{REGION}")]
    );
    run(&["apply", stack.arg(), "--region", REGION, "--auto-approve"]).expect(0);
    assert_eq!(b.rule_forwards().await, vec![(b.blue().to_string(), 1)]);
}

#[tokio::test]
async fn a_load_balancer_with_aws_deletion_protection_is_never_replaced() {
    let name = unique("lb-protected");
    let stack = created_from_scratch(&name);
    let owned = crate::harness::owned_elb("us-west-2", &name).await;
    let arn = owned
        .iter()
        .find(|(_, id)| id.as_str() == "load_balancer.app")
        .map(|(arn, _)| arn.clone())
        .unwrap();
    // A colleague turns AWS's deletion protection on in the console.
    elb("us-west-2")
        .await
        .modify_load_balancer_attributes()
        .load_balancer_arn(&arn)
        .attributes(
            aws_sdk_elasticloadbalancingv2::types::LoadBalancerAttribute::builder()
                .key("deletion_protection.enabled")
                .value("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let text = std::fs::read_to_string(&stack.path).unwrap();
    stack.write(&text.replace(
        "[load_balancer.app]\n",
        "[load_balancer.app]\nscheme = \"internal\"\n",
    ));
    let refused = run(&["plan", stack.arg()]).expect(1);
    assert!(
        refused.stderr.contains(&format!(
            "load_balancer.app in us-west-2 ({arn}) is protected and this plan would replace it: `scheme`"
        )),
        "{}",
        refused.stderr
    );
    assert!(
        !refused.stderr.contains("load_balancer.app in eu-west-1"),
        "only where protection is on: {}",
        refused.stderr
    );
    stack.apply().expect(1);
    assert!(owned_arns_contain(&name, &arn).await, "still there");
}

async fn owned_arns_contain(stack: &str, arn: &str) -> bool {
    crate::harness::owned_elb("us-west-2", stack)
        .await
        .contains_key(arn)
}

#[tokio::test]
async fn a_cutover_survives_replacing_a_colour_and_the_load_balancer() {
    let name = unique("bgsurvive");
    let stack = created_from_scratch(&name);
    let b = balancing(REGION, &name).await;
    // Cut over: all traffic on green.
    b.set_rule_weights(0, 100).await;
    let on_green = |b: &Balancing| {
        let mut split = vec![(b.blue().to_string(), 0), (b.green().to_string(), 100)];
        split.sort();
        split
    };

    // A new port replaces the green target group: its weight moves with it.
    let text = std::fs::read_to_string(&stack.path).unwrap();
    let green_block = text.find("[target_group.green]").unwrap();
    let port = green_block + text[green_block..].find("port = 80").unwrap();
    let text = format!(
        "{}port = 8080{}",
        &text[..port],
        &text[port + "port = 80".len()..]
    );
    stack.write(&text);
    let shown = run(&["plan", stack.arg(), "--region", REGION])
        .expect(0)
        .stdout;
    assert!(
        !shown.contains("weight = 100, target_group = target_group.blue"),
        "the plan does not send traffic back to blue: {shown}"
    );
    run(&["apply", stack.arg(), "--region", REGION, "--auto-approve"]).expect(0);
    let after = balancing(REGION, &name).await;
    assert_ne!(after.green(), b.green(), "a new green group");
    assert_eq!(after.rule_forwards().await, on_green(&after));

    // A scheme change replaces the load balancer, its listener and rule: the
    // new rule forwards as the old one did.
    stack.write(&text.replace(
        "[load_balancer.app]\n",
        "[load_balancer.app]\nscheme = \"internal\"\n",
    ));
    run(&["apply", stack.arg(), "--region", REGION, "--auto-approve"]).expect(0);
    let replaced = balancing(REGION, &name).await;
    assert_ne!(
        replaced.rule.rule_arn(),
        after.rule.rule_arn(),
        "a new rule"
    );
    assert_eq!(replaced.rule_forwards().await, on_green(&replaced));
    let again = run(&[
        "plan",
        stack.arg(),
        "--region",
        REGION,
        "--detailed-exitcode",
    ]);
    assert_eq!(again.code, 0, "{}", again.stdout);
}

/// A VPC given a new CIDR takes its load balancer with it: AWS does not let a
/// load balancer leave its VPC (its `vpc`, derived from its subnets, forces a
/// replacement), so it, its listener and rule, the target groups and the
/// instances are rebuilt in the new VPC in one run, the rule keeping the live
/// blue-green split and every instance registered again.
#[tokio::test]
async fn a_vpc_given_a_new_cidr_takes_its_load_balancer_with_it() {
    let name = unique("lbvpc");
    let stack = demo_stack(&name);
    let apply = || run(&["apply", stack.arg(), "--region", REGION, "--auto-approve"]);
    apply().expect(0);
    let old_vpc = live(REGION, &name).await.vpcs[0]
        .vpc_id()
        .unwrap()
        .to_string();
    // Halfway through a cutover: the split survives the rebuild.
    balancing(REGION, &name)
        .await
        .set_rule_weights(90, 10)
        .await;

    let text = std::fs::read_to_string(stack.arg()).unwrap();
    stack.write(&text.replace("10.10.", "10.30."));
    let plan = run(&["plan", stack.arg(), "--region", REGION])
        .expect(0)
        .stdout;
    assert!(
        plan.contains("-/+ load_balancer.app") && plan.contains("~ vpc = "),
        "{plan}"
    );
    apply().expect(0);
    let vpcs = live(REGION, &name).await.vpcs;
    assert_eq!(vpcs.len(), 1);
    let vpc = vpcs[0].vpc_id().unwrap().to_string();
    assert_ne!(vpc, old_vpc);
    let b = balancing(REGION, &name).await;
    let listener = b
        .client
        .describe_listeners()
        .listener_arns(&b.listener)
        .send()
        .await
        .unwrap();
    let lb = b
        .client
        .describe_load_balancers()
        .load_balancer_arns(listener.listeners()[0].load_balancer_arn().unwrap())
        .send()
        .await
        .unwrap()
        .load_balancers()
        .iter()
        .map(|l| l.vpc_id().unwrap().to_string())
        .collect::<Vec<_>>();
    assert_eq!(
        lb,
        std::slice::from_ref(&vpc),
        "the load balancer is in the new VPC"
    );
    assert!(b.groups.iter().all(|g| g.vpc_id() == Some(vpc.as_str())));
    assert_eq!(
        b.rule_forwards().await,
        [(b.blue().to_string(), 90), (b.green().to_string(), 10)]
    );
    let instances = live(REGION, &name).await.instances;
    assert_eq!(instances.len(), 4);
    assert!(instances.iter().all(|i| i.vpc_id() == Some(vpc.as_str())));
    assert_eq!(b.registered(b.blue()).await.len(), 2);
    assert_eq!(b.registered(b.green()).await.len(), 2);
    run(&[
        "plan",
        stack.arg(),
        "--region",
        REGION,
        "--detailed-exitcode",
    ])
    .expect(0);
}
