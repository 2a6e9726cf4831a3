//! Load balancers: how discovery reads one, create, update, delete.

use super::*;
use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancer_attributes::DescribeLoadBalancerAttributesOutput;
use aws_sdk_elasticloadbalancingv2::types::LoadBalancer;

/// A load balancer the stack owns, with its attributes, as reconcile compares it.
pub(super) fn observe(
    scope: Scope<'_>,
    region: &str,
    b: &LoadBalancer,
    attributes: &DescribeLoadBalancerAttributesOutput,
    tags: &Tags,
) -> Option<Observed> {
    let arn = b.load_balancer_arn().unwrap_or_default();
    let attributes: BTreeMap<String, Value> = attributes
        .attributes()
        .iter()
        .filter_map(|a| Some((a.key()?.to_string(), Value::str(a.value()?))))
        .collect();
    let idle = attributes
        .get("idle_timeout.timeout_seconds")
        .and_then(Value::as_str)
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let exports = BTreeMap::from([
        ("arn_suffix".to_string(), arn_suffix(arn, "loadbalancer/")),
        (
            "name".to_string(),
            b.load_balancer_name().unwrap_or_default().to_string(),
        ),
        (
            "dns_name".to_string(),
            b.dns_name().unwrap_or_default().to_string(),
        ),
        (
            "zone_id".to_string(),
            b.canonical_hosted_zone_id().unwrap_or_default().to_string(),
        ),
    ]);
    owned_elb(
        scope,
        region,
        Kind::LoadBalancer,
        &tags[arn],
        arn,
        [
            ("vpc", Value::Id(b.vpc_id().unwrap_or_default().into())),
            (
                "scheme",
                // Not given at creation: AWS's default (moto reports none).
                Value::str(
                    b.scheme()
                        .map(|s| s.as_str())
                        .filter(|s| !s.is_empty())
                        .unwrap_or("internet-facing"),
                ),
            ),
            (
                "subnets",
                Value::set(
                    b.availability_zones()
                        .iter()
                        .filter_map(|z| z.subnet_id())
                        .map(|s| Value::Id(s.into())),
                ),
            ),
            (
                "security_groups",
                Value::set(b.security_groups().iter().map(|s| Value::Id(s.clone()))),
            ),
            ("idle_timeout", Value::Int(idle)),
            ("attributes", Value::Map(attributes)),
        ],
        exports,
    )
}

impl Mutator {
    pub(super) fn attributes(&self, attrs: &Attrs) -> Vec<LoadBalancerAttribute> {
        let idle = int(attrs, "idle_timeout").map_or(IDLE_TIMEOUT, i64::from);
        let mut out = vec![LoadBalancerAttribute::builder()
            .key("idle_timeout.timeout_seconds")
            .value(idle.to_string())
            .build()];
        for (k, v) in attrs
            .get("attributes")
            .and_then(Value::as_map)
            .into_iter()
            .flatten()
        {
            if let Some(v) = v.as_str() {
                out.push(LoadBalancerAttribute::builder().key(k).value(v).build());
            }
        }
        out
    }

    pub(super) async fn create_load_balancer(
        &self,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<(String, Vec<(&'static str, String)>), AwsError> {
        let c = &self.elb;
        let tags = Some(elb_tags(self.tag_pairs(address, attrs)));
        let out = send_once!(
            aws_sdk_elasticloadbalancingv2,
            "CreateLoadBalancer",
            c.create_load_balancer()
                .name(generated_name(&self.stack, address))
                .r#type(LoadBalancerTypeEnum::Application)
                .scheme(LoadBalancerSchemeEnum::from(required(attrs, "scheme")?))
                .set_subnets(Some(ids(attrs, "subnets")))
                .set_security_groups(Some(ids(attrs, "security_groups")))
                .set_tags(tags)
        )?;
        let b = out.load_balancers().first().cloned().unwrap_or_else(|| {
            aws_sdk_elasticloadbalancingv2::types::LoadBalancer::builder().build()
        });
        let arn = b.load_balancer_arn().unwrap_or_default().to_string();
        c.wait_until_load_balancer_available()
            .load_balancer_arns(&arn)
            .wait(self.wait_limit)
            .instrument(phase("wait load balancer available"))
            .await
            .map_err(|e| AwsError::waiter("waiting for the load balancer to be active", e))?;
        send!(
            "ModifyLoadBalancerAttributes",
            c.modify_load_balancer_attributes()
                .load_balancer_arn(&arn)
                .set_attributes(Some(self.attributes(attrs)))
        )?;
        let exports = [
            ("arn_suffix", arn_suffix(&arn, "loadbalancer/")),
            (
                "name",
                b.load_balancer_name().unwrap_or_default().to_string(),
            ),
            ("dns_name", b.dns_name().unwrap_or_default().to_string()),
            (
                "zone_id",
                b.canonical_hosted_zone_id().unwrap_or_default().to_string(),
            ),
        ];
        Ok((arn, exports.to_vec()))
    }

    pub(super) async fn update_load_balancer(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let c = &self.elb;
        let arn = observed.live_id.as_str();
        let differs = |key: &str| changed.contains(key);
        if differs("subnets") {
            send!(
                "SetSubnets",
                c.set_subnets()
                    .load_balancer_arn(arn)
                    .set_subnets(Some(ids(attrs, "subnets")))
            )?;
        }
        if differs("security_groups") {
            send!(
                "SetSecurityGroups",
                c.set_security_groups()
                    .load_balancer_arn(arn)
                    .set_security_groups(Some(ids(attrs, "security_groups")))
            )?;
        }
        if differs("idle_timeout") || differs("attributes") {
            send!(
                "ModifyLoadBalancerAttributes",
                c.modify_load_balancer_attributes()
                    .load_balancer_arn(arn)
                    .set_attributes(Some(self.attributes(attrs)))
            )?;
        }
        Ok(())
    }

    pub(super) async fn delete_load_balancer(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.elb;
        let arn = observed.live_id.as_str();
        send!(
            "DeleteLoadBalancer",
            c.delete_load_balancer().load_balancer_arn(arn)
        )?;
        c.wait_until_load_balancers_deleted()
            .load_balancer_arns(arn)
            .wait(self.wait_limit)
            .instrument(phase("wait load balancers deleted"))
            .await
            .map(drop)
            .map_err(|e| AwsError::waiter("waiting for the load balancer to be deleted", e))
    }
}
