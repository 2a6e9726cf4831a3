//! EC2 instances: replaced create-first (the new one serves before the old goes).

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
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::Hex("i-"),
    forward: None,
};
