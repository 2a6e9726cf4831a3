//! RDS subnet groups, parameter groups and DB instances: named by the stack,
//! changed in place wherever AWS allows, with what each change costs.

use super::{IamActions, Import, LiveId, Schema, TagBudget, Terraform, TerraformId};
use crate::model::{ReplaceOrder, Service};

pub const SUBNET_GROUP: Schema = Schema {
    name: "db_subnet_group",
    attributes: &["vpc", "description", "subnets", "tags", "protect"],
    // `vpc` is its subnets' (derived): a subnet group in use cannot change
    // VPC, so a new VPC means a new group, and a new database (refused when
    // it is protected).
    forces_replacement: &["vpc"],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "arn", "name"],
    updated_exports: &[],
    compared_only_when_set: &["vpc"],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::None,
    forward: None,
    service: Service::Rds,
    import: Import::ByName {
        max: 255,
        extra: "-_. ",
    },
    tags: TagBudget::standard(0),
    terraform: Some(Terraform {
        types: &["aws_db_subnet_group"],
        id: TerraformId::Attribute("name"),
    }),
    iam: IamActions {
        read: &["rds:DescribeDBSubnetGroups", "rds:ListTagsForResource"],
        create: &["rds:CreateDBSubnetGroup", "rds:AddTagsToResource"],
        update: &[
            "rds:ModifyDBSubnetGroup",
            "rds:AddTagsToResource",
            "rds:RemoveTagsFromResource",
        ],
        delete: &["rds:DeleteDBSubnetGroup"],
    },
    destroys: &[],
};

pub const PARAMETER_GROUP: Schema = Schema {
    name: "db_parameter_group",
    attributes: &["family", "description", "parameters", "tags", "protect"],
    forces_replacement: &["family", "description"],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "arn", "name"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[(
        "parameters",
        "applied at each instance's next reboot (pending-reboot)",
    )],
    live_id: LiveId::None,
    forward: None,
    service: Service::Rds,
    import: Import::ByName {
        max: 255,
        extra: "-",
    },
    tags: TagBudget::standard(0),
    terraform: Some(Terraform {
        types: &["aws_db_parameter_group"],
        id: TerraformId::Attribute("name"),
    }),
    iam: IamActions {
        read: &[
            "rds:DescribeDBParameterGroups",
            "rds:DescribeDBParameters",
            "rds:ListTagsForResource",
        ],
        create: &[
            "rds:CreateDBParameterGroup",
            "rds:AddTagsToResource",
            "rds:ModifyDBParameterGroup",
        ],
        update: &[
            "rds:ModifyDBParameterGroup",
            "rds:ResetDBParameterGroup",
            "rds:AddTagsToResource",
            "rds:RemoveTagsFromResource",
        ],
        delete: &["rds:DeleteDBParameterGroup"],
    },
    destroys: &[],
};

pub const INSTANCE: Schema = Schema {
    name: "db_instance",
    attributes: &[
        "identifier",
        "engine",
        "engine_version",
        "instance_class",
        "allocated_storage",
        "storage_type",
        "subnet_group",
        "parameter_group",
        "security_groups",
        "multi_az",
        "backup_retention_days",
        "deletion_protection",
        "publicly_accessible",
        "master_username",
        "tags",
        "protect",
    ],
    forces_replacement: &["identifier", "engine", "master_username", "subnet_group"],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "arn", "identifier", "endpoint", "port"],
    updated_exports: &[],
    compared_only_when_set: &[
        "engine_version",
        "storage_type",
        "parameter_group",
        "security_groups",
    ],
    partial_maps: &[],
    notes: &[
        ("instance_class", "downtime: the instance restarts"),
        (
            "engine_version",
            "downtime: the upgrade restarts the instance",
        ),
        ("multi_az", "no downtime; I/O may pause briefly"),
        (
            "allocated_storage",
            "no downtime; storage optimisation may take hours",
        ),
        (
            "storage_type",
            "no downtime; storage optimisation may take hours",
        ),
        ("parameter_group", "takes effect when the instance reboots"),
        (
            "backup_retention_days",
            "a change to or from 0 restarts the instance",
        ),
    ],
    live_id: LiveId::None,
    forward: None,
    service: Service::Rds,
    import: Import::DbIdentifier,
    tags: TagBudget::standard(0),
    terraform: Some(Terraform {
        types: &["aws_db_instance"],
        id: TerraformId::Attribute("identifier"),
    }),
    iam: IamActions {
        read: &["rds:DescribeDBInstances"],
        create: &[
            "rds:CreateDBInstance",
            "rds:AddTagsToResource",
            "rds:DescribeDBInstances",
        ],
        update: &[
            "rds:ModifyDBInstance",
            "rds:AddTagsToResource",
            "rds:RemoveTagsFromResource",
            "rds:DescribeDBInstances",
        ],
        delete: &[
            "rds:ModifyDBInstance",
            "rds:DeleteDBInstance",
            "rds:CreateDBSnapshot",
            "rds:DescribeDBInstances",
        ],
    },
    destroys: &["rds:DeleteDBInstance"],
};
