//! The desired attributes of the database kinds: RDS subnet groups, parameter groups and DB instances.

use super::*;
use crate::stack::spec::{DbInstanceSpec, DbParameterGroupSpec, DbSubnetGroupSpec};

pub(super) fn db_subnet_group(c: &mut Ctx, s: &DbSubnetGroupSpec) {
    c.set("description", Value::str(&s.description));
    c.set_subnets_vpc(&s.subnets);
    c.set(
        "subnets",
        Value::set(s.subnets.iter().map(|r| c.reference(r.get_ref()))),
    );
}

pub(super) fn db_parameter_group(c: &mut Ctx, s: &DbParameterGroupSpec) {
    c.set("family", Value::str(&s.family));
    c.set("description", Value::str(&s.description));
    c.set(
        "parameters",
        Value::map(s.parameters.iter().map(|(k, v)| (k.clone(), Value::str(v)))),
    );
}

pub(super) fn db_instance(c: &mut Ctx, s: &DbInstanceSpec) {
    c.set("identifier", Value::str(s.identifier.get_ref()));
    if let Some(g) = &s.parameter_group {
        c.set("parameter_group", c.reference(g.get_ref()));
    }
    c.set("engine", Value::str(s.engine.get_ref()));
    if let Some(v) = &s.engine_version {
        c.set("engine_version", Value::str(v));
    }
    c.set("instance_class", Value::str(&s.instance_class));
    c.set(
        "allocated_storage",
        Value::Int(*s.allocated_storage.get_ref()),
    );
    if let Some(t) = &s.storage_type {
        c.set("storage_type", Value::str(t));
    }
    c.set("subnet_group", c.reference(s.subnet_group.get_ref()));
    if let Some(groups) = &s.security_groups {
        c.set(
            "security_groups",
            Value::set(groups.iter().map(|r| c.reference(r.get_ref()))),
        );
    }
    c.set("multi_az", Value::Bool(s.multi_az));
    c.set(
        "backup_retention_days",
        Value::Int(*s.backup_retention_days.get_ref()),
    );
    c.set("deletion_protection", Value::Bool(s.deletion_protection));
    c.set("publicly_accessible", Value::Bool(s.publicly_accessible));
    c.set("master_username", Value::str(&s.master_username));
}

no_inputs!(DbSubnetGroupSpec, DbParameterGroupSpec);

/// Its master password, from the variable the block names (never in a plan),
/// and whether its modifications wait for the maintenance window.
impl ApplyInputs for DbInstanceSpec {
    fn inputs(&self, inputs: &mut Inputs) {
        if let Ok(password) = std::env::var(self.master_password_env.get_ref()) {
            inputs.insert("master_password", password);
        }
        if self.apply_immediately {
            inputs.insert("apply_immediately", "true".into());
        }
    }
}
