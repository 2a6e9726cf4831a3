//! Vpcs: discovery, create, update, delete.

use super::*;

/// Every vpc `stack` owns in `region`: one paginated call.
pub(super) async fn discover(
    client: &Client,
    scope: Scope<'_>,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let vpcs = all_pages!(
        "DescribeVpcs",
        client
            .describe_vpcs()
            .filters(scope.filter("vpc-id"))
            .max_results(PAGE)
    )?;
    let arn = |owner: Option<&str>, path: String| super::arn(region, owner, path);
    let mut found = Vec::new();
    for v in vpcs {
        let id = v.vpc_id().unwrap_or_default();
        let cidr = v.cidr_block().unwrap_or_default();
        found.extend(observed(
            scope,
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
    Ok(found)
}

impl Mutator {
    pub(super) async fn create_vpc(
        &self,
        address: &Address,
        attrs: &Attrs,
        _inputs: &Inputs,
    ) -> Result<Created, AwsError> {
        let c = &self.ec2;
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
        // No read-back when the create's answer says it is ready.
        if vpc.state() != Some(&aws_sdk_ec2::types::VpcState::Available) {
            c.wait_until_vpc_available()
                .vpc_ids(&id)
                .wait(self.wait_limit)
                .instrument(phase("wait vpc available"))
                .await
                .map_err(|e| AwsError::waiter("waiting for the VPC to be available", e))?;
        }
        let arn = format!(
            "arn:aws:ec2:{}:{}:vpc/{id}",
            region(c),
            vpc.owner_id().unwrap_or_default()
        );
        Ok(Created {
            exports: exports(&[("id", &id), ("cidr", cidr), ("arn", &arn)]),
            live_id: id,
        })
    }

    pub(super) async fn delete_vpc(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.ec2;
        let id = observed.live_id.as_str();
        retry_while(
            || async { send!("DeleteVpc", c.delete_vpc().vpc_id(id)).map(drop) },
            AwsError::is_dependency_violation,
            DEPENDENCIES,
        )
        .await
    }
}
