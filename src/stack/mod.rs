//! Stack files: loading, validation and reference resolution. Pure: no AWS.
//!
//! Every check runs before the first AWS call, so a stack that loads is one
//! whose references resolve, whose graph is acyclic and whose values are valid
//! in every region it names.

pub mod diag;
pub mod files;
pub mod interpolate;
pub mod layout;
pub mod rollout;
#[cfg(test)]
mod schema;
pub mod source;
pub mod spanned;
pub mod spec;
mod validate;
pub mod vars;
pub mod verify;
pub mod window;

pub use diag::{Diagnostic, StackError};

use crate::model::{Address, Kind};
use crate::stack::spec::Spanned;
use serde::Deserialize;
use spec::{ActionSpec, Common, ForwardSpec, RawStack, Reference, RuleSpec};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// `[stack] role`: the role the stack's commands assume before their first
/// call, and the terms of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackRole {
    pub arn: String,
    /// The role of `plan`, `verify` and `status`, when not `arn`.
    pub plan: Option<String>,
    pub external_id: Option<String>,
    pub duration: Option<std::time::Duration>,
}

impl StackRole {
    /// The role a command assumes: the plan role for one that only reads.
    pub fn arn_for(&self, read_only: bool) -> &str {
        match &self.plan {
            Some(plan) if read_only => plan,
            _ => &self.arn,
        }
    }
}

/// A validated stack file.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub regions: Vec<String>,
    pub version: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// `[stack] approval`.
    pub approval: spec::Approval,
    /// `[stack] account`: the accounts whose credentials may plan and change
    /// it (empty: any, said in the plan's header).
    pub accounts: Vec<String>,
    /// `[stack] role`: the roles its commands assume.
    pub role: Option<StackRole>,
    /// `[stack] policies`, resolved against the stack file's directory.
    pub policies: Vec<PathBuf>,
    pub resources: BTreeMap<Address, Resource>,
    /// Listener or rule address → the blue-green pair that owns its forward action.
    pub blue_green: BTreeMap<Address, BlueGreen>,
    /// `[[moved]]`: the address a live resource had → the block it now belongs to.
    pub moved: BTreeMap<Address, Address>,
    /// `[[verify]]`: the declared checks.
    pub checks: Vec<verify::Check>,
    /// `[change_window]`: when apply, cutover and rollout may change things.
    pub change_window: window::ChangeWindow,
    /// `[rollout]`: the regions in waves; `None`: one wave of every region.
    pub rollout: Option<rollout::Rollout>,
    pub path: PathBuf,
    /// The texts of the stack file and the files it extends, kept so a saved
    /// plan can carry exactly what it was made from.
    pub sources: source::Sources,
    /// `[vars]` as in effect (`--var`, else the default), as text: what a
    /// saved plan records, to be read again with the same values.
    pub vars: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub address: Address,
    pub spec: Spec,
    /// The regions this resource exists in: its own `regions`, or the stack's.
    pub regions: Vec<String>,
    /// Where its block is in the stack file.
    pub span: Range<usize>,
}

/// `Spec`, a block of any kind of the registry, and its dispatch.
macro_rules! spec {
    ($($variant:ident $name:ident $family:ident :: $schema:ident $spec:ident [$($aws:tt)*],)*) => {
        /// A block's spec, of its kind.
        #[derive(Debug, Clone)]
        pub enum Spec {
            $($variant(spec::$spec),)*
        }

        impl Spec {
            pub fn kind(&self) -> Kind {
                match self {
                    $(Spec::$variant(_) => Kind::$variant,)*
                }
            }

            fn declared(&self) -> Common<'_> {
                match self {
                    $(Spec::$variant(s) => s.common(),)*
                }
            }

            /// Its reference fields (each kind's `references`, beside its checks
            /// in `validate`).
            pub fn references(&self) -> Vec<ReferenceField> {
                match self {
                    $(Spec::$variant(s) => s.references(),)*
                }
            }
        }
    };
}
crate::model::kinds::kinds!(spec);

/// A `[blue_green.NAME]` block: the pair of colours whose traffic split on one
/// listener or rule belongs to cutover, not to apply.
#[derive(Debug, Clone)]
pub struct BlueGreen {
    /// `NAME` of `[blue_green.NAME]`.
    pub name: String,
    pub blue: Reference,
    pub green: Reference,
    /// Healthy targets a colour needs to take traffic; `None`: all its
    /// registered targets, at least one.
    pub min_healthy: Option<u32>,
    /// Cutover defaults: the target colour's weight at each step (rising, to 100).
    pub steps: Vec<i64>,
    pub bake: std::time::Duration,
    pub every: std::time::Duration,
}

/// Weights a cutover steps through, as given: each 1 to 100, rising, the last 100.
pub fn check_steps(steps: &[i64]) -> Result<(), String> {
    if steps.is_empty() || steps.iter().any(|s| !(1..=100).contains(s)) {
        return Err("steps are weights from 1 to 100, for example [10, 50, 100]".into());
    }
    if steps.windows(2).any(|w| w[0] >= w[1]) {
        return Err("steps must rise, for example [10, 50, 100]".into());
    }
    if steps.last() != Some(&100) {
        return Err(
            "the last step must be 100: a cutover ends with all traffic on the new colour".into(),
        );
    }
    Ok(())
}

/// A colour of a blue-green pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    Blue,
    Green,
}

impl Colour {
    pub fn other(self) -> Colour {
        match self {
            Colour::Blue => Colour::Green,
            Colour::Green => Colour::Blue,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Blue => "blue",
            Colour::Green => "green",
        }
    }
}

impl BlueGreen {
    pub fn colour(&self, c: Colour) -> &Reference {
        match c {
            Colour::Blue => &self.blue,
            Colour::Green => &self.green,
        }
    }
}

/// A reference field of a resource, and the kind it must name.
pub struct ReferenceField {
    pub field: &'static str,
    pub reference: Spanned<Reference>,
    pub expected: Kind,
}

/// The reference `reference` written in `field`, which must name a `expected`.
pub(crate) fn field(
    field: &'static str,
    reference: &Spanned<Reference>,
    expected: Kind,
) -> ReferenceField {
    ReferenceField {
        field,
        reference: reference.clone(),
        expected,
    }
}

impl Spec {
    pub fn common(&self) -> Common<'_> {
        let mut common = self.declared();
        // An imported database is protected unless its block says not.
        if self.kind() == Kind::DbInstance {
            common.protect |= common.protect_given.is_none() && common.import.is_some();
        }
        common
    }

    /// Strings that may hold `${kind.name.attr}` interpolations.
    pub fn templates(&self) -> Vec<&Spanned<String>> {
        let own: Vec<&Spanned<String>> = match self {
            Spec::Alarm(s) => s.dimensions.values().collect(),
            _ => vec![],
        };
        self.common().tags.values().chain(own).collect()
    }
}

/// The target groups an action forwards to, each with where it is written.
pub fn action_targets(action: &ActionSpec) -> Vec<Spanned<Reference>> {
    match &action.forward {
        Some(f) => match f.get_ref() {
            ForwardSpec::One(r) => vec![Spanned::new(f.span(), r.clone())],
            ForwardSpec::Weighted(targets) => {
                targets.iter().map(|t| t.target_group.clone()).collect()
            }
        },
        None => vec![],
    }
}

impl Resource {
    /// Which copy of a block with `count` this is (`instance.web[2]`: 2).
    pub fn copy(&self) -> Option<usize> {
        let (_, index) = self.address.name.strip_suffix(']')?.rsplit_once('[')?;
        index.parse().ok()
    }

    /// The live resource this block takes over in `region` (`import`), if
    /// it names one there.
    pub fn import_id(&self, region: &str) -> Option<&str> {
        match self.spec.common().import?.get_ref().get(region)? {
            spec::ImportIds::One(id) => Some(id),
            spec::ImportIds::PerCopy(all) => all.get(self.copy()?).map(String::as_str),
        }
    }

    /// Everything this resource needs to exist first: references and interpolations.
    pub fn dependencies(&self) -> BTreeSet<Address> {
        let refs = self
            .spec
            .references()
            .into_iter()
            .filter_map(|r| r.reference.get_ref().address().cloned());
        let interpolated = self
            .spec
            .templates()
            .into_iter()
            .flat_map(|v| interpolate::parse(v.get_ref()).unwrap_or_default())
            .map(|i| i.target);
        refs.chain(interpolated)
            .filter(|a| *a != self.address)
            .collect()
    }

    /// Other security groups this group's rules name: a group is created
    /// without them and gets those rules once they exist, so two groups may
    /// name each other (a load balancer's egress to the app, the app's ingress
    /// from the load balancer).
    pub fn late_references(&self) -> BTreeSet<Address> {
        let Spec::SecurityGroup(s) = &self.spec else {
            return BTreeSet::new();
        };
        s.ingress
            .iter()
            .chain(s.egress.iter().flatten())
            .filter_map(|r| r.get_ref().security_group.as_ref())
            .filter_map(|g| g.get_ref().address())
            .filter(|a| a.kind == Kind::SecurityGroup && **a != self.address)
            .cloned()
            .collect()
    }

    /// What must exist before this resource is created: its dependencies but
    /// its late references.
    pub fn ordering_dependencies(&self) -> BTreeSet<Address> {
        let late = self.late_references();
        self.dependencies()
            .into_iter()
            .filter(|a| !late.contains(a))
            .collect()
    }

    /// The attributes reconcile leaves alone on this resource (`ignore_changes`).
    pub fn ignored(&self) -> Vec<String> {
        self.spec
            .common()
            .ignore_changes
            .iter()
            .map(|s| s.get_ref().clone())
            .collect()
    }

    pub fn in_region(&self, region: &str) -> bool {
        self.regions.iter().any(|r| r == region)
    }
}

impl Stack {
    /// Resources of one region in dependency order (dependencies first).
    pub fn ordered(&self, region: &str) -> Vec<&Resource> {
        let mut done: BTreeSet<&Address> = BTreeSet::new();
        let mut out = Vec::new();
        fn visit<'a>(
            stack: &'a Stack,
            r: &'a Resource,
            region: &str,
            done: &mut BTreeSet<&'a Address>,
            out: &mut Vec<&'a Resource>,
        ) {
            if !done.insert(&r.address) {
                return;
            }
            // All references, late ones too: they order the plan's listing
            // (a cycle of groups naming each other stops at the visited one).
            for dep in r.dependencies() {
                if let Some(d) = stack.resources.get(&dep) {
                    visit(stack, d, region, done, out);
                }
            }
            if r.in_region(region) {
                out.push(r);
            }
        }
        for r in self.resources.values() {
            visit(self, r, region, &mut done, &mut out);
        }
        out
    }
}

/// Reads and validates a stack file (and the files it extends).
pub fn load(path: &Path) -> Result<Stack, StackError> {
    load_with(path, &vars::Overrides::new())
}

/// Reads and validates a stack file with `--var` values.
pub fn load_with(path: &Path, overrides: &vars::Overrides) -> Result<Stack, StackError> {
    let text = std::fs::read_to_string(path).map_err(|e| StackError {
        sources: source::Sources::single(path, String::new()),
        diagnostics: vec![Diagnostic {
            span: None,
            message: format!("cannot read the stack file: {e}"),
            help: Some("pass the path of a stack file, for example stacks/demo.toml".into()),
            quote: false,
        }],
    })?;
    parse_with_vars(
        path,
        text,
        &|p: &Path| std::fs::read_to_string(p),
        overrides,
    )
}

/// Words in a key's name that say its value may be a secret.
const SECRET_WORDS: [&str; 4] = ["password", "secret", "token", "key"];

/// Validates a stack file's text; the files it extends are read from disk.
#[cfg(test)]
pub fn parse(path: &Path, text: String) -> Result<Stack, StackError> {
    parse_with_vars(
        path,
        text,
        &|p: &Path| std::fs::read_to_string(p),
        &vars::Overrides::new(),
    )
}

/// Validates a stack file's text with `--var` values, reading the files it
/// extends with `read`.
pub fn parse_with_vars(
    path: &Path,
    text: String,
    read: &source::Read<'_>,
    overrides: &vars::Overrides,
) -> Result<Stack, StackError> {
    let sources = source::read(path, text, read)?;
    let fail = |diagnostics| StackError {
        sources: sources.clone(),
        diagnostics,
    };
    let mut document = source::merged(&sources)?;
    let vars = vars::substitute(&mut document, overrides).map_err(fail)?;
    let raw = match RawStack::deserialize(toml::de::Deserializer::from(document)) {
        Ok(raw) => raw,
        Err(e) => return Err(fail(vec![toml_error(&sources, e.span(), e.message())])),
    };
    let mut checker = validate::Checker::default();
    let stack = checker.build(raw, path);
    if checker.diagnostics.is_empty() {
        Ok(Stack {
            sources: sources.clone(),
            vars,
            ..stack
        })
    } else {
        checker
            .diagnostics
            .sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
        Err(fail(checker.diagnostics))
    }
}

/// A TOML syntax or shape error, at a span of the merged document.
fn toml_error(sources: &source::Sources, span: Option<Range<usize>>, message: &str) -> Diagnostic {
    let message = message.trim_end().to_string();
    // A key named like a secret may sit on a line that holds one (a password
    // pasted where its variable's name belongs): never echo it.
    let line = span.as_ref().map_or("", |span| {
        let (file, offset) = sources.locate(span.start);
        let text = &file.text;
        let start = text[..offset.min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        text[start..].lines().next().unwrap_or("")
    });
    let key = line.split('=').next().unwrap_or(line).to_lowercase();
    // The message may name the key (`unknown field `api_token``); "key" alone
    // is TOML's word for any key (`duplicate key`), not a secret.
    // Only what the message names, not the fields it lists as expected
    // (`master_password_env`).
    let message_lower = message
        .split(", expected")
        .next()
        .unwrap_or("")
        .to_lowercase();
    let names_secret = |w: &&str| match *w {
        "key" => message_lower.contains("_key") || message_lower.contains("key_"),
        w => message_lower.contains(w),
    };
    let secret = SECRET_WORDS
        .iter()
        .any(|w| names_secret(w) || key.contains(w));
    let help = match secret {
        true => Some(
            "secrets never go in a stack file: name the environment variable that holds it, e.g. master_password_env = \"PROD_DB_PASSWORD\"".to_string(),
        ),
        false => closest_field(&message).map(|f| format!("did you mean `{f}`?")),
    };
    Diagnostic {
        span,
        help,
        message,
        quote: !secret,
    }
}

/// The expected field an unknown one is a typo of (serde's message:
/// "unknown field `instanse_class`, expected one of `identifier`, …").
fn closest_field(message: &str) -> Option<&str> {
    let (unknown, expected) = message
        .strip_prefix("unknown field `")?
        .split_once("`, expected ")?;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|field| (strsim::levenshtein(unknown, field), field))
        .filter(|(distance, field)| *distance <= 2.max(field.len() / 5))
        .min()
        .map(|(_, field)| field)
}

/// What a stack's name may be, said where one is refused.
pub const STACK_NAME_RULE: &str = "use up to 40 letters, digits and `-`, starting with a letter";

pub fn valid_stack_name(name: &str) -> bool {
    name.len() <= 40
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The record types a `dns_record` may have.
pub const RECORD_TYPES: &[&str] = &["A", "AAAA", "CNAME", "TXT", "MX"];

/// A DNS name as Route53 compares it: lowercase, without the final dot.
pub fn dns_name(name: &str) -> Option<String> {
    let name = name.trim_end_matches('.').to_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '*')
    };
    (name.len() <= 253 && name.contains('.') && name.split('.').all(label_ok)).then_some(name)
}

/// A forward's stickiness in seconds, as ELB takes it: 1 s to 7 days.
pub fn stickiness_seconds(text: &str) -> Result<i64, String> {
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}); write it as 30s, 5m or 1h"))?;
    let seconds = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    if (1..=604_800).contains(&seconds) && d.subsec_nanos() == 0 {
        Ok(seconds)
    } else {
        Err(format!(
            "stickiness `{text}` is out of range: ELB keeps a client 1 second to 7 days, in whole seconds"
        ))
    }
}

/// The availability zone a subnet's `zone` names in a region.
pub fn zone_name(region: &str, zone: &str) -> Option<String> {
    let is_letter = |s: &str| s.len() == 1 && s.chars().all(|c| c.is_ascii_lowercase());
    if is_letter(zone) {
        Some(format!("{region}{zone}"))
    } else {
        zone.strip_prefix(region)
            .filter(|l| is_letter(l))
            .map(|_| zone.to_string())
    }
}

/// Canonical protocol and port range of a rule: ("tcp", "80"), ("tcp", "8000-8100"), ("-1", "all").
pub fn rule_ports(rule: &RuleSpec) -> Result<(String, String), String> {
    let protocol = match rule.protocol.as_str() {
        "all" | "-1" => "-1".to_string(),
        "tcp" | "udp" | "icmp" => rule.protocol.clone(),
        n if n.parse::<u8>().is_ok() => n.to_string(),
        other => {
            return Err(format!(
                "unknown protocol `{other}`: use tcp, udp, icmp, all, or an IP protocol number"
            ))
        }
    };
    let range = match (rule.port, rule.from_port, rule.to_port) {
        (Some(p), None, None) => (p, p),
        (None, Some(f), Some(t)) => (f, t),
        (None, None, None) => (-1, -1),
        _ => return Err("give either `port`, or both `from_port` and `to_port`".to_string()),
    };
    if protocol == "-1" {
        return if range == (-1, -1) {
            Ok((protocol, "all".into()))
        } else {
            Err("a rule for all protocols takes no ports".into())
        };
    }
    if protocol == "icmp" {
        return Ok((protocol, format!("{}:{}", range.0, range.1)));
    }
    if range == (-1, -1) {
        return Err(format!(
            "a {protocol} rule needs `port` or `from_port`/`to_port`"
        ));
    }
    if !(0..=65535).contains(&range.0) || !(0..=65535).contains(&range.1) || range.0 > range.1 {
        return Err(format!(
            "invalid port range {}-{}: ports are 0-65535, from ≤ to",
            range.0, range.1
        ));
    }
    Ok((
        protocol,
        if range.0 == range.1 {
            range.0.to_string()
        } else {
            format!("{}-{}", range.0, range.1)
        },
    ))
}

#[cfg(test)]
mod fuzz {
    //! The loader never panics, whatever it is given: arbitrary text, and the
    //! example stack with random edits (the near-misses a person makes).
    use super::parse;
    use proptest::prelude::*;
    use std::path::Path;

    const DEMO: &str = include_str!("../../stacks/demo.toml");

    fn load(text: String) {
        if let Err(e) = parse(Path::new("fuzz.toml"), text) {
            // Rendering the diagnostic slices the source by its spans.
            assert!(!e.to_string().is_empty());
        }
    }

    /// Pieces of the format, so that edits reach past the TOML parser.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("${".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("\"".to_string()),
            Just(" = ".to_string()),
            Just("\n".to_string()),
            Just("vpc.main".to_string()),
            Just("${vpc.main.id}".to_string()),
            Just("count = 3".to_string()),
            Just("é".to_string()),
            Just("10.0.0.0/33".to_string()),
            Just("{ default = 1 }".to_string()),
            "[a-z_.]{0,12}",
            any::<char>().prop_map(String::from),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn arbitrary_text_is_an_error_not_a_panic(text in ".{0,400}") {
            load(text);
        }

        #[test]
        fn an_edited_example_is_an_error_not_a_panic(
            edits in prop::collection::vec((0usize..DEMO.len(), 0usize..40, piece()), 1..6)
        ) {
            let mut text = DEMO.to_string();
            for (at, cut, insert) in edits {
                let mut start = at.min(text.len());
                while !text.is_char_boundary(start) {
                    start -= 1;
                }
                let mut end = (start + cut).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(start..end, &insert);
            }
            load(text);
        }
    }
}
