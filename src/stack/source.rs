//! The files a stack is read from: the stack file and the files it `extends`
//! (`[stack] extends = "base.toml"`, a path relative to the file), merged key
//! by key into one document, the extending file winning.
//!
//! The files are laid end to end in one offset space, so a span in the merged
//! document says which file and line its value was written in: an error in a
//! value a base file wrote is reported in the base file.

use super::diag::{Diagnostic, StackError};
pub use super::files::{SourceFile, Sources};
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// How the files of a stack are read: from disk, or from a saved plan.
pub type Read<'a> = dyn Fn(&Path) -> std::io::Result<String> + 'a;

/// Reads `path` and every file it extends, in turn; `text` is `path`'s own text.
pub fn read(path: &Path, text: String, read: &Read<'_>) -> Result<Sources, StackError> {
    let mut sources = Sources::single(path, text);
    let mut chain: Vec<PathBuf> = vec![identity(path)];
    loop {
        let last = sources.files.len() - 1;
        let dir = sources.files[last].1.path.parent().map(Path::to_path_buf);
        let extends = parse(&sources, last)
            .and_then(|mut table| take_extends(&mut table))
            .map_err(|d| error(&sources, d))?;
        let Some(extends) = extends else {
            return Ok(sources);
        };
        let base_path = dir.unwrap_or_default().join(extends.get_ref());
        let id = identity(&base_path);
        if let Some(first) = chain.iter().position(|p| *p == id) {
            let cycle: Vec<String> = chain[first..]
                .iter()
                .chain([&id])
                .map(|p| p.display().to_string())
                .collect();
            let d = Diagnostic {
                help: Some("a file may extend another, never one that extends it back".into()),
                ..Diagnostic::at(
                    extends.span(),
                    format!("`extends` makes a cycle: {}", cycle.join(" → ")),
                )
            };
            return Err(error(&sources, d));
        }
        let text = read(&base_path).map_err(|e| {
            let d = Diagnostic {
                help: Some(
                    "`extends` is a path relative to the file that says it, for example \"base.toml\""
                        .into(),
                ),
                ..Diagnostic::at(
                    extends.span(),
                    format!("cannot read {}: {e}", base_path.display()),
                )
            };
            error(&sources, d)
        })?;
        chain.push(id);
        sources.push(base_path, text);
    }
}

/// The stack's files merged into one table, the extending file winning, every
/// span an offset into the merged document.
pub fn merged(sources: &Sources) -> Result<Spanned<DeTable<'_>>, StackError> {
    let mut merged: Option<Spanned<DeTable<'_>>> = None;
    for index in (0..sources.files.len()).rev() {
        let mut over = parse(sources, index).map_err(|d| error(sources, d))?;
        take_extends(&mut over).map_err(|d| error(sources, d))?;
        merged = Some(match merged {
            None => over,
            Some(below) => {
                let span = over.span();
                Spanned::new(span, merge(below.into_inner(), over.into_inner()))
            }
        });
    }
    Ok(merged.expect("at least the stack file"))
}

/// What makes two paths the same file, as far as cycles go.
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn error(sources: &Sources, d: Diagnostic) -> StackError {
    StackError {
        sources: sources.clone(),
        diagnostics: vec![d],
    }
}

/// Parses one file, its spans moved to where the file starts in the merged document.
fn parse(sources: &Sources, index: usize) -> Result<Spanned<DeTable<'_>>, Diagnostic> {
    let (base, file) = &sources.files[index];
    let base = *base;
    let table = DeTable::parse(&file.text)
        .map_err(|e| super::toml_error(sources, e.span().map(|s| shift(s, base)), e.message()))?;
    let span = shift(table.span(), base);
    Ok(Spanned::new(span, shift_table(table.into_inner(), base)))
}

fn shift(span: Range<usize>, base: usize) -> Range<usize> {
    span.start + base..span.end + base
}

fn shift_table(table: DeTable<'_>, base: usize) -> DeTable<'_> {
    table
        .into_iter()
        .map(|(k, v)| {
            let key = Spanned::new(shift(k.span(), base), k.into_inner());
            (key, shift_value(v, base))
        })
        .collect()
}

fn shift_value(value: Spanned<DeValue<'_>>, base: usize) -> Spanned<DeValue<'_>> {
    let span = shift(value.span(), base);
    let value = match value.into_inner() {
        DeValue::Table(t) => DeValue::Table(shift_table(t, base)),
        DeValue::Array(a) => DeValue::Array(a.into_iter().map(|v| shift_value(v, base)).collect()),
        scalar => scalar,
    };
    Spanned::new(span, value)
}

/// Removes `[stack] extends` from a file's table: the path it names, if any.
fn take_extends(table: &mut Spanned<DeTable<'_>>) -> Result<Option<Spanned<String>>, Diagnostic> {
    let Some(stack) = table.get_mut().get_mut("stack") else {
        return Ok(None);
    };
    let DeValue::Table(stack) = stack.get_mut() else {
        return Ok(None);
    };
    let Some(extends) = stack.remove("extends") else {
        return Ok(None);
    };
    match extends.get_ref() {
        DeValue::String(s) if !s.trim().is_empty() => {
            Ok(Some(Spanned::new(extends.span(), s.to_string())))
        }
        _ => Err(Diagnostic {
            help: Some("for example: extends = \"base.toml\"".into()),
            ..Diagnostic::at(extends.span(), "`extends` is the path of a stack file")
        }),
    }
}

/// `over` on top of `base`: tables merge key by key, anything else (a value,
/// an array, an array of tables such as `[[verify]]`) is replaced whole.
fn merge<'a>(mut base: DeTable<'a>, over: DeTable<'a>) -> DeTable<'a> {
    for (key, value) in over {
        let merged = match (base.remove(key.get_ref().as_ref()), value) {
            (Some(b), v) if b.get_ref().is_table() && v.get_ref().is_table() => {
                let span = v.span();
                let (DeValue::Table(b), DeValue::Table(v)) = (b.into_inner(), v.into_inner())
                else {
                    unreachable!("both are tables")
                };
                Spanned::new(span, DeValue::Table(merge(b, v)))
            }
            (_, v) => v,
        };
        base.insert(key, merged);
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Service};
    use crate::stack::{load, spec::Approval};

    const BASE: &str = r#"[stack]
name = "base"
regions = ["us-west-2"]
tags = { team = "platform", service = "shop" }

[vpc.main]
cidr = "10.0.0.0/16"

[subnet.a]
vpc = "vpc.main"
cidr = "10.0.1.0/24"
zone = "a"
"#;

    /// Writes `files` into a fresh directory; returns it.
    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    fn error(dir: &tempfile::TempDir, file: &str) -> String {
        load(&dir.path().join(file)).unwrap_err().to_string()
    }

    #[test]
    fn tables_merge_key_by_key_and_the_extending_file_wins() {
        let d = dir(&[
            ("base.toml", BASE),
            (
                "prod.toml",
                "[stack]\nextends = \"base.toml\"\nname = \"prod\"\nregions = [\"eu-west-1\", \"us-east-1\"]\napproval = \"saved-plan\"\ntags = { team = \"sre\" }\n\n[subnet.a]\ncidr = \"10.0.9.0/24\"\n",
            ),
        ]);
        let stack = load(&d.path().join("prod.toml")).unwrap();
        assert_eq!(stack.name, "prod");
        assert_eq!(stack.regions, ["eu-west-1", "us-east-1"]);
        assert_eq!(stack.approval, Approval::SavedPlan);
        // Nested tables merge too: `team` overridden, `service` kept.
        assert_eq!(stack.tags["team"], "sre");
        assert_eq!(stack.tags["service"], "shop");
        let subnet = &stack.resources[&Address::parse("subnet.a").unwrap()];
        let crate::stack::Spec::Subnet(spec) = &subnet.spec else {
            panic!("a subnet")
        };
        let cidr = spec.cidr.get_ref().get("eu-west-1").map(|c| c.to_string());
        assert_eq!(cidr.as_deref(), Some("10.0.9.0/24"));
        let zone = spec.zone.get_ref().get("eu-west-1").cloned();
        assert_eq!(
            zone.as_deref(),
            Some("a"),
            "a key only the base wrote is kept"
        );
        let files: Vec<_> = stack.sources.files().map(|f| f.path.clone()).collect();
        assert_eq!(
            files,
            [d.path().join("prod.toml"), d.path().join("base.toml")]
        );
    }

    #[test]
    fn a_mistake_in_the_base_is_reported_in_the_base() {
        let d = dir(&[
            ("base.toml", &BASE.replace("10.0.1.0/24", "10.0.1.0/33")),
            (
                "dev.toml",
                "# dev\n[stack]\nextends = \"base.toml\"\nname = \"dev\"\n",
            ),
        ]);
        let e = error(&d, "dev.toml");
        let base = d.path().join("base.toml");
        assert!(e.starts_with(&format!("{}:11:8: ", base.display())), "{e}");
        assert!(e.contains("11 | cidr = \"10.0.1.0/33\""), "{e}");
    }

    #[test]
    fn a_mistake_in_the_extending_file_is_reported_there() {
        let d = dir(&[
            ("base.toml", BASE),
            (
                "dev.toml",
                "[stack]\nextends = \"base.toml\"\nname = \"dev\"\n\n[subnet.a]\nvpc = \"vpc.nosuch\"\n",
            ),
        ]);
        let e = error(&d, "dev.toml");
        assert!(
            e.starts_with(&format!("{}:6:7: ", d.path().join("dev.toml").display())),
            "{e}"
        );
        // An unknown key in the base, and a syntax error in the base.
        let d = dir(&[
            (
                "base.toml",
                &BASE.replace("zone = \"a\"", "zone = \"a\"\nzones = 2"),
            ),
            ("dev.toml", "[stack]\nextends = \"base.toml\"\n"),
        ]);
        let e = error(&d, "dev.toml");
        assert!(
            e.starts_with(&format!("{}:13:1: ", d.path().join("base.toml").display())),
            "{e}"
        );
        let d = dir(&[
            ("base.toml", "[stack]\nname = \"x\n"),
            ("dev.toml", "[stack]\nextends = \"base.toml\"\n"),
        ]);
        let e = error(&d, "dev.toml");
        assert!(
            e.starts_with(&format!("{}:2:", d.path().join("base.toml").display())),
            "{e}"
        );
    }

    #[test]
    fn chains_are_followed_and_cycles_are_located_errors() {
        let d = dir(&[
            ("base.toml", BASE),
            (
                "mid.toml",
                "[stack]\nextends = \"base.toml\"\nregions = [\"eu-west-1\"]\n",
            ),
            (
                "top.toml",
                "[stack]\nextends = \"mid.toml\"\nname = \"top\"\n",
            ),
        ]);
        let stack = load(&d.path().join("top.toml")).unwrap();
        assert_eq!(
            (stack.name.as_str(), stack.regions.as_slice()),
            ("top", &["eu-west-1".to_string()][..])
        );
        assert_eq!(stack.sources.files().count(), 3);

        let d = dir(&[
            ("a.toml", "[stack]\nextends = \"b.toml\"\nname = \"a\"\n"),
            ("b.toml", "[stack]\nname = \"b\"\nextends = \"a.toml\"\n"),
        ]);
        let e = error(&d, "a.toml");
        assert!(
            e.starts_with(&format!(
                "{}:3:11: `extends` makes a cycle: ",
                d.path().join("b.toml").display()
            )),
            "{e}"
        );
        assert!(e.contains("a.toml → ") && e.contains("b.toml → "), "{e}");

        let d = dir(&[("a.toml", "[stack]\nextends = \"a.toml\"\n")]);
        assert!(error(&d, "a.toml").contains("`extends` makes a cycle"));
    }

    #[test]
    fn a_missing_base_and_a_bad_extends_are_located_errors() {
        let d = dir(&[(
            "dev.toml",
            "[stack]\nname = \"dev\"\nextends = \"nosuch.toml\"\n",
        )]);
        let e = error(&d, "dev.toml");
        assert!(
            e.starts_with(&format!(
                "{}:3:11: cannot read ",
                d.path().join("dev.toml").display()
            )),
            "{e}"
        );
        assert!(e.contains("nosuch.toml"), "{e}");
        let d = dir(&[("dev.toml", "[stack]\nname = \"dev\"\nextends = 3\n")]);
        assert!(error(&d, "dev.toml").contains("`extends` is the path of a stack file"));
    }

    #[test]
    fn the_environment_stacks_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks");
        let prod = load(&root.join("prod.toml")).unwrap();
        assert_eq!(prod.regions, ["us-east-1", "us-west-2", "eu-west-1"]);
        assert_eq!(prod.approval, Approval::SavedPlan);
        assert!(prod.rollout.as_ref().is_some_and(|r| r.waves.len() == 2));
        assert!(!prod.change_window.allow.is_empty());
        let db = &prod.resources[&Address::parse("db_instance.main").unwrap()];
        assert!(db.spec.common().protect);
        let network = load(&root.join("network.toml")).unwrap();
        assert!(
            network
                .resources
                .keys()
                .all(|a| !matches!(a.kind.service(), Service::Elbv2 | Service::Rds)),
            "network.toml is for LocalStack's community edition: no ELBv2, no RDS"
        );
        for env in ["dev", "staging"] {
            let stack = load(&root.join(format!("{env}.toml"))).unwrap();
            assert_eq!(stack.name, format!("shop-{env}"));
            assert_eq!(stack.approval, Approval::Any);
        }
    }

    #[test]
    fn locate_finds_the_file_of_an_offset() {
        let mut s = Sources::single(Path::new("a.toml"), "12345".into());
        let b = s.push("b.toml".into(), "678".into());
        assert_eq!(b, 6);
        let (f, at) = s.locate(2);
        assert_eq!((f.path.as_path(), at), (Path::new("a.toml"), 2));
        let (f, at) = s.locate(7);
        assert_eq!((f.path.as_path(), at), (Path::new("b.toml"), 1));
    }
}
