//! RDS subnet groups, parameter groups and instances: their blocks (the serde
//! types a stack file is read into), references and own checks.

use super::*;
use crate::stack::spec::{resource_spec, Reference, Spanned};
use std::collections::BTreeMap;

pub(super) fn default_description() -> String {
    "managed by reconcile".to_string()
}

resource_spec!(
    /// `[db_subnet_group.NAME]`: an RDS subnet group. See docs/kinds.md.
    DbSubnetGroupSpec {
    /// Its subnets, in two zones at least.
    subnets: Vec<Spanned<Reference>>,
    /// Its description.
    #[serde(default = "default_description")]
    description: String,
});

resource_spec!(
    /// `[db_parameter_group.NAME]`: an RDS parameter group. See docs/kinds.md.
    DbParameterGroupSpec {
    /// The parameter group family, e.g. `postgres16`.
    family: String,
    /// Its description; a change replaces it.
    #[serde(default = "default_description")]
    description: String,
    /// Engine parameters by name: `log_min_duration_statement = "500"`.
    #[serde(default)]
    parameters: BTreeMap<String, String>,
});

resource_spec!(
    /// `[db_instance.NAME]`: an RDS database instance. See docs/kinds.md.
    DbInstanceSpec {
    /// The DB instance identifier: what it is called in AWS. A change replaces it.
    identifier: Spanned<String>,
    /// The engine (`postgres`, `mysql`, …); a change replaces it.
    engine: Spanned<String>,
    /// Unset: whatever AWS picks at creation, not compared afterwards.
    engine_version: Option<String>,
    /// The instance class; changed in place (downtime).
    instance_class: String,
    /// Storage in GiB; it only grows.
    allocated_storage: Spanned<i64>,
    /// `gp3`, `gp2`, `io1` … (unset: AWS's choice, not compared).
    storage_type: Option<String>,
    /// Its DB subnet group; a change replaces it.
    subnet_group: Spanned<Reference>,
    /// Unset: the engine's default group, not compared.
    parameter_group: Option<Spanned<Reference>>,
    /// Unset: whatever AWS assigns (the VPC's default group), not compared.
    security_groups: Option<Vec<Spanned<Reference>>>,
    /// A standby in another zone.
    #[serde(default)]
    multi_az: bool,
    /// Days of automated backups (default 7).
    #[serde(default = "seven")]
    backup_retention_days: Spanned<i64>,
    /// AWS's own deletion protection.
    #[serde(default)]
    deletion_protection: bool,
    /// Reachable from outside its VPC.
    #[serde(default)]
    publicly_accessible: bool,
    /// The master user's name; a change replaces it.
    master_username: String,
    /// The environment variable holding the master password: never in a file,
    /// a plan, a log or an error.
    master_password_env: Spanned<String>,
    /// Modifications take effect now (`true`) or in the next maintenance window.
    #[serde(default)]
    apply_immediately: bool,
});

fn seven() -> Spanned<i64> {
    Spanned::new(0..0, 7)
}

impl Checker {
    /// An RDS group is named `<stack>-<block>`: one name a stack, 255
    /// characters at most.
    fn rds_group(&mut self, stack: &Stack, r: &Resource) {
        let name = crate::model::rds_group_name(&stack.name, &r.address);
        if name.len() > 255 {
            self.error(
                r.span.clone(),
                format!(
                    "{}: its RDS name is {} characters; RDS takes 255",
                    r.address,
                    name.len()
                ),
            )
            .help = Some("shorten the block's name: the group is named <stack>-<block>".into());
        }
        let identity = format!("{} (AWS name `{name}`)", r.address.kind);
        self.identity(r, identity, r.span.clone());
    }

    pub(super) fn db_parameter_group(
        &mut self,
        stack: &Stack,
        r: &Resource,
        s: &DbParameterGroupSpec,
    ) {
        self.rds_group(stack, r);
        if s.family.is_empty() {
            self.error(r.span.clone(), format!("{}: `family` is empty", r.address))
                .help = Some("name the parameter group family, for example postgres16".into());
        }
    }

    pub(super) fn db_subnet_group(&mut self, stack: &Stack, r: &Resource, s: &DbSubnetGroupSpec) {
        self.rds_group(stack, r);
        if s.subnets.len() < 2 {
            self.error(
                r.span.clone(),
                format!(
                    "{}: a DB subnet group needs subnets in at least two zones",
                    r.address
                ),
            );
        }
    }

    pub(super) fn db_instance(&mut self, stack: &Stack, r: &Resource, s: &DbInstanceSpec) {
        let identity = format!(
            "database (identifier `{}`)",
            s.identifier.get_ref().to_lowercase()
        );
        self.identity(r, identity, s.identifier.span());
        let id = s.identifier.get_ref();
        let valid = (1..=63).contains(&id.len())
            && id.starts_with(|c: char| c.is_ascii_alphabetic())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !id.ends_with('-')
            && !id.contains("--");
        if !valid {
            self.error(
                s.identifier.span(),
                format!("invalid DB instance identifier `{id}`"),
            )
            .help =
                Some("1 to 63 letters, digits and single hyphens, starting with a letter".into());
        }
        self.one_of(
            s.engine.span(),
            "engine",
            s.engine.get_ref(),
            &[
                "postgres",
                "mysql",
                "mariadb",
                "oracle-ee",
                "oracle-se2",
                "sqlserver-ee",
                "sqlserver-se",
                "sqlserver-ex",
                "sqlserver-web",
            ],
        );
        self.in_range(&s.allocated_storage, "allocated_storage", 20..=65536);
        self.in_range(&s.backup_retention_days, "backup_retention_days", 0..=35);
        let var = s.master_password_env.get_ref();
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            // The value may be the password itself: neither echoed nor quoted.
            let d = self.error(
                s.master_password_env.span(),
                format!(
                    "{}: master_password_env is not an environment variable name",
                    r.address
                ),
            );
            d.help = Some("name the variable that holds the password (letters, digits, `_`), for example PROD_DB_PASSWORD; never the password itself".into());
            d.quote = false;
        }
        let other = stack.resources.values().find(|o| match &o.spec {
            Spec::DbInstance(d) => {
                o.address < r.address
                    && d.identifier.get_ref() == id
                    && o.regions.iter().any(|g| r.in_region(g))
            }
            _ => false,
        });
        if let Some(other) = other {
            self.error(
                s.identifier.span(),
                format!(
                    "{} and {} have the same identifier `{id}`",
                    other.address, r.address
                ),
            );
        }
    }
}

impl DbSubnetGroupSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        self.subnets
            .iter()
            .map(|r| field("subnets", r, Kind::Subnet))
            .collect()
    }
}

impl DbParameterGroupSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        vec![]
    }
}

impl DbInstanceSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        {
            std::iter::once(field(
                "subnet_group",
                &self.subnet_group,
                Kind::DbSubnetGroup,
            ))
            .chain(
                self.parameter_group
                    .iter()
                    .map(|r| field("parameter_group", r, Kind::DbParameterGroup)),
            )
            .chain(
                self.security_groups
                    .iter()
                    .flatten()
                    .map(|r| field("security_groups", r, Kind::SecurityGroup)),
            )
            .collect()
        }
    }
}
