//! IAM against the emulator: a role with managed and inline policies, an
//! instance profile, instances in two regions launched with it; policies
//! changed in place, drift put back, everything deleted.

use crate::harness::{endpoint, iam, run, run_cmd, unique, StackFile};
use crate::proxy::{Fault, Proxy};

const REGIONS: [&str; 2] = ["us-west-1", "eu-west-2"];

fn stack_text(name: &str, managed: &str, inline: &str) -> String {
    format!(
        r#"
[stack]
name = "{name}"
regions = ["{}", "{}"]

[vpc.main]
cidr = "10.70.0.0/16"

[subnet.a]
vpc = "vpc.main"
cidr = "10.70.1.0/24"
zone = "a"

[iam_role.app]
assume = "ec2.amazonaws.com"
managed_policies = [{managed}]
policies = {{ logs = '{inline}' }}

[instance_profile.app]
role = "iam_role.app"

[instance.web]
ami = {{ default = "ami-0a1b2c3d4e5f60718" }}
instance_type = "t3.micro"
subnet = "subnet.a"
instance_profile = "instance_profile.app"
"#,
        REGIONS[0], REGIONS[1]
    )
}

const LOGS: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}]}"#;
const LOGS_AND_METRICS: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:PutLogEvents", "cloudwatch:PutMetricData"], "Resource": "*"}]}"#;

/// A customer managed policy made elsewhere (by a colleague): its ARN.
async fn colleagues_policy(name: &str) -> String {
    iam()
        .await
        .create_policy()
        .policy_name(format!("{name}-read"))
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string()
}

fn no_op(stack: &StackFile) {
    let again = run(&["plan", stack.arg(), "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
}

/// The stack's roles (name, path), as the console lists them.
async fn roles(name: &str) -> Vec<(String, String)> {
    iam()
        .await
        .list_roles()
        .path_prefix(format!("/reconcile/{name}/"))
        .send()
        .await
        .unwrap()
        .roles()
        .iter()
        .map(|r| (r.role_name().to_string(), r.path().to_string()))
        .collect()
}

#[tokio::test]
async fn a_role_and_profile_serve_instances_in_every_region_and_change_in_place() {
    let name = unique("iam");
    let policy = colleagues_policy(&name).await;
    let stack = StackFile::new(&stack_text(&name, &format!("\"{policy}\""), LOGS));
    stack.apply().expect(0);
    no_op(&stack);

    let role = format!("{name}-app-role");
    assert_eq!(
        roles(&name).await,
        [(role.clone(), format!("/reconcile/{name}/"))]
    );
    let client = iam().await;
    let attached = client
        .list_attached_role_policies()
        .role_name(&role)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attached.attached_policies()[0].policy_arn(),
        Some(policy.as_str())
    );
    let profile = client
        .get_instance_profile()
        .instance_profile_name(format!("{name}-app-profile"))
        .send()
        .await
        .unwrap();
    let profile = profile.instance_profile().unwrap();
    assert_eq!(profile.roles()[0].role_name(), role);
    for region in REGIONS {
        let live = crate::harness::live(region, &name).await;
        assert_eq!(live.instances.len(), 1, "{region}");
        let arn = live.instances[0]
            .iam_instance_profile()
            .and_then(|p| p.arn());
        assert_eq!(
            arn,
            Some(profile.arn()),
            "{region}: launched with the profile"
        );
    }

    // The inline policy grows and the managed one goes: in place, one role.
    stack.write(&stack_text(&name, "", LOGS_AND_METRICS));
    let plan = run(&["plan", stack.arg()]).expect(0);
    assert!(plan.stdout.contains("~ iam_role.app"), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."),
        "{}",
        plan.stdout
    );
    stack.apply().expect(0);
    no_op(&stack);
    let inline = client
        .get_role_policy()
        .role_name(&role)
        .policy_name("logs")
        .send()
        .await
        .unwrap();
    assert!(inline.policy_document().contains("PutMetricData"));
    let attached = client
        .list_attached_role_policies()
        .role_name(&role)
        .send()
        .await
        .unwrap();
    assert!(attached.attached_policies().is_empty());

    // A colleague attaches a policy by hand: drift, detached again.
    client
        .attach_role_policy()
        .role_name(&role)
        .policy_arn(&policy)
        .send()
        .await
        .unwrap();
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(2);
    stack.apply().expect(0);
    no_op(&stack);

    // Everything removed: instances, profile, role.
    stack.write(&format!(
        "[stack]\nname = \"{name}\"\nregions = [\"{}\", \"{}\"]\n",
        REGIONS[0], REGIONS[1]
    ));
    stack.apply().expect(0);
    assert!(roles(&name).await.is_empty());
    let profiles = client
        .list_instance_profiles()
        .path_prefix(format!("/reconcile/{name}/"))
        .send()
        .await
        .unwrap();
    // (moto lists every profile, whatever the prefix)
    let path = format!("/reconcile/{name}/");
    assert!(!profiles
        .instance_profiles()
        .iter()
        .any(|p| p.path() == path));
}

/// IAM shows a new instance profile to EC2 only after a few seconds on AWS
/// (never on the emulator, so the proxy answers as AWS does meanwhile): the
/// launch is asked again until EC2 knows it, and makes one instance.
#[tokio::test]
async fn a_launch_waits_until_iam_has_shown_ec2_the_new_profile() {
    let name = unique("iamwait");
    let text = stack_text(&name, "", LOGS).replace(
        &format!("regions = [\"{}\", \"{}\"]", REGIONS[0], REGIONS[1]),
        &format!("regions = [\"{}\"]", REGIONS[0]),
    );
    let stack = StackFile::new(&text);
    let proxy = Proxy::start(endpoint(), 24);
    proxy.on("RunInstances", Fault::ProfileNotSeen, 3);
    run_cmd(proxy.via().args(["apply", stack.arg(), "--auto-approve"])).expect(0);
    let launches: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.operation == "RunInstances")
        .collect();
    assert_eq!(launches.len(), 4, "three refusals, then the launch");
    assert!(launches[3].fault.is_none());
    // Asked again after a pause that grows, not at once.
    let gaps: Vec<_> = launches
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at))
        .collect();
    assert!(gaps[2] > gaps[0], "backoff: {gaps:?}");
    let live = crate::harness::live(REGIONS[0], &name).await;
    assert_eq!(
        live.instances.len(),
        1,
        "one instance, launched with the profile"
    );
    assert!(live.instances[0].iam_instance_profile().is_some());
    no_op(&stack);
}
