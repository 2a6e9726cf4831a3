//! An Auto Scaling group's outdated instances moved to its launch template's
//! default version (its `instances` changed), as `plan::group` decided: new
//! first (a group of no pair, an idle colour), or in batches that keep the
//! healthy capacity of a colour taking traffic. Over the seam's narrow group
//! calls (`Mutate::group`, `healthy_in`, `set_capacity`, `deregister`,
//! `terminate`), waiting on the `Clock`: each step is read again from the
//! group, so a replacement interrupted anywhere is finished by the next apply.

use crate::aws::cloud::Mutate;
use crate::aws::{AwsError, ErrorClass};
use crate::model::probe::GroupNow;
use crate::model::progress::Progress;
use crate::ops::clock::Clock;
use std::time::Duration;

pub struct Replacement<'a, M> {
    pub mutator: &'a M,
    pub clock: &'a dyn Clock,
    pub progress: &'a Progress,
    /// `--wait-timeout`: the longest wait for capacity to be healthy.
    pub wait: Duration,
    pub region: &'a str,
}

/// The longest pause between two reads of a group that is not ready yet.
const MAX_DELAY: Duration = Duration::from_secs(15);

impl<M: Mutate> Replacement<'_, M> {
    /// Replaces the outdated instances of group `name`: in batches of
    /// `batch` when the plan said so, else new first.
    pub async fn run(&self, name: &str, batch: Option<usize>) -> Result<(), AwsError> {
        match batch {
            Some(batch) => self.in_batches(name, batch).await,
            None => self.new_first(name).await,
        }
    }

    /// New instances first: as many as run an older version are launched
    /// (the group's maximum raised for them if need be) and put in service
    /// and healthy in the group's target groups, then the old ones are taken
    /// out of the target groups and terminated; the group's size is put
    /// back. Capacity in service never drops. The size before the surge is
    /// recorded on the group while it runs, so a rerun after an interruption
    /// anywhere finishes at that size, not at the surged one.
    async fn new_first(&self, name: &str) -> Result<(), AwsError> {
        let Some(group) = self.mutator.group(name, true).await? else {
            return Ok(());
        };
        // The group's own size: as it was before a surge an interrupted run
        // left (recorded on the group), else as it is.
        let (desired, max) = group.surged_from.unwrap_or((group.desired, group.max));
        let old = group.outdated();
        if old.is_empty() {
            // Interrupted after the old ones went: only the size is left to put back.
            if group.surged_from.is_some() {
                self.mutator.set_capacity(name, desired, max).await?;
                self.mutator.mark_surge(name, None).await?;
            }
            return Ok(());
        }
        if group.surged_from.is_none() {
            self.mutator.mark_surge(name, Some((desired, max))).await?;
        }
        let surge = desired + count(old.len());
        self.progress.line(format!(
            "{name} ({}): {} of {} instances on a version older than {}: launching {} from it first",
            self.region,
            old.len(),
            desired,
            group.version,
            old.len()
        ));
        self.mutator
            .set_capacity(name, surge, max.max(surge))
            .await?;
        self.wait_healthy(name, surge).await?;
        self.mutator.deregister(&group.target_groups, &old).await?;
        for id in &old {
            self.mutator.terminate(id, true).await?;
        }
        self.mutator.set_capacity(name, desired, max).await?;
        self.mutator.mark_surge(name, None).await?;
        // A group may register what it had once more as it resizes (moto
        // does): none of the old ones stays a target.
        self.mutator.deregister(&group.target_groups, &old).await
    }

    /// A colour taking traffic: at most `batch` outdated instances at a time
    /// are taken out of the group's target groups and terminated (the group
    /// launches their replacements), and the next batch waits until the
    /// group's whole capacity is in service and healthy again. Healthy
    /// capacity never goes below `desired − batch` (the pair's
    /// `min_healthy`, as the plan sized the batch): an instance that turned
    /// unhealthy meanwhile makes the batch smaller, and an outdated
    /// unhealthy one goes first, costing nothing.
    async fn in_batches(&self, name: &str, batch: usize) -> Result<(), AwsError> {
        let batch = batch.max(1);
        // As many replacements as the outdated instances found first: a
        // replacement that is itself outdated is not chased forever.
        let mut budget = None;
        loop {
            let Some(group) = self.outdated(name).await? else {
                return Ok(());
            };
            let old = group.outdated();
            let left = budget.get_or_insert(old.len());
            if *left == 0 {
                return Err(AwsError::new(
                    "replacing the group's instances",
                    ErrorClass::Other,
                    "StillOutdated",
                    format!(
                        "{name}: {} instances still run something else than version {} \
                         launches after every outdated one was replaced: look at the \
                         template's default version and the group's launch template",
                        old.len(),
                        group.version
                    ),
                ));
            }
            let floor = usize::try_from(group.desired)
                .unwrap_or(0)
                .saturating_sub(batch);
            let healthy = self.healthy(&group).await?;
            let room = healthy.len().saturating_sub(floor);
            let (sick, well): (Vec<String>, Vec<String>) =
                old.into_iter().partition(|id| !healthy.contains(id));
            let these: Vec<String> = sick
                .into_iter()
                .chain(well.into_iter().take(room))
                .take(batch.min(*left))
                .collect();
            if these.is_empty() {
                // No room: wait for the group to be healthy again.
                self.wait_healthy(name, group.desired).await?;
                continue;
            }
            *left -= these.len();
            self.progress.line(format!(
                "{name} ({}): {} of {} instances on a version older than {}: replacing {} \
                 (out of the target groups first)",
                self.region,
                group.outdated().len(),
                group.desired,
                group.version,
                these.len()
            ));
            self.mutator
                .deregister(&group.target_groups, &these)
                .await?;
            for id in &these {
                self.mutator.terminate(id, false).await?;
            }
            // A group may register what it had once more as it replaces
            // (moto does): none of the old ones stays a target.
            self.mutator
                .deregister(&group.target_groups, &these)
                .await?;
            self.wait_healthy(name, group.desired).await?;
        }
    }

    /// The group `name` when it has instances on an older version.
    async fn outdated(&self, name: &str) -> Result<Option<GroupNow>, AwsError> {
        Ok(self
            .mutator
            .group(name, true)
            .await?
            .filter(|g| !g.outdated().is_empty()))
    }

    /// Its instances in service and healthy in every one of its target groups.
    async fn healthy(&self, group: &GroupNow) -> Result<Vec<String>, AwsError> {
        let mut healthy = group.serving();
        for target_group in &group.target_groups {
            let there = self.mutator.healthy_in(target_group, &healthy).await?;
            healthy.retain(|id| there.contains(id));
        }
        Ok(healthy)
    }

    /// Waits on the clock until group `name` has `wanted` instances in
    /// service and healthy in its target groups, reporting progress;
    /// bounded by `--wait-timeout`.
    async fn wait_healthy(&self, name: &str, wanted: i32) -> Result<(), AwsError> {
        let started = self.clock.now();
        let wanted_n = usize::try_from(wanted).unwrap_or(0);
        let mut delay = Duration::from_secs(1);
        loop {
            let (healthy, all) = match self.mutator.group(name, false).await? {
                Some(group) => (self.healthy(&group).await?.len(), group.instances.len()),
                None => (0, 0),
            };
            if healthy >= wanted_n {
                return Ok(());
            }
            let waited = self.clock.now().duration_since(started).unwrap_or_default();
            if waited > self.wait {
                return Err(AwsError::new(
                    "waiting for the group's instances",
                    ErrorClass::Other,
                    "Timeout",
                    format!(
                        "{name} has {healthy} of {wanted} instances in service and healthy in \
                         its target groups ({all} in all) after {}s; rerun apply to keep \
                         waiting (--wait-timeout), or look at its activity history and its \
                         target groups' health",
                        self.wait.as_secs()
                    ),
                ));
            }
            self.progress.wait(
                format!("{name}: {healthy}/{wanted} instances in service and healthy"),
                waited,
                Some(self.wait),
            );
            self.clock.sleep(delay).await;
            delay = (delay * 2).min(MAX_DELAY);
        }
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::cloud::Cloud;
    use crate::testing::{self, FakeCloud, FakeGroup};
    use std::collections::BTreeMap;

    const NAME: &str = "shop-web_green";

    /// A group of 4 instances on version 1, whose template's default is now 2.
    fn cloud(change: impl FnOnce(&mut FakeGroup)) -> FakeCloud {
        let cloud = FakeCloud::default();
        let mut group = FakeGroup::running(4, 1, "tg-green");
        (group.version, group.launches) = (2, 2);
        change(&mut group);
        cloud.state().groups.insert(NAME.into(), group);
        cloud
    }

    async fn replace(cloud: &FakeCloud, batch: Option<usize>) -> Result<(), AwsError> {
        let mutator = cloud.mutator("us-west-2", "shop", &BTreeMap::new(), Progress::silent());
        let clock = testing::clock();
        let replacement = Replacement {
            mutator: &mutator,
            clock: &clock,
            progress: &Progress::silent(),
            wait: Duration::from_secs(600),
            region: "us-west-2",
        };
        replacement.run(NAME, batch).await
    }

    /// The versions the group's instances run, and its sizes.
    fn group(cloud: &FakeCloud) -> (Vec<i64>, i32, i32) {
        let state = cloud.state();
        let g = &state.groups[NAME];
        let versions = g.instances.values().map(|i| i.version).collect();
        (versions, g.desired, g.max)
    }

    fn terminations(cloud: &FakeCloud) -> usize {
        let calls = cloud.calls();
        calls.iter().filter(|c| c.starts_with("terminate")).count()
    }

    /// The terminations it refused so far are let through from now on.
    fn resume(cloud: &FakeCloud) {
        let mut state = cloud.state();
        state
            .groups
            .get_mut(NAME)
            .expect("group")
            .terminations_allowed = None;
    }

    fn lowest_healthy(cloud: &FakeCloud) -> usize {
        let state = cloud.state();
        *state
            .healthy_after_terminate
            .iter()
            .min()
            .expect("terminations")
    }

    #[tokio::test]
    async fn new_first_launches_all_before_it_terminates_then_puts_the_size_back() {
        let cloud = cloud(|_| {});
        replace(&cloud, None).await.expect("replaced");
        assert_eq!(group(&cloud), (vec![2, 2, 2, 2], 4, 4));
        let calls = cloud.calls();
        let surge = calls
            .iter()
            .position(|c| c == &format!("capacity {NAME} 8 (max 8)"));
        let first_kill = calls.iter().position(|c| c.starts_with("terminate"));
        assert!(
            surge.expect("surged") < first_kill.expect("terminated"),
            "{calls:#?}"
        );
        assert!(lowest_healthy(&cloud) >= 4, "capacity dropped: {calls:#?}");
    }

    #[tokio::test]
    async fn batches_never_take_healthy_capacity_below_what_the_plan_kept() {
        let cloud = cloud(|_| {});
        replace(&cloud, Some(2)).await.expect("replaced");
        assert_eq!(group(&cloud), (vec![2, 2, 2, 2], 4, 4));
        assert_eq!(lowest_healthy(&cloud), 2);
        let terminations = terminations(&cloud);
        assert_eq!(terminations, 4);
    }

    /// A new instance turns unhealthy just before the second batch: the
    /// batch shrinks to what keeps 2 healthy, where taking 2 would leave 1.
    #[tokio::test]
    async fn an_instance_turning_unhealthy_mid_replacement_makes_the_batch_smaller() {
        let cloud = cloud(|g| g.sicken = Some((3, "i-new-1".into(), 4)));
        replace(&cloud, Some(2)).await.expect("replaced");
        assert_eq!(group(&cloud), (vec![2, 2, 2, 2], 4, 4));
        assert_eq!(lowest_healthy(&cloud), 2, "{:#?}", cloud.calls());
    }

    /// An outdated instance that is unhealthy costs no healthy capacity: it
    /// goes first, with as many healthy ones as the floor allows.
    #[tokio::test]
    async fn an_unhealthy_outdated_instance_goes_first() {
        let cloud = cloud(|g| g.sicken = Some((1, "i-old-3".into(), 100)));
        replace(&cloud, Some(2)).await.expect("replaced");
        let calls = cloud.calls();
        let first = calls.iter().find(|c| c.starts_with("terminate"));
        assert_eq!(first.map(String::as_str), Some("terminate i-old-3"));
        assert_eq!(lowest_healthy(&cloud), 2, "{calls:#?}");
        assert_eq!(group(&cloud).0, vec![2, 2, 2, 2]);
    }

    /// The default version launches something older (a template edited
    /// back): replacements are outdated too, and are not chased forever.
    #[tokio::test]
    async fn a_replacement_that_is_itself_outdated_is_not_chased_forever() {
        let cloud = cloud(|g| g.launches = 1);
        let error = replace(&cloud, Some(2)).await.expect_err("refused");
        assert_eq!(error.code, "StillOutdated");
        assert!(error.message.contains("version 2"), "{}", error.message);
        let terminations = terminations(&cloud);
        assert_eq!(terminations, 4, "as many as were outdated at first");
    }

    /// Interrupted after its first termination, the replacement is finished
    /// by the next run, which reads what is left from the group.
    #[tokio::test]
    async fn an_interrupted_replacement_converges_on_the_rerun() {
        let cloud = cloud(|g| g.terminations_allowed = Some(1));
        let error = replace(&cloud, Some(2)).await.expect_err("interrupted");
        assert_eq!(error.class, ErrorClass::Transient);
        assert_eq!(group(&cloud).0.iter().filter(|v| **v == 1).count(), 3);
        resume(&cloud);
        replace(&cloud, Some(2)).await.expect("finished");
        assert_eq!(group(&cloud), (vec![2, 2, 2, 2], 4, 4));
        assert_eq!(lowest_healthy(&cloud), 2);
    }

    /// New first, interrupted after its surge (no termination yet) or
    /// midway through the old ones: the rerun finishes at the group's own
    /// size, recorded on the group, not at the surged one.
    #[tokio::test]
    async fn an_interrupted_new_first_replacement_finishes_at_the_groups_own_size() {
        for allowed in [0, 2] {
            let cloud = cloud(|g| g.terminations_allowed = Some(allowed));
            replace(&cloud, None).await.expect_err("interrupted");
            let state = cloud.state().groups[NAME].clone();
            assert_eq!(state.surged_from, Some((4, 4)), "the size before the surge");
            assert_eq!(state.desired, 8 - i32::try_from(allowed).unwrap());
            resume(&cloud);
            replace(&cloud, None).await.expect("finished");
            assert_eq!(group(&cloud), (vec![2, 2, 2, 2], 4, 4), "after {allowed}");
            assert_eq!(cloud.state().groups[NAME].surged_from, None);
            assert!(lowest_healthy(&cloud) >= 4, "{:#?}", cloud.calls());
        }
    }

    /// Interrupted after the old ones went but before the size was put back:
    /// the rerun only puts it back.
    #[tokio::test]
    async fn a_surge_left_with_nothing_outdated_is_put_back() {
        let cloud = cloud(|g| {
            (g.version, g.launches) = (1, 1);
            (g.desired, g.max, g.surged_from) = (6, 6, Some((4, 5)));
        });
        replace(&cloud, None).await.expect("put back");
        assert_eq!(
            cloud.calls(),
            [
                format!("capacity {NAME} 4 (max 5)"),
                format!("surge {NAME} from None")
            ]
        );
    }

    /// A group whose capacity does not come back fails after the wait
    /// timeout, saying how far it got; nothing more is terminated.
    #[tokio::test]
    async fn capacity_that_never_comes_back_fails_after_the_wait_timeout() {
        let cloud = cloud(|g| g.sicken = Some((2, "i-new-1".into(), u32::MAX)));
        let error = replace(&cloud, Some(2)).await.expect_err("timed out");
        assert_eq!(error.code, "Timeout");
        assert!(error.message.contains("3 of 4"), "{}", error.message);
        let terminations = terminations(&cloud);
        assert_eq!(terminations, 2);
    }

    /// A group with nothing outdated is left alone.
    #[tokio::test]
    async fn a_group_with_nothing_outdated_is_left_alone() {
        let cloud = cloud(|g| g.version = 1);
        replace(&cloud, None).await.expect("nothing to do");
        replace(&cloud, Some(1)).await.expect("nothing to do");
        assert!(cloud.calls().is_empty(), "{:#?}", cloud.calls());
    }
}
