//! Stack files: loading, validation and reference resolution. Pure: no AWS.
//!
//! Every check runs before the first AWS call, so a stack that loads is one
//! whose references resolve, whose graph is acyclic and whose values are valid
//! in every region it names.

pub mod diag;
pub mod interpolate;
pub mod spec;

pub use diag::{Diagnostic, StackError};

use crate::model::{valid_name, Address, Kind, REGIONS};
use petgraph::graph::{DiGraph, NodeIndex};
use spec::{
    Cidr, Common, InternetGatewaySpec, RawStack, Reference, Regional, RouteTableSpec, RuleSpec,
    SecurityGroupSpec, SubnetSpec, VpcSpec, DEFAULT_REGION_KEY,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A validated stack file.
#[derive(Debug)]
pub struct Stack {
    pub name: String,
    pub regions: Vec<String>,
    pub version: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub resources: BTreeMap<Address, Resource>,
    pub path: PathBuf,
    /// The file's text, kept so a saved plan can carry exactly what it was made from.
    pub source: String,
}

#[derive(Debug)]
pub struct Resource {
    pub address: Address,
    pub spec: Spec,
    /// The regions this resource exists in: its own `regions`, or the stack's.
    pub regions: Vec<String>,
}

#[derive(Debug)]
pub enum Spec {
    Vpc(VpcSpec),
    Subnet(SubnetSpec),
    InternetGateway(InternetGatewaySpec),
    RouteTable(RouteTableSpec),
    SecurityGroup(SecurityGroupSpec),
}

/// A reference field of a resource, and the kind it must name.
pub struct ReferenceField<'a> {
    pub field: &'static str,
    pub reference: &'a Spanned<Reference>,
    pub expected: Kind,
}

impl Spec {
    pub fn kind(&self) -> Kind {
        match self {
            Spec::Vpc(_) => Kind::Vpc,
            Spec::Subnet(_) => Kind::Subnet,
            Spec::InternetGateway(_) => Kind::InternetGateway,
            Spec::RouteTable(_) => Kind::RouteTable,
            Spec::SecurityGroup(_) => Kind::SecurityGroup,
        }
    }

    pub fn common(&self) -> Common<'_> {
        match self {
            Spec::Vpc(s) => s.common(),
            Spec::Subnet(s) => s.common(),
            Spec::InternetGateway(s) => s.common(),
            Spec::RouteTable(s) => s.common(),
            Spec::SecurityGroup(s) => s.common(),
        }
    }

    pub fn references(&self) -> Vec<ReferenceField<'_>> {
        let field = |field, reference, expected| ReferenceField {
            field,
            reference,
            expected,
        };
        match self {
            Spec::Vpc(_) => vec![],
            Spec::Subnet(s) => vec![field("vpc", &s.vpc, Kind::Vpc)],
            Spec::InternetGateway(s) => s.vpc.iter().map(|v| field("vpc", v, Kind::Vpc)).collect(),
            Spec::RouteTable(s) => std::iter::once(field("vpc", &s.vpc, Kind::Vpc))
                .chain(s.subnets.iter().map(|r| field("subnets", r, Kind::Subnet)))
                .chain(
                    s.routes
                        .iter()
                        .map(|r| field("routes", &r.get_ref().gateway, Kind::InternetGateway)),
                )
                .collect(),
            Spec::SecurityGroup(s) => std::iter::once(field("vpc", &s.vpc, Kind::Vpc))
                .chain(
                    s.ingress
                        .iter()
                        .map(|r| ("ingress", r))
                        .chain(s.egress.iter().flatten().map(|r| ("egress", r)))
                        .filter_map(|(name, r)| {
                            r.get_ref()
                                .security_group
                                .as_ref()
                                .map(|g| field(name, g, Kind::SecurityGroup))
                        }),
                )
                .collect(),
        }
    }
}

impl Resource {
    /// Everything this resource needs to exist first: references and interpolations.
    pub fn dependencies(&self) -> BTreeSet<Address> {
        let refs = self
            .spec
            .references()
            .into_iter()
            .filter_map(|r| r.reference.get_ref().address().cloned());
        let interpolated = self
            .spec
            .common()
            .tags
            .values()
            .flat_map(|v| interpolate::parse(v.get_ref()).unwrap_or_default())
            .map(|i| i.target);
        refs.chain(interpolated)
            .filter(|a| *a != self.address)
            .collect()
    }

    /// The attributes reconcile leaves alone on this resource (`ignore_changes`).
    pub fn ignored(&self) -> Vec<String> {
        self.spec
            .common()
            .ignore_changes
            .iter()
            .map(|s| s.get_ref().clone())
            .collect()
    }

    pub fn in_region(&self, region: &str) -> bool {
        self.regions.iter().any(|r| r == region)
    }
}

impl Stack {
    /// Resources of one region in dependency order (dependencies first).
    pub fn ordered(&self, region: &str) -> Vec<&Resource> {
        let mut done: BTreeSet<&Address> = BTreeSet::new();
        let mut out = Vec::new();
        fn visit<'a>(
            stack: &'a Stack,
            r: &'a Resource,
            region: &str,
            done: &mut BTreeSet<&'a Address>,
            out: &mut Vec<&'a Resource>,
        ) {
            if !done.insert(&r.address) {
                return;
            }
            for dep in r.dependencies() {
                if let Some(d) = stack.resources.get(&dep) {
                    visit(stack, d, region, done, out);
                }
            }
            if r.in_region(region) {
                out.push(r);
            }
        }
        for r in self.resources.values() {
            visit(self, r, region, &mut done, &mut out);
        }
        out
    }
}

/// Reads and validates a stack file.
pub fn load(path: &Path) -> Result<Stack, StackError> {
    let source = std::fs::read_to_string(path).map_err(|e| StackError {
        path: path.to_path_buf(),
        source: String::new(),
        diagnostics: vec![Diagnostic {
            span: None,
            message: format!("cannot read the stack file: {e}"),
            help: Some("pass the path of a stack file, for example stacks/demo.toml".into()),
        }],
    })?;
    parse(path, source)
}

/// Validates a stack file's text; `path` is only used in messages.
pub fn parse(path: &Path, source: String) -> Result<Stack, StackError> {
    let fail = |source: String, diagnostics| StackError {
        path: path.to_path_buf(),
        source,
        diagnostics,
    };
    let raw: RawStack = match toml::from_str(&source) {
        Ok(raw) => raw,
        Err(e) => {
            let d = Diagnostic {
                span: e.span(),
                message: e.message().trim_end().to_string(),
                help: None,
            };
            return Err(fail(source, vec![d]));
        }
    };
    let mut checker = Checker::default();
    let stack = checker.build(raw, path);
    if checker.diagnostics.is_empty() {
        Ok(Stack { source, ..stack })
    } else {
        checker
            .diagnostics
            .sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
        Err(fail(source, checker.diagnostics))
    }
}

#[derive(Default)]
struct Checker {
    diagnostics: Vec<Diagnostic>,
}

fn blocks<T>(
    map: BTreeMap<String, Spanned<T>>,
    kind: Kind,
    wrap: fn(T) -> Spec,
) -> impl Iterator<Item = (Address, Range<usize>, Spec)> {
    map.into_iter().map(move |(name, s)| {
        let span = s.span();
        (Address::new(kind, name), span, wrap(s.into_inner()))
    })
}

impl Checker {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::at(span, message));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn build(&mut self, raw: RawStack, path: &Path) -> Stack {
        let header = raw.stack;
        let name = header.name.get_ref();
        let name_ok = name.len() <= 40
            && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !name_ok {
            self.error(header.name.span(), format!("invalid stack name `{name}`"))
                .help = Some("use up to 40 letters, digits and `-`, starting with a letter; it is the value of the reconcile:stack tag".into());
        }
        let regions = self.regions(&header.regions, None);
        let mut tags = BTreeMap::new();
        for (k, v) in &header.tags {
            self.tag(k, v);
            tags.insert(k.clone(), v.get_ref().clone());
        }

        let mut spans = BTreeMap::new();
        let mut resources = BTreeMap::new();
        let all = blocks(raw.vpc, Kind::Vpc, Spec::Vpc)
            .chain(blocks(raw.subnet, Kind::Subnet, Spec::Subnet))
            .chain(blocks(
                raw.internet_gateway,
                Kind::InternetGateway,
                Spec::InternetGateway,
            ))
            .chain(blocks(raw.route_table, Kind::RouteTable, Spec::RouteTable))
            .chain(blocks(
                raw.security_group,
                Kind::SecurityGroup,
                Spec::SecurityGroup,
            ));
        for (address, span, spec) in all {
            if !valid_name(&address.name) {
                self.error(
                    span.clone(),
                    format!("invalid resource name `{}`", address.name),
                )
                .help = Some(
                    "use lowercase letters, digits, `_` and `-`, starting with a letter".into(),
                );
            }
            let regions = match spec.common().regions {
                Some(own) => self.regions(own, Some(&regions)),
                None => regions.clone(),
            };
            spans.insert(address.clone(), span);
            resources.insert(
                address.clone(),
                Resource {
                    address,
                    spec,
                    regions,
                },
            );
        }

        let stack = Stack {
            name: name.clone(),
            regions,
            version: header.version,
            tags,
            resources,
            path: path.to_path_buf(),
            source: String::new(),
        };
        for r in stack.resources.values() {
            self.resource(&stack, r);
        }
        self.network_layout(&stack);
        self.cycles(&stack, &spans);
        stack
    }

    fn regions(
        &mut self,
        list: &Spanned<Vec<Spanned<String>>>,
        within: Option<&[String]>,
    ) -> Vec<String> {
        if list.get_ref().is_empty() {
            self.error(list.span(), "`regions` is empty").help =
                Some("name at least one region, for example [\"us-west-2\"]".into());
        }
        let mut seen = Vec::new();
        for r in list.get_ref() {
            let name = r.get_ref();
            if seen.contains(name) {
                self.error(r.span(), format!("region `{name}` is listed twice"));
            } else if !REGIONS.contains(&name.as_str()) {
                let d = self.error(r.span(), format!("unknown region `{name}`"));
                d.help = Some(format!("known regions: {}", REGIONS.join(", ")));
            } else if within.is_some_and(|w| !w.contains(name)) {
                let d = self.error(
                    r.span(),
                    format!("region `{name}` is not a region of the stack"),
                );
                d.help = Some("add it to [stack] regions, or remove it here".into());
            }
            seen.push(name.clone());
        }
        seen
    }

    fn tag(&mut self, key: &str, value: &Spanned<String>) {
        if key.starts_with("reconcile:") || key.starts_with("aws:") {
            self.error(value.span(), format!("tag `{key}` is reserved"))
                .help = Some(
                "tags starting with reconcile: and aws: are managed by reconcile and AWS".into(),
            );
        }
    }

    fn resource(&mut self, stack: &Stack, r: &Resource) {
        let common = r.spec.common();
        let kind = r.spec.kind();
        for attr in common.ignore_changes {
            if !kind.attributes().contains(&attr.get_ref().as_str()) {
                let d = self.error(
                    attr.span(),
                    format!(
                        "{}: ignore_changes names unknown attribute `{}`",
                        r.address,
                        attr.get_ref()
                    ),
                );
                d.help = Some(format!(
                    "attributes of a {kind}: {}",
                    kind.attributes().join(", ")
                ));
            }
        }
        for (key, value) in common.tags {
            self.tag(key, value);
            match interpolate::parse(value.get_ref()) {
                Err(message) => {
                    self.error(value.span(), message);
                }
                Ok(found) => {
                    for i in found {
                        match stack.resources.get(&i.target) {
                            None => {
                                self.error(
                                    value.span(),
                                    format!(
                                        "dangling reference: `{}` is not declared in this stack",
                                        i.target
                                    ),
                                );
                            }
                            Some(_) if !i.target.kind.exports().contains(&i.attribute.as_str()) => {
                                let d = self.error(
                                    value.span(),
                                    format!(
                                        "a {} has no attribute `{}`",
                                        i.target.kind, i.attribute
                                    ),
                                );
                                d.help = Some(format!(
                                    "available: {}",
                                    i.target.kind.exports().join(", ")
                                ));
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
        }
        for field in r.spec.references() {
            self.reference(stack, r, &field);
        }
        match &r.spec {
            Spec::Vpc(s) => self.cidr_values(r, "cidr", &s.cidr),
            Spec::Subnet(s) => {
                self.cidr_values(r, "cidr", &s.cidr);
                self.regional(r, "zone", &s.zone);
                for region in &r.regions {
                    if let Some(z) = s.zone.get_ref().get(region) {
                        if zone_name(region, z).is_none() {
                            let d = self.error(
                                s.zone.span(),
                                format!("invalid zone `{z}` for region {region}"),
                            );
                            d.help = Some(format!("write a zone letter such as \"a\", or a full name such as \"{region}a\""));
                        }
                    }
                }
            }
            Spec::InternetGateway(_) => {}
            Spec::RouteTable(s) => {
                let mut seen = BTreeSet::new();
                for route in &s.routes {
                    if !seen.insert(route.get_ref().cidr) {
                        self.error(
                            route.span(),
                            format!("duplicate route for {}", route.get_ref().cidr),
                        );
                    }
                }
                let mut subnets = BTreeSet::new();
                for subnet in &s.subnets {
                    if !subnets.insert(subnet.get_ref()) {
                        self.error(subnet.span(), "subnet listed twice");
                    }
                }
            }
            Spec::SecurityGroup(s) => {
                if let Some(name) = s.name.as_ref().filter(|n| {
                    n.get_ref().is_empty()
                        || n.get_ref().starts_with("sg-")
                        || n.get_ref().len() > 255
                }) {
                    self.error(name.span(), format!("{}: invalid group name", r.address))
                        .help = Some("use 1 to 255 characters, not starting with sg-".into());
                }
                for rule in s.ingress.iter().chain(s.egress.iter().flatten()) {
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
    }

    fn reference(&mut self, stack: &Stack, r: &Resource, field: &ReferenceField) {
        let span = field.reference.span();
        match field.reference.get_ref() {
            Reference::SelfGroup if r.spec.kind() == Kind::SecurityGroup => {}
            Reference::SelfGroup => {
                self.error(
                    span,
                    format!(
                        "`self` is only meaningful in a security group rule ({}.{})",
                        r.address, field.field
                    ),
                );
            }
            Reference::LiveId(id) => {
                if !id.starts_with(field.expected.id_prefix()) {
                    self.error(
                        span,
                        format!(
                            "`{}` must name a {}, and `{id}` is not a {} id",
                            field.field, field.expected, field.expected
                        ),
                    );
                }
            }
            Reference::Resource(target) => {
                if target.kind != field.expected {
                    self.error(
                        span,
                        format!(
                            "`{}` must name a {}, found {target}",
                            field.field, field.expected
                        ),
                    );
                    return;
                }
                let Some(t) = stack.resources.get(target) else {
                    let known: Vec<String> = stack
                        .resources
                        .keys()
                        .filter(|a| a.kind == target.kind)
                        .map(|a| a.to_string())
                        .collect();
                    let d = self.error(
                        span,
                        format!("dangling reference: `{target}` is not declared in this stack"),
                    );
                    d.help = Some(if known.is_empty() {
                        format!("declare [{target}]")
                    } else {
                        format!("declared {}s: {}", target.kind, known.join(", "))
                    });
                    return;
                };
                let missing: Vec<&String> =
                    r.regions.iter().filter(|reg| !t.in_region(reg)).collect();
                if !missing.is_empty() {
                    self.error(
                        span,
                        format!(
                            "{} exists in {} but {target} does not",
                            r.address,
                            missing
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
            }
        }
    }

    fn regional<T: std::fmt::Debug>(
        &mut self,
        r: &Resource,
        field: &str,
        value: &Spanned<Regional<T>>,
    ) {
        if let Regional::ByRegion(m) = value.get_ref() {
            for key in m.keys() {
                if key != DEFAULT_REGION_KEY && !r.regions.contains(key) {
                    let d = self.error(value.span(), format!("{}.{field} has a value for `{key}`, which is not a region of this resource", r.address));
                    d.help = Some(format!("regions: {}", r.regions.join(", ")));
                }
            }
        }
        for region in &r.regions {
            if value.get_ref().get(region).is_none() {
                let d = self.error(
                    value.span(),
                    format!("{}.{field} has no value for region {region}", r.address),
                );
                d.help = Some(format!("add `{region} = …` or `{DEFAULT_REGION_KEY} = …`"));
            }
        }
    }

    fn cidr_values(&mut self, r: &Resource, field: &str, value: &Spanned<Regional<Cidr>>) {
        self.regional(r, field, value);
        for region in &r.regions {
            if let Some(c) = value.get_ref().get(region) {
                if !(16..=28).contains(&c.0.prefix_len()) {
                    let d = self.error(
                        value.span(),
                        format!("{}: CIDR {c} is outside what AWS allows", r.address),
                    );
                    d.help = Some("VPC and subnet blocks must be between /16 and /28".into());
                }
            }
        }
    }

    /// Cross-resource network checks: subnets inside their VPC and not overlapping,
    /// one internet gateway per VPC, one route table per subnet.
    fn network_layout(&mut self, stack: &Stack) {
        let spec_of = |a: &Address| stack.resources.get(a).map(|r| &r.spec);
        type Placed<'a> = (&'a Address, Cidr, Range<usize>);
        let mut subnets_by_vpc: HashMap<(&Address, &str), Vec<Placed>> = HashMap::new();
        let mut gateways: HashMap<&Reference, &Address> = HashMap::new();
        let mut associated: HashMap<&Reference, &Address> = HashMap::new();
        for r in stack.resources.values() {
            match &r.spec {
                Spec::Subnet(s) => {
                    let Some(vpc) = s.vpc.get_ref().address() else {
                        continue;
                    };
                    let Some(Spec::Vpc(v)) = spec_of(vpc) else {
                        continue;
                    };
                    for region in &r.regions {
                        let (Some(sub), Some(outer)) =
                            (s.cidr.get_ref().get(region), v.cidr.get_ref().get(region))
                        else {
                            continue;
                        };
                        if !outer.0.contains(&sub.0) {
                            let d = self.error(
                                s.cidr.span(),
                                format!(
                                    "{}: {sub} is not inside {vpc}'s {outer} in {region}",
                                    r.address
                                ),
                            );
                            d.help = Some(format!("pick a block within {outer}"));
                        }
                        subnets_by_vpc.entry((vpc, region)).or_default().push((
                            &r.address,
                            *sub,
                            s.cidr.span(),
                        ));
                    }
                }
                Spec::InternetGateway(g) => {
                    if let Some(vpc) = &g.vpc {
                        if let Some(other) = gateways.insert(vpc.get_ref(), &r.address) {
                            let d = self.error(
                                vpc.span(),
                                format!("{} and {other} attach to the same VPC", r.address),
                            );
                            d.help = Some("a VPC takes one internet gateway".into());
                        }
                    }
                }
                Spec::RouteTable(t) => {
                    for subnet in &t.subnets {
                        if let Some(other) = associated.insert(subnet.get_ref(), &r.address) {
                            if other != &r.address {
                                let d = self.error(
                                    subnet.span(),
                                    format!(
                                        "subnet is associated with both {other} and {}",
                                        r.address
                                    ),
                                );
                                d.help = Some("a subnet has one route table".into());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let mut groups: Vec<_> = subnets_by_vpc.into_iter().collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for ((vpc, region), subnets) in groups {
            for (i, (a, ca, _)) in subnets.iter().enumerate() {
                for (b, cb, span) in &subnets[i + 1..] {
                    if ca.0.contains(&cb.0.network()) || cb.0.contains(&ca.0.network()) {
                        self.error(
                            span.clone(),
                            format!("{b} ({cb}) overlaps {a} ({ca}) in {vpc}, {region}"),
                        );
                    }
                }
            }
        }
    }

    fn cycles(&mut self, stack: &Stack, spans: &BTreeMap<Address, Range<usize>>) {
        let mut graph = DiGraph::<&Address, ()>::new();
        let nodes: BTreeMap<&Address, NodeIndex> = stack
            .resources
            .keys()
            .map(|a| (a, graph.add_node(a)))
            .collect();
        for r in stack.resources.values() {
            for dep in r.dependencies() {
                if let Some(&to) = nodes.get(&dep) {
                    graph.add_edge(nodes[&r.address], to, ());
                }
            }
        }
        for scc in petgraph::algo::tarjan_scc(&graph) {
            if scc.len() > 1 {
                let mut names: Vec<&Address> = scc.iter().map(|&n| graph[n]).collect();
                names.sort();
                let first = names[0];
                let path: Vec<String> = names
                    .iter()
                    .chain([&first])
                    .map(|a| a.to_string())
                    .collect();
                let d = self.error(
                    spans[first].clone(),
                    format!("dependency cycle: {}", path.join(" → ")),
                );
                d.help = Some("break the cycle: one of these must not reference the other".into());
            }
        }
    }
}

/// The availability zone a subnet's `zone` names in a region.
pub fn zone_name(region: &str, zone: &str) -> Option<String> {
    let is_letter = |s: &str| s.len() == 1 && s.chars().all(|c| c.is_ascii_lowercase());
    if is_letter(zone) {
        Some(format!("{region}{zone}"))
    } else {
        zone.strip_prefix(region)
            .filter(|l| is_letter(l))
            .map(|_| zone.to_string())
    }
}

/// Canonical protocol and port range of a rule: ("tcp", "80"), ("tcp", "8000-8100"), ("-1", "all").
pub fn rule_ports(rule: &RuleSpec) -> Result<(String, String), String> {
    let protocol = match rule.protocol.as_str() {
        "all" | "-1" => "-1".to_string(),
        "tcp" | "udp" | "icmp" => rule.protocol.clone(),
        n if n.parse::<u8>().is_ok() => n.to_string(),
        other => {
            return Err(format!(
                "unknown protocol `{other}`: use tcp, udp, icmp, all, or an IP protocol number"
            ))
        }
    };
    let range = match (rule.port, rule.from_port, rule.to_port) {
        (Some(p), None, None) => (p, p),
        (None, Some(f), Some(t)) => (f, t),
        (None, None, None) => (-1, -1),
        _ => return Err("give either `port`, or both `from_port` and `to_port`".to_string()),
    };
    if protocol == "-1" {
        return if range == (-1, -1) {
            Ok((protocol, "all".into()))
        } else {
            Err("a rule for all protocols takes no ports".into())
        };
    }
    if protocol == "icmp" {
        return Ok((protocol, format!("{}:{}", range.0, range.1)));
    }
    if range == (-1, -1) {
        return Err(format!(
            "a {protocol} rule needs `port` or `from_port`/`to_port`"
        ));
    }
    if !(0..=65535).contains(&range.0) || !(0..=65535).contains(&range.1) || range.0 > range.1 {
        return Err(format!(
            "invalid port range {}-{}: ports are 0-65535, from ≤ to",
            range.0, range.1
        ));
    }
    Ok((
        protocol,
        if range.0 == range.1 {
            range.0.to_string()
        } else {
            format!("{}-{}", range.0, range.1)
        },
    ))
}
