//! Database instances: how discovery reads one, create, update, delete.

use super::*;
use aws_sdk_rds::types::DbInstance;

/// A database the stack owns, with the values AWS holds for the maintenance
/// window in its handles, as reconcile compares it.
pub(super) fn observe(
    scope: Scope<'_>,
    region: &str,
    db: &DbInstance,
    tags: &BTreeMap<String, String>,
) -> Option<Observed> {
    let arn = db.db_instance_arn().unwrap_or_default();
    let (attrs, pending) = db_attrs(db);
    let exports = db_exports(db);
    let mut o = observed_in(scope, region, Kind::DbInstance, tags, arn, attrs, exports)?;
    o.handles.extend(
        pending
            .into_iter()
            .map(|(attr, live)| (format!("{PENDING}{attr}"), live)),
    );
    Some(o)
}

/// A database's attributes as they will be once what AWS holds back for the
/// maintenance window is applied (`PendingModifiedValues`), so that a change
/// already requested is neither planned nor sent again; and, for each such
/// attribute, the value it has now.
pub(super) fn db_attrs(
    db: &aws_sdk_rds::types::DbInstance,
) -> (Vec<(&'static str, Value)>, BTreeMap<&'static str, String>) {
    let id = db.db_instance_identifier().unwrap_or_default();
    let arn = db.db_instance_arn().unwrap_or_default();
    let group = db
        .db_subnet_group()
        .and_then(|g| g.db_subnet_group_name())
        .unwrap_or_default();
    let groups = db
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id());
    let mut attrs = vec![
        ("identifier", Value::str(id)),
        ("engine", Value::str(db.engine().unwrap_or_default())),
        (
            "engine_version",
            Value::str(db.engine_version().unwrap_or_default()),
        ),
        (
            "instance_class",
            Value::str(db.db_instance_class().unwrap_or_default()),
        ),
        (
            "allocated_storage",
            Value::Int(i64::from(db.allocated_storage().unwrap_or_default())),
        ),
        ("subnet_group", Value::Id(sibling_arn(arn, "subgrp", group))),
        (
            "security_groups",
            Value::set(groups.map(|g| Value::Id(g.into()))),
        ),
        ("multi_az", Value::Bool(db.multi_az().unwrap_or(false))),
        (
            "backup_retention_days",
            Value::Int(i64::from(db.backup_retention_period().unwrap_or_default())),
        ),
        (
            "deletion_protection",
            Value::Bool(db.deletion_protection().unwrap_or(false)),
        ),
        (
            "publicly_accessible",
            Value::Bool(db.publicly_accessible().unwrap_or(false)),
        ),
        (
            "master_username",
            Value::str(db.master_username().unwrap_or_default()),
        ),
    ];
    if let Some(pg) = db
        .db_parameter_groups()
        .first()
        .and_then(|g| g.db_parameter_group_name())
    {
        attrs.push(("parameter_group", Value::Id(sibling_arn(arn, "pg", pg))));
    }
    if let Some(t) = db.storage_type() {
        attrs.push(("storage_type", Value::str(t)));
    }
    let mut pending = BTreeMap::new();
    if let Some(p) = db.pending_modified_values() {
        let later = [
            ("instance_class", p.db_instance_class().map(Value::str)),
            (
                "allocated_storage",
                p.allocated_storage().map(|v| Value::Int(i64::from(v))),
            ),
            ("engine_version", p.engine_version().map(Value::str)),
            ("multi_az", p.multi_az().map(Value::Bool)),
            (
                "backup_retention_days",
                p.backup_retention_period()
                    .map(|v| Value::Int(i64::from(v))),
            ),
            ("storage_type", p.storage_type().map(Value::str)),
        ];
        for (key, value) in later {
            let Some(value) = value else { continue };
            if let Some((_, now)) = attrs.iter_mut().find(|(k, _)| *k == key) {
                pending.insert(key, now.to_string());
                *now = value;
            }
        }
    }
    (attrs, pending)
}

impl Mutator {
    pub(super) async fn create_db_instance(
        &self,
        address: &Address,
        attrs: &Attrs,
        inputs: &Inputs,
    ) -> Result<Created, AwsError> {
        let c = &self.rds;
        let tags = Some(rds_tags(self.tag_pairs(address, attrs)));
        let identifier = text(attrs, "identifier").unwrap_or_default();
        let password = inputs.get("master_password").ok_or_else(|| {
            AwsError::new(
                "CreateDBInstance",
                ErrorClass::Invalid,
                "MissingPassword",
                "the master password's environment variable is not set",
            )
        })?;
        send_once!(
            aws_sdk_rds,
            "CreateDBInstance",
            c.create_db_instance()
                .db_instance_identifier(identifier)
                .engine(text(attrs, "engine").unwrap_or_default())
                .set_engine_version(text(attrs, "engine_version").map(str::to_string))
                .db_instance_class(text(attrs, "instance_class").unwrap_or_default())
                .set_allocated_storage(int(attrs, "allocated_storage"))
                .set_storage_type(text(attrs, "storage_type").map(str::to_string))
                .set_db_subnet_group_name(
                    text(attrs, "subnet_group").map(|g| name_of(g).to_string())
                )
                .set_db_parameter_group_name(
                    text(attrs, "parameter_group").map(|g| name_of(g).to_string())
                )
                .set_vpc_security_group_ids(
                    attrs
                        .contains_key("security_groups")
                        .then(|| ids(attrs, "security_groups"))
                )
                .set_multi_az(flag(attrs, "multi_az"))
                .set_backup_retention_period(int(attrs, "backup_retention_days"))
                .set_deletion_protection(flag(attrs, "deletion_protection"))
                .set_publicly_accessible(flag(attrs, "publicly_accessible"))
                .master_username(text(attrs, "master_username").unwrap_or_default())
                .master_user_password(password)
                .set_tags(tags)
        )?;
        let exports = self
            .wait_for(identifier, "creating", Some("available"))
            .await?;
        Ok(Created {
            live_id: exports.get("arn").cloned().unwrap_or_default(),
            exports,
        })
    }

    pub(super) async fn update_db_instance(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        let c = &self.rds;
        let differs = |key: &str| changed.contains(key);
        let name = name_of_observed(observed);
        let when = |key: &str| differs(key);
        let modify = c
            .modify_db_instance()
            .db_instance_identifier(&name)
            .apply_immediately(inputs.contains_key("apply_immediately"))
            .set_engine_version(
                text(attrs, "engine_version")
                    .filter(|_| when("engine_version"))
                    .map(str::to_string),
            )
            .set_allow_major_version_upgrade(when("engine_version").then_some(true))
            .set_db_instance_class(
                text(attrs, "instance_class")
                    .filter(|_| when("instance_class"))
                    .map(str::to_string),
            )
            .set_allocated_storage(
                int(attrs, "allocated_storage").filter(|_| when("allocated_storage")),
            )
            .set_storage_type(
                text(attrs, "storage_type")
                    .filter(|_| when("storage_type"))
                    .map(str::to_string),
            )
            .set_vpc_security_group_ids(
                when("security_groups").then(|| ids(attrs, "security_groups")),
            )
            .set_multi_az(flag(attrs, "multi_az").filter(|_| when("multi_az")))
            .set_backup_retention_period(
                int(attrs, "backup_retention_days").filter(|_| when("backup_retention_days")),
            )
            .set_deletion_protection(
                flag(attrs, "deletion_protection").filter(|_| when("deletion_protection")),
            )
            .set_publicly_accessible(
                flag(attrs, "publicly_accessible").filter(|_| when("publicly_accessible")),
            )
            .set_db_parameter_group_name(
                text(attrs, "parameter_group")
                    .filter(|_| when("parameter_group"))
                    .map(|g| name_of(g).to_string()),
            );
        let changed = [
            "parameter_group",
            "engine_version",
            "instance_class",
            "allocated_storage",
            "storage_type",
            "security_groups",
            "multi_az",
            "backup_retention_days",
            "deletion_protection",
            "publicly_accessible",
        ]
        .iter()
        .any(|k| when(k));
        if changed {
            send!("ModifyDBInstance", modify)?;
            self.wait_for(&name, "modifying", Some("available")).await?;
        }
        Ok(())
    }

    pub(super) async fn delete_db_instance(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.rds;
        let name = name_of_observed(observed);
        // A deliberate deletion always leaves a final snapshot.
        let snapshot = final_snapshot_name(&name, std::time::SystemTime::now());
        send!(
            "DeleteDBInstance",
            c.delete_db_instance()
                .db_instance_identifier(&name)
                .skip_final_snapshot(false)
                .final_db_snapshot_identifier(&snapshot)
                .delete_automated_backups(false)
        )?;
        self.progress(format!(
            "{} ({}): final snapshot {snapshot}",
            observed.address, observed.region
        ));
        self.wait_for(&name, "deleting", None).await.map(drop)
    }

    /// Polls until the instance reaches `status` (or is gone, for `None`),
    /// reporting progress while it waits: RDS takes minutes.
    pub(super) async fn wait_for(
        &self,
        identifier: &str,
        doing: &str,
        status: Option<&str>,
    ) -> Result<BTreeMap<String, String>, AwsError> {
        use tracing::Instrument;
        self.poll_status(identifier, doing, status)
            .instrument(crate::model::profile::phase("wait db instance"))
            .await
    }

    async fn poll_status(
        &self,
        identifier: &str,
        doing: &str,
        status: Option<&str>,
    ) -> Result<BTreeMap<String, String>, AwsError> {
        let started = Instant::now();
        let mut delay = Duration::from_secs(5);
        loop {
            let found = send!(
                "DescribeDBInstances",
                self.rds
                    .describe_db_instances()
                    .db_instance_identifier(identifier)
            );
            let db = match found {
                Err(e) if e.is(Code::DbInstanceNotFound) && status.is_none() => {
                    return Ok(BTreeMap::new())
                }
                other => other?.db_instances().first().cloned(),
            };
            let now = db
                .as_ref()
                .and_then(|d| d.db_instance_status())
                .unwrap_or("unknown")
                .to_string();
            if status == Some(now.as_str()) {
                let db = db.expect("a status was read from it");
                return Ok(db_exports(&db));
            }
            if started.elapsed() > self.wait_limit {
                return Err(AwsError::new(
                    "waiting for the DB instance",
                    ErrorClass::Other,
                    "Timeout",
                    format!(
                        "{identifier} is still {now} after {}s; rerun apply to pick it up",
                        self.wait_limit.as_secs()
                    ),
                ));
            }
            self.progress.wait(
                format!(
                    "{identifier}: {doing}, status {now} ({}s)",
                    started.elapsed().as_secs()
                ),
                started.elapsed(),
                None,
            );
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }
}
