//! Launch templates: a change is a new version made the default (the
//! template stays, with its id); versions beyond the last few are deleted.

use super::*;
use aws_sdk_ec2::types::{
    LaunchTemplate, LaunchTemplateIamInstanceProfileSpecificationRequest, RequestLaunchTemplateData,
};

/// Versions kept besides the default: what a rollback can still launch.
const KEEP: i64 = 5;

/// Every launch template `stack` owns in `region`: one paged call, and one
/// DescribeLaunchTemplateVersions for each template's default version.
pub(super) async fn discover(
    client: &Client,
    scope: Scope<'_>,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let templates: Vec<LaunchTemplate> = all_pages!(
        "DescribeLaunchTemplates",
        client
            .describe_launch_templates()
            .filters(scope.filter("launch-template-id"))
            .max_results(200)
    )?;
    let found = futures::future::try_join_all(templates.iter().map(|t| async move {
        let id = t.launch_template_id().unwrap_or_default();
        let out = send!(
            "DescribeLaunchTemplateVersions",
            client
                .describe_launch_template_versions()
                .launch_template_id(id)
                .versions("$Default")
        )?;
        let data = out
            .launch_template_versions()
            .first()
            .and_then(|v| v.launch_template_data())
            .cloned()
            .unwrap_or_else(|| aws_sdk_ec2::types::ResponseLaunchTemplateData::builder().build());
        let digest = t
            .tags()
            .iter()
            .find(|tag| tag.key() == Some(USER_DATA_TAG))
            .and_then(Tag::value);
        let profile = data.iam_instance_profile().and_then(|p| {
            p.name()
                .or_else(|| p.arn().map(instance::profile_name))
                .map(|n| ("instance_profile", Value::Id(n.to_string())))
        });
        let attrs = [
            ("ami", Value::str(data.image_id().unwrap_or_default())),
            (
                "instance_type",
                Value::str(data.instance_type().map(|t| t.as_str()).unwrap_or_default()),
            ),
            (
                "security_groups",
                Value::set(
                    data.security_group_ids()
                        .iter()
                        .map(|g| Value::Id(g.clone())),
                ),
            ),
        ]
        .into_iter()
        .chain(profile)
        .chain(digest.map(|d| ("user_data", Value::str(d))))
        .chain(data.key_name().map(|k| ("key_name", Value::str(k))));
        let version = t.default_version_number().unwrap_or_default().to_string();
        Ok::<_, AwsError>(observed(
            scope,
            region,
            Kind::LaunchTemplate,
            t.tags(),
            id,
            attrs,
            [
                ("id", id.to_string()),
                (
                    "name",
                    t.launch_template_name().unwrap_or_default().to_string(),
                ),
                ("version", version),
            ],
        ))
    }))
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// A name EC2 takes (`[a-zA-Z0-9().-/_]`, up to 128), the same for a block
/// every time.
fn template_name(stack: &str, address: &Address) -> String {
    format!("{stack}-{}", address.name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "().-/_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect()
}

/// What instances launched from it get: every version is written whole.
fn data(attrs: &Attrs, inputs: &Inputs) -> RequestLaunchTemplateData {
    RequestLaunchTemplateData::builder()
        .set_image_id(text(attrs, "ami").map(str::to_string))
        .set_instance_type(text(attrs, "instance_type").map(Into::into))
        .set_security_group_ids(Some(
            list_ids(attrs, "security_groups").into_iter().collect(),
        ))
        .set_iam_instance_profile(text(attrs, "instance_profile").map(|name| {
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .name(name)
                .build()
        }))
        .set_user_data(
            inputs
                .get("user_data")
                .map(|d| aws_smithy_types::base64::encode(d.as_bytes())),
        )
        .set_key_name(text(attrs, "key_name").map(str::to_string))
        .build()
}

impl Mutator {
    pub(super) async fn create_launch_template(
        &self,
        address: &Address,
        attrs: &Attrs,
        inputs: &Inputs,
    ) -> Result<Created, AwsError> {
        let name = template_name(&self.stack, address);
        let out = send_once!(
            aws_sdk_ec2,
            "CreateLaunchTemplate",
            self.ec2
                .create_launch_template()
                .launch_template_name(&name)
                .launch_template_data(data(attrs, inputs))
                .client_token(self.client_token(address))
                .tag_specifications(self.tag_spec(ResourceType::LaunchTemplate, address, attrs))
        )?;
        let id = out
            .launch_template()
            .and_then(|t| t.launch_template_id())
            .unwrap_or_default()
            .to_string();
        Ok(Created {
            exports: exports(&[("id", &id), ("name", &name), ("version", "1")]),
            live_id: id,
        })
    }

    /// A new version holding every attribute, made the default; the oldest
    /// beyond the last few deleted.
    pub(super) async fn update_launch_template(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
        inputs: &Inputs,
    ) -> Result<(), AwsError> {
        let settings = [
            "ami",
            "instance_type",
            "security_groups",
            "instance_profile",
            "user_data",
            "key_name",
        ];
        if !settings.iter().any(|k| changed.contains(k)) {
            return Ok(());
        }
        let c = &self.ec2;
        let id = observed.live_id.as_str();
        let out = send!(
            "CreateLaunchTemplateVersion",
            c.create_launch_template_version()
                .launch_template_id(id)
                .launch_template_data(data(attrs, inputs))
                .client_token(self.client_token(&observed.address))
        )?;
        let version = out
            .launch_template_version()
            .and_then(|v| v.version_number())
            .unwrap_or_default();
        send!(
            "ModifyLaunchTemplate",
            c.modify_launch_template()
                .launch_template_id(id)
                .default_version(version.to_string())
        )?;
        let old: Vec<String> = (1..=version - 1 - KEEP).map(|v| v.to_string()).collect();
        if !old.is_empty() {
            // Versions deleted earlier are reported as such, not as a failure.
            send!(
                "DeleteLaunchTemplateVersions",
                c.delete_launch_template_versions()
                    .launch_template_id(id)
                    .set_versions(Some(old))
            )?;
        }
        Ok(())
    }

    pub(super) async fn delete_launch_template(&self, observed: &Observed) -> Result<(), AwsError> {
        send!(
            "DeleteLaunchTemplate",
            self.ec2
                .delete_launch_template()
                .launch_template_id(&observed.live_id)
        )
        .map(drop)
    }
}
