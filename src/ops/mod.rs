//! The operations behind the commands: each takes a loaded stack and settings,
//! talks to AWS through `crate::aws`, and returns data for the printer.

pub mod account;
pub mod apply;
pub mod clock;
pub mod cutover;
pub mod import;
pub mod lock;
pub mod plan;
pub mod policy;
pub mod rollout;
pub mod status;
pub mod verify;

mod admit;
mod observe;
mod record;
mod signal;
mod subject;

pub use admit::admit;
pub use observe::{observe, read, select_regions, settle};
pub use record::{carried, change_record, operator};
pub use signal::{interruptible, stop_signal};
pub use subject::{subject, Changing, Subject};
