//! Every class of bad input: a clear error at file:line:col, exit 1, and not one
//! connection to AWS (the endpoint is a listener that records any attempt).

use crate::harness::{reconcile, run, run_cmd, unique, StackFile};
use std::net::TcpListener;

const GOOD: &str = r#"[stack]
name = "bad"
regions = ["us-west-2", "eu-west-1"]

[vpc.main]
cidr = "10.0.0.0/16"

[subnet.a]
vpc = "vpc.main"
cidr = "10.0.1.0/24"
zone = "a"

[security_group.web]
vpc = "vpc.main"
ingress = [{ protocol = "tcp", port = 80, cidr = "0.0.0.0/0" }]
"#;

/// Runs `plan` on `text`, expecting an error located at the first occurrence of
/// `at` and a message containing `message`; asserts no connection was attempted.
#[track_caller]
fn rejects(text: &str, at: &str, message: &str) {
    let tripwire = TcpListener::bind("127.0.0.1:0").unwrap();
    tripwire.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", tripwire.local_addr().unwrap());
    let stack = StackFile::new(text);
    let mut stderrs = Vec::new();
    for command in ["plan", "apply"] {
        let args: &[&str] = match command {
            "plan" => &["plan", stack.arg()],
            _ => &["apply", stack.arg(), "--auto-approve"],
        };
        let out = run_cmd(reconcile().env("AWS_ENDPOINT_URL", &endpoint).args(args)).expect(1);
        let offset = text
            .find(at)
            .unwrap_or_else(|| panic!("`{at}` is not in the text"));
        let line = text[..offset].matches('\n').count() + 1;
        let col = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
        let location = format!("{}:{line}:{col}: ", stack.arg());
        assert!(
            out.stderr.contains(&location),
            "expected {location}\n{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(message),
            "expected `{message}`\n{}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "nothing on stdout: {}", out.stdout);
        stderrs.push(out.stderr.replace(stack.arg(), "[STACK]"));
    }
    // The whole message, as a user reads it: the same from plan and apply.
    assert_eq!(stderrs[0], stderrs[1], "plan and apply say the same");
    insta::assert_snapshot!(snapshot_name(), stderrs[0]);
    assert!(
        tripwire.accept().is_err(),
        "a stack file with errors must not lead to any AWS call"
    );
}

/// The snapshot of the current test's `n`-th rejection: `unknown_key`, `unknown_key-2`, ….
fn snapshot_name() -> String {
    thread_local!(static COUNT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });
    let test = std::thread::current()
        .name()
        .and_then(|n| n.rsplit("::").next())
        .unwrap_or("rejects")
        .to_string();
    let n = COUNT.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    if n == 1 {
        test
    } else {
        format!("{test}-{n}")
    }
}

#[test]
fn the_good_stack_is_accepted() {
    // The base of every case below is valid: each case breaks exactly one thing.
    let stack = StackFile::new(&GOOD.replace("\"bad\"", &format!("\"{}\"", unique("good"))));
    run(&["plan", stack.arg()]).expect(0);
}

#[test]
fn malformed_toml() {
    let text = GOOD.replace("[subnet.a]", "[subnet.a");
    rejects(
        &text,
        "\nvpc = \"vpc.main\"\ncidr = \"10.0.1",
        "unclosed table, expected `]`",
    );
}

#[test]
fn unknown_key() {
    rejects(
        &GOOD.replace("cidr = \"10.0.0.0/16\"", "cidr_block = \"10.0.0.0/16\""),
        "cidr_block",
        "unknown field `cidr_block`",
    );
}

#[test]
fn unknown_kind() {
    rejects(
        &format!("{GOOD}\n[bucket.logs]\nname = \"x\"\n"),
        "bucket",
        "unknown field `bucket`",
    );
}

#[test]
fn wrong_type() {
    rejects(
        &GOOD.replace(
            "zone = \"a\"",
            "zone = \"a\"\nmap_public_ip_on_launch = \"yes\"",
        ),
        "\"yes\"",
        "invalid type: string \"yes\", expected a boolean",
    );
}

#[test]
fn dangling_reference() {
    let text = GOOD.replace("vpc = \"vpc.main\"\ncidr", "vpc = \"vpc.mian\"\ncidr");
    rejects(
        &text,
        "\"vpc.mian\"",
        "dangling reference: `vpc.mian` is not declared in this stack",
    );
}

#[test]
fn reference_to_the_wrong_kind() {
    let text = GOOD.replace("vpc = \"vpc.main\"\ningress", "vpc = \"subnet.a\"\ningress");
    rejects(
        &text,
        "\"subnet.a\"",
        "`vpc` must name a vpc, found subnet.a",
    );
}

#[test]
fn malformed_reference() {
    rejects(
        &GOOD.replace("vpc = \"vpc.main\"\ncidr", "vpc = \"main\"\ncidr"),
        "\"main\"",
        "`main` is not a reference",
    );
}

#[test]
fn cycle() {
    let text = format!(
        // Groups naming each other in rules are fine (their rules come
        // after both exist); naming each other's ids in tags is a cycle.
        "{GOOD}\n[security_group.a]\nvpc = \"vpc.main\"\ntags = {{ peer = \"${{security_group.b.id}}\" }}\n\n[security_group.b]\nvpc = \"vpc.main\"\ntags = {{ peer = \"${{security_group.a.id}}\" }}\n"
    );
    rejects(
        &text,
        "[security_group.a]",
        "dependency cycle: security_group.a → security_group.b → security_group.a",
    );
}

#[test]
fn duplicate_block() {
    let text = format!("{GOOD}\n[vpc.main]\ncidr = \"10.9.0.0/16\"\n");
    rejects(&text, "main]\ncidr = \"10.9", "duplicate key");
}

#[test]
fn overlapping_subnets() {
    let text =
        format!("{GOOD}\n[subnet.b]\nvpc = \"vpc.main\"\ncidr = \"10.0.1.128/25\"\nzone = \"b\"\n");
    rejects(
        &text,
        "\"10.0.1.128/25\"",
        "subnet.b (10.0.1.128/25) overlaps subnet.a (10.0.1.0/24)",
    );
}

#[test]
fn invalid_cidr() {
    rejects(
        &GOOD.replace("10.0.0.0/16", "10.0.0.0/33"),
        "\"10.0.0.0/33\"",
        "invalid CIDR `10.0.0.0/33`",
    );
}

#[test]
fn cidr_with_host_bits() {
    rejects(
        &GOOD.replace("10.0.1.0/24", "10.0.1.7/24"),
        "\"10.0.1.7/24\"",
        "did you mean \"10.0.1.0/24\"?",
    );
}

#[test]
fn subnet_outside_its_vpc() {
    rejects(
        &GOOD.replace("10.0.1.0/24", "10.1.1.0/24"),
        "\"10.1.1.0/24\"",
        "10.1.1.0/24 is not inside vpc.main's 10.0.0.0/16",
    );
}

#[test]
fn unknown_region() {
    rejects(
        &GOOD.replace("\"eu-west-1\"", "\"eu-west-9\""),
        "\"eu-west-9\"",
        "unknown region `eu-west-9`",
    );
}

#[test]
fn per_region_value_missing_a_region() {
    let text = GOOD.replace(
        "cidr = \"10.0.0.0/16\"",
        "cidr = { us-west-2 = \"10.0.0.0/16\" }",
    );
    rejects(
        &text,
        "{ us-west-2",
        "vpc.main.cidr has no value for region eu-west-1",
    );
}

#[test]
fn bad_security_group_rule() {
    rejects(
        &GOOD.replace("port = 80", "port = 70000"),
        "{ protocol",
        "invalid port range 70000-70000",
    );
}

#[test]
fn unknown_interpolation_attribute() {
    let text = GOOD.replace(
        "zone = \"a\"",
        "zone = \"a\"\ntags = { peer = \"${vpc.main.colour}\" }",
    );
    rejects(
        &text,
        "\"${vpc.main.colour}\"",
        "a vpc has no attribute `colour`",
    );
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = run_cmd(reconcile().args(["plan", "/nonexistent/stack.toml"])).expect(1);
    assert!(
        out.stderr
            .contains("/nonexistent/stack.toml: cannot read the stack file"),
        "{}",
        out.stderr
    );
}

/// The README's example stack: valid, and the base of the load-balancing cases.
fn demo() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/demo.toml")).unwrap()
}

#[test]
fn unknown_load_balancer_scheme() {
    let text = demo().replace(
        "idle_timeout = 60",
        "idle_timeout = 60\nscheme = \"public\"",
    );
    rejects(&text, "\"public\"", "unknown scheme `public`");
}

#[test]
fn https_listener_without_a_certificate() {
    let text = demo().replace(
        "protocol = \"HTTP\"\ndefault_action",
        "protocol = \"HTTPS\"\ndefault_action",
    );
    rejects(
        &text,
        "\"HTTPS\"",
        "an HTTPS listener needs a `certificate`",
    );
}

#[test]
fn a_forward_that_is_neither_a_reference_nor_a_list() {
    let text = demo().replace(
        "action = { forward = \"target_group.blue\" }",
        "action = { forward = 5 }",
    );
    rejects(
        &text,
        "5 }",
        "a target group reference, or a list of { target_group, weight }",
    );
}

#[test]
fn a_forward_to_an_undeclared_target_group() {
    let text = demo().replace(
        "action = { forward = \"target_group.blue\" }",
        "action = { forward = \"target_group.purple\" }",
    );
    rejects(
        &text,
        "\"target_group.purple\"",
        "dangling reference: `target_group.purple`",
    );
}

#[test]
fn weights_out_of_range() {
    let text = demo().replace(
        "action = { forward = \"target_group.blue\" }",
        "action = { forward = [{ target_group = \"target_group.blue\", weight = 1000 }] }",
    );
    rejects(&text, "{ forward = [", "weights 0-999");
}

#[test]
fn a_blue_green_action_forwarding_outside_its_colours() {
    let text = demo()
        .replace(
            "action = { forward = \"target_group.blue\" }",
            "action = { forward = \"target_group.canary\" }",
        )
        .replace(
            "[target_group.green]",
            "[target_group.canary]\nvpc = \"vpc.main\"\nport = 80\n\n[target_group.green]",
        );
    rejects(
        &text,
        "\"target_group.canary\" }",
        "listener_rule.app forwards outside blue_green.app's colours",
    );
}

#[test]
fn two_rules_with_one_priority() {
    let text = format!(
        "{}\n[listener_rule.api]\nlistener = \"listener.http\"\npriority = 100\nconditions = {{ path = [\"/api/*\"] }}\naction = {{ forward = \"target_group.green\" }}\n",
        demo()
    );
    rejects(
        &text,
        "100\nconditions = { path = [\"/*",
        "listener_rule.app has the same priority as listener_rule.api",
    );
}

#[test]
fn instance_count_out_of_range() {
    rejects(
        &demo().replacen("count = 2", "count = 500", 1),
        "500",
        "count must be between 0 and 100",
    );
}

#[test]
fn no_credentials_is_a_clear_error() {
    let stack = StackFile::new(GOOD);
    let out = run_cmd(
        reconcile()
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["plan", stack.arg()]),
    )
    .expect(1);
    assert!(
        out.stderr
            .contains("NoCredentials: no usable AWS credentials"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.lines().count() <= 3,
        "short, not a dump: {}",
        out.stderr
    );
}

fn with_database(extra: &str) -> String {
    format!(
        "{GOOD}\n[subnet.b]\nvpc = \"vpc.main\"\ncidr = \"10.0.2.0/24\"\nzone = \"b\"\n\n[db_subnet_group.main]\nsubnets = [\"subnet.a\", \"subnet.b\"]\n\n[db_instance.main]\nidentifier = \"orders\"\nengine = \"postgres\"\ninstance_class = \"db.t3.micro\"\nallocated_storage = 20\nsubnet_group = \"db_subnet_group.main\"\nmaster_username = \"app\"\n{extra}\n"
    )
}

#[test]
fn a_password_written_into_the_file_is_never_echoed() {
    let leaked = "Tr0ub4dor&3-never-echo";
    let text = with_database(&format!(
        "master_password_env = \"DB_PASSWORD\"\nmaster_password = \"{leaked}\""
    ));
    rejects(
        &text,
        "master_password =",
        "unknown field `master_password`",
    );
    let stack = StackFile::new(&text);
    let out = run_cmd(reconcile().args(["plan", stack.arg()])).expect(1);
    assert!(!out.stderr.contains(leaked), "{}", out.stderr);
    assert!(
        out.stderr.contains("secrets never go in a stack file"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_password_given_as_the_variable_name_is_never_echoed() {
    let leaked = "hunter2!never-echo";
    let text = with_database(&format!("master_password_env = \"{leaked}\""));
    rejects(
        &text,
        &format!("\"{leaked}\""),
        "master_password_env is not an environment variable name",
    );
    let stack = StackFile::new(&text);
    let out = run_cmd(reconcile().args(["plan", stack.arg()])).expect(1);
    assert!(!out.stderr.contains(leaked), "{}", out.stderr);
}

#[test]
fn an_invalid_database_identifier() {
    let text = with_database("master_password_env = \"DB_PASSWORD\"")
        .replace("\"orders\"", "\"orders--db\"");
    rejects(
        &text,
        "\"orders--db\"",
        "invalid DB instance identifier `orders--db`",
    );
}

fn with_dns(record: &str) -> String {
    format!("{GOOD}\n[dns_zone.main]\nname = \"example.com\"\n\n[dns_record.app]\nzone = \"dns_zone.main\"\n{record}\n")
}

#[test]
fn a_record_outside_its_zone() {
    let text = with_dns(
        "name = \"app.example.net\"\ntype = \"CNAME\"\nttl = 60\nvalues = [\"x.example.com\"]",
    );
    rejects(
        &text,
        "\"app.example.net\"",
        "app.example.net is not in the zone example.com",
    );
}

#[test]
fn a_record_with_both_alias_and_values() {
    let text = with_dns("name = \"app.example.com\"\ntype = \"A\"\nttl = 60\nvalues = [\"192.0.2.1\"]\nalias = \"load_balancer.app\"");
    rejects(
        &text,
        "\"app.example.com\"",
        "give either `alias`, or `ttl` and `values`",
    );
}

#[test]
fn dns_homed_in_two_regions() {
    let text = GOOD.to_string()
        + "\n[dns_zone.main]\nname = \"example.com\"\nregions = [\"us-west-2\", \"eu-west-1\"]\n";
    rejects(
        &text,
        "[dns_zone.main]",
        "DNS is global; name at most one home region",
    );
}

#[test]
fn usage_errors_exit_1_never_the_changes_code() {
    let stack = StackFile::new(GOOD);
    for args in [
        vec!["plan", stack.arg(), "--detailed-exitcodes"],
        vec!["apply"],
        vec!["apply", stack.arg(), "--parallelism", "0"],
        vec!["plan", stack.arg(), "--call-timeout", "soon"],
        vec!["deploy", stack.arg()],
    ] {
        let out = run(&args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("error:"), "{args:?}: {}", out.stderr);
    }
    let help = run(&["--help"]).expect(0);
    assert!(help.stdout.contains("Exit codes:") && help.stdout.contains("a usage error"));
    assert!(
        help.stdout.contains("Colour in the output"),
        "--color is described: {}",
        help.stdout
    );
    assert!(
        !help.stdout.contains("AWS_ENDPOINT_URL="),
        "the endpoint's value is not shown as if set: {}",
        help.stdout
    );
}

#[test]
fn an_unknown_profile_is_named_with_where_it_was_looked_for() {
    let stack = StackFile::new(GOOD);
    let config = stack.dir.path().join("config");
    std::fs::write(&config, "[profile dev]\nregion = us-west-2\n").unwrap();
    let out = run_cmd(
        reconcile()
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
            .args(["plan", stack.arg(), "--profile", "nosuch"]),
    )
    .expect(1);
    assert!(
        out.stderr.contains(&format!(
            "AWS profile `nosuch` is not declared in {} or /nonexistent/credentials",
            config.display()
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn a_pasted_password_that_breaks_the_toml_is_never_echoed() {
    // A backslash or a quote inside the pasted value is not valid TOML.
    for leaked in [r"c0rrect\horse-never-echo", r#"battery"staple-never-echo"#] {
        let text = with_database(&format!("master_password_env = \"{leaked}\""));
        let stack = StackFile::new(&text);
        let out = run_cmd(reconcile().args(["plan", stack.arg()])).expect(1);
        assert!(
            !out.stderr.contains("never-echo"),
            "the value is not quoted back: {}",
            out.stderr
        );
        let line = text.lines().position(|l| l.contains("never-echo")).unwrap() + 1;
        assert!(
            out.stderr.contains(&format!("{}:{line}:", stack.arg())),
            "but the place is named: {}",
            out.stderr
        );
    }
}

#[test]
fn two_listeners_on_one_port_of_a_load_balancer() {
    let text = format!(
        "{}\n[listener.again]\nload_balancer = \"load_balancer.app\"\nport = 80 # again\ndefault_action = {{ fixed_response = {{ status = 404 }} }}\n",
        demo()
    );
    rejects(
        &text,
        "80 # again",
        "listener.again and listener.http are the same listener (port 80 of load_balancer.app) in",
    );
}

#[test]
fn two_security_groups_with_one_name_in_a_vpc() {
    let text = format!("{GOOD}\n[security_group.other]\nvpc = \"vpc.main\"\nname = \"bad-web\"\n");
    rejects(
        &text,
        "\"bad-web\"",
        "security_group.other and security_group.web are the same security group (name `bad-web` in vpc.main)",
    );
}

#[test]
fn two_dns_blocks_with_one_name_and_type() {
    let text = format!(
        "{}\n[dns_record.again]\nzone = \"dns_zone.main\"\nname = \"WWW.example.com.\"\ntype = \"A\"\nttl = 60\nvalues = [\"192.0.2.2\"]\n",
        with_dns("name = \"www.example.com\"\ntype = \"A\"\nttl = 60\nvalues = [\"192.0.2.1\"]")
    );
    rejects(
        &text,
        "\"WWW.example.com.\"",
        "dns_record.again and dns_record.app are the same DNS record (A www.example.com)",
    );
}

#[test]
fn two_db_subnet_groups_with_one_aws_name() {
    let text = format!(
        "{}\n[db_subnet_group.main_db]\nsubnets = [\"subnet.a\", \"subnet.b\"]\n\n[db_subnet_group.main-db]\nsubnets = [\"subnet.a\", \"subnet.b\"]\n",
        with_database("master_password_env = \"DB_PASSWORD\"")
    );
    rejects(
        &text,
        "[db_subnet_group.main-db]",
        "db_subnet_group.main-db and db_subnet_group.main_db are the same db_subnet_group (AWS name `bad-main-db`)",
    );
}

#[test]
fn a_load_balancer_whose_subnets_share_one_zone() {
    let text = demo().replace(
        "cidr = { us-west-2 = \"10.10.2.0/24\", eu-west-1 = \"10.20.2.0/24\" }\nzone = \"b\"",
        "cidr = { us-west-2 = \"10.10.2.0/24\", eu-west-1 = \"10.20.2.0/24\" }\nzone = \"a\"",
    );
    assert_ne!(text, demo());
    rejects(
        &text,
        "[load_balancer.app]",
        "load_balancer.app: an application load balancer needs subnets in at least two zones (in",
    );
}

#[test]
fn a_route_needs_exactly_one_target_given_right() {
    let with_route = |route: &str| {
        format!("{GOOD}\n[route_table.main]\nvpc = \"vpc.main\"\nroutes = [{route}]\n")
    };
    rejects(
        &with_route(r#"{ cidr = "10.9.0.0/16", nat_gateway = "igw-0abc" }"#),
        r#""igw-0abc""#,
        "`routes` must name a nat_gateway, and `igw-0abc` is not a nat_gateway id",
    );
    rejects(
        &with_route(r#"{ cidr = "10.9.0.0/16" }"#),
        r#"{ cidr = "10.9.0.0/16" }"#,
        "the route for 10.9.0.0/16 needs exactly one target",
    );
}

#[test]
fn a_move_names_a_gone_address_and_a_declared_block() {
    rejects(
        &format!("{GOOD}\n[[moved]]\nfrom = \"subnet.old\"\nto = \"subnet.new\"\n"),
        "\"subnet.new\"",
        "dangling reference: `subnet.new` is not declared in this stack",
    );
    rejects(
        &format!("{GOOD}\n[[moved]]\nfrom = \"subnet.a\"\nto = \"subnet.a2\"\n"),
        "\"subnet.a\"\nto",
        "subnet.a is still declared",
    );
    rejects(
        &format!("{GOOD}\n[[moved]]\nfrom = \"vpc.old\"\nto = \"subnet.a\"\n"),
        "\"subnet.a\"\n",
        "a vpc cannot become a subnet",
    );
}

/// GOOD with a `[[verify]]` block (and an alarm it may name).
fn with_check(check: &str) -> String {
    format!(
        "{GOOD}\n[alarm.errors]\nnamespace = \"App\"\nmetric = \"Errors\"\nstatistic = \"Sum\"\nperiod = 60\nevaluation_periods = 1\nthreshold = 1\ncomparison = \"GreaterThanThreshold\"\n\n[[verify]]\nname = \"errors\"\n{check}"
    )
}

const METRIC: &str = "namespace = \"App\"\nmetric = \"Errors\"\n";

#[test]
fn verify_unknown_statistic() {
    rejects(
        &with_check(&format!("{METRIC}statistic = \"Median\"\nmax = 1\n")),
        "\"Median\"",
        "verify `errors`: unknown statistic `Median`",
    );
}

#[test]
fn verify_window_not_whole_periods() {
    rejects(
        &with_check(&format!(
            "{METRIC}statistic = \"Sum\"\nmax = 1\nperiod = \"2m\"\nwindow = \"5m\"\n"
        )),
        "\"5m\"",
        "window 5m is not a whole number of periods (2m)",
    );
}

#[test]
fn verify_without_a_threshold() {
    rejects(
        &with_check(&format!("{METRIC}statistic = \"Sum\"\n")),
        "[[verify]]",
        "verify `errors` has no `min` or `max`",
    );
}

#[test]
fn verify_a_duration_that_does_not_parse() {
    rejects(
        &with_check(&format!(
            "{METRIC}statistic = \"Sum\"\nmax = 1\nlag = \"soon\"\n"
        )),
        "\"soon\"",
        "verify `errors`: lag: `soon` is not a duration",
    );
}

#[test]
fn verify_a_missing_alarm() {
    rejects(
        &with_check("alarm = \"alarm.nope\"\n"),
        "\"alarm.nope\"",
        "verify `errors`: `alarm.nope` is not an alarm of this stack",
    );
}

#[test]
fn verify_an_alarm_check_with_metric_keys() {
    rejects(
        &with_check("alarm = \"alarm.errors\"\nmax = 3\n"),
        "3\n",
        "verify `errors` watches an alarm: metric keys do not belong here",
    );
}

#[test]
fn verify_a_colour_that_does_not_exist() {
    rejects(
        &with_check(&format!(
            "{METRIC}statistic = \"Sum\"\nmax = 1\ndimensions = {{ TargetGroup = \"${{blue_green.web.purple}}\" }}\n"
        )),
        "\"${blue_green",
        "names no colour",
    );
}

#[test]
fn verify_a_region_outside_the_stack() {
    rejects(
        &with_check(&format!(
            "{METRIC}statistic = \"Sum\"\nmax = 1\nregions = [\"ap-south-1\"]\n"
        )),
        "\"ap-south-1\"",
        "region `ap-south-1` is not a region of the stack",
    );
}

#[test]
fn change_window_unknown_time_zone() {
    rejects(
        &format!("{GOOD}\n[change_window]\nallow = [{{ days = \"mon-fri\", hours = \"09:00-17:00\", timezone = \"Mars/Olympus\" }}]\n"),
        "\"Mars/Olympus\"",
        "change_window: unknown time zone `Mars/Olympus`",
    );
}

#[test]
fn change_window_hours_that_are_empty() {
    // 18:00-09:00 is a night (it runs into the next day); 09:00-09:00 is nothing.
    rejects(
        &format!("{GOOD}\n[change_window]\nallow = [{{ days = \"mon-fri\", hours = \"09:00-09:00\" }}]\n"),
        "\"09:00-09:00\"",
        "the span is empty",
    );
}

#[test]
fn change_window_a_freeze_date_that_is_not_one() {
    rejects(
        &format!("{GOOD}\n[change_window]\nfreeze = [{{ from = \"2026-12-32\", to = \"2027-01-04\" }}]\n"),
        "\"2026-12-32\"",
        "change_window: `2026-12-32` is not a date",
    );
}

#[test]
fn rollout_a_region_in_no_wave() {
    rejects(
        &format!(
            "{GOOD}\n[rollout]\nwaves = [{{ name = \"canary\", regions = [\"us-west-2\"] }}]\n"
        ),
        "[rollout]",
        "rollout: eu-west-1 in no wave",
    );
}

#[test]
fn rollout_a_region_in_two_waves() {
    rejects(
        &format!("{GOOD}\n[rollout]\nwaves = [{{ name = \"a\", regions = [\"us-west-2\"] }}, {{ name = \"b\", regions = [\"us-west-2\", \"eu-west-1\"] }}]\n"),
        "\"us-west-2\", \"eu-west-1\"] }]",
        "rollout: region `us-west-2` is in wave `a` and in wave `b`",
    );
}

#[test]
fn rollout_a_bake_that_does_not_parse() {
    rejects(
        &format!("{GOOD}\n[rollout]\nwaves = [{{ name = \"all\", regions = [\"us-west-2\", \"eu-west-1\"], bake = \"an hour\" }}]\n"),
        "\"an hour\"",
        "rollout: bake: `an hour` is not a duration",
    );
}

#[test]
fn rollout_every_zero() {
    // Zero would re-check a bake without pause (it busy-looped).
    rejects(
        &format!("{GOOD}\n[rollout]\nevery = \"0s\"\nwaves = [{{ name = \"all\", regions = [\"us-west-2\", \"eu-west-1\"], bake = \"3s\" }}]\n"),
        "\"0s\"",
        "rollout: every must be more than zero",
    );
}

#[test]
fn a_route_to_a_nat_gateway_written_as_a_gateway() {
    rejects(
        &format!("{GOOD}\n[route_table.private]\nvpc = \"vpc.main\"\nroutes = [{{ cidr = \"0.0.0.0/0\", gateway = \"nat-0123456789abcdef0\" }}]\n"),
        "\"nat-0123456789abcdef0\"",
        "`routes` must name an internet_gateway, and `nat-0123456789abcdef0` is not an internet_gateway id",
    );
}
