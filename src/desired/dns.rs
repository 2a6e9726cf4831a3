//! The desired attributes of the dns kinds: Route53 hosted zones and records.

use super::*;
use crate::stack::spec::{DnsRecordSpec, DnsZoneSpec};

/// Global, but homed in one region of the stack (`ops::home_dns`).
pub(super) fn dns_zone(c: &mut Ctx, s: &DnsZoneSpec) {
    c.set("name", regional_str(dns_name(s.name.get_ref())));
    c.set("home", Value::str(c.region));
    c.set("private", Value::Bool(*s.private.get_ref()));
    let vpcs = Value::set(s.vpcs.iter().map(|v| c.reference(v.get_ref())));
    c.set("vpcs", vpcs);
}

pub(super) fn dns_record(c: &mut Ctx, s: &DnsRecordSpec) {
    c.set("home", Value::str(c.region));
    c.set("zone", c.reference(s.zone.get_ref()));
    c.set("name", regional_str(dns_name(s.name.get_ref())));
    c.set("type", Value::str(s.record_type.get_ref()));
    if let Some(ttl) = &s.ttl {
        c.set("ttl", Value::Int(*ttl.get_ref()));
        let txt = s.record_type.get_ref() == "TXT";
        c.set(
            "values",
            Value::set(s.values.iter().map(|v| {
                let v: &str = v.as_ref();
                Value::str(if txt {
                    crate::model::txt::plain(v)
                } else {
                    v.to_string()
                })
            })),
        );
    }
    if let Some(a) = s.alias.as_ref().and_then(|a| a.get_ref().address()) {
        // Compared without regard to case, as DNS does; zone ids shown
        // in AWS's upper case.
        let exported = |attr, case: fn(&str) -> String| {
            c.resolve
                .attribute(a, attr)
                .map_or(Value::Unknown, |v| Value::Str(case(&v)))
        };
        c.set(
            "alias",
            Value::map([
                ("dns_name", exported("dns_name", str::to_lowercase)),
                ("zone_id", exported("zone_id", str::to_uppercase)),
            ]),
        );
    }
}

no_inputs!(DnsZoneSpec, DnsRecordSpec);
