//! `apply`: execute a plan as a dependency graph of steps, and report what was
//! done, what failed and what was skipped. Nothing is rolled back: the live
//! account is the state, so a rerun does exactly the remaining work.

mod group;
pub mod regions;
mod report;
mod steps;

pub use report::{ApplyReport, Entry, EntryOutcome, Report, StepError};
pub use steps::StepKind;
use steps::{dependencies, steps, Step};

use crate::aws::cloud::{Account, Cloud, Mutate};
use crate::aws::ErrorClass;
use crate::desired::{self, Resolve};
use crate::graph::{walk, Outcome};
use crate::model::profile::phase;
use crate::model::progress::Progress;
use crate::model::{Address, Attrs, Changed, Observed, ReplaceOrder, Value};
use crate::ops::clock::Clock;
use crate::ops::lock::Holding;
use crate::ops::plan::{Planned, SavedPlan};
use crate::plan::Action;
use crate::plan::Plan;
use crate::stack::spec::Reference;
use crate::stack::Stack;
use futures::TryFutureExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Instant;
use tracing::Instrument;

/// What `reconcile apply` was asked.
pub struct Request<'a> {
    /// A plan saved by `plan --out`: applied only if a fresh plan equals it.
    pub saved: Option<&'a SavedPlan>,
    /// `--region`; empty for all of the stack's.
    pub regions: Vec<String>,
    /// How long to wait for another run's lock.
    pub lock_timeout: std::time::Duration,
    /// Where to look for what the stack left in regions it no longer lists.
    pub search: crate::ops::plan::Search,
    /// What the plan is judged by besides protection (`ops::policy`).
    pub policies: Option<&'a crate::policy::Policies>,
    /// `--emergency`: the ticket, for policies to read.
    pub emergency: Option<&'a str>,
    pub settings: Settings,
}

/// `reconcile apply`: holding the stack's lock (taken before reading, so that
/// a second run plans only once the first is done), plans, lets `review` see
/// the plan (print it, ask for confirmation), refuses a plan that would lose
/// a protected resource, checks that apply has its inputs, and applies.
pub async fn converge<C: Account>(
    aws: &C,
    clock: &dyn Clock,
    stack: &Stack,
    request: Request<'_>,
    review: impl AsyncFnOnce(&Plan) -> anyhow::Result<()>,
) -> anyhow::Result<Report> {
    // The stack's regions of this run; a region the stack was removed from is
    // only pruned, and not locked.
    let lock_regions: Vec<String> = stack
        .regions
        .iter()
        .filter(|r| request.regions.is_empty() || request.regions.contains(r))
        .cloned()
        .collect();
    let name = stack.name.clone();
    let settings = &request.settings;
    let work = async {
        let mut planned = super::plan::run(aws, stack, &request.regions, request.search).await?;
        let context = super::policy::Context {
            operation: "apply",
            emergency: request.emergency,
            now: clock.now(),
        };
        super::policy::judge(request.policies, &mut planned.plan, stack, &context)?;
        if let Some(saved) = request.saved {
            saved.check_current(&planned.plan)?;
        }
        review(&planned.plan).await?;
        super::plan::refuse(&planned.plan)?;
        let record = regions::before(aws, &planned)
            .instrument(phase("record regions"))
            .await?;
        if !planned.plan.has_changes() {
            return Ok(Report {
                stack: stack.name.clone(),
                entries: vec![],
            });
        }
        preflight(&planned)?;
        let report = run(aws, clock, &planned, settings).await;
        regions::after(aws, &planned, &report, record, &settings.progress)
            .instrument(phase("record regions emptied"))
            .await;
        Ok(report)
    };
    let lock = Holding {
        stack: &name,
        file: &stack.path,
        regions: &lock_regions,
        operation: "apply",
        wait: request.lock_timeout,
        clock,
        progress: &settings.progress,
    };
    super::lock::holding(aws, lock, work).await
}

pub struct Settings {
    pub parallelism: usize,
    /// Tagged on everything apply creates or changes (`super::change_record`).
    pub record: BTreeMap<String, String>,
    /// Receives one line per step start and end, and during long waits.
    pub progress: Progress,
    /// `--wait-timeout`: how long apply waits for a group's new instances.
    pub wait_timeout: std::time::Duration,
}

/// What apply knows about each resource while it runs: live id and exports,
/// updated as creates finish so that dependents resolve to the new ids.
type Registry = HashMap<(String, Address), (String, BTreeMap<String, String>)>;

struct ApplyResolver<'a> {
    region: &'a str,
    known: &'a Registry,
}

impl Resolve for ApplyResolver<'_> {
    fn reference(&self, reference: &Reference, own: &Address) -> Value {
        let id_of = |a: &Address| {
            lookup(self.known, self.region, a)
                .map_or(Value::Unknown, |(id, _)| Value::Id(id.clone()))
        };
        // A group naming itself before it exists: a marker the create
        // replaces with the new id (`Value::Unknown` is a group not created yet).
        let own_id = || match id_of(own) {
            Value::Unknown => Value::Ref(own.clone()),
            id => id,
        };
        match reference {
            Reference::Resource(a) if a == own => own_id(),
            Reference::Resource(a) => id_of(a),
            Reference::LiveId(id) => Value::Id(id.clone()),
            Reference::SelfGroup => own_id(),
        }
    }

    fn attribute(&self, target: &Address, attribute: &str) -> Option<String> {
        let (_, exports) = lookup(self.known, self.region, target)?;
        exports.get(attribute).cloned()
    }
}

/// What apply knows of `address` as seen from `region`: a DNS zone is global
/// and lives in its home region, wherever it is referenced from.
fn lookup<'a>(
    known: &'a Registry,
    region: &str,
    address: &Address,
) -> Option<&'a (String, BTreeMap<String, String>)> {
    known
        .get(&(region.to_string(), address.clone()))
        .or_else(|| {
            address
                .kind
                .service()
                .global()
                .then(|| {
                    known
                        .iter()
                        .find(|((_, a), _)| a == address)
                        .map(|(_, v)| v)
                })
                .flatten()
        })
}

/// Inputs apply needs that are not there, one line each.
#[derive(Debug, thiserror::Error)]
#[error("nothing was changed: {}", .0.join("; "))]
pub struct MissingInputs(Vec<String>);

/// What must hold before apply changes anything: every resource to create has
/// its inputs (a database's password variable is set).
pub fn preflight(planned: &Planned) -> Result<(), MissingInputs> {
    let stack = &planned.stack;
    let missing: Vec<String> = planned
        .plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Create | Action::Replace))
        .filter_map(|c| stack.resources.get(&c.address))
        .filter_map(desired::missing_inputs)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(MissingInputs(missing))
    }
}

/// Applies a plan.
pub async fn run<C: Cloud>(
    aws: &C,
    clock: &dyn Clock,
    planned: &Planned,
    settings: &Settings,
) -> Report {
    let stack = &planned.stack;
    let progress = |line: String| settings.progress.line(line);
    let steps = steps(stack, planned);
    let deps = dependencies(stack, planned, &steps);
    // What the plan saw (`observed`), and what apply may build on (`known`):
    // not what is about to be replaced or deleted.
    let mut observed = Registry::new();
    for c in &planned.plan.changes {
        if let Some(o) = planned.live.get(&c.region).and_then(|l| {
            l.resources
                .iter()
                .find(|o| Some(&o.live_id) == c.live_id.as_ref())
        }) {
            observed.insert(
                (c.region.clone(), c.address.clone()),
                (o.live_id.clone(), o.exports.clone()),
            );
        }
    }
    let known: Registry = planned
        .plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::NoOp | Action::Update))
        .filter_map(|c| {
            let key = (c.region.clone(), c.address.clone());
            let entry = observed.get(&key)?.clone();
            Some((key, entry))
        })
        .collect();
    let (known, observed) = (Mutex::new(known), &observed);
    let mutators: HashMap<&str, C::Mutator> = planned
        .plan
        .regions
        .iter()
        .map(|r| {
            (
                r.as_str(),
                aws.mutator(r, &stack.name, &settings.record, settings.progress.clone()),
            )
        })
        .collect();
    let acted_on: Mutex<HashMap<usize, String>> = Mutex::new(HashMap::new());

    let outcomes = walk(&deps, settings.parallelism, |i| {
        let step = &steps[i];
        let (known, mutators, acted_on) = (&known, &mutators, &acted_on);
        async move {
            let c = step.change;
            let label = format!("{} ({})", c.address, c.region);
            progress(format!("{label}: {}…", step.kind.doing()));
            let started = Instant::now();
            let mutator = &mutators[c.region.as_str()];
            let result = execute(stack, step, mutator, known, observed)
                .and_then(|id| async {
                    replace_instances(step, mutator, clock, settings).await?;
                    Ok(id)
                })
                .instrument(phase(&format!("apply {}", step.kind.verb())))
                .await;
            let elapsed = started.elapsed().as_secs_f32();
            match &result {
                Ok(id) => {
                    progress(format!(
                        "{label}: {} {id} [{elapsed:.1}s]",
                        step.kind.done()
                    ));
                    acted_on.lock().expect("lock").insert(i, id.clone());
                }
                Err(e) => progress(format!("{label}: failed after {elapsed:.1}s: {e}")),
            }
            result.map(drop)
        }
    })
    .await;

    let acted_on = acted_on.into_inner().expect("lock");
    let entries = outcomes
        .into_iter()
        .enumerate()
        .map(|(i, outcome)| {
            let c = steps[i].change;
            let outcome = match outcome {
                Outcome::Done => EntryOutcome::Done {
                    live_id: acted_on.get(&i).cloned(),
                },
                Outcome::Failed(error) => EntryOutcome::Failed {
                    error: error.to_string(),
                    class: error.class(),
                },
                Outcome::InCycle => EntryOutcome::Failed {
                    error: "steps wait on each other in a cycle".into(),
                    class: ErrorClass::Invalid,
                },
                Outcome::Skipped { upstream } => EntryOutcome::Skipped {
                    upstream: format!(
                        "{} ({})",
                        steps[upstream].change.address, steps[upstream].change.region
                    ),
                },
            };
            Entry {
                region: c.region.clone(),
                address: c.address.clone(),
                step: steps[i].kind,
                outcome,
            }
        })
        .collect();
    Report {
        stack: stack.name.clone(),
        entries,
    }
}

/// One step; returns the live id it acted on.
async fn execute(
    stack: &Stack,
    step: &Step<'_>,
    mutator: &impl Mutate,
    known: &Mutex<Registry>,
    observed_ids: &Registry,
) -> Result<String, StepError> {
    let c = step.change;
    let key = (c.region.clone(), c.address.clone());
    if step.kind == StepKind::Delete {
        let observed = step.observed.ok_or_else(no_longer_known)?;
        mutator.delete(observed).await?;
        return Ok(observed.live_id.clone());
    }
    let resource = stack
        .resources
        .get(&c.address)
        .ok_or_else(|| StepError::Missing(format!("{} is not in the stack file", c.address)))?;
    let observed = step.observed.cloned();
    let (attrs, observed) = {
        let snapshot = known.lock().expect("lock");
        let resolver = ApplyResolver {
            region: &c.region,
            known: &snapshot,
        };
        let as_observed = ApplyResolver {
            region: &c.region,
            known: observed_ids,
        };
        let mut attrs = desired::attrs(stack, resource, &c.region, &resolver);
        // The same adjustments a plan makes, on live ids (also for the create
        // of a replacement: the live colours of what it replaces carry over).
        let comparable = observed.as_ref().map(|o| {
            desired::against_live(
                stack,
                resource,
                &mut attrs,
                &o.attrs,
                &as_observed,
                &resolver,
            )
        });
        let observed = observed
            .zip(comparable)
            .filter(|_| step.kind == StepKind::Update)
            .map(|(mut o, comparable)| {
                o.attrs = comparable;
                o
            });
        (attrs, observed)
    };
    let self_rules_only =
        |(k, v): (&String, &Value)| k != "ingress" && k != "egress" && v.is_unknown();
    if let Some((k, _)) = attrs.iter().find(|kv| self_rules_only(*kv)) {
        return Err(StepError::Missing(format!(
            "`{k}` could not be resolved: what it refers to does not exist"
        )));
    }
    if step.kind == StepKind::Rules {
        return add_late_rules(resource, &attrs, mutator, known, &c.region).await;
    }
    if step.kind == StepKind::Create {
        // Rules naming groups not created yet come in the `Rules` step.
        let attrs = without_rules(&attrs, |g| g.is_unknown());
        let mut inputs = desired::inputs(resource);
        // A replacement made before the old one goes cannot take its name yet.
        if let Some(name) = step
            .observed
            .filter(|_| c.replace_order() == ReplaceOrder::CreateFirst)
            .and_then(|old| desired::held_name(&attrs, old))
        {
            inputs.insert(crate::model::NAME_HELD, name);
        }
        let created = mutator
            .create(&c.address, &attrs, &inputs, &step.known_ids)
            .await?;
        let id = created.live_id.clone();
        known
            .lock()
            .expect("lock")
            .insert(key, (created.live_id, created.exports));
        return Ok(id);
    }
    let observed = observed.ok_or_else(no_longer_known)?;
    let inputs = desired::inputs(resource);
    mutator
        .update(
            &observed,
            &attrs,
            &Changed::new(c.attributes.iter().map(|a| a.name.as_str())),
            &inputs,
        )
        .await?;
    Ok(observed.live_id.clone())
}

/// An Auto Scaling group updated because instances run an older version:
/// the update is done, now the instances move (`group`).
async fn replace_instances(
    step: &Step<'_>,
    mutator: &impl Mutate,
    clock: &dyn Clock,
    settings: &Settings,
) -> Result<(), StepError> {
    let c = step.change;
    let outdated = step.kind == StepKind::Update
        && c.address.kind == crate::model::Kind::AutoscalingGroup
        && c.attributes.iter().any(|a| a.name == "instances");
    let Some(name) = c.live_id.as_deref().filter(|_| outdated) else {
        return Ok(());
    };
    let replacement = group::Replacement {
        mutator,
        clock,
        progress: &settings.progress,
        wait: settings.wait_timeout,
        region: &c.region,
    };
    let batch = c.instance_batch.and_then(|b| usize::try_from(b).ok());
    Ok(replacement.run(name, batch).await?)
}

/// `attrs` without the security group rules whose group `late` picks.
fn without_rules(attrs: &Attrs, late: impl Fn(&Value) -> bool) -> Attrs {
    let mut attrs = attrs.clone();
    for key in ["ingress", "egress"] {
        if let Some(Value::List(rules)) = attrs.get_mut(key) {
            rules.retain(|r| {
                !r.as_map()
                    .and_then(|m| m.get("security_group"))
                    .is_some_and(&late)
            });
        }
    }
    attrs
}

/// A new group's rules naming groups created after it, now that they exist:
/// from the rules its create made (all but those) to all of them.
async fn add_late_rules(
    resource: &crate::stack::Resource,
    attrs: &Attrs,
    mutator: &impl Mutate,
    known: &Mutex<Registry>,
    region: &str,
) -> Result<String, StepError> {
    let (own, late_ids) = {
        let known = known.lock().expect("lock");
        let id = |a: &Address| {
            known
                .get(&(region.to_string(), a.clone()))
                .map(|(id, _)| id.clone())
        };
        let own = id(&resource.address).ok_or_else(no_longer_known)?;
        let late: Vec<String> = resource.late_references().iter().filter_map(id).collect();
        (own, late)
    };
    let as_created = Observed {
        address: resource.address.clone(),
        region: region.to_string(),
        live_id: own.clone(),
        attrs: without_rules(attrs, |g| {
            g.as_str().is_some_and(|g| late_ids.iter().any(|l| l == g))
        }),
        exports: BTreeMap::new(),
        handles: BTreeMap::new(),
    };
    mutator
        .update(
            &as_created,
            attrs,
            &Changed::new(["ingress", "egress"]),
            &desired::inputs(resource),
        )
        .await?;
    Ok(own)
}

fn no_longer_known() -> StepError {
    StepError::Missing("the live resource is no longer known".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LiveRegion;
    use crate::ops::clock::Clock;
    use crate::ops::plan;
    use crate::testing::{self, applied, live_mut, FakeCloud, DEMO};
    use std::collections::BTreeSet;

    const REGION: &str = "us-west-2";

    fn planned(stack: &Stack, live: LiveRegion) -> Planned {
        let live = BTreeMap::from([(REGION.to_string(), live)]);
        Planned {
            plan: crate::plan::build(stack, &[REGION.to_string()], &live),
            live,
            stack: stack.clone(),
        }
    }

    /// Each step as `kind address`, with the steps it waits for.
    fn ordering(stack: &Stack, planned: &Planned) -> BTreeMap<String, Vec<String>> {
        let steps = steps(stack, planned);
        let deps = dependencies(stack, planned, &steps);
        let name = |s: &Step| format!("{} {}", s.kind.verb(), s.change.address);
        steps
            .iter()
            .zip(&deps)
            .map(|(s, d)| {
                let mut waits: Vec<String> = d.iter().map(|&i| name(&steps[i])).collect();
                waits.sort();
                (name(s), waits)
            })
            .collect()
    }

    /// The first cycle among `steps`, as `kind address`, if any.
    fn cycle(steps: &[Step], deps: &[Vec<usize>]) -> Option<Vec<String>> {
        fn visit(
            i: usize,
            deps: &[Vec<usize>],
            done: &mut [bool],
            path: &mut Vec<usize>,
        ) -> Option<Vec<usize>> {
            if let Some(at) = path.iter().position(|&p| p == i) {
                return Some(path[at..].to_vec());
            }
            if done[i] {
                return None;
            }
            path.push(i);
            let found = deps[i].iter().find_map(|&d| visit(d, deps, done, path));
            path.pop();
            done[i] = true;
            found
        }
        let mut done = vec![false; steps.len()];
        (0..steps.len()).find_map(|i| {
            visit(i, deps, &mut done, &mut Vec::new()).map(|c| {
                c.iter()
                    .map(|&j| format!("{} {}", steps[j].kind.verb(), steps[j].change.address))
                    .collect()
            })
        })
    }

    #[test]
    fn a_vpc_replaced_takes_what_is_in_it_down_first_without_a_cycle() {
        let stack = testing::stack(DEMO);
        let mut live = applied(&stack, REGION);
        live_mut(&mut live, "vpc.main")
            .attrs
            .insert("cidr".into(), Value::str("10.99.0.0/16"));
        let planned = planned(&stack, live);
        let steps = steps(&stack, &planned);
        let deps = dependencies(&stack, &planned, &steps);
        assert_eq!(cycle(&steps, &deps), None);
        // Instances, groups, target groups and the load balancer (which cannot
        // leave its VPC), create-first on their own, need the new VPC, which
        // is made only after the old one (and so they) went.
        for address in [
            "security_group.app",
            "target_group.blue",
            "instance.web_blue[0]",
            "load_balancer.app",
        ] {
            let c = testing::change(&planned.plan, address);
            assert_eq!(
                (c.action, c.replace_order()),
                (Action::Replace, ReplaceOrder::DeleteFirst),
                "{address}"
            );
            assert!(
                c.reason.as_deref().unwrap().contains("(an outage): ")
                    && c.reason
                        .as_deref()
                        .unwrap()
                        .ends_with(" is replaced delete-first"),
                "{:?}",
                c.reason
            );
        }
        let order = ordering(&stack, &planned);
        assert!(order["create instance.web_blue[0]"]
            .contains(&"delete instance.web_blue[0]".to_string()));
    }

    #[test]
    fn a_subnet_replaced_in_place_is_deleted_first_and_its_users_repointed_after() {
        let stack = testing::stack(DEMO);
        let mut live = applied(&stack, REGION);
        live_mut(&mut live, "subnet.public_a")
            .attrs
            .insert("cidr".into(), Value::str("10.10.9.0/24"));
        let planned = planned(&stack, live);
        let order = ordering(&stack, &planned);
        // Same CIDR space: the old subnet goes first, the new one waits for that.
        assert!(order["create subnet.public_a"].contains(&"delete subnet.public_a".to_string()));
        // Its users move to the replacement once it exists...
        assert!(order["update route_table.public"].contains(&"create subnet.public_a".to_string()));
        // ...so the delete cannot wait for them (that would be a cycle).
        assert!(!order["delete subnet.public_a"].contains(&"update route_table.public".to_string()));
        // The load balancer stays in its VPC: its subnets change in place.
        assert!(order["update load_balancer.app"].contains(&"create subnet.public_a".to_string()));
        assert!(!order.contains_key("create load_balancer.app"));
    }

    #[test]
    fn groups_naming_each_other_are_created_first_and_given_those_rules_after() {
        let stack = testing::stack(
            r#"
[stack]
name = "t"
regions = ["us-west-2"]

[vpc.main]
cidr = "10.0.0.0/16"

[security_group.alb]
vpc = "vpc.main"
egress = [{ protocol = "tcp", port = 8080, security_group = "security_group.app" }]

[security_group.app]
vpc = "vpc.main"
ingress = [{ protocol = "tcp", port = 8080, security_group = "security_group.alb" }]
"#,
        );
        let planned = planned(&stack, LiveRegion::default());
        let order = ordering(&stack, &planned);
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(order["create security_group.alb"], s(&["create vpc.main"]));
        assert_eq!(order["create security_group.app"], s(&["create vpc.main"]));
        assert_eq!(
            order["add rules to security_group.alb"],
            s(&["create security_group.alb", "create security_group.app"])
        );
        assert_eq!(
            order["add rules to security_group.app"],
            s(&["create security_group.alb", "create security_group.app"])
        );
        // Both going: neither waits for the other's delete.
        let gone = testing::stack("[stack]\nname = \"t\"\nregions = [\"us-west-2\"]\n\n[vpc.main]\ncidr = \"10.0.0.0/16\"\n");
        let planned = self::planned(&gone, applied(&stack, REGION));
        let order = ordering(&gone, &planned);
        assert!(
            !order["delete security_group.alb"].contains(&"delete security_group.app".to_string())
        );
        assert!(
            !order["delete security_group.app"].contains(&"delete security_group.alb".to_string())
        );
    }

    #[test]
    fn a_target_group_replaced_create_first_is_deleted_only_once_nothing_forwards_to_it() {
        let stack = testing::stack(DEMO);
        let mut live = applied(&stack, REGION);
        live_mut(&mut live, "target_group.blue")
            .attrs
            .insert("port".into(), Value::Int(8080));
        let planned = planned(&stack, live);
        let order = ordering(&stack, &planned);
        let delete = &order["delete target_group.blue"];
        assert!(
            delete.contains(&"create target_group.blue".to_string()),
            "{delete:?}"
        );
        assert!(
            delete.contains(&"update listener_rule.app".to_string()),
            "{delete:?}"
        );
        let repoint = &order["update listener_rule.app"];
        assert!(
            repoint.contains(&"create target_group.blue".to_string()),
            "{repoint:?}"
        );
        assert!(
            !order.contains_key("create listener_rule.app"),
            "the rule is updated, not replaced"
        );
    }

    #[test]
    fn a_deleted_resource_waits_for_what_still_uses_it_to_go() {
        let stack = testing::stack(&DEMO.replace(
            "[security_group.app]\nvpc = \"vpc.main\"\ndescription = \"instances: HTTP from the load balancer\"\ningress = [{ protocol = \"tcp\", port = 80, security_group = \"security_group.web\" }]\ntags = { vpc = \"${vpc.main.id}\" }\n",
            "",
        ).replace("security_groups = [\"security_group.app\"]", "security_groups = [\"security_group.web\"]"));
        let full = testing::stack(DEMO);
        let mut live = applied(&full, REGION);
        // The instances still use the group the file no longer has.
        for o in live
            .resources
            .iter_mut()
            .filter(|o| o.address.kind == crate::model::Kind::Instance)
        {
            o.attrs.insert(
                "security_groups".into(),
                Value::set([Value::Id("id-security_group.app".into())]),
            );
        }
        let planned = planned(&stack, live);
        let order = ordering(&stack, &planned);
        let delete = &order["delete security_group.app"];
        assert!(
            delete.contains(&"update instance.web_blue[0]".to_string()),
            "{delete:?}"
        );
        assert!(
            delete.contains(&"update instance.web_green[1]".to_string()),
            "{delete:?}"
        );
    }

    fn report() -> Report {
        let entry = |address: &str, step, outcome| Entry {
            region: REGION.into(),
            address: Address::parse(address).unwrap(),
            step,
            outcome,
        };
        Report {
            stack: "demo".into(),
            entries: vec![
                entry(
                    "vpc.main",
                    StepKind::Update,
                    EntryOutcome::Done {
                        live_id: Some("vpc-0a1".into()),
                    },
                ),
                entry(
                    "subnet.public_a",
                    StepKind::Create,
                    EntryOutcome::Failed {
                        error: "CreateSubnet: InvalidSubnet.Conflict: the CIDR conflicts".into(),
                        class: ErrorClass::Conflict,
                    },
                ),
                entry(
                    "route_table.public",
                    StepKind::Update,
                    EntryOutcome::Skipped {
                        upstream: "subnet.public_a (us-west-2)".into(),
                    },
                ),
            ],
        }
    }

    #[test]
    fn the_apply_report_says_what_failed_was_skipped_and_done() {
        let report = report();
        assert!(report.failed());
        insta::assert_snapshot!("apply_report_text", report.render());
        insta::assert_json_snapshot!("apply_report_json", report);
    }

    /// A network with an instance in one of its two subnets.
    const NETWORK: &str = r#"
[stack]
name = "net"
regions = ["us-west-2"]

[vpc.main]
cidr = "10.0.0.0/16"

[subnet.a]
vpc = "vpc.main"
cidr = "10.0.1.0/24"
zone = "a"

[subnet.b]
vpc = "vpc.main"
cidr = "10.0.2.0/24"
zone = "b"

[security_group.web]
vpc = "vpc.main"
description = "web"
ingress = [{ protocol = "tcp", port = 80, cidr = "0.0.0.0/0" }]

[instance.web]
ami = "ami-0123456789abcdef0"
instance_type = "t3.micro"
subnet = "subnet.a"
security_groups = ["security_group.web"]
"#;

    fn request(lock_timeout: std::time::Duration) -> Request<'static> {
        Request {
            saved: None,
            regions: vec![],
            lock_timeout,
            search: Default::default(),
            policies: None,
            emergency: None,
            settings: Settings {
                parallelism: 4,
                record: BTreeMap::new(),
                progress: Progress::silent(),
                wait_timeout: std::time::Duration::from_secs(3600),
            },
        }
    }

    async fn converge_on(cloud: &FakeCloud, stack: &Stack) -> anyhow::Result<Report> {
        let request = request(std::time::Duration::ZERO);
        converge(cloud, &testing::clock(), stack, request, async |_| Ok(())).await
    }

    #[tokio::test]
    async fn converge_creates_a_stack_in_order_and_the_next_plan_is_empty() {
        let cloud = FakeCloud::default();
        let stack = testing::stack(NETWORK);
        let report = converge_on(&cloud, &stack).await.unwrap();
        assert!(!report.failed(), "{}", report.render());
        assert_eq!(
            report.render(),
            "Apply complete: 5 created, 0 updated, 0 deleted.\n"
        );
        let created: Vec<String> = cloud
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("create"))
            .collect();
        let at = |what: &str| created.iter().position(|c| c.contains(what)).unwrap();
        assert!(at("vpc.main") < at("subnet.a"));
        assert!(at("subnet.a") < at("instance.web"));
        assert!(at("security_group.web") < at("instance.web"));
        let again = super::super::plan::run(&cloud, &stack, &[], Default::default())
            .await
            .unwrap();
        assert!(!again.plan.has_changes(), "{:#?}", again.plan.changes);
        assert_eq!(
            cloud
                .calls()
                .iter()
                .filter(|c| c.starts_with("lock"))
                .count(),
            1,
            "the lock is taken once"
        );
        assert!(cloud.state().locks.is_empty(), "and given back");
    }

    #[tokio::test]
    async fn a_failed_create_skips_its_dependents_lets_the_rest_finish_and_a_rerun_converges() {
        let cloud = FakeCloud::default();
        cloud.fail(REGION, "subnet.a", ErrorClass::Invalid);
        let stack = testing::stack(NETWORK);
        let report = converge_on(&cloud, &stack).await.unwrap();
        assert!(report.failed());
        let text = report.render();
        assert!(
            text.starts_with("Apply stopped on stack net: 1 failed, 1 skipped, 3 done."),
            "{text}"
        );
        assert!(
            text.contains(
                "failed   subnet.a (us-west-2): create: Create: Injected: refused by the test"
            ),
            "{text}"
        );
        assert!(
            text.contains("skipped  instance.web (us-west-2): create waits on subnet.a"),
            "{text}"
        );
        assert_eq!(
            cloud.addresses(REGION),
            ["security_group.web", "subnet.b", "vpc.main"]
        );
        let failed = report
            .entries
            .iter()
            .find(|e| matches!(e.outcome, EntryOutcome::Failed { .. }))
            .unwrap();
        assert!(matches!(
            failed.outcome,
            EntryOutcome::Failed {
                class: ErrorClass::Invalid,
                ..
            }
        ));

        cloud.state().failing.clear();
        let rerun = converge_on(&cloud, &stack).await.unwrap();
        assert_eq!(
            rerun.render(),
            "Apply complete: 2 created, 0 updated, 0 deleted.\n",
            "only what was left"
        );
        assert_eq!(
            cloud.addresses(REGION),
            [
                "instance.web",
                "security_group.web",
                "subnet.a",
                "subnet.b",
                "vpc.main"
            ]
        );
    }

    #[tokio::test]
    async fn a_lock_held_by_another_run_is_waited_for_on_the_clock_then_refuses_with_nothing_changed(
    ) {
        let cloud = FakeCloud::default();
        cloud
            .state()
            .locks
            .insert(REGION.into(), testing::someone_elses_lock());
        let stack = testing::stack(NETWORK);
        let clock = testing::clock();
        let started = clock.now();
        let wait = std::time::Duration::from_secs(600);
        let refused = converge(&cloud, &clock, &stack, request(wait), async |_| {
            panic!("nothing is planned without the lock")
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(
            refused.starts_with(
                "stack net is locked in us-west-2 by bob@laptop (pid 42) (apply, since"
            ),
            "{refused}"
        );
        assert!(refused.contains("nothing was changed"), "{refused}");
        let waited = clock.now().duration_since(started).unwrap();
        assert!(
            waited >= wait && waited < wait + std::time::Duration::from_secs(5),
            "{waited:?}"
        );
        assert!(cloud.calls().is_empty(), "{:?}", cloud.calls());
        assert_eq!(cloud.state().locks[REGION].token, "bobs-run", "not broken");
    }

    #[tokio::test]
    async fn a_certificate_in_another_region_validates_through_the_zone_created_first() {
        let cloud = FakeCloud::default();
        let stack = testing::stack(
            "[stack]\nname = \"tls\"\nregions = [\"us-west-2\", \"eu-west-1\"]\n\n\
             [dns_zone.main]\nname = \"example.com\"\n\n\
             [acm_certificate.site]\ndomain = \"shop.example.com\"\nvalidation_zone = \"dns_zone.main\"\n",
        );
        let planned = plan::run(&cloud, &stack, &[], Default::default())
            .await
            .unwrap();
        // Each region's certificate waits for the zone, created in its home.
        let steps = steps(&stack, &planned);
        let deps = dependencies(&stack, &planned, &steps);
        let waits: Vec<(String, Vec<String>)> = steps
            .iter()
            .zip(&deps)
            .filter(|(s, _)| s.change.address.kind == crate::model::Kind::AcmCertificate)
            .map(|(s, d)| {
                let on = d.iter().map(|&i| {
                    let w = &steps[i].change;
                    format!("{} {}", w.address, w.region)
                });
                (s.change.region.clone(), on.collect())
            })
            .collect();
        let zone = || vec!["dns_zone.main us-west-2".to_string()];
        assert_eq!(
            waits,
            [
                ("us-west-2".to_string(), zone()),
                ("eu-west-1".to_string(), zone())
            ]
        );
        let report = converge_on(&cloud, &stack).await.unwrap();
        assert!(!report.failed(), "{}", report.render());
        {
            let state = cloud.state();
            let zone = &state.live["us-west-2"]
                .iter()
                .find(|o| o.address.kind == crate::model::Kind::DnsZone)
                .unwrap()
                .live_id;
            for region in ["us-west-2", "eu-west-1"] {
                let cert = state.live[region]
                    .iter()
                    .find(|o| o.address.kind == crate::model::Kind::AcmCertificate)
                    .unwrap();
                assert_eq!(
                    cert.attrs["validation_zone"].as_str(),
                    Some(zone.as_str()),
                    "{region}"
                );
            }
        }
        let again = plan::run(&cloud, &stack, &[], Default::default())
            .await
            .unwrap();
        assert!(!again.plan.has_changes(), "{:?}", again.plan.changes);
    }

    /// A stack of one VPC in `regions` (TOML list items).
    fn vpc_in(regions: &str) -> Stack {
        testing::stack(&format!(
            "[stack]\nname = \"net\"\nregions = [{regions}]\n\n[vpc.main]\ncidr = \"10.0.0.0/16\"\n"
        ))
    }

    #[tokio::test]
    async fn the_regions_record_finds_a_region_the_file_left_without_searching_every_region() {
        let cloud = FakeCloud::default();
        // Applied before the record existed: the first plan searches every region.
        converge_on(&cloud, &vpc_in("\"us-west-2\", \"eu-west-1\""))
            .await
            .unwrap();
        assert_eq!(
            cloud.state().searches,
            1,
            "no record yet: every region searched"
        );
        let both = BTreeSet::from(["eu-west-1".to_string(), "us-west-2".to_string()]);
        assert_eq!(cloud.state().recorded["us-west-2"], both);
        assert_eq!(cloud.state().recorded["eu-west-1"], both);

        // eu-west-1 leaves the file: the record names it, no search is made,
        // its VPC is deleted, and it leaves the record.
        let one = vpc_in("\"us-west-2\"");
        let planned = plan::run(&cloud, &one, &[], Default::default())
            .await
            .unwrap();
        assert_eq!(planned.plan.regions, ["us-west-2", "eu-west-1"]);
        assert_eq!(cloud.state().searches, 1, "the record said where to look");
        let report = converge_on(&cloud, &one).await.unwrap();
        assert_eq!(
            report.render(),
            "Apply complete: 0 created, 0 updated, 1 deleted.\n"
        );
        assert!(cloud.addresses("eu-west-1").is_empty());
        {
            let state = cloud.state();
            assert_eq!(
                state.recorded.keys().collect::<Vec<_>>(),
                ["us-west-2"],
                "{:?}",
                state.calls
            );
            assert_eq!(
                state.recorded["us-west-2"],
                BTreeSet::from(["us-west-2".to_string()])
            );
            assert!(state
                .calls
                .contains(&"forget regions in eu-west-1".to_string()));
            assert_eq!(state.searches, 1);
        }

        // In sync: the plan reads one region, records nothing, searches nothing.
        let writes = cloud.calls().len();
        converge_on(&cloud, &one).await.unwrap();
        assert_eq!(
            cloud.calls()[writes..],
            ["lock us-west-2", "unlock us-west-2"]
        );
        assert_eq!(cloud.state().searches, 1);
        // Asked to, it searches every region all the same.
        plan::run(&cloud, &one, &[], plan::Search::AllRegions)
            .await
            .unwrap();
        assert_eq!(cloud.state().searches, 2);
    }

    /// A region the stack left, found by searching every region (no record
    /// yet), stays recorded while its prune fails, and leaves the record once
    /// emptied: a failed prune is never forgotten.
    #[tokio::test]
    async fn a_region_found_by_the_search_stays_recorded_until_it_is_emptied() {
        let cloud = FakeCloud::default();
        converge_on(&cloud, &vpc_in("\"us-west-2\", \"eu-west-1\""))
            .await
            .unwrap();
        cloud.state().recorded.clear(); // as if applied before the record existed
        cloud.fail("eu-west-1", "vpc.main", ErrorClass::DependencyViolation);
        let one = vpc_in("\"us-west-2\"");
        let report = converge_on(&cloud, &one).await.unwrap();
        assert!(report.failed(), "{}", report.render());
        assert_eq!(
            cloud.state().searches,
            2,
            "no record: every region searched"
        );
        let kept = cloud.state().recorded["us-west-2"].clone();
        assert!(
            kept.contains("eu-west-1"),
            "it still holds the VPC: {kept:?}"
        );

        cloud.state().failing.clear();
        converge_on(&cloud, &one).await.unwrap();
        assert_eq!(cloud.state().searches, 2, "found through the record");
        assert!(cloud.addresses("eu-west-1").is_empty());
        assert_eq!(
            cloud.state().recorded["us-west-2"],
            BTreeSet::from(["us-west-2".to_string()])
        );
    }
}
