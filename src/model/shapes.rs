//! The structured attribute values: load balancer actions (forwards with
//! weights, fixed responses, redirects), rule conditions, health checks,
//! routes and security group rules. Each has one writer (`to_value`) and one
//! reader (`parse`), shared by `desired` (from the stack file) and `aws` (from
//! and to the SDK), and its defaults written once.

use super::Value;
use std::collections::BTreeMap;

/// A load balancer's idle timeout when the stack does not set one (AWS's own default).
pub const IDLE_TIMEOUT: i64 = 60;
/// A fixed response's content type when the stack does not set one.
pub const FIXED_RESPONSE_CONTENT_TYPE: &str = "text/plain";

/// An ACM certificate ready to serve: the status every certificate block wants.
pub const ISSUED: &str = "ISSUED";

/// A target group's health check, every field set (AWS's defaults where the stack is silent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    pub path: String,
    pub protocol: String,
    pub port: String,
    pub interval: i64,
    pub timeout: i64,
    pub healthy_threshold: i64,
    pub unhealthy_threshold: i64,
    pub matcher: String,
}

impl HealthCheck {
    /// AWS's defaults for a group of `protocol` (the check uses the group's protocol).
    pub fn defaults(protocol: &str) -> HealthCheck {
        HealthCheck {
            path: "/".into(),
            protocol: protocol.into(),
            port: "traffic-port".into(),
            interval: 30,
            timeout: 5,
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: "200".into(),
        }
    }

    pub fn to_value(&self) -> Value {
        Value::map([
            ("path", Value::str(&self.path)),
            ("protocol", Value::str(&self.protocol)),
            ("port", Value::str(&self.port)),
            ("interval", Value::Int(self.interval)),
            ("timeout", Value::Int(self.timeout)),
            ("healthy_threshold", Value::Int(self.healthy_threshold)),
            ("unhealthy_threshold", Value::Int(self.unhealthy_threshold)),
            ("matcher", Value::str(&self.matcher)),
        ])
    }

    /// The check a `health_check` value describes; AWS's defaults for what it lacks.
    pub fn parse(value: &Value) -> HealthCheck {
        let empty = BTreeMap::new();
        let m = value.as_map().unwrap_or(&empty);
        let text = |k: &str, default: String| field(m, k).map_or(default, str::to_string);
        let number = |k: &str, default: i64| match m.get(k) {
            Some(Value::Int(i)) => *i,
            _ => default,
        };
        let d = HealthCheck::defaults(field(m, "protocol").unwrap_or("HTTP"));
        HealthCheck {
            path: text("path", d.path),
            protocol: d.protocol,
            port: text("port", d.port),
            interval: number("interval", d.interval),
            timeout: number("timeout", d.timeout),
            healthy_threshold: number("healthy_threshold", d.healthy_threshold),
            unhealthy_threshold: number("unhealthy_threshold", d.unhealthy_threshold),
            matcher: text("matcher", d.matcher),
        }
    }
}

/// A group's share of a forward, in percent (a plain forward to one group
/// carries weight 1: that is 100 %). `id` as the targets name it.
pub fn share(targets: &[Target], id: &str) -> i64 {
    let total: i64 = targets.iter().map(|t| t.weight).sum();
    let weight: i64 = targets
        .iter()
        .filter(|t| t.target_group.as_str() == Some(id))
        .map(|t| t.weight)
        .sum();
    if total == 0 {
        0
    } else {
        (weight * 100 + total / 2) / total
    }
}

/// One target group of a forward and its weight. `target_group` is an address
/// in a plan, a live ARN in apply and discovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub target_group: Value,
    pub weight: i64,
}

/// Where a redirect sends a request; `#{…}` keeps that part of the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    pub protocol: String,
    pub port: String,
    pub host: String,
    pub path: String,
    pub query: String,
    pub status: String,
}

impl Redirect {
    /// A redirect with AWS's defaults for the parts not given.
    pub fn new(parts: [Option<&str>; 5], status: Option<&str>) -> Redirect {
        let [protocol, port, host, path, query] = parts;
        let part = |p: Option<&str>, default: &str| p.unwrap_or(default).to_string();
        Redirect {
            protocol: part(protocol, "#{protocol}"),
            port: part(port, "#{port}"),
            host: part(host, "#{host}"),
            path: part(path, "/#{path}"),
            query: part(query, "#{query}"),
            status: part(status, "HTTP_301"),
        }
    }
}

/// What a listener (its default action) or a listener rule does with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// To weighted target groups: the one shape plain and weighted forwards
    /// take; `stickiness` in seconds keeps a client on the group it got
    /// first (`None`: off).
    Forward {
        targets: Vec<Target>,
        stickiness: Option<i64>,
    },
    FixedResponse {
        status: String,
        content_type: String,
        body: Option<String>,
    },
    Redirect(Redirect),
    /// A type reconcile does not manage (authentication), as AWS names it.
    Other(String),
}

impl Action {
    pub fn to_value(&self) -> Value {
        match self {
            Action::Forward {
                targets,
                stickiness,
            } => {
                let mut m = BTreeMap::from([
                    ("type".to_string(), Value::str("forward")),
                    (
                        "targets".to_string(),
                        Value::set(targets.iter().map(|t| {
                            Value::map([
                                ("target_group", t.target_group.clone()),
                                ("weight", Value::Int(t.weight)),
                            ])
                        })),
                    ),
                ]);
                if let Some(seconds) = stickiness {
                    m.insert("stickiness".into(), Value::Int(*seconds));
                }
                Value::Map(m)
            }
            Action::FixedResponse {
                status,
                content_type,
                body,
            } => {
                let mut m = BTreeMap::from([
                    ("type".to_string(), Value::str("fixed-response")),
                    ("status".to_string(), Value::str(status)),
                    ("content_type".to_string(), Value::str(content_type)),
                ]);
                if let Some(b) = body.as_deref().filter(|b| !b.is_empty()) {
                    m.insert("body".into(), Value::str(b));
                }
                Value::Map(m)
            }
            Action::Redirect(r) => Value::map([
                ("type", Value::str("redirect")),
                ("protocol", Value::str(&r.protocol)),
                ("port", Value::str(&r.port)),
                ("host", Value::str(&r.host)),
                ("path", Value::str(&r.path)),
                ("query", Value::str(&r.query)),
                ("status", Value::str(&r.status)),
            ]),
            Action::Other(kind) => Value::map([("type", Value::str(kind))]),
        }
    }

    /// The action an `action` / `default_action` value describes; `None` for
    /// what is not one (an unresolved value).
    pub fn parse(value: &Value) -> Option<Action> {
        let m = value.as_map()?;
        Some(match field(m, "type")? {
            "forward" => Action::Forward {
                targets: m
                    .get("targets")
                    .map(Value::as_list)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(Value::as_map)
                    .map(|t| Target {
                        target_group: t.get("target_group").cloned().unwrap_or(Value::Unknown),
                        weight: match t.get("weight") {
                            Some(Value::Int(w)) => *w,
                            _ => 1,
                        },
                    })
                    .collect(),
                stickiness: match m.get("stickiness") {
                    Some(Value::Int(s)) => Some(*s),
                    _ => None,
                },
            },
            "fixed-response" => Action::FixedResponse {
                status: field(m, "status").unwrap_or("200").to_string(),
                content_type: field(m, "content_type")
                    .unwrap_or(FIXED_RESPONSE_CONTENT_TYPE)
                    .to_string(),
                body: field(m, "body").map(str::to_string),
            },
            "redirect" => Action::Redirect(Redirect::new(
                ["protocol", "port", "host", "path", "query"].map(|k| field(m, k)),
                field(m, "status"),
            )),
            other => Action::Other(other.to_string()),
        })
    }

    /// The weighted target groups, for a forward.
    pub fn targets(&self) -> Option<&[Target]> {
        match self {
            Action::Forward { targets, .. } => Some(targets),
            _ => None,
        }
    }
}

/// A listener rule's conditions: path patterns, host names, one HTTP header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    pub path: Vec<String>,
    pub host: Vec<String>,
    pub header: Option<(String, Vec<String>)>,
    /// Query string pairs: a key (or any key) and a value.
    pub query: Vec<(Option<String>, String)>,
    /// HTTP methods: `GET`, `POST`, …
    pub method: Vec<String>,
    /// Client address blocks (IPv4 or IPv6 CIDRs).
    pub source_ip: Vec<String>,
}

impl Conditions {
    pub fn to_value(&self) -> Value {
        let mut m = BTreeMap::new();
        let strings = |v: &[String]| Value::set(v.iter().map(Value::str));
        let mut put = |key: &str, values: &[String]| {
            if !values.is_empty() {
                m.insert(key.to_string(), strings(values));
            }
        };
        put("path", &self.path);
        put("host", &self.host);
        put("method", &self.method);
        put("source_ip", &self.source_ip);
        if let Some((name, values)) = &self.header {
            m.insert(
                "header".to_string(),
                Value::map([("name", Value::str(name)), ("values", strings(values))]),
            );
        }
        if !self.query.is_empty() {
            let pairs = self.query.iter().map(|(key, value)| {
                let mut pair = BTreeMap::from([("value".to_string(), Value::str(value))]);
                if let Some(key) = key {
                    pair.insert("key".to_string(), Value::str(key));
                }
                Value::Map(pair)
            });
            m.insert("query".to_string(), Value::set(pairs));
        }
        Value::Map(m)
    }

    pub fn parse(value: &Value) -> Conditions {
        let empty = BTreeMap::new();
        let m = value.as_map().unwrap_or(&empty);
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.map(Value::as_list)
                .unwrap_or_default()
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        Conditions {
            path: strings(m.get("path")),
            host: strings(m.get("host")),
            header: m.get("header").and_then(Value::as_map).map(|h| {
                (
                    field(h, "name").unwrap_or_default().to_string(),
                    strings(h.get("values")),
                )
            }),
            query: m
                .get("query")
                .map(Value::as_list)
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_map)
                .map(|p| {
                    (
                        field(p, "key").map(str::to_string),
                        field(p, "value").unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            method: strings(m.get("method")),
            source_ip: strings(m.get("source_ip")),
        }
    }
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
    let mut m = BTreeMap::from([
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

/// A group whose instances all run its template's default version `v`.
pub fn all_on_version(v: &str) -> String {
    format!("all on version {v}")
}

/// A group with `old` of its `all` instances on versions older than `v`.
pub fn older_than_version(old: usize, all: usize, v: &str) -> String {
    format!("{old} of {all} on a version older than {v}")
}

/// An Auto Scaling group's health check: `EC2` or `ELB`, and the grace
/// period after launch, in seconds (AWS's when `None`).
pub fn group_health_check(check_type: &str, grace: Option<i64>) -> Value {
    let mut m = BTreeMap::from([("type".to_string(), Value::str(check_type))]);
    if let Some(grace) = grace {
        m.insert("grace".to_string(), Value::Int(grace));
    }
    Value::Map(m)
}

/// An IAM policy document as compared: its JSON with keys sorted and no
/// spaces (IAM answers it reformatted); the text itself when it is not JSON.
pub fn policy_text(document: &str) -> String {
    fn sorted(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let mut pairs: Vec<_> = m.into_iter().collect();
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k, sorted(v))).collect())
            }
            serde_json::Value::Array(a) => {
                serde_json::Value::Array(a.into_iter().map(sorted).collect())
            }
            other => other,
        }
    }
    serde_json::from_str::<serde_json::Value>(document)
        .map_or_else(|_| document.to_string(), |v| sorted(v).to_string())
}

/// A threshold as text, the same whether it came from a file or from AWS: `10`, `0.5`.
pub fn threshold_text(value: f64) -> String {
    format!("{value}")
}

fn field<'a>(m: &'a BTreeMap<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
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

    #[test]
    fn actions_round_trip_through_values() {
        let actions = [
            Action::Forward {
                targets: vec![
                    Target {
                        target_group: Value::Id("arn:blue".into()),
                        weight: 90,
                    },
                    Target {
                        target_group: Value::Id("arn:green".into()),
                        weight: 10,
                    },
                ],
                stickiness: Some(60),
            },
            Action::FixedResponse {
                status: "404".into(),
                content_type: "application/json".into(),
                body: Some("{}".into()),
            },
            Action::Redirect(Redirect::new(
                [Some("HTTPS"), Some("443"), None, None, None],
                None,
            )),
            Action::Other("authenticate-oidc".into()),
        ];
        for a in actions {
            assert_eq!(Action::parse(&a.to_value()), Some(a.clone()), "{a:?}");
        }
        assert_eq!(Action::parse(&Value::Unknown), None);
    }

    #[test]
    fn health_checks_and_conditions_round_trip() {
        let check = HealthCheck {
            path: "/healthz".into(),
            interval: 10,
            ..HealthCheck::defaults("HTTPS")
        };
        assert_eq!(HealthCheck::parse(&check.to_value()), check);
        let conditions = Conditions {
            path: vec!["/api/*".into()],
            host: vec![],
            header: Some(("X-Canary".into(), vec!["1".into()])),
            query: vec![(Some("version".into()), "v2".into()), (None, "beta".into())],
            method: vec!["GET".into(), "HEAD".into()],
            source_ip: vec!["10.0.0.0/8".into(), "2001:db8::/32".into()],
        };
        assert_eq!(Conditions::parse(&conditions.to_value()), conditions);
    }
}
