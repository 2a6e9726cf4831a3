//! What an operation tells whoever runs it while it works: lines for the log
//! and the state of a wait. `ops` and the AWS layer send them; `cli` shows them.

/// What an operation tells whoever runs it while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// Something happened: a line for the log.
    Line(String),
    /// How a wait stands (a bake, a soak, a database becoming available, a
    /// lock): on a terminal each replaces the last, as a progress bar.
    Wait {
        status: String,
        elapsed: std::time::Duration,
        /// How long the wait lasts, when known (a bake); else a limit or nothing.
        total: Option<std::time::Duration>,
    },
}

/// Where an operation sends its [`Note`]s.
#[derive(Clone)]
pub struct Progress(std::sync::Arc<dyn Fn(Note) + Send + Sync>);

impl Progress {
    pub fn new(sink: impl Fn(Note) + Send + Sync + 'static) -> Progress {
        Progress(std::sync::Arc::new(sink))
    }

    /// Drops everything: for callers that show nothing.
    pub fn silent() -> Progress {
        Progress::new(|_| {})
    }

    pub fn line(&self, line: impl Into<String>) {
        (self.0)(Note::Line(line.into()));
    }

    pub fn wait(
        &self,
        status: impl Into<String>,
        elapsed: std::time::Duration,
        total: Option<std::time::Duration>,
    ) {
        (self.0)(Note::Wait {
            status: status.into(),
            elapsed,
            total,
        });
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}
