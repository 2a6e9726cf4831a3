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

impl Scope<'_> {
    /// Whether a group of this name may be in scope: named like the stack's
    /// groups, or imported. Their listings take no filter: a group's tags
    /// are read (one call each) only for these.
    fn may_name(self, name: Option<&str>) -> bool {
        let Some(name) = name else {
            return false;
        };
        match self {
            Scope::Owned(stack) => name.starts_with(&crate::model::rds_group_prefix(stack)),
            Scope::Imported(_, imports) => imports.contains_key(name),
        }
    }

    /// Whether a group with these tags is in scope: owned by the stack, or imported.
    fn keeps(self, tags: &BTreeMap<String, String>) -> bool {
        match self {
            Scope::Owned(stack) => owned_by(tags, stack),
            Scope::Imported(..) => true,
        }
    }
}

/// The groups of `listing` in `scope`, with their tags: those it may name
/// have their tags read (one call each, concurrently), and the ones it keeps
/// are read further by `observe` (a parameter group's parameters).
async fn in_scope<
    'g,
    G: Sync,
    F: std::future::Future<Output = Result<Option<Observed>, AwsError>>,
>(
    client: &Client,
    scope: Scope<'_>,
    listing: &'g [G],
    name_and_arn: impl Fn(&'g G) -> (Option<&'g str>, Option<&'g str>),
    observe: impl Fn(&'g G, BTreeMap<String, String>) -> F,
) -> Result<Vec<Observed>, AwsError> {
    let named = listing.iter().filter(|g| scope.may_name(name_and_arn(g).0));
    let reads = named.map(|g| async {
        let tags = tags_of(client, name_and_arn(g).1.unwrap_or_default()).await?;
        match scope.keeps(&tags) {
            true => observe(g, tags).await,
            false => Ok(None),
        }
    });
    Ok(futures::future::try_join_all(reads)
        .await?
        .into_iter()
        .flatten()
        .collect())
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
    match kind {
        RdsKind::SubnetGroup => return subnet_group::read(client, scope, region).await,
        RdsKind::ParameterGroup => return parameter_group::read(client, scope, region).await,
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
    let scope = Scope::Owned(stack);
    let (instances, subnet_groups, parameter_groups) = tokio::try_join!(
        async {
            all_pages!(
                "DescribeDBInstances",
                client.describe_db_instances().max_records(PAGE)
            )
        },
        subnet_group::read(client, scope, region),
        parameter_group::read(client, scope, region),
    )?;
    let instances: Vec<aws_sdk_rds::types::DbInstance> = instances;
    let mut found = [subnet_groups, parameter_groups].concat();
    for db in &instances {
        let tags = tag_map(db.tag_list());
        if !owned_by(&tags, stack) || db.db_instance_status() == Some("deleting") {
            continue;
        }
        found.extend(instance::observe(Scope::Owned(stack), region, db, &tags));
    }
    Ok(found)
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
            RdsKind::SubnetGroup => self.create_subnet_group(address, attrs, inputs).await,
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
                self.update_subnet_group(observed, attrs, changed, inputs)
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
            RdsKind::SubnetGroup => self.delete_subnet_group(observed).await,
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
        let (attrs, pending) = instance::db_attrs(&db);
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
    fn group_names_are_what_rds_stores() {
        let a = Address::new(Kind::DbParameterGroup, "main_db");
        assert_eq!(group_name("Prod", &a), "prod-main-db");
        // RDS refuses two hyphens in a row and a trailing one in a parameter group's name.
        let tuning = Address::new(Kind::DbParameterGroup, "pg16__tuning_");
        assert_eq!(group_name("prod", &tuning), "prod-pg16-tuning");
        assert!(group_name("prod", &tuning).starts_with(&crate::model::rds_group_prefix("prod")));
    }
}
