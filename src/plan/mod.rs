//! The plan: what apply will do, as serialisable data. Building it is a pure
//! function of the stack and the observed live state; no AWS here.

pub mod diff;
pub mod graph;
pub mod group;
pub mod render;

pub use diff::{Action, AttrChange};

use crate::desired::{self, Resolve};
use crate::model::{Address, Attrs, Kind, LiveRegion, Observed, ReplaceOrder, Service, Value};
use crate::stack::spec::Reference;
use crate::stack::{Resource, Spec, Stack};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const FORMAT_VERSION: u32 = 1;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Plan {
    pub format_version: u32,
    pub stack: String,
    pub regions: Vec<String>,
    pub changes: Vec<ResourceChange>,
    /// What the plan leaves alone on purpose and a user must know about (a
    /// duplicate still in use).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub warnings: Vec<String>,
    /// Changes AWS already holds for a maintenance window: not planned again.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub pending: Vec<String>,
    /// The policies the plan was judged by, and what refused it
    /// (`ops::policy`; their warnings join `warnings`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy: Option<crate::policy::Judged>,
    /// The account the live resources were read in, and as whom (the plan's
    /// header says it, so a reviewer sees which account a plan is of).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub account: Option<crate::model::Identity>,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ResourceChange {
    pub region: String,
    /// `kind.name`, or `kind.name[i]` for a copy of a block with `count`.
    #[schemars(with = "String")]
    pub address: Address,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub attributes: Vec<AttrChange>,
    /// Why, when the attributes alone do not say: a prune, a duplicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub protected: bool,
    /// A create that takes over what exists, or a delete that only lets go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adoption: Option<Adoption>,
    /// Why this change must not be applied as the file stands (something
    /// unowned is in its way): the plan is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// A replacement its kind makes create-first made delete-first by this
    /// plan: an instance in a subnet whose CIDR is handed over.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub delete_first: bool,
    /// An Auto Scaling group's instances on an older version are replaced
    /// this many at a time, each batch out of service first (a colour that
    /// takes traffic); absent: all at once, new ones first.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub instance_batch: Option<u32>,
}

impl ResourceChange {
    /// The order this change's replacement takes.
    pub fn replace_order(&self) -> ReplaceOrder {
        if self.delete_first {
            ReplaceOrder::DeleteFirst
        } else {
            self.address.kind.replace_order()
        }
    }
}

/// Resources reconcile takes over instead of creating (an existing public
/// hosted zone), and lets go of instead of deleting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Adoption {
    Adopt,
    Forget,
    /// A live resource a block names in `import`: owned from this apply on,
    /// changed in place only.
    Import,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub adopt: usize,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub forget: usize,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub import: usize,
    pub no_op: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            *match (c.adoption, c.action) {
                (Some(Adoption::Adopt), _) => &mut s.adopt,
                (Some(Adoption::Forget), _) => &mut s.forget,
                (Some(Adoption::Import), _) => &mut s.import,
                (None, Action::NoOp) => &mut s.no_op,
                (None, Action::Create) => &mut s.create,
                (None, Action::Update) => &mut s.update,
                (None, Action::Replace) => &mut s.replace,
                (None, Action::Delete) => &mut s.delete,
            } += 1;
        }
        s
    }

    /// The part of the plan in `regions`.
    pub fn only(&self, regions: &[String]) -> Plan {
        Plan {
            format_version: self.format_version,
            stack: self.stack.clone(),
            regions: self
                .regions
                .iter()
                .filter(|r| regions.contains(r))
                .cloned()
                .collect(),
            changes: self
                .changes
                .iter()
                .filter(|c| regions.contains(&c.region))
                .cloned()
                .collect(),
            warnings: self.warnings.clone(),
            pending: self.pending.clone(),
            policy: self.policy.clone(),
            account: None,
        }
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }

    /// Why this plan must not be applied: protected resources it would delete
    /// or replace, changes blocked by what is in their way, policy denials.
    pub fn refusals(&self) -> Vec<String> {
        let protected = self
            .changes
            .iter()
            .filter(|c| c.protected && matches!(c.action, Action::Replace | Action::Delete))
            .map(refusal);
        let blocked = self.changes.iter().filter_map(|c| {
            let why = c.blocked.as_ref()?;
            Some(format!("{} in {}: {why}", c.address, c.region))
        });
        let denied = self
            .policy
            .iter()
            .flat_map(|p| p.denials.iter().map(|d| format!("policy: {d}")));
        protected.chain(blocked).chain(denied).collect()
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
             `protect = false` (and AWS's deletion protection off), then remove the block."
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
         first apply it with `protect = false` (and AWS's deletion protection off), then apply the change.",
        forcing.join(", ")
    )
}

/// Resolves references for a plan: to addresses, or unknown when the target is
/// created or replaced by this same plan (or, for exports an update changes,
/// updated by it).
struct PlanResolver<'a> {
    observed: &'a HashMap<Address, &'a Observed>,
    changing: &'a BTreeSet<Address>,
    replaced: &'a BTreeSet<Address>,
    updated: &'a BTreeSet<Address>,
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
        let updated = self.updated.contains(target) && target.kind.update_changes(attribute);
        if self.changing.contains(target) || updated {
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

/// Services the endpoint does not implement, once each: what of theirs was
/// not read is not pruned either. (A stack that declares one of their kinds
/// never gets here: `ops::observe` refuses it.)
fn unavailable(regions: &[String], live: &BTreeMap<String, LiveRegion>) -> Vec<String> {
    let mut by_service: BTreeMap<(Service, &str), (Vec<&str>, &str)> = BTreeMap::new();
    for region in regions {
        for (service, u) in live
            .get(region)
            .map(|l| &l.unavailable)
            .into_iter()
            .flatten()
        {
            let entry = by_service
                .entry((*service, u.endpoint.as_str()))
                .or_insert((Vec::new(), u.answer.as_str()));
            entry.0.push(region);
        }
    }
    by_service
        .into_iter()
        .map(|((service, endpoint), (regions, answer))| {
            let kinds: Vec<&str> = Kind::ALL
                .iter()
                .filter(|k| k.service() == service)
                .map(|k| k.as_str())
                .collect();
            format!(
                "{service} is not available at {endpoint} ({answer}): {} are not read in {}, so none this stack left there is pruned",
                kinds.join(", "),
                regions.join(", ")
            )
        })
        .collect()
}

/// Compares the stack with what lives in each of `regions`.
pub fn build(stack: &Stack, regions: &[String], live: &BTreeMap<String, LiveRegion>) -> Plan {
    let empty = LiveRegion::default();
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    let mut pending = Vec::new();
    // DNS zones are global: a certificate in any region may name one,
    // read in its home region.
    let global: HashMap<String, Address> = live
        .values()
        .flat_map(|l| &l.resources)
        .filter(|o| o.address.kind.service().global())
        .map(|o| (o.live_id.clone(), o.address.clone()))
        .collect();
    for region in regions {
        let live = live.get(region).unwrap_or(&empty);
        let (region_changes, region_warnings) = region_changes(stack, region, live, &global);
        changes.extend(region_changes);
        warnings.extend(region_warnings);
        pending.extend(pending_changes(region, live));
    }
    warnings.extend(unavailable(regions, live));
    Plan {
        format_version: FORMAT_VERSION,
        stack: stack.name.clone(),
        regions: regions.to_vec(),
        changes,
        warnings,
        pending,
        policy: None,
        account: None,
    }
}

/// What AWS was already asked to change at the next maintenance window.
fn pending_changes(region: &str, live: &LiveRegion) -> Vec<String> {
    let mut out = Vec::new();
    for o in &live.resources {
        for (handle, now) in &o.handles {
            let Some(attr) = handle.strip_prefix(crate::model::PENDING) else {
                continue;
            };
            let later = o.attrs.get(attr).map(Value::to_string).unwrap_or_default();
            out.push(format!(
                "{} in {region}: {attr} {now} → {later} at the next maintenance window \
                 (already requested; not sent again)",
                o.address
            ));
        }
    }
    out.sort();
    out
}

/// Chooses, for each address with several live resources (a create retried
/// after a lost answer, a copy made by hand, a replacement made before its old
/// one could go), the one to keep: the one whose references point at the kept
/// resources it depends on, then the one most used by others, then the one the
/// latest apply made (its change record), then the lowest id. Addresses are taken in the stack's
/// dependency order, so a subnet's choice follows its VPC's.
fn primaries<'a>(
    stack: &Stack,
    region: &str,
    live: &'a LiveRegion,
) -> HashMap<Address, &'a Observed> {
    let mut by_address: BTreeMap<&Address, Vec<&Observed>> = BTreeMap::new();
    for o in &live.resources {
        by_address.entry(&o.address).or_default().push(o);
    }
    let mut order: Vec<&Address> = stack
        .ordered(region)
        .into_iter()
        .map(|r| &r.address)
        .filter(|a| by_address.contains_key(a))
        .collect();
    let declared: BTreeSet<&Address> = order.iter().copied().collect();
    order.extend(by_address.keys().copied().filter(|a| !declared.contains(a)));
    let mut chosen: HashMap<Address, &Observed> = HashMap::new();
    for address in order {
        let candidates = &by_address[address];
        // One live resource (the usual case): nothing to choose, and no
        // scan of the whole region for its users (quadratic in a large stack).
        if let [only] = candidates.as_slice() {
            chosen.insert(address.clone(), *only);
            continue;
        }
        let used_by = |o: &Observed| {
            live.resources
                .iter()
                .filter(|u| {
                    u.live_id != o.live_id && u.attrs.values().any(|v| v.mentions(&o.live_id))
                })
                .count()
        };
        let on_kept = |o: &Observed| {
            chosen
                .values()
                .filter(|k| o.attrs.values().any(|v| v.mentions(&k.live_id)))
                .count()
        };
        let recorded = |o: &'a Observed| o.handles.get(crate::model::tags::record::TIME);
        let best = candidates
            .iter()
            .copied()
            .max_by_key(|o| {
                (
                    on_kept(o),
                    used_by(o),
                    recorded(o),
                    std::cmp::Reverse(&o.live_id),
                )
            })
            .expect("an address has at least one live resource");
        chosen.insert(address.clone(), best);
    }
    chosen
}

fn region_changes(
    stack: &Stack,
    region: &str,
    live: &LiveRegion,
    global: &HashMap<String, Address>,
) -> (Vec<ResourceChange>, Vec<String>) {
    let mut owned = global.clone();
    owned.extend(live.owned_ids());
    let primary = primaries(stack, region, live);
    let kept: BTreeSet<&str> = primary
        .values()
        .filter(|o| {
            stack
                .resources
                .get(&o.address)
                .is_some_and(|r| r.in_region(region))
        })
        .map(|o| o.live_id.as_str())
        .collect();
    // The other copies go, unless something kept still uses them: deleting
    // those would fail (or break what uses them) and is left to a person.
    let mut extras = Vec::new();
    let mut warnings = Vec::new();
    let mut copies: Vec<&Observed> = live
        .resources
        .iter()
        .filter(|o| primary[&o.address].live_id != o.live_id)
        .collect();
    copies.sort_by(|a, b| (&a.address, &a.live_id).cmp(&(&b.address, &b.live_id)));
    for o in copies {
        let first = &primary[&o.address].live_id;
        let users: Vec<String> = live
            .resources
            .iter()
            .filter(|u| {
                kept.contains(u.live_id.as_str())
                    && u.attrs.values().any(|v| v.mentions(&o.live_id))
            })
            .map(|u| format!("{} ({})", u.address, u.live_id))
            .collect();
        if users.is_empty() {
            extras.push(delete(o, format!("duplicate of {first}")));
        } else {
            warnings.push(format!(
                "{} in {region}: {} is a duplicate of {first} but is still used by {}; \
                 it is left alone. Move those off it (or delete it by hand), then plan again.",
                o.address,
                o.live_id,
                users.join(", ")
            ));
        }
    }
    // Rules naming other groups are not ordering dependencies (groups may
    // name each other), so a group may be planned before one it names that is
    // replaced: the plan is made again knowing every replacement (it only grows).
    let mut known_replaced = BTreeSet::new();
    let mut changes = loop {
        let (mut changing, mut replaced) = (BTreeSet::new(), known_replaced.clone());
        let mut updated = BTreeSet::new();
        let mut changes = Vec::new();
        for r in stack.ordered(region) {
            let resolver = PlanResolver {
                observed: &primary,
                changing: &changing,
                replaced: &replaced,
                updated: &updated,
            };
            let change = resource_change(stack, r, region, live, &primary, &owned, &resolver);
            if matches!(change.action, Action::Create | Action::Replace) {
                changing.insert(r.address.clone());
            }
            if change.action == Action::Update {
                updated.insert(r.address.clone());
            }
            if change.action == Action::Replace {
                replaced.insert(r.address.clone());
            }
            changes.push(change);
        }
        if replaced == known_replaced {
            break changes;
        }
        known_replaced = replaced;
    };

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
        let adopted = o.handles.contains_key("adopted");
        let reason = if adopted {
            "adopted, so only forgotten: the zone and its records stay".to_string()
        } else if !stack.regions.iter().any(|r| r == region) {
            format!("{region} is no longer in [stack] regions")
        } else if stack.resources.contains_key(&o.address) {
            format!("not declared for {region}")
        } else {
            "not in the stack file".to_string()
        };
        let mut change = delete(o, reason);
        change.adoption = adopted.then_some(Adoption::Forget);
        changes.push(change);
    }
    changes.extend(extras);
    warnings.extend(stale_imports(stack, region, &primary));
    let handovers = cidr_handovers(&changes.iter().collect::<Vec<_>>(), live);
    order_replacements(stack, &mut changes, &handovers);
    warnings.extend(handovers.iter().map(renamed_without_move));
    (changes, warnings)
}

/// Blocks whose `import` names another resource than the one they own in
/// `region` (an import already done names the owned one: harmless).
fn stale_imports(
    stack: &Stack,
    region: &str,
    primary: &HashMap<Address, &Observed>,
) -> Vec<String> {
    stack
        .ordered(region)
        .into_iter()
        .filter_map(|r| {
            let id = r.import_id(region)?;
            let o = primary.get(&r.address)?;
            // A record's live id is `zone/name/TYPE`; its import id `NAME TYPE`.
            let record = id.split_once(' ').map(|(name, t)| {
                format!(
                    "{}/{}",
                    name.trim_end_matches('.').to_lowercase(),
                    t.trim().to_uppercase()
                )
            });
            let names_it = o.live_id == id
                || o.live_id.rsplit(':').next() == Some(id)
                || (r.address.kind == Kind::DnsRecord
                    && o.live_id.split_once('/').map(|(_, rest)| rest.to_string()) == record);
            (!o.handles.contains_key(crate::model::IMPORTED) && !names_it).then(|| {
                format!(
                    "{} in {region} imports {id}, but the stack owns {} there: the import \
                     names another resource; remove `import` from the block",
                    r.address, o.live_id
                )
            })
        })
        .collect()
}

/// A replacement its kind makes create-first whose new version needs one that
/// is made only after an old version is gone (a VPC or subnet replaced
/// delete-first, a subnet taking the CIDR of one deleted) waits, through it,
/// for its own old version to go: it is replaced delete-first too (an outage,
/// said), else apply's steps would wait on each other. `changes` are in
/// dependency order.
fn order_replacements(stack: &Stack, changes: &mut [ResourceChange], handovers: &[Handover]) {
    let mut made_after_a_delete: HashMap<Address, String> = handovers
        .iter()
        .filter(|h| h.clear)
        .map(|h| {
            let why = format!(
                "it is in {} ({}), whose CIDR {} goes to {}",
                h.freed, h.freed_id, h.cidr, h.created
            );
            (h.created.clone(), why)
        })
        .collect();
    for c in changes.iter_mut().filter(|c| c.action == Action::Replace) {
        if c.replace_order() == ReplaceOrder::DeleteFirst {
            let why = format!("{} is replaced delete-first", c.address);
            made_after_a_delete.insert(c.address.clone(), why);
            continue;
        }
        let why = stack.resources.get(&c.address).and_then(|r| {
            r.ordering_dependencies()
                .iter()
                .find_map(|d| made_after_a_delete.get(d))
                .cloned()
        });
        if let Some(why) = why {
            c.delete_first = true;
            c.reason = Some(format!(
                "the old one goes before the new one is made (an outage): {why}"
            ));
            made_after_a_delete.insert(c.address.clone(), why);
        }
    }
}

/// The change that brings `r` in `region` from what is live (`primary`) to the
/// file, references resolved by `resolver`.
fn resource_change(
    stack: &Stack,
    r: &Resource,
    region: &str,
    live: &LiveRegion,
    primary: &HashMap<Address, &Observed>,
    owned: &HashMap<String, Address>,
    resolver: &PlanResolver,
) -> ResourceChange {
    // What live values name: addresses, none of them replaced yet.
    let nothing = BTreeSet::new();
    let as_observed = PlanResolver {
        observed: primary,
        changing: &nothing,
        replaced: &nothing,
        updated: &nothing,
    };
    let mut wanted = normalise(&desired::attrs(stack, r, region, resolver), owned);
    let observed = primary.get(&r.address);
    let seen = observed.map(|o| {
        let seen = normalise(&o.attrs, owned);
        desired::against_live(stack, r, &mut wanted, &seen, &as_observed, resolver)
    });
    let ignore = r.ignored();
    let (mut action, mut attributes) =
        diff::diff(r.address.kind, Some(&wanted), seen.as_ref(), &ignore);
    if let Some(from) = observed.and_then(|o| o.handles.get(crate::model::MOVED_FROM)) {
        attributes.insert(
            0,
            AttrChange {
                name: "address".into(),
                before: Some(Value::str(from)),
                after: Some(Value::str(r.address.to_string())),
                forces_replacement: false,
                note: Some("[[moved]]: retagged in place"),
            },
        );
        if action == Action::NoOp {
            action = Action::Update;
        }
    }
    // Tags and protection are set at once; only AWS settings wait for a
    // database's maintenance window.
    let settings_change = attributes
        .iter()
        .any(|a| a.name != "tags" && a.name != "protect");
    let reason = match action {
        Action::Update if settings_change => desired::update_timing(r).map(str::to_string),
        Action::Replace if r.address.kind == Kind::DbInstance => observed
            .and_then(|o| o.exports.get("identifier"))
            .map(|id| format!("the old one leaves a final snapshot {id}-final-<time>")),
        Action::Replace => observed
            .and_then(|o| desired::held_name(&wanted, o))
            .map(|name| {
                format!(
                    "the old group holds the name {name} until it is deleted: the new one \
                     is created first as {name}-<generated> (tagged {}), every user is \
                     moved to it, then the old one goes",
                    crate::model::tags::NAME
                )
            }),
        _ => None,
    };
    // A public zone that exists unowned is adopted, not duplicated; a
    // private one is always created.
    let public_zone = wanted.get("private") != Some(&Value::Bool(true));
    let adopts = (action == Action::Create && r.address.kind == Kind::DnsZone && public_zone)
        .then(|| wanted.get("name").and_then(Value::as_str))
        .flatten()
        .and_then(|name| live.adoptable_zones.get(name));
    let mut reason = reason.or_else(|| adopts.map(|id| format!("exists as {id}")));
    let mut adoption = adopts.map(|_| Adoption::Adopt);
    // A record that exists without an owner is someone's: taken over only on request.
    let mut blocked = None;
    if let Some((name, kind)) = (action == Action::Create)
        .then(|| foreign_record(stack, &wanted, primary, live))
        .flatten()
    {
        if matches!(&r.spec, Spec::DnsRecord(s) if s.adopt) {
            reason = Some("exists without an owner; taken over (adopt = true)".into());
            adoption = Some(Adoption::Adopt);
        } else {
            blocked = Some(format!(
                "a {kind} record {name} exists in the zone without reconcile's marker \
                 (another tool's, or made by hand), and applying would overwrite it. \
                 Remove it, rename the block's record, or set `adopt = true` on the block \
                 to take it over."
            ));
        }
    }
    // A block that imports: the live resource it names, taken over in place.
    if let Some(id) = r.import_id(region) {
        match observed {
            Some(o) if o.handles.contains_key(crate::model::IMPORTED) => {
                adoption = Some(Adoption::Import);
                if action == Action::NoOp {
                    action = Action::Update;
                }
                blocked = blocked.or_else(|| import_refusal(stack, r, o, id, &attributes));
            }
            // Owned already: `stale_imports` warns if it is another resource.
            Some(_) => {}
            None => {
                blocked = blocked.or(Some(format!(
                    "{} imports {id}, which does not exist in {region}: correct the id, or \
                     remove `import` to create a new one",
                    r.address
                )));
            }
        }
    }
    // A group's instances on an older version: how, by the traffic they take.
    let mut instance_batch = None;
    if let Some(o) = observed.filter(|_| attributes.iter().any(|a| a.name == "instances")) {
        let replacement = group::replacement(stack, live, primary, &wanted, o);
        let said = replacement.describe(&r.address);
        instance_batch = replacement.batch();
        if matches!(replacement.how, group::How::Refused { .. }) {
            blocked = blocked.or(Some(said));
        } else {
            reason = reason.or(Some(said));
        }
    }
    ResourceChange {
        region: region.to_string(),
        address: r.address.clone(),
        action,
        live_id: observed.map(|o| o.live_id.clone()),
        attributes,
        reason,
        adoption,
        blocked,
        protected: r.spec.common().protect || observed.is_some_and(|o| o.protected()),
        delete_first: false,
        instance_batch,
    }
}

/// Why the live resource `o` (`id`) cannot be imported by `r` as planned:
/// another owner, or a change only a replacement makes.
fn import_refusal(
    stack: &Stack,
    r: &Resource,
    o: &Observed,
    id: &str,
    attributes: &[AttrChange],
) -> Option<String> {
    let address = &r.address;
    if let Some(owner) = o.handles.get(crate::model::OWNER) {
        return Some(if *owner == stack.name {
            format!(
                "{address} imports {id}, which already belongs to this stack (another block \
                 owns it): remove `import` from {address}"
            )
        } else {
            format!(
                "{address} imports {id}, which belongs to stack {owner} (its reconcile:stack \
                 tag): a resource has one owner. Remove `import`, or remove it from {owner} first"
            )
        });
    }
    let forcing: Vec<String> = attributes
        .iter()
        .filter(|a| a.forces_replacement)
        .map(|a| {
            let live = a.before.as_ref().map_or("(unset)".into(), Value::to_string);
            if a.after == Some(Value::Unknown) {
                format!("`{}` names {live}, which this plan would replace", a.name)
            } else {
                format!("`{}` is {live} there: write {} = {live}", a.name, a.name)
            }
        })
        .collect();
    (!forcing.is_empty()).then(|| {
        format!(
            "importing {id} as {address} would replace it, and an import never replaces: {}",
            forcing.join("; ")
        )
    })
}

/// A subnet created on the CIDR of one this plan deletes: most likely a block
/// renamed without `[[moved]]`. Said, with what apply will do about it.
fn renamed_without_move(h: &Handover) -> String {
    let created = &h.created;
    let first = format!(
        "apply deletes it first, then creates {created} (one subnet holds a CIDR at a time), so"
    );
    let how = match h.terminated.as_slice() {
        _ if !h.clear => "the create would collide with it, and what runs in it must go \
                          before it can be deleted"
            .to_string(),
        [] => format!("{first} the route tables associated with it lose it until then"),
        [one] => format!(
            "{first} {one} in it is terminated before its replacement starts (an outage), and \
             the route tables associated with it lose it until then"
        ),
        many => format!(
            "{first} {} in it are terminated before their replacement starts (an outage), and \
             the route tables associated with it lose it until then",
            many.iter()
                .map(Address::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let kept = if h.terminated.is_empty() {
        "the subnet"
    } else {
        "the subnet and what runs in it"
    };
    format!(
        "{created} in {}: its CIDR {} is held by {} ({}), which this plan deletes: {how}. If the \
         block was renamed, declare [[moved]] from = \"{}\" to = \"{created}\" to keep {kept}.",
        h.region, h.cidr, h.freed, h.freed_id, h.freed
    )
}

/// A subnet this plan creates on the CIDR of one it deletes (a block renamed
/// without `[[moved]]`): AWS lets one subnet hold a CIDR at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    pub region: String,
    pub created: Address,
    pub freed: Address,
    pub freed_id: String,
    pub cidr: String,
    /// Nothing is in the old subnet but route table associations (they go
    /// with it) and instances this plan replaces or deletes: apply deletes it
    /// before the create. Otherwise (an instance staying, a DB subnet group)
    /// apply cannot, and says to declare `[[moved]]`.
    pub clear: bool,
    /// The instances in the old subnet this plan replaces: replaced
    /// delete-first (`ResourceChange::delete_first`), as the subnet must go
    /// before their replacements can start in the new one.
    pub terminated: Vec<Address>,
}

/// The CIDR handovers among one region's `changes`.
pub fn cidr_handovers(changes: &[&ResourceChange], live: &LiveRegion) -> Vec<Handover> {
    let by_id: HashMap<&str, &Observed> = live
        .resources
        .iter()
        .map(|o| (o.live_id.as_str(), o))
        .collect();
    // The CIDRs of the subnets this plan deletes.
    let freed: HashMap<String, &ResourceChange> = changes
        .iter()
        .copied()
        .filter(|c| c.action == Action::Delete && c.address.kind == Kind::Subnet)
        .filter_map(|c| {
            let o = by_id.get(c.live_id.as_deref()?)?;
            Some((o.attrs.get("cidr")?.to_string(), c))
        })
        .collect();
    let mut out = Vec::new();
    for created in changes
        .iter()
        .filter(|c| c.action == Action::Create && c.address.kind == Kind::Subnet)
    {
        let cidr = created
            .attributes
            .iter()
            .find(|a| a.name == "cidr")
            .and_then(|a| a.after.as_ref());
        let Some((cidr, gone)) = cidr.and_then(|c| Some((c, freed.get(&c.to_string())?))) else {
            continue;
        };
        let freed_id = gone.live_id.clone().unwrap_or_default();
        let going = |o: &Observed| {
            changes.iter().find(|c| {
                c.live_id.as_ref() == Some(&o.live_id)
                    && matches!(c.action, Action::Replace | Action::Delete)
            })
        };
        let users: Vec<&Observed> = live
            .resources
            .iter()
            .filter(|o| o.live_id != freed_id && o.attrs.values().any(|v| v.mentions(&freed_id)))
            .collect();
        let clear = users.iter().all(|o| {
            o.address.kind == Kind::RouteTable
                || (o.address.kind == Kind::Instance && going(o).is_some())
        });
        let mut terminated: Vec<Address> = users
            .iter()
            .filter(|o| {
                o.address.kind == Kind::Instance
                    && going(o).is_some_and(|c| c.action == Action::Replace)
            })
            .map(|o| o.address.clone())
            .collect();
        terminated.sort();
        out.push(Handover {
            region: created.region.clone(),
            created: created.address.clone(),
            freed: gone.address.clone(),
            freed_id,
            cidr: cidr.to_string(),
            clear,
            terminated,
        });
    }
    out
}

fn delete(o: &Observed, reason: String) -> ResourceChange {
    // A protected database is not deleted at all: the plan is refused.
    let reason = match o.exports.get("identifier") {
        Some(identifier) if o.address.kind == Kind::DbInstance && !o.protected() => {
            format!("{reason}; a final snapshot {identifier}-final-<time> is taken first")
        }
        _ => reason,
    };
    ResourceChange {
        region: o.region.clone(),
        address: o.address.clone(),
        action: Action::Delete,
        live_id: Some(o.live_id.clone()),
        attributes: vec![],
        reason: Some(reason),
        protected: o.protected(),
        adoption: None,
        blocked: None,
        delete_first: false,
        instance_batch: None,
    }
}

/// The name and type of the record `wanted` declares, when one of them exists
/// in its zone without being the stack's.
fn foreign_record(
    stack: &Stack,
    wanted: &Attrs,
    primary: &HashMap<Address, &Observed>,
    live: &LiveRegion,
) -> Option<(String, String)> {
    let zone = match wanted.get("zone")? {
        Value::Ref(a) => match primary.get(a) {
            Some(o) => o.live_id.clone(),
            // A public zone this plan adopts: the one of its name that exists.
            None => {
                let Some(Spec::DnsZone(z)) = stack.resources.get(a).map(|r| &r.spec) else {
                    return None;
                };
                (!z.private.get_ref())
                    .then(|| {
                        live.adoptable_zones
                            .get(&z.name.get_ref().trim_end_matches('.').to_lowercase())
                    })
                    .flatten()?
                    .clone()
            }
        },
        Value::Id(id) => id.clone(),
        _ => return None,
    };
    let name = wanted.get("name")?.as_str()?;
    let kind = wanted.get("type")?.as_str()?;
    live.foreign_records
        .contains(&format!("{zone}/{name}/{kind}"))
        .then(|| (name.to_string(), kind.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const STACK: &str = r#"
[stack]
name = "dups"
regions = ["us-east-1"]

[vpc.main]
cidr = "10.0.0.0/16"

[subnet.a]
vpc = "vpc.main"
cidr = "10.0.1.0/24"
zone = "a"
"#;

    fn observed(address: Address, id: &str, attrs: &[(&str, Value)]) -> Observed {
        let mut all: Attrs = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let name = Value::str(format!("dups-{}", address.name));
        all.insert("tags".into(), Value::map([("Name", name)]));
        all.insert("protect".into(), Value::Bool(false));
        Observed {
            address,
            region: "us-east-1".into(),
            live_id: id.into(),
            attrs: all,
            exports: BTreeMap::from([("id".to_string(), id.to_string())]),
            handles: BTreeMap::new(),
        }
    }

    fn vpc(id: &str) -> Observed {
        observed(
            Address::new(Kind::Vpc, "main"),
            id,
            &[("cidr", Value::str("10.0.0.0/16"))],
        )
    }

    fn subnet(id: &str, vpc: &str) -> Observed {
        observed(
            Address::new(Kind::Subnet, "a"),
            id,
            &[
                ("vpc", Value::Id(vpc.into())),
                ("cidr", Value::str("10.0.1.0/24")),
                ("zone", Value::str("us-east-1a")),
                ("map_public_ip_on_launch", Value::Bool(false)),
            ],
        )
    }

    fn plan(resources: Vec<Observed>) -> Plan {
        let stack = crate::stack::parse(Path::new("dups.toml"), STACK.into()).unwrap();
        let live = BTreeMap::from([(
            "us-east-1".to_string(),
            LiveRegion {
                resources,
                ..Default::default()
            },
        )]);
        build(&stack, &["us-east-1".to_string()], &live)
    }

    fn deletes(plan: &Plan) -> Vec<(&str, &str)> {
        plan.changes
            .iter()
            .filter(|c| c.action == Action::Delete)
            .map(|c| {
                (
                    c.live_id.as_deref().unwrap(),
                    c.reason.as_deref().unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn of_two_copies_the_one_in_use_is_kept_whatever_its_id() {
        // vpc-0 sorts first but is empty; vpc-9 holds the subnet.
        let p = plan(vec![
            vpc("vpc-0"),
            vpc("vpc-9"),
            subnet("subnet-1", "vpc-9"),
        ]);
        assert_eq!(deletes(&p), vec![("vpc-0", "duplicate of vpc-9")]);
        let kept = p
            .changes
            .iter()
            .find(|c| c.address.kind == Kind::Vpc && c.action != Action::Delete);
        assert_eq!(kept.and_then(|c| c.live_id.as_deref()), Some("vpc-9"));
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn a_copy_follows_the_choice_of_what_it_depends_on() {
        // Two full copies (two applies at once): the first VPC by id wins, and
        // the subnet kept is the one inside it; the other pair goes together.
        let p = plan(vec![
            vpc("vpc-1"),
            vpc("vpc-2"),
            subnet("subnet-9", "vpc-1"),
            subnet("subnet-3", "vpc-2"),
        ]);
        let mut gone = deletes(&p);
        gone.sort();
        assert_eq!(
            gone,
            vec![
                ("subnet-3", "duplicate of subnet-9"),
                ("vpc-2", "duplicate of vpc-1")
            ]
        );
    }

    #[test]
    fn a_copy_still_used_by_a_kept_resource_is_not_deleted_but_reported() {
        // A second subnet (another address) lives in the copy.
        let mut other = subnet("subnet-7", "vpc-2");
        other.address = Address::new(Kind::Subnet, "b");
        let stack_b = format!(
            "{STACK}\n[subnet.b]\nvpc = \"vpc.main\"\ncidr = \"10.0.2.0/24\"\nzone = \"b\"\n"
        );
        let stack = crate::stack::parse(Path::new("dups.toml"), stack_b).unwrap();
        let live = BTreeMap::from([(
            "us-east-1".to_string(),
            LiveRegion {
                resources: vec![
                    vpc("vpc-1"),
                    vpc("vpc-2"),
                    subnet("subnet-9", "vpc-1"),
                    other,
                ],
                ..Default::default()
            },
        )]);
        let p = build(&stack, &["us-east-1".to_string()], &live);
        assert!(deletes(&p).is_empty(), "{:?}", deletes(&p));
        assert_eq!(p.warnings.len(), 1);
        assert!(
            p.warnings[0]
                .contains("vpc-2 is a duplicate of vpc-1 but is still used by subnet.b (subnet-7)"),
            "{}",
            p.warnings[0]
        );
    }

    #[test]
    fn a_change_held_for_the_maintenance_window_is_pending_not_planned() {
        let mut held = subnet("subnet-1", "vpc-1");
        // Discovery reads a pending value as the attribute, and keeps the old one.
        held.handles.insert(
            format!("{}map_public_ip_on_launch", crate::model::PENDING),
            "true".into(),
        );
        let p = plan(vec![vpc("vpc-1"), held]);
        assert!(!p.has_changes(), "{:?}", p.changes);
        assert_eq!(
            p.pending,
            vec![
                "subnet.a in us-east-1: map_public_ip_on_launch true → false at the next \
                  maintenance window (already requested; not sent again)"
                    .to_string()
            ]
        );
        let shown = crate::plan::render::render(&p, crate::plan::render::Style { color: false });
        assert!(shown.starts_with("No changes."), "{shown}");
        assert!(
            shown.contains("Pending: subnet.a in us-east-1: map_public_ip_on_launch"),
            "{shown}"
        );
    }
}

#[cfg(test)]
mod build_tests {
    use super::*;
    use crate::testing::{self, applied, live_mut, DEMO};

    const REGION: &str = "us-west-2";

    fn plan_of(stack: &Stack, live: LiveRegion) -> Plan {
        let live = BTreeMap::from([(REGION.to_string(), live)]);
        build(stack, &[REGION.to_string()], &live)
    }

    fn actions(plan: &Plan) -> Vec<(String, Action)> {
        plan.changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .map(|c| (c.address.to_string(), c.action))
            .collect()
    }

    const SUBNET: &str = r#"
[stack]
name = "t"
regions = ["us-west-2"]

[vpc.main]
cidr = "10.0.0.0/16"

[subnet.a]
vpc = "vpc.main"
cidr = "10.0.1.0/24"
zone = "a"

[route_table.main]
vpc = "vpc.main"
subnets = ["subnet.a"]
"#;

    #[test]
    fn a_subnet_renamed_on_its_cidr_is_handed_over_with_what_goes_with_it() {
        let handovers = |text: &str| {
            let live = applied(&testing::stack(text), REGION);
            let renamed = testing::stack(&text.replace("subnet.a", "subnet.b"));
            let plan = plan_of(&renamed, live.clone());
            let changes: Vec<&ResourceChange> = plan.changes.iter().collect();
            (cidr_handovers(&changes, &live), plan.warnings)
        };
        let (found, warnings) = handovers(SUBNET);
        assert_eq!(found.len(), 1);
        let h = &found[0];
        assert_eq!(
            (h.created.to_string(), h.freed.to_string()),
            ("subnet.b".into(), "subnet.a".into())
        );
        assert!(h.clear, "only a route table uses it");
        assert!(h.cidr.contains("10.0.1.0/24"));
        assert!(
            warnings[0].contains("apply deletes it first, then creates subnet.b"),
            "{warnings:?}"
        );

        // An instance in it is replaced with it (its subnet changes): it goes
        // first, so its replacement is delete-first, and the plan says so.
        let with_instance = format!(
            "{SUBNET}\n[instance.web]\nami = \"ami-0a1b2c3d4e5f60718\"\ninstance_type = \"t3.micro\"\nsubnet = \"subnet.a\"\n"
        );
        let (found, warnings) = handovers(&with_instance);
        assert!(found[0].clear, "the instance is replaced");
        assert_eq!(
            found[0].terminated,
            [Address::parse("instance.web").unwrap()]
        );
        assert!(
            warnings[0].contains(
                "apply deletes it first, then creates subnet.b (one subnet holds a CIDR at a \
                 time), so instance.web in it is terminated before its replacement starts (an \
                 outage)"
            ) && warnings[0].contains("to keep the subnet and what runs in it."),
            "{warnings:?}"
        );
        let live = applied(&testing::stack(&with_instance), REGION);
        let plan = plan_of(
            &testing::stack(&with_instance.replace("subnet.a", "subnet.b")),
            live,
        );
        let web = testing::change(&plan, "instance.web");
        assert_eq!(
            (web.action, web.replace_order()),
            (Action::Replace, ReplaceOrder::DeleteFirst)
        );
        assert!(web.reason.as_deref().unwrap().starts_with(
            "the old one goes before the new one is made (an outage): it is in subnet.a \
             (id-subnet.a), whose CIDR"
        ));
        let rendered = render::render(&plan, render::Style { color: false });
        assert!(rendered.contains("-/+ instance.web"), "{rendered}");

        // A DB subnet group in it is only updated: it cannot be handed over.
        let database = testing::DATABASE.replace("subnet.b", "subnet.other");
        let group = &database[..database.find("[db_instance").expect("a database")];
        let with_group = format!("{SUBNET}\n{group}");
        let (found, warnings) = handovers(&with_group);
        assert!(!found[0].clear, "a DB subnet group is in it");
        assert!(
            warnings[0].contains("what runs in it must go before it can be deleted"),
            "{warnings:?}"
        );
        assert!(warnings[0].contains(r#"declare [[moved]] from = "subnet.a" to = "subnet.b""#));
    }

    #[test]
    fn a_service_the_endpoint_lacks_is_one_warning_naming_its_regions() {
        let text = SUBNET.replace(
            r#"regions = ["us-west-2"]"#,
            r#"regions = ["us-west-2", "eu-west-1"]"#,
        );
        let stack = testing::stack(&text);
        let regions = ["us-west-2".to_string(), "eu-west-1".to_string()];
        let live: BTreeMap<String, LiveRegion> = regions
            .iter()
            .map(|r| {
                let mut l = applied(&stack, r);
                l.unavailable.insert(
                    Service::Elbv2,
                    crate::model::Unavailable {
                        endpoint: "http://127.0.0.1:4566".into(),
                        answer: "InternalFailure: not included in your current license plan".into(),
                    },
                );
                (r.clone(), l)
            })
            .collect();
        let plan = build(&stack, &regions, &live);
        assert!(!plan.has_changes());
        assert_eq!(
            plan.warnings,
            ["elbv2 is not available at http://127.0.0.1:4566 (InternalFailure: not included in \
              your current license plan): load_balancer, target_group, listener, listener_rule are \
              not read in us-west-2, eu-west-1, so none this stack left there is pruned"]
        );
    }

    #[test]
    fn a_stack_live_exactly_as_declared_plans_no_change() {
        let stack = testing::stack(DEMO);
        let plan = plan_of(&stack, applied(&stack, REGION));
        assert_eq!(actions(&plan), vec![]);
        assert!(!plan.has_changes());
        assert_eq!(plan.changes.len(), stack.ordered(REGION).len());
    }

    #[test]
    fn nothing_live_plans_every_create_in_dependency_order() {
        let stack = testing::stack(DEMO);
        let plan = plan_of(&stack, LiveRegion::default());
        let order: Vec<String> = plan.changes.iter().map(|c| c.address.to_string()).collect();
        assert!(plan.changes.iter().all(|c| c.action == Action::Create));
        let at = |a: &str| order.iter().position(|o| o == a).unwrap();
        assert!(at("vpc.main") < at("subnet.public_a"));
        assert!(at("target_group.blue") < at("listener_rule.app"));
        assert!(at("listener.http") < at("listener_rule.app"));
    }

    #[test]
    fn drift_is_an_update_a_fixed_attribute_a_replacement_and_a_stray_a_delete() {
        let stack = testing::stack(DEMO);
        let mut live = applied(&stack, REGION);
        live_mut(&mut live, "subnet.public_a")
            .attrs
            .insert("map_public_ip_on_launch".into(), Value::Bool(false));
        live_mut(&mut live, "target_group.green")
            .attrs
            .insert("port".into(), Value::Int(8080));
        let mut stray = live_mut(&mut live, "security_group.web").clone();
        stray.address = Address::new(Kind::SecurityGroup, "old");
        stray.live_id = "sg-old".into();
        live.resources.push(stray);
        let plan = plan_of(&stack, live);
        assert_eq!(
            actions(&plan),
            vec![
                ("subnet.public_a".to_string(), Action::Update),
                ("target_group.green".to_string(), Action::Replace),
                // Registered to the new group once it exists.
                ("instance.web_green[0]".to_string(), Action::Update),
                ("instance.web_green[1]".to_string(), Action::Update),
                ("security_group.old".to_string(), Action::Delete),
            ]
        );
        let green = testing::change(&plan, "target_group.green");
        assert_eq!(green.attributes.len(), 1);
        assert!(green.attributes[0].forces_replacement);
        insta::assert_json_snapshot!("drifted_demo_plan", plan);
    }

    #[test]
    fn a_replaced_group_is_made_first_and_its_users_follow_in_place() {
        // The load balancer's group names the app's in a rule too (and the
        // app's names it back): a rule is not an ordering dependency.
        let mutual = DEMO.replace(
            "ingress = [{ protocol = \"tcp\", port = 80, cidr = \"0.0.0.0/0\" }]\n",
            "ingress = [{ protocol = \"tcp\", port = 80, cidr = \"0.0.0.0/0\" }]\n\
             egress = [{ protocol = \"tcp\", port = 80, security_group = \"security_group.app\" }]\n",
        );
        assert_ne!(mutual, DEMO);
        let stack = testing::stack(&mutual);
        let mut live = applied(&stack, REGION);
        live_mut(&mut live, "security_group.app")
            .exports
            .insert("name".into(), "demo-app".into());
        let changed =
            testing::stack(&mutual.replace("instances: HTTP from the load balancer", "instances"));
        // The web group, which names the replaced one, is planned before it.
        let order: Vec<String> = changed
            .ordered(REGION)
            .iter()
            .map(|r| r.address.to_string())
            .collect();
        let at = |a: &str| order.iter().position(|o| o == a).unwrap();
        assert!(at("security_group.web") < at("security_group.app"));
        let plan = plan_of(&changed, live);
        let mut found = actions(&plan);
        found.sort();
        assert_eq!(
            found,
            vec![
                ("instance.web_blue[0]".to_string(), Action::Update),
                ("instance.web_blue[1]".to_string(), Action::Update),
                ("instance.web_green[0]".to_string(), Action::Update),
                ("instance.web_green[1]".to_string(), Action::Update),
                ("security_group.app".to_string(), Action::Replace),
                ("security_group.web".to_string(), Action::Update),
            ]
        );
        let app = testing::change(&plan, "security_group.app");
        assert!(
            app.reason.as_deref().is_some_and(|r| r.contains(
                "the old group holds the name demo-app until it is deleted: the new one is \
                 created first as demo-app-<generated>"
            )),
            "{:?}",
            app.reason
        );
        let rendered = render::render(&plan, render::Style { color: false });
        assert!(rendered.contains("+/- security_group.app"), "{rendered}");
    }

    #[test]
    fn a_protected_resource_is_refused_whatever_the_file_says() {
        let stack = testing::stack(DEMO);
        let mut live = applied(&stack, REGION);
        let vpc = live_mut(&mut live, "vpc.main");
        vpc.attrs.insert("protect".into(), Value::Bool(true));
        vpc.attrs.insert("cidr".into(), Value::str("10.99.0.0/16"));
        let plan = plan_of(&stack, live);
        let refusals = plan.refusals();
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        assert!(refusals[0].contains("vpc.main"), "{refusals:?}");
    }

    #[test]
    fn the_live_blue_green_split_is_not_drift() {
        let stack = testing::stack(DEMO);
        let mut live = applied(&stack, REGION);
        let split = crate::model::shapes::Action::Forward {
            targets: vec![
                crate::model::shapes::Target {
                    target_group: Value::Id("id-target_group.blue".into()),
                    weight: 20,
                },
                crate::model::shapes::Target {
                    target_group: Value::Id("id-target_group.green".into()),
                    weight: 80,
                },
            ],
            stickiness: None,
        };
        live_mut(&mut live, "listener_rule.app")
            .attrs
            .insert("action".into(), split.to_value());
        assert_eq!(actions(&plan_of(&stack, live)), vec![]);
    }
}

#[cfg(test)]
mod import_tests {
    use super::*;
    use crate::model::{IMPORTED, OWNER};

    const REGION: &str = "us-east-1";
    const VPC: &str = "vpc-0a1b2c3d";

    fn stack(cidr: &str) -> Stack {
        crate::testing::stack(&format!(
            "[stack]\nname = \"imp\"\nregions = [\"{REGION}\"]\n\n\
             [vpc.main]\ncidr = \"{cidr}\"\ntags = {{ team = \"platform\" }}\nimport = \"{VPC}\"\n\n\
             [subnet.a]\nvpc = \"vpc.main\"\ncidr = \"10.0.1.0/24\"\nzone = \"a\"\n"
        ))
    }

    /// The VPC as a colleague made it: no reconcile tags, a tag of its own.
    fn live(handles: &[(&str, &str)]) -> LiveRegion {
        let vpc = Observed {
            address: Address::new(Kind::Vpc, "main"),
            region: REGION.into(),
            live_id: VPC.into(),
            attrs: Attrs::from([
                ("cidr".to_string(), Value::str("10.0.0.0/16")),
                (
                    "tags".to_string(),
                    Value::map([
                        ("team", Value::str("platform")),
                        ("Name", Value::str("legacy")),
                    ]),
                ),
                ("protect".to_string(), Value::Bool(false)),
            ]),
            exports: BTreeMap::from([("id".to_string(), VPC.to_string())]),
            handles: handles
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        LiveRegion {
            resources: vec![vpc],
            ..Default::default()
        }
    }

    fn plan(stack: &Stack, live: LiveRegion) -> Plan {
        build(
            stack,
            &[REGION.into()],
            &BTreeMap::from([(REGION.into(), live)]),
        )
    }

    #[test]
    fn an_imported_resource_is_taken_over_with_its_differences_as_updates() {
        let p = plan(&stack("10.0.0.0/16"), live(&[(IMPORTED, VPC)]));
        let vpc = crate::testing::change(&p, "vpc.main");
        assert_eq!(
            (vpc.action, vpc.adoption),
            (Action::Update, Some(Adoption::Import))
        );
        assert!(vpc.blocked.is_none());
        let names: Vec<&str> = vpc.attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["tags"], "the Name tag it carries is not the file's");
        // What depends on it is made against it, not a new one.
        let subnet = crate::testing::change(&p, "subnet.a");
        assert_eq!(subnet.action, Action::Create);
        let summary = p.summary();
        assert_eq!((summary.import, summary.create, summary.update), (1, 1, 0));
        let text = render::render(&p, render::Style { color: false });
        assert!(
            text.contains(&format!("= vpc.main ({VPC}) will be imported")),
            "{text}"
        );
        assert!(
            text.contains("Plan: 1 to add, 0 to change, 0 to replace, 0 to destroy, 1 to import."),
            "{text}"
        );
    }

    #[test]
    fn an_import_that_would_replace_is_refused_with_the_value_to_write() {
        let p = plan(&stack("10.0.0.0/17"), live(&[(IMPORTED, VPC)]));
        let refusals = p.refusals();
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        assert!(
            refusals[0].contains(&format!(
                "importing {VPC} as vpc.main would replace it, and an import never replaces: `cidr` is \"10.0.0.0/16\" there: write cidr = \"10.0.0.0/16\""
            )),
            "{refusals:?}"
        );
    }

    #[test]
    fn an_import_owned_elsewhere_or_missing_is_refused() {
        let p = plan(
            &stack("10.0.0.0/16"),
            live(&[(IMPORTED, VPC), (OWNER, "billing")]),
        );
        assert!(
            p.refusals()[0].contains(&format!(
                "vpc.main imports {VPC}, which belongs to stack billing"
            )),
            "{:?}",
            p.refusals()
        );
        let p = plan(&stack("10.0.0.0/16"), LiveRegion::default());
        assert!(
            p.refusals()[0].contains(&format!(
                "vpc.main imports {VPC}, which does not exist in {REGION}: correct the id"
            )),
            "{:?}",
            p.refusals()
        );
    }

    #[test]
    fn once_owned_the_import_is_harmless_and_a_stale_one_is_warned_of() {
        let owned = |id: &str| {
            let mut l = live(&[]);
            l.resources[0].live_id = id.into();
            l.resources[0].attrs.insert(
                "tags".into(),
                Value::map([
                    ("team", Value::str("platform")),
                    ("Name", Value::str("imp-main")),
                ]),
            );
            l
        };
        let p = plan(&stack("10.0.0.0/16"), owned(VPC));
        let vpc = crate::testing::change(&p, "vpc.main");
        assert_eq!(vpc.action, Action::NoOp, "{:?}", vpc.attributes);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        let p = plan(&stack("10.0.0.0/16"), owned("vpc-0fff"));
        assert!(
            p.warnings[0].contains(&format!(
                "vpc.main in {REGION} imports {VPC}, but the stack owns vpc-0fff there"
            )),
            "{:?}",
            p.warnings
        );
    }
}
