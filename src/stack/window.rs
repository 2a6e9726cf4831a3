//! `[change_window]`: when changes may be made. `allow` entries (days and
//! hours in an IANA time zone, DST-correct) and `freeze` periods (dates in a
//! zone); a freeze beats an allow; no `allow` means always, outside freezes.
//! Validated at load; judged on a given instant, so tests drive the clock.

use super::spec::{AllowSpec, ChangeWindowSpec, FreezeSpec};
use super::validate::Checker;
use crate::stack::spec::Spanned;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::time::SystemTime;

#[derive(Debug, Clone, Default)]
pub struct ChangeWindow {
    pub allow: Vec<Allow>,
    pub freeze: Vec<Freeze>,
}

#[derive(Debug, Clone)]
pub struct Allow {
    /// Monday first.
    days: [bool; 7],
    start: Time,
    /// Exclusive; midnight (`24:00`) is the end of the day.
    end: Option<Time>,
    tz: TimeZone,
    /// As written, for messages: `mon-fri 14:00-18:00 Europe/Berlin`.
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Freeze {
    from: Date,
    /// Inclusive.
    to: Date,
    tz: TimeZone,
    pub reason: Option<String>,
    pub text: String,
}

/// Why a change may not be made now, and when it may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub rule: String,
    pub next_opening: Option<SystemTime>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn weekday_index(w: Weekday) -> usize {
    usize::try_from(w.to_monday_zero_offset()).unwrap_or(0)
}

fn parse_days(text: &str) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    let index = |d: &str| DAYS.iter().position(|x| *x == d.trim().to_lowercase());
    for part in text.split(',') {
        let part = part.trim();
        if part == "all" || part == "daily" {
            days = [true; 7];
            continue;
        }
        let (from, to) = part.split_once('-').unwrap_or((part, part));
        let (Some(a), Some(b)) = (index(from), index(to)) else {
            return Err(format!(
                "`{text}` is not a list of days: write mon-fri, sat,sun or daily"
            ));
        };
        let mut i = a;
        loop {
            days[i] = true;
            if i == b {
                break;
            }
            i = (i + 1) % 7;
        }
    }
    Ok(days)
}

fn parse_hours(text: &str) -> Result<(Time, Option<Time>), String> {
    let bad = || format!("`{text}` is not a span of hours: write 14:00-18:00");
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let time = |t: &str| -> Result<Option<Time>, String> {
        if t.trim() == "24:00" {
            return Ok(None);
        }
        let (h, m) = t.trim().split_once(':').ok_or_else(bad)?;
        let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        Time::new(h, m, 0, 0).map(Some).map_err(|_| bad())
    };
    let start = time(a)?.ok_or_else(bad)?;
    let end = time(b)?;
    // An end before the start is a night: 22:00-06:00 runs into the next day
    // and belongs to the day it starts.
    if end == Some(start) {
        return Err(format!(
            "`{text}`: the span is empty (write 00:00-24:00 for the whole day)"
        ));
    }
    Ok((start, end))
}

fn zone(name: Option<&Spanned<String>>) -> Result<TimeZone, (String, String)> {
    match name {
        None => Ok(TimeZone::UTC),
        Some(n) => TimeZone::get(n.get_ref()).map_err(|_| {
            (
                format!("unknown time zone `{}`", n.get_ref()),
                "an IANA name such as UTC, Europe/Berlin or America/New_York".to_string(),
            )
        }),
    }
}

impl Allow {
    fn contains(&self, t: Timestamp) -> bool {
        let z = t.to_zoned(self.tz.clone());
        let time = z.time();
        let today = weekday_index(z.weekday());
        match self.end {
            // A night: from the start on the allowed day to the end the next morning.
            Some(end) if end < self.start => {
                (self.days[today] && time >= self.start)
                    || (self.days[(today + 6) % 7] && time < end)
            }
            end => self.days[today] && time >= self.start && end.is_none_or(|e| time < e),
        }
    }

    /// The openings of this entry from the day of `after` on, for `days` days.
    fn openings(&self, after: Timestamp, days: i64) -> impl Iterator<Item = Timestamp> + '_ {
        let first = after.to_zoned(self.tz.clone()).date();
        (0..days).filter_map(move |d| {
            let date = first.checked_add(jiff::Span::new().days(d)).ok()?;
            if !self.days[weekday_index(date.weekday())] {
                return None;
            }
            let z = date
                .to_datetime(self.start)
                .to_zoned(self.tz.clone())
                .ok()?;
            Some(z.timestamp())
        })
    }
}

impl Freeze {
    fn contains(&self, t: Timestamp) -> bool {
        let date = t.to_zoned(self.tz.clone()).date();
        self.from <= date && date <= self.to
    }

    /// The first instant after the freeze: the day after `to`, at midnight.
    fn end(&self) -> Option<Timestamp> {
        let next = self.to.checked_add(jiff::Span::new().days(1)).ok()?;
        Some(
            next.to_datetime(Time::midnight())
                .to_zoned(self.tz.clone())
                .ok()?
                .timestamp(),
        )
    }
}

impl ChangeWindow {
    /// `None` when a change may be made at `now`; otherwise the rule that
    /// blocks it and the next moment one may (within a year and a half).
    pub fn judge(&self, now: SystemTime) -> Option<Blocked> {
        let t = Timestamp::try_from(now).ok()?;
        let rule = self.blocking(t)?;
        let mut candidates: Vec<Timestamp> = self.freeze.iter().filter_map(Freeze::end).collect();
        for a in &self.allow {
            candidates.extend(a.openings(t, 550));
        }
        candidates.retain(|c| *c > t);
        candidates.sort();
        let next_opening = candidates
            .into_iter()
            .find(|c| self.blocking(*c).is_none())
            .map(SystemTime::from);
        Some(Blocked { rule, next_opening })
    }

    fn blocking(&self, t: Timestamp) -> Option<String> {
        if let Some(f) = self.freeze.iter().find(|f| f.contains(t)) {
            return Some(format!(
                "freeze {}{}",
                f.text,
                f.reason
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ));
        }
        if self.allow.is_empty() || self.allow.iter().any(|a| a.contains(t)) {
            return None;
        }
        let texts: Vec<&str> = self.allow.iter().map(|a| a.text.as_str()).collect();
        Some(format!(
            "outside the allowed windows ({})",
            texts.join("; ")
        ))
    }
}

impl Checker {
    pub(super) fn change_window(&mut self, spec: Option<ChangeWindowSpec>) -> ChangeWindow {
        let Some(spec) = spec else {
            return ChangeWindow::default();
        };
        let allow = spec.allow.iter().filter_map(|a| self.allow(a)).collect();
        let freeze = spec.freeze.iter().filter_map(|f| self.freeze(f)).collect();
        ChangeWindow { allow, freeze }
    }

    fn zone_of(
        &mut self,
        name: Option<&Spanned<String>>,
        at: std::ops::Range<usize>,
    ) -> Option<TimeZone> {
        match zone(name) {
            Ok(tz) => Some(tz),
            Err((message, help)) => {
                let span = name.map_or(at, Spanned::span);
                self.error(span, format!("change_window: {message}")).help = Some(help);
                None
            }
        }
    }

    fn allow(&mut self, a: &Spanned<AllowSpec>) -> Option<Allow> {
        let spec = a.get_ref();
        let days = parse_days(spec.days.get_ref())
            .map_err(|m| self.error(spec.days.span(), format!("change_window: {m}")))
            .ok();
        let hours = parse_hours(spec.hours.get_ref())
            .map_err(|m| self.error(spec.hours.span(), format!("change_window: {m}")))
            .ok();
        let tz = self.zone_of(spec.timezone.as_ref(), a.span());
        let ((start, end), days, tz) = (hours?, days?, tz?);
        Some(Allow {
            days,
            start,
            end,
            text: format!(
                "{} {} {}",
                spec.days.get_ref(),
                spec.hours.get_ref(),
                spec.timezone
                    .as_ref()
                    .map_or("UTC", |t| t.get_ref().as_str())
            ),
            tz,
        })
    }

    fn freeze(&mut self, f: &Spanned<FreezeSpec>) -> Option<Freeze> {
        let spec = f.get_ref();
        let date = |d: &Spanned<String>, this: &mut Checker| {
            d.get_ref()
                .parse::<Date>()
                .map_err(|_| {
                    this.error(
                        d.span(),
                        format!(
                            "change_window: `{}` is not a date: write 2026-12-20",
                            d.get_ref()
                        ),
                    );
                })
                .ok()
        };
        let from = date(&spec.from, self);
        let to = date(&spec.to, self);
        let tz = self.zone_of(spec.timezone.as_ref(), f.span());
        let (from, to, tz) = (from?, to?, tz?);
        if to < from {
            self.error(
                spec.to.span(),
                "change_window: a freeze must end on or after its start",
            );
            return None;
        }
        Some(Freeze {
            from,
            to,
            tz,
            reason: spec.reason.clone(),
            text: format!("{from} to {to}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        SystemTime::from(text.parse::<Timestamp>().unwrap())
    }

    fn window(allow: &[(&str, &str, &str)], freeze: &[(&str, &str, &str)]) -> ChangeWindow {
        ChangeWindow {
            allow: allow
                .iter()
                .map(|(days, hours, tz)| {
                    let (start, end) = parse_hours(hours).unwrap();
                    Allow {
                        days: parse_days(days).unwrap(),
                        start,
                        end,
                        tz: TimeZone::get(tz).unwrap(),
                        text: format!("{days} {hours} {tz}"),
                    }
                })
                .collect(),
            freeze: freeze
                .iter()
                .map(|(from, to, tz)| Freeze {
                    from: from.parse().unwrap(),
                    to: to.parse().unwrap(),
                    tz: TimeZone::get(tz).unwrap(),
                    reason: Some("year-end".into()),
                    text: format!("{from} to {to}"),
                })
                .collect(),
        }
    }

    #[test]
    fn an_allow_window_is_read_in_its_own_zone_across_daylight_saving() {
        let w = window(&[("mon-fri", "14:00-18:00", "Europe/Berlin")], &[]);
        // Summer: Berlin is UTC+2; winter: UTC+1.
        assert!(
            w.judge(at("2026-07-01T12:30:00Z")).is_none(),
            "14:30 in Berlin"
        );
        assert!(
            w.judge(at("2026-07-01T16:00:00Z")).is_some(),
            "18:00 in Berlin"
        );
        assert!(
            w.judge(at("2026-12-01T13:00:00Z")).is_none(),
            "14:00 in Berlin"
        );
        assert!(
            w.judge(at("2026-12-01T12:59:00Z")).is_some(),
            "13:59 in Berlin"
        );
        // Saturday: closed; next opening Monday 14:00 Berlin = 13:00 UTC.
        let blocked = w.judge(at("2026-12-05T15:00:00Z")).unwrap();
        assert_eq!(blocked.next_opening, Some(at("2026-12-07T13:00:00Z")));
        assert!(
            blocked.rule.contains("mon-fri 14:00-18:00 Europe/Berlin"),
            "{}",
            blocked.rule
        );
        // The Friday before the October change: opening Monday after it, UTC+1.
        let blocked = w.judge(at("2026-10-23T17:00:00Z")).unwrap();
        assert_eq!(blocked.next_opening, Some(at("2026-10-26T13:00:00Z")));
    }

    #[test]
    fn a_freeze_beats_an_allow_and_the_next_opening_is_after_it() {
        let w = window(
            &[("mon-fri", "09:00-17:00", "UTC")],
            &[("2026-12-20", "2027-01-04", "UTC")],
        );
        let blocked = w.judge(at("2026-12-22T10:00:00Z")).unwrap();
        assert!(
            blocked
                .rule
                .starts_with("freeze 2026-12-20 to 2027-01-04 (year-end)"),
            "{}",
            blocked.rule
        );
        // The freeze ends with 4 January; the 5th is a Tuesday.
        assert_eq!(blocked.next_opening, Some(at("2027-01-05T09:00:00Z")));
        assert!(w.judge(at("2026-12-18T10:00:00Z")).is_none());
    }

    #[test]
    fn no_allow_means_always_but_in_a_freeze() {
        let w = window(&[], &[("2026-12-20", "2026-12-21", "America/New_York")]);
        assert!(w.judge(at("2026-12-19T12:00:00Z")).is_none());
        // 2026-12-22 02:00 UTC is still the 21st in New York.
        let blocked = w.judge(at("2026-12-22T02:00:00Z")).unwrap();
        assert_eq!(blocked.next_opening, Some(at("2026-12-22T05:00:00Z")));
        assert!(ChangeWindow::default()
            .judge(at("2026-12-22T02:00:00Z"))
            .is_none());
    }

    #[test]
    fn days_and_hours_parse_as_people_write_them() {
        assert_eq!(
            parse_days("mon-fri").unwrap(),
            [true, true, true, true, true, false, false]
        );
        assert_eq!(
            parse_days("sat,sun").unwrap(),
            [false, false, false, false, false, true, true]
        );
        assert_eq!(
            parse_days("fri-mon").unwrap(),
            [true, false, false, false, true, true, true]
        );
        assert!(parse_days("weekdays").is_err());
        assert!(parse_hours("18:00-18:00").is_err(), "empty");
        let (start, end) = parse_hours("22:00-06:00").unwrap();
        assert!(end.unwrap() < start, "a night");
        assert!(parse_hours("22:00-24:00").unwrap().1.is_none());
        assert!(parse_hours("2pm-6pm").is_err());
    }

    #[test]
    fn a_night_belongs_to_the_day_it_starts() {
        // Friday night only, in Berlin: Fri 22:00 to Sat 06:00 local.
        let w = window(&[("fri", "22:00-06:00", "Europe/Berlin")], &[]);
        assert!(
            w.judge(at("2026-12-11T21:30:00Z")).is_none(),
            "Fri 22:30 local"
        );
        assert!(
            w.judge(at("2026-12-12T04:30:00Z")).is_none(),
            "Sat 05:30 local: Friday's night"
        );
        assert!(
            w.judge(at("2026-12-12T05:30:00Z")).is_some(),
            "Sat 06:30 local: over"
        );
        assert!(
            w.judge(at("2026-12-11T04:30:00Z")).is_some(),
            "Fri 05:30 local: Thursday's night, not allowed"
        );
        let blocked = w.judge(at("2026-12-12T21:30:00Z")).unwrap();
        assert!(
            w.judge(at("2026-12-13T02:00:00Z")).is_some(),
            "Sunday early: Saturday's night"
        );
        assert_eq!(
            blocked.next_opening,
            Some(at("2026-12-18T21:00:00Z")),
            "next Friday 22:00 local"
        );
    }
}
