//! ACM certificates: requested with DNS validation, replaced create-first
//! (the new one is issued and the listeners moved to it before the old goes).

use super::{IamActions, Import, LiveId, Schema, TagBudget};
use crate::model::{ReplaceOrder, Service};

pub const CERTIFICATE: Schema = Schema {
    name: "acm_certificate",
    attributes: &[
        "domain",
        "alternative_names",
        "validation_zone",
        "status",
        "tags",
        "protect",
    ],
    // AWS cannot change the names of a certificate.
    forces_replacement: &["domain", "alternative_names"],
    binds: &[],
    replace_order: ReplaceOrder::CreateFirst,
    exports: &["id", "arn"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[(
        "status",
        "the DNS validation records are written again and apply waits until AWS issues it",
    )],
    live_id: LiveId::Certificate,
    forward: None,
    service: Service::Acm,
    import: Import::No,
    tags: TagBudget::standard(1),
    terraform: None,
    iam: IamActions {
        read: &[
            "acm:ListCertificates",
            "acm:DescribeCertificate",
            "acm:ListTagsForCertificate",
            "tag:GetResources",
        ],
        create: &[
            "acm:RequestCertificate",
            "acm:AddTagsToCertificate",
            "acm:DescribeCertificate",
            "route53:ChangeResourceRecordSets",
        ],
        update: &["acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate"],
        delete: &["acm:DeleteCertificate"],
    },
    destroys: &[],
};
