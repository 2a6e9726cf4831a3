//! Fixtures for unit tests: a stack from TOML text, and the live state it has
//! once applied, with made-up ids, to plan against without AWS; and a fake
//! cloud (`FakeCloud`) that the operations (plan, apply, converge, rollout,
//! cutover) run on without the emulator.

use crate::aws::cloud::LockRecord;
use crate::aws::cloud::{Cloud, Created, Discover, LockStore, Mutate, Probe, TrafficSwitch};
use crate::aws::{AwsError, ErrorClass};
use crate::desired::{self, Resolve};
use crate::model::probe::{
    AlarmState, BalancerState, DbStatus, GroupInstance, GroupNow, MetricQuery, MetricSeries,
    TargetHealth, TargetState,
};
use crate::model::progress::Progress;
use crate::model::shapes::Target;
use crate::model::{Address, Attrs, Changed, Inputs, LiveRegion, Observed, Value};
use crate::plan::{Plan, ResourceChange};
use crate::stack::spec::Reference;
use crate::stack::Stack;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The change `plan` makes to `address` (`kind.name`), which it must have.
pub fn change<'p>(plan: &'p Plan, address: &str) -> &'p ResourceChange {
    plan.changes
        .iter()
        .find(|c| c.address.to_string() == address)
        .unwrap_or_else(|| panic!("no change to {address}"))
}

/// The demo stack users run first (`stacks/demo.toml`).
pub const DEMO: &str = include_str!("../stacks/demo.toml");

/// A database in subnets `a` and `b` of `vpc.main` (a stack adds those two):
/// its subnet `b`, subnet group and instance.
pub const DATABASE: &str = include_str!("../tests/fixtures/database.toml");

pub fn stack(source: &str) -> Stack {
    crate::stack::parse(Path::new("test.toml"), source.to_string()).expect("a valid stack")
}

/// The made-up live id of `address`: `id-vpc.main`.
pub fn id(address: &Address) -> String {
    format!("id-{address}")
}

/// The made-up value of an exported attribute: the id, or `dns_name-of-load_balancer.app`.
pub fn export(address: &Address, attribute: &str) -> String {
    match attribute {
        "id" => id(address),
        _ => format!("{attribute}-of-{address}"),
    }
}

/// Resolves references to made-up live ids, and `${…}` to made-up values.
pub struct FakeIds;

impl Resolve for FakeIds {
    fn reference(&self, reference: &Reference, own: &Address) -> Value {
        match reference {
            Reference::Resource(a) => Value::Id(id(a)),
            Reference::LiveId(live) => Value::Id(live.clone()),
            Reference::SelfGroup => Value::Id(id(own)),
        }
    }

    fn attribute(&self, target: &Address, attribute: &str) -> Option<String> {
        Some(export(target, attribute))
    }
}

/// What discovery would return for `stack` in `region` right after an apply:
/// every resource exactly as declared.
pub fn applied(stack: &Stack, region: &str) -> LiveRegion {
    let resources = stack
        .ordered(region)
        .into_iter()
        .map(|r| Observed {
            address: r.address.clone(),
            region: region.to_string(),
            live_id: id(&r.address),
            attrs: desired::attrs(stack, r, region, &FakeIds),
            exports: r
                .address
                .kind
                .exports()
                .iter()
                .map(|a| (a.to_string(), export(&r.address, a)))
                .collect(),
            handles: BTreeMap::new(),
        })
        .collect();
    LiveRegion {
        resources,
        ..Default::default()
    }
}

/// The live resource at `address` in `live`, to change as a colleague would.
pub fn live_mut<'a>(live: &'a mut LiveRegion, address: &str) -> &'a mut Observed {
    let address = Address::parse(address).expect("an address");
    live.resources
        .iter_mut()
        .find(|o| o.address == address)
        .expect("the resource is live")
}

/// A cloud in memory for the operations' unit tests: what one stack owns per
/// region, changed by apply's steps as AWS would; creates that fail on
/// purpose; the stack lock; forwards and their records; one metric value per
/// region. Every change it is asked for is logged, in order.
#[derive(Clone, Default)]
pub struct FakeCloud(Arc<Mutex<FakeState>>);

#[derive(Default)]
pub struct FakeState {
    /// What is live, per region.
    pub live: BTreeMap<String, Vec<Observed>>,
    next_id: u64,
    /// Creates and deletes AWS refuses, by region and address (`subnet.a`), and how.
    pub failing: BTreeMap<(String, String), ErrorClass>,
    /// The stack lock, per region.
    pub locks: BTreeMap<String, LockRecord>,
    /// Every change asked for: `create subnet.a in us-west-2`, `lock us-east-1`.
    pub calls: Vec<String>,
    /// A listener's or rule's forward, by ARN (live id).
    pub forwards: BTreeMap<String, Vec<Target>>,
    /// The tags on a listener or rule: its change record.
    pub records: BTreeMap<String, BTreeMap<String, String>>,
    /// Per region, the value of every data point of every metric (none: no data).
    pub metric: BTreeMap<String, f64>,
    /// The regions record, per region (`Cloud::record_regions`).
    pub recorded: BTreeMap<String, std::collections::BTreeSet<String>>,
    /// How many times every region of the account was searched.
    pub searches: usize,
    /// Whose credentials the cloud is asked with (`None`: account 123456789012).
    pub identity: Option<crate::model::Identity>,
    /// How many times it was asked.
    pub identities_asked: usize,
    /// Auto Scaling groups by name (live id), as replacing their instances
    /// reads and changes them.
    pub groups: BTreeMap<String, FakeGroup>,
    /// How many instances of the group were healthy after each termination
    /// apply asked for.
    pub healthy_after_terminate: Vec<usize>,
}

/// An Auto Scaling group of the fake cloud. Each read fills it up to its
/// desired capacity with new, healthy instances running `launches`, and
/// brings it down to it (outdated instances first).
#[derive(Clone, Debug, Default)]
pub struct FakeGroup {
    pub desired: i32,
    pub max: i32,
    pub target_groups: Vec<String>,
    /// Its template's default version.
    pub version: i64,
    /// The version its new instances run: `version`, unless a test makes
    /// the default version launch something older.
    pub launches: i64,
    pub instances: BTreeMap<String, FakeInstance>,
    launched: u32,
    reads: u32,
    /// At the Nth read of the group, an instance turns unhealthy for so many reads.
    pub sicken: Option<(u32, String, u32)>,
    /// Terminations accepted before the next ones fail (an apply interrupted midway).
    pub terminations_allowed: Option<usize>,
    /// Its size before a new-first replacement's surge, while one runs.
    pub surged_from: Option<(i32, i32)>,
}

/// An instance of a [`FakeGroup`]: the version it runs, and for how many more
/// reads of its group it is unhealthy.
#[derive(Clone, Debug, Default)]
pub struct FakeInstance {
    pub version: i64,
    pub sick_for: u32,
}

impl FakeGroup {
    /// A group of `n` healthy instances (`i-old-0`, …) running `version`,
    /// registered in target group `tg`.
    pub fn running(n: i32, version: i64, tg: &str) -> FakeGroup {
        FakeGroup {
            desired: n,
            max: n,
            target_groups: vec![tg.to_string()],
            version,
            launches: version,
            instances: (0..n)
                .map(|i| {
                    let instance = FakeInstance {
                        version,
                        sick_for: 0,
                    };
                    (format!("i-old-{i}"), instance)
                })
                .collect(),
            ..Default::default()
        }
    }

    fn healthy(&self) -> usize {
        self.instances.values().filter(|i| i.sick_for == 0).count()
    }

    /// One read: what AWS would have done since the last one.
    fn read(&mut self) -> GroupNow {
        self.reads += 1;
        while self.instances.len() < usize::try_from(self.desired).unwrap_or(0) {
            self.launched += 1;
            let instance = FakeInstance {
                version: self.launches,
                sick_for: 0,
            };
            self.instances
                .insert(format!("i-new-{}", self.launched), instance);
        }
        while self.instances.len() > usize::try_from(self.desired).unwrap_or(0) {
            let version = self.version;
            let gone = self
                .instances
                .iter()
                .find(|(_, i)| i.version != version)
                .or_else(|| self.instances.iter().next())
                .map(|(id, _)| id.clone())
                .expect("more instances than none");
            self.instances.remove(&gone);
        }
        if let Some((at, id, reads)) = self.sicken.clone() {
            if at == self.reads {
                if let Some(i) = self.instances.get_mut(&id) {
                    i.sick_for = reads;
                }
            }
        }
        let now = GroupNow {
            surged_from: self.surged_from,
            desired: self.desired,
            max: self.max,
            target_groups: self.target_groups.clone(),
            version: self.version,
            instances: self
                .instances
                .iter()
                .map(|(id, i)| GroupInstance {
                    id: id.clone(),
                    serving: i.sick_for == 0,
                    outdated: i.version != self.version,
                })
                .collect(),
        };
        for i in self.instances.values_mut() {
            i.sick_for = i.sick_for.saturating_sub(1);
        }
        now
    }
}

impl FakeCloud {
    pub fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.0.lock().expect("the fake cloud's lock")
    }

    /// A fake cloud already holding `stack` as applied in each of its regions.
    pub fn applied(stack: &Stack) -> FakeCloud {
        let cloud = FakeCloud::default();
        for region in &stack.regions {
            let live = applied(stack, region).resources;
            cloud.state().live.insert(region.clone(), live);
        }
        cloud
    }

    /// The create, or the delete, of `address` in `region` fails with `class`.
    pub fn fail(&self, region: &str, address: &str, class: ErrorClass) {
        let key = (region.to_string(), address.to_string());
        self.state().failing.insert(key, class);
    }

    /// The changes asked for so far.
    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    fn log(&self, call: String) {
        self.state().calls.push(call);
    }

    /// The addresses live in `region`, sorted.
    pub fn addresses(&self, region: &str) -> Vec<String> {
        let state = self.state();
        let mut out: Vec<String> = state
            .live
            .get(region)
            .into_iter()
            .flatten()
            .map(|o| o.address.to_string())
            .collect();
        out.sort();
        out
    }
}

impl Discover for FakeCloud {
    async fn identity(&self, _: &str) -> Result<crate::model::Identity, AwsError> {
        let mut state = self.state();
        state.identities_asked += 1;
        Ok(state.identity.clone().unwrap_or(crate::model::Identity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/test".into(),
        }))
    }

    /// The fake account holds nothing outside the stack: every id is unknown.
    async fn imports(
        &self,
        _: &str,
        _: &str,
        _: &[(Address, String)],
    ) -> Result<Vec<Observed>, AwsError> {
        Ok(vec![])
    }

    async fn discover(&self, _: &str, region: &str, global: bool) -> Result<LiveRegion, AwsError> {
        let state = self.state();
        let resources = state
            .live
            .get(region)
            .into_iter()
            .flatten()
            // As the real discovery: global kinds only with `global`.
            .filter(|o| global || !o.address.kind.service().global())
            .cloned()
            .collect();
        Ok(LiveRegion {
            resources,
            applied_regions: state.recorded.get(region).cloned(),
            ..Default::default()
        })
    }

    async fn zone_records(&self, _: &str) -> Result<std::collections::BTreeSet<String>, AwsError> {
        Ok(Default::default())
    }

    async fn enabled_regions(&self, _: &str) -> Result<Vec<String>, AwsError> {
        self.state().searches += 1;
        Ok(["us-west-2", "us-east-1", "eu-west-1"]
            .map(String::from)
            .to_vec())
    }

    async fn regions_holding(
        &self,
        _: &str,
        candidates: &[String],
    ) -> Result<Vec<String>, AwsError> {
        let state = self.state();
        Ok(candidates
            .iter()
            .filter(|r| state.live.get(*r).is_some_and(|l| !l.is_empty()))
            .cloned()
            .collect())
    }
}

/// The changes of one region of a [`FakeCloud`].
pub struct FakeMutator {
    cloud: FakeCloud,
    region: String,
}

impl Cloud for FakeCloud {
    type Mutator = FakeMutator;

    fn mutator(
        &self,
        region: &str,
        _: &str,
        _: &BTreeMap<String, String>,
        _: Progress,
    ) -> FakeMutator {
        FakeMutator {
            cloud: self.clone(),
            region: region.to_string(),
        }
    }

    async fn record_regions(
        &self,
        region: &str,
        _: &str,
        regions: Option<&std::collections::BTreeSet<String>>,
    ) -> Result<(), AwsError> {
        let mut state = self.state();
        match regions {
            Some(regions) => {
                let list: Vec<&str> = regions.iter().map(String::as_str).collect();
                state
                    .calls
                    .push(format!("record regions in {region}: {}", list.join(" ")));
                state.recorded.insert(region.to_string(), regions.clone());
            }
            None => {
                state.calls.push(format!("forget regions in {region}"));
                state.recorded.remove(region);
            }
        }
        Ok(())
    }
}

impl Mutate for FakeMutator {
    async fn create(
        &self,
        address: &Address,
        attrs: &Attrs,
        _: &Inputs,
        _: &[String],
    ) -> Result<Created, AwsError> {
        self.cloud
            .log(format!("create {address} in {}", self.region));
        let mut state = self.cloud.state();
        let key = (self.region.clone(), address.to_string());
        if let Some(class) = state.failing.get(&key) {
            return Err(AwsError::new(
                "Create",
                *class,
                "Injected",
                "refused by the test",
            ));
        }
        state.next_id += 1;
        let live_id = format!("fake-{}-{}", address.kind.as_str(), state.next_id);
        let exports: BTreeMap<String, String> = address
            .kind
            .exports()
            .iter()
            .map(|a| match *a {
                "id" => (a.to_string(), live_id.clone()),
                _ => (a.to_string(), format!("{a}-of-{live_id}")),
            })
            .collect();
        state
            .live
            .entry(self.region.clone())
            .or_default()
            .push(Observed {
                address: address.clone(),
                region: self.region.clone(),
                live_id: live_id.clone(),
                attrs: attrs.clone(),
                exports: exports.clone(),
                handles: BTreeMap::new(),
            });
        Ok(Created { live_id, exports })
    }

    async fn update(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        self.cloud
            .log(format!("update {} in {}", observed.address, self.region));
        let mut state = self.cloud.state();
        let live = state.live.entry(self.region.clone()).or_default();
        let Some(o) = live.iter_mut().find(|o| o.live_id == observed.live_id) else {
            return Err(AwsError::new(
                "Update",
                ErrorClass::NotFound,
                "NotFound",
                "gone",
            ));
        };
        o.attrs = changed.merged(attrs, &o.attrs);
        o.address = observed.address.clone();
        Ok(())
    }

    async fn group(&self, name: &str, _: bool) -> Result<Option<GroupNow>, AwsError> {
        Ok(self.cloud.state().groups.get_mut(name).map(FakeGroup::read))
    }

    async fn healthy_in(&self, _: &str, instances: &[String]) -> Result<Vec<String>, AwsError> {
        let state = self.cloud.state();
        let healthy = |id: &String| {
            state
                .groups
                .values()
                .any(|g| g.instances.get(id).is_some_and(|i| i.sick_for == 0))
        };
        Ok(instances.iter().filter(|id| healthy(id)).cloned().collect())
    }

    async fn set_capacity(&self, name: &str, desired: i32, max: i32) -> Result<(), AwsError> {
        self.cloud
            .log(format!("capacity {name} {desired} (max {max})"));
        if let Some(g) = self.cloud.state().groups.get_mut(name) {
            (g.desired, g.max) = (desired, max);
        }
        Ok(())
    }

    async fn mark_surge(&self, name: &str, from: Option<(i32, i32)>) -> Result<(), AwsError> {
        self.cloud.log(format!("surge {name} from {from:?}"));
        if let Some(g) = self.cloud.state().groups.get_mut(name) {
            g.surged_from = from;
        }
        Ok(())
    }

    async fn deregister(&self, _: &[String], instances: &[String]) -> Result<(), AwsError> {
        self.cloud
            .log(format!("deregister {}", instances.join(" ")));
        Ok(())
    }

    async fn terminate(&self, instance: &str, decrement: bool) -> Result<(), AwsError> {
        self.cloud.log(format!("terminate {instance}"));
        let mut state = self.cloud.state();
        let Some(group) = state
            .groups
            .values_mut()
            .find(|g| g.instances.contains_key(instance))
        else {
            return Err(AwsError::new(
                "TerminateInstanceInAutoScalingGroup",
                ErrorClass::NotFound,
                "ValidationError",
                "no such instance",
            ));
        };
        if let Some(allowed) = group.terminations_allowed.as_mut() {
            if *allowed == 0 {
                return Err(AwsError::new(
                    "TerminateInstanceInAutoScalingGroup",
                    ErrorClass::Transient,
                    "Injected",
                    "interrupted by the test",
                ));
            }
            *allowed -= 1;
        }
        group.instances.remove(instance);
        if decrement {
            group.desired -= 1;
        }
        let healthy = group.healthy();
        state.healthy_after_terminate.push(healthy);
        Ok(())
    }

    async fn delete(&self, observed: &Observed) -> Result<(), AwsError> {
        self.cloud
            .log(format!("delete {} in {}", observed.address, self.region));
        let mut state = self.cloud.state();
        let key = (self.region.clone(), observed.address.to_string());
        if let Some(class) = state.failing.get(&key) {
            return Err(AwsError::new(
                "Delete",
                *class,
                "Injected",
                "refused by the test",
            ));
        }
        if let Some(live) = state.live.get_mut(&self.region) {
            live.retain(|o| o.live_id != observed.live_id);
        }
        Ok(())
    }
}

impl Probe for FakeCloud {
    async fn target_health(&self, _: &str, _: &str) -> Result<Vec<TargetHealth>, AwsError> {
        Ok(vec![TargetHealth {
            id: "i-healthy".into(),
            port: Some(80),
            state: TargetState::Healthy,
            reason: None,
        }])
    }

    async fn load_balancer_states(
        &self,
        _: &str,
        arns: &[String],
    ) -> Result<Vec<BalancerState>, AwsError> {
        Ok(arns
            .iter()
            .map(|arn| BalancerState {
                arn: arn.clone(),
                state: "active".into(),
                reason: None,
            })
            .collect())
    }

    async fn db_statuses(&self, _: &str, ids: &[String]) -> Result<Vec<DbStatus>, AwsError> {
        Ok(ids
            .iter()
            .map(|id| DbStatus {
                identifier: id.clone(),
                status: "available".into(),
            })
            .collect())
    }

    async fn alarm_states(&self, _: &str, _: &[String]) -> Result<Vec<AlarmState>, AwsError> {
        Ok(vec![])
    }

    async fn metric_data(
        &self,
        region: &str,
        queries: &[MetricQuery],
        start: SystemTime,
        end: SystemTime,
    ) -> Result<BTreeMap<String, MetricSeries>, AwsError> {
        let value = self.state().metric.get(region).copied();
        Ok(queries
            .iter()
            .map(|q| {
                let period = Duration::from_secs(u64::from(q.period_secs));
                let mut points = Vec::new();
                let mut t = start;
                while let Some(v) = value.filter(|_| t < end) {
                    points.push((t, v));
                    t += period;
                }
                (q.id.clone(), MetricSeries { points })
            })
            .collect())
    }
}

impl TrafficSwitch for FakeCloud {
    async fn forward(&self, _: &str, arn: &str) -> Result<Option<Vec<Target>>, AwsError> {
        Ok(self.state().forwards.get(arn).cloned())
    }

    async fn set_forward(
        &self,
        region: &str,
        arn: &str,
        targets: &[Target],
    ) -> Result<(), AwsError> {
        self.log(format!("set forward {arn} in {region}"));
        self.state().forwards.insert(arn.into(), targets.to_vec());
        Ok(())
    }

    async fn record(
        &self,
        _: &str,
        arn: &str,
        record: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let mut state = self.state();
        let tags = state.records.entry(arn.into()).or_default();
        tags.retain(|k, _| !crate::model::tags::cutover::ALL.contains(&k.as_str()));
        tags.extend(record.clone());
        Ok(())
    }

    async fn recorded(&self, _: &str, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        Ok(self.state().records.get(arn).cloned().unwrap_or_default())
    }
}

impl LockStore for FakeCloud {
    async fn take_lock(
        &self,
        region: &str,
        _: &str,
        record: &LockRecord,
    ) -> Result<bool, AwsError> {
        let mut state = self.state();
        if state.locks.contains_key(region) {
            return Ok(false);
        }
        state.locks.insert(region.into(), record.clone());
        state.calls.push(format!("lock {region}"));
        Ok(true)
    }

    async fn read_lock(&self, region: &str, _: &str) -> Result<Option<LockRecord>, AwsError> {
        Ok(self.state().locks.get(region).cloned())
    }

    async fn refresh_lock(&self, _: &str, _: &str, _: &str, _: u64) -> Result<(), AwsError> {
        Ok(())
    }

    async fn remove_lock(
        &self,
        region: &str,
        _: &str,
        token: Option<&str>,
    ) -> Result<(), AwsError> {
        let mut state = self.state();
        let held = state.locks.get(region).map(|l| l.token.clone());
        if held.is_some() && (token.is_none() || held.as_deref() == token) {
            state.locks.remove(region);
            state.calls.push(format!("unlock {region}"));
        }
        Ok(())
    }
}

/// A lock held by another run, on another host, until far in the future.
pub fn someone_elses_lock() -> LockRecord {
    LockRecord {
        holder: "bob@laptop (pid 42)".into(),
        host: "laptop".into(),
        pid: 42,
        token: "bobs-run".into(),
        operation: "apply".into(),
        since: 1_000,
        expires: 4_000_000_000,
    }
}

/// The demo stack as applied on a fake cloud, its rule forwarding all to
/// blue; and the rule's live id.
pub fn demo_on_a_fake_cloud() -> (Stack, FakeCloud, String) {
    let stack = self::stack(DEMO);
    let cloud = FakeCloud::applied(&stack);
    let address = |a: &str| id(&Address::parse(a).expect("an address"));
    let rule = address("listener_rule.app");
    let forward = vec![
        Target {
            target_group: Value::Id(address("target_group.blue")),
            weight: 100,
        },
        Target {
            target_group: Value::Id(address("target_group.green")),
            weight: 0,
        },
    ];
    cloud.state().forwards.insert(rule.clone(), forward);
    (stack, cloud, rule)
}

/// A VPC in two regions, rolled out canary first, gated by an error count.
pub const WAVES: &str = r#"
[stack]
name = "waves"
regions = ["us-west-2", "us-east-1"]

[vpc.main]
cidr = "10.0.0.0/16"

[[verify]]
name = "errors"
namespace = "App"
metric = "Errors"
statistic = "Sum"
window = "5m"
max = 10

[rollout]
every = "1m"
waves = [
  { name = "canary", regions = ["us-west-2"], bake = "10m" },
  { name = "wide", regions = ["us-east-1"], bake = "10m" },
]
"#;

/// A test clock at a fixed instant (2027-01-15T08:00:00Z).
pub fn clock() -> crate::ops::clock::TestClock {
    crate::ops::clock::TestClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000))
}
