use super::*;

/// A state as Terraform 1.11 writes one: a module with `count`, `for_each`,
/// a data source, a NAT gateway (no ARN) with its address, an S3 bucket.
const STATE: &str = r#"{
  "version": 4, "terraform_version": "1.11.4", "serial": 7, "lineage": "x", "outputs": {},
  "resources": [
    {"module": "module.network", "mode": "managed", "type": "aws_vpc", "name": "this",
     "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
     "instances": [{"schema_version": 1, "attributes": {"id": "vpc-0a1", "arn": "arn:aws:ec2:eu-west-1:1:vpc/vpc-0a1"}}]},
    {"module": "module.network", "mode": "managed", "type": "aws_subnet", "name": "public",
     "instances": [
       {"index_key": 0, "attributes": {"id": "subnet-0a", "arn": "arn:aws:ec2:eu-west-1:1:subnet/subnet-0a"}},
       {"index_key": 1, "attributes": {"id": "subnet-0b", "arn": "arn:aws:ec2:eu-west-1:1:subnet/subnet-0b"}}]},
    {"mode": "managed", "type": "aws_lb_target_group", "name": "app",
     "instances": [{"index_key": "blue", "attributes": {"arn": "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/blue/1"}}]},
    {"mode": "managed", "type": "aws_nat_gateway", "name": "out",
     "instances": [{"attributes": {"id": "nat-0c", "subnet_id": "subnet-0a", "allocation_id": "eipalloc-0d"}}]},
    {"mode": "managed", "type": "aws_eip", "name": "out",
     "instances": [{"attributes": {"id": "eipalloc-0d"}}]},
    {"mode": "managed", "type": "aws_eip", "name": "spare",
     "instances": [{"attributes": {"id": "eipalloc-0e"}}]},
    {"mode": "managed", "type": "aws_route53_record", "name": "www",
     "instances": [{"attributes": {"name": "WWW.Example.com.", "type": "A", "set_identifier": ""}}]},
    {"mode": "managed", "type": "aws_route53_record", "name": "canary",
     "instances": [{"attributes": {"name": "www.example.com", "type": "A", "set_identifier": "green"}}]},
    {"mode": "managed", "type": "aws_db_instance", "name": "main",
     "instances": [{"attributes": {"id": "db-ABCDEF", "identifier": "orders", "arn": "arn:aws:rds:eu-west-1:1:db:orders"}}]},
    {"mode": "managed", "type": "aws_security_group_rule", "name": "default_ssh",
     "instances": [{"attributes": {"id": "sgrule-1", "security_group_id": "sg-0default"}}]},
    {"mode": "managed", "type": "aws_s3_bucket", "name": "assets",
     "instances": [{"attributes": {"id": "assets", "arn": "arn:aws:s3:::assets"}}]},
    {"mode": "data", "type": "aws_availability_zones", "name": "here",
     "instances": [{"attributes": {"id": "eu-west-1"}}]}
  ]
}"#;

fn find<'a>(state: &'a State, address: &str) -> &'a TfResource {
    state
        .resources
        .iter()
        .find(|r| r.address == address)
        .unwrap_or_else(|| panic!("{address} not read"))
}

#[test]
fn the_state_is_read_per_instance_with_modules_and_keys_and_no_data_sources() {
    let state = parse(STATE).unwrap();
    assert_eq!(state.serial, Some(7));
    let addresses: Vec<&str> = state.resources.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(
        addresses,
        [
            "module.network.aws_vpc.this",
            "module.network.aws_subnet.public[0]",
            "module.network.aws_subnet.public[1]",
            "aws_lb_target_group.app[\"blue\"]",
            "aws_nat_gateway.out",
            "aws_eip.out",
            "aws_eip.spare",
            "aws_route53_record.www",
            "aws_route53_record.canary",
            "aws_db_instance.main",
            "aws_security_group_rule.default_ssh",
            "aws_s3_bucket.assets",
        ]
    );
    assert_eq!(
        find(&state, "module.network.aws_subnet.public[1]").name_parts,
        ["network", "public", "1"]
    );
}

#[test]
fn each_type_maps_to_a_kind_and_an_import_id_or_says_why_not() {
    let state = parse(STATE).unwrap();
    let map_of = |address| map(&state, find(&state, address));
    assert_eq!(
        map_of("aws_lb_target_group.app[\"blue\"]"),
        Mapping::Block {
            kind: Kind::TargetGroup,
            id: "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/blue/1".into()
        }
    );
    // A database by its identifier, not by the resource id Terraform keeps.
    assert_eq!(
        map_of("aws_db_instance.main"),
        Mapping::Block {
            kind: Kind::DbInstance,
            id: "orders".into()
        }
    );
    assert_eq!(
        map_of("aws_route53_record.www"),
        Mapping::Block {
            kind: Kind::DnsRecord,
            id: "www.example.com A".into()
        }
    );
    assert!(
        matches!(map_of("aws_route53_record.canary"), Mapping::Unmapped(why) if why.contains("set identifier"))
    );
    // The NAT gateway's address is part of it; an address of its own is not.
    assert_eq!(
        map_of("aws_eip.out"),
        Mapping::Part {
            of: "aws_nat_gateway"
        }
    );
    assert!(matches!(map_of("aws_eip.spare"), Mapping::Unmapped(_)));
    // A rule of a group the state does not hold is nobody's here: never
    // handed over, said.
    assert_eq!(
        map_of("aws_security_group_rule.default_ssh"),
        Mapping::Unmapped(
            "part of an aws_security_group (sg-0default) that is not in this state".into()
        )
    );
    assert_eq!(
        map_of("aws_s3_bucket.assets"),
        Mapping::Unmapped("reconcile has no kind for aws_s3_bucket".into())
    );
}

#[test]
fn a_format_other_than_4_or_not_a_state_is_refused_with_what_to_do() {
    let old = parse(r#"{"version": 3, "modules": []}"#)
        .unwrap_err()
        .to_string();
    assert!(
        old.contains("format 3") && old.contains("terraform state pull"),
        "{old}"
    );
    let plan = parse("resource \"aws_vpc\" \"x\" {}")
        .unwrap_err()
        .to_string();
    assert!(plan.contains("not a Terraform state"), "{plan}");
}

#[test]
fn names_come_from_addresses_made_valid_and_kept_apart() {
    let r = |parts: &[&str]| TfResource {
        address: String::new(),
        tf_type: String::new(),
        name_parts: parts.iter().map(|p| p.to_string()).collect(),
        attributes: Default::default(),
    };
    let (a, b, c, d, e) = (
        r(&["network", "this"]),
        r(&["public", "0"]),
        r(&["app", "Blue Team"]),
        r(&["9lives"]),
        r(&["network_this"]),
    );
    let names = names(&[
        (Kind::Vpc, &a),
        (Kind::Subnet, &b),
        (Kind::TargetGroup, &c),
        (Kind::Instance, &d),
        (Kind::Vpc, &e),
    ]);
    let names: Vec<String> = names.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            "vpc.network_this",
            "subnet.public_0",
            "target_group.app_blue_team",
            "instance.tf_9lives",
            "vpc.network_this_2",
        ]
    );
}

#[test]
fn a_region_is_the_resources_own_its_neighbours_or_the_default() {
    let state = parse(STATE).unwrap();
    let regions = regions(&state, None).unwrap();
    assert_eq!(regions["module.network.aws_vpc.this"], "eu-west-1");
    // No ARN: the region of its subnet.
    assert_eq!(regions["aws_nat_gateway.out"], "eu-west-1");
    assert!(!regions.contains_key("aws_route53_record.www"), "global");
    let bare = parse(
        r#"{"version": 4, "resources": [{"mode": "managed", "type": "aws_internet_gateway",
            "name": "gw", "instances": [{"attributes": {"id": "igw-0a"}}]}]}"#,
    )
    .unwrap();
    let said = regions_err(&bare);
    assert!(
        said.contains("aws_internet_gateway.gw") && said.contains("--region"),
        "{said}"
    );
    assert_eq!(
        super::regions(&bare, Some("us-east-2")).unwrap()["aws_internet_gateway.gw"],
        "us-east-2"
    );
}

fn regions_err(state: &State) -> String {
    regions(state, None).unwrap_err().to_string()
}
