//! How a plan replaces an Auto Scaling group's instances that run an older
//! version of its launch template: by the traffic its colour carries.
//!
//! - A group that is no colour, or a colour that takes no traffic: all at
//!   once, new instances first (capacity never drops).
//! - A colour that takes traffic: in batches, each taken out of its target
//!   groups and replaced before the next, never leaving fewer instances in
//!   service than its pair's `min_healthy` (all of them when unset) — or,
//!   when not even one can go, refused with the way that can: deploy to the
//!   idle colour and cut over.

use crate::model::{Address, Attrs, LiveRegion, Observed, Value, IN_SERVICE, OUTDATED};
use crate::stack::spec::Reference;
use crate::stack::{BlueGreen, Colour, Stack};
use std::collections::HashMap;

/// What apply does with a group's instances on an older version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// How many run an older version.
    pub outdated: u32,
    pub how: How,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// New ones first, all at once.
    AtOnce { why: &'static str },
    /// `size` at a time, out of service before their replacements start.
    Batches { size: u32, traffic: Traffic },
    /// Not even one may go.
    Refused {
        traffic: Traffic,
        idle: Option<Colour>,
    },
}

/// The traffic a colour carries: its weight in its pair, its instances in
/// service and how many of them the pair needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traffic {
    pub pair: String,
    pub weight: i64,
    pub in_service: u32,
    pub min_healthy: u32,
}

impl Replacement {
    /// The batch size apply is given; `None`: all at once.
    pub fn batch(&self) -> Option<u32> {
        match self.how {
            How::Batches { size, .. } => Some(size),
            _ => None,
        }
    }

    /// What the plan says of it.
    pub fn describe(&self, group: &Address) -> String {
        let n = self.outdated;
        let instances = if n == 1 { "instance" } else { "instances" };
        let replaced = format!("{n} {instances} on an older version: replaced by the default one");
        match &self.how {
            How::AtOnce { why } => format!("{replaced}, all at once, new ones first ({why})"),
            How::Batches { size, traffic: t } => format!(
                "{replaced} {size} at a time, each out of its target groups before its \
                 replacement starts ({group} takes {}% of {}'s traffic with {} in service; \
                 min_healthy {})",
                t.weight, t.pair, t.in_service, t.min_healthy
            ),
            How::Refused { traffic: t, idle } => {
                let idle = idle.map_or("the idle colour".to_string(), |c| {
                    format!("the idle colour ({})", c.as_str())
                });
                format!(
                    "{group} takes {}% of {}'s traffic with {} in service and min_healthy {}: \
                     replacing its {n} {instances} on an older version would take it under. \
                     Deploy the new version to {idle} and cut over (`reconcile cutover`), or \
                     give it room: a larger `desired`, or a lower `min_healthy` in [{}]",
                    t.weight, t.pair, t.in_service, t.min_healthy, t.pair
                )
            }
        }
    }
}

/// How the outdated instances of `group` (its desired attributes `wanted`,
/// its live self `observed`) are replaced. `primary`: the region's live
/// resources by address.
pub fn replacement(
    stack: &Stack,
    live: &LiveRegion,
    primary: &HashMap<Address, &Observed>,
    wanted: &Attrs,
    observed: &Observed,
) -> Replacement {
    let in_service = observed.count(IN_SERVICE);
    // A template this plan changes makes every instance in service outdated.
    let outdated = match wanted.get("instances") {
        Some(Value::Unknown) => in_service,
        _ => observed.count(OUTDATED),
    };
    let serves = |colour: &Reference| {
        let listed = |v: &Value| match (colour, v) {
            (Reference::Resource(a), Value::Ref(r)) => a == r,
            (Reference::LiveId(id), Value::Id(v)) => id == v,
            _ => false,
        };
        matches!(wanted.get("target_groups"), Some(Value::List(all)) if all.iter().any(listed))
    };
    let colour_of = |p: &BlueGreen| {
        [Colour::Blue, Colour::Green]
            .into_iter()
            .find(|c| serves(p.colour(*c)))
    };
    let Some((pair, colour)) = stack
        .blue_green
        .values()
        .find_map(|p| colour_of(p).map(|c| (p, c)))
    else {
        return Replacement {
            outdated,
            how: How::AtOnce {
                why: "not a colour of a [blue_green] pair",
            },
        };
    };
    let weights = live.weights();
    let weight_of = |c: Colour| {
        let id = match pair.colour(c) {
            Reference::Resource(a) => primary.get(a).map(|o| o.live_id.as_str()),
            Reference::LiveId(id) => Some(id.as_str()),
            Reference::SelfGroup => None,
        };
        id.and_then(|id| weights.get(id)).copied().unwrap_or(0)
    };
    let weight = weight_of(colour);
    if weight == 0 {
        return Replacement {
            outdated,
            how: How::AtOnce {
                why: "the colour takes no traffic",
            },
        };
    }
    let min_healthy = pair.min_healthy.unwrap_or(in_service).max(1);
    let traffic = Traffic {
        pair: format!("blue_green.{}", pair.name),
        weight,
        in_service,
        min_healthy,
    };
    let how = match in_service.saturating_sub(min_healthy) {
        0 => How::Refused {
            traffic,
            idle: (weight_of(colour.other()) == 0).then(|| colour.other()),
        },
        room => How::Batches {
            size: room.min(outdated.max(1)),
            traffic,
        },
    };
    Replacement { outdated, how }
}

#[cfg(test)]
mod tests {
    use crate::model::{IN_SERVICE, OUTDATED};
    use crate::plan::build;
    use crate::testing::{applied, change, live_mut, stack};
    use std::collections::BTreeMap;

    const REGION: &str = "eu-west-1";

    fn text(min_healthy: u32) -> String {
        format!(
            r#"
[stack]
name = "rolling"
regions = ["{REGION}"]

[vpc.main]
cidr = "10.0.0.0/16"

[subnet.a]
vpc = "vpc.main"
cidr = "10.0.1.0/24"
zone = "a"

[subnet.b]
vpc = "vpc.main"
cidr = "10.0.2.0/24"
zone = "b"

[load_balancer.app]
subnets = ["subnet.a", "subnet.b"]

[target_group.blue]
vpc = "vpc.main"
port = 80

[target_group.green]
vpc = "vpc.main"
port = 80

[listener.http]
load_balancer = "load_balancer.app"
port = 80
default_action = {{ forward = [{{ target_group = "target_group.blue", weight = 100 }}, {{ target_group = "target_group.green", weight = 0 }}] }}

[blue_green.app]
listener = "listener.http"
blue = "target_group.blue"
green = "target_group.green"
min_healthy = {min_healthy}

[launch_template.web]
ami = {{ default = "ami-0a1b2c3d4e5f60718" }}
instance_type = "t3.micro"

[autoscaling_group.blue]
launch_template = "launch_template.web"
subnets = ["subnet.a"]
min = 1
max = 6
target_groups = ["target_group.blue"]

[autoscaling_group.green]
launch_template = "launch_template.web"
subnets = ["subnet.a"]
min = 1
max = 6
target_groups = ["target_group.green"]

[autoscaling_group.worker]
launch_template = "launch_template.web"
subnets = ["subnet.a"]
min = 1
max = 6
"#
        )
    }

    /// The plan when every group has `in_service` instances, `outdated` of
    /// them on an older version of the template.
    fn plan(min_healthy: u32, in_service: u32, outdated: u32) -> crate::plan::Plan {
        let s = stack(&text(min_healthy));
        let mut live = applied(&s, REGION);
        for group in [
            "autoscaling_group.blue",
            "autoscaling_group.green",
            "autoscaling_group.worker",
        ] {
            let o = live_mut(&mut live, group);
            let current = o.attrs["instances"]
                .as_str()
                .unwrap()
                .replace("all on version ", "");
            o.attrs.insert(
                "instances".into(),
                crate::model::Value::Str(crate::model::shapes::older_than_version(
                    outdated as usize,
                    in_service as usize,
                    &current,
                )),
            );
            o.handles.insert(IN_SERVICE.into(), in_service.to_string());
            o.handles.insert(OUTDATED.into(), outdated.to_string());
        }
        build(
            &s,
            &[REGION.into()],
            &BTreeMap::from([(REGION.into(), live)]),
        )
    }

    #[test]
    fn a_colour_with_traffic_is_replaced_in_batches_that_keep_min_healthy() {
        let p = plan(2, 5, 4);
        let blue = change(&p, "autoscaling_group.blue");
        assert_eq!(blue.instance_batch, Some(3), "5 in service, 2 must stay");
        assert!(blue.blocked.is_none());
        let reason = blue.reason.as_deref().unwrap();
        assert!(
            reason.starts_with(
                "4 instances on an older version: replaced by the default one 3 at a time"
            ),
            "{reason}"
        );
        assert!(
            reason.contains(
                "takes 100% of blue_green.app's traffic with 5 in service; min_healthy 2"
            ),
            "{reason}"
        );
        // Never larger than what is outdated.
        assert_eq!(
            change(&plan(1, 5, 2), "autoscaling_group.blue").instance_batch,
            Some(2)
        );
    }

    #[test]
    fn a_colour_with_traffic_and_no_room_is_refused_with_the_idle_colour_named() {
        let p = plan(3, 3, 3);
        let blue = change(&p, "autoscaling_group.blue");
        assert_eq!(blue.instance_batch, None);
        let blocked = blue.blocked.as_deref().unwrap();
        assert!(
            blocked.starts_with("autoscaling_group.blue takes 100% of blue_green.app's traffic with 3 in service and min_healthy 3"),
            "{blocked}"
        );
        assert!(
            blocked.contains("Deploy the new version to the idle colour (green) and cut over"),
            "{blocked}"
        );
    }

    #[test]
    fn an_idle_colour_and_a_group_of_no_pair_are_replaced_at_once_new_first() {
        let p = plan(3, 3, 3);
        for (group, why) in [
            ("autoscaling_group.green", "the colour takes no traffic"),
            (
                "autoscaling_group.worker",
                "not a colour of a [blue_green] pair",
            ),
        ] {
            let c = change(&p, group);
            assert_eq!(c.instance_batch, None, "{group}");
            assert!(c.blocked.is_none(), "{group}");
            assert_eq!(
                c.reason.as_deref(),
                Some(format!("3 instances on an older version: replaced by the default one, all at once, new ones first ({why})").as_str())
            );
        }
    }
}
