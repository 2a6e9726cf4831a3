//! Instances: discovery, create, update, delete.

use super::*;
use aws_sdk_ec2::types::{IamInstanceProfileAssociationState, IamInstanceProfileSpecification};

/// Every instance `stack` owns in `region`: one paginated call.
pub(super) async fn discover(
    client: &Client,
    scope: Scope<'_>,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let live_states = Filter::builder()
        .name("instance-state-name")
        .set_values(Some(
            ["pending", "running", "stopping", "stopped"]
                .map(String::from)
                .to_vec(),
        ))
        .build();
    let reservations = all_pages!(
        "DescribeInstances",
        client
            .describe_instances()
            .filters(scope.filter("instance-id"))
            .filters(live_states.clone())
            .max_results(PAGE)
    )?;
    let mut found = Vec::new();
    for i in reservations.iter().flat_map(|r| r.instances()) {
        let id = i.instance_id().unwrap_or_default();
        let digest = i
            .tags()
            .iter()
            .find(|t| t.key() == Some(USER_DATA_TAG))
            .and_then(Tag::value);
        let groups = i.security_groups().iter().filter_map(|g| g.group_id());
        found.extend(observed(
            scope,
            region,
            Kind::Instance,
            i.tags(),
            id,
            [
                ("ami", Value::str(i.image_id().unwrap_or_default())),
                (
                    "instance_type",
                    Value::str(i.instance_type().map(|t| t.as_str()).unwrap_or_default()),
                ),
                (
                    "subnet",
                    Value::Id(i.subnet_id().unwrap_or_default().into()),
                ),
                (
                    "security_groups",
                    Value::set(groups.map(|g| Value::Id(g.into()))),
                ),
                ("target_groups", Value::List(vec![])),
            ]
            .into_iter()
            .chain(digest.map(|d| ("user_data", Value::str(d))))
            .chain(
                i.iam_instance_profile()
                    .and_then(|p| p.arn())
                    .map(|arn| ("instance_profile", Value::Id(profile_name(arn).into()))),
            ),
            [
                ("id", id.to_string()),
                (
                    "private_ip",
                    i.private_ip_address().unwrap_or_default().to_string(),
                ),
            ],
        ));
    }
    Ok(found)
}

impl Mutator {
    pub(super) async fn create_instance(
        &self,
        address: &Address,
        attrs: &Attrs,
        inputs: &Inputs,
    ) -> Result<Created, AwsError> {
        let c = &self.ec2;
        let user_data = inputs
            .get("user_data")
            .map(|d| aws_smithy_types::base64::encode(d.as_bytes()));
        let out = retry_while(
            || async {
                send_once!(
                    aws_sdk_ec2,
                    "RunInstances",
                    c.run_instances()
                        .image_id(required(attrs, "ami")?)
                        .instance_type(required(attrs, "instance_type")?.into())
                        .subnet_id(required(attrs, "subnet")?)
                        .set_security_group_ids(Some(
                            list_ids(attrs, "security_groups").into_iter().collect()
                        ))
                        .set_user_data(user_data.clone())
                        .set_iam_instance_profile(text(attrs, "instance_profile").map(|name| {
                            IamInstanceProfileSpecification::builder()
                                .name(name)
                                .build()
                        }))
                        .min_count(1)
                        .max_count(1)
                        .client_token(self.client_token(address))
                        .tag_specifications(self.tag_spec(ResourceType::Instance, address, attrs))
                )
            },
            // A new group or subnet not seen yet, or a new instance profile:
            // IAM takes seconds to show it to EC2.
            |e| e.is_not_found() || e.is(Code::ProfileNotSeen),
            // IAM shows a new profile to EC2 within seconds: up to ~25 s.
            match text(attrs, "instance_profile") {
                Some(_) => DEPENDENCIES,
                None => EVENTUAL,
            },
        )
        .await?;
        let instance = out.instances().first();
        let id = instance
            .and_then(|i| i.instance_id())
            .unwrap_or_default()
            .to_string();
        let ip = instance
            .and_then(|i| i.private_ip_address())
            .unwrap_or_default()
            .to_string();
        c.wait_until_instance_running()
            .instance_ids(&id)
            .wait(self.wait_limit)
            .instrument(phase("wait instance running"))
            .await
            .map_err(|e| AwsError::waiter("waiting for the instance to run", e))?;
        for group in list_ids(attrs, "target_groups") {
            self.register(&group, &id, true).await?;
        }
        Ok(Created {
            exports: exports(&[("id", &id), ("private_ip", &ip)]),
            live_id: id,
        })
    }

    /// Changes what the plan found `changed`, but the tags (`Mutator::retag`).
    pub(super) async fn update_instance(
        &self,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        let id = observed.live_id.as_str();
        let differs = |key: &str| changed.contains(key);
        if differs("security_groups") {
            let groups = list_ids(attrs, "security_groups").into_iter().collect();
            send!(
                "ModifyInstanceAttribute",
                self.ec2
                    .modify_instance_attribute()
                    .instance_id(id)
                    .set_groups(Some(groups))
            )?;
        }
        if differs("instance_profile") {
            self.set_instance_profile(id, text(attrs, "instance_profile"))
                .await?;
        }
        if differs("target_groups") {
            let (was, now) = (
                list_ids(&observed.attrs, "target_groups"),
                list_ids(attrs, "target_groups"),
            );
            for group in was.difference(&now) {
                self.register(group, id, false).await?;
            }
            for group in now.difference(&was) {
                self.register(group, id, true).await?;
            }
        }
        Ok(())
    }

    /// Associates `profile` with the running instance, in place of the one it
    /// has (or none).
    async fn set_instance_profile(&self, id: &str, profile: Option<&str>) -> Result<(), AwsError> {
        let c = &self.ec2;
        let found = send!(
            "DescribeIamInstanceProfileAssociations",
            c.describe_iam_instance_profile_associations().filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("instance-id")
                    .values(id)
                    .build()
            )
        )?;
        let current = found
            .iam_instance_profile_associations()
            .iter()
            .find(|a| {
                matches!(
                    a.state(),
                    Some(IamInstanceProfileAssociationState::Associated)
                        | Some(IamInstanceProfileAssociationState::Associating)
                )
            })
            .and_then(|a| a.association_id());
        let spec = |name: &str| {
            IamInstanceProfileSpecification::builder()
                .name(name)
                .build()
        };
        match (current, profile) {
            (Some(association), Some(name)) => send!(
                "ReplaceIamInstanceProfileAssociation",
                c.replace_iam_instance_profile_association()
                    .association_id(association)
                    .iam_instance_profile(spec(name))
            )
            .map(drop),
            (Some(association), None) => send!(
                "DisassociateIamInstanceProfile",
                c.disassociate_iam_instance_profile()
                    .association_id(association)
            )
            .map(drop),
            (None, Some(name)) => send!(
                "AssociateIamInstanceProfile",
                c.associate_iam_instance_profile()
                    .instance_id(id)
                    .iam_instance_profile(spec(name))
            )
            .map(drop),
            (None, None) => Ok(()),
        }
    }

    pub(super) async fn delete_instance(&self, observed: &Observed) -> Result<(), AwsError> {
        let c = &self.ec2;
        let id = observed.live_id.as_str();
        for group in list_ids(&observed.attrs, "target_groups") {
            self.register(&group, id, false).await?;
        }
        send!(
            "TerminateInstances",
            c.terminate_instances().instance_ids(id)
        )?;
        // What the instance sits in (subnet, groups) cannot go before it has.
        c.wait_until_instance_terminated()
            .instance_ids(id)
            .wait(self.wait_limit)
            .instrument(phase("wait instance terminated"))
            .await
            .map(drop)
            .map_err(|e| AwsError::waiter("waiting for the instance to terminate", e))
    }
}

/// An instance profile's name from its ARN
/// (`arn:aws:iam::123456789012:instance-profile/reconcile/prod/prod-app`).
pub(super) fn profile_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}
