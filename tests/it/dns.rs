//! Route53 against the emulator: zones adopted or created, records owned through
//! TXT markers, records of other tools never touched, aliases to load balancers.

use crate::harness::{actions, demo_stack, route53, run, unique, zones_named, StackFile};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

pub(crate) async fn upsert(
    client: &aws_sdk_route53::Client,
    zone: &str,
    name: &str,
    kind: RrType,
    value: &str,
) {
    let set = ResourceRecordSet::builder()
        .name(name)
        .r#type(kind)
        .ttl(60)
        .resource_records(ResourceRecord::builder().value(value).build().unwrap())
        .build()
        .unwrap();
    let change = Change::builder()
        .action(ChangeAction::Upsert)
        .resource_record_set(set)
        .build()
        .unwrap();
    client
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
        .send()
        .await
        .unwrap();
}

/// (name, type, values) of every record set in a zone (first page).
pub(crate) async fn records(
    client: &aws_sdk_route53::Client,
    zone: &str,
) -> Vec<(String, String, Vec<String>)> {
    let out = client
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .unwrap();
    out.resource_record_sets()
        .iter()
        .map(|s| {
            let values = s
                .resource_records()
                .iter()
                .map(|r| r.value().to_string())
                .collect();
            (
                s.name().trim_end_matches('.').to_string(),
                s.r#type().as_str().to_string(),
                values,
            )
        })
        .collect()
}

/// Plan and apply both refuse to overwrite a record someone else made, saying
/// `refusal` and what to do (`adopt = true`); the record stays as it was.
async fn refused_and_untouched(
    stack: &StackFile,
    client: &aws_sdk_route53::Client,
    zone: &str,
    refusal: &str,
    record: (String, String, Vec<String>),
) {
    for command in [
        &["plan", stack.arg()][..],
        &["apply", stack.arg(), "--auto-approve"][..],
    ] {
        let refused = run(command).expect(1);
        assert!(
            refused.stderr.contains(refusal) && refused.stderr.contains("`adopt = true`"),
            "{}",
            refused.stderr
        );
    }
    let untouched = records(client, zone).await;
    assert!(untouched.contains(&record), "{untouched:?}");
}

/// A public zone made outside reconcile (by hand, by another tool): its id.
async fn zone_made_elsewhere(
    client: &aws_sdk_route53::Client,
    reference: &str,
    domain: &str,
) -> String {
    let created = client
        .create_hosted_zone()
        .name(domain)
        .caller_reference(reference)
        .send()
        .await
        .unwrap();
    zone_id(created.hosted_zone().unwrap().id())
}

fn zone_id(id: &str) -> String {
    id.rsplit('/').next().unwrap().to_string()
}

#[tokio::test]
async fn an_existing_zone_is_adopted_and_records_of_other_tools_survive_a_prune() {
    let name = unique("dns");
    let domain = format!("{name}.example.com");
    let client = route53().await;
    let zone = zone_made_elsewhere(&client, &name, &domain).await;
    // Another tool's records, one of them on a name reconcile also uses.
    upsert(
        &client,
        &zone,
        &format!("legacy.{domain}"),
        RrType::A,
        "192.0.2.10",
    )
    .await;
    upsert(
        &client,
        &zone,
        &format!("www.{domain}"),
        RrType::Txt,
        "\"owned-by-someone-else\"",
    )
    .await;

    let header = format!("[stack]\nname = \"{name}\"\nregions = [\"us-west-2\"]\n");
    let dns = format!(
        r#"
[dns_zone.main]
name = "{domain}"

[dns_record.www]
zone = "dns_zone.main"
name = "www.{domain}"
type = "CNAME"
ttl = 300
values = ["app.{domain}"]

[dns_record.spf]
zone = "dns_zone.main"
name = "{domain}"
type = "TXT"
ttl = 300
values = ["v=spf1 -all"]
"#
    );
    let stack = StackFile::new(&format!("{header}{dns}"));
    let plan = stack.plan_json();
    assert_eq!(
        actions(&plan),
        vec![
            "create dns_record.spf@us-west-2",
            "create dns_record.www@us-west-2",
            "create dns_zone.main@us-west-2",
        ]
    );
    assert_eq!(plan["summary"]["adopt"], 1, "{}", plan["summary"]);
    assert_eq!(plan["summary"]["create"], 2, "{}", plan["summary"]);
    let shown = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        shown.contains(&format!(
            "+ dns_zone.main will be adopted (exists as {zone})"
        )) && shown
            .contains("Plan: 2 to add, 0 to change, 0 to replace, 0 to destroy, 1 to adopt."),
        "{shown}"
    );
    let applied = run(&["apply", stack.arg(), "--auto-approve", "--json"]).expect(0);
    assert_eq!(
        applied.json()["aws_operations"]["route53.ChangeResourceRecordSets"],
        1,
        "both records and their markers in one batch for the zone"
    );
    assert!(
        applied
            .stderr
            .contains(&format!("adopted the existing zone {domain} ({zone})")),
        "{}",
        applied.stderr
    );
    assert_eq!(
        zones_named(&client, &domain).await.len(),
        1,
        "adopted, not duplicated"
    );
    let live = records(&client, &zone).await;
    assert!(
        live.contains(&(
            format!("www.{domain}"),
            "CNAME".into(),
            vec![format!("app.{domain}")]
        )),
        "{live:?}"
    );
    assert!(
        live.contains(&(domain.clone(), "TXT".into(), vec!["\"v=spf1 -all\"".into()])),
        "{live:?}"
    );
    assert!(
        live.iter()
            .any(|(n, t, _)| n == &format!("_reconcile-cname.www.{domain}") && t == "TXT"),
        "{live:?}"
    );
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);

    // Drift: the CNAME pointed elsewhere by hand is put back.
    upsert(
        &client,
        &zone,
        &format!("www.{domain}"),
        RrType::Cname,
        "elsewhere.example.net",
    )
    .await;
    assert_eq!(
        actions(&stack.plan_json()),
        vec!["update dns_record.www@us-west-2"]
    );
    stack.apply().expect(0);
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);

    // Prune everything DNS: our records and markers go; the zone (adopted) and
    // the other tool's records stay.
    stack.write(&header);
    let human = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        human.contains("- dns_zone.main")
            && human.contains(
                "will be forgotten, left in place (adopted, so only forgotten: the zone and its records stay)"
            )
            && human.contains("1 to forget.")
            && !human.contains("will be deleted (adopted"),
        "{human}"
    );
    stack.apply().expect(0);
    let live = records(&client, &zone).await;
    assert!(
        live.contains(&(
            format!("legacy.{domain}"),
            "A".into(),
            vec!["192.0.2.10".into()]
        )),
        "{live:?}"
    );
    assert!(
        live.contains(&(
            format!("www.{domain}"),
            "TXT".into(),
            vec!["\"owned-by-someone-else\"".into()]
        )),
        "{live:?}"
    );
    assert!(
        !live.iter().any(|(n, _, _)| n.starts_with("_reconcile-")),
        "markers are gone: {live:?}"
    );
    assert!(!live.iter().any(|(_, t, _)| t == "CNAME"), "{live:?}");
    assert!(
        client.get_hosted_zone().id(&zone).send().await.is_ok(),
        "the adopted zone stays"
    );
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
}

#[tokio::test]
async fn an_alias_record_points_at_the_load_balancer_of_its_home_region() {
    let name = unique("alias");
    let domain = format!("{name}.example.org");
    let stack = demo_stack(&name);
    let text = std::fs::read_to_string(&stack.path).unwrap();
    stack.write(&format!(
        "{text}\n[dns_zone.main]\nname = \"{domain}\"\n\n[dns_record.app]\nzone = \"dns_zone.main\"\nname = \"app.{domain}\"\ntype = \"A\"\nalias = \"load_balancer.app\"\n"
    ));
    let plan = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        plan.contains("{ dns_name = (known after apply), zone_id = (known after apply) }"),
        "{plan}"
    );
    stack.apply().expect(0);
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);

    let client = route53().await;
    let zone = zones_named(&client, &domain).await.remove(0);
    let sets = client
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .unwrap();
    let alias = sets
        .resource_record_sets()
        .iter()
        .find(|s| s.name().trim_end_matches('.') == format!("app.{domain}"))
        .and_then(|s| s.alias_target())
        .expect("an alias record");
    let balancers = crate::harness::elb("us-west-2")
        .await
        .describe_load_balancers()
        .send()
        .await
        .unwrap();
    let ours = balancers
        .load_balancers()
        .iter()
        .find(|b| {
            b.dns_name()
                .unwrap_or_default()
                .eq_ignore_ascii_case(alias.dns_name().trim_end_matches('.'))
        })
        .expect("the alias names a load balancer");
    assert!(
        ours.load_balancer_name().unwrap().starts_with(&name[..10]),
        "our stack's, in us-west-2"
    );

    // A colleague turns the alias into a plain address: the plan restores it,
    // naming the load balancer's zone as AWS writes it (upper case).
    upsert(
        &client,
        &zone,
        &format!("app.{domain}"),
        RrType::A,
        "192.0.2.1",
    )
    .await;
    let drift = run(&["plan", stack.arg()]).expect(0).stdout;
    let zone_id_shown = format!(
        "zone_id = \"{}\"",
        ours.canonical_hosted_zone_id().unwrap().to_uppercase()
    );
    assert!(drift.contains(&zone_id_shown), "{zone_id_shown} in {drift}");
}

#[tokio::test]
async fn a_private_zone_of_the_same_name_is_never_adopted() {
    let name = unique("private");
    let domain = format!("{name}.example.net");
    let vpc = crate::harness::ec2("us-west-2")
        .await
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let client = route53().await;
    let private = client
        .create_hosted_zone()
        .name(&domain)
        .caller_reference(format!("{name}-private"))
        .vpc(
            aws_sdk_route53::types::Vpc::builder()
                .vpc_id(vpc)
                .vpc_region(aws_sdk_route53::types::VpcRegion::UsWest2)
                .build(),
        )
        .hosted_zone_config(
            // LocalStack fails (500, KeyError 'Comment') on a zone config without a comment.
            aws_sdk_route53::types::HostedZoneConfig::builder()
                .private_zone(true)
                .comment("made by hand")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let private = zone_id(private.hosted_zone().unwrap().id());
    let stack = StackFile::new(&format!(
        "[stack]\nname = \"{name}\"\nregions = [\"us-west-2\"]\n\n[dns_zone.main]\nname = \"{domain}\"\n"
    ));
    let shown = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        shown.contains("+ dns_zone.main will be created"),
        "the private zone is not the declared (public) one: {shown}"
    );
    stack.apply().expect(0);
    assert_eq!(
        zones_named(&client, &domain).await.len(),
        2,
        "a public zone beside the private one"
    );
    let tags = client
        .list_tags_for_resource()
        .resource_type(aws_sdk_route53::types::TagResourceType::Hostedzone)
        .resource_id(&private)
        .send()
        .await
        .unwrap();
    assert!(
        tags.resource_tag_set()
            .map(|s| s.tags().is_empty())
            .unwrap_or(true),
        "the private zone is left untagged"
    );
}

/// A declared private zone: created with its VPC (never adopting the public
/// zone of that name), its VPCs changed in place, and validated at load.
#[tokio::test]
async fn a_private_zone_is_created_in_its_vpcs_and_they_change_in_place() {
    let name = unique("privzone");
    let domain = format!("{name}.internal");
    let client = route53().await;
    // A public zone of the same name, made by hand: not the declared private one.
    client
        .create_hosted_zone()
        .name(&domain)
        .caller_reference(format!("{name}-public"))
        .send()
        .await
        .unwrap();
    let text = |vpcs: &str| {
        format!(
            r#"[stack]
name = "{name}"
regions = ["us-west-2"]

[vpc.main]
cidr = "10.0.0.0/16"

[vpc.second]
cidr = "10.1.0.0/16"

[dns_zone.internal]
name = "{domain}"
private = true
vpcs = [{vpcs}]

[dns_record.db]
zone = "dns_zone.internal"
name = "db.{domain}"
type = "CNAME"
ttl = 60
values = ["db.example.org"]
"#
        )
    };
    let stack = StackFile::new(&text("\"vpc.main\""));
    let shown = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        shown.contains("+ dns_zone.internal will be created"),
        "{shown}"
    );
    stack.apply().expect(0);
    let zones = zones_named(&client, &domain).await;
    assert_eq!(zones.len(), 2, "the private zone beside the public one");
    let vpc_of = |id: &str| {
        let client = client.clone();
        let id = id.to_string();
        async move {
            let zone = client.get_hosted_zone().id(id).send().await.unwrap();
            let private = zone
                .hosted_zone()
                .unwrap()
                .config()
                .is_some_and(|c| c.private_zone());
            let mut vpcs: Vec<String> = zone
                .vpcs()
                .iter()
                .filter_map(|v| v.vpc_id().map(str::to_string))
                .collect();
            vpcs.sort();
            (private, vpcs)
        }
    };
    let live = crate::harness::live("us-west-2", &name).await;
    let vpc_id = |cidr: &str| {
        live.vpcs
            .iter()
            .find(|v| v.cidr_block() == Some(cidr))
            .and_then(|v| v.vpc_id())
            .unwrap()
            .to_string()
    };
    let (main, second) = (vpc_id("10.0.0.0/16"), vpc_id("10.1.0.0/16"));
    let mut private_zone = None;
    for id in &zones {
        let (private, vpcs) = vpc_of(id).await;
        if private {
            assert_eq!(vpcs, std::slice::from_ref(&main));
            private_zone = Some(id.clone());
        }
    }
    let private_zone = private_zone.expect("a private zone was created");
    let again = run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);

    // One more VPC: the same zone, associated in place.
    stack.write(&text("\"vpc.main\", \"vpc.second\""));
    let plan = stack.plan_json();
    assert_eq!(actions(&plan), ["update dns_zone.internal@us-west-2"]);
    stack.apply().expect(0);
    let mut both = vec![main.clone(), second.clone()];
    both.sort();
    assert_eq!(vpc_of(&private_zone).await, (true, both));
    // And back to the second one alone.
    stack.write(&text("\"vpc.second\""));
    stack.apply().expect(0);
    assert_eq!(vpc_of(&private_zone).await, (true, vec![second]));
    let again = run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);

    // Mistakes found at load, before any call.
    stack.write(&text("").replace("vpcs = []\n", ""));
    let missing = run(&["plan", stack.arg()]).expect(1);
    assert!(
        missing
            .stderr
            .contains("dns_zone.internal: a private zone answers inside VPCs: give `vpcs`"),
        "{}",
        missing.stderr
    );
    stack.write(&text("\"vpc.main\"").replace("private = true\n", ""));
    let public = run(&["plan", stack.arg()]).expect(1);
    assert!(
        public
            .stderr
            .contains("dns_zone.internal: `vpcs` is for a private zone"),
        "{}",
        public.stderr
    );
}

#[tokio::test]
async fn txt_values_round_trip_quoted_escaped_and_split() {
    let name = unique("txt");
    let domain = format!("{name}.example.com");
    let dkim = format!("v=DKIM1; k=rsa; p={}", "A".repeat(600));
    let stack = StackFile::new(&format!(
        r#"[stack]
name = "{name}"
regions = ["us-west-2"]

[dns_zone.main]
name = "{domain}"

[dns_record.spf]
zone = "dns_zone.main"
name = "{domain}"
type = "TXT"
ttl = 300
values = ['"v=spf1 -all"']

[dns_record.quote]
zone = "dns_zone.main"
name = "quote.{domain}"
type = "TXT"
ttl = 300
values = ['say "hi"']

[dns_record.dkim]
zone = "dns_zone.main"
name = "mail._domainkey.{domain}"
type = "TXT"
ttl = 300
values = ["{dkim}"]
"#
    ));
    stack.apply().expect(0);
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);

    let client = route53().await;
    let zone = zones_named(&client, &domain).await.remove(0);
    let live = records(&client, &zone).await;
    let value_of = |record: &str| {
        live.iter()
            .find(|(n, t, _)| n == record && t == "TXT")
            .map(|(_, _, v)| v.clone())
            .unwrap_or_else(|| panic!("{record} in {live:?}"))
    };
    assert_eq!(
        value_of(&domain),
        vec![r#""v=spf1 -all""#.to_string()],
        "quoted once"
    );
    assert_eq!(
        value_of(&format!("quote.{domain}")),
        vec![r#""say \"hi\"""#.to_string()],
        "embedded quotes escaped"
    );
    let sent = value_of(&format!("mail._domainkey.{domain}"));
    assert_eq!(sent.len(), 1, "one value");
    assert_eq!(
        sent[0].matches("\" \"").count(),
        2,
        "in three strings: {}",
        sent[0]
    );
}

#[tokio::test]
async fn a_record_made_by_hand_is_refused_until_adopted() {
    let name = unique("inway");
    let domain = format!("{name}.example.com");
    let header = format!(
        "[stack]\nname = \"{name}\"\nregions = [\"us-west-2\"]\n\n[dns_zone.main]\nname = \"{domain}\"\n"
    );
    let stack = StackFile::new(&header);
    stack.apply().expect(0);
    let client = route53().await;
    let zone = zones_named(&client, &domain).await.remove(0);
    // A colleague points api at a server by hand.
    upsert(
        &client,
        &zone,
        &format!("api.{domain}"),
        RrType::A,
        "192.0.2.50",
    )
    .await;

    let block = format!(
        "\n[dns_record.api]\nzone = \"dns_zone.main\"\nname = \"api.{domain}\"\ntype = \"A\"\nttl = 60\nvalues = [\"198.51.100.7\"]\n"
    );
    stack.write(&format!("{header}{block}"));
    refused_and_untouched(
        &stack,
        &client,
        &zone,
        &format!("dns_record.api in us-west-2: a A record api.{domain} exists in the zone without reconcile's marker"),
        (format!("api.{domain}"), "A".into(), vec!["192.0.2.50".into()]),
    )
    .await;

    stack.write(&format!("{header}{block}adopt = true\n"));
    let shown = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        shown.contains(
            "+ dns_record.api will be adopted (exists without an owner; taken over (adopt = true))"
        ),
        "{shown}"
    );
    stack.apply().expect(0);
    let live = records(&client, &zone).await;
    assert!(
        live.contains(&(
            format!("api.{domain}"),
            "A".into(),
            vec!["198.51.100.7".into()]
        )),
        "{live:?}"
    );
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
}

#[tokio::test]
async fn the_home_of_dns_stays_when_regions_are_reordered_and_a_move_never_recreates_the_zone() {
    let name = unique("home");
    let domain = format!("{name}.example.com");
    let text = |regions: &str, pin: &str| {
        format!(
            "[stack]\nname = \"{name}\"\nregions = [{regions}]\n\n[dns_zone.main]\nname = \"{domain}\"\n{pin}\n[dns_record.www]\nzone = \"dns_zone.main\"\nname = \"www.{domain}\"\ntype = \"CNAME\"\nttl = 300\nvalues = [\"example.org\"]\n{pin}"
        )
    };
    let stack = StackFile::new(&text("\"us-west-2\", \"eu-west-1\"", ""));
    stack.apply().expect(0);
    let client = route53().await;
    let zone_of = || async {
        let ours = zones_named(&client, &domain).await;
        assert_eq!(ours.len(), 1, "one zone: {ours:?}");
        ours[0].clone()
    };
    let zone = zone_of().await;

    // A new region first: nothing moves.
    stack.write(&text("\"eu-west-1\", \"us-west-2\"", ""));
    let reordered = run(&["plan", stack.arg(), "--detailed-exitcode"]);
    assert_eq!(reordered.code, 0, "{}", reordered.stdout);
    stack.apply().expect(0);
    assert_eq!(zone_of().await, zone);

    // A deliberate move is an update of `home`, never a new zone.
    stack.write(&text(
        "\"eu-west-1\", \"us-west-2\"",
        "regions = [\"eu-west-1\"]\n",
    ));
    let plan = stack.plan_json();
    assert_eq!(
        actions(&plan),
        vec![
            "update dns_record.www@eu-west-1".to_string(),
            "update dns_zone.main@eu-west-1".to_string(),
        ]
    );
    let shown = run(&["plan", stack.arg()]).expect(0).stdout;
    assert!(
        shown.contains(r#"~ home = "us-west-2" → "eu-west-1""#),
        "{shown}"
    );
    stack.apply().expect(0);
    assert_eq!(zone_of().await, zone, "the same zone, now homed elsewhere");
    let tags = client
        .list_tags_for_resource()
        .resource_type(aws_sdk_route53::types::TagResourceType::Hostedzone)
        .resource_id(&zone)
        .send()
        .await
        .unwrap();
    let home = tags
        .resource_tag_set()
        .unwrap()
        .tags()
        .iter()
        .find(|t| t.key() == Some("reconcile:region"))
        .and_then(|t| t.value())
        .map(str::to_string);
    assert_eq!(home.as_deref(), Some("eu-west-1"));
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
}

/// A zone made elsewhere and adopted: a record already in it is someone's,
/// as in a zone reconcile created. The plan that adopts the zone refuses to
/// overwrite it, naming it, until the block says `adopt = true`.
#[tokio::test]
async fn a_record_in_a_zone_being_adopted_is_refused_until_adopted() {
    let name = unique("adoptrec");
    let domain = format!("{name}.example.com");
    let client = route53().await;
    let zone = zone_made_elsewhere(&client, &name, &domain).await;
    upsert(
        &client,
        &zone,
        &format!("www.{domain}"),
        RrType::Cname,
        "legacy.example.net",
    )
    .await;
    let text = format!(
        "[stack]\nname = \"{name}\"\nregions = [\"us-west-2\"]\n\n[dns_zone.main]\nname = \"{domain}\"\n\n[dns_record.www]\nzone = \"dns_zone.main\"\nname = \"www.{domain}\"\ntype = \"CNAME\"\nttl = 300\nvalues = [\"app.{domain}\"]\n"
    );
    let stack = StackFile::new(&text);
    refused_and_untouched(
        &stack,
        &client,
        &zone,
        &format!("dns_record.www in us-west-2: a CNAME record www.{domain} exists in the zone without reconcile's marker"),
        (format!("www.{domain}"), "CNAME".into(), vec!["legacy.example.net".into()]),
    )
    .await;
    stack.write(&format!("{text}adopt = true\n"));
    stack.apply().expect(0);
    let live = records(&client, &zone).await;
    assert!(
        live.contains(&(
            format!("www.{domain}"),
            "CNAME".into(),
            vec![format!("app.{domain}")]
        )),
        "{live:?}"
    );
    run(&["plan", stack.arg(), "--detailed-exitcode"]).expect(0);
}
