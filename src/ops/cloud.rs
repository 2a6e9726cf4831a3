//! The seam between the operations and the cloud: what `ops` asks of AWS, as
//! narrow traits implemented by `aws::Aws` (and by fakes in tests), and the
//! clock every wait goes through (real, or driven by a test).
//!
//! Errors are `AwsError`, whose `ErrorClass` (not found, conflict, throttled,
//! dependency violation, invalid, denied, transient, ambiguous, unreachable)
//! is what decisions are made on, never the message.

use crate::aws::{self, Aws, AwsError, Created, Progress};
use crate::model::probe::{
    AlarmState, BalancerState, DbStatus, MetricQuery, MetricSeries, TargetHealth,
};
use crate::model::shapes::Target;
use crate::model::{Address, Attrs, Changed, Inputs, LiveRegion, Observed};
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// Reading what a stack owns, and where.
pub trait Discover: Sync {
    /// Everything `stack` owns in `region`; its DNS too with `dns` (Route53 is global).
    fn discover(
        &self,
        stack: &str,
        region: &str,
        dns: bool,
    ) -> impl Future<Output = Result<LiveRegion, AwsError>> + Send;
    /// The regions the account has enabled, asked in `from`.
    fn enabled_regions(
        &self,
        from: &str,
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;
    /// Which of `candidates` hold anything tagged for `stack`.
    fn regions_holding(
        &self,
        stack: &str,
        candidates: &[String],
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;
}

/// Changing one region: what apply's steps call.
pub trait Mutate: Sync {
    /// Creates the resource at `address`, exactly once; `known` are live ids the
    /// plan saw there, never taken for the new one.
    fn create(
        &self,
        address: &Address,
        attrs: &Attrs,
        inputs: &Inputs,
        known: &[String],
    ) -> impl Future<Output = Result<Created, AwsError>> + Send;
    /// Brings `observed` to `attrs` in the attributes the plan found `changed`.
    fn update(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
        inputs: &Inputs,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Deletes `observed`; one already gone is not an error.
    fn delete(&self, observed: &Observed) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// A cloud apply can change: a mutator per region.
pub trait Cloud: Discover {
    type Mutator: Mutate + Send;
    fn mutator(
        &self,
        region: &str,
        stack: &str,
        record: &BTreeMap<String, String>,
        progress: Progress,
    ) -> Self::Mutator;
}

/// The control plane and metrics the deployment half judges a deploy by.
pub trait Probe: Sync {
    fn target_health(
        &self,
        region: &str,
        target_group: &str,
    ) -> impl Future<Output = Result<Vec<TargetHealth>, AwsError>> + Send;
    fn load_balancer_states(
        &self,
        region: &str,
        arns: &[String],
    ) -> impl Future<Output = Result<Vec<BalancerState>, AwsError>> + Send;
    fn db_statuses(
        &self,
        region: &str,
        identifiers: &[String],
    ) -> impl Future<Output = Result<Vec<DbStatus>, AwsError>> + Send;
    fn alarm_states(
        &self,
        region: &str,
        names: &[String],
    ) -> impl Future<Output = Result<Vec<AlarmState>, AwsError>> + Send;
    /// Every query's series between `start` and `end`, in one request per region.
    fn metric_data(
        &self,
        region: &str,
        queries: &[MetricQuery],
        start: SystemTime,
        end: SystemTime,
    ) -> impl Future<Output = Result<BTreeMap<String, MetricSeries>, AwsError>> + Send;
}

/// Where traffic goes: a listener's or rule's weighted forward, and the
/// change record tagged on it.
pub trait TrafficSwitch: Sync {
    /// The live forward of a listener or rule (`None`: it does not forward).
    fn forward(
        &self,
        region: &str,
        arn: &str,
    ) -> impl Future<Output = Result<Option<Vec<Target>>, AwsError>> + Send;
    fn set_forward(
        &self,
        region: &str,
        arn: &str,
        targets: &[Target],
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Tags the change record on a listener or rule.
    fn record(
        &self,
        region: &str,
        arn: &str,
        record: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// The tags of a listener or rule, where the last record is.
    fn recorded(
        &self,
        region: &str,
        arn: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, AwsError>> + Send;
}

impl Discover for Aws {
    async fn discover(&self, stack: &str, region: &str, dns: bool) -> Result<LiveRegion, AwsError> {
        Aws::discover(self, stack, region, dns).await
    }

    async fn enabled_regions(&self, from: &str) -> Result<Vec<String>, AwsError> {
        Aws::enabled_regions(self, from).await
    }

    async fn regions_holding(
        &self,
        stack: &str,
        candidates: &[String],
    ) -> Result<Vec<String>, AwsError> {
        Aws::regions_holding(self, stack, candidates).await
    }
}

impl Cloud for Aws {
    type Mutator = aws::Mutator;

    fn mutator(
        &self,
        region: &str,
        stack: &str,
        record: &BTreeMap<String, String>,
        progress: Progress,
    ) -> aws::Mutator {
        Aws::mutator(self, region, stack, record, progress)
    }
}

impl Mutate for aws::Mutator {
    async fn create(
        &self,
        address: &Address,
        attrs: &Attrs,
        inputs: &Inputs,
        known: &[String],
    ) -> Result<Created, AwsError> {
        aws::Mutator::create(self, address, attrs, inputs, known).await
    }

    async fn update(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        aws::Mutator::update(self, observed, attrs, changed, inputs).await
    }

    async fn delete(&self, observed: &Observed) -> Result<(), AwsError> {
        aws::Mutator::delete(self, observed).await
    }
}

impl Probe for Aws {
    async fn target_health(
        &self,
        region: &str,
        target_group: &str,
    ) -> Result<Vec<TargetHealth>, AwsError> {
        Aws::target_health(self, region, target_group).await
    }

    async fn load_balancer_states(
        &self,
        region: &str,
        arns: &[String],
    ) -> Result<Vec<BalancerState>, AwsError> {
        Aws::load_balancer_states(self, region, arns).await
    }

    async fn db_statuses(
        &self,
        region: &str,
        identifiers: &[String],
    ) -> Result<Vec<DbStatus>, AwsError> {
        Aws::db_statuses(self, region, identifiers).await
    }

    async fn alarm_states(
        &self,
        region: &str,
        names: &[String],
    ) -> Result<Vec<AlarmState>, AwsError> {
        Aws::alarm_states(self, region, names).await
    }

    async fn metric_data(
        &self,
        region: &str,
        queries: &[MetricQuery],
        start: SystemTime,
        end: SystemTime,
    ) -> Result<BTreeMap<String, MetricSeries>, AwsError> {
        Aws::metric_data(self, region, queries, start, end).await
    }
}

impl TrafficSwitch for Aws {
    async fn forward(&self, region: &str, arn: &str) -> Result<Option<Vec<Target>>, AwsError> {
        Aws::forward(self, region, arn).await
    }

    async fn set_forward(
        &self,
        region: &str,
        arn: &str,
        targets: &[Target],
    ) -> Result<(), AwsError> {
        Aws::set_forward(self, region, arn, targets).await
    }

    async fn record(
        &self,
        region: &str,
        arn: &str,
        record: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        Aws::tag_balancing(self, region, arn, record).await
    }

    async fn recorded(
        &self,
        region: &str,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, AwsError> {
        Aws::balancing_tags(self, region, arn).await
    }
}

/// Time as the operations see it: every bake, soak, lock wait and metric
/// window asks this clock, so tests drive time instead of waiting for it.
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()>;
}

/// The system clock and tokio's timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

#[cfg(test)]
/// A clock that moves only when told to, or when slept on (a sleep returns at
/// once, the clock having advanced by its duration).
#[derive(Debug)]
pub struct TestClock {
    now: std::sync::Mutex<SystemTime>,
}

#[cfg(test)]
impl TestClock {
    pub fn at(now: SystemTime) -> TestClock {
        TestClock {
            now: std::sync::Mutex::new(now),
        }
    }

    pub fn advance(&self, by: Duration) {
        *self.now.lock().expect("clock lock") += by;
    }
}

#[cfg(test)]
impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().expect("clock lock")
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()> {
        self.advance(duration);
        Box::pin(tokio::task::yield_now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_test_clock_moves_when_slept_on_and_when_told() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = TestClock::at(start);
        clock.sleep(Duration::from_secs(90)).await;
        assert_eq!(clock.now(), start + Duration::from_secs(90));
        clock.advance(Duration::from_secs(10));
        assert_eq!(clock.now(), start + Duration::from_secs(100));
    }
}
