#!/usr/bin/env python3
"""The emulator's floor for a no-op plan: the same Describe calls a plan
makes (tag-filtered, paged as reconcile pages them), made directly with boto3
against the same emulator and state. Prints JSON: the best of `--runs` runs,
the calls made one after another and all at once (threads).

    floor.py URL STACK REGION[,REGION...] [--runs 3]

Run with the emulator's venv python (scripts/bench.py does), which has boto3.
"""

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

import boto3


def client(url, service, region):
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def paged(c, operation, page_key, size, **kwargs):
    def call():
        pages = c.get_paginator(operation).paginate(
            **kwargs, PaginationConfig={"PageSize": size}
        )
        return sum(1 for _ in pages)

    return call


def calls(url, stack, region, dns):
    """The reads of one region, as reconcile's discovery makes them."""
    ec2, elb = client(url, "ec2", region), client(url, "elbv2", region)
    rds, cw = client(url, "rds", region), client(url, "cloudwatch", region)
    tagging = client(url, "resourcegroupstaggingapi", region)
    asg = client(url, "autoscaling", region)
    owned = [{"Name": "tag:reconcile:stack", "Values": [stack]}]
    out = [
        paged(ec2, "describe_vpcs", "Vpcs", 1000, Filters=owned),
        paged(ec2, "describe_subnets", "Subnets", 1000, Filters=owned),
        paged(ec2, "describe_internet_gateways", "InternetGateways", 1000, Filters=owned),
        paged(ec2, "describe_nat_gateways", "NatGateways", 1000, Filter=owned),
        paged(ec2, "describe_route_tables", "RouteTables", 100, Filters=owned),
        paged(ec2, "describe_security_groups", "SecurityGroups", 1000, Filters=owned),
        paged(ec2, "describe_instances", "Reservations", 1000, Filters=owned),
        paged(ec2, "describe_launch_templates", "LaunchTemplates", 200, Filters=owned),
        lambda: ec2.describe_key_pairs(
            Filters=[{"Name": "key-name", "Values": [f"reconcile-regions-{stack}"]}]
        ),
        paged(elb, "describe_load_balancers", "LoadBalancers", 400),
        paged(elb, "describe_target_groups", "TargetGroups", 400),
        paged(rds, "describe_db_instances", "DBInstances", 100),
        paged(rds, "describe_db_subnet_groups", "DBSubnetGroups", 100),
        paged(rds, "describe_db_parameter_groups", "DBParameterGroups", 100),
        paged(cw, "describe_alarms", "MetricAlarms", 100, AlarmNamePrefix=f"{stack}."),
        paged(asg, "describe_auto_scaling_groups", "AutoScalingGroups", 100,
              Filters=[{"Name": "tag:reconcile:stack", "Values": [stack]}]),
        # ACM certificates: the tagging API (ListCertificates only when it finds some).
        lambda: tagging.get_resources(
            TagFilters=[{"Key": "reconcile:stack", "Values": [stack]}],
            ResourceTypeFilters=["acm:certificate"],
        ),
    ]
    if dns:
        r53 = client(url, "route53", "us-east-1")
        out.append(paged(r53, "list_hosted_zones", "HostedZones", 100))
        # IAM, global like Route53: the stack's path.
        iam = client(url, "iam", "us-east-1")
        out.append(paged(iam, "list_roles", "Roles", 1000, PathPrefix=f"/reconcile/{stack}/"))
        out.append(paged(iam, "list_instance_profiles", "InstanceProfiles", 1000,
                         PathPrefix=f"/reconcile/{stack}/"))
    return out


def timed(fn):
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("stack")
    parser.add_argument("regions")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    regions = args.regions.split(",")
    every = [c for i, r in enumerate(regions) for c in calls(args.url, args.stack, r, i == 0)]

    def one_after_another():
        for call in every:
            call()

    def all_at_once():
        with ThreadPoolExecutor(max_workers=len(every)) as pool:
            list(pool.map(lambda call: call(), every))

    all_at_once()  # warm the clients' connections
    print(
        json.dumps(
            {
                "calls": len(every),
                "sequential": min(timed(one_after_another) for _ in range(args.runs)),
                "concurrent": min(timed(all_at_once) for _ in range(args.runs)),
            }
        )
    )


if __name__ == "__main__":
    main()
