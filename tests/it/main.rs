//! Integration tests: the `reconcile` binary against a real local emulator.

mod accounts;
mod alarms;
mod bad_input;
mod balancing;
mod conformance;
mod cutover;
mod dns;
mod engine;
mod environments;
mod faults;
mod harness;
mod https;
mod iam;
mod import;
mod layers;
mod policies;
mod proxy;
mod review;
mod rollout;
mod saved_plans;
mod scaling;
mod stateful;
mod status;
mod terraform;
mod verify;
mod windows;
