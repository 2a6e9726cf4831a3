//! The AWS calls a run made, counted per service and per operation (`--json`, `--stats`).

use crate::model::Service;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Counts operations (not retries) per service and per operation, for `--stats`.
#[derive(Clone, Debug, Default)]
pub struct CallCounter(Arc<Mutex<Counts>>);

#[derive(Debug, Default)]
struct Counts {
    services: BTreeMap<&'static str, u64>,
    operations: BTreeMap<String, u64>,
}

impl CallCounter {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        let counts = self.0.lock().expect("counter lock");
        counts
            .services
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }

    /// Calls by `service.Operation`, e.g. `route53.ChangeResourceRecordSets`.
    pub fn operations(&self) -> BTreeMap<String, u64> {
        self.0.lock().expect("counter lock").operations.clone()
    }

    pub(super) fn for_service(&self, service: Service) -> CountCalls {
        CountCalls {
            service,
            counts: self.0.clone(),
        }
    }
}

#[derive(Debug)]
pub(super) struct CountCalls {
    service: Service,
    counts: Arc<Mutex<Counts>>,
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "reconcile::CountCalls"
    }

    // Once per operation, after the operation's metadata is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map_or("unknown", |m| m.name())
            .to_string();
        let mut counts = self.counts.lock().expect("counter lock");
        *counts.services.entry(self.service.name()).or_default() += 1;
        *counts
            .operations
            .entry(format!("{}.{operation}", self.service))
            .or_default() += 1;
        Ok(())
    }
}
