//! Every tag key reconcile reads or writes on a live resource, in one place.
//! Keys under `reconcile:` (and AWS's own `aws:`) are never part of a
//! resource's `tags` attribute, and a stack file may not set them.

/// The owning stack's name: what discovery filters on.
pub const STACK: &str = "reconcile:stack";
/// The resource's address in its stack, e.g. `vpc.main`.
pub const ID: &str = "reconcile:id";
/// `protect = true`, recorded on the live resource itself.
pub const PROTECT: &str = "reconcile:protect";
/// The version label of the apply that last changed the resource.
pub const VERSION: &str = "reconcile:version";
/// The digest of an instance's user data, compared instead of the data itself.
pub const USER_DATA: &str = "reconcile:user-data";
/// The region a DNS block is homed in (on a hosted zone).
pub const REGION: &str = "reconcile:region";
/// Marks a zone that existed before reconcile: pruning it only forgets it.
pub const ADOPTED: &str = "reconcile:adopted";
/// The declared name of a security group created under a generated one (the
/// group it replaced held the declared name): what discovery reads as `name`.
pub const NAME: &str = "reconcile:name";
/// The hosted zone a certificate's DNS validation records were written in.
pub const VALIDATION_ZONE: &str = "reconcile:validation-zone";
/// On an Auto Scaling group while apply replaces its instances new first:
/// its desired capacity and maximum before the surge (`3/6`), so that a run
/// interrupted midway is finished by the next at the group's own size.
pub const SURGE: &str = "reconcile:surge-from";

/// The change record of an apply or a rollout, on what it created or changed:
/// when (UTC, RFC 3339), by whom, with which emergency ticket (its version
/// label is `VERSION`). `CHANGE` and `VERSION` here are what cutovers wrote
/// before they had keys of their own (`cutover`), read as theirs.
pub mod record {
    pub const CHANGE: &str = "reconcile:record";
    pub const TIME: &str = "reconcile:record-time";
    pub const OPERATOR: &str = "reconcile:record-operator";
    pub const VERSION: &str = "reconcile:record-version";
    pub const TICKET: &str = "reconcile:record-ticket";

    /// The keys an apply writes, all at once: one it does not set is removed.
    pub const APPLY: [&str; 4] = [super::VERSION, TIME, OPERATOR, TICKET];
}

/// The record of the last cutover, on its listener or rule, under keys of
/// its own so that an apply changing the rule leaves it alone: what was done,
/// when, by whom, with which version label and emergency ticket.
pub mod cutover {
    use std::collections::BTreeMap;

    pub const CHANGE: &str = "reconcile:cutover";
    pub const TIME: &str = "reconcile:cutover-time";
    pub const OPERATOR: &str = "reconcile:cutover-operator";
    pub const VERSION: &str = "reconcile:cutover-version";
    pub const TICKET: &str = "reconcile:cutover-ticket";

    /// Every key of a cutover's record: one a cutover does not set is removed.
    pub const ALL: [&str; 5] = [CHANGE, TIME, OPERATOR, VERSION, TICKET];

    /// The last cutover's record among a listener's or rule's tags; one
    /// written before cutovers had keys of their own is read from those.
    pub fn of(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let own: BTreeMap<String, String> = tags
            .iter()
            .filter(|(k, _)| ALL.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !own.is_empty() || !tags.contains_key(super::record::CHANGE) {
            return own;
        }
        use super::record as old;
        [
            (old::CHANGE, CHANGE),
            (old::TIME, TIME),
            (old::OPERATOR, OPERATOR),
            (old::VERSION, VERSION),
            (old::TICKET, TICKET),
        ]
        .into_iter()
        .filter_map(|(from, to)| Some((to.to_string(), tags.get(from)?.clone())))
        .collect()
    }
}

/// The stack lock (an EC2 key pair) and who holds it.
pub mod lock {
    pub const LOCK: &str = "reconcile:lock";
    pub const HOLDER: &str = "reconcile:lock-holder";
    pub const HOST: &str = "reconcile:lock-host";
    pub const PID: &str = "reconcile:lock-pid";
    pub const TOKEN: &str = "reconcile:lock-token";
    pub const OPERATION: &str = "reconcile:lock-operation";
    pub const SINCE: &str = "reconcile:lock-since";
    pub const EXPIRES: &str = "reconcile:lock-expires";
}

/// The regions a stack has been applied to, recorded in each of its regions
/// (on an EC2 key pair, as the lock): a plan searches those it no longer
/// lists instead of every region of the account.
pub mod regions {
    use std::collections::{BTreeMap, BTreeSet};

    /// `reconcile:regions:1`, `…:2`: as many tags as 256 characters a value need.
    pub const PREFIX: &str = "reconcile:regions:";
    /// Regions a tag holds: 16 of the longest names (14 characters) and their
    /// spaces stay under AWS's 256 characters of a tag value.
    const PER_TAG: usize = 16;

    /// The tags recording `regions`.
    pub fn encode(regions: &BTreeSet<String>) -> Vec<(String, String)> {
        let names: Vec<&str> = regions.iter().map(String::as_str).collect();
        names
            .chunks(PER_TAG)
            .enumerate()
            .map(|(i, chunk)| (format!("{PREFIX}{}", i + 1), chunk.join(" ")))
            .collect()
    }

    /// The regions recorded in `tags`; `None` when they record none.
    pub fn decode(tags: &BTreeMap<String, String>) -> Option<BTreeSet<String>> {
        let mut found = tags
            .iter()
            .filter(|(k, _)| k.starts_with(PREFIX))
            .peekable();
        found.peek()?;
        Some(
            found
                .flat_map(|(_, v)| v.split_whitespace().map(str::to_string))
                .collect(),
        )
    }
}

/// The tag keys reconcile and AWS write themselves: never a user's tag.
pub fn is_managed(key: &str) -> bool {
    key.starts_with("reconcile:") || key.starts_with("aws:")
}

/// Whether a zone carries this tag: Route53 allows 10 tags on a hosted zone
/// (`ChangeTagsForResource`), so zones carry ownership and the version label,
/// not the change record (time, operator, ticket).
pub fn on_zones(key: &str) -> bool {
    !key.starts_with(record::CHANGE) && !key.starts_with(cutover::CHANGE)
}

/// Whether a value of this key is one reconcile composes from free text
/// (the change record, the version label): written `encode`d, read `decode`d.
pub fn is_encoded(key: &str) -> bool {
    key == VERSION || key.starts_with(record::CHANGE) || key.starts_with(cutover::CHANGE)
}

/// Whether ELBv2 and RDS take `c` in a tag (AWS: `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`).
/// `=` is taken too, but is the escape of `encode`.
fn carried(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/+-@".contains(c)
}

/// A value reconcile writes itself (an operator `github-actions[bot]`, a
/// ticket, a version label, a cutover's `→`) in the characters every service
/// takes in a tag: any other character, and `=` itself, is written `=XX` per
/// UTF-8 byte. Values of letters, digits and `_ . : / + - @` are unchanged.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if carried(c) {
            out.push(c);
        } else {
            let mut bytes = [0; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("={b:02X}"));
            }
        }
    }
    out
}

/// The value `encode` wrote. Text that is not an escape is kept as it is.
pub fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = (bytes[i] == b'=')
            .then(|| value.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escape {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_regions_record_splits_into_tags_aws_takes_and_reads_back() {
        let every: std::collections::BTreeSet<String> =
            (0..40).map(|i| format!("ap-southeast-{i:02}")).collect();
        let written = regions::encode(&every);
        assert_eq!(written.len(), 3, "16 regions a tag: {written:?}");
        for (key, value) in &written {
            assert!(key.len() <= 128 && value.len() <= 256, "{key} = {value}");
        }
        let mut tags: std::collections::BTreeMap<String, String> = written.into_iter().collect();
        tags.insert(crate::model::STACK_TAG.into(), "shop".into());
        assert_eq!(regions::decode(&tags), Some(every));
        tags.retain(|k, _| !k.starts_with(regions::PREFIX));
        assert_eq!(
            regions::decode(&tags),
            None,
            "no record is not an empty one"
        );
    }

    #[test]
    fn free_text_is_carried_in_what_every_service_takes_and_read_back() {
        for value in [
            "github-actions[bot]",
            "cutover app → green (100%)",
            "app:v1.4.2-infra:v0.9.1",
            "INC-1 = 50% off; \"quoted\"",
            "déjà vu 42",
            "",
        ] {
            let written = encode(value);
            assert!(written.chars().all(|c| carried(c) || c == '='), "{written}");
            assert_eq!(decode(&written), value);
        }
        assert_eq!(encode("app:v1.4.2-infra:v0.9.1"), "app:v1.4.2-infra:v0.9.1");
        assert_eq!(encode("github-actions[bot]"), "github-actions=5Bbot=5D");
        assert_eq!(
            decode("plain = text"),
            "plain = text",
            "not an escape: kept"
        );
    }

    #[test]
    fn a_cutover_record_is_read_from_its_own_keys_or_from_before_it_had_them() {
        let tags = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let own = tags(&[
            (cutover::CHANGE, "cutover app → green (100%)"),
            (cutover::OPERATOR, "alice"),
            (record::OPERATOR, "bob"),
            (STACK, "s"),
        ]);
        assert_eq!(
            cutover::of(&own),
            tags(&[
                (cutover::CHANGE, "cutover app → green (100%)"),
                (cutover::OPERATOR, "alice")
            ])
        );
        let before = tags(&[
            (record::CHANGE, "cutover app → blue (100%)"),
            (record::OPERATOR, "carol"),
        ]);
        assert_eq!(
            cutover::of(&before),
            tags(&[
                (cutover::CHANGE, "cutover app → blue (100%)"),
                (cutover::OPERATOR, "carol")
            ])
        );
        assert!(
            cutover::of(&tags(&[(record::OPERATOR, "bob")])).is_empty(),
            "an apply's record is no cutover"
        );
    }
}
