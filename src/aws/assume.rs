//! A role assumed before any other call (`[stack] role`, `--role`): its
//! first session is asked at once, so a role that cannot be assumed is
//! said before anything is read; later sessions are asked by the SDK's
//! credentials cache when one nears its end (a rollout's bakes outlive an
//! hour's session).

use super::{Aws, AwsError};
use crate::model::Service;
use aws_credential_types::provider::{self, error::CredentialsError, future, ProvideCredentials};
use aws_credential_types::Credentials;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// What to assume, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub arn: String,
    pub external_id: Option<String>,
    /// The session's length (AWS's default, one hour, when not given).
    pub duration: Option<Duration>,
    /// Who runs it, as CloudTrail shows it: `reconcile-<operator>`.
    pub session: String,
}

impl Role {
    /// The session name of `operator`: `reconcile-` and the characters AWS
    /// allows in one (`[\w+=,.@-]`), at most 64.
    pub fn session_of(operator: &str) -> String {
        let clean = super::iam::iam_characters(operator);
        format!("reconcile-{clean}").chars().take(64).collect()
    }
}

/// The role could not be assumed: which, as whom, and AWS's reason.
#[derive(Debug, thiserror::Error)]
#[error(
    "could not assume role {arn} (session {session}): {source}\n  \
     help: the role's trust policy must allow these credentials (and ask for the external id \
     `[stack.role] external_id` gives, if any), these credentials need sts:AssumeRole on it, and \
     a `duration` may not exceed the role's maximum session"
)]
pub struct NotAssumed {
    arn: String,
    session: String,
    source: AwsError,
}

/// Credentials of the role: the session asked at connection first, then a
/// new one each time the cache finds the last about to end.
#[derive(Debug)]
struct Sessions {
    sts: aws_sdk_sts::Client,
    role: Role,
    first: Mutex<Option<Credentials>>,
}

impl Sessions {
    async fn assume(&self) -> Result<Credentials, NotAssumed> {
        let role = &self.role;
        let refused = |source| NotAssumed {
            arn: role.arn.clone(),
            session: role.session.clone(),
            source,
        };
        let out = send!(
            "AssumeRole",
            self.sts
                .assume_role()
                .role_arn(&role.arn)
                .role_session_name(&role.session)
                .set_external_id(role.external_id.clone())
                .set_duration_seconds(role.duration.map(|d| d.as_secs() as i32))
        )
        .map_err(refused)?;
        let given = out.credentials().ok_or_else(|| {
            refused(AwsError::new(
                "AssumeRole",
                super::ErrorClass::Other,
                "NoCredentials",
                "STS answered without credentials",
            ))
        })?;
        Ok(Credentials::new(
            given.access_key_id(),
            given.secret_access_key(),
            Some(given.session_token().to_string()),
            SystemTime::try_from(*given.expiration()).ok(),
            "reconcile-assume-role",
        ))
    }
}

impl ProvideCredentials for Sessions {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self.first.lock().expect("not poisoned").take();
        future::ProvideCredentials::new(async move {
            match first {
                Some(credentials) => Ok(credentials),
                None => self
                    .assume()
                    .await
                    .map_err(CredentialsError::provider_error),
            }
        })
    }
}

impl Aws {
    /// The same connection as `role`: its first session asked now (in
    /// `region`, STS's regional endpoint), every call after it made with
    /// the role's credentials, renewed before they end.
    pub async fn assume(self, role: Role, region: &str) -> Result<Aws, NotAssumed> {
        let sessions = Sessions {
            sts: self.sts(region),
            role,
            first: Mutex::new(None),
        };
        let first = sessions.assume().await.map_err(|e| NotAssumed {
            source: e.source.at(region, &self.endpoint(Service::Sts, region)),
            ..e
        })?;
        *sessions.first.lock().expect("not poisoned") = Some(first);
        let config = self
            .config
            .into_builder()
            .credentials_provider(provider::SharedCredentialsProvider::new(sessions))
            .build();
        Ok(Aws {
            config,
            identity: tokio::sync::OnceCell::new(),
            ..self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_is_named_after_the_operator_as_aws_allows() {
        assert_eq!(Role::session_of("alice"), "reconcile-alice");
        assert_eq!(Role::session_of("Jane Doe (CI)"), "reconcile-Jane-Doe--CI-");
        assert_eq!(Role::session_of(&"x".repeat(100)).len(), 64);
    }
}
