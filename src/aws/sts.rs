//! STS: whose credentials a command runs with, asked once a run.

use super::{Aws, AwsError};
use crate::model::{Identity, Service};

impl Aws {
    /// The caller's account and ARN (GetCallerIdentity), asked in `region`
    /// the first time and kept for the run.
    pub(super) async fn caller(&self, region: &str) -> Result<Identity, AwsError> {
        self.identity
            .get_or_try_init(|| async {
                let client = self.sts(region);
                let out = send!("GetCallerIdentity", client.get_caller_identity())
                    .map_err(|e| e.at(region, &self.endpoint(Service::Sts, region)))?;
                let arn = out.arn().unwrap_or_default();
                super::error::remember_caller(arn);
                Ok(Identity {
                    account: out.account().unwrap_or_default().to_string(),
                    arn: arn.to_string(),
                })
            })
            .await
            .cloned()
    }
}
