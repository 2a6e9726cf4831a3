//! VPCs, subnets, internet gateways, route tables, security groups. Most
//! collide with themselves (a CIDR): replaced delete-first. A security group
//! in use cannot be deleted, so it is replaced create-first (under a generated
//! name while the old one holds the declared name) and its users are moved.

use super::{LiveId, Schema};
use crate::model::ReplaceOrder;

pub const VPC: Schema = Schema {
    name: "vpc",
    attributes: &["cidr", "tags", "protect"],
    forces_replacement: &["cidr"],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "arn", "cidr"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::Hex("vpc-"),
    forward: None,
};

pub const SUBNET: Schema = Schema {
    name: "subnet",
    attributes: &[
        "vpc",
        "cidr",
        "zone",
        "map_public_ip_on_launch",
        "tags",
        "protect",
    ],
    forces_replacement: &["vpc", "cidr", "zone"],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "arn", "cidr", "zone"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::Hex("subnet-"),
    forward: None,
};

/// A public NAT gateway in a subnet, with an Elastic IP of its own that is
/// allocated with it and released after it.
pub const NAT_GATEWAY: Schema = Schema {
    name: "nat_gateway",
    attributes: &["subnet", "tags", "protect"],
    forces_replacement: &["subnet"],
    binds: &[],
    // The new one takes the routes before the old one goes.
    replace_order: ReplaceOrder::CreateFirst,
    exports: &["id", "public_ip", "allocation_id"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::Hex("nat-"),
    forward: None,
};

pub const INTERNET_GATEWAY: Schema = Schema {
    name: "internet_gateway",
    attributes: &["vpc", "tags", "protect"],
    forces_replacement: &[],
    binds: &["vpc"],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "arn"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::Hex("igw-"),
    forward: None,
};

pub const ROUTE_TABLE: Schema = Schema {
    name: "route_table",
    attributes: &["vpc", "routes", "subnets", "tags", "protect"],
    forces_replacement: &["vpc"],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::Hex("rtb-"),
    forward: None,
};

pub const SECURITY_GROUP: Schema = Schema {
    name: "security_group",
    attributes: &[
        "vpc",
        "name",
        "description",
        "ingress",
        "egress",
        "tags",
        "protect",
    ],
    forces_replacement: &["vpc", "name", "description"],
    // A rule naming a replaced group is re-pointed in place: the new group
    // exists before the old one goes.
    binds: &[],
    replace_order: ReplaceOrder::CreateFirst,
    exports: &["id", "arn", "name"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::Hex("sg-"),
    forward: None,
};
