//! Route53: hosted zones and record sets. Route53 is global; reconcile homes each
//! DNS block in one region of its stack, recorded on the zone (a tag) and on each
//! record's ownership marker, so discovery in a region sees only what lives there.
//!
//! Record sets have no tags. As external-dns does, reconcile owns a record
//! through a TXT marker beside it (`_reconcile-a.app.example.com`), written and
//! deleted in the same change batch as the record; records without a marker of
//! this stack are never touched.

mod record;
mod zone;

use super::{observed_in, text, AwsError, Code, Created, ErrorClass, Imports, Mutator, Scope};
use crate::model::{
    txt, Address, Attrs, Changed, Kind, Observed, Value, ID_TAG, PROTECT_TAG, STACK_TAG,
};
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, HostedZone, HostedZoneConfig, ResourceRecord,
    ResourceRecordSet, RrType, Tag, TagResourceType, Vpc, VpcRegion,
};
use aws_sdk_route53::Client;
use record::records;
use std::collections::{BTreeMap, BTreeSet};

use crate::model::tags::{ADOPTED as ADOPTED_TAG, REGION as REGION_TAG};
/// The kinds Route53 carries (`super::place`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DnsKind {
    Zone,
    Record,
}

/// How long the first record change of a zone waits for others to join its batch.
const GATHER: std::time::Duration = std::time::Duration::from_millis(100);

/// Record changes waiting to be sent, by zone.
#[derive(Default)]
pub(super) struct ZoneBatches(std::sync::Mutex<std::collections::HashMap<String, ZoneBatch>>);

#[derive(Default)]
struct ZoneBatch {
    changes: Vec<Change>,
    waiting: Vec<tokio::sync::oneshot::Sender<Result<(), AwsError>>>,
}

/// ListTagsForResources takes at most 10 zones.
const TAG_BATCH: usize = 10;

fn zone_id(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

fn plain(name: &str) -> String {
    name.trim_end_matches('.').to_lowercase()
}

fn marker_name(record_type: &str, name: &str) -> String {
    format!("_reconcile-{}.{name}", record_type.to_lowercase())
}

fn marker_value(stack: &str, region: &str, address: &Address, protect: bool) -> String {
    let protect = if protect { ",protect=true" } else { "" };
    format!("\"heritage=reconcile,stack={stack},region={region},id={address}{protect}\"")
}

/// The fields of a marker value, when it is one of ours.
fn parse_marker(value: &str) -> Option<BTreeMap<&str, &str>> {
    let fields: BTreeMap<&str, &str> = value
        .trim_matches('"')
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    (fields.get("heritage") == Some(&"reconcile")).then_some(fields)
}

/// TXT values are quoted (and split, and escaped) on the wire; a stack writes them plain.
fn unquote(record_type: &str, value: &str) -> String {
    if record_type == "TXT" {
        txt::plain(value)
    } else {
        value.to_string()
    }
}

fn quote(record_type: &str, value: &str) -> String {
    if record_type == "TXT" {
        txt::wire(value)
    } else {
        value.to_string()
    }
}

async fn all_record_sets(client: &Client, zone: &str) -> Result<Vec<ResourceRecordSet>, AwsError> {
    let mut sets = Vec::new();
    let mut start: Option<(String, RrType)> = None;
    loop {
        let mut request = client.list_resource_record_sets().hosted_zone_id(zone);
        if let Some((name, kind)) = start.take() {
            request = request.start_record_name(name).start_record_type(kind);
        }
        let page = send!("ListResourceRecordSets", request)?;
        sets.extend(page.resource_record_sets().iter().cloned());
        match (
            page.is_truncated(),
            page.next_record_name(),
            page.next_record_type(),
        ) {
            (true, Some(name), Some(kind)) => start = Some((name.to_string(), kind.clone())),
            _ => return Ok(sets),
        }
    }
}

/// The records of zone `id` (apex `apex`) that are not `ours`, as
/// `zone/name/TYPE`: the apex's SOA and NS, and markers, left out.
fn foreign(
    id: &str,
    apex: &str,
    sets: &[ResourceRecordSet],
    ours: &[Observed],
) -> BTreeSet<String> {
    sets.iter()
        .filter_map(|set| {
            let (name, kind) = (plain(set.name()), set.r#type().as_str());
            let key = format!("{id}/{name}/{kind}");
            let infrastructure = name == apex && matches!(kind, "SOA" | "NS");
            (!infrastructure
                && !name.starts_with("_reconcile-")
                && !ours.iter().any(|o| o.live_id == key))
            .then_some(key)
        })
        .collect()
}

/// The records of a zone no stack owns (one about to be adopted): what
/// adopting it must not overwrite. One paginated `ListResourceRecordSets`.
pub async fn unowned_records(client: &Client, zone: &str) -> Result<BTreeSet<String>, AwsError> {
    let sets = all_record_sets(client, zone).await?;
    let apex = sets
        .iter()
        .find(|s| s.r#type() == &RrType::Soa)
        .map(|s| plain(s.name()))
        .unwrap_or_default();
    Ok(foreign(zone, &apex, &sets, &[]))
}

/// What Route53 holds for a stack.
#[derive(Default)]
pub struct Discovered {
    /// The stack's zones and records, each in its recorded home region.
    pub owned: Vec<Observed>,
    /// Public zones no stack owns, name → id: a `dns_zone` of that name adopts one.
    pub adoptable_zones: BTreeMap<String, String>,
    /// Records in the owned zones that the stack does not own, as
    /// `zone/name/TYPE`: a `dns_record` there is refused unless it says `adopt`.
    pub foreign_records: BTreeSet<String>,
}

/// Every hosted zone of the account (one paged `ListHostedZones`).
async fn all_zones(client: &Client) -> Result<Vec<HostedZone>, AwsError> {
    client
        .list_hosted_zones()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::from_sdk("ListHostedZones", e))
}

/// The tags of the zones `ids`, by zone id: ⌈ids / 10⌉ `ListTagsForResources`.
async fn zone_tags(
    client: &Client,
    ids: &[String],
) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
    let tag_pages = futures::future::try_join_all(ids.chunks(TAG_BATCH).map(|batch| async move {
        send!(
            "ListTagsForResources",
            client
                .list_tags_for_resources()
                .resource_type(TagResourceType::Hostedzone)
                .set_resource_ids(Some(batch.to_vec()))
        )
    }))
    .await?;
    Ok(tag_pages
        .iter()
        .flat_map(|page| page.resource_tag_sets())
        .map(|set| {
            let tags = set
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect();
            (set.resource_id().unwrap_or_default().to_string(), tags)
        })
        .collect())
}

/// The zones and records `stack` homes in `region`, with what is in their way.
pub async fn discover(client: &Client, stack: &str, region: &str) -> Result<Discovered, AwsError> {
    let zones = all_zones(client).await?;
    let ids: Vec<String> = zones.iter().map(|z| zone_id(z.id()).to_string()).collect();
    let tags = zone_tags(client, &ids).await?;
    // Every region's DNS of the stack: the plan places each in its home.
    let here = |t: &BTreeMap<String, String>| t.get(STACK_TAG).map(String::as_str) == Some(stack);
    let adoptable = zones
        .iter()
        .filter(|z| public(z))
        .filter(|z| {
            !tags
                .get(zone_id(z.id()))
                .is_some_and(|t| t.contains_key(STACK_TAG))
        })
        .map(|z| (plain(z.name()), zone_id(z.id()).to_string()))
        .collect();
    let owned: Vec<(&HostedZone, &BTreeMap<String, String>)> = zones
        .iter()
        .filter_map(|z| Some((z, tags.get(zone_id(z.id())).filter(|t| here(t))?)))
        .collect();
    let record_sets = futures::future::try_join_all(
        owned
            .iter()
            .map(|(z, _)| all_record_sets(client, zone_id(z.id()))),
    )
    .await?;
    // The VPCs of the stack's private zones: one GetHostedZone each.
    let vpcs = futures::future::try_join_all(owned.iter().map(|(z, _)| async move {
        if public(z) {
            return Ok(Vec::new());
        }
        let zone = send!(
            "GetHostedZone",
            client.get_hosted_zone().id(zone_id(z.id()))
        )?;
        Ok::<_, AwsError>(
            zone.vpcs()
                .iter()
                .filter_map(|v| v.vpc_id().map(|id| Value::Id(id.to_string())))
                .collect(),
        )
    }))
    .await?;

    let mut found = Vec::new();
    let mut foreign_records = BTreeSet::new();
    for (((zone, zone_tags), sets), vpcs) in owned.iter().zip(&record_sets).zip(vpcs) {
        let id = zone_id(zone.id());
        let home = zone_tags.get(REGION_TAG).map_or(region, String::as_str);
        if let Some(o) = observe_zone(Scope::Owned(stack), home, zone, zone_tags, vpcs) {
            found.push(o);
        }
        let ours = records(stack, id, sets);
        foreign_records.extend(foreign(id, &plain(zone.name()), sets, &ours));
        found.extend(ours);
    }
    Ok(Discovered {
        owned: found,
        adoptable_zones: adoptable,
        foreign_records,
    })
}

/// A hosted zone homed in `home`, with the VPCs a private one answers in.
fn observe_zone(
    scope: Scope<'_>,
    home: &str,
    zone: &HostedZone,
    tags: &BTreeMap<String, String>,
    vpcs: Vec<Value>,
) -> Option<Observed> {
    let name = plain(zone.name());
    let mut o = observed_in(
        scope,
        home,
        Kind::DnsZone,
        tags,
        zone_id(zone.id()),
        [
            ("name", Value::str(&name)),
            ("home", Value::str(home)),
            ("private", Value::Bool(!public(zone))),
            ("vpcs", Value::set(vpcs)),
        ],
        BTreeMap::from([("name".to_string(), name)]),
    )?;
    if tags.contains_key(ADOPTED_TAG) {
        o.handles.insert("adopted".into(), "true".into());
    }
    Some(o)
}

/// The zones (by id) or records (by `NAME TYPE`) blocks import, read whoever
/// owns them (a zone's tags, a record's marker say who): what names nothing
/// is left out. A record is looked for in the zones its name falls in, the
/// most specific first.
pub async fn import(
    client: &Client,
    stack: &str,
    kind: DnsKind,
    imports: &Imports,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let scope = Scope::Imported(stack, imports);
    if kind == DnsKind::Zone {
        let reads = imports.keys().map(|id| async move {
            match send!("GetHostedZone", client.get_hosted_zone().id(id)) {
                Err(e) if e.is_not_found() => Ok(None),
                other => other.map(Some),
            }
        });
        let zones: Vec<_> = futures::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect();
        let ids: Vec<String> = zones
            .iter()
            .filter_map(|z| z.hosted_zone().map(|h| zone_id(h.id()).to_string()))
            .collect();
        let tags = zone_tags(client, &ids).await?;
        let no_tags = BTreeMap::new();
        return Ok(zones
            .iter()
            .filter_map(|zone| {
                let z = zone.hosted_zone()?;
                let vpcs = zone
                    .vpcs()
                    .iter()
                    .filter_map(|v| v.vpc_id().map(|id| Value::Id(id.to_string())))
                    .collect();
                let tags = tags.get(zone_id(z.id())).unwrap_or(&no_tags);
                observe_zone(scope, region, z, tags, vpcs)
            })
            .collect());
    }
    let zones = all_zones(client).await?;
    // Each zone's records are listed once, however many records it imports.
    let mut listed: std::collections::HashMap<&str, Vec<ResourceRecordSet>> =
        std::collections::HashMap::new();
    let mut found = Vec::new();
    for (id, address) in imports {
        let Some((name, record_type)) = record_id(id) else {
            continue;
        };
        let mut holding: Vec<&HostedZone> = zones
            .iter()
            .filter(|z| {
                let apex = plain(z.name());
                name == apex || name.ends_with(&format!(".{apex}"))
            })
            .collect();
        holding.sort_by_key(|z| (std::cmp::Reverse(z.name().len()), !public(z)));
        for zone in holding {
            let zone = zone_id(zone.id());
            if let std::collections::hash_map::Entry::Vacant(slot) = listed.entry(zone) {
                slot.insert(all_record_sets(client, zone).await?);
            }
            let sets = &listed[zone];
            let Some(set) = sets
                .iter()
                .find(|s| plain(s.name()) == name && s.r#type().as_str() == record_type)
            else {
                continue;
            };
            let mut o = record::observe(address.clone(), region, zone, set);
            o.handles.insert(crate::model::IMPORTED.into(), id.clone());
            let marker = sets
                .iter()
                .find(|s| plain(s.name()) == marker_name(&record_type, &name))
                .and_then(|m| m.resource_records().first())
                .and_then(|r| {
                    parse_marker(r.value()).map(|f| f.get("stack").map(|s| s.to_string()))
                });
            if let Some(Some(owner)) = marker {
                o.handles.insert(crate::model::OWNER.into(), owner);
            }
            found.push(o);
            break;
        }
    }
    Ok(found)
}

/// `NAME TYPE` of a record import id: the name plain (lowercase, no final dot).
pub fn record_id(id: &str) -> Option<(String, String)> {
    let mut parts = id.split_whitespace();
    let (name, record_type) = (parts.next()?, parts.next()?);
    parts
        .next()
        .is_none()
        .then(|| (plain(name), record_type.to_uppercase()))
}

/// Only a public zone is adopted for a `dns_zone`: a private one of the same
/// name answers other clients.
fn public(zone: &HostedZone) -> bool {
    !zone.config().is_some_and(|c| c.private_zone())
}

impl Mutator {
    /// Sends `changes` in the zone's next batch: record steps that run together
    /// (a fresh zone's records, say) share one ChangeResourceRecordSets, which
    /// Route53 applies atomically, so they succeed or fail together.
    pub(in crate::aws) async fn change_records(
        &self,
        zone: &str,
        changes: Vec<Change>,
    ) -> Result<(), AwsError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let first = {
            let mut pending = self.zone_batches.0.lock().expect("batch lock");
            let batch = pending.entry(zone.to_string()).or_default();
            batch.changes.extend(changes);
            batch.waiting.push(done);
            batch.waiting.len() == 1
        };
        if first {
            // Long enough for steps started in the same round to join.
            tokio::time::sleep(GATHER).await;
            let batch = self
                .zone_batches
                .0
                .lock()
                .expect("batch lock")
                .remove(zone)
                .unwrap_or_default();
            let changes = ChangeBatch::builder()
                .set_changes(Some(batch.changes))
                .build()
                .expect("a batch has changes");
            let sent = send!(
                "ChangeResourceRecordSets",
                self.route53
                    .change_resource_record_sets()
                    .hosted_zone_id(zone)
                    .change_batch(changes)
            )
            .map(drop);
            for waiting in batch.waiting {
                let _ = waiting.send(sent.clone());
            }
        }
        result.await.unwrap_or_else(|_| {
            Err(AwsError::new(
                "ChangeResourceRecordSets",
                ErrorClass::Other,
                "Abandoned",
                "the batch this change was in was never sent",
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_name_their_owner_and_nothing_else_parses_as_one() {
        let address = Address::new(Kind::DnsRecord, "app");
        let value = marker_value("prod", "us-west-2", &address, true);
        let fields = parse_marker(&value).unwrap();
        assert_eq!(fields["stack"], "prod");
        assert_eq!(fields["id"], "dns_record.app");
        assert_eq!(fields["protect"], "true");
        assert!(parse_marker("\"v=spf1 -all\"").is_none());
        assert_eq!(
            marker_name("A", "app.example.com"),
            "_reconcile-a.app.example.com"
        );
    }
}
