//! `reconcile cutover`: move a blue-green pair's traffic to one colour, region
//! by region, in steps. Before anything moves: the live forward must be the
//! pair's, the target colour healthy and the checks passing. Each step is one
//! write, read back until AWS shows it, then a bake whose checks never look
//! at data from before that moment. A failed check, an error asking again will
//! not fix, or a signal puts all traffic back on the source colour in that
//! region, read back, and stops.

use super::clock::Clock;
use super::verify::{colour_id, evaluate_region, Context};
use crate::aws::cloud::{Account, Discover, Probe, TrafficSwitch};
use crate::aws::{AwsError, ErrorClass};
use crate::check::{self, CheckResult, Outcome, Source, Streaks};
use crate::model::progress::Progress;
use crate::model::shapes::{share, Action, Target};
use crate::model::tags::cutover;
use crate::model::{Address, LiveRegion, Value};
use crate::stack::spec::Reference;
use crate::stack::{BlueGreen, Colour, Stack};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

/// What a cutover works with: the cloud, the clock its bakes wait on, and
/// where its progress lines go.
pub struct Env<'a, C> {
    pub cloud: &'a C,
    pub clock: &'a dyn Clock,
    pub progress: &'a Progress,
}

/// What was asked: the pair, the colour, and how.
#[derive(Clone, Debug)]
pub struct Request {
    pub pair: String,
    pub to: Colour,
    /// The target colour's weight at each step, rising to 100.
    pub steps: Vec<i64>,
    pub bake: Duration,
    pub every: Duration,
    /// `--emergency TICKET`, recorded with the change.
    pub ticket: Option<String>,
    pub version: Option<String>,
    pub operator: String,
    /// `--short-bake`: go ahead with a bake too short for some metric checks
    /// (`verify::too_short`), reported as not evaluated.
    pub short_bake: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionOutcome {
    /// All traffic on the target colour, checks passing through every bake.
    Done,
    /// It was there already: nothing moved.
    AlreadyThere,
    /// A pre-check failed: nothing moved.
    Refused,
    /// A check failed (or an error, or a signal) during a step: all traffic
    /// is back on the source colour.
    SwitchedBack,
    /// Something could not be done or undone: see the reason.
    Failed,
    /// An earlier region stopped the cutover.
    NotStarted,
}

#[derive(Debug, Serialize)]
pub struct StepReport {
    /// The target colour's weight.
    pub weight: i64,
    /// When DescribeRules/DescribeListeners first showed it.
    #[serde(serialize_with = "rfc3339")]
    pub confirmed: SystemTime,
    pub evaluations: u32,
    /// Checks that never had a whole period since the step: not evaluated,
    /// whatever their `no_data` says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_evaluated: Vec<String>,
}

fn rfc3339<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_rfc3339_seconds(*t).to_string())
}

#[derive(Debug, Serialize)]
pub struct RegionReport {
    pub region: String,
    pub outcome: RegionOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The live weights at the end, by colour, in percent.
    pub weights: BTreeMap<&'static str, i64>,
    pub steps: Vec<StepReport>,
    /// The evidence: the checks of the last evaluation.
    pub checks: Vec<CheckResult>,
    /// The change record written on the listener or rule, if one was.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub record: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct CutoverReport {
    pub stack: String,
    pub pair: String,
    pub to: Colour,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    pub regions: Vec<RegionReport>,
}

impl CutoverReport {
    /// Every region is at the target colour (or already was).
    pub fn succeeded(&self) -> bool {
        self.regions
            .iter()
            .all(|r| matches!(r.outcome, RegionOutcome::Done | RegionOutcome::AlreadyThere))
    }

    /// A region was refused by its checks or switched back: exit 3.
    pub fn judged_unhealthy(&self) -> bool {
        self.regions.iter().any(|r| {
            matches!(
                r.outcome,
                RegionOutcome::Refused | RegionOutcome::SwitchedBack
            )
        })
    }
}

/// The pair's owner (listener or rule) and colours, live in one region.
struct Live<'a> {
    region: &'a str,
    owner: Address,
    owner_arn: String,
    to: String,
    from: String,
    state: LiveRegion,
}

/// The pair named `name`, and the listener or rule whose forward it owns.
pub fn pair<'a>(stack: &'a Stack, name: &str) -> Option<(&'a Address, &'a BlueGreen)> {
    stack.blue_green.iter().find(|(_, p)| p.name == name)
}

/// A warning when the forward the pair moves is sticky for longer than a
/// step bakes: clients already on the old colour stay there until their
/// stickiness expires, so a step's checks see the new colour serve new
/// clients only.
fn sticky_warning(stack: &Stack, request: &Request) -> Option<String> {
    let (owner, _) = pair(stack, &request.pair)?;
    let action = match &stack.resources.get(owner)?.spec {
        crate::stack::Spec::ListenerRule(r) => &r.action,
        crate::stack::Spec::Listener(l) => &l.default_action,
        _ => return None,
    };
    let text = action.get_ref().stickiness.as_ref()?;
    let seconds = crate::stack::stickiness_seconds(text.get_ref()).ok()?;
    let sticky = Duration::from_secs(u64::try_from(seconds).ok()?);
    (request.bake < sticky).then(|| {
        format!(
            "Warning: the forward of {owner} is sticky for {} and each step bakes {}: clients already on {} stay there until their stickiness expires, so a step's checks judge {} on new clients only",
            humantime::format_duration(sticky),
            humantime::format_duration(request.bake),
            request.to.other().as_str(),
            request.to.as_str(),
        )
    })
}

/// The pair `[blue_green.NAME]`, or an error naming the stack's pairs.
pub fn pair_named<'a>(stack: &'a Stack, name: &str) -> anyhow::Result<&'a BlueGreen> {
    match pair(stack, name) {
        Some((_, bg)) => Ok(bg),
        None => {
            let names: Vec<&str> = stack.blue_green.values().map(|p| p.name.as_str()).collect();
            anyhow::bail!(
                "stack {} has no [blue_green.{name}]{}",
                stack.name,
                if names.is_empty() {
                    String::new()
                } else {
                    format!("; its pairs: {}", names.join(", "))
                }
            )
        }
    }
}

/// `reconcile cutover`: the change window, the stack's lock in `regions`
/// (never waited for: a cutover during an apply is refused), the live state,
/// `confirm` (shown what will happen, a person may say no), then `run` until
/// it ends or a signal switches the region in progress back.
pub async fn perform<C: Account>(
    env: &Env<'_, C>,
    stack: &Stack,
    regions: &[String],
    request: &Request,
    confirm: impl AsyncFnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<CutoverReport> {
    super::carried(&record_tags(request, String::new(), env.clock.now()))?;
    super::verify::refuse_short_bake(
        stack,
        regions,
        request.bake,
        request.short_bake,
        "the cutover",
        env.progress,
    )?;
    if let Some(warning) = sticky_warning(stack, request) {
        env.progress.line(warning);
    }
    super::admit(
        stack,
        env.clock.now(),
        request.ticket.as_deref(),
        "cutover",
        env.progress,
    )?;
    super::account::check(env.cloud, stack).await?;
    let holding = super::lock::Holding {
        stack: &stack.name,
        file: &stack.path,
        regions,
        operation: "cutover",
        wait: Duration::ZERO,
        clock: env.clock,
        progress: env.progress,
    };
    let lock = super::lock::acquire(env.cloud, &holding).await?;
    let result = async {
        let live = super::observe(env.cloud, stack, regions).await?.live;
        super::interruptible(confirm()).await?;
        let stop = std::pin::pin!(super::stop_signal());
        Ok(run(env, stack, &live, regions, request, stop).await)
    }
    .await;
    lock.release().await;
    result
}

/// `reconcile cutover --status`: the pair's live weights, targets and last record per region.
pub async fn show<C: Discover + Probe + TrafficSwitch>(
    cloud: &C,
    stack: &Stack,
    regions: &[String],
    pair_name: &str,
) -> anyhow::Result<Vec<RegionStatus>> {
    let live = super::observe(cloud, stack, regions).await?.live;
    Ok(status(cloud, stack, &live, pair_name).await)
}

fn weights_of(targets: &[Target], live: &Live) -> BTreeMap<&'static str, i64> {
    let weight = |id: &str| share(targets, id);
    BTreeMap::from([("to", weight(&live.to)), ("from", weight(&live.from))])
}

/// The same forward, whatever the order of its targets.
fn same(a: &[Target], b: &[Target]) -> bool {
    let key = |t: &[Target]| {
        let mut v: Vec<(String, i64)> = t
            .iter()
            .map(|t| {
                (
                    t.target_group.as_str().unwrap_or_default().to_string(),
                    t.weight,
                )
            })
            .collect();
        v.sort();
        v
    };
    key(a) == key(b)
}

fn split(live: &Live, to: i64) -> Vec<Target> {
    vec![
        Target {
            target_group: Value::Id(live.to.clone()),
            weight: to,
        },
        Target {
            target_group: Value::Id(live.from.clone()),
            weight: 100 - to,
        },
    ]
}

/// How long a write may take to show in DescribeRules, and how often to look.
const READ_BACK: Duration = Duration::from_secs(60);
const READ_BACK_POLL: Duration = Duration::from_millis(500);

/// Cuts the pair over in `live`'s regions, one at a time, in order; stops at
/// the first region that is refused, switched back or failed. `stop` resolves
/// on SIGINT/SIGTERM: the region in progress is switched back.
pub async fn run<C: Probe + TrafficSwitch>(
    env: &Env<'_, C>,
    stack: &Stack,
    live: &BTreeMap<String, LiveRegion>,
    regions: &[String],
    request: &Request,
    mut stop: Pin<&mut (dyn Future<Output = ()> + Send)>,
) -> CutoverReport {
    let mut reports = Vec::new();
    let mut stopped = false;
    for region in regions {
        if stopped {
            reports.push(RegionReport {
                region: region.clone(),
                outcome: RegionOutcome::NotStarted,
                reason: Some("an earlier region stopped the cutover".into()),
                weights: BTreeMap::new(),
                steps: vec![],
                checks: vec![],
                record: BTreeMap::new(),
            });
            continue;
        }
        let state = live.get(region).cloned().unwrap_or_default();
        let report = region_cutover(env, stack, region, state, request, stop.as_mut()).await;
        stopped = !matches!(
            report.outcome,
            RegionOutcome::Done | RegionOutcome::AlreadyThere
        );
        reports.push(report);
    }
    CutoverReport {
        stack: stack.name.clone(),
        pair: request.pair.clone(),
        to: request.to,
        ticket: request.ticket.clone(),
        regions: reports,
    }
}

fn refused(region: &str, reason: String, checks: Vec<CheckResult>) -> RegionReport {
    RegionReport {
        region: region.to_string(),
        outcome: RegionOutcome::Refused,
        reason: Some(reason),
        weights: BTreeMap::new(),
        steps: vec![],
        checks,
        record: BTreeMap::new(),
    }
}

async fn region_cutover<C: Probe + TrafficSwitch>(
    env: &Env<'_, C>,
    stack: &Stack,
    region: &str,
    state: LiveRegion,
    request: &Request,
    stop: Pin<&mut (dyn Future<Output = ()> + Send)>,
) -> RegionReport {
    let (cloud, clock) = (env.cloud, env.clock);
    let Some((owner, bg)) = pair(stack, &request.pair) else {
        return refused(
            region,
            format!("no [blue_green.{}] in this stack", request.pair),
            vec![],
        );
    };
    let owner_arn = state
        .resources
        .iter()
        .find(|o| &o.address == owner)
        .map(|o| o.live_id.clone());
    let (to, from) = (
        colour_id(&state, bg.colour(request.to)),
        colour_id(&state, bg.colour(request.to.other())),
    );
    let (Some(owner_arn), Some(to), Some(from)) = (owner_arn, to, from) else {
        return refused(region, format!("{owner} or a colour of blue_green.{} is not live in {region}: apply the stack first", request.pair), vec![]);
    };
    let live = Live {
        region,
        owner: owner.clone(),
        owner_arn,
        to,
        from,
        state,
    };
    // Pre-checks: the live forward is the pair's, the target colour healthy, the checks passing.
    let current = match cloud.forward(region, &live.owner_arn).await {
        Ok(Some(targets)) => targets,
        Ok(None) => {
            return refused(region, format!("the live action of {owner} is not a forward: drift to fix with `reconcile apply` first"), vec![]);
        }
        Err(e) => {
            return failed(
                region,
                format!("reading the forward of {owner}: {e}"),
                vec![],
            )
        }
    };
    let outside: Vec<&str> = current
        .iter()
        .filter_map(|t| t.target_group.as_str())
        .filter(|id| *id != live.to && *id != live.from)
        .collect();
    if !outside.is_empty() {
        return refused(
            region,
            format!(
                "{owner} forwards to {} outside blue_green.{}: drift to fix with `reconcile apply` first",
                outside.join(", "),
                request.pair
            ),
            vec![],
        );
    }
    let weights = weights_of(&current, &live);
    if weights["to"] == 100 {
        return RegionReport {
            region: region.to_string(),
            outcome: RegionOutcome::AlreadyThere,
            reason: Some(format!("{} already has all traffic", request.to.as_str())),
            weights: named(&weights, request.to),
            steps: vec![],
            checks: vec![],
            record: BTreeMap::new(),
        };
    }
    let ctx = Context {
        since: None,
        target: Some((request.pair.clone(), request.to)),
    };
    let mut checks = evaluate_region(cloud, clock.now(), stack, region, &live.state, &ctx).await;
    checks.push(target_health(cloud, &live, bg, request.to).await);
    let not_passing: Vec<String> = checks
        .iter()
        .filter(|r| !r.passed)
        .map(|r| format!("{} ({})", r.check, word(r)))
        .collect();
    if !not_passing.is_empty() {
        let reason = format!(
            "pre-checks did not pass, nothing moved: {}",
            not_passing.join(", ")
        );
        return refused(region, reason, checks);
    }
    let steps: Vec<i64> = request
        .steps
        .iter()
        .copied()
        .filter(|s| *s > weights["to"])
        .collect();
    let mut done = Vec::new();
    let result = {
        let steps_fut = run_steps(env, stack, &live, request, &steps, &mut done);
        tokio::select! {
            r = steps_fut => r,
            () = stop => Err(Stop::Signal),
        }
    };
    match result {
        Ok(checks) => {
            let record = record_tags(
                request,
                format!("cutover {} → {} (100%)", request.pair, request.to.as_str()),
                clock.now(),
            );
            let (reason, record) = match cloud.record(region, &live.owner_arn, &record).await {
                Ok(()) => (None, record),
                Err(e) => (
                    Some(format!(
                        "traffic moved, but the change record could not be written: {e}"
                    )),
                    BTreeMap::new(),
                ),
            };
            RegionReport {
                region: region.to_string(),
                outcome: RegionOutcome::Done,
                reason,
                weights: named(&BTreeMap::from([("to", 100), ("from", 0)]), request.to),
                steps: done,
                checks,
                record,
            }
        }
        Err(why) => {
            let (reason, checks) = match why {
                Stop::Failed(checks) => ("a check failed".to_string(), checks),
                Stop::Error(e, checks) => {
                    (format!("an error asking again will not fix: {e}"), checks)
                }
                Stop::Signal => ("interrupted (SIGINT/SIGTERM)".to_string(), vec![]),
            };
            switch_back(env, request, &live, (reason, checks), done).await
        }
    }
}

fn failed(region: &str, reason: String, checks: Vec<CheckResult>) -> RegionReport {
    RegionReport {
        region: region.to_string(),
        outcome: RegionOutcome::Failed,
        reason: Some(reason),
        weights: BTreeMap::new(),
        steps: vec![],
        checks,
        record: BTreeMap::new(),
    }
}

fn word(r: &CheckResult) -> &'static str {
    match r.outcome {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::NoData => "no data",
        Outcome::Error => "error",
    }
}

/// `to`/`from` weights under the colours' names.
fn named(weights: &BTreeMap<&'static str, i64>, to: Colour) -> BTreeMap<&'static str, i64> {
    BTreeMap::from([
        (to.as_str(), weights["to"]),
        (to.other().as_str(), weights["from"]),
    ])
}

/// The target colour takes traffic only with enough healthy targets, none
/// unhealthy: judged even while its weight is 0.
async fn target_health<C: Probe>(
    cloud: &C,
    live: &Live<'_>,
    bg: &BlueGreen,
    to: Colour,
) -> CheckResult {
    let name = match bg.colour(to) {
        Reference::Resource(a) => a.to_string(),
        _ => live.to.clone(),
    };
    let check = format!("{name} healthy (cutover target)");
    match cloud.target_health(live.region, &live.to).await {
        Ok(health) => {
            let mut r = check::judge_targets(live.region, &name, 0, bg.min_healthy, &health);
            r.check = check;
            r
        }
        Err(e) => CheckResult::error(
            live.region,
            &check,
            Source::Builtin,
            "healthy targets".into(),
            e.to_string(),
            false,
        ),
    }
}

enum Stop {
    Failed(Vec<CheckResult>),
    Error(AwsError, Vec<CheckResult>),
    Signal,
}

/// Sets the split and waits until AWS shows it; the moment it first does.
async fn set_and_confirm<C: TrafficSwitch>(
    cloud: &C,
    clock: &dyn Clock,
    live: &Live<'_>,
    targets: &[Target],
) -> Result<SystemTime, AwsError> {
    cloud
        .set_forward(live.region, &live.owner_arn, targets)
        .await?;
    let asked = clock.now();
    loop {
        match cloud.forward(live.region, &live.owner_arn).await {
            Ok(Some(seen)) if same(&seen, targets) => return Ok(clock.now()),
            Err(e) if !e.worth_asking_again() => return Err(e),
            _ if clock.now().duration_since(asked).unwrap_or_default() >= READ_BACK => {
                return Err(AwsError::new(
                    "DescribeRules",
                    ErrorClass::Other,
                    "NotApplied",
                    format!(
                        "the new weights did not show within {}",
                        humantime::format_duration(READ_BACK)
                    ),
                ))
            }
            _ => clock.sleep(READ_BACK_POLL).await,
        }
    }
}

async fn run_steps<C: Probe + TrafficSwitch>(
    env: &Env<'_, C>,
    stack: &Stack,
    live: &Live<'_>,
    request: &Request,
    steps: &[i64],
    done: &mut Vec<StepReport>,
) -> Result<Vec<CheckResult>, Stop> {
    let (cloud, clock, progress) = (env.cloud, env.clock, env.progress);
    let mut state = live.state.clone();
    let mut last = Vec::new();
    for (n, weight) in steps.iter().enumerate() {
        let targets = split(live, *weight);
        let confirmed = set_and_confirm(cloud, clock, live, &targets)
            .await
            .map_err(|e| Stop::Error(e, vec![]))?;
        progress.line(format!(
            "{} ({}): step {}/{}: {} at {weight}%, confirmed; baking {}",
            live.owner,
            live.region,
            n + 1,
            steps.len(),
            request.to.as_str(),
            humantime::format_duration(request.bake)
        ));
        // Built-ins judge both colours by the weights now live.
        if let Some(o) = state.resources.iter_mut().find(|o| o.address == live.owner) {
            if let Some(key) = live.owner.kind.forward_attribute() {
                let forward = Action::Forward {
                    targets: targets.clone(),
                    stickiness: None,
                };
                o.attrs.insert(key.into(), forward.to_value());
            }
        }
        let ctx = Context {
            since: Some(confirmed),
            target: Some((request.pair.clone(), request.to)),
        };
        let mut streaks = Streaks::default();
        let mut evaluations = 0;
        loop {
            let results =
                evaluate_region(cloud, clock.now(), stack, live.region, &state, &ctx).await;
            evaluations += 1;
            let elapsed = clock.now().duration_since(confirmed).unwrap_or_default();
            let last_round = elapsed >= request.bake;
            let mut failing = false;
            // A check still waiting for a whole period at the bake's end is
            // judged by its no_data, unless --short-bake accepted it unjudged.
            for r in results
                .iter()
                .filter(|r| !r.waiting || (last_round && !request.short_bake))
            {
                let consecutive = match r.source {
                    Source::Metric | Source::Alarm => stack
                        .checks
                        .iter()
                        .find(|c| c.name == r.check)
                        .map_or(1, |c| c.consecutive),
                    Source::Builtin => 1,
                };
                failing |= streaks.record(r, if last_round { 1 } else { consecutive });
            }
            if failing {
                return Err(Stop::Failed(results));
            }
            if let Some(e) = results
                .iter()
                .find(|r| r.outcome == Outcome::Error && !r.transient)
            {
                let message = e.evidence.detail.clone().unwrap_or_default();
                return Err(Stop::Error(
                    AwsError::new(
                        "Evaluate",
                        ErrorClass::Other,
                        "CheckError",
                        format!("{}: {message}", e.check),
                    ),
                    results,
                ));
            }
            last = results;
            if last_round {
                break;
            }
            let remaining = request.bake - elapsed;
            let pass = last.iter().filter(|r| r.passed && !r.waiting).count();
            let waiting = last.iter().filter(|r| r.waiting).count();
            progress.wait(
                format!(
                    "{} ({}): step {}/{} at {weight}%: bake {} left; {pass}/{} pass{}",
                    live.owner,
                    live.region,
                    n + 1,
                    steps.len(),
                    humantime::format_duration(Duration::from_secs(remaining.as_secs())),
                    last.len(),
                    if waiting > 0 {
                        format!(", {waiting} waiting for a whole period since the switch")
                    } else {
                        String::new()
                    }
                ),
                elapsed,
                Some(request.bake),
            );
            clock.sleep(request.every.min(remaining)).await;
        }
        done.push(StepReport {
            weight: *weight,
            confirmed,
            evaluations,
            not_evaluated: last
                .iter()
                .filter(|r| r.waiting)
                .map(|r| r.check.clone())
                .collect(),
        });
    }
    Ok(last)
}

/// The cutover's record on the listener or rule, whole (what it does not set,
/// a ticket, is removed when written): what was done, when, by whom, with
/// which version label and ticket; under keys of its own (`tags::cutover`).
fn record_tags(request: &Request, change: String, now: SystemTime) -> BTreeMap<String, String> {
    let time = humantime::format_rfc3339_millis(now).to_string();
    let mut tags = BTreeMap::from([
        (cutover::CHANGE.to_string(), change),
        (cutover::TIME.to_string(), time),
        (cutover::OPERATOR.to_string(), request.operator.clone()),
    ]);
    if let Some(v) = &request.version {
        tags.insert(cutover::VERSION.into(), v.clone());
    }
    if let Some(t) = &request.ticket {
        tags.insert(cutover::TICKET.into(), t.clone());
    }
    tags
}

/// All traffic back on the source colour, read back, recorded; `why` is the
/// reason and its evidence.
async fn switch_back<C: TrafficSwitch>(
    env: &Env<'_, C>,
    request: &Request,
    live: &Live<'_>,
    why: (String, Vec<CheckResult>),
    done: Vec<StepReport>,
) -> RegionReport {
    let (cloud, clock, progress) = (env.cloud, env.clock, env.progress);
    let (reason, checks) = why;
    progress.line(format!(
        "{} ({}): {reason}; switching all traffic back to {}",
        live.owner,
        live.region,
        request.to.other().as_str()
    ));
    let back = split(live, 0);
    let mut outcome = RegionOutcome::SwitchedBack;
    let mut written = BTreeMap::new();
    let mut reason = format!(
        "{reason}; all traffic is back on {}",
        request.to.other().as_str()
    );
    match set_and_confirm(cloud, clock, live, &back).await {
        Ok(_) => {
            let change = format!(
                "cutover {} → {} switched back to {}",
                request.pair,
                request.to.as_str(),
                request.to.other().as_str()
            );
            let record = record_tags(request, change, clock.now());
            match cloud.record(live.region, &live.owner_arn, &record).await {
                Ok(()) => written = record,
                Err(e) => {
                    reason.push_str(&format!(" (the change record could not be written: {e})"))
                }
            }
        }
        Err(e) => {
            outcome = RegionOutcome::Failed;
            reason = format!("{reason}, and switching back failed too: {e}. Set the weights by hand, or run `reconcile cutover` again with --to {}", request.to.other().as_str());
        }
    }
    let weights = match cloud.forward(live.region, &live.owner_arn).await {
        Ok(Some(targets)) => named(&weights_of(&targets, live), request.to),
        _ => BTreeMap::new(),
    };
    RegionReport {
        region: live.region.to_string(),
        outcome,
        reason: Some(reason),
        weights,
        steps: done,
        checks,
        record: written,
    }
}

/// `cutover --status`: per region, the live weights, the active colour,
/// healthy/registered targets per colour, the last record.
#[derive(Debug, Serialize)]
pub struct RegionStatus {
    pub region: String,
    pub weights: BTreeMap<&'static str, i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<Colour>,
    /// Per colour: healthy and registered targets.
    pub targets: BTreeMap<&'static str, (usize, usize)>,
    pub record: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub async fn status<C: Probe + TrafficSwitch>(
    cloud: &C,
    stack: &Stack,
    live: &BTreeMap<String, LiveRegion>,
    pair_name: &str,
) -> Vec<RegionStatus> {
    let Some((owner, bg)) = pair(stack, pair_name) else {
        return vec![];
    };
    let asks = live.iter().map(|(region, state)| async move {
        let mut out = RegionStatus {
            region: region.clone(),
            weights: BTreeMap::new(),
            active: None,
            targets: BTreeMap::new(),
            record: BTreeMap::new(),
            error: None,
        };
        let owner_arn = state
            .resources
            .iter()
            .find(|o| &o.address == owner)
            .map(|o| o.live_id.clone());
        let Some(owner_arn) = owner_arn else {
            out.error = Some(format!("{owner} is not live here"));
            return out;
        };
        let forward = cloud.forward(region, &owner_arn).await;
        for colour in [Colour::Blue, Colour::Green] {
            let Some(id) = colour_id(state, bg.colour(colour)) else {
                continue;
            };
            if let Ok(Some(targets)) = &forward {
                out.weights.insert(colour.as_str(), share(targets, &id));
            }
            if let Ok(health) = cloud.target_health(region, &id).await {
                let healthy = health
                    .iter()
                    .filter(|t| t.state == crate::model::probe::TargetState::Healthy)
                    .count();
                out.targets.insert(colour.as_str(), (healthy, health.len()));
            }
        }
        out.active = [Colour::Blue, Colour::Green]
            .into_iter()
            .find(|c| out.weights.get(c.as_str()) == Some(&100));
        match forward {
            Ok(None) => out.error = Some(format!("{owner} does not forward")),
            Err(e) => out.error = Some(e.to_string()),
            Ok(Some(_)) => {}
        }
        if let Ok(tags) = cloud.recorded(region, &owner_arn).await {
            out.record = cutover::of(&tags);
        }
        out
    });
    futures::future::join_all(asks).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::probe::{
        AlarmState, BalancerState, DbStatus, MetricQuery, MetricSeries, TargetHealth, TargetState,
    };
    use crate::ops::clock::TestClock;
    use crate::testing::{self, FakeCloud, DEMO};
    use std::sync::Mutex;

    const REGION: &str = "us-west-2";

    /// A load balancer that forwards as told, healthy targets, and a metric
    /// with a zero every minute; it notes, in order, each weight set and
    /// where each metric request's window began.
    struct Fake<'a> {
        clock: &'a TestClock,
        forward: Mutex<Vec<Target>>,
        events: Mutex<Vec<Event>>,
        /// Metric requests answered "throttled", from the second on.
        throttled: Mutex<u32>,
    }

    #[derive(Clone, Debug)]
    enum Event {
        /// Green's share, and when.
        Set(i64, SystemTime),
        /// A metric request's window start.
        Asked(SystemTime),
    }

    impl Probe for Fake<'_> {
        async fn target_health(&self, _: &str, _: &str) -> Result<Vec<TargetHealth>, AwsError> {
            let t = |id: &str| TargetHealth {
                id: id.into(),
                port: Some(80),
                state: TargetState::Healthy,
                reason: None,
            };
            Ok(vec![t("i-1"), t("i-2")])
        }
        async fn load_balancer_states(
            &self,
            _: &str,
            arns: &[String],
        ) -> Result<Vec<BalancerState>, AwsError> {
            Ok(arns
                .iter()
                .map(|a| BalancerState {
                    arn: a.clone(),
                    state: "active".into(),
                    reason: None,
                })
                .collect())
        }
        async fn db_statuses(&self, _: &str, _: &[String]) -> Result<Vec<DbStatus>, AwsError> {
            Ok(vec![])
        }
        async fn alarm_states(&self, _: &str, _: &[String]) -> Result<Vec<AlarmState>, AwsError> {
            Ok(vec![])
        }
        async fn metric_data(
            &self,
            _: &str,
            queries: &[MetricQuery],
            start: SystemTime,
            end: SystemTime,
        ) -> Result<BTreeMap<String, MetricSeries>, AwsError> {
            let asked = self
                .events
                .lock()
                .unwrap()
                .iter()
                .filter(|e| matches!(e, Event::Asked(_)))
                .count();
            let mut throttled = self.throttled.lock().unwrap();
            if asked >= 1 && *throttled > 0 {
                *throttled -= 1;
                return Err(AwsError::new(
                    "GetMetricData",
                    ErrorClass::Throttled,
                    "Throttling",
                    "Rate exceeded",
                ));
            }
            drop(throttled);
            self.events.lock().unwrap().push(Event::Asked(start));
            let mut points = Vec::new();
            let mut t = start;
            while t < end {
                points.push((t, 0.0));
                t += Duration::from_secs(60);
            }
            Ok(queries
                .iter()
                .map(|q| {
                    let series = MetricSeries {
                        points: points.clone(),
                    };
                    (q.id.clone(), series)
                })
                .collect())
        }
    }

    impl TrafficSwitch for Fake<'_> {
        async fn forward(&self, _: &str, _: &str) -> Result<Option<Vec<Target>>, AwsError> {
            Ok(Some(self.forward.lock().unwrap().clone()))
        }
        async fn set_forward(&self, _: &str, _: &str, targets: &[Target]) -> Result<(), AwsError> {
            let green = share(targets, "id-target_group.green");
            let now = self.clock.now();
            self.events.lock().unwrap().push(Event::Set(green, now));
            *self.forward.lock().unwrap() = targets.to_vec();
            Ok(())
        }
        async fn record(
            &self,
            _: &str,
            _: &str,
            _: &BTreeMap<String, String>,
        ) -> Result<(), AwsError> {
            Ok(())
        }
        async fn recorded(&self, _: &str, _: &str) -> Result<BTreeMap<String, String>, AwsError> {
            Ok(BTreeMap::new())
        }
    }

    const CHECK: &str = r#"
[[verify]]
name = "green-5xx"
namespace = "AWS/ApplicationELB"
metric = "HTTPCode_Target_5XX_Count"
dimensions = { TargetGroup = "${blue_green.app.target}" }
statistic = "Sum"
max = 5
"#;

    async fn cut(bake: u64) -> (CutoverReport, Vec<Event>) {
        cut_in(bake, &[REGION], 0).await
    }

    async fn cut_in(bake: u64, regions: &[&str], throttled: u32) -> (CutoverReport, Vec<Event>) {
        let stack = testing::stack(&format!("{DEMO}{CHECK}"));
        let live = regions
            .iter()
            .map(|r| (r.to_string(), testing::applied(&stack, r)))
            .collect();
        let regions: Vec<String> = regions.iter().map(|r| r.to_string()).collect();
        let clock = TestClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_030));
        let fake = Fake {
            clock: &clock,
            forward: Mutex::new(vec![Target {
                target_group: Value::Id("id-target_group.blue".into()),
                weight: 1,
            }]),
            events: Mutex::new(vec![]),
            throttled: Mutex::new(throttled),
        };
        let progress = Progress::silent();
        let env = Env {
            cloud: &fake,
            clock: &clock,
            progress: &progress,
        };
        let request = Request {
            pair: "app".into(),
            to: Colour::Green,
            steps: vec![50, 100],
            bake: Duration::from_secs(bake),
            every: Duration::from_secs(60),
            ticket: None,
            version: None,
            operator: "test".into(),
            short_bake: false,
        };
        let stop = std::pin::pin!(std::future::pending::<()>());
        let report = run(&env, &stack, &live, &regions, &request, stop).await;
        let events = fake.events.lock().unwrap().clone();
        (report, events)
    }

    #[tokio::test]
    async fn a_region_switched_back_stops_the_cutover_before_the_next_region() {
        let (report, events) = cut_in(60, &[REGION, "eu-west-1"], 0).await;
        assert_eq!(report.regions[0].outcome, RegionOutcome::SwitchedBack);
        assert_eq!(report.regions[1].outcome, RegionOutcome::NotStarted);
        assert_eq!(weights_set(&events), [50, 0], "eu-west-1 never touched");
        assert!(!report.succeeded() && report.judged_unhealthy());
    }

    #[tokio::test]
    async fn throttling_during_a_bake_is_asked_again_not_a_reason_to_switch_back() {
        let (report, events) = cut_in(600, &[REGION], 3).await;
        assert_eq!(
            report.regions[0].outcome,
            RegionOutcome::Done,
            "{report:#?}"
        );
        assert_eq!(weights_set(&events), [50, 100]);
    }

    fn weights_set(events: &[Event]) -> Vec<i64> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Set(w, _) => Some(*w),
                Event::Asked(_) => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn a_step_judges_only_data_from_after_its_weights_were_confirmed() {
        let (report, events) = cut(600).await;
        assert_eq!(
            report.regions[0].outcome,
            RegionOutcome::Done,
            "{report:#?}"
        );
        assert_eq!(weights_set(&events), [50, 100]);
        // The pre-check reads the minutes before any move; every request made
        // during a step starts no earlier than that step's weights were set.
        let mut step: Option<SystemTime> = None;
        let (mut before, mut during) = (0, 0);
        for e in &events {
            match (e, step) {
                (Event::Set(_, at), _) => step = Some(*at),
                (Event::Asked(_), None) => before += 1,
                (Event::Asked(start), Some(set)) => {
                    during += 1;
                    assert!(
                        *start >= set,
                        "a window from {start:?} looks back before the step set at {set:?}"
                    );
                }
            }
        }
        assert_eq!(before, 1, "{events:?}");
        assert!(during >= 10, "{events:?}");
    }

    #[tokio::test]
    async fn a_bake_too_short_for_a_whole_period_fails_its_checks_and_switches_back() {
        // Lag 2m: a 1-minute bake never sees a whole period after the switch,
        // and the check's default no_data = "fail" does not pass on silence.
        let (report, events) = cut(60).await;
        let region = &report.regions[0];
        assert_eq!(region.outcome, RegionOutcome::SwitchedBack, "{report:#?}");
        assert_eq!(weights_set(&events), [50, 0]);
        let check = region
            .checks
            .iter()
            .find(|c| c.check == "green-5xx")
            .unwrap();
        assert_eq!(check.outcome, Outcome::NoData);
        assert!(
            check
                .evidence
                .detail
                .as_deref()
                .unwrap()
                .starts_with("no whole period yet"),
            "{check:?}"
        );
        assert_eq!(
            region.weights,
            BTreeMap::from([("blue", 100), ("green", 0)])
        );
    }

    #[test]
    fn a_plain_forward_is_all_of_the_traffic() {
        let t = |id: &str, weight| Target {
            target_group: Value::Id(id.into()),
            weight,
        };
        assert_eq!(share(&[t("a", 1)], "a"), 100);
        assert_eq!(share(&[t("a", 70), t("b", 30)], "b"), 30);
        assert_eq!(share(&[t("a", 1), t("b", 2)], "b"), 67);
        assert_eq!(share(&[], "a"), 0);
        assert!(same(&[t("a", 70), t("b", 30)], &[t("b", 30), t("a", 70)]));
        assert!(!same(&[t("a", 70), t("b", 30)], &[t("a", 30), t("b", 70)]));
    }

    fn to_green() -> Request {
        Request {
            pair: "app".into(),
            to: Colour::Green,
            steps: vec![10, 100],
            bake: Duration::from_secs(300),
            every: Duration::from_secs(60),
            ticket: None,
            version: Some("app:v2".into()),
            operator: "alice".into(),
            short_bake: false,
        }
    }

    /// `perform` in us-west-2 of the fake cloud, on the test clock.
    async fn perform_on(
        cloud: &FakeCloud,
        stack: &Stack,
        request: &Request,
        confirm: impl AsyncFnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<CutoverReport> {
        let clock = testing::clock();
        let progress = Progress::silent();
        let env = Env {
            cloud,
            clock: &clock,
            progress: &progress,
        };
        perform(&env, stack, &[REGION.to_string()], request, confirm).await
    }

    #[tokio::test]
    async fn perform_locks_cuts_over_records_and_gives_the_lock_back() {
        let (stack, cloud, rule) = testing::demo_on_a_fake_cloud();
        let report = perform_on(&cloud, &stack, &to_green(), async || Ok(()))
            .await
            .unwrap();
        assert!(report.succeeded(), "{report:#?}");
        let green = testing::id(&Address::parse("target_group.green").unwrap());
        let live = cloud.state().forwards[&rule].clone();
        assert_eq!(share(&live, &green), 100);
        assert_eq!(
            cloud.state().records[&rule]
                .get(cutover::OPERATOR)
                .map(String::as_str),
            Some("alice")
        );
        let calls = cloud.calls();
        assert_eq!(calls.first().map(String::as_str), Some("lock us-west-2"));
        assert_eq!(calls.last().map(String::as_str), Some("unlock us-west-2"));
        assert_eq!(
            calls
                .iter()
                .filter(|c| c.starts_with("set forward"))
                .count(),
            2
        );
    }

    #[tokio::test]
    async fn perform_refuses_while_another_run_holds_the_lock_and_a_no_moves_nothing() {
        let (stack, cloud, rule) = testing::demo_on_a_fake_cloud();
        cloud
            .state()
            .locks
            .insert(REGION.into(), testing::someone_elses_lock());
        let locked = perform_on(&cloud, &stack, &to_green(), async || {
            panic!("not asked without the lock")
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(
            locked.contains("is locked in us-west-2 by bob@laptop"),
            "{locked}"
        );
        cloud.state().locks.clear();
        let declined = perform_on(&cloud, &stack, &to_green(), async || {
            anyhow::bail!("not confirmed")
        })
        .await
        .unwrap_err()
        .to_string();
        assert_eq!(declined, "not confirmed");
        assert!(!cloud.calls().iter().any(|c| c.starts_with("set forward")));
        assert!(!cloud.state().records.contains_key(&rule));
        assert!(cloud.state().locks.is_empty(), "the lock given back");
    }

    #[tokio::test]
    async fn a_bake_too_short_for_the_metric_checks_is_refused_unless_accepted_then_reported() {
        let (stack, cloud, _) = testing::demo_on_a_fake_cloud();
        let mut request = to_green();
        request.bake = Duration::from_secs(8);
        let refused = perform_on(&cloud, &stack, &request, async || Ok(()))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            refused.starts_with("the cutover bakes 8s but its metric checks see a whole period only after period + lag: alb-5xx (3m), new-colour-5xx (3m)"),
            "{refused}"
        );
        assert!(
            refused.contains("Bake at least 3m, or pass --short-bake"),
            "{refused}"
        );
        assert!(cloud.calls().is_empty(), "nothing moved, not even the lock");
        request.short_bake = true;
        let report = perform_on(&cloud, &stack, &request, async || Ok(()))
            .await
            .unwrap();
        assert!(report.succeeded(), "{report:#?}");
        for step in &report.regions[0].steps {
            assert_eq!(
                step.not_evaluated,
                ["alb-5xx", "new-colour-5xx"],
                "{report:#?}"
            );
        }
    }
}
