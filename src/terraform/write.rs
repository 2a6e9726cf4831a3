//! A stack file from live resources read for import: one block per
//! resource, every value as the resource has it now (so that the plan of
//! the file shows nothing to change but ownership), references between
//! them as references.

use crate::model::schema::Import;
use crate::model::shapes::{port_numbers, Action, Conditions, HealthCheck, Redirect, IDLE_TIMEOUT};
use crate::model::{Address, Kind, Observed, Value};
use std::collections::{BTreeMap, HashMap};
use toml::{Table, Value as Toml};

/// One block to write: the live resource, where it comes from (the
/// Terraform address), and its region when the stack has several.
pub struct Block<'a> {
    pub observed: &'a Observed,
    pub source: &'a str,
    pub region: Option<&'a str>,
}

/// Every key by which a value may name a resource being written: its live
/// id, ARN, an RDS group's name, a load balancer's DNS name (`dns:NAME`).
pub fn references(blocks: &[Block<'_>]) -> HashMap<String, Address> {
    let mut refs = HashMap::new();
    for b in blocks {
        let o = b.observed;
        let keys = [Some(&o.live_id), o.exports.get("id"), o.exports.get("arn")];
        for key in keys.into_iter().flatten() {
            refs.insert(key.clone(), o.address.clone());
        }
        // An alias record names its load balancer by DNS name.
        if let Some(dns) = o.exports.get("dns_name") {
            refs.insert(format!("dns:{}", dns.to_lowercase()), o.address.clone());
        }
        // An RDS group is named by its name (the last part of its ARN).
        if matches!(o.address.kind.schema().import, Import::ByName { .. }) {
            if let Some(name) = o.live_id.rsplit(':').next() {
                refs.insert(name.to_string(), o.address.clone());
            }
        }
    }
    refs
}

/// The environment variable a generated database block names for its
/// master password: `MAIN_MASTER_PASSWORD` for `db_instance.main`.
fn password_env(address: &Address) -> String {
    format!(
        "{}_MASTER_PASSWORD",
        address.name.to_uppercase().replace('-', "_")
    )
}

/// The block's text: a comment naming where it comes from, then
/// `[kind.name]` and its keys.
pub fn block(b: &Block<'_>, refs: &HashMap<String, Address>) -> String {
    let o = b.observed;
    let mut w = Writer {
        kind: o.address.kind,
        refs,
        own: &o.live_id,
        table: Table::new(),
        notes: Vec::new(),
        ignored: Vec::new(),
    };
    let a = &o.attrs;
    match o.address.kind {
        Kind::Vpc => w.copy(a, &["cidr"]),
        Kind::Subnet => {
            w.copy(a, &["vpc", "cidr", "zone"]);
            if a.get("map_public_ip_on_launch") == Some(&Value::Bool(true)) {
                w.copy(a, &["map_public_ip_on_launch"]);
            }
        }
        Kind::InternetGateway => w.copy(a, &["vpc"]),
        Kind::NatGateway => w.copy(a, &["subnet"]),
        Kind::RouteTable => {
            w.copy(a, &["vpc", "subnets"]);
            let routes = a.get("routes").map(Value::as_list).unwrap_or_default();
            w.put(
                "routes",
                Toml::Array(routes.iter().map(|r| w.value(r)).collect()),
            );
        }
        Kind::SecurityGroup => {
            w.copy(a, &["vpc", "name", "description"]);
            for side in ["ingress", "egress"] {
                let rules = a.get(side).map(Value::as_list).unwrap_or_default();
                let default = [crate::model::shapes::default_egress()];
                if side == "egress" && rules == default {
                    continue;
                }
                let rules = rules.iter().map(|r| w.rule(r)).collect();
                w.put(side, Toml::Array(rules));
            }
        }
        Kind::LoadBalancer => {
            w.copy(a, &["scheme", "subnets", "security_groups"]);
            if a.get("idle_timeout") != Some(&Value::Int(IDLE_TIMEOUT)) {
                w.copy(a, &["idle_timeout"]);
            }
        }
        Kind::TargetGroup => {
            w.copy(a, &["vpc", "protocol", "port", "target_type"]);
            if let Some(h) = a.get("health_check") {
                let live = HealthCheck::parse(h);
                let protocol = a.get("protocol").and_then(Value::as_str).unwrap_or("HTTP");
                let defaults = HealthCheck::defaults(protocol).to_value();
                let (Value::Map(live), Value::Map(defaults)) = (live.to_value(), defaults) else {
                    unreachable!("a health check is a map")
                };
                let changed: Table = live
                    .iter()
                    .filter(|(k, v)| defaults.get(*k) != Some(v))
                    .filter_map(|(k, v)| Some((k.clone(), w.value_opt(v)?)))
                    .collect();
                if !changed.is_empty() {
                    w.put("health_check", Toml::Table(changed));
                }
            }
        }
        Kind::Listener => {
            w.copy(a, &["load_balancer", "port", "protocol"]);
            if a.get("protocol").and_then(Value::as_str) == Some("HTTPS") {
                w.copy(a, &["certificate", "ssl_policy"]);
                if a.get("certificates")
                    .is_some_and(|c| !c.as_list().is_empty())
                {
                    w.copy(a, &["certificates"]);
                }
            }
            if let Some(action) = a.get("default_action").and_then(Action::parse) {
                let action = w.action(&action);
                w.put("default_action", action);
            }
        }
        Kind::ListenerRule => {
            w.copy(a, &["listener", "priority"]);
            let conditions = a
                .get("conditions")
                .map(Conditions::parse)
                .unwrap_or_default();
            let conditions = w.conditions(&conditions);
            w.put("conditions", conditions);
            if let Some(action) = a.get("action").and_then(Action::parse) {
                let action = w.action(&action);
                w.put("action", action);
            }
        }
        Kind::Instance => {
            w.copy(
                a,
                &[
                    "ami",
                    "instance_type",
                    "subnet",
                    "security_groups",
                    "target_groups",
                ],
            );
            w.copy(a, &["instance_profile"]);
            if a.contains_key("user_data") {
                w.note("its user data is compared by digest and cannot be read back: left to it");
                w.ignored.push("user_data".into());
            }
        }
        Kind::DbSubnetGroup => w.copy(a, &["subnets", "description"]),
        Kind::DbParameterGroup => w.copy(a, &["family", "description", "parameters"]),
        Kind::DbInstance => {
            w.copy(a, &settings(Kind::DbInstance));
            w.note(
                "the master password is never read nor written here: the variable is \
                 needed only to create the database again",
            );
            w.put(
                "master_password_env",
                Toml::String(password_env(&o.address)),
            );
        }
        Kind::Alarm => {
            // The live name, which the alarm keeps (its default would be
            // `<stack>.<name>`, another alarm).
            w.put("name", Toml::String(o.live_id.clone()));
            w.copy(a, &settings(Kind::Alarm));
        }
        Kind::DnsZone => {
            w.copy(a, &["name"]);
            if a.get("private") == Some(&Value::Bool(true)) {
                w.copy(a, &["private", "vpcs"]);
            }
        }
        Kind::DnsRecord => {
            w.copy(a, &["zone", "name", "type", "ttl", "values"]);
            if let Some(alias) = a.get("alias").and_then(Value::as_map) {
                let target = alias
                    .get("dns_name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match refs.get(&format!("dns:{target}")) {
                    Some(lb) => w.put("alias", Toml::String(lb.to_string())),
                    None => w.note(&format!(
                        "an alias to {target}, which is not a load balancer written here: \
                         point `alias` at one"
                    )),
                }
            }
        }
        // No Terraform type maps to these (`Schema::terraform`).
        Kind::AcmCertificate
        | Kind::IamRole
        | Kind::InstanceProfile
        | Kind::LaunchTemplate
        | Kind::AutoscalingGroup => {}
    }
    if let Some(Value::Map(tags)) = a.get("tags") {
        if !tags.is_empty() {
            let tags = tags
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), Toml::String(v.as_str()?.to_string()))))
                .collect();
            w.put("tags", Toml::Table(tags));
        }
    }
    if a.get("protect") == Some(&Value::Bool(true)) || o.address.kind == Kind::DbInstance {
        // An imported database is protected unless its block says not.
        w.put("protect", Toml::Boolean(true));
    }
    if !w.ignored.is_empty() {
        let ignored = w.ignored.iter().cloned().map(Toml::String).collect();
        w.put("ignore_changes", Toml::Array(ignored));
    }
    if let Some(region) = b.region {
        w.put(
            "regions",
            Toml::Array(vec![Toml::String(region.to_string())]),
        );
    }
    w.put("import", Toml::String(import_id(o)));
    let mut out = format!("# {}\n", b.source);
    for note in &w.notes {
        out.push_str(&format!("# {}: {note}\n", o.address));
    }
    // One line a key, nested values inline, as people write blocks (not a
    // `[kind.name.key]` section each); long lists are broken by the layout.
    let name = &o.address.name;
    let bare = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let name = match bare {
        true => name.clone(),
        false => inline(&Toml::String(name.clone())),
    };
    out.push_str(&format!("[{}.{name}]\n", o.address.kind));
    for (key, value) in &w.table {
        out.push_str(&format!("{key} = {}\n", inline(value)));
    }
    out
}

/// `value` as TOML writes it after `key = `: tables inline.
fn inline(value: &Toml) -> String {
    use serde::Serialize;
    let mut text = String::new();
    value
        .serialize(toml::ser::ValueSerializer::new(&mut text))
        .expect("a value serialises");
    text
}

/// A kind's attributes but tags and protection (written apart) and an
/// alarm's name (written as it is live).
fn settings(kind: Kind) -> Vec<&'static str> {
    let apart = ["tags", "protect", "name"];
    kind.attributes()
        .iter()
        .copied()
        .filter(|a| !apart.contains(a))
        .collect()
}

/// The id the block imports, as `import =` takes it.
fn import_id(o: &Observed) -> String {
    match o.address.kind.schema().import {
        // RDS names its resources in the last part of their ARN.
        Import::ByName { .. } | Import::DbIdentifier => o
            .live_id
            .rsplit(':')
            .next()
            .unwrap_or(&o.live_id)
            .to_string(),
        Import::RecordNameType => format!(
            "{} {}",
            o.attrs
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            o.attrs
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
        ),
        Import::ById | Import::AlarmName | Import::No => o.live_id.clone(),
    }
}

struct Writer<'a> {
    kind: Kind,
    refs: &'a HashMap<String, Address>,
    own: &'a str,
    table: Table,
    notes: Vec<String>,
    /// Attributes the file cannot express: left to the resource
    /// (`ignore_changes`), so that the plan never undoes them.
    ignored: Vec<String>,
}

impl Writer<'_> {
    fn put(&mut self, key: &str, value: Toml) {
        self.table.insert(key.to_string(), value);
    }

    fn note(&mut self, note: &str) {
        self.notes.push(note.to_string());
    }

    /// The attributes `keys`, those the resource has, as they are. One that
    /// names what a stack cannot (an IAM profile not imported, an RDS
    /// default group) is left out: to AWS's choice where that is not
    /// compared, else to the resource, said.
    fn copy(&mut self, attrs: &BTreeMap<String, Value>, keys: &[&str]) {
        for key in keys {
            let Some(live) = attrs.get(*key) else {
                continue;
            };
            match self.value_opt(live) {
                Some(v) => self.put(key, v),
                None if self.kind.compared_only_when_set(key) => {}
                None => {
                    self.note(&format!(
                        "`{key}` is {live}, which a stack file cannot name: left as it is"
                    ));
                    self.ignored.push(key.to_string());
                }
            }
        }
    }

    fn value(&self, v: &Value) -> Toml {
        self.value_opt(v).unwrap_or(Toml::String(String::new()))
    }

    /// A value in the stack file's terms: a resource written here by its
    /// address, another by its live id; `None` for what a stack cannot name
    /// (an RDS default group's ARN, an unknown).
    fn value_opt(&self, v: &Value) -> Option<Toml> {
        Some(match v {
            Value::Str(s) => Toml::String(s.clone()),
            Value::Int(i) => Toml::Integer(*i),
            Value::Decimal(d) => Toml::Float(d.parse().ok()?),
            Value::Bool(b) => Toml::Boolean(*b),
            Value::Ref(a) => Toml::String(a.to_string()),
            Value::Id(id) => match self.refs.get(id) {
                Some(a) => Toml::String(a.to_string()),
                None if Kind::ALL.iter().any(|k| k.is_live_id(id)) => Toml::String(id.clone()),
                None => return None,
            },
            Value::List(items) => {
                Toml::Array(items.iter().filter_map(|i| self.value_opt(i)).collect())
            }
            Value::Map(m) => Toml::Table(
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), self.value_opt(v)?)))
                    .collect(),
            ),
            Value::Unknown => return None,
        })
    }

    /// A security group rule as a stack writes one.
    fn rule(&self, rule: &Value) -> Toml {
        let empty = BTreeMap::new();
        let m = rule.as_map().unwrap_or(&empty);
        let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default();
        let mut t = Table::new();
        let protocol = match text("protocol") {
            "-1" => "all",
            p => p,
        };
        t.insert("protocol".into(), Toml::String(protocol.to_string()));
        match port_numbers(text("ports")) {
            (Some(from), Some(to)) if from == to && protocol != "icmp" => {
                t.insert("port".into(), Toml::Integer(from.into()));
            }
            (Some(from), Some(to)) => {
                t.insert("from_port".into(), Toml::Integer(from.into()));
                t.insert("to_port".into(), Toml::Integer(to.into()));
            }
            _ => {}
        }
        if let Some(cidr) = m.get("cidr") {
            t.insert("cidr".into(), self.value(cidr));
        }
        if let Some(group) = m.get("security_group") {
            let own = group.as_str() == Some(self.own);
            let group = if own {
                Toml::String("self".into())
            } else {
                self.value(group)
            };
            t.insert("security_group".into(), group);
        }
        if let Some(d) = m.get("description") {
            t.insert("description".into(), self.value(d));
        }
        Toml::Table(t)
    }

    fn action(&self, action: &Action) -> Toml {
        let mut t = Table::new();
        match action {
            Action::Forward {
                targets,
                stickiness,
            } => {
                let forward = match &targets[..] {
                    [one] if one.weight == 1 => self.value(&one.target_group),
                    all => Toml::Array(
                        all.iter()
                            .map(|target| {
                                Toml::Table(Table::from_iter([
                                    ("target_group".to_string(), self.value(&target.target_group)),
                                    ("weight".to_string(), Toml::Integer(target.weight)),
                                ]))
                            })
                            .collect(),
                    ),
                };
                t.insert("forward".into(), forward);
                if let Some(seconds) = stickiness {
                    t.insert("stickiness".into(), Toml::String(format!("{seconds}s")));
                }
            }
            Action::FixedResponse {
                status,
                content_type,
                body,
            } => {
                let mut f = Table::new();
                f.insert(
                    "status".into(),
                    Toml::Integer(status.parse().unwrap_or(200)),
                );
                f.insert("content_type".into(), Toml::String(content_type.clone()));
                if let Some(body) = body {
                    f.insert("body".into(), Toml::String(body.clone()));
                }
                t.insert("fixed_response".into(), Toml::Table(f));
            }
            Action::Redirect(r) => {
                let defaults = Redirect::new([None; 5], None);
                let mut f = Table::new();
                for (key, live, default) in [
                    ("protocol", &r.protocol, &defaults.protocol),
                    ("port", &r.port, &defaults.port),
                    ("host", &r.host, &defaults.host),
                    ("path", &r.path, &defaults.path),
                    ("query", &r.query, &defaults.query),
                    ("status", &r.status, &defaults.status),
                ] {
                    if live != default {
                        f.insert(key.into(), Toml::String(live.clone()));
                    }
                }
                t.insert("redirect".into(), Toml::Table(f));
            }
            Action::Other(_) => {}
        }
        Toml::Table(t)
    }

    fn conditions(&self, c: &Conditions) -> Toml {
        let strings = |v: &[String]| Toml::Array(v.iter().cloned().map(Toml::String).collect());
        let mut t = Table::new();
        for (key, values) in [
            ("path", &c.path),
            ("host", &c.host),
            ("method", &c.method),
            ("source_ip", &c.source_ip),
        ] {
            if !values.is_empty() {
                t.insert(key.into(), strings(values));
            }
        }
        if let Some((name, values)) = &c.header {
            t.insert(
                "header".into(),
                Toml::Table(Table::from_iter([
                    ("name".to_string(), Toml::String(name.clone())),
                    ("values".to_string(), strings(values)),
                ])),
            );
        }
        if !c.query.is_empty() {
            let pairs = c.query.iter().map(|(key, value)| {
                let mut pair =
                    Table::from_iter([("value".to_string(), Toml::String(value.clone()))]);
                if let Some(key) = key {
                    pair.insert("key".into(), Toml::String(key.clone()));
                }
                Toml::Table(pair)
            });
            t.insert("query".into(), Toml::Array(pairs.collect()));
        }
        Toml::Table(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shapes::rule_value;

    fn observed(address: &str, live_id: &str, attrs: Vec<(&str, Value)>) -> Observed {
        Observed {
            address: Address::parse(address).unwrap(),
            region: "eu-west-1".into(),
            live_id: live_id.into(),
            attrs: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            exports: BTreeMap::new(),
            handles: BTreeMap::new(),
        }
    }

    fn written(blocks: &[Observed]) -> Vec<String> {
        let blocks: Vec<Block> = blocks
            .iter()
            .map(|o| Block {
                observed: o,
                source: "aws_x.y",
                region: None,
            })
            .collect();
        let refs = references(&blocks);
        blocks.iter().map(|b| block(b, &refs)).collect()
    }

    #[test]
    fn references_are_addresses_what_a_file_cannot_name_is_left_to_the_resource() {
        let group = observed(
            "security_group.web",
            "sg-0a",
            vec![
                ("vpc", Value::Id("vpc-0ff1ce".into())),
                ("name", Value::str("web")),
                (
                    "ingress",
                    Value::set([
                        rule_value("tcp", "443", ("cidr", Value::str("0.0.0.0/0")), None),
                        rule_value(
                            "-1",
                            "all",
                            ("security_group", Value::Id("sg-0a".into())),
                            None,
                        ),
                    ]),
                ),
                (
                    "egress",
                    Value::set([crate::model::shapes::default_egress()]),
                ),
            ],
        );
        let instance = observed(
            "instance.app",
            "i-0b",
            vec![
                ("security_groups", Value::set([Value::Id("sg-0a".into())])),
                (
                    "instance_profile",
                    Value::Id("arn:aws:iam::1:instance-profile/app".into()),
                ),
            ],
        );
        let text = written(&[group, instance]);
        let (group, instance) = (&text[0], &text[1]);
        assert!(
            group.contains("vpc = \"vpc-0ff1ce\""),
            "a live id kept: {group}"
        );
        assert!(group.contains("security_group = \"self\""), "{group}");
        assert!(
            group.contains("port = 443") && group.contains("protocol = \"all\""),
            "{group}"
        );
        assert!(
            !group.contains("egress"),
            "AWS's default egress is left out: {group}"
        );
        assert!(group.contains("import = \"sg-0a\""), "{group}");
        assert!(
            instance.contains("security_groups = [\"security_group.web\"]"),
            "{instance}"
        );
        assert!(
            instance.contains("ignore_changes = [\"instance_profile\"]")
                && instance.contains("# instance.app: `instance_profile` is \"arn:aws:iam::1:instance-profile/app\", which a stack file cannot name"),
            "{instance}"
        );
        let parsed: toml::Table = toml::from_str(instance).unwrap();
        assert!(parsed["instance"]["app"].get("instance_profile").is_none());
    }

    #[test]
    fn a_weighted_forward_and_a_database_are_written_as_a_stack_writes_them() {
        let blue = observed("target_group.blue", "arn:tg/blue", vec![]);
        let green = observed("target_group.green", "arn:tg/green", vec![]);
        let forward = |arn: &str, weight| {
            Value::map([
                ("target_group", Value::Id(arn.into())),
                ("weight", Value::Int(weight)),
            ])
        };
        let rule = observed(
            "listener_rule.app",
            "arn:rule",
            vec![
                ("priority", Value::Int(10)),
                (
                    "action",
                    Value::map([
                        ("type", Value::str("forward")),
                        (
                            "targets",
                            Value::set([forward("arn:tg/blue", 90), forward("arn:tg/green", 10)]),
                        ),
                    ]),
                ),
                (
                    "conditions",
                    Value::map([("path", Value::set([Value::str("/app/*")]))]),
                ),
            ],
        );
        let db = observed(
            "db_instance.orders",
            "arn:aws:rds:eu-west-1:1:db:orders",
            vec![
                ("identifier", Value::str("orders")),
                (
                    "parameter_group",
                    Value::Id("arn:aws:rds:eu-west-1:1:pg:default.postgres16".into()),
                ),
            ],
        );
        let text = written(&[blue, green, rule, db]);
        let rule: toml::Table = toml::from_str(&text[2]).unwrap();
        let forward = &rule["listener_rule"]["app"]["action"]["forward"];
        assert_eq!(forward.as_array().unwrap().len(), 2);
        assert_eq!(
            forward[0]["target_group"].as_str(),
            Some("target_group.blue")
        );
        assert_eq!(forward[1]["weight"].as_integer(), Some(10));
        let db = &text[3];
        assert!(db.contains("import = \"orders\""), "by identifier: {db}");
        assert!(
            db.contains("master_password_env = \"ORDERS_MASTER_PASSWORD\""),
            "{db}"
        );
        assert!(db.contains("protect = true"), "{db}");
        // The engine's default group: AWS's choice, not compared, not written.
        assert!(
            !db.contains("parameter_group") && !db.contains("ignore_changes"),
            "{db}"
        );
    }
}
