//! Route tables: discovery, create, update, delete.

use super::*;

/// Every route table `stack` owns in `region`: one paginated call.
pub(super) async fn discover(
    client: &Client,
    scope: Scope<'_>,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let tables = all_pages!(
        "DescribeRouteTables",
        client
            .describe_route_tables()
            .filters(scope.filter("route-table-id"))
            .max_results(100)
    )?;
    let mut found = Vec::new();
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
            scope,
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
    Ok(found)
}

impl Mutator {
    pub(super) async fn create_route_table(
        &self,
        address: &Address,
        attrs: &Attrs,
        _inputs: &Inputs,
    ) -> Result<Created, AwsError> {
        let c = &self.ec2;
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
        Ok(Created {
            exports: exports(&[("id", &id)]),
            live_id: id,
        })
    }

    /// Changes what the plan found `changed`, but the tags (`Mutator::retag`).
    pub(super) async fn update_route_table(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let id = observed.live_id.as_str();
        let differs = |key: &str| changed.contains(key);
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
        Ok(())
    }

    pub(super) async fn delete_route_table(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.ec2;
        let id = observed.live_id.as_str();
        self.converge_associations(id, &observed.handles, &BTreeSet::new())
            .await?;
        send!(
            "DeleteRouteTable",
            c.delete_route_table().route_table_id(id)
        )
        .map(drop)
    }

    pub(super) async fn converge_routes(
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

    pub(super) async fn converge_associations(
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
}
