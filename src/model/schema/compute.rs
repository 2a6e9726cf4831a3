//! EC2 instances: replaced create-first (the new one serves before the old
//! goes); launch templates, versioned in place; Auto Scaling groups.

use super::{LiveId, Schema};
use crate::model::ReplaceOrder;

pub const INSTANCE: Schema = Schema {
    name: "instance",
    attributes: &[
        "ami",
        "instance_type",
        "subnet",
        "security_groups",
        "user_data",
        "target_groups",
        "instance_profile",
        "tags",
        "protect",
    ],
    forces_replacement: &["ami", "instance_type", "subnet", "user_data"],
    binds: &[],
    replace_order: ReplaceOrder::CreateFirst,
    exports: &["id", "private_ip"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::Hex("i-"),
    forward: None,
};

/// A change is a new version, made the default: the template stays.
pub const LAUNCH_TEMPLATE: Schema = Schema {
    name: "launch_template",
    attributes: &[
        "ami",
        "instance_type",
        "security_groups",
        "instance_profile",
        "user_data",
        "key_name",
        "tags",
        "protect",
    ],
    forces_replacement: &[],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "name", "version"],
    // An update makes a new version.
    updated_exports: &["version"],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[(
        "ami",
        "a new version of the template: instances launched from now on run it",
    )],
    live_id: LiveId::Hex("lt-"),
    forward: None,
};

/// Without `desired`, whoever scales the group owns its desired capacity.
pub const AUTOSCALING_GROUP: Schema = Schema {
    name: "autoscaling_group",
    attributes: &[
        "launch_template",
        "subnets",
        "min",
        "max",
        "desired",
        "target_groups",
        "health_check",
        "instances",
        "tags",
        "protect",
    ],
    forces_replacement: &[],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "name", "arn"],
    updated_exports: &[],
    // `instances`: known when the template is a block of the stack.
    compared_only_when_set: &["desired", "instances"],
    // A grace period left out is AWS's to choose.
    partial_maps: &["health_check"],
    notes: &[("instances", "replaced by apply, as the group's line says")],
    live_id: LiveId::None,
    forward: None,
};
