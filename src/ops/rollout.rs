//! `reconcile rollout`: one plan of every region, reviewed once; then wave by
//! wave: apply the wave's regions (at most `max_parallel` at once), verify
//! them, and bake the ones that changed, re-checking every `every`. A failed
//! apply or check halts: no later wave is touched, nothing is rolled back. A
//! rerun resumes: regions already in sync are verified once, not baked.

use super::apply::{self, Report, Settings};
use super::clock::Clock;
use super::plan::{Planned, SavedPlan};
use super::verify::{self, Soak, Verdict as Checked};
use crate::aws::cloud::Account;
use crate::check::CheckResult;
use crate::model::LiveRegion;
use crate::plan::{Action, Plan};
use crate::stack::rollout::Rollout;
use crate::stack::Stack;
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

pub struct Request<'a> {
    /// `--plan`: a plan saved by `plan --out`, rolled out only if a fresh plan equals it.
    pub saved: Option<&'a SavedPlan>,
    /// `--from-wave`: the waves before it are not touched.
    pub from_wave: Option<String>,
    /// `--skip-bake` (with an emergency ticket): verify once, do not bake.
    pub skip_bake: bool,
    /// `--short-bake`: bake although a wave's bake is too short for some
    /// metric checks to see a whole period (`verify::too_short`).
    pub short_bake: bool,
    pub emergency: Option<String>,
    pub lock_timeout: Duration,
    pub settings: Settings,
    /// What the plan is judged by besides protection (`ops::policy`).
    pub policies: Option<&'a crate::policy::Policies>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionOutcome {
    /// Applied, verified and baked.
    Done,
    /// Nothing to change: verified once.
    InSync,
    ApplyFailed,
    CheckFailed,
    NotStarted,
    /// Before `--from-wave`.
    Skipped,
}

#[derive(Debug, Serialize)]
pub struct RegionRollout {
    pub region: String,
    pub outcome: RegionOutcome,
    /// Changes applied in this region.
    pub changes: usize,
    /// The checks that failed, with their evidence (all of them on a halt).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckResult>,
}

#[derive(Debug, Serialize)]
pub struct WaveReport {
    pub name: String,
    pub regions: Vec<RegionRollout>,
    /// Check evaluations during its verify and bake.
    pub evaluations: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Completed,
    /// A check failed: exit 3.
    Halted,
    /// An apply failed, or a check could not be evaluated: exit 1.
    Failed,
}

#[derive(Debug, Serialize)]
pub struct RolloutReport {
    pub stack: String,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emergency: Option<String>,
    pub waves: Vec<WaveReport>,
    /// Every apply step, done, failed or skipped.
    pub apply: Report,
}

fn changes_in(plan: &Plan, region: &str) -> usize {
    plan.changes
        .iter()
        .filter(|c| c.region == region && c.action != Action::NoOp)
        .count()
}

/// The regions of `regions` the plan changes: the ones a wave applies and bakes.
fn changed_regions(plan: &Plan, regions: &[String]) -> Vec<String> {
    regions
        .iter()
        .filter(|r| changes_in(plan, r) > 0)
        .cloned()
        .collect()
}

/// Holding the stack's lock: plans every region, lets `review` see the plan
/// (print it, ask once), refuses a plan that would lose a protected resource,
/// then rolls out wave by wave.
pub async fn run<C: Account>(
    aws: &C,
    clock: &dyn Clock,
    stack: &Stack,
    request: &Request<'_>,
    review: impl AsyncFnOnce(&Plan) -> Result<()>,
) -> Result<RolloutReport> {
    let rollout = Rollout::of(stack);
    let first = match &request.from_wave {
        None => 0,
        Some(w) => rollout
            .waves
            .iter()
            .position(|x| &x.name == w)
            .ok_or_else(|| {
                let names: Vec<&str> = rollout.waves.iter().map(|x| x.name.as_str()).collect();
                anyhow::anyhow!(
                    "--from-wave {w}: no such wave (waves: {})",
                    names.join(", ")
                )
            })?,
    };
    let name = stack.name.clone();
    let regions = stack.regions.clone();
    let progress = request.settings.progress.clone();
    let work = async {
        let mut planned = super::plan::run(aws, stack, &[], Default::default()).await?;
        let context = super::policy::Context {
            operation: "rollout",
            emergency: request.emergency.as_deref(),
            now: clock.now(),
        };
        super::policy::judge(request.policies, &mut planned.plan, stack, &context)?;
        review(&planned.plan).await?;
        if let Some(saved) = request.saved {
            saved.check_current(&planned.plan)?;
        }
        super::plan::refuse(&planned.plan)?;
        if planned.plan.has_changes() {
            apply::preflight(&planned)?;
        }
        let record = apply::regions::before(aws, &planned).await?;
        // A wave that will bake must be able to judge its checks.
        for wave in rollout
            .waves
            .iter()
            .skip(first)
            .filter(|_| !request.skip_bake)
        {
            let changed = changed_regions(&planned.plan, &wave.regions);
            if !changed.is_empty() {
                super::verify::refuse_short_bake(
                    &planned.stack,
                    &changed,
                    wave.bake,
                    request.short_bake,
                    &format!("wave {}", wave.name),
                    &request.settings.progress,
                )?;
            }
        }
        let report = waves(aws, clock, &rollout, first, &planned, request).await?;
        let progress = &request.settings.progress;
        apply::regions::after(aws, &planned, &report.apply, record, progress).await;
        Ok(report)
    };
    let lock = super::lock::Holding {
        stack: &name,
        file: &stack.path,
        regions: &regions,
        operation: "rollout",
        wait: request.lock_timeout,
        clock,
        progress: &progress,
    };
    super::lock::holding(aws, lock, work).await
}

async fn waves<C: Account>(
    aws: &C,
    clock: &dyn Clock,
    rollout: &Rollout,
    first: usize,
    planned: &Planned,
    request: &Request<'_>,
) -> Result<RolloutReport> {
    let stack = &planned.stack;
    let progress = &request.settings.progress;
    let mut report = RolloutReport {
        stack: stack.name.clone(),
        verdict: Verdict::Completed,
        emergency: request.emergency.clone(),
        waves: Vec::new(),
        apply: Report {
            stack: stack.name.clone(),
            entries: Vec::new(),
        },
    };
    for (i, wave) in rollout.waves.iter().enumerate() {
        let mut regions: Vec<RegionRollout> = wave
            .regions
            .iter()
            .map(|r| RegionRollout {
                region: r.clone(),
                outcome: if i < first {
                    RegionOutcome::Skipped
                } else {
                    RegionOutcome::NotStarted
                },
                changes: changes_in(&planned.plan, r),
                checks: vec![],
            })
            .collect();
        if i < first || report.verdict != Verdict::Completed {
            report.waves.push(WaveReport {
                name: wave.name.clone(),
                regions,
                evaluations: 0,
            });
            continue;
        }
        super::admit(
            stack,
            clock.now(),
            request.emergency.as_deref(),
            &format!("wave {}", wave.name),
            progress,
        )?;
        let changed = changed_regions(&planned.plan, &wave.regions);
        // Apply, at most max_parallel regions at once.
        let mut failed = false;
        for group in changed.chunks(wave.max_parallel) {
            progress.line(format!(
                "wave {} ({}/{}): applying {}",
                wave.name,
                i + 1,
                rollout.waves.len(),
                group.join(", ")
            ));
            let part = Planned {
                plan: planned.plan.only(group),
                live: planned
                    .live
                    .iter()
                    .filter(|(r, _)| group.contains(r))
                    .map(|(r, l)| (r.clone(), l.clone()))
                    .collect(),
                stack: planned.stack.clone(),
            };
            let applied = apply::run(aws, clock, &part, &request.settings).await;
            for r in regions.iter_mut().filter(|r| group.contains(&r.region)) {
                let broke = applied.entries.iter().any(|e| {
                    e.region == r.region && !matches!(e.outcome, apply::EntryOutcome::Done { .. })
                });
                r.outcome = if broke {
                    RegionOutcome::ApplyFailed
                } else {
                    RegionOutcome::Done
                };
            }
            failed |= applied.failed();
            report.apply.entries.extend(applied.entries);
            if failed {
                break;
            }
        }
        if failed {
            report.verdict = Verdict::Failed;
            report.waves.push(WaveReport {
                name: wave.name.clone(),
                regions,
                evaluations: 0,
            });
            continue;
        }
        // Verify every region of the wave once; bake the ones that changed.
        let live = super::observe(aws, stack, &wave.regions).await?.live;
        let once = verify::run(aws, clock, stack, &live, None, progress).await;
        let mut evaluations = once.evaluations;
        let mut outcome = once;
        let bake = !request.skip_bake && !wave.bake.is_zero() && !changed.is_empty();
        if outcome.verdict == Checked::Passed && bake {
            progress.line(format!(
                "wave {}: baking {} with checks every {}",
                wave.name,
                humantime::format_duration(wave.bake),
                humantime::format_duration(rollout.every)
            ));
            let baked: BTreeMap<String, LiveRegion> = live
                .iter()
                .filter(|(r, _)| changed.contains(r))
                .map(|(r, l)| (r.clone(), l.clone()))
                .collect();
            outcome = verify::run(
                aws,
                clock,
                stack,
                &baked,
                Some(Soak {
                    duration: wave.bake,
                    every: rollout.every,
                }),
                progress,
            )
            .await;
            evaluations += outcome.evaluations;
        }
        for r in &mut regions {
            let failing: Vec<CheckResult> = outcome
                .results
                .iter()
                .filter(|c| c.region == r.region && !c.passed)
                .cloned()
                .collect();
            if !failing.is_empty() {
                r.outcome = RegionOutcome::CheckFailed;
                r.checks = failing;
            } else if r.changes == 0 {
                r.outcome = RegionOutcome::InSync;
            }
        }
        match outcome.verdict {
            Checked::Passed => {}
            Checked::Failed => report.verdict = Verdict::Halted,
            Checked::Error => report.verdict = Verdict::Failed,
        }
        report.waves.push(WaveReport {
            name: wave.name.clone(),
            regions,
            evaluations,
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::progress::Progress;
    use crate::ops::clock::TestClock;
    use crate::testing::{self, FakeCloud};

    fn request() -> Request<'static> {
        Request {
            saved: None,
            from_wave: None,
            skip_bake: false,
            short_bake: false,
            emergency: None,
            lock_timeout: Duration::ZERO,
            settings: Settings {
                parallelism: 4,
                record: BTreeMap::new(),
                progress: Progress::silent(),
                wait_timeout: std::time::Duration::from_secs(3600),
            },
            policies: None,
        }
    }

    async fn roll_out(cloud: &FakeCloud, clock: &TestClock) -> RolloutReport {
        let stack = testing::stack(testing::WAVES);
        run(cloud, clock, &stack, &request(), async |_| Ok(()))
            .await
            .expect("a rollout report")
    }

    fn outcomes(report: &RolloutReport) -> Vec<(String, RegionOutcome)> {
        report
            .waves
            .iter()
            .flat_map(|w| w.regions.iter().map(|r| (r.region.clone(), r.outcome)))
            .collect()
    }

    #[tokio::test]
    async fn a_failed_check_in_the_canary_halts_before_the_next_wave_is_touched() {
        let cloud = FakeCloud::default();
        cloud.state().metric.insert("us-west-2".into(), 50.0);
        let report = roll_out(&cloud, &testing::clock()).await;
        assert_eq!(report.verdict, Verdict::Halted);
        assert_eq!(
            outcomes(&report),
            [
                ("us-west-2".to_string(), RegionOutcome::CheckFailed),
                ("us-east-1".to_string(), RegionOutcome::NotStarted)
            ]
        );
        let failing = &report.waves[0].regions[0].checks;
        assert_eq!(failing.len(), 1, "{failing:?}");
        assert_eq!(failing[0].check, "errors");
        assert_eq!(
            cloud.addresses("us-west-2"),
            ["vpc.main"],
            "the canary applied"
        );
        assert!(
            cloud.addresses("us-east-1").is_empty(),
            "the next wave untouched"
        );
        assert!(cloud.state().locks.is_empty(), "the lock given back");
    }

    #[tokio::test]
    async fn passing_waves_are_applied_and_baked_on_the_clock_and_a_rerun_passes_straight_through()
    {
        let cloud = FakeCloud::default();
        for region in ["us-west-2", "us-east-1"] {
            cloud.state().metric.insert(region.into(), 1.0);
        }
        let clock = testing::clock();
        let began = clock.now();
        let report = roll_out(&cloud, &clock).await;
        assert_eq!(report.verdict, Verdict::Completed);
        assert_eq!(
            outcomes(&report),
            [
                ("us-west-2".to_string(), RegionOutcome::Done),
                ("us-east-1".to_string(), RegionOutcome::Done)
            ]
        );
        let baked = clock.now().duration_since(began).unwrap();
        assert!(
            baked >= Duration::from_secs(20 * 60),
            "two bakes of 10m: {baked:?}"
        );
        assert!(
            report.waves.iter().all(|w| w.evaluations > 5),
            "re-checked every minute"
        );

        let rerun_start = clock.now();
        let rerun = roll_out(&cloud, &clock).await;
        assert_eq!(
            outcomes(&rerun),
            [
                ("us-west-2".to_string(), RegionOutcome::InSync),
                ("us-east-1".to_string(), RegionOutcome::InSync)
            ]
        );
        assert_eq!(clock.now(), rerun_start, "nothing changed: nothing baked");
        let creates = cloud
            .calls()
            .iter()
            .filter(|c| c.starts_with("create"))
            .count();
        assert_eq!(creates, 2);
    }
}
