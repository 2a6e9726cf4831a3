#!/usr/bin/env python3
"""Writes src/iam_policy/resources.tsv: for each IAM action reconcile's
policies allow (one a line on stdin), the ARN format of every resource type
the action takes (when it always takes one), from the IAM definitions parliament carries (AWS's Service
Authorization Reference): `ACTION<TAB>ARN`, or `ACTION<TAB>*` for an action
that takes no resource type.

  reconcile iam-policy stacks/dev.toml | python3 -c '…' | scripts/iam-resources.py > src/iam_policy/resources.tsv

The suite's `accounts::` test regenerates it and fails when it differs.
Needs parliament (installed with moto by localstack/emulator.sh)."""

import json
import sys
from importlib import resources


def main():
    definitions = json.loads(resources.files("parliament").joinpath("iam_definition.json").read_text())
    services = {}
    for service in definitions:
        services.setdefault(service["prefix"], []).append(service)
    rows = []
    for action in sorted({line.strip() for line in sys.stdin if line.strip()}):
        prefix, name = action.split(":", 1)
        privilege, arns = None, {}
        # The first service of the prefix that has it, as parliament reads
        # them (IAM has two: the current definition first).
        for service in services.get(prefix, []):
            found = [p for p in service["privileges"] if p["privilege"].lower() == name.lower()]
            if found:
                privilege = found[0]
                arns = {r["resource"]: r["arn"] for r in service["resources"]}
                break
        if privilege is None:
            sys.exit(f"iam-resources: {action} is not in parliament's IAM definitions")
        types = [t["resource_type"] for t in privilege["resource_types"] if t["resource_type"]]
        # Every type the action may be authorized against (a conditional one
        # too: RunInstances' launch template), when it always takes one;
        # an action whose types are all conditional may take none: `*`.
        always = any(t.endswith("*") for t in types)
        formats = sorted({arns[t.rstrip("*")] for t in types if always and t.rstrip("*") in arns})
        for arn in formats or ["*"]:
            rows.append(f"{action}\t{arn}")
    sys.stdout.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
