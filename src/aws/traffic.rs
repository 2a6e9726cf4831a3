//! The one write the deployment half makes outside apply: a listener's or
//! rule's forward weights, read back, and the change record tagged on it.

use super::cloud::TrafficSwitch;
use super::{elbv2, Aws, AwsError, ErrorClass};
use crate::model::shapes::{Action, Target};
use crate::model::tags::{cutover, decode, is_encoded};
use crate::model::Service;
use aws_sdk_elasticloadbalancingv2::types::Tag;
use std::collections::BTreeMap;

fn is_listener(arn: &str) -> bool {
    arn.contains(":listener/")
}

impl Aws {
    /// The forward of a listener (its default action) or rule, its
    /// stickiness with it: `None` when it does something else than forward.
    async fn live_forward(&self, region: &str, arn: &str) -> Result<Option<Action>, AwsError> {
        let client = self.elbv2(region);
        let at = |e: AwsError| e.at(region, &self.endpoint(Service::Elbv2, region));
        let actions = if is_listener(arn) {
            let out = send!(
                "DescribeListeners",
                client.describe_listeners().listener_arns(arn)
            )
            .map_err(at)?;
            out.listeners()
                .first()
                .map(|l| l.default_actions().to_vec())
        } else {
            let out = send!("DescribeRules", client.describe_rules().rule_arns(arn)).map_err(at)?;
            out.rules().first().map(|r| r.actions().to_vec())
        };
        let actions = actions.ok_or_else(|| {
            AwsError::new(
                "DescribeRules",
                ErrorClass::NotFound,
                "NotFound",
                format!("{arn} does not exist"),
            )
        })?;
        Ok(Action::parse(&elbv2::action_value(&actions))
            .filter(|a| matches!(a, Action::Forward { .. })))
    }
}

impl TrafficSwitch for Aws {
    /// The forward of a listener (its default action) or rule: `None` when it
    /// does something else than forward.
    async fn forward(&self, region: &str, arn: &str) -> Result<Option<Vec<Target>>, AwsError> {
        Ok(match self.live_forward(region, arn).await? {
            Some(Action::Forward { targets, .. }) => Some(targets),
            _ => None,
        })
    }

    /// Sets the forward of a listener or rule to `targets` (live ARNs and
    /// weights), keeping its stickiness (a read first: ModifyRule and
    /// ModifyListener replace the whole action), then one ModifyListener or
    /// ModifyRule.
    async fn set_forward(
        &self,
        region: &str,
        arn: &str,
        targets: &[Target],
    ) -> Result<(), AwsError> {
        let stickiness = match self.live_forward(region, arn).await? {
            Some(Action::Forward { stickiness, .. }) => stickiness,
            _ => None,
        };
        let client = self.elbv2(region);
        let forward = Action::Forward {
            targets: targets.to_vec(),
            stickiness,
        };
        let action = elbv2::action(&forward.to_value());
        let sent = if is_listener(arn) {
            send!(
                "ModifyListener",
                client
                    .modify_listener()
                    .listener_arn(arn)
                    .default_actions(action)
            )
            .map(drop)
        } else {
            send!(
                "ModifyRule",
                client.modify_rule().rule_arn(arn).actions(action)
            )
            .map(drop)
        };
        sent.map_err(|e| e.at(region, &self.endpoint(Service::Elbv2, region)))
    }

    /// Writes `tags` on a listener or rule (the change record).
    async fn record(
        &self,
        region: &str,
        arn: &str,
        record: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let tags = super::mutator::encoded(record)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let at = |e: AwsError| e.at(region, &self.endpoint(Service::Elbv2, region));
        send!(
            "AddTags",
            self.elbv2(region)
                .add_tags()
                .resource_arns(arn)
                .set_tags(Some(tags))
        )
        .map_err(at)?;
        // Written whole: what this record does not set (a ticket) is gone.
        let unset: Vec<String> = cutover::ALL
            .iter()
            .filter(|k| !record.contains_key(**k))
            .map(|k| k.to_string())
            .collect();
        if unset.is_empty() {
            return Ok(());
        }
        send!(
            "RemoveTags",
            self.elbv2(region)
                .remove_tags()
                .resource_arns(arn)
                .set_tag_keys(Some(unset))
        )
        .map(drop)
        .map_err(at)
    }

    /// The tags of a listener or rule.
    async fn recorded(
        &self,
        region: &str,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, AwsError> {
        let out = send!(
            "DescribeTags",
            self.elbv2(region).describe_tags().resource_arns(arn)
        )
        .map_err(|e| e.at(region, &self.endpoint(Service::Elbv2, region)))?;
        Ok(out
            .tag_descriptions()
            .iter()
            .flat_map(|d| d.tags())
            .filter_map(|t| {
                let (key, value) = (t.key()?, t.value().unwrap_or_default());
                let value = match is_encoded(key) {
                    true => decode(value),
                    false => value.to_string(),
                };
                Some((key.to_string(), value))
            })
            .collect())
    }
}
