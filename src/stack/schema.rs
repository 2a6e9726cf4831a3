//! The stack file's JSON Schema (`schema/stack.schema.json`), generated from
//! its serde types, which the registry (`model::kinds`) gives a
//! `[kind.name]` table for every kind: what an editor with taplo (Even Better
//! TOML) completes and checks while a stack file is written. A unit test
//! holds the file current and checks every shipped stack file against it.
//!
//! It checks names and types, not presence: a file that `extends` another
//! gives only what it changes, so no key is required here (`plan` says
//! what is missing, with the file and line).

use super::spec::RawStack;
use crate::model::schema::{Import, LiveId};
use crate::model::Kind;
use serde_json::{json, Map, Value};

/// A stack file that sets every key at least once: the schema's examples.
const EXAMPLE: &str = include_str!("../../schema/stack.example.toml");

/// The schema, with the keys read before the rest (`[stack] extends`,
/// `[vars]`), and every `required` list left out.
pub fn generate() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(RawStack)).expect("a schema is JSON");
    drop_required(&mut schema);
    let example: toml::Table = toml::from_str(EXAMPLE).expect("the example is TOML");
    let example = serde_json::to_value(example).expect("TOML is JSON");
    for (key, value) in example.as_object().expect("a table") {
        let Some(property) = schema["properties"].get(key).cloned() else {
            continue;
        };
        // A kind's table holds blocks by name; `[[verify]]` is a list.
        let tables: Vec<&Value> = match (&property["additionalProperties"], value) {
            (Value::Object(_), Value::Object(blocks)) => blocks.values().collect(),
            (_, Value::Array(items)) => items.iter().collect(),
            _ => vec![value],
        };
        for definition in references(&property) {
            for table in &tables {
                examples(&mut schema, &definition, table);
            }
        }
    }
    for &kind in Kind::ALL {
        common_keys(&mut schema, kind);
    }
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

/// The keys every block takes, as `kind` takes them: `import` only where
/// it can import (with an id of its form), `tags` only where it carries
/// tags (as the loader says), and an example of each.
fn common_keys(schema: &mut Value, kind: Kind) {
    let definition = references(&schema["properties"][kind.as_str()])
        .pop()
        .expect("every kind has a table");
    let properties = schema["$defs"][&definition]["properties"]
        .as_object_mut()
        .expect("a block has keys");
    let import = match &kind.schema().import {
        Import::No => None,
        Import::ById => Some(match &kind.schema().live_id {
            LiveId::Hex(prefix) => format!("{prefix}0123456789abcdef0"),
            LiveId::ElbArn(resource) => format!(
                "arn:aws:elasticloadbalancing:us-west-2:123456789012{resource}example/0123456789abcdef"
            ),
            LiveId::HostedZone => "Z0123456789ABCDEFGHIJ".into(),
            LiveId::Certificate | LiveId::None => "the id AWS gives it".into(),
        }),
        Import::ByName { .. } => Some(format!("example-{kind}").replace('_', "-")),
        Import::DbIdentifier => Some("example-db".into()),
        Import::AlarmName => Some("example-alb-5xx".into()),
        Import::RecordNameType => Some("www.example.com CNAME".into()),
    };
    match import {
        Some(id) => set_example(properties, "import", json!(id)),
        None => drop(properties.remove("import")),
    }
    if kind.attributes().contains(&"tags") {
        set_example(properties, "tags", json!({ "cost-center": "shop" }));
    } else {
        properties.remove("tags");
    }
    set_example(properties, "protect", json!(true));
    set_example(properties, "regions", json!(["us-west-2"]));
    set_example(properties, "ignore_changes", json!([kind.attributes()[0]]));
}

fn set_example(properties: &mut Map<String, Value>, key: &str, example: Value) {
    if let Some(property) = properties.get_mut(key) {
        if property.get("examples").is_none() {
            property["examples"] = json!([example]);
        }
    }
}

/// Each key of `table`, a value of type `definition`, gives the key's
/// schema its example (the first one met); tables within, theirs.
fn examples(schema: &mut Value, definition: &str, table: &Value) {
    let Some(table) = table.as_object() else {
        return;
    };
    // A definition of alternatives (a forward: one group, or weighted ones):
    // the table is of one of those it names.
    if schema["$defs"][definition].get("properties").is_none() {
        for inner in references(&schema["$defs"][definition]) {
            examples(schema, &inner, &Value::Object(table.clone()));
        }
        return;
    }
    for (key, value) in table {
        // `get_mut`, not indexing: an index that misses inserts a null.
        let Some(property) = schema
            .get_mut("$defs")
            .and_then(|d| d.get_mut(definition))
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut(key))
        else {
            continue;
        };
        if property.get("examples").is_none() {
            property["examples"] = json!([value]);
        }
        let inner = references(property);
        let tables: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![value],
            _ => vec![],
        };
        for definition in inner {
            for table in &tables {
                examples(schema, &definition, table);
            }
        }
    }
}

/// The definitions a schema names (`#/$defs/NAME`), however deep.
fn references(schema: &Value) -> Vec<String> {
    match schema {
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| match (k.as_str(), v) {
                ("$ref", Value::String(r)) => r
                    .strip_prefix("#/$defs/")
                    .map(str::to_string)
                    .into_iter()
                    .collect(),
                _ => references(v),
            })
            .collect(),
        Value::Array(items) => items.iter().flat_map(references).collect(),
        _ => vec![],
    }
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
                let examples = map.remove("examples");
                let own = Value::Object(std::mem::take(map));
                map.insert(
                    "anyOf".into(),
                    json!([own, { "type": "string", "pattern": "^\\$\\{var\\.[A-Za-z_][A-Za-z0-9_]*\\}$" }]),
                );
                for (key, value) in [("description", description), ("examples", examples)] {
                    if let Some(value) = value {
                        map.insert(key.into(), value);
                    }
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

    /// The example every key's example comes from is a stack reconcile
    /// loads, and every key of every block has an example (a key added to a
    /// kind without one in `schema/stack.example.toml` fails here).
    #[test]
    fn every_key_has_an_example_from_a_stack_that_loads() {
        let path = root().join("schema/stack.example.toml");
        if let Err(e) = crate::stack::load(&path) {
            panic!("{e}");
        }
        let schema = generate();
        let mut missing = vec![];
        for (name, definition) in schema["$defs"].as_object().expect("definitions") {
            let properties = definition["properties"].as_object();
            for (key, property) in properties.into_iter().flatten() {
                if property.get("examples").is_none() {
                    missing.push(format!("{name}.{key}"));
                }
            }
        }
        assert_eq!(missing, Vec::<String>::new());
        assert!(errors(&schema, &as_json(EXAMPLE)).is_empty());
        // Where a kind imports, its example id has the form the loader takes.
        for &kind in Kind::ALL {
            let definition = references(&schema["properties"][kind.as_str()]).pop();
            let import = &schema["$defs"][definition.expect("a table")]["properties"]["import"];
            if let Some(id) = import["examples"][0].as_str() {
                assert_eq!(
                    super::super::validate::import::form(kind, id),
                    Ok(()),
                    "{kind}"
                );
            }
        }
    }

    /// A misspelt key, a key of another kind, a wrong type, an unknown kind,
    /// a malformed variable, an import where the kind cannot import and tags
    /// where it carries none are each refused where they are; a variable
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
            (
                "[iam_role.web]\nassume = \"ec2.amazonaws.com\"\nimport = \"web\"\n",
                "/iam_role/web",
            ),
            (
                "[dns_record.www]\nzone = \"dns_zone.main\"\ntags = { a = \"b\" }\n",
                "/dns_record/www",
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
