//! Hosted zones: create (or adopt), update (VPCs, home, tags), delete.

use super::*;
use crate::model::tags::on_zones;

impl Mutator {
    pub(super) fn zone_tags(&self, address: &Address, attrs: &Attrs, adopted: bool) -> Vec<Tag> {
        let mut pairs = self.tag_pairs(address, attrs);
        pairs.retain(|(k, _)| on_zones(k));
        pairs.push((REGION_TAG.into(), self.region.clone()));
        if adopted {
            pairs.push((ADOPTED_TAG.into(), "true".into()));
        }
        pairs
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    }

    pub(in crate::aws) async fn zone_create(
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
        let vpcs = crate::aws::ids(attrs, "vpcs");
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
    pub(super) fn vpc(&self, id: &str) -> Vpc {
        Vpc::builder()
            .vpc_id(id)
            .vpc_region(VpcRegion::from(self.region.as_str()))
            .build()
    }

    pub(super) async fn associate(&self, zone: &str, vpc: &str) -> Result<(), AwsError> {
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
    pub(in crate::aws) async fn zone_update(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        if changed.contains("vpcs") {
            let zone = observed.live_id.as_str();
            let (was, now) = (
                crate::aws::ids(&observed.attrs, "vpcs"),
                crate::aws::ids(attrs, "vpcs"),
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

    /// A zone's only settings are its tags, and the home region recorded on it.
    pub(in crate::aws) async fn zone_write_tags(
        &self,
        observed: &Observed,
        set: Vec<(String, String)>,
        stale: Vec<String>,
    ) -> Result<(), AwsError> {
        let mut add: Vec<Tag> = set
            .into_iter()
            .filter(|(k, _)| on_zones(k))
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        // A record written by an earlier version: the room is the user's.
        let mut stale = stale;
        stale.extend(observed.handles.keys().filter(|k| !on_zones(k)).cloned());
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

    pub(in crate::aws) async fn zone_delete(&self, observed: &Observed) -> Result<(), AwsError> {
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
        self.delete_validation_records(&observed.live_id).await?;
        send!(
            "DeleteHostedZone",
            c.delete_hosted_zone().id(&observed.live_id)
        )
        .map(drop)
    }

    /// The ACM validation records in a zone about to be deleted: written by
    /// the stack's certificates, kept while the zone lived (certificates
    /// renew through them), in the way of deleting it. Records of anything
    /// else are left: Route53 then refuses to delete the zone, as it should.
    async fn delete_validation_records(&self, zone: &str) -> Result<(), AwsError> {
        let validation = all_record_sets(&self.route53, zone)
            .await?
            .into_iter()
            .filter(|set| {
                set.r#type() == &RrType::Cname
                    && !set.resource_records().is_empty()
                    && set.resource_records().iter().all(|r| {
                        r.value()
                            .trim_end_matches('.')
                            .ends_with(".acm-validations.aws")
                    })
            })
            .map(|set| {
                Change::builder()
                    .action(ChangeAction::Delete)
                    .resource_record_set(set)
                    .build()
                    .expect("action and set are set")
            })
            .collect::<Vec<_>>();
        if validation.is_empty() {
            return Ok(());
        }
        send!(
            "ChangeResourceRecordSets",
            self.route53
                .change_resource_record_sets()
                .hosted_zone_id(zone)
                .change_batch(
                    ChangeBatch::builder()
                        .set_changes(Some(validation))
                        .build()
                        .expect("a batch has changes")
                )
        )
        .map(drop)
    }
}
