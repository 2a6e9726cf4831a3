//! Human rendering of a plan: a pure function of the plan, in the shape a
//! Terraform user reads at a glance.

use super::{Action, Adoption, AttrChange, Plan, ResourceChange};
use crate::model::{ReplaceOrder, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn green(self, t: &str) -> String {
        self.paint("32", t)
    }
    fn yellow(self, t: &str) -> String {
        self.paint("33", t)
    }
    fn red(self, t: &str) -> String {
        self.paint("31", t)
    }
    fn bold(self, t: &str) -> String {
        self.paint("1", t)
    }
}

/// Terraform's signs: `+/-` creates the replacement before deleting, `-/+` deletes first.
fn symbol(c: &ResourceChange, style: Style) -> String {
    if c.adoption == Some(Adoption::Import) {
        return style.green("=");
    }
    match c.action {
        Action::Create => style.green("+"),
        Action::Update => style.yellow("~"),
        Action::Replace if c.replace_order() == ReplaceOrder::CreateFirst => style.red("+/-"),
        Action::Replace => style.red("-/+"),
        Action::Delete => style.red("-"),
        Action::NoOp => " ".into(),
    }
}

pub fn render(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    // The account the plan read, and as whom, on its first line.
    let account = plan.account.as_ref().map_or(String::new(), |a| {
        format!(" of account {} (read as {})", style.bold(&a.account), a.arn)
    });
    if !plan.has_changes() {
        let _ = writeln!(
            out,
            "No changes. Live resources in {}{account} match the stack file ({} resources).",
            plan.regions.join(", "),
            plan.changes.len()
        );
        warnings(&mut out, plan, style);
        return out;
    }
    let _ = writeln!(
        out,
        "reconcile will perform the following actions on stack {}{account}:",
        style.bold(&plan.stack)
    );
    for region in &plan.regions {
        let changes: Vec<&ResourceChange> = plan
            .changes
            .iter()
            .filter(|c| &c.region == region && c.action != Action::NoOp)
            .collect();
        if changes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{}", style.bold(region));
        for c in changes {
            resource(&mut out, c, style);
        }
    }
    let _ = writeln!(out, "\n{} {}.", style.bold("Plan:"), counts(plan));
    warnings(&mut out, plan, style);
    out
}

/// `1 to add, 0 to change, 1 to replace, 0 to destroy`.
fn counts(plan: &Plan) -> String {
    let s = plan.summary();
    let mut counts = format!(
        "{} to add, {} to change, {} to replace, {} to destroy",
        s.create, s.update, s.replace, s.delete
    );
    for (n, what) in [
        (s.import, "to import"),
        (s.adopt, "to adopt"),
        (s.forget, "to forget"),
    ] {
        if n > 0 {
            counts.push_str(&format!(", {n} {what}"));
        }
    }
    counts
}

/// The longest comment GitHub takes on a pull request, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// The plan as markdown (the step summary, `plan --markdown`), never longer
/// than `limit` characters however large the plan: refusals and replacements
/// first, then the counts and `picture` (a Mermaid flowchart, `graph`: at
/// most 50 nodes), then as much of the plan as fits, then a line saying
/// what was left out and that the whole plan is in the job's log.
pub fn markdown(plan: &Plan, picture: Option<&str>, limit: usize) -> String {
    let mut head = format!("### reconcile plan: `{}`\n\n", plan.stack);
    if let Some(a) = &plan.account {
        let _ = writeln!(head, "Account `{}` (read as `{}`).\n", a.account, a.arn);
    }
    let mut tail = String::new();
    for w in plan.pending.iter().chain(&plan.warnings) {
        let _ = writeln!(tail, "\n> {w}");
    }
    tail.push('\n');
    if !plan.has_changes() && plan.refusals().is_empty() {
        let _ = writeln!(
            head,
            "No changes: live resources in {} match the stack file.",
            plan.regions.join(", ")
        );
        return fit(head, &[], "", tail, limit);
    }
    let mut first: Vec<String> = plan
        .refusals()
        .iter()
        .map(|r| format!("- :no_entry: **Refused:** {r}\n"))
        .collect();
    for c in &plan.changes {
        let what = match (c.action, c.adoption) {
            (Action::Replace, None) => "Replaced",
            (Action::Delete, None) => "Deleted",
            _ => continue,
        };
        first.push(format!(
            "- :warning: **{what}:** `{}` in {}{}\n",
            c.address,
            c.region,
            remarks(c)
        ));
    }
    let mut counts = format!("\n**Plan:** {}.\n", counts(plan));
    if let Some(picture) = picture {
        let _ = write!(counts, "\n```mermaid\n{picture}```\n");
    }
    let text = render(plan, Style { color: false });
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // The list first, as much of it as fits beside the counts; the plan with
    // what room is left.
    let listed = fit(
        head,
        &first,
        &counts,
        String::new(),
        limit.saturating_sub(tail.chars().count() + 200),
    );
    let room = limit.saturating_sub(listed.chars().count() + tail.chars().count());
    listed + &details(&lines, room) + &tail
}

/// `head`, as many `items` as fit, then `after` and `tail`, within `limit`;
/// what was left out is said.
fn fit(head: String, items: &[String], after: &str, tail: String, limit: usize) -> String {
    let mut out = head;
    let reserve = after.chars().count() + tail.chars().count() + 120;
    let mut used = out.chars().count();
    for (i, item) in items.iter().enumerate() {
        let n = item.chars().count();
        if used + n + reserve > limit {
            let _ = writeln!(
                out,
                "- … and {} more, left out to fit a comment: the job's log has them all",
                items.len() - i
            );
            break;
        }
        out.push_str(item);
        used += n;
    }
    out.push_str(after);
    out + &tail
}

/// The whole plan folded under a summary, cut at a line to fit `room`.
fn details(lines: &[&str], room: usize) -> String {
    const OPEN: &str = "\n<details><summary>The whole plan</summary>\n\n```\n";
    const CLOSE: &str = "```\n\n</details>\n";
    let frame = OPEN.len() + CLOSE.len() + 160;
    let mut body = String::new();
    let mut used = 0;
    let mut shown = 0;
    for line in lines {
        let n = line.chars().count();
        if used + n + frame > room {
            break;
        }
        body.push_str(line);
        used += n;
        shown += 1;
    }
    if shown == lines.len() {
        return format!("{OPEN}{body}{CLOSE}");
    }
    if shown == 0 && room < frame {
        return String::new();
    }
    format!(
        "{OPEN}{body}```\n\n*{} more lines of the plan are left out to fit a comment \
         (65,536 characters): the whole plan is in the job's log.*\n\n</details>\n",
        lines.len() - shown
    )
}

fn warnings(out: &mut String, plan: &Plan, style: Style) {
    for p in &plan.pending {
        let _ = writeln!(out, "\n{} {p}", style.bold("Pending:"));
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "\n{} {w}", style.bold("Warning:"));
    }
}

fn resource(out: &mut String, c: &ResourceChange, style: Style) {
    let id = c
        .live_id
        .as_ref()
        .map(|id| format!(" ({id})"))
        .unwrap_or_default();
    let verb = match (c.action, c.adoption) {
        (Action::NoOp, _) => return,
        (_, Some(Adoption::Adopt)) => "will be adopted",
        (_, Some(Adoption::Import)) => "will be imported",
        (_, Some(Adoption::Forget)) => "will be forgotten, left in place",
        (Action::Create, None) => "will be created",
        (Action::Update, None) => "will be updated in place",
        (Action::Replace, None) => "must be replaced",
        (Action::Delete, None) => "will be deleted",
    };
    let _ = writeln!(
        out,
        "  {} {}{id} {verb}{}",
        symbol(c, style),
        style.bold(&c.address.to_string()),
        remarks(c)
    );
    let width = c.attributes.iter().map(|a| a.name.len()).max().unwrap_or(0);
    for a in &c.attributes {
        attribute(out, a, width, style);
    }
}

/// ` (why) [protected]`, as far as they apply.
fn remarks(c: &ResourceChange) -> String {
    let reason = c
        .reason
        .as_ref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    let protected = if c.protected { " [protected]" } else { "" };
    format!("{reason}{protected}")
}

fn attribute(out: &mut String, a: &AttrChange, width: usize, style: Style) {
    let note = match (a.forces_replacement, a.note) {
        (true, _) => style.red(" # forces replacement"),
        (false, Some(note)) => style.yellow(&format!(" # {note}")),
        (false, None) => String::new(),
    };
    let name = &a.name;
    match (&a.before, &a.after) {
        (None, Some(after)) => whole(out, &style.green("+"), name, width, after, &note),
        (Some(before), None) => whole(out, &style.red("-"), name, width, before, &note),
        (Some(Value::List(before)), Some(Value::List(after))) => {
            let _ = writeln!(out, "      {} {name}:{note}", style.yellow("~"));
            for v in after.iter().filter(|v| !before.contains(v)) {
                let _ = writeln!(out, "          {} {v}", style.green("+"));
            }
            for v in before.iter().filter(|v| !after.contains(v)) {
                let _ = writeln!(out, "          {} {v}", style.red("-"));
            }
        }
        (Some(Value::Map(before)), Some(Value::Map(after))) => {
            let _ = writeln!(out, "      {} {name}:{note}", style.yellow("~"));
            map_entries(out, before, after, style);
        }
        (Some(before), Some(after)) => {
            let _ = writeln!(
                out,
                "      {} {name:width$} = {before} → {after}{note}",
                style.yellow("~")
            );
        }
        (None, None) => {}
    }
}

/// An attribute added or removed as a whole; a list of several tables goes one item a line.
fn whole(out: &mut String, sign: &str, name: &str, width: usize, value: &Value, note: &str) {
    match value {
        Value::List(items)
            if items.len() > 1 && items.iter().any(|v| matches!(v, Value::Map(_))) =>
        {
            let _ = writeln!(out, "      {sign} {name:width$} = [{note}");
            for v in items {
                let _ = writeln!(out, "          {v},");
            }
            let _ = writeln!(out, "        ]");
        }
        _ => {
            let _ = writeln!(out, "      {sign} {name:width$} = {value}{note}");
        }
    }
}

fn map_entries(
    out: &mut String,
    before: &BTreeMap<String, Value>,
    after: &BTreeMap<String, Value>,
    style: Style,
) {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        match (before.get(k), after.get(k)) {
            (None, Some(v)) => {
                let _ = writeln!(out, "          {} {k} = {v}", style.green("+"));
            }
            (Some(v), None) => {
                let _ = writeln!(out, "          {} {k} = {v}", style.red("-"));
            }
            (Some(b), Some(a)) if b != a || a.is_unknown() => {
                let _ = writeln!(out, "          {} {k} = {b} → {a}", style.yellow("~"));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Kind};

    fn change(
        region: &str,
        address: Address,
        action: Action,
        attributes: Vec<AttrChange>,
    ) -> ResourceChange {
        ResourceChange {
            region: region.into(),
            address,
            action,
            live_id: (action != Action::Create).then(|| "vpc-0abc".to_string()),
            attributes,
            reason: None,
            protected: false,
            adoption: None,
            blocked: None,
            delete_first: false,
            instance_batch: None,
        }
    }

    fn attr(name: &str, before: Option<Value>, after: Option<Value>, forces: bool) -> AttrChange {
        AttrChange {
            name: name.into(),
            before,
            after,
            forces_replacement: forces,
            note: None,
        }
    }

    fn rule(port: &str) -> Value {
        Value::map([
            ("cidr", Value::str("0.0.0.0/0")),
            ("ports", Value::str(port)),
            ("protocol", Value::str("tcp")),
        ])
    }

    /// A plan with every action: create, update, replace, no-op, delete.
    fn every_action() -> Plan {
        let vpc = Address::new(Kind::Vpc, "main");
        let mut prune = change(
            "us-east-1",
            Address::new(Kind::Subnet, "old"),
            Action::Delete,
            vec![],
        );
        prune.reason = Some("not in the stack file".into());
        Plan {
            warnings: vec![],
            pending: vec![],
            policy: None,
            account: None,
            format_version: 1,
            stack: "demo".into(),
            regions: vec!["us-west-2".into(), "us-east-1".into()],
            changes: vec![
                change(
                    "us-west-2",
                    vpc.clone(),
                    Action::Create,
                    vec![
                        attr("cidr", None, Some(Value::str("10.0.0.0/16")), false),
                        attr(
                            "ingress",
                            None,
                            Some(Value::List(vec![rule("443"), rule("80")])),
                            false,
                        ),
                        attr(
                            "tags",
                            None,
                            Some(Value::map([("Name", Value::str("demo-main"))])),
                            false,
                        ),
                    ],
                ),
                change(
                    "us-west-2",
                    Address::new(Kind::SecurityGroup, "web"),
                    Action::Update,
                    vec![
                        attr(
                            "ingress",
                            Some(Value::List(vec![rule("22")])),
                            Some(Value::List(vec![rule("443")])),
                            false,
                        ),
                        attr(
                            "tags",
                            Some(Value::map([
                                ("team", Value::str("a")),
                                ("gone", Value::str("x")),
                            ])),
                            Some(Value::map([("team", Value::str("b"))])),
                            false,
                        ),
                    ],
                ),
                change(
                    "us-east-1",
                    Address::new(Kind::Subnet, "a"),
                    Action::Replace,
                    vec![
                        attr(
                            "vpc",
                            Some(Value::Ref(vpc.clone())),
                            Some(Value::Unknown),
                            true,
                        ),
                        attr(
                            "zone",
                            Some(Value::str("us-east-1a")),
                            Some(Value::str("us-east-1b")),
                            true,
                        ),
                    ],
                ),
                change("us-east-1", vpc, Action::NoOp, vec![]),
                prune,
            ],
        }
    }

    #[test]
    fn the_header_names_the_account_the_plan_read() {
        let mut plan = every_action();
        plan.account = Some(crate::model::Identity {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:role/plan".into(),
        });
        let text = render(&plan, Style { color: false });
        assert!(
            text.starts_with(
                "reconcile will perform the following actions on stack demo of account \
                 123456789012 (read as arn:aws:iam::123456789012:role/plan):\n"
            ),
            "{text}"
        );
        let md = markdown(&plan, None, COMMENT_LIMIT);
        assert!(
            md.contains("Account `123456789012` (read as `arn:aws:iam::123456789012:role/plan`)."),
            "{md}"
        );
    }

    #[test]
    fn renders_every_action() {
        insta::assert_snapshot!(render(&every_action(), Style { color: false }));
    }

    #[test]
    fn the_step_summary_puts_replacements_and_refusals_first() {
        let mut plan = every_action();
        plan.changes[2].protected = true;
        let md = markdown(&plan, None, COMMENT_LIMIT);
        let first = |needle: &str| {
            md.find(needle)
                .unwrap_or_else(|| panic!("{needle} in {md}"))
        };
        assert!(first("**Refused:**") < first("**Replaced:** `subnet.a` in us-east-1"));
        assert!(
            first("**Deleted:** `subnet.old` in us-east-1 (not in the stack file)")
                < first("**Plan:** 1 to add, 1 to change, 1 to replace, 1 to destroy.")
        );
        assert!(first("**Plan:**") < first("<details>"));
        // The whole plan, as the terminal shows it, folded below.
        assert!(md.contains(&render(&plan, Style { color: false })));
        insta::assert_snapshot!(md);
    }

    #[test]
    fn an_empty_plan_says_so() {
        let plan = Plan {
            warnings: vec![],
            pending: vec![],
            policy: None,
            account: None,
            format_version: 1,
            stack: "demo".into(),
            regions: vec!["us-west-2".into()],
            changes: vec![change(
                "us-west-2",
                Address::new(Kind::Vpc, "main"),
                Action::NoOp,
                vec![],
            )],
        };
        assert_eq!(
            render(&plan, Style { color: false }),
            "No changes. Live resources in us-west-2 match the stack file (1 resources).\n"
        );
        assert_eq!(
            markdown(&plan, None, COMMENT_LIMIT),
            "### reconcile plan: `demo`\n\nNo changes: live resources in us-west-2 match the stack file.\n\n"
        );
    }

    /// A plan of 3,000 creates and as many protected deletes: far over a
    /// comment. The markdown keeps to GitHub's limit, the refusals first,
    /// then the counts, then the plan cut at a line, and says what it left out.
    #[test]
    fn the_markdown_of_a_3000_resource_plan_fits_in_a_comment() {
        let mut plan = every_action();
        plan.changes.clear();
        for i in 0..3000 {
            let mut create = change(
                "us-east-1",
                Address::new(Kind::SecurityGroup, format!("g{i}")),
                Action::Create,
                vec![],
            );
            create.attributes = vec![AttrChange {
                name: "description".into(),
                before: None,
                after: Some(Value::str("a group among many, described at some length")),
                forces_replacement: false,
                note: None,
            }];
            plan.changes.push(create);
            let mut gone = change(
                "us-east-1",
                Address::new(Kind::DbInstance, format!("db{i}")),
                Action::Delete,
                vec![],
            );
            gone.protected = true;
            plan.changes.push(gone);
        }
        // A picture of 50 nodes, as `graph` draws at most.
        let picture: String = std::iter::once("flowchart LR\n".to_string())
            .chain(
                (0..50).map(|n| format!("  n{n}[\"- db_instance.db{n} (protected)\"]:::delete\n")),
            )
            .collect();
        let md = markdown(&plan, Some(&picture), COMMENT_LIMIT);
        assert!(
            md.contains(&format!("\n```mermaid\n{picture}```\n")),
            "the picture, whole"
        );
        assert!(
            md.chars().count() <= COMMENT_LIMIT,
            "{}",
            md.chars().count()
        );
        assert!(
            md.chars().count() > COMMENT_LIMIT - 2_000,
            "the room is used"
        );
        let at = |needle: &str| md.find(needle).unwrap_or_else(|| panic!("{needle}"));
        assert!(
            at("**Refused:** db_instance.db0 in us-east-1") < at("more, left out to fit a comment")
        );
        assert!(
            at("more, left out to fit a comment")
                < at("**Plan:** 3000 to add, 0 to change, 0 to replace, 3000 to destroy.")
        );
        assert!(at("**Plan:**") < at("```mermaid") && at("```mermaid") < at("<details>"));
        assert!(md.contains("more lines of the plan are left out to fit a comment"));
        assert!(
            md.trim_end().ends_with("</details>"),
            "closed: {}",
            &md[md.len() - 300..]
        );
        // Small plans are whole.
        assert!(!markdown(&every_action(), None, COMMENT_LIMIT).contains("left out"));
    }
}
