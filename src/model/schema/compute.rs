//! EC2 instances: replaced create-first (the new one serves before the old
//! goes); launch templates, versioned in place; Auto Scaling groups.

use super::{IamActions, Import, LiveId, Schema, TagBudget, Terraform, TerraformId};
use crate::model::{ReplaceOrder, Service};

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
    service: Service::Ec2,
    import: Import::ById,
    tags: TagBudget::standard(1),
    terraform: Some(Terraform {
        types: &["aws_instance"],
        id: TerraformId::Attribute("id"),
    }),
    iam: IamActions {
        read: &[
            "ec2:DescribeInstances",
            "ec2:DescribeIamInstanceProfileAssociations",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth",
        ],
        create: &[
            "ec2:RunInstances",
            "ec2:CreateTags",
            "ec2:DescribeInstances",
            "iam:PassRole",
            "elasticloadbalancing:RegisterTargets",
        ],
        update: &[
            "ec2:ModifyInstanceAttribute",
            "ec2:AssociateIamInstanceProfile",
            "ec2:ReplaceIamInstanceProfileAssociation",
            "ec2:DisassociateIamInstanceProfile",
            "iam:PassRole",
            "elasticloadbalancing:RegisterTargets",
            "elasticloadbalancing:DeregisterTargets",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ],
        delete: &[
            "ec2:TerminateInstances",
            "ec2:DescribeInstances",
            "elasticloadbalancing:DeregisterTargets",
        ],
    },
    destroys: &[],
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
    service: Service::Ec2,
    import: Import::ById,
    tags: TagBudget::standard(0),
    terraform: None,
    iam: IamActions {
        read: &[
            "ec2:DescribeLaunchTemplates",
            "ec2:DescribeLaunchTemplateVersions",
        ],
        create: &["ec2:CreateLaunchTemplate", "ec2:CreateTags", "iam:PassRole"],
        update: &[
            "ec2:CreateLaunchTemplateVersion",
            "ec2:ModifyLaunchTemplate",
            "ec2:DeleteLaunchTemplateVersions",
            "iam:PassRole",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ],
        delete: &["ec2:DeleteLaunchTemplate"],
    },
    destroys: &[],
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
    service: Service::Autoscaling,
    import: Import::No,
    // While a new-first replacement runs: its size before the surge.
    tags: TagBudget::standard(1),
    terraform: None,
    iam: IamActions {
        read: &[
            "autoscaling:DescribeAutoScalingGroups",
            "ec2:DescribeLaunchTemplateVersions",
            "ec2:DescribeInstances",
            "elasticloadbalancing:DescribeTargetHealth",
        ],
        create: &[
            "autoscaling:CreateAutoScalingGroup",
            "autoscaling:CreateOrUpdateTags",
            "ec2:RunInstances",
            "ec2:CreateTags",
            "iam:PassRole",
        ],
        update: &[
            "autoscaling:UpdateAutoScalingGroup",
            "autoscaling:AttachLoadBalancerTargetGroups",
            "autoscaling:DetachLoadBalancerTargetGroups",
            "autoscaling:TerminateInstanceInAutoScalingGroup",
            "autoscaling:CreateOrUpdateTags",
            "autoscaling:DeleteTags",
            "ec2:RunInstances",
            "ec2:CreateTags",
            "iam:PassRole",
            "elasticloadbalancing:DeregisterTargets",
        ],
        delete: &[
            "autoscaling:UpdateAutoScalingGroup",
            "autoscaling:DeleteAutoScalingGroup",
        ],
    },
    destroys: &[],
};
