"""What AWS would refuse, checked on every request the emulator receives.

The emulators accept requests that AWS refuses. This module decodes each
request back into the parameters of its operation (the wire formats reconcile's
SDK speaks: EC2's, query, rest-xml and JSON) and judges them against AWS's
published API models, the botocore service definitions installed with moto:
required members, lengths, patterns, enums, ranges and list sizes; then against
the limits AWS documents but its models do not carry (`DOCUMENTED`, each with
its source).

`python conformance.py --host H --port P` runs moto's server behind it: a
request AWS would refuse is answered as AWS answers a validation error (HTTP
400), naming the operation, the parameter, the value and the rule, so the test
that sent it fails there. `test_conformance.py` holds the checker itself.
"""

import io
import json
import re
import sys
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from functools import lru_cache

import botocore.session
import regex

# The service a request is for, from its signature's credential scope.
SIGNING_NAMES = {
    "ec2": "ec2",
    "elasticloadbalancing": "elbv2",
    "rds": "rds",
    "monitoring": "cloudwatch",
    "route53": "route53",
    "tagging": "resourcegroupstaggingapi",
    "acm": "acm",
    "iam": "iam",
    "autoscaling": "autoscaling",
    "sts": "sts",
}

_session = botocore.session.get_session()


@lru_cache(maxsize=None)
def service_model(name):
    return _session.get_service_model(name)


class Violation(Exception):
    pass


# --- decoding: a request on the wire back into its operation's parameters ---


def _query_name(shape, default, ec2):
    ser = shape.serialization
    if ec2:
        if "queryName" in ser:
            return ser["queryName"]
        if "name" in ser:
            return ser["name"][0].upper() + ser["name"][1:]
        return default
    return ser.get("name", default)


def _has(params, prefix):
    return any(k == prefix or k.startswith(prefix + ".") for k in params)


def decode_query(shape, params, prefix, used, ec2=False):
    """The value `shape` has at `prefix` in flattened query parameters
    (EC2's dialect with `ec2`), marking the keys it read in `used`."""
    t = shape.type_name
    if t == "structure":
        out = {}
        for name, member in shape.members.items():
            if member.serialization.get("location"):
                continue
            key = _query_name(member, name, ec2)
            full = f"{prefix}.{key}" if prefix else key
            if _has(params, full):
                out[name] = decode_query(member, params, full, used, ec2)
        return out
    if t == "list":
        if not ec2 and params.get(prefix) == "" and prefix in params:
            used.add(prefix)
            return []
        if ec2:
            list_prefix = prefix
        elif shape.serialization.get("flattened"):
            list_prefix = prefix
            if shape.member.serialization.get("name"):
                name = _query_name(shape.member, "", ec2)
                list_prefix = ".".join(prefix.split(".")[:-1] + [name])
        else:
            list_prefix = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        items, i = [], 1
        while _has(params, f"{list_prefix}.{i}"):
            items.append(decode_query(shape.member, params, f"{list_prefix}.{i}", used, ec2))
            i += 1
        return items
    if t == "map":
        full = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_name = _query_name(shape.key, "key", ec2)
        value_name = _query_name(shape.value, "value", ec2)
        out, i = {}, 1
        while _has(params, f"{full}.{i}"):
            k = decode_query(shape.key, params, f"{full}.{i}.{key_name}", used, ec2)
            out[k] = decode_query(shape.value, params, f"{full}.{i}.{value_name}", used, ec2)
            i += 1
        return out
    used.add(prefix)
    return params.get(prefix)


def _local(tag):
    return tag.split("}", 1)[-1]


def _children(elem, name):
    return [c for c in elem if _local(c.tag) == name]


def decode_xml(shape, elem):
    """The value `shape` has in an XML element (rest-xml)."""
    t = shape.type_name
    if t == "structure":
        out = {}
        for name, member in shape.members.items():
            if member.serialization.get("location"):
                continue
            tag = member.serialization.get("name", name)
            if member.type_name == "list" and member.serialization.get("flattened"):
                found = _children(elem, tag)
                if found:
                    out[name] = [decode_xml(member.member, c) for c in found]
                continue
            found = _children(elem, tag)
            if found:
                out[name] = decode_xml(member, found[0])
        return out
    if t == "list":
        tag = shape.member.serialization.get("name", "member")
        return [decode_xml(shape.member, c) for c in _children(elem, tag)]
    if t == "map":
        out = {}
        for entry in _children(elem, "entry"):
            k = _children(entry, shape.key.serialization.get("name", "key"))
            v = _children(entry, shape.value.serialization.get("name", "value"))
            if k:
                out[k[0].text or ""] = decode_xml(shape.value, v[0]) if v else None
        return out
    return elem.text or ""


@lru_cache(maxsize=None)
def _rest_routes(service):
    routes = []
    model = service_model(service)
    for name in model.operation_names:
        op = model.operation_model(name)
        uri = op.http["requestUri"]
        path, _, query = uri.partition("?")
        pattern = re.sub(
            r"\{(\w+)(\+?)\}",
            lambda m: f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})",
            re.escape(path).replace(r"\{", "{").replace(r"\}", "}"),
        )
        literal = len(re.sub(r"\{[^}]*\}", "", path))
        routes.append((op.http["method"], re.compile(f"^{pattern}$"), query, literal, name))
    # The most specific route first.
    routes.sort(key=lambda r: -r[3])
    return routes


def rest_operation(service, method, path, query):
    for m, pattern, fixed, _, name in _rest_routes(service):
        if m != method:
            continue
        match = pattern.match(path)
        if not match:
            continue
        if fixed and not all(part.split("=")[0] in query for part in fixed.split("&")):
            continue
        return name, match.groupdict()
    return None, {}


def decode_request(service, method, path, query_string, headers, body):
    """The operation a request asks for and its parameters: (name, params),
    or (None, None) for what is not an API call of a known wire format."""
    model = service_model(service)
    content_type = headers.get("content-type", "")
    if "x-www-form-urlencoded" in content_type or (method == "GET" and "Action=" in query_string):
        params = dict(urllib.parse.parse_qsl(query_string, keep_blank_values=True))
        params.update(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        name = params.get("Action")
        if name not in model.operation_names:
            return None, None
        shape = model.operation_model(name).input_shape
        used = {"Action", "Version"}
        ec2 = model.metadata["protocol"] == "ec2"
        decoded = decode_query(shape, params, "", used, ec2) if shape else {}
        unknown = sorted(set(params) - used)
        if unknown:
            raise Violation(f"{name}: unknown parameters {', '.join(unknown)}")
        return name, decoded
    target = headers.get("x-amz-target")
    if target and "json" in content_type:
        name = target.split(".")[-1]
        if name not in model.operation_names:
            return None, None
        return name, json.loads(body or b"{}")
    if model.metadata["protocol"] == "rest-xml":
        query = dict(urllib.parse.parse_qsl(query_string, keep_blank_values=True))
        name, uri = rest_operation(service, method, urllib.parse.unquote(path), query)
        if name is None:
            return None, None
        op = model.operation_model(name)
        shape = op.input_shape
        params = {}
        if shape is None:
            return name, params
        for member_name, member in shape.members.items():
            ser = member.serialization
            location, loc_name = ser.get("location"), ser.get("name", member_name)
            if location == "uri" and loc_name in uri:
                params[member_name] = uri[loc_name]
            elif location == "querystring" and loc_name in query:
                params[member_name] = query[loc_name]
            elif location == "header" and loc_name.lower() in headers:
                params[member_name] = headers[loc_name.lower()]
        if body.strip():
            root = ET.fromstring(body)
            payload = shape.serialization.get("payload")
            if payload:
                params[payload] = decode_xml(shape.members[payload], root)
            else:
                params.update(decode_xml(shape, root))
        return name, params
    return None, None


# --- judging: the parameters against the model, and AWS's documented limits ---


@lru_cache(maxsize=None)
def _pattern(text):
    try:
        return regex.compile(text)
    except regex.error:
        return None


def _show(value):
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_shape(shape, value, path, out):
    """Every rule of `shape` `value` breaks, as lines in `out`."""
    t = shape.type_name
    meta = shape.metadata
    if value is None:
        return
    if t == "structure":
        if not isinstance(value, dict):
            out.append(f"{path}: a structure expected, got {_show(value)}")
            return
        for required in shape.required_members:
            if required not in value:
                out.append(f"{path + '.' if path else ''}{required}: required, missing")
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None:
                out.append(f"{path + '.' if path else ''}{name}: not a member of {shape.name}")
                continue
            check_shape(member, member_value, f"{path}.{name}" if path else name, out)
        return
    if t in ("list", "map"):
        n = len(value)
        if "min" in meta and n < meta["min"]:
            out.append(f"{path}: {n} items, at least {meta['min']} allowed")
        if "max" in meta and n > meta["max"]:
            out.append(f"{path}: {n} items, at most {meta['max']} allowed")
        if t == "list":
            for i, item in enumerate(value, 1):
                check_shape(shape.member, item, f"{path}[{i}]", out)
        else:
            for k, v in value.items():
                check_shape(shape.key, k, f"{path} key", out)
                check_shape(shape.value, v, f"{path}[{k}]", out)
        return
    if t == "string":
        text = str(value)
        if shape.enum and text not in shape.enum:
            out.append(f"{path} = {_show(text)}: not one of {', '.join(shape.enum)}")
        n = len(text)
        if "min" in meta and n < meta["min"]:
            out.append(f"{path} = {_show(text)}: {n} characters, at least {meta['min']}")
        if "max" in meta and n > meta["max"]:
            out.append(f"{path} = {_show(text)}: {n} characters, at most {meta['max']}")
        pattern = meta.get("pattern")
        compiled = pattern and _pattern(pattern)
        if compiled and not compiled.search(text):
            out.append(f"{path} = {_show(text)}: does not match {pattern}")
        return
    if t in ("integer", "long"):
        try:
            number = int(value)
        except (TypeError, ValueError):
            out.append(f"{path} = {_show(value)}: not an integer")
            return
        if "min" in meta and number < meta["min"]:
            out.append(f"{path} = {number}: below the minimum {meta['min']}")
        if "max" in meta and number > meta["max"]:
            out.append(f"{path} = {number}: above the maximum {meta['max']}")
        return
    if t == "boolean" and str(value).lower() not in ("true", "false"):
        out.append(f"{path} = {_show(value)}: not a boolean")


TAG_CHARACTERS = regex.compile(r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$")
EC2_GROUP_TEXT = re.compile(r"^[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*$")
EC2_RULE_TEXT = re.compile(r"^[a-zA-Z0-9 ._\-:/()#,@\[\]+=;{}!$*]*$")
ELB_NAME = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$")
RDS_NAME = re.compile(r"^[a-zA-Z](?:[a-zA-Z0-9]|-(?!-))*$")


def _rds_name(max_length):
    def rule(value):
        if len(value) > max_length:
            return f"longer than {max_length} characters"
        if not RDS_NAME.match(value) or value.endswith("-"):
            return "a letter first, then letters, digits and single hyphens, not ending in a hyphen"
        return None

    return rule


def _elb_name(value):
    if value.lower().startswith("internal-"):
        return "must not begin with internal-"
    if not ELB_NAME.match(value):
        return "1 to 32 letters, digits and hyphens, not beginning or ending with a hyphen"
    return None


def _matching(pattern, rule):
    return lambda value: None if pattern.match(value) else rule


def _tags(value):
    for tag in value or []:
        key, val = tag.get("Key", ""), tag.get("Value", "")
        if not (1 <= len(key) <= 128) or len(val) > 256:
            return f"tag {key!r}: keys of 1 to 128 characters, values up to 256"
        if not TAG_CHARACTERS.match(key) or not TAG_CHARACTERS.match(val):
            return f"tag {key!r} = {val!r}: letters, digits, spaces and _ . : / = + - @ only"
    return None


def _descriptions(rule_pattern, rule):
    def check(permissions):
        for permission in permissions or []:
            for group in ("IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs"):
                for item in permission.get(group, []):
                    text = item.get("Description")
                    if text is not None and (len(text) > 255 or not rule_pattern.match(text)):
                        return f"description {text!r}: {rule}"
        return None

    return check


def _weights(actions):
    for action in actions or []:
        for group in (action.get("ForwardConfig") or {}).get("TargetGroups", []):
            weight = group.get("Weight")
            if weight is not None and not 0 <= int(weight) <= 999:
                return f"weight {weight}: 0 to 999"
    return None


# The limits AWS documents and its models do not carry:
# (service, operation, parameter, rule, source).
DOCUMENTED = [
    ("elbv2", "CreateLoadBalancer", "Name", _elb_name,
     "ELBv2 API reference, CreateLoadBalancer: Name"),
    ("elbv2", "CreateTargetGroup", "Name", _elb_name,
     "ELBv2 API reference, CreateTargetGroup: Name (the internal- rule is the load balancer's; kept for both)"),
    ("elbv2", "*", "Actions", _weights,
     "ELBv2 API reference, TargetGroupTuple: Weight"),
    ("elbv2", "*", "DefaultActions", _weights,
     "ELBv2 API reference, TargetGroupTuple: Weight"),
    ("rds", "*", "Tags", _tags,
     "RDS User Guide, Tagging Amazon RDS resources: the characters and lengths of tag keys and values"),
    ("rds", "CreateDBParameterGroup", "DBParameterGroupName", _rds_name(255),
     "RDS API reference, CreateDBParameterGroup: DBParameterGroupName"),
    ("rds", "CreateDBInstance", "DBInstanceIdentifier", _rds_name(63),
     "RDS API reference, CreateDBInstance: DBInstanceIdentifier"),
    ("rds", "CreateDBSubnetGroup", "DBSubnetGroupName",
     lambda v: "at most 255 letters, digits, periods, underscores, spaces and hyphens, not default"
     if len(v) > 255 or v.lower() == "default" or not re.match(r"^[a-zA-Z0-9._ -]+$", v) else None,
     "RDS API reference, CreateDBSubnetGroup: DBSubnetGroupName"),
    ("ec2", "CreateSecurityGroup", "Description",
     lambda v: None if len(v) <= 255 and EC2_GROUP_TEXT.match(v)
     else "up to 255 of a-z A-Z 0-9, spaces and ._-:/()#,@[]+=&;{}!$*",
     "EC2 API reference, CreateSecurityGroup: GroupDescription (VPC)"),
    ("ec2", "CreateSecurityGroup", "GroupName",
     lambda v: None if len(v) <= 255 and EC2_GROUP_TEXT.match(v) and not v.lower().startswith("sg-")
     else "up to 255 of a-z A-Z 0-9, spaces and ._-:/()#,@[]+=&;{}!$*, not beginning with sg-",
     "EC2 API reference, CreateSecurityGroup: GroupName (VPC)"),
    ("ec2", "AuthorizeSecurityGroupIngress", "IpPermissions",
     _descriptions(EC2_RULE_TEXT, "up to 255 of a-z A-Z 0-9, spaces and ._-:/()#,@[]+=;{}!$*"),
     "EC2 API reference, IpRange/UserIdGroupPair: Description"),
    ("ec2", "AuthorizeSecurityGroupEgress", "IpPermissions",
     _descriptions(EC2_RULE_TEXT, "up to 255 of a-z A-Z 0-9, spaces and ._-:/()#,@[]+=;{}!$*"),
     "EC2 API reference, IpRange/UserIdGroupPair: Description"),
]


def check(service, operation, params):
    """Every rule the request breaks: the model's, then the documented ones."""
    model = service_model(service)
    out = []
    shape = model.operation_model(operation).input_shape
    if shape is not None:
        check_shape(shape, params, "", out)
    for svc, op, param, rule, source in DOCUMENTED:
        if svc == service and op in (operation, "*") and param in params:
            broken = rule(params[param])
            if broken:
                out.append(f"{param} = {_show(params[param])}: {broken} ({source})")
    return out


# --- the server: moto behind the checker ---


def _service_of(environ):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", auth)
    return SIGNING_NAMES.get(match.group(1)) if match else None


def _refusal(service, message):
    protocol = service_model(service).metadata["protocol"]
    text = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # JSON 1.1 as the SDK crates speak it (the tagging API's model lists CBOR first).
    if protocol == "json" or service == "resourcegroupstaggingapi":
        code = "InvalidParameterException" if service == "resourcegroupstaggingapi" else "ValidationException"
        body = json.dumps({"__type": code, "message": message})
        return "application/x-amz-json-1.1", body
    if protocol == "ec2":
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error>"
                f"<Code>InvalidParameterValue</Code><Message>{text}</Message></Error></Errors>"
                "<RequestID>conformance</RequestID></Response>")
    else:
        code = "InvalidInput" if protocol == "rest-xml" else "ValidationError"
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{code}</Code><Message>{text}</Message></Error>"
                "<RequestId>conformance</RequestId></ErrorResponse>")
    return "text/xml", body


class Conformance:
    """WSGI middleware: judges each request, answers AWS's refusal for one that
    breaks a rule, hands the others to `app`. Every refusal is also appended to
    `log` (one line each)."""

    def __init__(self, app, log=None):
        self.app = app
        self.log = log

    def __call__(self, environ, start_response):
        service = _service_of(environ)
        _sent.body = None
        if service:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            _sent.body = body
            environ["wsgi.input"] = io.BytesIO(body)
            headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
            if environ.get("CONTENT_TYPE"):
                headers["content-type"] = environ["CONTENT_TYPE"]
            try:
                name, params = decode_request(service, environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""),
                                              environ.get("QUERY_STRING", ""), headers, body)
                broken = check(service, name, params) if name else []
            except Violation as v:
                name, broken = "request", [str(v)]
            if broken:
                message = f"conformance: AWS would refuse {service} {name}: " + "; ".join(broken)
                if self.log:
                    with open(self.log, "a", encoding="utf-8") as f:
                        f.write(message + "\n")
                content_type, payload = _refusal(service, message)
                start_response("400 Bad Request", [("Content-Type", content_type)])
                return [payload.encode()]
        return self.app(environ, start_response)


# The bytes of the request being handled (this thread's), as the client sent
# and signed them.
_sent = threading.local()


def _check_signatures_as_aws_does():
    """When IAM is enforced (`/moto-api/reset-auth`), moto checks each
    request's signature over a body it rebuilds: the parsed parameters
    re-encoded by botocore (a form whose values the Rust SDK encodes
    otherwise fails: `%20` against `+`), or for a GET (Route53's reads) the
    query parameters, where AWS hashes an empty body. Every client's
    signature is refused (AuthFailure, SignatureDoesNotMatch). AWS checks
    the bytes sent: so does this."""
    from moto.iam import access_control

    create = access_control.IAMRequestBase._create_aws_request

    def over_the_bytes_sent(self):
        sent = getattr(_sent, "body", None)
        if sent is None:
            return create(self)
        parsed = self._body, self._data
        self._body = self._data = sent
        try:
            return create(self)
        finally:
            self._body, self._data = parsed

    access_control.IAMRequestBase._create_aws_request = over_the_bytes_sent


def main(argv):
    import argparse

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from moto.server import MotoRequestHandler
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    parser.add_argument("--log", help="append every refusal to this file")
    args = parser.parse_args(argv)
    import os

    os.environ.setdefault("MOTO_PORT", str(args.port))
    _check_signatures_as_aws_does()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, Conformance(app, args.log), threaded=True,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1:])
