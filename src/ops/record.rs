//! The change record: version label, time, operator, emergency ticket.

use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// The change record tagged on what a change touches: its version label, when
/// (UTC), by whom, and the emergency ticket that let it through, if any;
/// refused before anything is read when a value cannot be carried in a tag.
pub fn change_record(
    version: Option<&str>,
    ticket: Option<&str>,
    now: SystemTime,
) -> Result<BTreeMap<String, String>> {
    let tags = record(version, ticket, now);
    carried(&tags)?;
    Ok(tags)
}

/// The change record as it stands: its version label, when (UTC), by whom,
/// and the emergency ticket, if any.
fn record(
    version: Option<&str>,
    ticket: Option<&str>,
    now: SystemTime,
) -> BTreeMap<String, String> {
    use crate::model::tags::{record, VERSION};
    let mut tags = BTreeMap::from([
        (
            record::TIME.to_string(),
            humantime::format_rfc3339_millis(now).to_string(),
        ),
        (record::OPERATOR.to_string(), operator()),
    ]);
    if let Some(v) = version {
        tags.insert(VERSION.into(), v.into());
    }
    if let Some(t) = ticket {
        tags.insert(record::TICKET.into(), t.into());
    }
    tags
}

/// Every value of a record fits a tag (256 characters) once written
/// (`model::tags::encode`): a longer one is refused with what to shorten.
pub fn carried(record: &BTreeMap<String, String>) -> Result<()> {
    for (key, value) in record {
        let written = crate::model::tags::encode(value).chars().count();
        if written > 256 {
            bail!(
                "{key} = \"{value}\" is too long for a tag ({written} characters as written, AWS takes 256); \
                 shorten it (version labels, tickets and RECONCILE_OPERATOR are recorded on what changes)"
            );
        }
    }
    Ok(())
}

/// Who makes a change, for its record: `RECONCILE_OPERATOR`, else
/// `GITHUB_ACTOR`, else the local user.
pub fn operator() -> String {
    ["RECONCILE_OPERATOR", "GITHUB_ACTOR", "USER", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_value_too_long_for_a_tag_is_refused_before_anything_is_read() {
        assert!(change_record(Some("app:v1"), Some("INC-7"), SystemTime::UNIX_EPOCH).is_ok());
        // 100 arrows are 900 characters once written: more than a tag holds.
        let refused = change_record(
            Some("app:v1"),
            Some(&"→".repeat(100)),
            SystemTime::UNIX_EPOCH,
        )
        .unwrap_err()
        .to_string();
        assert!(
            refused.starts_with("reconcile:record-ticket = ")
                && refused.contains("(900 characters as written, AWS takes 256)"),
            "{refused}"
        );
    }
}
