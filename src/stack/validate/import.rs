//! `import = "ID"`: which kinds take over a live resource, and the form of
//! each id, checked at load (no call).

use super::*;
use crate::model::schema::{Import, LiveId};
use crate::stack::spec::ImportIds;

/// The kinds whose blocks may take over a live resource.
pub fn importable() -> impl Iterator<Item = Kind> {
    Kind::ALL
        .iter()
        .copied()
        .filter(|k| !matches!(k.schema().import, Import::No))
}

/// Whether `id` has the form AWS gives a `kind`'s id; what it should be if not.
pub fn form(kind: Kind, id: &str) -> Result<(), String> {
    let name = |max: usize, extra: &str| {
        let ok = !id.is_empty()
            && id.len() <= max
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(c));
        ok.then_some(())
            .ok_or(format!("a name of 1 to {max} letters, digits or `{extra}`"))
    };
    match &kind.schema().import {
        Import::No => Err(format!("nothing: {kind} blocks cannot be imported yet")),
        // RDS: the name a group was created with.
        Import::ByName { max, extra } => name(*max, extra),
        Import::DbIdentifier => {
            let letters = id.starts_with(|c: char| c.is_ascii_alphabetic())
                && !id.ends_with('-')
                && !id.contains("--");
            name(63, "-").and_then(|()| {
                letters.then_some(()).ok_or(
                    "a DB identifier: it begins with a letter, never ends with `-` nor holds `--`"
                        .into(),
                )
            })
        }
        // CloudWatch's AlarmName: 1 to 255 characters.
        Import::AlarmName => (!id.is_empty()
            && id.chars().count() <= 255
            && !id.chars().any(char::is_control))
        .then_some(())
        .ok_or_else(|| "an alarm's name: 1 to 255 characters, none a control character".into()),
        // `NAME TYPE`, as Terraform names a record; a set identifier
        // (weighted, latency, failover routing) reconcile cannot express.
        Import::RecordNameType => {
            let parts: Vec<&str> = id.split_whitespace().collect();
            match parts[..] {
                [name, t] if !name.is_empty() && crate::stack::RECORD_TYPES.contains(&t) => Ok(()),
                [_, _, set] => Err(format!(
                    "`NAME TYPE`: a record with a set identifier (`{set}`: weighted, latency or \
                     failover routing) cannot be managed by reconcile yet"
                )),
                _ => Err(format!(
                    "`NAME TYPE`, the type one of {}",
                    crate::stack::RECORD_TYPES.join(", ")
                )),
            }
        }
        Import::ById => {
            let live = &kind.schema().live_id;
            match live {
                _ if live.matches(id) => Ok(()),
                LiveId::Hex(prefix) => Err(format!(
                    "`{prefix}` and hexadecimal digits, as AWS names it"
                )),
                LiveId::ElbArn(resource) => Err(format!(
                    "its ARN, arn:aws:elasticloadbalancing:REGION:ACCOUNT{resource}…"
                )),
                LiveId::HostedZone | LiveId::Certificate | LiveId::None => {
                    Err("its id, as AWS names it".into())
                }
            }
        }
    }
}

impl Checker {
    pub(super) fn import(&mut self, r: &Resource) {
        let Some(import) = r.spec.common().import else {
            return;
        };
        // Copies share their block: it is checked once, with the first.
        if r.copy().is_some_and(|i| i > 0) {
            return;
        }
        let kind = r.address.kind;
        let block = r.address.name.split('[').next().unwrap_or_default();
        let address = format!("{kind}.{block}");
        if matches!(kind.schema().import, Import::No) {
            let d = self.error(
                import.span(),
                format!("{address}: {kind} blocks cannot be imported yet"),
            );
            d.help = Some(format!(
                "kinds that can: {}",
                importable()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return;
        }
        let copies = match &r.spec {
            Spec::Instance(s) => s.count.as_ref().map(|c| *c.get_ref()),
            _ => None,
        };
        let values: Vec<&ImportIds> = match import.get_ref() {
            Regional::Same(v) => vec![v],
            Regional::ByRegion(m) => m.values().collect(),
        };
        for ids in values {
            let list: Vec<&String> = match (ids, copies) {
                (ImportIds::One(id), None) => vec![id],
                (ImportIds::PerCopy(all), Some(n))
                    if all.len() == usize::try_from(n).unwrap_or(0) =>
                {
                    all.iter().collect()
                }
                (_, Some(n)) => {
                    self.error(
                        import.span(),
                        format!("{address}: count = {n}, so import takes {n} ids, one per copy"),
                    )
                    .help =
                        Some("import = [\"i-0123…\", \"i-0456…\"], in the copies' order".into());
                    continue;
                }
                (ImportIds::PerCopy(_), None) => {
                    self.error(
                        import.span(),
                        format!(
                            "{address}: import takes one id (a list is for a block with count)"
                        ),
                    );
                    continue;
                }
            };
            for id in list {
                if let Err(expected) = form(kind, id) {
                    self.error(
                        import.span(),
                        format!("{address}: `{id}` is not the id of a {kind}: expected {expected}"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::stack::{parse, Stack};
    use std::path::Path;

    const HEAD: &str = "[stack]\nname = \"s\"\nregions = [\"us-east-1\", \"eu-west-1\"]\n\n";

    fn load(blocks: &str) -> Result<Stack, String> {
        parse(Path::new("s.toml"), format!("{HEAD}{blocks}")).map_err(|e| e.to_string())
    }

    const SUBNET: &str = "[vpc.main]\ncidr = \"10.0.0.0/16\"\n\n[subnet.a]\nvpc = \"vpc.main\"\ncidr = \"10.0.1.0/24\"\nzone = \"a\"\n";

    #[test]
    fn an_import_id_per_region_and_per_copy_is_found_where_it_applies() {
        let stack = load(&format!(
            "{SUBNET}import = {{ us-east-1 = \"subnet-0a1b2c\" }}\n\n\
             [instance.web]\nami = {{ default = \"ami-0a1b2c3d\" }}\ninstance_type = \"t3.micro\"\n\
             subnet = \"subnet.a\"\ncount = 2\nimport = [\"i-0aa\", \"i-0bb\"]\n"
        ))
        .unwrap();
        let r = |a: &str| &stack.resources[&crate::model::Address::parse(a).unwrap()];
        assert_eq!(r("subnet.a").import_id("us-east-1"), Some("subnet-0a1b2c"));
        assert_eq!(r("subnet.a").import_id("eu-west-1"), None, "created there");
        assert_eq!(r("instance.web[1]").import_id("eu-west-1"), Some("i-0bb"));
        assert_eq!(r("vpc.main").import_id("us-east-1"), None);
    }

    #[test]
    fn an_id_of_the_wrong_form_or_count_or_kind_is_refused_where_it_is_written() {
        let wrong = load(&format!("{SUBNET}import = \"vpc-0a1b2c\"\n")).unwrap_err();
        assert!(
            wrong.contains("subnet.a: `vpc-0a1b2c` is not the id of a subnet: expected `subnet-` and hexadecimal digits"),
            "{wrong}"
        );
        assert!(wrong.contains("s.toml:12:"), "located: {wrong}");
        let copies = load(&format!(
            "{SUBNET}\n[instance.web]\nami = {{ default = \"ami-0a1b2c3d\" }}\ninstance_type = \"t3.micro\"\n\
             subnet = \"subnet.a\"\ncount = 2\nimport = \"i-0aa\"\n"
        ))
        .unwrap_err();
        assert!(
            copies.contains("instance.web: count = 2, so import takes 2 ids, one per copy"),
            "{copies}"
        );
        let kind = load(&format!(
            "{SUBNET}\n[iam_role.app]\nassume = \"ec2.amazonaws.com\"\nimport = \"app\"\n"
        ))
        .unwrap_err();
        assert!(
            kind.contains("iam_role.app: iam_role blocks cannot be imported yet"),
            "{kind}"
        );
        let alarm = |id: &str| {
            load(&format!(
                "{SUBNET}\n[alarm.slow]\nname = \"{id}\"\nnamespace = \"AWS/EC2\"\n\
                 metric = \"CPUUtilization\"\nstatistic = \"Average\"\nperiod = 60\n\
                 threshold = 90.0\ncomparison = \"GreaterThanThreshold\"\nimport = \"{id}\"\n"
            ))
        };
        assert!(alarm("web: high CPU").is_ok(), "an alarm by its name");
        let long = alarm(&"x".repeat(256)).unwrap_err();
        assert!(
            long.contains("expected an alarm's name: 1 to 255 characters"),
            "{long}"
        );
        let zone = "\n[dns_zone.main]\nname = \"example.com\"\nimport = \"Z0123456789\"\n";
        assert!(load(&format!("{SUBNET}{zone}")).is_ok(), "a hosted zone id");
        let record = |id: &str| {
            load(&format!(
                "{SUBNET}{zone}\n[dns_record.www]\nzone = \"dns_zone.main\"\nname = \"www.example.com\"\n\
                 type = \"A\"\nttl = 60\nvalues = [\"192.0.2.1\"]\nimport = \"{id}\"\n"
            ))
        };
        assert!(record("www.example.com A").is_ok());
        let weighted = record("www.example.com A blue").unwrap_err();
        assert!(
            weighted.contains("a record with a set identifier (`blue`: weighted, latency or failover routing) cannot be managed"),
            "{weighted}"
        );
        let bare = record("www.example.com").unwrap_err();
        assert!(
            bare.contains("expected `NAME TYPE`, the type one of A, AAAA, CNAME, TXT, MX"),
            "{bare}"
        );
        let arn = load(&format!(
            "{SUBNET}\n[target_group.blue]\nvpc = \"vpc.main\"\nport = 80\nimport = \"tg-blue\"\n"
        ))
        .unwrap_err();
        assert!(
            arn.contains("`tg-blue` is not the id of a target_group: expected its ARN, arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/…"),
            "{arn}"
        );
        let database = super::form(crate::model::Kind::DbInstance, "shop--prod").unwrap_err();
        assert!(
            database.contains("never ends with `-` nor holds `--`"),
            "{database}"
        );
        assert!(super::form(crate::model::Kind::DbInstance, "shop-prod").is_ok());
    }

    #[test]
    fn an_imported_database_is_protected_unless_its_block_says_not() {
        let db = |extra: &str| format!("{SUBNET}\n{}{extra}", crate::testing::DATABASE);
        let protect = |extra: &str| {
            let stack = load(&db(extra)).unwrap();
            stack.resources[&crate::model::Address::parse("db_instance.main").unwrap()]
                .spec
                .common()
                .protect
        };
        assert!(!protect(""), "not imported: as written");
        assert!(protect("import = \"shop\"\n"), "imported: protected");
        assert!(!protect("import = \"shop\"\nprotect = false\n"));
    }
}
