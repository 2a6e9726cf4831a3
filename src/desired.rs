//! What a resource should look like in one region, as comparable attributes.
//!
//! The same function serves plan and apply: a plan resolves references to
//! addresses (`vpc.main`), apply to the live ids it has just created.

use crate::model::{Address, Attrs, Value};
use crate::stack::interpolate;
use crate::stack::spec::{ActionSpec, ForwardSpec, Reference, RuleSpec};
use crate::stack::{dns_name, rule_ports, zone_name, Resource, Spec, Stack};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub trait Resolve {
    /// The value of a reference made by `own`; `Value::Unknown` when not knowable yet.
    fn reference(&self, reference: &Reference, own: &Address) -> Value;
    /// A live attribute of a resource, for `${kind.name.attr}`; `None` when not known yet.
    fn attribute(&self, target: &Address, attribute: &str) -> Option<String>;
}

/// The tag keys reconcile writes itself; never part of the `tags` attribute.
pub fn is_managed_tag(key: &str) -> bool {
    key.starts_with("reconcile:") || key.starts_with("aws:")
}

pub fn attrs(stack: &Stack, r: &Resource, region: &str, resolve: &dyn Resolve) -> Attrs {
    let own = &r.address;
    let reference = |reference: &Reference| resolve.reference(reference, own);
    let mut attrs = Attrs::new();
    let mut set = |k: &str, v: Value| {
        attrs.insert(k.to_string(), v);
    };
    match &r.spec {
        Spec::Vpc(s) => {
            set("cidr", regional_str(s.cidr.get_ref().get(region)));
        }
        Spec::Subnet(s) => {
            set("vpc", reference(s.vpc.get_ref()));
            set("cidr", regional_str(s.cidr.get_ref().get(region)));
            let zone = s
                .zone
                .get_ref()
                .get(region)
                .and_then(|z| zone_name(region, z));
            set("zone", regional_str(zone));
            set(
                "map_public_ip_on_launch",
                Value::Bool(s.map_public_ip_on_launch),
            );
        }
        Spec::InternetGateway(s) => {
            if let Some(vpc) = &s.vpc {
                set("vpc", reference(vpc.get_ref()));
            }
        }
        Spec::RouteTable(s) => {
            set("vpc", reference(s.vpc.get_ref()));
            set(
                "subnets",
                Value::set(s.subnets.iter().map(|r| reference(r.get_ref()))),
            );
            set(
                "routes",
                Value::set(s.routes.iter().map(|r| {
                    let r = r.get_ref();
                    let cidr = r.cidr.to_string();
                    match &r.gateway {
                        Some(g) => route_value(&cidr, "gateway", reference(g.get_ref())),
                        None => r
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
        Spec::SecurityGroup(s) => {
            set("vpc", reference(s.vpc.get_ref()));
            let name = s.name.as_ref().map_or_else(
                || format!("{}-{}", stack.name, own.name),
                |n| n.get_ref().clone(),
            );
            set("name", Value::Str(name));
            set("description", Value::str(&s.description));
            let rules = |rules: &[toml::Spanned<RuleSpec>]| {
                Value::set(rules.iter().map(|r| {
                    let r = r.get_ref();
                    let source = match (&r.cidr, &r.security_group) {
                        (Some(c), _) => ("cidr", Value::Str(c.to_string())),
                        (None, Some(g)) => ("security_group", reference(g.get_ref())),
                        (None, None) => ("cidr", Value::Unknown),
                    };
                    let (protocol, ports) = rule_ports(r).unwrap_or_default();
                    rule_value(&protocol, &ports, source, r.description.as_deref())
                }))
            };
            set("ingress", rules(&s.ingress));
            set(
                "egress",
                match &s.egress {
                    Some(egress) => rules(egress),
                    None => Value::set([default_egress()]),
                },
            );
        }
        Spec::LoadBalancer(s) => {
            set("scheme", Value::str(s.scheme.get_ref()));
            set(
                "subnets",
                Value::set(s.subnets.iter().map(|r| reference(r.get_ref()))),
            );
            set(
                "security_groups",
                Value::set(s.security_groups.iter().map(|r| reference(r.get_ref()))),
            );
            set(
                "idle_timeout",
                Value::Int(s.idle_timeout.as_ref().map_or(60, |t| *t.get_ref())),
            );
            set(
                "attributes",
                Value::map(s.attributes.iter().map(|(k, v)| (k.clone(), Value::str(v)))),
            );
        }
        Spec::TargetGroup(s) => {
            set("vpc", reference(s.vpc.get_ref()));
            set("protocol", Value::str(s.protocol.get_ref()));
            set("port", Value::Int(*s.port.get_ref()));
            set("target_type", Value::str(s.target_type.get_ref()));
            let h = &s.health_check;
            set(
                "health_check",
                health_check(
                    h.path.as_deref().unwrap_or("/"),
                    h.protocol.as_deref().unwrap_or(s.protocol.get_ref()),
                    h.port.as_deref().unwrap_or("traffic-port"),
                    [
                        h.interval.unwrap_or(30),
                        h.timeout.unwrap_or(5),
                        h.healthy_threshold.unwrap_or(5),
                        h.unhealthy_threshold.unwrap_or(2),
                    ],
                    h.matcher.as_deref().unwrap_or("200"),
                ),
            );
        }
        Spec::Listener(s) => {
            set("load_balancer", reference(s.load_balancer.get_ref()));
            set("port", Value::Int(*s.port.get_ref()));
            set("protocol", Value::str(s.protocol.get_ref()));
            if let Some(c) = &s.certificate {
                set("certificate", Value::str(c));
            }
            set(
                "default_action",
                action(s.default_action.get_ref(), &reference),
            );
        }
        Spec::ListenerRule(s) => {
            set("listener", reference(s.listener.get_ref()));
            set("priority", Value::Int(*s.priority.get_ref()));
            let c = s.conditions.get_ref();
            let header = c
                .header
                .as_ref()
                .map(|h| (h.name.as_str(), h.values.as_slice()));
            set("conditions", conditions(&c.path, &c.host, header));
            set("action", action(s.action.get_ref(), &reference));
        }
        Spec::Instance(s) => {
            set("ami", regional_str(s.ami.get_ref().get(region)));
            set("instance_type", Value::str(&s.instance_type));
            set("subnet", reference(s.subnet.get_ref()));
            set(
                "security_groups",
                Value::set(s.security_groups.iter().map(|r| reference(r.get_ref()))),
            );
            if let Some(data) = &s.user_data {
                set("user_data", Value::Str(user_data_digest(data)));
            }
            set(
                "target_groups",
                Value::set(s.target_groups.iter().map(|r| reference(r.get_ref()))),
            );
        }
        Spec::DbSubnetGroup(s) => {
            set("description", Value::str(&s.description));
            set(
                "subnets",
                Value::set(s.subnets.iter().map(|r| reference(r.get_ref()))),
            );
        }
        Spec::DbParameterGroup(s) => {
            set("family", Value::str(&s.family));
            set("description", Value::str(&s.description));
            set(
                "parameters",
                Value::map(s.parameters.iter().map(|(k, v)| (k.clone(), Value::str(v)))),
            );
        }
        Spec::DbInstance(s) => {
            set("identifier", Value::str(s.identifier.get_ref()));
            if let Some(g) = &s.parameter_group {
                set("parameter_group", reference(g.get_ref()));
            }
            set("engine", Value::str(s.engine.get_ref()));
            if let Some(v) = &s.engine_version {
                set("engine_version", Value::str(v));
            }
            set("instance_class", Value::str(&s.instance_class));
            set(
                "allocated_storage",
                Value::Int(*s.allocated_storage.get_ref()),
            );
            if let Some(t) = &s.storage_type {
                set("storage_type", Value::str(t));
            }
            set("subnet_group", reference(s.subnet_group.get_ref()));
            if let Some(groups) = &s.security_groups {
                set(
                    "security_groups",
                    Value::set(groups.iter().map(|r| reference(r.get_ref()))),
                );
            }
            set("multi_az", Value::Bool(s.multi_az));
            set(
                "backup_retention_days",
                Value::Int(*s.backup_retention_days.get_ref()),
            );
            set("deletion_protection", Value::Bool(s.deletion_protection));
            set("publicly_accessible", Value::Bool(s.publicly_accessible));
            set("master_username", Value::str(&s.master_username));
        }
        Spec::Alarm(s) => {
            set("namespace", Value::str(&s.namespace));
            set("metric", Value::str(&s.metric));
            let dimensions = s.dimensions.iter().map(|(k, v)| {
                let rendered =
                    interpolate::render(v.get_ref(), |a, attr| resolve.attribute(a, attr));
                (k.clone(), rendered.map_or(Value::Unknown, Value::Str))
            });
            set("dimensions", Value::map(dimensions));
            set("statistic", Value::str(s.statistic.get_ref()));
            set("period", Value::Int(*s.period.get_ref()));
            set(
                "evaluation_periods",
                Value::Int(*s.evaluation_periods.get_ref()),
            );
            set("threshold", Value::Decimal(threshold_text(s.threshold)));
            set("comparison", Value::str(s.comparison.get_ref()));
            set(
                "treat_missing_data",
                Value::str(s.treat_missing_data.get_ref()),
            );
            if let Some(d) = s.description.as_ref().filter(|d| !d.is_empty()) {
                set("description", Value::str(d));
            }
        }
        // Global, but homed in one region of the stack (`ops::home_dns`).
        Spec::DnsZone(s) => {
            set("name", regional_str(dns_name(s.name.get_ref())));
            set("home", Value::str(region));
        }
        Spec::DnsRecord(s) => {
            set("home", Value::str(region));
            set("zone", reference(s.zone.get_ref()));
            set("name", regional_str(dns_name(s.name.get_ref())));
            set("type", Value::str(s.record_type.get_ref()));
            if let Some(ttl) = &s.ttl {
                set("ttl", Value::Int(*ttl.get_ref()));
                let txt = s.record_type.get_ref() == "TXT";
                set(
                    "values",
                    Value::set(s.values.iter().map(|v| {
                        let v: &str = v.as_ref();
                        Value::str(if txt {
                            crate::model::txt::plain(v)
                        } else {
                            v.to_string()
                        })
                    })),
                );
            }
            if let Some(a) = s.alias.as_ref().and_then(|a| a.get_ref().address()) {
                // Compared without regard to case, as DNS does; zone ids shown
                // in AWS's upper case.
                let exported = |attr, case: fn(&str) -> String| {
                    resolve
                        .attribute(a, attr)
                        .map_or(Value::Unknown, |v| Value::Str(case(&v)))
                };
                set(
                    "alias",
                    Value::map([
                        ("dns_name", exported("dns_name", str::to_lowercase)),
                        ("zone_id", exported("zone_id", str::to_uppercase)),
                    ]),
                );
            }
        }
    }
    if r.address.kind != crate::model::Kind::DnsRecord {
        set("tags", tags(stack, r, resolve));
    }
    set("protect", Value::Bool(r.spec.common().protect));
    attrs
}

fn regional_str(v: Option<impl ToString>) -> Value {
    v.map_or(Value::Unknown, |v| Value::Str(v.to_string()))
}

fn tags(stack: &Stack, r: &Resource, resolve: &dyn Resolve) -> Value {
    let mut tags: std::collections::BTreeMap<String, Value> = stack
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), Value::str(v)))
        .collect();
    tags.insert(
        "Name".into(),
        Value::Str(format!("{}-{}", stack.name, r.address.name)),
    );
    for (k, v) in r.spec.common().tags {
        let rendered = interpolate::render(v.get_ref(), |a, attr| resolve.attribute(a, attr));
        tags.insert(k.clone(), rendered.map_or(Value::Unknown, Value::Str));
    }
    Value::Map(tags)
}

/// What a route may point at: its key in a route, and the prefix of its live ids.
pub const ROUTE_TARGETS: [(&str, &str); 5] = [
    ("gateway", "igw-"),
    ("nat_gateway", "nat-"),
    ("vpc_peering", "pcx-"),
    ("transit_gateway", "tgw-"),
    ("network_interface", "eni-"),
];

/// One route: a destination and one target, under the target's key.
pub fn route_value(cidr: &str, target: &str, id: Value) -> Value {
    Value::map([("cidr", Value::str(cidr)), (target, id)])
}

/// One security group rule: one protocol, one port range, one source.
pub fn rule_value(
    protocol: &str,
    ports: &str,
    source: (&str, Value),
    description: Option<&str>,
) -> Value {
    let mut m = std::collections::BTreeMap::from([
        ("protocol".to_string(), Value::str(protocol)),
        ("ports".to_string(), Value::str(ports)),
        (source.0.to_string(), source.1),
    ]);
    if let Some(d) = description.filter(|d| !d.is_empty()) {
        m.insert("description".into(), Value::str(d));
    }
    Value::Map(m)
}

/// A threshold as text, the same whether it came from a file or from AWS: `10`, `0.5`.
pub fn threshold_text(value: f64) -> String {
    format!("{value}")
}

/// What apply needs that a plan never compares or shows (see `Inputs`).
pub fn inputs(r: &Resource) -> crate::model::Inputs {
    let mut inputs = crate::model::Inputs::new();
    match &r.spec {
        Spec::Instance(s) => {
            if let Some(data) = &s.user_data {
                inputs.insert("user_data", data.clone());
            }
        }
        Spec::DbInstance(s) => {
            if let Ok(password) = std::env::var(s.master_password_env.get_ref()) {
                inputs.insert("master_password", password);
            }
            if s.apply_immediately {
                inputs.insert("apply_immediately", "true".into());
            }
        }
        _ => {}
    }
    inputs
}

/// When a database's modifications take effect, for the plan to say.
pub fn update_timing(r: &Resource) -> Option<&'static str> {
    match &r.spec {
        Spec::DbInstance(s) if s.apply_immediately => Some("applied immediately"),
        Spec::DbInstance(_) => Some(
            "applied in the next maintenance window; set apply_immediately = true to apply now",
        ),
        _ => None,
    }
}

/// Why `r` cannot be created now: an input it needs is missing (the password
/// variable is unset). Checked before apply changes anything.
pub fn missing_inputs(r: &Resource) -> Option<String> {
    match &r.spec {
        Spec::DbInstance(s) if std::env::var_os(s.master_password_env.get_ref()).is_none() => {
            Some(format!(
                "{} needs its master password in the environment variable {}, which is not set",
                r.address,
                s.master_password_env.get_ref()
            ))
        }
        _ => None,
    }
}

/// `observed` reduced to what `wanted` can be compared with: map attributes a
/// kind compares partially keep only the keys the stack sets, and attributes a
/// stack may leave to AWS (an engine version) are dropped when it does.
pub fn comparable(kind: crate::model::Kind, wanted: &Attrs, observed: &Attrs) -> Attrs {
    let mut out = observed.clone();
    out.retain(|name, _| !kind.compared_only_when_set(name) || wanted.contains_key(name));
    for (name, value) in out.iter_mut() {
        if !kind.partial_map(name) {
            continue;
        }
        let keys = wanted.get(name).and_then(Value::as_map);
        if let (Value::Map(m), Some(keys)) = (value, keys) {
            m.retain(|k, _| keys.contains_key(k));
        }
    }
    out
}

/// The attribute a listener's (`default_action`) or rule's (`action`) forward lives in.
pub fn action_attribute(kind: crate::model::Kind) -> Option<&'static str> {
    match kind {
        crate::model::Kind::Listener => Some("default_action"),
        crate::model::Kind::ListenerRule => Some("action"),
        _ => None,
    }
}

/// For a listener or rule whose forward a `blue_green` block owns, the live
/// weights and active colour are authoritative: while the live action forwards
/// only to the pair's colours, it is what is desired. `then` resolves the
/// colours as the live action names them (as observed), `now` as they are to
/// be written: a colour replaced since (a new target group, a new ARN) keeps
/// its weight on its replacement. Works on plan values (addresses) and apply
/// values (live ids) alike.
pub fn keep_live_colours(
    stack: &Stack,
    r: &Resource,
    wanted: &mut Attrs,
    observed: &Attrs,
    then: &dyn Resolve,
    now: &dyn Resolve,
) {
    let (Some(pair), Some(key)) = (
        stack.blue_green.get(&r.address),
        action_attribute(r.address.kind),
    ) else {
        return;
    };
    let colours = |resolve: &dyn Resolve| {
        [
            resolve.reference(&pair.blue, &r.address),
            resolve.reference(&pair.green, &r.address),
        ]
    };
    let (was, is) = (colours(then), colours(now));
    let Some(Value::Map(live)) = observed.get(key) else {
        return;
    };
    let Some(Value::List(targets)) = live.get("targets") else {
        return;
    };
    let forwards_to_colours = live.get("type") == Some(&Value::str("forward"))
        && targets.iter().all(|target| {
            target
                .as_map()
                .and_then(|t| t.get("target_group"))
                .is_some_and(|g| was.contains(g))
        });
    if !forwards_to_colours {
        return;
    }
    let moved = targets.iter().map(|target| {
        let mut target = target.clone();
        if let Value::Map(t) = &mut target {
            if let Some(i) = t
                .get("target_group")
                .and_then(|g| was.iter().position(|c| c == g))
            {
                t.insert("target_group".into(), is[i].clone());
            }
        }
        target
    });
    let mut kept = live.clone();
    kept.insert("targets".into(), Value::List(moved.collect()));
    wanted.insert(key.to_string(), Value::Map(kept));
}

pub fn health_check(
    path: &str,
    protocol: &str,
    port: &str,
    numbers: [i64; 4],
    matcher: &str,
) -> Value {
    let [interval, timeout, healthy, unhealthy] = numbers;
    Value::map([
        ("path", Value::str(path)),
        ("protocol", Value::str(protocol)),
        ("port", Value::str(port)),
        ("interval", Value::Int(interval)),
        ("timeout", Value::Int(timeout)),
        ("healthy_threshold", Value::Int(healthy)),
        ("unhealthy_threshold", Value::Int(unhealthy)),
        ("matcher", Value::str(matcher)),
    ])
}

/// A forward to weighted target groups, the one shape both plain and weighted forwards take.
pub fn forward(targets: impl IntoIterator<Item = (Value, i64)>) -> Value {
    Value::map([
        ("type", Value::str("forward")),
        (
            "targets",
            Value::set(
                targets
                    .into_iter()
                    .map(|(g, w)| Value::map([("target_group", g), ("weight", Value::Int(w))])),
            ),
        ),
    ])
}

pub fn fixed_response(status: &str, content_type: &str, body: Option<&str>) -> Value {
    let mut m = BTreeMap::from([
        ("type".to_string(), Value::str("fixed-response")),
        ("status".to_string(), Value::str(status)),
        ("content_type".to_string(), Value::str(content_type)),
    ]);
    if let Some(b) = body.filter(|b| !b.is_empty()) {
        m.insert("body".into(), Value::str(b));
    }
    Value::Map(m)
}

pub fn redirect(parts: [&str; 5], status: &str) -> Value {
    let [protocol, port, host, path, query] = parts;
    Value::map([
        ("type", Value::str("redirect")),
        ("protocol", Value::str(protocol)),
        ("port", Value::str(port)),
        ("host", Value::str(host)),
        ("path", Value::str(path)),
        ("query", Value::str(query)),
        ("status", Value::str(status)),
    ])
}

fn action(a: &ActionSpec, reference: &dyn Fn(&Reference) -> Value) -> Value {
    if let Some(f) = &a.forward {
        return match f.get_ref() {
            ForwardSpec::One(g) => forward([(reference(g), 1)]),
            ForwardSpec::Weighted(targets) => forward(
                targets
                    .iter()
                    .map(|t| (reference(t.target_group.get_ref()), t.weight)),
            ),
        };
    }
    if let Some(f) = &a.fixed_response {
        return fixed_response(&f.status.to_string(), &f.content_type, f.body.as_deref());
    }
    match &a.redirect {
        Some(r) => redirect(
            [
                r.protocol.as_deref().unwrap_or("#{protocol}"),
                r.port.as_deref().unwrap_or("#{port}"),
                r.host.as_deref().unwrap_or("#{host}"),
                r.path.as_deref().unwrap_or("/#{path}"),
                r.query.as_deref().unwrap_or("#{query}"),
            ],
            &r.status,
        ),
        None => Value::Unknown,
    }
}

pub fn conditions(path: &[String], host: &[String], header: Option<(&str, &[String])>) -> Value {
    let mut m = BTreeMap::new();
    let strings = |v: &[String]| Value::set(v.iter().map(Value::str));
    if !path.is_empty() {
        m.insert("path".to_string(), strings(path));
    }
    if !host.is_empty() {
        m.insert("host".to_string(), strings(host));
    }
    if let Some((name, values)) = header {
        m.insert(
            "header".to_string(),
            Value::map([("name", Value::str(name)), ("values", strings(values))]),
        );
    }
    Value::Map(m)
}

/// User data is compared through its digest, recorded in a tag at launch:
/// reading it back costs a call per instance, and it may hold secrets.
pub fn user_data_digest(data: &str) -> String {
    let digest = Sha256::digest(data.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The egress rule AWS gives every new group.
pub fn default_egress() -> Value {
    rule_value("-1", "all", ("cidr", Value::str("0.0.0.0/0")), None)
}

/// Canonical ports text from AWS's protocol and port numbers: `80`, `8000-8100`,
/// `all`, or `type:code` for ICMP.
pub fn ports_text(protocol: &str, from: Option<i32>, to: Option<i32>) -> String {
    match (protocol, from, to) {
        ("-1", _, _) => "all".into(),
        ("icmp", f, t) => format!("{}:{}", f.unwrap_or(-1), t.unwrap_or(-1)),
        (_, Some(f), Some(t)) if f == t => f.to_string(),
        (_, Some(f), Some(t)) => format!("{f}-{t}"),
        _ => "all".into(),
    }
}

/// The inverse of `ports_text`: AWS's from and to port numbers.
pub fn port_numbers(ports: &str) -> (Option<i32>, Option<i32>) {
    if ports == "all" {
        return (None, None);
    }
    let (from, to) = ports
        .split_once(':')
        .or_else(|| ports.split_once('-'))
        .unwrap_or((ports, ports));
    (from.parse().ok(), to.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_round_trip() {
        for (protocol, from, to) in [
            ("tcp", 80, 80),
            ("udp", 8000, 8100),
            ("icmp", -1, -1),
            ("icmp", 8, 0),
        ] {
            let text = ports_text(protocol, Some(from), Some(to));
            assert_eq!(port_numbers(&text), (Some(from), Some(to)), "{text}");
        }
        assert_eq!(ports_text("-1", None, None), "all");
        assert_eq!(port_numbers("all"), (None, None));
    }
}
