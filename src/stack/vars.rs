//! `[vars]`: named values with defaults, given per run with `--var NAME=VALUE`
//! and written `${var.NAME}` wherever a value goes. Substituted in the merged
//! document before anything else reads it, so every check sees the value in
//! effect and every diagnostic points at the place that used it.

use super::diag::Diagnostic;
use std::borrow::Cow;
use std::collections::BTreeMap;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// `--var` values, by name, as given on the command line.
pub type Overrides = BTreeMap<String, String>;

/// Parses `NAME=VALUE` (a `--var`).
pub fn parse_override(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

/// Takes `[vars]` out of `document` and puts each variable's value (its
/// `--var`, else its default) wherever `${var.NAME}` is written. Returns the
/// values in effect, as text: what a saved plan records.
pub fn substitute(
    document: &mut Spanned<DeTable<'_>>,
    overrides: &Overrides,
) -> Result<BTreeMap<String, String>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let declared = match document.get_mut().remove("vars") {
        None => BTreeMap::new(),
        Some(vars) => {
            let span = vars.span();
            match vars.into_inner() {
                DeValue::Table(t) => t
                    .into_iter()
                    .map(|(k, v)| (k.get_ref().to_string(), v))
                    .collect::<BTreeMap<String, _>>(),
                _ => {
                    errors.push(Diagnostic::at(
                        span,
                        "`vars` is a table: [vars] NAME = default",
                    ));
                    BTreeMap::new()
                }
            }
        }
    };
    let mut values: BTreeMap<String, Spanned<DeValue<'static>>> = BTreeMap::new();
    for (name, default) in declared {
        let span = default.span();
        let Some(default) = scalar(default.get_ref()) else {
            errors.push(Diagnostic::at(
                span.clone(),
                format!("var.{name}: a variable's default is a string, a number or a boolean"),
            ));
            continue;
        };
        let value = match overrides.get(&name) {
            None => default,
            Some(given) => match typed(&default, given) {
                Ok(v) => v,
                Err(kind) => {
                    errors.push(Diagnostic {
                        help: Some(format!("give --var {name}=… as {kind}, as its default is")),
                        ..Diagnostic::at(
                            span.clone(),
                            format!("--var {name}={given}: var.{name} is {kind}"),
                        )
                    });
                    continue;
                }
            },
        };
        values.insert(name, Spanned::new(span, value));
    }
    for name in overrides.keys().filter(|n| !values.contains_key(*n)) {
        errors.push(Diagnostic {
            span: None,
            message: format!("--var {name}: the stack declares no such variable"),
            help: Some(declared_help(&values)),
            quote: false,
        });
    }
    let table = std::mem::take(document.get_mut());
    *document.get_mut() = walk_table(table, &values, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(values
        .iter()
        .map(|(k, v)| (k.clone(), text_of(v.get_ref())))
        .collect())
}

fn declared_help(values: &BTreeMap<String, Spanned<DeValue<'static>>>) -> String {
    if values.is_empty() {
        "declare it: [vars] NAME = default".into()
    } else {
        format!(
            "declared: {}",
            values.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    }
}

/// A scalar as a value of its own, free of the document it was read from.
fn scalar(value: &DeValue<'_>) -> Option<DeValue<'static>> {
    match value {
        DeValue::String(s) => Some(DeValue::String(Cow::Owned(s.to_string()))),
        DeValue::Boolean(b) => Some(DeValue::Boolean(*b)),
        DeValue::Integer(_) | DeValue::Float(_) => number(&text_of(value)),
        _ => None,
    }
}

/// A TOML number read from `text`. The parser's numbers borrow their text
/// and cannot be built otherwise: the few bytes of a variable's number live
/// as long as the process (one per variable and stack read).
fn number(text: &str) -> Option<DeValue<'static>> {
    let text: &'static str = Box::leak(text.trim().to_string().into_boxed_str());
    let parsed = DeValue::parse(text).ok()?.into_inner();
    matches!(parsed, DeValue::Integer(_) | DeValue::Float(_)).then_some(parsed)
}

/// `given` as a value of the default's type, or the type's name.
fn typed(default: &DeValue<'_>, given: &str) -> Result<DeValue<'static>, &'static str> {
    let kind = match default {
        DeValue::String(_) => return Ok(DeValue::String(Cow::Owned(given.to_string()))),
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a number",
        _ => "true or false",
    };
    let parsed = match given.trim() {
        "true" => DeValue::Boolean(true),
        "false" => DeValue::Boolean(false),
        other => number(other).ok_or(kind)?,
    };
    let same = matches!(
        (default, &parsed),
        (DeValue::Integer(_), DeValue::Integer(_))
            | (DeValue::Float(_), DeValue::Float(_) | DeValue::Integer(_))
            | (DeValue::Boolean(_), DeValue::Boolean(_))
    );
    if !same {
        return Err(kind);
    }
    Ok(parsed)
}

fn text_of(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => s.to_string(),
        DeValue::Integer(i) => i.to_string(),
        DeValue::Float(f) => f.to_string(),
        DeValue::Boolean(b) => b.to_string(),
        _ => String::new(),
    }
}

fn walk_table<'a>(
    table: DeTable<'a>,
    values: &BTreeMap<String, Spanned<DeValue<'static>>>,
    errors: &mut Vec<Diagnostic>,
) -> DeTable<'a> {
    table
        .into_iter()
        .map(|(k, v)| (k, walk(v, values, errors)))
        .collect()
}

fn walk<'a>(
    value: Spanned<DeValue<'a>>,
    values: &BTreeMap<String, Spanned<DeValue<'static>>>,
    errors: &mut Vec<Diagnostic>,
) -> Spanned<DeValue<'a>> {
    let span = value.span();
    let value = match value.into_inner() {
        DeValue::Table(t) => DeValue::Table(walk_table(t, values, errors)),
        DeValue::Array(a) => {
            DeValue::Array(a.into_iter().map(|v| walk(v, values, errors)).collect())
        }
        DeValue::String(s) if s.contains("${var.") => match replace(&s, values) {
            Ok(v) => v,
            Err(name) => {
                errors.push(Diagnostic {
                    help: Some(declared_help(values)),
                    ..Diagnostic::at(
                        span.clone(),
                        format!("`var.{name}` is not declared in [vars]"),
                    )
                });
                DeValue::String(s)
            }
        },
        other => other,
    };
    Spanned::new(span, value)
}

/// A string with its `${var.NAME}` replaced: the variable's own value (its
/// type kept) when that is the whole string, else its text in place. The
/// name of an undeclared variable as the error.
fn replace<'a>(
    text: &str,
    values: &BTreeMap<String, Spanned<DeValue<'static>>>,
) -> Result<DeValue<'a>, String> {
    let name_of = |inner: &str| inner.trim().to_string();
    if let Some(inner) = text
        .strip_prefix("${var.")
        .and_then(|t| t.strip_suffix('}'))
        .filter(|t| !t.contains('}'))
    {
        let name = name_of(inner);
        return values.get(&name).map(|v| v.get_ref().clone()).ok_or(name);
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${var.") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "${var.".len()..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[at..]);
            rest = "";
            break;
        };
        let name = name_of(&after[..end]);
        let value = values.get(&name).ok_or_else(|| name.clone())?;
        out.push_str(&text_of(value.get_ref()));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(DeValue::String(Cow::Owned(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const STACK: &str = "[vars]\nami = \"ami-0aaaaaaaaaaaaaaaa\"\ncount = 1\nenv = \"dev\"\n\n\
        [stack]\nname = \"s-${var.env}\"\nregions = [\"us-west-2\"]\n\n\
        [vpc.main]\ncidr = \"10.0.0.0/16\"\n\n\
        [subnet.a]\nvpc = \"vpc.main\"\ncidr = \"10.0.1.0/24\"\nzone = \"a\"\n\n\
        [instance.web]\nami = \"${var.ami}\"\ninstance_type = \"t3.micro\"\nsubnet = \"subnet.a\"\ncount = \"${var.count}\"\n";

    fn load(overrides: &[(&str, &str)]) -> Result<crate::stack::Stack, String> {
        let overrides: Overrides = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        crate::stack::parse_with_vars(
            Path::new("s.toml"),
            STACK.to_string(),
            &|p: &Path| std::fs::read_to_string(p),
            &overrides,
        )
        .map_err(|e| e.to_string())
    }

    fn instances(stack: &crate::stack::Stack) -> Vec<String> {
        stack
            .resources
            .keys()
            .filter(|a| a.kind == crate::model::Kind::Instance)
            .map(|a| a.to_string())
            .collect()
    }

    #[test]
    fn defaults_apply_and_a_var_overrides_them_typed() {
        let stack = load(&[]).unwrap();
        assert_eq!(stack.name, "s-dev");
        assert_eq!(instances(&stack), ["instance.web[0]"]);
        assert_eq!(stack.vars["ami"], "ami-0aaaaaaaaaaaaaaaa");
        let stack = load(&[
            ("ami", "ami-0bbbbbbbbbbbbbbbb"),
            ("count", "2"),
            ("env", "prod"),
        ])
        .unwrap();
        assert_eq!(stack.name, "s-prod");
        assert_eq!(instances(&stack), ["instance.web[0]", "instance.web[1]"]);
        assert_eq!(stack.vars["count"], "2");
        let crate::stack::Spec::Instance(web) =
            &stack.resources[&crate::model::Address::parse("instance.web[0]").unwrap()].spec
        else {
            panic!("an instance")
        };
        assert_eq!(
            web.ami.get_ref().get("us-west-2").map(String::as_str),
            Some("ami-0bbbbbbbbbbbbbbbb")
        );
    }

    #[test]
    fn mistakes_are_named() {
        let e = load(&[("count", "two")]).unwrap_err();
        assert!(
            e.contains("--var count=two: var.count is an integer"),
            "{e}"
        );
        let e = load(&[("image", "x")]).unwrap_err();
        assert!(
            e.contains("--var image: the stack declares no such variable")
                && e.contains("declared: ami, count, env"),
            "{e}"
        );
        let e = crate::stack::parse(
            Path::new("s.toml"),
            STACK.replace("${var.ami}", "${var.amy}"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("s.toml:") && e.contains("`var.amy` is not declared in [vars]"),
            "{e}"
        );
        assert_eq!(parse_override("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(parse_override("novalue").is_err());
    }
}
