#!/usr/bin/env python3
"""Benchmark reconcile (and terraform, when it is installed) on generated stacks.

For each case (resources per region x regions) it starts a fresh emulator,
applies the stack from nothing, then times a no-op plan (the best of three
runs): wall time, AWS calls and peak memory, and the emulator's floor: the
same Describe calls made directly with boto3 against the same state
(scripts/floor.py), so the table shows how close to it the plan is. With
terraform and the hashicorp/aws provider available, the same resources go
through `terraform apply` and `terraform plan` on another fresh emulator, and
the table shows the ratios. Below the table, where each case's apply and
plan spent their time (`--stats`, `apply --json`).

Run it through scripts/bench.sh, which installs the emulator and builds the
binary. Standard library only.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]
# apply's default parallelism (`reconcile apply --parallelism`).
PARALLELISM = 10
# Each no-op plan and its floor: the best of this many runs.
RUNS = 3
# One unit of 100 resources: a VPC, 33 subnets, 66 security groups with a rule.
SUBNETS, GROUPS = 33, 66


def layout(resources):
    """The generated resources, at most `resources`, in units of 100 (a VPC,
    33 subnets, 66 security groups with a rule): (kind, vpc index, index)."""
    items = []
    for v in range(max(1, resources // 100)):
        items.append(("vpc", v, 0))
        items += [("subnet", v, s) for s in range(SUBNETS)]
        items += [("group", v, g) for g in range(GROUPS)]
    return items[: max(resources, 1)]


def stack_toml(name, resources, regions):
    lines = [
        "[stack]",
        f'name = "{name}"',
        "regions = [" + ", ".join(f'"{r}"' for r in regions) + "]",
        "",
    ]
    items = layout(resources)
    for kind, v, i in items:
        lines += {
            "vpc": [f"[vpc.v{v}]", f'cidr = "10.{v}.0.0/16"'],
            "subnet": [
                f"[subnet.s{v}_{i}]",
                f'vpc = "vpc.v{v}"',
                f'cidr = "10.{v}.{i}.0/24"',
                'zone = "a"',
            ],
            "group": [
                f"[security_group.g{v}_{i}]",
                f'vpc = "vpc.v{v}"',
                'description = "bench"',
                f'ingress = [{{ protocol = "tcp", port = {1000 + i}, cidr = "10.0.0.0/8" }}]',
            ],
        }[kind] + [""]
    return "\n".join(lines), len(items)


def terraform_hcl(endpoint, resources, regions):
    out = [
        'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
    ]
    for region in regions:
        alias = region.replace("-", "_")
        out.append(
            f'''provider "aws" {{
  alias                       = "{alias}"
  region                      = "{region}"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {{
    ec2 = "{endpoint}"
    sts = "{endpoint}"
  }}
}}
'''
        )
        for kind, v, i in layout(resources):
            vpc = f"aws_vpc.{alias}_v{v}.id"
            out.append(
                {
                    "vpc": f'resource "aws_vpc" "{alias}_v{v}" {{\n  provider   = aws.{alias}\n'
                    f'  cidr_block = "10.{v}.0.0/16"\n}}\n',
                    "subnet": f'resource "aws_subnet" "{alias}_s{v}_{i}" {{\n  provider          = aws.{alias}\n'
                    f"  vpc_id            = {vpc}\n"
                    f'  cidr_block        = "10.{v}.{i}.0/24"\n'
                    f'  availability_zone = "{region}a"\n}}\n',
                    "group": f'resource "aws_security_group" "{alias}_g{v}_{i}" {{\n  provider    = aws.{alias}\n'
                    f'  name        = "g{v}_{i}"\n  description = "bench"\n'
                    f"  vpc_id      = {vpc}\n"
                    f'  ingress {{\n    protocol    = "tcp"\n    from_port   = {1000 + i}\n'
                    f'    to_port     = {1000 + i}\n    cidr_blocks = ["10.0.0.0/8"]\n  }}\n}}\n',
                }[kind]
            )
    return "\n".join(out)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    """A fresh moto server on its own port, stopped on exit."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        moto = ROOT / "localstack/.venv/bin/moto_server"
        self.proc = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.time() > deadline:
                    raise SystemExit(f"moto did not start on {self.port}")
                time.sleep(0.1)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.proc.terminate()
        self.proc.wait()


# Runs a command as the only child of a fresh interpreter, so that the peak RSS
# it reports is that command's alone (RUSAGE_CHILDREN keeps the largest child
# ever waited for, across exec, so it cannot be read in this process).
PEAK = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
sys.stderr.write("\\nPEAK_RSS_KIB=%d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
"""


class Failed(Exception):
    pass


def measure(cmd, env, cwd=None):
    """Runs cmd; returns (seconds, peak RSS in MiB, stdout, stderr); raises Failed."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", PEAK, *map(str, cmd)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    err, _, peak = done.stderr.rpartition("PEAK_RSS_KIB=")
    if done.returncode not in ok_codes(cmd):
        sys.stderr.write(done.stdout[-3000:] + err[-3000:])
        raise Failed(f"failed ({done.returncode}): {' '.join(map(str, cmd))}")
    return seconds, int(peak.strip() or 0) / 1024, done.stdout, err


def ok_codes(cmd):
    # A plan with -detailed-exitcode says 2 for changes, which the caller checks.
    return (0, 2) if "-detailed-exitcode" in cmd or "--detailed-exitcode" in cmd else (0,)


def run_reconcile(binary, resources, regions, workdir):
    name = f"bench{resources}x{len(regions)}"
    text, count = stack_toml(name, resources, regions)
    path = workdir / f"{name}.toml"
    path.write_text(text)
    with Emulator() as emu:
        env = dict(
            os.environ,
            AWS_ENDPOINT_URL=emu.url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            NO_COLOR="1",
            # The emulator filters thousands of groups in Python: one
            # DescribeSecurityGroups of 2,000 groups takes ~23 s there.
            RECONCILE_CALL_TIMEOUT="10m",
        )
        env.pop("AWS_PROFILE", None)
        apply_s, _, applied, _ = measure(
            [binary, "-q", "apply", str(path), "--auto-approve", "--json", "--parallelism", str(PARALLELISM)],
            env,
        )
        apply_profile = [
            (p["phase"], p["seconds"], p["count"]) for p in json.loads(applied)["profile"]
        ]
        plans = []
        for _ in range(RUNS):
            plan_s, rss, out, err = measure(
                [binary, "plan", str(path), "--detailed-exitcode", "--stats"], env
            )
            if not out.startswith("No changes."):
                raise SystemExit(f"the plan after apply is not a no-op:\n{out[:2000]}")
            plans.append((plan_s, rss, err))
        plan_s, rss, err = min(plans)
        calls = int(re.search(r"AWS calls: (\d+)", err).group(1))
        floor = json.loads(
            subprocess.run(
                [str(ROOT / "localstack/.venv/bin/python"), str(ROOT / "scripts/floor.py"),
                 emu.url, name, ",".join(regions), "--runs", str(RUNS)],
                capture_output=True, text=True, check=True,
            ).stdout
        )
    return {
        "declared": count, "apply": apply_s, "plan": plan_s, "calls": calls, "rss": rss,
        "floor": floor, "apply_profile": apply_profile, "plan_profile": stats_profile(err),
    }


def stats_profile(stderr):
    """The phases `--stats` printed after `Time:`: (phase, seconds, runs)."""
    phases = []
    for line in stderr.split("Time:", 1)[-1].splitlines():
        m = re.match(r"\s+(.+?)\s+([\d.]+) s(?: \((\d+) runs)?", line)
        if m:
            phases.append((m.group(1), float(m.group(2)), int(m.group(3) or 1)))
    return phases


def profile_line(phases):
    """The phases worth reading: a tenth of a second or more, and the total."""
    shown = [
        f"{phase} {seconds:.2f} s" + (f" ({runs}×)" if runs > 1 else "")
        for phase, seconds, runs in phases
        if seconds >= 0.1 or phase == "total"
    ]
    return " · ".join(shown)


def terraform_available():
    tf = shutil.which("terraform")
    mirror = Path(os.environ.get("BENCH_TF_PLUGINS", "/opt/tf-plugins"))
    if tf and (mirror / "registry.terraform.io/hashicorp/aws").is_dir():
        return tf, mirror
    return None, None


def run_terraform(tf, mirror, resources, regions, workdir):
    case = workdir / f"tf{resources}x{len(regions)}"
    case.mkdir(exist_ok=True)
    rc = workdir / "terraformrc"
    rc.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
    )
    with Emulator() as emu:
        (case / "main.tf").write_text(terraform_hcl(emu.url, resources, regions))
        env = dict(os.environ, TF_CLI_CONFIG_FILE=str(rc), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
        measure([tf, "init", "-input=false", "-no-color"], env, cwd=case)
        apply = [tf, "apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=10"]
        # A failed apply is run again, as a Terraform user would; both count.
        apply_s, runs = 0.0, 0
        while True:
            runs += 1
            try:
                apply_s += measure(apply, env, cwd=case)[0]
                break
            except Failed:
                if runs == 2:
                    raise
        plan_s, rss, _, _ = measure(
            [tf, "plan", "-input=false", "-no-color", "-detailed-exitcode"], env, cwd=case
        )
    return {"apply": apply_s, "plan": plan_s, "rss": rss, "runs": runs}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--smoke", action="store_true", help="one small case, no terraform")
    parser.add_argument("--sizes", default="300,3000", help="resources per region")
    parser.add_argument("--regions", default="1,3", help="how many regions")
    parser.add_argument("--no-terraform", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        cases = [(30, 1)]
        tf, mirror = None, None
    else:
        cases = [
            (int(n), int(r)) for n in args.sizes.split(",") for r in args.regions.split(",")
        ]
        tf, mirror = (None, None) if args.no_terraform else terraform_available()
    header = (
        "| resources/region | regions | no-op plan | emulator floor | plan / floor | AWS calls"
        " | plan peak RSS | apply from nothing"
        + (" | terraform plan | terraform apply | plan speed-up | apply speed-up" if tf else "")
        + " |"
    )
    print(header)
    print("|---" * (8 + (4 if tf else 0)) + "|", flush=True)
    profiles = []
    with tempfile.TemporaryDirectory(prefix="reconcile-bench-") as tmp:
        workdir = Path(tmp)
        for resources, regions in cases:
            names = REGIONS[:regions]
            print(f"… {resources} resources x {regions} region(s)", file=sys.stderr, flush=True)
            ours = run_reconcile(args.binary, resources, names, workdir)
            floor = ours["floor"]["sequential"]
            line = (
                f"| {ours['declared']} | {regions} | {ours['plan']:.2f} s | {floor:.2f} s "
                f"| {ours['plan'] / floor:.2f}x | {ours['calls']} "
                f"| {ours['rss']:.0f} MiB | {ours['apply']:.1f} s"
            )
            case = f"{ours['declared']} × {regions}"
            profiles.append(f"- {case}, apply: {profile_line(ours['apply_profile'])}")
            profiles.append(f"- {case}, no-op plan: {profile_line(ours['plan_profile'])}")
            if tf:
                try:
                    theirs = run_terraform(tf, mirror, resources, names, workdir)
                    again = " (2 runs)" if theirs["runs"] > 1 else ""
                    line += (
                        f" | {theirs['plan']:.2f} s | {theirs['apply']:.1f} s{again}"
                        f" | {theirs['plan'] / ours['plan']:.1f}x"
                        f" | {theirs['apply'] / ours['apply']:.1f}x"
                    )
                except Failed as e:
                    line += f" | failed | failed: {e} | | "
            print(line + " |", flush=True)
    print("\nWhere the time went (phases of a tenth of a second or more; concurrent phases overlap):\n")
    print("\n".join(profiles))


if __name__ == "__main__":
    main()
