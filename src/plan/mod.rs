//! The plan: what apply will do, as serialisable data. Building it is a pure
//! function of the stack and the observed live state; no AWS here.

pub mod diff;
pub mod render;

pub use diff::{Action, AttrChange};

use crate::desired::{self, Resolve};
use crate::model::{Address, Attrs, LiveRegion, Observed, Value};
use crate::stack::spec::Reference;
use crate::stack::Stack;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub format_version: u32,
    pub stack: String,
    pub regions: Vec<String>,
    pub changes: Vec<ResourceChange>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResourceChange {
    pub region: String,
    pub address: Address,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AttrChange>,
    /// Why, when the attributes alone do not say: a prune, a duplicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub protected: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub no_op: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            *match c.action {
                Action::NoOp => &mut s.no_op,
                Action::Create => &mut s.create,
                Action::Update => &mut s.update,
                Action::Replace => &mut s.replace,
                Action::Delete => &mut s.delete,
            } += 1;
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }

    /// Why this plan must not be applied: protected resources it would delete or replace.
    pub fn refusals(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter(|c| c.protected && matches!(c.action, Action::Replace | Action::Delete))
            .map(refusal)
            .collect()
    }
}

fn refusal(c: &ResourceChange) -> String {
    let id = c.live_id.as_deref().unwrap_or("?");
    let head = format!("{} in {} ({id}) is protected", c.address, c.region);
    if c.action == Action::Delete {
        let why = c.reason.as_deref().unwrap_or("not in the stack file");
        return format!(
            "{head} and this plan would delete it ({why}).\n  \
             Restore its block in the stack file. To delete it on purpose, first apply it with \
             `protect = false` (and `deletion_protection = false`), then remove the block."
        );
    }
    let forcing: Vec<String> = c
        .attributes
        .iter()
        .filter(|a| a.forces_replacement)
        .map(|a| {
            let show = |v: &Option<Value>| v.as_ref().map_or("(none)".into(), |v| v.to_string());
            format!("`{}` ({} → {})", a.name, show(&a.before), show(&a.after))
        })
        .collect();
    format!(
        "{head} and this plan would replace it: {} forces replacement.\n  \
         Revert that change, or list the attribute in ignore_changes. To replace it on purpose, \
         first apply it with `protect = false` (and `deletion_protection = false`), then apply the change.",
        forcing.join(", ")
    )
}

/// Resolves references for a plan: to addresses, or unknown when the target is
/// created or replaced by this same plan.
struct PlanResolver<'a> {
    observed: &'a HashMap<Address, &'a Observed>,
    changing: &'a BTreeSet<Address>,
    replaced: &'a BTreeSet<Address>,
}

impl Resolve for PlanResolver<'_> {
    fn reference(&self, reference: &Reference, own: &Address) -> Value {
        match reference {
            Reference::Resource(a) if self.replaced.contains(a) => Value::Unknown,
            Reference::Resource(a) => Value::Ref(a.clone()),
            Reference::LiveId(id) => Value::Id(id.clone()),
            Reference::SelfGroup => Value::Ref(own.clone()),
        }
    }

    fn attribute(&self, target: &Address, attribute: &str) -> Option<String> {
        if self.changing.contains(target) {
            return None;
        }
        self.observed.get(target)?.exports.get(attribute).cloned()
    }
}

fn normalise(attrs: &Attrs, owned: &HashMap<String, Address>) -> Attrs {
    attrs
        .iter()
        .map(|(k, v)| (k.clone(), v.normalise(owned)))
        .collect()
}

/// Compares the stack with what lives in each of `regions`.
pub fn build(stack: &Stack, regions: &[String], live: &BTreeMap<String, LiveRegion>) -> Plan {
    let empty = LiveRegion::default();
    let mut changes = Vec::new();
    for region in regions {
        let live = live.get(region).unwrap_or(&empty);
        changes.extend(region_changes(stack, region, live));
    }
    Plan {
        format_version: FORMAT_VERSION,
        stack: stack.name.clone(),
        regions: regions.to_vec(),
        changes,
    }
}

fn region_changes(stack: &Stack, region: &str, live: &LiveRegion) -> Vec<ResourceChange> {
    let owned = live.owned_ids();
    let mut sorted: Vec<&Observed> = live.resources.iter().collect();
    sorted.sort_by(|a, b| (&a.address, &a.live_id).cmp(&(&b.address, &b.live_id)));
    // Two live resources with one address (an interrupted create, a copy made by
    // hand): the first is managed, the others are pruned.
    let mut primary: HashMap<Address, &Observed> = HashMap::new();
    let mut changes = Vec::new();
    let mut extras = Vec::new();
    for o in sorted {
        if let Some(first) = primary.get(&o.address) {
            extras.push(delete(o, format!("duplicate of {}", first.live_id)));
        } else {
            primary.insert(o.address.clone(), o);
        }
    }

    let mut changing = BTreeSet::new();
    let mut replaced = BTreeSet::new();
    for r in stack.ordered(region) {
        let resolver = PlanResolver {
            observed: &primary,
            changing: &changing,
            replaced: &replaced,
        };
        let mut wanted = normalise(&desired::attrs(stack, r, region, &resolver), &owned);
        let observed = primary.get(&r.address);
        let seen = observed.map(|o| {
            let seen = normalise(&o.attrs, &owned);
            desired::keep_live_colours(stack, r, &mut wanted, &seen, &resolver);
            desired::comparable(r.address.kind, &wanted, &seen)
        });
        let ignore = r.ignored();
        let (action, attributes) =
            diff::diff(r.address.kind, Some(&wanted), seen.as_ref(), &ignore);
        match action {
            Action::Create => {
                changing.insert(r.address.clone());
            }
            Action::Replace => {
                changing.insert(r.address.clone());
                replaced.insert(r.address.clone());
            }
            _ => {}
        }
        changes.push(ResourceChange {
            region: region.to_string(),
            address: r.address.clone(),
            action,
            live_id: observed.map(|o| o.live_id.clone()),
            attributes,
            reason: (action == Action::Update)
                .then(|| desired::update_timing(r))
                .flatten()
                .map(str::to_string),
            protected: r.spec.common().protect || observed.is_some_and(|o| o.protected()),
        });
    }

    let mut pruned: Vec<&&Observed> = primary
        .values()
        .filter(|o| {
            !stack
                .resources
                .get(&o.address)
                .is_some_and(|r| r.in_region(region))
        })
        .collect();
    pruned.sort_by_key(|o| &o.address);
    for o in pruned {
        let reason = if o.handles.contains_key("adopted") {
            "adopted, so only forgotten: the zone and its records stay".to_string()
        } else if stack.resources.contains_key(&o.address) {
            format!("not declared for {region}")
        } else {
            "not in the stack file".to_string()
        };
        changes.push(delete(o, reason));
    }
    changes.extend(extras);
    changes
}

fn delete(o: &Observed, reason: String) -> ResourceChange {
    ResourceChange {
        region: o.region.clone(),
        address: o.address.clone(),
        action: Action::Delete,
        live_id: Some(o.live_id.clone()),
        attributes: vec![],
        reason: Some(reason),
        protected: o.protected(),
    }
}
