//! The desired attributes of the network kinds: VPCs, subnets, internet gateways, route tables, security groups.

use super::*;
use crate::stack::spec::{
    InternetGatewaySpec, NatGatewaySpec, RouteTableSpec, SecurityGroupSpec, SubnetSpec, VpcSpec,
};

pub(super) fn vpc(c: &mut Ctx, s: &VpcSpec) {
    c.set("cidr", regional_str(s.cidr.get_ref().get(c.region)));
}

pub(super) fn subnet(c: &mut Ctx, s: &SubnetSpec) {
    c.set("vpc", c.reference(s.vpc.get_ref()));
    c.set("cidr", regional_str(s.cidr.get_ref().get(c.region)));
    let zone = s
        .zone
        .get_ref()
        .get(c.region)
        .and_then(|z| zone_name(c.region, z));
    c.set("zone", regional_str(zone));
    c.set(
        "map_public_ip_on_launch",
        Value::Bool(s.map_public_ip_on_launch),
    );
}

pub(super) fn nat_gateway(c: &mut Ctx, s: &NatGatewaySpec) {
    c.set("subnet", c.reference(s.subnet.get_ref()));
}

pub(super) fn internet_gateway(c: &mut Ctx, s: &InternetGatewaySpec) {
    if let Some(vpc) = &s.vpc {
        c.set("vpc", c.reference(vpc.get_ref()));
    }
}

pub(super) fn route_table(c: &mut Ctx, s: &RouteTableSpec) {
    c.set("vpc", c.reference(s.vpc.get_ref()));
    c.set(
        "subnets",
        Value::set(s.subnets.iter().map(|r| c.reference(r.get_ref()))),
    );
    c.set(
        "routes",
        Value::set(s.routes.iter().map(|r| {
            let r = r.get_ref();
            let cidr = r.cidr.to_string();
            match (&r.gateway, &r.nat_gateway) {
                (Some(g), _) => route_value(&cidr, "gateway", c.reference(g.get_ref())),
                (None, Some(n)) => route_value(&cidr, "nat_gateway", c.reference(n.get_ref())),
                (None, None) => r
                    .live_targets()
                    .into_iter()
                    .find_map(|(key, id)| {
                        Some(route_value(&cidr, key, Value::Id(id?.get_ref().clone())))
                    })
                    .unwrap_or(Value::Unknown),
            }
        })),
    );
}

pub(super) fn security_group(c: &mut Ctx, s: &SecurityGroupSpec) {
    c.set("vpc", c.reference(s.vpc.get_ref()));
    let name = s.name.as_ref().map_or_else(
        || format!("{}-{}", c.stack.name, c.own.name),
        |n| n.get_ref().clone(),
    );
    c.set("name", Value::Str(name));
    c.set("description", Value::str(s.description.get_ref()));
    let rules = |rules: &[crate::stack::spec::Spanned<RuleSpec>]| {
        Value::set(rules.iter().map(|r| {
            let r = r.get_ref();
            let source = match (&r.cidr, &r.security_group) {
                (Some(c), _) => ("cidr", Value::Str(c.to_string())),
                (None, Some(g)) => ("security_group", c.reference(g.get_ref())),
                (None, None) => ("cidr", Value::Unknown),
            };
            let (protocol, ports) = rule_ports(r).unwrap_or_default();
            rule_value(&protocol, &ports, source, r.description.as_deref())
        }))
    };
    let ingress = rules(&s.ingress);
    let egress = match &s.egress {
        Some(egress) => rules(egress),
        None => Value::set([default_egress()]),
    };
    c.set("ingress", ingress);
    c.set("egress", egress);
}

no_inputs!(
    VpcSpec,
    SubnetSpec,
    InternetGatewaySpec,
    NatGatewaySpec,
    RouteTableSpec,
    SecurityGroupSpec,
);
