//! The checks of an IAM role's own values: who may assume it, the policies
//! it carries.

use super::*;
use crate::stack::spec::{IamRoleSpec, InstanceProfileSpec};

impl Checker {
    /// An instance profile has nothing to check beyond its role.
    pub(super) fn instance_profile(&mut self, _: &Stack, _: &Resource, _: &InstanceProfileSpec) {}

    pub(super) fn iam_role(&mut self, _stack: &Stack, r: &Resource, s: &IamRoleSpec) {
        let principals = &s.assume.get_ref().0;
        let bad = principals
            .iter()
            .find(|p| p.is_empty() || p.contains(char::is_whitespace) || !p.contains('.'));
        if principals.is_empty() || bad.is_some() {
            self.error(
                s.assume.span(),
                format!(
                    "{}: `assume` names the services that may assume the role{}",
                    r.address,
                    bad.map(|b| format!(", and `{b}` is not one"))
                        .unwrap_or_default()
                ),
            )
            .help = Some("for example: assume = \"ec2.amazonaws.com\"".into());
        }
        for arn in &s.managed_policies {
            let a = arn.get_ref();
            let ok = a.starts_with("arn:aws")
                && a.split(':').nth(2) == Some("iam")
                && a.split(':')
                    .nth(5)
                    .is_some_and(|r| r.starts_with("policy/"));
            if !ok {
                self.error(
                    arn.span(),
                    format!("{}: `{a}` is not the ARN of a managed policy", r.address),
                )
                .help = Some(
                    "for example: \"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore\"".into(),
                );
            }
        }
        for (name, document) in &s.policies {
            let name_ok = !name.is_empty()
                && name.len() <= 128
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || "_+=,.@-".contains(c));
            if !name_ok {
                self.error(
                    document.span(),
                    format!("{}: `{name}` is not a policy name IAM takes", r.address),
                )
                .help = Some("up to 128 letters, digits and `_+=,.@-`".into());
            }
            match serde_json::from_str::<serde_json::Value>(document.get_ref()) {
                Ok(serde_json::Value::Object(_)) => {}
                Ok(_) => {
                    self.error(
                        document.span(),
                        format!("{}: policy `{name}` is not a JSON object", r.address),
                    );
                }
                Err(e) => {
                    self.error(
                        document.span(),
                        format!("{}: policy `{name}` is not JSON: {e}", r.address),
                    );
                }
            }
        }
    }
}

impl IamRoleSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        vec![]
    }
}

impl InstanceProfileSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        vec![field("role", &self.role, Kind::IamRole)]
    }
}
