//! What a change works from: a stack file or a saved plan, under the
//! saved-plan and `[stack] approval` rules.

use super::{plan, policy};
use crate::stack::Stack;
use anyhow::{bail, Context, Result};

/// A command that changes a stack, and may do so from a saved plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changing {
    Apply,
    Rollout,
}

impl Changing {
    fn command(self) -> &'static str {
        match self {
            Changing::Apply => "apply",
            Changing::Rollout => "rollout",
        }
    }
}

/// What a change works from: the stack, the saved plan it must match (if
/// any), and the regions it changes (empty: all of the stack's).
pub struct Subject {
    pub stack: Stack,
    pub saved: Option<plan::SavedPlan>,
    pub regions: Vec<String>,
    /// The stack's policies and `--policy` ones, parsed (`policy::load`).
    pub policies: Option<crate::policy::Policies>,
}

/// The rules of saved plans and of `[stack] approval`, for every command that
/// changes a stack, judged before any AWS call: a saved plan is loaded from
/// the texts it carries; `--region` cannot narrow it; a rollout needs a plan
/// of every region, and a stack file named beside it must be its stack; a
/// `saved-plan` stack is changed only from a saved plan (or an interactive
/// `apply`).
pub fn subject(
    command: Changing,
    stack_file: Option<&std::path::Path>,
    saved_plan: Option<&std::path::Path>,
    regions: &[String],
    auto_approve: bool,
    policy: &[std::path::PathBuf],
    vars: &crate::stack::vars::Overrides,
) -> Result<Subject> {
    let saved = saved_plan.map(plan::SavedPlan::read).transpose()?;
    if saved.is_some() && !vars.is_empty() {
        bail!(
            "--var cannot change a saved plan: it is applied with the values it was made with; \
             make a new plan with --var instead"
        );
    }
    let subject = match saved {
        None => {
            let path = stack_file.context("a stack file or a saved plan is needed")?;
            let stack = crate::stack::load_with(path, vars)?;
            Subject {
                policies: policy::load(&stack, policy)?,
                stack,
                saved: None,
                regions: regions.to_vec(),
            }
        }
        Some(saved) => {
            let stack = saved.stack()?;
            if let Some(given) = stack_file {
                let named = crate::stack::load(given)?;
                if named.name != stack.name {
                    bail!(
                        "{} is a plan of stack `{}`, not of {} (stack `{}`)",
                        saved_plan.unwrap_or(given).display(),
                        stack.name,
                        given.display(),
                        named.name
                    );
                }
            }
            if !regions.is_empty() {
                bail!(
                    "--region cannot narrow a saved plan; it covers {}",
                    saved.regions.join(", ")
                )
            }
            if command == Changing::Rollout && saved.regions != stack.regions {
                bail!(
                    "the saved plan covers {}; a rollout needs a plan of every region of the stack ({}): make it without --region",
                    saved.regions.join(", "),
                    stack.regions.join(", ")
                );
            }
            let policies = policy::load(&stack, policy)?;
            policy::same_as_saved(policies.as_ref(), &saved.policies)?;
            Subject {
                regions: saved.regions.clone(),
                policies,
                stack,
                saved: Some(saved),
            }
        }
    };
    let approved = Approved::of(subject.saved.is_some(), auto_approve);
    approve(&subject.stack, command, approved)?;
    Ok(subject)
}

/// How a change was approved, for `[stack] approval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Approved {
    /// From a plan saved by `plan --out` (reviewed when it was made).
    SavedPlan,
    /// Whoever runs it answers yes at the prompt.
    Prompt,
    /// `--auto-approve` of the stack file.
    Auto,
}

impl Approved {
    fn of(saved_plan: bool, auto_approve: bool) -> Approved {
        match (saved_plan, auto_approve) {
            (true, _) => Approved::SavedPlan,
            (false, true) => Approved::Auto,
            (false, false) => Approved::Prompt,
        }
    }
}

/// `[stack] approval = "saved-plan"`: the stack changes only from a reviewed
/// saved plan (or, for `apply`, an interactive yes). Refused before any AWS call.
fn approve(stack: &Stack, changing: Changing, approved: Approved) -> Result<()> {
    let command = changing.command();
    use crate::stack::spec::Approval;
    let refused = match (stack.approval, approved) {
        (Approval::Any, _) | (_, Approved::SavedPlan) => false,
        (Approval::SavedPlan, Approved::Auto) => true,
        // A rollout of a saved-plan stack has no prompt to stand in for the review.
        (Approval::SavedPlan, Approved::Prompt) => changing == Changing::Rollout,
    };
    if refused {
        let path = stack.path.display();
        let then = if changing == Changing::Rollout {
            "reconcile rollout --plan plan.json"
        } else {
            "reconcile apply plan.json"
        };
        bail!(
            "{path} says `approval = \"saved-plan\"`: `{command}` changes it only from a reviewed saved plan\n  \
             1. reconcile plan {path} --out plan.json   (review it: in CI, on the pull request)\n  \
             2. {then}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::{self, DEMO};

    #[test]
    fn a_saved_plan_stack_is_changed_only_from_a_saved_plan_or_an_interactive_apply() {
        let any = testing::stack(DEMO);
        let saved_only =
            testing::stack(&DEMO.replace("version = ", "approval = \"saved-plan\"\nversion = "));
        for (auto, command) in [
            (true, Changing::Apply),
            (true, Changing::Rollout),
            (false, Changing::Rollout),
        ] {
            let approved = Approved::of(false, auto);
            assert!(approve(&any, command, approved).is_ok());
            let refused = approve(&saved_only, command, approved)
                .unwrap_err()
                .to_string();
            assert!(
                refused.contains("reconcile plan test.toml --out plan.json"),
                "{refused}"
            );
        }
        assert!(
            approve(&saved_only, Changing::Apply, Approved::of(false, false)).is_ok(),
            "a person says yes"
        );
        for command in [Changing::Apply, Changing::Rollout] {
            assert!(approve(&saved_only, command, Approved::of(true, true)).is_ok());
        }
    }
}
