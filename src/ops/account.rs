//! The account guard: the first call of every command asks whose
//! credentials it runs with (once a run); a stack that names its account
//! refuses another's before anything is read or changed.

use crate::aws::cloud::Discover;
use crate::model::Identity;
use crate::stack::Stack;
use anyhow::{bail, Context, Result};

/// Whose credentials these are; refused when `stack` names other accounts.
pub async fn check(aws: &impl Discover, stack: &Stack) -> Result<Identity> {
    let region = stack.regions.first().map_or("us-east-1", String::as_str);
    let identity = aws
        .identity(region)
        .await
        .context("asking whose credentials these are (STS GetCallerIdentity)")?;
    if !stack.accounts.is_empty() && !stack.accounts.contains(&identity.account) {
        let wanted = match &stack.accounts[..] {
            [one] => format!("account {one}"),
            many => format!("accounts {}", many.join(", ")),
        };
        bail!(
            "stack {} lives in {wanted} ([stack] account in {}), but these credentials are of \
             account {} ({}): nothing was read or changed\n  \
             help: use the credentials (profile, role) of {wanted}, or the stack file of this \
             account's environment",
            stack.name,
            stack.path.display(),
            identity.account,
            identity.arn
        );
    }
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, FakeCloud};

    fn stack(account: &str) -> Stack {
        testing::stack(&format!(
            "[stack]\nname = \"shop\"\nregions = [\"us-west-2\"]\n{account}\n\
             [vpc.main]\ncidr = \"10.0.0.0/16\"\n"
        ))
    }

    #[tokio::test]
    async fn credentials_of_another_account_are_refused_naming_both() {
        let cloud = FakeCloud::default();
        let refused = check(&cloud, &stack("account = \"111111111111\""))
            .await
            .expect_err("refused");
        let message = refused.to_string();
        assert!(
            message.contains("lives in account 111111111111"),
            "{message}"
        );
        assert!(
            message.contains("account 123456789012 (arn:aws:iam::123456789012:user/test)"),
            "{message}"
        );
        assert_eq!(cloud.state().identities_asked, 1);
        assert!(
            cloud.calls().is_empty(),
            "nothing else: {:?}",
            cloud.calls()
        );
    }

    #[tokio::test]
    async fn one_of_the_stacks_accounts_or_none_named_is_admitted() {
        let cloud = FakeCloud::default();
        let listed = stack("account = [\"111111111111\", \"123456789012\"]");
        let identity = check(&cloud, &listed).await.expect("admitted");
        assert_eq!(identity.account, "123456789012");
        check(&cloud, &stack("")).await.expect("any account");
        let refused = check(
            &cloud,
            &stack("account = [\"111111111111\", \"222222222222\"]"),
        )
        .await
        .expect_err("refused");
        assert!(
            refused
                .to_string()
                .contains("lives in accounts 111111111111, 222222222222"),
            "{refused}"
        );
    }
}
