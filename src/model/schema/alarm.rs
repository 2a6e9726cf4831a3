//! CloudWatch metric alarms: every setting but the name changes in place (PutMetricAlarm).

use super::{IamActions, Import, LiveId, Schema, TagBudget, Terraform, TerraformId};
use crate::model::{ReplaceOrder, Service};

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
    service: Service::CloudWatch,
    import: Import::AlarmName,
    tags: TagBudget::standard(0),
    terraform: Some(Terraform {
        types: &["aws_cloudwatch_metric_alarm"],
        id: TerraformId::Attribute("alarm_name"),
    }),
    iam: IamActions {
        read: &[
            "cloudwatch:DescribeAlarms",
            "cloudwatch:ListTagsForResource",
            "tag:GetResources",
        ],
        create: &["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"],
        update: &[
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:TagResource",
            "cloudwatch:UntagResource",
        ],
        delete: &["cloudwatch:DeleteAlarms"],
    },
    destroys: &[],
};
