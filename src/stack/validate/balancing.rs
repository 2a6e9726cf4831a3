//! Load balancers, target groups, listeners and rules: their blocks (the serde
//! types a stack file is read into), references and own checks.

use super::*;
use crate::stack::spec::{resource_spec, Reference, Spanned};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, IntoDeserializer, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

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

resource_spec!(
    /// `[load_balancer.NAME]`: an application load balancer. See docs/kinds.md.
    LoadBalancerSpec {
    /// `internet-facing` (the default) or `internal`.
    #[serde(default = "internet_facing")]
    scheme: Spanned<String>,
    /// Its subnets: two zones at least.
    subnets: Vec<Spanned<Reference>>,
    /// Its security groups.
    #[serde(default)]
    security_groups: Vec<Spanned<Reference>>,
    /// Seconds; AWS's default is 60.
    idle_timeout: Option<Spanned<i64>>,
    /// Further load balancer attributes by AWS key, e.g. `"routing.http2.enabled" = "false"`.
    #[serde(default)]
    attributes: BTreeMap<String, String>,
});

fn internet_facing() -> Spanned<String> {
    Spanned::new(0..0, "internet-facing".to_string())
}

resource_spec!(
    /// `[target_group.NAME]`: a target group. See docs/kinds.md.
    TargetGroupSpec {
    /// Its VPC; a change replaces it.
    vpc: Spanned<Reference>,
    /// `HTTP` (default) or `HTTPS`; a change replaces it.
    #[serde(default = "http")]
    protocol: Spanned<String>,
    /// The targets' port; a change replaces it.
    port: Spanned<i64>,
    /// `instance` (the default), `ip` or `lambda`.
    #[serde(default = "instance")]
    target_type: Spanned<String>,
    /// How its targets are judged; unset parts take AWS's defaults.
    #[serde(default)]
    health_check: HealthCheckSpec,
});

fn http() -> Spanned<String> {
    Spanned::new(0..0, "HTTP".to_string())
}

fn instance() -> Spanned<String> {
    Spanned::new(0..0, "instance".to_string())
}

/// Unset fields take AWS's defaults, so that leaving them out is not drift.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    /// The path asked (default `/`).
    pub path: Option<String>,
    /// `HTTP` or `HTTPS` (default: the group's).
    pub protocol: Option<String>,
    /// A port, or `traffic-port` (default).
    pub port: Option<String>,
    /// Seconds between checks (default 30).
    pub interval: Option<i64>,
    /// Seconds a check may take (default 5).
    pub timeout: Option<i64>,
    /// Checks passed in a row to be healthy (default 5).
    pub healthy_threshold: Option<i64>,
    /// Checks failed in a row to be unhealthy (default 2).
    pub unhealthy_threshold: Option<i64>,
    /// HTTP codes, e.g. `"200"` or `"200-299"`.
    pub matcher: Option<String>,
}

resource_spec!(
    /// `[listener.NAME]`: a load balancer's listener. See docs/kinds.md.
    ListenerSpec {
    /// Its load balancer; a new one replaces the listener.
    load_balancer: Spanned<Reference>,
    /// The port it listens on.
    port: Spanned<i64>,
    /// `HTTP` or `HTTPS`.
    #[serde(default = "http")]
    protocol: Spanned<String>,
    /// The default certificate of an HTTPS listener: `acm_certificate.site`,
    /// or the ARN of one made elsewhere.
    certificate: Option<Spanned<Reference>>,
    /// More certificates, chosen by SNI.
    #[serde(default)]
    certificates: Vec<Spanned<Reference>>,
    /// An ELB security policy; AWS's default when left out.
    ssl_policy: Option<Spanned<String>>,
    /// What it does with a request no rule matches.
    default_action: Spanned<ActionSpec>,
});

resource_spec!(
    /// `[listener_rule.NAME]`: a rule of a listener. See docs/kinds.md.
    ListenerRuleSpec {
    /// Its listener; a new one replaces the rule.
    listener: Spanned<Reference>,
    /// Its priority, 1 to 50000 (lower first); changed in place.
    priority: Spanned<i64>,
    /// What a request must match.
    conditions: Spanned<ConditionsSpec>,
    /// What it does with a request that matches.
    action: Spanned<ActionSpec>,
});

/// What a listener or rule does with a request: exactly one of the three.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// Forward to a target group, or to weighted target groups.
    pub forward: Option<Spanned<ForwardSpec>>,
    /// A forward's group stickiness: a client stays on the target group it
    /// first got for this long (`"1h"`; 1 s to 7 days).
    pub stickiness: Option<Spanned<String>>,
    /// Answer with a fixed response.
    pub fixed_response: Option<FixedResponseSpec>,
    /// Redirect.
    pub redirect: Option<RedirectSpec>,
}

/// `forward = "target_group.blue"`, or weighted:
/// `forward = [{ target_group = "target_group.blue", weight = 90 }, …]`.
#[derive(Debug, Clone)]
pub enum ForwardSpec {
    One(Reference),
    Weighted(Vec<WeightedTarget>),
}

impl JsonSchema for ForwardSpec {
    fn schema_name() -> Cow<'static, str> {
        "Forward".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let weighted = generator.subschema_for::<Vec<WeightedTarget>>();
        json_schema!({
            "description": "A target group, or weighted target groups.",
            "anyOf": [{ "$ref": "#/$defs/Reference" }, weighted],
            "examples": [
                "target_group.blue",
                [{ "target_group": "target_group.blue", "weight": 90 },
                 { "target_group": "target_group.green", "weight": 10 }]
            ]
        })
    }
}

// By hand rather than `untagged`: an untagged enum buffers its input, which
// loses the spans that errors point at.
impl<'de> Deserialize<'de> for ForwardSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ForwardVisitor;

        impl<'de> Visitor<'de> for ForwardVisitor {
            type Value = ForwardSpec;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a target group reference, or a list of { target_group, weight }")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Reference::deserialize(v.into_deserializer()).map(ForwardSpec::One)
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut targets = Vec::new();
                while let Some(t) = seq.next_element::<WeightedTarget>()? {
                    targets.push(t);
                }
                Ok(ForwardSpec::Weighted(targets))
            }
        }

        d.deserialize_any(ForwardVisitor)
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightedTarget {
    /// The target group.
    pub target_group: Spanned<Reference>,
    /// Its weight, 0 to 999.
    pub weight: i64,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixedResponseSpec {
    /// The status code, e.g. `503`.
    pub status: i64,
    /// The content type (default `text/plain`).
    #[serde(default = "text_plain")]
    pub content_type: String,
    /// The body.
    pub body: Option<String>,
}

fn text_plain() -> String {
    crate::model::shapes::FIXED_RESPONSE_CONTENT_TYPE.to_string()
}

/// Unset parts keep the request's own (`#{host}` …), as AWS does.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedirectSpec {
    /// `HTTP` or `HTTPS` (default: the request's).
    pub protocol: Option<String>,
    /// The port (default: the request's).
    pub port: Option<String>,
    /// The host (default: the request's).
    pub host: Option<String>,
    /// The path (default: the request's).
    pub path: Option<String>,
    /// The query (default: the request's).
    pub query: Option<String>,
    /// `HTTP_301` (the default) or `HTTP_302`.
    #[serde(default = "http_301")]
    pub status: String,
}

fn http_301() -> String {
    "HTTP_301".to_string()
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionsSpec {
    /// Path patterns (`*` and `?`).
    #[serde(default)]
    pub path: Vec<String>,
    /// Host patterns.
    #[serde(default)]
    pub host: Vec<String>,
    /// A header and the values it may have.
    pub header: Option<HeaderCondition>,
    /// `query = [{ key = "version", value = "v2" }, { value = "beta" }]`.
    #[serde(default)]
    pub query: Vec<Spanned<QueryCondition>>,
    /// `method = ["GET", "HEAD"]`.
    #[serde(default)]
    pub method: Vec<Spanned<String>>,
    /// `source_ip = ["10.0.0.0/8"]`: IPv4 or IPv6 blocks.
    #[serde(default)]
    pub source_ip: Vec<Spanned<String>>,
}

/// One query string pair; without `key`, the value of any key.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryCondition {
    /// The query key (none: any key).
    pub key: Option<String>,
    /// The value.
    pub value: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderCondition {
    /// The header's name.
    pub name: String,
    /// Values it may have (patterns).
    pub values: Vec<String>,
}

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
        let port = format!(
            "listener (port {} of {})",
            s.port.get_ref(),
            named(r, s.load_balancer.get_ref())
        );
        self.identity(r, port, s.port.span());
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
        let values = c.path.len()
            + c.host.len()
            + c.header.as_ref().map_or(0, |h| h.values.len())
            + c.query.len()
            + c.method.len()
            + c.source_ip.len();
        if values == 0 && c.header.is_none() {
            self.error(
                s.conditions.span(),
                "a rule needs at least one condition: path, host, header, query, method or source_ip",
            );
        }
        // ELB's quota: "condition values per rule: 5".
        if values > 5 {
            self.error(
                s.conditions.span(),
                format!(
                    "{}: {values} condition values; a rule takes at most 5",
                    r.address
                ),
            )
            .help = Some("split it into rules, or use wildcards (`/api/*`)".into());
        }
        for method in &c.method {
            let m = method.get_ref();
            let ok = !m.is_empty()
                && m.len() <= 40
                && m.chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch == '_' || ch == '-');
            if !ok {
                self.error(
                    method.span(),
                    format!("{}: `{m}` is not an HTTP method ELB takes", r.address),
                )
                .help = Some("up to 40 of A-Z, `_` and `-`: GET, POST, …".into());
            }
        }
        for block in &c.source_ip {
            if block.get_ref().parse::<ipnet::IpNet>().is_err() {
                self.error(
                    block.span(),
                    format!("{}: `{}` is not a CIDR block", r.address, block.get_ref()),
                )
                .help = Some("an IPv4 or IPv6 block, such as \"10.0.0.0/8\"".into());
            }
        }
        for pair in &c.query {
            if pair.get_ref().value.is_empty() {
                self.error(
                    pair.span(),
                    format!("{}: a query condition needs a `value`", r.address),
                )
                .help = Some("`*` matches any value".into());
            }
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

impl LoadBalancerSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        self.subnets
            .iter()
            .map(|r| field("subnets", r, Kind::Subnet))
            .chain(
                self.security_groups
                    .iter()
                    .map(|r| field("security_groups", r, Kind::SecurityGroup)),
            )
            .collect()
    }
}

impl TargetGroupSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        vec![field("vpc", &self.vpc, Kind::Vpc)]
    }
}

impl ListenerSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        {
            std::iter::once(field(
                "load_balancer",
                &self.load_balancer,
                Kind::LoadBalancer,
            ))
            .chain(
                self.certificate
                    .iter()
                    .map(|r| field("certificate", r, Kind::AcmCertificate)),
            )
            .chain(
                self.certificates
                    .iter()
                    .map(|r| field("certificates", r, Kind::AcmCertificate)),
            )
            .chain(
                action_targets(self.default_action.get_ref())
                    .iter()
                    .map(|r| field("default_action", r, Kind::TargetGroup)),
            )
            .collect()
        }
    }
}

impl ListenerRuleSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        {
            std::iter::once(field("listener", &self.listener, Kind::Listener))
                .chain(
                    action_targets(self.action.get_ref())
                        .iter()
                        .map(|r| field("action", r, Kind::TargetGroup)),
                )
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// A rule on a listener, with `conditions` and `action` as given.
    fn rule(conditions: &str, action: &str) -> Result<crate::stack::Stack, String> {
        let text = format!(
            "[stack]\nname = \"s\"\nregions = [\"us-west-2\"]\n\n[load_balancer.app]\nsubnets = [\"subnet-0a\", \"subnet-0b\"]\n\n\
             [target_group.blue]\nvpc = \"vpc-0a\"\nport = 80\n\n\
             [listener.web]\nload_balancer = \"load_balancer.app\"\nport = 80\ndefault_action = {{ fixed_response = {{ status = 404 }} }}\n\n\
             [listener_rule.app]\nlistener = \"listener.web\"\npriority = 1\nconditions = {conditions}\naction = {action}\n"
        );
        crate::stack::parse(Path::new("s.toml"), text).map_err(|e| e.to_string())
    }

    const FORWARD: &str = "{ forward = \"target_group.blue\" }";

    #[test]
    fn query_method_and_source_ip_conditions_load() {
        rule(
            "{ query = [{ key = \"v\", value = \"2\" }, { value = \"beta\" }], method = [\"GET\"], source_ip = [\"10.0.0.0/8\", \"2001:db8::/32\"] }",
            "{ forward = \"target_group.blue\", stickiness = \"1h\" }",
        )
        .expect("loads");
    }

    #[test]
    fn condition_mistakes_are_located() {
        let e = rule("{ method = [\"get\"] }", FORWARD).unwrap_err();
        assert!(
            e.contains("s.toml:") && e.contains("`get` is not an HTTP method ELB takes"),
            "{e}"
        );
        let e = rule("{ source_ip = [\"10.0.0.300/8\"] }", FORWARD).unwrap_err();
        assert!(e.contains("`10.0.0.300/8` is not a CIDR block"), "{e}");
        let e = rule("{ query = [{ key = \"v\", value = \"\" }] }", FORWARD).unwrap_err();
        assert!(e.contains("a query condition needs a `value`"), "{e}");
        let e = rule(
            "{ path = [\"/a\", \"/b\", \"/c\"], method = [\"GET\", \"PUT\", \"POST\"] }",
            FORWARD,
        )
        .unwrap_err();
        assert!(
            e.contains("6 condition values; a rule takes at most 5"),
            "{e}"
        );
        let e = rule("{}", FORWARD).unwrap_err();
        assert!(e.contains("a rule needs at least one condition"), "{e}");
    }

    #[test]
    fn stickiness_mistakes_are_located() {
        let paths = "{ path = [\"/*\"] }";
        let e = rule(
            paths,
            "{ fixed_response = { status = 200 }, stickiness = \"1h\" }",
        )
        .unwrap_err();
        assert!(e.contains("`stickiness` is for a forward"), "{e}");
        let e = rule(
            paths,
            "{ forward = \"target_group.blue\", stickiness = \"8d\" }",
        )
        .unwrap_err();
        assert!(e.contains("out of range") && e.contains("7 days"), "{e}");
        let e = rule(
            paths,
            "{ forward = \"target_group.blue\", stickiness = \"soon\" }",
        )
        .unwrap_err();
        assert!(e.contains("`soon` is not a duration"), "{e}");
    }
}
