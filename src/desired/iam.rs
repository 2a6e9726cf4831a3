//! The desired attributes of IAM roles and instance profiles.

use super::*;
use crate::stack::spec::{IamRoleSpec, InstanceProfileSpec};

pub(super) fn iam_role(c: &mut Ctx, s: &IamRoleSpec) {
    c.set(
        "assume",
        Value::set(s.assume.get_ref().0.iter().map(Value::str)),
    );
    c.set(
        "managed_policies",
        Value::set(s.managed_policies.iter().map(|a| Value::str(a.get_ref()))),
    );
    c.set(
        "policies",
        Value::map(s.policies.iter().map(|(name, document)| {
            let canonical = crate::model::shapes::policy_text(document.get_ref());
            (name.clone(), Value::Str(canonical))
        })),
    );
}

pub(super) fn instance_profile(c: &mut Ctx, s: &InstanceProfileSpec) {
    c.set("role", c.reference(s.role.get_ref()));
}

no_inputs!(IamRoleSpec, InstanceProfileSpec);
