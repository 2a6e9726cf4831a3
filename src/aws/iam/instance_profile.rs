//! Instance profiles: the role an EC2 instance acts as, one role each.

use super::*;
use aws_sdk_iam::types::InstanceProfile;

/// A profile of the stack, as reconcile compares it: one GetInstanceProfile,
/// for its tags (IAM's listing leaves them out).
pub(super) async fn observe(
    client: &Client,
    stack: &str,
    region: &str,
    listed: &InstanceProfile,
) -> Result<Option<Observed>, AwsError> {
    let name = listed.instance_profile_name();
    let out = send!(
        "GetInstanceProfile",
        client.get_instance_profile().instance_profile_name(name)
    )?;
    let Some(p) = out.instance_profile() else {
        return Ok(None);
    };
    let tags = tags_of(p.tags());
    if tags.get(crate::model::STACK_TAG).map(String::as_str) != Some(stack) {
        return Ok(None);
    }
    let mut attrs = vec![];
    if let Some(role) = p.roles().first() {
        attrs.push(("role", Value::Id(role.role_name().to_string())));
    }
    let exports = BTreeMap::from([
        ("arn".to_string(), p.arn().to_string()),
        ("name".to_string(), name.to_string()),
        ("id".to_string(), name.to_string()),
    ]);
    Ok(crate::aws::observed(
        home(&tags, region),
        Kind::InstanceProfile,
        &tags,
        name,
        attrs,
        exports,
    ))
}

impl Mutator {
    pub(super) async fn create_instance_profile(
        &self,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<Created, AwsError> {
        let c = &self.iam;
        let profile = name(&self.stack, address, IamKind::InstanceProfile);
        let out = send_once!(
            aws_sdk_iam,
            "CreateInstanceProfile",
            c.create_instance_profile()
                .instance_profile_name(&profile)
                .path(path(&self.stack))
                .set_tags(Some(iam_tags(self, address, attrs)?))
        )?;
        let arn = out
            .instance_profile()
            .map(|p| p.arn().to_string())
            .unwrap_or_default();
        if let Some(role) = crate::aws::text(attrs, "role") {
            self.add_role(&profile, role).await?;
        }
        Ok(Created {
            exports: BTreeMap::from([
                ("arn".to_string(), arn),
                ("name".to_string(), profile.clone()),
            ]),
            live_id: profile,
        })
    }

    async fn add_role(&self, profile: &str, role: &str) -> Result<(), AwsError> {
        send!(
            "AddRoleToInstanceProfile",
            self.iam
                .add_role_to_instance_profile()
                .instance_profile_name(profile)
                .role_name(role)
        )
        .map(drop)
    }

    async fn remove_role(&self, profile: &str, role: &str) -> Result<(), AwsError> {
        send!(
            "RemoveRoleFromInstanceProfile",
            self.iam
                .remove_role_from_instance_profile()
                .instance_profile_name(profile)
                .role_name(role)
        )
        .map(drop)
    }

    /// A profile holds one role: the old one leaves before the new one comes.
    pub(super) async fn update_instance_profile(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        if !changed.contains("role") {
            return Ok(());
        }
        let profile = observed.live_id.as_str();
        if let Some(old) = crate::aws::text(&observed.attrs, "role") {
            self.remove_role(profile, old).await?;
        }
        if let Some(new) = crate::aws::text(attrs, "role") {
            self.add_role(profile, new).await?;
        }
        Ok(())
    }

    pub(super) async fn delete_instance_profile(
        &self,
        observed: &Observed,
    ) -> Result<(), AwsError> {
        let profile = observed.live_id.as_str();
        if let Some(role) = crate::aws::text(&observed.attrs, "role") {
            match self.remove_role(profile, role).await {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
        send!(
            "DeleteInstanceProfile",
            self.iam
                .delete_instance_profile()
                .instance_profile_name(profile)
        )
        .map(drop)
    }
}
