//! RDS: DB subnet groups and DB instances. Instances carry their tags in
//! DescribeDBInstances; subnet groups do not, so only the groups whose names
//! reconcile would have given them have their tags read.

mod instance;
mod parameter_group;
mod subnet_group;

use super::{
    flag, ids, int, observed_in, text, AwsError, Code, Created, ErrorClass, Imports, Mutator, Scope,
};
use crate::model::{
    rds_group_name as group_name, Address, Attrs, Changed, Inputs, Kind, Observed, Value, PENDING,
};
use aws_sdk_rds::types::Tag;
use aws_sdk_rds::Client;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Records a page of a listing: the most RDS takes, so every call stays bounded.
const PAGE: i32 = 100;

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

/// The RDS name of a live group or database: what RDS's calls take.
fn name_of_observed(observed: &Observed) -> String {
    observed
        .exports
        .get("name")
        .or(observed.exports.get("identifier"))
        .cloned()
        .unwrap_or_default()
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect()
}

/// The tags of an RDS resource (groups carry none in their listings).
async fn tags_of(client: &Client, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let out = send!(
        "ListTagsForResource",
        client.list_tags_for_resource().resource_name(arn)
    )?;
    Ok(tag_map(out.tag_list()))
}

/// The parameters a parameter group sets (its `user` ones), every page.
async fn user_parameters(
    client: &Client,
    group: &str,
) -> Result<Vec<aws_sdk_rds::types::Parameter>, AwsError> {
    all_pages!(
        "DescribeDBParameters",
        client
            .describe_db_parameters()
            .db_parameter_group_name(group)
            .source("user")
    )
}

fn owned_by(tags: &BTreeMap<String, String>, stack: &str) -> bool {
    tags.get(crate::model::STACK_TAG).map(String::as_str) == Some(stack)
}

/// The databases blocks import (`imports`: identifier → block), read by
/// their identifiers whoever owns them: one call.
pub async fn import(
    client: &Client,
    stack: &str,
    kind: RdsKind,
    imports: &Imports,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let scope = Scope::Imported(stack, imports);
    let wanted = |name: Option<&str>| name.is_some_and(|n| imports.contains_key(n));
    // Groups: their listing takes no filter, so it is read whole (one paged
    // call, as discovery does) and the named ones kept.
    match kind {
        RdsKind::SubnetGroup => {
            let groups: Vec<aws_sdk_rds::types::DbSubnetGroup> = all_pages!(
                "DescribeDBSubnetGroups",
                client.describe_db_subnet_groups().max_records(PAGE)
            )?;
            let named = groups.iter().filter(|g| wanted(g.db_subnet_group_name()));
            let reads = named.map(|g| async move {
                let tags = tags_of(client, g.db_subnet_group_arn().unwrap_or_default()).await?;
                Ok::<_, AwsError>(subnet_group::observe(scope, region, g, &tags))
            });
            return Ok(futures::future::try_join_all(reads)
                .await?
                .into_iter()
                .flatten()
                .collect());
        }
        RdsKind::ParameterGroup => {
            let groups: Vec<aws_sdk_rds::types::DbParameterGroup> = all_pages!(
                "DescribeDBParameterGroups",
                client.describe_db_parameter_groups().max_records(PAGE)
            )?;
            let named = groups
                .iter()
                .filter(|g| wanted(g.db_parameter_group_name()));
            let reads = named.map(|g| async move {
                let tags = tags_of(client, g.db_parameter_group_arn().unwrap_or_default()).await?;
                let parameters =
                    user_parameters(client, g.db_parameter_group_name().unwrap_or_default())
                        .await?;
                Ok::<_, AwsError>(parameter_group::observe(
                    scope,
                    region,
                    g,
                    &tags,
                    &parameters,
                ))
            });
            return Ok(futures::future::try_join_all(reads)
                .await?
                .into_iter()
                .flatten()
                .collect());
        }
        RdsKind::Instance => {}
    }
    let instances: Vec<aws_sdk_rds::types::DbInstance> = all_pages!(
        "DescribeDBInstances",
        client
            .describe_db_instances()
            .filters(
                aws_sdk_rds::types::Filter::builder()
                    .name("db-instance-id")
                    .set_values(Some(imports.keys().cloned().collect()))
                    .build()
            )
            .max_records(PAGE)
    )?;
    Ok(instances
        .iter()
        .filter_map(|db| {
            let tags = tag_map(db.tag_list());
            instance::observe(scope, region, db, &tags)
        })
        .collect())
}

pub async fn discover(
    client: &Client,
    stack: &str,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let (instances, groups, parameter_groups) = tokio::try_join!(
        async {
            all_pages!(
                "DescribeDBInstances",
                client.describe_db_instances().max_records(PAGE)
            )
        },
        async {
            all_pages!(
                "DescribeDBSubnetGroups",
                client.describe_db_subnet_groups().max_records(PAGE)
            )
        },
        async {
            all_pages!(
                "DescribeDBParameterGroups",
                client.describe_db_parameter_groups().max_records(PAGE)
            )
        },
    )?;
    let prefix = crate::model::rds_group_prefix(stack);
    let candidates: Vec<_> = groups
        .into_iter()
        .filter(|g| {
            g.db_subnet_group_name()
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    let group_tags = futures::future::try_join_all(
        candidates
            .iter()
            .map(|g| tags_of(client, g.db_subnet_group_arn().unwrap_or_default())),
    )
    .await?;

    let mut found = Vec::new();
    for (g, tags) in candidates.iter().zip(&group_tags) {
        if owned_by(tags, stack) {
            found.extend(subnet_group::observe(Scope::Owned(stack), region, g, tags));
        }
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
            let tags = tags_of(client, arn).await?;
            if !owned_by(&tags, stack) {
                return Ok::<_, AwsError>(None);
            }
            let parameters = user_parameters(client, name).await?;
            Ok(Some((tags, parameters)))
        }))
        .await?;
    for (g, details) in parameter_candidates.iter().zip(parameter_details) {
        if let Some((tags, parameters)) = details {
            found.extend(parameter_group::observe(
                Scope::Owned(stack),
                region,
                g,
                &tags,
                &parameters,
            ));
        }
    }
    for db in &instances {
        let tags = tag_map(db.tag_list());
        if !owned_by(&tags, stack) || db.db_instance_status() == Some("deleting") {
            continue;
        }
        found.extend(instance::observe(Scope::Owned(stack), region, db, &tags));
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
        match kind {
            RdsKind::SubnetGroup => self.create_db_subnet_group(address, attrs, inputs).await,
            RdsKind::ParameterGroup => self.create_db_parameter_group(address, attrs, inputs).await,
            RdsKind::Instance => self.create_db_instance(address, attrs, inputs).await,
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
        match kind {
            RdsKind::SubnetGroup => {
                self.update_db_subnet_group(observed, attrs, changed, inputs)
                    .await?
            }
            RdsKind::ParameterGroup => {
                self.update_db_parameter_group(observed, attrs, changed, inputs)
                    .await?
            }
            RdsKind::Instance => {
                self.update_db_instance(observed, attrs, changed, inputs)
                    .await?
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
        match kind {
            RdsKind::SubnetGroup => self.delete_db_subnet_group(observed).await,
            RdsKind::ParameterGroup => self.delete_db_parameter_group(observed).await,
            RdsKind::Instance => self.delete_db_instance(observed).await,
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
        // RDS refuses two hyphens in a row and a trailing one in a parameter group's name.
        let tuning = Address::new(Kind::DbParameterGroup, "pg16__tuning_");
        assert_eq!(group_name("prod", &tuning), "prod-pg16-tuning");
        assert!(group_name("prod", &tuning).starts_with(&crate::model::rds_group_prefix("prod")));
    }
}
