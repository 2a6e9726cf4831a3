//! Route53: hosted zones and record sets. Route53 is global; reconcile homes each
//! DNS block in one region of its stack, recorded on the zone (a tag) and on each
//! record's ownership marker, so discovery in a region sees only what lives there.
//!
//! Record sets have no tags. As external-dns does, reconcile owns a record
//! through a TXT marker beside it (`_reconcile-a.app.example.com`), written and
//! deleted in the same change batch as the record; records without a marker of
//! this stack are never touched.

use super::{text, AwsError, Code, Created, ErrorClass, Mutator};
use crate::model::{
    txt, Address, Attrs, Changed, Kind, Observed, Value, ID_TAG, PROTECT_TAG, STACK_TAG,
};
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, HostedZone, HostedZoneConfig, ResourceRecord,
    ResourceRecordSet, RrType, Tag, TagResourceType, Vpc, VpcRegion,
};
use aws_sdk_route53::Client;
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

/// The zones and records `stack` homes in `region`, with what is in their way.
pub async fn discover(client: &Client, stack: &str, region: &str) -> Result<Discovered, AwsError> {
    let zones: Vec<HostedZone> = client
        .list_hosted_zones()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::from_sdk("ListHostedZones", e))?;
    let ids: Vec<String> = zones.iter().map(|z| zone_id(z.id()).to_string()).collect();
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
    let tags: BTreeMap<String, BTreeMap<String, String>> = tag_pages
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
        .collect();
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
        let name = plain(zone.name());
        let home = zone_tags.get(REGION_TAG).map_or(region, String::as_str);
        if let Some(mut o) = super::observed(
            home,
            Kind::DnsZone,
            zone_tags,
            id,
            [
                ("name", Value::str(&name)),
                ("home", Value::str(home)),
                ("private", Value::Bool(!public(zone))),
                ("vpcs", Value::set(vpcs)),
            ],
            BTreeMap::from([("name".to_string(), name)]),
        ) {
            if zone_tags.contains_key(ADOPTED_TAG) {
                o.handles.insert("adopted".into(), "true".into());
            }
            found.push(o);
        }
        let ours = records(stack, id, sets);
        let apex = plain(zone.name());
        for set in sets {
            let (name, kind) = (plain(set.name()), set.r#type().as_str());
            let key = format!("{id}/{name}/{kind}");
            let infrastructure = name == apex && matches!(kind, "SOA" | "NS");
            if !infrastructure
                && !name.starts_with("_reconcile-")
                && !ours.iter().any(|o| o.live_id == key)
            {
                foreign_records.insert(key);
            }
        }
        found.extend(ours);
    }
    Ok(Discovered {
        owned: found,
        adoptable_zones: adoptable,
        foreign_records,
    })
}

/// Only a public zone is adopted for a `dns_zone`: a private one of the same
/// name answers other clients.
fn public(zone: &HostedZone) -> bool {
    !zone.config().is_some_and(|c| c.private_zone())
}

/// The records of a zone that carry a marker of this stack and region.
fn records(stack: &str, zone: &str, sets: &[ResourceRecordSet]) -> Vec<Observed> {
    let mut found = Vec::new();
    for marker in sets.iter().filter(|s| s.r#type() == &RrType::Txt) {
        let marker_text = marker
            .resource_records()
            .first()
            .map(|r| r.value())
            .unwrap_or_default();
        let Some(fields) = parse_marker(marker_text) else {
            continue;
        };
        if fields.get("stack") != Some(&stack) {
            continue;
        }
        let Some(region) = fields.get("region").copied() else {
            continue;
        };
        let Some(address) = fields
            .get("id")
            .and_then(|a| Address::parse(a))
            .filter(|a| a.kind == Kind::DnsRecord)
        else {
            continue;
        };
        let marker_name = plain(marker.name());
        let Some((record_type, name)) = marker_name
            .strip_prefix("_reconcile-")
            .and_then(|rest| rest.split_once('.'))
            .map(|(t, n)| (t.to_uppercase(), n.to_string()))
        else {
            continue;
        };
        let record = sets
            .iter()
            .find(|s| plain(s.name()) == name && s.r#type().as_str() == record_type);
        let Some(record) = record else { continue };
        let mut attrs: Attrs = BTreeMap::from([
            ("zone".to_string(), Value::Id(zone.to_string())),
            ("name".to_string(), Value::str(&name)),
            ("type".to_string(), Value::str(&record_type)),
            ("home".to_string(), Value::str(region)),
            (
                "protect".to_string(),
                Value::Bool(fields.get("protect") == Some(&"true")),
            ),
        ]);
        let mut handles = BTreeMap::from([("marker".to_string(), marker_text.to_string())]);
        match record.alias_target() {
            Some(alias) => {
                attrs.insert(
                    "alias".into(),
                    Value::map([
                        ("dns_name", Value::str(plain(alias.dns_name()))),
                        ("zone_id", Value::str(alias.hosted_zone_id().to_uppercase())),
                    ]),
                );
                handles.insert("alias_dns".into(), alias.dns_name().to_string());
                handles.insert("alias_zone".into(), alias.hosted_zone_id().to_string());
            }
            None => {
                let ttl = record.ttl().unwrap_or_default();
                let raw: Vec<&str> = record
                    .resource_records()
                    .iter()
                    .map(|r| r.value())
                    .collect();
                attrs.insert("ttl".into(), Value::Int(ttl));
                attrs.insert(
                    "values".into(),
                    Value::set(raw.iter().map(|v| Value::Str(unquote(&record_type, v)))),
                );
                handles.insert("ttl".into(), ttl.to_string());
                handles.insert("values".into(), raw.join("\n"));
            }
        }
        let live_id = format!("{zone}/{name}/{record_type}");
        found.push(Observed {
            address,
            region: region.to_string(),
            exports: BTreeMap::from([
                ("id".to_string(), live_id.clone()),
                ("name".to_string(), name),
            ]),
            live_id,
            attrs,
            handles,
        });
    }
    found
}

fn record_set(
    name: &str,
    record_type: &str,
    ttl: Option<i64>,
    values: &[String],
    alias: Option<(&str, &str)>,
) -> ResourceRecordSet {
    let mut set = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(record_type));
    match alias {
        Some((dns_name, zone)) => {
            set = set.alias_target(
                AliasTarget::builder()
                    .dns_name(dns_name)
                    .hosted_zone_id(zone)
                    .evaluate_target_health(false)
                    .build()
                    .expect("an alias target has its fields"),
            );
        }
        None => {
            set = set.set_ttl(ttl).set_resource_records(Some(
                values
                    .iter()
                    .map(|v| {
                        ResourceRecord::builder()
                            .value(v)
                            .build()
                            .expect("a record has a value")
                    })
                    .collect(),
            ));
        }
    }
    set.build().expect("a record set has a name and type")
}

fn change(action: ChangeAction, set: ResourceRecordSet) -> Change {
    Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .expect("a change has an action and a record set")
}

impl Mutator {
    fn zone_tags(&self, address: &Address, attrs: &Attrs, adopted: bool) -> Vec<Tag> {
        let mut pairs = self.tag_pairs(address, attrs);
        pairs.push((REGION_TAG.into(), self.region.clone()));
        if adopted {
            pairs.push((ADOPTED_TAG.into(), "true".into()));
        }
        pairs
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    }

    pub(super) async fn record_create(
        &self,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<Created, AwsError> {
        self.write_record(address, attrs).await?;
        let live_id = format!(
            "{}/{}/{}",
            text(attrs, "zone").unwrap_or_default(),
            text(attrs, "name").unwrap_or_default(),
            text(attrs, "type").unwrap_or_default()
        );
        Ok(Created {
            exports: BTreeMap::from([
                ("id".to_string(), live_id.clone()),
                (
                    "name".to_string(),
                    text(attrs, "name").unwrap_or_default().to_string(),
                ),
            ]),
            live_id,
        })
    }

    pub(super) async fn zone_create(
        &self,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<Created, AwsError> {
        let name = text(attrs, "name").unwrap_or_default();
        let c = &self.route53;
        // An existing public zone of that name is adopted, not duplicated.
        let existing = send!(
            "ListHostedZonesByName",
            c.list_hosted_zones_by_name().dns_name(name).max_items(10)
        )?;
        // The caller reference is this step's: a zone carrying it was created by
        // an earlier attempt of this very step whose answer was lost.
        let reference = format!("reconcile-{}", self.client_token(address));
        let private = attrs.get("private") == Some(&Value::Bool(true));
        let vpcs = super::ids(attrs, "vpcs");
        let named = || {
            existing
                .hosted_zones()
                .iter()
                .filter(|z| plain(z.name()) == name)
        };
        let ours = named().find(|z| z.caller_reference() == reference);
        // A private zone is always created: one of that name may serve other VPCs.
        let adopted = named()
            .find(|z| public(z) && !private)
            .filter(|_| ours.is_none())
            .map(|z| zone_id(z.id()).to_string());
        let id = match (&adopted, ours) {
            (Some(id), _) => id.clone(),
            (None, Some(zone)) => zone_id(zone.id()).to_string(),
            (None, None) => {
                let mut create = c
                    .create_hosted_zone()
                    .name(name)
                    .caller_reference(&reference);
                if let Some(first) = vpcs.first().filter(|_| private) {
                    create = create.vpc(self.vpc(first)).hosted_zone_config(
                        HostedZoneConfig::builder()
                            .private_zone(true)
                            .comment(format!("{address}, managed by reconcile"))
                            .build(),
                    );
                }
                let out = send_once!(aws_sdk_route53, "CreateHostedZone", create)?;
                let id = zone_id(out.hosted_zone().map(|z| z.id()).unwrap_or_default());
                for vpc in vpcs.iter().skip(1) {
                    self.associate(id, vpc).await?;
                }
                id.to_string()
            }
        };
        send!(
            "ChangeTagsForResource",
            c.change_tags_for_resource()
                .resource_type(TagResourceType::Hostedzone)
                .resource_id(&id)
                .set_add_tags(Some(self.zone_tags(address, attrs, adopted.is_some())))
        )?;
        if adopted.is_some() {
            self.progress(format!(
                "{address} ({}): adopted the existing zone {name} ({id})",
                self.region
            ));
        }
        Ok(Created {
            exports: BTreeMap::from([
                ("id".to_string(), id.clone()),
                ("name".to_string(), name.to_string()),
            ]),
            live_id: id,
        })
    }

    /// A VPC of this region, as Route53 names one.
    fn vpc(&self, id: &str) -> Vpc {
        Vpc::builder()
            .vpc_id(id)
            .vpc_region(VpcRegion::from(self.region.as_str()))
            .build()
    }

    async fn associate(&self, zone: &str, vpc: &str) -> Result<(), AwsError> {
        let done = send!(
            "AssociateVPCWithHostedZone",
            self.route53
                .associate_vpc_with_hosted_zone()
                .hosted_zone_id(zone)
                .vpc(self.vpc(vpc))
        );
        match done {
            Err(e) if !e.is(Code::ConflictingDomainExists) && !e.is_duplicate() => Err(e),
            _ => Ok(()),
        }
    }

    /// A private zone's VPCs: the new ones associated before the old ones go
    /// (a private zone keeps at least one).
    pub(super) async fn zone_update(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        if changed.contains("vpcs") {
            let zone = observed.live_id.as_str();
            let (was, now) = (
                super::ids(&observed.attrs, "vpcs"),
                super::ids(attrs, "vpcs"),
            );
            for vpc in now.iter().filter(|v| !was.contains(v)) {
                self.associate(zone, vpc).await?;
            }
            for vpc in was.iter().filter(|v| !now.contains(v)) {
                let gone = send!(
                    "DisassociateVPCFromHostedZone",
                    self.route53
                        .disassociate_vpc_from_hosted_zone()
                        .hosted_zone_id(zone)
                        .vpc(self.vpc(vpc))
                );
                match gone {
                    Err(e) if !e.is_not_found() => return Err(e),
                    _ => {}
                }
            }
        }
        self.retag(observed, attrs, changed).await
    }

    /// The record and its marker, in one atomic change batch.
    async fn write_record(&self, address: &Address, attrs: &Attrs) -> Result<(), AwsError> {
        let (name, record_type) = (
            text(attrs, "name").unwrap_or_default(),
            text(attrs, "type").unwrap_or_default(),
        );
        let alias = attrs.get("alias").and_then(Value::as_map);
        let values: Vec<String> = attrs
            .get("values")
            .map(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
            .map(|v| quote(record_type, v))
            .collect();
        let ttl = match attrs.get("ttl") {
            Some(Value::Int(t)) => Some(*t),
            _ => None,
        };
        let alias = alias.map(|a| {
            let field = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or_default();
            (
                field("dns_name").to_string(),
                field("zone_id").to_uppercase(),
            )
        });
        let record = record_set(
            name,
            record_type,
            ttl,
            &values,
            alias.as_ref().map(|(d, z)| (d.as_str(), z.as_str())),
        );
        let protect = attrs.get("protect") == Some(&Value::Bool(true));
        let marker = record_set(
            &marker_name(record_type, name),
            "TXT",
            Some(300),
            &[marker_value(&self.stack, &self.region, address, protect)],
            None,
        );
        self.change_records(
            text(attrs, "zone").unwrap_or_default(),
            vec![
                change(ChangeAction::Upsert, record),
                change(ChangeAction::Upsert, marker),
            ],
        )
        .await
    }

    /// Sends `changes` in the zone's next batch: record steps that run together
    /// (a fresh zone's records, say) share one ChangeResourceRecordSets, which
    /// Route53 applies atomically, so they succeed or fail together.
    async fn change_records(&self, zone: &str, changes: Vec<Change>) -> Result<(), AwsError> {
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

    pub(super) async fn record_update(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let wanted = changed.merged(attrs, &observed.attrs);
        self.write_record(&observed.address, &wanted).await
    }

    /// A zone's only settings are its tags, and the home region recorded on it.
    pub(super) async fn zone_write_tags(
        &self,
        observed: &Observed,
        set: Vec<(String, String)>,
        stale: Vec<String>,
    ) -> Result<(), AwsError> {
        let mut add: Vec<Tag> = set
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        add.push(Tag::builder().key(REGION_TAG).value(&self.region).build());
        if observed.handles.contains_key("adopted") {
            add.push(Tag::builder().key(ADOPTED_TAG).value("true").build());
        }
        send!(
            "ChangeTagsForResource",
            self.route53
                .change_tags_for_resource()
                .resource_type(TagResourceType::Hostedzone)
                .resource_id(&observed.live_id)
                .set_add_tags(Some(add))
                .set_remove_tag_keys((!stale.is_empty()).then_some(stale))
        )
        .map(drop)
    }

    pub(super) async fn record_delete(&self, observed: &Observed) -> Result<(), AwsError> {
        let h = |k: &str| {
            observed
                .handles
                .get(k)
                .map(String::as_str)
                .unwrap_or_default()
        };
        let (name, record_type) = (
            text(&observed.attrs, "name").unwrap_or_default(),
            text(&observed.attrs, "type").unwrap_or_default(),
        );
        let alias = observed
            .handles
            .contains_key("alias_dns")
            .then(|| (h("alias_dns"), h("alias_zone")));
        let values: Vec<String> = h("values").lines().map(str::to_string).collect();
        let record = record_set(name, record_type, h("ttl").parse().ok(), &values, alias);
        let marker = record_set(
            &marker_name(record_type, name),
            "TXT",
            Some(300),
            &[h("marker").to_string()],
            None,
        );
        let zone = text(&observed.attrs, "zone").unwrap_or_default();
        return self
            .change_records(
                zone,
                vec![
                    change(ChangeAction::Delete, record),
                    change(ChangeAction::Delete, marker),
                ],
            )
            .await;
    }

    pub(super) async fn zone_delete(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.route53;
        if observed.handles.contains_key("adopted") {
            // It was there before reconcile: forget it, keep it.
            let ours = [
                STACK_TAG,
                ID_TAG,
                PROTECT_TAG,
                REGION_TAG,
                ADOPTED_TAG,
                crate::model::VERSION_TAG,
            ];
            return send!(
                "ChangeTagsForResource",
                c.change_tags_for_resource()
                    .resource_type(TagResourceType::Hostedzone)
                    .resource_id(&observed.live_id)
                    .set_remove_tag_keys(Some(ours.map(String::from).to_vec()))
            )
            .map(drop);
        }
        send!(
            "DeleteHostedZone",
            c.delete_hosted_zone().id(&observed.live_id)
        )
        .map(drop)
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
