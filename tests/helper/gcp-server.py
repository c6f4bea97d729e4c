#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A Compute Engine v1 API server for the tests, with Google's OAuth token
endpoint and a GCE metadata server on the same port.

The API follows the discovery document: every method deploy calls is read
from tests/helper/gcp-compute-v1-subset.json (extracted from the discovery
document by tests/conformance/gcp-extract.py), and each request is checked
against it before anything happens:

  - the path matches the method's template under /compute/v1/, each path
    parameter its pattern;
  - every query parameter is one the method or the API knows, the required
    ones are there, integers are integers within their bounds;
  - a body is JSON of the method's request schema: an unknown field, a
    value of the wrong type, an enum value not listed, an output-only
    field ("[Output Only]" in the document) are refused with 400 in
    Google's error format {"error": {"code", "message", "errors":
    [{"message", "domain", "reason"}], "status"}};
  - the bearer token is one this server gave, not expired, whose scopes
    include one of the method's.

Mutations answer an Operation that goes PENDING -> RUNNING -> DONE over
--op-seconds; its effect happens when it is DONE. operations.wait returns
when DONE or after --wait-max seconds, whichever is first (the real one
returns near two minutes, or sometimes early). A requestId (a non-zero
UUID) is remembered: the same one again answers the first operation and
does nothing more. Lists take `filter` (`labels.K = "V"`, `name = "N"`,
`name != "N"`, joined by spaces or AND, each optionally in parentheses),
maxResults and pageToken (nextPageToken while more). A network, subnetwork,
address or disk in use cannot be deleted (400 resourceInUseByAnotherResource).

POST /token (the token_uri the tests write into key files):
  grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer: the JWT's RS256
  signature is verified with the public half of the service account's key
  (--service-account EMAIL=PUBLIC.pem), its aud must be this URL, iat/exp a
  short-lived window (exp - iat <= 3600, not expired, not in the future),
  scope present; refused as Google does ({"error": "invalid_grant",
  "error_description": ...}, 400).
  grant_type=refresh_token: client_id, client_secret and refresh_token must
  match --authorized-user ID:SECRET:REFRESH.
GET /computeMetadata/v1/instance/service-accounts/default/token and
/computeMetadata/v1/project/project-id: need Metadata-Flavor: Google, answer
with it (--metadata-scopes are the token's scopes; --no-metadata: 404).

Every request is logged to --log as one JSON line: method, path, query,
body (JSON, or the form's fields with assertion/secrets replaced by their
claims or "<redacted>"), api (the discovery method id), status; t0 and t1
(epoch seconds: the request read, the answer about to go) and in_flight
(the requests under way when it was read, itself counted; the largest
over a run is how many the client had in flight). --latency-ms N holds
each request N ms first, as the network and the real API take time. Tokens are
logged by a short hash only.

Test controls (POST /_test/control, a JSON object; or the options of the
same names at start): throttle N (the next N API calls answer
--throttle-kind: "429", or "403" with reason rateLimitExceeded),
fail5xx N (the next N API calls answer 503), expire_tokens true (every
token given so far expires now), quota_cpus N (instance inserts beyond N
vCPUs in a region end in QUOTA_EXCEEDED), remove [collection, scope, name]
(a resource deleted behind deploy's back), op_seconds S, finish_on_read
true (an operation read with operations.get ends just before that read:
its resource appears between a client's read of it and of the operation).
GET /_test/resources lists every resource (for assertions).

Crash tests: --kill-at compute.instances.insert:before,...:after and
--kill-pid-file F SIGKILL the process F names, each point once (POINT#N:
at the Nth time the method comes to that point), and log
{"killed": PID, "at": POINT}.

Stdlib and `cryptography` (installed on this machine kind) only.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import signal
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

HERE = os.path.dirname(os.path.abspath(__file__))
API = json.load(open(os.path.join(HERE, "gcp-compute-v1-subset.json")))
PREFIX = "/" + API["servicePath"]  # "/compute/v1/"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"

ZONES = {
    "us-central1": ["us-central1-a", "us-central1-b", "us-central1-c",
                    "us-central1-f"],
    "europe-west1": ["europe-west1-b", "europe-west1-c", "europe-west1-d"],
    "europe-west4": ["europe-west4-a", "europe-west4-b", "europe-west4-c"],
    "us-east1": ["us-east1-b", "us-east1-c", "us-east1-d"],
}
MACHINE_TYPES = {  # name: (vCPUs, memory MB)
    "e2-micro": (2, 1024), "e2-small": (2, 2048), "e2-medium": (2, 4096),
    "e2-standard-2": (2, 8192), "e2-standard-4": (4, 16384),
    "n2-standard-2": (2, 8192), "n2-standard-4": (4, 16384),
    "n2-standard-8": (8, 32768), "n2-standard-16": (16, 65536),
}
IMAGES = {  # (project, family): image name
    ("debian-cloud", "debian-12"): "debian-12-bookworm-v20231010",
    ("debian-cloud", "debian-11"): "debian-11-bullseye-v20231010",
    ("ubuntu-os-cloud", "ubuntu-2204-lts"): "ubuntu-2204-jammy-v20231030",
    ("ubuntu-os-cloud", "ubuntu-2404-lts-amd64"):
        "ubuntu-2404-noble-amd64-v20240523",
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--project", default="deploy-test")
    p.add_argument("--service-account", action="append", default=[],
                   help="EMAIL=PUBLIC_KEY.pem")
    p.add_argument("--authorized-user", action="append", default=[],
                   help="CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN")
    p.add_argument("--token-ttl", type=int, default=3600,
                   help="the expires_in given with each token")
    p.add_argument("--token-real-ttl", type=float, default=0,
                   help="when the tokens really end (default: expires_in)")
    p.add_argument("--metadata-scopes",
                   default="https://www.googleapis.com/auth/cloud-platform")
    p.add_argument("--no-metadata", action="store_true")
    p.add_argument("--op-seconds", type=float, default=0.3)
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--wait-max", type=float, default=1.0)
    p.add_argument("--throttle", type=int, default=0)
    p.add_argument("--throttle-kind", choices=["429", "403"], default="429")
    p.add_argument("--fail5xx", type=int, default=0)
    p.add_argument("--quota-cpus", type=int, default=0)
    p.add_argument("--page-max", type=int, default=500,
                   help="largest page a list answers")
    p.add_argument("--kill-at", default="",
                   help="API:before or API:after, comma-separated: SIGKILL "
                   "the process in --kill-pid-file once, when that method "
                   "arrives (not carried out) or once it is carried out "
                   "(before its answer); API:after#N: at its Nth call")
    p.add_argument("--kill-pid-file")
    return p.parse_args()


class ApiError(Exception):
    def __init__(self, code, reason, message, status=None, domain="global",
                 extra=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.domain = domain
        self.status = status or {
            400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED",
            403: "PERMISSION_DENIED", 404: "NOT_FOUND",
            409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED",
            503: "UNAVAILABLE"}.get(code, "UNKNOWN")
        self.extra = extra

    def body(self):
        e = {"code": self.code, "message": self.message,
             "errors": [{"message": self.message, "domain": self.domain,
                         "reason": self.reason}],
             "status": self.status}
        if self.extra:
            e["details"] = self.extra
        return {"error": e}


def invalid(msg, reason="invalid"):
    return ApiError(400, reason, msg)


# --- the discovery document: routes and schemas ----------------------------

def compile_routes():
    routes = []
    for mid, m in API["methods"].items():
        rx = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)",
                          re.escape(m["path"])) + "$"
        routes.append((m["httpMethod"], re.compile(rx), mid, m))
    return routes


ROUTES = compile_routes()

JSON_TYPES = {"string": str, "boolean": bool, "object": dict, "array": list}


def check_value(v, spec, where):
    """Check v against a discovery property spec; raise ApiError 400."""
    if "$ref" in spec:
        spec = API["schemas"][spec["$ref"]]
    t = spec.get("type")
    if t == "integer" or (t == "string" and spec.get("format") in
                          ("int64", "uint64") and not isinstance(v, str)):
        if isinstance(v, str) and re.fullmatch(r"-?[0-9]+", v):
            return
        if not isinstance(v, int) or isinstance(v, bool):
            raise invalid(f"Invalid value at '{where}' ({t}), "
                          f"{json.dumps(v)}")
        return
    if t == "number":
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise invalid(f"Invalid value at '{where}' (number), "
                          f"{json.dumps(v)}")
        return
    if t in JSON_TYPES and not isinstance(v, JSON_TYPES[t]):
        raise invalid(f"Invalid value at '{where}' ({t}), {json.dumps(v)}")
    if "enum" in spec and v not in spec["enum"]:
        raise invalid(f"Invalid value at '{where}' (enum), "
                      f"{json.dumps(v)}")
    if t == "array":
        for i, item in enumerate(v):
            check_value(item, spec.get("items", {}), f"{where}[{i}]")
    elif t == "object":
        props = spec.get("properties")
        addl = spec.get("additionalProperties")
        for k, item in v.items():
            sub = f"{where}.{k}"
            if props is not None and k in props:
                p = props[k]
                if p.get("outputOnly") and not (
                        k == "kind" and isinstance(item, str) and
                        item.startswith("compute#")):
                    raise invalid(f"Invalid value for field '{sub}': "
                                  f"output-only field set")
                check_value(item, p, sub)
            elif addl is not None:
                check_value(item, addl, sub)
            else:
                raise invalid(f"Invalid JSON payload received. Unknown "
                              f"name \"{k}\" at '{where}': Cannot find "
                              f"field.")


def check_query(m, query):
    known = set(API["parameters"])
    for k, vals in query.items():
        p = m["parameters"].get(k)
        if p is None or p.get("location") != "query":
            if k in known:
                continue
            raise invalid(f"Invalid JSON payload received. Unknown name "
                          f"\"{k}\": Cannot bind query parameter. Field "
                          f"'{k}' could not be found in request message.")
        if len(vals) != 1:
            raise invalid(f"Invalid value for '{k}': repeated")
        v = vals[0]
        if p.get("type") == "integer":
            if not re.fullmatch(r"[0-9]+", v):
                raise invalid(f"Invalid value at '{k}' (TYPE_UINT32), "
                              f"\"{v}\"")
            if "minimum" in p and int(v) < int(p["minimum"]):
                raise invalid(f"Invalid value for '{k}': {v}")
            if "maximum" in p and int(v) > int(p["maximum"]):
                raise invalid(f"Invalid value for '{k}': {v}")
        if p.get("type") == "boolean" and v not in ("true", "false"):
            raise invalid(f"Invalid value at '{k}' (TYPE_BOOL), \"{v}\"")
    for k, p in m["parameters"].items():
        if p.get("required") and p.get("location") == "query" and \
                k not in query:
            raise invalid(f"Required parameter '{k}' is missing")


# --- list filters ----------------------------------------------------------

FILTER_TERM = re.compile(
    r'\s*\(?\s*([A-Za-z][\w.-]*)\s*(=|!=|eq|ne)\s*("(?:[^"\\]|\\.)*"|[^\s)]+)'
    r'\s*\)?\s*(?:AND\s+)?')


def parse_filter(text):
    terms, pos = [], 0
    text = text.strip()
    while pos < len(text):
        mt = FILTER_TERM.match(text, pos)
        if not mt or mt.end() == pos:
            raise invalid(f"Invalid value for field 'filter': '{text}'. "
                          f"Invalid list filter expression.")
        key, op, val = mt.groups()
        if val.startswith('"'):
            val = json.loads(val)
        if op in ("eq", "ne"):  # regular-expression forms
            terms.append((key, op, re.compile(val)))
        else:
            terms.append((key, op, val))
        pos = mt.end()
    return terms


def field(res, key):
    v = res
    for part in key.split("."):
        if not isinstance(v, dict) or part not in v:
            return None
        v = v[part]
    return v if isinstance(v, str) else (json.dumps(v) if v is not None
                                          else None)


def matches(res, terms):
    for key, op, val in terms:
        v = field(res, key)
        if op == "=" and v != val:
            return False
        if op == "!=" and v == val:
            return False
        if op == "eq" and (v is None or not val.fullmatch(v)):
            return False
        if op == "ne" and v is not None and val.fullmatch(v):
            return False
    return True


# --- the server's state ----------------------------------------------------

class World:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.res = {}   # (collection, scope) -> {name: resource}
        self.ops = {}   # (scope, name) -> operation (internal dict)
        self.by_request = {}  # requestId -> op key
        self.tokens = {}  # token -> {"exp", "scopes", "who"}
        self.next_id = 1000
        self.in_flight = 0
        self.ip = 2
        self.ctl = {"throttle": args.throttle,
                    "throttle_kind": args.throttle_kind,
                    "fail5xx": args.fail5xx, "quota_cpus": args.quota_cpus,
                    "op_seconds": args.op_seconds}
        self.pages = {}
        self.kill_at = set(p for p in args.kill_at.split(",") if p)
        self.kill_seen = {}
        self.sa_keys = {}
        for spec in args.service_account:
            email, path = spec.split("=", 1)
            with open(path, "rb") as f:
                self.sa_keys[email] = serialization.load_pem_public_key(
                    f.read())
        self.users = {}
        for spec in args.authorized_user:
            cid, secret, refresh = spec.split(":", 2)
            self.users[cid] = (secret, refresh)
        self.log = open(args.log, "a", buffering=1)

    def new_id(self):
        self.next_id += 1
        return str(self.next_id * 7919)

    def coll(self, collection, scope):
        return self.res.setdefault((collection, scope), {})

    def find_link(self, link):
        """A resource from a full or partial URL, or None."""
        if not link:
            return None
        path = link.split(PREFIX, 1)[-1].strip("/")
        if not path.startswith("projects/"):
            path = f"projects/{self.args.project}/" + path
        parts = path.split("/")
        if len(parts) < 4 or parts[0] != "projects":
            return None
        if parts[2] in ("zones", "regions") and len(parts) >= 6:
            return self.coll(parts[4], f"{parts[2]}/{parts[3]}").get(
                parts[5])
        if parts[2] == "global" and len(parts) >= 5:
            return self.coll(parts[3], "global").get(parts[4])
        return None


W = None


def rfc3339(t=None):
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
        ".000-00:00"


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def short(token):
    return hashlib.sha256(token.encode()).hexdigest()[:12]


# --- operations ------------------------------------------------------------

def op_view(op, base):
    now = time.time()
    d = op["seconds"]
    age = now - op["t0"]
    if op["done"]:
        status = "DONE"
    elif age >= d / 3:
        status = "RUNNING"
    else:
        status = "PENDING"
    v = {"kind": "compute#operation", "id": op["id"], "name": op["name"],
         "operationType": op["type"],
         "targetLink": base + op["target"], "targetId": op["target_id"],
         "status": status, "user": op["user"],
         "progress": 100 if op["done"] else (0 if status == "PENDING"
                                             else 50),
         "insertTime": rfc3339(op["t0"]),
         "selfLink": base + op["self"]}
    if status != "PENDING":
        v["startTime"] = rfc3339(op["t0"] + d / 3)
    if op["done"]:
        v["endTime"] = rfc3339(op["t_done"])
    if op["scope"].startswith("zones/"):
        v["zone"] = base + f"projects/{W.args.project}/{op['scope']}"
    elif op["scope"].startswith("regions/"):
        v["region"] = base + f"projects/{W.args.project}/{op['scope']}"
    if op.get("error"):
        v["error"] = {"errors": [op["error"]]}
        v["httpErrorStatusCode"] = op["http_status"]
        v["httpErrorMessage"] = op["http_message"]
    return v


def finish_ops():
    """Run the effects of operations whose time is up (lock held)."""
    now = time.time()
    for op in W.ops.values():
        if not op["done"] and now - op["t0"] >= op["seconds"]:
            try:
                op["effect"]()
            except ApiError as e:
                op["error"] = {"code": e.reason, "message": e.message}
                op["http_status"] = e.code
                op["http_message"] = e.status
            op["done"] = True
            op["t_done"] = now
    W.cond.notify_all()


def ticker():
    while True:
        time.sleep(0.02)
        with W.lock:
            finish_ops()


def start_op(scope, otype, target, effect, request_id, user):
    name = f"operation-{int(time.time() * 1000)}-{secrets.token_hex(6)}"
    pp = f"projects/{W.args.project}/"
    self_path = pp + (f"{scope}/operations/{name}" if scope != "global"
                      else f"global/operations/{name}")
    op = {"id": W.new_id(), "name": name, "scope": scope, "type": otype,
          "target": pp + target, "target_id": W.new_id(), "t0": time.time(),
          "seconds": W.ctl["op_seconds"], "done": False, "effect": effect,
          "self": self_path, "user": user}
    W.ops[(scope, name)] = op
    if request_id:
        W.by_request[request_id] = (scope, name)
    return op


# --- the collections -------------------------------------------------------

def link(base, path):
    return base + f"projects/{W.args.project}/" + path


def refs_to(tail):
    """Other resources that refer to the resource at path tail."""
    out = []
    for (collection, scope), items in W.res.items():
        for name, r in items.items():
            if r.get("selfLink", "").endswith("/" + tail):
                continue
            if ("/" + tail + '"') in json.dumps(r):
                where = (f"global/{collection}/{name}" if scope == "global"
                         else f"{scope}/{collection}/{name}")
                out.append(f"projects/{W.args.project}/{where}")
    return out


def check_name(body, what):
    name = body.get("name")
    if not isinstance(name, str) or not re.fullmatch(
            r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?", name):
        raise invalid(f"Invalid value for field 'resource.name': "
                      f"'{name}'. Must be a match of regex "
                      f"'(?:[a-z](?:[-a-z0-9]{{0,61}}[a-z0-9])?)'")
    return name


def check_labels(body):
    for k, v in (body.get("labels") or {}).items():
        if not re.fullmatch(r"[a-z][-_a-z0-9]{0,62}", k) or \
                not re.fullmatch(r"[-_a-z0-9]{0,63}", v):
            raise invalid(f"Invalid value for field 'resource.labels': "
                          f"'{k}'")


def need_link(link_value, what, field_name):
    r = W.find_link(link_value)
    if r is None:
        raise ApiError(404 if what != "field" else 400, "notFound",
                       f"The resource '{link_value}' was not found"
                       if what != "field" else
                       f"Invalid value for field '{field_name}': "
                       f"'{link_value}'. The referenced resource does "
                       f"not exist.")
    return r


def zone_region(zone):
    for region, zones in ZONES.items():
        if zone in zones:
            return region
    return None


def new_ip(prefix="10.128.0."):
    W.ip += 1
    return f"{prefix}{W.ip}"


def insert_effect(collection, scope, body, base, before=None):
    def effect():
        items = W.coll(collection, scope)
        if before:
            before()
        items[body["name"]] = body
    return effect


def do_insert(method_id, params, body, base, request_id, user):
    project = W.args.project
    collection = method_id.split(".")[1]
    if "zone" in params:
        scope = f"zones/{params['zone']}"
    elif "region" in params:
        scope = f"regions/{params['region']}"
    else:
        scope = "global"
    name = check_name(body, collection)
    check_labels(body)
    items = W.coll(collection, scope)
    tail = (f"{scope}/{collection}/{name}" if scope != "global"
            else f"global/{collection}/{name}")
    pending = any(o["target"].endswith("/" + tail) and not o["done"] and
                  o["type"] == "insert" for o in W.ops.values())
    if name in items or pending:
        raise ApiError(409, "alreadyExists",
                       f"The resource 'projects/{project}/{tail}' already "
                       f"exists")
    r = dict(body)
    r.update({"kind": f"compute#{collection[:-1] if collection != 'addresses' else 'address'}",
              "id": W.new_id(), "creationTimestamp": rfc3339(),
              "selfLink": link(base, tail)})
    if "zone" in params:
        r["zone"] = link(base, scope)
    if "region" in params:
        r["region"] = link(base, scope)
    if collection == "networks":
        if r.get("autoCreateSubnetworks") is not False:
            if "IPv4Range" not in r:
                r.setdefault("autoCreateSubnetworks", True)
        r.setdefault("routingConfig", {"routingMode": "REGIONAL"})
    elif collection == "subnetworks":
        net = need_link(r.get("network"), "field", "resource.network")
        if net.get("autoCreateSubnetworks"):
            raise invalid("Invalid value for field 'resource.network': "
                          "subnetworks of an auto mode network cannot be "
                          "inserted")
        if not re.fullmatch(r"\d+\.\d+\.\d+\.\d+/\d+",
                            r.get("ipCidrRange", "")):
            raise invalid(f"Invalid value for field "
                          f"'resource.ipCidrRange': "
                          f"'{r.get('ipCidrRange')}'. Invalid IPCidrRange")
        r["network"] = net["selfLink"]
        r["gatewayAddress"] = r["ipCidrRange"].rsplit(".", 1)[0] + ".1"
    elif collection == "firewalls":
        net = need_link(r.get("network") or "global/networks/default",
                        "field", "resource.network")
        r["network"] = net["selfLink"]
        r.setdefault("direction", "INGRESS")
        r.setdefault("priority", 1000)
        r.setdefault("disabled", False)
        if not r.get("allowed") and not r.get("denied"):
            raise invalid("Required field 'resource.allowed' not specified")
        if r["direction"] == "INGRESS" and not r.get("sourceRanges") and \
                not r.get("sourceTags") and \
                not r.get("sourceServiceAccounts"):
            r["sourceRanges"] = ["0.0.0.0/0"]
    elif collection == "addresses":
        r.setdefault("addressType", "EXTERNAL")
        r["address"] = r.get("address") or new_ip("203.0.113.")
        r["status"] = "RESERVED"
    elif collection == "disks":
        zone = params["zone"]
        r.setdefault("type", link(base, f"zones/{zone}/diskTypes/pd-standard"))
        r["sizeGb"] = str(r.get("sizeGb", "10"))
        r["status"] = "READY"
    elif collection == "instances":
        zone = params["zone"]
        mt = r.get("machineType", "")
        mname = mt.rsplit("/", 1)[-1]
        if f"zones/{zone}/machineTypes/" not in mt or \
                mname not in MACHINE_TYPES:
            raise invalid(f"Invalid value for field "
                          f"'resource.machineType': '{mt}'. Machine type "
                          f"with name '{mname}' does not exist in zone "
                          f"'{zone}'.")
        disks = r.get("disks") or []
        if not disks or not disks[0].get("boot"):
            raise invalid("Invalid value for field 'resource.disks': ''. "
                          "Boot disk must be specified.")
        for i, d in enumerate(disks):
            ip = d.get("initializeParams") or {}
            if d.get("source"):
                disk = need_link(d["source"], "field",
                                 f"resource.disks[{i}].source")
                if disk.get("users"):
                    raise ApiError(400, "resourceInUseByAnotherResource",
                                   f"The disk resource "
                                   f"'{d['source']}' is already being "
                                   f"used by '{disk['users'][0]}'")
            elif ip.get("sourceImage"):
                if resolve_image(ip["sourceImage"]) is None:
                    raise invalid(f"Invalid value for field "
                                  f"'resource.disks[{i}].initializeParams"
                                  f".sourceImage': '{ip['sourceImage']}'. "
                                  f"The referenced image resource cannot "
                                  f"be found.")
            else:
                raise invalid(f"Invalid value for field "
                              f"'resource.disks[{i}]': no source")
        nics = r.get("networkInterfaces") or []
        if not nics:
            raise invalid("Invalid value for field "
                          "'resource.networkInterfaces': ''. At least one "
                          "network interface is required.")
        for i, nic in enumerate(nics):
            sub = None
            if nic.get("subnetwork"):
                sub = need_link(nic["subnetwork"], "field",
                                f"resource.networkInterfaces[{i}]"
                                f".subnetwork")
            net = need_link(nic.get("network") or
                            (sub["network"] if sub else
                             "global/networks/default"), "field",
                            f"resource.networkInterfaces[{i}].network")
            if sub and sub["network"] != net["selfLink"]:
                raise invalid(f"Invalid value for field "
                              f"'resource.networkInterfaces[{i}]"
                              f".subnetwork': the subnetwork is not in "
                              f"the network")
            nic["network"] = net["selfLink"]
            if sub:
                if sub.get("region", "").rsplit("/", 1)[-1] != \
                        zone_region(zone):
                    raise invalid(f"Invalid value for field "
                                  f"'resource.networkInterfaces[{i}]"
                                  f".subnetwork': the subnetwork is not "
                                  f"in the instance's region")
                nic["subnetwork"] = sub["selfLink"]
                nic["networkIP"] = sub["ipCidrRange"].rsplit(".", 1)[0] + \
                    "." + str(W.ip + 1)
                W.ip += 1
            else:
                nic["networkIP"] = new_ip()
            nic["name"] = f"nic{i}"
            for ac in nic.get("accessConfigs") or []:
                if ac.get("natIP"):
                    found = [a for (c, s), it in W.res.items()
                             if c == "addresses" for a in it.values()
                             if a.get("address") == ac["natIP"]]
                    if not found:
                        raise invalid(f"Invalid value for field "
                                      f"'resource.networkInterfaces[{i}]"
                                      f".accessConfigs[0].natIP': "
                                      f"'{ac['natIP']}'. The specified "
                                      f"external IP address was not found "
                                      f"in region '{zone_region(zone)}'.")
                    if found[0].get("users"):
                        raise invalid(f"External IP address: "
                                      f"{ac['natIP']} is already in-use.")
                else:
                    ac["natIP"] = new_ip("198.51.100.")
                ac.setdefault("type", "ONE_TO_ONE_NAT")
                ac.setdefault("name", "External NAT")
        r["status"] = "PROVISIONING"
        r["cpuPlatform"] = "Intel Cascade Lake"
    if collection == "instances":
        region = zone_region(params["zone"])
        cpus = MACHINE_TYPES[mname][0]

        def quota():
            limit = W.ctl["quota_cpus"]
            if not limit:
                return
            used = sum(MACHINE_TYPES[i["machineType"].rsplit("/", 1)[-1]][0]
                       for (c, s), it in W.res.items() if c == "instances"
                       and zone_region(s.split("/")[1]) == region
                       for i in it.values())
            if used + cpus > limit:
                raise ApiError(403, "QUOTA_EXCEEDED",
                               f"Quota 'CPUS' exceeded.  Limit: "
                               f"{float(limit)} in region {region}.",
                               status="FORBIDDEN")

        def effect():
            quota()
            for d in r["disks"]:
                if d.get("source"):
                    W.find_link(d["source"]).setdefault(
                        "users", []).append(r["selfLink"])
                else:
                    d["source"] = link(base, f"zones/{params['zone']}/disks/"
                                       + (d.get("initializeParams") or {})
                                       .get("diskName", r["name"]))
                d.setdefault("autoDelete", bool(d.get("boot")))
                d.setdefault("type", "PERSISTENT")
                d.setdefault("mode", "READ_WRITE")
            for nic in r["networkInterfaces"]:
                for ac in nic.get("accessConfigs") or []:
                    for (c, s), it in W.res.items():
                        for a in it.values():
                            if c == "addresses" and \
                                    a.get("address") == ac["natIP"]:
                                a["status"] = "IN_USE"
                                a["users"] = [r["selfLink"]]
            r["status"] = "RUNNING"
            W.coll("instances", scope)[name] = r
        return start_op(scope, "insert", tail, effect, request_id, user)
    return start_op(scope, "insert", tail,
                    insert_effect(collection, scope, r, base), request_id,
                    user)


def resolve_image(src):
    m = re.search(r"projects/([^/]+)/global/images/family/([^/]+)$", src)
    if m:
        return IMAGES.get((m.group(1), m.group(2)))
    m = re.search(r"projects/([^/]+)/global/images/([^/]+)$", src)
    if m and m.group(2) in [v for (p, f), v in IMAGES.items()
                            if p == m.group(1)]:
        return m.group(2)
    return None


def do_delete(method_id, params, base, request_id, user):
    collection = method_id.split(".")[1]
    name = params[{"instances": "instance", "networks": "network",
                   "subnetworks": "subnetwork", "firewalls": "firewall",
                   "addresses": "address", "disks": "disk"}[collection]]
    scope = (f"zones/{params['zone']}" if "zone" in params else
             f"regions/{params['region']}" if "region" in params else
             "global")
    tail = (f"{scope}/{collection}/{name}" if scope != "global"
            else f"global/{collection}/{name}")
    items = W.coll(collection, scope)
    r = items.get(name)
    if r is None:
        raise ApiError(404, "notFound",
                       f"The resource 'projects/{W.args.project}/{tail}' "
                       f"was not found")
    if collection in ("networks", "subnetworks", "addresses", "disks"):
        users = refs_to(tail)
        if collection == "addresses" and r.get("users"):
            users = r["users"]
        if collection == "disks" and r.get("users"):
            users = r["users"]
        if users:
            kind = collection[:-1] if collection != "addresses" \
                else "address"
            raise ApiError(400, "resourceInUseByAnotherResource",
                           f"The {kind} resource 'projects/"
                           f"{W.args.project}/{tail}' is already being "
                           f"used by '{users[0]}'")

    def effect():
        items.pop(name, None)
        if collection == "instances":
            for d in r.get("disks", []):
                disk = W.find_link(d.get("source"))
                if disk is not None:
                    disk["users"] = [u for u in disk.get("users", [])
                                     if u != r["selfLink"]]
            for (c, s), it in W.res.items():
                for a in it.values():
                    if c == "addresses" and r["selfLink"] in \
                            a.get("users", []):
                        a["users"] = []
                        a["status"] = "RESERVED"
    if collection == "instances":
        r["status"] = "STOPPING"
    return start_op(scope, "delete", tail, effect, request_id, user)


def do_patch(params, body, base, request_id, user):
    name = params["firewall"]
    items = W.coll("firewalls", "global")
    r = items.get(name)
    tail = f"global/firewalls/{name}"
    if r is None:
        raise ApiError(404, "notFound",
                       f"The resource 'projects/{W.args.project}/{tail}' "
                       f"was not found")
    if "name" in body and body["name"] != name:
        raise invalid("Invalid value for field 'resource.name': "
                      f"'{body['name']}'. The name cannot be changed")

    def effect():
        for k, v in body.items():
            if k in ("sourceRanges", "sourceTags") and v == []:
                r.pop(k, None)
            else:
                r[k] = v
    return start_op("global", "patch", tail, effect, request_id, user)


def do_set_labels(params, body, base, request_id, user):
    scope = f"zones/{params['zone']}"
    r = W.coll("instances", scope).get(params["instance"])
    tail = f"{scope}/instances/{params['instance']}"
    if r is None:
        raise ApiError(404, "notFound",
                       f"The resource 'projects/{W.args.project}/{tail}' "
                       f"was not found")

    def effect():
        r["labels"] = body.get("labels", {})
    return start_op(scope, "setLabels", tail, effect, request_id, user)


def do_get(method_id, params, base):
    project = W.args.project
    res = method_id.split(".")[1]
    if res == "zones":
        if zone_region(params["zone"]) is None:
            raise ApiError(404, "notFound", f"The resource 'projects/"
                           f"{project}/zones/{params['zone']}' was not "
                           f"found")
        return zone_view(params["zone"], base)
    if res == "regions":
        if params["region"] not in ZONES:
            raise ApiError(404, "notFound", f"The resource 'projects/"
                           f"{project}/regions/{params['region']}' was not "
                           f"found")
        return {"kind": "compute#region", "name": params["region"],
                "status": "UP", "selfLink": link(base,
                                                 f"regions/{params['region']}"),
                "zones": [link(base, f"zones/{z}")
                          for z in ZONES[params["region"]]]}
    if res == "machineTypes":
        zone, mt = params["zone"], params["machineType"]
        if zone_region(zone) is None or mt not in MACHINE_TYPES:
            raise ApiError(404, "notFound", f"The resource 'projects/"
                           f"{project}/zones/{zone}/machineTypes/{mt}' was "
                           f"not found")
        return {"kind": "compute#machineType", "name": mt, "zone": zone,
                "guestCpus": MACHINE_TYPES[mt][0],
                "memoryMb": MACHINE_TYPES[mt][1],
                "selfLink": link(base, f"zones/{zone}/machineTypes/{mt}")}
    if res == "images":
        p = params["project"]
        if "family" in params:
            name = IMAGES.get((p, params["family"]))
            what = f"projects/{p}/global/images/family/{params['family']}"
        else:
            name = params["image"] if resolve_image(
                f"projects/{p}/global/images/{params['image']}") else None
            what = f"projects/{p}/global/images/{params['image']}"
        if name is None:
            raise ApiError(404, "notFound",
                           f"The resource '{what}' was not found")
        fam = [f for (pp, f), v in IMAGES.items() if v == name][0]
        return {"kind": "compute#image", "name": name, "family": fam,
                "status": "READY",
                "selfLink": base + f"projects/{p}/global/images/{name}"}
    if res.endswith("Operations"):
        scope = (f"zones/{params['zone']}" if "zone" in params else
                 f"regions/{params['region']}" if "region" in params
                 else "global")
        op = W.ops.get((scope, params["operation"]))
        if op is None:
            raise ApiError(404, "notFound", f"The resource 'projects/"
                           f"{project}/{scope}/operations/"
                           f"{params['operation']}' was not found")
        if W.ctl.get("finish_on_read") and not op["done"]:
            # The operation ends just before this read: between a
            # client's read of its resource and of the operation.
            op["t0"] = time.time() - op["seconds"]
            finish_ops()
        return op_view(op, base)
    key = {"instances": "instance", "networks": "network",
           "subnetworks": "subnetwork", "firewalls": "firewall",
           "addresses": "address", "disks": "disk"}[res]
    scope = (f"zones/{params['zone']}" if "zone" in params else
             f"regions/{params['region']}" if "region" in params else
             "global")
    r = W.coll(res, scope).get(params[key])
    if r is None:
        tail = (f"{scope}/{res}/{params[key]}" if scope != "global"
                else f"global/{res}/{params[key]}")
        raise ApiError(404, "notFound", f"The resource 'projects/{project}/"
                       f"{tail}' was not found")
    return r


def zone_view(zone, base):
    return {"kind": "compute#zone", "name": zone, "status": "UP",
            "region": link(base, f"regions/{zone_region(zone)}"),
            "selfLink": link(base, f"zones/{zone}")}


def do_list(method_id, params, query, base):
    res = method_id.split(".")[1]
    if res == "zones":
        items = [zone_view(z, base) for zs in ZONES.values() for z in zs]
    else:
        scope = (f"zones/{params['zone']}" if "zone" in params else
                 f"regions/{params['region']}" if "region" in params
                 else "global")
        items = sorted(W.coll(res, scope).values(),
                       key=lambda r: r["name"])
    if "filter" in query:
        terms = parse_filter(query["filter"][0])
        items = [r for r in items if matches(r, terms)]
    n = int(query.get("maxResults", ["500"])[0])
    n = min(n if n > 0 else 500, 500, W.args.page_max)
    start = 0
    if "pageToken" in query:
        tok = query["pageToken"][0]
        if tok not in W.pages:
            raise invalid("Invalid value for field 'pageToken': "
                          f"'{tok}'. Supplied pageToken is invalid.")
        start = W.pages[tok]
    out = {"kind": f"compute#{res[:-1] if res != 'addresses' else 'address'}List",
           "id": f"projects/{W.args.project}/{res}",
           "items": items[start:start + n],
           "selfLink": base + f"projects/{W.args.project}/{res}"}
    if not out["items"]:
        del out["items"]
    if start + n < len(items):
        tok = secrets.token_urlsafe(12)
        W.pages[tok] = start + n
        out["nextPageToken"] = tok
    return out


def do_aggregated(query, base):
    """instances.aggregatedList: every zone's instances, paged as one list,
    each page grouped by zone ("zones/Z": {"instances": [...]})."""
    items = []
    for (c, scope), it in sorted(W.res.items()):
        if c == "instances":
            items += [(scope, r) for r in sorted(it.values(),
                                                 key=lambda r: r["name"])]
    if "filter" in query:
        terms = parse_filter(query["filter"][0])
        items = [(s, r) for s, r in items if matches(r, terms)]
    n = int(query.get("maxResults", ["500"])[0])
    n = min(n if n > 0 else 500, 500, W.args.page_max)
    start = 0
    if "pageToken" in query:
        tok = query["pageToken"][0]
        if tok not in W.pages:
            raise invalid("Invalid value for field 'pageToken': "
                          f"'{tok}'. Supplied pageToken is invalid.")
        start = W.pages[tok]
    groups = {}
    for scope, r in items[start:start + n]:
        groups.setdefault(scope, {"instances": []})["instances"].append(r)
    out = {"kind": "compute#instanceAggregatedList",
           "id": f"projects/{W.args.project}/aggregated/instances",
           "items": groups,
           "selfLink": base + f"projects/{W.args.project}/aggregated/"
                              f"instances"}
    if start + n < len(items):
        tok = secrets.token_urlsafe(12)
        W.pages[tok] = start + n
        out["nextPageToken"] = tok
    return out


# --- OAuth and metadata ----------------------------------------------------

def grant(error, desc):
    return 400, {"error": error, "error_description": desc}


def token_for(who, scopes):
    tok = "ya29.test-" + secrets.token_urlsafe(24)
    W.tokens[tok] = {"exp": time.time() + (W.args.token_real_ttl or
                                           W.args.token_ttl),
                     "scopes": set(scopes.split()), "who": who}
    return tok


def do_token(form, base, log):
    gt = form.get("grant_type", [""])[0]
    log["grant_type"] = gt
    if gt == JWT_GRANT:
        jwt = form.get("assertion", [""])[0]
        parts = jwt.split(".")
        if len(parts) != 3:
            return grant("invalid_grant", "Invalid JWT: malformed")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            sig = b64url_decode(parts[2])
        except ValueError:
            return grant("invalid_grant", "Invalid JWT: malformed")
        log["jwt_header"] = header
        log["jwt_claims"] = claims
        if header.get("alg") != "RS256" or header.get("typ") != "JWT":
            return grant("invalid_grant", "Invalid JWT: unsupported header")
        key = W.sa_keys.get(claims.get("iss"))
        if key is None:
            return grant("invalid_grant", "Invalid grant: account not found")
        try:
            key.verify(sig, (parts[0] + "." + parts[1]).encode(),
                       padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return grant("invalid_grant", "Invalid JWT Signature.")
        if claims.get("aud") != base + "token":
            return grant("invalid_grant",
                         "Invalid JWT: Failed audience check. The right "
                         "audience is " + base + "token")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or \
                exp - iat > 3600 or exp < now or iat > now + 60:
            return grant("invalid_grant",
                         "Invalid JWT: Token must be a short-lived token "
                         "(60 minutes) and in a reasonable timeframe. "
                         "Check your iat and exp values in the JWT claim.")
        scope = claims.get("scope")
        if not isinstance(scope, str) or not scope.strip():
            return 400, {"error": "invalid_scope",
                         "error_description": "Invalid OAuth scope or ID "
                         "token audience provided."}
        tok = token_for("sa:" + claims["iss"], scope)
    elif gt == "refresh_token":
        cid = form.get("client_id", [""])[0]
        user = W.users.get(cid)
        if user is None:
            return 401, {"error": "invalid_client",
                         "error_description": "The OAuth client was not "
                         "found."}
        if form.get("client_secret", [""])[0] != user[0]:
            # A broken server: a secret starting "echo-" is quoted back,
            # with the refresh token.
            secret = form.get("client_secret", [""])[0]
            if secret.startswith("echo-"):
                return 401, {"error": "invalid_client",
                             "error_description": "Unauthorized: %s %s" % (
                                 secret,
                                 form.get("refresh_token", [""])[0])}
            return 401, {"error": "invalid_client",
                         "error_description": "Unauthorized"}
        if form.get("refresh_token", [""])[0] != user[1]:
            return grant("invalid_grant", "Bad Request")
        tok = token_for("user:" + cid,
                        "https://www.googleapis.com/auth/cloud-platform")
    else:
        return 400, {"error": "unsupported_grant_type",
                     "error_description": "Invalid grant_type: " + gt}
    log["token"] = short(tok)
    return 200, {"access_token": tok, "expires_in": W.args.token_ttl,
                 "token_type": "Bearer"}


# --- HTTP ------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    server_version = "gcp-test"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def base(self):
        return f"http://{self.headers.get('Host', '127.0.0.1')}" + PREFIX

    def send(self, status, obj, headers=()):
        data = json.dumps(obj, indent=1).encode() if obj is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_PUT(self):
        self.handle_any("PUT")

    def handle_any(self, method):
        with W.lock:
            W.in_flight += 1
            entry = {"t0": time.time(), "in_flight": W.in_flight}
        try:
            self.handle_one(method, entry)
        finally:
            with W.lock:
                W.in_flight -= 1

    def record(self, entry):
        entry["t1"] = time.time()
        with W.lock:
            W.log.write(json.dumps(entry, sort_keys=True) + "\n")

    def handle_one(self, method, entry):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        raw = self.read_body()
        entry.update({"method": method, "path": url.path,
                      "query": {k: v[0] if len(v) == 1 else v
                                for k, v in query.items()}})
        if W.args.latency_ms and not url.path.startswith("/_test/"):
            time.sleep(W.args.latency_ms / 1000.0)
        # /o/oauth2/token: the older address, still answering, whose
        # assertions must name /token as their audience all the same.
        if url.path in ("/token", "/o/oauth2/token") and method == "POST":
            form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"))
            with W.lock:
                status, obj = do_token(form, f"http://"
                                       f"{self.headers.get('Host')}/",
                                       entry)
            entry["api"] = "oauth2.token"
            entry["status"] = status
            self.record(entry)
            return self.send(status, obj)
        if url.path.startswith("/computeMetadata/"):
            return self.metadata(method, url.path, entry)
        if url.path.startswith("/_test/"):
            return self.control(method, url.path, raw)
        try:
            status, obj = self.api(method, url.path, query, raw, entry)
        except ApiError as e:
            status, obj = e.code, e.body()
            entry["error"] = e.reason
        entry["status"] = status
        self.record(entry)
        if status < 300 and entry.get("api"):
            self.kill_point(entry["api"] + ":after")
        self.send(status, obj)

    def kill_point(self, point):
        """SIGKILL the process under test at point, once."""
        with W.lock:
            n = W.kill_seen[point] = W.kill_seen.get(point, 0) + 1
            if f"{point}#{n}" in W.kill_at:
                W.kill_at.discard(f"{point}#{n}")
            elif point in W.kill_at:
                W.kill_at.discard(point)
            else:
                return False
            if not W.args.kill_pid_file:
                return False
            with open(W.args.kill_pid_file) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGKILL)
            W.log.write(json.dumps({"killed": pid, "at": point}) + "\n")
        return True

    def metadata(self, method, path, entry):
        entry["api"] = "metadata"
        hdrs = [("Metadata-Flavor", "Google")]
        if W.args.no_metadata:
            entry["status"] = 404
            self.record(entry)
            return self.send(404, None)
        if self.headers.get("Metadata-Flavor") != "Google" or \
                self.headers.get("X-Forwarded-For"):
            entry["status"] = 403
            self.record(entry)
            return self.send(403, None, hdrs)
        if path == "/computeMetadata/v1/instance/service-accounts/default/" \
                   "token" and method == "GET":
            with W.lock:
                tok = token_for("metadata", W.args.metadata_scopes)
            entry["status"] = 200
            entry["token"] = short(tok)
            self.record(entry)
            return self.send(200, {"access_token": tok,
                                   "expires_in": W.args.token_ttl,
                                   "token_type": "Bearer"}, hdrs)
        if path == "/computeMetadata/v1/project/project-id":
            entry["status"] = 200
            self.record(entry)
            data = W.args.project.encode()
            self.send_response(200)
            self.send_header("Metadata-Flavor", "Google")
            self.send_header("Content-Type", "application/text")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return None
        entry["status"] = 404
        self.record(entry)
        return self.send(404, None, hdrs)

    def control(self, method, path, raw):
        with W.lock:
            if path == "/_test/control" and method == "POST":
                c = json.loads(raw or b"{}")
                for k in ("throttle", "throttle_kind", "fail5xx",
                          "quota_cpus", "op_seconds", "finish_on_read"):
                    if k in c:
                        W.ctl[k] = c[k]
                if c.get("expire_tokens"):
                    for t in W.tokens.values():
                        t["exp"] = 0
                if "remove" in c:
                    collection, scope, name = c["remove"]
                    W.coll(collection, scope).pop(name)
                return self.send(200, {"ok": True})
            if path == "/_test/resources":
                out = {f"{s}/{c}": sorted(items)
                       for (c, s), items in W.res.items() if items}
                return self.send(200, out)
            if path == "/_test/dump":
                out = {f"{s}/{c}": items
                       for (c, s), items in W.res.items() if items}
                return self.send(200, out)
        return self.send(404, None)

    def api(self, method, path, query, raw, entry):
        if not path.startswith(PREFIX):
            raise ApiError(404, "notFound", f"Not found: {path}")
        sub = path[len(PREFIX):]
        route = None
        for hm, rx, mid, m in ROUTES:
            mt = rx.match(sub)
            if mt and hm == method:
                route = (mid, m, mt.groupdict())
                break
            if mt:
                route = route or ("", None, None)
        if route is None:
            raise ApiError(404, "notFound", f"Not found: {path}")
        mid, m, params = route
        if m is None:
            raise ApiError(405, "httpMethodNotAllowed",
                           f"Method {method} not allowed for {path}")
        entry["api"] = mid
        if self.kill_point(mid + ":before"):
            raise ApiError(503, "backendError", "killed before")
        params = {k: urllib.parse.unquote(v) for k, v in params.items()}
        for k, v in params.items():
            pat = m["parameters"][k].get("pattern")
            if pat and not re.fullmatch(pat, v):
                raise invalid(f"Invalid value for field '{k}': '{v}'. "
                              f"Must be a match of regex '{pat}'")
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                raise invalid("Invalid JSON payload received. "
                              "Unexpected token.", "parseError")
            entry["body"] = json.loads(raw)  # as sent, not as changed
        if m["request"]:
            if not isinstance(body, dict):
                raise invalid("Invalid JSON payload received. Expected an "
                              "object", "parseError")
            check_value(body, {"$ref": m["request"]}, "resource")
        elif raw:
            raise invalid("Invalid JSON payload received. This method "
                          "takes no body")
        with W.lock:
            self.auth(m)
            check_query(m, query)
            if params["project"] != W.args.project and \
                    mid not in ("compute.images.get",
                                "compute.images.getFromFamily"):
                raise ApiError(404, "notFound", f"The resource 'projects/"
                               f"{params['project']}' was not found")
            if W.ctl["throttle"] > 0:
                W.ctl["throttle"] -= 1
                if str(W.ctl["throttle_kind"]) == "403":
                    raise ApiError(403, "rateLimitExceeded",
                                   "Rate Limit Exceeded",
                                   domain="usageLimits")
                raise ApiError(429, "rateLimitExceeded",
                               "Quota exceeded for quota metric 'Queries' "
                               "and limit 'Queries per minute' of service "
                               "'compute.googleapis.com'",
                               domain="usageLimits")
            if W.ctl["fail5xx"] > 0:
                W.ctl["fail5xx"] -= 1
                raise ApiError(503, "backendError", "Backend Error")
            finish_ops()
            base = self.base()
            verb = mid.split(".")[2]
            user = W.tokens[self.token]["who"]
            rid = query.get("requestId", [None])[0]
            if rid is not None:
                try:
                    u = uuid.UUID(rid)
                except ValueError:
                    u = None
                if u is None or u.int == 0 or str(u) != rid.lower():
                    raise invalid(f"Invalid value for field 'requestId': "
                                  f"'{rid}'. The request ID must be a "
                                  f"valid UUID with the exception that "
                                  f"zero UUID is not supported.")
                if rid in W.by_request:
                    entry["dedup"] = True
                    return 200, op_view(W.ops[W.by_request[rid]], base)
            if verb == "insert":
                op = do_insert(mid, params, body, base, rid, user)
            elif verb == "delete":
                op = do_delete(mid, params, base, rid, user)
            elif verb == "patch":
                op = do_patch(params, body, base, rid, user)
            elif verb == "setLabels":
                op = do_set_labels(params, body, base, rid, user)
            elif verb == "list":
                return 200, do_list(mid, params, query, base)
            elif verb == "aggregatedList":
                return 200, do_aggregated(query, base)
            elif verb == "wait":
                return 200, self.wait(mid, params, base)
            else:
                return 200, do_get(mid, params, base)
            return 200, op_view(op, base)

    def wait(self, mid, params, base):
        deadline = time.time() + W.args.wait_max
        while True:
            finish_ops()
            v = do_get(mid, params, base)
            left = deadline - time.time()
            if v["status"] == "DONE" or left <= 0:
                return v
            W.cond.wait(min(left, 0.05))

    def auth(self, m):
        h = self.headers.get("Authorization", "")
        tok = h[7:] if h.startswith("Bearer ") else None
        t = W.tokens.get(tok) if tok else None
        if t is None or t["exp"] <= time.time():
            raise ApiError(401, "authError",
                           "Request had invalid authentication credentials. "
                           "Expected OAuth 2 access token, login cookie or "
                           "other valid authentication credential. See "
                           "https://developers.google.com/identity/sign-in/"
                           "web/devconsole-project.")
        if not t["scopes"] & set(m["scopes"]):
            raise ApiError(403, "insufficientPermissions",
                           "Request had insufficient authentication scopes.",
                           extra=[{"@type": "type.googleapis.com/"
                                   "google.rpc.ErrorInfo",
                                   "reason": "ACCESS_TOKEN_SCOPE_"
                                   "INSUFFICIENT",
                                   "domain": "googleapis.com"}])
        self.token = tok


def main():
    global W
    args = parse_args()
    W = World(args)
    # The network every project starts with.
    base_default = {"name": "default", "kind": "compute#network",
                    "autoCreateSubnetworks": True, "id": W.new_id(),
                    "selfLink": f"projects/{args.project}/global/networks/"
                                f"default"}
    W.coll("networks", "global")["default"] = base_default
    # A client with many requests in flight opens as many connections at
    # once: a listen backlog of 5 (the default) resets some.
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=ticker, daemon=True).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
