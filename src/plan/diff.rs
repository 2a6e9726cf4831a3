//! The pure comparison of one resource's desired and observed attributes.

use crate::model::{Attrs, Kind, Value};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, PartialOrd, Ord, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct AttrChange {
    pub name: String,
    /// Any JSON value: references as `"kind.name"`, unknowns as `"(known after apply)"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Value>")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Value>")]
    pub after: Option<Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub forces_replacement: bool,
    /// What the change does to the running resource (downtime, restart), where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// Compares desired with observed (already normalised) attributes.
///
/// A reference that became unknown because its target is replaced forces
/// replacement when the reference binds the resource to the old target
/// (`Kind::binds_to_reference`); otherwise it is updated in place.
pub fn diff(
    kind: Kind,
    desired: Option<&Attrs>,
    observed: Option<&Attrs>,
    ignore: &[String],
) -> (Action, Vec<AttrChange>) {
    match (desired, observed) {
        (None, None) => (Action::NoOp, vec![]),
        (None, Some(_)) => (Action::Delete, vec![]),
        (Some(desired), None) => {
            let attrs = desired
                .iter()
                .map(|(name, after)| AttrChange {
                    name: name.clone(),
                    before: None,
                    after: Some(after.clone()),
                    forces_replacement: false,
                    note: None,
                })
                .collect();
            (Action::Create, attrs)
        }
        (Some(desired), Some(observed)) => {
            let mut names: Vec<&String> = desired.keys().chain(observed.keys()).collect();
            names.sort();
            names.dedup();
            let changes: Vec<AttrChange> = names
                .into_iter()
                .filter(|name| !ignore.contains(name))
                .filter_map(|name| {
                    let after = desired.get(name);
                    let before = observed.get(name);
                    let unknown = after.is_some_and(Value::is_unknown);
                    if before == after && !unknown {
                        return None;
                    }
                    Some(AttrChange {
                        name: name.clone(),
                        before: before.cloned(),
                        after: after.cloned(),
                        forces_replacement: kind.forces_replacement(name)
                            || (unknown && kind.binds_to_reference(name)),
                        note: kind.change_note(name),
                    })
                })
                .collect();
            let action = if changes.is_empty() {
                Action::NoOp
            } else if changes.iter().any(|c| c.forces_replacement) {
                Action::Replace
            } else {
                Action::Update
            };
            (action, changes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Kind};

    fn attrs(pairs: &[(&str, Value)]) -> Attrs {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn equal_attributes_are_a_no_op() {
        let a = attrs(&[("cidr", Value::str("10.0.0.0/16"))]);
        assert_eq!(
            diff(Kind::Vpc, Some(&a), Some(&a), &[]),
            (Action::NoOp, vec![])
        );
    }

    #[test]
    fn a_fixed_attribute_forces_replacement_and_a_tag_does_not() {
        let before = attrs(&[
            ("cidr", Value::str("10.0.0.0/16")),
            ("tags", Value::map([("team", Value::str("a"))])),
        ]);
        let after = attrs(&[
            ("cidr", Value::str("10.1.0.0/16")),
            ("tags", Value::map([("team", Value::str("b"))])),
        ]);
        let (action, changes) = diff(Kind::Vpc, Some(&after), Some(&before), &[]);
        assert_eq!(action, Action::Replace);
        assert_eq!(changes.len(), 2);
        assert!(changes[0].forces_replacement && changes[0].name == "cidr");
        assert!(!changes[1].forces_replacement);

        let (action, _) = diff(Kind::Vpc, Some(&after), Some(&before), &["cidr".into()]);
        assert_eq!(action, Action::Update);
    }

    #[test]
    fn a_reference_to_a_replaced_resource_forces_replacement_even_if_updatable() {
        let before = attrs(&[("vpc", Value::Ref(Address::new(Kind::Vpc, "main")))]);
        let after = attrs(&[("vpc", Value::Unknown)]);
        let (action, changes) = diff(Kind::InternetGateway, Some(&after), Some(&before), &[]);
        assert_eq!(action, Action::Replace);
        assert!(changes[0].forces_replacement);
    }

    #[test]
    fn a_route_table_follows_a_replaced_subnet_in_place() {
        let subnet = Value::Ref(Address::new(Kind::Subnet, "a"));
        let before = attrs(&[("subnets", Value::List(vec![subnet]))]);
        let after = attrs(&[("subnets", Value::List(vec![Value::Unknown]))]);
        assert_eq!(
            diff(Kind::RouteTable, Some(&after), Some(&before), &[]).0,
            Action::Update
        );
    }

    #[test]
    fn an_unknown_tag_is_an_update() {
        let before = attrs(&[("tags", Value::map([("peer", Value::str("vpc-1"))]))]);
        let after = attrs(&[("tags", Value::map([("peer", Value::Unknown)]))]);
        assert_eq!(
            diff(Kind::Vpc, Some(&after), Some(&before), &[]).0,
            Action::Update
        );
    }

    #[test]
    fn create_lists_every_attribute_and_delete_none() {
        let a = attrs(&[
            ("cidr", Value::str("10.0.0.0/16")),
            ("protect", Value::Bool(false)),
        ]);
        let (action, changes) = diff(Kind::Vpc, Some(&a), None, &[]);
        assert_eq!(action, Action::Create);
        assert_eq!(changes.len(), 2);
        assert_eq!(
            diff(Kind::Vpc, None, Some(&a), &[]),
            (Action::Delete, vec![])
        );
    }
}
