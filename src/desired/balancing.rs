//! The desired attributes of the balancing kinds: Load balancers, target groups, listeners and listener rules.

use super::*;
use crate::stack::spec::{ListenerRuleSpec, ListenerSpec, LoadBalancerSpec, TargetGroupSpec};

pub(super) fn load_balancer(c: &mut Ctx, s: &LoadBalancerSpec) {
    c.set("scheme", Value::str(s.scheme.get_ref()));
    c.set_subnets_vpc(&s.subnets);
    c.set(
        "subnets",
        Value::set(s.subnets.iter().map(|r| c.reference(r.get_ref()))),
    );
    c.set(
        "security_groups",
        Value::set(s.security_groups.iter().map(|r| c.reference(r.get_ref()))),
    );
    c.set(
        "idle_timeout",
        Value::Int(
            s.idle_timeout
                .as_ref()
                .map_or(IDLE_TIMEOUT, |t| *t.get_ref()),
        ),
    );
    c.set(
        "attributes",
        Value::map(s.attributes.iter().map(|(k, v)| (k.clone(), Value::str(v)))),
    );
}

pub(super) fn target_group(c: &mut Ctx, s: &TargetGroupSpec) {
    c.set("vpc", c.reference(s.vpc.get_ref()));
    c.set("protocol", Value::str(s.protocol.get_ref()));
    c.set("port", Value::Int(*s.port.get_ref()));
    c.set("target_type", Value::str(s.target_type.get_ref()));
    let h = &s.health_check;
    c.set("health_check", {
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

pub(super) fn listener(c: &mut Ctx, s: &ListenerSpec) {
    c.set("load_balancer", c.reference(s.load_balancer.get_ref()));
    c.set("port", Value::Int(*s.port.get_ref()));
    c.set("protocol", Value::str(s.protocol.get_ref()));
    if let Some(certificate) = &s.certificate {
        c.set("certificate", c.reference(certificate.get_ref()));
    }
    if s.protocol.get_ref() == "HTTPS" {
        c.set(
            "certificates",
            Value::set(s.certificates.iter().map(|r| c.reference(r.get_ref()))),
        );
    }
    if let Some(policy) = &s.ssl_policy {
        c.set("ssl_policy", Value::str(policy.get_ref()));
    }
    c.set(
        "default_action",
        action(s.default_action.get_ref(), &|r: &Reference| c.reference(r)),
    );
}

pub(super) fn listener_rule(c: &mut Ctx, s: &ListenerRuleSpec) {
    c.set("listener", c.reference(s.listener.get_ref()));
    c.set("priority", Value::Int(*s.priority.get_ref()));
    let when = s.conditions.get_ref();
    let conditions = Conditions {
        path: when.path.clone(),
        host: when.host.clone(),
        header: when
            .header
            .as_ref()
            .map(|h| (h.name.clone(), h.values.clone())),
        query: when
            .query
            .iter()
            .map(|q| (q.get_ref().key.clone(), q.get_ref().value.clone()))
            .collect(),
        method: when.method.iter().map(|m| m.get_ref().clone()).collect(),
        source_ip: when.source_ip.iter().map(|c| c.get_ref().clone()).collect(),
    };
    c.set("conditions", conditions.to_value());
    c.set(
        "action",
        action(s.action.get_ref(), &|r: &Reference| c.reference(r)),
    );
}

no_inputs!(
    LoadBalancerSpec,
    TargetGroupSpec,
    ListenerSpec,
    ListenerRuleSpec
);
