//! EC2 Auto Scaling: groups of instances launched from a launch template,
//! the one kind it carries. One paged DescribeAutoScalingGroups with the
//! stack's tag finds a region's groups, with their tags and instances.

use super::{ids, int, observed, text, AwsError, Created, ErrorClass, Mutator};
use crate::model::{Address, Attrs, Changed, Kind, Observed, Value, STACK_TAG};
use aws_sdk_autoscaling::types::{AutoScalingGroup, Filter, LaunchTemplateSpecification, Tag};
use aws_sdk_autoscaling::Client;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The version of its template a group launches: whichever is the default,
/// so a new version reaches new instances without touching the group.
const DEFAULT_VERSION: &str = "$Default";

fn group_name(stack: &str, address: &Address) -> String {
    format!("{stack}-{}", address.name)
}

/// Every group `stack` owns in `region`.
pub async fn discover(
    client: &Client,
    stack: &str,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let groups: Vec<AutoScalingGroup> = all_pages!(
        "DescribeAutoScalingGroups",
        client
            .describe_auto_scaling_groups()
            .filters(
                Filter::builder()
                    .name(format!("tag:{STACK_TAG}"))
                    .values(stack)
                    .build()
            )
            .max_records(100)
    )?;
    Ok(groups.iter().filter_map(|g| observe(region, g)).collect())
}

fn observe(region: &str, g: &AutoScalingGroup) -> Option<Observed> {
    let tags: BTreeMap<String, String> = g
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect();
    let name = g.auto_scaling_group_name().unwrap_or_default();
    let template = g
        .launch_template()
        .and_then(|t| t.launch_template_id())
        .unwrap_or_default();
    let subnets = g
        .vpc_zone_identifier()
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Value::Id(s.trim().to_string()));
    let attrs = [
        ("launch_template", Value::Id(template.to_string())),
        ("subnets", Value::set(subnets)),
        (
            "min",
            Value::Int(i64::from(g.min_size().unwrap_or_default())),
        ),
        (
            "max",
            Value::Int(i64::from(g.max_size().unwrap_or_default())),
        ),
        (
            "desired",
            Value::Int(i64::from(g.desired_capacity().unwrap_or_default())),
        ),
        (
            "target_groups",
            Value::set(g.target_group_arns().iter().map(|a| Value::Id(a.clone()))),
        ),
        (
            "health_check",
            crate::model::shapes::group_health_check(
                g.health_check_type().unwrap_or("EC2"),
                g.health_check_grace_period().map(i64::from),
            ),
        ),
    ];
    let exports = BTreeMap::from([
        ("name".to_string(), name.to_string()),
        (
            "arn".to_string(),
            g.auto_scaling_group_arn().unwrap_or_default().to_string(),
        ),
    ]);
    observed(region, Kind::AutoscalingGroup, &tags, name, attrs, exports)
}

fn subnets(attrs: &Attrs) -> String {
    let mut all = ids(attrs, "subnets");
    all.sort();
    all.join(",")
}

fn health(attrs: &Attrs) -> (Option<String>, Option<i32>) {
    let h = attrs.get("health_check").and_then(Value::as_map);
    let check = h
        .and_then(|h| h.get("type"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let grace = h.and_then(|h| match h.get("grace") {
        Some(Value::Int(g)) => i32::try_from(*g).ok(),
        _ => None,
    });
    (check, grace)
}

fn template(attrs: &Attrs) -> LaunchTemplateSpecification {
    LaunchTemplateSpecification::builder()
        .set_launch_template_id(text(attrs, "launch_template").map(str::to_string))
        .version(DEFAULT_VERSION)
        .build()
}

impl Mutator {
    fn group_tags(&self, group: &str, pairs: Vec<(String, String)>) -> Vec<Tag> {
        pairs
            .into_iter()
            .map(|(k, v)| {
                Tag::builder()
                    .key(k)
                    .value(v)
                    .resource_id(group)
                    .resource_type("auto-scaling-group")
                    // Instances are not the group: they never carry its ownership.
                    .propagate_at_launch(false)
                    .build()
            })
            .collect()
    }

    pub(in crate::aws) async fn group_create(
        &self,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<Created, AwsError> {
        let name = group_name(&self.stack, address);
        let (check, grace) = health(attrs);
        send_once!(
            aws_sdk_autoscaling,
            "CreateAutoScalingGroup",
            self.autoscaling
                .create_auto_scaling_group()
                .auto_scaling_group_name(&name)
                .launch_template(template(attrs))
                .set_min_size(int(attrs, "min"))
                .set_max_size(int(attrs, "max"))
                .set_desired_capacity(int(attrs, "desired"))
                .vpc_zone_identifier(subnets(attrs))
                .set_target_group_arns(Some(ids(attrs, "target_groups")))
                .set_health_check_type(check)
                .set_health_check_grace_period(grace)
                .set_tags(Some(self.group_tags(&name, self.tag_pairs(address, attrs))))
        )?;
        let wanted = int(attrs, "desired").or(int(attrs, "min")).unwrap_or(0);
        self.wait_in_service(&name, wanted).await?;
        let found = self.group(&name).await?;
        Ok(Created {
            exports: BTreeMap::from([
                ("name".to_string(), name.clone()),
                (
                    "arn".to_string(),
                    found
                        .and_then(|g| g.auto_scaling_group_arn().map(str::to_string))
                        .unwrap_or_default(),
                ),
            ]),
            live_id: name,
        })
    }

    async fn group(&self, name: &str) -> Result<Option<AutoScalingGroup>, AwsError> {
        let out = send!(
            "DescribeAutoScalingGroups",
            self.autoscaling
                .describe_auto_scaling_groups()
                .auto_scaling_group_names(name)
        )?;
        Ok(out.auto_scaling_groups().first().cloned())
    }

    /// Waits until `name` has `wanted` instances in service (or, with 0,
    /// none at all), reporting progress; bounded by `--wait-timeout`.
    async fn wait_in_service(&self, name: &str, wanted: i32) -> Result<(), AwsError> {
        use tracing::Instrument;
        async {
            let started = Instant::now();
            let mut delay = Duration::from_secs(1);
            loop {
                let group = self.group(name).await?;
                let instances = group.as_ref().map(|g| g.instances()).unwrap_or_default();
                let in_service = instances
                    .iter()
                    .filter(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("InService"))
                    .count();
                let done = match wanted {
                    0 => instances.is_empty(),
                    n => in_service >= usize::try_from(n).unwrap_or(usize::MAX),
                };
                if done {
                    return Ok(());
                }
                if started.elapsed() > self.wait_limit {
                    return Err(AwsError::new(
                        "waiting for the group's instances",
                        ErrorClass::Other,
                        "Timeout",
                        format!(
                            "{name} has {in_service} of {wanted} instances in service ({} in all) after {}s; \
                             rerun apply to keep waiting (--wait-timeout), or look at its activity history",
                            instances.len(),
                            self.wait_limit.as_secs()
                        ),
                    ));
                }
                self.progress.wait(
                    format!("{name}: {in_service}/{wanted} instances in service"),
                    started.elapsed(),
                    Some(self.wait_limit),
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(15));
            }
        }
        .instrument(crate::model::profile::phase("wait group in service"))
        .await
    }

    pub(in crate::aws) async fn group_update(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let c = &self.autoscaling;
        let name = observed.live_id.as_str();
        let settings = [
            "launch_template",
            "subnets",
            "min",
            "max",
            "desired",
            "health_check",
        ];
        if settings.iter().any(|k| changed.contains(k)) {
            let (check, grace) = health(attrs);
            send!(
                "UpdateAutoScalingGroup",
                c.update_auto_scaling_group()
                    .auto_scaling_group_name(name)
                    .launch_template(template(attrs))
                    .set_min_size(int(attrs, "min"))
                    .set_max_size(int(attrs, "max"))
                    .set_desired_capacity(
                        int(attrs, "desired").filter(|_| changed.contains("desired"))
                    )
                    .vpc_zone_identifier(subnets(attrs))
                    .set_health_check_type(check)
                    .set_health_check_grace_period(grace)
            )?;
        }
        if changed.contains("target_groups") {
            let (want, have) = (
                ids(attrs, "target_groups"),
                ids(&observed.attrs, "target_groups"),
            );
            let add: Vec<String> = want.iter().filter(|a| !have.contains(a)).cloned().collect();
            let remove: Vec<String> = have.iter().filter(|a| !want.contains(a)).cloned().collect();
            if !add.is_empty() {
                send!(
                    "AttachLoadBalancerTargetGroups",
                    c.attach_load_balancer_target_groups()
                        .auto_scaling_group_name(name)
                        .set_target_group_arns(Some(add))
                )?;
            }
            if !remove.is_empty() {
                send!(
                    "DetachLoadBalancerTargetGroups",
                    c.detach_load_balancer_target_groups()
                        .auto_scaling_group_name(name)
                        .set_target_group_arns(Some(remove))
                )?;
            }
        }
        self.retag(observed, attrs, changed).await
    }

    pub(in crate::aws) async fn group_write_tags(
        &self,
        name: &str,
        set: Vec<(String, String)>,
        stale: Vec<String>,
    ) -> Result<(), AwsError> {
        let c = &self.autoscaling;
        send!(
            "CreateOrUpdateTags",
            c.create_or_update_tags()
                .set_tags(Some(self.group_tags(name, set)))
        )?;
        if !stale.is_empty() {
            let stale = stale.into_iter().map(|k| (k, String::new())).collect();
            send!(
                "DeleteTags",
                c.delete_tags().set_tags(Some(self.group_tags(name, stale)))
            )?;
        }
        Ok(())
    }

    /// Scales the group to nothing, waits for its instances to go, deletes it.
    pub(in crate::aws) async fn group_delete(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.autoscaling;
        let name = observed.live_id.as_str();
        send!(
            "UpdateAutoScalingGroup",
            c.update_auto_scaling_group()
                .auto_scaling_group_name(name)
                .min_size(0)
                .max_size(0)
                .desired_capacity(0)
        )?;
        self.wait_in_service(name, 0).await?;
        send!(
            "DeleteAutoScalingGroup",
            c.delete_auto_scaling_group().auto_scaling_group_name(name)
        )
        .map(drop)
    }
}
