//! Route53 hosted zones and records: global, homed in one region of the stack.

use super::{LiveId, Schema};
use crate::model::ReplaceOrder;

pub const ZONE: Schema = Schema {
    name: "dns_zone",
    attributes: &["name", "home", "private", "vpcs", "tags", "protect"],
    forces_replacement: &["name", "private"],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "name"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::HostedZone,
    forward: None,
};

/// Records carry no tags: ownership is a marker TXT record beside each.
pub const RECORD: Schema = Schema {
    name: "dns_record",
    attributes: &[
        "zone", "name", "type", "ttl", "values", "alias", "home", "protect",
    ],
    forces_replacement: &["zone", "name", "type"],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "name"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::None,
    forward: None,
};
