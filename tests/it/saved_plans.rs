//! `plan --out` and `apply PLAN.json`, JSON output, and the rendered plan.

use crate::harness::{ec2, live, run, tag, unique, vpc_stack, StackFile};

async fn vpc_tags(region: &str, stack: &str) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = live(region, stack).await.vpcs[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect();
    tags.sort();
    tags
}

#[tokio::test]
async fn a_saved_plan_applies_exactly_and_is_refused_once_live_changed() {
    let name = unique("saved");
    let region = "sa-east-1";
    let stack = StackFile::new(&vpc_stack(&name, region, ""));
    let plan_file = stack.dir.path().join("plan.json");
    let plan_arg = plan_file.to_str().unwrap();
    run(&["plan", stack.arg(), "--out", plan_arg]).expect(0);
    // The stack file changes after the plan: the saved plan still applies what was reviewed.
    stack.write(&vpc_stack(&name, region, "tags = { late = \"edit\" }\n"));
    run(&["apply", plan_arg]).expect(0);
    assert!(!vpc_tags(region, &name)
        .await
        .iter()
        .any(|(k, _)| k == "late"));

    // A plan made, then the live VPC changed by hand: applying it is refused.
    run(&["plan", stack.arg(), "--out", plan_arg]).expect(0);
    let vpc_id = live(region, &name).await.vpcs[0]
        .vpc_id()
        .unwrap()
        .to_string();
    ec2(region)
        .await
        .create_tags()
        .resources(&vpc_id)
        .tags(tag("console", "edit"))
        .send()
        .await
        .unwrap();
    let refused = run(&["apply", plan_arg]).expect(1);
    assert!(
        refused.stderr.contains(&format!(
            "the live resources changed since this plan was made (vpc.main in {region})"
        )),
        "{}",
        refused.stderr
    );
    let tags = vpc_tags(region, &name).await;
    assert!(
        !tags.iter().any(|(k, _)| k == "late"),
        "nothing applied: {tags:?}"
    );
    assert!(tags.iter().any(|(k, _)| k == "console"));

    // A fresh plan, applied straight away, goes through.
    run(&["plan", stack.arg(), "--out", plan_arg]).expect(0);
    run(&["apply", plan_arg]).expect(0);
    let tags = vpc_tags(region, &name).await;
    assert!(
        tags.contains(&("late".into(), "edit".into())) && !tags.iter().any(|(k, _)| k == "console")
    );
}

#[tokio::test]
async fn plan_json_is_stable_machine_readable_output() {
    let name = unique("json");
    let region = "ap-northeast-1";
    let stack = StackFile::new(&vpc_stack(&name, region, ""));
    let plan = run(&["plan", stack.arg(), "--json", "--detailed-exitcode"])
        .expect(2)
        .json();
    assert_eq!(plan["format_version"], 1);
    assert_eq!(plan["stack"], name.as_str());
    assert_eq!(plan["summary"]["create"], 1);
    assert_eq!(plan["refusals"].as_array().unwrap().len(), 0);
    let change = &plan["changes"][0];
    assert_eq!(change["action"], "create");
    assert_eq!(change["address"], "vpc.main");
    let cidr = change["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "cidr")
        .unwrap();
    assert_eq!(cidr["after"], "10.0.0.0/16");
    assert!(cidr.get("before").is_none());
}

#[tokio::test]
async fn the_rendered_plan_of_a_drifted_stack() {
    let name = unique("render");
    let region = "ap-south-1";
    let text = format!(
        r#"[stack]
name = "{name}"
regions = ["{region}"]

[vpc.main]
cidr = "10.0.0.0/16"
tags = {{ team = "web" }}

[subnet.a]
vpc = "vpc.main"
cidr = "10.0.1.0/24"
zone = "a"

[security_group.web]
vpc = "vpc.main"
ingress = [{{ protocol = "tcp", port = 443, cidr = "0.0.0.0/0" }}]
tags = {{ vpc = "${{vpc.main.id}}" }}
"#
    );
    let stack = StackFile::new(&text);
    stack.apply().expect(0);
    stack.write(
        &text
            .replace("team = \"web\"", "team = \"platform\"")
            .replace("zone = \"a\"", "zone = \"b\"")
            .replace("port = 443", "port = 8443"),
    );
    let out = run(&["plan", stack.arg()]).expect(0).stdout;
    insta::with_settings!({filters => vec![
        (name.as_str(), "[stack]"),
        (r"\b(vpc|subnet|sg)-[0-9a-f]+", "$1-[id]"),
    ]}, {
        insta::assert_snapshot!(out);
    });
}

/// `[vars]` with `--var`: the default applies, a value given wins, a saved
/// plan is applied with the values it was made with (and no others).
#[tokio::test]
async fn vars_take_their_default_or_the_value_given_and_a_saved_plan_keeps_its_own() {
    let name = unique("vars");
    let region = "sa-east-1";
    let text = vpc_stack(&name, region, "tags = { release = \"${var.release}\" }\n")
        .replace("[stack]", "[vars]\nrelease = \"r1\"\n\n[stack]");
    let stack = StackFile::new(&text);
    let release = || async {
        vpc_tags(region, &name)
            .await
            .into_iter()
            .find(|(k, _)| k == "release")
            .map(|(_, v)| v)
    };
    stack.apply().expect(0);
    assert_eq!(release().await.as_deref(), Some("r1"));

    let plan_file = stack.dir.path().join("plan.json");
    let plan_arg = plan_file.to_str().unwrap();
    let planned = run(&[
        "plan",
        stack.arg(),
        "--var",
        "release=r2",
        "--out",
        plan_arg,
    ])
    .expect(0);
    assert!(
        planned.stdout.contains("\"r1\" → \"r2\""),
        "{}",
        planned.stdout
    );
    let refused = run(&["apply", plan_arg, "--var", "release=r3"]).expect(1);
    assert!(
        refused.stderr.contains("--var cannot change a saved plan"),
        "{}",
        refused.stderr
    );
    run(&["apply", plan_arg]).expect(0);
    assert_eq!(release().await.as_deref(), Some("r2"));
    // Without --var the default is back: a change; with it, none.
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(2);
    run(&[
        "plan",
        stack.arg(),
        "--var",
        "release=r2",
        "--detailed-exitcode",
    ])
    .expect(0);

    let unknown = run(&["plan", stack.arg(), "--var", "image=ami-1"]).expect(1);
    assert!(
        unknown
            .stderr
            .contains("--var image: the stack declares no such variable"),
        "{}",
        unknown.stderr
    );
}
