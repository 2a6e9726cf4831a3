//! A certificate's life: requested (once: an idempotency token), its DNS
//! validation records written in its zone, issued; retagged; deleted.

use super::*;
use crate::aws::{text, Created, ErrorClass, Mutator};
use crate::model::{Address, Attrs, Changed};
use aws_sdk_acm::types::{DomainValidation, Tag, ValidationMethod};
use aws_sdk_route53::types::{Change, ChangeAction, ResourceRecord, ResourceRecordSet, RrType};
use std::time::{Duration, Instant};

/// A validation record, as ACM asks for it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Record {
    name: String,
    value: String,
}

impl std::fmt::Display for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} CNAME {}", self.name, self.value)
    }
}

fn records(options: &[DomainValidation]) -> Vec<Record> {
    let mut records: Vec<Record> = options
        .iter()
        .filter_map(|o| o.resource_record())
        .map(|r| Record {
            name: r.name().to_string(),
            value: r.value().to_string(),
        })
        .collect();
    // A wildcard and its apex share one record.
    records.sort();
    records.dedup();
    records
}

impl Mutator {
    pub(in crate::aws) async fn certificate_create(
        &self,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<Created, AwsError> {
        let domain = text(attrs, "domain").unwrap_or_default();
        let others: Vec<String> = attrs
            .get("alternative_names")
            .map(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let tags = self
            .tag_pairs(address, attrs)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                AwsError::new(
                    "RequestCertificate",
                    ErrorClass::Invalid,
                    "Tag",
                    e.to_string(),
                )
            })?;
        // The token makes the SDK's retries safe: ACM answers a repeated
        // request (within an hour) with the certificate it already made.
        let out = send!(
            "RequestCertificate",
            self.acm
                .request_certificate()
                .domain_name(domain)
                .set_subject_alternative_names((!others.is_empty()).then_some(others))
                .validation_method(ValidationMethod::Dns)
                .idempotency_token(self.client_token(address))
                .set_tags(Some(tags))
        )?;
        let arn = out.certificate_arn().unwrap_or_default().to_string();
        self.issue(address, &arn, text(attrs, "validation_zone"))
            .await?;
        Ok(Created {
            exports: BTreeMap::from([("arn".to_string(), arn.clone())]),
            live_id: arn,
        })
    }

    pub(in crate::aws) async fn certificate_update(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let arn = observed.live_id.as_str();
        let zone = text(attrs, "validation_zone");
        if changed.contains("validation_zone") || changed.contains("status") {
            self.issue(&observed.address, arn, zone).await?;
        }
        self.retag(observed, attrs, changed).await?;
        if changed.contains("validation_zone") {
            match zone {
                Some(zone) => {
                    self.certificate_write_tags(
                        arn,
                        vec![(VALIDATION_ZONE.to_string(), zone.to_string())],
                        vec![],
                    )
                    .await?
                }
                None => {
                    self.certificate_write_tags(arn, vec![], vec![VALIDATION_ZONE.to_string()])
                        .await?
                }
            }
        }
        Ok(())
    }

    pub(in crate::aws) async fn certificate_write_tags(
        &self,
        arn: &str,
        set: Vec<(String, String)>,
        stale: Vec<String>,
    ) -> Result<(), AwsError> {
        let tag = |k: String, v: Option<String>| {
            Tag::builder().key(k).set_value(v).build().map_err(|e| {
                AwsError::new(
                    "AddTagsToCertificate",
                    ErrorClass::Invalid,
                    "Tag",
                    e.to_string(),
                )
            })
        };
        if !set.is_empty() {
            let tags = set
                .into_iter()
                .map(|(k, v)| tag(k, Some(v)))
                .collect::<Result<Vec<_>, _>>()?;
            send!(
                "AddTagsToCertificate",
                self.acm
                    .add_tags_to_certificate()
                    .certificate_arn(arn)
                    .set_tags(Some(tags))
            )?;
        }
        if !stale.is_empty() {
            let tags = stale
                .into_iter()
                .map(|k| tag(k, None))
                .collect::<Result<Vec<_>, _>>()?;
            send!(
                "RemoveTagsFromCertificate",
                self.acm
                    .remove_tags_from_certificate()
                    .certificate_arn(arn)
                    .set_tags(Some(tags))
            )?;
        }
        Ok(())
    }

    /// Deletes the certificate and leaves its validation records: ACM gives
    /// every certificate of a name in the account the same record, so a
    /// replacement, or the certificate of another region, validates (and
    /// renews) through it. They go with their zone (`zone_delete`).
    pub(in crate::aws) async fn certificate_delete(
        &self,
        observed: &Observed,
    ) -> Result<(), AwsError> {
        send!(
            "DeleteCertificate",
            self.acm
                .delete_certificate()
                .certificate_arn(&observed.live_id)
        )
        .map(drop)
    }

    /// Writes the certificate's validation records in `zone` (or says which
    /// to write, without one) and waits until ACM issues it.
    async fn issue(
        &self,
        address: &Address,
        arn: &str,
        zone: Option<&str>,
    ) -> Result<(), AwsError> {
        use tracing::Instrument;
        self.wait_issued(address, arn, zone)
            .instrument(crate::model::profile::phase("wait certificate issued"))
            .await
    }

    async fn wait_issued(
        &self,
        address: &Address,
        arn: &str,
        zone: Option<&str>,
    ) -> Result<(), AwsError> {
        let started = Instant::now();
        let mut delay = Duration::from_secs(1);
        let mut written: Vec<Record> = vec![];
        loop {
            let detail = describe(&self.acm, arn).await?;
            let status = detail
                .status()
                .map(|s| s.as_str())
                .unwrap_or("unknown")
                .to_string();
            let wanted = records(detail.domain_validation_options());
            // ACM names the records a few seconds after the request.
            let options = detail.domain_validation_options();
            let named =
                !options.is_empty() && options.iter().all(|o| o.resource_record().is_some());
            if status == "ISSUED" {
                return Ok(());
            }
            if status != "PENDING_VALIDATION" {
                return Err(AwsError::new(
                    "waiting for the certificate",
                    ErrorClass::Other,
                    status.clone(),
                    format!(
                        "{address} ({arn}) is {status}{}: it will not be issued; delete it \
                         (or change its names) to request a new one",
                        detail
                            .failure_reason()
                            .map(|r| format!(" ({})", r.as_str()))
                            .unwrap_or_default()
                    ),
                ));
            }
            if named && written != wanted {
                match zone {
                    Some(zone) => {
                        let changes = wanted
                            .iter()
                            .map(|r| record_change(ChangeAction::Upsert, r))
                            .collect();
                        self.change_records(zone, changes).await?;
                    }
                    None => self.progress(format!(
                        "{address} ({}): waiting for these DNS records, to be written where its names are served: {}",
                        self.region,
                        wanted.iter().map(Record::to_string).collect::<Vec<_>>().join("; ")
                    )),
                }
                written = wanted.clone();
            }
            if started.elapsed() > self.wait_limit {
                let records = match wanted.is_empty() {
                    true => "ACM named no validation records yet".to_string(),
                    false => format!(
                        "its validation records ({}) {}",
                        wanted
                            .iter()
                            .map(Record::to_string)
                            .collect::<Vec<_>>()
                            .join("; "),
                        match zone {
                            Some(z) => format!("are written in zone {z}"),
                            None => "must be written where its names are served".into(),
                        }
                    ),
                };
                return Err(AwsError::new(
                    "waiting for the certificate",
                    ErrorClass::Other,
                    "Timeout",
                    format!(
                        "{address} ({arn}) is still {status} after {}s: {records}; \
                         rerun apply to keep waiting (--wait-timeout)",
                        self.wait_limit.as_secs()
                    ),
                ));
            }
            self.progress.wait(
                format!(
                    "{address}: waiting to be issued, status {status} ({}s)",
                    started.elapsed().as_secs()
                ),
                started.elapsed(),
                Some(self.wait_limit),
            );
            tokio::time::sleep(delay.min(
                self.wait_limit.saturating_sub(started.elapsed()) + Duration::from_millis(100),
            ))
            .await;
            delay = (delay * 2).min(Duration::from_secs(15));
        }
    }
}

fn record_change(action: ChangeAction, record: &Record) -> Change {
    let set = ResourceRecordSet::builder()
        .name(&record.name)
        .r#type(RrType::Cname)
        .ttl(300)
        .resource_records(
            ResourceRecord::builder()
                .value(&record.value)
                .build()
                .expect("a value is set"),
        )
        .build()
        .expect("name and type are set");
    Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .expect("action and set are set")
}
