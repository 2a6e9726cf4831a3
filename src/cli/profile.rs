//! The time profile of a run (`--stats`, `apply --json`): the phase spans of
//! `model::profile`, added up per label in the order they first started.
//! Phases run concurrently (regions, services, apply's steps), so each shows
//! its wall time (first start to last end) beside its busy time (the sum).

use crate::model::profile::{PhaseTime, TARGET};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The phases seen so far; cloned handles share them.
#[derive(Clone)]
pub struct Profile {
    began: Instant,
    phases: Arc<Mutex<Vec<Phase>>>,
}

struct Phase {
    label: String,
    count: u32,
    busy: Duration,
    first: Instant,
    last: Instant,
}

impl Profile {
    pub fn new() -> Profile {
        Profile {
            began: Instant::now(),
            phases: Arc::default(),
        }
    }

    /// The layer that feeds this profile: only phase spans.
    pub fn layer<S>(&self) -> impl Layer<S>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        use tracing_subscriber::Layer as _;
        Recorder(self.clone()).with_filter(tracing_subscriber::filter::filter_fn(|m| {
            m.target() == TARGET
        }))
    }

    fn add(&self, label: String, started: Instant, ended: Instant) {
        let mut phases = self.phases.lock().unwrap_or_else(|e| e.into_inner());
        match phases.iter_mut().find(|p| p.label == label) {
            Some(p) => {
                p.count += 1;
                p.busy += ended - started;
                p.first = p.first.min(started);
                p.last = p.last.max(ended);
            }
            None => phases.push(Phase {
                label,
                count: 1,
                busy: ended - started,
                first: started,
                last: ended,
            }),
        }
    }

    /// The phases in the order they first started.
    pub fn phases(&self) -> Vec<PhaseTime> {
        let mut phases: Vec<PhaseTime> = {
            let mut held = self.phases.lock().unwrap_or_else(|e| e.into_inner());
            held.sort_by_key(|p| p.first);
            held.iter()
                .map(|p| PhaseTime {
                    phase: p.label.clone(),
                    count: p.count,
                    seconds: round((p.last - p.first).as_secs_f64()),
                    busy_seconds: round(p.busy.as_secs_f64()),
                })
                .collect()
        };
        phases.insert(
            0,
            PhaseTime {
                phase: "total".into(),
                count: 1,
                seconds: round(self.began.elapsed().as_secs_f64()),
                busy_seconds: round(self.began.elapsed().as_secs_f64()),
            },
        );
        phases
    }

    /// `--stats`: one line a phase, nested phases indented by their label's words.
    pub fn render(&self) -> String {
        let mut out = String::from("Time:\n");
        for p in self.phases() {
            let overlapped = if p.count > 1 {
                format!(" ({} runs, {:.2} s busy)", p.count, p.busy_seconds)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "  {:<34} {:>7.2} s{overlapped}\n",
                p.phase, p.seconds
            ));
        }
        out
    }
}

fn round(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

struct Recorder(Profile);

/// What a phase span carries while it is open.
struct Open {
    label: String,
    started: Instant,
}

#[derive(Default)]
struct Label(String);

impl Visit for Label {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "label" {
            self.0 = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "label" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S> Layer<S> for Recorder
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut label = Label::default();
        attrs.record(&mut label);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Open {
                label: label.0,
                started: Instant::now(),
            });
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let ended = Instant::now();
        if let Some(open) = ctx
            .span(&id)
            .and_then(|s| s.extensions_mut().remove::<Open>())
        {
            self.0.add(open.label, open.started, ended);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::profile::phase;
    use tracing::Instrument;
    use tracing_subscriber::layer::SubscriberExt;

    #[tokio::test]
    async fn phases_add_up_per_label_with_their_wall_and_busy_time() {
        let profile = Profile::new();
        let subscriber = tracing_subscriber::registry().with(profile.layer());
        let _default = tracing::subscriber::set_default(subscriber);
        let sleep = |ms| tokio::time::sleep(Duration::from_millis(ms));
        // Two discoveries at once, then a comparison; a span of another target is not a phase.
        tokio::join!(
            sleep(60).instrument(phase("discover us-east-1")),
            sleep(60).instrument(phase("discover us-east-1")),
        );
        phase("compare").in_scope(|| std::thread::sleep(Duration::from_millis(20)));
        tracing::info_span!("other").in_scope(|| ());
        let phases = profile.phases();
        let labels: Vec<&str> = phases.iter().map(|p| p.phase.as_str()).collect();
        assert_eq!(labels, ["total", "discover us-east-1", "compare"]);
        let discover = &phases[1];
        assert_eq!(discover.count, 2);
        assert!(
            discover.seconds >= 0.06 && discover.seconds < discover.busy_seconds - 0.03,
            "overlapping: the wall time is about one sleep, {discover:?}"
        );
        assert!(discover.busy_seconds >= 0.12, "busy is both: {discover:?}");
        assert!(
            phases[0].seconds >= 0.08,
            "the total covers them: {phases:?}"
        );
        assert!(profile.render().contains("discover us-east-1"));
    }
}
