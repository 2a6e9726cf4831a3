//! CloudWatch: metric alarms, the one kind it carries.

mod alarm;

pub use alarm::{discover, import};
