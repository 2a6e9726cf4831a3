//! The IAM policy a stack's commands need, written from what reconcile knows
//! it calls: each kind's declared actions (`Schema::iam`) and what every run
//! does besides (the account guard, the lock and the regions record, the
//! tagging API, verification's metrics). Exact actions, never a wildcard
//! one; each on the narrowest resources it takes: the ARNs of its resource
//! types in the stack's account, IAM's in the stack's path, `*` only for an
//! action that takes no resource type. No AWS call, no credentials.
//!
//! Discovery reads every service of a region whatever the file declares (a
//! resource the stack owns may be live after its block went), and a prune
//! deletes kinds the file no longer declares: so reads and changes cover
//! every kind, not only the declared ones.

use crate::model::Kind;
use crate::stack::Stack;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

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

/// The resource types each action takes, as ARN formats (`ACTION<TAB>ARN`,
/// or `ACTION<TAB>*` for none), from AWS's Service Authorization Reference
/// as parliament carries it: written by `scripts/iam-resources.py`, checked
/// current by the suite (`accounts::`).
const RESOURCES: &str = include_str!("resources.tsv");

/// The ARN formats `action` takes; empty for one that takes none (`*`).
fn arn_formats(action: &str) -> Vec<&'static str> {
    RESOURCES
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(a, arn)| *a == action && *arn != "*")
        .map(|(_, arn)| arn)
        .collect()
}

/// `format` for the stack: its account (or any), any region, its path for
/// IAM roles and instance profiles, any id.
fn scoped(format: &str, account: &str, iam_path: &str) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        out.push_str(match &rest[start + 2..end - 1] {
            "Partition" => "aws",
            "Account" => account,
            "RoleNameWithPath" | "InstanceProfileNameWithPath" => iam_path,
            _ => "*",
        });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The policy documents: one, or several when one would be over IAM's
/// limit for a managed policy (`POLICY_LIMIT`). Actions that take no
/// resource type are on `*`; the others, service by service, on the ARNs
/// of every type they take in the stack's account (IAM's: the stack's
/// path). One statement of a service's actions on all its types grants
/// what a statement per action would: an action is only ever authorized
/// against resources of its own types.
pub fn documents(stack: &Stack, read_only: bool) -> Vec<Value> {
    let account = match &stack.accounts[..] {
        [one] => one.as_str(),
        _ => "*",
    };
    let stack_path = format!("reconcile/{}/*", stack.name);
    let mut everywhere = vec![];
    let mut by_service: BTreeMap<&str, (Vec<&str>, BTreeSet<String>)> = BTreeMap::new();
    for action in actions(read_only) {
        let formats = arn_formats(action);
        if formats.is_empty() {
            everywhere.push(action);
            continue;
        }
        let service = action.split(':').next().unwrap_or_default();
        let (actions, arns) = by_service.entry(service).or_default();
        actions.push(action);
        arns.extend(formats.iter().map(|f| scoped(f, account, &stack_path)));
    }
    let mut statements = vec![("Everywhere".to_string(), everywhere, json!("*"))];
    for (service, (actions, arns)) in by_service {
        let sid: String = service
            .split('-')
            .map(|w| w[..1].to_uppercase() + &w[1..])
            .collect();
        statements.push((format!("{sid}Resources"), actions, json!(arns)));
    }
    let mut documents = vec![];
    let mut current: Vec<Value> = vec![];
    for (sid, actions, resource) in statements {
        let mut part = 0;
        let mut chunk: Vec<&str> = vec![];
        for action in actions {
            chunk.push(action);
            let mut trial = current.clone();
            trial.push(statement(&sid, part, &chunk, &resource));
            if minified(&document(trial)) > POLICY_LIMIT {
                chunk.pop();
                if !chunk.is_empty() {
                    current.push(statement(&sid, part, &chunk, &resource));
                    part += 1;
                }
                documents.push(document(std::mem::take(&mut current)));
                chunk = vec![action];
            }
        }
        if !chunk.is_empty() {
            current.push(statement(&sid, part, &chunk, &resource));
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
    fn resources_are_scoped_to_the_stacks_account_and_path_and_documents_fit_iams_limit() {
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
            let everywhere: Vec<&Value> = statements
                .iter()
                .filter(|s| s["Resource"] == "*")
                .flat_map(|s| s["Action"].as_array().expect("actions"))
                .collect();
            for s in statements.iter().filter(|s| s["Resource"] != "*") {
                let resources = s["Resource"].as_array().expect("ARNs");
                assert!(!resources.is_empty());
                for arn in resources.iter().filter_map(Value::as_str) {
                    let parts: Vec<&str> = arn.splitn(6, ':').collect();
                    assert!(!arn.contains("${"), "{arn}");
                    // In the stack's account (none for what has no account: AMIs,
                    // Route53); IAM's in the stack's path.
                    assert!(matches!(parts[4], "210987654321" | ""), "{arn}");
                    if parts[2] == "iam" {
                        assert!(
                            arn.ends_with(&format!("/reconcile/{}/*", stack.name)),
                            "{arn}"
                        );
                    }
                }
            }
            // Only what takes no resource type is on `*`.
            for action in everywhere.iter().filter_map(|a| a.as_str()) {
                assert!(arn_formats(action).is_empty(), "{action}");
            }
            assert!(everywhere.iter().any(|a| *a == "sts:GetCallerIdentity"));
            assert!(!everywhere.iter().any(|a| *a == "rds:DeleteDBInstance"));
        }
    }

    /// A new action without its row in `resources.tsv` would land on `*`
    /// unnoticed: every action of the full policy has one.
    #[test]
    fn every_action_has_its_resource_types_in_the_table() {
        let rows: BTreeSet<&str> = RESOURCES
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(a, _)| a)
            .collect();
        let missing: Vec<&str> = actions(false)
            .into_iter()
            .filter(|a| !rows.contains(a))
            .collect();
        assert_eq!(
            missing,
            Vec::<&str>::new(),
            "run scripts/iam-resources.py (see its header)"
        );
    }
}
