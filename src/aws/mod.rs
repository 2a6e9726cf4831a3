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
            .retry_classifier(error::RefusedIsFinal)
            .region(Region::new($region.to_string()))
            .interceptor($aws.calls.for_service($service))
            .build();
        $sdk::Client::from_conf(config)
    }};
}

pub mod cloud;
pub mod cloudwatch;
pub mod ec2;
pub mod elbv2;
mod error;
pub mod lock;
mod probe;
pub mod rds;
pub mod route53;
mod traffic;

pub use cloud::Created;
use cloud::{Cloud, Discover, Mutate};
pub use error::{AwsError, Code, ErrorClass};

use crate::model::progress::Progress;
use crate::model::tags::USER_DATA as USER_DATA_TAG;
use crate::model::{self as model, Service};
use crate::model::{
    Address, Attrs, Changed, Inputs, Kind, LiveRegion, Observed, Value, ID_TAG, PROTECT_TAG,
    STACK_TAG, VERSION_TAG,
};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How to reach AWS: from the global flags; everything else comes from aws-config's chain.
#[derive(Clone, Debug)]
pub struct Connection {
    pub endpoint_url: Option<String>,
    pub profile: Option<String>,
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
            call_timeout: Duration::from_secs(30),
            wait_timeout: Duration::from_secs(3600),
        }
    }
}

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

    fn for_service(&self, service: Service) -> CountCalls {
        CountCalls {
            service,
            counts: self.0.clone(),
        }
    }
}

#[derive(Debug)]
struct CountCalls {
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
    endpoint_url: Option<String>,
    wait_timeout: Duration,
}

impl Aws {
    pub async fn connect(connection: &Connection) -> Aws {
        Aws {
            config: loader(connection).load().await,
            calls: CallCounter::default(),
            endpoint_url: connection.endpoint_url.clone(),
            wait_timeout: connection.wait_timeout,
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

    /// The Resource Groups Tagging API: one query finds tagged resources of every service.
    fn tagging(&self, region: &str) -> aws_sdk_resourcegroupstagging::Client {
        client!(
            aws_sdk_resourcegroupstagging,
            self,
            Service::Tagging,
            region
        )
    }

    /// What a service read, or nothing when the endpoint does not implement
    /// the service: then noted in `unavailable`.
    fn read<T: Default>(
        &self,
        unavailable: &mut BTreeMap<Service, model::Unavailable>,
        service: Service,
        region: &str,
        r: Result<T, AwsError>,
    ) -> T {
        r.unwrap_or_else(|e| {
            unavailable.insert(
                service,
                model::Unavailable {
                    endpoint: self.endpoint(service, region),
                    answer: format!("{}: {}", e.code, e.message),
                },
            );
            T::default()
        })
    }

    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        client!(aws_sdk_ec2, self, Service::Ec2, region)
    }
}

impl Discover for Aws {
    /// The regions the account has enabled, asked in `from`.
    async fn enabled_regions(&self, from: &str) -> Result<Vec<String>, AwsError> {
        let found = send!("DescribeRegions", self.ec2(from).describe_regions())
            .map_err(|e| e.at(from, &self.endpoint(Service::Ec2, from)))?;
        // A region not opted in holds nothing (AWS lists only enabled ones;
        // LocalStack lists them all, and fails to search some).
        Ok(found
            .regions()
            .iter()
            .filter(|r| r.opt_in_status() != Some("not-opted-in"))
            .filter_map(|r| r.region_name().map(str::to_string))
            .collect())
    }

    /// The regions among `candidates` where a resource of a service reconcile
    /// manages carries `stack`'s tag: one query per region, all at once.
    /// (Route53 is global and read anyway.)
    async fn regions_holding(
        &self,
        stack: &str,
        candidates: &[String],
    ) -> Result<Vec<String>, AwsError> {
        use aws_sdk_resourcegroupstagging::types::TagFilter;
        let asks = candidates.iter().map(|region| async move {
            let found = send!(
                "GetResources",
                self.tagging(region)
                    .get_resources()
                    .tag_filters(TagFilter::builder().key(STACK_TAG).values(stack).build())
                    .set_resource_type_filters(Some(
                        ["ec2", "elasticloadbalancing", "rds", "cloudwatch"]
                            .map(String::from)
                            .to_vec()
                    ))
                    .resources_per_page(1)
            )
            .map_err(|e| e.at(region, &self.endpoint(Service::Tagging, region)))?;
            Ok::<_, AwsError>(
                (!found.resource_tag_mapping_list().is_empty()).then(|| region.clone()),
            )
        });
        Ok(futures::future::try_join_all(asks)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Everything `stack` owns in `region`: every service read concurrently, then
    /// joined (an instance's target groups come from the groups' registrations).
    /// Route53 is global: read only with `dns`, and then all of the stack's DNS,
    /// each object carrying the home region recorded on it.
    async fn discover(&self, stack: &str, region: &str, dns: bool) -> Result<LiveRegion, AwsError> {
        let (ec2_client, elb_client) = (self.ec2(region), self.elbv2(region));
        let (rds_client, cloudwatch_client) = (self.rds(region), self.cloudwatch(region));
        let route53_client = self.route53();
        let at = |service: Service| {
            let endpoint = self.endpoint(service, region);
            move |e: AwsError| e.at(region, &endpoint)
        };
        // A service the endpoint does not implement (LocalStack's community
        // edition has no ELBv2 or RDS) reads as `None`: the caller decides
        // whether the stack can do without it.
        let (found, balancing, databases, alarms, dns) = tokio::try_join!(
            async {
                available(ec2::discover(&ec2_client, stack, region).await).map_err(at(Service::Ec2))
            },
            async {
                available(elbv2::discover(&elb_client, stack, region).await)
                    .map_err(at(Service::Elbv2))
            },
            async {
                available(rds::discover(&rds_client, stack, region).await).map_err(at(Service::Rds))
            },
            async {
                available(cloudwatch::discover(&cloudwatch_client, stack, region).await)
                    .map_err(at(Service::CloudWatch))
            },
            async {
                if !dns {
                    return Ok(Ok(route53::Discovered::default()));
                }
                available(route53::discover(&route53_client, stack, region).await)
                    .map_err(at(Service::Route53))
            },
        )?;
        let mut unavailable = BTreeMap::new();
        let mut found = self.read(&mut unavailable, Service::Ec2, region, found);
        let (balancing, registrations): (_, std::collections::HashMap<String, Vec<String>>) =
            self.read(&mut unavailable, Service::Elbv2, region, balancing);
        let databases = self.read(&mut unavailable, Service::Rds, region, databases);
        let alarms = self.read(&mut unavailable, Service::CloudWatch, region, alarms);
        let dns = self.read(&mut unavailable, Service::Route53, region, dns);
        for o in found
            .iter_mut()
            .filter(|o| o.address.kind == Kind::Instance)
        {
            let groups = registrations.get(&o.live_id).into_iter().flatten();
            o.attrs.insert(
                "target_groups".into(),
                Value::set(groups.map(|arn| Value::Id(arn.clone()))),
            );
        }
        found.extend(balancing);
        found.extend(databases);
        found.extend(alarms);
        found.extend(dns.owned);
        Ok(LiveRegion {
            resources: found,
            adoptable_zones: dns.adoptable_zones,
            foreign_records: dns.foreign_records,
            unavailable,
        })
    }
}

impl Cloud for Aws {
    type Mutator = Mutator;

    /// What apply uses to change one region, tagging what it creates or
    /// changes for `stack` with `record` (version label, time, operator,
    /// ticket), and reporting long waits to `progress`.
    fn mutator(
        &self,
        region: &str,
        stack: &str,
        record: &BTreeMap<String, String>,
        progress: Progress,
    ) -> Mutator {
        Mutator {
            endpoint_url: self.endpoint_url.clone(),
            wait_limit: self.wait_timeout,
            run_token: run_token(stack, region),
            ec2: self.ec2(region),
            elb: self.elbv2(region),
            rds: self.rds(region),
            cloudwatch: self.cloudwatch(region),
            route53: self.route53(),
            zone_batches: route53::ZoneBatches::default(),
            region: region.to_string(),
            stack: stack.to_string(),
            record: record.clone(),
            progress,
        }
    }
}

/// A service's answer, with "the endpoint does not implement it" set apart:
/// `Ok(Err(_))` is that, `Err(_)` any other failure.
fn available<T>(r: Result<T, AwsError>) -> Result<Result<T, AwsError>, AwsError> {
    match r {
        Err(e) if e.class == ErrorClass::Unsupported => Ok(Err(e)),
        Err(e) => Err(e),
        Ok(v) => Ok(Ok(v)),
    }
}

/// The mutations of one region. The `attrs` it is given are concrete: references
/// are live ids. Kinds are implemented in the service modules.
pub struct Mutator {
    endpoint_url: Option<String>,
    wait_limit: Duration,
    /// Unique to this run, region and stack: the seed of idempotency tokens.
    run_token: String,
    ec2: aws_sdk_ec2::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    rds: aws_sdk_rds::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    route53: aws_sdk_route53::Client,
    zone_batches: route53::ZoneBatches,
    region: String,
    stack: String,
    /// The change record tagged on everything this run creates or changes.
    record: BTreeMap<String, String>,
    progress: Progress,
}

/// Where a kind lives in AWS, as that service's own kind. Both ways
/// exhaustive: a new `Kind` does not compile until it is placed here, and its
/// service's kind not until that service creates, updates and deletes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placed {
    Ec2(ec2::Ec2Kind),
    Elb(elbv2::ElbKind),
    Rds(rds::RdsKind),
    Alarm,
    Dns(route53::DnsKind),
}

fn place(kind: Kind) -> Placed {
    use ec2::Ec2Kind as E;
    use elbv2::ElbKind as L;
    use rds::RdsKind as R;
    use route53::DnsKind as D;
    match kind {
        Kind::Vpc => Placed::Ec2(E::Vpc),
        Kind::Subnet => Placed::Ec2(E::Subnet),
        Kind::InternetGateway => Placed::Ec2(E::InternetGateway),
        Kind::NatGateway => Placed::Ec2(E::NatGateway),
        Kind::RouteTable => Placed::Ec2(E::RouteTable),
        Kind::SecurityGroup => Placed::Ec2(E::SecurityGroup),
        Kind::Instance => Placed::Ec2(E::Instance),
        Kind::LoadBalancer => Placed::Elb(L::LoadBalancer),
        Kind::TargetGroup => Placed::Elb(L::TargetGroup),
        Kind::Listener => Placed::Elb(L::Listener),
        Kind::ListenerRule => Placed::Elb(L::ListenerRule),
        Kind::DbSubnetGroup => Placed::Rds(R::SubnetGroup),
        Kind::DbParameterGroup => Placed::Rds(R::ParameterGroup),
        Kind::DbInstance => Placed::Rds(R::Instance),
        Kind::Alarm => Placed::Alarm,
        Kind::DnsZone => Placed::Dns(D::Zone),
        Kind::DnsRecord => Placed::Dns(D::Record),
    }
}

/// How many times a create is tried: throttled or unreachable calls as often
/// as the SDK retries others; a call that got no answer (a hang costs a whole
/// `--call-timeout` each time) three times.
const CREATE_ATTEMPTS_UNSENT: u32 = 8;
const CREATE_ATTEMPTS_UNANSWERED: u32 = 3;

impl Mutate for Mutator {
    /// Creates the resource at `address`, exactly once. `known` are the live ids
    /// the plan saw at this address (a resource being replaced, duplicates):
    /// they are never taken for the new one.
    ///
    /// A create whose outcome is unknown (no answer, a reset, a 5xx) or that
    /// AWS refuses as existing is resolved by looking the resource up by its
    /// tags before anything is sent again: if it is there it is adopted and
    /// brought to `attrs`; a second attempt is made only when it is not.
    async fn create(
        &self,
        address: &Address,
        attrs: &Attrs,
        inputs: &Inputs,
        known: &[String],
    ) -> Result<Created, AwsError> {
        let mut delay = Duration::from_millis(500);
        for attempt in 1.. {
            let failure = match self.create_once(address, attrs, inputs).await {
                Ok(created) => return Ok(created),
                Err(e) => e.at(&self.region, &self.endpoint_of(address.kind)),
            };
            let uncertain = failure.may_have_happened() || failure.is_duplicate();
            if !uncertain && !failure.is_retryable_unsent() {
                return Err(failure);
            }
            let attempts = if failure.is_retryable_unsent() {
                CREATE_ATTEMPTS_UNSENT
            } else {
                CREATE_ATTEMPTS_UNANSWERED
            };
            // Even a throttled create may have come after the create call itself
            // succeeded (a rule, a route, a wait): look before sending it again.
            tracing::info!("{address} ({}): {failure}; looking it up", self.region);
            tokio::time::sleep(delay).await;
            let mut found = self.find(address, known).await.map_err(|e| {
                AwsError::new(
                    failure.operation,
                    failure.class,
                    failure.code.clone(),
                    format!(
                        "{}; and looking for what it may have created failed too ({e})",
                        failure.message
                    ),
                )
            })?;
            match found.len() {
                0 if failure.is_duplicate() || attempt >= attempts => return Err(failure),
                0 => {}
                1 => {
                    let observed = found.remove(0);
                    self.progress(format!(
                        "{address} ({}): {} did not answer cleanly, but created {}: adopted",
                        self.region, failure.operation, observed.live_id
                    ));
                    self.update(
                        &observed,
                        attrs,
                        &Changed::between(attrs, &observed.attrs),
                        inputs,
                    )
                    .await?;
                    return Ok(Created {
                        live_id: observed.live_id,
                        exports: observed.exports,
                    });
                }
                _ => {
                    let ids: Vec<&str> = found.iter().map(|o| o.live_id.as_str()).collect();
                    return Err(AwsError::new(
                        failure.operation,
                        ErrorClass::Conflict,
                        "Duplicated",
                        format!(
                            "{} created more than once ({}); `reconcile plan` shows which copy \
                             is kept and deletes the others",
                            address,
                            ids.join(", ")
                        ),
                    ));
                }
            }
            delay = (delay * 2).min(Duration::from_secs(20));
        }
        unreachable!("the loop returns on the last attempt")
    }

    /// Makes the live resource match `attrs` in the attributes the plan found
    /// `changed`, and nothing else.
    async fn update(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        let result = match place(observed.address.kind) {
            Placed::Ec2(kind) => self.ec2_update(kind, observed, attrs, changed).await,
            Placed::Elb(kind) => self.elb_update(kind, observed, attrs, changed).await,
            Placed::Rds(kind) => {
                self.rds_update(kind, observed, attrs, changed, inputs)
                    .await
            }
            Placed::Alarm => self.alarm_update(observed, attrs, changed).await,
            Placed::Dns(route53::DnsKind::Zone) => self.zone_update(observed, attrs, changed).await,
            Placed::Dns(route53::DnsKind::Record) => {
                self.record_update(observed, attrs, changed).await
            }
        };
        result.map_err(|e| e.at(&self.region, &self.endpoint_of(observed.address.kind)))
    }

    async fn delete(&self, observed: &Observed) -> Result<(), AwsError> {
        let result = match place(observed.address.kind) {
            Placed::Ec2(kind) => self.ec2_delete(kind, observed).await,
            Placed::Elb(kind) => self.elb_delete(kind, observed).await,
            Placed::Rds(kind) => self.rds_delete(kind, observed).await,
            Placed::Alarm => self.alarm_delete(observed).await,
            Placed::Dns(route53::DnsKind::Zone) => self.zone_delete(observed).await,
            Placed::Dns(route53::DnsKind::Record) => self.record_delete(observed).await,
        };
        match result {
            Err(e) if e.is_not_found() => Ok(()),
            other => {
                other.map_err(|e| e.at(&self.region, &self.endpoint_of(observed.address.kind)))
            }
        }
    }
}

impl Mutator {
    async fn create_once(
        &self,
        address: &Address,
        attrs: &Attrs,
        inputs: &Inputs,
    ) -> Result<Created, AwsError> {
        match place(address.kind) {
            Placed::Ec2(kind) => self.ec2_create(kind, address, attrs, inputs).await,
            Placed::Elb(kind) => self.elb_create(kind, address, attrs).await,
            Placed::Rds(kind) => self.rds_create(kind, address, attrs, inputs).await,
            Placed::Alarm => self.put_alarm(address, attrs).await,
            Placed::Dns(route53::DnsKind::Zone) => self.zone_create(address, attrs).await,
            Placed::Dns(route53::DnsKind::Record) => self.record_create(address, attrs).await,
        }
    }

    /// What the stack owns at `address` in this region now, but for `known` ids.
    async fn find(&self, address: &Address, known: &[String]) -> Result<Vec<Observed>, AwsError> {
        let (stack, region) = (self.stack.as_str(), self.region.as_str());
        let found = match place(address.kind) {
            Placed::Ec2(_) => ec2::discover(&self.ec2, stack, region).await?,
            Placed::Elb(_) => elbv2::discover(&self.elb, stack, region).await?.0,
            Placed::Rds(_) => rds::discover(&self.rds, stack, region).await?,
            Placed::Alarm => cloudwatch::discover(&self.cloudwatch, stack, region).await?,
            Placed::Dns(_) => route53::discover(&self.route53, stack, region).await?.owned,
        };
        Ok(found
            .into_iter()
            .filter(|o| &o.address == address && !known.contains(&o.live_id))
            .collect())
    }

    /// An idempotency token for creating `address` in this run: the same for
    /// every attempt, different in the next run.
    fn client_token(&self, address: &Address) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{}/{address}", self.run_token));
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    fn endpoint_of(&self, kind: Kind) -> String {
        endpoint(self.endpoint_url.as_deref(), kind.service(), &self.region)
    }

    /// Brings a resource's tags (its own, and ownership, version and
    /// protection) to what `attrs` say where they `changed`: decided here
    /// for every kind, written by each service's own call.
    async fn retag(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let (set, stale) = self.retagging(observed, attrs, changed);
        let id = observed.live_id.as_str();
        match place(observed.address.kind) {
            Placed::Ec2(_) => self.ec2_write_tags(id, set, stale).await,
            Placed::Elb(_) => self.elb_write_tags(id, set, stale).await,
            Placed::Rds(_) => self.rds_write_tags(id, set, stale).await,
            Placed::Alarm => {
                let arn = observed.exports.get("arn").map_or("", String::as_str);
                self.alarm_write_tags(arn, set, stale).await
            }
            Placed::Dns(route53::DnsKind::Zone) => self.zone_write_tags(observed, set, stale).await,
            // Records carry no tags: the marker record beside each owns it.
            Placed::Dns(route53::DnsKind::Record) => Ok(()),
        }
    }

    fn progress(&self, line: String) {
        self.progress.line(line);
    }

    /// Every tag a resource carries: the stack's and its own, ownership, the
    /// change record (version, time, operator, ticket), protection and, for
    /// instances, the digest of their user data.
    fn tag_pairs(&self, address: &Address, attrs: &Attrs) -> Vec<(String, String)> {
        let mut tags: Vec<(String, String)> = user_tags(attrs).into_iter().collect();
        tags.push((STACK_TAG.into(), self.stack.clone()));
        tags.push((ID_TAG.into(), address.to_string()));
        tags.extend(self.record.iter().map(|(k, v)| (k.clone(), v.clone())));
        if attrs.get("protect") == Some(&Value::Bool(true)) {
            tags.push((PROTECT_TAG.into(), "true".into()));
        }
        if let Some(digest) = attrs.get("user_data").and_then(Value::as_str) {
            tags.push((USER_DATA_TAG.into(), digest.into()));
        }
        tags
    }

    /// The tags to set and the keys to remove so that `observed` carries what `attrs` say.
    fn retagging(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> (Vec<(String, String)>, Vec<String>) {
        let ignored = |a: &str| !changed.contains(a);
        let mut wanted = if ignored("tags") {
            observed.attrs.clone()
        } else {
            attrs.clone()
        };
        let protect = if ignored("protect") {
            observed.protected()
        } else {
            attrs.get("protect") == Some(&Value::Bool(true))
        };
        wanted.insert("protect".into(), Value::Bool(protect));
        if let Some(digest) = observed.attrs.get("user_data") {
            wanted.insert("user_data".into(), digest.clone());
        }
        let set = self.tag_pairs(&observed.address, &wanted);
        let keep = user_tags(&wanted);
        let mut stale: Vec<String> = user_tags(&observed.attrs)
            .into_keys()
            .filter(|k| !keep.contains_key(k))
            .collect();
        if !protect && observed.protected() {
            stale.push(PROTECT_TAG.into());
        }
        (set, stale)
    }
}

/// A live resource owned by a stack (its tags say so), normalised; `None`, with
/// a warning, when its id tag is unusable. ARN-identified kinds export `id` and `arn`.
pub(crate) fn observed(
    region: &str,
    kind: Kind,
    tags: &BTreeMap<String, String>,
    arn: &str,
    attrs: impl IntoIterator<Item = (&'static str, Value)>,
    exports: BTreeMap<String, String>,
) -> Option<Observed> {
    let Some(address) = tags
        .get(ID_TAG)
        .and_then(|a| Address::parse(a))
        .filter(|a| a.kind == kind)
    else {
        tracing::warn!(
            "{arn} carries {STACK_TAG} but no usable {ID_TAG} tag for a {kind}; leaving it alone"
        );
        return None;
    };
    let mut attrs: Attrs = attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let user_tags = tags
        .iter()
        .filter(|(k, _)| !crate::model::tags::is_managed(k))
        .map(|(k, v)| (k.clone(), Value::str(v)));
    attrs.insert("tags".into(), Value::Map(user_tags.collect()));
    attrs.insert(
        "protect".into(),
        Value::Bool(tags.get(PROTECT_TAG).map(String::as_str) == Some("true")),
    );
    let mut exports = exports;
    exports
        .entry("id".into())
        .or_insert_with(|| arn.to_string());
    Some(Observed {
        address,
        region: region.to_string(),
        live_id: arn.to_string(),
        attrs,
        exports,
        // The change record stays with the live resource, for `status`.
        handles: tags
            .iter()
            .filter(|(k, _)| *k == VERSION_TAG || k.starts_with(crate::model::tags::record::CHANGE))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
}

fn endpoint(endpoint_url: Option<&str>, service: Service, region: &str) -> String {
    match endpoint_url {
        Some(url) => url.to_string(),
        None if service.global() => format!("https://{}.amazonaws.com", service.endpoint_name()),
        None => format!("https://{}.{region}.amazonaws.com", service.endpoint_name()),
    }
}

/// Unique per process, stack and region: what idempotency tokens derive from.
fn run_token(stack: &str, region: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{stack}/{region}/{}/{nanos}", std::process::id())
}

/// Readers of concrete attribute values, for the service modules.
fn text<'a>(attrs: &'a Attrs, key: &str) -> Option<&'a str> {
    attrs.get(key).and_then(Value::as_str)
}

/// A text attribute the call cannot do without.
fn required<'a>(attrs: &'a Attrs, key: &str) -> Result<&'a str, AwsError> {
    text(attrs, key).ok_or_else(|| AwsError::unresolved(key))
}

fn int(attrs: &Attrs, key: &str) -> Option<i32> {
    match attrs.get(key) {
        Some(Value::Int(i)) => i32::try_from(*i).ok(),
        _ => None,
    }
}

fn flag(attrs: &Attrs, key: &str) -> Option<bool> {
    match attrs.get(key) {
        Some(Value::Bool(b)) => Some(*b),
        _ => None,
    }
}

/// The live ids in a list attribute.
fn ids(attrs: &Attrs, key: &str) -> Vec<String> {
    attrs
        .get(key)
        .map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn user_tags(attrs: &Attrs) -> BTreeMap<String, String> {
    attrs
        .get("tags")
        .and_then(Value::as_map)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

/// Retries `op` while it fails with an error `retry` accepts, with exponential backoff;
/// for the eventual consistency of AWS, not for throttling (the SDK handles that).
pub async fn retry_while<T, F, Fut>(
    mut op: F,
    retry: impl Fn(&AwsError) -> bool,
    attempts: u32,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AwsError>>,
{
    let mut delay = Duration::from_millis(250);
    for attempt in 1.. {
        match op().await {
            Err(e) if attempt < attempts && retry(&e) => {
                tracing::debug!(error = %e, "retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            other => return other,
        }
    }
    unreachable!("the loop returns on the last attempt")
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
            config: loader(&Connection::default())
                .http_client(http.clone())
                .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                    "a", "b", None, None, "test",
                ))
                .load()
                .await,
            calls: CallCounter::default(),
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
