//! Alarms: their block (the serde type a stack file is read into), its
//! references and its own checks.

use super::*;
use crate::stack::spec::{resource_spec, Spanned};
use std::collections::BTreeMap;

resource_spec!(
    /// `[alarm.NAME]`: a CloudWatch metric alarm. See docs/kinds.md.
    AlarmSpec {
    /// Its name in CloudWatch (default `<stack>.<name>`): an imported
    /// alarm keeps its own. A change replaces the alarm.
    name: Option<Spanned<String>>,
    /// The metric's CloudWatch namespace.
    namespace: String,
    /// The metric's name.
    metric: String,
    /// Values may interpolate live attributes: `"${load_balancer.app.arn_suffix}"`.
    #[serde(default)]
    dimensions: BTreeMap<String, Spanned<String>>,
    /// Sum, Average, Minimum, Maximum or SampleCount.
    statistic: Spanned<String>,
    /// The period in seconds.
    period: Spanned<i64>,
    /// How many periods are compared (default 1).
    #[serde(default = "one")]
    evaluation_periods: Spanned<i64>,
    /// The value compared with.
    threshold: f64,
    /// `GreaterThanThreshold`, `LessThanThreshold` and the other CloudWatch comparisons.
    comparison: Spanned<String>,
    /// `missing` (the default), `breaching`, `notBreaching` or `ignore`.
    #[serde(default = "missing")]
    treat_missing_data: Spanned<String>,
    /// The alarm's description.
    description: Option<String>,
});

fn one() -> Spanned<i64> {
    Spanned::new(0..0, 1)
}

fn missing() -> Spanned<String> {
    Spanned::new(0..0, "missing".to_string())
}

impl Checker {
    pub(super) fn alarm(&mut self, stack: &Stack, r: &Resource, s: &AlarmSpec) {
        // PutMetricAlarm's limits (CloudWatch's model): the alarm is named
        // `<stack>.<name>`.
        let name = s.name.as_ref().map_or_else(
            || crate::model::alarm_name(&stack.name, &r.address),
            |n| n.get_ref().clone(),
        );
        let limits = [
            ("its name", name.as_str(), 1, 255),
            ("namespace", s.namespace.as_str(), 1, 255),
            ("metric", s.metric.as_str(), 1, 255),
            (
                "description",
                s.description.as_deref().unwrap_or_default(),
                0,
                1024,
            ),
        ];
        for (what, value, min, max) in limits {
            let n = value.chars().count();
            if n < min || n > max {
                self.error(
                    r.span.clone(),
                    format!(
                        "{}: {what} has {n} characters; CloudWatch takes {min} to {max}",
                        r.address
                    ),
                );
            }
        }
        if s.namespace.starts_with(':') {
            self.error(
                r.span.clone(),
                format!("{}: a namespace may not begin with `:`", r.address),
            );
        }
        if s.dimensions.len() > 30 {
            self.error(
                r.span.clone(),
                format!(
                    "{}: {} dimensions; CloudWatch takes at most 30",
                    r.address,
                    s.dimensions.len()
                ),
            );
        }
        self.one_of(
            s.statistic.span(),
            "statistic",
            s.statistic.get_ref(),
            &["Average", "Sum", "Minimum", "Maximum", "SampleCount"],
        );
        self.one_of(
            s.comparison.span(),
            "comparison",
            s.comparison.get_ref(),
            &[
                "GreaterThanThreshold",
                "GreaterThanOrEqualToThreshold",
                "LessThanThreshold",
                "LessThanOrEqualToThreshold",
            ],
        );
        self.one_of(
            s.treat_missing_data.span(),
            "treat_missing_data",
            s.treat_missing_data.get_ref(),
            &["missing", "breaching", "notBreaching", "ignore"],
        );
        if *s.period.get_ref() < 10 || (*s.period.get_ref() > 30 && s.period.get_ref() % 60 != 0) {
            self.error(
                s.period.span(),
                format!(
                    "period {} is not 10, 20, 30 or a multiple of 60 seconds",
                    s.period.get_ref()
                ),
            );
        }
        self.in_range(&s.evaluation_periods, "evaluation_periods", 1..=1440);
    }
}

impl AlarmSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        vec![]
    }
}
