//! CloudWatch metric alarms. Alarms are named `<stack>.<name>`, so one
//! DescribeAlarms with a name prefix finds a stack's alarms; those imported
//! under names of their own are found by their tag through the tagging API.
//! Their tags (which DescribeAlarms does not return) are read per alarm to
//! prove ownership.

use crate::aws::{int, observed_in, text, AwsError, Created, Imports, Mutator, Scope};
use crate::model::shapes::threshold_text;
use crate::model::{alarm_name, Address, Attrs, Changed, Kind, Observed, Value, STACK_TAG};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricAlarm, Statistic, Tag};
use aws_sdk_cloudwatch::Client;
use std::collections::BTreeMap;

pub async fn discover(
    client: &Client,
    tagging: &aws_sdk_resourcegroupstagging::Client,
    stack: &str,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let (mut alarms, elsewhere) = tokio::try_join!(
        described(
            client
                .describe_alarms()
                .alarm_name_prefix(format!("{stack}."))
        ),
        named_elsewhere(tagging, stack),
    )?;
    // Alarms imported under names of their own.
    alarms.extend(by_name(client, &elsewhere).await?);
    let tags = futures::future::try_join_all(alarms.iter().map(|a| tags_of(client, a))).await?;
    Ok(alarms
        .iter()
        .zip(&tags)
        .filter(|(_, tags)| tags.get(STACK_TAG).map(String::as_str) == Some(stack))
        .filter_map(|(a, tags)| observe(Scope::Owned(stack), stack, region, a, tags))
        .collect())
}

/// The alarms blocks import, by name (`imports`: name → block), whoever owns them.
pub async fn import(
    client: &Client,
    stack: &str,
    imports: &Imports,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let names: Vec<String> = imports.keys().cloned().collect();
    let alarms = by_name(client, &names).await?;
    let tags = futures::future::try_join_all(alarms.iter().map(|a| tags_of(client, a))).await?;
    let scope = Scope::Imported(stack, imports);
    Ok(alarms
        .iter()
        .zip(&tags)
        .filter_map(|(a, tags)| observe(scope, stack, region, a, tags))
        .collect())
}

/// The alarms of these names that exist: 100 names a call.
async fn by_name(client: &Client, names: &[String]) -> Result<Vec<MetricAlarm>, AwsError> {
    let mut alarms = Vec::new();
    for names in names.chunks(100) {
        let request = client
            .describe_alarms()
            .set_alarm_names(Some(names.to_vec()));
        alarms.extend(described(request).await?);
    }
    Ok(alarms)
}

/// Every metric alarm a DescribeAlarms finds, page by page.
async fn described(
    request: aws_sdk_cloudwatch::operation::describe_alarms::builders::DescribeAlarmsFluentBuilder,
) -> Result<Vec<MetricAlarm>, AwsError> {
    Ok(request
        // The most a page takes.
        .max_records(100)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::from_sdk("DescribeAlarms", e))?
        .into_iter()
        .flat_map(|page| page.metric_alarms().to_vec())
        .collect())
}

/// The names of `stack`'s alarms (by its tag, through the tagging API) that
/// are not `<stack>.…`: alarms it imported. An emulator whose tagging API
/// does not index alarms finds none.
async fn named_elsewhere(
    tagging: &aws_sdk_resourcegroupstagging::Client,
    stack: &str,
) -> Result<Vec<String>, AwsError> {
    use aws_sdk_resourcegroupstagging::types::TagFilter;
    let tagged: Vec<_> = match all_pages!(
        "GetResources",
        tagging
            .get_resources()
            .tag_filters(TagFilter::builder().key(STACK_TAG).values(stack).build())
            .resource_type_filters("cloudwatch:alarm")
    ) {
        // An endpoint without the tagging API: the prefix finds what it can.
        Err(e) if e.class == crate::aws::ErrorClass::Unsupported => vec![],
        other => other?,
    };
    let prefix = format!("{stack}.");
    Ok(tagged
        .iter()
        .filter_map(|m| {
            m.resource_arn()?
                .split_once(":alarm:")
                .map(|(_, n)| n.to_string())
        })
        .filter(|name| !name.starts_with(&prefix))
        .collect())
}

async fn tags_of(
    client: &Client,
    alarm: &MetricAlarm,
) -> Result<BTreeMap<String, String>, AwsError> {
    let arn = alarm.alarm_arn().unwrap_or_default();
    send!(
        "ListTagsForResource",
        client.list_tags_for_resource().resource_arn(arn)
    )
    .map(|out| {
        out.tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect()
    })
}

/// An alarm in `scope`; its `name` an attribute only when it is not the
/// block's default (`<stack>.<name>`), as the desired side has it.
fn observe(
    scope: Scope<'_>,
    stack: &str,
    region: &str,
    a: &MetricAlarm,
    tags: &BTreeMap<String, String>,
) -> Option<Observed> {
    let name = a.alarm_name().unwrap_or_default();
    let dimensions = a
        .dimensions()
        .iter()
        .filter_map(|d| Some((d.name()?.to_string(), Value::str(d.value()?))));
    let mut attrs = vec![
        ("namespace", Value::str(a.namespace().unwrap_or_default())),
        ("metric", Value::str(a.metric_name().unwrap_or_default())),
        ("dimensions", Value::Map(dimensions.collect())),
        (
            "statistic",
            Value::str(a.statistic().map(|s| s.as_str()).unwrap_or_default()),
        ),
        (
            "period",
            Value::Int(i64::from(a.period().unwrap_or_default())),
        ),
        (
            "evaluation_periods",
            Value::Int(i64::from(a.evaluation_periods().unwrap_or_default())),
        ),
        (
            "threshold",
            Value::Decimal(threshold_text(a.threshold().unwrap_or_default())),
        ),
        (
            "comparison",
            Value::str(
                a.comparison_operator()
                    .map(|c| c.as_str())
                    .unwrap_or_default(),
            ),
        ),
        (
            "treat_missing_data",
            Value::str(a.treat_missing_data().unwrap_or("missing")),
        ),
    ];
    if let Some(d) = a.alarm_description().filter(|d| !d.is_empty()) {
        attrs.push(("description", Value::str(d)));
    }
    let exports = BTreeMap::from([
        ("name".to_string(), name.to_string()),
        (
            "arn".to_string(),
            a.alarm_arn().unwrap_or_default().to_string(),
        ),
    ]);
    let mut o = observed_in(scope, region, Kind::Alarm, tags, name, attrs, exports)?;
    if name != alarm_name(stack, &o.address) {
        o.attrs.insert("name".into(), Value::str(name));
    }
    Some(o)
}

impl Mutator {
    /// PutMetricAlarm creates or overwrites the whole alarm: create and update are one.
    pub(in crate::aws) async fn put_alarm(
        &self,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<Created, AwsError> {
        let name =
            text(attrs, "name").map_or_else(|| alarm_name(&self.stack, address), str::to_string);
        let dimensions = attrs
            .get("dimensions")
            .and_then(Value::as_map)
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                Dimension::builder()
                    .name(k)
                    .value(v.as_str().unwrap_or_default())
                    .build()
            })
            .collect();
        let tags = self
            .tag_pairs(address, attrs)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        send!(
            "PutMetricAlarm",
            self.cloudwatch
                .put_metric_alarm()
                .alarm_name(&name)
                .set_alarm_description(text(attrs, "description").map(str::to_string))
                .namespace(text(attrs, "namespace").unwrap_or_default())
                .metric_name(text(attrs, "metric").unwrap_or_default())
                .set_dimensions(Some(dimensions))
                .statistic(Statistic::from(
                    text(attrs, "statistic").unwrap_or_default()
                ))
                .set_period(int(attrs, "period"))
                .set_evaluation_periods(int(attrs, "evaluation_periods"))
                .set_threshold(match attrs.get("threshold") {
                    Some(Value::Decimal(t)) => t.parse().ok(),
                    _ => None,
                })
                .comparison_operator(ComparisonOperator::from(
                    text(attrs, "comparison").unwrap_or_default()
                ))
                .set_treat_missing_data(text(attrs, "treat_missing_data").map(str::to_string))
                .set_tags(Some(tags))
        )?;
        Ok(Created {
            exports: BTreeMap::from([
                ("id".to_string(), name.clone()),
                ("name".to_string(), name.clone()),
            ]),
            live_id: name,
        })
    }

    pub(in crate::aws) async fn alarm_update(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let settings_differ = attrs
            .keys()
            .chain(observed.attrs.keys())
            .any(|k| k != "tags" && k != "protect" && changed.contains(k));
        if settings_differ {
            let wanted = changed.merged(attrs, &observed.attrs);
            self.put_alarm(&observed.address, &wanted).await?;
        }
        self.retag(observed, attrs, changed).await
    }

    pub(in crate::aws) async fn alarm_write_tags(
        &self,
        arn: &str,
        set: Vec<(String, String)>,
        stale: Vec<String>,
    ) -> Result<(), AwsError> {
        let set = set
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        send!(
            "TagResource",
            self.cloudwatch
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(set))
        )?;
        if !stale.is_empty() {
            send!(
                "UntagResource",
                self.cloudwatch
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(stale))
            )?;
        }
        Ok(())
    }

    pub(in crate::aws) async fn alarm_delete(&self, observed: &Observed) -> Result<(), AwsError> {
        send!(
            "DeleteAlarms",
            self.cloudwatch
                .delete_alarms()
                .alarm_names(&observed.live_id)
        )
        .map(drop)
    }
}
