//! The change window's verdict on a change, and `--emergency`.

use crate::stack::Stack;
use anyhow::{bail, Result};

/// The change window's verdict before `command` changes anything: refused
/// (nothing changed, exit 1) unless an emergency ticket lets it through.
pub fn admit(
    stack: &Stack,
    now: std::time::SystemTime,
    emergency: Option<&str>,
    command: &str,
    progress: &crate::model::progress::Progress,
) -> Result<()> {
    if emergency.is_some_and(|t| t.trim().is_empty()) {
        bail!(
            "{command} refused: --emergency was given an empty ticket (a CI variable that was not \
             set?). Name the ticket that allows this change, e.g. --emergency INC-1234; nothing was changed."
        );
    }
    let Some(blocked) = stack.change_window.judge(now) else {
        return Ok(());
    };
    if let Some(ticket) = emergency {
        progress.line(format!(
            "change window: {}; going ahead with emergency ticket {ticket}",
            blocked.rule
        ));
        return Ok(());
    }
    let next = match blocked.next_opening {
        Some(t) => format!(
            "; the next window opens {} (in {})",
            humantime::format_rfc3339_seconds(t),
            spoken(t.duration_since(now).unwrap_or_default())
        ),
        None => "; no window opens in the next 18 months".into(),
    };
    bail!(
        "{command} refused by [change_window]: {}{next}. Nothing was changed; \
         pass --emergency TICKET to go ahead anyway (the ticket is recorded).",
        blocked.rule
    )
}

/// A wait as people say it, to the minute: `1 day 17 minutes`, `3 hours`,
/// `less than a minute`.
fn spoken(d: std::time::Duration) -> String {
    let minutes = d.as_secs() / 60;
    let parts: Vec<String> = [
        (minutes / 1440, "day"),
        (minutes / 60 % 24, "hour"),
        (minutes % 60, "minute"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, unit)| format!("{n} {unit}{}", if n == 1 { "" } else { "s" }))
    .collect();
    if parts.is_empty() {
        "less than a minute".into()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_said_as_people_say_them() {
        let min = |m: u64| spoken(std::time::Duration::from_secs(m * 60 + 7));
        assert_eq!(min(1457), "1 day 17 minutes");
        assert_eq!(min(180), "3 hours");
        assert_eq!(min(61), "1 hour 1 minute");
        assert_eq!(
            spoken(std::time::Duration::from_secs(42)),
            "less than a minute"
        );
    }
}
