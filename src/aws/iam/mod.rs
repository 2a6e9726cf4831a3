//! IAM: roles and instance profiles. IAM is global; reconcile homes each in
//! one region of its stack (a tag, as DNS), and creates them under the path
//! `/reconcile/<stack>/`, so one `ListRoles` and one `ListInstanceProfiles`
//! with that path prefix find a stack's. Their policies and tags are read
//! per role (IAM's listings leave them out).

mod instance_profile;
mod role;

use super::{AwsError, Created, Mutator};
use crate::model::tags::REGION as REGION_TAG;
use crate::model::{Address, Attrs, Changed, Kind, Observed, Value};
use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client;
use std::collections::BTreeMap;

type Tags = BTreeMap<String, String>;

/// The kinds IAM carries (`super::place`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IamKind {
    Role,
    InstanceProfile,
}

/// Where a stack's roles and profiles are created, and found.
fn path(stack: &str) -> String {
    format!("/reconcile/{stack}/")
}

/// A name IAM takes (64 characters of `[\w+=,.@-]`), the same for a block
/// every time: `<stack>-<name>-role`, `<stack>-<name>-profile` (a role and a
/// profile of one name are told apart by their live ids), shortened with a
/// digest when too long.
fn name(stack: &str, address: &Address, kind: IamKind) -> String {
    let kind = match kind {
        IamKind::Role => "role",
        IamKind::InstanceProfile => "profile",
    };
    let plain = iam_characters(&format!("{stack}-{}-{kind}", address.name));
    if plain.len() <= 64 {
        return plain;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(plain.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", &plain[..55])
}

/// A policy document as IAM answers it (URL-encoded JSON), as compared.
fn document(encoded: &str) -> String {
    let text = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy();
    crate::model::shapes::policy_text(&text)
}

fn tags_of(tags: &[Tag]) -> Tags {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// Where a stack's IAM object is homed: its tag, else where it was read.
fn home<'a>(tags: &'a Tags, region: &'a str) -> &'a str {
    tags.get(REGION_TAG).map_or(region, String::as_str)
}

/// The stack's roles and instance profiles, each in its recorded home.
pub async fn discover(
    client: &Client,
    stack: &str,
    region: &str,
) -> Result<Vec<Observed>, AwsError> {
    let prefix = path(stack);
    let (roles, profiles) = tokio::try_join!(
        async {
            all_pages!(
                "ListRoles",
                client.list_roles().path_prefix(&prefix).max_items(1000)
            )
        },
        async {
            all_pages!(
                "ListInstanceProfiles",
                client
                    .list_instance_profiles()
                    .path_prefix(&prefix)
                    .max_items(1000)
            )
        },
    )?;
    // The prefix again, here: an endpoint that ignores it (moto, for
    // instance profiles) must not cost a read per profile of the account.
    let ours = |path: &str| path.starts_with(&prefix);
    let roles = futures::future::try_join_all(
        roles
            .iter()
            .filter(|r| ours(r.path()))
            .map(|r| role::observe(client, stack, region, r)),
    );
    let profiles = futures::future::try_join_all(
        profiles
            .iter()
            .filter(|p| ours(p.path()))
            .map(|p| instance_profile::observe(client, stack, region, p)),
    );
    let (roles, profiles) = tokio::try_join!(roles, profiles)?;
    Ok(roles.into_iter().chain(profiles).flatten().collect())
}

/// The tags an IAM object is created with: every kind's, and its home.
fn iam_tags(m: &Mutator, address: &Address, attrs: &Attrs) -> Result<Vec<Tag>, AwsError> {
    let mut pairs = m.tag_pairs(address, attrs);
    pairs.push((REGION_TAG.into(), m.region.clone()));
    pairs
        .into_iter()
        .map(|(k, v)| {
            Tag::builder().key(k).value(v).build().map_err(|e| {
                AwsError::new("TagRole", super::ErrorClass::Invalid, "Tag", e.to_string())
            })
        })
        .collect()
}

impl Mutator {
    pub(super) async fn iam_create(
        &self,
        kind: IamKind,
        address: &Address,
        attrs: &Attrs,
    ) -> Result<Created, AwsError> {
        match kind {
            IamKind::Role => self.create_role(address, attrs).await,
            IamKind::InstanceProfile => self.create_instance_profile(address, attrs).await,
        }
    }

    pub(super) async fn iam_update(
        &self,
        kind: IamKind,
        observed: &Observed,
        attrs: &Attrs,
        changed: &Changed,
    ) -> Result<(), AwsError> {
        match kind {
            IamKind::Role => self.update_role(observed, attrs, changed).await?,
            IamKind::InstanceProfile => {
                self.update_instance_profile(observed, attrs, changed)
                    .await?
            }
        }
        self.retag(observed, attrs, changed).await
    }

    pub(super) async fn iam_delete(
        &self,
        kind: IamKind,
        observed: &Observed,
    ) -> Result<(), AwsError> {
        match kind {
            IamKind::Role => self.delete_role(observed).await,
            IamKind::InstanceProfile => self.delete_instance_profile(observed).await,
        }
    }

    /// Writes tags on a role or instance profile; its home stays recorded.
    pub(super) async fn iam_write_tags(
        &self,
        kind: IamKind,
        name: &str,
        mut set: Vec<(String, String)>,
        stale: Vec<String>,
    ) -> Result<(), AwsError> {
        set.push((REGION_TAG.into(), self.region.clone()));
        let tags = set
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                AwsError::new("TagRole", super::ErrorClass::Invalid, "Tag", e.to_string())
            })?;
        let c = &self.iam;
        match kind {
            IamKind::Role => {
                send!("TagRole", c.tag_role().role_name(name).set_tags(Some(tags)))?;
                if !stale.is_empty() {
                    send!(
                        "UntagRole",
                        c.untag_role().role_name(name).set_tag_keys(Some(stale))
                    )?;
                }
            }
            IamKind::InstanceProfile => {
                send!(
                    "TagInstanceProfile",
                    c.tag_instance_profile()
                        .instance_profile_name(name)
                        .set_tags(Some(tags))
                )?;
                if !stale.is_empty() {
                    send!(
                        "UntagInstanceProfile",
                        c.untag_instance_profile()
                            .instance_profile_name(name)
                            .set_tag_keys(Some(stale))
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// `text` in the characters IAM takes in a name (a role's, a session's:
/// `[\w+=,.@-]`), any other as `-`.
pub(super) fn iam_characters(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_what_iam_takes_and_the_same_every_time() {
        let short = name("prod", &Address::new(Kind::IamRole, "web"), IamKind::Role);
        assert_eq!(short, "prod-web-role");
        let profile = name(
            "prod",
            &Address::new(Kind::InstanceProfile, "web"),
            IamKind::InstanceProfile,
        );
        assert_eq!(profile, "prod-web-profile");
        let long = name(
            &"s".repeat(40),
            &Address::new(Kind::IamRole, "n".repeat(40)),
            IamKind::Role,
        );
        assert_eq!(long.len(), 64);
        assert_eq!(
            long,
            name(
                &"s".repeat(40),
                &Address::new(Kind::IamRole, "n".repeat(40)),
                IamKind::Role,
            )
        );
        let odd = name(
            "prod",
            &Address::new(Kind::IamRole, "web[1]"),
            IamKind::Role,
        );
        assert_eq!(odd, "prod-web-1--role");
    }

    #[test]
    fn documents_are_decoded_and_compared_as_json() {
        let encoded = "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%5D%7D";
        assert_eq!(
            document(encoded),
            r#"{"Statement":[],"Version":"2012-10-17"}"#
        );
    }
}
