//! Application load balancing: load balancers, target groups, listeners, rules.
//!
//! ELBv2 has no tag filter on its Describe calls, so discovery lists load
//! balancers and target groups (paginated) and reads their tags 20 ARNs a call;
//! listeners and rules can only be listed per load balancer and per listener.

use super::{ids, int, observed, required, retry_while, AwsError, Code, Created, Mutator};
use crate::model::shapes::{self, Conditions, HealthCheck, Redirect, Target, IDLE_TIMEOUT};
use crate::model::{arn_suffix, Address, Attrs, Changed, Kind, Observed, Value, STACK_TAG};
use aws_sdk_elasticloadbalancingv2::client::Waiters;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, ForwardActionConfig,
    HostHeaderConditionConfig, HttpHeaderConditionConfig, LoadBalancerAttribute,
    LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Matcher, PathPatternConditionConfig,
    ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum, RuleCondition,
    RulePriorityPair, Tag, TargetDescription, TargetGroupTuple, TargetTypeEnum,
};
use aws_sdk_elasticloadbalancingv2::Client;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};

/// Sets a target group request's health check from the `health_check`
/// attribute: CreateTargetGroup and ModifyTargetGroup take the same fields.
macro_rules! health_check {
    ($request:expr, $attrs:expr) => {{
        let check = HealthCheck::parse($attrs.get("health_check").unwrap_or(&Value::Unknown));
        let number = |n: i64| i32::try_from(n).ok();
        $request
            .health_check_path(check.path)
            .health_check_protocol(ProtocolEnum::from(check.protocol.as_str()))
            .health_check_port(check.port)
            .set_health_check_interval_seconds(number(check.interval))
            .set_health_check_timeout_seconds(number(check.timeout))
            .set_healthy_threshold_count(number(check.healthy_threshold))
            .set_unhealthy_threshold_count(number(check.unhealthy_threshold))
            .matcher(Matcher::builder().http_code(check.matcher).build())
    }};
}

/// The kinds ELBv2 carries (`super::place`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ElbKind {
    LoadBalancer,
    TargetGroup,
    Listener,
    ListenerRule,
}

/// DescribeTags takes at most 20 ARNs.
const TAG_BATCH: usize = 20;

type Tags = HashMap<String, BTreeMap<String, String>>;

/// Tags of `arns`, 20 a call, all calls at once.
async fn tags_of(client: &Client, arns: &[String]) -> Result<Tags, AwsError> {
    let calls = arns.chunks(TAG_BATCH).map(|batch| async move {
        let out = send!(
            "DescribeTags",
            client
                .describe_tags()
                .set_resource_arns(Some(batch.to_vec()))
        )?;
        Ok::<_, AwsError>(
            out.tag_descriptions()
                .iter()
                .map(|d| {
                    let tags = d
                        .tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                        .collect();
                    (d.resource_arn().unwrap_or_default().to_string(), tags)
                })
                .collect::<Vec<_>>(),
        )
    });
    Ok(futures::future::try_join_all(calls)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

fn owned<'a>(tags: &'a Tags, arn: &str, stack: &str) -> Option<&'a BTreeMap<String, String>> {
    tags.get(arn)
        .filter(|t| t.get(STACK_TAG).map(String::as_str) == Some(stack))
}

/// `observed`, exporting the ARN as `arn` too.
fn owned_elb(
    region: &str,
    kind: Kind,
    tags: &BTreeMap<String, String>,
    arn: &str,
    attrs: impl IntoIterator<Item = (&'static str, Value)>,
    mut exports: BTreeMap<String, String>,
) -> Option<Observed> {
    exports.insert("arn".into(), arn.to_string());
    observed(region, kind, tags, arn, attrs, exports)
}

/// What a stack owns in a region, and which targets its target groups hold
/// (instance id → target group ARNs), for the instances' `target_groups`.
pub async fn discover(
    client: &Client,
    stack: &str,
    region: &str,
) -> Result<(Vec<Observed>, HashMap<String, Vec<String>>), AwsError> {
    let (balancers, groups) = tokio::try_join!(
        async { all_pages!("DescribeLoadBalancers", client.describe_load_balancers()) },
        async { all_pages!("DescribeTargetGroups", client.describe_target_groups()) },
    )?;
    let arns: Vec<String> = balancers
        .iter()
        .filter_map(|b| b.load_balancer_arn())
        .chain(groups.iter().filter_map(|g| g.target_group_arn()))
        .map(str::to_string)
        .collect();
    let tags = tags_of(client, &arns).await?;
    let balancers: Vec<_> = balancers
        .into_iter()
        .filter(|b| owned(&tags, b.load_balancer_arn().unwrap_or_default(), stack).is_some())
        .collect();
    let groups: Vec<_> = groups
        .into_iter()
        .filter(|g| owned(&tags, g.target_group_arn().unwrap_or_default(), stack).is_some())
        .collect();

    let per_balancer = balancers.iter().map(|b| async move {
        let arn = b.load_balancer_arn().unwrap_or_default();
        tokio::try_join!(
            async {
                send!(
                    "DescribeLoadBalancerAttributes",
                    client
                        .describe_load_balancer_attributes()
                        .load_balancer_arn(arn)
                )
            },
            async {
                all_pages!(
                    "DescribeListeners",
                    client.describe_listeners().load_balancer_arn(arn)
                )
            },
        )
    });
    let per_group = groups.iter().map(|g| async move {
        let arn = g.target_group_arn().unwrap_or_default();
        send!(
            "DescribeTargetHealth",
            client.describe_target_health().target_group_arn(arn)
        )
        .map(|out| (arn.to_string(), out))
    });
    let (balancer_details, health) = tokio::try_join!(
        futures::future::try_join_all(per_balancer),
        futures::future::try_join_all(per_group),
    )?;
    let listeners: Vec<_> = balancer_details
        .iter()
        .flat_map(|(_, l)| l.iter().cloned())
        .collect();
    let listener_arns: Vec<String> = listeners
        .iter()
        .filter_map(|l| l.listener_arn().map(str::to_string))
        .collect();
    let listener_tags = tags_of(client, &listener_arns).await?;
    let listeners: Vec<_> = listeners
        .into_iter()
        .filter(|l| owned(&listener_tags, l.listener_arn().unwrap_or_default(), stack).is_some())
        .collect();
    let per_listener = listeners.iter().map(|l| async move {
        all_pages!(
            "DescribeRules",
            client
                .describe_rules()
                .listener_arn(l.listener_arn().unwrap_or_default())
        )
        .map(|rules: Vec<_>| (l.listener_arn().unwrap_or_default().to_string(), rules))
    });
    let rules: Vec<(String, Vec<_>)> = futures::future::try_join_all(per_listener).await?;
    let rule_arns: Vec<String> = rules
        .iter()
        .flat_map(|(_, rs)| rs.iter())
        .filter(|r| !r.is_default().unwrap_or(false))
        .filter_map(|r| r.rule_arn().map(str::to_string))
        .collect();
    let rule_tags = tags_of(client, &rule_arns).await?;

    let mut found = Vec::new();
    for (b, (attributes, _)) in balancers.iter().zip(&balancer_details) {
        let arn = b.load_balancer_arn().unwrap_or_default();
        let attributes: BTreeMap<String, Value> = attributes
            .attributes()
            .iter()
            .filter_map(|a| Some((a.key()?.to_string(), Value::str(a.value()?))))
            .collect();
        let idle = attributes
            .get("idle_timeout.timeout_seconds")
            .and_then(Value::as_str)
            .and_then(|v| v.parse().ok())
            .unwrap_or(60);
        let exports = BTreeMap::from([
            ("arn_suffix".to_string(), arn_suffix(arn, "loadbalancer/")),
            (
                "name".to_string(),
                b.load_balancer_name().unwrap_or_default().to_string(),
            ),
            (
                "dns_name".to_string(),
                b.dns_name().unwrap_or_default().to_string(),
            ),
            (
                "zone_id".to_string(),
                b.canonical_hosted_zone_id().unwrap_or_default().to_string(),
            ),
        ]);
        found.extend(owned_elb(
            region,
            Kind::LoadBalancer,
            &tags[arn],
            arn,
            [
                ("vpc", Value::Id(b.vpc_id().unwrap_or_default().into())),
                (
                    "scheme",
                    Value::str(b.scheme().map(|s| s.as_str()).unwrap_or_default()),
                ),
                (
                    "subnets",
                    Value::set(
                        b.availability_zones()
                            .iter()
                            .filter_map(|z| z.subnet_id())
                            .map(|s| Value::Id(s.into())),
                    ),
                ),
                (
                    "security_groups",
                    Value::set(b.security_groups().iter().map(|s| Value::Id(s.clone()))),
                ),
                ("idle_timeout", Value::Int(idle)),
                ("attributes", Value::Map(attributes)),
            ],
            exports,
        ));
    }
    for g in &groups {
        let arn = g.target_group_arn().unwrap_or_default();
        let protocol = g.protocol().map(|p| p.as_str()).unwrap_or_default();
        let number = |n: Option<i32>, default: i64| n.map_or(default, i64::from);
        let d = HealthCheck::defaults(
            g.health_check_protocol()
                .map(|p| p.as_str())
                .unwrap_or(protocol),
        );
        let check = HealthCheck {
            path: g.health_check_path().map_or(d.path, str::to_string),
            port: g.health_check_port().map_or(d.port, str::to_string),
            interval: number(g.health_check_interval_seconds(), d.interval),
            timeout: number(g.health_check_timeout_seconds(), d.timeout),
            healthy_threshold: number(g.healthy_threshold_count(), d.healthy_threshold),
            unhealthy_threshold: number(g.unhealthy_threshold_count(), d.unhealthy_threshold),
            matcher: g
                .matcher()
                .and_then(|m| m.http_code())
                .map_or(d.matcher, str::to_string),
            protocol: d.protocol,
        }
        .to_value();
        let exports = BTreeMap::from([
            ("arn_suffix".to_string(), arn_suffix(arn, "targetgroup/")),
            (
                "name".to_string(),
                g.target_group_name().unwrap_or_default().to_string(),
            ),
        ]);
        found.extend(owned_elb(
            region,
            Kind::TargetGroup,
            &tags[arn],
            arn,
            [
                ("vpc", Value::Id(g.vpc_id().unwrap_or_default().into())),
                ("protocol", Value::str(protocol)),
                ("port", Value::Int(number(g.port(), 0))),
                (
                    "target_type",
                    Value::str(g.target_type().map(|t| t.as_str()).unwrap_or("instance")),
                ),
                ("health_check", check),
            ],
            exports,
        ));
    }
    for l in &listeners {
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
        found.extend(owned_elb(
            region,
            Kind::Listener,
            &listener_tags[arn],
            arn,
            attrs,
            BTreeMap::new(),
        ));
    }
    for (listener, rs) in &rules {
        for r in rs.iter().filter(|r| !r.is_default().unwrap_or(false)) {
            let arn = r.rule_arn().unwrap_or_default();
            let Some(tags) = owned(&rule_tags, arn, stack) else {
                continue;
            };
            let priority = r
                .priority()
                .and_then(|p| p.parse().ok())
                .unwrap_or_default();
            found.extend(owned_elb(
                region,
                Kind::ListenerRule,
                tags,
                arn,
                [
                    ("listener", Value::Id(listener.clone())),
                    ("priority", Value::Int(priority)),
                    ("conditions", conditions_value(r.conditions())),
                    ("action", action_value(r.actions())),
                ],
                BTreeMap::new(),
            ));
        }
    }
    let mut registrations: HashMap<String, Vec<String>> = HashMap::new();
    for (group, out) in health {
        for d in out.target_health_descriptions() {
            if let Some(id) = d.target().and_then(|t| t.id()) {
                registrations
                    .entry(id.to_string())
                    .or_default()
                    .push(group.clone());
            }
        }
    }
    Ok((found, registrations))
}

/// `app/name/id` of a load balancer ARN, `targetgroup/name/id` of a target group's:
/// what CloudWatch dimensions take.
/// The first action (by order) of a listener or rule, in reconcile's shape.
pub(super) fn action_value(actions: &[Action]) -> Value {
    let mut actions: Vec<&Action> = actions.iter().collect();
    actions.sort_by_key(|a| a.order().unwrap_or_default());
    let Some(a) = actions.first() else {
        return Value::Map(BTreeMap::new());
    };
    let action = match a.r#type() {
        Some(ActionTypeEnum::Forward) => {
            let weighted = a
                .forward_config()
                .map(|f| f.target_groups())
                .unwrap_or_default();
            let target = |arn: Option<&str>, weight: Option<i32>| Target {
                target_group: Value::Id(arn.unwrap_or_default().into()),
                weight: weight.map_or(1, i64::from),
            };
            shapes::Action::Forward(if weighted.is_empty() {
                vec![target(a.target_group_arn(), None)]
            } else {
                weighted
                    .iter()
                    .map(|t| target(t.target_group_arn(), t.weight()))
                    .collect()
            })
        }
        Some(ActionTypeEnum::FixedResponse) => {
            let f = a.fixed_response_config();
            shapes::Action::FixedResponse {
                status: f
                    .and_then(|f| f.status_code())
                    .unwrap_or_default()
                    .to_string(),
                content_type: f
                    .and_then(|f| f.content_type())
                    .unwrap_or(shapes::FIXED_RESPONSE_CONTENT_TYPE)
                    .to_string(),
                body: f.and_then(|f| f.message_body()).map(str::to_string),
            }
        }
        Some(ActionTypeEnum::Redirect) => {
            let r = a.redirect_config();
            shapes::Action::Redirect(Redirect::new(
                [
                    r.and_then(|r| r.protocol()),
                    r.and_then(|r| r.port()),
                    r.and_then(|r| r.host()),
                    r.and_then(|r| r.path()),
                    r.and_then(|r| r.query()),
                ],
                r.and_then(|r| r.status_code()).map(|c| c.as_str()),
            ))
        }
        other => shapes::Action::Other(other.map_or("unknown", |t| t.as_str()).to_string()),
    };
    action.to_value()
}

/// A condition's values: from its typed config, or the older plain `Values`.
fn config_or_plain(config: Option<&[String]>, plain: &[String]) -> Vec<String> {
    match config {
        Some(values) if !values.is_empty() => values.to_vec(),
        _ => plain.to_vec(),
    }
}

fn conditions_value(found: &[RuleCondition]) -> Value {
    let mut path = Vec::new();
    let mut host = Vec::new();
    let mut header = None;
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
            _ => {}
        }
    }
    Conditions { path, host, header }.to_value()
}

/// An action value (with live ARNs) back into AWS's shape.
pub(super) fn action(value: &Value) -> Action {
    let builder = Action::builder().order(1);
    let a = match shapes::Action::parse(value) {
        Some(shapes::Action::FixedResponse {
            status,
            content_type,
            body,
        }) => builder
            .r#type(ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                FixedResponseActionConfig::builder()
                    .status_code(status)
                    .content_type(content_type)
                    .set_message_body(body)
                    .build(),
            ),
        Some(shapes::Action::Redirect(r)) => {
            builder.r#type(ActionTypeEnum::Redirect).redirect_config(
                RedirectActionConfig::builder()
                    .protocol(r.protocol)
                    .port(r.port)
                    .host(r.host)
                    .path(r.path)
                    .query(r.query)
                    .status_code(RedirectActionStatusCodeEnum::from(r.status.as_str()))
                    .build(),
            )
        }
        // A forward; what is not an action reconcile writes forwards nowhere,
        // which AWS refuses with its own message.
        other => {
            let targets = other
                .as_ref()
                .and_then(shapes::Action::targets)
                .unwrap_or_default()
                .iter()
                .map(|t| {
                    TargetGroupTuple::builder()
                        .set_target_group_arn(t.target_group.as_str().map(str::to_string))
                        .set_weight(i32::try_from(t.weight).ok())
                        .build()
                })
                .collect();
            builder.r#type(ActionTypeEnum::Forward).forward_config(
                ForwardActionConfig::builder()
                    .set_target_groups(Some(targets))
                    .build(),
            )
        }
    };
    a.build()
}

fn rule_conditions(value: &Value) -> Vec<RuleCondition> {
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

/// A name AWS will accept (32 characters, letters, digits, `-`) that no other
/// load balancer or target group has: replacements are created before the old
/// one is deleted, so names cannot be reused.
fn generated_name(stack: &str, address: &Address) -> String {
    static SEQUENCE: AtomicU32 = AtomicU32::new(0);
    let readable: String = format!("{stack}-{}", address.name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(24)
        .collect();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let unique = (nanos
        ^ SEQUENCE
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(2_654_435_761))
        & 0xff_ffff;
    format!("{}-{unique:06x}", readable.trim_end_matches('-'))
}

fn elb_tags(pairs: Vec<(String, String)>) -> Vec<Tag> {
    pairs
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Target groups refuse deletion while a listener or rule still forwards to them.
fn in_use(e: &AwsError) -> bool {
    e.is(Code::ResourceInUse)
}

impl Mutator {
    fn attributes(&self, attrs: &Attrs) -> Vec<LoadBalancerAttribute> {
        let idle = int(attrs, "idle_timeout").map_or(IDLE_TIMEOUT, i64::from);
        let mut out = vec![LoadBalancerAttribute::builder()
            .key("idle_timeout.timeout_seconds")
            .value(idle.to_string())
            .build()];
        for (k, v) in attrs
            .get("attributes")
            .and_then(Value::as_map)
            .into_iter()
            .flatten()
        {
            if let Some(v) = v.as_str() {
                out.push(LoadBalancerAttribute::builder().key(k).value(v).build());
            }
        }
        out
    }

    pub(super) async fn elb_create(
        &self,
        kind: ElbKind,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<Created, AwsError> {
        let c = &self.elb;
        let tags = Some(elb_tags(self.tag_pairs(address, attrs)));
        let (arn, exports) = match kind {
            ElbKind::LoadBalancer => {
                let out = send_once!(
                    aws_sdk_elasticloadbalancingv2,
                    "CreateLoadBalancer",
                    c.create_load_balancer()
                        .name(generated_name(&self.stack, address))
                        .r#type(LoadBalancerTypeEnum::Application)
                        .scheme(LoadBalancerSchemeEnum::from(required(attrs, "scheme")?))
                        .set_subnets(Some(ids(attrs, "subnets")))
                        .set_security_groups(Some(ids(attrs, "security_groups")))
                        .set_tags(tags)
                )?;
                let b = out.load_balancers().first().cloned().unwrap_or_else(|| {
                    aws_sdk_elasticloadbalancingv2::types::LoadBalancer::builder().build()
                });
                let arn = b.load_balancer_arn().unwrap_or_default().to_string();
                c.wait_until_load_balancer_available()
                    .load_balancer_arns(&arn)
                    .wait(self.wait_limit)
                    .await
                    .map_err(|e| {
                        AwsError::waiter("waiting for the load balancer to be active", e)
                    })?;
                send!(
                    "ModifyLoadBalancerAttributes",
                    c.modify_load_balancer_attributes()
                        .load_balancer_arn(&arn)
                        .set_attributes(Some(self.attributes(attrs)))
                )?;
                let exports = [
                    ("arn_suffix", arn_suffix(&arn, "loadbalancer/")),
                    (
                        "name",
                        b.load_balancer_name().unwrap_or_default().to_string(),
                    ),
                    ("dns_name", b.dns_name().unwrap_or_default().to_string()),
                    (
                        "zone_id",
                        b.canonical_hosted_zone_id().unwrap_or_default().to_string(),
                    ),
                ];
                (arn, exports.to_vec())
            }
            ElbKind::TargetGroup => {
                let name = generated_name(&self.stack, address);
                let out = send_once!(
                    aws_sdk_elasticloadbalancingv2,
                    "CreateTargetGroup",
                    health_check!(
                        c.create_target_group()
                            .name(&name)
                            .protocol(ProtocolEnum::from(required(attrs, "protocol")?))
                            .set_port(int(attrs, "port"))
                            .vpc_id(required(attrs, "vpc")?)
                            .target_type(TargetTypeEnum::from(required(attrs, "target_type")?)),
                        attrs
                    )
                    .set_tags(tags)
                )?;
                let arn = out
                    .target_groups()
                    .first()
                    .and_then(|g| g.target_group_arn())
                    .unwrap_or_default()
                    .to_string();
                let exports = [
                    ("arn_suffix", arn_suffix(&arn, "targetgroup/")),
                    ("name", name),
                ];
                (arn, exports.to_vec())
            }
            ElbKind::Listener => {
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
                (arn.to_string(), vec![])
            }
            ElbKind::ListenerRule => {
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
                (arn.to_string(), vec![])
            }
        };
        let mut exports: BTreeMap<String, String> = exports
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        exports.insert("id".into(), arn.clone());
        exports.insert("arn".into(), arn.clone());
        Ok(Created {
            live_id: arn,
            exports,
        })
    }

    pub(super) async fn elb_update(
        &self,
        kind: ElbKind,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let c = &self.elb;
        let arn = observed.live_id.as_str();
        let differs = |key: &str| changed.contains(key);
        match kind {
            ElbKind::LoadBalancer => {
                if differs("subnets") {
                    send!(
                        "SetSubnets",
                        c.set_subnets()
                            .load_balancer_arn(arn)
                            .set_subnets(Some(ids(attrs, "subnets")))
                    )?;
                }
                if differs("security_groups") {
                    send!(
                        "SetSecurityGroups",
                        c.set_security_groups()
                            .load_balancer_arn(arn)
                            .set_security_groups(Some(ids(attrs, "security_groups")))
                    )?;
                }
                if differs("idle_timeout") || differs("attributes") {
                    send!(
                        "ModifyLoadBalancerAttributes",
                        c.modify_load_balancer_attributes()
                            .load_balancer_arn(arn)
                            .set_attributes(Some(self.attributes(attrs)))
                    )?;
                }
            }
            ElbKind::TargetGroup => {
                if differs("health_check") {
                    send!(
                        "ModifyTargetGroup",
                        health_check!(c.modify_target_group().target_group_arn(arn), attrs)
                    )?;
                }
            }
            ElbKind::Listener => {
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
            }
            ElbKind::ListenerRule => {
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
            }
        }
        self.retag(observed, attrs, changed).await
    }

    pub(super) async fn elb_write_tags(
        &self,
        arn: &str,
        set: Vec<(String, String)>,
        stale: Vec<String>,
    ) -> Result<(), AwsError> {
        let c = &self.elb;
        send!(
            "AddTags",
            c.add_tags()
                .resource_arns(arn)
                .set_tags(Some(elb_tags(set)))
        )?;
        if !stale.is_empty() {
            send!(
                "RemoveTags",
                c.remove_tags().resource_arns(arn).set_tag_keys(Some(stale))
            )?;
        }
        Ok(())
    }

    pub(super) async fn elb_delete(
        &self,
        kind: ElbKind,
        observed: &Observed,
    ) -> Result<(), AwsError> {
        let c = &self.elb;
        let arn = observed.live_id.as_str();
        match kind {
            ElbKind::LoadBalancer => {
                send!(
                    "DeleteLoadBalancer",
                    c.delete_load_balancer().load_balancer_arn(arn)
                )?;
                c.wait_until_load_balancers_deleted()
                    .load_balancer_arns(arn)
                    .wait(self.wait_limit)
                    .await
                    .map(drop)
                    .map_err(|e| AwsError::waiter("waiting for the load balancer to be deleted", e))
            }
            ElbKind::TargetGroup => {
                retry_while(
                    || async {
                        send!(
                            "DeleteTargetGroup",
                            c.delete_target_group().target_group_arn(arn)
                        )
                        .map(drop)
                    },
                    in_use,
                    8,
                )
                .await
            }
            ElbKind::Listener => {
                send!("DeleteListener", c.delete_listener().listener_arn(arn)).map(drop)
            }
            ElbKind::ListenerRule => send!("DeleteRule", c.delete_rule().rule_arn(arn)).map(drop),
        }
    }

    /// Registers (or deregisters) an instance in a target group; tolerant of
    /// "already" and "not found" so that reruns converge.
    pub(super) async fn register(
        &self,
        group: &str,
        instance: &str,
        register: bool,
    ) -> Result<(), AwsError> {
        let target = TargetDescription::builder().id(instance).build();
        let result = if register {
            send!(
                "RegisterTargets",
                self.elb
                    .register_targets()
                    .target_group_arn(group)
                    .targets(target)
            )
            .map(drop)
        } else {
            send!(
                "DeregisterTargets",
                self.elb
                    .deregister_targets()
                    .target_group_arn(group)
                    .targets(target)
            )
            .map(drop)
        };
        match result {
            Err(e) if !register && (e.is_not_found() || e.is(Code::InvalidTarget)) => Ok(()),
            other => other,
        }
    }
}

fn certificates(attrs: &Attrs) -> Option<Vec<Certificate>> {
    attrs
        .get("certificate")
        .and_then(Value::as_str)
        .map(|arn| vec![Certificate::builder().certificate_arn(arn).build()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_fit_aws_rules_and_differ() {
        let address = Address::new(Kind::TargetGroup, "blue_very_long_name_for_a_group");
        let (a, b) = (
            generated_name("production-stack", &address),
            generated_name("production-stack", &address),
        );
        assert_ne!(a, b);
        for name in [a, b] {
            assert!(name.len() <= 32, "{name}");
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "{name}"
            );
            assert!(!name.starts_with('-') && !name.ends_with('-'), "{name}");
        }
    }

    #[test]
    fn actions_round_trip_through_aws_shape() {
        let weighted = shapes::Action::Forward(vec![
            Target {
                target_group: Value::Id("arn:blue".into()),
                weight: 90,
            },
            Target {
                target_group: Value::Id("arn:green".into()),
                weight: 10,
            },
        ])
        .to_value();
        assert_eq!(action_value(&[action(&weighted)]), weighted);
        let fixed = shapes::Action::FixedResponse {
            status: "503".into(),
            content_type: "text/plain".into(),
            body: Some("down".into()),
        }
        .to_value();
        assert_eq!(action_value(&[action(&fixed)]), fixed);
        let moved = shapes::Action::Redirect(Redirect::new(
            [Some("HTTPS"), Some("443"), None, None, None],
            None,
        ))
        .to_value();
        assert_eq!(action_value(&[action(&moved)]), moved);
    }

    #[test]
    fn conditions_round_trip_through_aws_shape() {
        let value = Conditions {
            path: vec!["/api/*".into()],
            host: vec!["app.example.com".into()],
            header: Some(("X-Env".into(), vec!["blue".into()])),
        }
        .to_value();
        assert_eq!(conditions_value(&rule_conditions(&value)), value);
    }
}
