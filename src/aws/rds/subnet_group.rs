//! DB subnet groups: how discovery reads one, create, update, delete.

use super::*;
use aws_sdk_rds::types::DbSubnetGroup;

/// The subnet groups in `scope`: the listing takes no filter, so it is read
/// whole (one paged call) and the tags of those named like the stack's (or
/// imported) are read, one call each.
pub(super) async fn read(
    client: &Client,
    scope: Scope<'_>,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let groups: Vec<DbSubnetGroup> = all_pages!(
        "DescribeDBSubnetGroups",
        client.describe_db_subnet_groups().max_records(PAGE)
    )?;
    in_scope(
        client,
        scope,
        &groups,
        |g| (g.db_subnet_group_name(), g.db_subnet_group_arn()),
        |g, tags| async move { Ok(observe(scope, region, g, &tags)) },
    )
    .await
}

/// A DB subnet group the stack owns, as reconcile compares it.
fn observe(
    scope: Scope<'_>,
    region: &str,
    g: &DbSubnetGroup,
    tags: &BTreeMap<String, String>,
) -> Option<Observed> {
    let name = g.db_subnet_group_name().unwrap_or_default();
    let subnets = g.subnets().iter().filter_map(|s| s.subnet_identifier());
    let exports = BTreeMap::from([
        ("name".to_string(), name.to_string()),
        (
            "arn".to_string(),
            g.db_subnet_group_arn().unwrap_or_default().to_string(),
        ),
    ]);
    observed_in(
        scope,
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
    )
}

impl Mutator {
    pub(super) async fn create_subnet_group(
        &self,
        address: &Address,
        attrs: &Attrs,
        _inputs: &Inputs,
    ) -> Result<Created, AwsError> {
        let c = &self.rds;
        let tags = Some(rds_tags(self.tag_pairs(address, attrs)));
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

    pub(super) async fn update_subnet_group(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
        _inputs: &Inputs,
    ) -> Result<(), AwsError> {
        let c = &self.rds;
        let differs = |key: &str| changed.contains(key);
        let name = name_of_observed(observed);
        if differs("description") || differs("subnets") {
            send!(
                "ModifyDBSubnetGroup",
                c.modify_db_subnet_group()
                    .db_subnet_group_name(&name)
                    .db_subnet_group_description(text(attrs, "description").unwrap_or_default())
                    .set_subnet_ids(Some(ids(attrs, "subnets")))
            )?;
        }
        Ok(())
    }

    pub(super) async fn delete_subnet_group(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.rds;
        let name = name_of_observed(observed);
        crate::aws::retry_while(
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
}
