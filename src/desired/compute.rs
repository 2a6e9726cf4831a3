//! The desired attributes of the compute kinds: EC2 instances.

use super::*;
use crate::stack::spec::InstanceSpec;

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
