//! The only place that knows the AWS SDK: client setup, discovery and the
//! mutations apply performs. Everything it returns is normalised (`Observed`).

/// Sends a request and maps its error to `AwsError` named after the operation.
macro_rules! send {
    ($op:literal, $request:expr) => {
        $request
            .send()
            .await
            .map_err(|e| $crate::aws::AwsError::from_sdk($op, e))
    };
}

/// Collects every item of a paginated call.
macro_rules! all_pages {
    ($op:literal, $request:expr) => {
        $request
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| $crate::aws::AwsError::from_sdk($op, e))
    };
}

/// Sends a create that cannot be repeated safely: the SDK does not retry it
/// (a lost answer would make a duplicate); `Mutator::create` looks for the
/// resource by its tags before trying again.
macro_rules! send_once {
    ($sdk:ident, $op:literal, $request:expr) => {
        $request
            .customize()
            .config_override(
                $sdk::config::Builder::default()
                    .retry_config(aws_config::retry::RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| $crate::aws::AwsError::from_sdk($op, e))
    };
}

/// A client of one service's SDK crate for one region: the run's
/// credentials, retries and timeouts, a refusal never retried, every call
/// counted under its service.
macro_rules! client {
    ($sdk:ident, $aws:expr, $service:expr, $region:expr) => {{
        let config = $sdk::config::Builder::from(&$aws.config)
            .retry_classifier(error::Retries {
                after_timeout: $aws.call_timeout,
            })
            .region(Region::new($region.to_string()))
            .interceptor($aws.calls.for_service($service))
            .build();
        $sdk::Client::from_conf(config)
    }};
}

mod acm;
mod assume;
mod autoscaling;
pub mod cloud;
mod cloudwatch;
mod counter;
mod discovery;
mod ec2;
mod elbv2;
mod error;
mod iam;
pub mod lock;
mod mutator;
mod probe;
mod rds;
mod route53;
mod sts;
mod traffic;

pub use assume::Role;
pub use cloud::Created;
pub use counter::CallCounter;
use discovery::{observed, observed_in, Imports, Scope};
pub use error::{AwsError, Code, ErrorClass};
pub use mutator::Mutator;
use mutator::{flag, ids, int, required, retry_while, text};

use crate::model::Service;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::time::Duration;

/// How to reach AWS: from the global flags; everything else comes from aws-config's chain.
#[derive(Clone, Debug)]
pub struct Connection {
    pub endpoint_url: Option<String>,
    pub profile: Option<String>,
    /// `--role`: the role to assume, over the stack's `[stack] role`.
    pub role: Option<String>,
    /// How long one attempt of one call may take; an operation, retries
    /// included, gets four times that.
    pub call_timeout: Duration,
    /// How long a waiter (a VPC becoming available, an RDS instance being
    /// created) may take before the step fails.
    pub wait_timeout: Duration,
}

impl Default for Connection {
    fn default() -> Self {
        Connection {
            endpoint_url: None,
            profile: None,
            role: None,
            call_timeout: Duration::from_secs(30),
            wait_timeout: Duration::from_secs(3600),
        }
    }
}

fn loader(connection: &Connection) -> aws_config::ConfigLoader {
    // Region is set per client; this only keeps the loader from failing without one.
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).region(Region::new("us-east-1"));
    // Standard retry, unless AWS_RETRY_MODE / AWS_MAX_ATTEMPTS choose otherwise:
    // exponential backoff with jitter on throttling and transient errors. Not
    // adaptive by default: its client-side rate limiter stalled a request for
    // ~26 s after a single throttle (measured), too much for a CLI-sized burst.
    let env_chooses = ["AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if !env_chooses {
        loader = loader.retry_config(
            RetryConfig::standard()
                .with_max_attempts(8)
                .with_max_backoff(Duration::from_secs(20)),
        );
    }
    // Every call has a deadline: a connection that accepts and never answers
    // fails the call instead of hanging the run.
    loader = loader.timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(connection.call_timeout.min(Duration::from_secs(10)))
            .read_timeout(connection.call_timeout)
            .operation_attempt_timeout(connection.call_timeout)
            .operation_timeout(connection.call_timeout * 4)
            .build(),
    );
    if let Some(url) = &connection.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(profile) = &connection.profile {
        loader = loader.profile_name(profile);
    }
    loader
}

/// A `--profile` that no AWS config file declares.
#[derive(Debug, thiserror::Error)]
#[error(
    "AWS profile `{profile}` is not declared in {config} or {credentials}; \
     `aws configure list-profiles` lists those you have (AWS_CONFIG_FILE and \
     AWS_SHARED_CREDENTIALS_FILE choose other files)"
)]
pub struct UnknownProfile {
    profile: String,
    config: String,
    credentials: String,
}

/// A `--profile` that no AWS config file declares, said before any call
/// (aws-config would only report "no credentials" much later). AWS_PROFILE is
/// left to aws-config: environment credentials may make it irrelevant.
pub fn check_profile(connection: &Connection) -> Result<(), UnknownProfile> {
    let Some(profile) = connection.profile.as_deref().filter(|p| *p != "default") else {
        return Ok(());
    };
    let home = std::env::var("HOME").unwrap_or_default();
    let file = |var: &str, default: &str| {
        std::env::var(var).unwrap_or_else(|_| format!("{home}/.aws/{default}"))
    };
    let files = [
        file("AWS_CONFIG_FILE", "config"),
        file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
    ];
    let headers = [format!("[profile {profile}]"), format!("[{profile}]")];
    let declared = files.iter().any(|f| {
        std::fs::read_to_string(f)
            .unwrap_or_default()
            .lines()
            .any(|l| headers.iter().any(|h| l.trim() == h))
    });
    if declared {
        return Ok(());
    }
    let [config, credentials] = files;
    Err(UnknownProfile {
        profile: profile.to_string(),
        config,
        credentials,
    })
}

/// Clients for every region of a run, sharing one credential chain and one call counter.
#[derive(Clone, Debug)]
pub struct Aws {
    config: SdkConfig,
    pub calls: CallCounter,
    /// Whose credentials these are, once asked (`sts`).
    identity: tokio::sync::OnceCell<crate::model::Identity>,
    endpoint_url: Option<String>,
    wait_timeout: Duration,
    call_timeout: Duration,
}

impl Aws {
    pub async fn connect(connection: &Connection) -> Aws {
        Aws {
            config: loader(connection).load().await,
            calls: CallCounter::default(),
            identity: tokio::sync::OnceCell::new(),
            endpoint_url: connection.endpoint_url.clone(),
            wait_timeout: connection.wait_timeout,
            call_timeout: connection.call_timeout,
        }
    }

    /// Where calls to `service` in `region` go, for error messages.
    pub fn endpoint(&self, service: Service, region: &str) -> String {
        endpoint(self.endpoint_url.as_deref(), service, region)
    }

    pub fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        client!(aws_sdk_rds, self, Service::Rds, region)
    }

    /// Route53 is global; its API lives in us-east-1.
    pub fn route53(&self) -> aws_sdk_route53::Client {
        client!(aws_sdk_route53, self, Service::Route53, "us-east-1")
    }

    pub fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        client!(aws_sdk_cloudwatch, self, Service::CloudWatch, region)
    }

    pub fn elbv2(&self, region: &str) -> aws_sdk_elasticloadbalancingv2::Client {
        client!(aws_sdk_elasticloadbalancingv2, self, Service::Elbv2, region)
    }

    pub fn autoscaling(&self, region: &str) -> aws_sdk_autoscaling::Client {
        client!(aws_sdk_autoscaling, self, Service::Autoscaling, region)
    }

    /// IAM is global; its API lives in us-east-1.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        client!(aws_sdk_iam, self, Service::Iam, "us-east-1")
    }

    pub fn acm(&self, region: &str) -> aws_sdk_acm::Client {
        client!(aws_sdk_acm, self, Service::Acm, region)
    }

    /// How certificates' tags are read: through the tagging API on AWS;
    /// certificate by certificate too at a custom endpoint (an emulator).
    fn acm_tags(&self) -> acm::TagSource {
        match self.endpoint_url {
            None => acm::TagSource::Tagging,
            Some(_) => acm::TagSource::TaggingThenEach,
        }
    }

    /// The Resource Groups Tagging API: one query finds tagged resources of every service.
    fn tagging(&self, region: &str) -> aws_sdk_resourcegroupstagging::Client {
        client!(
            aws_sdk_resourcegroupstagging,
            self,
            Service::Tagging,
            region
        )
    }

    pub fn sts(&self, region: &str) -> aws_sdk_sts::Client {
        client!(aws_sdk_sts, self, Service::Sts, region)
    }

    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        client!(aws_sdk_ec2, self, Service::Ec2, region)
    }
}

fn endpoint(endpoint_url: Option<&str>, service: Service, region: &str) -> String {
    match endpoint_url {
        Some(url) => url.to_string(),
        None if service.global() => format!("https://{}.amazonaws.com", service.endpoint_name()),
        None => format!("https://{}.{region}.amazonaws.com", service.endpoint_name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
    use aws_smithy_runtime_api::http::{Request, Response};
    use aws_smithy_types::body::SdkBody;

    fn event(status: u16, body: &'static str) -> ReplayEvent {
        ReplayEvent::new(
            Request::new(SdkBody::empty()),
            Response::new(status.try_into().unwrap(), SdkBody::from(body)),
        )
    }

    #[tokio::test]
    async fn throttling_is_retried_and_counted_once() {
        let throttled = "<Response><Errors><Error><Code>RequestLimitExceeded</Code>\
            <Message>Request limit exceeded.</Message></Error></Errors><RequestID>1</RequestID></Response>";
        let ok = "<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
            <requestId>2</requestId><vpcSet/></DescribeVpcsResponse>";
        let http = StaticReplayClient::new(vec![
            event(503, throttled),
            event(503, throttled),
            event(200, ok),
        ]);
        let aws = Aws {
            endpoint_url: None,
            wait_timeout: Duration::from_secs(60),
            call_timeout: Duration::from_secs(30),
            config: loader(&Connection::default())
                .http_client(http.clone())
                .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                    "a", "b", None, None, "test",
                ))
                .load()
                .await,
            calls: CallCounter::default(),
            identity: Default::default(),
        };
        let out = aws.ec2("us-west-2").describe_vpcs().send().await.unwrap();
        assert!(out.vpcs().is_empty());
        assert_eq!(
            http.actual_requests().count(),
            3,
            "two throttled attempts, then success"
        );
        assert_eq!(
            aws.calls.snapshot()["ec2"],
            1,
            "one operation, however many attempts"
        );
    }
}
