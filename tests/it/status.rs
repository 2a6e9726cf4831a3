//! `reconcile status`: in sync or pending, which version labels are live,
//! the blue-green pair's colour and last cutover, what is protected.

use crate::harness::{network, reconcile, run, run_cmd, unique, StackFile};
use crate::verify::service;

#[test]
fn status_shows_pending_changes_version_labels_and_protection() {
    let name = unique("status");
    let text = network(&name, "us-west-2");
    let stack = StackFile::new(&text);
    run(&[
        "apply",
        stack.arg(),
        "--auto-approve",
        "--version-label",
        "infra:v1",
    ])
    .expect(0);
    let protected = text.replace(
        "[vpc.main]\ncidr = \"10.0.0.0/16\"",
        "[vpc.main]\ncidr = \"10.0.0.0/16\"\nprotect = true",
    );
    stack.write(&protected);
    run_cmd(reconcile().env("RECONCILE_OPERATOR", "carol").args([
        "apply",
        stack.arg(),
        "--auto-approve",
        "--version-label",
        "infra:v2",
    ]))
    .expect(0);

    let status = run(&["status", stack.arg(), "--json"]).expect(0).json();
    let region = &status[0];
    assert_eq!(region["region"], "us-west-2");
    assert_eq!(region["pending"], 0);
    // Only what the second apply changed carries its label.
    assert_eq!(region["versions"]["infra:v2"], 1, "{status:#}");
    assert_eq!(
        region["versions"]["infra:v1"],
        region["resources"].as_i64().unwrap() - 1,
        "{status:#}"
    );
    assert_eq!(region["protected"], serde_json::json!(["vpc.main"]));
    // The last change's record, from the resource it touched.
    let last = &region["last_change"];
    assert_eq!(last["reconcile:version"], "infra:v2", "{status:#}");
    assert_eq!(last["reconcile:record-operator"], "carol");
    assert!(last["reconcile:record-time"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    stack.write(&protected.replace("port = 80", "port = 443"));
    let text = run(&["status", stack.arg()]).expect(0).stdout;
    assert!(text.contains("us-west-2: 1 change pending"), "{text}");
    assert!(text.contains("protected: vpc.main"), "{text}");
    assert!(text.contains(" by carol, version infra:v2"), "{text}");
}

#[test]
fn status_shows_the_active_colour_and_the_last_cutover() {
    let name = unique("statusbg");
    let stack = service(&name, "");
    stack.apply().expect(0);
    let text = run(&["status", stack.arg()]).expect(0).stdout;
    assert!(
        text.contains("blue_green.app: blue (blue 100%, green 0%)"),
        "{text}"
    );
    crate::harness::run_cmd(
        crate::harness::reconcile()
            .env("RECONCILE_OPERATOR", "bob[bot]")
            .args([
                "cutover",
                stack.arg(),
                "app",
                "--to",
                "green",
                "--steps",
                "100",
                "--bake",
                "0s",
                "--auto-approve",
            ]),
    )
    .expect(0);
    let text = run(&["status", stack.arg()]).expect(0).stdout;
    assert!(
        text.contains("blue_green.app: green (blue 0%, green 100%)"),
        "{text}"
    );
    assert!(text.contains("last: cutover app → green (100%),"), "{text}");
    assert!(text.contains(" by bob[bot],"), "{text}");
    // On the listener or rule itself, the record is in what ELBv2 takes in a
    // tag (AWS refuses `→`, `(`, `%` and `[`): written encoded, read back above.
    let plan = stack.plan_json();
    let owners: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["address"].as_str().unwrap().starts_with("listener"))
        .map(|c| c["live_id"].as_str().unwrap().to_string())
        .collect();
    assert!(!owners.is_empty(), "{plan:#}");
    let tags = tokio::runtime::Runtime::new().unwrap().block_on(async {
        crate::harness::elb("us-west-2")
            .await
            .describe_tags()
            .set_resource_arns(Some(owners))
            .send()
            .await
            .unwrap()
    });
    let elbv2_takes = |v: &str| {
        v.chars()
            .all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c))
    };
    let mut records = 0;
    for t in tags.tag_descriptions().iter().flat_map(|d| d.tags()) {
        let (key, value) = (t.key().unwrap(), t.value().unwrap());
        assert!(elbv2_takes(key) && elbv2_takes(value), "{key} = {value}");
        records += usize::from(key == "reconcile:cutover-operator" && value == "bob=5Bbot=5D");
    }
    assert_eq!(records, 1, "{tags:#?}");
}
