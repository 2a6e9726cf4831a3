//! Subnets: discovery, create, update, delete.

use super::*;

/// Every subnet `stack` owns in `region`: one paginated call.
pub(super) async fn discover(
    client: &Client,
    scope: Scope<'_>,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let subnets = all_pages!(
        "DescribeSubnets",
        client
            .describe_subnets()
            .filters(scope.filter("subnet-id"))
            .max_results(PAGE)
    )?;
    let mut found = Vec::new();
    for s in subnets {
        let id = s.subnet_id().unwrap_or_default();
        let (cidr, zone) = (
            s.cidr_block().unwrap_or_default(),
            s.availability_zone().unwrap_or_default(),
        );
        found.extend(observed(
            scope,
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
    Ok(found)
}

impl Mutator {
    pub(super) async fn create_subnet(
        &self,
        address: &Address,
        attrs: &Attrs,
        _inputs: &Inputs,
    ) -> Result<Created, AwsError> {
        let c = &self.ec2;
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
                        .tag_specifications(self.tag_spec(ResourceType::Subnet, address, attrs))
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
        // No read-back when the create's answer says it is ready.
        if subnet.state() != Some(&aws_sdk_ec2::types::SubnetState::Available) {
            c.wait_until_subnet_available()
                .subnet_ids(&id)
                .wait(self.wait_limit)
                .instrument(phase("wait subnet available"))
                .await
                .map_err(|e| AwsError::waiter("waiting for the subnet to be available", e))?;
        }
        if attrs.get("map_public_ip_on_launch") == Some(&Value::Bool(true)) {
            self.map_public_ip(&id, true).await?;
        }
        Ok(Created {
            exports: exports(&[
                ("id", &id),
                ("cidr", cidr),
                ("zone", zone),
                ("arn", subnet.subnet_arn().unwrap_or_default()),
            ]),
            live_id: id,
        })
    }

    /// Changes what the plan found `changed`, but the tags (`Mutator::retag`).
    pub(super) async fn update_subnet(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let id = observed.live_id.as_str();
        let differs = |key: &str| changed.contains(key);
        if differs("map_public_ip_on_launch") {
            let on = attrs.get("map_public_ip_on_launch") == Some(&Value::Bool(true));
            self.map_public_ip(id, on).await?;
        }
        Ok(())
    }

    pub(super) async fn delete_subnet(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.ec2;
        let id = observed.live_id.as_str();
        retry_while(
            || async { send!("DeleteSubnet", c.delete_subnet().subnet_id(id)).map(drop) },
            AwsError::is_dependency_violation,
            DEPENDENCIES,
        )
        .await
    }

    pub(super) async fn map_public_ip(&self, subnet: &str, on: bool) -> Result<(), AwsError> {
        send!(
            "ModifySubnetAttribute",
            self.ec2
                .modify_subnet_attribute()
                .subnet_id(subnet)
                .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
        )
        .map(drop)
    }
}
