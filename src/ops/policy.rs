//! A plan judged by policies (`crate::policy`): the stack's (`[stack]
//! policies`) and those given with `--policy`, loaded with the stack, before
//! any AWS call. Their input is the plan's JSON form (as `plan --json` prints
//! it) with the run's `context`; their denials are kept on the plan, so that
//! every listing of its refusals (text, markdown, JSON, the refusal itself)
//! carries them, and their warnings join the plan's warnings.

use crate::plan::Plan;
use crate::policy::{Judged, Policies, PolicyFile};
use crate::stack::Stack;
use anyhow::{bail, Result};
use std::path::PathBuf;
use std::time::SystemTime;

/// What a policy may know of the run besides the plan (`input.context`).
pub struct Context<'a> {
    /// `plan`, `apply` or `rollout`.
    pub operation: &'a str,
    /// `--emergency`: the ticket that lets a change through a closed window.
    pub emergency: Option<&'a str>,
    pub now: SystemTime,
}

/// The policies of `stack` and `extra` (`--policy`), parsed; `None` when
/// there are none.
pub fn load(stack: &Stack, extra: &[PathBuf]) -> Result<Option<Policies>> {
    let sources: Vec<PathBuf> = stack.policies.iter().chain(extra).cloned().collect();
    if sources.is_empty() {
        return Ok(None);
    }
    Ok(Some(Policies::load(&sources)?))
}

/// A saved plan is applied only under the policies it passed: each must be
/// given again, unchanged (the same content, wherever the checkout is).
pub fn same_as_saved(policies: Option<&Policies>, saved: &[PolicyFile]) -> Result<()> {
    let loaded = policies.map(Policies::files).unwrap_or_default();
    for file in saved {
        if !loaded.iter().any(|l| l.sha256 == file.sha256) {
            bail!(
                "policy {} is not what the saved plan passed (changed since, or not given): \
                 make the plan again; nothing was applied",
                file.path.display()
            );
        }
    }
    Ok(())
}

/// Judges `plan`: its denials are kept on it (refusing it), its warnings
/// added to the plan's.
pub fn judge(
    policies: Option<&Policies>,
    plan: &mut Plan,
    stack: &Stack,
    context: &Context,
) -> Result<()> {
    let Some(policies) = policies else {
        return Ok(());
    };
    let verdict = policies.evaluate(&input(plan, stack, context)?)?;
    plan.warnings
        .extend(verdict.warnings.iter().map(|w| format!("policy: {w}")));
    plan.policy = Some(Judged {
        files: policies.files().to_vec(),
        denials: verdict.denials,
    });
    Ok(())
}

/// The plan's JSON form, its summary and refusals (as `plan --json` prints
/// them) and `context`: what the stack is (`stack_file`, `stack_tags`), which
/// command runs, whether its change window is open, the emergency ticket.
fn input(plan: &Plan, stack: &Stack, context: &Context) -> Result<serde_json::Value> {
    let mut input = serde_json::to_value(plan)?;
    input["summary"] = serde_json::to_value(plan.summary())?;
    input["refusals"] = serde_json::to_value(plan.refusals())?;
    input["context"] = serde_json::json!({
        "operation": context.operation,
        "stack_file": stack.path,
        "stack_tags": stack.tags,
        "change_window_open": stack.change_window.judge(context.now).is_none(),
        "emergency": context.emergency,
    });
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, applied};
    use std::collections::BTreeMap;
    use std::path::Path;

    /// The policies shipped in `examples/policy`.
    fn shipped() -> Policies {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policy");
        Policies::load(&[dir]).expect("the shipped policies parse")
    }

    const REGION: &str = "us-west-2";

    fn stack(name: &str, tags: &str, blocks: &str, window: &str) -> Stack {
        testing::stack(&format!(
            "[stack]\nname = \"{name}\"\nregions = [\"{REGION}\"]\ntags = {{ {tags} }}\n\n\
             [vpc.main]\ncidr = \"10.0.0.0/16\"\n\n{blocks}\n{window}"
        ))
    }

    /// `stack` planned against `live` (nothing when `None`), then judged as
    /// `operation` would judge it.
    fn judged(
        stack: &Stack,
        live: Option<&Stack>,
        operation: &str,
        emergency: Option<&str>,
    ) -> Plan {
        let live = BTreeMap::from([(
            REGION.to_string(),
            live.map(|l| applied(l, REGION)).unwrap_or_default(),
        )]);
        let mut plan = crate::plan::build(stack, &[REGION.to_string()], &live);
        let context = Context {
            operation,
            emergency,
            now: testing::clock().now(),
        };
        judge(Some(&shipped()), &mut plan, stack, &context).unwrap();
        plan
    }

    const OWNED: &str = "owner = \"ana\", team = \"shop\"";
    const SSH: &str = "[security_group.admin]\nvpc = \"vpc.main\"\ndescription = \"admin\"\n\
                       ingress = [{ protocol = \"tcp\", port = 22, cidr = \"0.0.0.0/0\" }]\n";
    const HTTPS: &str = "[security_group.web]\nvpc = \"vpc.main\"\ndescription = \"web\"\n\
                         ingress = [{ protocol = \"tcp\", port = 443, cidr = \"0.0.0.0/0\" }]\n";

    fn denials(plan: &Plan) -> Vec<String> {
        plan.policy.as_ref().expect("judged").denials.clone()
    }

    use crate::ops::clock::Clock;

    #[test]
    fn a_clean_plan_passes_every_shipped_policy() {
        let plan = judged(&stack("shop", OWNED, HTTPS, ""), None, "plan", None);
        assert_eq!(denials(&plan), Vec::<String>::new());
        assert!(plan.refusals().is_empty());
        let files = &plan.policy.as_ref().unwrap().files;
        assert_eq!(files.len(), 4, "{files:?}");
    }

    #[test]
    fn ssh_or_rdp_open_to_the_world_is_refused() {
        let plan = judged(&stack("shop", OWNED, SSH, ""), None, "plan", None);
        assert_eq!(
            denials(&plan),
            [
                "security_group.admin in us-west-2 opens port 22 to 0.0.0.0/0: reach it through \
              SSM, a bastion or a VPN instead"
            ]
        );
        assert!(plan.refusals()[0].starts_with("policy: security_group.admin"));
        // A range that covers RDP, and every protocol (both ports), are as open.
        for (rule, ports) in [
            (
                "{ protocol = \"tcp\", from_port = 3000, to_port = 4000, cidr = \"0.0.0.0/0\" }",
                1,
            ),
            ("{ protocol = \"all\", cidr = \"0.0.0.0/0\" }", 2),
        ] {
            let open = format!(
                "[security_group.admin]\nvpc = \"vpc.main\"\ndescription = \"admin\"\ningress = [{rule}]\n"
            );
            let plan = judged(&stack("shop", OWNED, &open, ""), None, "plan", None);
            assert_eq!(denials(&plan).len(), ports, "{rule}: {:?}", denials(&plan));
        }
    }

    #[test]
    fn a_resource_without_owner_and_team_is_refused() {
        let plan = judged(
            &stack("shop", "team = \"shop\"", "", ""),
            None,
            "plan",
            None,
        );
        assert_eq!(
            denials(&plan),
            ["vpc.main in us-west-2 has no `owner` tag: add it to the block or to [stack] tags"]
        );
    }

    #[test]
    fn a_production_database_is_never_deleted_or_replaced() {
        let db = format!(
            "[subnet.a]\nvpc = \"vpc.main\"\ncidr = \"10.0.1.0/24\"\nzone = \"a\"\n\n{}",
            testing::DATABASE
        );
        let before = stack("shop-prod", OWNED, &db, "");
        let without = stack(
            "shop-prod",
            OWNED,
            &db[..db.find("[db_instance").unwrap()],
            "",
        );
        let plan = judged(&without, Some(&before), "apply", None);
        assert_eq!(
            denials(&plan),
            [
                "db_instance.main in us-west-2 would be deleted in production stack shop-prod: \
              databases are not deleted or replaced by a deploy"
            ]
        );
        // The same in a stack that is not production passes.
        let staging = |s: &Stack| Stack {
            name: "shop-staging".into(),
            ..s.clone()
        };
        let plan = judged(&staging(&without), Some(&staging(&before)), "apply", None);
        assert_eq!(denials(&plan), Vec::<String>::new());
    }

    #[test]
    fn production_security_groups_change_in_the_window_or_with_an_emergency_ticket() {
        // The test clock's day, 2027-01-15 08:00 UTC, is outside this window.
        let closed = "[change_window]\nallow = [{ days = \"sat\", hours = \"09:00-10:00\", timezone = \"UTC\" }]\n";
        let prod = stack("shop-prod", OWNED, HTTPS, closed);
        let planned = judged(&prod, None, "plan", None);
        assert_eq!(
            denials(&planned),
            Vec::<String>::new(),
            "a plan is only warned"
        );
        assert!(
            planned.warnings.iter().any(|w| w.starts_with(
                "policy: security_group.web in us-west-2 changes outside the change window"
            )),
            "{:?}",
            planned.warnings
        );
        let applied = judged(&prod, None, "apply", None);
        assert_eq!(
            denials(&applied),
            [
                "security_group.web in us-west-2 changes outside the change window: wait for it, \
              or pass --emergency TICKET"
            ]
        );
        assert_eq!(
            denials(&judged(&prod, None, "apply", Some("INC-7"))),
            Vec::<String>::new()
        );
        let open = stack("shop-prod", OWNED, HTTPS, "");
        assert_eq!(
            denials(&judged(&open, None, "rollout", None)),
            Vec::<String>::new()
        );
    }
}
