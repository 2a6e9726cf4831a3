//! ACM: the certificates of HTTPS listeners, requested with DNS validation.
//!
//! Discovery asks the Resource Groups Tagging API for the stack's
//! certificates (one call a region, the same filter as every other search)
//! and, only when it found some, ListCertificates for their names and status
//! (one more). An emulator whose tagging API does not return certificates
//! (LocalStack) is asked certificate by certificate instead: only with a
//! custom endpoint when the tagging API returns no certificate of any
//! stack, never on AWS.

mod certificate;

use super::{observed, AwsError};
use crate::model::tags::VALIDATION_ZONE;
use crate::model::{Kind, Observed, Value, STACK_TAG};
use aws_sdk_acm::types::{CertificateDetail, CertificateStatus, CertificateSummary};
use aws_sdk_acm::Client;
use std::collections::BTreeMap;

type Tags = BTreeMap<String, String>;

/// Every status: ListCertificates leaves some out unless asked.
const STATUSES: [CertificateStatus; 7] = [
    CertificateStatus::PendingValidation,
    CertificateStatus::Issued,
    CertificateStatus::Inactive,
    CertificateStatus::Expired,
    CertificateStatus::ValidationTimedOut,
    CertificateStatus::Revoked,
    CertificateStatus::Failed,
];

/// How certificates' tags are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagSource {
    /// The Resource Groups Tagging API, filtered by the stack's tag: AWS.
    Tagging,
    /// The tagging API first, asked for every stack's certificates; when it
    /// returns none (an emulator's tagging API may not index ACM), every
    /// listed certificate's own tags.
    TaggingThenEach,
}

/// The certificates `stack` owns in `region`.
pub async fn discover(
    acm: &Client,
    tagging: &aws_sdk_resourcegroupstagging::Client,
    source: TagSource,
    stack: &str,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    use aws_sdk_resourcegroupstagging::types::TagFilter;
    // At an emulator, every stack's certificates: any answer shows that its
    // tagging API indexes ACM.
    let values = match source {
        TagSource::Tagging => Some(vec![stack.to_string()]),
        TagSource::TaggingThenEach => None,
    };
    let tagged: Vec<_> = all_pages!(
        "GetResources",
        tagging
            .get_resources()
            .tag_filters(
                TagFilter::builder()
                    .key(STACK_TAG)
                    .set_values(values)
                    .build()
            )
            .resource_type_filters("acm:certificate")
    )?;
    let indexed = !tagged.is_empty();
    let mut owned: BTreeMap<String, Tags> = tagged
        .iter()
        .map(|m| {
            let tags: Tags = m
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            (m.resource_arn().unwrap_or_default().to_string(), tags)
        })
        .filter(|(_, tags)| tags.get(STACK_TAG).map(String::as_str) == Some(stack))
        .collect();
    if owned.is_empty() && (indexed || source == TagSource::Tagging) {
        return Ok(vec![]);
    }
    let listed: Vec<CertificateSummary> = all_pages!(
        "ListCertificates",
        acm.list_certificates()
            .set_certificate_statuses(Some(STATUSES.to_vec()))
            .max_items(1000)
    )?;
    if !indexed {
        for summary in &listed {
            let arn = summary.certificate_arn().unwrap_or_default();
            let tags = tags_of(acm, arn).await?;
            if tags.get(STACK_TAG).map(String::as_str) == Some(stack) {
                owned.insert(arn.to_string(), tags);
            }
        }
    }
    let mut found = Vec::new();
    for summary in listed {
        let arn = summary.certificate_arn().unwrap_or_default().to_string();
        let Some(tags) = owned.get(&arn) else {
            continue;
        };
        // AWS's summary names the certificate's first 100 names, the domain
        // among them; one without names (moto's) or with more is described.
        let names: Vec<String> = summary
            .subject_alternative_name_summaries()
            .iter()
            .map(|n| n.to_lowercase())
            .collect();
        let (domain, names, status) = if names.is_empty()
            || summary.has_additional_subject_alternative_names() == Some(true)
        {
            let detail = describe(acm, &arn).await?;
            names_of(&detail)
        } else {
            (
                summary.domain_name().unwrap_or_default().to_lowercase(),
                names,
                summary
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
        };
        found.extend(observe(region, &arn, tags, domain, names, status));
    }
    Ok(found)
}

/// A certificate as reconcile compares it.
fn observe(
    region: &str,
    arn: &str,
    tags: &Tags,
    domain: String,
    names: Vec<String>,
    status: String,
) -> Option<Observed> {
    let others = Value::set(names.into_iter().filter(|n| *n != domain).map(Value::Str));
    let mut attrs = vec![
        ("domain", Value::Str(domain)),
        ("alternative_names", others),
        ("status", Value::Str(status)),
    ];
    if let Some(zone) = tags.get(VALIDATION_ZONE) {
        attrs.push(("validation_zone", Value::Id(zone.clone())));
    }
    let exports = BTreeMap::from([("arn".to_string(), arn.to_string())]);
    observed(region, Kind::AcmCertificate, tags, arn, attrs, exports)
}

/// The domain, every name (the domain among them) and the status of a described certificate.
fn names_of(detail: &CertificateDetail) -> (String, Vec<String>, String) {
    (
        detail.domain_name().unwrap_or_default().to_lowercase(),
        detail
            .subject_alternative_names()
            .iter()
            .map(|n| n.to_lowercase())
            .collect(),
        detail
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
    )
}

async fn describe(acm: &Client, arn: &str) -> Result<CertificateDetail, AwsError> {
    let out = send!(
        "DescribeCertificate",
        acm.describe_certificate().certificate_arn(arn)
    )?;
    Ok(out
        .certificate()
        .cloned()
        .unwrap_or_else(|| CertificateDetail::builder().certificate_arn(arn).build()))
}

async fn tags_of(acm: &Client, arn: &str) -> Result<Tags, AwsError> {
    let out = send!(
        "ListTagsForCertificate",
        acm.list_tags_for_certificate().certificate_arn(arn)
    )?;
    Ok(out
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect())
}
