//! Listeners: how discovery reads one, create, update, delete.

use super::*;
use aws_sdk_elasticloadbalancingv2::types::Listener;

/// A listener the stack owns, as reconcile compares it.
pub(super) fn observe(region: &str, l: &Listener, tags: &Tags) -> Option<Observed> {
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
        attrs.push(("certificate", Value::str(cert)));
    }
    owned_elb(
        region,
        Kind::Listener,
        &tags[arn],
        arn,
        attrs,
        BTreeMap::new(),
    )
}

fn certificates(attrs: &Attrs) -> Option<Vec<Certificate>> {
    attrs
        .get("certificate")
        .and_then(Value::as_str)
        .map(|arn| vec![Certificate::builder().certificate_arn(arn).build()])
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
        if ["port", "protocol", "certificate", "default_action"]
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
                    .default_actions(action(
                        attrs.get("default_action").unwrap_or(&Value::Unknown)
                    ))
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
