//! Instances, launch templates and Auto Scaling groups: their blocks (the
//! serde types a stack file is read into), references and own checks.

use super::*;
use crate::stack::spec::{resource_spec, Reference, Regional, Spanned};
use schemars::JsonSchema;
use serde::Deserialize;

resource_spec!(
    /// `[launch_template.NAME]`: an EC2 launch template (a change is a new version). See docs/kinds.md.
    LaunchTemplateSpec {
    /// AMIs differ per region, as an instance's.
    ami: Spanned<Regional<String>>,
    /// The instance type its instances run.
    instance_type: String,
    /// Its instances' security groups.
    #[serde(default)]
    security_groups: Vec<Spanned<Reference>>,
    /// The instance profile its instances run with.
    instance_profile: Option<Spanned<Reference>>,
    /// Compared by its digest; given to EC2 base64-encoded.
    user_data: Option<String>,
    /// An EC2 key pair's name, for SSH.
    key_name: Option<String>,
});

resource_spec!(
    /// `[autoscaling_group.NAME]`: an Auto Scaling group from a launch template. See docs/kinds.md.
    AutoscalingGroupSpec {
    /// The launch template it launches (its default version).
    launch_template: Spanned<Reference>,
    /// Its subnets.
    subnets: Vec<Spanned<Reference>>,
    /// The fewest instances it keeps.
    min: Spanned<i64>,
    /// The most instances it launches.
    max: Spanned<i64>,
    /// Left out: whoever scales the group owns its desired capacity.
    desired: Option<Spanned<i64>>,
    /// Target groups its instances are registered in.
    #[serde(default)]
    target_groups: Vec<Spanned<Reference>>,
    /// How it judges its instances.
    #[serde(default)]
    health_check: GroupHealthCheckSpec,
});

/// How a group judges its instances: EC2's status checks, or also its
/// target groups' (`ELB`), after a grace period from launch.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupHealthCheckSpec {
    /// `EC2` (default) or `ELB`: also its target groups' health.
    #[serde(rename = "type")]
    pub check_type: Option<Spanned<String>>,
    /// `"60s"`, `"5m"`: 0 when left out, as AWS's API.
    pub grace: Option<Spanned<String>>,
}

resource_spec!(
    /// `[instance.NAME]`: EC2 instances (`count` copies). See docs/kinds.md.
    InstanceSpec {
    /// AMIs differ per region: `ami = { us-west-2 = "ami-…", eu-west-1 = "ami-…" }`.
    ami: Spanned<Regional<String>>,
    /// The instance type; changed in place (the instance stops).
    instance_type: String,
    /// Its subnet; a change replaces it.
    subnet: Spanned<Reference>,
    /// Its security groups.
    #[serde(default)]
    security_groups: Vec<Spanned<Reference>>,
    /// How many identical instances: addresses become `instance.name[0]`, `[1]`, …
    count: Option<Spanned<i64>>,
    /// Its user data; compared by digest, a change replaces it.
    user_data: Option<String>,
    /// Target groups the instance is registered in.
    #[serde(default)]
    target_groups: Vec<Spanned<Reference>>,
    /// `instance_profile.app`: the IAM role its programs act as.
    instance_profile: Option<Spanned<Reference>>,
});

impl Checker {
    pub(super) fn launch_template(&mut self, _: &Stack, r: &Resource, s: &LaunchTemplateSpec) {
        self.regional(r, "ami", &s.ami);
    }

    pub(super) fn instance(&mut self, _stack: &Stack, r: &Resource, s: &InstanceSpec) {
        self.regional(r, "ami", &s.ami);
    }

    pub(super) fn autoscaling_group(
        &mut self,
        _stack: &Stack,
        r: &Resource,
        s: &AutoscalingGroupSpec,
    ) {
        self.in_range(&s.min, "min", 0..=10_000);
        self.in_range(&s.max, "max", 0..=10_000);
        if s.max.get_ref() < s.min.get_ref() {
            self.error(
                s.max.span(),
                format!(
                    "{}: max {} is under min {}",
                    r.address,
                    s.max.get_ref(),
                    s.min.get_ref()
                ),
            );
        }
        if let Some(desired) = &s.desired {
            if !(s.min.get_ref()..=s.max.get_ref()).contains(&desired.get_ref()) {
                self.error(
                    desired.span(),
                    format!(
                        "{}: desired {} is outside min {} to max {}",
                        r.address,
                        desired.get_ref(),
                        s.min.get_ref(),
                        s.max.get_ref()
                    ),
                );
            }
        }
        if s.subnets.is_empty() {
            self.error(
                r.span.clone(),
                format!("{}: a group needs `subnets`", r.address),
            );
        }
        if let Some(t) = &s.health_check.check_type {
            self.one_of(t.span(), "health check type", t.get_ref(), &["EC2", "ELB"]);
        }
        if let Some(grace) = &s.health_check.grace {
            if let Err(e) = humantime::parse_duration(grace.get_ref()) {
                self.error(
                    grace.span(),
                    format!(
                        "{}: `{}` is not a duration ({e}); write it as 60s or 5m",
                        r.address,
                        grace.get_ref()
                    ),
                );
            }
        }
    }
}

impl InstanceSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        std::iter::once(field("subnet", &self.subnet, Kind::Subnet))
            .chain(
                self.security_groups
                    .iter()
                    .map(|r| field("security_groups", r, Kind::SecurityGroup)),
            )
            .chain(
                self.target_groups
                    .iter()
                    .map(|r| field("target_groups", r, Kind::TargetGroup)),
            )
            .chain(
                self.instance_profile
                    .iter()
                    .map(|r| field("instance_profile", r, Kind::InstanceProfile)),
            )
            .collect()
    }
}

impl LaunchTemplateSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        self.security_groups
            .iter()
            .map(|r| field("security_groups", r, Kind::SecurityGroup))
            .chain(
                self.instance_profile
                    .iter()
                    .map(|r| field("instance_profile", r, Kind::InstanceProfile)),
            )
            .collect()
    }
}

impl AutoscalingGroupSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        std::iter::once(field(
            "launch_template",
            &self.launch_template,
            Kind::LaunchTemplate,
        ))
        .chain(
            self.subnets
                .iter()
                .map(|r| field("subnets", r, Kind::Subnet)),
        )
        .chain(
            self.target_groups
                .iter()
                .map(|r| field("target_groups", r, Kind::TargetGroup)),
        )
        .collect()
    }
}
