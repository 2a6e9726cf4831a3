//! What a resource should look like in one region, as comparable attributes.
//!
//! The same function serves plan and apply: a plan resolves references to
//! addresses (`vpc.main`), apply to the live ids it has just created.

use crate::model::{Address, Attrs, Value};
use crate::stack::interpolate;
use crate::stack::spec::{Reference, RuleSpec};
use crate::stack::{rule_ports, zone_name, Resource, Spec, Stack};

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
                    route_value(&r.cidr.to_string(), reference(r.gateway.get_ref()))
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
    }
    set("tags", tags(stack, r, resolve));
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

pub fn route_value(cidr: &str, gateway: Value) -> Value {
    Value::map([("cidr", Value::str(cidr)), ("gateway", gateway)])
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
