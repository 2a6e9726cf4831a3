//! The stack file's JSON Schema (`schema/stack.schema.json`), generated from
//! its serde types, which the registry (`model::kinds`) gives a
//! `[kind.name]` table for every kind: what an editor with taplo (Even Better
//! TOML) completes and checks while a stack file is written. A unit test
//! holds the file current and checks every shipped stack file against it.
//!
//! It checks names and types, not presence: a file that `extends` another
//! gives only what it changes, so no key is required here (`plan` and
//! `validate` say what is missing, with the file and line).

use super::spec::RawStack;
use serde_json::{json, Value};

/// The schema, with the keys read before the rest (`[stack] extends`,
/// `[vars]`), and every `required` list left out.
pub fn generate() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(RawStack)).expect("a schema is JSON");
    drop_required(&mut schema);
    allow_vars(&mut schema);
    schema["title"] = json!("reconcile stack file");
    schema["description"] = json!(
        "A reconcile stack file: `[stack]`, then `[KIND.NAME]` blocks (a reference is \
         \"kind.name\"), `[blue_green.NAME]`, `[[verify]]`, `[change_window]`, `[rollout]`, \
         `[vars]`, `[[moved]]`. Generated from reconcile's types: see docs/kinds.md."
    );
    schema["properties"]["vars"] = json!({
        "type": "object",
        "description": "Variables: `NAME = default`, read as `${var.NAME}` anywhere and set by `--var NAME=VALUE`.",
        "additionalProperties": { "type": ["string", "integer", "number", "boolean", "array", "object"] },
        "examples": [{ "green_ami": "ami-0123456789abcdef0" }]
    });
    let header = schema["$defs"]["StackHeader"]["properties"]
        .as_object_mut()
        .expect("[stack] has properties");
    header.insert(
        "extends".into(),
        json!({
            "type": "string",
            "description": "A stack file this one extends (relative to this file): tables merge key by key, this file wins.",
            "examples": ["base.toml"]
        }),
    );
    schema
}

/// A number or boolean may be written `"${var.NAME}"` (the variable's
/// value, typed): every such schema also takes that string.
fn allow_vars(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.values_mut().for_each(allow_vars);
            let types: Vec<&str> = match map.get("type") {
                Some(Value::String(t)) => vec![t.as_str()],
                Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
                _ => return,
            };
            let typed = types
                .iter()
                .any(|t| ["integer", "number", "boolean"].contains(t));
            if typed && !types.contains(&"string") {
                let description = map.remove("description");
                let own = Value::Object(std::mem::take(map));
                map.insert(
                    "anyOf".into(),
                    json!([own, { "type": "string", "pattern": "^\\$\\{var\\.[A-Za-z_][A-Za-z0-9_]*\\}$" }]),
                );
                if let Some(d) = description {
                    map.insert("description".into(), d);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(allow_vars),
        _ => {}
    }
}

/// Leaves presence to the loader: an environment's file gives only what it
/// changes of its base.
fn drop_required(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("required");
            map.values_mut().for_each(drop_required);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_required),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    /// `schema/stack.schema.json` is what the types make.
    #[test]
    fn the_stack_schema_is_current() {
        let path = root().join("schema/stack.schema.json");
        let wanted = serde_json::to_string_pretty(&generate()).expect("JSON") + "\n";
        if std::env::var_os("RECONCILE_WRITE_SCHEMA").is_some() {
            std::fs::write(&path, &wanted).expect("schema/ is writable");
        }
        let found = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            found == wanted,
            "schema/stack.schema.json is stale: RECONCILE_WRITE_SCHEMA=1 cargo test --bin \
             reconcile stack_schema"
        );
    }

    fn as_json(text: &str) -> Value {
        let table: toml::Table = toml::from_str(text).expect("TOML");
        serde_json::to_value(table).expect("JSON")
    }

    fn errors(schema: &Value, file: &Value) -> Vec<String> {
        let validator = jsonschema::validator_for(schema).expect("a valid schema");
        validator
            .iter_errors(file)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    /// Every stack file the repository ships (environments, the demo, the
    /// network example) is valid against the schema an editor gets.
    #[test]
    fn the_stack_schema_takes_every_shipped_stack_file() {
        let schema = generate();
        let mut seen = 0;
        for entry in std::fs::read_dir(root().join("stacks")).expect("stacks/") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).expect("readable");
                let found = errors(&schema, &as_json(&text));
                assert!(found.is_empty(), "{}: {found:#?}", path.display());
                seen += 1;
            }
        }
        assert!(seen >= 5, "the shipped stacks were not found");
    }

    /// A misspelt key, a key of another kind, a wrong type, an unknown kind
    /// and a malformed variable are each refused where they are; a variable
    /// where a number goes is taken.
    #[test]
    fn the_stack_schema_refuses_what_the_loader_refuses() {
        let schema = generate();
        let base = "[stack]\nname = \"s\"\nregions = [\"us-west-2\"]\n\n";
        for (extra, at) in [
            ("[vpc.main]\ncidr_block = \"10.0.0.0/16\"\n", "/vpc/main"),
            ("[subnet.a]\nvpc = \"vpc.main\"\nport = 80\n", "/subnet/a"),
            (
                "[target_group.blue]\nport = \"eighty\"\n",
                "/target_group/blue/port",
            ),
            ("[bucket.logs]\nname = \"x\"\n", ""),
            ("[stack]\nregion = \"us-west-2\"\n", "/stack"),
            (
                "[instance.web]\ncount = \"${vars.n}\"\n",
                "/instance/web/count",
            ),
        ] {
            let text = match extra.starts_with("[stack]") {
                true => extra.replace("[stack]\n", "[stack]\nname = \"s\"\n"),
                false => format!("{base}{extra}"),
            };
            let found = errors(&schema, &as_json(&text));
            assert!(
                found.iter().any(|e| e.ends_with(&format!(" at {at}"))),
                "{extra}: {found:#?}"
            );
        }
        let typed =
            format!("{base}[instance.web]\ncount = \"${{var.n}}\"\nprotect = \"${{var.p}}\"\n");
        assert_eq!(errors(&schema, &as_json(&typed)), Vec::<String>::new());
    }
}
