//! Internet gateways: discovery, create, update, delete.

use super::*;

/// Every internet gateway `stack` owns in `region`: one paginated call.
pub(super) async fn discover(
    client: &Client,
    scope: Scope<'_>,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let gateways = all_pages!(
        "DescribeInternetGateways",
        client
            .describe_internet_gateways()
            .filters(scope.filter("internet-gateway-id"))
            .max_results(PAGE)
    )?;
    let arn = |owner: Option<&str>, path: String| super::arn(region, owner, path);
    let mut found = Vec::new();
    for g in gateways {
        let id = g.internet_gateway_id().unwrap_or_default();
        let vpc = g.attachments().iter().find_map(|a| a.vpc_id());
        found.extend(observed(
            scope,
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
    Ok(found)
}

impl Mutator {
    pub(super) async fn create_internet_gateway(
        &self,
        address: &Address,
        attrs: &Attrs,
        _inputs: &Inputs,
    ) -> Result<Created, AwsError> {
        let c = &self.ec2;
        let out = send_once!(
            aws_sdk_ec2,
            "CreateInternetGateway",
            c.create_internet_gateway()
                .tag_specifications(self.tag_spec(ResourceType::InternetGateway, address, attrs))
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
        Ok(Created {
            exports: exports(&[("id", &id), ("arn", &arn)]),
            live_id: id,
        })
    }

    /// Changes what the plan found `changed`, but the tags (`Mutator::retag`).
    pub(super) async fn update_internet_gateway(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let id = observed.live_id.as_str();
        let differs = |key: &str| changed.contains(key);
        if differs("vpc") {
            if let Some(old) = observed.attrs.get("vpc").and_then(Value::as_str) {
                self.detach_gateway(id, old).await?;
            }
            if let Some(new) = attrs.get("vpc").and_then(Value::as_str) {
                self.attach_gateway(id, new).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn delete_internet_gateway(
        &self,
        observed: &Observed,
    ) -> Result<(), AwsError> {
        let c = &self.ec2;
        let id = observed.live_id.as_str();
        if let Some(vpc) = observed.attrs.get("vpc").and_then(Value::as_str) {
            self.detach_gateway(id, vpc).await?;
        }
        send!(
            "DeleteInternetGateway",
            c.delete_internet_gateway().internet_gateway_id(id)
        )
        .map(drop)
    }

    pub(super) async fn attach_gateway(&self, gateway: &str, vpc: &str) -> Result<(), AwsError> {
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

    pub(super) async fn detach_gateway(&self, gateway: &str, vpc: &str) -> Result<(), AwsError> {
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
}
