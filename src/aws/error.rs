//! AWS failures reduced to what callers decide on (a typed `ErrorClass`) and
//! what a user reads (the operation, the AWS code, a message without SDK dumps).

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_runtime_api::http::Response;
use std::error::Error;

/// What kind of failure an AWS call had: the one thing retries, adoption and
/// tolerance decide on (never the text of a message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    NotFound,
    /// Already exists, or in the way of what was asked (a duplicate name, a
    /// priority in use, an overlapping CIDR).
    Conflict,
    Throttled,
    /// Still used by something else.
    DependencyViolation,
    Invalid,
    /// Credentials missing, expired or not allowed.
    Denied,
    /// AWS answered that it failed (5xx): the request may or may not have been
    /// carried out.
    Transient,
    /// The request may have reached AWS and no usable answer came back (a
    /// timeout, a reset after sending): the change may have happened.
    Ambiguous,
    /// The request never left: connection refused, no route, a name that does
    /// not resolve. Nothing happened.
    Unreachable,
    /// The endpoint does not implement the service or operation at all
    /// (LocalStack's community edition has no ELBv2 or RDS: HTTP 501, "not
    /// included in your current license plan"; an unknown action). Never
    /// retried: asking again cannot help.
    Unsupported,
    Other,
}

/// AWS error codes that a step decides on beyond their `ErrorClass`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// EC2: the route table is already associated with that subnet.
    AlreadyAssociated,
    /// EC2: the internet gateway is not attached to that VPC (already detached).
    NotAttached,
    /// ELBv2: a listener or rule still forwards to the target group.
    ResourceInUse,
    /// ELBv2: the target is not registered (a deregistration already done).
    InvalidTarget,
    /// RDS: a parameter group still used by an instance being deleted.
    ParameterGroupInUse,
    /// RDS: a subnet group still used by an instance being deleted.
    SubnetGroupInUse,
    /// RDS: no such instance (its final snapshot's status says whether it was ours).
    DbInstanceNotFound,
    /// Route53: the VPC is already associated with a zone of that name.
    ConflictingDomainExists,
    /// EC2: an instance profile IAM has made but not yet shown EC2 ("Invalid
    /// IAM Instance Profile name"): IAM's consistency delay, asked again.
    ProfileNotSeen,
}

impl Code {
    fn aws(self) -> &'static str {
        match self {
            Code::AlreadyAssociated => "Resource.AlreadyAssociated",
            Code::NotAttached => "Gateway.NotAttached",
            Code::ResourceInUse => "ResourceInUse",
            Code::InvalidTarget => "InvalidTarget",
            Code::ParameterGroupInUse => "InvalidDBParameterGroupState",
            Code::SubnetGroupInUse => "InvalidDBSubnetGroupStateFault",
            Code::DbInstanceNotFound => "DBInstanceNotFound",
            Code::ConflictingDomainExists => "ConflictingDomainExists",
            Code::ProfileNotSeen => "InvalidParameterValue",
        }
    }
}

/// An AWS failure: the operation, AWS's code and message, its class, and where
/// it was sent when the network is to blame.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{operation}: {code}: {message}{}", self.place.as_deref().map(|p| format!(" ({p})")).unwrap_or_default())]
pub struct AwsError {
    pub operation: &'static str,
    pub code: String,
    pub message: String,
    pub class: ErrorClass,
    /// Region and endpoint, for failures of the network.
    pub place: Option<String>,
}

impl AwsError {
    pub fn new(
        operation: &'static str,
        class: ErrorClass,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        AwsError {
            operation,
            code: code.into(),
            message: message.into(),
            class,
            place: None,
        }
    }

    /// A value the step needs is not known yet (what it refers to does not exist).
    pub fn unresolved(key: &str) -> Self {
        AwsError::new(
            "resolve",
            ErrorClass::Invalid,
            "Unresolved",
            format!("attribute `{key}` has no value yet"),
        )
    }

    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E, Response>) -> Self
    where
        E: ProvideErrorMetadata + Error + 'static,
    {
        match &err {
            SdkError::DispatchFailure(failure) => {
                let detail = chain(&err);
                tracing::debug!("{operation}: {detail}");
                if detail.contains("credentials") {
                    return AwsError::new(
                        operation,
                        ErrorClass::Denied,
                        "NoCredentials",
                        "no usable AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and \
                         AWS_SECRET_ACCESS_KEY, or use SSO or OIDC web identity (-vv shows what was tried)",
                    );
                }
                if never_sent(&err) {
                    return AwsError::new(
                        operation,
                        ErrorClass::Unreachable,
                        "Unreachable",
                        format!(
                            "could not connect to AWS, nothing was sent: {}",
                            reason(&err)
                        ),
                    );
                }
                let what = if failure.is_timeout() {
                    "no answer in time"
                } else {
                    "the connection failed after the request was sent"
                };
                ambiguous(operation, format!("{what} ({})", reason(&err)))
            }
            SdkError::TimeoutError(_) => {
                ambiguous(operation, "no answer in time (see --call-timeout)".into())
            }
            SdkError::ResponseError(_) => ambiguous(
                operation,
                format!("the answer was cut off: {}", reason(&err)),
            ),
            SdkError::ConstructionFailure(_) => AwsError::new(
                operation,
                ErrorClass::Invalid,
                "ConstructionFailure",
                chain(&err),
            ),
            _ => {
                let status = err.raw_response().map(|r| r.status().as_u16());
                let code = err.code().unwrap_or("Unknown").to_string();
                let message = err.message().map(str::to_string).unwrap_or_else(|| {
                    status.map_or_else(|| chain(&err), |s| format!("HTTP status {s}"))
                });
                let class = if unsupported(&code, status, &message) {
                    ErrorClass::Unsupported
                } else {
                    classify(&code, status)
                };
                // A policy's refusal; or a bare 403, whose body said nothing.
                let refused = NOT_ALLOWED.contains(&code.as_str())
                    || (status == Some(403) && err.code().is_none());
                let message = if refused {
                    not_allowed(&action::<E>(operation), &message)
                } else {
                    message
                };
                AwsError::new(operation, class, code, message)
            }
        }
    }

    /// A waiter that gave up or failed, as an error of `operation`.
    pub fn waiter<E: Error + 'static>(operation: &'static str, err: E) -> Self {
        AwsError::new(operation, ErrorClass::Other, "WaiterFailed", chain(&err))
    }

    /// Says where a network failure was sent; other errors are left as they are.
    pub fn at(mut self, region: &str, endpoint: &str) -> Self {
        if matches!(
            self.class,
            ErrorClass::Ambiguous | ErrorClass::Unreachable | ErrorClass::Transient
        ) && self.place.is_none()
        {
            self.place = Some(format!("region {region}, endpoint {endpoint}"));
        }
        self
    }

    /// Whether AWS answered with `code`: the answers a step decides on beyond
    /// their class, named once here.
    pub fn is(&self, code: Code) -> bool {
        self.code == code.aws()
            && match code {
                // EC2 gives this code to many mistakes: this one says so
                // only in its message, read here and nowhere else.
                Code::ProfileNotSeen => self.message.contains("IAM Instance Profile"),
                _ => true,
            }
    }

    pub fn is_not_found(&self) -> bool {
        self.class == ErrorClass::NotFound
    }

    /// Dependencies AWS is still letting go of (a subnet deleted a moment ago).
    pub fn is_dependency_violation(&self) -> bool {
        self.class == ErrorClass::DependencyViolation
    }

    /// What was asked exists already (or something is in its way).
    pub fn is_duplicate(&self) -> bool {
        self.class == ErrorClass::Conflict
    }

    /// The request may have been carried out although it failed.
    pub fn may_have_happened(&self) -> bool {
        matches!(self.class, ErrorClass::Ambiguous | ErrorClass::Transient)
    }

    /// Sending again is safe and may succeed: nothing happened the first time.
    pub fn is_retryable_unsent(&self) -> bool {
        matches!(self.class, ErrorClass::Throttled | ErrorClass::Unreachable)
    }

    /// A read worth asking again later (throttled, failed on AWS's side, no
    /// answer, unreachable): not a reason to give up on what it judges.
    pub fn worth_asking_again(&self) -> bool {
        self.may_have_happened() || self.is_retryable_unsent()
    }
}

fn ambiguous(operation: &'static str, what: String) -> AwsError {
    let reads = ["Describe", "List", "Get"];
    let message = if reads.iter().any(|r| operation.starts_with(r)) {
        what
    } else {
        format!("{what}; the change may have happened: run `reconcile plan` to see")
    };
    AwsError::new(operation, ErrorClass::Ambiguous, "NoAnswer", message)
}

const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "PriorRequestNotComplete",
    "SlowDown",
    "EC2ThrottledException",
    "BandwidthLimitExceeded",
];

const CONFLICT: &[&str] = &[
    "RouteAlreadyExists",
    "PriorityInUse",
    "InvalidSubnet.Conflict",
    "Resource.AlreadyAssociated",
    "DuplicateLoadBalancerName",
    "DuplicateTargetGroupName",
    "DuplicateListener",
    "HostedZoneAlreadyExists",
    "ConflictingDomainExists",
];

const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthFailure",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
];

/// The answers of a policy (the role's, an SCP, a permission boundary)
/// that does not allow the call.
const NOT_ALLOWED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
];

/// Whose credentials the run's calls carry, once STS said (`remember_caller`).
static CALLER: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Keeps the caller's ARN for the messages of calls it may not make.
pub fn remember_caller(arn: &str) {
    CALLER.get_or_init(|| arn.to_string());
}

/// The IAM action of `operation`, from the SDK crate its error type is
/// of (`aws_sdk_ec2::operation::…` → `ec2:CreateVpc`).
fn action<E>(operation: &str) -> String {
    let service = std::any::type_name::<E>()
        .strip_prefix("aws_sdk_")
        .and_then(|rest| rest.split("::").next())
        .unwrap_or("unknown");
    let prefix = match service {
        "elasticloadbalancingv2" => "elasticloadbalancing",
        "resourcegroupstagging" => "tag",
        other => other,
    };
    format!("{prefix}:{operation}")
}

/// AWS's refusal, and what to do: the action, the resource when AWS named
/// it, whose credentials, and the command that prints what the stack needs.
fn not_allowed(action: &str, message: &str) -> String {
    let who = CALLER.get().map_or("these credentials", String::as_str);
    let resource = message
        .split_once(" on resource: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .map(|r| format!(" on {}", r.trim_end_matches(['.', ','])))
        .unwrap_or_default();
    format!(
        "{message}\n  help: {who} may not call {action}{resource}: `reconcile iam-policy \
         STACK_FILE` prints the policy the stack's commands need (`--read-only` for plan, \
         verify and status); attach it to the role, or ask whoever keeps the account's SCPs \
         and permission boundaries"
    )
}

/// Whether an answer says the endpoint does not implement the service or the
/// operation: HTTP 501, an unknown action, or LocalStack's "not included in
/// your current license plan". Only such answers: a 500 or a throttle is not.
pub fn unsupported(code: &str, status: Option<u16>, message: &str) -> bool {
    status == Some(501)
        || matches!(
            code,
            "InvalidAction" | "UnknownOperation" | "UnknownOperationException" | "NotImplemented"
        )
        || message.contains("not included in your current license plan")
        || message.contains("has not yet been emulated")
}

/// The class of an error AWS answered with, from its code and HTTP status.
pub fn classify(code: &str, status: Option<u16>) -> ErrorClass {
    if THROTTLING.contains(&code) {
        ErrorClass::Throttled
    } else if code.ends_with("NotFound")
        || code.ends_with("NotFoundFault")
        || code.ends_with("NotFoundException")
        || code.starts_with("NoSuch")
    {
        ErrorClass::NotFound
    } else if CONFLICT.contains(&code)
        || code.ends_with(".Duplicate")
        || code.ends_with("AlreadyExists")
        || code.ends_with("AlreadyExistsFault")
        || code.ends_with("AlreadyExistsException")
    {
        ErrorClass::Conflict
    } else if code == "DependencyViolation"
        || code == "ResourceInUse"
        // ACM: a certificate a listener still uses.
        || code == "ResourceInUseException"
    {
        ErrorClass::DependencyViolation
    } else if DENIED.contains(&code) {
        ErrorClass::Denied
    } else if status.is_some_and(|s| s >= 500)
        || matches!(
            code,
            "InternalError" | "InternalFailure" | "ServiceUnavailable" | "Unavailable"
        )
    {
        ErrorClass::Transient
    } else if code.starts_with("Invalid")
        || code.starts_with("Validation")
        || code.starts_with("MissingParameter")
        || code.contains("Malformed")
    {
        ErrorClass::Invalid
    } else {
        ErrorClass::Other
    }
}

/// Every message of an error and its sources, joined: Display only, no Debug dumps.
pub fn chain(err: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// The innermost cause, which says what happened on the wire.
fn reason(err: &(dyn Error + 'static)) -> String {
    let mut last = err;
    while let Some(inner) = last.source() {
        last = inner;
    }
    match io_kind(err) {
        Some(std::io::ErrorKind::ConnectionReset) => "connection reset".into(),
        Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".into(),
        Some(std::io::ErrorKind::TimedOut) => "timed out".into(),
        _ => last.to_string(),
    }
}

fn io_kind(err: &(dyn Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        next = e.source();
    }
    None
}

/// Whether the request certainly never reached AWS: the connection could not be
/// made (refused, no route, DNS, connect timeout).
fn never_sent(err: &(dyn Error + 'static)) -> bool {
    let text = chain(err);
    matches!(
        io_kind(err),
        Some(std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable)
    ) || text.contains("(Connect)")
        || text.contains("dns error")
        || text.contains("connect timeout")
}

/// Two failures the SDK's standard retries get wrong for a CLI:
/// - a connection refused is not retried: nothing listens there (an emulator
///   not started, a wrong `--endpoint-url`), and eight attempts with backoff
///   would only keep the user waiting in silence;
/// - an attempt that timed out is retried only after waiting as long again
///   (`after_timeout`, the call timeout; at most the SDK's longest backoff):
///   the endpoint may still be working on it, and the same request sent at
///   once would only queue behind itself (an emulator filtering thousands of
///   groups answered none of the retries).
#[derive(Debug)]
pub struct Retries {
    pub after_timeout: std::time::Duration,
}

impl ClassifyRetry for Retries {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(error) = ctx.output_or_error().and_then(Result::err) else {
            return RetryAction::NoActionIndicated;
        };
        let refused = error
            .as_connector_error()
            .is_some_and(|e| io_kind(e) == Some(std::io::ErrorKind::ConnectionRefused));
        if refused {
            RetryAction::RetryForbidden
        } else if error.is_timeout_error()
            || error.as_connector_error().is_some_and(|e| e.is_timeout())
        {
            RetryAction::retryable_error_with_explicit_delay(
                aws_smithy_types::retry::ErrorKind::TransientError,
                self.after_timeout,
            )
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "reconcile::Retries"
    }

    fn priority(&self) -> RetryClassifierPriority {
        // Last: it overrides what the transient error classifier says of a timeout.
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_action_the_resource_the_caller_and_the_command() {
        assert_eq!(
            action::<aws_sdk_ec2::operation::create_vpc::CreateVpcError>("CreateVpc"),
            "ec2:CreateVpc"
        );
        assert_eq!(
            action::<aws_sdk_elasticloadbalancingv2::operation::modify_rule::ModifyRuleError>(
                "ModifyRule"
            ),
            "elasticloadbalancing:ModifyRule"
        );
        remember_caller("arn:aws:sts::123456789012:assumed-role/plan/reconcile-ci");
        let message = not_allowed(
            "rds:DeleteDBInstance",
            "User: arn:aws:sts::123456789012:assumed-role/plan/reconcile-ci is not authorized to \
             perform: rds:DeleteDBInstance on resource: arn:aws:rds:us-west-2:123456789012:db:shop \
             because no identity-based policy allows the rds:DeleteDBInstance action",
        );
        assert!(
            message.contains(
                "help: arn:aws:sts::123456789012:assumed-role/plan/reconcile-ci may not call \
                 rds:DeleteDBInstance on arn:aws:rds:us-west-2:123456789012:db:shop: \
                 `reconcile iam-policy STACK_FILE` prints"
            ),
            "{message}"
        );
    }

    #[test]
    fn an_instance_profile_not_yet_seen_is_told_from_other_invalid_values() {
        let answer = |message: &str| {
            AwsError::new(
                "RunInstances",
                ErrorClass::Invalid,
                "InvalidParameterValue",
                message,
            )
        };
        let unseen = answer("Value (prod-web-profile) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name");
        assert!(unseen.is(Code::ProfileNotSeen));
        assert!(!answer("Invalid value 't9.huge' for InstanceType").is(Code::ProfileNotSeen));
        assert!(!unseen.is(Code::AlreadyAssociated));
    }

    #[test]
    fn codes_are_classified_by_what_callers_decide() {
        let cases = [
            ("RequestLimitExceeded", Some(503), ErrorClass::Throttled),
            ("Throttling", Some(400), ErrorClass::Throttled),
            ("InvalidVpcID.NotFound", Some(400), ErrorClass::NotFound),
            (
                "DBSubnetGroupNotFoundFault",
                Some(404),
                ErrorClass::NotFound,
            ),
            ("InvalidGroup.Duplicate", Some(400), ErrorClass::Conflict),
            ("InvalidSubnet.Conflict", Some(400), ErrorClass::Conflict),
            ("PriorityInUse", Some(400), ErrorClass::Conflict),
            ("DBInstanceAlreadyExists", Some(400), ErrorClass::Conflict),
            (
                "DependencyViolation",
                Some(400),
                ErrorClass::DependencyViolation,
            ),
            ("ResourceInUse", Some(400), ErrorClass::DependencyViolation),
            ("UnauthorizedOperation", Some(403), ErrorClass::Denied),
            ("InternalError", Some(500), ErrorClass::Transient),
            ("Unknown", Some(502), ErrorClass::Transient),
            ("InvalidParameterValue", Some(400), ErrorClass::Invalid),
            ("SomethingElse", Some(400), ErrorClass::Other),
        ];
        for (code, status, class) in cases {
            assert_eq!(classify(code, status), class, "{code}");
        }
    }

    #[test]
    fn only_a_not_implemented_answer_is_unsupported() {
        let localstack = "The API for service elbv2 is either not included in your current \
                          license plan or has not yet been emulated by LocalStack.";
        assert!(unsupported("InternalFailure", Some(501), localstack));
        assert!(unsupported("InternalFailure", Some(500), localstack));
        assert!(unsupported("Unknown", Some(501), "HTTP status 501"));
        assert!(unsupported("InvalidAction", Some(400), "no such action"));
        assert!(!unsupported("InternalFailure", Some(500), "boom"));
        assert!(!unsupported("Throttling", Some(400), "Rate exceeded"));
        assert!(!unsupported("ServiceUnavailable", Some(503), "try later"));
    }

    #[test]
    fn only_uncertain_failures_may_have_happened() {
        let e = |class| AwsError::new("CreateVpc", class, "X", "m");
        assert!(e(ErrorClass::Ambiguous).may_have_happened());
        assert!(e(ErrorClass::Transient).may_have_happened());
        assert!(!e(ErrorClass::Throttled).may_have_happened());
        assert!(!e(ErrorClass::Unreachable).may_have_happened());
        assert!(e(ErrorClass::Unreachable).is_retryable_unsent());
    }

    #[test]
    fn network_failures_name_their_place_and_others_do_not() {
        let lost = AwsError::new("CreateVpc", ErrorClass::Ambiguous, "NoAnswer", "reset")
            .at("eu-west-1", "http://127.0.0.1:4566");
        assert_eq!(
            lost.to_string(),
            "CreateVpc: NoAnswer: reset (region eu-west-1, endpoint http://127.0.0.1:4566)"
        );
        let invalid = AwsError::new("CreateVpc", ErrorClass::Invalid, "InvalidCidr", "bad")
            .at("eu-west-1", "x");
        assert_eq!(invalid.to_string(), "CreateVpc: InvalidCidr: bad");
    }
}
