//! Policies as code: Rego files evaluated against a plan's JSON form with
//! `regorus` (no OPA binary), in Conftest's conventions so that existing
//! policies work: `package main`; `deny` and `violation` rules refuse, `warn`
//! rules are said. A rule's value is a set of messages, or of objects whose
//! `msg` is the message. Rego v0 syntax (`deny[msg] { … }`) and v1 (a file
//! that says `import rego.v1`) are both accepted, as Conftest accepts them.
//!
//! Nothing here knows AWS: the input is whatever JSON the caller builds
//! (`ops::policy`).

use anyhow::{anyhow, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The policy files of a run, parsed.
pub struct Policies {
    files: Vec<PolicyFile>,
    engine: regorus::Engine,
}

/// One `.rego` file, as read.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct PolicyFile {
    pub path: PathBuf,
    /// Its content's SHA-256: a saved plan names the policies it passed by it.
    pub sha256: String,
}

/// What a plan's policies said, kept on the plan (`Plan::policy`): the files
/// it was judged by and the denials that refuse it.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Judged {
    pub files: Vec<PolicyFile>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub denials: Vec<String>,
}

/// What the policies said of one input.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// `deny` and `violation` messages: the input is refused.
    pub denials: Vec<String>,
    /// `warn` messages.
    pub warnings: Vec<String>,
}

/// The Conftest namespace, and the rules read in it.
const NAMESPACE: &str = "main";
const DENY: [&str; 2] = ["deny", "violation"];
const WARN: &str = "warn";

impl Policies {
    /// Every `.rego` file of `sources` (a directory's, in name order, or a
    /// file itself), parsed; a file that does not parse is an error naming
    /// it, its line and column. Test files (`*_test.rego`) are left out, as
    /// Conftest leaves them.
    pub fn load(sources: &[PathBuf]) -> Result<Policies> {
        let mut paths = Vec::new();
        for source in sources {
            if source.is_dir() {
                let mut found: Vec<PathBuf> = std::fs::read_dir(source)
                    .with_context(|| format!("reading policy directory {}", source.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| is_policy(p))
                    .collect();
                if found.is_empty() {
                    return Err(anyhow!(
                        "policy directory {} holds no .rego file",
                        source.display()
                    ));
                }
                found.sort();
                paths.extend(found);
            } else if source.is_file() {
                paths.push(source.clone());
            } else {
                return Err(anyhow!(
                    "policy {}: no such file or directory",
                    source.display()
                ));
            }
        }
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(true);
        let mut files = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading policy {}", path.display()))?;
            engine
                .add_policy(path.display().to_string(), text.clone())
                .map_err(|e| anyhow!("policy {} does not parse: {e}", path.display()))?;
            files.push(PolicyFile {
                sha256: Sha256::digest(text.as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
                path,
            });
        }
        Ok(Policies { files, engine })
    }

    pub fn files(&self) -> &[PolicyFile] {
        &self.files
    }

    /// Evaluates every rule against `input`.
    pub fn evaluate(&self, input: &serde_json::Value) -> Result<Verdict> {
        let mut engine = self.engine.clone();
        engine.set_input(regorus::Value::from_json_str(&input.to_string())?);
        let mut verdict = Verdict::default();
        for rule in DENY {
            verdict.denials.extend(messages(&mut engine, rule)?);
        }
        verdict.denials.sort();
        verdict.warnings = messages(&mut engine, WARN)?;
        Ok(verdict)
    }
}

fn is_policy(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name.ends_with(".rego") && !name.ends_with("_test.rego")
}

/// The messages of rule `data.main.<rule>`: none when no policy defines it.
fn messages(engine: &mut regorus::Engine, rule: &str) -> Result<Vec<String>> {
    let query = format!("data.{NAMESPACE}.{rule}");
    let results = engine
        .eval_query(query.clone(), false)
        .map_err(|e| anyhow!("evaluating {query}: {e}"))?;
    let mut out = Vec::new();
    for result in results.result {
        for expression in result.expressions {
            let json: serde_json::Value = serde_json::from_str(&expression.value.to_json_str()?)?;
            collect(&json, &mut out);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A rule's value as messages: a string, an object's `msg`, or the elements
/// of a set (JSON array) of those.
fn collect(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
        serde_json::Value::Object(o) => match o.get("msg") {
            Some(serde_json::Value::String(s)) => out.push(s.clone()),
            _ => out.push(value.to_string()),
        },
        serde_json::Value::Bool(true) => out.push("denied".into()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<Policies>) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let loaded = Policies::load(&[dir.path().to_path_buf()]);
        (dir, loaded)
    }

    #[test]
    fn deny_violation_and_warn_rules_in_both_syntaxes_are_read_as_conftest_reads_them() {
        let (_dir, loaded) = policies(&[
            (
                "old.rego",
                "package main\n\ndeny[msg] {\n  input.size > 3\n  msg := sprintf(\"too big: %v\", [input.size])\n}\n\nwarn[msg] {\n  input.size > 1\n  msg := \"big\"\n}\n",
            ),
            (
                "new.rego",
                "package main\n\nimport rego.v1\n\nviolation contains {\"msg\": \"no name\", \"details\": {}} if not input.name\n",
            ),
            ("ignored_test.rego", "this is not rego"),
        ]);
        let policies = loaded.unwrap();
        assert_eq!(policies.files().len(), 2, "tests are not policies");
        let verdict = policies.evaluate(&serde_json::json!({"size": 5})).unwrap();
        assert_eq!(verdict.denials, ["no name", "too big: 5"]);
        assert_eq!(verdict.warnings, ["big"]);
        let clean = policies
            .evaluate(&serde_json::json!({"size": 1, "name": "x"}))
            .unwrap();
        assert_eq!(clean, Verdict::default());
    }

    #[test]
    fn a_policy_that_does_not_parse_is_named_with_its_line() {
        let (dir, loaded) =
            policies(&[("bad.rego", "package main\n\ndeny[msg] {\n  input.x ==\n}\n")]);
        let message = format!("{:#}", loaded.err().expect("refused"));
        let file = dir.path().join("bad.rego");
        assert!(
            message.contains(&format!("policy {} does not parse", file.display())),
            "{message}"
        );
        assert!(message.contains("bad.rego:3:11"), "{message}");
    }

    #[test]
    fn an_empty_or_missing_policy_directory_is_an_error() {
        let (_dir, loaded) = policies(&[]);
        assert!(format!("{:#}", loaded.err().unwrap()).contains("holds no .rego file"));
        let missing = Policies::load(&[PathBuf::from("/nonexistent/policies")]);
        assert!(format!("{:#}", missing.err().unwrap()).contains("no such file or directory"));
    }
}
