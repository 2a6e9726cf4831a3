//! EC2 Auto Scaling: groups of instances launched from a launch template,
//! the one kind it carries. One paged DescribeAutoScalingGroups with the
//! stack's tag finds a region's groups, with their tags and instances.

use super::{ids, int, observed, text, AwsError, Created, ErrorClass, Mutator};
use crate::model::probe::{GroupInstance, GroupNow};
use crate::model::tags;
use crate::model::{
    Address, Attrs, Changed, Kind, Observed, Value, IN_SERVICE, OUTDATED, STACK_TAG, UNHEALTHY,
};
use aws_sdk_autoscaling::types::{AutoScalingGroup, Filter, LaunchTemplateSpecification, Tag};
use aws_sdk_autoscaling::Client;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// The version of its template a group launches: whichever is the default,
/// so a new version reaches new instances without touching the group.
const DEFAULT_VERSION: &str = "$Default";

fn group_name(stack: &str, address: &Address) -> String {
    format!("{stack}-{}", address.name)
}

/// Every group `stack` owns in `region`, with what its instances run.
pub async fn discover(
    client: &Client,
    ec2: &aws_sdk_ec2::Client,
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
    let runs = running(ec2, &groups).await?;
    Ok(groups
        .iter()
        .filter_map(|g| observe(region, g, &runs))
        .collect())
}

/// What an instance runs, as far as a group's template decides it.
type Runs = (Option<String>, Option<String>);

/// What the groups' templates' default versions launch, and what each of
/// their instances runs: one DescribeLaunchTemplateVersions a template, one
/// DescribeInstances for all instances.
struct Running {
    templates: HashMap<String, (i64, Runs)>,
    instances: HashMap<String, Runs>,
}

async fn running(
    ec2: &aws_sdk_ec2::Client,
    groups: &[AutoScalingGroup],
) -> Result<Running, AwsError> {
    let mut template_ids: Vec<&str> = groups
        .iter()
        .filter_map(|g| g.launch_template().and_then(|t| t.launch_template_id()))
        .collect();
    template_ids.sort();
    template_ids.dedup();
    let templates = futures::future::try_join_all(template_ids.iter().map(|id| async move {
        let out = send!(
            "DescribeLaunchTemplateVersions",
            ec2.describe_launch_template_versions()
                .launch_template_id(*id)
                .versions(DEFAULT_VERSION)
        )?;
        let v = out.launch_template_versions().first();
        let data = v.and_then(|v| v.launch_template_data());
        let runs = (
            data.and_then(|d| d.image_id()).map(str::to_string),
            data.and_then(|d| d.instance_type())
                .map(|t| t.as_str().to_string()),
        );
        Ok::<_, AwsError>((
            id.to_string(),
            (v.and_then(|v| v.version_number()).unwrap_or_default(), runs),
        ))
    }))
    .await?
    .into_iter()
    .collect();
    let ids: Vec<String> = groups
        .iter()
        .flat_map(|g| g.instances())
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
    let mut instances = HashMap::new();
    for chunk in ids.chunks(1000) {
        let reservations: Vec<aws_sdk_ec2::types::Reservation> = all_pages!(
            "DescribeInstances",
            ec2.describe_instances()
                .set_instance_ids(Some(chunk.to_vec()))
        )?;
        for i in reservations.iter().flat_map(|r| r.instances()) {
            instances.insert(
                i.instance_id().unwrap_or_default().to_string(),
                (
                    i.image_id().map(str::to_string),
                    i.instance_type().map(|t| t.as_str().to_string()),
                ),
            );
        }
    }
    Ok(Running {
        templates,
        instances,
    })
}

/// The instances of `g` that run something else than its template's
/// default version launches (its AMI or instance type): older versions.
/// With the default version's number, `None` without a template.
fn outdated<'a>(g: &'a AutoScalingGroup, runs: &Running) -> Option<(i64, Vec<&'a str>)> {
    let template = g.launch_template()?.launch_template_id()?;
    let (version, launches) = runs.templates.get(template)?;
    let old = g
        .instances()
        .iter()
        .filter_map(|i| i.instance_id())
        .filter(|id| runs.instances.get(*id).is_some_and(|r| r != launches))
        .collect();
    Some((*version, old))
}

fn observe(region: &str, g: &AutoScalingGroup, runs: &Running) -> Option<Observed> {
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
    let old = outdated(g, runs);
    let instances = old.as_ref().map(|(version, old)| {
        let version = version.to_string();
        let text = match old.len() {
            0 => crate::model::shapes::all_on_version(&version),
            n => crate::model::shapes::older_than_version(n, g.instances().len(), &version),
        };
        ("instances", Value::Str(text))
    });
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
    ]
    .into_iter()
    .chain(instances);
    let exports = BTreeMap::from([
        ("name".to_string(), name.to_string()),
        (
            "arn".to_string(),
            g.auto_scaling_group_arn().unwrap_or_default().to_string(),
        ),
    ]);
    let mut o = observed(region, Kind::AutoscalingGroup, &tags, name, attrs, exports)?;
    o.handles
        .insert(IN_SERVICE.into(), serving(g).len().to_string());
    let unhealthy = g
        .instances()
        .iter()
        .filter(|i| i.health_status() == Some("Unhealthy"))
        .count();
    o.handles.insert(UNHEALTHY.into(), unhealthy.to_string());
    o.handles.insert(
        OUTDATED.into(),
        old.map_or(0, |(_, old)| old.len()).to_string(),
    );
    Some(o)
}

/// The instances of `g` in service and healthy.
fn serving(g: &AutoScalingGroup) -> Vec<&str> {
    g.instances()
        .iter()
        .filter(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("InService"))
        .filter(|i| i.health_status() == Some("Healthy"))
        .filter_map(|i| i.instance_id())
        .collect()
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
    /// none at all), reporting progress; bounded by `--wait-timeout`. (Its
    /// instances moved to a new version wait in `ops::apply::group`.)
    async fn wait_in_service(&self, name: &str, wanted: i32) -> Result<(), AwsError> {
        use tracing::Instrument;
        async {
            let started = Instant::now();
            let mut delay = Duration::from_secs(1);
            let wanted_n = usize::try_from(wanted).unwrap_or(0);
            loop {
                let group = self.group(name).await?;
                let all = group.as_ref().map_or(0, |g| g.instances().len());
                let serving = group.as_ref().map_or(0, |g| serving(g).len());
                let done = match wanted {
                    0 => all == 0,
                    _ => serving >= wanted_n,
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
                            "{name} has {serving} of {wanted} instances in service ({all} in \
                             all) after {}s; rerun apply to keep waiting (--wait-timeout), or \
                             look at its activity history",
                            self.wait_limit.as_secs()
                        ),
                    ));
                }
                self.progress.wait(
                    format!("{name}: {serving}/{wanted} instances in service"),
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

    /// Those of `instances` target group `arn` reports healthy.
    pub(in crate::aws) async fn healthy_in(
        &self,
        arn: &str,
        instances: &[String],
    ) -> Result<Vec<String>, AwsError> {
        let health = send!(
            "DescribeTargetHealth",
            self.elb.describe_target_health().target_group_arn(arn)
        )?;
        Ok(health
            .target_health_descriptions()
            .iter()
            .filter(|d| {
                d.target_health()
                    .and_then(|h| h.state())
                    .is_some_and(|s| s.as_str() == "healthy")
            })
            .filter_map(|d| d.target().and_then(|t| t.id()))
            .filter(|id| instances.iter().any(|i| i == id))
            .map(str::to_string)
            .collect())
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
        // `instances` (outdated ones replaced) is apply's own work over the
        // seam's group calls (`ops::apply::group`), after this update.
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

    /// The group `name` as its instance replacement sees it: sizes, target
    /// groups, the default version, and each instance serving or not,
    /// outdated or not.
    pub(in crate::aws) async fn group_now(
        &self,
        name: &str,
        versions: bool,
    ) -> Result<Option<GroupNow>, AwsError> {
        let Some(group) = self.group(name).await? else {
            return Ok(None);
        };
        let (version, old) = match versions {
            true => {
                let runs = running(&self.ec2, std::slice::from_ref(&group)).await?;
                outdated(&group, &runs).unwrap_or_default()
            }
            false => (0, vec![]),
        };
        let serving = serving(&group);
        let surged_from = group
            .tags()
            .iter()
            .find(|t| t.key() == Some(tags::SURGE))
            .and_then(|t| t.value()?.split_once('/'))
            .and_then(|(desired, max)| Some((desired.parse().ok()?, max.parse().ok()?)));
        Ok(Some(GroupNow {
            surged_from,
            desired: group.desired_capacity().unwrap_or_default(),
            max: group.max_size().unwrap_or_default(),
            target_groups: group.target_group_arns().to_vec(),
            version,
            instances: group
                .instances()
                .iter()
                .filter_map(|i| i.instance_id())
                .map(|id| GroupInstance {
                    id: id.to_string(),
                    serving: serving.contains(&id),
                    outdated: old.contains(&id),
                })
                .collect(),
        }))
    }

    pub(in crate::aws) async fn mark_surge(
        &self,
        name: &str,
        from: Option<(i32, i32)>,
    ) -> Result<(), AwsError> {
        let c = &self.autoscaling;
        match from {
            Some((desired, max)) => {
                let tag = vec![(tags::SURGE.to_string(), format!("{desired}/{max}"))];
                send!(
                    "CreateOrUpdateTags",
                    c.create_or_update_tags()
                        .set_tags(Some(self.group_tags(name, tag)))
                )
                .map(drop)
            }
            None => {
                let tag = vec![(tags::SURGE.to_string(), String::new())];
                send!(
                    "DeleteTags",
                    c.delete_tags().set_tags(Some(self.group_tags(name, tag)))
                )
                .map(drop)
            }
        }
    }

    pub(in crate::aws) async fn set_capacity(
        &self,
        name: &str,
        desired: i32,
        max: i32,
    ) -> Result<(), AwsError> {
        send!(
            "UpdateAutoScalingGroup",
            self.autoscaling
                .update_auto_scaling_group()
                .auto_scaling_group_name(name)
                .max_size(max)
                .desired_capacity(desired)
        )
        .map(drop)
    }

    pub(in crate::aws) async fn terminate(
        &self,
        instance: &str,
        decrement: bool,
    ) -> Result<(), AwsError> {
        send!(
            "TerminateInstanceInAutoScalingGroup",
            self.autoscaling
                .terminate_instance_in_auto_scaling_group()
                .instance_id(instance)
                .should_decrement_desired_capacity(decrement)
        )
        .map(drop)
    }

    /// Takes `instances` out of the target groups that have them, as
    /// registered (with their ports).
    pub(in crate::aws) async fn deregister(
        &self,
        target_groups: &[String],
        instances: &[String],
    ) -> Result<(), AwsError> {
        for group_arn in target_groups {
            let health = send!(
                "DescribeTargetHealth",
                self.elb
                    .describe_target_health()
                    .target_group_arn(group_arn)
            )?;
            let targets: Vec<_> = health
                .target_health_descriptions()
                .iter()
                .filter_map(|d| d.target())
                .filter(|t| t.id().is_some_and(|id| instances.iter().any(|i| i == id)))
                .cloned()
                .collect();
            if !targets.is_empty() {
                send!(
                    "DeregisterTargets",
                    self.elb
                        .deregister_targets()
                        .target_group_arn(group_arn)
                        .set_targets(Some(targets))
                )?;
            }
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
