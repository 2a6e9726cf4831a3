//! Fixtures for the unit tests of the pure middle (plan, apply's ordering,
//! desired attributes): a stack from TOML text, and the live state it has
//! once applied, with made-up ids, to plan against without AWS.

use crate::desired::{self, Resolve};
use crate::model::{Address, LiveRegion, Observed, Value};
use crate::plan::{Plan, ResourceChange};
use crate::stack::spec::Reference;
use crate::stack::Stack;
use std::collections::BTreeMap;
use std::path::Path;

/// The change `plan` makes to `address` (`kind.name`), which it must have.
pub fn change<'p>(plan: &'p Plan, address: &str) -> &'p ResourceChange {
    plan.changes
        .iter()
        .find(|c| c.address.to_string() == address)
        .unwrap_or_else(|| panic!("no change to {address}"))
}

/// The demo stack users run first (`stacks/demo.toml`).
pub const DEMO: &str = include_str!("../stacks/demo.toml");

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
