//! The checks of the alarm kinds' own values: alarms.

use super::*;
use crate::stack::spec::AlarmSpec;

impl Checker {
    pub(super) fn alarm(&mut self, _stack: &Stack, _r: &Resource, s: &AlarmSpec) {
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
