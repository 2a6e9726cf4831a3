//! A fault-injecting HTTP proxy between `reconcile` and the emulator, in the
//! test process: throttling in each service's wire format, 5xx, connections
//! reset before the request is forwarded, answers lost after the emulator did
//! the write, and calls that never return. Seeded, so a failing run repeats.
//!
//! One request per connection (every answer says `Connection: close`), which
//! keeps the parsing to what the SDK sends: a head and a `Content-Length` body.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A throttling error in the service's format; nothing forwarded.
    Throttle,
    /// An HTTP 500 in the service's format; nothing forwarded.
    ServerError,
    /// The connection is closed before anything is forwarded.
    Reset,
    /// Forwarded, the emulator does the work, then the connection is closed
    /// without an answer.
    LoseAnswer,
    /// Never answered.
    Hang,
    /// EC2's refusal to delete what something still uses (DependencyViolation),
    /// which the emulator does not make for a security group; nothing forwarded.
    InUse,
    /// EC2's refusal of an instance profile IAM has made but not yet shown
    /// it (eventual consistency, seconds on AWS; never on the emulator);
    /// nothing forwarded.
    ProfileNotSeen,
}

const MIXED: [Fault; 4] = [
    Fault::Throttle,
    Fault::ServerError,
    Fault::Reset,
    Fault::LoseAnswer,
];

/// One request as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// As signed: `ec2`, `elasticloadbalancing`, `rds`, …
    pub service: String,
    pub operation: String,
    pub fault: Option<Fault>,
    /// When it arrived.
    pub at: std::time::Instant,
}

struct Rules {
    rng: u64,
    /// Probability in percent of a random fault (from `MIXED`) on any request.
    rate: u32,
    /// Faults for the next requests of an operation, in order.
    targeted: Vec<(String, VecDeque<Fault>)>,
    /// Operations that are never answered.
    hanging: Vec<String>,
    /// Added before every answer: a slow AWS.
    delay: Duration,
    /// Services (as signed: `elasticloadbalancing`, `rds`) answered as
    /// LocalStack's community edition answers them: 501, not implemented.
    missing: Vec<String>,
}

impl Rules {
    fn next_random(&mut self) -> u64 {
        // xorshift64*: enough for a seeded choice of faults.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn fault_for(&mut self, operation: &str) -> Option<Fault> {
        if self.hanging.iter().any(|o| o == operation) {
            return Some(Fault::Hang);
        }
        if let Some((_, queue)) = self.targeted.iter_mut().find(|(o, _)| o == operation) {
            if let Some(fault) = queue.pop_front() {
                return Some(fault);
            }
        }
        if self.rate > 0 && (self.next_random() % 100) < u64::from(self.rate) {
            let pick = (self.next_random() % MIXED.len() as u64) as usize;
            return Some(MIXED[pick]);
        }
        None
    }
}

pub struct Proxy {
    pub url: String,
    rules: Arc<Mutex<Rules>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Proxy {
    /// A proxy in front of `upstream` (`http://127.0.0.1:PORT`), injecting no fault yet.
    pub fn start(upstream: &str, seed: u64) -> Proxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let rules = Arc::new(Mutex::new(Rules {
            rng: seed.max(1),
            rate: 0,
            targeted: Vec::new(),
            hanging: Vec::new(),
            delay: Duration::ZERO,
            missing: Vec::new(),
        }));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (r, s) = (rules.clone(), seen.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (r, s, upstream) = (r.clone(), s.clone(), upstream.clone());
                std::thread::spawn(move || {
                    let _ = serve(client, &upstream, &r, &s);
                });
            }
        });
        Proxy { url, rules, seen }
    }

    /// A random fault from the mixed set on `percent` % of all requests.
    pub fn mixed(&self, percent: u32) -> &Self {
        self.rules.lock().unwrap().rate = percent;
        self
    }

    /// `fault` on the next `times` requests of `operation` (e.g. `CreateVpc`).
    pub fn on(&self, operation: &str, fault: Fault, times: usize) -> &Self {
        let mut rules = self.rules.lock().unwrap();
        let queue = std::iter::repeat_n(fault, times).collect();
        rules.targeted.push((operation.to_string(), queue));
        self
    }

    /// Every request of `operation` is held open and never answered.
    pub fn hang(&self, operation: &str) -> &Self {
        self.rules
            .lock()
            .unwrap()
            .hanging
            .push(operation.to_string());
        self
    }

    /// Every request of `service` is answered as an endpoint without it
    /// answers (LocalStack's community edition, for ELBv2 and RDS).
    pub fn without(&self, service: &str) -> &Self {
        self.rules.lock().unwrap().missing.push(service.to_string());
        self
    }

    /// Every answer comes `delay` late.
    pub fn slow(&self, delay: Duration) -> &Self {
        self.rules.lock().unwrap().delay = delay;
        self
    }

    /// No more faults.
    pub fn heal(&self) {
        let mut rules = self.rules.lock().unwrap();
        rules.rate = 0;
        rules.targeted.clear();
        rules.hanging.clear();
        rules.delay = Duration::ZERO;
    }

    /// reconcile, sending everything through this proxy.
    pub fn via(&self) -> assert_cmd::Command {
        let mut cmd = crate::harness::reconcile();
        cmd.env("AWS_ENDPOINT_URL", &self.url);
        cmd
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The operations that got `fault`.
    pub fn faulted(&self, fault: Fault) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter(|s| s.fault == Some(fault))
            .map(|s| s.operation)
            .collect()
    }
}

fn serve(
    mut client: TcpStream,
    upstream: &str,
    rules: &Mutex<Rules>,
    seen: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let Some(request) = read_request(&mut client)? else {
        return Ok(());
    };
    let (service, operation) = identify(&request);
    let (fault, delay, missing) = {
        let mut rules = rules.lock().unwrap();
        let missing = rules.missing.contains(&service);
        (rules.fault_for(&operation), rules.delay, missing)
    };
    std::thread::sleep(delay);
    seen.lock().unwrap().push(Seen {
        service: service.clone(),
        operation: operation.clone(),
        fault,
        at: std::time::Instant::now(),
    });
    if missing {
        // LocalStack's answer, word for word, in the query protocol.
        let body = format!("<?xml version='1.0' encoding='utf-8'?>\n<ErrorResponse><Error><Code>InternalFailure</Code><Message>The API for service {service} is either not included in your current license plan or has not yet been emulated by LocalStack.</Message></Error><RequestId>missing</RequestId></ErrorResponse>");
        let answer = format!(
            "HTTP/1.1 501 NOT IMPLEMENTED\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        return respond(&mut client, answer.as_bytes());
    }
    match fault {
        Some(Fault::Hang) => {
            // Hold the connection open until the client gives up.
            let mut sink = [0u8; 1];
            client.set_read_timeout(None)?;
            let _ = client.read(&mut sink);
            Ok(())
        }
        Some(Fault::Reset) => Ok(()),
        Some(Fault::Throttle) => respond(&mut client, &error_answer(&service, true)),
        Some(Fault::ServerError) => respond(&mut client, &error_answer(&service, false)),
        Some(Fault::InUse) => respond(
            &mut client,
            &ec2_error("DependencyViolation", "resource has a dependent object"),
        ),
        Some(Fault::ProfileNotSeen) => respond(
            &mut client,
            &ec2_error(
                "InvalidParameterValue",
                "Value (reconcile-profile) for parameter iamInstanceProfile.name is invalid. \
                 Invalid IAM Instance Profile name",
            ),
        ),
        Some(Fault::LoseAnswer) => {
            forward(upstream, &request)?;
            Ok(())
        }
        None => {
            let answer = forward(upstream, &request)?;
            respond(&mut client, &answer)
        }
    }
}

struct Request {
    head: String,
    body: Vec<u8>,
}

fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = find(&buffer, b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length = header(&head, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(Request { head, body }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The service (from the signature's scope) and the operation (the query
/// `Action`, or Route53's REST path).
fn identify(request: &Request) -> (String, String) {
    let service = header(&request.head, "authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unknown")
        .to_string();
    let body = String::from_utf8_lossy(&request.body);
    let action = body
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(str::to_string);
    let operation = action.unwrap_or_else(|| {
        let line = request.head.lines().next().unwrap_or_default();
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let path = path.split('?').next().unwrap_or_default();
        match (method, path) {
            ("POST", p) if p.ends_with("/hostedzone") => "CreateHostedZone".into(),
            ("POST", p) if p.ends_with("/rrset") || p.ends_with("/rrset/") => {
                "ChangeResourceRecordSets".into()
            }
            _ => format!("{method} {path}"),
        }
    });
    (service, operation)
}

/// An EC2 error answer (400, EC2's XML).
fn ec2_error(code: &str, message: &str) -> Vec<u8> {
    let body = format!(
        "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>fault</RequestID></Response>"
    );
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn error_answer(service: &str, throttle: bool) -> Vec<u8> {
    // The Resource Groups Tagging API speaks JSON (awsJson1_1).
    if service == "tagging" {
        let (status, code) = if throttle {
            ("400 Bad Request", "ThrottledException")
        } else {
            ("500 Internal Server Error", "InternalServiceException")
        };
        let body = format!("{{\"__type\":\"{code}\",\"message\":\"injected\"}}");
        return format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: {code}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes();
    }
    let (status, body) = match (service, throttle) {
        ("ec2", true) => (
            "503 Service Unavailable",
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>fault</RequestID></Response>".to_string(),
        ),
        ("ec2", false) => (
            "500 Internal Server Error",
            "<Response><Errors><Error><Code>InternalError</Code><Message>An internal error has occurred.</Message></Error></Errors><RequestID>fault</RequestID></Response>".to_string(),
        ),
        (_, throttle) => {
            let (status, kind, code, message) = if throttle {
                ("400 Bad Request", "Sender", "Throttling", "Rate exceeded")
            } else {
                ("500 Internal Server Error", "Receiver", "InternalFailure", "Internal failure")
            };
            let ns = if service == "route53" {
                " xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\""
            } else {
                ""
            };
            (
                status,
                format!("<?xml version=\"1.0\"?><ErrorResponse{ns}><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"),
            )
        }
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends the request to the emulator on a connection of its own and reads the whole answer.
fn forward(upstream: &str, request: &Request) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream)?;
    server.set_read_timeout(Some(Duration::from_secs(120)))?;
    let head: Vec<&str> = request
        .head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    server.write_all(format!("{}\r\nConnection: close\r\n\r\n", head.join("\r\n")).as_bytes())?;
    server.write_all(&request.body)?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    Ok(answer)
}

/// Writes an answer with `Connection: close`, then closes.
fn respond(client: &mut TcpStream, answer: &[u8]) -> std::io::Result<()> {
    let Some(head_end) = find(answer, b"\r\n\r\n") else {
        return client.write_all(answer);
    };
    let head = String::from_utf8_lossy(&answer[..head_end]);
    let kept: Vec<&str> = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    client.write_all(format!("{}\r\nConnection: close\r\n\r\n", kept.join("\r\n")).as_bytes())?;
    client.write_all(&answer[head_end + 4..])?;
    client.flush()
}
