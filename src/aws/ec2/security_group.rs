//! Security groups: discovery, create, update, delete.

use super::*;

/// Every security group `stack` owns in `region`: one paginated call.
pub(super) async fn discover(
    client: &Client,
    scope: Scope<'_>,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let groups = all_pages!(
        "DescribeSecurityGroups",
        client
            .describe_security_groups()
            .filters(scope.filter("group-id"))
            .max_results(PAGE)
    )?;
    let arn = |owner: Option<&str>, path: String| super::arn(region, owner, path);
    let mut found = Vec::new();
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
            scope,
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
    Ok(found)
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

impl Mutator {
    pub(super) async fn create_security_group(
        &self,
        address: &Address,
        attrs: &Attrs,
        inputs: &Inputs,
    ) -> Result<Created, AwsError> {
        let c = &self.ec2;
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
        Ok(Created {
            exports: exports(&[("id", &id), ("name", &name), ("arn", &arn)]),
            live_id: id,
        })
    }

    /// Changes what the plan found `changed`, but the tags (`Mutator::retag`).
    pub(super) async fn update_security_group(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let id = observed.live_id.as_str();
        let differs = |key: &str| changed.contains(key);
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
        Ok(())
    }

    pub(super) async fn delete_security_group(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.ec2;
        let id = observed.live_id.as_str();
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

    /// A group's rules may name the group itself; only now is its id known.
    pub(super) fn resolve_self(&self, id: &str, attrs: &Attrs) -> Attrs {
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

    /// The network interfaces in security group `id`, as a person would find
    /// them: the interface, and what it belongs to.
    pub(super) async fn group_users(&self, id: &str) -> Result<Vec<String>, AwsError> {
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

    pub(super) async fn converge_rules(
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
