//! EC2 network kinds: discovery (one tag-filtered, paginated Describe per kind
//! per region) and the mutations of apply, tolerant of "already exists" and
//! "not found" so that a rerun after any failure converges.

use super::{required, retry_while, text, AwsError, Code, Created, Mutator};
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

/// The kinds EC2 carries (`super::place`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ec2Kind {
    Vpc,
    Subnet,
    InternetGateway,
    NatGateway,
    RouteTable,
    SecurityGroup,
    Instance,
}

/// Everything a stack owns in a region: one call per kind, whatever the number of resources.
pub async fn discover(
    client: &Client,
    stack: &str,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let owned_by = || {
        Filter::builder()
            .name(format!("tag:{STACK_TAG}"))
            .values(stack)
            .build()
    };
    let live_states = Filter::builder()
        .name("instance-state-name")
        .set_values(Some(
            ["pending", "running", "stopping", "stopped"]
                .map(String::from)
                .to_vec(),
        ))
        .build();
    let nat_states = Filter::builder()
        .name("state")
        .set_values(Some(["pending", "available"].map(String::from).to_vec()))
        .build();
    let (vpcs, subnets, gateways, nats, tables, groups, reservations) = tokio::try_join!(
        async { all_pages!("DescribeVpcs", client.describe_vpcs().filters(owned_by())) },
        async {
            all_pages!(
                "DescribeSubnets",
                client.describe_subnets().filters(owned_by())
            )
        },
        async {
            all_pages!(
                "DescribeInternetGateways",
                client.describe_internet_gateways().filters(owned_by())
            )
        },
        async {
            all_pages!(
                "DescribeNatGateways",
                client
                    .describe_nat_gateways()
                    .filter(owned_by())
                    .filter(nat_states.clone())
            )
        },
        async {
            all_pages!(
                "DescribeRouteTables",
                client.describe_route_tables().filters(owned_by())
            )
        },
        async {
            all_pages!(
                "DescribeSecurityGroups",
                client.describe_security_groups().filters(owned_by())
            )
        },
        async {
            all_pages!(
                "DescribeInstances",
                client
                    .describe_instances()
                    .filters(owned_by())
                    .filters(live_states.clone())
            )
        },
    )?;
    let arn = |owner: Option<&str>, path: String| {
        format!("arn:aws:ec2:{region}:{}:{path}", owner.unwrap_or_default())
    };
    let mut found = Vec::new();
    for v in vpcs {
        let id = v.vpc_id().unwrap_or_default();
        let cidr = v.cidr_block().unwrap_or_default();
        found.extend(observed(
            region,
            Kind::Vpc,
            v.tags(),
            id,
            [("cidr", Value::str(cidr))],
            [
                ("id", id.to_string()),
                ("cidr", cidr.to_string()),
                ("arn", arn(v.owner_id(), format!("vpc/{id}"))),
            ],
        ));
    }
    for s in subnets {
        let id = s.subnet_id().unwrap_or_default();
        let (cidr, zone) = (
            s.cidr_block().unwrap_or_default(),
            s.availability_zone().unwrap_or_default(),
        );
        found.extend(observed(
            region,
            Kind::Subnet,
            s.tags(),
            id,
            [
                ("vpc", Value::Id(s.vpc_id().unwrap_or_default().into())),
                ("cidr", Value::str(cidr)),
                ("zone", Value::str(zone)),
                (
                    "map_public_ip_on_launch",
                    Value::Bool(s.map_public_ip_on_launch().unwrap_or(false)),
                ),
            ],
            [
                ("id", id.to_string()),
                ("cidr", cidr.to_string()),
                ("zone", zone.to_string()),
                ("arn", s.subnet_arn().unwrap_or_default().to_string()),
            ],
        ));
    }
    for g in gateways {
        let id = g.internet_gateway_id().unwrap_or_default();
        let vpc = g.attachments().iter().find_map(|a| a.vpc_id());
        found.extend(observed(
            region,
            Kind::InternetGateway,
            g.tags(),
            id,
            vpc.map(|v| ("vpc", Value::Id(v.into()))),
            [
                ("id", id.to_string()),
                ("arn", arn(g.owner_id(), format!("internet-gateway/{id}"))),
            ],
        ));
    }
    for n in nats {
        let id = n.nat_gateway_id().unwrap_or_default();
        let address = n.nat_gateway_addresses().first();
        found.extend(observed(
            region,
            Kind::NatGateway,
            n.tags(),
            id,
            [(
                "subnet",
                Value::Id(n.subnet_id().unwrap_or_default().into()),
            )],
            [
                ("id", id.to_string()),
                (
                    "public_ip",
                    address
                        .and_then(|a| a.public_ip())
                        .unwrap_or_default()
                        .to_string(),
                ),
                (
                    "allocation_id",
                    address
                        .and_then(|a| a.allocation_id())
                        .unwrap_or_default()
                        .to_string(),
                ),
            ],
        ));
    }
    for t in tables {
        let id = t.route_table_id().unwrap_or_default();
        let routes = t
            .routes()
            .iter()
            .filter(|r| r.gateway_id() != Some("local"))
            .filter_map(|r| {
                let (key, target) = [
                    ("gateway", r.gateway_id()),
                    ("nat_gateway", r.nat_gateway_id()),
                    ("transit_gateway", r.transit_gateway_id()),
                    ("vpc_peering", r.vpc_peering_connection_id()),
                    ("network_interface", r.network_interface_id()),
                ]
                .into_iter()
                .find_map(|(key, id)| Some((key, id?)))
                .unwrap_or(("gateway", "(none)"));
                Some(route_value(
                    r.destination_cidr_block()?,
                    key,
                    Value::Id(target.into()),
                ))
            });
        let associations: Vec<(&str, &str)> = t
            .associations()
            .iter()
            .filter(|a| !a.main().unwrap_or(false))
            .filter_map(|a| Some((a.subnet_id()?, a.route_table_association_id()?)))
            .collect();
        if let Some(mut o) = observed(
            region,
            Kind::RouteTable,
            t.tags(),
            id,
            [
                ("vpc", Value::Id(t.vpc_id().unwrap_or_default().into())),
                ("routes", Value::set(routes)),
                (
                    "subnets",
                    Value::set(associations.iter().map(|(s, _)| Value::Id(s.to_string()))),
                ),
            ],
            [("id", id.to_string())],
        ) {
            o.handles.extend(
                associations
                    .iter()
                    .map(|(subnet, assoc)| (association_handle(subnet), assoc.to_string())),
            );
            found.push(o);
        }
    }
    for g in groups {
        let id = g.group_id().unwrap_or_default();
        let name = g.group_name().unwrap_or_default();
        let declared = g
            .tags()
            .iter()
            .find(|t| t.key() == Some(tags::NAME))
            .and_then(Tag::value)
            .unwrap_or(name);
        found.extend(observed(
            region,
            Kind::SecurityGroup,
            g.tags(),
            id,
            [
                ("vpc", Value::Id(g.vpc_id().unwrap_or_default().into())),
                ("name", Value::str(declared)),
                (
                    "description",
                    Value::str(g.description().unwrap_or_default()),
                ),
                ("ingress", rules(g.ip_permissions())),
                ("egress", rules(g.ip_permissions_egress())),
            ],
            [
                ("id", id.to_string()),
                ("name", name.to_string()),
                ("arn", arn(g.owner_id(), format!("security-group/{id}"))),
            ],
        ));
    }
    for i in reservations.iter().flat_map(|r| r.instances()) {
        let id = i.instance_id().unwrap_or_default();
        let digest = i
            .tags()
            .iter()
            .find(|t| t.key() == Some(USER_DATA_TAG))
            .and_then(Tag::value);
        let groups = i.security_groups().iter().filter_map(|g| g.group_id());
        found.extend(observed(
            region,
            Kind::Instance,
            i.tags(),
            id,
            [
                ("ami", Value::str(i.image_id().unwrap_or_default())),
                (
                    "instance_type",
                    Value::str(i.instance_type().map(|t| t.as_str()).unwrap_or_default()),
                ),
                (
                    "subnet",
                    Value::Id(i.subnet_id().unwrap_or_default().into()),
                ),
                (
                    "security_groups",
                    Value::set(groups.map(|g| Value::Id(g.into()))),
                ),
                ("target_groups", Value::List(vec![])),
            ]
            .into_iter()
            .chain(digest.map(|d| ("user_data", Value::str(d)))),
            [
                ("id", id.to_string()),
                (
                    "private_ip",
                    i.private_ip_address().unwrap_or_default().to_string(),
                ),
            ],
        ));
    }
    Ok(found)
}

fn association_handle(subnet_id: &str) -> String {
    format!("association:{subnet_id}")
}

/// `super::observed` for EC2's tag lists.
fn observed(
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
    super::observed(region, kind, &tags, live_id, attrs, exports)
}

/// A group name for `declared` while another group holds it: a suffix from
/// `token`, within AWS's 255 characters.
fn generated_name(declared: &str, token: &str) -> String {
    let head: String = declared.chars().take(255 - 9).collect();
    format!("{head}-{}", &token[..8])
}

/// AWS groups rules by protocol and ports; reconcile compares one rule per source.
fn rules(permissions: &[IpPermission]) -> Value {
    let mut out = Vec::new();
    for p in permissions {
        let protocol = p.ip_protocol().unwrap_or("-1");
        let ports = ports_text(protocol, p.from_port(), p.to_port());
        let rule = |key: &str, source: Value, description: Option<&str>| {
            rule_value(protocol, &ports, (key, source), description)
        };
        for r in p.ip_ranges() {
            out.push(rule(
                "cidr",
                Value::str(r.cidr_ip().unwrap_or_default()),
                r.description(),
            ));
        }
        for r in p.ipv6_ranges() {
            out.push(rule(
                "cidr_ipv6",
                Value::str(r.cidr_ipv6().unwrap_or_default()),
                r.description(),
            ));
        }
        for r in p.prefix_list_ids() {
            out.push(rule(
                "prefix_list",
                Value::Id(r.prefix_list_id().unwrap_or_default().into()),
                r.description(),
            ));
        }
        for g in p.user_id_group_pairs() {
            out.push(rule(
                "security_group",
                Value::Id(g.group_id().unwrap_or_default().into()),
                g.description(),
            ));
        }
    }
    Value::set(out)
}

/// One rule back into AWS's shape.
fn permission(rule: &Value) -> IpPermission {
    let empty = BTreeMap::new();
    let m = rule.as_map().unwrap_or(&empty);
    let description = text(m, "description").map(str::to_string);
    let (from, to) = port_numbers(text(m, "ports").unwrap_or("all"));
    let mut p = IpPermission::builder()
        .ip_protocol(text(m, "protocol").unwrap_or("-1"))
        .set_from_port(from)
        .set_to_port(to);
    if let Some(cidr) = text(m, "cidr") {
        p = p.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(description)
                .build(),
        );
    } else if let Some(cidr) = text(m, "cidr_ipv6") {
        p = p.ipv6_ranges(
            Ipv6Range::builder()
                .cidr_ipv6(cidr)
                .set_description(description)
                .build(),
        );
    } else if let Some(list) = text(m, "prefix_list") {
        p = p.prefix_list_ids(
            PrefixListId::builder()
                .prefix_list_id(list)
                .set_description(description)
                .build(),
        );
    } else if let Some(group) = text(m, "security_group") {
        p = p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(group)
                .set_description(description)
                .build(),
        );
    }
    p.build()
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
    /// The Elastic IP of a NAT gateway about to be created: one tagged for it
    /// and not in use (left by an attempt whose answer was lost) is used
    /// again; otherwise one is allocated, tagged as the gateway is.
    async fn nat_address(&self, address: &Address, attrs: &Attrs) -> Result<String, AwsError> {
        let c = &self.ec2;
        let tags = self.tag_pairs(address, attrs);
        let filter = |key: &str| {
            let value = tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
            Filter::builder()
                .name(format!("tag:{key}"))
                .set_values(value.map(|v| vec![v]))
                .build()
        };
        let found = send!(
            "DescribeAddresses",
            c.describe_addresses()
                .filters(filter(STACK_TAG))
                .filters(filter(crate::model::ID_TAG))
        )?;
        if let Some(free) = found
            .addresses()
            .iter()
            .find(|a| a.association_id().is_none() && a.network_interface_id().is_none())
            .and_then(|a| a.allocation_id())
        {
            return Ok(free.to_string());
        }
        let out = send_once!(
            aws_sdk_ec2,
            "AllocateAddress",
            c.allocate_address()
                .domain(aws_sdk_ec2::types::DomainType::Vpc)
                .tag_specifications(self.tag_spec(ResourceType::ElasticIp, address, attrs))
        )?;
        Ok(out.allocation_id().unwrap_or_default().to_string())
    }

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
        let c = &self.ec2;
        let exports = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let created = match kind {
            Ec2Kind::Vpc => {
                let cidr = required(attrs, "cidr")?;
                let out = send_once!(
                    aws_sdk_ec2,
                    "CreateVpc",
                    c.create_vpc()
                        .cidr_block(cidr)
                        .tag_specifications(self.tag_spec(ResourceType::Vpc, address, attrs))
                )?;
                let vpc = out
                    .vpc()
                    .cloned()
                    .unwrap_or_else(|| aws_sdk_ec2::types::Vpc::builder().build());
                let id = vpc.vpc_id().unwrap_or_default().to_string();
                c.wait_until_vpc_available()
                    .vpc_ids(&id)
                    .wait(self.wait_limit)
                    .await
                    .map_err(|e| AwsError::waiter("waiting for the VPC to be available", e))?;
                let arn = format!(
                    "arn:aws:ec2:{}:{}:vpc/{id}",
                    region(c),
                    vpc.owner_id().unwrap_or_default()
                );
                Created {
                    exports: exports(&[("id", &id), ("cidr", cidr), ("arn", &arn)]),
                    live_id: id,
                }
            }
            Ec2Kind::Subnet => {
                let (vpc, cidr, zone) = (
                    required(attrs, "vpc")?,
                    required(attrs, "cidr")?,
                    required(attrs, "zone")?,
                );
                let out = retry_while(
                    || async {
                        send_once!(
                            aws_sdk_ec2,
                            "CreateSubnet",
                            c.create_subnet()
                                .vpc_id(vpc)
                                .cidr_block(cidr)
                                .availability_zone(zone)
                                .tag_specifications(self.tag_spec(
                                    ResourceType::Subnet,
                                    address,
                                    attrs
                                ))
                        )
                    },
                    AwsError::is_not_found,
                    EVENTUAL,
                )
                .await?;
                let subnet = out
                    .subnet()
                    .cloned()
                    .unwrap_or_else(|| aws_sdk_ec2::types::Subnet::builder().build());
                let id = subnet.subnet_id().unwrap_or_default().to_string();
                c.wait_until_subnet_available()
                    .subnet_ids(&id)
                    .wait(self.wait_limit)
                    .await
                    .map_err(|e| AwsError::waiter("waiting for the subnet to be available", e))?;
                if attrs.get("map_public_ip_on_launch") == Some(&Value::Bool(true)) {
                    self.map_public_ip(&id, true).await?;
                }
                Created {
                    exports: exports(&[
                        ("id", &id),
                        ("cidr", cidr),
                        ("zone", zone),
                        ("arn", subnet.subnet_arn().unwrap_or_default()),
                    ]),
                    live_id: id,
                }
            }
            Ec2Kind::InternetGateway => {
                let out = send_once!(
                    aws_sdk_ec2,
                    "CreateInternetGateway",
                    c.create_internet_gateway()
                        .tag_specifications(self.tag_spec(
                            ResourceType::InternetGateway,
                            address,
                            attrs
                        ))
                )?;
                let gw = out.internet_gateway();
                let id = gw
                    .and_then(|g| g.internet_gateway_id())
                    .unwrap_or_default()
                    .to_string();
                let owner = gw.and_then(|g| g.owner_id()).unwrap_or_default();
                if let Some(vpc) = attrs.get("vpc").and_then(Value::as_str) {
                    self.attach_gateway(&id, vpc).await?;
                }
                let arn = format!("arn:aws:ec2:{}:{owner}:internet-gateway/{id}", region(c));
                Created {
                    exports: exports(&[("id", &id), ("arn", &arn)]),
                    live_id: id,
                }
            }
            Ec2Kind::NatGateway => {
                let subnet = required(attrs, "subnet")?;
                let allocation = self.nat_address(address, attrs).await?;
                let out = send_once!(
                    aws_sdk_ec2,
                    "CreateNatGateway",
                    c.create_nat_gateway()
                        .subnet_id(subnet)
                        .allocation_id(&allocation)
                        .client_token(self.client_token(address))
                        .tag_specifications(self.tag_spec(
                            ResourceType::Natgateway,
                            address,
                            attrs
                        ))
                )?;
                let nat = out.nat_gateway();
                let id = nat
                    .and_then(|n| n.nat_gateway_id())
                    .unwrap_or_default()
                    .to_string();
                c.wait_until_nat_gateway_available()
                    .nat_gateway_ids(&id)
                    .wait(self.wait_limit)
                    .await
                    .map_err(|e| AwsError::waiter("waiting for the NAT gateway", e))?;
                let ip = nat
                    .and_then(|n| n.nat_gateway_addresses().first())
                    .and_then(|a| a.public_ip())
                    .unwrap_or_default();
                Created {
                    exports: exports(&[
                        ("id", &id),
                        ("public_ip", ip),
                        ("allocation_id", &allocation),
                    ]),
                    live_id: id,
                }
            }
            Ec2Kind::RouteTable => {
                let vpc = required(attrs, "vpc")?;
                let out = retry_while(
                    || async {
                        send_once!(
                            aws_sdk_ec2,
                            "CreateRouteTable",
                            c.create_route_table()
                                .vpc_id(vpc)
                                .client_token(self.client_token(address))
                                .tag_specifications(self.tag_spec(
                                    ResourceType::RouteTable,
                                    address,
                                    attrs
                                ))
                        )
                    },
                    AwsError::is_not_found,
                    EVENTUAL,
                )
                .await?;
                let id = out
                    .route_table()
                    .and_then(|t| t.route_table_id())
                    .unwrap_or_default()
                    .to_string();
                self.converge_routes(&id, &[], &set_items(attrs, "routes"))
                    .await?;
                self.converge_associations(&id, &BTreeMap::new(), &list_ids(attrs, "subnets"))
                    .await?;
                Created {
                    exports: exports(&[("id", &id)]),
                    live_id: id,
                }
            }
            Ec2Kind::Instance => {
                let user_data = inputs
                    .get("user_data")
                    .map(|d| aws_smithy_types::base64::encode(d.as_bytes()));
                let out = retry_while(
                    || async {
                        send_once!(
                            aws_sdk_ec2,
                            "RunInstances",
                            c.run_instances()
                                .image_id(required(attrs, "ami")?)
                                .instance_type(required(attrs, "instance_type")?.into())
                                .subnet_id(required(attrs, "subnet")?)
                                .set_security_group_ids(Some(
                                    list_ids(attrs, "security_groups").into_iter().collect()
                                ))
                                .set_user_data(user_data.clone())
                                .min_count(1)
                                .max_count(1)
                                .client_token(self.client_token(address))
                                .tag_specifications(self.tag_spec(
                                    ResourceType::Instance,
                                    address,
                                    attrs
                                ))
                        )
                    },
                    AwsError::is_not_found,
                    EVENTUAL,
                )
                .await?;
                let instance = out.instances().first();
                let id = instance
                    .and_then(|i| i.instance_id())
                    .unwrap_or_default()
                    .to_string();
                let ip = instance
                    .and_then(|i| i.private_ip_address())
                    .unwrap_or_default()
                    .to_string();
                c.wait_until_instance_running()
                    .instance_ids(&id)
                    .wait(self.wait_limit)
                    .await
                    .map_err(|e| AwsError::waiter("waiting for the instance to run", e))?;
                for group in list_ids(attrs, "target_groups") {
                    self.register(&group, &id, true).await?;
                }
                Created {
                    exports: exports(&[("id", &id), ("private_ip", &ip)]),
                    live_id: id,
                }
            }
            Ec2Kind::SecurityGroup => {
                let (vpc, declared) = (required(attrs, "vpc")?, required(attrs, "name")?);
                // While the group this one replaces holds the declared name, a
                // generated one (the same on every attempt of this run), with
                // the declared one in a tag for discovery.
                let mut tags = self.tag_spec(ResourceType::SecurityGroup, address, attrs);
                let name = match inputs.get(crate::model::NAME_HELD) {
                    Some(_) => {
                        tags.tags
                            .get_or_insert_default()
                            .push(tag(tags::NAME, declared));
                        generated_name(declared, &self.client_token(address))
                    }
                    None => declared.to_string(),
                };
                let out = retry_while(
                    || async {
                        send_once!(
                            aws_sdk_ec2,
                            "CreateSecurityGroup",
                            c.create_security_group()
                                .vpc_id(vpc)
                                .group_name(&name)
                                .description(required(attrs, "description")?)
                                .tag_specifications(tags.clone())
                        )
                    },
                    AwsError::is_not_found,
                    EVENTUAL,
                )
                .await?;
                let id = out.group_id().unwrap_or_default().to_string();
                let arn = out.security_group_arn().unwrap_or_default().to_string();
                // A new group carries AWS's default egress rule; converge from that.
                let default = [default_egress()];
                let desired = self.resolve_self(&id, attrs);
                self.converge_rules(&id, false, &[], &set_items(&desired, "ingress"))
                    .await?;
                self.converge_rules(&id, true, &default, &set_items(&desired, "egress"))
                    .await?;
                Created {
                    exports: exports(&[("id", &id), ("name", &name), ("arn", &arn)]),
                    live_id: id,
                }
            }
        };
        Ok(created)
    }

    /// A group's rules may name the group itself; only now is its id known.
    fn resolve_self(&self, id: &str, attrs: &Attrs) -> Attrs {
        let mut attrs = attrs.clone();
        for key in ["ingress", "egress"] {
            if let Some(Value::List(rules)) = attrs.get_mut(key) {
                for rule in rules.iter_mut() {
                    // `ops::apply` marks the group itself, before its id is known, by its address.
                    if let Value::Map(m) = rule {
                        if matches!(m.get("security_group"), Some(Value::Ref(_))) {
                            m.insert("security_group".into(), Value::Id(id.to_string()));
                        }
                    }
                }
            }
        }
        attrs
    }

    /// Makes the live resource match `attrs` in the attributes the plan found `changed`.
    pub(super) async fn ec2_update(
        &self,
        kind: Ec2Kind,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let id = observed.live_id.as_str();
        let differs = |key: &str| changed.contains(key);
        match kind {
            Ec2Kind::Vpc | Ec2Kind::NatGateway => {}
            Ec2Kind::Subnet => {
                if differs("map_public_ip_on_launch") {
                    let on = attrs.get("map_public_ip_on_launch") == Some(&Value::Bool(true));
                    self.map_public_ip(id, on).await?;
                }
            }
            Ec2Kind::InternetGateway => {
                if differs("vpc") {
                    if let Some(old) = observed.attrs.get("vpc").and_then(Value::as_str) {
                        self.detach_gateway(id, old).await?;
                    }
                    if let Some(new) = attrs.get("vpc").and_then(Value::as_str) {
                        self.attach_gateway(id, new).await?;
                    }
                }
            }
            Ec2Kind::RouteTable => {
                if differs("routes") {
                    self.converge_routes(
                        id,
                        &set_items(&observed.attrs, "routes"),
                        &set_items(attrs, "routes"),
                    )
                    .await?;
                }
                if differs("subnets") {
                    self.converge_associations(id, &observed.handles, &list_ids(attrs, "subnets"))
                        .await?;
                }
            }
            Ec2Kind::Instance => {
                if differs("security_groups") {
                    let groups = list_ids(attrs, "security_groups").into_iter().collect();
                    send!(
                        "ModifyInstanceAttribute",
                        self.ec2
                            .modify_instance_attribute()
                            .instance_id(id)
                            .set_groups(Some(groups))
                    )?;
                }
                if differs("target_groups") {
                    let (was, now) = (
                        list_ids(&observed.attrs, "target_groups"),
                        list_ids(attrs, "target_groups"),
                    );
                    for group in was.difference(&now) {
                        self.register(group, id, false).await?;
                    }
                    for group in now.difference(&was) {
                        self.register(group, id, true).await?;
                    }
                }
            }
            Ec2Kind::SecurityGroup => {
                let desired = self.resolve_self(id, attrs);
                for (key, egress) in [("ingress", false), ("egress", true)] {
                    if differs(key) {
                        self.converge_rules(
                            id,
                            egress,
                            &set_items(&observed.attrs, key),
                            &set_items(&desired, key),
                        )
                        .await?;
                    }
                }
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
        let c = &self.ec2;
        let id = observed.live_id.as_str();
        match kind {
            Ec2Kind::Vpc => {
                retry_while(
                    || async { send!("DeleteVpc", c.delete_vpc().vpc_id(id)).map(drop) },
                    AwsError::is_dependency_violation,
                    DEPENDENCIES,
                )
                .await
            }
            Ec2Kind::Subnet => {
                retry_while(
                    || async { send!("DeleteSubnet", c.delete_subnet().subnet_id(id)).map(drop) },
                    AwsError::is_dependency_violation,
                    DEPENDENCIES,
                )
                .await
            }
            Ec2Kind::InternetGateway => {
                if let Some(vpc) = observed.attrs.get("vpc").and_then(Value::as_str) {
                    self.detach_gateway(id, vpc).await?;
                }
                send!(
                    "DeleteInternetGateway",
                    c.delete_internet_gateway().internet_gateway_id(id)
                )
                .map(drop)
            }
            Ec2Kind::NatGateway => {
                match send!(
                    "DeleteNatGateway",
                    c.delete_nat_gateway().nat_gateway_id(id)
                ) {
                    Err(e) if !e.is_not_found() => return Err(e),
                    _ => {}
                }
                // Its address is released once it is gone, not before.
                c.wait_until_nat_gateway_deleted()
                    .nat_gateway_ids(id)
                    .wait(self.wait_limit)
                    .await
                    .map_err(|e| AwsError::waiter("waiting for the NAT gateway to go", e))?;
                match observed
                    .exports
                    .get("allocation_id")
                    .filter(|a| !a.is_empty())
                {
                    Some(allocation) => match send!(
                        "ReleaseAddress",
                        c.release_address().allocation_id(allocation)
                    ) {
                        Err(e) if !e.is_not_found() => Err(e),
                        _ => Ok(()),
                    },
                    None => Ok(()),
                }
            }
            Ec2Kind::RouteTable => {
                self.converge_associations(id, &observed.handles, &BTreeSet::new())
                    .await?;
                send!(
                    "DeleteRouteTable",
                    c.delete_route_table().route_table_id(id)
                )
                .map(drop)
            }
            Ec2Kind::Instance => {
                for group in list_ids(&observed.attrs, "target_groups") {
                    self.register(&group, id, false).await?;
                }
                send!(
                    "TerminateInstances",
                    c.terminate_instances().instance_ids(id)
                )?;
                // What the instance sits in (subnet, groups) cannot go before it has.
                c.wait_until_instance_terminated()
                    .instance_ids(id)
                    .wait(self.wait_limit)
                    .await
                    .map(drop)
                    .map_err(|e| AwsError::waiter("waiting for the instance to terminate", e))
            }
            Ec2Kind::SecurityGroup => {
                // Its rules naming other groups go first: a group another names
                // cannot be deleted, and two naming each other would wait forever.
                for (key, egress) in [("ingress", false), ("egress", true)] {
                    let rules = set_items(&observed.attrs, key);
                    let kept: Vec<Value> = rules
                        .iter()
                        .filter(|r| {
                            r.as_map()
                                .and_then(|m| m.get("security_group"))
                                .and_then(Value::as_str)
                                .is_none_or(|g| g == id)
                        })
                        .cloned()
                        .collect();
                    if kept.len() != rules.len() {
                        self.converge_rules(id, egress, &rules, &kept).await?;
                    }
                }
                let deleted = retry_while(
                    || async {
                        send!(
                            "DeleteSecurityGroup",
                            c.delete_security_group().group_id(id)
                        )
                        .map(drop)
                    },
                    AwsError::is_dependency_violation,
                    DEPENDENCIES,
                )
                .await;
                match deleted {
                    Err(mut e) if e.is_dependency_violation() => {
                        // Still in use by what the stack does not manage: say by what.
                        if let Ok(users) = self.group_users(id).await {
                            if !users.is_empty() {
                                e.message = format!(
                                    "{}; still used by {} (not managed by this stack): move \
                                     them to another group, then apply again",
                                    e.message,
                                    users.join(", ")
                                );
                            }
                        }
                        Err(e)
                    }
                    other => other,
                }
            }
        }
    }

    /// The network interfaces in security group `id`, as a person would find
    /// them: the interface, and what it belongs to.
    async fn group_users(&self, id: &str) -> Result<Vec<String>, AwsError> {
        let found: Vec<NetworkInterface> = all_pages!(
            "DescribeNetworkInterfaces",
            self.ec2
                .describe_network_interfaces()
                .filters(Filter::builder().name("group-id").values(id).build())
        )?;
        Ok(found
            .iter()
            .map(|n| {
                let of = n
                    .attachment()
                    .and_then(|a| a.instance_id())
                    .or(n.description().filter(|d| !d.is_empty()));
                let eni = n.network_interface_id().unwrap_or_default();
                match of {
                    Some(of) => format!("{eni} ({of})"),
                    None => eni.to_string(),
                }
            })
            .collect())
    }

    async fn map_public_ip(&self, subnet: &str, on: bool) -> Result<(), AwsError> {
        send!(
            "ModifySubnetAttribute",
            self.ec2
                .modify_subnet_attribute()
                .subnet_id(subnet)
                .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
        )
        .map(drop)
    }

    async fn attach_gateway(&self, gateway: &str, vpc: &str) -> Result<(), AwsError> {
        let attached = retry_while(
            || async {
                send!(
                    "AttachInternetGateway",
                    self.ec2
                        .attach_internet_gateway()
                        .internet_gateway_id(gateway)
                        .vpc_id(vpc)
                )
            },
            AwsError::is_not_found,
            EVENTUAL,
        )
        .await;
        match attached {
            Err(e) if e.is(Code::AlreadyAssociated) => Ok(()),
            other => other.map(drop),
        }
    }

    async fn detach_gateway(&self, gateway: &str, vpc: &str) -> Result<(), AwsError> {
        let detached = send!(
            "DetachInternetGateway",
            self.ec2
                .detach_internet_gateway()
                .internet_gateway_id(gateway)
                .vpc_id(vpc)
        );
        match detached {
            Err(e) if e.is_not_found() || e.is(Code::NotAttached) => Ok(()),
            other => other.map(drop),
        }
    }

    async fn converge_routes(
        &self,
        table: &str,
        observed: &[Value],
        desired: &[Value],
    ) -> Result<(), AwsError> {
        let cidr_of = |v: &Value| {
            v.as_map()
                .and_then(|m| m.get("cidr"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        for route in observed.iter().filter(|r| !desired.contains(r)) {
            let Some(cidr) = cidr_of(route) else { continue };
            let deleted = send!(
                "DeleteRoute",
                self.ec2
                    .delete_route()
                    .route_table_id(table)
                    .destination_cidr_block(&cidr)
            );
            match deleted {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
        for route in desired.iter().filter(|r| !observed.contains(r)) {
            let m = route.as_map().cloned().unwrap_or_default();
            let cidr = m.get("cidr").and_then(Value::as_str).unwrap_or_default();
            let target = |key: &str| m.get(key).and_then(Value::as_str).map(str::to_string);
            let created = send!(
                "CreateRoute",
                self.ec2
                    .create_route()
                    .route_table_id(table)
                    .destination_cidr_block(cidr)
                    .set_gateway_id(target("gateway"))
                    .set_nat_gateway_id(target("nat_gateway"))
                    .set_vpc_peering_connection_id(target("vpc_peering"))
                    .set_transit_gateway_id(target("transit_gateway"))
                    .set_network_interface_id(target("network_interface"))
            );
            match created {
                Err(e) if !e.is_duplicate() => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    async fn converge_associations(
        &self,
        table: &str,
        handles: &BTreeMap<String, String>,
        desired: &BTreeSet<String>,
    ) -> Result<(), AwsError> {
        for (handle, association) in handles {
            let Some(subnet) = handle.strip_prefix("association:") else {
                continue;
            };
            if desired.contains(subnet) {
                continue;
            }
            let gone = send!(
                "DisassociateRouteTable",
                self.ec2
                    .disassociate_route_table()
                    .association_id(association)
            );
            match gone {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
        for subnet in desired {
            if handles.contains_key(&association_handle(subnet)) {
                continue;
            }
            retry_while(
                || async {
                    send!(
                        "AssociateRouteTable",
                        self.ec2
                            .associate_route_table()
                            .route_table_id(table)
                            .subnet_id(subnet)
                    )
                },
                AwsError::is_not_found,
                EVENTUAL,
            )
            .await?;
        }
        Ok(())
    }

    async fn converge_rules(
        &self,
        group: &str,
        egress: bool,
        observed: &[Value],
        desired: &[Value],
    ) -> Result<(), AwsError> {
        let stale: Vec<IpPermission> = observed
            .iter()
            .filter(|r| !desired.contains(r))
            .map(permission)
            .collect();
        let missing: Vec<IpPermission> = desired
            .iter()
            .filter(|r| !observed.contains(r))
            .map(permission)
            .collect();
        let c = &self.ec2;
        if !stale.is_empty() {
            let revoked = if egress {
                send!(
                    "RevokeSecurityGroupEgress",
                    c.revoke_security_group_egress()
                        .group_id(group)
                        .set_ip_permissions(Some(stale))
                )
                .map(drop)
            } else {
                send!(
                    "RevokeSecurityGroupIngress",
                    c.revoke_security_group_ingress()
                        .group_id(group)
                        .set_ip_permissions(Some(stale))
                )
                .map(drop)
            };
            match revoked {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
        if !missing.is_empty() {
            let authorized = if egress {
                send!(
                    "AuthorizeSecurityGroupEgress",
                    c.authorize_security_group_egress()
                        .group_id(group)
                        .set_ip_permissions(Some(missing))
                )
                .map(drop)
            } else {
                send!(
                    "AuthorizeSecurityGroupIngress",
                    c.authorize_security_group_ingress()
                        .group_id(group)
                        .set_ip_permissions(Some(missing))
                )
                .map(drop)
            };
            match authorized {
                Err(e) if !e.is_duplicate() => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

fn region(c: &Client) -> String {
    c.config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default()
}
