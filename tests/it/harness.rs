//! Shared helpers: the emulator, running the binary, stack files, SDK clients.

use assert_cmd::Command;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Which emulator the tests run against: `RECONCILE_TEST_ENGINE=localstack`
/// for LocalStack (only the tests that need neither ELBv2 nor RDS, which its
/// community edition lacks: `scripts/test.sh` runs that subset), else moto.
pub fn engine() -> Engine {
    match std::env::var("RECONCILE_TEST_ENGINE").as_deref() {
        Ok("localstack") => Engine::LocalStack,
        _ => Engine::Moto,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Moto,
    LocalStack,
}

/// The emulator's endpoint: `RECONCILE_TEST_ENDPOINT` when set (for example the one
/// `localstack/emulator.sh start` runs), otherwise a server of this test run
/// (moto's, or LocalStack in host mode), on a free port, stopped when the test
/// binary exits.
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| match std::env::var("RECONCILE_TEST_ENDPOINT") {
        Ok(url) => url,
        Err(_) => start_server(engine()),
    })
}

/// A moto server of the caller's own (behind the conformance checker), for
/// a test that changes how the whole server behaves (IAM enforced); stopped
/// when the test binary exits.
pub fn private_moto() -> String {
    start_server(Engine::Moto)
}

/// Starts an emulator on a free port and waits until it answers.
fn start_server(engine: Engine) -> String {
    static SERVERS: Mutex<Vec<Child>> = Mutex::new(Vec::new());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::env::temp_dir().join(format!("reconcile-{engine:?}-{port}.log"));
    let command = match engine {
        // moto behind the conformance checker: a request AWS's models
        // (or its documented limits) refuse is refused, and logged.
        Engine::Moto => {
            let python = root.join("localstack/.venv/bin/python");
            assert!(
                python.exists(),
                "moto is not installed: run `localstack/emulator.sh install` (or set RECONCILE_TEST_ENDPOINT)"
            );
            // A new certificate is issued 2 s after it is requested
            // (moto's default: 60 s); AWS's managed IAM policies exist,
            // as on AWS (moto's default: none).
            format!(
                "MOTO_ACM_VALIDATION_WAIT={ACM_VALIDATION_WAIT} MOTO_IAM_LOAD_MANAGED_POLICIES=true '{}' '{}' -H 127.0.0.1 -p {port} --log '{}'",
                python.display(),
                root.join("localstack/conformance.py").display(),
                conformance_log(port).display()
            )
        }
        Engine::LocalStack => {
            let python = root.join("localstack/.venv-localstack/bin/python");
            assert!(
                python.exists(),
                "LocalStack is not installed: run `ENGINE=localstack localstack/emulator.sh install`"
            );
            let volume = std::env::temp_dir().join(format!("reconcile-localstack-{port}"));
            format!(
                "MOTO_ACM_VALIDATION_WAIT={ACM_VALIDATION_WAIT} \
                 OVERRIDE_IN_DOCKER=0 GATEWAY_LISTEN=127.0.0.1:{port} DNS_ADDRESS=0 \
                 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 LOCALSTACK_VOLUME_DIR='{}' \
                 '{}' -m localstack.runtime.main",
                volume.display(),
                python.display()
            )
        }
    };
    // The shell kills the server when our end of its stdin closes, that is
    // when this test process exits, however it exits.
    let script = format!(
        "{command} >'{}' 2>&1 & pid=$!; read _; kill $pid",
        log.display()
    );
    let child = std::process::Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .spawn()
        .expect("starting the emulator");
    SERVERS.lock().unwrap().push(child);
    let started = Instant::now();
    while !ready(engine, port) {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{engine:?} did not answer on {port} within 90s; see {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    format!("http://127.0.0.1:{port}")
}

/// Where the conformance checker in front of moto writes what it refused.
pub fn conformance_log(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("reconcile-conformance-{port}.log"))
}

/// Whether the emulator answers: moto as soon as it listens, LocalStack once
/// its health endpoint says EC2 is up.
fn ready(engine: Engine, port: u16) -> bool {
    use std::io::Read;
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    if engine == Engine::Moto {
        return true;
    }
    let request = "GET /_localstack/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    let mut answer = String::new();
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.lines().next().is_some_and(|l| l.contains(" 200"))
        && (answer.contains("\"ec2\": \"available\"") || answer.contains("\"ec2\": \"running\""))
}

/// A stack name no other test (or earlier run against the same emulator) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 1_000_000;
    format!("{prefix}-{}-{t}-{n}", std::process::id())
}

/// The binary, pointed at the emulator with dummy credentials and no colour.
pub fn reconcile() -> Command {
    let mut cmd = Command::cargo_bin("reconcile").unwrap();
    with_emulator(&mut cmd);
    cmd
}

/// The environment that points a command (the binary, or a wrapper running it) at the emulator.
pub fn with_emulator(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("RUST_LOG")
        .timeout(Duration::from_secs(300))
}

/// `reconcile` as a process of its own, to run beside others or to kill.
pub fn spawn(args: &[&str]) -> std::process::Child {
    spawn_at(endpoint(), args)
}

pub fn spawn_at(endpoint: &str, args: &[&str]) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("reconcile"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(args: &[&str]) -> Run {
    run_cmd(reconcile().args(args))
}

/// What the conformance checker in front of moto answers for a request AWS
/// would refuse (`localstack/conformance.py`).
pub const REFUSED: &str = "conformance: AWS would refuse";

/// Seconds moto holds a new certificate in PENDING_VALIDATION.
pub const ACM_VALIDATION_WAIT: u64 = 2;

/// Runs the binary; a request it sent that AWS would refuse fails the test
/// here, whatever exit code the test expects.
pub fn run_cmd(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains(REFUSED) && !run.stdout.contains(REFUSED),
        "a request AWS would refuse:\n{}{}",
        run.stdout,
        run.stderr
    );
    let errors = plan_schema_errors(&run.stdout);
    assert!(
        errors.is_empty(),
        "a plan --json that breaks schema/plan.schema.json:\n{}",
        errors.join("\n")
    );
    run
}

/// Where `stdout`, when it is a plan's JSON (`plan --json`), breaks the
/// published schema: every plan the suite makes is checked.
pub fn plan_schema_errors(stdout: &str) -> Vec<String> {
    static SCHEMA: std::sync::LazyLock<jsonschema::Validator> = std::sync::LazyLock::new(|| {
        let text = include_str!("../../schema/plan.schema.json");
        jsonschema::validator_for(&serde_json::from_str(text).expect("the schema is JSON"))
            .expect("the schema is a JSON Schema")
    });
    let Ok(plan) = serde_json::from_str::<serde_json::Value>(stdout) else {
        return vec![];
    };
    if plan.get("changes").is_none() || plan.get("summary").is_none() {
        return vec![];
    }
    SCHEMA
        .iter_errors(&plan)
        .map(|e| format!("{e} (at {})", e.instance_path()))
        .collect()
}

impl Run {
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

/// A stack file in its own temporary directory.
pub struct StackFile {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl StackFile {
    pub fn new(text: &str) -> StackFile {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stack.toml");
        let file = StackFile { dir, path };
        file.write(text);
        file
    }

    pub fn write(&self, text: &str) {
        let mut f = std::fs::File::create(&self.path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    pub fn arg(&self) -> &str {
        self.path.to_str().unwrap()
    }

    pub fn plan_json(&self) -> serde_json::Value {
        run(&["plan", self.arg(), "--json"]).expect(0).json()
    }

    pub fn apply(&self) -> Run {
        run(&["apply", self.arg(), "--auto-approve"])
    }
}

/// The shipped stack files `names` (`["base", "dev"]`) copied into a fresh
/// directory, to edit there.
pub fn shipped_copy(names: &[&str]) -> tempfile::TempDir {
    let stacks = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks");
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        let file = format!("{name}.toml");
        std::fs::copy(stacks.join(&file), dir.path().join(&file)).unwrap();
    }
    dir
}

/// What a colleague uses in the console: the SDK, straight at the emulator.
pub async fn ec2(region: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&console(region).await)
}

async fn console(region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

/// Route53 is global; its API lives in us-east-1.
pub async fn route53() -> aws_sdk_route53::Client {
    aws_sdk_route53::Client::new(&console("us-east-1").await)
}

/// The ids of the hosted zones named `domain`, as the console lists them.
pub async fn zones_named(client: &aws_sdk_route53::Client, domain: &str) -> Vec<String> {
    let zones = client
        .list_hosted_zones_by_name()
        .dns_name(domain)
        .send()
        .await
        .unwrap();
    zones
        .hosted_zones()
        .iter()
        .filter(|z| z.name().trim_end_matches('.') == domain)
        .map(|z| z.id().rsplit('/').next().unwrap().to_string())
        .collect()
}

pub async fn autoscaling(region: &str) -> aws_sdk_autoscaling::Client {
    aws_sdk_autoscaling::Client::new(&console(region).await)
}

/// IAM is global; its API lives in us-east-1.
pub async fn iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&console("us-east-1").await)
}

pub async fn acm(region: &str) -> aws_sdk_acm::Client {
    aws_sdk_acm::Client::new(&console(region).await)
}

pub async fn rds(region: &str) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&console(region).await)
}

pub async fn cloudwatch(region: &str) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&console(region).await)
}

/// The ELBv2 console, as `ec2` is the EC2 one.
pub async fn elb(region: &str) -> aws_sdk_elasticloadbalancingv2::Client {
    aws_sdk_elasticloadbalancingv2::Client::new(&console(region).await)
}

/// The load balancers and target groups `stack` owns in `region`: ARN → `reconcile:id`.
pub async fn owned_elb(region: &str, stack: &str) -> std::collections::HashMap<String, String> {
    let client = elb(region).await;
    let balancers = client.describe_load_balancers().send().await.unwrap();
    let groups = client.describe_target_groups().send().await.unwrap();
    let arns: Vec<String> = balancers
        .load_balancers()
        .iter()
        .filter_map(|b| b.load_balancer_arn())
        .chain(
            groups
                .target_groups()
                .iter()
                .filter_map(|g| g.target_group_arn()),
        )
        .map(str::to_string)
        .collect();
    let mut owned = std::collections::HashMap::new();
    for batch in arns.chunks(20) {
        let tags = client
            .describe_tags()
            .set_resource_arns(Some(batch.to_vec()))
            .send()
            .await
            .unwrap();
        for d in tags.tag_descriptions() {
            let id = d
                .tags()
                .iter()
                .find(|t| t.key() == Some("reconcile:id"))
                .and_then(|t| t.value());
            let mine = d
                .tags()
                .iter()
                .any(|t| t.key() == Some("reconcile:stack") && t.value() == Some(stack));
            if let (true, Some(id)) = (mine, id) {
                owned.insert(d.resource_arn().unwrap().to_string(), id.to_string());
            }
        }
    }
    owned
}

/// The README's example stack (`stacks/demo.toml`) under a stack name of its own.
pub fn demo_stack(name: &str) -> StackFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/demo.toml");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("name = \"demo\""));
    StackFile::new(&text.replace("name = \"demo\"", &format!("name = \"{name}\"")))
}

/// What a stack owns in a region, as the console shows it.
pub struct Live {
    pub vpcs: Vec<aws_sdk_ec2::types::Vpc>,
    pub subnets: Vec<aws_sdk_ec2::types::Subnet>,
    pub gateways: Vec<aws_sdk_ec2::types::InternetGateway>,
    pub tables: Vec<aws_sdk_ec2::types::RouteTable>,
    pub groups: Vec<aws_sdk_ec2::types::SecurityGroup>,
    pub instances: Vec<aws_sdk_ec2::types::Instance>,
}

pub async fn live(region: &str, stack: &str) -> Live {
    let client = ec2(region).await;
    let owned = aws_sdk_ec2::types::Filter::builder()
        .name("tag:reconcile:stack")
        .values(stack)
        .build();
    macro_rules! describe {
        ($call:ident, $items:ident) => {
            client
                .$call()
                .filters(owned.clone())
                .send()
                .await
                .unwrap()
                .$items()
                .to_vec()
        };
    }
    Live {
        vpcs: describe!(describe_vpcs, vpcs),
        subnets: describe!(describe_subnets, subnets),
        gateways: describe!(describe_internet_gateways, internet_gateways),
        tables: describe!(describe_route_tables, route_tables),
        groups: describe!(describe_security_groups, security_groups),
        instances: client
            .describe_instances()
            .filters(owned.clone())
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("instance-state-name")
                    .values("running")
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .reservations()
            .iter()
            .flat_map(|r| r.instances().to_vec())
            .collect(),
    }
}

pub fn tag(key: &str, value: &str) -> aws_sdk_ec2::types::Tag {
    aws_sdk_ec2::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
}

pub fn has_tag(tags: &[aws_sdk_ec2::types::Tag], key: &str, value: &str) -> bool {
    tags.iter()
        .any(|t| t.key() == Some(key) && t.value() == Some(value))
}

/// A network of one VPC, subnet, gateway, route table and security group.
pub fn network(name: &str, region: &str) -> String {
    format!(
        r#"
[stack]
name = "{name}"
regions = ["{region}"]

[vpc.main]
cidr = "10.0.0.0/16"

[subnet.a]
vpc = "vpc.main"
cidr = "10.0.1.0/24"
zone = "a"

[internet_gateway.main]
vpc = "vpc.main"

[route_table.public]
vpc = "vpc.main"
subnets = ["subnet.a"]
routes = [{{ cidr = "0.0.0.0/0", gateway = "internet_gateway.main" }}]

[security_group.web]
vpc = "vpc.main"
description = "web"
ingress = [{{ protocol = "tcp", port = 80, cidr = "0.0.0.0/0" }}]
"#
    )
}

/// A stack of one VPC, plus `extra` lines in its block.
pub fn vpc_stack(name: &str, region: &str, extra: &str) -> String {
    format!("[stack]\nname = \"{name}\"\nregions = [\"{region}\"]\n\n[vpc.main]\ncidr = \"10.0.0.0/16\"\n{extra}")
}

/// The changes of a plan JSON that are not no-ops, as `action address@region`.
pub fn actions(plan: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .map(|c| {
            format!(
                "{} {}@{}",
                c["action"].as_str().unwrap(),
                c["address"].as_str().unwrap(),
                c["region"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}
