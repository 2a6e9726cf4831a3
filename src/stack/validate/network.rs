//! VPCs, subnets, gateways, route tables and security groups: their blocks
//! (the serde types a stack file is read into), references and own checks.

use super::*;
use crate::stack::spec::{resource_spec, Cidr, Reference, Regional, Spanned};
use schemars::JsonSchema;
use serde::Deserialize;

resource_spec!(
    /// `[vpc.NAME]`: a VPC. See docs/kinds.md.
    VpcSpec {
    /// Its IPv4 block; a change replaces it.
    cidr: Spanned<Regional<Cidr>>,
});

resource_spec!(
    /// `[subnet.NAME]`: a subnet of a VPC, in one zone. See docs/kinds.md.
    SubnetSpec {
    /// Its VPC; a change replaces it.
    vpc: Spanned<Reference>,
    /// Its IPv4 block, inside its VPC's; a change replaces it.
    cidr: Spanned<Regional<Cidr>>,
    /// A zone letter (`a` → `us-west-2a`) or a full zone name.
    zone: Spanned<Regional<String>>,
    /// Instances launched in it get a public address.
    #[serde(default)]
    map_public_ip_on_launch: bool,
});

resource_spec!(
    /// `[nat_gateway.NAME]`: a NAT gateway with its Elastic IP, in a public subnet. See docs/kinds.md.
    NatGatewaySpec {
    /// The (public) subnet it lives in; private subnets route to it.
    subnet: Spanned<Reference>,
});

resource_spec!(
    /// `[internet_gateway.NAME]`: an internet gateway, attached to a VPC. See docs/kinds.md.
    InternetGatewaySpec {
    /// The VPC it is attached to.
    vpc: Option<Spanned<Reference>>,
});

resource_spec!(
    /// `[route_table.NAME]`: a route table, its routes and subnets. See docs/kinds.md.
    RouteTableSpec {
    /// Its VPC; a change replaces it.
    vpc: Spanned<Reference>,
    /// The subnets it is associated with.
    #[serde(default)]
    subnets: Vec<Spanned<Reference>>,
    /// Its routes, beside the VPC's local one.
    #[serde(default)]
    routes: Vec<Spanned<RouteSpec>>,
});

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// The destination block.
    pub cidr: Cidr,
    /// An internet gateway: of the stack, or by live id (`igw-…`).
    pub gateway: Option<Spanned<Reference>>,
    /// A NAT gateway: of the stack, or by live id (`nat-…`).
    pub nat_gateway: Option<Spanned<Reference>>,
    /// Targets reconcile does not create, by live id: `pcx-…`, `tgw-…`, `eni-…`.
    pub vpc_peering: Option<Spanned<String>>,
    /// A transit gateway id.
    pub transit_gateway: Option<Spanned<String>>,
    /// A network interface id.
    pub network_interface: Option<Spanned<String>>,
}

impl RouteSpec {
    /// The targets given by live id, by their key in a route (`model::shapes::ROUTE_TARGETS`).
    pub fn live_targets(&self) -> [(&'static str, Option<&Spanned<String>>); 3] {
        [
            ("vpc_peering", self.vpc_peering.as_ref()),
            ("transit_gateway", self.transit_gateway.as_ref()),
            ("network_interface", self.network_interface.as_ref()),
        ]
    }
}

resource_spec!(
    /// `[security_group.NAME]`: a security group and its rules. See docs/kinds.md.
    SecurityGroupSpec {
    /// Its VPC; a change replaces it.
    vpc: Spanned<Reference>,
    /// Group name; defaults to `<stack>-<name>`.
    name: Option<Spanned<String>>,
    /// Its description; a change replaces it.
    #[serde(default = "default_group_description")]
    description: Spanned<String>,
    /// Inbound rules.
    #[serde(default)]
    ingress: Vec<Spanned<RuleSpec>>,
    /// Omitted: AWS's default allow-all egress, which is then not drift.
    egress: Option<Vec<Spanned<RuleSpec>>>,
});

fn default_group_description() -> Spanned<String> {
    Spanned::new(0..0, super::database::default_description())
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// `tcp`, `udp`, `icmp`, `all` (or `-1`), or an IP protocol number.
    pub protocol: String,
    /// One port (or `from_port` and `to_port`).
    pub port: Option<i64>,
    /// The first port of a range.
    pub from_port: Option<i64>,
    /// The last port of a range.
    pub to_port: Option<i64>,
    /// An IPv4 block the rule admits.
    pub cidr: Option<Cidr>,
    /// Another group of the stack, `"self"` for this group, or a live `sg-` id.
    pub security_group: Option<Spanned<Reference>>,
    /// The rule's description.
    pub description: Option<String>,
}

impl Checker {
    /// An internet gateway has nothing to check beyond its reference.
    pub(super) fn internet_gateway(&mut self, _: &Stack, _: &Resource, _: &InternetGatewaySpec) {}

    /// A NAT gateway has nothing to check beyond its reference.
    pub(super) fn nat_gateway(&mut self, _: &Stack, _: &Resource, _: &NatGatewaySpec) {}

    pub(super) fn vpc(&mut self, _stack: &Stack, r: &Resource, s: &VpcSpec) {
        self.cidr_values(r, "cidr", &s.cidr);
    }

    pub(super) fn subnet(&mut self, _stack: &Stack, r: &Resource, s: &SubnetSpec) {
        self.cidr_values(r, "cidr", &s.cidr);
        self.regional(r, "zone", &s.zone);
        for region in &r.regions {
            if let Some(z) = s.zone.get_ref().get(region) {
                if zone_name(region, z).is_none() {
                    let d = self.error(
                        s.zone.span(),
                        format!("invalid zone `{z}` for region {region}"),
                    );
                    d.help = Some(format!(
                        "write a zone letter such as \"a\", or a full name such as \"{region}a\""
                    ));
                }
            }
        }
    }

    pub(super) fn route_table(&mut self, _stack: &Stack, _r: &Resource, s: &RouteTableSpec) {
        let mut seen = BTreeSet::new();
        for route in &s.routes {
            let r = route.get_ref();
            if !seen.insert(r.cidr) {
                self.error(route.span(), format!("duplicate route for {}", r.cidr));
            }
            let given = r
                .live_targets()
                .iter()
                .filter(|(_, id)| id.is_some())
                .count()
                + usize::from(r.gateway.is_some())
                + usize::from(r.nat_gateway.is_some());
            if given != 1 {
                self.error(
                    route.span(),
                    format!("the route for {} needs exactly one target", r.cidr),
                )
                .help = Some(
                    "one of gateway, nat_gateway, vpc_peering, transit_gateway, network_interface"
                        .into(),
                );
            }
            for (key, id) in r.live_targets() {
                let Some(id) = id else { continue };
                let prefix = crate::model::shapes::ROUTE_TARGETS
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or("", |(_, p)| *p);
                if !id.get_ref().starts_with(prefix) {
                    self.error(
                        id.span(),
                        format!(
                            "`{key}` takes a live id ({prefix}…), not `{}`",
                            id.get_ref()
                        ),
                    );
                }
            }
        }
        let mut subnets = BTreeSet::new();
        for subnet in &s.subnets {
            if !subnets.insert(subnet.get_ref()) {
                self.error(subnet.span(), "subnet listed twice");
            }
        }
    }

    pub(super) fn security_group(&mut self, stack: &Stack, r: &Resource, s: &SecurityGroupSpec) {
        let name = s.name.as_ref().map_or_else(
            || format!("{}-{}", stack.name, r.address.name),
            |n| n.get_ref().clone(),
        );
        let span = s.name.as_ref().map_or(r.span.clone(), |n| n.span());
        let identity = format!(
            "security group (name `{name}` in {})",
            named(r, s.vpc.get_ref())
        );
        self.identity(r, identity, span);
        if let Some(name) = s.name.as_ref().filter(|n| {
            n.get_ref().is_empty()
                || n.get_ref().starts_with("sg-")
                || refused_in_description(n.get_ref(), "&").is_some()
        }) {
            self.error(name.span(), format!("{}: invalid group name", r.address))
                .help = Some(
                "use 1 to 255 of a-z A-Z 0-9, spaces and ._-:/()#,@[]+=&;{}!$*, not starting with sg-"
                    .into(),
            );
        }
        let description = s.description.get_ref();
        if let Some(bad) = refused_in_description(description, "&") {
            self.error(
                s.description.span(),
                format!("{}: EC2 refuses {bad} in a group description", r.address),
            )
            .help = Some(DESCRIPTION_HELP.replace("{amp}", "&"));
        }
        for rule in s.ingress.iter().chain(s.egress.iter().flatten()) {
            if let Some(bad) = rule
                .get_ref()
                .description
                .as_deref()
                .and_then(|d| refused_in_description(d, ""))
            {
                self.error(
                    rule.span(),
                    format!("{}: EC2 refuses {bad} in a rule description", r.address),
                )
                .help = Some(DESCRIPTION_HELP.replace("{amp}", ""));
            }
            if let Err(message) = rule_ports(rule.get_ref()) {
                self.error(rule.span(), message);
            }
            let rule_ref = rule.get_ref();
            if rule_ref.cidr.is_some() == rule_ref.security_group.is_some() {
                let d = self.error(
                    rule.span(),
                    "a rule needs exactly one source: `cidr` or `security_group`",
                );
                d.help = Some("split it into two rules".into());
            }
        }
    }
}

const DESCRIPTION_HELP: &str =
    "EC2 takes up to 255 of: letters a-z A-Z, digits, spaces and . _ - : / ( ) # , @ [ ] + = {amp}; { } ! $ *";

/// What EC2 refuses in a security group's description (`extra`: `&`, which a
/// group takes and a rule does not), or that it is over 255 characters.
fn refused_in_description(text: &str, extra: &str) -> Option<String> {
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || c == ' '
            || "._-:/()#,@[]+=;{}!$*".contains(c)
            || extra.contains(c)
    };
    let bad: String = text.chars().filter(|c| !allowed(*c)).collect();
    match (bad.is_empty(), text.chars().count() > 255) {
        (false, _) => Some(format!("the characters `{bad}`")),
        (true, true) => Some("more than 255 characters".into()),
        (true, false) => None,
    }
}

impl VpcSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        vec![]
    }
}

impl SubnetSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        vec![field("vpc", &self.vpc, Kind::Vpc)]
    }
}

impl InternetGatewaySpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        self.vpc
            .iter()
            .map(|v| field("vpc", v, Kind::Vpc))
            .collect()
    }
}

impl NatGatewaySpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        vec![field("subnet", &self.subnet, Kind::Subnet)]
    }
}

impl RouteTableSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        std::iter::once(field("vpc", &self.vpc, Kind::Vpc))
            .chain(
                self.subnets
                    .iter()
                    .map(|r| field("subnets", r, Kind::Subnet)),
            )
            .chain(self.routes.iter().flat_map(|r| {
                let r = r.get_ref();
                r.gateway
                    .iter()
                    .map(|g| field("routes", g, Kind::InternetGateway))
                    .chain(
                        r.nat_gateway
                            .iter()
                            .map(|g| field("routes", g, Kind::NatGateway)),
                    )
            }))
            .collect()
    }
}

impl SecurityGroupSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        std::iter::once(field("vpc", &self.vpc, Kind::Vpc))
            .chain(
                self.ingress
                    .iter()
                    .map(|r| ("ingress", r))
                    .chain(self.egress.iter().flatten().map(|r| ("egress", r)))
                    .filter_map(|(name, r)| {
                        r.get_ref()
                            .security_group
                            .as_ref()
                            .map(|g| field(name, g, Kind::SecurityGroup))
                    }),
            )
            .collect()
    }
}
