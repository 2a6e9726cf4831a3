//! `${kind.name.attribute}` in strings: parsing, and substitution of live values.

use crate::model::Address;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpolation {
    pub target: Address,
    pub attribute: String,
}

/// The interpolations of a template, or a message saying which one is malformed.
pub fn parse(template: &str) -> Result<Vec<Interpolation>, String> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed `${{` in \"{template}\""))?;
        let inner = &after[..end];
        let (target, attribute) = inner
            .rsplit_once('.')
            .and_then(|(t, a)| Some((Address::parse(t)?, a)))
            .filter(|(_, a)| !a.is_empty())
            .ok_or_else(|| {
                format!("`${{{inner}}}` is not an interpolation: write ${{kind.name.attribute}}, for example ${{vpc.main.id}}")
            })?;
        found.push(Interpolation {
            target,
            attribute: attribute.to_string(),
        });
        rest = &after[end + 1..];
    }
    Ok(found)
}

/// Substitutes every interpolation; `None` when one of them is not known yet.
pub fn render(template: &str, lookup: impl Fn(&Address, &str) -> Option<String>) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let (target, attribute) = after[..end].rsplit_once('.')?;
        out.push_str(&lookup(&Address::parse(target)?, attribute)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    #[test]
    fn parses_and_renders() {
        let t = "peer-${vpc.main.id}/${subnet.a.cidr}";
        let found = parse(t).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].target, Address::new(Kind::Vpc, "main"));
        assert_eq!(found[1].attribute, "cidr");
        let out = render(t, |a, attr| Some(format!("{}:{attr}", a.name)));
        assert_eq!(out.as_deref(), Some("peer-main:id/a:cidr"));
        assert_eq!(render(t, |_, _| None), None);
        assert_eq!(render("plain", |_, _| None).as_deref(), Some("plain"));
    }

    #[test]
    fn rejects_malformed_interpolations() {
        assert!(parse("${vpc.main").unwrap_err().contains("unclosed"));
        assert!(parse("${bucket.x.id}")
            .unwrap_err()
            .contains("not an interpolation"));
        assert!(parse("${vpc.main}").is_err());
    }
}
