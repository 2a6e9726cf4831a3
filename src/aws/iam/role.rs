//! Roles: read with their policies and tags, created under the stack's
//! path, changed in place, deleted after what holds on to them lets go.

use super::*;
use aws_sdk_iam::types::Role;

/// The services an assume-role policy lets assume the role.
fn principals(document: &str) -> Vec<Value> {
    let parsed: serde_json::Value = serde_json::from_str(document).unwrap_or_default();
    let statements = match &parsed["Statement"] {
        serde_json::Value::Array(all) => all.clone(),
        one => vec![one.clone()],
    };
    statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| match &s["Principal"]["Service"] {
            serde_json::Value::String(one) => vec![one.clone()],
            serde_json::Value::Array(many) => many
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => vec![],
        })
        .map(Value::Str)
        .collect()
}

/// The assume-role policy letting `services` assume a role.
fn assume_document(attrs: &Attrs) -> String {
    let services: Vec<&str> = attrs
        .get("assume")
        .map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": services },
            "Action": "sts:AssumeRole",
        }],
    })
    .to_string()
}

fn strings(attrs: &Attrs, key: &str) -> Vec<String> {
    attrs
        .get(key)
        .map(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn inline(attrs: &Attrs) -> BTreeMap<String, String> {
    attrs
        .get("policies")
        .and_then(Value::as_map)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

/// A role of the stack, as reconcile compares it: one ListRoleTags,
/// ListAttachedRolePolicies and ListRolePolicies, and a GetRolePolicy per
/// inline policy.
pub(super) async fn observe(
    client: &Client,
    stack: &str,
    region: &str,
    r: &Role,
) -> Result<Option<Observed>, AwsError> {
    let name = r.role_name();
    let (tags, attached, inline_names) = tokio::try_join!(
        async { all_pages!("ListRoleTags", client.list_role_tags().role_name(name)) },
        async {
            all_pages!(
                "ListAttachedRolePolicies",
                client.list_attached_role_policies().role_name(name)
            )
        },
        async {
            all_pages!(
                "ListRolePolicies",
                client.list_role_policies().role_name(name)
            )
        },
    )?;
    let tags = tags_of(&tags);
    if tags.get(crate::model::STACK_TAG).map(String::as_str) != Some(stack) {
        return Ok(None);
    }
    let inline_names: Vec<String> = inline_names;
    let documents = futures::future::try_join_all(inline_names.iter().map(|policy| async move {
        let out = send!(
            "GetRolePolicy",
            client.get_role_policy().role_name(name).policy_name(policy)
        )?;
        Ok::<_, AwsError>((policy.clone(), Value::Str(document(out.policy_document()))))
    }))
    .await?;
    let attached: Vec<aws_sdk_iam::types::AttachedPolicy> = attached;
    let assume = r
        .assume_role_policy_document()
        .map(document)
        .unwrap_or_default();
    let attrs = [
        ("assume", Value::set(principals(&assume))),
        (
            "managed_policies",
            Value::set(
                attached
                    .iter()
                    .filter_map(|p| p.policy_arn().map(Value::str)),
            ),
        ),
        ("policies", Value::Map(documents.into_iter().collect())),
    ];
    let exports = BTreeMap::from([
        ("arn".to_string(), r.arn().to_string()),
        ("name".to_string(), name.to_string()),
        ("id".to_string(), name.to_string()),
    ]);
    Ok(crate::aws::observed(
        home(&tags, region),
        Kind::IamRole,
        &tags,
        name,
        attrs,
        exports,
    ))
}

impl Mutator {
    pub(super) async fn create_role(
        &self,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<Created, AwsError> {
        let c = &self.iam;
        let role_name = name(&self.stack, address, IamKind::Role);
        let out = send_once!(
            aws_sdk_iam,
            "CreateRole",
            c.create_role()
                .role_name(&role_name)
                .path(path(&self.stack))
                .assume_role_policy_document(assume_document(attrs))
                .description(format!("{address}, managed by reconcile"))
                .set_tags(Some(iam_tags(self, address, attrs)?))
        )?;
        let arn = out.role().map(|r| r.arn().to_string()).unwrap_or_default();
        for policy in strings(attrs, "managed_policies") {
            self.attach(&role_name, &policy).await?;
        }
        for (policy, document) in inline(attrs) {
            self.put_policy(&role_name, &policy, &document).await?;
        }
        Ok(Created {
            exports: BTreeMap::from([
                ("arn".to_string(), arn),
                ("name".to_string(), role_name.clone()),
            ]),
            live_id: role_name,
        })
    }

    async fn attach(&self, role: &str, policy: &str) -> Result<(), AwsError> {
        send!(
            "AttachRolePolicy",
            self.iam
                .attach_role_policy()
                .role_name(role)
                .policy_arn(policy)
        )
        .map(drop)
    }

    async fn put_policy(&self, role: &str, policy: &str, document: &str) -> Result<(), AwsError> {
        send!(
            "PutRolePolicy",
            self.iam
                .put_role_policy()
                .role_name(role)
                .policy_name(policy)
                .policy_document(document)
        )
        .map(drop)
    }

    pub(super) async fn update_role(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let c = &self.iam;
        let role = observed.live_id.as_str();
        if changed.contains("assume") {
            send!(
                "UpdateAssumeRolePolicy",
                c.update_assume_role_policy()
                    .role_name(role)
                    .policy_document(assume_document(attrs))
            )?;
        }
        if changed.contains("managed_policies") {
            let (want, have) = (
                strings(attrs, "managed_policies"),
                strings(&observed.attrs, "managed_policies"),
            );
            for policy in want.iter().filter(|p| !have.contains(p)) {
                self.attach(role, policy).await?;
            }
            for policy in have.iter().filter(|p| !want.contains(p)) {
                send!(
                    "DetachRolePolicy",
                    c.detach_role_policy().role_name(role).policy_arn(policy)
                )?;
            }
        }
        if changed.contains("policies") {
            let (want, have) = (inline(attrs), inline(&observed.attrs));
            for (policy, document) in want.iter().filter(|(p, d)| have.get(*p) != Some(*d)) {
                self.put_policy(role, policy, document).await?;
            }
            for policy in have.keys().filter(|p| !want.contains_key(*p)) {
                send!(
                    "DeleteRolePolicy",
                    c.delete_role_policy().role_name(role).policy_name(policy)
                )?;
            }
        }
        Ok(())
    }

    /// IAM deletes a role only once it has no policies and is in no
    /// instance profile: those are let go first.
    pub(super) async fn delete_role(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.iam;
        let role = observed.live_id.as_str();
        for policy in strings(&observed.attrs, "managed_policies") {
            send!(
                "DetachRolePolicy",
                c.detach_role_policy().role_name(role).policy_arn(&policy)
            )?;
        }
        for policy in inline(&observed.attrs).keys() {
            send!(
                "DeleteRolePolicy",
                c.delete_role_policy().role_name(role).policy_name(policy)
            )?;
        }
        let profiles: Vec<aws_sdk_iam::types::InstanceProfile> = all_pages!(
            "ListInstanceProfilesForRole",
            c.list_instance_profiles_for_role().role_name(role)
        )?;
        for p in profiles {
            send!(
                "RemoveRoleFromInstanceProfile",
                c.remove_role_from_instance_profile()
                    .instance_profile_name(p.instance_profile_name())
                    .role_name(role)
            )?;
        }
        send!("DeleteRole", c.delete_role().role_name(role)).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assume_policy_written_is_read_back_as_its_services() {
        let attrs = Attrs::from([(
            "assume".to_string(),
            Value::set([
                Value::str("ec2.amazonaws.com"),
                Value::str("ssm.amazonaws.com"),
            ]),
        )]);
        let mut read = principals(&assume_document(&attrs));
        read.sort_by_key(|v| v.as_str().map(str::to_string));
        assert_eq!(
            read,
            [
                Value::str("ec2.amazonaws.com"),
                Value::str("ssm.amazonaws.com")
            ]
        );
        let one = r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
        assert_eq!(principals(one), [Value::str("ec2.amazonaws.com")]);
    }
}
