//! `reconcile status`: per region, in sync or how many changes are pending,
//! the version labels live, each blue-green pair's active colour and weights
//! with its last cutover record, and the protected resources.

use super::verify::colour_id;
use crate::aws::cloud::{Discover, TrafficSwitch};
use crate::model::shapes::{share, Action};
use crate::model::tags::record;
use crate::model::{Kind, LiveRegion, Observed, Value, VERSION_HANDLE};
use crate::plan::Action as Change;
use crate::stack::{Colour, Stack};
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct RegionStatus {
    pub region: String,
    /// Changes a plan would make now (0: in sync).
    pub pending: usize,
    pub resources: usize,
    /// Version label → how many live resources carry it (`unlabelled` for none).
    pub versions: BTreeMap<String, usize>,
    pub blue_green: Vec<PairStatus>,
    pub protected: Vec<String>,
    /// The record of the newest apply or rollout here: the one tagged on the
    /// resource it changed last (time, operator, version, ticket).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub last_change: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct PairStatus {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<Colour>,
    pub weights: BTreeMap<&'static str, i64>,
    /// What each colour runs: its group's image and template version, or
    /// its instances' images.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub runs: BTreeMap<&'static str, String>,
    /// The last cutover's record on the listener or rule.
    pub record: BTreeMap<String, String>,
}

pub async fn run<C: Discover + TrafficSwitch>(
    cloud: &C,
    stack: &Stack,
) -> Result<Vec<RegionStatus>> {
    let planned = super::plan::run(cloud, stack, &[], Default::default()).await?;
    let stack = &planned.stack;
    let regions = planned.plan.regions.iter().map(|region| {
        let planned = &planned;
        async move {
            let live = planned.live.get(region).cloned().unwrap_or_default();
            let pending = planned
                .plan
                .changes
                .iter()
                .filter(|c| &c.region == region && c.action != Change::NoOp)
                .count();
            let mut versions = BTreeMap::new();
            for o in &live.resources {
                let label = o
                    .handles
                    .get(VERSION_HANDLE)
                    .cloned()
                    .unwrap_or_else(|| "unlabelled".into());
                *versions.entry(label).or_default() += 1;
            }
            let protected = live
                .resources
                .iter()
                .filter(|o| o.protected())
                .map(|o| o.address.to_string())
                .collect();
            let mut pairs = Vec::new();
            for (owner, bg) in &stack.blue_green {
                let Some(o) = live.resources.iter().find(|o| &o.address == owner) else {
                    continue;
                };
                let Some(key) = owner.kind.forward_attribute() else {
                    continue;
                };
                let targets = o
                    .attrs
                    .get(key)
                    .and_then(Action::parse)
                    .and_then(|a| a.targets().map(<[_]>::to_vec))
                    .unwrap_or_default();
                let weights: BTreeMap<&'static str, i64> = [Colour::Blue, Colour::Green]
                    .into_iter()
                    .filter_map(|c| {
                        Some((
                            c.as_str(),
                            share(&targets, &colour_id(&live, bg.colour(c))?),
                        ))
                    })
                    .collect();
                let runs = [Colour::Blue, Colour::Green]
                    .into_iter()
                    .filter_map(|c| {
                        Some((c.as_str(), runs(&live, &colour_id(&live, bg.colour(c))?)?))
                    })
                    .collect();
                let active = [Colour::Blue, Colour::Green]
                    .into_iter()
                    .find(|c| weights.get(c.as_str()) == Some(&100));
                let record = cloud
                    .recorded(region, &o.live_id)
                    .await
                    .map(|tags| crate::model::tags::cutover::of(&tags))
                    .unwrap_or_default();
                pairs.push(PairStatus {
                    name: bg.name.clone(),
                    active,
                    weights,
                    runs,
                    record,
                });
            }
            let last_change = live
                .resources
                .iter()
                .filter_map(|o| Some((o.handles.get(record::TIME)?, &o.handles)))
                .max_by(|a, b| a.0.cmp(b.0))
                .map(|(_, handles)| handles.clone())
                .unwrap_or_default();
            RegionStatus {
                last_change,
                region: region.clone(),
                pending,
                resources: live.resources.len(),
                versions,
                blue_green: pairs,
                protected,
            }
        }
    });
    Ok(futures::future::join_all(regions).await)
}

/// What serves target group `target_group`: the Auto Scaling groups that
/// register in it (image, template version, instances on it) and the
/// instances registered in it (their images).
fn runs(live: &LiveRegion, target_group: &str) -> Option<String> {
    let serves = |o: &&Observed| {
        matches!(o.attrs.get("target_groups"), Some(Value::List(all))
            if all.iter().any(|v| v.as_str() == Some(target_group)))
    };
    let text =
        |o: &Observed, key: &str| o.attrs.get(key).and_then(Value::as_str).map(str::to_string);
    let mut said = Vec::new();
    for g in live
        .resources
        .iter()
        .filter(|o| o.address.kind == Kind::AutoscalingGroup)
        .filter(serves)
    {
        let template = text(g, "launch_template")
            .and_then(|id| live.resources.iter().find(|o| o.live_id == id));
        let image = template
            .and_then(|t| text(t, "ami"))
            .unwrap_or_else(|| "?".into());
        let version = template
            .and_then(|t| t.exports.get("version"))
            .map(|v| format!(" version {v}"))
            .unwrap_or_default();
        let from = template
            .map(|t| format!(" ({}{version})", t.address))
            .unwrap_or_default();
        let instances = text(g, "instances")
            .map(|i| format!(", instances {i}"))
            .unwrap_or_default();
        said.push(format!("{}: {image}{from}{instances}", g.address));
    }
    let mut images: BTreeMap<String, usize> = BTreeMap::new();
    for i in live
        .resources
        .iter()
        .filter(|o| o.address.kind == Kind::Instance)
        .filter(serves)
    {
        *images
            .entry(text(i, "ami").unwrap_or_else(|| "?".into()))
            .or_default() += 1;
    }
    said.extend(
        images
            .into_iter()
            .map(|(image, n)| format!("{n} instance{}: {image}", if n == 1 { "" } else { "s" })),
    );
    (!said.is_empty()).then(|| said.join("; "))
}
