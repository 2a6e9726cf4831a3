//! The account guard: a stack names the account it lives in, and the
//! credentials of another are refused before anything else is asked.

use crate::harness::*;
use crate::proxy::Proxy;

#[tokio::test]
async fn a_stack_of_another_account_is_refused_after_one_call_naming_both() {
    let name = unique("acct");
    let region = "us-west-2";
    // Whose credentials the emulator sees: the plan's header says it.
    let plan = StackFile::new(&vpc_stack(&name, region, "")).plan_json();
    let account = plan["account"]["account"]
        .as_str()
        .expect("an account")
        .to_string();
    let arn = plan["account"]["arn"].as_str().expect("an ARN").to_string();
    assert_eq!(account.len(), 12, "{plan}");

    let other = if account == "111111111111" {
        "222222222222"
    } else {
        "111111111111"
    };
    let text = |id: &str| {
        vpc_stack(&name, region, "").replacen(
            "\n\n[vpc.main]",
            &format!("\naccount = \"{id}\"\n\n[vpc.main]"),
            1,
        )
    };
    let elsewhere = StackFile::new(&text(other));
    let proxy = Proxy::start(endpoint(), 35);
    let out = run_cmd(proxy.via().args(["plan", elsewhere.arg()])).expect(1);
    let seen: Vec<String> = proxy
        .seen()
        .iter()
        .map(|s| format!("{}.{}", s.service, s.operation))
        .collect();
    assert_eq!(seen, ["sts.GetCallerIdentity"], "one call, nothing read");
    assert!(
        out.stderr.contains(&format!("lives in account {other}"))
            && out.stderr.contains(&format!("account {account} ({arn})")),
        "{}",
        out.stderr
    );
    // Nothing changes either: apply is refused the same way, before its lock.
    let proxy = Proxy::start(endpoint(), 36);
    run_cmd(
        proxy
            .via()
            .args(["apply", elsewhere.arg(), "--auto-approve"]),
    )
    .expect(1);
    assert_eq!(proxy.seen().len(), 1);

    let own = StackFile::new(&text(&account));
    let out = run_cmd(reconcile().args(["plan", own.arg()])).expect(0);
    assert!(
        out.stdout.starts_with(&format!(
            "reconcile will perform the following actions on stack {name} of account \
                 {account} (read as {arn}):\n"
        )),
        "{}",
        out.stdout
    );
}
