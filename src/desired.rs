//! What a resource should look like in one region, as comparable attributes.
//!
//! The same function serves plan and apply: a plan resolves references to
//! addresses (`vpc.main`), apply to the live ids it has just created.

use crate::model::shapes::{
    default_egress, route_value, rule_value, threshold_text, Action, Conditions, HealthCheck,
    Redirect, Target, IDLE_TIMEOUT,
};
use crate::model::{Address, Attrs, Value};
use crate::stack::interpolate;
use crate::stack::spec::{ActionSpec, ForwardSpec, Reference, RuleSpec};
use crate::stack::{dns_name, rule_ports, zone_name, Resource, Spec, Stack};
use sha2::{Digest, Sha256};

pub trait Resolve {
    /// The value of a reference made by `own`; `Value::Unknown` when not knowable yet.
    fn reference(&self, reference: &Reference, own: &Address) -> Value;
    /// A live attribute of a resource, for `${kind.name.attr}`; `None` when not known yet.
    fn attribute(&self, target: &Address, attribute: &str) -> Option<String>;
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
                Value::Int(
                    s.idle_timeout
                        .as_ref()
                        .map_or(IDLE_TIMEOUT, |t| *t.get_ref()),
                ),
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
            set("health_check", {
                let d = HealthCheck::defaults(s.protocol.get_ref());
                HealthCheck {
                    path: h.path.clone().unwrap_or(d.path),
                    protocol: h.protocol.clone().unwrap_or(d.protocol),
                    port: h.port.clone().unwrap_or(d.port),
                    interval: h.interval.unwrap_or(d.interval),
                    timeout: h.timeout.unwrap_or(d.timeout),
                    healthy_threshold: h.healthy_threshold.unwrap_or(d.healthy_threshold),
                    unhealthy_threshold: h.unhealthy_threshold.unwrap_or(d.unhealthy_threshold),
                    matcher: h.matcher.clone().unwrap_or(d.matcher),
                }
                .to_value()
            });
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
            let conditions = Conditions {
                path: c.path.clone(),
                host: c.host.clone(),
                header: c
                    .header
                    .as_ref()
                    .map(|h| (h.name.clone(), h.values.clone())),
            };
            set("conditions", conditions.to_value());
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
    let Some(Action::Forward(targets)) = observed.get(key).and_then(Action::parse) else {
        return;
    };
    if !targets.iter().all(|t| was.contains(&t.target_group)) {
        return;
    }
    let moved = targets.into_iter().map(|mut t| {
        if let Some(i) = was.iter().position(|c| *c == t.target_group) {
            t.target_group = is[i].clone();
        }
        t
    });
    wanted.insert(key.to_string(), Action::Forward(moved.collect()).to_value());
}

fn action(a: &ActionSpec, reference: &dyn Fn(&Reference) -> Value) -> Value {
    let target = |g: &Reference, weight| Target {
        target_group: reference(g),
        weight,
    };
    let action = if let Some(f) = &a.forward {
        Action::Forward(match f.get_ref() {
            ForwardSpec::One(g) => vec![target(g, 1)],
            ForwardSpec::Weighted(targets) => targets
                .iter()
                .map(|t| target(t.target_group.get_ref(), t.weight))
                .collect(),
        })
    } else if let Some(f) = &a.fixed_response {
        Action::FixedResponse {
            status: f.status.to_string(),
            content_type: f.content_type.clone(),
            body: f.body.clone(),
        }
    } else if let Some(r) = &a.redirect {
        Action::Redirect(Redirect::new(
            [&r.protocol, &r.port, &r.host, &r.path, &r.query].map(|p| p.as_deref()),
            Some(&r.status),
        ))
    } else {
        return Value::Unknown;
    };
    action.to_value()
}

/// User data is compared through its digest, recorded in a tag at launch:
/// reading it back costs a call per instance, and it may hold secrets.
pub fn user_data_digest(data: &str) -> String {
    let digest = Sha256::digest(data.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}
