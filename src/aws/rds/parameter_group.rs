//! DB parameter groups: how discovery reads one, create, update, delete.

use super::*;
use aws_sdk_rds::types::{DbParameterGroup, Parameter};

/// The parameter groups in `scope`: the listing takes no filter, so it is
/// read whole (one paged call); those named like the stack's (or imported)
/// have their tags read, and those in scope their parameters.
pub(super) async fn read(
    client: &Client,
    scope: Scope<'_>,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let groups: Vec<DbParameterGroup> = all_pages!(
        "DescribeDBParameterGroups",
        client.describe_db_parameter_groups().max_records(PAGE)
    )?;
    in_scope(
        client,
        scope,
        &groups,
        |g| (g.db_parameter_group_name(), g.db_parameter_group_arn()),
        |g, tags| async move {
            let name = g.db_parameter_group_name().unwrap_or_default();
            let parameters = user_parameters(client, name).await?;
            Ok(observe(scope, region, g, &tags, &parameters))
        },
    )
    .await
}

/// A DB parameter group the stack owns, with the parameters set on it, as reconcile compares it.
fn observe(
    scope: Scope<'_>,
    region: &str,
    g: &DbParameterGroup,
    tags: &BTreeMap<String, String>,
    parameters: &[Parameter],
) -> Option<Observed> {
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
    observed_in(
        scope,
        region,
        Kind::DbParameterGroup,
        tags,
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
    )
}

impl Mutator {
    pub(super) async fn create_db_parameter_group(
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

    pub(super) async fn update_db_parameter_group(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
        _inputs: &Inputs,
    ) -> Result<(), AwsError> {
        let differs = |key: &str| changed.contains(key);
        let name = name_of_observed(observed);
        if differs("parameters") {
            let was = observed
                .attrs
                .get("parameters")
                .and_then(Value::as_map)
                .cloned()
                .unwrap_or_default();
            self.set_parameters(&name, attrs, &was).await?;
        }
        Ok(())
    }

    pub(super) async fn delete_db_parameter_group(
        &self,
        observed: &Observed,
    ) -> Result<(), AwsError> {
        let c = &self.rds;
        let name = name_of_observed(observed);
        crate::aws::retry_while(
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

    /// Sets the parameters `attrs` holds and resets those `was` had and it drops.
    /// Parameters are applied at the next reboot: only that works for static ones.
    pub(super) async fn set_parameters(
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
}
