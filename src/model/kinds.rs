//! The registry: every kind reconcile manages, declared once.
//!
//! A line names the kind's `Kind` variant, its name in a stack file, its
//! `Schema` (`model::schema::<family>`: attributes, replacement, the AWS
//! service, import id, tag budget, Terraform types, IAM actions, the actions
//! that destroy its data), its block's serde type (in its family's file of
//! `stack::validate`) and where `aws` places it (its service's own kind).
//! Each layer hands `kinds!` a macro of its own that receives the whole list
//! and writes that layer's per-kind switch: `Kind` and `Kind::schema` here,
//! the `[kind.name]` tables of `RawStack`, `Spec` and its dispatch in
//! `stack`, the checker's chain, the desired form's dispatch in `desired`,
//! `place` in `aws::mutator`. By
//! convention the per-kind parts those switches call are named after the
//! kind (`Checker::db_subnet_group`, `desired::database::db_subnet_group`),
//! so a kind added here without them does not compile.
//!
//! The order is the order of discovery output and of `Kind::ALL`.

/// Calls `$then! { Variant name family::SCHEMA Spec [aws placement], … }`
/// with every kind.
macro_rules! kinds {
    ($then:ident) => {
        $then! {
            Vpc vpc network::VPC VpcSpec [Ec2(E::Vpc)],
            Subnet subnet network::SUBNET SubnetSpec [Ec2(E::Subnet)],
            InternetGateway internet_gateway network::INTERNET_GATEWAY InternetGatewaySpec [Ec2(E::InternetGateway)],
            NatGateway nat_gateway network::NAT_GATEWAY NatGatewaySpec [Ec2(E::NatGateway)],
            RouteTable route_table network::ROUTE_TABLE RouteTableSpec [Ec2(E::RouteTable)],
            SecurityGroup security_group network::SECURITY_GROUP SecurityGroupSpec [Ec2(E::SecurityGroup)],
            LoadBalancer load_balancer balancing::LOAD_BALANCER LoadBalancerSpec [Elb(L::LoadBalancer)],
            TargetGroup target_group balancing::TARGET_GROUP TargetGroupSpec [Elb(L::TargetGroup)],
            Listener listener balancing::LISTENER ListenerSpec [Elb(L::Listener)],
            ListenerRule listener_rule balancing::LISTENER_RULE ListenerRuleSpec [Elb(L::ListenerRule)],
            Instance instance compute::INSTANCE InstanceSpec [Ec2(E::Instance)],
            DbSubnetGroup db_subnet_group database::SUBNET_GROUP DbSubnetGroupSpec [Rds(R::SubnetGroup)],
            DbParameterGroup db_parameter_group database::PARAMETER_GROUP DbParameterGroupSpec [Rds(R::ParameterGroup)],
            DbInstance db_instance database::INSTANCE DbInstanceSpec [Rds(R::Instance)],
            Alarm alarm alarm::ALARM AlarmSpec [Alarm],
            DnsZone dns_zone dns::ZONE DnsZoneSpec [Dns(D::Zone)],
            DnsRecord dns_record dns::RECORD DnsRecordSpec [Dns(D::Record)],
            AcmCertificate acm_certificate certificate::CERTIFICATE AcmCertificateSpec [Certificate],
            IamRole iam_role iam::ROLE IamRoleSpec [Iam(I::Role)],
            InstanceProfile instance_profile iam::INSTANCE_PROFILE InstanceProfileSpec [Iam(I::InstanceProfile)],
            LaunchTemplate launch_template compute::LAUNCH_TEMPLATE LaunchTemplateSpec [Ec2(E::LaunchTemplate)],
            AutoscalingGroup autoscaling_group compute::AUTOSCALING_GROUP AutoscalingGroupSpec [Group],
        }
    };
}
pub(crate) use kinds;

/// `Kind`, from the registry.
macro_rules! declare_kind {
    ($($variant:ident $name:ident $family:ident :: $schema:ident $spec:ident [$($aws:tt)*],)*) => {
        /// A resource kind reconcile manages (`model::kinds`). The order is
        /// the order of discovery output.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum Kind {
            $($variant,)*
        }

        impl Kind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];

            /// What reconcile knows of the kind (`model::schema`).
            pub fn schema(self) -> &'static super::schema::Schema {
                use super::schema::*;
                match self {
                    $(Kind::$variant => &$family::$schema,)*
                }
            }
        }
    };
}

kinds!(declare_kind);

/// The kinds reference (`docs/kinds.md`), generated from the registry.
#[cfg(test)]
fn reference() -> String {
    use super::schema::{Import, TerraformId};
    let list = |names: &[&str]| match names {
        [] => "—".to_string(),
        names => names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut out = String::from(
        "# Kinds\n\n\
         Generated from the registry (`src/model/kinds.rs` and each kind's `Schema` in\n\
         `src/model/schema/`): do not edit. `RECONCILE_WRITE_SCHEMA=1 cargo test --bin \
         reconcile kinds` writes it again.\n",
    );
    for &kind in Kind::ALL {
        let s = kind.schema();
        let service = s.service;
        let home = if service.global() {
            "global (homed in one region of the stack)"
        } else {
            "regional"
        };
        let import = match &s.import {
            Import::No => "no".to_string(),
            Import::ById => "by its id".to_string(),
            Import::ByName { max, extra } => {
                format!("by name (1 to {max} letters, digits or `{extra}`)")
            }
            Import::DbIdentifier => "by DB instance identifier".to_string(),
            Import::AlarmName => "by alarm name".to_string(),
            Import::RecordNameType => "by `NAME TYPE`".to_string(),
        };
        let terraform = match &s.terraform {
            None => "—".to_string(),
            Some(t) => format!(
                "{} (import id: {})",
                list(t.types),
                match t.id {
                    TerraformId::Attribute(a) => format!("`{a}`"),
                    TerraformId::RecordNameType => "`NAME TYPE`".to_string(),
                }
            ),
        };
        let attributes: Vec<String> = s
            .attributes
            .iter()
            .map(|a| match s.forces_replacement.contains(a) {
                true => format!("`{a}` (forces replacement)"),
                false => format!("`{a}`"),
            })
            .collect();
        out.push_str(&format!(
            "\n## `{kind}`\n\n\
             | | |\n|---|---|\n\
             | service | {service}, {home} |\n\
             | attributes | {} |\n\
             | exports | {} |\n\
             | replaced | {} |\n\
             | import | {import} |\n\
             | Terraform | {terraform} |\n\
             | tags | reconcile writes up to {}, AWS allows {} |\n\
             | IAM: read | {} |\n\
             | IAM: create | {} |\n\
             | IAM: update | {} |\n\
             | IAM: delete | {} |\n\
             | destroys data | {} |\n",
            attributes.join(", "),
            list(s.exports),
            match s.replace_order {
                super::ReplaceOrder::CreateFirst => "create-first",
                super::ReplaceOrder::DeleteFirst => "delete-first",
            },
            s.tags.own,
            s.tags.limit,
            list(s.iam.read),
            list(s.iam.create),
            list(s.iam.update),
            list(s.iam.delete),
            list(s.destroys),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/kinds.md` is what the registry makes: a kind changed and not
    /// written again fails here.
    #[test]
    fn the_kinds_reference_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/kinds.md");
        let wanted = reference();
        if std::env::var_os("RECONCILE_WRITE_SCHEMA").is_some() {
            std::fs::write(&path, &wanted).expect("docs/kinds.md is writable");
        }
        let found = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            found == wanted,
            "docs/kinds.md is stale: RECONCILE_WRITE_SCHEMA=1 cargo test --bin reconcile kinds"
        );
    }

    /// Every IAM action is `service:Action` of a service reconcile calls, and
    /// every kind can be read, created and deleted with what it names.
    #[test]
    fn every_kind_names_its_iam_actions() {
        let prefixes = [
            "ec2",
            "elasticloadbalancing",
            "rds",
            "cloudwatch",
            "route53",
            "acm",
            "iam",
            "autoscaling",
            "tag",
        ];
        for &kind in Kind::ALL {
            let s = kind.schema();
            let iam = &s.iam;
            for (what, actions) in [
                ("read", iam.read),
                ("create", iam.create),
                ("update", iam.update),
                ("delete", iam.delete),
                ("destroys", s.destroys),
            ] {
                for action in actions {
                    let (service, name) = action.split_once(':').expect("service:Action");
                    assert!(prefixes.contains(&service), "{kind} {what}: {action}");
                    assert!(
                        name.starts_with(|c: char| c.is_ascii_uppercase())
                            && name.chars().all(|c| c.is_ascii_alphanumeric()),
                        "{kind} {what}: {action}"
                    );
                }
            }
            assert!(!iam.read.is_empty() && !iam.create.is_empty(), "{kind}");
            assert!(!iam.delete.is_empty(), "{kind}");
            // What destroys data is among what deleting it calls.
            for action in s.destroys {
                assert!(iam.delete.contains(action), "{kind}: {action}");
            }
        }
    }
}
