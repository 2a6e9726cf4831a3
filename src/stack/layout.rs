//! The one layout of a stack file (`reconcile fmt`): taplo's formatter, with
//! the settings `.taplo.toml` gives editors with taplo (format on save). Comments, the order
//! of blocks and keys, and the values are kept; only whitespace, alignment
//! and line breaks change.

/// `text` laid out; a file TOML cannot read is refused with where and why
/// (formatting around a syntax error would guess).
pub fn format(text: &str) -> Result<String, String> {
    let parsed = taplo::parser::parse(text);
    if let Some(error) = parsed.errors.first() {
        let at = usize::from(error.range.start()).min(text.len());
        let line = text[..at].matches('\n').count() + 1;
        let column = at - text[..at].rfind('\n').map_or(0, |n| n + 1) + 1;
        return Err(format!("{line}:{column}: {}", error.message));
    }
    Ok(taplo::formatter::format_syntax(
        parsed.into_syntax(),
        options(),
    ))
}

fn options() -> taplo::formatter::Options {
    taplo::formatter::Options {
        // Two blank lines at most between blocks, as people leave them; one
        // is the habit of the shipped stacks.
        allowed_blank_lines: 1,
        // Stack files hold lists of inline tables (ingress rules, waves,
        // windows): one a line, as people write them, not broken inside.
        // A list written one item a line stays so.
        column_width: 120,
        inline_table_expand: false,
        array_auto_collapse: false,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_changes_and_comments_order_and_values_stay() {
        let messy = "# the network\n[stack]\nname=\"shop\"\nregions=[ \"us-west-2\" ,\"eu-west-1\"]\n\n\n\n\
                     [vpc.main]   # the one VPC\ncidr   =  \"10.0.0.0/16\"\ntags={a=\"1\",b=\"2\"}\n";
        let tidy = format(messy).expect("formats");
        assert_eq!(
            tidy,
            "# the network\n[stack]\nname = \"shop\"\nregions = [\"us-west-2\", \"eu-west-1\"]\n\n\
             [vpc.main] # the one VPC\ncidr = \"10.0.0.0/16\"\ntags = { a = \"1\", b = \"2\" }\n"
        );
        assert_eq!(format(&tidy).expect("formats"), tidy, "a fixed point");
    }

    /// Editors with taplo format on save with `.taplo.toml`'s settings:
    /// they must be these.
    #[test]
    fn the_editors_settings_are_these() {
        let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.taplo.toml"))
            .expect(".taplo.toml");
        let table: toml::Table = toml::from_str(&file).expect("TOML");
        let options = options();
        let given = &table["formatting"];
        assert_eq!(
            given["allowed_blank_lines"].as_integer(),
            Some(options.allowed_blank_lines as i64)
        );
        assert_eq!(
            given["column_width"].as_integer(),
            Some(options.column_width as i64)
        );
        assert_eq!(
            given["inline_table_expand"].as_bool(),
            Some(options.inline_table_expand)
        );
        assert_eq!(
            given["array_auto_collapse"].as_bool(),
            Some(options.array_auto_collapse)
        );
        assert_eq!(
            given.as_table().map(|t| t.len()),
            Some(4),
            "no other setting"
        );
    }

    #[test]
    fn a_file_toml_cannot_read_is_refused_at_its_line() {
        let error =
            format("[stack]\nname = \"shop\"\nregions = [\"us-west-2\"\n").expect_err("refused");
        assert!(
            error.starts_with("3:") || error.starts_with("4:"),
            "{error}"
        );
    }
}
