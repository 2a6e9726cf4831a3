//! The desired attributes of an ACM certificate.

use super::*;
use crate::stack::spec::AcmCertificateSpec;

/// What a certificate is compared on: its names (lowercase, as ACM answers
/// them), where it is validated, and that it is issued.
pub(super) fn acm_certificate(c: &mut Ctx, s: &AcmCertificateSpec) {
    let domain = s.domain.get_ref().to_lowercase();
    c.set("domain", Value::str(&domain));
    c.set(
        "alternative_names",
        Value::set(
            s.alternative_names
                .iter()
                .map(|n| n.get_ref().to_lowercase())
                .filter(|n| *n != domain)
                .map(Value::Str),
        ),
    );
    if let Some(zone) = &s.validation_zone {
        c.set("validation_zone", c.reference(zone.get_ref()));
    }
    c.set("status", Value::str(crate::model::shapes::ISSUED));
}

no_inputs!(AcmCertificateSpec);
