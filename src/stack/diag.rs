//! Errors in a stack file, located at file:line:col and shown with the offending line.

use super::files::Sources;
use std::fmt;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub span: Option<Range<usize>>,
    pub message: String,
    pub help: Option<String>,
    /// Whether the offending line may be shown: not when it may hold a secret.
    pub quote: bool,
}

impl Diagnostic {
    pub fn at(span: Range<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            span: Some(span),
            message: message.into(),
            help: None,
            quote: true,
        }
    }
}

/// One or more problems found in a stack file before any AWS call was made.
#[derive(Debug)]
pub struct StackError {
    /// The stack file and the files it extends; a span says which one.
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
}

/// A file, and a 1-based line and column in it.
pub type Location<'a> = (&'a std::path::Path, usize, usize);

impl StackError {
    /// Where each diagnostic is: file, line and column (1-based), when it has a span.
    pub fn locations(&self) -> Vec<(&Diagnostic, Option<Location<'_>>)> {
        self.diagnostics
            .iter()
            .map(|d| {
                let at = d.span.as_ref().map(|span| {
                    let (file, offset) = self.sources.locate(span.start);
                    let (line, col) = line_col(&file.text, offset);
                    (file.path.as_path(), line, col)
                });
                (d, at)
            })
            .collect()
    }

    /// GitHub Actions workflow commands: each diagnostic as an `::error`
    /// annotation on the line it is about.
    pub fn annotations(&self) -> String {
        // A workflow command's message ends at its line: newlines are escaped.
        let escape = |s: &str| {
            s.replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A")
        };
        let property = |s: &str| escape(s).replace(':', "%3A").replace(',', "%2C");
        let stack_file = self
            .sources
            .files()
            .next()
            .map(|f| f.path.display().to_string());
        self.locations()
            .into_iter()
            .map(|(d, at)| {
                let mut message = d.message.clone();
                if let Some(help) = &d.help {
                    message.push_str(&format!("\nhelp: {help}"));
                }
                match at {
                    Some((path, line, col)) => format!(
                        "::error file={},line={line},col={col}::{}\n",
                        property(&path.display().to_string()),
                        escape(&message)
                    ),
                    None => format!(
                        "::error file={}::{}\n",
                        property(stack_file.as_deref().unwrap_or("")),
                        escape(&message)
                    ),
                }
            })
            .collect()
    }
}

impl std::error::Error for StackError {}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stack_file = self.sources.files().next().map(|f| f.path.display());
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let Some(span) = &d.span else {
                if let Some(path) = &stack_file {
                    write!(f, "{path}: ")?;
                }
                write!(f, "{}", d.message)?;
                if let Some(help) = &d.help {
                    write!(f, "\n  help: {help}")?;
                }
                continue;
            };
            let (file, offset) = self.sources.locate(span.start);
            let (source, path) = (&file.text, file.path.display());
            let (line, col) = line_col(source, offset);
            if !d.quote {
                write!(f, "{path}:{line}:{col}: {}", d.message)?;
                if let Some(help) = &d.help {
                    write!(f, "\n  help: {help}")?;
                }
                continue;
            }
            writeln!(f, "{path}:{line}:{col}: {}", d.message)?;
            let text = source.lines().nth(line - 1).unwrap_or("");
            let gutter = line.to_string().len();
            let end = (offset + span.len()).min(source.len());
            let width = source[offset.min(end)..end]
                .lines()
                .next()
                .map_or(1, |l| l.chars().count().max(1))
                .min(text.chars().count().saturating_sub(col - 1).max(1));
            writeln!(f, "{:gutter$} |", "")?;
            writeln!(f, "{line} | {text}")?;
            write!(
                f,
                "{:gutter$} | {}{}",
                "",
                " ".repeat(col - 1),
                "^".repeat(width)
            )?;
            if let Some(help) = &d.help {
                write!(f, "\n{:gutter$} = help: {help}", "")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_in_characters() {
        let src = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(src, 0), (1, 1));
        let x = src.find('"').unwrap();
        assert_eq!(line_col(src, x), (2, 6));
    }

    #[test]
    fn display_points_at_the_span() {
        let source = "[vpc.main]\ncidr = \"10.0.0.0/33\"\n".to_string();
        let start = source.find("\"10").unwrap();
        let err = StackError {
            sources: Sources::single(std::path::Path::new("s.toml"), source.clone()),
            diagnostics: vec![Diagnostic {
                help: Some("fix it".into()),
                ..Diagnostic::at(start..start + 13, "invalid CIDR")
            }],
        };
        assert_eq!(
            err.to_string(),
            "s.toml:2:8: invalid CIDR\n  |\n2 | cidr = \"10.0.0.0/33\"\n  |        ^^^^^^^^^^^^^\n  = help: fix it"
        );
    }

    #[test]
    fn annotations_point_github_at_the_line_in_the_right_file() {
        let err = crate::stack::parse(
            std::path::Path::new("stacks/dev.toml"),
            "[stack]\nname = \"dev\"\nregions = [\"us-west-2\"]\n\n[vpc.main]\ncidr = \"10.0.0.0/33\"\n".into(),
        )
        .unwrap_err();
        assert_eq!(
            err.annotations(),
            "::error file=stacks/dev.toml,line=6,col=8::invalid CIDR `10.0.0.0/33`: expected an IPv4 block such as \"10.0.0.0/16\"\n"
        );
        let mut err = err;
        err.diagnostics[0].help = Some("a, b: 100%".into());
        assert!(
            err.annotations()
                .ends_with("10.0.0.0/16\"%0Ahelp: a, b: 100%25\n"),
            "{}",
            err.annotations()
        );
    }
}
