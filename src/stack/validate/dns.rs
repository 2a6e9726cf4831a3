//! Hosted zones and records: their blocks (the serde types a stack file is
//! read into), references and own checks.

use super::*;
use crate::stack::spec::{resource_spec, Reference, Spanned};

fn public() -> Spanned<bool> {
    Spanned::new(0..0, false)
}

resource_spec!(
    /// `[dns_zone.NAME]`: a Route53 hosted zone (global). See docs/kinds.md.
    DnsZoneSpec {
    /// A public zone: adopted when one with this name exists, created otherwise.
    name: Spanned<String>,
    /// A private zone, answering only inside `vpcs`: always created, never
    /// adopted. Fixed at creation (a change replaces the zone).
    #[serde(default = "public")]
    private: Spanned<bool>,
    /// The VPCs (in the zone's home region) a private zone answers in.
    #[serde(default)]
    vpcs: Vec<Spanned<Reference>>,
});

resource_spec!(
    /// `[dns_record.NAME]`: a record of a hosted zone (global). See docs/kinds.md.
    DnsRecordSpec {
    /// Its hosted zone.
    zone: Spanned<Reference>,
    /// Its name, in the zone.
    name: Spanned<String>,
    /// `A`, `AAAA`, `CNAME`, `TXT` or `MX`.
    #[serde(rename = "type")]
    record_type: Spanned<String>,
    /// Seconds resolvers keep it (default 300; none for an alias).
    ttl: Option<Spanned<i64>>,
    /// Its values.
    #[serde(default)]
    values: Vec<String>,
    /// An alias to a load balancer of the stack, instead of `ttl` and `values`.
    alias: Option<Spanned<Reference>>,
    /// Take over a record of this name and type that exists without
    /// reconcile's marker (shown as an adoption); without it, such a record
    /// makes the plan refuse.
    #[serde(default)]
    adopt: bool,
});

impl Checker {
    pub(super) fn dns_zone(&mut self, _stack: &Stack, r: &Resource, s: &DnsZoneSpec) {
        if dns_name(s.name.get_ref()).is_none() {
            self.error(
                s.name.span(),
                format!("invalid zone name `{}`", s.name.get_ref()),
            );
        }
        match (*s.private.get_ref(), s.vpcs.first()) {
            (true, None) => {
                self.error(
                    s.private.span(),
                    format!(
                        "{}: a private zone answers inside VPCs: give `vpcs`",
                        r.address
                    ),
                )
                .help = Some("for example: vpcs = [\"vpc.main\"]".into());
            }
            (false, Some(v)) => {
                self.error(
                    v.span(),
                    format!("{}: `vpcs` is for a private zone", r.address),
                )
                .help = Some("add `private = true`, or remove `vpcs`".into());
            }
            _ => {}
        }
    }

    pub(super) fn dns_record(&mut self, stack: &Stack, r: &Resource, s: &DnsRecordSpec) {
        let identity = format!(
            "DNS record ({} {})",
            s.record_type.get_ref().to_uppercase(),
            crate::stack::dns_name(s.name.get_ref()).unwrap_or_default()
        );
        self.identity(r, identity, s.name.span());
        let kind = s.record_type.get_ref().as_str();
        self.one_of(
            s.record_type.span(),
            "record type",
            kind,
            crate::stack::RECORD_TYPES,
        );
        let zone = match s
            .zone
            .get_ref()
            .address()
            .map(|a| stack.resources.get(a).map(|r| &r.spec))
        {
            Some(Some(Spec::DnsZone(z))) => dns_name(z.name.get_ref()),
            _ => None,
        };
        match (dns_name(s.name.get_ref()), zone) {
            (None, _) => {
                self.error(
                    s.name.span(),
                    format!("invalid record name `{}`", s.name.get_ref()),
                );
            }
            (Some(name), Some(zone)) if name != zone && !name.ends_with(&format!(".{zone}")) => {
                self.error(s.name.span(), format!("{name} is not in the zone {zone}"));
            }
            _ => {}
        }
        match (&s.alias, s.values.is_empty(), &s.ttl) {
            (Some(a), true, None) => {
                if !matches!(kind, "A" | "AAAA") {
                    self.error(a.span(), "an alias record is of type A or AAAA");
                }
            }
            (None, false, Some(ttl)) => self.in_range(ttl, "ttl", 0..=2_147_483_647),
            _ => {
                self.error(
                    s.name.span(),
                    format!("{}: give either `alias`, or `ttl` and `values`", r.address),
                );
            }
        }
        if !r.spec.common().tags.is_empty() {
            self.error(
                s.name.span(),
                format!("{}: DNS records have no tags", r.address),
            )
            .help = Some("reconcile owns records through a TXT marker record instead".into());
        }
    }
}

impl DnsZoneSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        self.vpcs
            .iter()
            .map(|v| field("vpcs", v, Kind::Vpc))
            .collect()
    }
}

impl DnsRecordSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        std::iter::once(field("zone", &self.zone, Kind::DnsZone))
            .chain(
                self.alias
                    .iter()
                    .map(|a| field("alias", a, Kind::LoadBalancer)),
            )
            .collect()
    }
}
