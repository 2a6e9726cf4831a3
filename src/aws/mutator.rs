//! Changing one region: the `Mutator` apply's steps call (`Mutate`), each
//! kind placed in its service (`place`), creates exactly once, tags decided
//! once (`retag`), and the readers of the concrete attributes it is given.

use super::cloud::{Cloud, Created, Mutate};
use super::{
    acm, autoscaling, cloudwatch, ec2, elbv2, endpoint, iam, rds, route53, Aws, AwsError,
    ErrorClass,
};
use crate::model::probe::GroupNow;
use crate::model::progress::Progress;
use crate::model::tags::{
    encode, is_encoded, USER_DATA as USER_DATA_TAG, VALIDATION_ZONE as VALIDATION_ZONE_TAG,
};
use crate::model::{
    Address, Attrs, Changed, Inputs, Kind, Observed, Value, ID_TAG, PROTECT_TAG, STACK_TAG,
};
use std::collections::BTreeMap;
use std::time::Duration;

impl Cloud for Aws {
    type Mutator = Mutator;

    /// What apply uses to change one region, tagging what it creates or
    /// changes for `stack` with `record` (version label, time, operator,
    /// ticket), and reporting long waits to `progress`.
    fn mutator(
        &self,
        region: &str,
        stack: &str,
        record: &BTreeMap<String, String>,
        progress: Progress,
    ) -> Mutator {
        Mutator {
            endpoint_url: self.endpoint_url.clone(),
            wait_limit: self.wait_timeout,
            run_token: run_token(stack, region),
            ec2: self.ec2(region),
            elb: self.elbv2(region),
            rds: self.rds(region),
            cloudwatch: self.cloudwatch(region),
            route53: self.route53(),
            acm: self.acm(region),
            iam: self.iam(),
            autoscaling: self.autoscaling(region),
            tagging: self.tagging(region),
            acm_tags: self.acm_tags(),
            zone_batches: route53::ZoneBatches::default(),
            region: region.to_string(),
            stack: stack.to_string(),
            record: encoded(record),
            progress,
        }
    }

    async fn record_regions(
        &self,
        region: &str,
        stack: &str,
        regions: Option<&std::collections::BTreeSet<String>>,
    ) -> Result<(), AwsError> {
        self.write_regions(region, stack, regions)
            .await
            .map_err(|e| e.at(region, &self.endpoint(crate::model::Service::Ec2, region)))
    }
}

/// The mutations of one region. The `attrs` it is given are concrete: references
/// are live ids. Kinds are implemented in the service modules.
pub struct Mutator {
    pub(super) endpoint_url: Option<String>,
    pub(super) wait_limit: Duration,
    /// Unique to this run, region and stack: the seed of idempotency tokens.
    pub(super) run_token: String,
    pub(super) ec2: aws_sdk_ec2::Client,
    pub(super) elb: aws_sdk_elasticloadbalancingv2::Client,
    pub(super) rds: aws_sdk_rds::Client,
    pub(super) cloudwatch: aws_sdk_cloudwatch::Client,
    pub(super) route53: aws_sdk_route53::Client,
    pub(super) acm: aws_sdk_acm::Client,
    pub(super) iam: aws_sdk_iam::Client,
    pub(super) autoscaling: aws_sdk_autoscaling::Client,
    pub(super) tagging: aws_sdk_resourcegroupstagging::Client,
    pub(super) acm_tags: acm::TagSource,
    pub(super) zone_batches: route53::ZoneBatches,
    pub(super) region: String,
    pub(super) stack: String,
    /// The change record tagged on everything this run creates or changes.
    pub(super) record: BTreeMap<String, String>,
    pub(super) progress: Progress,
}

/// Where a kind lives in AWS, as that service's own kind, as the registry
/// places it (`model::kinds`). Both ways exhaustive: a new kind does not
/// compile until it is placed, and its service's kind not until that service
/// creates, updates and deletes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Placed {
    Ec2(ec2::Ec2Kind),
    Elb(elbv2::ElbKind),
    Rds(rds::RdsKind),
    Alarm,
    Dns(route53::DnsKind),
    Certificate,
    Iam(iam::IamKind),
    Group,
}

/// `place`, from the registry's placement of each kind (`model::kinds`).
macro_rules! place {
    ($($variant:ident $name:ident $family:ident :: $schema:ident $spec:ident [$($aws:tt)*],)*) => {
        pub(super) fn place(kind: Kind) -> Placed {
            use ec2::Ec2Kind as E;
            use elbv2::ElbKind as L;
            use iam::IamKind as I;
            use rds::RdsKind as R;
            use route53::DnsKind as D;
            match kind {
                $(Kind::$variant => Placed::$($aws)*,)*
            }
        }
    };
}
crate::model::kinds::kinds!(place);

/// How many times a create is tried: throttled or unreachable calls as often
/// as the SDK retries others; a call that got no answer (a hang costs a whole
/// `--call-timeout` each time) three times.
const CREATE_ATTEMPTS_UNSENT: u32 = 8;
const CREATE_ATTEMPTS_UNANSWERED: u32 = 3;

impl Mutate for Mutator {
    async fn group(&self, name: &str, versions: bool) -> Result<Option<GroupNow>, AwsError> {
        self.group_now(name, versions)
            .await
            .map_err(|e| e.at(&self.region, &self.endpoint_of(Kind::AutoscalingGroup)))
    }

    async fn healthy_in(
        &self,
        target_group: &str,
        instances: &[String],
    ) -> Result<Vec<String>, AwsError> {
        Mutator::healthy_in(self, target_group, instances)
            .await
            .map_err(|e| e.at(&self.region, &self.endpoint_of(Kind::TargetGroup)))
    }

    async fn set_capacity(&self, name: &str, desired: i32, max: i32) -> Result<(), AwsError> {
        Mutator::set_capacity(self, name, desired, max)
            .await
            .map_err(|e| e.at(&self.region, &self.endpoint_of(Kind::AutoscalingGroup)))
    }

    async fn deregister(
        &self,
        target_groups: &[String],
        instances: &[String],
    ) -> Result<(), AwsError> {
        Mutator::deregister(self, target_groups, instances)
            .await
            .map_err(|e| e.at(&self.region, &self.endpoint_of(Kind::TargetGroup)))
    }

    async fn mark_surge(&self, name: &str, from: Option<(i32, i32)>) -> Result<(), AwsError> {
        Mutator::mark_surge(self, name, from)
            .await
            .map_err(|e| e.at(&self.region, &self.endpoint_of(Kind::AutoscalingGroup)))
    }

    async fn terminate(&self, instance: &str, decrement: bool) -> Result<(), AwsError> {
        Mutator::terminate(self, instance, decrement)
            .await
            .map_err(|e| e.at(&self.region, &self.endpoint_of(Kind::AutoscalingGroup)))
    }

    /// Creates the resource at `address`, exactly once. `known` are the live ids
    /// the plan saw at this address (a resource being replaced, duplicates):
    /// they are never taken for the new one.
    ///
    /// A create whose outcome is unknown (no answer, a reset, a 5xx) or that
    /// AWS refuses as existing is resolved by looking the resource up by its
    /// tags before anything is sent again: if it is there it is adopted and
    /// brought to `attrs`; a second attempt is made only when it is not.
    async fn create(
        &self,
        address: &Address,
        attrs: &Attrs,
        inputs: &Inputs,
        known: &[String],
    ) -> Result<Created, AwsError> {
        let mut delay = Duration::from_millis(500);
        for attempt in 1.. {
            let failure = match self.create_once(address, attrs, inputs).await {
                Ok(created) => return Ok(created),
                Err(e) => e.at(&self.region, &self.endpoint_of(address.kind)),
            };
            let uncertain = failure.may_have_happened() || failure.is_duplicate();
            if !uncertain && !failure.is_retryable_unsent() {
                return Err(failure);
            }
            let attempts = if failure.is_retryable_unsent() {
                CREATE_ATTEMPTS_UNSENT
            } else {
                CREATE_ATTEMPTS_UNANSWERED
            };
            // Even a throttled create may have come after the create call itself
            // succeeded (a rule, a route, a wait): look before sending it again.
            tracing::info!("{address} ({}): {failure}; looking it up", self.region);
            tokio::time::sleep(delay).await;
            let mut found = self.find(address, known).await.map_err(|e| {
                AwsError::new(
                    failure.operation,
                    failure.class,
                    failure.code.clone(),
                    format!(
                        "{}; and looking for what it may have created failed too ({e})",
                        failure.message
                    ),
                )
            })?;
            match found.len() {
                0 if failure.is_duplicate() || attempt >= attempts => return Err(failure),
                0 => {}
                1 => {
                    let observed = found.remove(0);
                    self.progress(format!(
                        "{address} ({}): {} did not answer cleanly, but created {}: adopted",
                        self.region, failure.operation, observed.live_id
                    ));
                    self.update(
                        &observed,
                        attrs,
                        &Changed::between(attrs, &observed.attrs),
                        inputs,
                    )
                    .await?;
                    return Ok(Created {
                        live_id: observed.live_id,
                        exports: observed.exports,
                    });
                }
                _ => {
                    let ids: Vec<&str> = found.iter().map(|o| o.live_id.as_str()).collect();
                    return Err(AwsError::new(
                        failure.operation,
                        ErrorClass::Conflict,
                        "Duplicated",
                        format!(
                            "{} created more than once ({}); `reconcile plan` shows which copy \
                             is kept and deletes the others",
                            address,
                            ids.join(", ")
                        ),
                    ));
                }
            }
            delay = (delay * 2).min(Duration::from_secs(20));
        }
        unreachable!("the loop returns on the last attempt")
    }

    /// Makes the live resource match `attrs` in the attributes the plan found
    /// `changed`, and nothing else.
    async fn update(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        let result = match place(observed.address.kind) {
            Placed::Ec2(kind) => {
                self.ec2_update(kind, observed, attrs, changed, inputs)
                    .await
            }
            Placed::Elb(kind) => self.elb_update(kind, observed, attrs, changed).await,
            Placed::Rds(kind) => {
                self.rds_update(kind, observed, attrs, changed, inputs)
                    .await
            }
            Placed::Alarm => self.alarm_update(observed, attrs, changed).await,
            Placed::Dns(route53::DnsKind::Zone) => self.zone_update(observed, attrs, changed).await,
            Placed::Dns(route53::DnsKind::Record) => {
                self.record_update(observed, attrs, changed).await
            }
            Placed::Certificate => self.certificate_update(observed, attrs, changed).await,
            Placed::Iam(kind) => self.iam_update(kind, observed, attrs, changed).await,
            Placed::Group => self.group_update(observed, attrs, changed).await,
        };
        result.map_err(|e| e.at(&self.region, &self.endpoint_of(observed.address.kind)))
    }

    async fn delete(&self, observed: &Observed) -> Result<(), AwsError> {
        let result = match place(observed.address.kind) {
            Placed::Ec2(kind) => self.ec2_delete(kind, observed).await,
            Placed::Elb(kind) => self.elb_delete(kind, observed).await,
            Placed::Rds(kind) => self.rds_delete(kind, observed).await,
            Placed::Alarm => self.alarm_delete(observed).await,
            Placed::Dns(route53::DnsKind::Zone) => self.zone_delete(observed).await,
            Placed::Dns(route53::DnsKind::Record) => self.record_delete(observed).await,
            Placed::Certificate => self.certificate_delete(observed).await,
            Placed::Iam(kind) => self.iam_delete(kind, observed).await,
            Placed::Group => self.group_delete(observed).await,
        };
        match result {
            Err(e) if e.is_not_found() => Ok(()),
            other => {
                other.map_err(|e| e.at(&self.region, &self.endpoint_of(observed.address.kind)))
            }
        }
    }
}

impl Mutator {
    pub(super) async fn create_once(
        &self,
        address: &Address,
        attrs: &Attrs,
        inputs: &Inputs,
    ) -> Result<Created, AwsError> {
        match place(address.kind) {
            Placed::Ec2(kind) => self.ec2_create(kind, address, attrs, inputs).await,
            Placed::Elb(kind) => self.elb_create(kind, address, attrs).await,
            Placed::Rds(kind) => self.rds_create(kind, address, attrs, inputs).await,
            Placed::Alarm => self.put_alarm(address, attrs).await,
            Placed::Dns(route53::DnsKind::Zone) => self.zone_create(address, attrs).await,
            Placed::Dns(route53::DnsKind::Record) => self.record_create(address, attrs).await,
            Placed::Certificate => self.certificate_create(address, attrs).await,
            Placed::Iam(kind) => self.iam_create(kind, address, attrs).await,
            Placed::Group => self.group_create(address, attrs).await,
        }
    }

    /// What the stack owns at `address` in this region now, but for `known` ids.
    pub(super) async fn find(
        &self,
        address: &Address,
        known: &[String],
    ) -> Result<Vec<Observed>, AwsError> {
        let (stack, region) = (self.stack.as_str(), self.region.as_str());
        let found = match place(address.kind) {
            Placed::Ec2(_) => ec2::discover(&self.ec2, stack, region).await?,
            Placed::Elb(_) => elbv2::discover(&self.elb, stack, region).await?.0,
            Placed::Rds(_) => rds::discover(&self.rds, stack, region).await?,
            Placed::Alarm => {
                cloudwatch::discover(&self.cloudwatch, &self.tagging, stack, region).await?
            }
            Placed::Dns(_) => route53::discover(&self.route53, stack, region).await?.owned,
            Placed::Certificate => {
                acm::discover(&self.acm, &self.tagging, self.acm_tags, stack, region).await?
            }
            Placed::Iam(_) => iam::discover(&self.iam, stack, region).await?,
            Placed::Group => {
                autoscaling::discover(&self.autoscaling, &self.ec2, stack, region).await?
            }
        };
        Ok(found
            .into_iter()
            .filter(|o| &o.address == address && !known.contains(&o.live_id))
            .collect())
    }

    /// An idempotency token for creating `address` in this run: the same for
    /// every attempt, different in the next run.
    pub(super) fn client_token(&self, address: &Address) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{}/{address}", self.run_token));
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    pub(super) fn endpoint_of(&self, kind: Kind) -> String {
        endpoint(self.endpoint_url.as_deref(), kind.service(), &self.region)
    }

    /// Brings a resource's tags (its own, and ownership, version and
    /// protection) to what `attrs` say where they `changed`: decided here
    /// for every kind, written by each service's own call.
    pub(super) async fn retag(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let (set, stale) = self.retagging(observed, attrs, changed);
        let id = observed.live_id.as_str();
        match place(observed.address.kind) {
            Placed::Ec2(_) => self.ec2_write_tags(id, set, stale).await,
            Placed::Elb(_) => self.elb_write_tags(id, set, stale).await,
            Placed::Rds(_) => self.rds_write_tags(id, set, stale).await,
            Placed::Alarm => {
                let arn = observed.exports.get("arn").map_or("", String::as_str);
                self.alarm_write_tags(arn, set, stale).await
            }
            Placed::Dns(route53::DnsKind::Zone) => self.zone_write_tags(observed, set, stale).await,
            // Records carry no tags: the marker record beside each owns it.
            Placed::Dns(route53::DnsKind::Record) => Ok(()),
            Placed::Certificate => self.certificate_write_tags(id, set, stale).await,
            Placed::Iam(kind) => self.iam_write_tags(kind, id, set, stale).await,
            Placed::Group => self.group_write_tags(id, set, stale).await,
        }
    }

    pub(super) fn progress(&self, line: String) {
        self.progress.line(line);
    }

    /// Every tag a resource carries: the stack's and its own, ownership, the
    /// change record (version, time, operator, ticket), protection and, for
    /// instances, the digest of their user data.
    pub(super) fn tag_pairs(&self, address: &Address, attrs: &Attrs) -> Vec<(String, String)> {
        let mut tags: Vec<(String, String)> = user_tags(attrs).into_iter().collect();
        tags.push((STACK_TAG.into(), self.stack.clone()));
        tags.push((ID_TAG.into(), address.to_string()));
        tags.extend(self.record.iter().map(|(k, v)| (k.clone(), v.clone())));
        if attrs.get("protect") == Some(&Value::Bool(true)) {
            tags.push((PROTECT_TAG.into(), "true".into()));
        }
        if let Some(digest) = attrs.get("user_data").and_then(Value::as_str) {
            tags.push((USER_DATA_TAG.into(), digest.into()));
        }
        if let Some(zone) = attrs.get("validation_zone").and_then(Value::as_str) {
            tags.push((VALIDATION_ZONE_TAG.into(), zone.into()));
        }
        tags
    }

    /// The tags to set and the keys to remove so that `observed` carries what `attrs` say.
    pub(super) fn retagging(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> (Vec<(String, String)>, Vec<String>) {
        let ignored = |a: &str| !changed.contains(a);
        let mut wanted = if ignored("tags") {
            observed.attrs.clone()
        } else {
            attrs.clone()
        };
        let protect = if ignored("protect") {
            observed.protected()
        } else {
            attrs.get("protect") == Some(&Value::Bool(true))
        };
        wanted.insert("protect".into(), Value::Bool(protect));
        if let Some(digest) = observed.attrs.get("user_data") {
            wanted.insert("user_data".into(), digest.clone());
        }
        let set = self.tag_pairs(&observed.address, &wanted);
        let keep = user_tags(&wanted);
        let mut stale: Vec<String> = user_tags(&observed.attrs)
            .into_keys()
            .filter(|k| !keep.contains_key(k))
            .collect();
        if !protect && observed.protected() {
            stale.push(PROTECT_TAG.into());
        }
        // The record is written whole: a ticket (or label) of an earlier
        // change that this one does not carry goes.
        stale.extend(
            crate::model::tags::record::APPLY
                .iter()
                .filter(|k| observed.handles.contains_key(**k) && !self.record.contains_key(**k))
                .map(|k| k.to_string()),
        );
        (set, stale)
    }
}

/// The change record as written: free text in the characters every service
/// takes in a tag (`model::tags::encode`).
pub(super) fn encoded(record: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    record
        .iter()
        .map(|(k, v)| match is_encoded(k) {
            true => (k.clone(), encode(v)),
            false => (k.clone(), v.clone()),
        })
        .collect()
}

/// Unique per process, stack and region: what idempotency tokens derive from.
fn run_token(stack: &str, region: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{stack}/{region}/{}/{nanos}", std::process::id())
}

/// Readers of concrete attribute values, for the service modules.
pub(super) fn text<'a>(attrs: &'a Attrs, key: &str) -> Option<&'a str> {
    attrs.get(key).and_then(Value::as_str)
}

/// A text attribute the call cannot do without.
pub(super) fn required<'a>(attrs: &'a Attrs, key: &str) -> Result<&'a str, AwsError> {
    text(attrs, key).ok_or_else(|| AwsError::unresolved(key))
}

pub(super) fn int(attrs: &Attrs, key: &str) -> Option<i32> {
    match attrs.get(key) {
        Some(Value::Int(i)) => i32::try_from(*i).ok(),
        _ => None,
    }
}

pub(super) fn flag(attrs: &Attrs, key: &str) -> Option<bool> {
    match attrs.get(key) {
        Some(Value::Bool(b)) => Some(*b),
        _ => None,
    }
}

/// The live ids in a list attribute.
pub(super) fn ids(attrs: &Attrs, key: &str) -> Vec<String> {
    attrs
        .get(key)
        .map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

pub(super) fn user_tags(attrs: &Attrs) -> BTreeMap<String, String> {
    attrs
        .get("tags")
        .and_then(Value::as_map)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

/// Retries `op` while it fails with an error `retry` accepts, with exponential backoff;
/// for the eventual consistency of AWS, not for throttling (the SDK handles that).
pub(super) async fn retry_while<T, F, Fut>(
    mut op: F,
    retry: impl Fn(&AwsError) -> bool,
    attempts: u32,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AwsError>>,
{
    let mut delay = Duration::from_millis(250);
    for attempt in 1.. {
        match op().await {
            Err(e) if attempt < attempts && retry(&e) => {
                tracing::debug!(error = %e, "retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            other => return other,
        }
    }
    unreachable!("the loop returns on the last attempt")
}
