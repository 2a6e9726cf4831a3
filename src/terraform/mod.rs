//! Terraform's state (format 4: the state file, or `terraform state pull`),
//! read for `reconcile import --tfstate`: which resources map to which kind,
//! under which name, in which region, by which import id. Only ids and
//! regions are taken from it: every value of a generated block is read live
//! (`write`), for a state is as stale as its last refresh.

pub mod write;

use crate::model::schema::TerraformId;
use crate::model::{valid_name, Address, Kind};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Deserialize)]
struct RawState {
    version: u32,
    #[serde(default)]
    terraform_version: Option<String>,
    #[serde(default)]
    serial: Option<u64>,
    #[serde(default)]
    resources: Vec<RawResource>,
}

#[derive(Deserialize)]
struct RawResource {
    #[serde(default)]
    module: Option<String>,
    mode: String,
    #[serde(rename = "type")]
    tf_type: String,
    name: String,
    #[serde(default)]
    instances: Vec<RawInstance>,
}

#[derive(Deserialize)]
struct RawInstance {
    #[serde(default)]
    index_key: Option<Json>,
    #[serde(default)]
    attributes: serde_json::Map<String, Json>,
}

/// One resource instance of the state: `module.net.aws_subnet.public[0]`.
#[derive(Clone, Debug, PartialEq)]
pub struct TfResource {
    /// Its full address, as `terraform state rm` takes it.
    pub address: String,
    pub tf_type: String,
    /// The module path, resource name and index key, in order: what its
    /// block's name is made of.
    pub name_parts: Vec<String>,
    pub attributes: serde_json::Map<String, Json>,
}

impl TfResource {
    fn text(&self, key: &str) -> Option<&str> {
        self.attributes
            .get(key)
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Its region: the attribute (provider 6), an ARN's, an availability zone's.
    fn region(&self) -> Option<String> {
        if let Some(r) = self.text("region") {
            return Some(r.to_string());
        }
        if let Some(arn) = self.text("arn") {
            if let Some(r) = arn.split(':').nth(3).filter(|r| !r.is_empty()) {
                return Some(r.to_string());
            }
        }
        self.text("availability_zone").map(|z| {
            z.trim_end_matches(|c: char| c.is_ascii_lowercase())
                .to_string()
        })
    }
}

/// The state's managed resources (data sources left out), one per instance.
#[derive(Debug)]
pub struct State {
    pub terraform_version: Option<String>,
    pub serial: Option<u64>,
    pub resources: Vec<TfResource>,
}

pub fn parse(text: &str) -> Result<State> {
    let raw: RawState = serde_json::from_str(text).context(
        "not a Terraform state: expected the JSON of a state file (terraform.tfstate) or of `terraform state pull`",
    )?;
    if raw.version != 4 {
        bail!(
            "a Terraform state of format {}: reconcile reads format 4 (Terraform 0.12 and later); \
             run `terraform state pull` with a current Terraform to get one",
            raw.version
        );
    }
    let mut resources = Vec::new();
    for r in raw.resources.into_iter().filter(|r| r.mode == "managed") {
        let module = r.module.unwrap_or_default();
        let mut module_parts = Vec::new();
        // `module.net[0].module.sub["a"]`: names and keys of each call.
        for call in module.split("module.").filter(|c| !c.is_empty()) {
            let call = call.trim_end_matches('.');
            match call.split_once('[') {
                Some((name, key)) => {
                    module_parts.push(name.to_string());
                    module_parts.push(key.trim_end_matches(']').trim_matches('"').to_string());
                }
                None => module_parts.push(call.to_string()),
            }
        }
        for instance in r.instances {
            let (suffix, key) = match &instance.index_key {
                Some(Json::Number(n)) => (format!("[{n}]"), Some(n.to_string())),
                Some(Json::String(s)) => (format!("[{}]", Json::from(s.as_str())), Some(s.clone())),
                _ => (String::new(), None),
            };
            let prefix = if module.is_empty() {
                String::new()
            } else {
                format!("{module}.")
            };
            let mut name_parts = module_parts.clone();
            name_parts.push(r.name.clone());
            name_parts.extend(key);
            resources.push(TfResource {
                address: format!("{prefix}{}.{}{suffix}", r.tf_type, r.name),
                tf_type: r.tf_type.clone(),
                name_parts,
                attributes: instance.attributes,
            });
        }
    }
    Ok(State {
        terraform_version: raw.terraform_version,
        serial: raw.serial,
        resources,
    })
}

/// What becomes of one resource of the state.
#[derive(Clone, Debug, PartialEq)]
pub enum Mapping {
    /// A block of this kind, importing this id.
    Block { kind: Kind, id: String },
    /// Part of another resource's block, read with it (a route with its
    /// route table, a rule with its group, an attachment with its instance).
    Part { of: &'static str },
    /// Not reconcile's to manage: why.
    Unmapped(String),
}

/// How a resource of `state` maps.
pub fn map(state: &State, r: &TfResource) -> Mapping {
    let id = |key: &str| r.text(key).map(str::to_string);
    let block = |kind, id: Option<String>| match id {
        Some(id) => Mapping::Block { kind, id },
        None => Mapping::Unmapped("its id is not in the state".into()),
    };
    // Part of the resource of type `of` its `key` names: read with that
    // block, when the state has it; else nobody's here.
    let part = |of: &'static str, key: &str| {
        let parent = r.text(key).and_then(|id| {
            state
                .resources
                .iter()
                .find(|p| p.tf_type == of && p.text("id") == Some(id))
        });
        match parent {
            Some(_) => Mapping::Part { of },
            None => Mapping::Unmapped(format!(
                "part of an {of} ({}) that is not in this state",
                r.text(key).unwrap_or("?")
            )),
        }
    };
    match r.tf_type.as_str() {
        "aws_lb" | "aws_alb"
            if r.text("load_balancer_type").unwrap_or("application") != "application" =>
        {
            Mapping::Unmapped(format!(
                "a {} load balancer: reconcile manages application load balancers",
                r.text("load_balancer_type").unwrap_or_default()
            ))
        }
        "aws_cloudwatch_metric_alarm" if r.text("metric_name").is_none() => Mapping::Unmapped(
            "an alarm on a metric math expression: reconcile's alarms watch one metric".into(),
        ),
        "aws_route53_record" if r.text("set_identifier").is_some() => Mapping::Unmapped(
            "a record with a set identifier (weighted, latency or failover routing)".into(),
        ),
        "aws_route" | "aws_route_table_association" => part("aws_route_table", "route_table_id"),
        "aws_security_group_rule"
        | "aws_vpc_security_group_ingress_rule"
        | "aws_vpc_security_group_egress_rule" => part("aws_security_group", "security_group_id"),
        "aws_lb_target_group_attachment" | "aws_alb_target_group_attachment" => {
            part("aws_instance", "target_id")
        }
        // The address a NAT gateway of the state holds: read with it.
        "aws_eip"
            if state.resources.iter().any(|n| {
                n.tf_type == "aws_nat_gateway" && n.text("allocation_id") == r.text("id")
            }) =>
        {
            Mapping::Part {
                of: "aws_nat_gateway",
            }
        }
        other => match of_type(other) {
            Some((kind, TerraformId::Attribute(key))) => block(kind, id(key)),
            Some((kind, TerraformId::RecordNameType)) => match (r.text("name"), r.text("type")) {
                (Some(name), Some(t)) if crate::stack::RECORD_TYPES.contains(&t) => {
                    Mapping::Block {
                        kind,
                        id: format!("{} {t}", name.trim_end_matches('.').to_lowercase()),
                    }
                }
                (_, t) => Mapping::Unmapped(format!(
                    "a {} record: reconcile manages {}",
                    t.unwrap_or("?"),
                    crate::stack::RECORD_TYPES.join(", ")
                )),
            },
            None => Mapping::Unmapped(format!("reconcile has no kind for {other}")),
        },
    }
}

/// The kind a Terraform resource type is a block of (`Schema::terraform`),
/// and how its import id is read.
fn of_type(tf_type: &str) -> Option<(Kind, &'static TerraformId)> {
    Kind::ALL.iter().find_map(|&kind| {
        let t = kind.schema().terraform.as_ref()?;
        t.types.contains(&tf_type).then_some((kind, &t.id))
    })
}

/// Block names from Terraform addresses: the module path, the resource
/// name and its key joined by `_` (`module.network.aws_vpc.this` →
/// `network_this`, `aws_subnet.public[0]` → `public_0`), made a valid name,
/// and numbered where two of a kind would meet.
pub fn names(wanted: &[(Kind, &TfResource)]) -> Vec<Address> {
    let mut taken: BTreeSet<Address> = BTreeSet::new();
    wanted
        .iter()
        .map(|(kind, r)| {
            let base = block_name(&r.name_parts);
            let mut address = Address::new(*kind, base.clone());
            let mut n = 2;
            while taken.contains(&address) {
                address = Address::new(*kind, format!("{base}_{n}"));
                n += 1;
            }
            taken.insert(address.clone());
            address
        })
        .collect()
}

fn block_name(parts: &[String]) -> String {
    let joined = parts.join("_").to_lowercase();
    let mut name = String::new();
    for c in joined.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '-' {
            c
        } else {
            '_'
        };
        if !(c == '_' && (name.ends_with('_') || name.is_empty())) {
            name.push(c);
        }
    }
    let name = name.trim_end_matches('_').to_string();
    if valid_name(&name) {
        name
    } else {
        format!("tf_{name}")
    }
}

/// The region of each regional resource the state maps to a block, by its
/// address: its own, its subnet's or VPC's (a NAT gateway says none), or
/// `default`.
pub fn regions(state: &State, default: Option<&str>) -> Result<BTreeMap<String, String>> {
    let by_id = |id: &str| {
        state
            .resources
            .iter()
            .find(|o| o.text("id") == Some(id))
            .and_then(TfResource::region)
    };
    let mut found = BTreeMap::new();
    for r in &state.resources {
        if let Mapping::Block { kind, .. } = map(state, r) {
            if kind.service().global() {
                continue;
            }
            let near = || {
                ["subnet_id", "vpc_id"]
                    .iter()
                    .find_map(|k| by_id(r.text(k)?))
            };
            let region = match (r.region().or_else(near), default) {
                (Some(region), _) => region,
                (None, Some(d)) => d.to_string(),
                (None, None) => bail!(
                    "{}: the state does not say its region; give it with --region",
                    r.address
                ),
            };
            found.insert(r.address.clone(), region);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests;
