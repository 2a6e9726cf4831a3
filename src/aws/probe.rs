//! The read side the deployment half judges a deploy by: target health, load
//! balancer, database and alarm states, metric data.

use super::cloud::Probe;
use super::{Aws, AwsError};
use crate::model::probe::{
    AlarmState, AlarmValue, BalancerState, DbStatus, MetricQuery, MetricSeries, TargetHealth,
    TargetState,
};
use crate::model::Service;
use std::collections::BTreeMap;
use std::time::SystemTime;

/// DescribeAlarms takes at most 100 names; GetMetricData at most 500 queries.
const ALARM_BATCH: usize = 100;
const QUERY_BATCH: usize = 500;

fn time(t: &aws_smithy_types::DateTime) -> Option<SystemTime> {
    SystemTime::try_from(*t).ok()
}

impl Aws {
    fn located<T>(
        &self,
        service: Service,
        region: &str,
        result: Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        result.map_err(|e| e.at(region, &self.endpoint(service, region)))
    }
}

impl Probe for Aws {
    /// The registered targets of a target group and their health.
    async fn target_health(
        &self,
        region: &str,
        target_group: &str,
    ) -> Result<Vec<TargetHealth>, AwsError> {
        let out = send!(
            "DescribeTargetHealth",
            self.elbv2(region)
                .describe_target_health()
                .target_group_arn(target_group)
        );
        let out = self.located(Service::Elbv2, region, out)?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .map(|d| {
                let health = d.target_health();
                let reason = health.and_then(|h| {
                    let code = h.reason().map(|r| r.as_str().to_string());
                    match (code, h.description()) {
                        (Some(c), Some(d)) => Some(format!("{c}: {d}")),
                        (c, d) => c.or(d.map(str::to_string)),
                    }
                });
                TargetHealth {
                    id: d
                        .target()
                        .and_then(|t| t.id())
                        .unwrap_or_default()
                        .to_string(),
                    port: d.target().and_then(|t| t.port()),
                    state: health
                        .and_then(|h| h.state())
                        .map_or(TargetState::Other("unknown".into()), |s| {
                            TargetState::parse(s.as_str())
                        }),
                    reason,
                }
            })
            .collect())
    }

    /// The state of load balancers, by ARN; one call.
    async fn load_balancer_states(
        &self,
        region: &str,
        arns: &[String],
    ) -> Result<Vec<BalancerState>, AwsError> {
        if arns.is_empty() {
            return Ok(vec![]);
        }
        let out = send!(
            "DescribeLoadBalancers",
            self.elbv2(region)
                .describe_load_balancers()
                .set_load_balancer_arns(Some(arns.to_vec()))
        );
        let out = self.located(Service::Elbv2, region, out)?;
        Ok(out
            .load_balancers()
            .iter()
            .map(|b| BalancerState {
                arn: b.load_balancer_arn().unwrap_or_default().to_string(),
                state: b
                    .state()
                    .and_then(|s| s.code())
                    .map_or("unknown", |c| c.as_str())
                    .to_string(),
                reason: b.state().and_then(|s| s.reason()).map(str::to_string),
            })
            .collect())
    }

    /// The status of database instances, by identifier; one call each (the
    /// identifier filter takes one name or ARN per call on every engine).
    async fn db_statuses(
        &self,
        region: &str,
        identifiers: &[String],
    ) -> Result<Vec<DbStatus>, AwsError> {
        let client = self.rds(region);
        let asks = identifiers.iter().map(|id| {
            let client = client.clone();
            async move {
                let out = send!(
                    "DescribeDBInstances",
                    client.describe_db_instances().db_instance_identifier(id)
                )?;
                Ok::<_, AwsError>(out.db_instances().first().map(|d| DbStatus {
                    identifier: id.clone(),
                    status: d.db_instance_status().unwrap_or("unknown").to_string(),
                }))
            }
        });
        let found = futures::future::try_join_all(asks).await;
        Ok(self
            .located(Service::Rds, region, found)?
            .into_iter()
            .flatten()
            .collect())
    }

    /// The state of alarms by name, 100 names a call; alarms that do not exist are absent.
    async fn alarm_states(
        &self,
        region: &str,
        names: &[String],
    ) -> Result<Vec<AlarmState>, AwsError> {
        let client = self.cloudwatch(region);
        let mut states = Vec::new();
        for batch in names.chunks(ALARM_BATCH) {
            let out = send!(
                "DescribeAlarms",
                client
                    .describe_alarms()
                    .set_alarm_names(Some(batch.to_vec()))
            );
            let out = self.located(Service::CloudWatch, region, out)?;
            states.extend(out.metric_alarms().iter().map(|a| AlarmState {
                name: a.alarm_name().unwrap_or_default().to_string(),
                value: match a.state_value().map(|s| s.as_str()) {
                    Some("OK") => AlarmValue::Ok,
                    Some("ALARM") => AlarmValue::Alarm,
                    _ => AlarmValue::InsufficientData,
                },
                reason: a.state_reason().unwrap_or_default().to_string(),
                updated: a.state_updated_timestamp().and_then(time),
            }));
        }
        Ok(states)
    }

    /// Every query's data points between `start` and `end`: one GetMetricData
    /// request (paged) for up to 500 queries. Series are keyed by query id.
    async fn metric_data(
        &self,
        region: &str,
        queries: &[MetricQuery],
        start: SystemTime,
        end: SystemTime,
    ) -> Result<BTreeMap<String, MetricSeries>, AwsError> {
        use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
        let client = self.cloudwatch(region);
        let mut series: BTreeMap<String, MetricSeries> = queries
            .iter()
            .map(|q| (q.id.clone(), MetricSeries::default()))
            .collect();
        for batch in queries.chunks(QUERY_BATCH) {
            let asked = batch.iter().map(|q| {
                let metric = Metric::builder()
                    .namespace(&q.namespace)
                    .metric_name(&q.metric)
                    .set_dimensions(Some(
                        q.dimensions
                            .iter()
                            .map(|(k, v)| Dimension::builder().name(k).value(v).build())
                            .collect(),
                    ))
                    .build();
                MetricDataQuery::builder()
                    .id(&q.id)
                    .return_data(true)
                    .metric_stat(
                        MetricStat::builder()
                            .metric(metric)
                            .period(i32::try_from(q.period_secs).unwrap_or(i32::MAX))
                            .stat(&q.statistic)
                            .build(),
                    )
                    .build()
            });
            let pages = client
                .get_metric_data()
                .set_metric_data_queries(Some(asked.collect()))
                .start_time(start.into())
                .end_time(end.into())
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(|e| AwsError::from_sdk("GetMetricData", e));
            for page in self.located(Service::CloudWatch, region, pages)? {
                for result in page.metric_data_results() {
                    let Some(s) = result.id().and_then(|id| series.get_mut(id)) else {
                        continue;
                    };
                    let points = result.timestamps().iter().zip(result.values());
                    s.points
                        .extend(points.filter_map(|(t, v)| Some((time(t)?, *v))));
                }
            }
        }
        for s in series.values_mut() {
            s.points.sort_by_key(|(t, _)| *t);
        }
        Ok(series)
    }
}
