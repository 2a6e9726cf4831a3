//! Colours as Auto Scaling groups from a launch template with an instance
//! profile, behind the blue-green rule: created and found, capacity scaled
//! by hand (not drift where the group does not declare it), a declared one
//! put back, a new image as a new template version, everything deleted.

use crate::harness::{autoscaling, ec2, elb, run, unique, StackFile};
use aws_sdk_autoscaling::types::AutoScalingGroup;

const REGION: &str = "ap-northeast-1";

/// Blue and green, each from a template of its own; green's image from
/// `--var green_image`.
fn stack_text(name: &str) -> String {
    format!(
        r##"
[vars]
green_image = "{AMI}"

[stack]
name = "{name}"
regions = ["{REGION}"]

[vpc.main]
cidr = "10.80.0.0/16"

[subnet.a]
vpc = "vpc.main"
cidr = "10.80.1.0/24"
zone = "a"

[subnet.c]
vpc = "vpc.main"
cidr = "10.80.2.0/24"
zone = "c"

[security_group.app]
vpc = "vpc.main"
description = "app"
ingress = [{{ protocol = "tcp", port = 80, cidr = "10.80.0.0/16" }}]

[load_balancer.app]
subnets = ["subnet.a", "subnet.c"]

[target_group.blue]
vpc = "vpc.main"
port = 80

[target_group.green]
vpc = "vpc.main"
port = 80

[listener.http]
load_balancer = "load_balancer.app"
port = 80
default_action = {{ forward = [{{ target_group = "target_group.blue", weight = 100 }}, {{ target_group = "target_group.green", weight = 0 }}] }}

[blue_green.app]
listener = "listener.http"
blue = "target_group.blue"
green = "target_group.green"

[iam_role.app]
assume = "ec2.amazonaws.com"

[instance_profile.app]
role = "iam_role.app"

[launch_template.blue]
ami = {{ default = "{AMI}" }}
instance_type = "t3.micro"
security_groups = ["security_group.app"]
instance_profile = "instance_profile.app"
user_data = "#!/bin/sh\\necho hello\\n"

[launch_template.green]
ami = {{ default = "${{var.green_image}}" }}
instance_type = "t3.micro"
security_groups = ["security_group.app"]
instance_profile = "instance_profile.app"

[autoscaling_group.blue]
launch_template = "launch_template.blue"
subnets = ["subnet.a", "subnet.c"]
min = 1
max = 4
desired = 2
target_groups = ["target_group.blue"]
health_check = {{ type = "ELB", grace = "60s" }}

[autoscaling_group.green]
launch_template = "launch_template.green"
subnets = ["subnet.a", "subnet.c"]
min = 1
max = 4
target_groups = ["target_group.green"]
"##
    )
}

const AMI: &str = "ami-0a1b2c3d4e5f60718";
const NEW_AMI: &str = "ami-0b2c3d4e5f6071829";

async fn group(name: &str, colour: &str) -> AutoScalingGroup {
    autoscaling(REGION)
        .await
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(format!("{name}-{colour}"))
        .send()
        .await
        .unwrap()
        .auto_scaling_groups()[0]
        .clone()
}

fn instance_ids(g: &AutoScalingGroup) -> Vec<String> {
    let mut ids: Vec<String> = g
        .instances()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

async fn image_of(id: &str) -> String {
    let out = ec2(REGION)
        .await
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
        .unwrap();
    out.reservations()[0].instances()[0]
        .image_id()
        .unwrap()
        .to_string()
}

async fn set_desired(name: &str, colour: &str, n: i32) {
    autoscaling(REGION)
        .await
        .set_desired_capacity()
        .auto_scaling_group_name(format!("{name}-{colour}"))
        .desired_capacity(n)
        .send()
        .await
        .unwrap();
}

fn no_op(stack: &StackFile) {
    let again = run(&["plan", stack.arg(), "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
}

#[tokio::test]
async fn colours_as_groups_from_a_template_scale_by_hand_and_take_a_new_image() {
    let name = unique("asg");
    let stack = StackFile::new(&stack_text(&name));
    stack.apply().expect(0);
    no_op(&stack);

    let blue = group(&name, "blue").await;
    assert_eq!(blue.instances().len(), 2);
    assert_eq!(blue.health_check_type(), Some("ELB"));
    assert_eq!(blue.health_check_grace_period(), Some(60));
    let template = blue.launch_template().unwrap();
    assert_eq!(template.version(), Some("$Default"));
    let template_id = template.launch_template_id().unwrap().to_string();
    let green = group(&name, "green").await;
    assert_eq!(green.instances().len(), 1, "no desired: min");
    // The groups' instances are registered in their colours' target groups.
    let registered = elb(REGION)
        .await
        .describe_target_health()
        .target_group_arn(&blue.target_group_arns()[0])
        .send()
        .await
        .unwrap();
    assert_eq!(registered.target_health_descriptions().len(), 2);
    // Launched from the template's AMI; the template carries the instance
    // profile (moto's groups do not pass it on to their instances).
    let instance = ec2(REGION)
        .await
        .describe_instances()
        .instance_ids(blue.instances()[0].instance_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        instance.reservations()[0].instances()[0].image_id(),
        Some(AMI)
    );
    let versions = ec2(REGION)
        .await
        .describe_launch_template_versions()
        .launch_template_id(&template_id)
        .versions("$Default")
        .send()
        .await
        .unwrap();
    let data = versions.launch_template_versions()[0]
        .launch_template_data()
        .unwrap();
    assert_eq!(
        data.iam_instance_profile().and_then(|p| p.name()),
        Some(format!("{name}-app-profile").as_str())
    );
    assert!(data.user_data().is_some());

    // Green declares no desired: scaled by hand, it is not drift.
    set_desired(&name, "green", 3).await;
    no_op(&stack);
    // Blue declares 2: scaled by hand, it is put back.
    set_desired(&name, "blue", 3).await;
    let plan = run(&["plan", stack.arg()]).expect(0);
    assert!(
        plan.stdout.contains("~ autoscaling_group.blue"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("desired"), "{}", plan.stdout);
    stack.apply().expect(0);
    assert_eq!(group(&name, "blue").await.desired_capacity(), Some(2));
    no_op(&stack);

    // A new image for the idle colour, given as CI gives it: a new version
    // of green's template, and green's instances replaced by apply alone;
    // blue untouched.
    let green_before = group(&name, "green").await;
    let green_template = green_before
        .launch_template()
        .and_then(|t| t.launch_template_id())
        .unwrap()
        .to_string();
    let blue_before = instance_ids(&group(&name, "blue").await);
    let image = format!("green_image={NEW_AMI}");
    let plan = run(&["plan", stack.arg(), "--var", &image]).expect(0);
    for line in [
        "~ launch_template.green",
        "~ autoscaling_group.green",
        "instances = \"all on version 1\" → (known after apply)",
        "Plan: 0 to add, 2 to change, 0 to replace, 0 to destroy.",
    ] {
        assert!(plan.stdout.contains(line), "{line}\n{}", plan.stdout);
    }
    run(&["apply", stack.arg(), "--var", &image, "--auto-approve"]).expect(0);
    run(&["plan", stack.arg(), "--var", &image, "--detailed-exitcode"]).expect(0);
    let versions = ec2(REGION)
        .await
        .describe_launch_template_versions()
        .launch_template_id(&green_template)
        .versions("$Default")
        .send()
        .await
        .unwrap();
    let default = &versions.launch_template_versions()[0];
    assert_eq!(default.version_number(), Some(2));
    let green = group(&name, "green").await;
    let now = instance_ids(&green);
    assert_eq!(
        now.len(),
        instance_ids(&green_before).len(),
        "as many as before"
    );
    assert!(
        now.iter()
            .all(|id| !instance_ids(&green_before).contains(id)),
        "every green instance replaced"
    );
    for id in &now {
        assert_eq!(image_of(id).await, NEW_AMI);
    }
    let registered = elb(REGION)
        .await
        .describe_target_health()
        .target_group_arn(&green.target_group_arns()[0])
        .send()
        .await
        .unwrap();
    // Deregistered ones drain for a while (AWS and moto alike).
    let mut targets: Vec<String> = registered
        .target_health_descriptions()
        .iter()
        .filter(|d| {
            d.target_health()
                .and_then(|h| h.state())
                .map(|s| s.as_str())
                != Some("draining")
        })
        .filter_map(|d| d.target().and_then(|t| t.id()).map(str::to_string))
        .collect();
    targets.sort();
    assert_eq!(targets, now, "the new instances serve green");
    assert_eq!(
        instance_ids(&group(&name, "blue").await),
        blue_before,
        "blue untouched"
    );

    // Everything removed: the groups scaled to nothing and deleted first.
    stack.write(&format!(
        "[stack]\nname = \"{name}\"\nregions = [\"{REGION}\"]\n"
    ));
    stack.apply().expect(0);
    let left = autoscaling(REGION)
        .await
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(format!("{name}-blue"))
        .auto_scaling_group_names(format!("{name}-green"))
        .send()
        .await
        .unwrap();
    assert!(left.auto_scaling_groups().is_empty());
}
