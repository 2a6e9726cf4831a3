//! The stack lock's storage: an EC2 key pair named after the stack, in each
//! region. Creating a key pair whose name exists fails, so creating it is an
//! atomic take; its tags say who holds it, since when and until when.

use super::cloud::{LockRecord, LockStore};
use super::{Aws, AwsError, ErrorClass};
use crate::model::Service;
use aws_sdk_ec2::types::{Filter, KeyType, ResourceType, Tag, TagSpecification};
use std::collections::BTreeMap;

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
        let found = send!(
            "DescribeKeyPairs",
            self.ec2(region).describe_key_pairs().filters(
                Filter::builder()
                    .name("key-name")
                    .values(lock_name(stack))
                    .build()
            )
        )
        .map_err(|e| e.at(region, &self.endpoint(Service::Ec2, region)))?;
        Ok(found
            .key_pairs()
            .iter()
            .find(|k| k.key_name() == Some(lock_name(stack).as_str()))
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

fn lost_lock(stack: &str, region: &str) -> AwsError {
    AwsError::new(
        "lock",
        ErrorClass::Conflict,
        "LockLost",
        format!("the lock of stack {stack} in {region} is no longer this run's (was it broken with `reconcile unlock`?)"),
    )
}
