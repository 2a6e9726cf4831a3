//! A picture of a plan for a reviewer (`plan --graph`, the Mermaid block of
//! `plan --markdown`): the changed resources and their unchanged neighbours
//! (what they depend on, what depends on them), grouped by region and VPC.
//! Never more than `MAX_NODES` nodes however big the stack: unchanged
//! neighbours are counted per kind, and when that is not enough, changes
//! too (`12 × subnet +`).

use super::{Action, Adoption, Plan};
use crate::model::{Address, Kind};
use crate::stack::Stack;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The most nodes a picture has: a page a reviewer reads at a glance.
pub const MAX_NODES: usize = 50;

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Graph {
    pub nodes: Vec<Node>,
    /// Dependency → dependent (`vpc.main` → `subnet.a`).
    pub edges: Vec<Edge>,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Node {
    pub id: String,
    /// `kind.name`, or the kind of the resources it counts.
    pub label: String,
    pub region: String,
    /// The VPC it is in (`vpc.main`), when it is in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc: Option<String>,
    pub mark: Mark,
    /// How many resources it stands for (1: itself).
    pub count: usize,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub protected: bool,
    /// A blue-green pair's forward that the change switches.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub switch: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Edge {
    pub from: String,
    pub to: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Create,
    Update,
    Replace,
    Delete,
    Import,
    Adopt,
    Forget,
    Unchanged,
}

impl Mark {
    fn symbol(self) -> &'static str {
        match self {
            Mark::Create => "+",
            Mark::Update => "~",
            Mark::Replace => "-/+",
            Mark::Delete => "-",
            Mark::Import => "=",
            Mark::Adopt => "+=",
            Mark::Forget => "-=",
            Mark::Unchanged => "",
        }
    }

    fn colours(self) -> (&'static str, &'static str) {
        match self {
            Mark::Create | Mark::Adopt => ("#d3f9d8", "#2b8a3e"),
            Mark::Update => ("#fff3bf", "#e67700"),
            Mark::Replace => ("#ffe8cc", "#d9480f"),
            Mark::Delete | Mark::Forget => ("#ffe3e3", "#c92a2a"),
            Mark::Import => ("#d0ebff", "#1864ab"),
            Mark::Unchanged => ("#f1f3f5", "#868e96"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mark::Create => "create",
            Mark::Update => "update",
            Mark::Replace => "replace",
            Mark::Delete => "delete",
            Mark::Import => "import",
            Mark::Adopt => "adopt",
            Mark::Forget => "forget",
            Mark::Unchanged => "unchanged",
        }
    }
}

/// One resource in one region, before grouping.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Item {
    region: String,
    address: Address,
}

/// What a node is made of: one changed resource, or a count.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    One(Item),
    Many {
        region: String,
        vpc: Option<String>,
        kind: Kind,
        mark: Mark,
    },
}

/// The picture of `plan` of `stack`.
pub fn build(plan: &Plan, stack: &Stack) -> Graph {
    let deps = dependencies(stack);
    let mut marks: BTreeMap<Item, (Mark, bool, bool)> = BTreeMap::new();
    let mut regions_of: BTreeMap<&Address, Vec<&str>> = BTreeMap::new();
    for c in &plan.changes {
        let mark = match (c.adoption, c.action) {
            (Some(Adoption::Import), _) => Mark::Import,
            (Some(Adoption::Adopt), _) => Mark::Adopt,
            (Some(Adoption::Forget), _) => Mark::Forget,
            (None, Action::Create) => Mark::Create,
            (None, Action::Update) => Mark::Update,
            (None, Action::Replace) => Mark::Replace,
            (None, Action::Delete) => Mark::Delete,
            (None, Action::NoOp) => Mark::Unchanged,
        };
        // A change of the forward a blue-green pair owns moves traffic.
        let switch = mark == Mark::Update
            && stack.blue_green.contains_key(&c.address)
            && c.attributes.iter().any(|a| a.name.contains("action"));
        let item = Item {
            region: c.region.clone(),
            address: c.address.clone(),
        };
        regions_of.entry(&c.address).or_default().push(&c.region);
        marks.insert(item, (mark, c.protected, switch));
    }
    // The same address in the item's region, or (a global kind) wherever
    // the plan has it.
    let locate = |region: &str, address: &Address| -> Option<Item> {
        let here = Item {
            region: region.to_string(),
            address: address.clone(),
        };
        if marks.contains_key(&here) {
            return Some(here);
        }
        let there = regions_of.get(address)?.first()?;
        Some(Item {
            region: there.to_string(),
            address: address.clone(),
        })
    };
    let mut edges: BTreeSet<(Item, Item)> = BTreeSet::new();
    for item in marks.keys() {
        for dep in deps.get(&item.address).into_iter().flatten() {
            if let Some(from) = locate(&item.region, dep) {
                edges.insert((from, item.clone()));
            }
        }
    }
    let changed = |i: &Item| marks.get(i).is_some_and(|m| m.0 != Mark::Unchanged);
    let mut shown: BTreeSet<Item> = marks.keys().filter(|i| changed(i)).cloned().collect();
    for (from, to) in &edges {
        if changed(from) || changed(to) {
            shown.insert(from.clone());
            shown.insert(to.clone());
        }
    }
    let vpcs = vpc_of(stack, &deps);
    let vpc = |i: &Item| vpcs.get(&i.address).map(ToString::to_string);
    // Coarser and coarser until the picture fits: unchanged neighbours per
    // region, VPC and kind; then changes too; then without the VPC.
    let mut keys = BTreeMap::new();
    for level in 0..3 {
        keys = shown
            .iter()
            .map(|i| {
                let (mark, ..) = marks[i];
                let many = mark == Mark::Unchanged || level >= 1;
                let key = match many {
                    false => Key::One(i.clone()),
                    true => Key::Many {
                        region: i.region.clone(),
                        vpc: if level >= 2 { None } else { vpc(i) },
                        kind: i.address.kind,
                        mark,
                    },
                };
                (i.clone(), key)
            })
            .collect::<BTreeMap<Item, Key>>();
        if keys.values().collect::<BTreeSet<_>>().len() <= MAX_NODES {
            break;
        }
    }
    let mut members: BTreeMap<&Key, Vec<&Item>> = BTreeMap::new();
    for (item, key) in &keys {
        members.entry(key).or_default().push(item);
    }
    let mut ids: BTreeMap<&Key, String> = BTreeMap::new();
    let mut nodes = vec![];
    for (n, (key, items)) in members.iter().take(MAX_NODES).enumerate() {
        let id = format!("n{n}");
        ids.insert(key, id.clone());
        let first = items[0];
        let label = match key {
            Key::Many { kind, .. } if items.len() > 1 => kind.as_str().to_string(),
            _ => first.address.to_string(),
        };
        nodes.push(Node {
            id,
            label,
            region: first.region.clone(),
            vpc: match key {
                Key::Many { vpc, .. } => vpc.clone(),
                Key::One(item) => vpc(item),
            },
            mark: marks[first].0,
            count: items.len(),
            protected: items.iter().any(|i| marks[*i].1),
            switch: items.iter().any(|i| marks[*i].2),
        });
    }
    let mut linked: BTreeSet<(String, String)> = BTreeSet::new();
    for (from, to) in &edges {
        let (Some(a), Some(b)) = (keys.get(from), keys.get(to)) else {
            continue;
        };
        let (Some(a), Some(b)) = (ids.get(a), ids.get(b)) else {
            continue;
        };
        if a != b {
            linked.insert((a.clone(), b.clone()));
        }
    }
    Graph {
        nodes,
        edges: linked
            .into_iter()
            .map(|(from, to)| Edge { from, to })
            .collect(),
    }
}

/// What each block refers to.
fn dependencies(stack: &Stack) -> BTreeMap<Address, Vec<Address>> {
    stack
        .resources
        .values()
        .map(|r| {
            let deps = r
                .spec
                .references()
                .iter()
                .filter_map(|f| f.reference.get_ref().address().cloned())
                .collect();
            (r.address.clone(), deps)
        })
        .collect()
}

/// The VPC each block is in: the first one its references lead to.
fn vpc_of(stack: &Stack, deps: &BTreeMap<Address, Vec<Address>>) -> BTreeMap<Address, Address> {
    let mut out = BTreeMap::new();
    for address in stack.resources.keys() {
        let mut seen = BTreeSet::new();
        let mut queue = vec![address.clone()];
        while let Some(a) = queue.pop() {
            if a.kind == Kind::Vpc {
                out.insert(address.clone(), a);
                break;
            }
            if seen.insert(a.clone()) {
                queue.extend(deps.get(&a).into_iter().flatten().cloned());
            }
        }
    }
    out
}

impl Node {
    /// `~ listener_rule.app`, `12 × subnet`, with what a reviewer must see.
    fn text(&self) -> String {
        let mut text = match (self.mark.symbol(), self.count) {
            ("", 1) => self.label.clone(),
            ("", n) => format!("{n} × {}", self.label),
            (symbol, 1) => format!("{symbol} {}", self.label),
            (symbol, n) => format!("{symbol} {n} × {}", self.label),
        };
        if self.protected {
            text.push_str(" (protected)");
        }
        if self.switch {
            text.push_str(" (blue-green switch)");
        }
        text
    }
}

/// Regions, then VPCs within them, each with its nodes.
fn clusters(graph: &Graph) -> BTreeMap<&str, BTreeMap<Option<&str>, Vec<&Node>>> {
    let mut out: BTreeMap<&str, BTreeMap<Option<&str>, Vec<&Node>>> = BTreeMap::new();
    for node in &graph.nodes {
        out.entry(&node.region)
            .or_default()
            .entry(node.vpc.as_deref())
            .or_default()
            .push(node);
    }
    out
}

/// The picture as a Mermaid flowchart (GitHub draws it in a comment).
pub fn mermaid(graph: &Graph) -> String {
    let quote = |s: &str| s.replace('"', "#quot;");
    let mut out = String::from("flowchart LR\n");
    for (r, (region, vpcs)) in clusters(graph).into_iter().enumerate() {
        let _ = writeln!(out, "  subgraph r{r}[\"{}\"]", quote(region));
        for (v, (vpc, nodes)) in vpcs.into_iter().enumerate() {
            let indent = match vpc {
                Some(vpc) => {
                    let _ = writeln!(out, "    subgraph r{r}v{v}[\"{}\"]", quote(vpc));
                    "      "
                }
                None => "    ",
            };
            for node in nodes {
                let _ = writeln!(
                    out,
                    "{indent}{}[\"{}\"]:::{}",
                    node.id,
                    quote(&node.text()),
                    node.mark.name()
                );
            }
            if vpc.is_some() {
                out.push_str("    end\n");
            }
        }
        out.push_str("  end\n");
    }
    for edge in &graph.edges {
        let _ = writeln!(out, "  {} --> {}", edge.from, edge.to);
    }
    let used: BTreeSet<Mark> = graph.nodes.iter().map(|n| n.mark).collect();
    for mark in used {
        let (fill, stroke) = mark.colours();
        let _ = writeln!(
            out,
            "  classDef {} fill:{fill},stroke:{stroke},color:#212529",
            mark.name()
        );
    }
    out
}

/// The picture in Graphviz's DOT.
pub fn dot(graph: &Graph) -> String {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::from(
        "digraph plan {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n",
    );
    let mut cluster = 0;
    for (region, vpcs) in clusters(graph) {
        let _ = writeln!(
            out,
            "  subgraph cluster_{cluster} {{\n    label=\"{}\";",
            quote(region)
        );
        cluster += 1;
        for (vpc, nodes) in vpcs {
            if let Some(vpc) = vpc {
                let _ = writeln!(
                    out,
                    "    subgraph cluster_{cluster} {{\n      label=\"{}\";",
                    quote(vpc)
                );
                cluster += 1;
            }
            for node in nodes {
                let (fill, stroke) = node.mark.colours();
                let _ = writeln!(
                    out,
                    "    {} [label=\"{}\", fillcolor=\"{fill}\", color=\"{stroke}\"];",
                    node.id,
                    quote(&node.text())
                );
            }
            if vpc.is_some() {
                out.push_str("    }\n");
            }
        }
        out.push_str("  }\n");
    }
    for edge in &graph.edges {
        let _ = writeln!(out, "  {} -> {};", edge.from, edge.to);
    }
    out.push_str("}\n");
    out
}

/// A rollout's waves as a picture (`rollout --graph`): each wave with its
/// regions, bake and parallelism, in order; with `changes` (a saved plan's),
/// how many changes each region has.
pub fn waves(
    rollout: &crate::stack::rollout::Rollout,
    changes: Option<&BTreeMap<String, usize>>,
    format: Format,
) -> String {
    let bake = |w: &crate::stack::rollout::Wave| {
        let mut text = format!("bake {}", humantime::format_duration(w.bake));
        if w.max_parallel > 1 {
            let _ = write!(text, ", {} at once", w.max_parallel);
        }
        text
    };
    let region = |r: &str| match changes.and_then(|c| c.get(r)) {
        Some(0) => format!("{r}: no changes"),
        Some(1) => format!("{r}: 1 change"),
        Some(n) => format!("{r}: {n} changes"),
        None => r.to_string(),
    };
    let mut out = String::new();
    match format {
        Format::Mermaid => {
            out.push_str("flowchart LR\n");
            for (i, w) in rollout.waves.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "  subgraph w{i}[\"{}. {} ({})\"]",
                    i + 1,
                    w.name,
                    bake(w)
                );
                for (j, r) in w.regions.iter().enumerate() {
                    let _ = writeln!(out, "    w{i}r{j}[\"{}\"]", region(r));
                }
                out.push_str("  end\n");
            }
            for i in 1..rollout.waves.len() {
                let _ = writeln!(out, "  w{} --> w{i}", i - 1);
            }
        }
        Format::Dot => {
            out.push_str("digraph rollout {\n  rankdir=LR;\n  compound=true;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
            for (i, w) in rollout.waves.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "  subgraph cluster_{i} {{\n    label=\"{}. {} ({})\";",
                    i + 1,
                    w.name,
                    bake(w)
                );
                for (j, r) in w.regions.iter().enumerate() {
                    let _ = writeln!(out, "    w{i}r{j} [label=\"{}\"];", region(r));
                }
                out.push_str("  }\n");
            }
            for i in 1..rollout.waves.len() {
                let _ = writeln!(
                    out,
                    "  w{}r0 -> w{i}r0 [ltail=cluster_{}, lhead=cluster_{i}];",
                    i - 1,
                    i - 1
                );
            }
            out.push_str("}\n");
        }
    }
    out
}

/// How a picture is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Mermaid: GitHub draws it in comments and markdown.
    Mermaid,
    /// Graphviz's DOT.
    Dot,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    /// The demo stack and `extra` security groups in its VPC: a stack of
    /// about 300 resources in two regions.
    fn big(extra: usize) -> Stack {
        let mut text = testing::DEMO.to_string();
        for n in 0..extra {
            let _ = write!(
                text,
                "\n[security_group.extra_{n}]\nvpc = \"vpc.main\"\ndescription = \"extra {n}\"\n"
            );
        }
        testing::stack(&text)
    }

    fn plan_with(stack: &Stack, edit: impl Fn(&mut crate::model::LiveRegion)) -> Plan {
        let live = stack
            .regions
            .iter()
            .map(|r| {
                let mut live = testing::applied(stack, r);
                if r == &stack.regions[0] {
                    edit(&mut live);
                }
                (r.clone(), live)
            })
            .collect();
        crate::plan::build(stack, &stack.regions, &live)
    }

    #[test]
    fn a_one_rule_change_in_a_big_stack_draws_the_rule_and_its_neighbours() {
        let stack = big(140);
        let plan = plan_with(&stack, |live| {
            let rule = testing::live_mut(live, "listener_rule.app");
            rule.attrs
                .insert("priority".into(), crate::model::Value::Int(7));
        });
        assert!(plan.changes.len() >= 300, "{}", plan.changes.len());
        let changed: Vec<_> = plan
            .changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .collect();
        assert_eq!(changed.len(), 1, "{changed:?}");
        let graph = build(&plan, &stack);
        assert!(graph.nodes.len() <= MAX_NODES);
        let rule = graph
            .nodes
            .iter()
            .find(|n| n.label == "listener_rule.app")
            .expect("the rule is drawn");
        assert_eq!(rule.mark, Mark::Update);
        assert_eq!(rule.count, 1);
        // Its neighbours, unchanged: what it forwards through and to.
        let neighbours: BTreeSet<&str> = graph
            .edges
            .iter()
            .filter(|e| e.to == rule.id)
            .filter_map(|e| graph.nodes.iter().find(|n| n.id == e.from))
            .map(|n| n.label.as_str())
            .collect();
        assert!(neighbours.contains("listener.http"), "{neighbours:?}");
        assert!(graph
            .nodes
            .iter()
            .filter(|n| n.id != rule.id)
            .all(|n| n.mark == Mark::Unchanged));
        let text = mermaid(&graph);
        assert!(text.contains("[\"~ listener_rule.app"), "{text}");
        assert!(text.starts_with("flowchart LR\n"));
        assert!(dot(&graph).contains("label=\"~ listener_rule.app"));
    }

    #[test]
    fn a_change_everything_depends_on_collapses_what_depends_on_it_into_counts() {
        let stack = big(140);
        let plan = plan_with(&stack, |live| {
            let vpc = testing::live_mut(live, "vpc.main");
            vpc.attrs.insert(
                "tags".into(),
                crate::model::Value::Map(BTreeMap::from([(
                    "team".to_string(),
                    crate::model::Value::Str("elsewhere".into()),
                )])),
            );
        });
        let graph = build(&plan, &stack);
        assert!(graph.nodes.len() <= MAX_NODES, "{}", graph.nodes.len());
        let vpc = graph
            .nodes
            .iter()
            .find(|n| n.label == "vpc.main" && n.mark == Mark::Update)
            .expect("the VPC is drawn");
        let groups = graph
            .nodes
            .iter()
            .find(|n| n.label == "security_group" && n.mark == Mark::Unchanged)
            .expect("its security groups, counted");
        assert!(groups.count >= 140, "{}", groups.count);
        assert!(graph.edges.contains(&Edge {
            from: vpc.id.clone(),
            to: groups.id.clone()
        }));
        assert!(mermaid(&graph).contains(&format!("{} × security_group", groups.count)));
    }

    #[test]
    fn many_changes_are_counted_too_and_the_picture_stays_small() {
        let stack = big(200);
        let plan = plan_with(&stack, |live| {
            live.resources
                .retain(|o| !o.address.name.starts_with("extra_"));
        });
        let created = plan
            .changes
            .iter()
            .filter(|c| c.action == Action::Create)
            .count();
        assert_eq!(created, 200);
        let graph = build(&plan, &stack);
        assert!(graph.nodes.len() <= MAX_NODES, "{}", graph.nodes.len());
        let counted = graph
            .nodes
            .iter()
            .find(|n| n.mark == Mark::Create && n.label == "security_group")
            .expect("the creates, counted");
        assert_eq!(counted.count, 200);
        assert!(mermaid(&graph).contains("+ 200 × security_group"));
    }

    #[test]
    fn a_changed_forward_of_a_blue_green_pair_is_marked_a_switch() {
        let stack = big(0);
        let plan = plan_with(&stack, |live| {
            let rule = testing::live_mut(live, "listener_rule.app");
            rule.attrs.insert(
                "action".into(),
                crate::model::Value::Str("elsewhere".into()),
            );
        });
        let graph = build(&plan, &stack);
        let rule = graph
            .nodes
            .iter()
            .find(|n| n.label == "listener_rule.app")
            .expect("the rule");
        assert!(rule.switch, "{rule:?}");
        assert!(mermaid(&graph).contains("~ listener_rule.app (blue-green switch)"));
    }

    #[test]
    fn a_rollouts_waves_are_drawn_in_order_with_each_regions_changes() {
        let stack = testing::stack(testing::WAVES);
        let rollout = crate::stack::rollout::Rollout::of(&stack);
        let changes = BTreeMap::from([("us-west-2".to_string(), 3), ("us-east-1".to_string(), 0)]);
        let text = waves(&rollout, Some(&changes), Format::Mermaid);
        assert_eq!(
            text,
            "flowchart LR\n  subgraph w0[\"1. canary (bake 10m)\"]\n    w0r0[\"us-west-2: 3 changes\"]\n  end\n  \
             subgraph w1[\"2. wide (bake 10m)\"]\n    w1r0[\"us-east-1: no changes\"]\n  end\n  w0 --> w1\n"
        );
        let dot = waves(&rollout, None, Format::Dot);
        assert!(
            dot.contains("label=\"1. canary (bake 10m)\"") && dot.contains("w0r0 -> w1r0"),
            "{dot}"
        );
    }
}
