//! RDS: DB subnet groups and DB instances. Instances carry their tags in
//! DescribeDBInstances; subnet groups do not, so only the groups whose names
//! reconcile would have given them have their tags read.

use super::{flag, ids, int, observed, text, AwsError, Code, Created, ErrorClass, Mutator};
use crate::model::{
    rds_group_name as group_name, Address, Attrs, Changed, Inputs, Kind, Observed, Value, PENDING,
};
use aws_sdk_rds::types::Tag;
use aws_sdk_rds::Client;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// RDS resources are identified by ARN: a subnet group's name and a database's
/// identifier may be the same string, and live ids must not collide. A database
/// names its groups; their ARNs share its prefix (`…:subgrp:name`, `…:pg:name`).
fn sibling_arn(db_arn: &str, resource: &str, name: &str) -> String {
    match db_arn.rsplit_once(":db:") {
        Some((prefix, _)) => format!("{prefix}:{resource}:{name}"),
        None => name.to_string(),
    }
}

/// The name in an RDS ARN, which is what RDS's calls take.
fn name_of(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// The kinds RDS carries (`super::place`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RdsKind {
    SubnetGroup,
    ParameterGroup,
    Instance,
}

/// At most 20 parameters go in one ModifyDBParameterGroup.
const PARAMETER_BATCH: usize = 20;

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect()
}

fn owned_by(tags: &BTreeMap<String, String>, stack: &str) -> bool {
    tags.get(crate::model::STACK_TAG).map(String::as_str) == Some(stack)
}

pub async fn discover(
    client: &Client,
    stack: &str,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let (instances, groups, parameter_groups) = tokio::try_join!(
        async { all_pages!("DescribeDBInstances", client.describe_db_instances()) },
        async { all_pages!("DescribeDBSubnetGroups", client.describe_db_subnet_groups()) },
        async {
            all_pages!(
                "DescribeDBParameterGroups",
                client.describe_db_parameter_groups()
            )
        },
    )?;
    let prefix = format!("{}-", stack.to_lowercase());
    let candidates: Vec<_> = groups
        .into_iter()
        .filter(|g| {
            g.db_subnet_group_name()
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    let group_tags = futures::future::try_join_all(candidates.iter().map(|g| async move {
        let arn = g.db_subnet_group_arn().unwrap_or_default();
        send!(
            "ListTagsForResource",
            client.list_tags_for_resource().resource_name(arn)
        )
        .map(|out| tag_map(out.tag_list()))
    }))
    .await?;

    let mut found = Vec::new();
    for (g, tags) in candidates.iter().zip(&group_tags) {
        if !owned_by(tags, stack) {
            continue;
        }
        let name = g.db_subnet_group_name().unwrap_or_default();
        let subnets = g.subnets().iter().filter_map(|s| s.subnet_identifier());
        let exports = BTreeMap::from([
            ("name".to_string(), name.to_string()),
            (
                "arn".to_string(),
                g.db_subnet_group_arn().unwrap_or_default().to_string(),
            ),
        ]);
        found.extend(observed(
            region,
            Kind::DbSubnetGroup,
            tags,
            g.db_subnet_group_arn().unwrap_or_default(),
            [
                ("vpc", Value::Id(g.vpc_id().unwrap_or_default().into())),
                (
                    "description",
                    Value::str(g.db_subnet_group_description().unwrap_or_default()),
                ),
                ("subnets", Value::set(subnets.map(|s| Value::Id(s.into())))),
            ],
            exports,
        ));
    }
    let parameter_candidates: Vec<_> = parameter_groups
        .into_iter()
        .filter(|g| {
            g.db_parameter_group_name()
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    let parameter_details =
        futures::future::try_join_all(parameter_candidates.iter().map(|g| async move {
            let arn = g.db_parameter_group_arn().unwrap_or_default();
            let name = g.db_parameter_group_name().unwrap_or_default();
            let tags = send!(
                "ListTagsForResource",
                client.list_tags_for_resource().resource_name(arn)
            )
            .map(|out| tag_map(out.tag_list()))?;
            if !owned_by(&tags, stack) {
                return Ok::<_, AwsError>(None);
            }
            let parameters: Vec<aws_sdk_rds::types::Parameter> = all_pages!(
                "DescribeDBParameters",
                client
                    .describe_db_parameters()
                    .db_parameter_group_name(name)
                    .source("user")
            )?;
            Ok(Some((tags, parameters)))
        }))
        .await?;
    for (g, details) in parameter_candidates.iter().zip(parameter_details) {
        let Some((tags, parameters)) = details else {
            continue;
        };
        let arn = g.db_parameter_group_arn().unwrap_or_default();
        let name = g.db_parameter_group_name().unwrap_or_default();
        let set = parameters
            .iter()
            .filter(|p| p.source().is_none_or(|s| s == "user"))
            .filter_map(|p| {
                Some((
                    p.parameter_name()?.to_string(),
                    Value::str(p.parameter_value()?),
                ))
            });
        let exports = BTreeMap::from([
            ("name".to_string(), name.to_string()),
            ("arn".to_string(), arn.to_string()),
        ]);
        found.extend(observed(
            region,
            Kind::DbParameterGroup,
            &tags,
            arn,
            [
                (
                    "family",
                    Value::str(g.db_parameter_group_family().unwrap_or_default()),
                ),
                (
                    "description",
                    Value::str(g.description().unwrap_or_default()),
                ),
                ("parameters", Value::Map(set.collect())),
            ],
            exports,
        ));
    }
    for db in &instances {
        let tags = tag_map(db.tag_list());
        if !owned_by(&tags, stack) || db.db_instance_status() == Some("deleting") {
            continue;
        }
        let arn = db.db_instance_arn().unwrap_or_default();
        let (attrs, pending) = db_attrs(db);
        let exports = db_exports(db);
        if let Some(mut o) = observed(region, Kind::DbInstance, &tags, arn, attrs, exports) {
            o.handles.extend(
                pending
                    .into_iter()
                    .map(|(attr, live)| (format!("{PENDING}{attr}"), live)),
            );
            found.push(o);
        }
    }
    Ok(found)
}

/// A database's attributes as they will be once what AWS holds back for the
/// maintenance window is applied (`PendingModifiedValues`), so that a change
/// already requested is neither planned nor sent again; and, for each such
/// attribute, the value it has now.
fn db_attrs(
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

fn rds_tags(pairs: Vec<(String, String)>) -> Vec<Tag> {
    pairs
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// What `${db_instance.name.attr}` may read.
fn db_exports(db: &aws_sdk_rds::types::DbInstance) -> BTreeMap<String, String> {
    let arn = db.db_instance_arn().unwrap_or_default();
    let endpoint = db.endpoint();
    BTreeMap::from([
        ("id".to_string(), arn.to_string()),
        ("arn".to_string(), arn.to_string()),
        (
            "identifier".to_string(),
            db.db_instance_identifier().unwrap_or_default().to_string(),
        ),
        (
            "endpoint".to_string(),
            endpoint
                .and_then(|e| e.address())
                .unwrap_or_default()
                .to_string(),
        ),
        (
            "port".to_string(),
            endpoint
                .and_then(|e| e.port())
                .unwrap_or_default()
                .to_string(),
        ),
    ])
}

/// `identifier-final-YYYYMMDD-HHMMSS`: what every deliberate deletion leaves behind.
pub fn final_snapshot_name(identifier: &str, now: std::time::SystemTime) -> String {
    let stamp = aws_smithy_types::DateTime::from(now)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default();
    let digits: String = stamp
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect();
    let (date, time) = digits.split_at(digits.len().min(8));
    format!("{identifier}-final-{date}-{time}")
}

impl Mutator {
    pub(super) async fn rds_create(
        &self,
        kind: RdsKind,
        address: &Address,
        attrs: &Attrs,
        inputs: &Inputs,
    ) -> Result<Created, AwsError> {
        let c = &self.rds;
        let tags = Some(rds_tags(self.tag_pairs(address, attrs)));
        match kind {
            RdsKind::ParameterGroup => {
                let name = group_name(&self.stack, address);
                let out = send_once!(
                    aws_sdk_rds,
                    "CreateDBParameterGroup",
                    c.create_db_parameter_group()
                        .db_parameter_group_name(&name)
                        .db_parameter_group_family(text(attrs, "family").unwrap_or_default())
                        .description(text(attrs, "description").unwrap_or_default())
                        .set_tags(tags)
                )?;
                let arn = out
                    .db_parameter_group()
                    .and_then(|g| g.db_parameter_group_arn())
                    .unwrap_or_default()
                    .to_string();
                self.set_parameters(&name, attrs, &BTreeMap::new()).await?;
                Ok(Created {
                    exports: BTreeMap::from([
                        ("id".to_string(), arn.clone()),
                        ("name".to_string(), name),
                        ("arn".to_string(), arn.clone()),
                    ]),
                    live_id: arn,
                })
            }
            RdsKind::SubnetGroup => {
                let name = group_name(&self.stack, address);
                let out = send_once!(
                    aws_sdk_rds,
                    "CreateDBSubnetGroup",
                    c.create_db_subnet_group()
                        .db_subnet_group_name(&name)
                        .db_subnet_group_description(text(attrs, "description").unwrap_or_default())
                        .set_subnet_ids(Some(ids(attrs, "subnets")))
                        .set_tags(tags)
                )?;
                let arn = out
                    .db_subnet_group()
                    .and_then(|g| g.db_subnet_group_arn())
                    .unwrap_or_default();
                Ok(Created {
                    exports: BTreeMap::from([
                        ("id".to_string(), arn.to_string()),
                        ("name".to_string(), name),
                        ("arn".to_string(), arn.to_string()),
                    ]),
                    live_id: arn.to_string(),
                })
            }
            RdsKind::Instance => {
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
        }
    }

    pub(super) async fn rds_update(
        &self,
        kind: RdsKind,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        let c = &self.rds;
        let differs = |key: &str| changed.contains(key);
        let name = observed
            .exports
            .get("name")
            .or(observed.exports.get("identifier"))
            .cloned()
            .unwrap_or_default();
        match kind {
            RdsKind::ParameterGroup => {
                if differs("parameters") {
                    let was = observed
                        .attrs
                        .get("parameters")
                        .and_then(Value::as_map)
                        .cloned()
                        .unwrap_or_default();
                    self.set_parameters(&name, attrs, &was).await?;
                }
            }
            RdsKind::SubnetGroup => {
                if differs("description") || differs("subnets") {
                    send!(
                        "ModifyDBSubnetGroup",
                        c.modify_db_subnet_group()
                            .db_subnet_group_name(&name)
                            .db_subnet_group_description(
                                text(attrs, "description").unwrap_or_default()
                            )
                            .set_subnet_ids(Some(ids(attrs, "subnets")))
                    )?;
                }
            }
            RdsKind::Instance => {
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
                        int(attrs, "backup_retention_days")
                            .filter(|_| when("backup_retention_days")),
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
            }
        }
        self.retag(observed, attrs, changed).await
    }

    pub(super) async fn rds_write_tags(
        &self,
        arn: &str,
        set: Vec<(String, String)>,
        stale: Vec<String>,
    ) -> Result<(), AwsError> {
        let c = &self.rds;
        send!(
            "AddTagsToResource",
            c.add_tags_to_resource()
                .resource_name(arn)
                .set_tags(Some(rds_tags(set)))
        )?;
        if !stale.is_empty() {
            send!(
                "RemoveTagsFromResource",
                c.remove_tags_from_resource()
                    .resource_name(arn)
                    .set_tag_keys(Some(stale))
            )?;
        }
        Ok(())
    }

    pub(super) async fn rds_delete(
        &self,
        kind: RdsKind,
        observed: &Observed,
    ) -> Result<(), AwsError> {
        let c = &self.rds;
        let name = observed
            .exports
            .get("name")
            .or(observed.exports.get("identifier"))
            .cloned()
            .unwrap_or_default();
        match kind {
            RdsKind::ParameterGroup => {
                super::retry_while(
                    || async {
                        send!(
                            "DeleteDBParameterGroup",
                            c.delete_db_parameter_group().db_parameter_group_name(&name)
                        )
                        .map(drop)
                    },
                    |e| e.is(Code::ParameterGroupInUse),
                    8,
                )
                .await
            }
            RdsKind::SubnetGroup => {
                super::retry_while(
                    || async {
                        send!(
                            "DeleteDBSubnetGroup",
                            c.delete_db_subnet_group().db_subnet_group_name(&name)
                        )
                        .map(drop)
                    },
                    |e| e.is(Code::SubnetGroupInUse),
                    8,
                )
                .await
            }
            RdsKind::Instance => {
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
        }
    }

    /// Sets the parameters `attrs` holds and resets those `was` had and it drops.
    /// Parameters are applied at the next reboot: only that works for static ones.
    async fn set_parameters(
        &self,
        group: &str,
        attrs: &Attrs,
        was: &BTreeMap<String, Value>,
    ) -> Result<(), AwsError> {
        use aws_sdk_rds::types::{ApplyMethod, Parameter};
        let wanted = attrs
            .get("parameters")
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default();
        let parameter = |name: &str, value: Option<&str>| {
            Parameter::builder()
                .parameter_name(name)
                .set_parameter_value(value.map(str::to_string))
                .apply_method(ApplyMethod::PendingReboot)
                .build()
        };
        let changed: Vec<Parameter> = wanted
            .iter()
            .filter(|(k, v)| was.get(*k) != Some(v))
            .map(|(k, v)| parameter(k, v.as_str()))
            .collect();
        for batch in changed.chunks(PARAMETER_BATCH) {
            send!(
                "ModifyDBParameterGroup",
                self.rds
                    .modify_db_parameter_group()
                    .db_parameter_group_name(group)
                    .set_parameters(Some(batch.to_vec()))
            )?;
        }
        let dropped: Vec<Parameter> = was
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .map(|k| parameter(k, None))
            .collect();
        for batch in dropped.chunks(PARAMETER_BATCH) {
            send!(
                "ResetDBParameterGroup",
                self.rds
                    .reset_db_parameter_group()
                    .db_parameter_group_name(group)
                    .set_parameters(Some(batch.to_vec()))
            )?;
        }
        Ok(())
    }

    /// Polls until the instance reaches `status` (or is gone, for `None`),
    /// reporting progress while it waits: RDS takes minutes.
    async fn wait_for(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_held_for_the_maintenance_window_are_read_as_the_new_values() {
        let db = aws_sdk_rds::types::DbInstance::builder()
            .db_instance_identifier("production-db")
            .db_instance_class("db.t3.micro")
            .allocated_storage(20)
            .multi_az(false)
            .pending_modified_values(
                aws_sdk_rds::types::PendingModifiedValues::builder()
                    .db_instance_class("db.t3.small")
                    .allocated_storage(50)
                    .build(),
            )
            .build();
        let (attrs, pending) = db_attrs(&db);
        let get = |k| {
            attrs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("instance_class"), Some(Value::str("db.t3.small")));
        assert_eq!(get("allocated_storage"), Some(Value::Int(50)));
        assert_eq!(
            get("multi_az"),
            Some(Value::Bool(false)),
            "not pending: as it is"
        );
        assert_eq!(
            pending,
            BTreeMap::from([
                ("allocated_storage", "20".to_string()),
                ("instance_class", "\"db.t3.micro\"".to_string()),
            ])
        );
    }

    #[test]
    fn final_snapshots_are_named_by_time() {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(
            final_snapshot_name("production-db", t),
            "production-db-final-20261118-110640"
        );
    }

    #[test]
    fn subnet_group_arns_are_derived_from_the_database_arn() {
        let arn = sibling_arn("arn:aws:rds:us-east-1:123:db:prod", "subgrp", "prod-main");
        assert_eq!(arn, "arn:aws:rds:us-east-1:123:subgrp:prod-main");
        assert_eq!(name_of(&arn), "prod-main");
    }

    #[test]
    fn subnet_group_names_are_what_rds_stores() {
        let a = Address::new(Kind::DbSubnetGroup, "main_db");
        assert_eq!(group_name("Prod", &a), "prod-main-db");
    }
}
