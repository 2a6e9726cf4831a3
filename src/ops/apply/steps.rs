//! A plan's changes as steps (create, update, delete, rules) and the order
//! they wait on each other in: what apply's graph walk runs.

use super::Planned;
use crate::model::{Address, Kind, Observed, ReplaceOrder};
use crate::plan::{Action, ResourceChange};
use crate::stack::Stack;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Create,
    Update,
    Delete,
    /// A new security group's rules that name groups created in the same
    /// apply: added once those exist (`Resource::late_references`).
    Rules,
}

impl StepKind {
    pub(super) fn doing(self) -> &'static str {
        match self {
            StepKind::Create => "creating",
            StepKind::Update => "updating",
            StepKind::Delete => "deleting",
            StepKind::Rules => "adding the rules naming other new groups",
        }
    }

    pub(super) fn verb(self) -> &'static str {
        match self {
            StepKind::Create => "create",
            StepKind::Update => "update",
            StepKind::Delete => "delete",
            StepKind::Rules => "add rules to",
        }
    }

    pub(super) fn done(self) -> &'static str {
        match self {
            StepKind::Create => "created",
            StepKind::Update => "updated",
            StepKind::Delete => "deleted",
            StepKind::Rules => "added its rules to",
        }
    }
}

pub(super) struct Step<'a> {
    pub(super) kind: StepKind,
    pub(super) change: &'a ResourceChange,
    pub(super) observed: Option<&'a Observed>,
    /// Every live id the plan saw at this address: a create never takes one of
    /// them for what it made.
    pub(super) known_ids: Vec<String>,
}

pub(super) fn steps<'a>(stack: &Stack, planned: &'a Planned) -> Vec<Step<'a>> {
    // Groups this plan creates, per region: what a new group's rules may
    // have to wait for.
    let created = |region: &str, a: &Address| {
        planned.plan.changes.iter().any(|c| {
            c.region == region
                && &c.address == a
                && matches!(c.action, Action::Create | Action::Replace)
        })
    };
    let observed_by_id = |c: &ResourceChange| {
        let id = c.live_id.as_deref()?;
        planned
            .live
            .get(&c.region)?
            .resources
            .iter()
            .find(|o| o.live_id == id)
    };
    let known_ids = |c: &ResourceChange| -> Vec<String> {
        let live = planned.live.get(&c.region).map(|l| l.resources.as_slice());
        live.unwrap_or_default()
            .iter()
            .filter(|o| o.address == c.address)
            .map(|o| o.live_id.clone())
            .collect()
    };
    let mut steps = Vec::new();
    for change in &planned.plan.changes {
        let observed = observed_by_id(change);
        let mut push = |kind| {
            steps.push(Step {
                kind,
                change,
                observed,
                known_ids: if kind == StepKind::Create {
                    known_ids(change)
                } else {
                    vec![]
                },
            })
        };
        match change.action {
            Action::NoOp => {}
            Action::Create => push(StepKind::Create),
            Action::Update => push(StepKind::Update),
            Action::Delete => push(StepKind::Delete),
            Action::Replace if change.replace_order() == ReplaceOrder::CreateFirst => {
                push(StepKind::Create);
                push(StepKind::Delete);
            }
            Action::Replace => {
                push(StepKind::Delete);
                push(StepKind::Create);
            }
        }
        if matches!(change.action, Action::Create | Action::Replace)
            && late_references(stack, &change.address)
                .iter()
                .any(|a| created(&change.region, a))
        {
            push(StepKind::Rules);
        }
    }
    steps
}

/// The groups the rules of the resource at `address` name, if it is declared
/// (`Resource::late_references`).
pub(super) fn late_references(stack: &Stack, address: &Address) -> BTreeSet<Address> {
    stack
        .resources
        .get(address)
        .map(|r| r.late_references())
        .unwrap_or_default()
}

/// Creates and updates follow references; a delete waits for everything that
/// still points at the resource to be deleted or updated away from it.
pub(super) fn dependencies(stack: &Stack, planned: &Planned, steps: &[Step]) -> Vec<Vec<usize>> {
    let by_address: HashMap<(&str, &Address, StepKind), usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.change.region.as_str(), &s.change.address, s.kind), i))
        .collect();
    // A subnet created on the CIDR of one deleted, with only route tables in
    // the old one: the old one goes first (its associations with it), the
    // route tables are pointed at the new one after.
    let handovers: Vec<crate::plan::Handover> = planned
        .live
        .iter()
        .flat_map(|(region, live)| {
            let changes: Vec<&ResourceChange> = planned
                .plan
                .changes
                .iter()
                .filter(|c| &c.region == region)
                .collect();
            crate::plan::cidr_handovers(&changes, live)
        })
        .filter(|h| h.clear)
        .collect();
    let handed_over = |region: &str, created: &Address| {
        handovers
            .iter()
            .find(|h| h.region == region && &h.created == created)
            .and_then(|h| {
                by_address
                    .get(&(region, &h.freed, StepKind::Delete))
                    .copied()
            })
    };
    let frees_cidr = |region: &str, freed: &Address| {
        handovers
            .iter()
            .any(|h| h.region == region && &h.freed == freed)
    };
    steps
        .iter()
        .map(|s| {
            let region = s.change.region.as_str();
            // A DNS zone is global: its steps run in its home region,
            // whichever region refers to it.
            let at = |a: &Address, k| {
                by_address.get(&(region, a, k)).copied().or_else(|| {
                    a.kind.service().global().then(|| {
                        by_address
                            .iter()
                            .find(|((_, b, kind), _)| *b == a && *kind == k)
                            .map(|(_, i)| *i)
                    })?
                })
            };
            match s.kind {
                StepKind::Rules => std::iter::once(s.change.address.clone())
                    .chain(late_references(stack, &s.change.address))
                    .filter_map(|a| at(&a, StepKind::Create))
                    .collect(),
                StepKind::Create | StepKind::Update => {
                    // A new group waits for none of the groups its rules name:
                    // those rules come in its `Rules` step.
                    let mut deps = stack
                        .resources
                        .get(&s.change.address)
                        .map(|r| {
                            if s.kind == StepKind::Create {
                                r.ordering_dependencies()
                            } else {
                                r.dependencies()
                            }
                        })
                        .unwrap_or_default();
                    // A blue-green forward may point at either colour, whatever
                    // the file's default action names.
                    if let Some(pair) = stack.blue_green.get(&s.change.address) {
                        deps.extend(
                            [&pair.blue, &pair.green]
                                .into_iter()
                                .filter_map(|c| c.address().cloned()),
                        );
                    }
                    let own_delete_first = s.kind == StepKind::Create
                        && s.change.replace_order() == ReplaceOrder::DeleteFirst;
                    let handover = (s.kind == StepKind::Create)
                        .then(|| handed_over(region, &s.change.address))
                        .flatten();
                    deps.iter()
                        .flat_map(|d| [at(d, StepKind::Create), at(d, StepKind::Update)])
                        .chain([
                            at(&s.change.address, StepKind::Delete).filter(|_| own_delete_first),
                            handover,
                        ])
                        .flatten()
                        .collect()
                }
                StepKind::Delete => {
                    let Some(gone) = s.observed else {
                        return vec![];
                    };
                    let users = planned
                        .live
                        .get(region)
                        .map(|l| l.resources.as_slice())
                        .unwrap_or_default();
                    let replaced_first = s.change.action == Action::Replace
                        && s.change.replace_order() == ReplaceOrder::CreateFirst;
                    let delete_first = s.change.action == Action::Replace && !replaced_first;
                    let own_create = at(&gone.address, StepKind::Create).filter(|_| replaced_first);
                    // Its route tables are updated to the subnet that takes its
                    // CIDR, which waits for this delete.
                    let handing_over = frees_cidr(region, &gone.address);
                    users
                        .iter()
                        .filter(|o| {
                            o.live_id != gone.live_id
                                && o.attrs.values().any(|v| v.mentions(&gone.live_id))
                        })
                        .flat_map(|o| {
                            // A group named by another group going too does not
                            // wait for it: each first revokes its own rules
                            // naming others, so two naming each other both go.
                            let groups = o.address.kind == Kind::SecurityGroup
                                && gone.address.kind == Kind::SecurityGroup;
                            let delete = steps.iter().position(|t| {
                                t.kind == StepKind::Delete
                                    && !groups
                                    && t.observed.is_some_and(|x| x.live_id == o.live_id)
                            });
                            // An update that re-points the user to the replacement of
                            // what is deleted runs after the replacement exists, and
                            // so after this delete (`Kind::binds_to_reference`).
                            let repoints = delete_first
                                && stack
                                    .resources
                                    .get(&o.address)
                                    .is_some_and(|r| r.dependencies().contains(&gone.address));
                            [
                                delete,
                                at(&o.address, StepKind::Update)
                                    .filter(|_| !repoints && !handing_over),
                            ]
                        })
                        .flatten()
                        .chain(own_create)
                        .collect()
                }
            }
        })
        .collect()
}
