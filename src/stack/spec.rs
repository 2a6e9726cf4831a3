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
    ($($variant:ident $name:ident $family:ident :: $schema:ident $spec:ident [$($aws:tt)*],)*) => {
        /// A stack file as written.
        #[derive(Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct RawStack {
            /// The stack: its name, regions, version label, tags and rules.
            pub stack: StackHeader,
            $(
                #[serde(default)]
                pub $name: BTreeMap<String, Spanned<$spec>>,
            )*
            /// `[blue_green.NAME]`: a listener's or rule's forward handed to `reconcile cutover`.
            #[serde(default)]
            pub blue_green: BTreeMap<String, Spanned<BlueGreenSpec>>,
            /// `[[moved]]`: a block renamed; its live resource is kept and retagged.
            #[serde(default)]
            pub moved: Vec<Spanned<MovedSpec>>,
            /// `[[verify]]`: the checks of `verify`, of each rollout wave and cutover step.
            #[serde(default)]
            pub verify: Vec<Spanned<VerifySpec>>,
            /// When `apply`, `rollout` and `cutover` may change things.
            pub change_window: Option<ChangeWindowSpec>,
            /// The regions in waves, each applied, verified and baked before the next.
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
    /// The waves, in order: every region of the stack in exactly one.
    pub waves: Vec<Spanned<WaveSpec>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaveSpec {
    /// The wave's name, as reports and `--from-wave` say it.
    pub name: Spanned<String>,
    /// The regions applied in this wave.
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
    /// When changes are allowed (none: always, but in a freeze).
    #[serde(default)]
    pub allow: Vec<Spanned<AllowSpec>>,
    /// Dates no change is made; a freeze beats an allow.
    #[serde(default)]
    pub freeze: Vec<Spanned<FreezeSpec>>,
}

/// Days and hours in a time zone: `{ days = "mon-fri", hours = "14:00-18:00", timezone = "Europe/Berlin" }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowSpec {
    /// Days of the week: `mon-fri`, `sat,sun`, `daily`.
    pub days: Spanned<String>,
    /// Hours of the day, `HH:MM-HH:MM` (a night runs into the next day).
    pub hours: Spanned<String>,
    /// An IANA time zone (default UTC).
    pub timezone: Option<Spanned<String>>,
}

/// Dates, inclusive, in a time zone: `{ from = "2026-12-20", to = "2027-01-04", reason = "…" }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeSpec {
    /// The first day of the freeze, `YYYY-MM-DD`.
    pub from: Spanned<String>,
    /// The last day of the freeze, `YYYY-MM-DD` (inclusive).
    pub to: Spanned<String>,
    /// Why: said when a change is refused.
    pub reason: Option<String>,
    /// An IANA time zone (default UTC).
    pub timezone: Option<Spanned<String>>,
}

/// A `[[verify]]` check: a CloudWatch metric held to thresholds over a
/// window, or the state of an alarm (`alarm` / `alarm_name`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    /// The check's name, in reports.
    pub name: Spanned<String>,
    /// The CloudWatch namespace of a metric check.
    pub namespace: Option<Spanned<String>>,
    /// The metric's name.
    pub metric: Option<Spanned<String>>,
    /// The metric's dimensions; values may interpolate live attributes and `${blue_green.NAME.target}`.
    #[serde(default)]
    pub dimensions: BTreeMap<String, Spanned<String>>,
    /// Sum, Average, Minimum, Maximum, SampleCount or a percentile (`p99`).
    pub statistic: Option<Spanned<String>>,
    /// The metric's period (default 1m).
    pub period: Option<Spanned<String>>,
    /// The span evaluated, whole periods (default 5m).
    pub window: Option<Spanned<String>>,
    /// The newest periods left out, still filling (default 2m).
    pub lag: Option<Spanned<String>>,
    /// Fails below this value.
    pub min: Option<Spanned<f64>>,
    /// Fails above this value.
    pub max: Option<Spanned<f64>>,
    /// `pass` or `fail` (default): what a window without data means.
    pub no_data: Option<Spanned<String>>,
    /// The regions it runs in (default all of the stack's).
    pub regions: Option<Spanned<Vec<Spanned<String>>>>,
    /// Fails only after this many failed evaluations in a row (soaks, bakes).
    pub consecutive: Option<Spanned<i64>>,
    /// An alarm of this stack (`alarm.NAME`): ALARM fails, OK passes.
    pub alarm: Option<Spanned<String>>,
    /// An alarm of someone else's, by its CloudWatch name.
    pub alarm_name: Option<Spanned<String>>,
}

/// A block renamed in the file: the live resource keeps living, retagged.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MovedSpec {
    /// The address a live resource still carries (`subnet.old`).
    pub from: Spanned<String>,
    /// The block it now belongs to (`subnet.new`).
    pub to: Spanned<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackHeader {
    /// The stack's name: the value of the `reconcile:stack` tag on everything it owns.
    pub name: Spanned<String>,
    /// The regions every block exists in, unless a block names its own.
    pub regions: Spanned<Vec<Spanned<String>>>,
    /// The version label recorded on what a change touches (`--version-label` overrides).
    pub version: Option<String>,
    /// The AWS account (or accounts) the stack lives in: credentials of
    /// another are refused before anything is read.
    pub account: Option<Spanned<OneOrMany>>,
    /// The IAM role every command assumes before its first call: its ARN, or
    /// a table with the role plans take and the session's terms.
    pub role: Option<Spanned<RoleSpec>>,
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

/// `[stack] role`: an ARN, or its table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RoleSpec {
    Arn(String),
    Table(RoleTable),
}

/// `[stack.role]`: the deploy role, the read-only role of `plan`, `verify`
/// and `status`, and the terms of the session.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleTable {
    /// The role `apply`, `rollout`, `cutover`, `unlock` assume (and the
    /// reading commands, unless `plan` names another).
    pub arn: String,
    /// The role `plan`, `verify` and `status` assume: one that can only read.
    pub plan: Option<String>,
    /// The external id the role's trust policy asks for.
    pub external_id: Option<String>,
    /// How long one session lasts before it is renewed (15m to 12h, at most
    /// the role's maximum; AWS's default: 1h).
    pub duration: Option<String>,
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
        #[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// Never delete or replace; recorded on the live resource as a tag.
            /// Unset: false, except for an imported database.
            pub protect: Option<bool>,
            /// `import = "ID"`: the live resource this block takes over
            /// (per region as other values; one per copy with `count`).
            pub import: Option<$crate::stack::spec::Spanned<$crate::stack::spec::Regional<$crate::stack::spec::ImportIds>>>,
            /// Attributes reconcile leaves alone, as they are live.
            #[serde(default)]
            pub ignore_changes: Vec<$crate::stack::spec::Spanned<String>>,
            /// Restricts the resource to some of the stack's regions.
            pub regions: Option<$crate::stack::spec::Spanned<Vec<$crate::stack::spec::Spanned<String>>>>,
            /// Tags of this resource, beside the stack's.
            #[serde(default)]
            pub tags: std::collections::BTreeMap<String, $crate::stack::spec::Spanned<String>>,
        }

        impl $name {
            pub fn common(&self) -> $crate::stack::spec::Common<'_> {
                $crate::stack::spec::Common {
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
pub(crate) use resource_spec;

// Each kind's block lives with its checks, in its family's file of `validate`.
pub use super::validate::alarm::*;
pub use super::validate::balancing::*;
pub use super::validate::certificate::*;
pub use super::validate::compute::*;
pub use super::validate::database::*;
pub use super::validate::dns::*;
pub use super::validate::iam::*;
pub use super::validate::network::*;

/// Hands a listener's or rule's forward action to blue-green switching: its
/// live weights and active colour are then authoritative, never drift.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlueGreenSpec {
    /// The listener whose default forward the pair owns.
    pub listener: Option<Spanned<Reference>>,
    /// The rule whose forward the pair owns.
    pub listener_rule: Option<Spanned<Reference>>,
    /// The blue colour's target group.
    pub blue: Spanned<Reference>,
    /// The green colour's target group.
    pub green: Spanned<Reference>,
    /// Healthy targets a colour needs to take traffic (default: all its
    /// registered targets, at least one).
    pub min_healthy: Option<Spanned<i64>>,
    /// `reconcile cutover` defaults: the target colour's weight at each step,
    /// the bake after each, and how often checks run during a bake.
    pub steps: Option<Spanned<Vec<i64>>>,
    /// How long each step bakes with checks (default 5m).
    pub bake: Option<Spanned<String>>,
    /// How often checks run during a bake (default 30s).
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
