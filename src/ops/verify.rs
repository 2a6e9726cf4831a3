//! `reconcile verify`: the stack's built-in checks (load balancers active,
//! targets that receive traffic healthy, databases available) and its
//! `[[verify]]` checks, every region at once, evaluated once or through a
//! soak. Per region and evaluation: one DescribeLoadBalancers, one
//! DescribeTargetHealth per group that receives traffic, one
//! DescribeDBInstances per database, one GetMetricData for every metric
//! check, one DescribeAlarms for every alarm check.

use super::clock::Clock;
use crate::aws::cloud::{Discover, Probe};
use crate::check::{self, CheckResult, Source, Streaks, Window};
use crate::model::probe::MetricQuery;
use crate::model::progress::Progress;
use crate::model::{alarm_name, arn_suffix, Address, Kind, LiveRegion, Observed, Value};
use crate::stack::spec::Reference;
use crate::stack::verify::{render_colours, AlarmRef, Check, ColourRole, Watch};
use crate::stack::{interpolate, BlueGreen, Colour, Stack};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// What an evaluation judges against, beyond the live state: in a cutover
/// step, no metric window reaches back before its weights were confirmed
/// (`since`), and a pair's target colour is the one traffic moves to.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub since: Option<SystemTime>,
    /// `(pair NAME, colour)`: the pair's `target` colour.
    pub target: Option<(String, Colour)>,
}

/// `--soak D --every E`: evaluate every E for D.
#[derive(Clone, Copy, Debug)]
pub struct Soak {
    pub duration: Duration,
    pub every: Duration,
}

/// What a verification found: the results of its last evaluation, and which
/// of them fail it.
#[derive(Debug, Serialize)]
pub struct Verification {
    pub stack: String,
    pub evaluations: u32,
    pub verdict: Verdict,
    pub results: Vec<CheckResult>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    /// A check failed (or had no data where that fails): exit 3.
    Failed,
    /// A check could not be evaluated: exit 1.
    Error,
}

/// `reconcile verify`: reads the live state of `regions`, then `run`s the checks.
pub async fn judge<C: Discover + Probe>(
    cloud: &C,
    clock: &dyn Clock,
    stack: &Stack,
    regions: &[String],
    soak: Option<Soak>,
    progress: &Progress,
) -> anyhow::Result<Verification> {
    let live = super::observe(cloud, stack, regions).await?.live;
    Ok(run(cloud, clock, stack, &live, soak, progress).await)
}

/// Evaluates every check once, or through `soak`; stops at the first failure
/// (a check with `consecutive = N` at its N-th failed evaluation in a row) or
/// at an error that asking again will not fix. `live` is the stack's live
/// state per region, as `ops::observe` read it.
pub async fn run<P: Probe>(
    probe: &P,
    clock: &dyn Clock,
    stack: &Stack,
    live: &BTreeMap<String, LiveRegion>,
    soak: Option<Soak>,
    progress: &Progress,
) -> Verification {
    let started = clock.now();
    let mut streaks = Streaks::default();
    let mut evaluations = 0;
    loop {
        let mut results = evaluate(probe, clock.now(), stack, live, &Context::default()).await;
        evaluations += 1;
        let mut failing = false;
        for r in &mut results {
            let consecutive = match (soak, r.source) {
                (Some(_), Source::Metric | Source::Alarm) => stack
                    .checks
                    .iter()
                    .find(|c| c.name == r.check)
                    .map_or(1, |c| c.consecutive),
                _ => 1,
            };
            if streaks.record(r, consecutive) {
                failing = true;
            } else if r.failed() {
                r.passed = true;
                r.evidence.detail = Some(format!(
                    "failed {} of {consecutive} evaluations in a row: tolerated{}",
                    streaks.of(r),
                    r.evidence
                        .detail
                        .as_ref()
                        .map(|d| format!("; {d}"))
                        .unwrap_or_default()
                ));
            }
        }
        let broken = results
            .iter()
            .any(|r| r.outcome == check::Outcome::Error && !r.transient);
        let elapsed = clock.now().duration_since(started).unwrap_or_default();
        let remaining = soak.map_or(Duration::ZERO, |s| s.duration.saturating_sub(elapsed));
        let last_errors = results.iter().any(|r| r.outcome == check::Outcome::Error);
        if failing || broken || remaining.is_zero() {
            let verdict = if failing {
                Verdict::Failed
            } else if last_errors {
                Verdict::Error
            } else {
                Verdict::Passed
            };
            return Verification {
                stack: stack.name.clone(),
                evaluations,
                verdict,
                results,
            };
        }
        let clean = results
            .iter()
            .filter(|r| r.outcome == check::Outcome::Pass)
            .count();
        let notes: Vec<String> = results
            .iter()
            .filter(|r| r.outcome != check::Outcome::Pass)
            .map(|r| {
                let state = match r.outcome {
                    check::Outcome::Error => "could not be evaluated, asking again".to_string(),
                    check::Outcome::NoData if r.passed && streaks.of(r) == 0 => {
                        "no data (passes)".to_string()
                    }
                    _ => format!("failing, {} in a row so far (tolerated)", streaks.of(r)),
                };
                format!("{} ({}) {state}", r.check, r.region)
            })
            .collect();
        progress.wait(
            format!(
                "soak: {} left; evaluation {evaluations}: {clean}/{} pass{}",
                humantime::format_duration(Duration::from_secs(remaining.as_secs())),
                results.len(),
                if notes.is_empty() {
                    String::new()
                } else {
                    format!("; {}", notes.join("; "))
                }
            ),
            elapsed,
            soak.map(|s| s.duration),
        );
        let every = soak.map_or(Duration::ZERO, |s| s.every);
        clock.sleep(every.min(remaining)).await;
    }
}

/// Every check in every region of `live`, once, all regions at once.
pub async fn evaluate<P: Probe>(
    probe: &P,
    now: SystemTime,
    stack: &Stack,
    live: &BTreeMap<String, LiveRegion>,
    ctx: &Context,
) -> Vec<CheckResult> {
    let regions = live
        .iter()
        .map(|(region, l)| evaluate_region(probe, now, stack, region, l, ctx));
    futures::future::join_all(regions)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// How a check names a live resource: its address, or its id.
fn label(live: &LiveRegion, id: &str) -> String {
    live.resources
        .iter()
        .find(|o| o.live_id == id)
        .map_or_else(|| arn_suffix(id, "targetgroup/"), |o| o.address.to_string())
}

pub async fn evaluate_region<P: Probe>(
    probe: &P,
    now: SystemTime,
    stack: &Stack,
    region: &str,
    live: &LiveRegion,
    ctx: &Context,
) -> Vec<CheckResult> {
    let (balancers, targets, databases, metrics, alarms) = tokio::join!(
        balancers(probe, region, live),
        targets(probe, stack, region, live),
        databases(probe, region, live),
        metrics(probe, now, stack, region, live, ctx),
        alarms(probe, stack, region, live),
    );
    [
        missing(stack, region, live),
        groups(region, live),
        balancers,
        targets,
        databases,
        metrics,
        alarms,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A declared load balancer, target group or instance that is not live in
/// the region fails: a stack with nothing live does not pass.
fn missing(stack: &Stack, region: &str, live: &LiveRegion) -> Vec<CheckResult> {
    let judged = [
        Kind::LoadBalancer,
        Kind::TargetGroup,
        Kind::Instance,
        Kind::AutoscalingGroup,
    ];
    stack
        .resources
        .values()
        .filter(|r| judged.contains(&r.address.kind) && r.in_region(region))
        .filter(|r| !live.resources.iter().any(|o| o.address == r.address))
        .map(|r| {
            CheckResult::new(
                region,
                &format!("{} live", r.address),
                Source::Builtin,
                check::Outcome::Fail,
                crate::stack::verify::NoData::Fail,
                check::Evidence {
                    value: Some("missing".into()),
                    threshold: "live".into(),
                    detail: Some("declared, not live here: apply the stack first".into()),
                    ..check::Evidence::default()
                },
            )
        })
        .collect()
}

fn of_kind(live: &LiveRegion, kind: Kind) -> Vec<&Observed> {
    live.resources
        .iter()
        .filter(|o| o.address.kind == kind)
        .collect()
}

/// Every Auto Scaling group: its minimum in service, none unhealthy (as
/// discovery read them: no call of its own).
fn groups(region: &str, live: &LiveRegion) -> Vec<CheckResult> {
    of_kind(live, Kind::AutoscalingGroup)
        .into_iter()
        .map(|o| {
            let min = match o.attrs.get("min") {
                Some(Value::Int(n)) => u32::try_from(*n).unwrap_or(0),
                _ => 0,
            };
            check::judge_group(
                region,
                &o.address.to_string(),
                o.count(crate::model::IN_SERVICE),
                min,
                o.count(crate::model::UNHEALTHY),
            )
        })
        .collect()
}

async fn balancers<P: Probe>(probe: &P, region: &str, live: &LiveRegion) -> Vec<CheckResult> {
    let owned = of_kind(live, Kind::LoadBalancer);
    if owned.is_empty() {
        return vec![];
    }
    let arns: Vec<String> = owned.iter().map(|o| o.live_id.clone()).collect();
    match probe.load_balancer_states(region, &arns).await {
        Ok(states) => owned
            .iter()
            .map(|o| {
                let state = states.iter().find(|s| s.arn == o.live_id);
                check::judge_balancer(region, &o.address.to_string(), state)
            })
            .collect(),
        Err(e) => owned
            .iter()
            .map(|o| {
                CheckResult::error(
                    region,
                    &format!("{} active", o.address),
                    Source::Builtin,
                    "active".into(),
                    e.to_string(),
                    e.worth_asking_again(),
                )
            })
            .collect(),
    }
}

/// The live id of a colour in a region.
pub fn colour_id(live: &LiveRegion, colour: &Reference) -> Option<String> {
    match colour {
        Reference::Resource(a) => live
            .resources
            .iter()
            .find(|o| &o.address == a)
            .map(|o| o.live_id.clone()),
        Reference::LiveId(id) => Some(id.clone()),
        Reference::SelfGroup => None,
    }
}

async fn targets<P: Probe>(
    probe: &P,
    stack: &Stack,
    region: &str,
    live: &LiveRegion,
) -> Vec<CheckResult> {
    let receiving: Vec<(String, i64)> =
        live.weights().into_iter().filter(|(_, w)| *w > 0).collect();
    let asks = receiving.iter().map(|(group, weight)| async move {
        let name = label(live, group);
        let min_healthy = stack
            .blue_green
            .values()
            .find(|p| {
                [&p.blue, &p.green]
                    .iter()
                    .any(|c| colour_id(live, c).as_deref() == Some(group))
            })
            .and_then(|p| p.min_healthy);
        match probe.target_health(region, group).await {
            Ok(health) => check::judge_targets(region, &name, *weight, min_healthy, &health),
            Err(e) => CheckResult::error(
                region,
                &format!("{name} healthy (weight {weight})"),
                Source::Builtin,
                "healthy targets".into(),
                e.to_string(),
                e.worth_asking_again(),
            ),
        }
    });
    futures::future::join_all(asks).await
}

async fn databases<P: Probe>(probe: &P, region: &str, live: &LiveRegion) -> Vec<CheckResult> {
    let owned = of_kind(live, Kind::DbInstance);
    if owned.is_empty() {
        return vec![];
    }
    let identifier = |o: &Observed| {
        o.attrs
            .get("identifier")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let identifiers: Vec<String> = owned.iter().map(|o| identifier(o)).collect();
    match probe.db_statuses(region, &identifiers).await {
        Ok(statuses) => owned
            .iter()
            .map(|o| {
                let status = statuses.iter().find(|s| s.identifier == identifier(o));
                check::judge_database(region, &o.address.to_string(), status)
            })
            .collect(),
        Err(e) => owned
            .iter()
            .map(|o| {
                CheckResult::error(
                    region,
                    &format!("{} available", o.address),
                    Source::Builtin,
                    "available".into(),
                    e.to_string(),
                    e.worth_asking_again(),
                )
            })
            .collect(),
    }
}

/// The metric checks of `regions` a bake of `bake` cannot judge: they see a
/// whole period only `period + lag` after it starts. With what each needs.
pub fn too_short(stack: &Stack, regions: &[String], bake: Duration) -> Vec<(String, Duration)> {
    stack
        .checks
        .iter()
        .filter(|c| regions.iter().any(|r| applies(c, r)))
        .filter_map(|c| match &c.watch {
            Watch::Metric(w) if w.period + w.lag > bake => Some((c.name.clone(), w.period + w.lag)),
            _ => None,
        })
        .collect()
}

/// `too_short`, refused unless accepted (`--short-bake`): what `what` bakes
/// for `bake` in `regions` cannot judge the checks it lists.
pub fn refuse_short_bake(
    stack: &Stack,
    regions: &[String],
    bake: Duration,
    accepted: bool,
    what: &str,
    progress: &Progress,
) -> anyhow::Result<()> {
    let short = too_short(stack, regions, bake);
    if bake.is_zero() || short.is_empty() {
        return Ok(());
    }
    let needed = short.iter().map(|(_, d)| *d).max().unwrap_or_default();
    let list: Vec<String> = short
        .iter()
        .map(|(name, d)| format!("{name} ({})", humantime::format_duration(*d)))
        .collect();
    let said = format!(
        "{what} bakes {} but its metric checks see a whole period only after period + lag: {}; they cannot judge it",
        humantime::format_duration(bake),
        list.join(", ")
    );
    if accepted {
        progress.line(format!(
            "{said} (--short-bake: they are reported as not evaluated)"
        ));
        return Ok(());
    }
    anyhow::bail!(
        "{said}. Bake at least {}, or pass --short-bake to go ahead with them reported as not evaluated. Nothing was changed.",
        humantime::format_duration(needed)
    )
}

fn applies(check: &Check, region: &str) -> bool {
    check
        .regions
        .as_ref()
        .is_none_or(|r| r.iter().any(|x| x == region))
}

/// A pair's colour in a region, as CloudWatch's `TargetGroup` dimension
/// (`targetgroup/NAME/ID`). The target is the colour with the larger live
/// weight (blue on a tie), the source the other.
fn colour_dimension(
    stack: &Stack,
    live: &LiveRegion,
    pair: &str,
    role: ColourRole,
    ctx: &Context,
) -> Option<String> {
    let p: &BlueGreen = stack.blue_green.values().find(|p| p.name == pair)?;
    let (blue, green) = (colour_id(live, &p.blue)?, colour_id(live, &p.green)?);
    let weights = live.weights();
    let weight = |id: &str| weights.get(id).copied().unwrap_or(0);
    let green_leads = match &ctx.target {
        Some((name, colour)) if name == pair => *colour == Colour::Green,
        _ => weight(&green) > weight(&blue),
    };
    let id = match role {
        ColourRole::Blue => blue,
        ColourRole::Green => green,
        ColourRole::Target if green_leads => green,
        ColourRole::Target => blue,
        ColourRole::Source if green_leads => blue,
        ColourRole::Source => green,
    };
    Some(arn_suffix(&id, "targetgroup/"))
}

/// A dimension that names what is not live in the region.
#[derive(Debug, thiserror::Error)]
#[error("dimension {key} = \"{template}\" names something not live here: apply the stack first")]
struct NotLive {
    key: String,
    template: String,
}

/// A check's dimensions with their placeholders filled from the live state.
fn dimensions(
    stack: &Stack,
    live: &LiveRegion,
    templates: &BTreeMap<String, String>,
    ctx: &Context,
) -> Result<BTreeMap<String, String>, NotLive> {
    templates
        .iter()
        .map(|(key, template)| {
            let value = render_colours(template, |pair, role| {
                colour_dimension(stack, live, pair, role, ctx)
            })
            .and_then(|t| {
                interpolate::render(&t, |address: &Address, attr| {
                    let o = live.resources.iter().find(|o| &o.address == address)?;
                    o.exports.get(attr).cloned()
                })
            });
            value.map(|v| (key.clone(), v)).ok_or_else(|| NotLive {
                key: key.clone(),
                template: template.clone(),
            })
        })
        .collect()
}

async fn metrics<P: Probe>(
    probe: &P,
    now: SystemTime,
    stack: &Stack,
    region: &str,
    live: &LiveRegion,
    ctx: &Context,
) -> Vec<CheckResult> {
    let mut results = Vec::new();
    let mut asked = Vec::new();
    let mut queries = Vec::new();
    for (i, c) in stack
        .checks
        .iter()
        .enumerate()
        .filter(|(_, c)| applies(c, region))
    {
        let Watch::Metric(w) = &c.watch else { continue };
        let threshold = format!("{} {}", w.statistic, check::threshold(w.min, w.max));
        let dims = match dimensions(stack, live, &w.dimensions, ctx) {
            Ok(d) => d,
            Err(not_live) => {
                results.push(CheckResult::error(
                    region,
                    &c.name,
                    Source::Metric,
                    threshold,
                    not_live.to_string(),
                    false,
                ));
                continue;
            }
        };
        let mut window = Window::ending_before(now, w.lag, w.period, w.window);
        if let Some(since) = ctx.since {
            window = window.not_before(since, w.period);
            if window.is_empty() {
                let mut waiting = CheckResult::new(
                    region,
                    &c.name,
                    Source::Metric,
                    check::Outcome::NoData,
                    c.no_data,
                    check::Evidence {
                        threshold,
                        detail: Some(format!(
                            "no whole period yet since the weights were confirmed at {} (lag {})",
                            humantime::format_rfc3339_seconds(since),
                            humantime::format_duration(w.lag)
                        )),
                        ..check::Evidence::default()
                    },
                );
                waiting.waiting = true;
                results.push(waiting);
                continue;
            }
        }
        for (j, statistic) in check::series_needed(w).into_iter().enumerate() {
            queries.push(MetricQuery {
                id: format!("q{i}_{j}"),
                namespace: w.namespace.clone(),
                metric: w.metric.clone(),
                dimensions: dims.clone(),
                statistic: if statistic.is_empty() {
                    w.statistic.clone()
                } else {
                    statistic.to_string()
                },
                period_secs: u32::try_from(w.period.as_secs()).unwrap_or(u32::MAX),
            });
        }
        asked.push((i, c, w, window));
    }
    if asked.is_empty() {
        return results;
    }
    let start = asked.iter().map(|a| a.3.start).min().unwrap_or(now);
    let end = asked.iter().map(|a| a.3.end).max().unwrap_or(now);
    match probe.metric_data(region, &queries, start, end).await {
        Ok(data) => {
            for (i, c, w, window) in asked {
                let series = check::series_needed(w)
                    .into_iter()
                    .enumerate()
                    .map(|(j, name)| {
                        let points = data
                            .get(&format!("q{i}_{j}"))
                            .map(|s| s.points.clone())
                            .unwrap_or_default();
                        (name, points)
                    })
                    .collect();
                results.push(check::judge_metric(region, c, w, window, &series));
            }
        }
        Err(e) => {
            for (_, c, w, _) in asked {
                let threshold = format!("{} {}", w.statistic, check::threshold(w.min, w.max));
                results.push(CheckResult::error(
                    region,
                    &c.name,
                    Source::Metric,
                    threshold,
                    e.to_string(),
                    e.worth_asking_again(),
                ));
            }
        }
    }
    results
}

async fn alarms<P: Probe>(
    probe: &P,
    stack: &Stack,
    region: &str,
    live: &LiveRegion,
) -> Vec<CheckResult> {
    let watched: Vec<(&Check, String)> = stack
        .checks
        .iter()
        .filter(|c| applies(c, region))
        .filter_map(|c| match &c.watch {
            Watch::Alarm(AlarmRef::Named(n)) => Some((c, n.clone())),
            Watch::Alarm(AlarmRef::Stack(a)) => {
                let live_name = live
                    .resources
                    .iter()
                    .find(|o| &o.address == a)
                    .and_then(|o| o.exports.get("name").cloned());
                Some((c, live_name.unwrap_or_else(|| alarm_name(&stack.name, a))))
            }
            Watch::Metric(_) => None,
        })
        .collect();
    if watched.is_empty() {
        return vec![];
    }
    let mut names: Vec<String> = watched.iter().map(|(_, n)| n.clone()).collect();
    names.sort();
    names.dedup();
    match probe.alarm_states(region, &names).await {
        Ok(states) => watched
            .iter()
            .map(|(c, name)| {
                check::judge_alarm(region, c, name, states.iter().find(|s| &s.name == name))
            })
            .collect(),
        Err(e) => watched
            .iter()
            .map(|(c, name)| {
                CheckResult::error(
                    region,
                    &c.name,
                    Source::Alarm,
                    format!("alarm {name} OK"),
                    e.to_string(),
                    e.worth_asking_again(),
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::{AwsError, ErrorClass};
    use crate::model::probe::{
        AlarmState, AlarmValue, BalancerState, DbStatus, MetricSeries, TargetHealth,
    };
    use crate::model::progress::Note;
    use crate::ops::clock::TestClock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    /// Answers alarm states from a script, one entry per evaluation; the last
    /// entry repeats. Everything else is empty.
    struct Scripted {
        alarms: Vec<Result<AlarmValue, ErrorClass>>,
        asked: AtomicUsize,
        metric_calls: AtomicUsize,
    }

    impl Scripted {
        fn new(alarms: Vec<Result<AlarmValue, ErrorClass>>) -> Scripted {
            Scripted {
                alarms,
                asked: AtomicUsize::new(0),
                metric_calls: AtomicUsize::new(0),
            }
        }
    }

    impl Probe for Scripted {
        async fn target_health(&self, _: &str, _: &str) -> Result<Vec<TargetHealth>, AwsError> {
            Ok(vec![])
        }
        async fn load_balancer_states(
            &self,
            _: &str,
            _: &[String],
        ) -> Result<Vec<BalancerState>, AwsError> {
            Ok(vec![])
        }
        async fn db_statuses(&self, _: &str, _: &[String]) -> Result<Vec<DbStatus>, AwsError> {
            Ok(vec![])
        }
        async fn alarm_states(
            &self,
            _: &str,
            names: &[String],
        ) -> Result<Vec<AlarmState>, AwsError> {
            let i = self
                .asked
                .fetch_add(1, Ordering::SeqCst)
                .min(self.alarms.len() - 1);
            match self.alarms[i] {
                Ok(value) => Ok(names
                    .iter()
                    .map(|n| AlarmState {
                        name: n.clone(),
                        value,
                        reason: format!("evaluation {}", i + 1),
                        updated: None,
                    })
                    .collect()),
                Err(class) => Err(AwsError::new(
                    "DescribeAlarms",
                    class,
                    "Scripted",
                    "scripted failure",
                )),
            }
        }
        async fn metric_data(
            &self,
            _: &str,
            queries: &[MetricQuery],
            _: SystemTime,
            _: SystemTime,
        ) -> Result<BTreeMap<String, MetricSeries>, AwsError> {
            self.metric_calls.fetch_add(1, Ordering::SeqCst);
            Ok(queries
                .iter()
                .map(|q| (q.id.clone(), MetricSeries::default()))
                .collect())
        }
    }

    const STACK: &str = r#"
[stack]
name = "svc"
regions = ["us-west-2"]

[alarm.errors]
namespace = "App"
metric = "Errors"
statistic = "Sum"
period = 60
evaluation_periods = 1
threshold = 1
comparison = "GreaterThanThreshold"

[[verify]]
name = "errors-alarm"
alarm = "alarm.errors"
consecutive = 2
"#;

    fn live() -> BTreeMap<String, LiveRegion> {
        BTreeMap::from([("us-west-2".to_string(), LiveRegion::default())])
    }

    async fn soak(probe: &Scripted, duration: u64, every: u64) -> (Verification, Vec<String>) {
        let stack = crate::testing::stack(STACK);
        let clock = TestClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let progress = Progress::new(move |n| sink.lock().unwrap().push(n));
        let soak = Soak {
            duration: Duration::from_secs(duration),
            every: Duration::from_secs(every),
        };
        let v = run(probe, &clock, &stack, &live(), Some(soak), &progress).await;
        // A soak's progress is a wait: on a terminal, one bar of its whole duration.
        let notes = lines.lock().unwrap().clone();
        let lines = notes
            .into_iter()
            .map(|n| match n {
                Note::Wait { status, total, .. } => {
                    assert_eq!(total, Some(soak.duration), "{status}");
                    status
                }
                Note::Line(line) => panic!("a soak reports waits, not lines: {line}"),
            })
            .collect();
        (v, lines)
    }

    use AlarmValue::{Alarm, Ok as Fine};

    #[tokio::test]
    async fn consecutive_two_tolerates_one_bad_evaluation_but_not_two() {
        let probe = Scripted::new(vec![Ok(Alarm), Ok(Fine), Ok(Alarm), Ok(Alarm), Ok(Fine)]);
        let (v, lines) = soak(&probe, 600, 60).await;
        assert_eq!(v.verdict, Verdict::Failed);
        assert_eq!(
            v.evaluations, 4,
            "the second bad evaluation in a row ends it"
        );
        assert_eq!(
            v.results[0].evidence.detail.as_deref(),
            Some("evaluation 4")
        );
        assert_eq!(
            lines,
            [
                "soak: 10m left; evaluation 1: 0/1 pass; errors-alarm (us-west-2) failing, 1 in a row so far (tolerated)",
                "soak: 9m left; evaluation 2: 1/1 pass",
                "soak: 8m left; evaluation 3: 0/1 pass; errors-alarm (us-west-2) failing, 1 in a row so far (tolerated)",
            ]
        );
    }

    #[tokio::test]
    async fn a_soak_that_stays_healthy_evaluates_every_period_and_ends() {
        let probe = Scripted::new(vec![Ok(Alarm), Ok(Fine)]);
        let (v, lines) = soak(&probe, 300, 60).await;
        assert_eq!(v.verdict, Verdict::Passed);
        assert_eq!(v.evaluations, 6, "at 0, 1, 2, 3, 4 and 5 minutes");
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert!(lines[0].contains("(tolerated)"), "{lines:?}");
        assert!(
            lines[4].starts_with("soak: 1m left; evaluation 5: 1/1 pass"),
            "{lines:?}"
        );
    }

    #[tokio::test]
    async fn throttling_is_asked_again_but_an_error_that_will_not_pass_ends_the_soak() {
        let probe = Scripted::new(vec![Err(ErrorClass::Throttled), Ok(Fine)]);
        let (v, _) = soak(&probe, 120, 60).await;
        assert_eq!((v.verdict, v.evaluations), (Verdict::Passed, 3));
        let probe = Scripted::new(vec![Ok(Fine), Err(ErrorClass::Denied)]);
        let (v, _) = soak(&probe, 600, 60).await;
        assert_eq!((v.verdict, v.evaluations), (Verdict::Error, 2));
    }

    #[tokio::test]
    async fn one_evaluation_judges_each_failure_whatever_consecutive_says() {
        let probe = Scripted::new(vec![Ok(Alarm)]);
        let stack = crate::testing::stack(STACK);
        let clock = TestClock::at(SystemTime::UNIX_EPOCH);
        let progress = Progress::silent();
        let v = run(&probe, &clock, &stack, &live(), None, &progress).await;
        assert_eq!((v.verdict, v.evaluations), (Verdict::Failed, 1));
    }

    #[tokio::test]
    async fn all_metric_checks_of_a_region_share_one_request() {
        let mut text = STACK.to_string();
        for i in 0..7 {
            text.push_str(&format!(
                "\n[[verify]]\nname = \"m{i}\"\nnamespace = \"App\"\nmetric = \"Latency\"\nstatistic = \"{}\"\nmax = 1\n",
                ["Sum", "Average", "p99"][i % 3]
            ));
        }
        let stack = crate::testing::stack(&text);
        let probe = Scripted::new(vec![Ok(Fine)]);
        let results = evaluate(
            &probe,
            SystemTime::now(),
            &stack,
            &live(),
            &Context::default(),
        )
        .await;
        assert_eq!(probe.metric_calls.load(Ordering::SeqCst), 1);
        assert_eq!(results.len(), 8);
        assert!(results
            .iter()
            .filter(|r| r.source == Source::Metric)
            .all(|r| r.outcome == check::Outcome::NoData));
    }
}
