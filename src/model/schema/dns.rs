//! Route53 hosted zones and records: global, homed in one region of the stack.

use super::{IamActions, Import, LiveId, Schema, TagBudget, Terraform, TerraformId, COMMON_TAGS};
use crate::model::{ReplaceOrder, Service};

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
    service: Service::Route53,
    import: Import::ById,
    tags: TagBudget {
        own: COMMON_TAGS + 2,
        limit: 10,
    },
    terraform: Some(Terraform {
        types: &["aws_route53_zone"],
        id: TerraformId::Attribute("zone_id"),
    }),
    iam: IamActions {
        read: &[
            "route53:ListHostedZones",
            "route53:ListTagsForResources",
            "route53:ListTagsForResource",
            "route53:GetHostedZone",
        ],
        create: &[
            "route53:CreateHostedZone",
            "route53:ListHostedZonesByName",
            "route53:ChangeTagsForResource",
            "route53:AssociateVPCWithHostedZone",
            "ec2:DescribeVpcs",
        ],
        update: &[
            "route53:AssociateVPCWithHostedZone",
            "route53:DisassociateVPCFromHostedZone",
            "route53:ChangeTagsForResource",
            "ec2:DescribeVpcs",
        ],
        delete: &[
            "route53:ListResourceRecordSets",
            "route53:ChangeResourceRecordSets",
            "route53:DeleteHostedZone",
        ],
    },
    destroys: &[],
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
    service: Service::Route53,
    import: Import::RecordNameType,
    tags: TagBudget { own: 0, limit: 0 },
    terraform: Some(Terraform {
        types: &["aws_route53_record"],
        id: TerraformId::RecordNameType,
    }),
    iam: IamActions {
        read: &["route53:ListHostedZones", "route53:ListResourceRecordSets"],
        create: &["route53:ChangeResourceRecordSets"],
        update: &["route53:ChangeResourceRecordSets"],
        delete: &["route53:ChangeResourceRecordSets"],
    },
    destroys: &[],
};
