//! The stack file's serde types. Every block denies unknown keys, and every
//! value a later check may reject is `Spanned`, so errors point at file:line:col.

pub use super::spanned::Spanned;
use crate::model::{Address, Kind};
use ipnet::Ipv4Net;
use schemars::JsonSchema;
use schemars::{json_schema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

/// `RawStack`, with a `[kind.name]` table of every kind of the registry.
macro_rules! raw_stack {
    ($($variant:ident $name:ident $family:ident :: $schema:ident $spec:ident,)*) => {
        /// A stack file as written.
        #[derive(Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct RawStack {
            pub stack: StackHeader,
            $(
                #[serde(default)]
                pub $name: BTreeMap<String, Spanned<$spec>>,
            )*
            #[serde(default)]
            pub blue_green: BTreeMap<String, Spanned<BlueGreenSpec>>,
            #[serde(default)]
            pub moved: Vec<Spanned<MovedSpec>>,
            #[serde(default)]
            pub verify: Vec<Spanned<VerifySpec>>,
            pub change_window: Option<ChangeWindowSpec>,
            pub rollout: Option<Spanned<RolloutSpec>>,
        }
    };
}
crate::model::kinds::kinds!(raw_stack);

/// `[rollout]`: the regions in waves, each applied, verified and baked before the next.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutSpec {
    /// How often checks run during a bake (default 1m).
    pub every: Option<Spanned<String>>,
    pub waves: Vec<Spanned<WaveSpec>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaveSpec {
    pub name: Spanned<String>,
    pub regions: Spanned<Vec<Spanned<String>>>,
    /// How long the wave bakes with checks after it is applied (default none).
    pub bake: Option<Spanned<String>>,
    /// How many of its regions are applied at once (default 1).
    pub max_parallel: Option<Spanned<i64>>,
}

/// `[change_window]`: when changes may be made.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeWindowSpec {
    #[serde(default)]
    pub allow: Vec<Spanned<AllowSpec>>,
    #[serde(default)]
    pub freeze: Vec<Spanned<FreezeSpec>>,
}

/// Days and hours in a time zone: `{ days = "mon-fri", hours = "14:00-18:00", timezone = "Europe/Berlin" }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowSpec {
    pub days: Spanned<String>,
    pub hours: Spanned<String>,
    pub timezone: Option<Spanned<String>>,
}

/// Dates, inclusive, in a time zone: `{ from = "2026-12-20", to = "2027-01-04", reason = "…" }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeSpec {
    pub from: Spanned<String>,
    pub to: Spanned<String>,
    pub reason: Option<String>,
    pub timezone: Option<Spanned<String>>,
}

/// A `[[verify]]` check: a CloudWatch metric held to thresholds over a
/// window, or the state of an alarm (`alarm` / `alarm_name`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    pub name: Spanned<String>,
    pub namespace: Option<Spanned<String>>,
    pub metric: Option<Spanned<String>>,
    #[serde(default)]
    pub dimensions: BTreeMap<String, Spanned<String>>,
    pub statistic: Option<Spanned<String>>,
    pub period: Option<Spanned<String>>,
    pub window: Option<Spanned<String>>,
    pub lag: Option<Spanned<String>>,
    pub min: Option<Spanned<f64>>,
    pub max: Option<Spanned<f64>>,
    pub no_data: Option<Spanned<String>>,
    pub regions: Option<Spanned<Vec<Spanned<String>>>>,
    pub consecutive: Option<Spanned<i64>>,
    pub alarm: Option<Spanned<String>>,
    pub alarm_name: Option<Spanned<String>>,
}

/// A block renamed in the file: the live resource keeps living, retagged.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MovedSpec {
    pub from: Spanned<String>,
    pub to: Spanned<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackHeader {
    pub name: Spanned<String>,
    pub regions: Spanned<Vec<Spanned<String>>>,
    pub version: Option<String>,
    /// Tags put on every resource of the stack.
    #[serde(default)]
    pub tags: BTreeMap<String, Spanned<String>>,
    /// How a change to this stack is approved.
    #[serde(default)]
    pub approval: Approval,
    /// Rego policy files or directories every plan is judged by, relative to
    /// the stack file (`crate::policy`).
    #[serde(default)]
    pub policies: Vec<Spanned<String>>,
}

/// `[stack] approval`: what may change the stack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Approval {
    /// `apply --auto-approve`, an interactive yes, or a saved plan.
    #[default]
    Any,
    /// Only a reviewed saved plan (`plan --out`, then `apply PLAN.json`), or
    /// an interactive yes: never `--auto-approve` of the stack file.
    SavedPlan,
}

/// The id of a live resource a block takes over (`import`): one, or one
/// per copy of a block with `count`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ImportIds {
    One(String),
    PerCopy(Vec<String>),
}

/// Keys every resource block accepts, whatever its kind.
#[derive(Debug, Clone, Copy)]
pub struct Common<'a> {
    pub protect: bool,
    /// `protect` as written, if it was.
    pub protect_given: Option<bool>,
    pub import: Option<&'a Spanned<Regional<ImportIds>>>,
    pub ignore_changes: &'a [Spanned<String>],
    pub regions: Option<&'a Spanned<Vec<Spanned<String>>>>,
    pub tags: &'a BTreeMap<String, Spanned<String>>,
}

/// Declares a resource block type with the keys common to all kinds appended
/// (serde's `flatten` cannot be combined with `deny_unknown_fields`).
macro_rules! resource_spec {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// Never delete or replace; recorded on the live resource as a tag.
            /// Unset: false, except for an imported database.
            pub protect: Option<bool>,
            /// `import = "ID"`: the live resource this block takes over
            /// (per region as other values; one per copy with `count`).
            pub import: Option<Spanned<Regional<ImportIds>>>,
            #[serde(default)]
            pub ignore_changes: Vec<Spanned<String>>,
            /// Restricts the resource to some of the stack's regions.
            pub regions: Option<Spanned<Vec<Spanned<String>>>>,
            #[serde(default)]
            pub tags: BTreeMap<String, Spanned<String>>,
        }

        impl $name {
            pub fn common(&self) -> Common<'_> {
                Common {
                    protect: self.protect.unwrap_or(false),
                    protect_given: self.protect,
                    import: self.import.as_ref(),
                    ignore_changes: &self.ignore_changes,
                    regions: self.regions.as_ref(),
                    tags: &self.tags,
                }
            }
        }
    };
}

resource_spec!(VpcSpec {
    cidr: Spanned<Regional<Cidr>>,
});

resource_spec!(SubnetSpec {
    vpc: Spanned<Reference>,
    cidr: Spanned<Regional<Cidr>>,
    /// A zone letter (`a` → `us-west-2a`) or a full zone name.
    zone: Spanned<Regional<String>>,
    #[serde(default)]
    map_public_ip_on_launch: bool,
});

resource_spec!(NatGatewaySpec {
    /// The (public) subnet it lives in; private subnets route to it.
    subnet: Spanned<Reference>,
});

resource_spec!(InternetGatewaySpec {
    vpc: Option<Spanned<Reference>>,
});

resource_spec!(RouteTableSpec {
    vpc: Spanned<Reference>,
    #[serde(default)]
    subnets: Vec<Spanned<Reference>>,
    #[serde(default)]
    routes: Vec<Spanned<RouteSpec>>,
});

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub cidr: Cidr,
    /// An internet gateway: of the stack, or by live id (`igw-…`).
    pub gateway: Option<Spanned<Reference>>,
    /// A NAT gateway: of the stack, or by live id (`nat-…`).
    pub nat_gateway: Option<Spanned<Reference>>,
    /// Targets reconcile does not create, by live id: `pcx-…`, `tgw-…`, `eni-…`.
    pub vpc_peering: Option<Spanned<String>>,
    pub transit_gateway: Option<Spanned<String>>,
    pub network_interface: Option<Spanned<String>>,
}

impl RouteSpec {
    /// The targets given by live id, by their key in a route (`model::shapes::ROUTE_TARGETS`).
    pub fn live_targets(&self) -> [(&'static str, Option<&Spanned<String>>); 3] {
        [
            ("vpc_peering", self.vpc_peering.as_ref()),
            ("transit_gateway", self.transit_gateway.as_ref()),
            ("network_interface", self.network_interface.as_ref()),
        ]
    }
}

resource_spec!(SecurityGroupSpec {
    vpc: Spanned<Reference>,
    /// Group name; defaults to `<stack>-<name>`.
    name: Option<Spanned<String>>,
    #[serde(default = "default_group_description")]
    description: Spanned<String>,
    #[serde(default)]
    ingress: Vec<Spanned<RuleSpec>>,
    /// Omitted: AWS's default allow-all egress, which is then not drift.
    egress: Option<Vec<Spanned<RuleSpec>>>,
});

fn default_description() -> String {
    "managed by reconcile".to_string()
}

fn default_group_description() -> Spanned<String> {
    Spanned::new(0..0, default_description())
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// `tcp`, `udp`, `icmp`, `all` (or `-1`), or an IP protocol number.
    pub protocol: String,
    pub port: Option<i64>,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    pub cidr: Option<Cidr>,
    /// Another group of the stack, `"self"` for this group, or a live `sg-` id.
    pub security_group: Option<Spanned<Reference>>,
    pub description: Option<String>,
}

resource_spec!(LoadBalancerSpec {
    /// `internet-facing` (the default) or `internal`.
    #[serde(default = "internet_facing")]
    scheme: Spanned<String>,
    subnets: Vec<Spanned<Reference>>,
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

resource_spec!(TargetGroupSpec {
    vpc: Spanned<Reference>,
    #[serde(default = "http")]
    protocol: Spanned<String>,
    port: Spanned<i64>,
    /// `instance` (the default), `ip` or `lambda`.
    #[serde(default = "instance")]
    target_type: Spanned<String>,
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
    pub path: Option<String>,
    pub protocol: Option<String>,
    pub port: Option<String>,
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub healthy_threshold: Option<i64>,
    pub unhealthy_threshold: Option<i64>,
    /// HTTP codes, e.g. `"200"` or `"200-299"`.
    pub matcher: Option<String>,
}

resource_spec!(ListenerSpec {
    load_balancer: Spanned<Reference>,
    port: Spanned<i64>,
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
    default_action: Spanned<ActionSpec>,
});

resource_spec!(LaunchTemplateSpec {
    /// AMIs differ per region, as an instance's.
    ami: Spanned<Regional<String>>,
    instance_type: String,
    #[serde(default)]
    security_groups: Vec<Spanned<Reference>>,
    instance_profile: Option<Spanned<Reference>>,
    /// Compared by its digest; given to EC2 base64-encoded.
    user_data: Option<String>,
    /// An EC2 key pair's name, for SSH.
    key_name: Option<String>,
});

resource_spec!(AutoscalingGroupSpec {
    launch_template: Spanned<Reference>,
    subnets: Vec<Spanned<Reference>>,
    min: Spanned<i64>,
    max: Spanned<i64>,
    /// Left out: whoever scales the group owns its desired capacity.
    desired: Option<Spanned<i64>>,
    #[serde(default)]
    target_groups: Vec<Spanned<Reference>>,
    #[serde(default)]
    health_check: GroupHealthCheckSpec,
});

/// How a group judges its instances: EC2's status checks, or also its
/// target groups' (`ELB`), after a grace period from launch.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupHealthCheckSpec {
    #[serde(rename = "type")]
    pub check_type: Option<Spanned<String>>,
    /// `"60s"`, `"5m"`: 0 when left out, as AWS's API.
    pub grace: Option<Spanned<String>>,
}

resource_spec!(IamRoleSpec {
    /// The services that may assume it: `"ec2.amazonaws.com"`, or a list.
    assume: Spanned<OneOrMany>,
    /// ARNs of managed policies attached to it.
    #[serde(default)]
    managed_policies: Vec<Spanned<String>>,
    /// Inline policies: name → the policy document (JSON).
    #[serde(default)]
    policies: BTreeMap<String, Spanned<String>>,
});

resource_spec!(InstanceProfileSpec {
    role: Spanned<Reference>,
});

/// A string, or a list of them.
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany(pub Vec<String>);

impl JsonSchema for OneOrMany {
    fn schema_name() -> Cow<'static, str> {
        "OneOrMany".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "string" },
                { "type": "array", "items": { "type": "string" } }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;

        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, or a list of strings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut all = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    all.push(s);
                }
                Ok(OneOrMany(all))
            }
        }

        d.deserialize_any(V)
    }
}

resource_spec!(AcmCertificateSpec {
    domain: Spanned<String>,
    #[serde(default)]
    alternative_names: Vec<Spanned<String>>,
    /// The public zone the DNS validation records are written in:
    /// `dns_zone.main`, or a hosted zone id. Without one, apply says which
    /// records to write and waits for them.
    validation_zone: Option<Spanned<Reference>>,
});

resource_spec!(ListenerRuleSpec {
    listener: Spanned<Reference>,
    priority: Spanned<i64>,
    conditions: Spanned<ConditionsSpec>,
    action: Spanned<ActionSpec>,
});

/// What a listener or rule does with a request: exactly one of the three.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    pub forward: Option<Spanned<ForwardSpec>>,
    /// A forward's group stickiness: a client stays on the target group it
    /// first got for this long (`"1h"`; 1 s to 7 days).
    pub stickiness: Option<Spanned<String>>,
    pub fixed_response: Option<FixedResponseSpec>,
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
    pub target_group: Spanned<Reference>,
    pub weight: i64,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixedResponseSpec {
    pub status: i64,
    #[serde(default = "text_plain")]
    pub content_type: String,
    pub body: Option<String>,
}

fn text_plain() -> String {
    crate::model::shapes::FIXED_RESPONSE_CONTENT_TYPE.to_string()
}

/// Unset parts keep the request's own (`#{host}` …), as AWS does.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedirectSpec {
    pub protocol: Option<String>,
    pub port: Option<String>,
    pub host: Option<String>,
    pub path: Option<String>,
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
    #[serde(default)]
    pub path: Vec<String>,
    #[serde(default)]
    pub host: Vec<String>,
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
    pub key: Option<String>,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderCondition {
    pub name: String,
    pub values: Vec<String>,
}

resource_spec!(InstanceSpec {
    /// AMIs differ per region: `ami = { us-west-2 = "ami-…", eu-west-1 = "ami-…" }`.
    ami: Spanned<Regional<String>>,
    instance_type: String,
    subnet: Spanned<Reference>,
    #[serde(default)]
    security_groups: Vec<Spanned<Reference>>,
    /// How many identical instances: addresses become `instance.name[0]`, `[1]`, …
    count: Option<Spanned<i64>>,
    user_data: Option<String>,
    /// Target groups the instance is registered in.
    #[serde(default)]
    target_groups: Vec<Spanned<Reference>>,
    /// `instance_profile.app`: the IAM role its programs act as.
    instance_profile: Option<Spanned<Reference>>,
});

resource_spec!(DbSubnetGroupSpec {
    subnets: Vec<Spanned<Reference>>,
    #[serde(default = "default_description")]
    description: String,
});

resource_spec!(DbParameterGroupSpec {
    /// The parameter group family, e.g. `postgres16`.
    family: String,
    #[serde(default = "default_description")]
    description: String,
    /// Engine parameters by name: `log_min_duration_statement = "500"`.
    #[serde(default)]
    parameters: BTreeMap<String, String>,
});

resource_spec!(DbInstanceSpec {
    /// The DB instance identifier: what it is called in AWS. A change replaces it.
    identifier: Spanned<String>,
    engine: Spanned<String>,
    /// Unset: whatever AWS picks at creation, not compared afterwards.
    engine_version: Option<String>,
    instance_class: String,
    allocated_storage: Spanned<i64>,
    storage_type: Option<String>,
    subnet_group: Spanned<Reference>,
    /// Unset: the engine's default group, not compared.
    parameter_group: Option<Spanned<Reference>>,
    /// Unset: whatever AWS assigns (the VPC's default group), not compared.
    security_groups: Option<Vec<Spanned<Reference>>>,
    #[serde(default)]
    multi_az: bool,
    #[serde(default = "seven")]
    backup_retention_days: Spanned<i64>,
    #[serde(default)]
    deletion_protection: bool,
    #[serde(default)]
    publicly_accessible: bool,
    master_username: String,
    /// The environment variable holding the master password: never in a file,
    /// a plan, a log or an error.
    master_password_env: Spanned<String>,
    /// Modifications take effect now (`true`) or in the next maintenance window.
    #[serde(default)]
    apply_immediately: bool,
});

fn seven() -> Spanned<i64> {
    Spanned::new(0..0, 7)
}

resource_spec!(AlarmSpec {
    /// Its name in CloudWatch (default `<stack>.<name>`): an imported
    /// alarm keeps its own. A change replaces the alarm.
    name: Option<Spanned<String>>,
    namespace: String,
    metric: String,
    /// Values may interpolate live attributes: `"${load_balancer.app.arn_suffix}"`.
    #[serde(default)]
    dimensions: BTreeMap<String, Spanned<String>>,
    statistic: Spanned<String>,
    period: Spanned<i64>,
    #[serde(default = "one")]
    evaluation_periods: Spanned<i64>,
    threshold: f64,
    comparison: Spanned<String>,
    /// `missing` (the default), `breaching`, `notBreaching` or `ignore`.
    #[serde(default = "missing")]
    treat_missing_data: Spanned<String>,
    description: Option<String>,
});

fn public() -> Spanned<bool> {
    Spanned::new(0..0, false)
}

fn one() -> Spanned<i64> {
    Spanned::new(0..0, 1)
}

fn missing() -> Spanned<String> {
    Spanned::new(0..0, "missing".to_string())
}

resource_spec!(DnsZoneSpec {
    /// A public zone: adopted when one with this name exists, created otherwise.
    name: Spanned<String>,
    /// A private zone, answering only inside `vpcs`: always created, never
    /// adopted. Fixed at creation (a change replaces the zone).
    #[serde(default = "public")]
    private: Spanned<bool>,
    /// The VPCs (in the zone's home region) a private zone answers in.
    #[serde(default)]
    vpcs: Vec<Spanned<Reference>>,
});

resource_spec!(DnsRecordSpec {
    zone: Spanned<Reference>,
    name: Spanned<String>,
    /// `A`, `AAAA`, `CNAME`, `TXT` or `MX`.
    #[serde(rename = "type")]
    record_type: Spanned<String>,
    ttl: Option<Spanned<i64>>,
    #[serde(default)]
    values: Vec<String>,
    /// An alias to a load balancer of the stack, instead of `ttl` and `values`.
    alias: Option<Spanned<Reference>>,
    /// Take over a record of this name and type that exists without
    /// reconcile's marker (shown as an adoption); without it, such a record
    /// makes the plan refuse.
    #[serde(default)]
    adopt: bool,
});

/// Hands a listener's or rule's forward action to blue-green switching: its
/// live weights and active colour are then authoritative, never drift.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlueGreenSpec {
    pub listener: Option<Spanned<Reference>>,
    pub listener_rule: Option<Spanned<Reference>>,
    pub blue: Spanned<Reference>,
    pub green: Spanned<Reference>,
    /// Healthy targets a colour needs to take traffic (default: all its
    /// registered targets, at least one).
    pub min_healthy: Option<Spanned<i64>>,
    /// `reconcile cutover` defaults: the target colour's weight at each step,
    /// the bake after each, and how often checks run during a bake.
    pub steps: Option<Spanned<Vec<i64>>>,
    pub bake: Option<Spanned<String>>,
    pub every: Option<Spanned<String>>,
}

/// A reference to another resource: `"kind.name"` in this stack, or a live AWS id
/// (`vpc-0abc…`) for something reconcile does not own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reference {
    Resource(Address),
    LiveId(String),
    /// `"self"` in a security group rule.
    SelfGroup,
}

impl Reference {
    pub fn address(&self) -> Option<&Address> {
        match self {
            Reference::Resource(a) => Some(a),
            _ => None,
        }
    }
}

impl JsonSchema for Reference {
    fn schema_name() -> Cow<'static, str> {
        "Reference".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A block of this stack, `kind.name` (`instance.web[1]` for a copy), a live id of what reconcile does not own (`vpc-0a1b2c3d`, an ARN), or `self` in a security group rule.",
            "pattern": "^([a-z_]+\\.[a-z][a-z0-9_-]*(\\[[0-9]+\\])?|self|[a-z]+-[0-9a-f]+|arn:.+|[A-Z0-9]{5,32})$",
            "examples": ["vpc.main", "subnet.public_a", "sg-0123456789abcdef0"]
        })
    }
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "self" {
            return Ok(Reference::SelfGroup);
        }
        if let Some(address) = Address::parse(&s) {
            return Ok(Reference::Resource(address));
        }
        if Kind::ALL.iter().any(|k| k.is_live_id(&s)) {
            return Ok(Reference::LiveId(s));
        }
        Err(de::Error::custom(format!(
            "`{s}` is not a reference: write \"kind.name\" (for example \"vpc.main\"; kinds: {}) or a live id such as \"vpc-0a1b2c3d\"",
            Kind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
        )))
    }
}

/// An IPv4 CIDR block whose host bits are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cidr(pub Ipv4Net);

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl JsonSchema for Cidr {
    fn schema_name() -> Cow<'static, str> {
        "Cidr".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "An IPv4 CIDR block, host bits zero.",
            "pattern": "^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$",
            "examples": ["10.0.0.0/16"]
        })
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let net: Ipv4Net = s.parse().map_err(|_| {
            de::Error::custom(format!(
                "invalid CIDR `{s}`: expected an IPv4 block such as \"10.0.0.0/16\""
            ))
        })?;
        if net.trunc() != net {
            return Err(de::Error::custom(format!(
                "invalid CIDR `{s}`: host bits are set; did you mean \"{}\"?",
                net.trunc()
            )));
        }
        Ok(Cidr(net))
    }
}

/// A value that is the same in every region, or given per region:
/// `ami = { us-west-2 = "ami-1", us-east-1 = "ami-2" }`, with an optional `default`.
#[derive(Debug, Clone, PartialEq)]
pub enum Regional<T> {
    Same(T),
    ByRegion(BTreeMap<String, T>),
}

pub const DEFAULT_REGION_KEY: &str = "default";

impl<T> Regional<T> {
    pub fn get(&self, region: &str) -> Option<&T> {
        match self {
            Regional::Same(v) => Some(v),
            Regional::ByRegion(m) => m.get(region).or_else(|| m.get(DEFAULT_REGION_KEY)),
        }
    }
}

impl<T: JsonSchema> JsonSchema for Regional<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("Regional_{}", T::schema_name()).into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let value = generator.subschema_for::<T>();
        json_schema!({
            "anyOf": [
                value,
                {
                    "type": "object",
                    "description": "Per region, with an optional `default`.",
                    "additionalProperties": value
                }
            ]
        })
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Regional<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RegionalVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for RegionalVisitor<T> {
            type Value = Regional<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value, or a table of values by region")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(Regional::Same)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(Regional::Same)
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(Regional::Same)
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Regional::Same)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut values = BTreeMap::new();
                while let Some((region, value)) = map.next_entry::<String, T>()? {
                    values.insert(region, value);
                }
                Ok(Regional::ByRegion(values))
            }
        }

        d.deserialize_any(RegionalVisitor(PhantomData))
    }
}
