//! Nat gateways: discovery, create, update, delete.

use super::*;

/// Every nat gateway `stack` owns in `region`: one paginated call.
pub(super) async fn discover(
    client: &Client,
    scope: Scope<'_>,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let nat_states = Filter::builder()
        .name("state")
        .set_values(Some(["pending", "available"].map(String::from).to_vec()))
        .build();
    let nats = all_pages!(
        "DescribeNatGateways",
        client
            .describe_nat_gateways()
            .filter(scope.filter("nat-gateway-id"))
            .filter(nat_states.clone())
            .max_results(PAGE)
    )?;
    let mut found = Vec::new();
    for n in nats {
        let id = n.nat_gateway_id().unwrap_or_default();
        let address = n.nat_gateway_addresses().first();
        found.extend(observed(
            scope,
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
    Ok(found)
}

impl Mutator {
    pub(super) async fn create_nat_gateway(
        &self,
        address: &Address,
        attrs: &Attrs,
        _inputs: &Inputs,
    ) -> Result<Created, AwsError> {
        let c = &self.ec2;
        let subnet = required(attrs, "subnet")?;
        let allocation = self.nat_address(address, attrs).await?;
        let out = send_once!(
            aws_sdk_ec2,
            "CreateNatGateway",
            c.create_nat_gateway()
                .subnet_id(subnet)
                .allocation_id(&allocation)
                .client_token(self.client_token(address))
                .tag_specifications(self.tag_spec(ResourceType::Natgateway, address, attrs))
        )?;
        let nat = out.nat_gateway();
        let id = nat
            .and_then(|n| n.nat_gateway_id())
            .unwrap_or_default()
            .to_string();
        c.wait_until_nat_gateway_available()
            .nat_gateway_ids(&id)
            .wait(self.wait_limit)
            .instrument(phase("wait nat gateway available"))
            .await
            .map_err(|e| AwsError::waiter("waiting for the NAT gateway", e))?;
        let ip = nat
            .and_then(|n| n.nat_gateway_addresses().first())
            .and_then(|a| a.public_ip())
            .unwrap_or_default();
        Ok(Created {
            exports: exports(&[
                ("id", &id),
                ("public_ip", ip),
                ("allocation_id", &allocation),
            ]),
            live_id: id,
        })
    }

    pub(super) async fn delete_nat_gateway(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.ec2;
        let id = observed.live_id.as_str();
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
            .instrument(phase("wait nat gateway deleted"))
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

    /// The Elastic IP of a NAT gateway about to be created: one tagged for it
    /// and not in use (left by an attempt whose answer was lost) is used
    /// again; otherwise one is allocated, tagged as the gateway is.
    pub(super) async fn nat_address(
        &self,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<String, AwsError> {
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
}
