//! What the rest of the program may ask of the cloud: narrow traits that
//! `Aws` implements (in the files that talk to each service) and that a fake
//! cloud implements in unit tests (`crate::testing::FakeCloud`). `ops` names
//! these, never `Aws`.
//!
//! Errors are `AwsError`, whose `ErrorClass` is what decisions are made on,
//! never the message.

use super::AwsError;
use crate::model::probe::{
    AlarmState, BalancerState, DbStatus, GroupNow, MetricQuery, MetricSeries, TargetHealth,
};
use crate::model::progress::Progress;
use crate::model::shapes::Target;
use crate::model::{Address, Attrs, Changed, Identity, Inputs, LiveRegion, Observed};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::SystemTime;

/// What a create returns: the new id and what interpolations may read from it.
#[derive(Debug, Clone)]
pub struct Created {
    pub live_id: String,
    pub exports: BTreeMap<String, String>,
}

/// Reading what a stack owns, and where.
pub trait Discover: Sync {
    /// Whose credentials these are (asked in `region` once a run): the
    /// account guard's first call.
    fn identity(&self, region: &str) -> impl Future<Output = Result<Identity, AwsError>> + Send;
    /// Everything `stack` owns in `region`; with `global`, its global
    /// objects too (Route53's and IAM's: `Service::global`), read once.
    fn discover(
        &self,
        stack: &str,
        region: &str,
        global: bool,
    ) -> impl Future<Output = Result<LiveRegion, AwsError>> + Send;
    /// The regions the account has enabled, asked in `from`.
    fn enabled_regions(
        &self,
        from: &str,
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;
    /// The records of a public zone no stack owns, as `zone/name/TYPE` (the
    /// apex's SOA and NS left out): what adopting it must not overwrite.
    fn zone_records(
        &self,
        zone: &str,
    ) -> impl Future<Output = Result<std::collections::BTreeSet<String>, AwsError>> + Send;
    /// Which of `candidates` hold anything tagged for `stack`.
    fn regions_holding(
        &self,
        stack: &str,
        candidates: &[String],
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;
    /// The live resources blocks of `stack` import in `region` (`wanted`:
    /// each block and the id it names), read by id whoever owns them, each
    /// at its block with `model::IMPORTED` (and `model::OWNER`) handles
    /// unless it is already that block's; an id that names nothing is left out.
    fn imports(
        &self,
        stack: &str,
        region: &str,
        wanted: &[(Address, String)],
    ) -> impl Future<Output = Result<Vec<Observed>, AwsError>> + Send;
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

    // An Auto Scaling group's instances moved to a new version
    // (`ops::apply::group`), in the narrow calls below.

    /// The Auto Scaling group `name` now (`None`: there is none); which of
    /// its instances are outdated only with `versions` (two more reads:
    /// a wait for health asks without).
    fn group(
        &self,
        name: &str,
        versions: bool,
    ) -> impl Future<Output = Result<Option<GroupNow>, AwsError>> + Send;
    /// Those of `instances` that target group `target_group` reports healthy.
    fn healthy_in(
        &self,
        target_group: &str,
        instances: &[String],
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;
    /// Sets group `name`'s desired capacity and maximum size.
    fn set_capacity(
        &self,
        name: &str,
        desired: i32,
        max: i32,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Takes `instances` out of the `target_groups` that have them (their
    /// requests drain).
    fn deregister(
        &self,
        target_groups: &[String],
        instances: &[String],
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Records on group `name` the size it had before a new-first
    /// replacement surged it (`tags::SURGE`), or, with `None`, that none is
    /// under way.
    fn mark_surge(
        &self,
        name: &str,
        from: Option<(i32, i32)>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Terminates `instance` of its group: the group's desired capacity drops
    /// with it when `decrement`, else the group launches a replacement.
    fn terminate(
        &self,
        instance: &str,
        decrement: bool,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
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
    /// Records in `region` the regions `stack` has been applied to
    /// (`LiveRegion::applied_regions` reads it back); `None` removes the record.
    fn record_regions(
        &self,
        region: &str,
        stack: &str,
        regions: Option<&std::collections::BTreeSet<String>>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
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
    /// Writes a cutover's record on a listener or rule, whole: keys of
    /// `model::tags::cutover` it does not set are removed.
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

/// Who holds a stack's lock in one region. Times are seconds since the epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockRecord {
    pub holder: String,
    pub host: String,
    pub pid: u32,
    /// Unique to the run that holds it: only that run releases it.
    pub token: String,
    pub operation: String,
    pub since: u64,
    pub expires: u64,
}

/// Where the stack lock is kept: one record per stack and region, taken
/// atomically (`ops::lock` decides when; this only stores).
pub trait LockStore: Clone + Send + Sync + 'static {
    /// Takes the lock in `region`: `Ok(true)` when it is now `record`'s,
    /// `Ok(false)` when someone holds it.
    fn take_lock(
        &self,
        region: &str,
        stack: &str,
        record: &LockRecord,
    ) -> impl Future<Output = Result<bool, AwsError>> + Send;
    /// Who holds the lock in `region`, if anyone.
    fn read_lock(
        &self,
        region: &str,
        stack: &str,
    ) -> impl Future<Output = Result<Option<LockRecord>, AwsError>> + Send;
    /// Moves the expiry of the lock `token` holds.
    fn refresh_lock(
        &self,
        region: &str,
        stack: &str,
        token: &str,
        expires: u64,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Removes the lock: only where `token` holds it, or whoever holds it with `None`.
    fn remove_lock(
        &self,
        region: &str,
        stack: &str,
        token: Option<&str>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// Everything an operation may ask of the cloud.
pub trait Account: Cloud + Probe + TrafficSwitch + LockStore {}

impl<T: Cloud + Probe + TrafficSwitch + LockStore> Account for T {}
