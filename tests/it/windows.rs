//! `[change_window]`: apply and cutover refused in a freeze or outside the
//! allowed hours before any AWS call, and let through with `--emergency`.

use crate::harness::{reconcile, run_cmd, unique, StackFile};
use crate::verify::service;
use std::net::TcpListener;

/// A freeze around today, whatever today is.
const FROZEN: &str = "\n[change_window]\nfreeze = [{ from = \"2000-01-01\", to = \"2099-12-31\", reason = \"test freeze\" }]\n";

/// Runs `args` against an endpoint that records any connection: refused, no call.
#[track_caller]
fn refused_without_a_call(args: &[&str]) -> String {
    let tripwire = TcpListener::bind("127.0.0.1:0").unwrap();
    tripwire.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", tripwire.local_addr().unwrap());
    let out = run_cmd(reconcile().env("AWS_ENDPOINT_URL", &endpoint).args(args)).expect(1);
    assert!(
        tripwire.accept().is_err(),
        "a refused change makes no AWS call"
    );
    out.stderr
}

#[test]
fn apply_in_a_freeze_is_refused_with_the_rule_and_the_next_opening() {
    let stack = StackFile::new(&format!(
        "[stack]\nname = \"{}\"\nregions = [\"us-west-2\"]\n\n[vpc.main]\ncidr = \"10.0.0.0/16\"\n{FROZEN}",
        unique("frozen")
    ));
    let err = refused_without_a_call(&["apply", stack.arg(), "--auto-approve"]);
    assert!(
        err.contains(
            "apply refused by [change_window]: freeze 2000-01-01 to 2099-12-31 (test freeze)"
        ),
        "{err}"
    );
    assert!(
        err.contains("the next window opens 2100-01-01T00:00:00Z (in ") && err.contains(" days "),
        "{err}"
    );
    assert!(err.contains("--emergency TICKET"), "{err}");
    // A CI variable that was not set is no ticket: refused, for every command.
    for command in [
        vec!["apply", stack.arg(), "--auto-approve"],
        vec!["rollout", stack.arg(), "--auto-approve"],
    ] {
        for blank in ["", "  "] {
            let args: Vec<&str> = command
                .iter()
                .copied()
                .chain(["--emergency", blank])
                .collect();
            let err = refused_without_a_call(&args);
            assert!(
                err.contains("refused: --emergency was given an empty ticket (a CI variable that was not set?)"),
                "{err}"
            );
        }
    }

    let out = run_cmd(reconcile().args([
        "apply",
        stack.arg(),
        "--auto-approve",
        "--json",
        "--emergency",
        "INC-7",
    ]))
    .expect(0);
    assert!(
        out.stderr
            .contains("going ahead with emergency ticket INC-7"),
        "{}",
        out.stderr
    );
    assert_eq!(out.json()["emergency"], "INC-7");
    let status = run_cmd(reconcile().args(["status", stack.arg(), "--json"]))
        .expect(0)
        .json();
    assert_eq!(
        status[0]["last_change"]["reconcile:record-ticket"], "INC-7",
        "{status:#}"
    );
    // Out of the freeze, an ordinary change: its record carries no ticket.
    let text = std::fs::read_to_string(&stack.path).unwrap();
    stack.write(&text.replace(FROZEN, "").replace(
        "cidr = \"10.0.0.0/16\"",
        "cidr = \"10.0.0.0/16\"\ntags = { team = \"core\" }",
    ));
    run_cmd(reconcile().args(["apply", stack.arg(), "--auto-approve"])).expect(0);
    let status = run_cmd(reconcile().args(["status", stack.arg(), "--json"]))
        .expect(0)
        .json();
    let last = &status[0]["last_change"];
    assert!(last["reconcile:record-time"].is_string(), "{status:#}");
    assert!(last.get("reconcile:record-ticket").is_none(), "{status:#}");
    let written = std::fs::read_to_string(&stack.path).unwrap();
    stack.write(&format!("{written}{FROZEN}"));
    let err = refused_without_a_call(&["rollout", stack.arg(), "--auto-approve"]);
    assert!(
        err.contains("rollout refused by [change_window]: freeze"),
        "{err}"
    );
    // plan is never blocked.
    run_cmd(reconcile().args(["plan", stack.arg(), "--detailed-exitcode"])).expect(0);
}

#[test]
fn hours_outside_every_allowed_window_refuse_a_cutover() {
    // Allowed only on the day after tomorrow (UTC): never now.
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    // 1970-01-01 was a Thursday.
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][((days + 3 + 2) % 7) as usize];
    let stack = service(
        &unique("closed"),
        &format!("\n[change_window]\nallow = [{{ days = \"{day}\", hours = \"09:00-17:00\" }}]\n"),
    );
    let err = refused_without_a_call(&[
        "cutover",
        stack.arg(),
        "app",
        "--to",
        "green",
        "--auto-approve",
    ]);
    let rule = format!(
        "cutover refused by [change_window]: outside the allowed windows ({day} 09:00-17:00 UTC); the next window opens"
    );
    assert!(err.contains(&rule), "{err}");
}

/// Overnight hours (`20:00-14:00`) are a window running into the next day,
/// belonging to the day it starts. Judged in a zone where it is about noon now.
#[test]
fn overnight_hours_run_into_the_next_day() {
    let hour = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 3600
        % 24) as i64;
    let ahead = 12 - hour; // local = UTC + ahead: about noon
    let zone = match ahead {
        0 => "UTC".to_string(),
        k if k > 0 => format!("Etc/GMT-{k}"),
        k => format!("Etc/GMT+{}", -k),
    };
    let stack = |hours: &str| {
        StackFile::new(&format!(
            "[stack]\nname = \"{}\"\nregions = [\"us-west-2\"]\n\n[vpc.main]\ncidr = \"10.0.0.0/16\"\n\n[change_window]\nallow = [{{ days = \"mon-sun\", hours = \"{hours}\", timezone = \"{zone}\" }}]\n",
            unique("night")
        ))
    };
    // Noon is inside last night's 20:00-14:00, and outside 20:00-11:00.
    let open = stack("20:00-14:00");
    run_cmd(reconcile().args(["apply", open.arg(), "--auto-approve"])).expect(0);
    let closed = stack("20:00-11:00");
    let err = refused_without_a_call(&["apply", closed.arg(), "--auto-approve"]);
    assert!(
        err.contains("apply refused by [change_window]") && err.contains("20:00-11:00"),
        "{err}"
    );
}
