//! `[rollout]`: the stack's regions in waves, validated at load: every region
//! of the stack in exactly one wave, no other region, durations that parse.

use super::spec::RolloutSpec;
use super::validate::Checker;
use super::Stack;
use crate::stack::spec::Spanned;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Rollout {
    /// How often checks run during a bake.
    pub every: Duration,
    pub waves: Vec<Wave>,
}

#[derive(Debug, Clone)]
pub struct Wave {
    pub name: String,
    pub regions: Vec<String>,
    pub bake: Duration,
    pub max_parallel: usize,
}

impl Rollout {
    /// The waves of a stack: its `[rollout]`, or one wave of all its regions.
    pub fn of(stack: &Stack) -> Rollout {
        stack.rollout.clone().unwrap_or_else(|| Rollout {
            every: Duration::from_secs(60),
            waves: vec![Wave {
                name: "all".into(),
                regions: stack.regions.clone(),
                bake: Duration::ZERO,
                max_parallel: stack.regions.len().max(1),
            }],
        })
    }
}

impl Checker {
    pub(super) fn rollout(&mut self, stack: &Stack, spec: Spanned<RolloutSpec>) -> Option<Rollout> {
        let span = spec.span();
        let spec = spec.into_inner();
        let errors = self.diagnostics.len();
        let duration = |text: &Spanned<String>, what: &str, this: &mut Checker| {
            humantime::parse_duration(text.get_ref()).map_err(|e| {
                this.error(
                    text.span(),
                    format!(
                        "rollout: {what}: `{}` is not a duration ({e}); write it as 30s, 5m or 1h",
                        text.get_ref()
                    ),
                );
            })
        };
        let every = match &spec.every {
            None => Duration::from_secs(60),
            Some(e) => duration(e, "every", self).unwrap_or_default(),
        };
        if let Some(e) = spec.every.as_ref().filter(|_| every.is_zero()) {
            // Zero would re-check a bake without pause.
            self.error(e.span(), "rollout: every must be more than zero")
                .help = Some("re-check during a bake every 30s, 1m or so".into());
        }
        if spec.waves.is_empty() {
            self.error(span.clone(), "rollout: no waves").help = Some("list the waves, for example waves = [{ name = \"canary\", regions = [\"us-west-2\"], bake = \"1h\" }]".into());
        }
        let mut placed: BTreeMap<String, String> = BTreeMap::new();
        let mut names = Vec::new();
        let mut waves = Vec::new();
        for w in &spec.waves {
            let w = w.get_ref();
            let name = w.name.get_ref().clone();
            if names.contains(&name) {
                self.error(
                    w.name.span(),
                    format!("rollout: two waves are named `{name}`"),
                );
            }
            names.push(name.clone());
            let regions = self.regions(&w.regions, Some(&stack.regions));
            for (r, spanned) in regions.iter().zip(w.regions.get_ref()) {
                if let Some(first) = placed.insert(r.clone(), name.clone()) {
                    self.error(
                        spanned.span(),
                        format!("rollout: region `{r}` is in wave `{first}` and in wave `{name}`"),
                    )
                    .help = Some("put every region of the stack in exactly one wave".into());
                }
            }
            let bake = w
                .bake
                .as_ref()
                .map_or(Ok(Duration::ZERO), |b| duration(b, "bake", self))
                .unwrap_or_default();
            let max_parallel = match &w.max_parallel {
                None => 1,
                Some(m) => usize::try_from(*m.get_ref())
                    .ok()
                    .filter(|n| *n >= 1)
                    .unwrap_or_else(|| {
                        self.error(
                            m.span(),
                            format!("rollout: wave `{name}`: max_parallel must be at least 1"),
                        );
                        1
                    }),
            };
            waves.push(Wave {
                name,
                regions,
                bake,
                max_parallel,
            });
        }
        let missing: Vec<&str> = stack
            .regions
            .iter()
            .filter(|r| !placed.contains_key(*r))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            self.error(span, format!("rollout: {} in no wave", missing.join(", ")))
                .help = Some("put every region of the stack in exactly one wave".into());
        }
        (self.diagnostics.len() == errors).then_some(Rollout { every, waves })
    }
}
