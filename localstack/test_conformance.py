"""The conformance checker, checked: botocore's own serialisers round-trip
through its decoder for every wire format reconcile speaks (EC2's, query,
rest-xml, JSON), known-bad values are caught, and the server answers a refusal
as AWS does. Run by `cargo test` (tests/it/conformance.rs) with the emulator's
Python: `localstack/.venv/bin/python -m unittest localstack/test_conformance.py`.
"""

import io
import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from botocore.serialize import create_serializer  # noqa: E402

import conformance  # noqa: E402
from conformance import Conformance, check, decode_request, service_model  # noqa: E402


# The wire format of each service as reconcile's SDK crates speak it (the
# models may list a newer one first: aws-sdk-cloudwatch ~1.99 speaks query,
# aws-sdk-resourcegroupstagging JSON 1.1).
PROTOCOLS = {"ec2": "ec2", "elbv2": "query", "rds": "query", "cloudwatch": "query",
             "route53": "rest-xml", "resourcegroupstaggingapi": "json", "acm": "json",
             "iam": "query", "autoscaling": "query"}


def wire(service, operation, params):
    """The request botocore's serialiser makes of `params`, as the server sees it."""
    model = service_model(service)
    protocol = PROTOCOLS[service]
    request = create_serializer(protocol, include_validation=False).serialize_to_request(
        params, model.operation_model(operation)
    )
    body = request["body"]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    if isinstance(body, dict):
        body = urllib.parse.urlencode(body).encode()
        headers["content-type"] = "application/x-www-form-urlencoded; charset=utf-8"
    elif isinstance(body, str):
        body = body.encode()
    query = request["query_string"]
    if isinstance(query, dict):
        query = urllib.parse.urlencode(query, doseq=True)
    return request["method"], request["url_path"], query, headers, body or b""


def scalars(value):
    """`value` with every scalar as the text it is on the wire."""
    if isinstance(value, dict):
        return {k: scalars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scalars(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# Operations of every wire format, with lists, maps, nested structures, URI
# and query string members: what reconcile's requests are made of.
CASES = [
    ("ec2", "CreateSecurityGroup", {"GroupName": "web", "Description": "web tier", "VpcId": "vpc-1",
                                    "TagSpecifications": [{"ResourceType": "security-group",
                                                           "Tags": [{"Key": "reconcile:stack", "Value": "s"}]}]}),
    ("ec2", "AuthorizeSecurityGroupIngress", {"GroupId": "sg-1", "IpPermissions": [
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "from anywhere"}],
         "UserIdGroupPairs": [{"GroupId": "sg-2"}]}]}),
    ("ec2", "DescribeInstances", {"Filters": [{"Name": "tag:reconcile:stack", "Values": ["a", "b"]},
                                              {"Name": "instance-state-name", "Values": ["running"]}]}),
    ("ec2", "CreateTags", {"Resources": ["i-1", "i-2"], "Tags": [{"Key": "a", "Value": "b"}]}),
    ("elbv2", "CreateLoadBalancer", {"Name": "demo-app-abc123", "Subnets": ["subnet-1", "subnet-2"],
                                     "SecurityGroups": ["sg-1"], "Scheme": "internet-facing",
                                     "Tags": [{"Key": "reconcile:id", "Value": "load_balancer.app"}]}),
    ("elbv2", "ModifyRule", {"RuleArn": "arn:r", "Actions": [{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": "arn:a", "Weight": 90}, {"TargetGroupArn": "arn:b", "Weight": 10}]}}],
        "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}]}),
    ("elbv2", "DescribeTags", {"ResourceArns": ["arn:a", "arn:b"]}),
    ("rds", "CreateDBInstance", {"DBInstanceIdentifier": "orders", "DBInstanceClass": "db.t3.micro",
                                 "Engine": "postgres", "AllocatedStorage": 20, "MultiAZ": False,
                                 "VpcSecurityGroupIds": ["sg-1"],
                                 "Tags": [{"Key": "reconcile:stack", "Value": "s"}]}),
    ("rds", "ModifyDBParameterGroup", {"DBParameterGroupName": "s-pg", "Parameters": [
        {"ParameterName": "work_mem", "ParameterValue": "64MB", "ApplyMethod": "pending-reboot"}]}),
    ("cloudwatch", "PutMetricAlarm", {"AlarmName": "s.errors", "MetricName": "Errors", "Namespace": "App",
                                      "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 10.0,
                                      "ComparisonOperator": "GreaterThanThreshold",
                                      "Dimensions": [{"Name": "LoadBalancer", "Value": "app/x/1"}]}),
    ("cloudwatch", "GetMetricData", {"MetricDataQueries": [{"Id": "q1", "MetricStat": {
        "Metric": {"Namespace": "App", "MetricName": "Errors", "Dimensions": [{"Name": "A", "Value": "b"}]},
        "Period": 60, "Stat": "Sum"}}], "StartTime": "2026-12-07T00:00:00Z", "EndTime": "2026-12-07T00:05:00Z"}),
    ("route53", "ChangeResourceRecordSets", {"HostedZoneId": "Z123", "ChangeBatch": {"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": "www.example.com", "Type": "CNAME", "TTL": 300,
                                                   "ResourceRecords": [{"Value": "app.example.com"}]}}]}}),
    ("route53", "ChangeTagsForResource", {"ResourceType": "hostedzone", "ResourceId": "Z123",
                                          "AddTags": [{"Key": "reconcile:stack", "Value": "s"}],
                                          "RemoveTagKeys": ["old"]}),
    ("route53", "ListResourceRecordSets", {"HostedZoneId": "Z123", "StartRecordName": "a.example.com",
                                           "StartRecordType": "A"}),
    ("route53", "CreateHostedZone", {"Name": "example.com", "CallerReference": "run-1",
                                     "HostedZoneConfig": {"Comment": "c", "PrivateZone": False}}),
    ("resourcegroupstaggingapi", "GetResources", {"TagFilters": [{"Key": "reconcile:stack", "Values": ["s"]}],
                                                  "ResourcesPerPage": 1, "ResourceTypeFilters": ["ec2"]}),
    ("iam", "CreateRole", {"RoleName": "s-app", "Path": "/reconcile/s/",
                           "AssumeRolePolicyDocument": "{\"Version\":\"2012-10-17\"}",
                           "Tags": [{"Key": "reconcile:stack", "Value": "s"}]}),
    ("autoscaling", "CreateAutoScalingGroup", {"AutoScalingGroupName": "s-web", "MinSize": 1, "MaxSize": 2,
                                               "LaunchTemplate": {"LaunchTemplateId": "lt-0a", "Version": "$Default"},
                                               "VPCZoneIdentifier": "subnet-1,subnet-2",
                                               "Tags": [{"Key": "reconcile:stack", "Value": "s",
                                                         "PropagateAtLaunch": False}]}),
    ("acm", "RequestCertificate", {"DomainName": "shop.example.com", "ValidationMethod": "DNS",
                                   "SubjectAlternativeNames": ["www.shop.example.com"],
                                   "IdempotencyToken": "0a1b2c", "Tags": [{"Key": "reconcile:stack", "Value": "s"}]}),
]


class RoundTrip(unittest.TestCase):
    def test_botocore_requests_decode_to_their_parameters(self):
        for service, operation, params in CASES:
            with self.subTest(operation=operation):
                name, decoded = decode_request(service, *wire(service, operation, params))
                self.assertEqual(name, operation)
                if PROTOCOLS[service] == "json":
                    self.assertEqual(decoded, params)
                else:
                    self.assertEqual(scalars(decoded), scalars(params))
                self.assertEqual(check(service, operation, decoded), [])

    def test_every_protocol_reconcile_speaks_is_covered(self):
        protocols = {PROTOCOLS[s] for s, _, _ in CASES}
        self.assertTrue({"ec2", "query", "rest-xml", "json"} <= protocols, protocols)


class Refusals(unittest.TestCase):
    def refused(self, service, operation, params):
        name, decoded = decode_request(service, *wire(service, operation, params))
        return " ".join(check(service, name, decoded))

    def test_what_aws_refuses_is_named(self):
        self.assertIn("AddTags: 11 items, at most 10 allowed", self.refused(
            "route53", "ChangeTagsForResource",
            {"ResourceType": "hostedzone", "ResourceId": "Z1",
             "AddTags": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}))
        self.assertIn("Tags[1].Value = cutover app → green (100%): does not match", self.refused(
            "elbv2", "AddTags", {"ResourceArns": ["arn:a"],
                                 "Tags": [{"Key": "reconcile:record", "Value": "cutover app → green (100%)"}]}))
        self.assertIn("RoleName = a role name that is far too long for IAM to take it at all, past 64: 67 characters, at most 64", self.refused(
            "iam", "CreateRole", {"RoleName": "a role name that is far too long for IAM to take it at all, past 64",
                                  "AssumeRolePolicyDocument": "{}"}))
        self.assertIn("Tags: 51 items, at most 50", self.refused(
            "acm", "RequestCertificate", {"DomainName": "shop.example.com", "ValidationMethod": "DNS",
                                          "Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]}))
        self.assertIn("must not begin with internal-", self.refused(
            "elbv2", "CreateLoadBalancer", {"Name": "internal-app-1", "Subnets": ["s"]}))
        self.assertIn("not ending in a hyphen", self.refused(
            "rds", "CreateDBParameterGroup", {"DBParameterGroupName": "s-pg16--tuning",
                                              "DBParameterGroupFamily": "postgres16", "Description": "d"}))
        self.assertIn("letters, digits, spaces and _ . : / = + - @ only", self.refused(
            "rds", "AddTagsToResource", {"ResourceName": "arn:db",
                                         "Tags": [{"Key": "reconcile:record-operator", "Value": "github-actions[bot]"}]}))
        self.assertIn("Description = it's: up to 255", self.refused(
            "ec2", "CreateSecurityGroup", {"GroupName": "web", "Description": "it's"}))
        self.assertIn("weight 1000: 0 to 999", self.refused(
            "elbv2", "ModifyRule", {"RuleArn": "arn:r", "Actions": [{"Type": "forward", "ForwardConfig": {
                "TargetGroups": [{"TargetGroupArn": "arn:a", "Weight": 1000}]}}]}))
        self.assertIn("Type = forwards: not one of", self.refused(
            "elbv2", "ModifyRule", {"RuleArn": "arn:r", "Actions": [{"Type": "forwards"}]}))
        self.assertIn("SubnetIds: required, missing", self.refused(
            "rds", "CreateDBSubnetGroup", {"DBSubnetGroupName": "s-main", "DBSubnetGroupDescription": "d"}))

    def test_a_parameter_the_operation_does_not_have_is_refused(self):
        method, path, query, headers, body = wire("ec2", "CreateTags", {"Resources": ["i-1"], "Tags": []})
        with self.assertRaises(conformance.Violation):
            decode_request("ec2", method, path, query, headers, body + b"&Bogus.1=x")


class Server(unittest.TestCase):
    def call(self, service, signing, operation, params):
        method, path, query, headers, body = wire(service, operation, params)
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": headers.get("content-type", ""),
            "wsgi.input": io.BytesIO(body),
            "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/{signing}/aws4_request",
        }
        for k, v in headers.items():
            environ["HTTP_" + k.upper().replace("-", "_")] = v
        seen = []

        def app(env, start):
            seen.append(env["wsgi.input"].read())
            start("200 OK", [])
            return [b"moto"]

        status = []
        answer = b"".join(Conformance(app)(environ, lambda s, h: status.append(s)))
        return status[0], answer, seen

    def test_a_good_request_reaches_moto_whole_and_a_bad_one_is_refused_as_aws_does(self):
        status, answer, seen = self.call("elbv2", "elasticloadbalancing", "DescribeTags",
                                         {"ResourceArns": ["arn:a"]})
        self.assertEqual((status, answer), ("200 OK", b"moto"))
        self.assertIn(b"ResourceArns.member.1=arn%3Aa", seen[0])
        status, answer, seen = self.call("elbv2", "elasticloadbalancing", "CreateLoadBalancer",
                                         {"Name": "internal-x", "Subnets": ["s"]})
        self.assertTrue(status.startswith("400"))
        self.assertIn(b"<Code>ValidationError</Code>", answer)
        self.assertIn(b"conformance: AWS would refuse elbv2 CreateLoadBalancer: Name = internal-x", answer)
        self.assertEqual(seen, [], "moto never saw it")
        status, answer, _ = self.call("resourcegroupstaggingapi", "tagging", "GetResources",
                                      {"TagFilters": [{"Key": ""}]})
        self.assertTrue(status.startswith("400"))
        self.assertIn("TagFilters[1].Key = : 0 characters, at least 1", json.loads(answer)["message"])


if __name__ == "__main__":
    unittest.main()
