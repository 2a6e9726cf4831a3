//! What reconcile knows of each kind, one `Schema` per kind, gathered by
//! family (`network`, `balancing`, `certificate`, `compute`, `database`, `alarm`,
//! `dns`, `iam`):
//! its attributes, which of them AWS cannot change in place, which bind it
//! to what they reference, how it is replaced, what it exports, what a change
//! costs, how its live ids look, its service, import id, tag budget, Terraform
//! types, IAM actions and the actions that destroy its data. The registry
//! (`model::kinds`) places every kind; the `Kind` methods read these tables.

pub(super) mod alarm;
pub(super) mod balancing;
pub(super) mod certificate;
pub(super) mod compute;
pub(super) mod database;
pub(super) mod dns;
pub(super) mod iam;
pub(super) mod network;

use super::{ReplaceOrder, Service};

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
    /// The AWS service that holds it.
    pub service: Service,
    /// Whether a block may take over a live one (`import = "ID"`), and the id's form.
    pub import: Import,
    /// How many tags reconcile writes on it, and how many AWS allows in all.
    pub tags: TagBudget,
    /// The Terraform resource types `import --tfstate` maps to it, and the
    /// state attribute that holds the import id.
    pub terraform: Option<Terraform>,
    /// The IAM actions reconcile's commands call on it: the deploy role's
    /// policy is written from them (`crate::iam_policy`, and the kinds
    /// reference lists them).
    pub iam: IamActions,
    /// The actions that destroy its data beyond recovery: what a guard
    /// policy denies on a protected one.
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "read by the reference and its test; the guard policy (issue 34) reads it next"
        )
    )]
    pub destroys: &'static [&'static str],
}

/// Whether a block may import a live resource, and how its id looks.
pub enum Import {
    /// Not yet: its blocks cannot import.
    No,
    /// By its live id (`Schema::live_id`): `vpc-…`, an ELBv2 ARN, a hosted zone id.
    ById,
    /// By a name of 1 to `max` letters, digits or `extra` (RDS groups).
    ByName { max: usize, extra: &'static str },
    /// By a DB instance identifier.
    DbIdentifier,
    /// By an alarm's name.
    AlarmName,
    /// By `NAME TYPE`, as Terraform names a record.
    RecordNameType,
}

/// The tags on a resource of the kind: reconcile's own (`own`, at most) and
/// AWS's limit (`limit`); a stack's and a block's tags must fit between.
pub struct TagBudget {
    pub own: usize,
    pub limit: usize,
}

impl TagBudget {
    /// What most kinds carry: reconcile's common tags and the change record,
    /// `extra` of their own, within the 50 most services allow.
    pub const fn standard(extra: usize) -> TagBudget {
        TagBudget {
            own: COMMON_TAGS + RECORD_TAGS + extra,
            limit: TAG_LIMIT,
        }
    }
}

/// Tags reconcile writes on every kind: stack, id, protect, version.
pub const COMMON_TAGS: usize = 4;
/// The change record: time, operator, ticket.
pub const RECORD_TAGS: usize = 3;
/// 50 user-defined tags per resource: EC2, ELBv2 (AddTags), RDS, CloudWatch,
/// ACM (AddTagsToCertificate), IAM, Auto Scaling (each service's tagging
/// documentation).
pub const TAG_LIMIT: usize = 50;

/// How `import --tfstate` reads a Terraform resource as a block of the kind.
pub struct Terraform {
    /// Resource types (`aws_lb` and its old name `aws_alb`).
    pub types: &'static [&'static str],
    /// What the block imports: a state attribute, or a record's `NAME TYPE`.
    pub id: TerraformId,
}

pub enum TerraformId {
    /// The value of this attribute of the state (`id`, `arn`, `name`).
    Attribute(&'static str),
    /// `NAME TYPE` from the record's `name` and `type`.
    RecordNameType,
}

/// IAM actions (`service:Action`) by what a command does with the kind.
pub struct IamActions {
    /// Discovery and the reads of plan, verify and status.
    pub read: &'static [&'static str],
    pub create: &'static [&'static str],
    pub update: &'static [&'static str],
    pub delete: &'static [&'static str],
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

#[cfg(test)]
mod tests {

    use crate::model::Kind;

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
