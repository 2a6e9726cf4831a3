//! Coming from Terraform: a production-shaped configuration applied by real
//! Terraform (1.11, the hashicorp/aws provider from the machine's
//! filesystem mirror) on the emulator, taken over with `reconcile import
//! --tfstate`: the plan of the generated file shows only imports, apply
//! changes nothing but ownership, the next plan is a no-op and the account
//! holds exactly what it held.

use crate::harness::{cloudwatch, elb, endpoint, rds, route53, run, unique, StackFile};
use std::path::{Path, PathBuf};
use std::process::Command;

const REGION: &str = "eu-south-1";

/// Where the hashicorp/aws provider is mirrored: `RECONCILE_TF_PLUGIN_MIRROR`,
/// or a usual place. These machines have one; a test that cannot find it fails.
fn plugin_mirror() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_default();
    let candidates = std::env::var("RECONCILE_TF_PLUGIN_MIRROR")
        .map(|m| vec![PathBuf::from(m)])
        .unwrap_or_else(|_| {
            vec![
                PathBuf::from("/opt/tf-plugins"),
                Path::new(&home).join(".terraform.d/plugins"),
                PathBuf::from("/usr/local/share/terraform/plugins"),
                PathBuf::from("/usr/share/terraform/plugins"),
            ]
        });
    candidates
        .into_iter()
        .find(|dir| dir.join("registry.terraform.io/hashicorp/aws").is_dir())
        .expect(
            "no filesystem mirror of the hashicorp/aws provider (a folder holding \
             registry.terraform.io/hashicorp/aws): set RECONCILE_TF_PLUGIN_MIRROR",
        )
}

/// Runs terraform in `dir`; its output when it fails.
fn terraform(dir: &Path, args: &[&str]) {
    let out = Command::new("terraform")
        .current_dir(dir)
        .args(args)
        .env("TF_CLI_CONFIG_FILE", dir.join("terraformrc"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("Terraform is not installed (`terraform` on PATH): these machines have 1.11");
    assert!(
        out.status.success(),
        "terraform {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The configuration in a work directory, its provider pointed at the emulator.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/terraform/shop");
    copy(&source, dir.path());
    let services = ["ec2", "elbv2", "rds", "route53", "cloudwatch", "s3", "sts"];
    let endpoints: String = services
        .iter()
        .map(|s| format!("    {s} = \"{}\"\n", endpoint()))
        .collect();
    std::fs::write(
        dir.path().join("provider.tf"),
        format!(
            "provider \"aws\" {{\n  region = var.region\n  access_key = \"testing\"\n  \
             secret_key = \"testing\"\n  skip_credentials_validation = true\n  \
             skip_requesting_account_id = true\n  skip_metadata_api_check = true\n  \
             s3_use_path_style = true\n  endpoints {{\n{endpoints}  }}\n}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("terraformrc"),
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
            plugin_mirror().display()
        ),
    )
    .unwrap();
    dir
}

fn copy(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every resource of the region (and the test's hosted zones and their
/// records, reconcile's markers left out), by id: what the account holds.
async fn inventory(domain: &str) -> Vec<String> {
    let ec2 = crate::harness::ec2(REGION).await;
    let mut ids = Vec::new();
    let vpcs = ec2.describe_vpcs().send().await.unwrap();
    ids.extend(
        vpcs.vpcs()
            .iter()
            .filter_map(|v| v.vpc_id())
            .map(String::from),
    );
    let subnets = ec2.describe_subnets().send().await.unwrap();
    ids.extend(
        subnets
            .subnets()
            .iter()
            .filter_map(|s| s.subnet_id())
            .map(String::from),
    );
    let gateways = ec2.describe_internet_gateways().send().await.unwrap();
    ids.extend(
        gateways
            .internet_gateways()
            .iter()
            .filter_map(|g| g.internet_gateway_id())
            .map(String::from),
    );
    let tables = ec2.describe_route_tables().send().await.unwrap();
    for t in tables.route_tables() {
        let routes: Vec<String> = t
            .routes()
            .iter()
            .map(|r| format!("{:?}>{:?}", r.destination_cidr_block(), r.gateway_id()))
            .collect();
        ids.push(format!("{:?} {routes:?}", t.route_table_id()));
    }
    let groups = ec2.describe_security_groups().send().await.unwrap();
    for g in groups.security_groups() {
        ids.push(format!(
            "{:?} {:?} in {} out {}",
            g.group_id(),
            g.group_name(),
            g.ip_permissions().len(),
            g.ip_permissions_egress().len()
        ));
    }
    let instances = ec2.describe_instances().send().await.unwrap();
    for i in instances.reservations().iter().flat_map(|r| r.instances()) {
        ids.push(format!(
            "{:?} {:?}",
            i.instance_id(),
            i.state().and_then(|s| s.name())
        ));
    }
    let elb = elb(REGION).await;
    let balancers = elb.describe_load_balancers().send().await.unwrap();
    for b in balancers.load_balancers() {
        ids.extend(b.load_balancer_arn().map(String::from));
        let listeners = elb
            .describe_listeners()
            .load_balancer_arn(b.load_balancer_arn().unwrap())
            .send()
            .await
            .unwrap();
        for l in listeners.listeners() {
            ids.extend(l.listener_arn().map(String::from));
            let rules = elb
                .describe_rules()
                .listener_arn(l.listener_arn().unwrap())
                .send()
                .await
                .unwrap();
            ids.extend(
                rules
                    .rules()
                    .iter()
                    .filter_map(|r| r.rule_arn())
                    .map(String::from),
            );
        }
    }
    let groups = elb.describe_target_groups().send().await.unwrap();
    for g in groups.target_groups() {
        let arn = g.target_group_arn().unwrap();
        let health = elb
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .unwrap();
        let targets: Vec<_> = health
            .target_health_descriptions()
            .iter()
            .filter_map(|d| d.target().and_then(|t| t.id()))
            .collect();
        ids.push(format!("{arn} {targets:?}"));
    }
    let rds = rds(REGION).await;
    let dbs = rds.describe_db_instances().send().await.unwrap();
    for d in dbs.db_instances() {
        ids.push(format!(
            "{:?} {:?}",
            d.db_instance_arn(),
            d.deletion_protection()
        ));
    }
    let subnet_groups = rds.describe_db_subnet_groups().send().await.unwrap();
    ids.extend(
        subnet_groups
            .db_subnet_groups()
            .iter()
            .filter_map(|g| g.db_subnet_group_arn())
            .map(String::from),
    );
    let alarms = cloudwatch(REGION)
        .await
        .describe_alarms()
        .send()
        .await
        .unwrap();
    for a in alarms.metric_alarms() {
        ids.push(format!("{:?} {:?}", a.alarm_arn(), a.threshold()));
    }
    let route53 = route53().await;
    for zone in crate::harness::zones_named(&route53, domain).await {
        ids.push(zone.clone());
        for (name, kind, values) in crate::dns::records(&route53, &zone).await {
            if !name.starts_with("_reconcile-") {
                ids.push(format!("{name} {kind} {values:?}"));
            }
        }
    }
    ids.sort();
    ids
}

#[tokio::test]
async fn a_terraform_state_is_taken_over_with_only_imports() {
    let name = unique("tf");
    let domain = format!("{name}.example.com");
    let dir = workdir();
    terraform(dir.path(), &["init", "-input=false", "-no-color"]);
    let vars = [format!("-var=region={REGION}"), format!("-var=name={name}")];
    let apply: Vec<&str> = ["apply", "-auto-approve", "-input=false", "-no-color"]
        .into_iter()
        .chain(vars.iter().map(String::as_str))
        .collect();
    terraform(dir.path(), &apply);
    let before = inventory(&domain).await;

    let state = dir.path().join("terraform.tfstate");
    let out = dir.path().join(format!("{name}.toml"));
    let import = run(&[
        "import",
        "--tfstate",
        state.to_str().unwrap(),
        "--name",
        &name,
        "--out",
        out.to_str().unwrap(),
    ])
    .expect(0);
    // Written in `reconcile fmt`'s layout.
    run(&["fmt", "--check", out.to_str().unwrap()]).expect(0);
    for said in [
        "not mapped: aws_s3_bucket.assets (aws_s3_bucket): reconcile has no kind for aws_s3_bucket",
        "terraform state rm 'module.network.aws_vpc.this'",
        "terraform state rm 'module.network.aws_subnet.public[1]'",
        "terraform state rm 'aws_lb_target_group.app[\"green\"]'",
        "terraform state rm 'aws_security_group_rule.web_http'",
        "terraform state rm 'aws_db_instance.main'",
        "terraform state rm 'aws_cloudwatch_metric_alarm.errors'",
    ] {
        assert!(import.stdout.contains(said), "{said}\n{}", import.stdout);
    }
    let text = std::fs::read_to_string(&out).unwrap();
    for written in [
        "[vpc.network_this]",
        "vpc = \"vpc.network_this\"",
        "[instance.web_1]",
        "target_groups = [\"target_group.app_blue\"]",
        "weight = 90",
        "alias = \"load_balancer.web\"",
        "deletion_protection = true",
        "master_password_env = \"MAIN_MASTER_PASSWORD\"",
        "the master password is never read nor written",
        "#   aws_s3_bucket.assets (aws_s3_bucket)",
        "[alarm.errors]",
        "treat_missing_data = \"notBreaching\"",
    ] {
        assert!(text.contains(written), "{written}\n{text}");
    }
    let alarm = format!("name = \"{name} 5xx at the load balancer\"");
    assert!(text.contains(&alarm), "the alarm keeps its name: {text}");
    assert!(
        !text.contains("never-in-a-stack-file"),
        "no password: {text}"
    );
    assert!(!text.contains("availability_zones"), "data sources ignored");

    let stack = StackFile::new(&text);
    let plan = stack.plan_json();
    let summary = &plan["summary"];
    assert_eq!(
        (
            summary["create"].as_u64(),
            summary["replace"].as_u64(),
            summary["delete"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{plan:#}"
    );
    assert_eq!(summary["import"], 20, "{plan:#}");
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["adoption"] == "import"),
        "every change an import: {plan:#}"
    );
    stack.apply().expect(0);
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
    assert_eq!(
        inventory(&domain).await,
        before,
        "the account holds what it held"
    );

    // The database is protected: dropping its block is refused.
    let start = text.find("# aws_db_instance.main").unwrap();
    let end = start + text[start..].find("\n# aws_").unwrap();
    stack.write(&format!("{}{}", &text[..start], &text[end + 1..]));
    let refused = run(&["plan", stack.arg()]).expect(1);
    assert!(
        refused.stderr.contains("db_instance.main in eu-south-1")
            && refused
                .stderr
                .contains("is protected and this plan would delete it"),
        "{}",
        refused.stderr
    );
}

/// Bad input is refused before any call, saying what and what to do.
#[test]
fn a_missing_or_old_state_or_a_bad_name_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.tfstate");
    let missing = missing.to_str().unwrap();
    let refused = run(&["import", "--tfstate", missing, "--name", "shop"]).expect(1);
    assert!(
        refused
            .stderr
            .contains(&format!("reading the Terraform state {missing}")),
        "{}",
        refused.stderr
    );
    let old = dir.path().join("old.tfstate");
    std::fs::write(&old, r#"{"version": 3, "modules": []}"#).unwrap();
    let old = old.to_str().unwrap();
    let refused = run(&["import", "--tfstate", old, "--name", "shop"]).expect(1);
    assert!(
        refused.stderr.contains("a Terraform state of format 3")
            && refused.stderr.contains("terraform state pull"),
        "{}",
        refused.stderr
    );
    let refused = run(&["import", "--tfstate", old, "--name", "Shop Prod"]).expect(1);
    assert!(
        refused
            .stderr
            .contains("--name Shop Prod: not a stack name: use up to 40 letters"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stdout.is_empty(),
        "nothing written: {}",
        refused.stdout
    );
}
