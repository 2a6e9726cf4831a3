//! CloudWatch metric alarms: every setting but the name changes in place (PutMetricAlarm).

use super::{LiveId, Schema};
use crate::model::ReplaceOrder;

pub const ALARM: Schema = Schema {
    name: "alarm",
    attributes: &[
        "name",
        "namespace",
        "metric",
        "dimensions",
        "statistic",
        "period",
        "evaluation_periods",
        "threshold",
        "comparison",
        "treat_missing_data",
        "description",
        "tags",
        "protect",
    ],
    // An alarm is its name: PutMetricAlarm under another makes another.
    forces_replacement: &["name"],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "arn", "name"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::None,
    forward: None,
};
