//! The checks of the balancing kinds' own values: load balancers, target groups, listeners and rules.

use super::*;
use crate::stack::spec::{ListenerRuleSpec, ListenerSpec, LoadBalancerSpec, TargetGroupSpec};

/// The security policies ELB offers an HTTPS listener
/// (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html>).
const SSL_POLICIES: &[&str] = &[
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-1-2021-06",
    "ELBSecurityPolicy-TLS13-1-0-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-0-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    "ELBSecurityPolicy-FS-1-2-2019-08",
    "ELBSecurityPolicy-FS-1-1-2019-08",
    "ELBSecurityPolicy-FS-2018-06",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-1-2017-01",
    "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-TLS-1-0-2015-04",
    "ELBSecurityPolicy-2015-05",
];

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
        let https = s.protocol.get_ref() == "HTTPS";
        if https && s.certificate.is_none() {
            self.error(
                s.protocol.span(),
                format!("{}: an HTTPS listener needs a `certificate`", r.address),
            )
            .help = Some(
                "for example: certificate = \"acm_certificate.site\", or the ARN of one made elsewhere"
                    .into(),
            );
        }
        if !https {
            let tls_only = [
                s.certificate.as_ref().map(|c| ("certificate", c.span())),
                s.certificates.first().map(|c| ("certificates", c.span())),
                s.ssl_policy.as_ref().map(|p| ("ssl_policy", p.span())),
            ];
            for (key, span) in tls_only.into_iter().flatten() {
                self.error(
                    span,
                    format!(
                        "{}: `{key}` is for an HTTPS listener, and this one is {}",
                        r.address,
                        s.protocol.get_ref()
                    ),
                )
                .help = Some("add `protocol = \"HTTPS\"`, or remove it".into());
            }
        }
        if let Some(policy) = &s.ssl_policy {
            if !SSL_POLICIES.contains(&policy.get_ref().as_str()) {
                self.error(
                    policy.span(),
                    format!("{}: unknown SSL policy `{}`", r.address, policy.get_ref()),
                )
                .help = Some(format!(
                    "AWS's policies: {} (`aws elbv2 describe-ssl-policies` lists those of your region)",
                    SSL_POLICIES.join(", ")
                ));
            }
        }
        if let Some(default) = &s.certificate {
            if let Some(again) = s
                .certificates
                .iter()
                .find(|c| c.get_ref() == default.get_ref())
            {
                self.error(
                    again.span(),
                    format!(
                        "{}: the default certificate is served anyway; list only others in `certificates`",
                        r.address
                    ),
                );
            }
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
