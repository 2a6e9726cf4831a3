//! The operations behind the commands: each takes a loaded stack and settings,
//! talks to AWS through `crate::aws`, and returns data for the printer.

pub mod apply;
pub mod clock;
pub mod cutover;
pub mod import;
pub mod lock;
pub mod plan;
pub mod policy;
pub mod rollout;
pub mod status;
pub mod verify;

use crate::aws::cloud::Discover;
use crate::model::{Address, Kind, LiveRegion, Observed, MOVED_FROM};
use crate::stack::Stack;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;

/// Runs `work` until it ends or the process is told to stop (Ctrl-C, SIGTERM):
/// then it is dropped (steps under way are abandoned) and an error says so.
pub async fn interruptible<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::select! {
        result = work => result,
        () = stop_signal() => bail!(INTERRUPTED),
    }
}

/// Resolves when the process is told to stop: Ctrl-C (SIGINT) or SIGTERM.
pub async fn stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// A command that changes a stack, and may do so from a saved plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changing {
    Apply,
    Rollout,
}

impl Changing {
    fn command(self) -> &'static str {
        match self {
            Changing::Apply => "apply",
            Changing::Rollout => "rollout",
        }
    }
}

/// What a change works from: the stack, the saved plan it must match (if
/// any), and the regions it changes (empty: all of the stack's).
pub struct Subject {
    pub stack: Stack,
    pub saved: Option<plan::SavedPlan>,
    pub regions: Vec<String>,
    /// The stack's policies and `--policy` ones, parsed (`policy::load`).
    pub policies: Option<crate::policy::Policies>,
}

/// The rules of saved plans and of `[stack] approval`, for every command that
/// changes a stack, judged before any AWS call: a saved plan is loaded from
/// the texts it carries; `--region` cannot narrow it; a rollout needs a plan
/// of every region, and a stack file named beside it must be its stack; a
/// `saved-plan` stack is changed only from a saved plan (or an interactive
/// `apply`).
pub fn subject(
    command: Changing,
    stack_file: Option<&std::path::Path>,
    saved_plan: Option<&std::path::Path>,
    regions: &[String],
    auto_approve: bool,
    policy: &[std::path::PathBuf],
    vars: &crate::stack::vars::Overrides,
) -> Result<Subject> {
    let saved = saved_plan.map(plan::SavedPlan::read).transpose()?;
    if saved.is_some() && !vars.is_empty() {
        bail!(
            "--var cannot change a saved plan: it is applied with the values it was made with; \
             make a new plan with --var instead"
        );
    }
    let subject = match saved {
        None => {
            let path = stack_file.context("a stack file or a saved plan is needed")?;
            let stack = crate::stack::load_with(path, vars)?;
            Subject {
                policies: policy::load(&stack, policy)?,
                stack,
                saved: None,
                regions: regions.to_vec(),
            }
        }
        Some(saved) => {
            let stack = saved.stack()?;
            if let Some(given) = stack_file {
                let named = crate::stack::load(given)?;
                if named.name != stack.name {
                    bail!(
                        "{} is a plan of stack `{}`, not of {} (stack `{}`)",
                        saved_plan.unwrap_or(given).display(),
                        stack.name,
                        given.display(),
                        named.name
                    );
                }
            }
            if !regions.is_empty() {
                bail!(
                    "--region cannot narrow a saved plan; it covers {}",
                    saved.regions.join(", ")
                )
            }
            if command == Changing::Rollout && saved.regions != stack.regions {
                bail!(
                    "the saved plan covers {}; a rollout needs a plan of every region of the stack ({}): make it without --region",
                    saved.regions.join(", "),
                    stack.regions.join(", ")
                );
            }
            let policies = policy::load(&stack, policy)?;
            policy::same_as_saved(policies.as_ref(), &saved.policies)?;
            Subject {
                regions: saved.regions.clone(),
                policies,
                stack,
                saved: Some(saved),
            }
        }
    };
    let approved = Approved::of(subject.saved.is_some(), auto_approve);
    approve(&subject.stack, command, approved)?;
    Ok(subject)
}

/// How a change was approved, for `[stack] approval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Approved {
    /// From a plan saved by `plan --out` (reviewed when it was made).
    SavedPlan,
    /// Whoever runs it answers yes at the prompt.
    Prompt,
    /// `--auto-approve` of the stack file.
    Auto,
}

impl Approved {
    fn of(saved_plan: bool, auto_approve: bool) -> Approved {
        match (saved_plan, auto_approve) {
            (true, _) => Approved::SavedPlan,
            (false, true) => Approved::Auto,
            (false, false) => Approved::Prompt,
        }
    }
}

/// `[stack] approval = "saved-plan"`: the stack changes only from a reviewed
/// saved plan (or, for `apply`, an interactive yes). Refused before any AWS call.
fn approve(stack: &Stack, changing: Changing, approved: Approved) -> Result<()> {
    let command = changing.command();
    use crate::stack::spec::Approval;
    let refused = match (stack.approval, approved) {
        (Approval::Any, _) | (_, Approved::SavedPlan) => false,
        (Approval::SavedPlan, Approved::Auto) => true,
        // A rollout of a saved-plan stack has no prompt to stand in for the review.
        (Approval::SavedPlan, Approved::Prompt) => changing == Changing::Rollout,
    };
    if refused {
        let path = stack.path.display();
        let then = if changing == Changing::Rollout {
            "reconcile rollout --plan plan.json"
        } else {
            "reconcile apply plan.json"
        };
        bail!(
            "{path} says `approval = \"saved-plan\"`: `{command}` changes it only from a reviewed saved plan\n  \
             1. reconcile plan {path} --out plan.json   (review it: in CI, on the pull request)\n  \
             2. {then}"
        );
    }
    Ok(())
}

/// The change window's verdict before `command` changes anything: refused
/// (nothing changed, exit 1) unless an emergency ticket lets it through.
pub fn admit(
    stack: &Stack,
    now: std::time::SystemTime,
    emergency: Option<&str>,
    command: &str,
    progress: &crate::model::progress::Progress,
) -> Result<()> {
    if emergency.is_some_and(|t| t.trim().is_empty()) {
        bail!(
            "{command} refused: --emergency was given an empty ticket (a CI variable that was not \
             set?). Name the ticket that allows this change, e.g. --emergency INC-1234; nothing was changed."
        );
    }
    let Some(blocked) = stack.change_window.judge(now) else {
        return Ok(());
    };
    if let Some(ticket) = emergency {
        progress.line(format!(
            "change window: {}; going ahead with emergency ticket {ticket}",
            blocked.rule
        ));
        return Ok(());
    }
    let next = match blocked.next_opening {
        Some(t) => format!(
            "; the next window opens {} (in {})",
            humantime::format_rfc3339_seconds(t),
            spoken(t.duration_since(now).unwrap_or_default())
        ),
        None => "; no window opens in the next 18 months".into(),
    };
    bail!(
        "{command} refused by [change_window]: {}{next}. Nothing was changed; \
         pass --emergency TICKET to go ahead anyway (the ticket is recorded).",
        blocked.rule
    )
}

/// A wait as people say it, to the minute: `1 day 17 minutes`, `3 hours`,
/// `less than a minute`.
fn spoken(d: std::time::Duration) -> String {
    let minutes = d.as_secs() / 60;
    let parts: Vec<String> = [
        (minutes / 1440, "day"),
        (minutes / 60 % 24, "hour"),
        (minutes % 60, "minute"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, unit)| format!("{n} {unit}{}", if n == 1 { "" } else { "s" }))
    .collect();
    if parts.is_empty() {
        "less than a minute".into()
    } else {
        parts.join(" ")
    }
}

/// The change record tagged on what a change touches: its version label, when
/// (UTC), by whom, and the emergency ticket that let it through, if any;
/// refused before anything is read when a value cannot be carried in a tag.
pub fn change_record(
    version: Option<&str>,
    ticket: Option<&str>,
) -> Result<BTreeMap<String, String>> {
    let tags = record(version, ticket);
    carried(&tags)?;
    Ok(tags)
}

/// The change record as it stands: its version label, when (UTC), by whom,
/// and the emergency ticket, if any.
fn record(version: Option<&str>, ticket: Option<&str>) -> BTreeMap<String, String> {
    use crate::model::tags::{record, VERSION};
    let mut tags = BTreeMap::from([
        (
            record::TIME.to_string(),
            humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        ),
        (record::OPERATOR.to_string(), operator()),
    ]);
    if let Some(v) = version {
        tags.insert(VERSION.into(), v.into());
    }
    if let Some(t) = ticket {
        tags.insert(record::TICKET.into(), t.into());
    }
    tags
}

/// Every value of a record fits a tag (256 characters) once written
/// (`model::tags::encode`): a longer one is refused with what to shorten.
pub fn carried(record: &BTreeMap<String, String>) -> Result<()> {
    for (key, value) in record {
        let written = crate::model::tags::encode(value).chars().count();
        if written > 256 {
            bail!(
                "{key} = \"{value}\" is too long for a tag ({written} characters as written, AWS takes 256); \
                 shorten it (version labels, tickets and RECONCILE_OPERATOR are recorded on what changes)"
            );
        }
    }
    Ok(())
}

/// Who makes a change, for its record: `RECONCILE_OPERATOR`, else
/// `GITHUB_ACTOR`, else the local user.
pub fn operator() -> String {
    ["RECONCILE_OPERATOR", "GITHUB_ACTOR", "USER", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

const INTERRUPTED: &str = "interrupted: steps under way were abandoned and the lock released. \
    Nothing was rolled back; `reconcile plan` shows what remains.";

/// The regions a command works on: `--region` flags (which must be the stack's), or all.
pub fn select_regions(stack: &Stack, requested: &[String]) -> Result<Vec<String>> {
    if requested.is_empty() {
        return Ok(stack.regions.clone());
    }
    for r in requested {
        if !stack.regions.contains(r) {
            bail!(
                "--region {r} is not a region of stack {} ({}); choose among its regions",
                stack.name,
                stack.regions.join(", ")
            );
        }
    }
    Ok(stack
        .regions
        .iter()
        .filter(|r| requested.contains(r))
        .cloned()
        .collect())
}

/// What reading the account learned: the live state per region, and where
/// the stack's DNS lives (`home_dns`).
pub struct Observation {
    pub live: BTreeMap<String, LiveRegion>,
    /// The home region of each DNS block of the stack that is recorded live.
    pub homes: BTreeMap<Address, String>,
}

impl Observation {
    /// `stack` with its DNS blocks in their homes: what a plan, apply or
    /// check of this observation compares with.
    pub fn placed(&self, stack: &Stack) -> Stack {
        let mut placed = stack.clone();
        for (address, home) in &self.homes {
            if let Some(r) = placed.resources.get_mut(address) {
                r.regions = vec![home.clone()];
            }
        }
        placed
    }
}

/// Reads what the stack owns in every region, all regions and services at once
/// (Route53, which is global, once), then homes its DNS (`home_dns`).
pub async fn observe(
    aws: &impl Discover,
    stack: &Stack,
    regions: &[String],
) -> Result<Observation> {
    let live = read(aws, stack, regions, true).await?;
    settle(aws, stack, live).await
}

/// What the stack owns in each of `regions`, all at once; its DNS (global)
/// with the first of them when `dns`.
pub async fn read(
    aws: &impl Discover,
    stack: &Stack,
    regions: &[String],
    dns: bool,
) -> Result<BTreeMap<String, LiveRegion>> {
    let name = &stack.name;
    let reads = regions.iter().enumerate().map(|(i, region)| async move {
        let mut live = aws
            .discover(name, region, dns && i == 0)
            .await
            .with_context(|| format!("reading live resources of stack {name} in {region}"))?;
        // Global kinds (DNS) are read once, with the first region.
        let wanted = imports_wanted(stack, region, &live)
            .into_iter()
            .filter(|(a, _)| (dns && i == 0) || !a.kind.service().global())
            .collect::<Vec<_>>();
        if !wanted.is_empty() {
            let imported = aws.imports(name, region, &wanted).await.with_context(|| {
                format!("reading the live resources stack {name} imports in {region}")
            })?;
            live.resources.extend(imported);
        }
        Ok::<_, anyhow::Error>((region.clone(), live))
    });
    Ok(futures::future::try_join_all(reads)
        .await?
        .into_iter()
        .collect())
}

/// The blocks that name an `import` in `region` and own nothing there yet,
/// with the id each names: the resources to read by id.
fn imports_wanted(stack: &Stack, region: &str, live: &LiveRegion) -> Vec<(Address, String)> {
    stack
        .resources
        .values()
        .filter(|r| r.in_region(region))
        .filter_map(|r| Some((r.address.clone(), r.import_id(region)?.to_string())))
        .filter(|(address, _)| !live.resources.iter().any(|o| &o.address == address))
        .collect()
}

/// What `read` found, made whole: resources followed where they moved, DNS
/// homed, the records of adopted zones read.
pub async fn settle(
    aws: &impl Discover,
    stack: &Stack,
    mut live: BTreeMap<String, LiveRegion>,
) -> Result<Observation> {
    follow_moves(stack, &mut live);
    let homes = home_dns(stack, &mut live);
    needs_only_available(stack, &live)?;
    // A public zone the stack adopts may hold records already: a plan must
    // know them to refuse overwriting one (`plan::foreign_record`).
    for zone in adopted_zones(stack, &live) {
        let records = aws
            .zone_records(&zone)
            .await
            .with_context(|| format!("reading the records of hosted zone {zone}, to be adopted"))?;
        for l in live.values_mut() {
            l.foreign_records.extend(records.iter().cloned());
        }
    }
    Ok(Observation { live, homes })
}

/// The ids of the public zones the stack declares that exist unowned: the
/// ones a plan adopts.
fn adopted_zones(stack: &Stack, live: &BTreeMap<String, LiveRegion>) -> Vec<String> {
    let Some(adoptable) = live.values().next().map(|l| &l.adoptable_zones) else {
        return vec![];
    };
    stack
        .resources
        .values()
        .filter_map(|r| match &r.spec {
            crate::stack::Spec::DnsZone(z) if !z.private.get_ref() => {
                adoptable.get(&z.name.get_ref().trim_end_matches('.').to_lowercase())
            }
            _ => None,
        })
        .cloned()
        .collect()
}

/// A service the endpoint does not implement (LocalStack's community edition
/// has no ELBv2 or RDS) is fine for a stack that declares none of its kinds
/// (the plan warns), and an error for one that does.
fn needs_only_available(stack: &Stack, live: &BTreeMap<String, LiveRegion>) -> Result<()> {
    for (region, l) in live {
        for (service, u) in &l.unavailable {
            // Route53 is global: read once, for every region's DNS blocks.
            let needed: std::collections::BTreeSet<&str> = stack
                .resources
                .values()
                .filter(|r| r.address.kind.service() == *service)
                .filter(|r| service.global() || r.in_region(region))
                .map(|r| r.address.kind.as_str())
                .collect();
            if !needed.is_empty() {
                bail!(
                    "{service} is not available at {} ({}), and stack {} declares {} in {region}.\n  \
                     LocalStack's community edition has no ELBv2 and no RDS: run such stacks against \
                     moto (localstack/emulator.sh), LocalStack Pro or AWS",
                    u.endpoint,
                    u.answer,
                    stack.name,
                    needed.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
        }
    }
    Ok(())
}

/// `[[moved]]`: a live resource still tagged with an address the file renamed
/// belongs to its new block (unless that one exists live already). The plan
/// shows it as an update of `address`, which apply carries out by retagging.
pub fn follow_moves(stack: &Stack, live: &mut BTreeMap<String, LiveRegion>) {
    for l in live.values_mut() {
        let present: std::collections::BTreeSet<Address> =
            l.resources.iter().map(|o| o.address.clone()).collect();
        for o in &mut l.resources {
            if let Some(to) = stack
                .moved
                .get(&o.address)
                .filter(|to| !present.contains(to))
            {
                o.handles.insert(MOVED_FROM.into(), o.address.to_string());
                o.address = to.clone();
            }
        }
    }
}

/// DNS is global but homed in one region of the stack, where its plan shows
/// and an alias finds its load balancer. The home is the one recorded on the
/// live zone or record, so that reordering `[stack] regions` moves nothing;
/// a block naming its region moves it there, planned as an update of `home`
/// (never a new zone). Returns the homes of the stack's DNS blocks that the
/// live state decides, and places each DNS object read from Route53 in the
/// live state of its home, with the facts about unowned zones and records
/// every region's plan may need.
pub fn home_dns(
    stack: &Stack,
    live: &mut BTreeMap<String, LiveRegion>,
) -> BTreeMap<Address, String> {
    // Route53's and IAM's: global, homed in one region.
    let is_dns = |kind: Kind| kind.service().global();
    let mut dns = Vec::new();
    let (mut zones, mut records) = (BTreeMap::new(), std::collections::BTreeSet::new());
    for l in live.values_mut() {
        let (found, rest): (Vec<Observed>, Vec<Observed>) = std::mem::take(&mut l.resources)
            .into_iter()
            .partition(|o| is_dns(o.address.kind));
        l.resources = rest;
        dns.extend(found);
        zones.append(&mut l.adoptable_zones);
        records.append(&mut l.foreign_records);
    }
    let regions = &stack.regions;
    let homes: BTreeMap<Address, String> = stack
        .resources
        .values()
        .filter(|r| is_dns(r.address.kind) && r.spec.common().regions.is_none())
        .filter_map(|r| {
            let recorded = dns.iter().find(|o| o.address == r.address)?;
            Some((r.address.clone(), recorded.region.clone()))
                .filter(|(_, home)| regions.contains(home))
        })
        .collect();
    for mut o in dns {
        let home = match stack.resources.get(&o.address) {
            Some(r) => homes
                .get(&o.address)
                .cloned()
                .or_else(|| r.regions.first().cloned()),
            None => Some(o.region.clone()).filter(|h| regions.contains(h)),
        }
        .or_else(|| regions.first().cloned());
        if let Some((home, l)) = home.and_then(|h| live.get_mut(&h).map(|l| (h, l))) {
            o.region = home;
            l.resources.push(o);
        }
    }
    for l in live.values_mut() {
        l.adoptable_zones.clone_from(&zones);
        l.foreign_records.clone_from(&records);
    }
    homes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Unavailable;
    use crate::testing::{self, applied, DEMO};

    #[test]
    fn a_saved_plan_stack_is_changed_only_from_a_saved_plan_or_an_interactive_apply() {
        let any = testing::stack(DEMO);
        let saved_only =
            testing::stack(&DEMO.replace("version = ", "approval = \"saved-plan\"\nversion = "));
        for (auto, command) in [
            (true, Changing::Apply),
            (true, Changing::Rollout),
            (false, Changing::Rollout),
        ] {
            let approved = Approved::of(false, auto);
            assert!(approve(&any, command, approved).is_ok());
            let refused = approve(&saved_only, command, approved)
                .unwrap_err()
                .to_string();
            assert!(
                refused.contains("reconcile plan test.toml --out plan.json"),
                "{refused}"
            );
        }
        assert!(
            approve(&saved_only, Changing::Apply, Approved::of(false, false)).is_ok(),
            "a person says yes"
        );
        for command in [Changing::Apply, Changing::Rollout] {
            assert!(approve(&saved_only, command, Approved::of(true, true)).is_ok());
        }
    }

    #[test]
    fn a_missing_service_refuses_only_a_stack_that_declares_its_kinds() {
        let missing = |stack: &Stack| {
            let mut live = applied(stack, "us-west-2");
            live.unavailable.insert(
                crate::model::Service::Elbv2,
                Unavailable {
                    endpoint: "http://localhost:4566".into(),
                    answer: "InternalFailure: …".into(),
                },
            );
            needs_only_available(stack, &BTreeMap::from([("us-west-2".to_string(), live)]))
        };
        let demo = testing::stack(DEMO);
        let refused = missing(&demo).unwrap_err().to_string();
        assert!(
            refused.contains("stack demo declares listener, listener_rule, load_balancer, target_group in us-west-2"),
            "{refused}"
        );
        let network = testing::stack(
            "[stack]\nname = \"n\"\nregions = [\"us-west-2\"]\n\n[vpc.main]\ncidr = \"10.0.0.0/16\"\n",
        );
        assert!(missing(&network).is_ok());
    }

    #[test]
    fn a_record_value_too_long_for_a_tag_is_refused_before_anything_is_read() {
        assert!(change_record(Some("app:v1"), Some("INC-7")).is_ok());
        // 100 arrows are 900 characters once written: more than a tag holds.
        let refused = change_record(Some("app:v1"), Some(&"→".repeat(100)))
            .unwrap_err()
            .to_string();
        assert!(
            refused.starts_with("reconcile:record-ticket = ")
                && refused.contains("(900 characters as written, AWS takes 256)"),
            "{refused}"
        );
    }

    #[test]
    fn waits_are_said_as_people_say_them() {
        let min = |m: u64| spoken(std::time::Duration::from_secs(m * 60 + 7));
        assert_eq!(min(1457), "1 day 17 minutes");
        assert_eq!(min(180), "3 hours");
        assert_eq!(min(61), "1 hour 1 minute");
        assert_eq!(
            spoken(std::time::Duration::from_secs(42)),
            "less than a minute"
        );
    }
}
