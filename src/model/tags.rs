//! Every tag key reconcile reads or writes on a live resource, in one place.
//! Keys under `reconcile:` (and AWS's own `aws:`) are never part of a
//! resource's `tags` attribute, and a stack file may not set them.

/// The owning stack's name: what discovery filters on.
pub const STACK: &str = "reconcile:stack";
/// The resource's address in its stack, e.g. `vpc.main`.
pub const ID: &str = "reconcile:id";
/// `protect = true`, recorded on the live resource itself.
pub const PROTECT: &str = "reconcile:protect";
/// The version label of the apply that last changed the resource.
pub const VERSION: &str = "reconcile:version";
/// The digest of an instance's user data, compared instead of the data itself.
pub const USER_DATA: &str = "reconcile:user-data";
/// The region a DNS block is homed in (on a hosted zone).
pub const REGION: &str = "reconcile:region";
/// Marks a zone that existed before reconcile: pruning it only forgets it.
pub const ADOPTED: &str = "reconcile:adopted";
/// The declared name of a security group created under a generated one (the
/// group it replaced held the declared name): what discovery reads as `name`.
pub const NAME: &str = "reconcile:name";

/// The change record, on what a cutover changed (its listener or rule): what
/// was done, when (UTC, RFC 3339), by whom, with which version label and
/// emergency ticket.
pub mod record {
    pub const CHANGE: &str = "reconcile:record";
    pub const TIME: &str = "reconcile:record-time";
    pub const OPERATOR: &str = "reconcile:record-operator";
    pub const VERSION: &str = "reconcile:record-version";
    pub const TICKET: &str = "reconcile:record-ticket";
}

/// The stack lock (an EC2 key pair) and who holds it.
pub mod lock {
    pub const LOCK: &str = "reconcile:lock";
    pub const HOLDER: &str = "reconcile:lock-holder";
    pub const HOST: &str = "reconcile:lock-host";
    pub const PID: &str = "reconcile:lock-pid";
    pub const TOKEN: &str = "reconcile:lock-token";
    pub const OPERATION: &str = "reconcile:lock-operation";
    pub const SINCE: &str = "reconcile:lock-since";
    pub const EXPIRES: &str = "reconcile:lock-expires";
}

/// The tag keys reconcile and AWS write themselves: never a user's tag.
pub fn is_managed(key: &str) -> bool {
    key.starts_with("reconcile:") || key.starts_with("aws:")
}
