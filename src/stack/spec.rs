//! The stack file's serde types. Every block denies unknown keys, and every
//! value a later check may reject is `Spanned`, so errors point at file:line:col.

use crate::model::{Address, Kind};
use ipnet::Ipv4Net;
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStack {
    pub stack: StackHeader,
    #[serde(default)]
    pub vpc: BTreeMap<String, Spanned<VpcSpec>>,
    #[serde(default)]
    pub subnet: BTreeMap<String, Spanned<SubnetSpec>>,
    #[serde(default)]
    pub internet_gateway: BTreeMap<String, Spanned<InternetGatewaySpec>>,
    #[serde(default)]
    pub route_table: BTreeMap<String, Spanned<RouteTableSpec>>,
    #[serde(default)]
    pub security_group: BTreeMap<String, Spanned<SecurityGroupSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackHeader {
    pub name: Spanned<String>,
    pub regions: Spanned<Vec<Spanned<String>>>,
    pub version: Option<String>,
    /// Tags put on every resource of the stack.
    #[serde(default)]
    pub tags: BTreeMap<String, Spanned<String>>,
}

/// Keys every resource block accepts, whatever its kind.
#[derive(Debug, Clone, Copy)]
pub struct Common<'a> {
    pub protect: bool,
    pub ignore_changes: &'a [Spanned<String>],
    pub regions: Option<&'a Spanned<Vec<Spanned<String>>>>,
    pub tags: &'a BTreeMap<String, Spanned<String>>,
}

/// Declares a resource block type with the keys common to all kinds appended
/// (serde's `flatten` cannot be combined with `deny_unknown_fields`).
macro_rules! resource_spec {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// Never delete or replace; recorded on the live resource as a tag.
            #[serde(default)]
            pub protect: bool,
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
                    protect: self.protect,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub cidr: Cidr,
    pub gateway: Spanned<Reference>,
}

resource_spec!(SecurityGroupSpec {
    vpc: Spanned<Reference>,
    /// Group name; defaults to `<stack>-<name>`.
    name: Option<Spanned<String>>,
    #[serde(default = "default_description")]
    description: String,
    #[serde(default)]
    ingress: Vec<Spanned<RuleSpec>>,
    /// Omitted: AWS's default allow-all egress, which is then not drift.
    egress: Option<Vec<Spanned<RuleSpec>>>,
});

fn default_description() -> String {
    "managed by reconcile".to_string()
}

#[derive(Debug, Clone, Deserialize)]
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

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "self" {
            return Ok(Reference::SelfGroup);
        }
        if let Some(address) = Address::parse(&s) {
            return Ok(Reference::Resource(address));
        }
        let is_live_id = Kind::ALL.iter().any(|k| {
            s.strip_prefix(k.id_prefix())
                .is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
        });
        if is_live_id {
            return Ok(Reference::LiveId(s));
        }
        Err(de::Error::custom(format!(
            "`{s}` is not a reference: write \"kind.name\" (for example \"vpc.main\"; kinds: {}) or a live id such as \"vpc-0a1b2c3d\"",
            Kind::ALL.map(Kind::as_str).join(", ")
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
