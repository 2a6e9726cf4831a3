//! ACM certificates: their block (the serde type a stack file is read into),
//! references and own checks (names ACM takes, a validation zone that can hold
//! their records).

use super::*;
use crate::stack::spec::{resource_spec, Reference, Spanned};

/// What ACM takes as a name (botocore's `DomainNameString`): labels of
/// letters, digits and inner `-`, the first one possibly `*`.
fn acm_name(name: &str) -> bool {
    let rest = name.strip_prefix("*.").unwrap_or(name);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    name.len() <= 253 && rest.contains('.') && rest.split('.').all(label_ok)
}

/// The most names one certificate carries (the API's limit; AWS's default
/// quota is 10, raised on request).
const MOST_NAMES: usize = 100;

resource_spec!(
    /// `[acm_certificate.NAME]`: an ACM certificate validated by DNS. See docs/kinds.md.
    AcmCertificateSpec {
    /// The certificate's domain name.
    domain: Spanned<String>,
    /// Further names it covers.
    #[serde(default)]
    alternative_names: Vec<Spanned<String>>,
    /// The public zone the DNS validation records are written in:
    /// `dns_zone.main`, or a hosted zone id. Without one, apply says which
    /// records to write and waits for them.
    validation_zone: Option<Spanned<Reference>>,
});

impl Checker {
    pub(super) fn acm_certificate(&mut self, stack: &Stack, r: &Resource, s: &AcmCertificateSpec) {
        let names = std::iter::once(&s.domain).chain(&s.alternative_names);
        for name in names.clone() {
            if !acm_name(name.get_ref()) {
                self.error(
                    name.span(),
                    format!(
                        "{}: ACM does not take the name `{}`",
                        r.address,
                        name.get_ref()
                    ),
                )
                .help = Some(
                    "a DNS name of letters, digits and `-` (no `_`), the first label possibly `*`"
                        .into(),
                );
            }
        }
        // The certificate's subject: RFC 5280's upper bound for a common name.
        if s.domain.get_ref().len() > 64 {
            self.error(
                s.domain.span(),
                format!(
                    "{}: the first name of a certificate has at most 64 characters ({} here)",
                    r.address,
                    s.domain.get_ref().len()
                ),
            )
            .help = Some("put the long name in `alternative_names` and a shorter one here".into());
        }
        if s.alternative_names.len() + 1 > MOST_NAMES {
            self.error(
                s.alternative_names[MOST_NAMES - 1].span(),
                format!(
                    "{}: a certificate carries at most {MOST_NAMES} names, the domain included",
                    r.address
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for name in names.clone() {
            if !seen.insert(name.get_ref().to_lowercase()) {
                self.error(
                    name.span(),
                    format!("{}: `{}` is named twice", r.address, name.get_ref()),
                );
            }
        }
        let Some(zone) = &s.validation_zone else {
            return;
        };
        let declared = zone
            .get_ref()
            .address()
            .and_then(|a| stack.resources.get(a))
            .map(|z| &z.spec);
        let Some(Spec::DnsZone(z)) = declared else {
            return;
        };
        if *z.private.get_ref() {
            self.error(
                zone.span(),
                format!(
                    "{}: ACM validates through public DNS, and {} is a private zone",
                    r.address,
                    zone.get_ref().address().expect("declared")
                ),
            );
            return;
        }
        let Some(apex) = dns_name(z.name.get_ref()) else {
            return;
        };
        for name in names {
            let plain = name.get_ref().to_lowercase();
            let plain = plain.strip_prefix("*.").unwrap_or(&plain);
            if plain != apex && !plain.ends_with(&format!(".{apex}")) {
                self.error(
                    name.span(),
                    format!(
                        "{}: `{}` is not in the validation zone {apex}, so its validation record cannot be written there",
                        r.address,
                        name.get_ref()
                    ),
                )
                .help = Some("validate it in a zone that holds it, or leave it to another certificate".into());
            }
        }
    }
}

impl AcmCertificateSpec {
    /// Its references, each with the kind it must name.
    pub fn references(&self) -> Vec<ReferenceField> {
        self.validation_zone
            .iter()
            .map(|z| field("validation_zone", z, Kind::DnsZone))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::acm_name;
    use std::path::Path;

    /// A load balancer, a zone and a certificate, with `listener` appended.
    fn stack(zone: &str, certificate: &str, listener: &str) -> String {
        format!(
            "[stack]\nname = \"s\"\nregions = [\"us-west-2\"]\n\n[load_balancer.app]\nsubnets = [\"subnet-0a\", \"subnet-0b\"]\n\n\
             [dns_zone.main]\n{zone}\n\n[acm_certificate.site]\n{certificate}\n\n\
             [listener.web]\nload_balancer = \"load_balancer.app\"\n{listener}\ndefault_action = {{ fixed_response = {{ status = 404 }} }}\n"
        )
    }

    fn refused(text: &str) -> String {
        crate::stack::parse(Path::new("s.toml"), text.to_string())
            .expect_err("refused")
            .to_string()
    }

    const ZONE: &str = "name = \"example.com\"";
    const CERT: &str = "domain = \"shop.example.com\"\nvalidation_zone = \"dns_zone.main\"";
    const HTTPS: &str = "port = 443\nprotocol = \"HTTPS\"\ncertificate = \"acm_certificate.site\"";

    #[test]
    fn a_valid_https_stack_loads() {
        let text = stack(
            ZONE,
            CERT,
            &format!("{HTTPS}\nssl_policy = \"ELBSecurityPolicy-TLS13-1-2-2021-06\""),
        );
        crate::stack::parse(Path::new("s.toml"), text).expect("loads");
    }

    #[test]
    fn listener_mistakes_are_located() {
        let e = refused(&stack(ZONE, CERT, "port = 443\nprotocol = \"HTTPS\""));
        assert!(
            e.contains("s.toml:") && e.contains("an HTTPS listener needs a `certificate`"),
            "{e}"
        );
        let e = refused(&stack(
            ZONE,
            CERT,
            "port = 80\ncertificate = \"acm_certificate.site\"",
        ));
        assert!(
            e.contains("`certificate` is for an HTTPS listener, and this one is HTTP"),
            "{e}"
        );
        let e = refused(&stack(
            ZONE,
            CERT,
            &format!("{HTTPS}\nssl_policy = \"ELBSecurityPolicy-TLS13-9-9\""),
        ));
        assert!(
            e.contains("unknown SSL policy `ELBSecurityPolicy-TLS13-9-9`")
                && e.contains("describe-ssl-policies"),
            "{e}"
        );
        let e = refused(&stack(
            ZONE,
            CERT,
            "port = 443\nprotocol = \"HTTPS\"\ncertificate = \"dns_zone.main\"",
        ));
        assert!(e.contains("acm_certificate"), "{e}");
        let e = refused(&stack(
            ZONE,
            CERT,
            &format!("{HTTPS}\ncertificates = [\"acm_certificate.site\"]"),
        ));
        assert!(
            e.contains("the default certificate is served anyway"),
            "{e}"
        );
    }

    #[test]
    fn certificate_mistakes_are_located() {
        let e = refused(&stack(
            ZONE,
            "domain = \"shop.other.org\"\nvalidation_zone = \"dns_zone.main\"",
            HTTPS,
        ));
        assert!(
            e.contains("`shop.other.org` is not in the validation zone example.com"),
            "{e}"
        );
        let private = "name = \"example.com\"\nprivate = true\nvpcs = [\"vpc-0a\"]";
        let e = refused(&stack(private, CERT, HTTPS));
        assert!(e.contains("ACM validates through public DNS"), "{e}");
        let e = refused(&stack(ZONE, "domain = \"_acme.example.com\"", HTTPS));
        assert!(
            e.contains("ACM does not take the name `_acme.example.com`"),
            "{e}"
        );
        let long = format!("domain = \"{}.example.com\"", "a".repeat(60));
        let e = refused(&stack(ZONE, &long, HTTPS));
        assert!(e.contains("at most 64 characters"), "{e}");
        let e = refused(&stack(
            ZONE,
            "domain = \"a.example.com\"\nalternative_names = [\"A.example.com\"]",
            HTTPS,
        ));
        assert!(e.contains("is named twice"), "{e}");
    }

    #[test]
    fn names_acm_takes_and_refuses() {
        for ok in ["shop.example.com", "*.example.com", "a-b.example.co.uk"] {
            assert!(acm_name(ok), "{ok}");
        }
        for bad in [
            "example",
            "_x.example.com",
            "-a.example.com",
            "a.*.example.com",
            "a..b.com",
        ] {
            assert!(!acm_name(bad), "{bad}");
        }
    }
}
