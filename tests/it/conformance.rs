//! The conformance checker in front of moto (`localstack/conformance.py`):
//! checked itself, and seen to refuse a planted bad value the way AWS does.

use crate::harness::{elb, endpoint, engine, Engine, REFUSED};
use std::path::Path;

#[test]
fn the_checker_decodes_every_wire_format_and_names_what_aws_refuses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("localstack/.venv/bin/python");
    assert!(
        python.exists(),
        "run `localstack/emulator.sh install` first"
    );
    let out = std::process::Command::new(python)
        .args(["-m", "unittest", "localstack/test_conformance.py"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_planted_value_aws_refuses_is_refused_by_the_emulator() {
    if engine() != Engine::Moto {
        return;
    }
    endpoint();
    let client = elb("us-west-2").await;
    let tag = aws_sdk_elasticloadbalancingv2::types::Tag::builder()
        .key("conformance-planted")
        .value("cutover app → green (100%)")
        .build();
    let err = client
        .add_tags()
        .resource_arns("arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/x/1")
        .tags(tag)
        .send()
        .await
        .unwrap_err();
    let message = format!(
        "{}",
        aws_sdk_elasticloadbalancingv2::error::DisplayErrorContext(&err)
    );
    assert!(message.contains(REFUSED), "{message}");
    assert!(
        message.contains("AddTags: Tags[1].Value = cutover app → green (100%): does not match"),
        "{message}"
    );
}
