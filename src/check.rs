//! The check engine's pure half: metric windows, and the judging of what the
//! cloud answered into pass / fail / no data / error, always with its
//! evidence. `ops::verify` asks the cloud; verify, cutover and rollout judge
//! with this.

use crate::model::probe::{
    AlarmState, AlarmValue, BalancerState, DbStatus, TargetHealth, TargetState,
};
use crate::stack::verify::{Check, MetricWatch, NoData};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    /// No data in the window (or an alarm without enough): passes or fails by `no_data`.
    NoData,
    /// The question could not be asked (the API call failed).
    Error,
}

/// Where a check comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Implied by the stack: load balancers active, targets healthy, databases available.
    Builtin,
    Metric,
    Alarm,
}

/// The span of time a metric check judged: whole periods, `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    #[serde(serialize_with = "rfc3339")]
    pub start: SystemTime,
    #[serde(serialize_with = "rfc3339")]
    pub end: SystemTime,
}

fn rfc3339<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_rfc3339_seconds(*t).to_string())
}

impl Window {
    /// The `window` that ends at `floor(now − lag, period)`: the newest periods,
    /// still filling, are left out, and every period is whole.
    pub fn ending_before(
        now: SystemTime,
        lag: Duration,
        period: Duration,
        window: Duration,
    ) -> Window {
        let secs = now
            .checked_sub(lag)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        let period = period.as_secs().max(1);
        let end = UNIX_EPOCH + Duration::from_secs(secs / period * period);
        Window {
            start: end.checked_sub(window).unwrap_or(UNIX_EPOCH),
            end,
        }
    }

    /// The window cut to begin no earlier than the first period boundary at
    /// or after `since`; empty (start = end) when no whole period is left.
    pub fn not_before(self, since: SystemTime, period: Duration) -> Window {
        let secs = since.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let period = period.as_secs().max(1);
        let boundary = UNIX_EPOCH + Duration::from_secs(secs.div_ceil(period) * period);
        Window {
            start: self.start.max(boundary).min(self.end),
            end: self.end,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    pub fn contains(&self, t: SystemTime) -> bool {
        self.start <= t && t < self.end
    }

    /// `10:01–10:06`, in UTC.
    pub fn label(&self) -> String {
        let hm = |t: SystemTime| {
            let text = humantime::format_rfc3339_seconds(t).to_string();
            text.get(11..16).unwrap_or(&text).to_string()
        };
        format!("{}–{}", hm(self.start), hm(self.end))
    }
}

/// What a check saw, and against what it was held.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// The value judged: a number, a state, `2/2 healthy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub threshold: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Data points in the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<usize>,
    /// An alarm's state, AWS's reason, an unhealthy target's reason, an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One check in one region, judged once.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    pub region: String,
    pub check: String,
    pub source: Source,
    pub outcome: Outcome,
    /// The outcome as it counts: no data by the check's `no_data`.
    pub passed: bool,
    #[serde(flatten)]
    pub evidence: Evidence,
    /// An error worth asking again (throttled, no answer): a soak retries it.
    #[serde(skip)]
    pub transient: bool,
    /// No whole period of data since the moment it may look back to (a
    /// cutover step's weights confirmed): not judged yet.
    #[serde(skip)]
    pub waiting: bool,
}

impl CheckResult {
    pub fn new(
        region: &str,
        check: &str,
        source: Source,
        outcome: Outcome,
        no_data: NoData,
        evidence: Evidence,
    ) -> CheckResult {
        let passed = match outcome {
            Outcome::Pass => true,
            Outcome::NoData => no_data == NoData::Pass,
            Outcome::Fail | Outcome::Error => false,
        };
        CheckResult {
            region: region.to_string(),
            check: check.to_string(),
            source,
            outcome,
            passed,
            evidence,
            transient: false,
            waiting: false,
        }
    }

    pub fn error(
        region: &str,
        check: &str,
        source: Source,
        threshold: String,
        message: String,
        transient: bool,
    ) -> CheckResult {
        let mut r = CheckResult::new(
            region,
            check,
            source,
            Outcome::Error,
            NoData::Fail,
            Evidence {
                threshold,
                detail: Some(message),
                ..Evidence::default()
            },
        );
        r.transient = transient;
        r
    }

    /// A failed judgement: a failed check, or no data where that fails (not an error).
    pub fn failed(&self) -> bool {
        !self.passed && self.outcome != Outcome::Error
    }
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}").trim_end_matches('0').to_string()
    }
}

/// `≤ 10`, `≥ 1`, `1 … 10`.
pub fn threshold(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(lo), Some(hi)) => format!("{} … {}", number(lo), number(hi)),
        (Some(lo), None) => format!("≥ {}", number(lo)),
        (None, Some(hi)) => format!("≤ {}", number(hi)),
        (None, None) => "any".into(),
    }
}

/// The series a metric check reads: its statistic, or for an average the sum
/// and the sample count (an average of period averages would weigh a quiet
/// minute like a busy one).
pub fn series_needed(watch: &MetricWatch) -> Vec<&'static str> {
    match watch.statistic.as_str() {
        "Average" => vec!["Sum", "SampleCount"],
        _ => vec![""],
    }
}

/// Judges a metric check on the data points of its window. `series` holds the
/// points of each statistic `series_needed` named (`""`: the check's own).
pub fn judge_metric(
    region: &str,
    check: &Check,
    watch: &MetricWatch,
    window: Window,
    series: &BTreeMap<&str, Vec<(SystemTime, f64)>>,
) -> CheckResult {
    let inside = |name: &str| -> Vec<f64> {
        series
            .get(name)
            .into_iter()
            .flatten()
            .filter(|(t, _)| window.contains(*t))
            .map(|(_, v)| *v)
            .collect()
    };
    let (value, points) = match watch.statistic.as_str() {
        "Average" => {
            let (sums, counts) = (inside("Sum"), inside("SampleCount"));
            let count: f64 = counts.iter().sum();
            (
                (count > 0.0).then(|| sums.iter().sum::<f64>() / count),
                sums.len(),
            )
        }
        statistic => {
            let points = inside("");
            let value = match statistic {
                _ if points.is_empty() => None,
                "Sum" | "SampleCount" => Some(points.iter().sum()),
                "Minimum" => points.iter().copied().reduce(f64::min),
                "Maximum" => points.iter().copied().reduce(f64::max),
                // A percentile per period: the worst period of the window counts.
                _ if watch.max.is_some() => points.iter().copied().reduce(f64::max),
                _ => points.iter().copied().reduce(f64::min),
            };
            (value, points.len())
        }
    };
    let evidence = Evidence {
        value: value.map(number),
        threshold: format!("{} {}", watch.statistic, threshold(watch.min, watch.max)),
        window: Some(window),
        points: Some(points),
        detail: None,
    };
    let outcome = match value {
        None => Outcome::NoData,
        Some(v) if watch.min.is_some_and(|lo| v < lo) || watch.max.is_some_and(|hi| v > hi) => {
            Outcome::Fail
        }
        Some(_) => Outcome::Pass,
    };
    CheckResult::new(
        region,
        &check.name,
        Source::Metric,
        outcome,
        check.no_data,
        evidence,
    )
}

/// ALARM fails, OK passes, INSUFFICIENT_DATA follows `no_data`; an alarm that
/// does not exist is an error (a check that cannot see is not a pass).
pub fn judge_alarm(
    region: &str,
    check: &Check,
    name: &str,
    state: Option<&AlarmState>,
) -> CheckResult {
    let threshold = format!("alarm {name} OK");
    let Some(state) = state else {
        return CheckResult::error(
            region,
            &check.name,
            Source::Alarm,
            threshold,
            format!("no alarm named {name} in {region}"),
            false,
        );
    };
    let (outcome, shown) = match state.value {
        AlarmValue::Ok => (Outcome::Pass, "OK"),
        AlarmValue::Alarm => (Outcome::Fail, "ALARM"),
        AlarmValue::InsufficientData => (Outcome::NoData, "INSUFFICIENT_DATA"),
    };
    let evidence = Evidence {
        value: Some(shown.to_string()),
        threshold,
        detail: Some(state.reason.clone()).filter(|r| !r.is_empty()),
        ..Evidence::default()
    };
    CheckResult::new(
        region,
        &check.name,
        Source::Alarm,
        outcome,
        check.no_data,
        evidence,
    )
}

/// A load balancer is `active`.
pub fn judge_balancer(region: &str, name: &str, state: Option<&BalancerState>) -> CheckResult {
    let check = format!("{name} active");
    let (outcome, value, detail) = match state {
        None => (
            Outcome::Fail,
            "missing".to_string(),
            Some("the load balancer is gone".to_string()),
        ),
        Some(s) if s.state == "active" => (Outcome::Pass, s.state.clone(), None),
        Some(s) => (Outcome::Fail, s.state.clone(), s.reason.clone()),
    };
    let evidence = Evidence {
        value: Some(value),
        threshold: "active".into(),
        detail,
        ..Evidence::default()
    };
    CheckResult::new(
        region,
        &check,
        Source::Builtin,
        outcome,
        NoData::Fail,
        evidence,
    )
}

/// A target group that receives traffic has at least `min_healthy` healthy
/// targets (default: all registered, at least one) and none unhealthy.
pub fn judge_targets(
    region: &str,
    name: &str,
    weight: i64,
    min_healthy: Option<u32>,
    targets: &[TargetHealth],
) -> CheckResult {
    let check = format!("{name} healthy (weight {weight})");
    let healthy = targets
        .iter()
        .filter(|t| t.state == TargetState::Healthy)
        .count();
    let unhealthy: Vec<&TargetHealth> = targets
        .iter()
        .filter(|t| t.state == TargetState::Unhealthy)
        .collect();
    let needed = min_healthy.map_or(targets.len().max(1), |m| m as usize);
    let outcome = if healthy >= needed && unhealthy.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail
    };
    let others: Vec<String> = targets
        .iter()
        .filter(|t| t.state != TargetState::Healthy)
        .map(|t| {
            let state = match &t.state {
                TargetState::Other(s) => s.clone(),
                s => format!("{s:?}").to_lowercase(),
            };
            match &t.reason {
                Some(r) => format!("{} {state} ({r})", t.id),
                None => format!("{} {state}", t.id),
            }
        })
        .collect();
    let evidence = Evidence {
        value: Some(format!("{healthy}/{} healthy", targets.len())),
        threshold: format!("≥ {needed} healthy, none unhealthy"),
        detail: (!others.is_empty()).then(|| others.join("; ")),
        ..Evidence::default()
    };
    CheckResult::new(
        region,
        &check,
        Source::Builtin,
        outcome,
        NoData::Fail,
        evidence,
    )
}

/// A database instance is `available`.
pub fn judge_database(region: &str, name: &str, status: Option<&DbStatus>) -> CheckResult {
    let check = format!("{name} available");
    let (outcome, value) = match status {
        None => (Outcome::Fail, "missing".to_string()),
        Some(s) if s.status == "available" => (Outcome::Pass, s.status.clone()),
        Some(s) => (Outcome::Fail, s.status.clone()),
    };
    let evidence = Evidence {
        value: Some(value),
        threshold: "available".into(),
        ..Evidence::default()
    };
    CheckResult::new(
        region,
        &check,
        Source::Builtin,
        outcome,
        NoData::Fail,
        evidence,
    )
}

/// An Auto Scaling group has at least its `min` instances in service and
/// healthy, and none its health checks found unhealthy.
pub fn judge_group(
    region: &str,
    name: &str,
    in_service: u32,
    min: u32,
    unhealthy: u32,
) -> CheckResult {
    let outcome = if in_service >= min && unhealthy == 0 {
        Outcome::Pass
    } else {
        Outcome::Fail
    };
    let evidence = Evidence {
        value: Some(format!("{in_service} in service, {unhealthy} unhealthy")),
        threshold: format!(">= {min} in service, none unhealthy"),
        ..Evidence::default()
    };
    CheckResult::new(
        region,
        &format!("{name} in service"),
        Source::Builtin,
        outcome,
        NoData::Fail,
        evidence,
    )
}

/// Failed evaluations in a row, per region and check: `consecutive = N`
/// fails a check at its N-th failed evaluation in a row, in a soak or bake.
#[derive(Debug, Default)]
pub struct Streaks(BTreeMap<(String, String), u32>);

impl Streaks {
    /// Records one evaluation of `result`; whether it now fails (its streak reached `consecutive`).
    pub fn record(&mut self, result: &CheckResult, consecutive: u32) -> bool {
        let key = (result.region.clone(), result.check.clone());
        if result.failed() {
            let streak = self.0.entry(key).or_default();
            *streak += 1;
            *streak >= consecutive
        } else {
            self.0.remove(&key);
            false
        }
    }

    pub fn of(&self, result: &CheckResult) -> u32 {
        self.0
            .get(&(result.region.clone(), result.check.clone()))
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::verify::Watch;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn watch(statistic: &str, min: Option<f64>, max: Option<f64>) -> (Check, MetricWatch) {
        let w = MetricWatch {
            namespace: "AWS/ApplicationELB".into(),
            metric: "HTTPCode_Target_5XX_Count".into(),
            dimensions: BTreeMap::new(),
            statistic: statistic.into(),
            period: Duration::from_secs(60),
            window: Duration::from_secs(300),
            lag: Duration::from_secs(120),
            min,
            max,
        };
        let check = Check {
            name: "alb-5xx".into(),
            regions: None,
            consecutive: 1,
            no_data: NoData::Fail,
            watch: Watch::Metric(w.clone()),
        };
        (check, w)
    }

    #[test]
    fn a_group_passes_with_its_minimum_in_service_and_none_unhealthy() {
        let judged = |in_service, min, unhealthy| {
            let r = judge_group(
                "eu-west-1",
                "autoscaling_group.web",
                in_service,
                min,
                unhealthy,
            );
            (r.outcome, r.evidence.value.unwrap())
        };
        assert_eq!(
            judged(2, 2, 0),
            (Outcome::Pass, "2 in service, 0 unhealthy".into())
        );
        assert_eq!(judged(1, 2, 0).0, Outcome::Fail, "under its minimum");
        assert_eq!(judged(3, 2, 1).0, Outcome::Fail, "one unhealthy");
    }

    #[test]
    fn a_window_ends_on_a_period_boundary_lag_before_now_and_spans_whole_periods() {
        // 10:07:30 with a 2m lag: the periods up to 10:05:00 are complete.
        let now = at(36_000 + 7 * 60 + 30);
        let w = Window::ending_before(
            now,
            Duration::from_secs(120),
            Duration::from_secs(60),
            Duration::from_secs(300),
        );
        assert_eq!(w.end, at(36_000 + 5 * 60));
        assert_eq!(w.start, at(36_000));
        assert_eq!(w.label(), "10:00–10:05");
        assert!(w.contains(at(36_000)) && !w.contains(w.end), "[start, end)");
        // A 5-minute period aligns to 5 minutes.
        let w = Window::ending_before(
            now,
            Duration::ZERO,
            Duration::from_secs(300),
            Duration::from_secs(600),
        );
        assert_eq!((w.start, w.end), (at(36_000 - 300), at(36_000 + 300)));
    }

    fn series(points: &[(u64, f64)]) -> BTreeMap<&'static str, Vec<(SystemTime, f64)>> {
        BTreeMap::from([("", points.iter().map(|(t, v)| (at(*t), *v)).collect())])
    }

    #[test]
    fn a_window_never_reaches_back_before_the_weights_were_confirmed() {
        let w = Window {
            start: at(600),
            end: at(900),
        };
        // Confirmed at 10:12:30 of the window's clock: the 10:12 period still
        // held old traffic; judging starts at the next whole minute.
        assert_eq!(
            w.not_before(at(750), Duration::from_secs(60)),
            Window {
                start: at(780),
                end: at(900)
            }
        );
        assert_eq!(w.not_before(at(300), Duration::from_secs(60)), w);
        assert!(w.not_before(at(880), Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn a_sum_over_the_threshold_fails_with_its_value_and_points_outside_the_window_do_not_count() {
        let (check, w) = watch("Sum", None, Some(10.0));
        let window = Window {
            start: at(600),
            end: at(900),
        };
        let r = judge_metric(
            "us-west-2",
            &check,
            &w,
            window,
            &series(&[(600, 4.0), (660, 8.0), (900, 100.0), (540, 100.0)]),
        );
        assert_eq!(r.outcome, Outcome::Fail);
        assert!(!r.passed && r.failed());
        assert_eq!(r.evidence.value.as_deref(), Some("12"));
        assert_eq!(r.evidence.points, Some(2));
        assert_eq!(r.evidence.threshold, "Sum ≤ 10");
        let r = judge_metric(
            "us-west-2",
            &check,
            &w,
            window,
            &series(&[(600, 4.0), (660, 5.0)]),
        );
        assert_eq!((r.outcome, r.passed), (Outcome::Pass, true));
    }

    #[test]
    fn no_data_fails_by_default_and_passes_when_told() {
        let (mut check, w) = watch("Sum", None, Some(10.0));
        let window = Window {
            start: at(600),
            end: at(900),
        };
        let r = judge_metric("r", &check, &w, window, &series(&[]));
        assert_eq!((r.outcome, r.passed), (Outcome::NoData, false));
        assert!(r.failed());
        check.no_data = NoData::Pass;
        let r = judge_metric("r", &check, &w, window, &series(&[]));
        assert_eq!((r.outcome, r.passed), (Outcome::NoData, true));
    }

    #[test]
    fn an_average_weighs_each_sample_and_a_minimum_threshold_holds_from_below() {
        let (check, w) = watch("Average", Some(0.5), None);
        let window = Window {
            start: at(0),
            end: at(120),
        };
        // One busy minute (90 samples, sum 90) and one quiet one (10 samples, sum 0): 0.9, not 0.5.
        let s = BTreeMap::from([
            ("Sum", vec![(at(0), 90.0), (at(60), 0.0)]),
            ("SampleCount", vec![(at(0), 90.0), (at(60), 10.0)]),
        ]);
        let r = judge_metric("r", &check, &w, window, &s);
        assert_eq!(r.evidence.value.as_deref(), Some("0.9"));
        assert_eq!(r.outcome, Outcome::Pass);
        let (check, w) = watch("Minimum", Some(5.0), None);
        let r = judge_metric("r", &check, &w, window, &series(&[(0, 7.0), (60, 3.0)]));
        assert_eq!(
            (r.outcome, r.evidence.value.as_deref()),
            (Outcome::Fail, Some("3"))
        );
    }

    #[test]
    fn a_percentile_is_judged_on_its_worst_period() {
        let (check, w) = watch("p99", None, Some(0.5));
        let window = Window {
            start: at(0),
            end: at(180),
        };
        let r = judge_metric(
            "r",
            &check,
            &w,
            window,
            &series(&[(0, 0.2), (60, 0.7), (120, 0.1)]),
        );
        assert_eq!(
            (r.outcome, r.evidence.value.as_deref()),
            (Outcome::Fail, Some("0.7"))
        );
    }

    #[test]
    fn alarm_states_map_to_outcomes_and_a_missing_alarm_is_an_error() {
        let (mut check, _) = watch("Sum", None, Some(1.0));
        let state = |value| AlarmState {
            name: "demo.5xx".into(),
            value,
            reason: "Threshold Crossed".into(),
            updated: None,
        };
        let judge = |check: &Check, value| judge_alarm("r", check, "demo.5xx", Some(&state(value)));
        assert_eq!(judge(&check, AlarmValue::Ok).outcome, Outcome::Pass);
        let alarm = judge(&check, AlarmValue::Alarm);
        assert_eq!(
            (alarm.outcome, alarm.evidence.detail.as_deref()),
            (Outcome::Fail, Some("Threshold Crossed"))
        );
        assert!(!judge(&check, AlarmValue::InsufficientData).passed);
        check.no_data = NoData::Pass;
        assert!(judge(&check, AlarmValue::InsufficientData).passed);
        let missing = judge_alarm("r", &check, "nope", None);
        assert_eq!(missing.outcome, Outcome::Error);
        assert!(!missing.failed(), "an error is not a failed judgement");
    }

    #[test]
    fn targets_need_enough_healthy_and_none_unhealthy() {
        let t = |id: &str, state| TargetHealth {
            id: id.into(),
            port: Some(80),
            state,
            reason: None,
        };
        let two = [
            t("i-1", TargetState::Healthy),
            t("i-2", TargetState::Healthy),
        ];
        assert_eq!(
            judge_targets("r", "tg", 100, None, &two).outcome,
            Outcome::Pass
        );
        let one_down = [
            t("i-1", TargetState::Healthy),
            t("i-2", TargetState::Unhealthy),
        ];
        let r = judge_targets("r", "tg", 100, Some(1), &one_down);
        assert_eq!(
            (r.outcome, r.evidence.value.as_deref()),
            (Outcome::Fail, Some("1/2 healthy"))
        );
        assert_eq!(r.evidence.detail.as_deref(), Some("i-2 unhealthy"));
        let starting = [
            t("i-1", TargetState::Healthy),
            t("i-2", TargetState::Initial),
        ];
        assert_eq!(
            judge_targets("r", "tg", 100, None, &starting).outcome,
            Outcome::Fail,
            "all registered by default"
        );
        assert_eq!(
            judge_targets("r", "tg", 100, Some(1), &starting).outcome,
            Outcome::Pass
        );
        assert_eq!(
            judge_targets("r", "tg", 100, None, &[]).outcome,
            Outcome::Fail,
            "at least one"
        );
    }

    #[test]
    fn consecutive_tolerates_a_streak_shorter_than_it_and_a_pass_resets_it() {
        let (check, w) = watch("Sum", None, Some(1.0));
        let window = Window {
            start: at(0),
            end: at(60),
        };
        let bad = judge_metric("r", &check, &w, window, &series(&[(0, 5.0)]));
        let good = judge_metric("r", &check, &w, window, &series(&[(0, 0.0)]));
        let mut streaks = Streaks::default();
        assert!(!streaks.record(&bad, 2));
        assert!(!streaks.record(&good, 2));
        assert!(!streaks.record(&bad, 2));
        assert!(streaks.record(&bad, 2));
        assert!(Streaks::default().record(&bad, 1));
    }
}
