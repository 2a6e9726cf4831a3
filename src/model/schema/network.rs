//! VPCs, subnets, internet gateways, route tables, security groups. Most
//! collide with themselves (a CIDR): replaced delete-first. A security group
//! in use cannot be deleted, so it is replaced create-first (under a generated
//! name while the old one holds the declared name) and its users are moved.

use super::{IamActions, Import, LiveId, Schema, TagBudget, Terraform, TerraformId};
use crate::model::{ReplaceOrder, Service};

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
    service: Service::Ec2,
    import: Import::ById,
    tags: TagBudget::standard(0),
    terraform: Some(Terraform {
        types: &["aws_vpc"],
        id: TerraformId::Attribute("id"),
    }),
    iam: IamActions {
        read: &["ec2:DescribeVpcs"],
        create: &["ec2:CreateVpc", "ec2:CreateTags", "ec2:DescribeVpcs"],
        update: &["ec2:CreateTags", "ec2:DeleteTags"],
        delete: &["ec2:DeleteVpc"],
    },
    destroys: &[],
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
    service: Service::Ec2,
    import: Import::ById,
    tags: TagBudget::standard(0),
    terraform: Some(Terraform {
        types: &["aws_subnet"],
        id: TerraformId::Attribute("id"),
    }),
    iam: IamActions {
        read: &["ec2:DescribeSubnets"],
        create: &[
            "ec2:CreateSubnet",
            "ec2:CreateTags",
            "ec2:ModifySubnetAttribute",
            "ec2:DescribeSubnets",
        ],
        update: &[
            "ec2:ModifySubnetAttribute",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ],
        delete: &["ec2:DeleteSubnet"],
    },
    destroys: &[],
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
    service: Service::Ec2,
    import: Import::ById,
    tags: TagBudget::standard(0),
    terraform: Some(Terraform {
        types: &["aws_nat_gateway"],
        id: TerraformId::Attribute("id"),
    }),
    iam: IamActions {
        read: &["ec2:DescribeNatGateways", "ec2:DescribeAddresses"],
        create: &[
            "ec2:AllocateAddress",
            "ec2:CreateNatGateway",
            "ec2:CreateTags",
            "ec2:DescribeNatGateways",
        ],
        update: &["ec2:CreateTags", "ec2:DeleteTags"],
        delete: &[
            "ec2:DeleteNatGateway",
            "ec2:DescribeNatGateways",
            "ec2:ReleaseAddress",
        ],
    },
    destroys: &[],
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
    service: Service::Ec2,
    import: Import::ById,
    tags: TagBudget::standard(0),
    terraform: Some(Terraform {
        types: &["aws_internet_gateway"],
        id: TerraformId::Attribute("id"),
    }),
    iam: IamActions {
        read: &["ec2:DescribeInternetGateways"],
        create: &[
            "ec2:CreateInternetGateway",
            "ec2:CreateTags",
            "ec2:AttachInternetGateway",
        ],
        update: &[
            "ec2:AttachInternetGateway",
            "ec2:DetachInternetGateway",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ],
        delete: &["ec2:DetachInternetGateway", "ec2:DeleteInternetGateway"],
    },
    destroys: &[],
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
    service: Service::Ec2,
    import: Import::ById,
    tags: TagBudget::standard(0),
    terraform: Some(Terraform {
        types: &["aws_route_table"],
        id: TerraformId::Attribute("id"),
    }),
    iam: IamActions {
        read: &["ec2:DescribeRouteTables"],
        create: &[
            "ec2:CreateRouteTable",
            "ec2:CreateTags",
            "ec2:CreateRoute",
            "ec2:AssociateRouteTable",
        ],
        update: &[
            "ec2:CreateRoute",
            "ec2:DeleteRoute",
            "ec2:AssociateRouteTable",
            "ec2:DisassociateRouteTable",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ],
        delete: &["ec2:DisassociateRouteTable", "ec2:DeleteRouteTable"],
    },
    destroys: &[],
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
    service: Service::Ec2,
    import: Import::ById,
    tags: TagBudget::standard(1),
    terraform: Some(Terraform {
        types: &["aws_security_group"],
        id: TerraformId::Attribute("id"),
    }),
    iam: IamActions {
        read: &["ec2:DescribeSecurityGroups"],
        create: &[
            "ec2:CreateSecurityGroup",
            "ec2:CreateTags",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupEgress",
        ],
        update: &[
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ],
        delete: &[
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DeleteSecurityGroup",
        ],
    },
    destroys: &[],
};
