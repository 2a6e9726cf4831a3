//! What reconcile knows of each kind, one `Schema` per kind, gathered by
//! family (`network`, `balancing`, `certificate`, `compute`, `database`, `alarm`,
//! `dns`, `iam`):
//! its attributes, which of them AWS cannot change in place, which bind it
//! to what they reference, how it is replaced, what it exports, what a change
//! costs, and how its live ids look. `Kind::schema` places every kind; the
//! `Kind` methods read these tables.

mod alarm;
mod balancing;
mod certificate;
mod compute;
mod database;
mod dns;
mod iam;
mod network;

use super::{Kind, ReplaceOrder};

pub struct Schema {
    /// The kind's name in a stack file and in addresses: `load_balancer`.
    pub name: &'static str,
    /// Attributes diffed for this kind; `ignore_changes` may name any of them.
    pub attributes: &'static [&'static str],
    /// Attributes AWS cannot change in place: a change replaces the resource.
    pub forces_replacement: &'static [&'static str],
    /// References (beyond those that force replacement) that pin the resource
    /// to its target: when the target is replaced, the old one cannot be
    /// deleted while this one holds on (an attached gateway, a rule naming a
    /// group), so this one is replaced too. Other references (route table
    /// associations, routes) are re-pointed in place.
    pub binds: &'static [&'static str],
    pub replace_order: ReplaceOrder,
    /// Attributes a `${kind.name.attr}` interpolation may read.
    pub exports: &'static [&'static str],
    /// Exports an in-place update changes (a launch template's version):
    /// unknown to a plan that updates the resource.
    pub updated_exports: &'static [&'static str],
    /// Attributes AWS chooses when the stack leaves them out; compared only when set.
    pub compared_only_when_set: &'static [&'static str],
    /// Map attributes compared on the keys the stack sets only: AWS reports
    /// many more (load balancer attributes) than a stack cares to pin.
    pub partial_maps: &'static [&'static str],
    /// What a change of an attribute does to a running resource, where AWS documents it.
    pub notes: &'static [(&'static str, &'static str)],
    /// How a live id of this kind looks, as a stack file may name one.
    pub live_id: LiveId,
    /// The attribute that holds this kind's forward action, which a
    /// `[blue_green]` block may own: a listener's `default_action`, a rule's `action`.
    pub forward: Option<&'static str>,
}

/// The form of a kind's live ids.
pub enum LiveId {
    /// A prefix then hex digits: `vpc-0a1b…`.
    Hex(&'static str),
    /// An ELBv2 ARN whose resource part contains this.
    ElbArn(&'static str),
    /// A Route53 hosted zone id: capital letters and digits (`Z…` on AWS).
    HostedZone,
    /// A certificate ARN: ACM's, or an IAM server certificate's (a load
    /// balancer takes either).
    Certificate,
    /// Named by the stack; nothing outside it is referenced by id.
    None,
}

impl LiveId {
    pub fn matches(&self, s: &str) -> bool {
        match self {
            LiveId::Hex(prefix) => s
                .strip_prefix(prefix)
                .is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())),
            LiveId::ElbArn(resource) => {
                s.starts_with("arn:aws")
                    && s.contains(":elasticloadbalancing:")
                    && s.contains(resource)
            }
            // `Z` and more on AWS; AWS documents no form (moto's do not
            // start with `Z`): capitals and digits.
            LiveId::HostedZone => {
                (5..=32).contains(&s.len())
                    && s.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            }
            LiveId::Certificate => {
                s.starts_with("arn:aws")
                    && ((s.contains(":acm:") && s.contains(":certificate/"))
                        || (s.contains(":iam::") && s.contains(":server-certificate/")))
            }
            LiveId::None => false,
        }
    }
}

impl Kind {
    pub fn schema(self) -> &'static Schema {
        match self {
            Kind::Vpc => &network::VPC,
            Kind::Subnet => &network::SUBNET,
            Kind::InternetGateway => &network::INTERNET_GATEWAY,
            Kind::NatGateway => &network::NAT_GATEWAY,
            Kind::RouteTable => &network::ROUTE_TABLE,
            Kind::SecurityGroup => &network::SECURITY_GROUP,
            Kind::LoadBalancer => &balancing::LOAD_BALANCER,
            Kind::TargetGroup => &balancing::TARGET_GROUP,
            Kind::Listener => &balancing::LISTENER,
            Kind::ListenerRule => &balancing::LISTENER_RULE,
            Kind::Instance => &compute::INSTANCE,
            Kind::DbSubnetGroup => &database::SUBNET_GROUP,
            Kind::DbParameterGroup => &database::PARAMETER_GROUP,
            Kind::DbInstance => &database::INSTANCE,
            Kind::Alarm => &alarm::ALARM,
            Kind::DnsZone => &dns::ZONE,
            Kind::DnsRecord => &dns::RECORD,
            Kind::AcmCertificate => &certificate::CERTIFICATE,
            Kind::IamRole => &iam::ROLE,
            Kind::InstanceProfile => &iam::INSTANCE_PROFILE,
            Kind::LaunchTemplate => &compute::LAUNCH_TEMPLATE,
            Kind::AutoscalingGroup => &compute::AUTOSCALING_GROUP,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_names_only_attributes_of_its_kind() {
        for &kind in Kind::ALL {
            let s = kind.schema();
            // The name a stack file uses is the one the plan's JSON gives the kind.
            assert_eq!(serde_json::json!(s.name), serde_json::json!(kind));
            for (what, names) in [
                ("forces_replacement", s.forces_replacement),
                ("binds", s.binds),
                ("compared_only_when_set", s.compared_only_when_set),
                ("partial_maps", s.partial_maps),
            ] {
                for n in names {
                    assert!(s.attributes.contains(n), "{kind}: {what} names {n}");
                }
            }
            for (n, _) in s.notes {
                assert!(s.attributes.contains(n), "{kind}: a note on {n}");
            }
            // Every kind has protection, and tags but for DNS records (a marker owns them).
            assert!(s.attributes.contains(&"protect"), "{kind}");
            assert_eq!(
                s.attributes.contains(&"tags"),
                kind != Kind::DnsRecord,
                "{kind}"
            );
        }
    }
}
