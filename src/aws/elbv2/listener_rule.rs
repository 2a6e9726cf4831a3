//! Listener rules: how discovery reads one, create, update, delete.

use super::*;
use aws_sdk_elasticloadbalancingv2::types::Rule;

/// A rule the stack owns (`tags` are its own), as reconcile compares it.
pub(super) fn observe(
    scope: Scope<'_>,
    region: &str,
    listener: &str,
    r: &Rule,
    tags: &BTreeMap<String, String>,
) -> Option<Observed> {
    let arn = r.rule_arn().unwrap_or_default();
    let priority = r
        .priority()
        .and_then(|p| p.parse().ok())
        .unwrap_or_default();
    owned_elb(
        scope,
        region,
        Kind::ListenerRule,
        tags,
        arn,
        [
            ("listener", Value::Id(listener.to_string())),
            ("priority", Value::Int(priority)),
            ("conditions", conditions_value(r.conditions())),
            ("action", action_value(r.actions())),
        ],
        BTreeMap::new(),
    )
}

/// A condition's values: from its typed config, or the older plain `Values`.
fn config_or_plain(config: Option<&[String]>, plain: &[String]) -> Vec<String> {
    match config {
        Some(values) if !values.is_empty() => values.to_vec(),
        _ => plain.to_vec(),
    }
}

pub(super) fn conditions_value(found: &[RuleCondition]) -> Value {
    let mut path = Vec::new();
    let mut host = Vec::new();
    let mut header = None;
    let (mut query, mut method, mut source_ip) = (Vec::new(), Vec::new(), Vec::new());
    for c in found {
        match c.field() {
            Some("path-pattern") => {
                let config = c.path_pattern_config().map(|p| p.values());
                path.extend(config_or_plain(config, c.values()));
            }
            Some("host-header") => {
                let config = c.host_header_config().map(|h| h.values());
                host.extend(config_or_plain(config, c.values()));
            }
            Some("http-header") => {
                header = c.http_header_config().map(|h| {
                    (
                        h.http_header_name().unwrap_or_default().to_string(),
                        h.values().to_vec(),
                    )
                });
            }
            Some("query-string") => {
                let pairs = c
                    .query_string_config()
                    .map(|q| q.values())
                    .unwrap_or_default();
                query.extend(pairs.iter().map(|p| {
                    (
                        p.key().map(str::to_string),
                        p.value().unwrap_or_default().to_string(),
                    )
                }));
            }
            Some("http-request-method") => {
                let config = c.http_request_method_config().map(|m| m.values());
                method.extend(config_or_plain(config, c.values()));
            }
            Some("source-ip") => {
                let config = c.source_ip_config().map(|s| s.values());
                source_ip.extend(config_or_plain(config, c.values()));
            }
            _ => {}
        }
    }
    Conditions {
        path,
        host,
        header,
        query,
        method,
        source_ip,
    }
    .to_value()
}

pub(super) fn rule_conditions(value: &Value) -> Vec<RuleCondition> {
    let c = Conditions::parse(value);
    let mut out = Vec::new();
    if value.as_map().is_some_and(|m| m.contains_key("path")) {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(c.path))
                        .build(),
                )
                .build(),
        );
    }
    if value.as_map().is_some_and(|m| m.contains_key("host")) {
        out.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .set_values(Some(c.host))
                        .build(),
                )
                .build(),
        );
    }
    if !c.query.is_empty() {
        let pairs = c
            .query
            .into_iter()
            .map(|(key, value)| {
                QueryStringKeyValuePair::builder()
                    .set_key(key)
                    .value(value)
                    .build()
            })
            .collect();
        out.push(
            RuleCondition::builder()
                .field("query-string")
                .query_string_config(
                    QueryStringConditionConfig::builder()
                        .set_values(Some(pairs))
                        .build(),
                )
                .build(),
        );
    }
    if !c.method.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("http-request-method")
                .http_request_method_config(
                    HttpRequestMethodConditionConfig::builder()
                        .set_values(Some(c.method))
                        .build(),
                )
                .build(),
        );
    }
    if !c.source_ip.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("source-ip")
                .source_ip_config(
                    SourceIpConditionConfig::builder()
                        .set_values(Some(c.source_ip))
                        .build(),
                )
                .build(),
        );
    }
    if let Some((name, values)) = c.header {
        out.push(
            RuleCondition::builder()
                .field("http-header")
                .http_header_config(
                    HttpHeaderConditionConfig::builder()
                        .http_header_name(name)
                        .set_values(Some(values))
                        .build(),
                )
                .build(),
        );
    }
    out
}

impl Mutator {
    pub(super) async fn create_listener_rule(
        &self,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<(String, Vec<(&'static str, String)>), AwsError> {
        let c = &self.elb;
        let tags = Some(elb_tags(self.tag_pairs(address, attrs)));
        let out = send_once!(
            aws_sdk_elasticloadbalancingv2,
            "CreateRule",
            c.create_rule()
                .listener_arn(required(attrs, "listener")?)
                .set_priority(int(attrs, "priority"))
                .set_conditions(Some(rule_conditions(
                    attrs.get("conditions").unwrap_or(&Value::Unknown)
                )))
                .actions(action(attrs.get("action").unwrap_or(&Value::Unknown)))
                .set_tags(tags)
        )?;
        let arn = out
            .rules()
            .first()
            .and_then(|r| r.rule_arn())
            .unwrap_or_default();
        Ok((arn.to_string(), vec![]))
    }

    pub(super) async fn update_listener_rule(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let c = &self.elb;
        let arn = observed.live_id.as_str();
        let differs = |key: &str| changed.contains(key);
        if differs("priority") {
            let pair = RulePriorityPair::builder()
                .rule_arn(arn)
                .set_priority(int(attrs, "priority"))
                .build();
            send!(
                "SetRulePriorities",
                c.set_rule_priorities().rule_priorities(pair)
            )?;
        }
        if differs("conditions") || differs("action") {
            send!(
                "ModifyRule",
                c.modify_rule()
                    .rule_arn(arn)
                    .set_conditions(Some(rule_conditions(
                        attrs.get("conditions").unwrap_or(&Value::Unknown)
                    )))
                    .actions(action(attrs.get("action").unwrap_or(&Value::Unknown)))
            )?;
        }
        Ok(())
    }

    pub(super) async fn delete_listener_rule(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.elb;
        let arn = observed.live_id.as_str();
        send!("DeleteRule", c.delete_rule().rule_arn(arn)).map(drop)
    }
}
