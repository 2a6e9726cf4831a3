//! What a resource should look like in one region, as comparable attributes.

//!
//! The same function serves plan and apply: a plan resolves references to
//! addresses (`vpc.main`), apply to the live ids it has just created.

use crate::model::shapes::{
    default_egress, route_value, rule_value, threshold_text, Action, Conditions, HealthCheck,
    Redirect, Target, IDLE_TIMEOUT,
};
use crate::model::{Address, Attrs, Inputs, Value};
use crate::stack::interpolate;
use crate::stack::spec::{ActionSpec, ForwardSpec, Reference, RuleSpec};
use crate::stack::{dns_name, rule_ports, stickiness_seconds, zone_name, Resource, Spec, Stack};
use sha2::{Digest, Sha256};

/// Kinds whose apply needs nothing beyond their attributes (`ApplyInputs`);
/// defined before the family modules, which use it.
macro_rules! no_inputs {
    ($($spec:ty),* $(,)?) => {
        $(impl crate::desired::ApplyInputs for $spec {
            fn inputs(&self, _: &mut crate::model::Inputs) {}
        })*
    };
}

mod alarm;
mod balancing;
mod certificate;
mod compute;
mod database;
mod dns;
mod iam;
mod network;

pub trait Resolve {
    /// The value of a reference made by `own`; `Value::Unknown` when not knowable yet.
    fn reference(&self, reference: &Reference, own: &Address) -> Value;
    /// A live attribute of a resource, for `${kind.name.attr}`; `None` when not known yet.
    fn attribute(&self, target: &Address, attribute: &str) -> Option<String>;
}

/// What a kind's attributes are built from, and what they are built into.
struct Ctx<'a> {
    stack: &'a Stack,
    own: &'a Address,
    region: &'a str,
    resolve: &'a dyn Resolve,
    attrs: Attrs,
}

impl Ctx<'_> {
    fn set(&mut self, key: &str, value: Value) {
        self.attrs.insert(key.to_string(), value);
    }

    fn reference(&self, reference: &Reference) -> Value {
        self.resolve.reference(reference, self.own)
    }

    /// `vpc`, never declared: the VPC of `subnets`, when the stack declares
    /// them. AWS does not let a load balancer or a DB subnet group change VPC,
    /// so the kinds that have it are replaced with it.
    fn set_subnets_vpc(&mut self, subnets: &[crate::stack::spec::Spanned<Reference>]) {
        let vpc = subnets.iter().find_map(|subnet| {
            match &self.stack.resources.get(subnet.get_ref().address()?)?.spec {
                Spec::Subnet(declared) => Some(self.reference(declared.vpc.get_ref())),
                _ => None,
            }
        });
        if let Some(vpc) = vpc {
            self.set("vpc", vpc);
        }
    }
}

/// From the registry: a block's attributes by its kind's function, named
/// after the kind in its family's file (`database::db_instance`), and
/// its inputs (`ApplyInputs`, beside it).
macro_rules! own_attrs {
    ($($variant:ident $name:ident $family:ident :: $schema:ident $spec:ident [$($aws:tt)*],)*) => {
        fn own(c: &mut Ctx, spec: &Spec) {
            match spec {
                $(Spec::$variant(s) => $family::$name(c, s),)*
            }
        }

        fn own_inputs(spec: &Spec, inputs: &mut Inputs) {
            match spec {
                $(Spec::$variant(s) => s.inputs(inputs),)*
            }
        }
    };
}
crate::model::kinds::kinds!(own_attrs);

/// The attributes `r` should have in `region`: per kind family in this
/// module's files, then the tags and protection every kind has.
pub fn attrs(stack: &Stack, r: &Resource, region: &str, resolve: &dyn Resolve) -> Attrs {
    let mut c = Ctx {
        stack,
        own: &r.address,
        region,
        resolve,
        attrs: Attrs::new(),
    };
    own(&mut c, &r.spec);
    if r.address.kind != crate::model::Kind::DnsRecord {
        c.set("tags", tags(stack, r, resolve));
    }
    c.set("protect", Value::Bool(r.spec.common().protect));
    c.attrs
}

fn regional_str(v: Option<impl ToString>) -> Value {
    v.map_or(Value::Unknown, |v| Value::Str(v.to_string()))
}

fn tags(stack: &Stack, r: &Resource, resolve: &dyn Resolve) -> Value {
    let mut tags: std::collections::BTreeMap<String, Value> = stack
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), Value::str(v)))
        .collect();
    tags.insert(
        "Name".into(),
        Value::Str(format!("{}-{}", stack.name, r.address.name)),
    );
    for (k, v) in r.spec.common().tags {
        let rendered = interpolate::render(v.get_ref(), |a, attr| resolve.attribute(a, attr));
        tags.insert(k.clone(), rendered.map_or(Value::Unknown, Value::Str));
    }
    Value::Map(tags)
}

/// What apply needs that a plan never compares or shows (see `Inputs`).
pub fn inputs(r: &Resource) -> Inputs {
    let mut inputs = Inputs::new();
    own_inputs(&r.spec, &mut inputs);
    inputs
}

/// A kind's inputs (`model::Inputs`): what apply needs of its block beyond
/// its attributes, read only at apply (a password, user data). Every kind
/// says, in its family's file (`none!` for most).
trait ApplyInputs {
    fn inputs(&self, inputs: &mut Inputs);
}

/// The declared name a replacement cannot take yet: a security group's, while
/// `old`, the group it replaces, holds it (AWS allows one group of a name per
/// VPC). The replacement is created under a generated name instead.
pub fn held_name(wanted: &Attrs, old: &crate::model::Observed) -> Option<String> {
    let name = wanted.get("name")?.as_str()?;
    (old.address.kind == crate::model::Kind::SecurityGroup
        && old.exports.get("name").map(String::as_str) == Some(name))
    .then(|| name.to_string())
}

/// When a database's modifications take effect, for the plan to say.
pub fn update_timing(r: &Resource) -> Option<&'static str> {
    match &r.spec {
        Spec::DbInstance(s) if s.apply_immediately => Some("applied immediately"),
        Spec::DbInstance(_) => Some(
            "applied in the next maintenance window; set apply_immediately = true to apply now",
        ),
        _ => None,
    }
}

/// Why `r` cannot be created now: an input it needs is missing (the password
/// variable is unset). Checked before apply changes anything.
pub fn missing_inputs(r: &Resource) -> Option<String> {
    match &r.spec {
        Spec::DbInstance(s) if std::env::var_os(s.master_password_env.get_ref()).is_none() => {
            Some(format!(
                "{} needs its master password in the environment variable {}, which is not set",
                r.address,
                s.master_password_env.get_ref()
            ))
        }
        _ => None,
    }
}

/// The adjustments plan and apply both make before comparing `wanted` with a
/// live resource's `observed` attributes (addresses in a plan, live ids in
/// apply): live blue-green colours stay (`keep_live_colours`), and the
/// observed side is reduced to what can be compared (`comparable`), which is
/// returned.
pub fn against_live(
    stack: &Stack,
    r: &Resource,
    wanted: &mut Attrs,
    observed: &Attrs,
    then: &dyn Resolve,
    now: &dyn Resolve,
) -> Attrs {
    keep_live_colours(stack, r, wanted, observed, then, now);
    comparable(r.address.kind, wanted, observed)
}

/// `observed` reduced to what `wanted` can be compared with: map attributes a
/// kind compares partially keep only the keys the stack sets, and attributes a
/// stack may leave to AWS (an engine version) are dropped when it does.
fn comparable(kind: crate::model::Kind, wanted: &Attrs, observed: &Attrs) -> Attrs {
    let mut out = observed.clone();
    out.retain(|name, _| !kind.compared_only_when_set(name) || wanted.contains_key(name));
    for (name, value) in out.iter_mut() {
        if !kind.partial_map(name) {
            continue;
        }
        let keys = wanted.get(name).and_then(Value::as_map);
        if let (Value::Map(m), Some(keys)) = (value, keys) {
            m.retain(|k, _| keys.contains_key(k));
        }
    }
    out
}

/// For a listener or rule whose forward a `blue_green` block owns, the live
/// weights and active colour are authoritative: while the live action forwards
/// only to the pair's colours, it is what is desired. `then` resolves the
/// colours as the live action names them (as observed), `now` as they are to
/// be written: a colour replaced since (a new target group, a new ARN) keeps
/// its weight on its replacement. Works on plan values (addresses) and apply
/// values (live ids) alike.
fn keep_live_colours(
    stack: &Stack,
    r: &Resource,
    wanted: &mut Attrs,
    observed: &Attrs,
    then: &dyn Resolve,
    now: &dyn Resolve,
) {
    let (Some(pair), Some(key)) = (
        stack.blue_green.get(&r.address),
        r.address.kind.forward_attribute(),
    ) else {
        return;
    };
    let colours = |resolve: &dyn Resolve| {
        [
            resolve.reference(&pair.blue, &r.address),
            resolve.reference(&pair.green, &r.address),
        ]
    };
    let (was, is) = (colours(then), colours(now));
    let Some(Action::Forward { targets, .. }) = observed.get(key).and_then(Action::parse) else {
        return;
    };
    // The live colours, with the stickiness the file says.
    let stickiness = match wanted.get(key).and_then(Action::parse) {
        Some(Action::Forward { stickiness, .. }) => stickiness,
        _ => None,
    };
    if !targets.iter().all(|t| was.contains(&t.target_group)) {
        return;
    }
    let moved = targets.into_iter().map(|mut t| {
        if let Some(i) = was.iter().position(|c| *c == t.target_group) {
            t.target_group = is[i].clone();
        }
        t
    });
    let forward = Action::Forward {
        targets: moved.collect(),
        stickiness,
    };
    wanted.insert(key.to_string(), forward.to_value());
}

fn action(a: &ActionSpec, reference: &dyn Fn(&Reference) -> Value) -> Value {
    let target = |g: &Reference, weight| Target {
        target_group: reference(g),
        weight,
    };
    let action = if let Some(f) = &a.forward {
        Action::Forward {
            targets: match f.get_ref() {
                ForwardSpec::One(g) => vec![target(g, 1)],
                ForwardSpec::Weighted(targets) => targets
                    .iter()
                    .map(|t| target(t.target_group.get_ref(), t.weight))
                    .collect(),
            },
            stickiness: a
                .stickiness
                .as_ref()
                .and_then(|s| stickiness_seconds(s.get_ref()).ok()),
        }
    } else if let Some(f) = &a.fixed_response {
        Action::FixedResponse {
            status: f.status.to_string(),
            content_type: f.content_type.clone(),
            body: f.body.clone(),
        }
    } else if let Some(r) = &a.redirect {
        Action::Redirect(Redirect::new(
            [&r.protocol, &r.port, &r.host, &r.path, &r.query].map(|p| p.as_deref()),
            Some(&r.status),
        ))
    } else {
        return Value::Unknown;
    };
    action.to_value()
}

/// User data is compared through its digest, recorded in a tag at launch:
/// reading it back costs a call per instance, and it may hold secrets.
pub fn user_data_digest(data: &str) -> String {
    let digest = Sha256::digest(data.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shapes;
    use crate::testing::{self, FakeIds, DEMO};

    fn attrs_of(stack: &Stack, address: &str) -> Attrs {
        let r = &stack.resources[&Address::parse(address).unwrap()];
        attrs(stack, r, "us-west-2", &FakeIds)
    }

    #[test]
    fn a_health_check_takes_aws_defaults_for_what_the_file_leaves_out() {
        let stack = testing::stack(DEMO);
        let check =
            shapes::HealthCheck::parse(&attrs_of(&stack, "target_group.blue")["health_check"]);
        assert_eq!(
            check,
            shapes::HealthCheck {
                path: "/health".into(),
                interval: 15,
                healthy_threshold: 3,
                ..shapes::HealthCheck::defaults("HTTP")
            }
        );
    }

    #[test]
    fn actions_are_written_in_the_shared_shape() {
        let stack = testing::stack(DEMO);
        let rule = attrs_of(&stack, "listener_rule.app");
        assert_eq!(
            shapes::Action::parse(&rule["action"]),
            Some(shapes::Action::Forward {
                targets: vec![shapes::Target {
                    target_group: Value::Id("id-target_group.blue".into()),
                    weight: 1,
                }],
                stickiness: None,
            })
        );
        let listener = attrs_of(&stack, "listener.http");
        assert_eq!(
            shapes::Action::parse(&listener["default_action"]),
            Some(shapes::Action::FixedResponse {
                status: "404".into(),
                content_type: "text/plain".into(),
                body: Some("no route".into()),
            })
        );
    }

    #[test]
    fn a_group_gets_its_generated_name_and_the_egress_aws_gives() {
        let stack = testing::stack(DEMO);
        let group = attrs_of(&stack, "security_group.app");
        assert_eq!(group["name"], Value::str("demo-app"));
        assert_eq!(group["egress"], Value::set([shapes::default_egress()]));
        assert_eq!(
            group["ingress"],
            Value::set([shapes::rule_value(
                "tcp",
                "80",
                ("security_group", Value::Id("id-security_group.web".into())),
                None
            )])
        );
        // Interpolated from the live VPC; the stack's tags and the Name tag too.
        assert_eq!(
            group["tags"],
            Value::map([
                ("Name", Value::str("demo-app")),
                ("team", Value::str("platform")),
                ("vpc", Value::str("id-vpc.main")),
            ])
        );
    }

    #[test]
    fn user_data_is_compared_by_digest_never_as_text() {
        let stack = testing::stack(DEMO);
        let instance = attrs_of(&stack, "instance.web_blue[0]");
        let digest = instance["user_data"].as_str().unwrap();
        assert!(digest.starts_with("sha256:"), "{digest}");
        assert!(!digest.contains("echo"));
        assert_eq!(instance["ami"], Value::str("ami-0a1b2c3d4e5f60718"));
    }
}
