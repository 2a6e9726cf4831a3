//! The desired attributes of the compute kinds: EC2 instances, launch
//! templates, Auto Scaling groups.

use super::*;
use crate::stack::spec::{AutoscalingGroupSpec, InstanceSpec, LaunchTemplateSpec};

pub(super) fn instance(c: &mut Ctx, s: &InstanceSpec) {
    c.set("ami", regional_str(s.ami.get_ref().get(c.region)));
    c.set("instance_type", Value::str(&s.instance_type));
    c.set("subnet", c.reference(s.subnet.get_ref()));
    c.set(
        "security_groups",
        Value::set(s.security_groups.iter().map(|r| c.reference(r.get_ref()))),
    );
    if let Some(data) = &s.user_data {
        c.set("user_data", Value::Str(user_data_digest(data)));
    }
    c.set(
        "target_groups",
        Value::set(s.target_groups.iter().map(|r| c.reference(r.get_ref()))),
    );
    if let Some(profile) = &s.instance_profile {
        c.set("instance_profile", c.reference(profile.get_ref()));
    }
}

pub(super) fn launch_template(c: &mut Ctx, s: &LaunchTemplateSpec) {
    c.set("ami", regional_str(s.ami.get_ref().get(c.region)));
    c.set("instance_type", Value::str(&s.instance_type));
    c.set(
        "security_groups",
        Value::set(s.security_groups.iter().map(|r| c.reference(r.get_ref()))),
    );
    if let Some(profile) = &s.instance_profile {
        c.set("instance_profile", c.reference(profile.get_ref()));
    }
    if let Some(data) = &s.user_data {
        c.set("user_data", Value::Str(user_data_digest(data)));
    }
    if let Some(key) = &s.key_name {
        c.set("key_name", Value::str(key));
    }
}

pub(super) fn autoscaling_group(c: &mut Ctx, s: &AutoscalingGroupSpec) {
    c.set("launch_template", c.reference(s.launch_template.get_ref()));
    // Every instance on the template's default version: what it will be
    // once a template changed by this plan has its new one.
    if let Some(template) = s.launch_template.get_ref().address() {
        let version = c.resolve.attribute(template, "version");
        c.set(
            "instances",
            version.map_or(Value::Unknown, |v| {
                Value::Str(crate::model::shapes::all_on_version(&v))
            }),
        );
    }
    c.set(
        "subnets",
        Value::set(s.subnets.iter().map(|r| c.reference(r.get_ref()))),
    );
    c.set("min", Value::Int(*s.min.get_ref()));
    c.set("max", Value::Int(*s.max.get_ref()));
    if let Some(desired) = &s.desired {
        c.set("desired", Value::Int(*desired.get_ref()));
    }
    c.set(
        "target_groups",
        Value::set(s.target_groups.iter().map(|r| c.reference(r.get_ref()))),
    );
    let h = &s.health_check;
    let grace = h
        .grace
        .as_ref()
        .and_then(|g| humantime::parse_duration(g.get_ref()).ok())
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    c.set(
        "health_check",
        crate::model::shapes::group_health_check(
            h.check_type.as_ref().map_or("EC2", |t| t.get_ref()),
            grace,
        ),
    );
}

no_inputs!(AutoscalingGroupSpec);

/// Its user data, compared by digest, sent whole.
impl ApplyInputs for InstanceSpec {
    fn inputs(&self, inputs: &mut Inputs) {
        if let Some(data) = &self.user_data {
            inputs.insert("user_data", data.clone());
        }
    }
}

impl ApplyInputs for LaunchTemplateSpec {
    fn inputs(&self, inputs: &mut Inputs) {
        if let Some(data) = &self.user_data {
            inputs.insert("user_data", data.clone());
        }
    }
}
