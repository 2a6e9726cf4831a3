//! IAM roles and instance profiles: their blocks (the serde types a stack file
//! is read into), references and own checks (who may assume a role, the
//! policies it carries).

use super::*;
use crate::stack::spec::{resource_spec, Reference, Spanned};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

resource_spec!(
    /// `[iam_role.NAME]`: an IAM role (global). See docs/kinds.md.
    IamRoleSpec {
    /// The services that may assume it: `"ec2.amazonaws.com"`, or a list.
    assume: Spanned<OneOrMany>,
    /// ARNs of managed policies attached to it.
    #[serde(default)]
    managed_policies: Vec<Spanned<String>>,
    /// Inline policies: name → the policy document (JSON).
    #[serde(default)]
    policies: BTreeMap<String, Spanned<String>>,
});

resource_spec!(
    /// `[instance_profile.NAME]`: an IAM instance profile (global). See docs/kinds.md.
    InstanceProfileSpec {
    /// The role its instances act as.
    role: Spanned<Reference>,
});

/// A string, or a list of them.
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany(pub Vec<String>);

impl JsonSchema for OneOrMany {
    fn schema_name() -> Cow<'static, str> {
        "OneOrMany".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "string" },
                { "type": "array", "items": { "type": "string" } }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;

        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, or a list of strings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut all = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    all.push(s);
                }
                Ok(OneOrMany(all))
            }
        }

        d.deserialize_any(V)
    }
}

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
