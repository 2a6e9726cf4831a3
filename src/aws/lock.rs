//! The stack's own bookkeeping, on EC2 key pairs named after the stack in
//! each region (free, and one per name: creating a name that exists fails).
//! The lock: creating it is an atomic take; its tags say who holds it, since
//! when and until when. The regions record: the regions the stack has been
//! applied to (`model::tags::regions`), read by every plan with discovery.

use super::cloud::{LockRecord, LockStore};
use super::{Aws, AwsError, ErrorClass};
use crate::model::tags::regions as record;
use crate::model::Service;
use aws_sdk_ec2::types::{Filter, KeyType, ResourceType, Tag, TagSpecification};
use std::collections::{BTreeMap, BTreeSet};

use crate::model::tags::lock::{
    EXPIRES as EXPIRES_TAG, HOLDER as HOLDER_TAG, HOST as HOST_TAG, LOCK as LOCK_TAG,
    OPERATION as OPERATION_TAG, PID as PID_TAG, SINCE as SINCE_TAG, TOKEN as TOKEN_TAG,
};

impl LockRecord {
    fn tags(&self, stack: &str) -> Vec<Tag> {
        [
            (LOCK_TAG, stack.to_string()),
            (HOLDER_TAG, self.holder.clone()),
            (HOST_TAG, self.host.clone()),
            (PID_TAG, self.pid.to_string()),
            (TOKEN_TAG, self.token.clone()),
            (OPERATION_TAG, self.operation.clone()),
            (SINCE_TAG, self.since.to_string()),
            (EXPIRES_TAG, self.expires.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
    }

    fn from_tags(tags: &[Tag]) -> LockRecord {
        let tags: BTreeMap<&str, &str> = tags
            .iter()
            .filter_map(|t| Some((t.key()?, t.value()?)))
            .collect();
        let text = |k: &str| tags.get(k).copied().unwrap_or("unknown").to_string();
        let number = |k: &str| tags.get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
        LockRecord {
            holder: text(HOLDER_TAG),
            host: text(HOST_TAG),
            pid: tags.get(PID_TAG).and_then(|v| v.parse().ok()).unwrap_or(0),
            token: text(TOKEN_TAG),
            operation: text(OPERATION_TAG),
            since: number(SINCE_TAG),
            expires: number(EXPIRES_TAG),
        }
    }
}

/// How long a new lock is left before it is read back.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(300);

/// The key pair that is the lock of `stack` (one per region).
pub fn lock_name(stack: &str) -> String {
    format!("reconcile-lock-{stack}")
}

impl LockStore for Aws {
    /// Takes the lock in `region`: `Ok(true)` when it is now `record`'s,
    /// `Ok(false)` when someone holds it.
    async fn take_lock(
        &self,
        region: &str,
        stack: &str,
        record: &LockRecord,
    ) -> Result<bool, AwsError> {
        let created = send_once!(
            aws_sdk_ec2,
            "CreateKeyPair",
            self.ec2(region)
                .create_key_pair()
                .key_name(lock_name(stack))
                .key_type(KeyType::Ed25519)
                .tag_specifications(
                    TagSpecification::builder()
                        .resource_type(ResourceType::KeyPair)
                        .set_tags(Some(record.tags(stack)))
                        .build()
                )
        );
        match created {
            Err(e) if e.is_duplicate() => return Ok(false),
            // Created, or an answer lost after it may have been: the lock is
            // ours only if it carries our token. Read back after a moment, as
            // an emulator's create-if-absent may let two racing creates through
            // (the last one stays); AWS's never does, and then this only confirms.
            Ok(_) => tokio::time::sleep(SETTLE).await,
            Err(e) if e.may_have_happened() || e.is_retryable_unsent() => {}
            Err(e) => return Err(e.at(region, &self.endpoint(Service::Ec2, region))),
        }
        Ok(self
            .read_lock(region, stack)
            .await?
            .is_some_and(|held| held.token == record.token))
    }

    /// Who holds the lock in `region`, if anyone.
    async fn read_lock(&self, region: &str, stack: &str) -> Result<Option<LockRecord>, AwsError> {
        Ok(self
            .key_pair(region, &lock_name(stack))
            .await
            .map_err(|e| e.at(region, &self.endpoint(Service::Ec2, region)))?
            .map(|k| LockRecord::from_tags(k.tags())))
    }

    /// Moves the lock's expiry on, if it is still `token`'s.
    async fn refresh_lock(
        &self,
        region: &str,
        stack: &str,
        token: &str,
        expires: u64,
    ) -> Result<(), AwsError> {
        let client = self.ec2(region);
        let found = send!(
            "DescribeKeyPairs",
            client.describe_key_pairs().key_names(lock_name(stack))
        )?;
        let Some(pair) = found.key_pairs().first() else {
            return Err(lost_lock(stack, region));
        };
        if LockRecord::from_tags(pair.tags()).token != token {
            return Err(lost_lock(stack, region));
        }
        let id = pair.key_pair_id().unwrap_or_default();
        send!(
            "CreateTags",
            client.create_tags().resources(id).tags(
                Tag::builder()
                    .key(EXPIRES_TAG)
                    .value(expires.to_string())
                    .build()
            )
        )
        .map(drop)
    }

    /// Removes the lock in `region`: only if it is `token`'s, or whoever's with `None`.
    async fn remove_lock(
        &self,
        region: &str,
        stack: &str,
        token: Option<&str>,
    ) -> Result<(), AwsError> {
        if let Some(token) = token {
            match self.read_lock(region, stack).await? {
                Some(held) if held.token == token => {}
                _ => return Ok(()),
            }
        }
        let deleted = send!(
            "DeleteKeyPair",
            self.ec2(region)
                .delete_key_pair()
                .key_name(lock_name(stack))
        );
        match deleted {
            Err(e) if !e.is_not_found() => Err(e.at(region, &self.endpoint(Service::Ec2, region))),
            _ => Ok(()),
        }
    }
}

/// The key pair that records the regions of `stack` (one per region).
fn record_name(stack: &str) -> String {
    format!("reconcile-regions-{stack}")
}

impl Aws {
    /// The regions recorded in `region` for `stack`, if any: one call.
    pub(super) async fn applied_regions(
        &self,
        region: &str,
        stack: &str,
    ) -> Result<Option<BTreeSet<String>>, AwsError> {
        Ok(self
            .record_pair(region, stack)
            .await?
            .and_then(|(_, tags)| record::decode(&tags)))
    }

    /// The record's key pair in `region`: its id and tags.
    async fn record_pair(
        &self,
        region: &str,
        stack: &str,
    ) -> Result<Option<(String, BTreeMap<String, String>)>, AwsError> {
        Ok(self.key_pair(region, &record_name(stack)).await?.map(|k| {
            let tags = k
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect();
            (k.key_pair_id().unwrap_or_default().to_string(), tags)
        }))
    }

    /// The key pair named `name` in `region`, if there is one (a filter, not
    /// a name: a name that is not there is no error).
    async fn key_pair(
        &self,
        region: &str,
        name: &str,
    ) -> Result<Option<aws_sdk_ec2::types::KeyPairInfo>, AwsError> {
        let found = send!(
            "DescribeKeyPairs",
            self.ec2(region)
                .describe_key_pairs()
                .filters(Filter::builder().name("key-name").values(name).build())
        )?;
        Ok(found
            .key_pairs()
            .iter()
            .find(|k| k.key_name() == Some(name))
            .cloned())
    }

    /// Writes the record in `region` (`Cloud::record_regions`).
    pub(super) async fn write_regions(
        &self,
        region: &str,
        stack: &str,
        regions: Option<&BTreeSet<String>>,
    ) -> Result<(), AwsError> {
        let client = self.ec2(region);
        let Some(regions) = regions else {
            return match send!(
                "DeleteKeyPair",
                client.delete_key_pair().key_name(record_name(stack))
            ) {
                Err(e) if !e.is_not_found() => Err(e),
                _ => Ok(()),
            };
        };
        let tags: Vec<Tag> = record::encode(regions)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let pair = match self.record_pair(region, stack).await? {
            Some(pair) => pair,
            None => {
                let created = send_once!(
                    aws_sdk_ec2,
                    "CreateKeyPair",
                    client
                        .create_key_pair()
                        .key_name(record_name(stack))
                        .key_type(KeyType::Ed25519)
                        .tag_specifications(
                            TagSpecification::builder()
                                .resource_type(ResourceType::KeyPair)
                                .set_tags(Some(tags.clone()))
                                .build()
                        )
                );
                match created {
                    Ok(_) => return Ok(()),
                    // Another run made it meanwhile, or an answer was lost:
                    // the pair is there now, and its tags are set below.
                    Err(e) if e.is_duplicate() || e.may_have_happened() => {
                        self.record_pair(region, stack).await?.ok_or(e)?
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let (id, held) = pair;
        let stale: Vec<Tag> = held
            .keys()
            .filter(|k| k.starts_with(record::PREFIX) && !tags.iter().any(|t| t.key() == Some(k)))
            .map(|k| Tag::builder().key(k).build())
            .collect();
        if !stale.is_empty() {
            send!(
                "DeleteTags",
                client.delete_tags().resources(&id).set_tags(Some(stale))
            )?;
        }
        send!(
            "CreateTags",
            client.create_tags().resources(&id).set_tags(Some(tags))
        )
        .map(drop)
    }
}

fn lost_lock(stack: &str, region: &str) -> AwsError {
    AwsError::new(
        "lock",
        ErrorClass::Conflict,
        "LockLost",
        format!("the lock of stack {stack} in {region} is no longer this run's (was it broken with `reconcile unlock`?)"),
    )
}
