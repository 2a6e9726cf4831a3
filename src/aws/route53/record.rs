//! Record sets, owned through a TXT marker beside each: how discovery reads
//! them, create, update, delete.

use super::*;

/// The records of a zone that carry a marker of this stack and region.
pub(super) fn records(stack: &str, zone: &str, sets: &[ResourceRecordSet]) -> Vec<Observed> {
    let mut found = Vec::new();
    for marker in sets.iter().filter(|s| s.r#type() == &RrType::Txt) {
        let marker_text = marker
            .resource_records()
            .first()
            .map(|r| r.value())
            .unwrap_or_default();
        let Some(fields) = parse_marker(marker_text) else {
            continue;
        };
        if fields.get("stack") != Some(&stack) {
            continue;
        }
        let Some(region) = fields.get("region").copied() else {
            continue;
        };
        let Some(address) = fields
            .get("id")
            .and_then(|a| Address::parse(a))
            .filter(|a| a.kind == Kind::DnsRecord)
        else {
            continue;
        };
        let marker_name = plain(marker.name());
        let Some((record_type, name)) = marker_name
            .strip_prefix("_reconcile-")
            .and_then(|rest| rest.split_once('.'))
            .map(|(t, n)| (t.to_uppercase(), n.to_string()))
        else {
            continue;
        };
        let record = sets
            .iter()
            .find(|s| plain(s.name()) == name && s.r#type().as_str() == record_type);
        let Some(record) = record else { continue };
        let mut o = observe(address, region, zone, record);
        o.attrs.insert(
            "protect".into(),
            Value::Bool(fields.get("protect") == Some(&"true")),
        );
        o.handles.insert("marker".into(), marker_text.to_string());
        found.push(o);
    }
    found
}

/// A record set of `zone`, read for the block at `address` homed in `region`.
pub(super) fn observe(
    address: Address,
    region: &str,
    zone: &str,
    record: &ResourceRecordSet,
) -> Observed {
    let name = plain(record.name());
    let record_type = record.r#type().as_str().to_string();
    let mut attrs: Attrs = BTreeMap::from([
        ("zone".to_string(), Value::Id(zone.to_string())),
        ("name".to_string(), Value::str(&name)),
        ("type".to_string(), Value::str(&record_type)),
        ("home".to_string(), Value::str(region)),
        ("protect".to_string(), Value::Bool(false)),
    ]);
    let mut handles = BTreeMap::new();
    match record.alias_target() {
        Some(alias) => {
            attrs.insert(
                "alias".into(),
                Value::map([
                    ("dns_name", Value::str(plain(alias.dns_name()))),
                    ("zone_id", Value::str(alias.hosted_zone_id().to_uppercase())),
                ]),
            );
            handles.insert("alias_dns".into(), alias.dns_name().to_string());
            handles.insert("alias_zone".into(), alias.hosted_zone_id().to_string());
        }
        None => {
            let ttl = record.ttl().unwrap_or_default();
            let raw: Vec<&str> = record
                .resource_records()
                .iter()
                .map(|r| r.value())
                .collect();
            attrs.insert("ttl".into(), Value::Int(ttl));
            attrs.insert(
                "values".into(),
                Value::set(raw.iter().map(|v| Value::Str(unquote(&record_type, v)))),
            );
            handles.insert("ttl".into(), ttl.to_string());
            handles.insert("values".into(), raw.join("\n"));
        }
    }
    let live_id = format!("{zone}/{name}/{record_type}");
    Observed {
        address,
        region: region.to_string(),
        exports: BTreeMap::from([
            ("id".to_string(), live_id.clone()),
            ("name".to_string(), name),
        ]),
        live_id,
        attrs,
        handles,
    }
}

pub(super) fn record_set(
    name: &str,
    record_type: &str,
    ttl: Option<i64>,
    values: &[String],
    alias: Option<(&str, &str)>,
) -> ResourceRecordSet {
    let mut set = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(record_type));
    match alias {
        Some((dns_name, zone)) => {
            set = set.alias_target(
                AliasTarget::builder()
                    .dns_name(dns_name)
                    .hosted_zone_id(zone)
                    .evaluate_target_health(false)
                    .build()
                    .expect("an alias target has its fields"),
            );
        }
        None => {
            set = set.set_ttl(ttl).set_resource_records(Some(
                values
                    .iter()
                    .map(|v| {
                        ResourceRecord::builder()
                            .value(v)
                            .build()
                            .expect("a record has a value")
                    })
                    .collect(),
            ));
        }
    }
    set.build().expect("a record set has a name and type")
}

pub(super) fn change(action: ChangeAction, set: ResourceRecordSet) -> Change {
    Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .expect("a change has an action and a record set")
}

impl Mutator {
    pub(in crate::aws) async fn record_create(
        &self,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<Created, AwsError> {
        self.write_record(address, attrs).await?;
        let live_id = format!(
            "{}/{}/{}",
            text(attrs, "zone").unwrap_or_default(),
            text(attrs, "name").unwrap_or_default(),
            text(attrs, "type").unwrap_or_default()
        );
        Ok(Created {
            exports: BTreeMap::from([
                ("id".to_string(), live_id.clone()),
                (
                    "name".to_string(),
                    text(attrs, "name").unwrap_or_default().to_string(),
                ),
            ]),
            live_id,
        })
    }

    /// The record and its marker, in one atomic change batch.
    pub(super) async fn write_record(
        &self,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<(), AwsError> {
        let (name, record_type) = (
            text(attrs, "name").unwrap_or_default(),
            text(attrs, "type").unwrap_or_default(),
        );
        let alias = attrs.get("alias").and_then(Value::as_map);
        let values: Vec<String> = attrs
            .get("values")
            .map(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
            .map(|v| quote(record_type, v))
            .collect();
        let ttl = match attrs.get("ttl") {
            Some(Value::Int(t)) => Some(*t),
            _ => None,
        };
        let alias = alias.map(|a| {
            let field = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or_default();
            (
                field("dns_name").to_string(),
                field("zone_id").to_uppercase(),
            )
        });
        let record = record_set(
            name,
            record_type,
            ttl,
            &values,
            alias.as_ref().map(|(d, z)| (d.as_str(), z.as_str())),
        );
        let protect = attrs.get("protect") == Some(&Value::Bool(true));
        let marker = record_set(
            &marker_name(record_type, name),
            "TXT",
            Some(300),
            &[marker_value(&self.stack, &self.region, address, protect)],
            None,
        );
        self.change_records(
            text(attrs, "zone").unwrap_or_default(),
            vec![
                change(ChangeAction::Upsert, record),
                change(ChangeAction::Upsert, marker),
            ],
        )
        .await
    }

    pub(in crate::aws) async fn record_update(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let wanted = changed.merged(attrs, &observed.attrs);
        self.write_record(&observed.address, &wanted).await
    }

    pub(in crate::aws) async fn record_delete(&self, observed: &Observed) -> Result<(), AwsError> {
        let h = |k: &str| {
            observed
                .handles
                .get(k)
                .map(String::as_str)
                .unwrap_or_default()
        };
        let (name, record_type) = (
            text(&observed.attrs, "name").unwrap_or_default(),
            text(&observed.attrs, "type").unwrap_or_default(),
        );
        let alias = observed
            .handles
            .contains_key("alias_dns")
            .then(|| (h("alias_dns"), h("alias_zone")));
        let values: Vec<String> = h("values").lines().map(str::to_string).collect();
        let record = record_set(name, record_type, h("ttl").parse().ok(), &values, alias);
        let marker = record_set(
            &marker_name(record_type, name),
            "TXT",
            Some(300),
            &[h("marker").to_string()],
            None,
        );
        let zone = text(&observed.attrs, "zone").unwrap_or_default();
        return self
            .change_records(
                zone,
                vec![
                    change(ChangeAction::Delete, record),
                    change(ChangeAction::Delete, marker),
                ],
            )
            .await;
    }
}
