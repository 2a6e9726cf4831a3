//! Target groups: how discovery reads one, create, update, delete.

use super::*;
use aws_sdk_elasticloadbalancingv2::types::TargetGroup;

/// Sets a target group request's health check from the `health_check`
/// attribute: CreateTargetGroup and ModifyTargetGroup take the same fields.
macro_rules! health_check {
    ($request:expr, $attrs:expr) => {{
        let check = HealthCheck::parse($attrs.get("health_check").unwrap_or(&Value::Unknown));
        let number = |n: i64| i32::try_from(n).ok();
        $request
            .health_check_path(check.path)
            .health_check_protocol(ProtocolEnum::from(check.protocol.as_str()))
            .health_check_port(check.port)
            .set_health_check_interval_seconds(number(check.interval))
            .set_health_check_timeout_seconds(number(check.timeout))
            .set_healthy_threshold_count(number(check.healthy_threshold))
            .set_unhealthy_threshold_count(number(check.unhealthy_threshold))
            .matcher(Matcher::builder().http_code(check.matcher).build())
    }};
}

/// A target group the stack owns, as reconcile compares it.
pub(super) fn observe(
    scope: Scope<'_>,
    region: &str,
    g: &TargetGroup,
    tags: &Tags,
) -> Option<Observed> {
    let arn = g.target_group_arn().unwrap_or_default();
    let protocol = g.protocol().map(|p| p.as_str()).unwrap_or_default();
    let number = |n: Option<i32>, default: i64| n.map_or(default, i64::from);
    let d = HealthCheck::defaults(
        g.health_check_protocol()
            .map(|p| p.as_str())
            .unwrap_or(protocol),
    );
    let check = HealthCheck {
        path: g.health_check_path().map_or(d.path, str::to_string),
        port: g.health_check_port().map_or(d.port, str::to_string),
        interval: number(g.health_check_interval_seconds(), d.interval),
        timeout: number(g.health_check_timeout_seconds(), d.timeout),
        healthy_threshold: number(g.healthy_threshold_count(), d.healthy_threshold),
        unhealthy_threshold: number(g.unhealthy_threshold_count(), d.unhealthy_threshold),
        matcher: g
            .matcher()
            .and_then(|m| m.http_code())
            .map_or(d.matcher, str::to_string),
        protocol: d.protocol,
    }
    .to_value();
    let exports = BTreeMap::from([
        ("arn_suffix".to_string(), arn_suffix(arn, "targetgroup/")),
        (
            "name".to_string(),
            g.target_group_name().unwrap_or_default().to_string(),
        ),
    ]);
    owned_elb(
        scope,
        region,
        Kind::TargetGroup,
        &tags[arn],
        arn,
        [
            ("vpc", Value::Id(g.vpc_id().unwrap_or_default().into())),
            ("protocol", Value::str(protocol)),
            ("port", Value::Int(number(g.port(), 0))),
            (
                "target_type",
                Value::str(g.target_type().map(|t| t.as_str()).unwrap_or("instance")),
            ),
            ("health_check", check),
        ],
        exports,
    )
}

impl Mutator {
    pub(super) async fn create_target_group(
        &self,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<(String, Vec<(&'static str, String)>), AwsError> {
        let c = &self.elb;
        let tags = Some(elb_tags(self.tag_pairs(address, attrs)));
        let name = generated_name(&self.stack, address);
        let out = send_once!(
            aws_sdk_elasticloadbalancingv2,
            "CreateTargetGroup",
            health_check!(
                c.create_target_group()
                    .name(&name)
                    .protocol(ProtocolEnum::from(required(attrs, "protocol")?))
                    .set_port(int(attrs, "port"))
                    .vpc_id(required(attrs, "vpc")?)
                    .target_type(TargetTypeEnum::from(required(attrs, "target_type")?)),
                attrs
            )
            .set_tags(tags)
        )?;
        let arn = out
            .target_groups()
            .first()
            .and_then(|g| g.target_group_arn())
            .unwrap_or_default()
            .to_string();
        let exports = [
            ("arn_suffix", arn_suffix(&arn, "targetgroup/")),
            ("name", name),
        ];
        Ok((arn, exports.to_vec()))
    }

    pub(super) async fn update_target_group(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let c = &self.elb;
        let arn = observed.live_id.as_str();
        let differs = |key: &str| changed.contains(key);
        if differs("health_check") {
            send!(
                "ModifyTargetGroup",
                health_check!(c.modify_target_group().target_group_arn(arn), attrs)
            )?;
        }
        Ok(())
    }

    pub(super) async fn delete_target_group(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.elb;
        let arn = observed.live_id.as_str();
        retry_while(
            || async {
                send!(
                    "DeleteTargetGroup",
                    c.delete_target_group().target_group_arn(arn)
                )
                .map(drop)
            },
            in_use,
            8,
        )
        .await
    }
}
