//! EC2 network kinds: discovery (one tag-filtered, paginated Describe per kind
//! per region) and the mutations of apply, tolerant of "already exists" and
//! "not found" so that a rerun after any failure converges.

mod instance;
mod internet_gateway;
mod launch_template;
mod nat_gateway;
mod route_table;
mod security_group;
mod subnet;
mod vpc;

use super::{required, retry_while, text, AwsError, Code, Created, Imports, Mutator, Scope};
use crate::model::profile::phase;
use crate::model::shapes::{default_egress, port_numbers, ports_text, route_value, rule_value};
use crate::model::tags::{self, USER_DATA as USER_DATA_TAG};
use crate::model::{Address, Attrs, Changed, Inputs, Kind, Observed, Value, STACK_TAG};
use aws_sdk_ec2::client::Waiters;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, IpPermission, IpRange, Ipv6Range, NetworkInterface,
    PrefixListId, ResourceType, Tag, TagSpecification, UserIdGroupPair,
};
use aws_sdk_ec2::Client;
use std::collections::{BTreeMap, BTreeSet};
use tracing::Instrument;

/// The kinds EC2 carries (`super::place`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::VariantArray)]
pub(super) enum Ec2Kind {
    Vpc,
    Subnet,
    InternetGateway,
    NatGateway,
    RouteTable,
    SecurityGroup,
    Instance,
    LaunchTemplate,
}

/// Everything a stack owns in a region: one call per kind, whatever the number of resources.
pub async fn discover(
    client: &Client,
    stack: &str,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let scope = Scope::Owned(stack);
    let reads = <Ec2Kind as strum::VariantArray>::VARIANTS
        .iter()
        .map(|&kind| read(client, scope, kind, region));
    Ok(futures::future::try_join_all(reads).await?.concat())
}

/// The live resources of `kind` that blocks import (`imports`: id → block),
/// read by their ids whoever owns them: one call.
pub async fn import(
    client: &Client,
    stack: &str,
    kind: Ec2Kind,
    imports: &Imports,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    read(client, Scope::Imported(stack, imports), kind, region).await
}

/// The resources of one kind in `scope`: one call.
async fn read(
    client: &Client,
    scope: Scope<'_>,
    kind: Ec2Kind,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    match kind {
        Ec2Kind::Vpc => vpc::discover(client, scope, region).await,
        Ec2Kind::Subnet => subnet::discover(client, scope, region).await,
        Ec2Kind::InternetGateway => internet_gateway::discover(client, scope, region).await,
        Ec2Kind::NatGateway => nat_gateway::discover(client, scope, region).await,
        Ec2Kind::RouteTable => route_table::discover(client, scope, region).await,
        Ec2Kind::SecurityGroup => security_group::discover(client, scope, region).await,
        Ec2Kind::Instance => instance::discover(client, scope, region).await,
        Ec2Kind::LaunchTemplate => launch_template::discover(client, scope, region).await,
    }
}

/// Items a page of a discovery Describe: the most EC2 takes (route tables
/// take 100). Every call stays bounded however much a stack owns, as AWS
/// recommends; an emulator filtering thousands of groups answers each page
/// within the call timeout where one unpaged answer would not.
const PAGE: i32 = 1000;

impl Scope<'_> {
    /// The filter of a Describe: the stack's tag, or the imported ids
    /// (`id_filter`: the kind's, e.g. `vpc-id`).
    fn filter(self, id_filter: &str) -> Filter {
        match self {
            Scope::Owned(stack) => Filter::builder()
                .name(format!("tag:{STACK_TAG}"))
                .values(stack)
                .build(),
            Scope::Imported(_, ids) => Filter::builder()
                .name(id_filter)
                .set_values(Some(ids.keys().cloned().collect()))
                .build(),
        }
    }
}

fn arn(region: &str, owner: Option<&str>, path: String) -> String {
    format!("arn:aws:ec2:{region}:{}:{path}", owner.unwrap_or_default())
}

fn exports(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn association_handle(subnet_id: &str) -> String {
    format!("association:{subnet_id}")
}

/// `super::observed` for EC2's tag lists.
fn observed(
    scope: Scope<'_>,
    region: &str,
    kind: Kind,
    tags: &[Tag],
    live_id: &str,
    attrs: impl IntoIterator<Item = (&'static str, Value)>,
    exports: impl IntoIterator<Item = (&'static str, String)>,
) -> Option<Observed> {
    let tags = tags
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect();
    let exports = exports
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    super::observed_in(scope, region, kind, &tags, live_id, attrs, exports)
}

fn list_ids(attrs: &Attrs, key: &str) -> BTreeSet<String> {
    super::ids(attrs, key).into_iter().collect()
}

fn set_items(attrs: &Attrs, key: &str) -> Vec<Value> {
    attrs
        .get(key)
        .map(Value::as_list)
        .unwrap_or_default()
        .to_vec()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

const EVENTUAL: u32 = 4;
const DEPENDENCIES: u32 = 8;

impl Mutator {
    fn tag_spec(&self, rt: ResourceType, address: &Address, attrs: &Attrs) -> TagSpecification {
        let tags = self
            .tag_pairs(address, attrs)
            .iter()
            .map(|(k, v)| tag(k, v))
            .collect();
        TagSpecification::builder()
            .resource_type(rt)
            .set_tags(Some(tags))
            .build()
    }

    pub(super) async fn ec2_create(
        &self,
        kind: Ec2Kind,
        address: &Address,
        attrs: &Attrs,
        inputs: &Inputs,
    ) -> Result<Created, AwsError> {
        match kind {
            Ec2Kind::Vpc => self.create_vpc(address, attrs, inputs).await,
            Ec2Kind::Subnet => self.create_subnet(address, attrs, inputs).await,
            Ec2Kind::InternetGateway => self.create_internet_gateway(address, attrs, inputs).await,
            Ec2Kind::NatGateway => self.create_nat_gateway(address, attrs, inputs).await,
            Ec2Kind::RouteTable => self.create_route_table(address, attrs, inputs).await,
            Ec2Kind::SecurityGroup => self.create_security_group(address, attrs, inputs).await,
            Ec2Kind::Instance => self.create_instance(address, attrs, inputs).await,
            Ec2Kind::LaunchTemplate => self.create_launch_template(address, attrs, inputs).await,
        }
    }

    /// Makes the live resource match `attrs` in the attributes the plan found `changed`.
    pub(super) async fn ec2_update(
        &self,
        kind: Ec2Kind,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        match kind {
            Ec2Kind::Vpc | Ec2Kind::NatGateway => {}
            Ec2Kind::Subnet => self.update_subnet(observed, attrs, changed).await?,
            Ec2Kind::InternetGateway => {
                self.update_internet_gateway(observed, attrs, changed)
                    .await?
            }
            Ec2Kind::RouteTable => self.update_route_table(observed, attrs, changed).await?,
            Ec2Kind::SecurityGroup => self.update_security_group(observed, attrs, changed).await?,
            Ec2Kind::Instance => self.update_instance(observed, attrs, changed).await?,
            Ec2Kind::LaunchTemplate => {
                self.update_launch_template(observed, attrs, changed, inputs)
                    .await?
            }
        }
        self.retag(observed, attrs, changed).await
    }

    pub(super) async fn ec2_write_tags(
        &self,
        id: &str,
        set: Vec<(String, String)>,
        stale: Vec<String>,
    ) -> Result<(), AwsError> {
        let set = set.iter().map(|(k, v)| tag(k, v)).collect();
        send!(
            "CreateTags",
            self.ec2.create_tags().resources(id).set_tags(Some(set))
        )?;
        if !stale.is_empty() {
            let stale = stale
                .iter()
                .map(|k| Tag::builder().key(k).build())
                .collect();
            send!(
                "DeleteTags",
                self.ec2.delete_tags().resources(id).set_tags(Some(stale))
            )?;
        }
        Ok(())
    }

    pub(super) async fn ec2_delete(
        &self,
        kind: Ec2Kind,
        observed: &Observed,
    ) -> Result<(), AwsError> {
        match kind {
            Ec2Kind::Vpc => self.delete_vpc(observed).await,
            Ec2Kind::Subnet => self.delete_subnet(observed).await,
            Ec2Kind::InternetGateway => self.delete_internet_gateway(observed).await,
            Ec2Kind::NatGateway => self.delete_nat_gateway(observed).await,
            Ec2Kind::RouteTable => self.delete_route_table(observed).await,
            Ec2Kind::SecurityGroup => self.delete_security_group(observed).await,
            Ec2Kind::Instance => self.delete_instance(observed).await,
            Ec2Kind::LaunchTemplate => self.delete_launch_template(observed).await,
        }
    }
}

fn region(c: &Client) -> String {
    c.config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default()
}
