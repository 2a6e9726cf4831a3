//! The desired attributes of the alarm kinds: CloudWatch metric alarms.

use super::*;
use crate::stack::spec::AlarmSpec;

pub(super) fn alarm(c: &mut Ctx, s: &AlarmSpec) {
    // Only a name of its own is an attribute (as discovery reads it).
    let default = crate::model::alarm_name(&c.stack.name, c.own);
    if let Some(name) = s.name.as_ref().filter(|n| *n.get_ref() != default) {
        c.set("name", Value::str(name.get_ref()));
    }
    c.set("namespace", Value::str(&s.namespace));
    c.set("metric", Value::str(&s.metric));
    let dimensions = s.dimensions.iter().map(|(k, v)| {
        let rendered = interpolate::render(v.get_ref(), |a, attr| c.resolve.attribute(a, attr));
        (k.clone(), rendered.map_or(Value::Unknown, Value::Str))
    });
    c.set("dimensions", Value::map(dimensions));
    c.set("statistic", Value::str(s.statistic.get_ref()));
    c.set("period", Value::Int(*s.period.get_ref()));
    c.set(
        "evaluation_periods",
        Value::Int(*s.evaluation_periods.get_ref()),
    );
    c.set("threshold", Value::Decimal(threshold_text(s.threshold)));
    c.set("comparison", Value::str(s.comparison.get_ref()));
    c.set(
        "treat_missing_data",
        Value::str(s.treat_missing_data.get_ref()),
    );
    if let Some(d) = s.description.as_ref().filter(|d| !d.is_empty()) {
        c.set("description", Value::str(d));
    }
}

no_inputs!(AlarmSpec);
