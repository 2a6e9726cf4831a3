//! Every check a stack file passes before the first AWS call: names, regions,
//! references and their kinds, per-region values, CIDRs and the network's
//! layout, kind-specific values, blue-green ownership, and dependency cycles.

use super::spec::{
    ActionSpec, BlueGreenSpec, Cidr, ForwardSpec, RawStack, Reference, Regional, DEFAULT_REGION_KEY,
};
use super::{
    action_targets, dns_name, field, interpolate, rule_ports, zone_name, BlueGreen, Diagnostic,
    ReferenceField, Resource, Spec, Stack, StackRole,
};
use crate::model::{Address, Kind, Service, REGIONS};
use petgraph::graph::{DiGraph, NodeIndex};

pub(super) mod alarm;
pub(super) mod balancing;
pub(super) mod certificate;
pub(super) mod compute;
pub(super) mod database;
pub(super) mod dns;
pub(super) mod iam;
pub mod import;
pub(super) mod network;
use crate::stack::spec::Spanned;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::path::Path;

#[derive(Default)]
pub(super) struct Checker {
    pub(super) diagnostics: Vec<Diagnostic>,
    /// What names each block in AWS where two blocks may collide on it
    /// (a listener's port, a group's name), as its kind's checks say
    /// (`Checker::identity`), and where to point.
    identities: Vec<(Address, String, Range<usize>)>,
}

fn blocks<T>(
    map: BTreeMap<String, Spanned<T>>,
    kind: Kind,
    wrap: fn(T) -> Spec,
) -> impl Iterator<Item = (Address, Range<usize>, Spec)> {
    map.into_iter().map(move |(name, s)| {
        let span = s.span();
        (Address::new(kind, name), span, wrap(s.into_inner()))
    })
}

/// From the registry: every block of every kind of a stack file, and each
/// kind's own checks (`Checker::<kind>`, in its family's file).
macro_rules! blocks_and_checks {
    ($($variant:ident $name:ident $family:ident :: $schema:ident $spec:ident [$($aws:tt)*],)*) => {
        /// Every block of every kind, taken out of `raw`, in the registry's order.
        fn every_block(raw: &mut RawStack) -> Vec<(Address, Range<usize>, Spec)> {
            let mut all = Vec::new();
            $(all.extend(blocks(std::mem::take(&mut raw.$name), Kind::$variant, Spec::$variant));)*
            all
        }

        impl Checker {
            /// The checks of the block's own kind.
            fn own_checks(&mut self, stack: &Stack, r: &Resource) {
                match &r.spec {
                    $(Spec::$variant(s) => self.$name(stack, r, s),)*
                }
            }
        }
    };
}
crate::model::kinds::kinds!(blocks_and_checks);

impl Checker {
    /// What names `r` in AWS, where two blocks may collide on it (checked
    /// once every block is: `collisions`), and where it is written.
    pub(super) fn identity(&mut self, r: &Resource, identity: String, span: Range<usize>) {
        self.identities.push((r.address.clone(), identity, span));
    }

    pub(super) fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::at(span, message));
        self.diagnostics.last_mut().expect("just pushed")
    }

    pub(super) fn build(&mut self, mut raw: RawStack, path: &Path) -> Stack {
        let all = every_block(&mut raw);
        let RawStack {
            stack: header,
            blue_green,
            moved,
            verify,
            change_window,
            rollout,
            ..
        } = raw;
        let name = header.name.get_ref();
        if !crate::stack::valid_stack_name(name) {
            self.error(header.name.span(), format!("invalid stack name `{name}`"))
                .help = Some(format!(
                "{}; it is the value of the reconcile:stack tag",
                crate::stack::STACK_NAME_RULE
            ));
        }
        let regions = self.regions(&header.regions, None);
        let tags: BTreeMap<String, String> = header
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.get_ref().clone()))
            .collect();

        let mut resources = BTreeMap::new();
        let all = all
            .into_iter()
            .flat_map(|(address, span, spec)| self.expand_count(address, span, spec))
            .collect::<Vec<_>>();
        for (address, span, spec) in all {
            if Address::parse(&address.to_string()).is_none() {
                self.error(
                    span.clone(),
                    format!("invalid resource name `{}`", address.name),
                )
                .help = Some(
                    "use lowercase letters, digits, `_` and `-`, starting with a letter".into(),
                );
            }
            let mut own_regions = match spec.common().regions {
                Some(own) => self.regions(own, Some(&regions)),
                None => regions.clone(),
            };
            // Route53 and IAM are global: such a block lives once, homed in one
            // region of the stack (the first unless it names one), where its
            // references resolve.
            if spec.kind().service().global() {
                if own_regions.len() > 1 && spec.common().regions.is_some() {
                    let (what, help) = match spec.kind().service() {
                        Service::Iam => ("IAM", "one role or instance profile serves every region of the stack"),
                        _ => ("DNS", "records in several regions would collide; alias each region's load balancer from its own record"),
                    };
                    self.error(
                        span.clone(),
                        format!("{address}: {what} is global; name at most one home region"),
                    )
                    .help = Some(help.into());
                }
                own_regions.truncate(1);
            }
            resources.insert(
                address.clone(),
                Resource {
                    address,
                    spec,
                    regions: own_regions,
                    span,
                },
            );
        }

        let accounts = self.accounts(header.account.as_ref());
        let mut stack = Stack {
            name: name.clone(),
            regions,
            version: header.version,
            tags,
            approval: header.approval,
            role: header.role.as_ref().and_then(|r| self.role(r, &accounts)),
            accounts,
            policies: self.policies(path, &header.policies),
            resources,
            blue_green: BTreeMap::new(),
            moved: BTreeMap::new(),
            checks: Vec::new(),
            change_window: Default::default(),
            rollout: None,
            path: path.to_path_buf(),
            sources: Default::default(),
            vars: Default::default(),
        };
        // The stack's tags go on every resource: they must suit every service.
        let strictest = stack
            .resources
            .values()
            .map(|r| r.address.kind.service())
            .find(|s| s.restricts_tag_characters());
        for (k, v) in &header.tags {
            self.tag(k, v, strictest);
        }
        for r in stack.resources.values() {
            self.resource(&stack, r);
        }
        for (name, block) in blue_green {
            if let Some((owner, pair)) = self.blue_green(&stack, name, block) {
                stack.blue_green.insert(owner, pair);
            }
        }
        stack.moved = self.moved(&stack, &moved);
        stack.checks = self.checks(&stack, verify);
        stack.change_window = self.change_window(change_window);
        stack.rollout = rollout.and_then(|r| self.rollout(&stack, r));
        self.network_layout(&stack);
        self.collisions(&stack);
        self.cycles(&stack);
        stack
    }

    /// A literal ARN of a regional service names a resource of one region
    /// (and partition): a block in another cannot use it (a listener takes
    /// a certificate of its own region). Said here, not by AWS halfway
    /// through an apply. A global block (a DNS alias) may name any region's.
    fn arn_region(&mut self, r: &Resource, field: &ReferenceField, id: &str) {
        let Some(rest) = id.strip_prefix("arn:") else {
            return;
        };
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [partition, _service, region, _account, _resource] = parts[..] else {
            self.error(
                field.reference.span(),
                format!("`{id}` is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)"),
            );
            return;
        };
        if region.is_empty() || r.address.kind.service().global() {
            return;
        }
        let expected = field.expected;
        for own in &r.regions {
            let own_partition = match own.as_str() {
                o if o.starts_with("cn-") => "aws-cn",
                o if o.starts_with("us-gov-") => "aws-us-gov",
                _ => "aws",
            };
            if region != own || partition != own_partition {
                self.error(
                    field.reference.span(),
                    format!(
                        "`{}` of {} names {} {expected} of {region} (`{id}`), but the block is in {own}: \
                         AWS takes only one of the block's own region there",
                        field.field,
                        r.address,
                        article(expected)
                    ),
                )
                .help = Some(format!(
                    "name the {expected} of {own} (a block with `regions` per region, or \
                     {} {expected} block of this stack, made in each region)",
                    article(expected)
                ));
                return;
            }
        }
    }

    /// `[stack] account`: twelve digits each, as AWS writes an account id.
    fn accounts(&mut self, account: Option<&Spanned<super::spec::OneOrMany>>) -> Vec<String> {
        let Some(account) = account else {
            return vec![];
        };
        let ids = &account.get_ref().0;
        for id in ids {
            if id.len() != 12 || !id.chars().all(|c| c.is_ascii_digit()) {
                self.error(
                    account.span(),
                    format!("`{id}` is not an AWS account id"),
                )
                .help = Some("an account id is 12 digits, as `aws sts get-caller-identity` prints it (quoted: \"012345678901\")".into());
            }
        }
        if ids.is_empty() {
            self.error(account.span(), "`account` names no account")
                .help =
                Some("name the account the stack lives in: account = \"012345678901\"".into());
        }
        ids.clone()
    }

    /// `[stack] role`: role ARNs, a session of 15 minutes to 12 hours.
    /// A role of another account than the stack's is refused: it could
    /// only fail the account guard.
    fn role(
        &mut self,
        role: &Spanned<super::spec::RoleSpec>,
        accounts: &[String],
    ) -> Option<StackRole> {
        use super::spec::RoleSpec;
        let role_table = match role.get_ref() {
            RoleSpec::Arn(arn) => super::spec::RoleTable {
                arn: arn.clone(),
                plan: None,
                external_id: None,
                duration: None,
            },
            RoleSpec::Table(table) => table.clone(),
        };
        let before = self.diagnostics.len();
        for arn in std::iter::once(&role_table.arn).chain(&role_table.plan) {
            if !is_role_arn(arn) {
                self.error(role.span(), format!("`{arn}` is not an IAM role's ARN"))
                    .help = Some(
                    "a role's ARN reads arn:aws:iam::ACCOUNT:role/NAME (with its path, if it has one)"
                        .into(),
                );
                continue;
            }
            let account = arn.split(':').nth(4).unwrap_or_default();
            if !accounts.is_empty() && !accounts.iter().any(|a| a == account) {
                self.error(
                    role.span(),
                    format!(
                        "role `{arn}` is of account {account}, not of the stack's ({})",
                        accounts.join(", ")
                    ),
                )
                .help = Some(
                    "name the role of the account the stack lives in ([stack] account)".into(),
                );
            }
        }
        let duration = role_table.duration.as_deref().and_then(|text| {
            match humantime::parse_duration(text) {
                Ok(d) if (900..=43_200).contains(&d.as_secs()) => Some(d),
                _ => {
                    self.error(
                        role.span(),
                        format!("`duration = \"{text}\"` is not a session length AWS grants"),
                    )
                    .help = Some(
                        "a role's session lasts 15m to 12h (and at most the role's maximum session duration)"
                            .into(),
                    );
                    None
                }
            }
        });
        if role_table.external_id.as_ref().is_some_and(|id| {
            !(2..=1224).contains(&id.len())
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c))
        }) {
            self.error(role.span(), "`external_id` is not one AWS accepts")
                .help = Some("2 to 1,224 letters, digits and + = , . @ : / - _".into());
        }
        (self.diagnostics.len() == before).then_some(StackRole {
            arn: role_table.arn,
            plan: role_table.plan,
            external_id: role_table.external_id,
            duration,
        })
    }

    /// `[[moved]]`: each `from` an address no block has any more, each `to` a
    /// declared block of the same kind, each `from` once.
    fn moved(
        &mut self,
        stack: &Stack,
        moves: &[Spanned<super::spec::MovedSpec>],
    ) -> BTreeMap<Address, Address> {
        let mut out = BTreeMap::new();
        for m in moves {
            let m = m.get_ref();
            let parse = |s: &Spanned<String>| Address::parse(s.get_ref());
            let (Some(from), Some(to)) = (parse(&m.from), parse(&m.to)) else {
                for s in [&m.from, &m.to] {
                    if parse(s).is_none() {
                        self.error(
                            s.span(),
                            format!("`{}` is not an address like subnet.a", s.get_ref()),
                        );
                    }
                }
                continue;
            };
            if from.kind != to.kind {
                self.error(
                    m.to.span(),
                    format!("a {} cannot become a {}", from.kind, to.kind),
                );
            } else if from.kind == Kind::Alarm {
                self.error(
                    m.from.span(),
                    "an alarm is named after its block: rename it by replacing it",
                );
            } else if stack.resources.contains_key(&from) {
                self.error(m.from.span(), format!("{from} is still declared: a move is from an address the file no longer has"));
            } else if !stack.resources.contains_key(&to) {
                self.error(
                    m.to.span(),
                    format!("dangling reference: `{to}` is not declared in this stack"),
                );
            } else if out.insert(from.clone(), to).is_some() {
                self.error(m.from.span(), format!("{from} is moved twice"));
            }
        }
        out
    }

    /// Two blocks that would be one thing in AWS (a listener port, a group
    /// name, a DNS name and type, a generated RDS name): the second would fail
    /// on the first, or overwrite it, and the stack would never converge.
    fn collisions(&mut self, stack: &Stack) {
        let mut seen: HashMap<(&str, String), &Address> = HashMap::new();
        // In file order: the block written later is the one in the way.
        let mut identities = std::mem::take(&mut self.identities);
        identities.sort_by_key(|(address, _, _)| stack.resources[address].span.start);
        for (address, identity, span) in identities {
            let r = &stack.resources[&address];
            for region in &r.regions {
                match seen.get(&(region.as_str(), identity.clone())) {
                    Some(first) => {
                        self.error(
                            span.clone(),
                            format!(
                                "{} and {first} are the same {identity} in {region}",
                                r.address
                            ),
                        )
                        .help = Some("give one of them another value, or remove one".into());
                        break;
                    }
                    None => {
                        seen.insert((region.as_str(), identity.clone()), &r.address);
                    }
                }
            }
        }
    }

    /// `count = N` on an instance block declares `instance.name[0]` … `[N-1]`.
    fn expand_count(
        &mut self,
        address: Address,
        span: Range<usize>,
        spec: Spec,
    ) -> Vec<(Address, Range<usize>, Spec)> {
        let Spec::Instance(instance) = &spec else {
            return vec![(address, span, spec)];
        };
        let Some(count) = &instance.count else {
            return vec![(address, span, spec)];
        };
        if !(0..=100).contains(count.get_ref()) {
            self.error(
                count.span(),
                format!("{address}: count must be between 0 and 100"),
            );
            return vec![];
        }
        (0..*count.get_ref())
            .map(|i| {
                let indexed = Address::new(Kind::Instance, format!("{}[{i}]", address.name));
                (indexed, span.clone(), Spec::Instance(instance.clone()))
            })
            .collect()
    }

    fn blue_green(
        &mut self,
        stack: &Stack,
        name: String,
        block: Spanned<BlueGreenSpec>,
    ) -> Option<(Address, BlueGreen)> {
        let span = block.span();
        let b = block.into_inner();
        let owner = match (&b.listener, &b.listener_rule) {
            (Some(l), None) => (l, Kind::Listener),
            (None, Some(r)) => (r, Kind::ListenerRule),
            _ => {
                self.error(
                    span,
                    format!(
                        "blue_green.{name} needs exactly one of `listener` and `listener_rule`"
                    ),
                );
                return None;
            }
        };
        let colours = [(&b.blue, "blue"), (&b.green, "green")];
        let mut ok = true;
        for (colour, _) in colours {
            match colour.get_ref() {
                Reference::Resource(a)
                    if a.kind == Kind::TargetGroup && stack.resources.contains_key(a) => {}
                Reference::LiveId(id) if Kind::TargetGroup.is_live_id(id) => {}
                other => {
                    self.error(colour.span(), format!("blue_green.{name}: a colour must name a target group of the stack, found {other:?}"));
                    ok = false;
                }
            }
        }
        if b.blue.get_ref() == b.green.get_ref() {
            self.error(
                b.green.span(),
                format!("blue_green.{name}: blue and green are the same target group"),
            );
            ok = false;
        }
        let Reference::Resource(owner_address) = owner.0.get_ref() else {
            self.error(
                owner.0.span(),
                format!("blue_green.{name} must name a {} of this stack", owner.1),
            );
            return None;
        };
        let action = match stack.resources.get(owner_address).map(|r| &r.spec) {
            Some(Spec::Listener(l)) if owner.1 == Kind::Listener => l.default_action.get_ref(),
            Some(Spec::ListenerRule(r)) if owner.1 == Kind::ListenerRule => r.action.get_ref(),
            _ => {
                self.error(
                    owner.0.span(),
                    format!(
                        "blue_green.{name}: `{owner_address}` is not a {} of this stack",
                        owner.1
                    ),
                );
                return None;
            }
        };
        for target in action_targets(action) {
            if target.get_ref() != b.blue.get_ref() && target.get_ref() != b.green.get_ref() {
                let d = self.error(
                    target.span(),
                    format!("{owner_address} forwards outside blue_green.{name}'s colours"),
                );
                d.help = Some(
                    "a blue-green action forwards to its blue and green target groups only".into(),
                );
                ok = false;
            }
        }
        if stack.blue_green.contains_key(owner_address) {
            self.error(
                owner.0.span(),
                format!("{owner_address} is owned by two blue_green blocks"),
            );
            ok = false;
        }
        ok.then(|| {
            let min_healthy = b
                .min_healthy
                .and_then(|m| match u32::try_from(*m.get_ref()) {
                    Ok(n) if n >= 1 => Some(n),
                    _ => {
                        self.error(
                            m.span(),
                            format!("blue_green.{name}: min_healthy must be at least 1"),
                        );
                        None
                    }
                });
            let steps = match &b.steps {
                None => vec![10, 50, 100],
                Some(steps) => {
                    if let Err(message) = super::check_steps(steps.get_ref()) {
                        self.error(steps.span(), format!("blue_green.{name}: {message}"));
                    }
                    steps.get_ref().clone()
                }
            };
            let mut duration = |value: &Option<Spanned<String>>, default: u64| {
                let Some(text) = value else {
                    return std::time::Duration::from_secs(default);
                };
                humantime::parse_duration(text.get_ref()).unwrap_or_else(|e| {
                    self.error(
                        text.span(),
                        format!("blue_green.{name}: `{}` is not a duration ({e}); write it as 30s, 5m or 1h", text.get_ref()),
                    );
                    std::time::Duration::from_secs(default)
                })
            };
            let (bake, every) = (duration(&b.bake, 300), duration(&b.every, 30));
            if every.is_zero() {
                if let Some(e) = &b.every {
                    self.error(e.span(), format!("blue_green.{name}: every must be more than zero"));
                }
            }
            let pair = BlueGreen {
                name: name.clone(),
                blue: b.blue.into_inner(),
                green: b.green.into_inner(),
                min_healthy,
                steps,
                bake,
                every,
            };
            (owner_address.clone(), pair)
        })
    }

    fn one_of(&mut self, span: Range<usize>, what: &str, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.error(span, format!("unknown {what} `{value}`")).help =
                Some(format!("use one of: {}", allowed.join(", ")));
        }
    }

    fn in_range(&mut self, value: &Spanned<i64>, what: &str, range: std::ops::RangeInclusive<i64>) {
        if !range.contains(value.get_ref()) {
            self.error(
                value.span(),
                format!(
                    "{what} {} is out of range {}-{}",
                    value.get_ref(),
                    range.start(),
                    range.end()
                ),
            );
        }
    }

    fn action(&mut self, action: &Spanned<ActionSpec>) {
        let a = action.get_ref();
        let given = [
            a.forward.is_some(),
            a.fixed_response.is_some(),
            a.redirect.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            self.error(
                action.span(),
                "an action needs exactly one of `forward`, `fixed_response` and `redirect`",
            );
        }
        if let Some(stickiness) = &a.stickiness {
            if a.forward.is_none() {
                self.error(stickiness.span(), "`stickiness` is for a forward")
                    .help = Some("remove it, or forward to target groups".into());
            } else if let Err(message) = super::stickiness_seconds(stickiness.get_ref()) {
                self.error(stickiness.span(), message);
            }
        }
        if let Some(ForwardSpec::Weighted(targets)) = a.forward.as_ref().map(|f| f.get_ref()) {
            if targets.is_empty() || targets.iter().any(|t| !(0..=999).contains(&t.weight)) {
                self.error(
                    action.span(),
                    "a weighted forward needs target groups with weights 0-999",
                );
            }
        }
        if let Some(f) = &a.fixed_response {
            if !(200..=599).contains(&f.status) {
                self.error(
                    action.span(),
                    format!(
                        "fixed_response status {} is not an HTTP status 200-599",
                        f.status
                    ),
                );
            }
        }
        if let Some(r) = &a.redirect {
            self.one_of(
                action.span(),
                "redirect status",
                &r.status,
                &["HTTP_301", "HTTP_302"],
            );
        }
    }

    pub(super) fn regions(
        &mut self,
        list: &Spanned<Vec<Spanned<String>>>,
        within: Option<&[String]>,
    ) -> Vec<String> {
        if list.get_ref().is_empty() {
            self.error(list.span(), "`regions` is empty").help =
                Some("name at least one region, for example [\"us-west-2\"]".into());
        }
        let mut seen = Vec::new();
        for r in list.get_ref() {
            let name = r.get_ref();
            if seen.contains(name) {
                self.error(r.span(), format!("region `{name}` is listed twice"));
            } else if !REGIONS.contains(&name.as_str()) {
                let d = self.error(r.span(), format!("unknown region `{name}`"));
                d.help = Some(format!("known regions: {}", REGIONS.join(", ")));
            } else if within.is_some_and(|w| !w.contains(name)) {
                let d = self.error(
                    r.span(),
                    format!("region `{name}` is not a region of the stack"),
                );
                d.help = Some("add it to [stack] regions, or remove it here".into());
            }
            seen.push(name.clone());
        }
        seen
    }

    /// The `${kind.name.attr}` interpolations of `text` (at `span`): each names
    /// a declared block and an attribute its kind exports.
    pub(super) fn interpolations(&mut self, stack: &Stack, span: Range<usize>, text: &str) {
        match interpolate::parse(text) {
            Err(message) => {
                self.error(span.clone(), message);
            }
            Ok(found) => {
                for i in found {
                    match stack.resources.get(&i.target) {
                        None => {
                            self.error(
                                span.clone(),
                                format!(
                                    "dangling reference: `{}` is not declared in this stack",
                                    i.target
                                ),
                            );
                        }
                        Some(_) if !i.target.kind.exports().contains(&i.attribute.as_str()) => {
                            let d = self.error(
                                span.clone(),
                                format!("a {} has no attribute `{}`", i.target.kind, i.attribute),
                            );
                            d.help =
                                Some(format!("available: {}", i.target.kind.exports().join(", ")));
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }

    /// A user's tag, as every service that carries it takes tags: `service`,
    /// when it restricts their characters (`restricts_tag_characters`).
    /// `[stack] policies`, resolved against the stack file's directory; one
    /// that is not there is a located error.
    fn policies(&mut self, path: &Path, listed: &[Spanned<String>]) -> Vec<std::path::PathBuf> {
        let base = path.parent().unwrap_or(Path::new("."));
        let mut out = Vec::new();
        for p in listed {
            let resolved = base.join(p.get_ref());
            if !resolved.exists() {
                self.error(
                    p.span(),
                    format!(
                        "policies: `{}` is not there ({} does not exist)",
                        p.get_ref(),
                        resolved.display()
                    ),
                )
                .help = Some(
                    "a path relative to this stack file: a directory of .rego files, or one file"
                        .into(),
                );
            }
            out.push(resolved);
        }
        out
    }

    fn tag(&mut self, key: &str, value: &Spanned<String>, service: Option<Service>) {
        if crate::model::tags::is_managed(key) {
            self.error(value.span(), format!("tag `{key}` is reserved"))
                .help = Some(
                "tags starting with reconcile: and aws: are managed by reconcile and AWS".into(),
            );
        }
        // AWS's limits on every service: keys 1–128 characters, values up to 256.
        let v = value.get_ref();
        if key.is_empty() || key.chars().count() > 128 || v.chars().count() > 256 {
            self.error(value.span(), format!("tag `{key}` is too long"))
                .help =
                Some("AWS takes tag keys of 1 to 128 characters and values of up to 256".into());
        }
        if let Some(service) = service {
            let bad: String = key
                .chars()
                .chain(v.chars())
                .filter(|c| !tag_character(*c))
                .collect();
            if !bad.is_empty() {
                self.error(value.span(), format!("tag `{key}` = \"{v}\": {service} refuses the characters `{bad}` in tags"))
                    .help = Some("ELBv2 and RDS take letters, digits, spaces and _ . : / = + - @ in tag keys and values".into());
            }
        }
    }

    /// A resource's tags fit what AWS allows on it, beside the tags reconcile
    /// writes itself (`Schema::tags`).
    fn tag_budget(&mut self, stack: &Stack, r: &Resource) {
        let tags = r.spec.common().tags;
        let crate::model::schema::TagBudget { own, limit } = r.address.kind.schema().tags;
        // A kind that carries no tags (DNS records) takes none of the stack's;
        // a block of it that names some is told so.
        let users = stack
            .tags
            .keys()
            .filter(|_| limit > 0)
            .chain(tags.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        if users > 0 && users + own > limit {
            let span = tags.values().next().map_or(r.span.clone(), |v| v.span());
            let kind = r.address.kind;
            self.error(span, format!(
                "{}: {users} tags of the stack and the block, and reconcile writes up to {own} of its own, but AWS allows {limit} on a {kind}",
                r.address
            ))
            .help = Some(match limit.checked_sub(own) {
                Some(0) | None => format!("a {kind} carries no tags of yours"),
                Some(room) => format!("keep at most {room} tags on a {kind} (the stack's [stack] tags count)"),
            });
        }
    }

    fn resource(&mut self, stack: &Stack, r: &Resource) {
        let common = r.spec.common();
        let kind = r.spec.kind();
        for attr in common.ignore_changes {
            if !kind.attributes().contains(&attr.get_ref().as_str()) {
                let d = self.error(
                    attr.span(),
                    format!(
                        "{}: ignore_changes names unknown attribute `{}`",
                        r.address,
                        attr.get_ref()
                    ),
                );
                d.help = Some(format!(
                    "attributes of a {kind}: {}",
                    kind.attributes().join(", ")
                ));
            }
        }
        let service = Some(kind.service()).filter(|s| s.restricts_tag_characters());
        for (key, value) in common.tags {
            self.tag(key, value, service);
        }
        self.tag_budget(stack, r);
        self.import(r);
        for value in r.spec.templates() {
            self.interpolations(stack, value.span(), value.get_ref());
        }
        for field in r.spec.references() {
            self.reference(stack, r, &field);
        }
        self.own_checks(stack, r);
    }

    fn reference(&mut self, stack: &Stack, r: &Resource, field: &ReferenceField) {
        let span = field.reference.span();
        match field.reference.get_ref() {
            Reference::SelfGroup if r.spec.kind() == Kind::SecurityGroup => {}
            Reference::SelfGroup => {
                self.error(
                    span,
                    format!(
                        "`self` is only meaningful in a security group rule ({}.{})",
                        r.address, field.field
                    ),
                );
            }
            Reference::LiveId(id) => {
                if !field.expected.is_live_id(id) {
                    let expected = field.expected;
                    let d = self.error(
                        span,
                        format!(
                            "`{}` must name {} {expected}, and `{id}` is not {} {expected} id",
                            field.field,
                            article(expected),
                            article(expected)
                        ),
                    );
                    if let Some(kind) = Kind::ALL.iter().find(|k| k.is_live_id(id)) {
                        d.help = Some(match *kind {
                            Kind::NatGateway => format!("`{id}` is a NAT gateway: a route names it as nat_gateway = \"{id}\" (or a nat_gateway block, nat_gateway = \"nat_gateway.NAME\")"),
                            other => format!("`{id}` is {} {other}", article(other)),
                        });
                    }
                } else {
                    self.arn_region(r, field, id);
                }
            }
            Reference::Resource(target) => {
                if target.kind != field.expected {
                    self.error(
                        span,
                        format!(
                            "`{}` must name {} {}, found {target}",
                            field.field,
                            article(field.expected),
                            field.expected
                        ),
                    );
                    return;
                }
                let Some(t) = stack.resources.get(target) else {
                    let known: Vec<String> = stack
                        .resources
                        .keys()
                        .filter(|a| a.kind == target.kind)
                        .map(|a| a.to_string())
                        .collect();
                    let d = self.error(
                        span,
                        format!("dangling reference: `{target}` is not declared in this stack"),
                    );
                    d.help = Some(if known.is_empty() {
                        format!("declare [{target}]")
                    } else {
                        format!("declared {}s: {}", target.kind, known.join(", "))
                    });
                    return;
                };
                // A DNS zone is global: referred to from any region, it
                // lives in its home.
                let global = target.kind.service().global();
                let missing: Vec<&String> = r
                    .regions
                    .iter()
                    .filter(|reg| !global && !t.in_region(reg))
                    .collect();
                if !missing.is_empty() {
                    self.error(
                        span,
                        format!(
                            "{} exists in {} but {target} does not",
                            r.address,
                            missing
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
            }
        }
    }

    fn regional<T: std::fmt::Debug>(
        &mut self,
        r: &Resource,
        field: &str,
        value: &Spanned<Regional<T>>,
    ) {
        if let Regional::ByRegion(m) = value.get_ref() {
            for key in m.keys() {
                if key != DEFAULT_REGION_KEY && !r.regions.contains(key) {
                    let d = self.error(value.span(), format!("{}.{field} has a value for `{key}`, which is not a region of this resource", r.address));
                    d.help = Some(format!("regions: {}", r.regions.join(", ")));
                }
            }
        }
        for region in &r.regions {
            if value.get_ref().get(region).is_none() {
                let d = self.error(
                    value.span(),
                    format!("{}.{field} has no value for region {region}", r.address),
                );
                d.help = Some(format!("add `{region} = …` or `{DEFAULT_REGION_KEY} = …`"));
            }
        }
    }

    fn cidr_values(&mut self, r: &Resource, field: &str, value: &Spanned<Regional<Cidr>>) {
        self.regional(r, field, value);
        for region in &r.regions {
            if let Some(c) = value.get_ref().get(region) {
                if !(16..=28).contains(&c.0.prefix_len()) {
                    let d = self.error(
                        value.span(),
                        format!("{}: CIDR {c} is outside what AWS allows", r.address),
                    );
                    d.help = Some("VPC and subnet blocks must be between /16 and /28".into());
                }
            }
        }
    }

    /// Cross-resource network checks: subnets inside their VPC and not overlapping,
    /// one internet gateway per VPC, one route table per subnet.
    fn network_layout(&mut self, stack: &Stack) {
        let spec_of = |a: &Address| stack.resources.get(a).map(|r| &r.spec);
        type Placed<'a> = (&'a Address, Cidr, Range<usize>);
        let mut subnets_by_vpc: HashMap<(&Address, &str), Vec<Placed>> = HashMap::new();
        let mut gateways: HashMap<&Reference, &Address> = HashMap::new();
        let mut associated: HashMap<&Reference, &Address> = HashMap::new();
        for r in stack.resources.values() {
            match &r.spec {
                Spec::Subnet(s) => {
                    let Some(vpc) = s.vpc.get_ref().address() else {
                        continue;
                    };
                    let Some(Spec::Vpc(v)) = spec_of(vpc) else {
                        continue;
                    };
                    for region in &r.regions {
                        let (Some(sub), Some(outer)) =
                            (s.cidr.get_ref().get(region), v.cidr.get_ref().get(region))
                        else {
                            continue;
                        };
                        if !outer.0.contains(&sub.0) {
                            let d = self.error(
                                s.cidr.span(),
                                format!(
                                    "{}: {sub} is not inside {vpc}'s {outer} in {region}",
                                    r.address
                                ),
                            );
                            d.help = Some(format!("pick a block within {outer}"));
                        }
                        subnets_by_vpc.entry((vpc, region)).or_default().push((
                            &r.address,
                            *sub,
                            s.cidr.span(),
                        ));
                    }
                }
                Spec::InternetGateway(g) => {
                    if let Some(vpc) = &g.vpc {
                        if let Some(other) = gateways.insert(vpc.get_ref(), &r.address) {
                            let d = self.error(
                                vpc.span(),
                                format!("{} and {other} attach to the same VPC", r.address),
                            );
                            d.help = Some("a VPC takes one internet gateway".into());
                        }
                    }
                }
                Spec::RouteTable(t) => {
                    for subnet in &t.subnets {
                        if let Some(other) = associated.insert(subnet.get_ref(), &r.address) {
                            if other != &r.address {
                                let d = self.error(
                                    subnet.span(),
                                    format!(
                                        "subnet is associated with both {other} and {}",
                                        r.address
                                    ),
                                );
                                d.help = Some("a subnet has one route table".into());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let mut groups: Vec<_> = subnets_by_vpc.into_iter().collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for ((vpc, region), subnets) in groups {
            for (i, (a, ca, _)) in subnets.iter().enumerate() {
                for (b, cb, span) in &subnets[i + 1..] {
                    if ca.0.contains(&cb.0.network()) || cb.0.contains(&ca.0.network()) {
                        self.error(
                            span.clone(),
                            format!("{b} ({cb}) overlaps {a} ({ca}) in {vpc}, {region}"),
                        );
                    }
                }
            }
        }
    }

    fn cycles(&mut self, stack: &Stack) {
        let mut graph = DiGraph::<&Address, ()>::new();
        let nodes: BTreeMap<&Address, NodeIndex> = stack
            .resources
            .keys()
            .map(|a| (a, graph.add_node(a)))
            .collect();
        for r in stack.resources.values() {
            // Security groups naming each other are no cycle: their rules are
            // added once both exist.
            for dep in r.ordering_dependencies() {
                if let Some(&to) = nodes.get(&dep) {
                    graph.add_edge(nodes[&r.address], to, ());
                }
            }
        }
        for scc in petgraph::algo::tarjan_scc(&graph) {
            if scc.len() > 1 {
                let mut names: Vec<&Address> = scc.iter().map(|&n| graph[n]).collect();
                names.sort();
                let first = names[0];
                let path: Vec<String> = names
                    .iter()
                    .chain([&first])
                    .map(|a| a.to_string())
                    .collect();
                let d = self.error(
                    stack.resources[first].span.clone(),
                    format!("dependency cycle: {}", path.join(" → ")),
                );
                d.help = Some("break the cycle: one of these must not reference the other".into());
            }
        }
    }
}

/// How a block's reference reads in a message about what names it in AWS.
fn named(r: &Resource, reference: &Reference) -> String {
    match reference {
        Reference::Resource(a) => a.to_string(),
        Reference::LiveId(id) => id.clone(),
        Reference::SelfGroup => r.address.to_string(),
    }
}

/// "a" or "an", as the kind's name is said.
fn article(kind: Kind) -> &'static str {
    match kind.as_str().starts_with(['a', 'e', 'i', 'o', 'u']) {
        true => "an",
        false => "a",
    }
}

fn tag_character(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

/// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts[..], ["arn", partition, "iam", "", account, resource]
        if partition.starts_with("aws")
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty() && !name.ends_with('/')))
}

#[cfg(test)]
mod tests {
    //! The validation rules, each on the demo stack with one mistake, and the
    //! diagnostic a person reads (snapshots).
    use crate::testing::DEMO;
    use std::path::Path;

    fn error(edit: impl Fn(&str) -> String) -> String {
        let source = edit(DEMO);
        assert_ne!(source, DEMO, "the edit applies");
        crate::stack::parse(Path::new("demo.toml"), source)
            .expect_err("the mistake is caught")
            .to_string()
    }

    #[test]
    fn a_reference_to_a_missing_block() {
        let e = error(|s| {
            s.replace(
                "vpc = \"vpc.main\"\ncidr = { us-west-2 = \"10.10.1.0/24\"",
                "vpc = \"vpc.mian\"\ncidr = { us-west-2 = \"10.10.1.0/24\"",
            )
        });
        insta::assert_snapshot!("missing_reference", e);
    }

    #[test]
    fn a_reference_to_a_block_of_the_wrong_kind() {
        let e = error(|s| {
            s.replace(
                "action = { forward = \"target_group.blue\" }",
                "action = { forward = \"instance.web_blue\" }",
            )
        });
        assert!(e.contains("demo.toml:"), "{e}");
        assert!(e.contains("target_group"), "{e}");
    }

    #[test]
    fn two_listeners_on_one_port() {
        // Put near the top, so that the snapshot does not move with the demo's length.
        let e = error(|s| {
            s.replacen(
                "[vpc.main]",
                "[listener.again]\nload_balancer = \"load_balancer.app\"\nport = 80\nprotocol = \"HTTP\"\ndefault_action = { fixed_response = { status = 404 } }\n\n[vpc.main]",
                1,
            )
        });
        insta::assert_snapshot!("listener_port_collision", e);
    }

    #[test]
    fn a_per_region_value_missing_for_a_region() {
        let e = error(|s| {
            s.replace(
                "cidr = { us-west-2 = \"10.10.0.0/16\", eu-west-1 = \"10.20.0.0/16\" }",
                "cidr = { us-west-2 = \"10.10.0.0/16\" }",
            )
        });
        assert!(e.contains("eu-west-1"), "{e}");
    }

    #[test]
    fn a_subnet_outside_its_vpc() {
        let e = error(|s| s.replace("10.10.1.0/24", "10.99.1.0/24"));
        assert!(e.contains("10.99.1.0/24"), "{e}");
    }

    #[test]
    fn an_account_that_is_not_twelve_digits() {
        let e = error(|s| {
            s.replace(
                "tags = { team = \"platform\" }",
                "tags = { team = \"platform\" }\naccount = [\"123456789012\", \"1234-5678\"]",
            )
        });
        assert!(e.contains("`1234-5678` is not an AWS account id"), "{e}");
        assert!(e.contains("12 digits"), "{e}");
    }

    #[test]
    fn a_reserved_tag() {
        let e = error(|s| {
            s.replace(
                "tags = { team = \"platform\" }",
                "tags = { \"reconcile:stack\" = \"x\" }",
            )
        });
        assert!(e.contains("reserved"), "{e}");
    }

    #[test]
    fn a_tag_elbv2_refuses_is_caught_at_load_where_it_is_written() {
        // Fine on the stack while only EC2 carries it: the demo has ELBv2.
        let e = error(|s| {
            s.replace(
                "tags = { team = \"platform\" }",
                "tags = { team = \"platform [core]\" }",
            )
        });
        assert!(e.contains("demo.toml:8:17: tag `team` = \"platform [core]\": elbv2 refuses the characters `[]` in tags"), "{e}");
        let network = "[stack]\nname = \"n\"\nregions = [\"us-west-2\"]\ntags = { team = \"platform [core]\" }\n\n[vpc.main]\ncidr = \"10.0.0.0/16\"\n";
        assert!(
            crate::stack::parse(Path::new("n.toml"), network.into()).is_ok(),
            "EC2 takes it"
        );
    }

    #[test]
    fn tags_beyond_what_aws_allows_on_a_hosted_zone_are_caught_at_load() {
        let zone = |tags: &str| {
            format!("[stack]\nname = \"z\"\nregions = [\"us-west-2\"]\ntags = {{ team = \"a\", owner = \"b\" }}\n\n[dns_zone.main]\nname = \"example.com\"\ntags = {tags}\n")
        };
        let parse = |text: String| crate::stack::parse(Path::new("z.toml"), text);
        assert!(
            parse(zone("{ cost = \"c\", env = \"d\" }")).is_ok(),
            "4 of the user's beside 6 of reconcile's"
        );
        let e = parse(zone("{ cost = \"c\", env = \"d\", app = \"e\" }"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("dns_zone.main: 5 tags of the stack and the block, and reconcile writes up to 6 of its own, but AWS allows 10 on a dns_zone"),
            "{e}"
        );
        assert!(e.contains("keep at most 4 tags on a dns_zone"), "{e}");
        // A record carries no tags: the stack's do not go on it, its own are refused.
        let record = |tags: &str| {
            format!("{}\n[dns_record.www]\nzone = \"dns_zone.main\"\nname = \"www.example.com\"\ntype = \"CNAME\"\nttl = 300\nvalues = [\"example.net\"]\n{tags}", zone("{}"))
        };
        assert!(parse(record("")).is_ok());
        let e = parse(record("tags = { app = \"e\" }"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("dns_record.www: 1 tags of the stack and the block")
                && e.contains("a dns_record carries no tags of yours"),
            "{e}"
        );
    }

    #[test]
    fn descriptions_ec2_refuses_are_caught_at_load() {
        let group = |description: &str, rule: &str| {
            let text = format!("[stack]\nname = \"g\"\nregions = [\"us-west-2\"]\n\n[vpc.main]\ncidr = \"10.0.0.0/16\"\n\n[security_group.web]\nvpc = \"vpc.main\"\ndescription = \"{description}\"\ningress = [{{ protocol = \"tcp\", port = 80, cidr = \"0.0.0.0/0\", description = \"{rule}\" }}]\n");
            crate::stack::parse(Path::new("g.toml"), text)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert!(group("web tier (public) & co", "from anywhere: [80]").is_ok());
        let e = group("the web tier's group", "ok").unwrap_err();
        assert!(e.contains("g.toml:10:15: security_group.web: EC2 refuses the characters `'` in a group description"), "{e}");
        let e = group("web", "Bob & Alice").unwrap_err();
        assert!(
            e.contains("security_group.web: EC2 refuses the characters `&` in a rule description"),
            "{e}"
        );
        let e = group(&"x".repeat(256), "ok").unwrap_err();
        assert!(
            e.contains("EC2 refuses more than 255 characters in a group description"),
            "{e}"
        );
    }

    #[test]
    fn names_cloudwatch_and_ec2_refuse_are_caught_at_load() {
        let alarm = |name: &str, description: &str| {
            let text = format!("[stack]\nname = \"a\"\nregions = [\"us-west-2\"]\n\n[alarm.{name}]\nnamespace = \"App\"\nmetric = \"Errors\"\nstatistic = \"Sum\"\nperiod = 60\nthreshold = 1\ncomparison = \"GreaterThanThreshold\"\ndescription = \"{description}\"\n");
            crate::stack::parse(Path::new("a.toml"), text)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert!(alarm("errors", "pages the on-call").is_ok());
        let e = alarm(&"e".repeat(254), "x").unwrap_err();
        assert!(
            e.contains("its name has 256 characters; CloudWatch takes 1 to 255"),
            "{e}"
        );
        let e = alarm("errors", &"d".repeat(1025)).unwrap_err();
        assert!(
            e.contains("description has 1025 characters; CloudWatch takes 0 to 1024"),
            "{e}"
        );
        let group = |name: &str| {
            let text = format!("[stack]\nname = \"g\"\nregions = [\"us-west-2\"]\n\n[vpc.main]\ncidr = \"10.0.0.0/16\"\n\n[security_group.web]\nvpc = \"vpc.main\"\nname = \"{name}\"\n");
            crate::stack::parse(Path::new("g.toml"), text)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert!(group("web (public)").is_ok());
        assert!(group("web's")
            .unwrap_err()
            .contains("security_group.web: invalid group name"));
    }

    #[test]
    fn an_rds_group_name_longer_than_rds_takes_is_caught_at_load() {
        let group = |name: &str| {
            let text = format!("[stack]\nname = \"g\"\nregions = [\"us-west-2\"]\n\n[db_parameter_group.{name}]\nfamily = \"postgres16\"\n");
            crate::stack::parse(Path::new("g.toml"), text)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert!(group("tuning").is_ok());
        let e = group(&"p".repeat(300)).unwrap_err();
        assert!(
            e.contains("its RDS name is 302 characters; RDS takes 255"),
            "{e}"
        );
    }

    #[test]
    fn a_role_is_an_iam_roles_arn_of_the_stacks_account_with_a_session_aws_grants() {
        let with = |role: &str| {
            let source = DEMO.replacen(
                "[stack]\n",
                &format!("[stack]\naccount = \"111111111111\"\nrole = {role}\n"),
                1,
            );
            crate::stack::parse(Path::new("demo.toml"), source)
        };
        let stack = with(
            "{ arn = \"arn:aws:iam::111111111111:role/ci/deploy\", plan = \"arn:aws:iam::111111111111:role/ci/plan\", external_id = \"shop-ci\", duration = \"2h\" }",
        )
        .expect("valid");
        let role = stack.role.expect("a role");
        assert_eq!(role.arn_for(true), "arn:aws:iam::111111111111:role/ci/plan");
        assert_eq!(
            role.arn_for(false),
            "arn:aws:iam::111111111111:role/ci/deploy"
        );
        assert_eq!(role.duration, Some(std::time::Duration::from_secs(7200)));
        for (role, says) in [
            (
                "\"arn:aws:iam::111111111111:user/ci\"",
                "is not an IAM role's ARN",
            ),
            (
                "\"arn:aws:iam::222222222222:role/deploy\"",
                "is of account 222222222222",
            ),
            (
                "{ arn = \"arn:aws:iam::111111111111:role/d\", duration = \"13h\" }",
                "is not a session length AWS grants",
            ),
            (
                "{ arn = \"arn:aws:iam::111111111111:role/d\", external_id = \"a b\" }",
                "`external_id` is not one AWS accepts",
            ),
        ] {
            let error = with(role).expect_err(role).to_string();
            assert!(error.contains(says), "{role}: {error}");
        }
    }

    #[test]
    fn a_literal_arn_of_another_region_than_its_blocks_is_refused_naming_both() {
        let arn = "arn:aws:elasticloadbalancing:ap-south-1:123456789012:targetgroup/blue/0123456789abcdef";
        let message = error(|demo| {
            demo.replacen(
                "action = { forward = \"target_group.blue\" }",
                &format!("action = {{ forward = \"{arn}\" }}"),
                1,
            )
        });
        assert!(
            message.contains(&format!(
                "`action` of listener_rule.app names a target_group of ap-south-1 (`{arn}`), but the block is in us-west-2"
            )),
            "{message}"
        );
        // One of its own region is taken (the check reads the region, nothing else).
        let own = arn.replace("ap-south-1", "us-west-2");
        let source = DEMO
            .replacen(
                "regions = [\"us-west-2\", \"eu-west-1\"]",
                "regions = [\"us-west-2\"]",
                1,
            )
            .replacen(
                "action = { forward = \"target_group.blue\" }",
                &format!("action = {{ forward = \"{own}\" }}"),
                1,
            );
        let loaded = crate::stack::parse(Path::new("demo.toml"), source);
        assert!(
            !loaded
                .as_ref()
                .err()
                .is_some_and(|e| e.to_string().contains("but the block is in")),
            "{:?}",
            loaded.err().map(|e| e.to_string())
        );
    }
}
