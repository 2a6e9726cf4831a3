//! Load balancers, target groups, listeners, listener rules. Load balancers
//! and target groups get generated unique names, so they are replaced
//! create-first (no outage); listeners and rules collide on port and priority.

use super::{LiveId, Schema};
use crate::model::ReplaceOrder;

pub const LOAD_BALANCER: Schema = Schema {
    name: "load_balancer",
    attributes: &[
        "vpc",
        "scheme",
        "subnets",
        "security_groups",
        "idle_timeout",
        "attributes",
        "tags",
        "protect",
    ],
    // `vpc` is its subnets' (derived, never declared): a load balancer cannot
    // move to another VPC, so a new VPC means a new load balancer.
    forces_replacement: &["scheme", "vpc"],
    binds: &[],
    replace_order: ReplaceOrder::CreateFirst,
    exports: &["id", "arn", "arn_suffix", "name", "dns_name", "zone_id"],
    updated_exports: &[],
    compared_only_when_set: &["vpc"],
    partial_maps: &["attributes"],
    notes: &[],
    live_id: LiveId::ElbArn(":loadbalancer/app/"),
    forward: None,
};

pub const TARGET_GROUP: Schema = Schema {
    name: "target_group",
    attributes: &[
        "vpc",
        "protocol",
        "port",
        "target_type",
        "health_check",
        "tags",
        "protect",
    ],
    forces_replacement: &["vpc", "protocol", "port", "target_type"],
    binds: &[],
    replace_order: ReplaceOrder::CreateFirst,
    exports: &["id", "arn", "arn_suffix", "name"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::ElbArn(":targetgroup/"),
    forward: None,
};

pub const LISTENER: Schema = Schema {
    name: "listener",
    attributes: &[
        "load_balancer",
        "port",
        "protocol",
        "certificate",
        "certificates",
        "ssl_policy",
        "default_action",
        "tags",
        "protect",
    ],
    forces_replacement: &["load_balancer"],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "arn"],
    updated_exports: &[],
    // AWS chooses the policy of an HTTPS listener that names none.
    compared_only_when_set: &["ssl_policy"],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::ElbArn(":listener/app/"),
    forward: Some("default_action"),
};

pub const LISTENER_RULE: Schema = Schema {
    name: "listener_rule",
    attributes: &[
        "listener",
        "priority",
        "conditions",
        "action",
        "tags",
        "protect",
    ],
    forces_replacement: &["listener"],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "arn"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::ElbArn(":listener-rule/app/"),
    forward: Some("action"),
};
