#!/usr/bin/env bash
# The demo, from a fresh clone: starts the local emulator, plans and applies
# stacks/demo.toml, shows a no-op second plan, verifies the stack, cuts its
# traffic over from blue to green in steps, rolls out, shows status, plans the
# production environment (stacks/prod.toml extends stacks/base.toml), lists
# what now lives in the emulator, and stops the emulator if it started it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PORT="${PORT:-4566}"
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
# ENGINE=localstack runs it on LocalStack's community edition, which has no
# ELBv2 or RDS: then the stack is stacks/network.toml and there is no cutover.
export ENGINE="${ENGINE:-moto}"
if [ "$ENGINE" = localstack ]; then
  stack="${1:-stacks/network.toml}"
else
  stack="${1:-stacks/demo.toml}"
fi

started=0
if ! localstack/emulator.sh status; then
  localstack/emulator.sh start
  started=1
fi
trap '[ "$started" = 1 ] && localstack/emulator.sh stop' EXIT

cargo build --quiet --locked
reconcile=target/debug/reconcile

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "reconcile plan $stack"
"$reconcile" plan "$stack" --stats
step "reconcile apply $stack --auto-approve"
"$reconcile" apply "$stack" --auto-approve
step "reconcile plan $stack --detailed-exitcode   (a second plan: nothing to do, exit 0)"
"$reconcile" plan "$stack" --detailed-exitcode --stats
echo "exit code: $?"

step "reconcile verify $stack   (built-in checks and the stack's [[verify]] blocks)"
"$reconcile" verify "$stack"

if grep -q '^\[blue_green\.app\]' "$stack"; then
  # The demo's 5s bakes are too short for its 1-minute metric checks to see a
  # whole period after a step: --short-bake says so and reports them not evaluated.
  step "reconcile cutover $stack app --to green --steps 50,100 --bake 5s --short-bake   (blue-green, with checks at each step)"
  "$reconcile" cutover "$stack" app --to green --steps 50,100 --bake 5s --every 1s --short-bake --auto-approve
  step "reconcile cutover $stack app --status"
  "$reconcile" cutover "$stack" app --status
  step "reconcile plan $stack --detailed-exitcode   (the switch is not drift: exit 0)"
  "$reconcile" plan "$stack" --detailed-exitcode
fi

step "reconcile rollout $stack --auto-approve   (wave by wave; every region in sync: verified once, not baked)"
"$reconcile" rollout "$stack" --auto-approve
step "reconcile status $stack"
"$reconcile" status "$stack"

if [ "$ENGINE" = moto ]; then
  step "reconcile plan stacks/prod.toml   (production extends stacks/base.toml: three regions; last lines)"
  "$reconcile" plan stacks/prod.toml | tail -n 2
  step "reconcile apply stacks/prod.toml --auto-approve   (refused: approval = \"saved-plan\")"
  "$reconcile" apply stacks/prod.toml --auto-approve || echo "exit code: $?"
fi

step "what lives in the emulator now (read with boto3, tag reconcile:stack)"
python=localstack/.venv/bin/python
[ "$ENGINE" = localstack ] && python=localstack/.venv-localstack/bin/python
"$python" - "$stack" <<'PY'
import os, sys, tomllib, boto3
stack = tomllib.load(open(sys.argv[1], "rb"))["stack"]
for region in stack["regions"]:
    ec2 = boto3.client("ec2", region_name=region)
    owned = [{"Name": "tag:reconcile:stack", "Values": [stack["name"]]}]
    def rows(items, id_key, detail):
        for item in items:
            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            print(f"  {region:<12} {tags.get('reconcile:id', '?'):<24} {item[id_key]:<26} {detail(item)}")
    rows(ec2.describe_vpcs(Filters=owned)["Vpcs"], "VpcId", lambda v: v["CidrBlock"])
    rows(ec2.describe_subnets(Filters=owned)["Subnets"], "SubnetId", lambda s: f'{s["CidrBlock"]} {s["AvailabilityZone"]}')
    rows(ec2.describe_internet_gateways(Filters=owned)["InternetGateways"], "InternetGatewayId",
         lambda g: "attached to " + ", ".join(a["VpcId"] for a in g["Attachments"]))
    rows(ec2.describe_route_tables(Filters=owned)["RouteTables"], "RouteTableId",
         lambda t: f'{len(t["Associations"])} subnets, routes: ' + ", ".join(
             f'{r.get("DestinationCidrBlock")}→{r.get("GatewayId")}' for r in t["Routes"]))
    rows(ec2.describe_security_groups(Filters=owned)["SecurityGroups"], "GroupId",
         lambda g: f'{g["GroupName"]}, {len(g["IpPermissions"])} ingress permissions')
    instances = [i for r in ec2.describe_instances(Filters=owned + [
        {"Name": "instance-state-name", "Values": ["running"]}])["Reservations"] for i in r["Instances"]]
    rows(instances, "InstanceId", lambda i: f'{i["InstanceType"]} {i["ImageId"]} in {i["SubnetId"]}')
    if os.environ["ENGINE"] == "localstack":
        continue  # no ELBv2 there
    elb = boto3.client("elbv2", region_name=region)
    balancers = elb.describe_load_balancers()["LoadBalancers"]
    groups = elb.describe_target_groups()["TargetGroups"]
    arns = [b["LoadBalancerArn"] for b in balancers] + [g["TargetGroupArn"] for g in groups]
    tags = {d["ResourceArn"]: {t["Key"]: t["Value"] for t in d["Tags"]}
            for i in range(0, len(arns), 20)
            for d in elb.describe_tags(ResourceArns=arns[i:i + 20])["TagDescriptions"]}
    mine = lambda arn: tags.get(arn, {}).get("reconcile:stack") == stack["name"]
    def short(arn):
        return tags.get(arn, {}).get("reconcile:id", arn)
    for g in groups:
        if mine(g["TargetGroupArn"]):
            targets = elb.describe_target_health(TargetGroupArn=g["TargetGroupArn"])["TargetHealthDescriptions"]
            print(f'  {region:<12} {short(g["TargetGroupArn"]):<24} {g["TargetGroupName"]:<26} '
                  f'{g["Protocol"]}:{g["Port"]}, {len(targets)} instances registered')
    for b in balancers:
        if not mine(b["LoadBalancerArn"]):
            continue
        print(f'  {region:<12} {short(b["LoadBalancerArn"]):<24} {b["LoadBalancerName"]:<26} {b["DNSName"]}')
        for listener in elb.describe_listeners(LoadBalancerArn=b["LoadBalancerArn"])["Listeners"]:
            for rule in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
                if rule["IsDefault"]:
                    continue
                forward = rule["Actions"][0].get("ForwardConfig", {}).get("TargetGroups", [])
                split = ", ".join(f'{short(t["TargetGroupArn"])} {t.get("Weight", 1)}' for t in forward)
                print(f'  {region:<12} {"  rule " + rule["Priority"]:<24} {"port " + str(listener["Port"]):<26} forwards to {split}')
PY
