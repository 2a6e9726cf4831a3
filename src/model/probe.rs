//! What the deployment half reads from the cloud to judge a deploy: target
//! health, load balancer and database states, alarm states, metric data. Plain
//! data, normalised by `aws`, judged by `ops` without knowing the SDK.

use std::collections::BTreeMap;
use std::time::SystemTime;

/// One registered target of a target group and what the load balancer thinks of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetHealth {
    /// An instance id, an IP address or a Lambda ARN.
    pub id: String,
    pub port: Option<i32>,
    pub state: TargetState,
    /// AWS's reason code and description, when not healthy.
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetState {
    Healthy,
    Unhealthy,
    /// Registration or the first health checks in progress.
    Initial,
    Draining,
    /// Not in use by any listener rule, or in a disabled zone.
    Unused,
    /// Health checks disabled.
    Unavailable,
    Other(String),
}

impl TargetState {
    pub fn parse(s: &str) -> TargetState {
        match s {
            "healthy" => TargetState::Healthy,
            "unhealthy" | "unhealthy.draining" => TargetState::Unhealthy,
            "initial" => TargetState::Initial,
            "draining" => TargetState::Draining,
            "unused" => TargetState::Unused,
            "unavailable" => TargetState::Unavailable,
            other => TargetState::Other(other.to_string()),
        }
    }
}

/// A load balancer's provisioning state (`active`, `provisioning`, `failed`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalancerState {
    pub arn: String,
    pub state: String,
    pub reason: Option<String>,
}

/// A database instance's status (`available`, `modifying`, `backing-up`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbStatus {
    pub identifier: String,
    pub status: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlarmValue {
    Ok,
    Alarm,
    InsufficientData,
}

/// A CloudWatch alarm's state and why it is in it.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmState {
    pub name: String,
    pub value: AlarmValue,
    pub reason: String,
    pub updated: Option<SystemTime>,
}

/// One metric series to read: a statistic of a metric over fixed periods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricQuery {
    /// Unique within one request; names the series in the answer.
    pub id: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: BTreeMap<String, String>,
    /// `Sum`, `Average`, `Minimum`, `Maximum`, `SampleCount` or a percentile (`p99`).
    pub statistic: String,
    pub period_secs: u32,
}

/// The data points of one query, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricSeries {
    pub points: Vec<(SystemTime, f64)>,
}

/// An Auto Scaling group as the replacement of its outdated instances sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupNow {
    pub desired: i32,
    pub max: i32,
    /// The target groups it registers its instances in (ARNs).
    pub target_groups: Vec<String>,
    /// Its launch template's default version: what it launches.
    pub version: i64,
    pub instances: Vec<GroupInstance>,
    /// Its desired capacity and maximum before a new-first replacement
    /// surged it, while one is under way (`tags::SURGE`).
    pub surged_from: Option<(i32, i32)>,
}

/// An instance of an Auto Scaling group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInstance {
    pub id: String,
    /// In service and healthy, as the group sees it.
    pub serving: bool,
    /// It runs something else than the default version launches.
    pub outdated: bool,
}

impl GroupNow {
    /// The ids of its instances that are in service and healthy.
    pub fn serving(&self) -> Vec<String> {
        self.ids(|i| i.serving)
    }

    /// The ids of its instances on an older version.
    pub fn outdated(&self) -> Vec<String> {
        self.ids(|i| i.outdated)
    }

    fn ids(&self, which: impl Fn(&GroupInstance) -> bool) -> Vec<String> {
        self.instances
            .iter()
            .filter(|i| which(i))
            .map(|i| i.id.clone())
            .collect()
    }
}
