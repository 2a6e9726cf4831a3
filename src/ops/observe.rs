//! Reading the account: the regions a command works on, discovery of
//! every region at once, imports read by id, `[[moved]]`, DNS homed, and
//! services the endpoint lacks.

use crate::aws::cloud::Discover;
use crate::model::{Address, Kind, LiveRegion, Observed, MOVED_FROM};
use crate::stack::Stack;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;

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
/// with the first of them when `global`.
pub async fn read(
    aws: &impl Discover,
    stack: &Stack,
    regions: &[String],
    global: bool,
) -> Result<BTreeMap<String, LiveRegion>> {
    let name = &stack.name;
    let reads = regions.iter().enumerate().map(|(i, region)| async move {
        let mut live = aws
            .discover(name, region, global && i == 0)
            .await
            .with_context(|| format!("reading live resources of stack {name} in {region}"))?;
        // Global kinds (DNS, IAM) are read once, with the first region.
        let wanted = imports_wanted(stack, region, &live)
            .into_iter()
            .filter(|(a, _)| (global && i == 0) || !a.kind.service().global())
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
}
