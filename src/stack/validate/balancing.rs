//! The checks of the balancing kinds' own values: load balancers, target groups, listeners and rules.

use super::*;
use crate::stack::spec::{ListenerRuleSpec, ListenerSpec, LoadBalancerSpec, TargetGroupSpec};

impl Checker {
    pub(super) fn load_balancer(&mut self, stack: &Stack, r: &Resource, s: &LoadBalancerSpec) {
        self.one_of(
            s.scheme.span(),
            "scheme",
            s.scheme.get_ref(),
            &["internet-facing", "internal"],
        );
        // Subnets given by live id are taken to be in zones of their own.
        let too_few = r.regions.iter().find(|region| {
            let mut zones = BTreeSet::new();
            let mut unknown = 0;
            for subnet in &s.subnets {
                let zone = subnet
                    .get_ref()
                    .address()
                    .and_then(|a| stack.resources.get(a))
                    .and_then(|declared| match &declared.spec {
                        Spec::Subnet(sub) => sub.zone.get_ref().get(region),
                        _ => None,
                    });
                match zone {
                    Some(z) if z.len() == 1 => zones.insert(format!("{region}{z}")),
                    Some(z) => zones.insert(z.clone()),
                    None => {
                        unknown += 1;
                        true
                    }
                };
            }
            zones.len() + unknown < 2
        });
        if let Some(region) = too_few {
            self.error(
                r.span.clone(),
                format!(
                    "{}: an application load balancer needs subnets in at least two zones{}",
                    r.address,
                    if s.subnets.len() < 2 {
                        String::new()
                    } else {
                        format!(" (in {region} its subnets are all in one)")
                    }
                ),
            );
        }
        if let Some(t) = &s.idle_timeout {
            self.in_range(t, "idle_timeout", 1..=4000);
        }
    }

    pub(super) fn target_group(&mut self, _stack: &Stack, _r: &Resource, s: &TargetGroupSpec) {
        self.one_of(
            s.protocol.span(),
            "target group protocol",
            s.protocol.get_ref(),
            &["HTTP", "HTTPS"],
        );
        self.one_of(
            s.target_type.span(),
            "target type",
            s.target_type.get_ref(),
            &["instance", "ip", "lambda"],
        );
        self.in_range(&s.port, "port", 1..=65535);
    }

    pub(super) fn listener(&mut self, _stack: &Stack, r: &Resource, s: &ListenerSpec) {
        self.one_of(
            s.protocol.span(),
            "listener protocol",
            s.protocol.get_ref(),
            &["HTTP", "HTTPS"],
        );
        self.in_range(&s.port, "port", 1..=65535);
        if s.protocol.get_ref() == "HTTPS" && s.certificate.is_none() {
            self.error(
                s.protocol.span(),
                format!(
                    "{}: an HTTPS listener needs a `certificate` (ACM ARN)",
                    r.address
                ),
            );
        }
        self.action(&s.default_action);
    }

    pub(super) fn listener_rule(&mut self, stack: &Stack, r: &Resource, s: &ListenerRuleSpec) {
        self.in_range(&s.priority, "priority", 1..=50000);
        let c = s.conditions.get_ref();
        if c.path.is_empty() && c.host.is_empty() && c.header.is_none() {
            self.error(
                s.conditions.span(),
                "a rule needs at least one condition: path, host or header",
            );
        }
        self.action(&s.action);
        let clash = stack.resources.values().find(|o| match &o.spec {
            Spec::ListenerRule(other) => {
                o.address < r.address
                    && other.listener.get_ref() == s.listener.get_ref()
                    && other.priority.get_ref() == s.priority.get_ref()
            }
            _ => false,
        });
        if let Some(other) = clash {
            self.error(
                s.priority.span(),
                format!(
                    "{} has the same priority as {} on the same listener",
                    r.address, other.address
                ),
            );
        }
    }
}
