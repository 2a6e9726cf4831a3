//! Application load balancing: load balancers, target groups, listeners, rules.
//!
//! ELBv2 has no tag filter on its Describe calls, so discovery lists load
//! balancers and target groups (paginated) and reads their tags 20 ARNs a call;
//! listeners and rules can only be listed per load balancer and per listener.

mod listener;
mod listener_rule;
mod load_balancer;
mod target_group;

use super::{
    ids, int, observed_in, required, retry_while, text, AwsError, Code, Created, Imports, Mutator,
    Scope,
};
use crate::model::profile::phase;
use crate::model::shapes::{self, Conditions, HealthCheck, Redirect, Target, IDLE_TIMEOUT};
use crate::model::{arn_suffix, Address, Attrs, Changed, Kind, Observed, Value, STACK_TAG};
use aws_sdk_elasticloadbalancingv2::client::Waiters;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_health::DescribeTargetHealthOutput;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, ForwardActionConfig,
    HostHeaderConditionConfig, HttpHeaderConditionConfig, HttpRequestMethodConditionConfig,
    LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Matcher,
    PathPatternConditionConfig, ProtocolEnum, QueryStringConditionConfig, QueryStringKeyValuePair,
    RedirectActionConfig, RedirectActionStatusCodeEnum, RuleCondition, RulePriorityPair,
    SourceIpConditionConfig, Tag, TargetDescription, TargetGroupStickinessConfig, TargetGroupTuple,
    TargetTypeEnum,
};
use aws_sdk_elasticloadbalancingv2::Client;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use tracing::Instrument;

/// Items a page of a listing: the most ELBv2 takes, so every call stays bounded.
const PAGE: i32 = 400;

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

/// `observed_in`, exporting the ARN as `arn` too.
fn owned_elb(
    scope: Scope<'_>,
    region: &str,
    kind: Kind,
    tags: &BTreeMap<String, String>,
    arn: &str,
    attrs: impl IntoIterator<Item = (&'static str, Value)>,
    mut exports: BTreeMap<String, String>,
) -> Option<Observed> {
    exports.insert("arn".into(), arn.to_string());
    observed_in(scope, region, kind, tags, arn, attrs, exports)
}

/// The load balancers, target groups, listeners or rules blocks import
/// (`imports`: ARN → block), read by ARN whoever owns them, one at a time (a
/// Describe naming an ARN that does not exist fails whole): an ARN that
/// names nothing is left out.
pub async fn import(
    client: &Client,
    stack: &str,
    kind: ElbKind,
    imports: &Imports,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let scope = Scope::Imported(stack, imports);
    let reads = imports.keys().map(|arn| async move {
        let read = async {
            let one = std::slice::from_ref(arn);
            let mut tags = tags_of(client, one).await?;
            tags.entry(arn.clone()).or_default();
            let found = match kind {
                ElbKind::LoadBalancer => {
                    let out = send!(
                        "DescribeLoadBalancers",
                        client.describe_load_balancers().load_balancer_arns(arn)
                    )?;
                    let attributes = send!(
                        "DescribeLoadBalancerAttributes",
                        client
                            .describe_load_balancer_attributes()
                            .load_balancer_arn(arn)
                    )?;
                    out.load_balancers()
                        .first()
                        .and_then(|b| load_balancer::observe(scope, region, b, &attributes, &tags))
                }
                ElbKind::TargetGroup => {
                    let out = send!(
                        "DescribeTargetGroups",
                        client.describe_target_groups().target_group_arns(arn)
                    )?;
                    out.target_groups()
                        .first()
                        .and_then(|g| target_group::observe(scope, region, g, &tags))
                }
                ElbKind::Listener => {
                    let out = send!(
                        "DescribeListeners",
                        client.describe_listeners().listener_arns(arn)
                    )?;
                    match out.listeners().first() {
                        Some(l) => {
                            let extra = listener::extra_certificates(client, l).await?;
                            listener::observe(scope, region, l, extra.as_ref(), &tags)
                        }
                        None => None,
                    }
                }
                ElbKind::ListenerRule => {
                    let out = send!("DescribeRules", client.describe_rules().rule_arns(arn))?;
                    // `…:listener-rule/app/NAME/LB/LISTENER/RULE` is a rule of
                    // `…:listener/app/NAME/LB/LISTENER`.
                    let listener = arn
                        .replacen(":listener-rule/", ":listener/", 1)
                        .rsplit_once('/')
                        .map(|(l, _)| l.to_string())
                        .unwrap_or_default();
                    out.rules().first().and_then(|r| {
                        listener_rule::observe(scope, region, &listener, r, &tags[arn])
                    })
                }
            };
            Ok::<_, AwsError>(found)
        };
        match read.await {
            Err(e) if e.is_not_found() => Ok(None),
            other => other,
        }
    });
    Ok(futures::future::try_join_all(reads)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// What a stack owns in a region, and which targets its target groups hold
/// (instance id → target group ARNs), for the instances' `target_groups`.
pub async fn discover(
    client: &Client,
    stack: &str,
    region: &str,
) -> Result<(Vec<Observed>, HashMap<String, Vec<String>>), AwsError> {
    let (balancers, groups) = tokio::try_join!(
        async {
            all_pages!(
                "DescribeLoadBalancers",
                client.describe_load_balancers().page_size(PAGE)
            )
        },
        async {
            all_pages!(
                "DescribeTargetGroups",
                client.describe_target_groups().page_size(PAGE)
            )
        },
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
                    client
                        .describe_listeners()
                        .load_balancer_arn(arn)
                        .page_size(PAGE)
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
        let arn = l.listener_arn().unwrap_or_default();
        let (rules, extra) = tokio::try_join!(
            async {
                all_pages!(
                    "DescribeRules",
                    client.describe_rules().listener_arn(arn).page_size(PAGE)
                )
            },
            listener::extra_certificates(client, l),
        )?;
        Ok::<_, AwsError>((arn.to_string(), rules, extra))
    });
    let read: Vec<(String, Vec<_>, Option<Vec<String>>)> =
        futures::future::try_join_all(per_listener).await?;
    let extra_certificates: HashMap<String, Vec<String>> = read
        .iter()
        .filter_map(|(arn, _, extra)| Some((arn.clone(), extra.clone()?)))
        .collect();
    let rules: Vec<(String, Vec<_>)> = read
        .into_iter()
        .map(|(arn, rules, _)| (arn, rules))
        .collect();
    let rule_arns: Vec<String> = rules
        .iter()
        .flat_map(|(_, rs)| rs.iter())
        .filter(|r| !r.is_default().unwrap_or(false))
        .filter_map(|r| r.rule_arn().map(str::to_string))
        .collect();
    let rule_tags = tags_of(client, &rule_arns).await?;

    let scope = Scope::Owned(stack);
    let mut found = Vec::new();
    for (b, (attributes, _)) in balancers.iter().zip(&balancer_details) {
        found.extend(load_balancer::observe(scope, region, b, attributes, &tags));
    }
    for g in &groups {
        found.extend(target_group::observe(scope, region, g, &tags));
    }
    for l in &listeners {
        let extra = extra_certificates.get(l.listener_arn().unwrap_or_default());
        found.extend(listener::observe(scope, region, l, extra, &listener_tags));
    }
    for (listener, rs) in &rules {
        for r in rs.iter().filter(|r| !r.is_default().unwrap_or(false)) {
            if let Some(tags) = owned(&rule_tags, r.rule_arn().unwrap_or_default(), stack) {
                found.extend(listener_rule::observe(scope, region, listener, r, tags));
            }
        }
    }
    Ok((found, registered(health)))
}

/// Instance id → the target groups (ARNs) it is registered in, from each
/// group's DescribeTargetHealth.
fn registered(health: Vec<(String, DescribeTargetHealthOutput)>) -> HashMap<String, Vec<String>> {
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
    registrations
}

/// Where instances are registered, in every target group of the region
/// (whoever owns it): for instances imported, whose groups may be
/// imported with them.
pub async fn registrations(client: &Client) -> Result<HashMap<String, Vec<String>>, AwsError> {
    let groups: Vec<aws_sdk_elasticloadbalancingv2::types::TargetGroup> = all_pages!(
        "DescribeTargetGroups",
        client.describe_target_groups().page_size(PAGE)
    )?;
    let health = groups
        .iter()
        .filter_map(|g| g.target_group_arn())
        .map(|arn| async move {
            send!(
                "DescribeTargetHealth",
                client.describe_target_health().target_group_arn(arn)
            )
            .map(|out| (arn.to_string(), out))
        });
    Ok(registered(futures::future::try_join_all(health).await?))
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
            let stickiness = a
                .forward_config()
                .and_then(|f| f.target_group_stickiness_config())
                .filter(|s| s.enabled() == Some(true))
                .map(|s| i64::from(s.duration_seconds().unwrap_or_default()));
            shapes::Action::Forward {
                targets: if weighted.is_empty() {
                    vec![target(a.target_group_arn(), None)]
                } else {
                    weighted
                        .iter()
                        .map(|t| target(t.target_group_arn(), t.weight()))
                        .collect()
                },
                stickiness,
            }
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
            let stickiness = match &other {
                Some(shapes::Action::Forward { stickiness, .. }) => *stickiness,
                _ => None,
            };
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
                    .set_target_group_stickiness_config(stickiness.map(|seconds| {
                        TargetGroupStickinessConfig::builder()
                            .enabled(true)
                            .duration_seconds(i32::try_from(seconds).unwrap_or(i32::MAX))
                            .build()
                    }))
                    .build(),
            )
        }
    };
    a.build()
}

/// A name AWS will accept (32 characters, letters, digits, `-`) that no other
/// load balancer or target group has: replacements are created before the old
/// one is deleted, so names cannot be reused.
fn generated_name(stack: &str, address: &Address) -> String {
    static SEQUENCE: AtomicU32 = AtomicU32::new(0);
    // ELBv2 refuses a load balancer name that starts with `internal-`.
    let base = format!("{stack}-{}", address.name);
    let base = match base.to_ascii_lowercase().starts_with("internal-") {
        true => format!("rc-{base}"),
        false => base,
    };
    let readable: String = base
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
    pub(super) async fn elb_create(
        &self,
        kind: ElbKind,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<Created, AwsError> {
        let (arn, exports) = match kind {
            ElbKind::LoadBalancer => self.create_load_balancer(address, attrs).await?,
            ElbKind::TargetGroup => self.create_target_group(address, attrs).await?,
            ElbKind::Listener => self.create_listener(address, attrs).await?,
            ElbKind::ListenerRule => self.create_listener_rule(address, attrs).await?,
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
        match kind {
            ElbKind::LoadBalancer => self.update_load_balancer(observed, attrs, changed).await?,
            ElbKind::TargetGroup => self.update_target_group(observed, attrs, changed).await?,
            ElbKind::Listener => self.update_listener(observed, attrs, changed).await?,
            ElbKind::ListenerRule => self.update_listener_rule(observed, attrs, changed).await?,
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
        match kind {
            ElbKind::LoadBalancer => self.delete_load_balancer(observed).await,
            ElbKind::TargetGroup => self.delete_target_group(observed).await,
            ElbKind::Listener => self.delete_listener(observed).await,
            ElbKind::ListenerRule => self.delete_listener_rule(observed).await,
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

#[cfg(test)]
mod tests {
    use super::listener_rule::{conditions_value, rule_conditions};
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
        let internal = generated_name("internal-apps", &Address::new(Kind::LoadBalancer, "app"));
        assert!(internal.starts_with("rc-internal-apps-app-"), "{internal}");
    }

    #[test]
    fn actions_round_trip_through_aws_shape() {
        let weighted = shapes::Action::Forward {
            targets: vec![
                Target {
                    target_group: Value::Id("arn:blue".into()),
                    weight: 90,
                },
                Target {
                    target_group: Value::Id("arn:green".into()),
                    weight: 10,
                },
            ],
            stickiness: Some(3600),
        }
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
            query: vec![(Some("version".into()), "v2".into()), (None, "beta".into())],
            method: vec!["GET".into(), "HEAD".into()],
            source_ip: vec!["10.0.0.0/8".into()],
        }
        .to_value();
        assert_eq!(conditions_value(&rule_conditions(&value)), value);
    }
}
