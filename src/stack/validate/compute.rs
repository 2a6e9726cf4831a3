//! The checks of the compute kinds' own values: instances.

use super::*;
use crate::stack::spec::InstanceSpec;

impl Checker {
    pub(super) fn instance(&mut self, _stack: &Stack, r: &Resource, s: &InstanceSpec) {
        self.regional(r, "ami", &s.ami);
    }
}
