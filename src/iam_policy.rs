//! The IAM policy a stack's commands need, written from what reconcile knows
//! it calls: each kind's declared actions (`Schema::iam`) and what every run
//! does besides (the account guard, the lock and the regions record, the
//! tagging API, verification's metrics). Exact actions, never a wildcard
//! one; IAM's own scoped to the stack's path. No AWS call, no credentials.
//!
//! Discovery reads every service of a region whatever the file declares (a
//! resource the stack owns may be live after its block went), and a prune
//! deletes kinds the file no longer declares: so reads and changes cover
//! every kind, not only the declared ones.

use crate::model::Kind;
use crate::stack::Stack;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// What every run reads besides the kinds: whose credentials (the account
/// guard), the regions there are and those holding the stack (tagging),
/// the lock and the regions record (key pairs), verification's metrics.
const READ: &[&str] = &[
    "sts:GetCallerIdentity",
    "ec2:DescribeRegions",
    "ec2:DescribeKeyPairs",
    "tag:GetResources",
    "cloudwatch:GetMetricData",
];

/// What a change does besides the kinds: the lock and the regions record
/// (key pairs, created, tagged and deleted).
const CHANGE: &[&str] = &["ec2:CreateKeyPair", "ec2:DeleteKeyPair"];

/// IAM's largest managed policy, in characters without whitespace.
pub const POLICY_LIMIT: usize = 6_144;

/// IAM listings that take no resource: the only IAM actions on `*`.
const IAM_LISTINGS: &[&str] = &["iam:ListRoles", "iam:ListInstanceProfiles"];

/// The actions of `plan`, `verify` and `status` (`read_only`), or of every
/// command.
pub fn actions(read_only: bool) -> BTreeSet<&'static str> {
    let mut out: BTreeSet<&'static str> = READ.iter().copied().collect();
    for &kind in Kind::ALL {
        let iam = &kind.schema().iam;
        out.extend(iam.read);
        if !read_only {
            out.extend(iam.create.iter().chain(iam.update).chain(iam.delete));
        }
    }
    if !read_only {
        out.extend(CHANGE);
    }
    out
}

/// The policy documents: one, or several when one would be over IAM's
/// limit for a managed policy (`POLICY_LIMIT`).
pub fn documents(stack: &Stack, read_only: bool) -> Vec<Value> {
    let account = match &stack.accounts[..] {
        [one] => one.as_str(),
        _ => "*",
    };
    let stack_iam = vec![
        format!("arn:aws:iam::{account}:role/reconcile/{}/*", stack.name),
        format!(
            "arn:aws:iam::{account}:instance-profile/reconcile/{}/*",
            stack.name
        ),
    ];
    let (iam, rest): (Vec<&str>, Vec<&str>) = actions(read_only)
        .into_iter()
        .partition(|a| a.starts_with("iam:") && !IAM_LISTINGS.contains(a));
    let statements = [
        ("Everywhere", rest, json!("*")),
        ("StackRolesAndProfiles", iam, json!(stack_iam)),
    ];
    let mut documents = vec![];
    let mut current: Vec<Value> = vec![];
    for (sid, actions, resource) in statements {
        let mut part = 0;
        let mut chunk: Vec<&str> = vec![];
        for action in actions {
            chunk.push(action);
            let mut trial = current.clone();
            trial.push(statement(sid, part, &chunk, &resource));
            if minified(&document(trial)) > POLICY_LIMIT {
                chunk.pop();
                if !chunk.is_empty() {
                    current.push(statement(sid, part, &chunk, &resource));
                    part += 1;
                }
                documents.push(document(std::mem::take(&mut current)));
                chunk = vec![action];
            }
        }
        if !chunk.is_empty() {
            current.push(statement(sid, part, &chunk, &resource));
        }
    }
    if !current.is_empty() {
        documents.push(document(current));
    }
    documents
}

fn statement(sid: &str, part: usize, actions: &[&str], resource: &Value) -> Value {
    let sid = match part {
        0 => sid.to_string(),
        n => format!("{sid}{}", n + 1),
    };
    json!({ "Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource })
}

fn document(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Its size as IAM counts it: without whitespace.
pub fn minified(document: &Value) -> usize {
    serde_json::to_string(document).map_or(0, |s| s.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    /// Every operation the AWS layer can send, by its name in the code
    /// (`send!("CreateVpc", …)`, `send_once!(sdk, "CreateVpc", …)`,
    /// `all_pages!("DescribeVpcs", …)`).
    fn operations_sent() -> BTreeSet<String> {
        fn walk(dir: &std::path::Path, out: &mut BTreeSet<String>) {
            for entry in std::fs::read_dir(dir).expect("src/aws") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    walk(&path, out);
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("source");
                for call in ["send!(", "send_once!(", "all_pages!("] {
                    for (at, _) in text.match_indices(call) {
                        let rest = text[at + call.len()..].trim_start();
                        // `send_once!` names its SDK crate first.
                        let rest = match rest.split_once(',') {
                            Some((sdk, after)) if !sdk.contains('"') => after.trim_start(),
                            _ => rest,
                        };
                        if let Some(name) = rest.strip_prefix('"').and_then(|r| r.split('"').next())
                        {
                            out.insert(name.to_string());
                        }
                    }
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/aws"),
            &mut out,
        );
        out
    }

    /// A call added to the AWS layer without its action in a kind's
    /// declaration (or in `READ`/`CHANGE`) fails here: the generated policy
    /// would refuse it.
    #[test]
    fn every_operation_reconcile_sends_is_in_the_full_policy() {
        let sent = operations_sent();
        assert!(sent.len() > 100, "the scan found {} operations", sent.len());
        let allowed = actions(false);
        let missing: Vec<&String> = sent
            .iter()
            // Asked by the credentials that assume the role, not by it.
            .filter(|op| *op != "AssumeRole")
            .filter(|op| !allowed.iter().any(|a| a.ends_with(&format!(":{op}"))))
            .collect();
        assert_eq!(missing, Vec::<&String>::new());
    }

    #[test]
    fn no_wildcard_action_and_the_read_only_policy_changes_nothing() {
        let full = actions(false);
        let read = actions(true);
        assert!(full.iter().all(|a| !a.contains('*')));
        assert!(read.is_subset(&full));
        let changing = [
            "Create",
            "Delete",
            "Modify",
            "Put",
            "Update",
            "Terminate",
            "Run",
            "Attach",
        ];
        for action in &read {
            let name = action.split_once(':').expect("service:Action").1;
            assert!(
                !changing.iter().any(|verb| name.starts_with(verb)),
                "{action} in the read-only policy"
            );
        }
        assert!(full.contains("rds:DeleteDBInstance") && !read.contains("rds:DeleteDBInstance"));
    }

    #[test]
    fn iam_is_scoped_to_the_stacks_path_and_documents_fit_iams_limit() {
        let mut stack = testing::stack(testing::DEMO);
        stack.accounts = vec!["210987654321".into()];
        for read_only in [true, false] {
            let documents = documents(&stack, read_only);
            assert!(documents.iter().all(|d| minified(d) <= POLICY_LIMIT));
            let statements: Vec<&Value> = documents
                .iter()
                .flat_map(|d| d["Statement"].as_array().expect("statements"))
                .collect();
            let listed: BTreeSet<&str> = statements
                .iter()
                .flat_map(|s| s["Action"].as_array().expect("actions"))
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(listed, actions(read_only), "every action, once");
            for s in &statements {
                let iam = s["Action"]
                    .as_array()
                    .expect("actions")
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|a| a.starts_with("iam:") && !IAM_LISTINGS.contains(&a));
                if iam {
                    assert_eq!(
                        s["Resource"][0],
                        format!("arn:aws:iam::210987654321:role/reconcile/{}/*", stack.name)
                    );
                }
            }
        }
    }
}
