//! Load balancers, target groups, listeners, listener rules. Load balancers
//! and target groups get generated unique names, so they are replaced
//! create-first (no outage); listeners and rules collide on port and priority.

use super::{IamActions, Import, LiveId, Schema, TagBudget, Terraform, TerraformId};
use crate::model::{tags, ReplaceOrder, Service};

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
    service: Service::Elbv2,
    import: Import::ById,
    tags: TagBudget::standard(0),
    terraform: Some(Terraform {
        types: &["aws_lb", "aws_alb"],
        id: TerraformId::Attribute("arn"),
    }),
    iam: IamActions {
        read: &[
            "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeLoadBalancerAttributes",
        ],
        create: &[
            "elasticloadbalancing:CreateLoadBalancer",
            "elasticloadbalancing:AddTags",
            "elasticloadbalancing:ModifyLoadBalancerAttributes",
            "elasticloadbalancing:DescribeLoadBalancers",
        ],
        update: &[
            "elasticloadbalancing:SetSubnets",
            "elasticloadbalancing:SetSecurityGroups",
            "elasticloadbalancing:ModifyLoadBalancerAttributes",
            "elasticloadbalancing:AddTags",
            "elasticloadbalancing:RemoveTags",
        ],
        delete: &[
            "elasticloadbalancing:DeleteLoadBalancer",
            "elasticloadbalancing:DescribeLoadBalancers",
        ],
    },
    destroys: &[],
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
    service: Service::Elbv2,
    import: Import::ById,
    tags: TagBudget::standard(0),
    terraform: Some(Terraform {
        types: &["aws_lb_target_group", "aws_alb_target_group"],
        id: TerraformId::Attribute("arn"),
    }),
    iam: IamActions {
        read: &[
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeTargetHealth",
        ],
        create: &[
            "elasticloadbalancing:CreateTargetGroup",
            "elasticloadbalancing:AddTags",
        ],
        update: &[
            "elasticloadbalancing:ModifyTargetGroup",
            "elasticloadbalancing:AddTags",
            "elasticloadbalancing:RemoveTags",
        ],
        delete: &["elasticloadbalancing:DeleteTargetGroup"],
    },
    destroys: &[],
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
    service: Service::Elbv2,
    import: Import::ById,
    tags: TagBudget::standard(tags::cutover::ALL.len()),
    terraform: Some(Terraform {
        types: &["aws_lb_listener", "aws_alb_listener"],
        id: TerraformId::Attribute("arn"),
    }),
    iam: IamActions {
        read: &[
            "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeListenerCertificates",
        ],
        create: &[
            "elasticloadbalancing:CreateListener",
            "elasticloadbalancing:AddTags",
            "elasticloadbalancing:AddListenerCertificates",
        ],
        update: &[
            "elasticloadbalancing:ModifyListener",
            "elasticloadbalancing:AddListenerCertificates",
            "elasticloadbalancing:RemoveListenerCertificates",
            "elasticloadbalancing:AddTags",
            "elasticloadbalancing:RemoveTags",
        ],
        delete: &["elasticloadbalancing:DeleteListener"],
    },
    destroys: &[],
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
    service: Service::Elbv2,
    import: Import::ById,
    tags: TagBudget::standard(tags::cutover::ALL.len()),
    terraform: Some(Terraform {
        types: &["aws_lb_listener_rule", "aws_alb_listener_rule"],
        id: TerraformId::Attribute("arn"),
    }),
    iam: IamActions {
        read: &[
            "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:DescribeTags",
        ],
        create: &[
            "elasticloadbalancing:CreateRule",
            "elasticloadbalancing:AddTags",
        ],
        update: &[
            "elasticloadbalancing:ModifyRule",
            "elasticloadbalancing:SetRulePriorities",
            "elasticloadbalancing:AddTags",
            "elasticloadbalancing:RemoveTags",
        ],
        delete: &["elasticloadbalancing:DeleteRule"],
    },
    destroys: &[],
};
