//! The vocabulary shared by every layer: resource kinds, addresses, attribute
//! values and the normalised view of a live resource. Nothing here knows the SDK.

use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

pub mod kinds;
pub mod probe;
pub mod profile;
pub mod progress;
pub mod schema;
pub mod shapes;
pub mod tags;

pub use kinds::Kind;
pub use tags::{ID as ID_TAG, PROTECT as PROTECT_TAG, STACK as STACK_TAG, VERSION as VERSION_TAG};

/// The attributes an update changes: those the plan found different, less
/// what `ignore_changes` leaves alone. Mutators act on these and nothing else.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changed(std::collections::BTreeSet<String>);

impl Changed {
    pub fn new<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Changed {
        Changed(names.into_iter().map(Into::into).collect())
    }

    /// Every attribute of `wanted` that `observed` does not already have: for
    /// an update made without a plan (a create's lost answer, adopted).
    pub fn between(wanted: &Attrs, observed: &Attrs) -> Changed {
        Changed::new(
            wanted
                .iter()
                .filter(|(k, v)| observed.get(*k) != Some(*v))
                .map(|(k, _)| k.clone()),
        )
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    /// What to write where an API replaces the whole resource (an alarm, a
    /// record set): `wanted` for the changed attributes, the live value for
    /// the others.
    pub fn merged(&self, wanted: &Attrs, observed: &Attrs) -> Attrs {
        let mut out = wanted.clone();
        for k in wanted.keys().chain(observed.keys()) {
            if self.contains(k) {
                continue;
            }
            match observed.get(k) {
                Some(v) => out.insert(k.clone(), v.clone()),
                None => out.remove(k),
            };
        }
        out
    }
}

/// How a kind is replaced when an attribute AWS cannot change in place changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaceOrder {
    /// Delete the old one, then create the new one: the new one would collide with
    /// the old (same CIDR, same group name, same listener port or rule priority).
    DeleteFirst,
    /// Create the new one, move users to it, then delete the old one: no outage.
    /// Only for kinds whose names reconcile generates uniquely.
    CreateFirst,
}

/// An AWS service reconcile calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Ec2,
    Elbv2,
    Rds,
    CloudWatch,
    Route53,
    /// AWS Certificate Manager: TLS certificates for load balancers.
    Acm,
    /// IAM: roles and instance profiles, global like Route53.
    Iam,
    /// EC2 Auto Scaling: groups of instances from a launch template.
    Autoscaling,
    /// The Resource Groups Tagging API: finds tagged resources of every service.
    Tagging,
    /// STS: whose credentials a command runs with (the account guard).
    Sts,
}

impl Service {
    /// Its name in reconcile's messages and call counts: `elbv2`.
    pub fn name(self) -> &'static str {
        match self {
            Service::Ec2 => "ec2",
            Service::Elbv2 => "elbv2",
            Service::Rds => "rds",
            Service::CloudWatch => "cloudwatch",
            Service::Route53 => "route53",
            Service::Acm => "acm",
            Service::Iam => "iam",
            Service::Autoscaling => "autoscaling",
            Service::Tagging => "tagging",
            Service::Sts => "sts",
        }
    }

    /// Its name in its endpoint's host: `elasticloadbalancing.us-west-2.amazonaws.com`.
    pub fn endpoint_name(self) -> &'static str {
        match self {
            Service::Elbv2 => "elasticloadbalancing",
            Service::CloudWatch => "monitoring",
            other => other.name(),
        }
    }

    /// Whether it takes only letters, digits, spaces and `_ . : / = + - @` in
    /// tag keys and values: ELBv2, ACM and IAM (their models' patterns) and RDS
    /// (its documentation).
    pub fn restricts_tag_characters(self) -> bool {
        match self {
            Service::Elbv2 | Service::Rds | Service::Acm | Service::Iam => true,
            Service::Ec2
            | Service::CloudWatch
            | Service::Route53
            | Service::Autoscaling
            | Service::Tagging
            | Service::Sts => false,
        }
    }

    /// Global: one endpoint for every region (Route53's and IAM's are in
    /// us-east-1); a stack's objects of it live once, homed in one region.
    pub fn global(self) -> bool {
        matches!(self, Service::Route53 | Service::Iam)
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Kind {
    /// The AWS service that holds this kind.
    pub fn service(self) -> Service {
        self.schema().service
    }

    pub fn as_str(self) -> &'static str {
        self.schema().name
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// Whether `s` looks like a live id (or ARN) of this kind, as a stack file may name one.
    pub fn is_live_id(self, s: &str) -> bool {
        self.schema().live_id.matches(s)
    }

    /// The attribute holding this kind's forward action, if it has one
    /// (a listener's `default_action`, a rule's `action`).
    pub fn forward_attribute(self) -> Option<&'static str> {
        self.schema().forward
    }

    /// Attributes a `${kind.name.attr}` interpolation may read.
    pub fn exports(self) -> &'static [&'static str] {
        self.schema().exports
    }

    /// Whether an in-place update changes the export `attr`.
    pub fn update_changes(self, attr: &str) -> bool {
        self.schema().updated_exports.contains(&attr)
    }

    /// Attributes diffed for this kind; `ignore_changes` may name any of them.
    pub fn attributes(self) -> &'static [&'static str] {
        self.schema().attributes
    }

    /// Attributes AWS cannot change in place: a change replaces the resource.
    pub fn forces_replacement(self, attr: &str) -> bool {
        self.schema().forces_replacement.contains(&attr)
    }

    /// What a change of `attr` does to a running resource, where AWS documents it.
    pub fn change_note(self, attr: &str) -> Option<&'static str> {
        let notes = self.schema().notes;
        notes
            .iter()
            .find(|(a, _)| *a == attr)
            .map(|(_, note)| *note)
    }

    pub fn replace_order(self) -> ReplaceOrder {
        self.schema().replace_order
    }

    /// Attributes AWS chooses when the stack leaves them out; compared only when set.
    pub fn compared_only_when_set(self, attr: &str) -> bool {
        self.schema().compared_only_when_set.contains(&attr)
    }

    /// Map attributes compared on the keys the stack sets only.
    pub fn partial_map(self, attr: &str) -> bool {
        self.schema().partial_maps.contains(&attr)
    }

    /// Attributes whose reference pins this resource to its target, so that
    /// it is replaced with its target (`schema::Schema::binds`).
    pub fn binds_to_reference(self, attr: &str) -> bool {
        self.forces_replacement(attr) || self.schema().binds.contains(&attr)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whose credentials a command runs with: an account and the identity's
/// ARN (STS GetCallerIdentity).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

/// A resource's name in its stack: `kind.name`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub kind: Kind,
    pub name: String,
}

impl Address {
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        Address {
            kind,
            name: name.into(),
        }
    }

    /// Parses `kind.name`, or `instance.name[i]` for one of `count` instances;
    /// `None` when the kind is unknown or the name is not a valid name.
    pub fn parse(s: &str) -> Option<Address> {
        let (kind, name) = s.split_once('.')?;
        let kind = Kind::parse(kind)?;
        let base = match name.strip_suffix(']').and_then(|n| n.split_once('[')) {
            Some((base, index)) if kind == Kind::Instance && index.parse::<u32>().is_ok() => base,
            Some(_) => return None,
            None => name,
        };
        valid_name(base).then(|| Address::new(kind, name))
    }
}

/// Resource names: lowercase letters, digits, `_` and `-`, starting with a letter.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An attribute value, desired or observed, in one comparable form.
///
/// References are `Ref` (a resource of this stack) or `Id` (a live AWS id);
/// observed ids of resources this stack owns are turned into `Ref` before
/// diffing, so a plan speaks in addresses, not in ids that change on replace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Str(String),
    Int(i64),
    /// A number that may have a fraction (an alarm threshold), in its
    /// shortest text: `10`, `0.5`. Shown and serialised as a number.
    Decimal(String),
    Bool(bool),
    Ref(Address),
    Id(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// Known only once apply has created or replaced what it depends on.
    Unknown,
}

pub const UNKNOWN_TEXT: &str = "(known after apply)";

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// A list whose order AWS does not keep: sorted, without duplicates.
    pub fn set(items: impl IntoIterator<Item = Value>) -> Value {
        let mut items: Vec<Value> = items.into_iter().collect();
        items.sort();
        items.dedup();
        Value::List(items)
    }

    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Id(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> &[Value] {
        match self {
            Value::List(items) => items,
            _ => &[],
        }
    }

    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::List(items) => items.iter().any(Value::is_unknown),
            Value::Map(m) => m.values().any(Value::is_unknown),
            _ => false,
        }
    }

    /// Whether the live id `id` appears anywhere in this value.
    pub fn mentions(&self, id: &str) -> bool {
        match self {
            Value::Id(v) => v == id,
            Value::List(items) => items.iter().any(|v| v.mentions(id)),
            Value::Map(m) => m.values().any(|v| v.mentions(id)),
            _ => false,
        }
    }

    /// Replaces live ids of owned resources by their addresses.
    pub fn normalise(&self, owned: &HashMap<String, Address>) -> Value {
        match self {
            Value::Id(id) => owned
                .get(id)
                .map_or_else(|| self.clone(), |a| Value::Ref(a.clone())),
            Value::List(items) => Value::set(items.iter().map(|v| v.normalise(owned))),
            Value::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.normalise(owned)))
                    .collect(),
            ),
            _ => self.clone(),
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serialises")
}

/// HCL-like rendering, as a Terraform user reads it.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) | Value::Id(s) => f.write_str(&quote(s)),
            Value::Int(i) => write!(f, "{i}"),
            Value::Decimal(d) => f.write_str(d),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Ref(a) => write!(f, "{a}"),
            Value::Unknown => f.write_str(UNKNOWN_TEXT),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                if m.is_empty() {
                    return f.write_str("{}");
                }
                f.write_str("{ ")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    let key_is_bare = k
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if key_is_bare {
                        write!(f, "{k} = {v}")?;
                    } else {
                        write!(f, "{} = {v}", quote(k))?;
                    }
                }
                f.write_str(" }")
            }
        }
    }
}

/// JSON form: plain JSON values; references as `"kind.name"`, unknowns as a marker string.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Str(v) | Value::Id(v) => s.serialize_str(v),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Decimal(d) => s.serialize_f64(d.parse().unwrap_or(f64::NAN)),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Ref(a) => a.serialize(s),
            Value::Unknown => s.serialize_str(UNKNOWN_TEXT),
            Value::List(items) => items.serialize(s),
            Value::Map(m) => m.serialize(s),
        }
    }
}

pub type Attrs = BTreeMap<String, Value>;

/// What apply needs but a plan never compares or shows: an instance's user data
/// (compared through its digest), later secrets such as a database password.
pub type Inputs = BTreeMap<&'static str, String>;

/// The input naming a declared name the old resource still holds
/// (`desired::held_name`): the new one is created under a generated name.
pub const NAME_HELD: &str = "name_held";

/// An Auto Scaling group's instances in service and healthy, those its
/// health checks found unhealthy, and those on an older version of its
/// template (handles of its observed self).
pub const IN_SERVICE: &str = "in_service";
pub const UNHEALTHY: &str = "unhealthy";
pub const OUTDATED: &str = "outdated";

/// Handles of a live resource a block imports: its id, and the stack whose
/// tag it carries, if any.
pub const IMPORTED: &str = "imported";
pub const OWNER: &str = "owner";

/// A live resource owned by a stack, normalised from SDK output.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub address: Address,
    pub region: String,
    pub live_id: String,
    /// Attributes as AWS reports them; references are `Value::Id`.
    pub attrs: Attrs,
    /// What `${kind.name.attr}` may read: id, arn, cidr …
    pub exports: BTreeMap<String, String>,
    /// Ids apply needs that are not attributes, e.g. route table association ids by subnet id.
    pub handles: BTreeMap<String, String>,
}

impl Observed {
    /// A count kept in a handle (`IN_SERVICE`, …); 0 when absent.
    pub fn count(&self, handle: &str) -> u32 {
        self.handles
            .get(handle)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Protected by reconcile's tag, or by AWS's own deletion protection (a
    /// database's flag, a load balancer's `deletion_protection.enabled`).
    pub fn protected(&self) -> bool {
        let on = |attr| self.attrs.get(attr) == Some(&Value::Bool(true));
        let balancer = self
            .attrs
            .get("attributes")
            .and_then(Value::as_map)
            .and_then(|m| m.get("deletion_protection.enabled"))
            .and_then(Value::as_str)
            == Some("true");
        on("protect") || on("deletion_protection") || balancer
    }
}

/// The CloudWatch name of a stack's alarm: `<stack>.<name>`.
pub fn alarm_name(stack: &str, address: &Address) -> String {
    format!("{stack}.{}", address.name)
}

/// The part of an ELBv2 ARN CloudWatch takes as a dimension, from `from` on:
/// `app/NAME/ID` for a load balancer, `targetgroup/NAME/ID` for a target group.
pub fn arn_suffix(arn: &str, from: &str) -> String {
    arn.find(from)
        .map(|i| {
            let suffix = &arn[i..];
            suffix
                .strip_prefix("loadbalancer/")
                .unwrap_or(suffix)
                .to_string()
        })
        .unwrap_or_default()
}

/// The RDS name of a stack's DB subnet or parameter group: lowercase, `_`
/// as `-`, no two hyphens in a row and none at the end (RDS refuses both in a
/// parameter group's name).
pub fn rds_group_name(stack: &str, address: &Address) -> String {
    rds_dashed(&format!("{stack}-{}", address.name))
}

/// What the RDS names of a stack's groups start with (discovery lists those).
pub fn rds_group_prefix(stack: &str) -> String {
    format!("{}-", rds_dashed(stack))
}

fn rds_dashed(name: &str) -> String {
    name.to_lowercase()
        .replace('_', "-")
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// TXT record values: a stack writes them plain (`v=spf1 -all`) or as the
/// Route53 console shows them (`"v=spf1 -all"`, several quoted strings for a
/// long DKIM key); both mean the same text.
pub mod txt {
    /// Route53 takes at most this many characters in one string of a TXT value.
    const MAX_STRING: usize = 255;

    /// The text a value stands for: quoted strings are unescaped and joined,
    /// anything else is the text itself.
    pub fn plain(written: &str) -> String {
        let trimmed = written.trim();
        if trimmed.len() < 2 || !trimmed.starts_with('"') || !trimmed.ends_with('"') {
            return written.to_string();
        }
        let mut out = String::new();
        let mut chars = trimmed.chars();
        let mut inside = false;
        while let Some(c) = chars.next() {
            match (inside, c) {
                (false, '"') => inside = true,
                (false, _) => {}
                (true, '"') => inside = false,
                (true, '\\') => out.extend(chars.next()),
                (true, c) => out.push(c),
            }
        }
        out
    }

    /// The value as Route53 takes it: quoted, `"` and `\` escaped, split into
    /// strings of at most 255 characters.
    pub fn wire(plain: &str) -> String {
        let chars: Vec<char> = plain.chars().collect();
        let strings: Vec<String> = chars
            .chunks(MAX_STRING)
            .map(|chunk| {
                let escaped: String = chunk
                    .iter()
                    .flat_map(|&c| match c {
                        '"' | '\\' => vec!['\\', c],
                        c => vec![c],
                    })
                    .collect();
                format!("\"{escaped}\"")
            })
            .collect();
        if strings.is_empty() {
            "\"\"".into()
        } else {
            strings.join(" ")
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn plain_and_quoted_forms_mean_the_same_text() {
            assert_eq!(plain("v=spf1 -all"), "v=spf1 -all");
            assert_eq!(plain("\"v=spf1 -all\""), "v=spf1 -all");
            assert_eq!(plain(r#""say \"hi\"""#), r#"say "hi""#);
            assert_eq!(plain(r#""abc" "def""#), "abcdef");
            assert_eq!(
                plain(r#"say "hi""#),
                r#"say "hi""#,
                "quotes inside plain text"
            );
        }

        #[test]
        fn the_wire_form_escapes_and_splits_and_round_trips() {
            assert_eq!(wire(r#"say "hi""#), r#""say \"hi\"""#);
            assert_eq!(wire(r"a\b"), r#""a\\b""#);
            let key = "k".repeat(600);
            let sent = wire(&key);
            assert_eq!(sent.matches("\" \"").count(), 2, "three strings");
            assert!(sent.split(' ').all(|s| s.len() <= 257));
            for text in [
                key.as_str(),
                r#"say "hi""#,
                r"back\slash",
                "",
                "é".repeat(300).as_str(),
            ] {
                assert_eq!(plain(&wire(text)), text);
            }
        }
    }
}

/// The `Observed::handles` key of the address a live resource is tagged with,
/// when a `[[moved]]` gives it to another block.
pub const MOVED_FROM: &str = "moved_from";

/// The prefix of an `Observed::handles` key naming an attribute whose desired
/// value AWS holds back for a maintenance window; the handle's value is what
/// the attribute is now (the attribute itself carries the pending value).
pub const PENDING: &str = "pending:";

/// The handle carrying a live resource's version label: its tag's name.
pub const VERSION_HANDLE: &str = tags::VERSION;

/// Everything a stack owns in one region.
#[derive(Clone, Debug, Default)]
pub struct LiveRegion {
    pub resources: Vec<Observed>,
    /// Public hosted zones no reconcile stack owns, by name → zone id: a
    /// `dns_zone` of that name adopts one instead of creating it.
    pub adoptable_zones: BTreeMap<String, String>,
    /// Records in the stack's zones that it does not own, as `zone/name/TYPE`.
    pub foreign_records: std::collections::BTreeSet<String>,
    /// Services the endpoint does not implement (`Kind::service` → the
    /// endpoint and its answer): nothing of theirs was read.
    pub unavailable: BTreeMap<Service, Unavailable>,
    /// The regions the stack was applied to, as recorded in this region
    /// (`tags::regions`); `None` when nothing is recorded here.
    pub applied_regions: Option<std::collections::BTreeSet<String>>,
}

/// A service an endpoint answered it does not implement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub endpoint: String,
    pub answer: String,
}

impl LiveRegion {
    /// Live id → address for every owned resource: how observed references are normalised.
    pub fn owned_ids(&self) -> HashMap<String, Address> {
        self.resources
            .iter()
            .map(|o| (o.live_id.clone(), o.address.clone()))
            .collect()
    }

    /// The live forward of every owned listener and rule: target group id →
    /// the largest weight any of them gives it.
    pub fn weights(&self) -> BTreeMap<String, i64> {
        let mut weights: BTreeMap<String, i64> = BTreeMap::new();
        for o in &self.resources {
            let Some(key) = o.address.kind.forward_attribute() else {
                continue;
            };
            let Some(shapes::Action::Forward { targets, .. }) =
                o.attrs.get(key).and_then(shapes::Action::parse)
            else {
                continue;
            };
            for t in targets {
                if let Some(id) = t.target_group.as_str() {
                    let w = weights.entry(id.to_string()).or_default();
                    *w = (*w).max(t.weight);
                }
            }
        }
        weights
    }
}

/// The AWS partition a region belongs to: an account lives in one, and a
/// region of another (GovCloud, China) never holds its resources.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso") {
        "aws-iso"
    } else {
        "aws"
    }
}

/// The AWS regions reconcile knows; a stack naming another is rejected before any call.
pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_suffixes_are_what_cloudwatch_takes() {
        let lb =
            "arn:aws:elasticloadbalancing:us-west-2:123:loadbalancer/app/demo-app/50dc6c495c0c9188";
        assert_eq!(
            arn_suffix(lb, "loadbalancer/"),
            "app/demo-app/50dc6c495c0c9188"
        );
        let tg =
            "arn:aws:elasticloadbalancing:us-west-2:123:targetgroup/demo-blue/73e2d6bc24d8a067";
        assert_eq!(
            arn_suffix(tg, "targetgroup/"),
            "targetgroup/demo-blue/73e2d6bc24d8a067"
        );
    }

    #[test]
    fn address_round_trips_and_rejects_unknown_kinds() {
        let a = Address::parse("security_group.web").unwrap();
        assert_eq!(a.kind, Kind::SecurityGroup);
        assert_eq!(a.to_string(), "security_group.web");
        assert!(Address::parse("bucket.logs").is_none());
        assert!(Address::parse("vpc.Main").is_none());
        assert!(Address::parse("vpc").is_none());
        assert_eq!(Address::parse("instance.web[1]").unwrap().name, "web[1]");
        assert!(Address::parse("vpc.main[1]").is_none());
        assert!(Address::parse("instance.web[x]").is_none());
    }

    #[test]
    fn normalise_turns_owned_ids_into_addresses_and_keeps_foreign_ids() {
        let owned = HashMap::from([("vpc-1".to_string(), Address::new(Kind::Vpc, "main"))]);
        let v = Value::List(vec![Value::Id("vpc-2".into()), Value::Id("vpc-1".into())]);
        assert_eq!(
            v.normalise(&owned),
            Value::List(vec![
                Value::Ref(Address::new(Kind::Vpc, "main")),
                Value::Id("vpc-2".into())
            ])
        );
    }

    #[test]
    fn values_render_like_hcl() {
        let v = Value::map([
            ("port", Value::str("80")),
            ("cidr", Value::str("0.0.0.0/0")),
            ("Name tag", Value::Bool(true)),
        ]);
        assert_eq!(
            v.to_string(),
            r#"{ "Name tag" = true, cidr = "0.0.0.0/0", port = "80" }"#
        );
    }
}
