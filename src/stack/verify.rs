//! `[[verify]]`: the declared checks, validated at load (located errors), and
//! the `${blue_green.NAME.COLOUR}` placeholders their dimensions may use.

use super::spec::VerifySpec;
use super::validate::Checker;
use super::Stack;
use crate::model::{Address, Kind};
use crate::stack::spec::Spanned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// A validated `[[verify]]` block.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    /// The regions it is judged in; `None`: every region of the stack.
    pub regions: Option<Vec<String>>,
    /// In a soak or bake, how many failed evaluations in a row fail it.
    pub consecutive: u32,
    /// What a window without data (or an alarm without enough) counts as.
    pub no_data: NoData,
    pub watch: Watch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    Pass,
    Fail,
}

#[derive(Debug, Clone)]
pub enum Watch {
    Metric(MetricWatch),
    Alarm(AlarmRef),
}

/// A statistic of a metric over a window of whole periods, held to `min`/`max`.
#[derive(Debug, Clone)]
pub struct MetricWatch {
    pub namespace: String,
    pub metric: String,
    /// Values may hold `${kind.name.attr}` and `${blue_green.NAME.COLOUR}`.
    pub dimensions: BTreeMap<String, String>,
    pub statistic: String,
    pub period: Duration,
    pub window: Duration,
    /// The newest, still-filling periods left out of the window.
    pub lag: Duration,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmRef {
    /// `alarm = "alarm.x"`: an alarm of this stack.
    Stack(Address),
    /// `alarm_name = "…"`: anyone's alarm, by its CloudWatch name.
    Named(String),
}

/// Which colour of a blue-green pair a placeholder names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColourRole {
    Blue,
    Green,
    /// The colour receiving new traffic: in a cutover, its `--to`; otherwise
    /// the one with the larger live weight.
    Target,
    /// The other one.
    Source,
}

const STATISTICS: [&str; 5] = ["Sum", "Average", "Minimum", "Maximum", "SampleCount"];
const PREFIX: &str = "blue_green.";

/// Whether `s` is a statistic CloudWatch computes: one of `STATISTICS`, or a
/// percentile `p0`…`p100` (decimals allowed, `p99.9`).
pub fn is_statistic(s: &str) -> bool {
    STATISTICS.contains(&s)
        || s.strip_prefix('p').is_some_and(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_digit() || c == '.')
                && p.parse::<f64>().is_ok_and(|v| (0.0..=100.0).contains(&v))
        })
}

/// The `${blue_green.NAME.COLOUR}` placeholders of a template, in order.
pub fn colour_placeholders(template: &str) -> Result<Vec<(String, ColourRole)>, String> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let inner = &after[..end];
        if let Some(named) = inner.strip_prefix(PREFIX) {
            let (name, colour) = named.rsplit_once('.').unwrap_or((named, ""));
            let role = match colour {
                "blue" => ColourRole::Blue,
                "green" => ColourRole::Green,
                "target" => ColourRole::Target,
                "source" => ColourRole::Source,
                _ => {
                    return Err(format!(
                        "`${{{inner}}}` names no colour: write ${{blue_green.NAME.blue}}, .green, .target or .source"
                    ))
                }
            };
            found.push((name.to_string(), role));
        }
        rest = &after[end + 1..];
    }
    Ok(found)
}

/// The template with its colour placeholders replaced by `colour(NAME, role)`;
/// `None` when one is not known.
pub fn render_colours(
    template: &str,
    colour: impl Fn(&str, ColourRole) -> Option<String>,
) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let inner = &after[..end];
        out.push_str(&rest[..start]);
        match inner.strip_prefix(PREFIX) {
            Some(named) => {
                let (name, _) = named.rsplit_once('.')?;
                let role = colour_placeholders(&rest[start..start + end + 3])
                    .ok()?
                    .first()?
                    .1;
                out.push_str(&colour(name, role)?);
            }
            None => out.push_str(&rest[start..start + end + 3]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}); write it as 30s, 5m or 1h"))
}

impl Checker {
    /// Every `[[verify]]` block, validated; the valid ones.
    pub(super) fn checks(&mut self, stack: &Stack, blocks: Vec<Spanned<VerifySpec>>) -> Vec<Check> {
        let mut names = BTreeMap::new();
        let mut out = Vec::new();
        for block in blocks {
            let span = block.span();
            let v = block.into_inner();
            let name = v.name.get_ref().clone();
            if let Some(first) = names.insert(name.clone(), v.name.span()) {
                let d = self.error(
                    v.name.span(),
                    format!("two [[verify]] checks are named `{name}`"),
                );
                d.help = Some(format!(
                    "the other one is at byte {}; give each check its own name",
                    first.start
                ));
            }
            if let Some(check) = self.check(stack, &name, span, v) {
                out.push(check);
            }
        }
        out
    }

    fn check(
        &mut self,
        stack: &Stack,
        name: &str,
        span: std::ops::Range<usize>,
        v: VerifySpec,
    ) -> Option<Check> {
        let errors = self.diagnostics.len();
        let regions = v
            .regions
            .as_ref()
            .map(|r| self.regions(r, Some(&stack.regions)));
        let consecutive = match &v.consecutive {
            None => 1,
            Some(c) => u32::try_from(*c.get_ref())
                .ok()
                .filter(|n| *n >= 1)
                .unwrap_or_else(|| {
                    self.error(
                        c.span(),
                        format!("verify `{name}`: consecutive must be at least 1"),
                    );
                    1
                }),
        };
        let no_data = match v.no_data.as_ref().map(|n| (n.get_ref().as_str(), n.span())) {
            None | Some(("fail", _)) => NoData::Fail,
            Some(("pass", _)) => NoData::Pass,
            Some((other, span)) => {
                let d = self.error(
                    span,
                    format!(
                        "verify `{name}`: no_data = \"{other}\" is neither \"pass\" nor \"fail\""
                    ),
                );
                d.help = Some("\"fail\" (the default) fails a window without data; \"pass\" suits counts that publish nothing when nothing happens, such as 5xx".into());
                NoData::Fail
            }
        };
        let metric_keys = [
            v.namespace.as_ref().map(Spanned::span),
            v.metric.as_ref().map(Spanned::span),
            v.statistic.as_ref().map(Spanned::span),
            v.period.as_ref().map(Spanned::span),
            v.window.as_ref().map(Spanned::span),
            v.lag.as_ref().map(Spanned::span),
            v.min.as_ref().map(Spanned::span),
            v.max.as_ref().map(Spanned::span),
        ];
        let watch = match (&v.alarm, &v.alarm_name) {
            (Some(_), Some(b)) => {
                self.error(
                    b.span(),
                    format!("verify `{name}`: give `alarm` or `alarm_name`, not both"),
                );
                return None;
            }
            (Some(_), None) | (None, Some(_)) => {
                if let Some(extra) = metric_keys
                    .iter()
                    .flatten()
                    .next()
                    .cloned()
                    .or_else(|| v.dimensions.values().next().map(Spanned::span))
                {
                    let d = self.error(
                        extra,
                        format!("verify `{name}` watches an alarm: metric keys do not belong here"),
                    );
                    d.help = Some("an alarm check has name, alarm (or alarm_name), no_data, regions and consecutive".into());
                }
                Watch::Alarm(self.alarm_ref(
                    stack,
                    name,
                    v.alarm.as_ref(),
                    v.alarm_name.as_ref(),
                )?)
            }
            (None, None) => Watch::Metric(self.metric_watch(stack, name, span, &v)?),
        };
        (self.diagnostics.len() == errors).then(|| Check {
            name: name.to_string(),
            regions,
            consecutive,
            no_data,
            watch,
        })
    }

    fn alarm_ref(
        &mut self,
        stack: &Stack,
        name: &str,
        alarm: Option<&Spanned<String>>,
        alarm_name: Option<&Spanned<String>>,
    ) -> Option<AlarmRef> {
        if let Some(n) = alarm_name {
            if n.get_ref().trim().is_empty() {
                self.error(n.span(), format!("verify `{name}`: alarm_name is empty"));
                return None;
            }
            return Some(AlarmRef::Named(n.get_ref().clone()));
        }
        let a = alarm?;
        match Address::parse(a.get_ref()) {
            Some(address)
                if address.kind == Kind::Alarm && stack.resources.contains_key(&address) =>
            {
                Some(AlarmRef::Stack(address))
            }
            _ => {
                let declared: Vec<String> = stack
                    .resources
                    .keys()
                    .filter(|k| k.kind == Kind::Alarm)
                    .map(ToString::to_string)
                    .collect();
                let d = self.error(
                    a.span(),
                    format!(
                        "verify `{name}`: `{}` is not an alarm of this stack",
                        a.get_ref()
                    ),
                );
                d.help = Some(if declared.is_empty() {
                    "declare it as [alarm.NAME], or name someone else's alarm with alarm_name = \"…\"".into()
                } else {
                    format!(
                        "declared alarms: {}; or alarm_name = \"…\" for another alarm",
                        declared.join(", ")
                    )
                });
                None
            }
        }
    }

    fn metric_watch(
        &mut self,
        stack: &Stack,
        name: &str,
        span: std::ops::Range<usize>,
        v: &VerifySpec,
    ) -> Option<MetricWatch> {
        let missing = |key: &str, this: &mut Checker| {
            let d = this.error(span.clone(), format!("verify `{name}` has no `{key}`"));
            d.help = Some("a metric check needs namespace, metric and statistic, and min or max; an alarm check needs alarm or alarm_name".into());
        };
        let (Some(namespace), Some(metric), Some(statistic)) =
            (&v.namespace, &v.metric, &v.statistic)
        else {
            for (key, present) in [
                ("namespace", v.namespace.is_some()),
                ("metric", v.metric.is_some()),
                ("statistic", v.statistic.is_some()),
            ] {
                if !present {
                    missing(key, self);
                }
            }
            return None;
        };
        if !is_statistic(statistic.get_ref()) {
            let d = self.error(
                statistic.span(),
                format!(
                    "verify `{name}`: unknown statistic `{}`",
                    statistic.get_ref()
                ),
            );
            d.help = Some(format!(
                "one of {}, or a percentile such as p99 or p99.9",
                STATISTICS.join(", ")
            ));
        }
        if v.min.is_none() && v.max.is_none() {
            missing("min` or `max", self);
        }
        if let (Some(min), Some(max)) = (&v.min, &v.max) {
            if min.get_ref() > max.get_ref() {
                self.error(
                    min.span(),
                    format!("verify `{name}`: min is above max; nothing could pass"),
                );
            }
        }
        let parse = |key: &str,
                     value: Option<&Spanned<String>>,
                     default: Duration,
                     this: &mut Checker| match value {
            None => Some(default),
            Some(text) => match duration(text.get_ref()) {
                Ok(d) => Some(d),
                Err(message) => {
                    this.error(text.span(), format!("verify `{name}`: {key}: {message}"));
                    None
                }
            },
        };
        let period = parse("period", v.period.as_ref(), Duration::from_secs(60), self);
        let window = parse("window", v.window.as_ref(), Duration::from_secs(300), self);
        let lag = parse("lag", v.lag.as_ref(), Duration::from_secs(120), self);
        let (period, window, lag) = (period?, window?, lag?);
        let at = |key: Option<&Spanned<String>>| key.map_or(span.clone(), Spanned::span);
        if period.as_secs() == 0 || period.as_secs() % 60 != 0 || period.subsec_nanos() != 0 {
            let d = self.error(
                at(v.period.as_ref()),
                format!("verify `{name}`: period must be whole minutes"),
            );
            d.help = Some("CloudWatch keeps standard metrics per minute: 1m, 5m, 1h".into());
        } else if window.is_zero()
            || window.as_secs() % period.as_secs() != 0
            || window.subsec_nanos() != 0
        {
            let d = self.error(
                at(v.window.as_ref()),
                format!(
                    "verify `{name}`: window {} is not a whole number of periods ({})",
                    humantime::format_duration(window),
                    humantime::format_duration(period)
                ),
            );
            d.help = Some("make the window a multiple of the period, for example window = \"5m\" with period = \"1m\"".into());
        }
        for (key, template) in &v.dimensions {
            self.dimension(stack, name, key, template);
        }
        Some(MetricWatch {
            namespace: namespace.get_ref().clone(),
            metric: metric.get_ref().clone(),
            dimensions: v
                .dimensions
                .iter()
                .map(|(k, t)| (k.clone(), t.get_ref().clone()))
                .collect(),
            statistic: statistic.get_ref().clone(),
            period,
            window,
            lag,
            min: v.min.as_ref().map(|m| *m.get_ref()),
            max: v.max.as_ref().map(|m| *m.get_ref()),
        })
    }

    /// A dimension's placeholders name a declared pair and colour, and live
    /// attributes of declared blocks.
    fn dimension(&mut self, stack: &Stack, name: &str, key: &str, template: &Spanned<String>) {
        match colour_placeholders(template.get_ref()) {
            Err(message) => {
                self.error(
                    template.span(),
                    format!("verify `{name}`: dimension {key}: {message}"),
                );
                return;
            }
            Ok(colours) => {
                for (pair, _) in colours {
                    if !stack.blue_green.values().any(|b| b.name == pair) {
                        let names: Vec<&str> =
                            stack.blue_green.values().map(|b| b.name.as_str()).collect();
                        let d = self.error(template.span(), format!("verify `{name}`: dimension {key}: no [blue_green.{pair}] in this stack"));
                        d.help = Some(if names.is_empty() {
                            "declare the pair as [blue_green.NAME]".into()
                        } else {
                            format!("declared pairs: {}", names.join(", "))
                        });
                    }
                }
            }
        }
        let rest =
            render_colours(template.get_ref(), |_, _| Some(String::new())).unwrap_or_default();
        self.interpolations(stack, template.span(), &rest);
    }
}
