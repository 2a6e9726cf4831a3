//! Reading what a stack owns: every service of a region at once, joined
//! (`Discover for Aws`); the one normaliser of an owned resource from its
//! tags; the regions a stack has anything in.

use super::cloud::Discover;
use super::mutator::{place, Placed};
use super::{
    acm, autoscaling, cloudwatch, ec2, elbv2, iam, rds, route53, Aws, AwsError, ErrorClass,
};
use crate::model::profile::phase;
use crate::model::tags::{decode, is_encoded};
use crate::model::{self, Address, Attrs, Kind, LiveRegion, Observed, Service, Value};
use crate::model::{ID_TAG, PROTECT_TAG, STACK_TAG};
use std::collections::BTreeMap;
use tracing::Instrument;

impl Discover for Aws {
    async fn identity(&self, region: &str) -> Result<crate::model::Identity, AwsError> {
        self.caller(region).await
    }

    async fn imports(
        &self,
        stack: &str,
        region: &str,
        wanted: &[(Address, String)],
    ) -> Result<Vec<Observed>, AwsError> {
        let mut by_kind: BTreeMap<Kind, Imports> = BTreeMap::new();
        for (address, id) in wanted {
            by_kind
                .entry(address.kind)
                .or_default()
                .insert(id.clone(), address.clone());
        }
        let reads = by_kind.iter().map(|(kind, imports)| async move {
            let found = match place(*kind) {
                Placed::Ec2(k) => ec2::import(&self.ec2(region), stack, k, imports, region).await,
                Placed::Rds(k) => rds::import(&self.rds(region), stack, k, imports, region).await,
                Placed::Elb(k) => {
                    elbv2::import(&self.elbv2(region), stack, k, imports, region).await
                }
                Placed::Alarm => {
                    cloudwatch::import(&self.cloudwatch(region), stack, imports, region).await
                }
                Placed::Dns(k) => route53::import(&self.route53(), stack, k, imports, region).await,
                // Their blocks cannot import (`Schema::import`): the validator lets none.
                Placed::Certificate | Placed::Iam(_) | Placed::Group => Ok(vec![]),
            };
            found.map_err(|e| e.at(region, &self.endpoint(kind.service(), region)))
        });
        let mut found: Vec<Observed> = futures::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect();
        // An instance's target groups are its registrations (as `discover`
        // joins them): in any group, for its groups may be imported too.
        if found.iter().any(|o| o.address.kind == Kind::Instance) {
            let registrations = elbv2::registrations(&self.elbv2(region))
                .await
                .map_err(|e| e.at(region, &self.endpoint(Service::Elbv2, region)))?;
            join_registrations(&mut found, &registrations);
        }
        Ok(found)
    }

    async fn zone_records(
        &self,
        zone: &str,
    ) -> Result<std::collections::BTreeSet<String>, AwsError> {
        route53::unowned_records(&self.route53(), zone)
            .await
            .map_err(|e| e.at("us-east-1", &self.endpoint(Service::Route53, "us-east-1")))
    }

    /// The regions the account has enabled, asked in `from`.
    async fn enabled_regions(&self, from: &str) -> Result<Vec<String>, AwsError> {
        let found = send!("DescribeRegions", self.ec2(from).describe_regions())
            .map_err(|e| e.at(from, &self.endpoint(Service::Ec2, from)))?;
        // A region not opted in holds nothing (AWS lists only enabled ones;
        // LocalStack lists them all, and fails to search some).
        Ok(found
            .regions()
            .iter()
            .filter(|r| r.opt_in_status() != Some("not-opted-in"))
            .filter_map(|r| r.region_name().map(str::to_string))
            .collect())
    }

    /// The regions among `candidates` where a resource of a service reconcile
    /// manages carries `stack`'s tag: one query per region, all at once.
    /// (Route53 is global and read anyway.)
    async fn regions_holding(
        &self,
        stack: &str,
        candidates: &[String],
    ) -> Result<Vec<String>, AwsError> {
        use aws_sdk_resourcegroupstagging::types::TagFilter;
        let asks = candidates.iter().map(|region| async move {
            let found = send!(
                "GetResources",
                self.tagging(region)
                    .get_resources()
                    .tag_filters(TagFilter::builder().key(STACK_TAG).values(stack).build())
                    .set_resource_type_filters(Some(
                        ["ec2", "elasticloadbalancing", "rds", "cloudwatch", "acm"]
                            .map(String::from)
                            .to_vec()
                    ))
                    .resources_per_page(1)
            )
            .map_err(|e| e.at(region, &self.endpoint(Service::Tagging, region)))?;
            Ok::<_, AwsError>(
                (!found.resource_tag_mapping_list().is_empty()).then(|| region.clone()),
            )
        });
        Ok(futures::future::try_join_all(asks)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Everything `stack` owns in `region`: every service read concurrently, then
    /// joined (an instance's target groups come from the groups' registrations).
    /// Route53 and IAM are global: read only with `global`, and then all of
    /// the stack's, each object carrying the home region recorded on it.
    async fn discover(
        &self,
        stack: &str,
        region: &str,
        global: bool,
    ) -> Result<LiveRegion, AwsError> {
        let (ec2_client, elb_client) = (self.ec2(region), self.elbv2(region));
        let (rds_client, cloudwatch_client) = (self.rds(region), self.cloudwatch(region));
        let route53_client = self.route53();
        let at = |service: Service| {
            let endpoint = self.endpoint(service, region);
            move |e: AwsError| e.at(region, &endpoint)
        };
        let timed = |service: Service| phase(&format!("discover {region} {service}"));
        // A service the endpoint does not implement (LocalStack's community
        // edition has no ELBv2 or RDS) reads as `None`: the caller decides
        // whether the stack can do without it.
        let (acm_client, tagging_client) = (self.acm(region), self.tagging(region));
        let (iam_client, autoscaling_client) = (self.iam(), self.autoscaling(region));
        let (
            found,
            balancing,
            databases,
            alarms,
            dns,
            certificates,
            roles,
            groups,
            applied_regions,
        ) = tokio::try_join!(
            async {
                available(ec2::discover(&ec2_client, stack, region).await).map_err(at(Service::Ec2))
            }
            .instrument(timed(Service::Ec2)),
            async {
                available(elbv2::discover(&elb_client, stack, region).await)
                    .map_err(at(Service::Elbv2))
            }
            .instrument(timed(Service::Elbv2)),
            async {
                available(rds::discover(&rds_client, stack, region).await).map_err(at(Service::Rds))
            }
            .instrument(timed(Service::Rds)),
            async {
                available(
                    cloudwatch::discover(&cloudwatch_client, &tagging_client, stack, region).await,
                )
                .map_err(at(Service::CloudWatch))
            }
            .instrument(timed(Service::CloudWatch)),
            async {
                if !global {
                    return Ok(Ok(route53::Discovered::default()));
                }
                available(route53::discover(&route53_client, stack, region).await)
                    .map_err(at(Service::Route53))
            }
            .instrument(timed(Service::Route53)),
            async {
                let read =
                    acm::discover(&acm_client, &tagging_client, self.acm_tags(), stack, region);
                available(read.await).map_err(at(Service::Acm))
            }
            .instrument(timed(Service::Acm)),
            async {
                // Global, as Route53: read with it, once.
                if !global {
                    return Ok(Ok(vec![]));
                }
                available(iam::discover(&iam_client, stack, region).await).map_err(at(Service::Iam))
            }
            .instrument(timed(Service::Iam)),
            async {
                available(
                    autoscaling::discover(&autoscaling_client, &ec2_client, stack, region).await,
                )
                .map_err(at(Service::Autoscaling))
            }
            .instrument(timed(Service::Autoscaling)),
            async {
                available(self.applied_regions(region, stack).await).map_err(at(Service::Ec2))
            }
            .instrument(phase(&format!("discover {region} regions record"))),
        )?;
        let mut unavailable = BTreeMap::new();
        let mut found = self.read(&mut unavailable, Service::Ec2, region, found);
        let (balancing, registrations): (_, std::collections::HashMap<String, Vec<String>>) =
            self.read(&mut unavailable, Service::Elbv2, region, balancing);
        let databases = self.read(&mut unavailable, Service::Rds, region, databases);
        let alarms = self.read(&mut unavailable, Service::CloudWatch, region, alarms);
        let dns = self.read(&mut unavailable, Service::Route53, region, dns);
        let certificates = self.read(&mut unavailable, Service::Acm, region, certificates);
        let roles = self.read(&mut unavailable, Service::Iam, region, roles);
        let groups = self.read(&mut unavailable, Service::Autoscaling, region, groups);
        join_registrations(&mut found, &registrations);
        found.extend(balancing);
        found.extend(databases);
        found.extend(alarms);
        found.extend(dns.owned);
        found.extend(certificates);
        found.extend(roles);
        found.extend(groups);
        Ok(LiveRegion {
            resources: found,
            adoptable_zones: dns.adoptable_zones,
            foreign_records: dns.foreign_records,
            unavailable,
            // Without EC2 (not implemented by the endpoint) there is no
            // record: plans search every region.
            applied_regions: applied_regions.ok().flatten(),
        })
    }
}

impl Aws {
    /// What a service read, or nothing when the endpoint does not implement
    /// the service: then noted in `unavailable`.
    fn read<T: Default>(
        &self,
        unavailable: &mut BTreeMap<Service, model::Unavailable>,
        service: Service,
        region: &str,
        r: Result<T, AwsError>,
    ) -> T {
        r.unwrap_or_else(|e| {
            unavailable.insert(
                service,
                model::Unavailable {
                    endpoint: self.endpoint(service, region),
                    answer: format!("{}: {}", e.code, e.message),
                },
            );
            T::default()
        })
    }
}

/// A service's answer, with "the endpoint does not implement it" set apart:
/// `Ok(Err(_))` is that, `Err(_)` any other failure.
fn available<T>(r: Result<T, AwsError>) -> Result<Result<T, AwsError>, AwsError> {
    match r {
        Err(e) if e.class == ErrorClass::Unsupported => Ok(Err(e)),
        Err(e) => Err(e),
        Ok(v) => Ok(Ok(v)),
    }
}

/// Each instance's `target_groups`: the groups it is registered in
/// (instance id → group ARNs, from the groups' DescribeTargetHealth).
fn join_registrations(
    found: &mut [Observed],
    registrations: &std::collections::HashMap<String, Vec<String>>,
) {
    for o in found
        .iter_mut()
        .filter(|o| o.address.kind == Kind::Instance)
    {
        let groups = registrations.get(&o.live_id).into_iter().flatten();
        o.attrs.insert(
            "target_groups".into(),
            Value::set(groups.map(|arn| Value::Id(arn.clone()))),
        );
    }
}

/// The live id of each resource blocks import → the block importing it.
pub type Imports = BTreeMap<String, Address>;

/// What a discovery reads: what a stack owns (found by its tag), or the
/// live resources blocks import (found by their ids, whoever owns them).
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    Owned(&'a str),
    /// The stack that imports them, and what.
    Imported(&'a str, &'a Imports),
}

/// An owned resource from its tags (`observed_in` for `Scope::Owned`).
pub(crate) fn observed(
    region: &str,
    kind: Kind,
    tags: &BTreeMap<String, String>,
    arn: &str,
    attrs: impl IntoIterator<Item = (&'static str, Value)>,
    exports: BTreeMap<String, String>,
) -> Option<Observed> {
    observed_in(Scope::Owned(""), region, kind, tags, arn, attrs, exports)
}

/// `observed` in a scope: an imported resource is put at the block that
/// imports it (tagged or not), with its id in `model::IMPORTED` and the
/// stack that owns it, if one does, in `model::OWNER`.
pub(crate) fn observed_in(
    scope: Scope<'_>,
    region: &str,
    kind: Kind,
    tags: &BTreeMap<String, String>,
    arn: &str,
    attrs: impl IntoIterator<Item = (&'static str, Value)>,
    exports: BTreeMap<String, String>,
) -> Option<Observed> {
    let (address, imported) = match scope {
        // By its id, or by the name an ARN ends with (RDS: the identifier).
        Scope::Imported(stack, ids) => {
            let address = ids
                .get(arn)
                .or_else(|| ids.get(arn.rsplit(':').next().unwrap_or(arn)))?
                .clone();
            // Imported before and read by its id again (RDS groups, whose
            // listing finds a stack's by their generated names): owned.
            let owned = tags.get(STACK_TAG).map(String::as_str) == Some(stack)
                && tags.get(ID_TAG) == Some(&address.to_string());
            (address, !owned)
        }
        Scope::Owned(_) => {
            let Some(address) = tags
                .get(ID_TAG)
                .and_then(|a| Address::parse(a))
                .filter(|a| a.kind == kind)
            else {
                tracing::warn!(
                    "{arn} carries {STACK_TAG} but no usable {ID_TAG} tag for a {kind}; leaving it alone"
                );
                return None;
            };
            (address, false)
        }
    };
    let mut attrs: Attrs = attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let user_tags = tags
        .iter()
        .filter(|(k, _)| !crate::model::tags::is_managed(k))
        .map(|(k, v)| (k.clone(), Value::str(v)));
    attrs.insert("tags".into(), Value::Map(user_tags.collect()));
    attrs.insert(
        "protect".into(),
        Value::Bool(tags.get(PROTECT_TAG).map(String::as_str) == Some("true")),
    );
    let mut exports = exports;
    exports
        .entry("id".into())
        .or_insert_with(|| arn.to_string());
    // The change record stays with the live resource, for `status`.
    let mut handles: BTreeMap<String, String> = tags
        .iter()
        .filter(|(k, _)| is_encoded(k))
        .map(|(k, v)| (k.clone(), decode(v)))
        .collect();
    if imported {
        handles.insert(model::IMPORTED.into(), arn.to_string());
        if let Some(owner) = tags.get(STACK_TAG) {
            handles.insert(model::OWNER.into(), owner.clone());
        }
    }
    Some(Observed {
        address,
        region: region.to_string(),
        live_id: arn.to_string(),
        attrs,
        exports,
        handles,
    })
}
