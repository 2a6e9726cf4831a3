//! IAM roles and instance profiles: global, homed in one region of the
//! stack, found by their path (`/reconcile/<stack>/`); everything changes in
//! place.

use super::{IamActions, Import, LiveId, Schema, TagBudget};
use crate::model::{ReplaceOrder, Service};

pub const ROLE: Schema = Schema {
    name: "iam_role",
    attributes: &["assume", "managed_policies", "policies", "tags", "protect"],
    forces_replacement: &[],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "arn", "name"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[],
    live_id: LiveId::None,
    forward: None,
    service: Service::Iam,
    import: Import::No,
    tags: TagBudget::standard(1),
    terraform: None,
    iam: IamActions {
        read: &[
            "iam:ListRoles",
            "iam:ListAttachedRolePolicies",
            "iam:ListRolePolicies",
            "iam:GetRolePolicy",
            "iam:ListRoleTags",
        ],
        create: &[
            "iam:CreateRole",
            "iam:TagRole",
            "iam:AttachRolePolicy",
            "iam:PutRolePolicy",
        ],
        update: &[
            "iam:UpdateAssumeRolePolicy",
            "iam:AttachRolePolicy",
            "iam:DetachRolePolicy",
            "iam:PutRolePolicy",
            "iam:DeleteRolePolicy",
            "iam:TagRole",
            "iam:UntagRole",
        ],
        delete: &[
            "iam:ListInstanceProfilesForRole",
            "iam:RemoveRoleFromInstanceProfile",
            "iam:ListAttachedRolePolicies",
            "iam:DetachRolePolicy",
            "iam:ListRolePolicies",
            "iam:DeleteRolePolicy",
            "iam:DeleteRole",
        ],
    },
    destroys: &[],
};

pub const INSTANCE_PROFILE: Schema = Schema {
    name: "instance_profile",
    attributes: &["role", "tags", "protect"],
    forces_replacement: &[],
    binds: &[],
    replace_order: ReplaceOrder::DeleteFirst,
    exports: &["id", "arn", "name"],
    updated_exports: &[],
    compared_only_when_set: &[],
    partial_maps: &[],
    notes: &[(
        "role",
        "instances using the profile get the new role's credentials within minutes, without a restart",
    )],
    live_id: LiveId::None,
    forward: None,
    service: Service::Iam,
    import: Import::No,
    tags: TagBudget::standard(1),
    terraform: None,
    iam: IamActions {
        read: &["iam:ListInstanceProfiles", "iam:GetInstanceProfile"],
        create: &["iam:CreateInstanceProfile", "iam:TagInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:PassRole"],
        update: &["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:PassRole", "iam:TagInstanceProfile", "iam:UntagInstanceProfile"],
        delete: &["iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
    },
    destroys: &[],
};
