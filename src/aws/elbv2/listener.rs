//! Listeners: how discovery reads one, create, update, delete. An HTTPS
//! listener's default certificate is part of the listener; the others (SNI)
//! are a list of their own, read and changed with calls of their own.

use super::*;
use aws_sdk_elasticloadbalancingv2::types::Listener;

/// A listener the stack owns, as reconcile compares it. `extra` are the
/// certificates beside the default one (an HTTPS listener's).
pub(super) fn observe(
    scope: Scope<'_>,
    region: &str,
    l: &Listener,
    extra: Option<&Vec<String>>,
    tags: &Tags,
) -> Option<Observed> {
    let arn = l.listener_arn().unwrap_or_default();
    let mut attrs = vec![
        (
            "load_balancer",
            Value::Id(l.load_balancer_arn().unwrap_or_default().into()),
        ),
        ("port", Value::Int(i64::from(l.port().unwrap_or_default()))),
        (
            "protocol",
            Value::str(l.protocol().map(|p| p.as_str()).unwrap_or_default()),
        ),
        ("default_action", action_value(l.default_actions())),
    ];
    if let Some(cert) = l.certificates().first().and_then(|c| c.certificate_arn()) {
        attrs.push(("certificate", Value::Id(cert.into())));
    }
    if let Some(extra) = extra {
        attrs.push((
            "certificates",
            Value::set(extra.iter().map(|arn| Value::Id(arn.clone()))),
        ));
    }
    if let Some(policy) = l.ssl_policy() {
        attrs.push(("ssl_policy", Value::str(policy)));
    }
    owned_elb(
        scope,
        region,
        Kind::Listener,
        &tags[arn],
        arn,
        attrs,
        BTreeMap::new(),
    )
}

/// The certificates of an HTTPS listener beside its default one (`None` for
/// another protocol: nothing is asked).
pub(super) async fn extra_certificates(
    client: &Client,
    l: &Listener,
) -> Result<Option<Vec<String>>, AwsError> {
    if l.protocol() != Some(&ProtocolEnum::Https) {
        return Ok(None);
    }
    // Not paginated by the SDK: Marker by hand.
    let mut extra = Vec::new();
    let mut marker = None;
    loop {
        let page = send!(
            "DescribeListenerCertificates",
            client
                .describe_listener_certificates()
                .listener_arn(l.listener_arn().unwrap_or_default())
                .set_marker(marker.take())
                .page_size(PAGE)
        )?;
        extra.extend(
            page.certificates()
                .iter()
                .filter(|c| c.is_default() != Some(true))
                .filter_map(|c| c.certificate_arn().map(str::to_string)),
        );
        match page.next_marker() {
            Some(next) if !next.is_empty() => marker = Some(next.to_string()),
            _ => return Ok(Some(extra)),
        }
    }
}

fn certificates(attrs: &Attrs) -> Option<Vec<Certificate>> {
    attrs
        .get("certificate")
        .and_then(Value::as_str)
        .map(|arn| vec![Certificate::builder().certificate_arn(arn).build()])
}

fn as_certificates(arns: &[String]) -> Vec<Certificate> {
    arns.iter()
        .map(|arn| Certificate::builder().certificate_arn(arn).build())
        .collect()
}

impl Mutator {
    pub(super) async fn create_listener(
        &self,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<(String, Vec<(&'static str, String)>), AwsError> {
        let c = &self.elb;
        let tags = Some(elb_tags(self.tag_pairs(address, attrs)));
        let out = send_once!(
            aws_sdk_elasticloadbalancingv2,
            "CreateListener",
            c.create_listener()
                .load_balancer_arn(required(attrs, "load_balancer")?)
                .set_port(int(attrs, "port"))
                .protocol(ProtocolEnum::from(required(attrs, "protocol")?))
                .set_certificates(certificates(attrs))
                .set_ssl_policy(text(attrs, "ssl_policy").map(str::to_string))
                .default_actions(action(
                    attrs.get("default_action").unwrap_or(&Value::Unknown)
                ))
                .set_tags(tags)
        )?;
        let arn = out
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .unwrap_or_default();
        self.change_extra_certificates(arn, &ids(attrs, "certificates"), &[])
            .await?;
        Ok((arn.to_string(), vec![]))
    }

    pub(super) async fn update_listener(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let c = &self.elb;
        let arn = observed.live_id.as_str();
        let differs = |key: &str| changed.contains(key);
        // New extra certificates first, old ones last: a name served by a
        // certificate moving between the default and the list stays served.
        if differs("certificates") {
            let have = ids(&observed.attrs, "certificates");
            let add: Vec<String> = ids(attrs, "certificates")
                .into_iter()
                .filter(|a| !have.contains(a))
                .collect();
            self.change_extra_certificates(arn, &add, &[]).await?;
        }
        if [
            "port",
            "protocol",
            "certificate",
            "ssl_policy",
            "default_action",
        ]
        .iter()
        .any(|k| differs(k))
        {
            send!(
                "ModifyListener",
                c.modify_listener()
                    .listener_arn(arn)
                    .set_port(int(attrs, "port"))
                    .protocol(ProtocolEnum::from(required(attrs, "protocol")?))
                    .set_certificates(certificates(attrs))
                    .set_ssl_policy(text(attrs, "ssl_policy").map(str::to_string))
                    .default_actions(action(
                        attrs.get("default_action").unwrap_or(&Value::Unknown)
                    ))
            )?;
        }
        if differs("certificates") {
            let want = ids(attrs, "certificates");
            let remove: Vec<String> = ids(&observed.attrs, "certificates")
                .into_iter()
                .filter(|r| !want.contains(r))
                .collect();
            self.change_extra_certificates(arn, &[], &remove).await?;
        }
        Ok(())
    }

    /// Adds and removes certificates of a listener's SNI list.
    async fn change_extra_certificates(
        &self,
        arn: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), AwsError> {
        let c = &self.elb;
        if !add.is_empty() {
            send!(
                "AddListenerCertificates",
                c.add_listener_certificates()
                    .listener_arn(arn)
                    .set_certificates(Some(as_certificates(add)))
            )?;
        }
        if !remove.is_empty() {
            send!(
                "RemoveListenerCertificates",
                c.remove_listener_certificates()
                    .listener_arn(arn)
                    .set_certificates(Some(as_certificates(remove)))
            )?;
        }
        Ok(())
    }

    pub(super) async fn delete_listener(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.elb;
        let arn = observed.live_id.as_str();
        send!("DeleteListener", c.delete_listener().listener_arn(arn)).map(drop)
    }
}
