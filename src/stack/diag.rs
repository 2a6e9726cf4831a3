//! Errors in a stack file, located at file:line:col and shown with the offending line.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

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
    pub path: PathBuf,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
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
        let path = self.path.display();
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let Some(span) = &d.span else {
                write!(f, "{path}: {}", d.message)?;
                if let Some(help) = &d.help {
                    write!(f, "\n  help: {help}")?;
                }
                continue;
            };
            let (line, col) = line_col(&self.source, span.start);
            if !d.quote {
                write!(f, "{path}:{line}:{col}: {}", d.message)?;
                if let Some(help) = &d.help {
                    write!(f, "\n  help: {help}")?;
                }
                continue;
            }
            writeln!(f, "{path}:{line}:{col}: {}", d.message)?;
            let text = self.source.lines().nth(line - 1).unwrap_or("");
            let gutter = line.to_string().len();
            let width = self.source[span.clone()]
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
            path: "s.toml".into(),
            source: source.clone(),
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
}
