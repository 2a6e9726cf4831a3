//! IAM roles and instance profiles: global, homed in one region of the
//! stack, found by their path (`/reconcile/<stack>/`); everything changes in
//! place.

use super::{LiveId, Schema};
use crate::model::ReplaceOrder;

pub const ROLE: Schema = Schema {
    name: "iam_role",
    attributes: &["assume", "managed_policies", "policies", "tags", "protect"],
    forces_replacement: &[],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "arn", "name"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::None,
    forward: None,
};

pub const INSTANCE_PROFILE: Schema = Schema {
    name: "instance_profile",
    attributes: &["role", "tags", "protect"],
    forces_replacement: &[],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "arn", "name"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[(
        "role",
        "instances using the profile get the new role's credentials within minutes, without a restart",
    )],
    live_id: LiveId::None,
    forward: None,
};
