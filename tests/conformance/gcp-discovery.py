#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check the GCP test server (tests/helper/gcp-server.py) against the
Compute Engine v1 discovery document itself.

Not run in CI (the tests must not read ../shared); run it by hand after
changing the server, its subset or the methods deploy calls:

  python3 tests/conformance/gcp-discovery.py \\
      /work/shared/conformance/gcp-compute-v1/discoveries/compute.v1.json

What it checks:

  1. The subset the server reads (tests/helper/gcp-compute-v1-subset.json)
     is the document's: each method's HTTP method, path, parameters (their
     location, requirement, type, pattern, bounds), request and response
     schemas and scopes; each schema's properties, types, enums and
     output-only marks.
  2. Every Compute method deploy's GCP provider names in its calls
     ("instances.insert", "zoneOperations.wait" ... in providers/gcp/*.c)
     is in the subset, so the server answers it.
  3. The server, started here, behaves as the document says: a scenario of
     every method (inserts, gets, lists, aggregatedList, setLabels, patch,
     operations get and wait, deletes) is sent, each answer is checked
     against the method's response schema (every field known, of its type,
     enums within their values), and for each method a request with an
     unknown query parameter, and for each insert a body with an unknown
     field and one with an output-only field, are refused with 400 in
     Google's error format.

Exit status 0 when everything holds; each finding is printed.
"""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SUBSET = os.path.join(ROOT, "tests", "helper", "gcp-compute-v1-subset.json")
SERVER = os.path.join(ROOT, "tests", "helper", "gcp-server.py")
sys.path.insert(0, HERE)

findings = []


def finding(msg):
    findings.append(msg)
    print("FINDING:", msg)


def load_extract():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "gcp_extract", os.path.join(HERE, "gcp-extract.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# --- 1. the subset is the document's -----------------------------------------

def check_subset(doc, sub, extract):
    methods = {}
    for res in doc["resources"].values():
        for m in res.get("methods", {}).values():
            methods[m["id"]] = m
    for mid, m in sub["methods"].items():
        d = methods.get(mid)
        if d is None:
            finding(f"{mid}: not in the discovery document")
            continue
        for k in ("httpMethod", "path"):
            if m[k] != d[k]:
                finding(f"{mid}: {k} {m[k]!r}, document {d[k]!r}")
        if m["scopes"] != d.get("scopes", []):
            finding(f"{mid}: scopes differ")
        for k in ("request", "response"):
            want = d.get(k, {}).get("$ref")
            if m[k] != want:
                finding(f"{mid}: {k} {m[k]!r}, document {want!r}")
        dp = d.get("parameters", {})
        if set(m["parameters"]) != set(dp):
            finding(f"{mid}: parameters {sorted(m['parameters'])}, "
                    f"document {sorted(dp)}")
        for p, v in m["parameters"].items():
            for k, val in v.items():
                if dp.get(p, {}).get(k) != val:
                    finding(f"{mid}: parameter {p} {k} {val!r}, document "
                            f"{dp.get(p, {}).get(k)!r}")
    if sorted(sub["parameters"]) != sorted(doc["parameters"]):
        finding("the API's own parameters differ")
    for name, s in sub["schemas"].items():
        want = extract.prop(doc["schemas"][name])
        want["id"] = name
        if s != want:
            finding(f"schema {name}: differs from the document")


# --- 2. what deploy calls is there -------------------------------------------

def check_calls(sub):
    called = set()
    for path in glob.glob(os.path.join(ROOT, "providers", "gcp", "*.c")):
        text = open(path).read()
        for m in re.finditer(r'"(\w+)\.(insert|get|list|aggregatedList|'
                             r'delete|patch|setLabels|wait|getFromFamily)'
                             r'[ "]', text):
            called.add(f"compute.{m.group(1)}.{m.group(2)}")
    # The client's own: operations.wait by scope; deletes by collection.
    for scope in ("zone", "region", "global"):
        called.add(f"compute.{scope}Operations.wait")
    for mid in sorted(called):
        if mid not in sub["methods"]:
            finding(f"deploy calls {mid}, which the server does not serve")
    return called


# --- 3. the server's answers -------------------------------------------------

class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="gcp-discovery.")
        port_file = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen(
            [sys.executable, SERVER, "--port-file", port_file, "--log",
             os.path.join(self.dir, "log"), "--op-seconds", "0.1",
             "--wait-max", "0.5"])
        for _ in range(300):
            if os.path.exists(port_file):
                break
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{open(port_file).read().strip()}"
        req = urllib.request.Request(
            self.url + "/computeMetadata/v1/instance/service-accounts/"
            "default/token", headers={"Metadata-Flavor": "Google"})
        self.token = json.load(urllib.request.urlopen(req))["access_token"]

    def call(self, method, path, query="", body=None):
        url = f"{self.url}/compute/v1/projects/deploy-test/{path}"
        if path.startswith("projects/"):
            url = f"{self.url}/compute/v1/{path}"
        if query:
            url += "?" + query
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": "Bearer " + self.token,
            "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def check_answer(v, spec, schemas, where):
    if "$ref" in spec:
        spec = schemas[spec["$ref"]]
    t = spec.get("type")
    if t == "object" and isinstance(v, dict):
        props = spec.get("properties")
        addl = spec.get("additionalProperties")
        for k, item in v.items():
            if props is not None and k in props:
                check_answer(item, props[k], schemas, f"{where}.{k}")
            elif addl is not None:
                check_answer(item, addl, schemas, f"{where}.{k}")
            else:
                finding(f"{where}: field {k!r} is not in the schema")
    elif t == "array":
        if not isinstance(v, list):
            finding(f"{where}: not an array")
            return
        for i, item in enumerate(v):
            check_answer(item, spec.get("items", {}), schemas,
                         f"{where}[{i}]")
    elif t == "string":
        if not isinstance(v, str):
            finding(f"{where}: {v!r} is not a string")
        elif "enum" in spec and v not in spec["enum"]:
            finding(f"{where}: {v!r} is not one of the enum's values")
    elif t == "integer":
        if not isinstance(v, int) or isinstance(v, bool):
            finding(f"{where}: {v!r} is not an integer")
    elif t == "boolean" and not isinstance(v, bool):
        finding(f"{where}: {v!r} is not a boolean")
    elif t == "object" and not isinstance(v, dict):
        finding(f"{where}: not an object")


def google_error(status, answer, want, where):
    e = answer.get("error") if isinstance(answer, dict) else None
    if status != want or not isinstance(e, dict) or \
            not {"code", "message", "errors", "status"} <= set(e) or \
            not e["errors"] or "reason" not in e["errors"][0]:
        finding(f"{where}: expected {want} in Google's error format, got "
                f"{status} {json.dumps(answer)[:200]}")


def scenario(srv, sub):
    schemas = sub["schemas"]
    seen = set()

    def call(mid, method, path, query="", body=None, want=200):
        status, answer = srv.call(method, path, query, body)
        seen.add(mid)
        if status != want:
            finding(f"{mid} {path}: HTTP {status}: "
                    f"{json.dumps(answer)[:300]}")
            return answer
        resp = sub["methods"][mid]["response"]
        if resp:
            check_answer(answer, {"$ref": resp}, schemas, mid)
        if answer.get("kind") == "compute#operation" and \
                not mid.endswith("Operations.get"):
            wait(answer)
        return answer

    def wait(op):
        scope = ("zones/" + op["zone"].rsplit("/", 1)[1] if "zone" in op
                 else "regions/" + op["region"].rsplit("/", 1)[1]
                 if "region" in op else "global")
        kind = ("zoneOperations" if "zone" in op else "regionOperations"
                if "region" in op else "globalOperations")
        p = f"{scope}/operations/{op['name']}"
        call(f"compute.{kind}.get", "GET", p)
        for _ in range(20):
            status, a = srv.call("POST", p + "/wait")
            seen.add(f"compute.{kind}.wait")
            check_answer(a, {"$ref": "Operation"}, schemas,
                         f"compute.{kind}.wait")
            if a.get("status") == "DONE":
                if a.get("error"):
                    finding(f"{op['operationType']} {op['targetLink']}: "
                            f"{a['error']}")
                return
        finding(f"operation {op['name']} never done")

    rid = [0]

    def q():
        rid[0] += 1
        return "requestId=6d3f2e1c-8a4b-4c5d-9e6f-%012d" % rid[0]

    z, r = "us-central1-a", "us-central1"
    call("compute.zones.get", "GET", f"zones/{z}")
    call("compute.zones.list", "GET", "zones", "maxResults=2")
    call("compute.regions.get", "GET", f"regions/{r}")
    call("compute.machineTypes.get", "GET", f"zones/{z}/machineTypes/e2-small")
    call("compute.images.getFromFamily", "GET",
         "projects/debian-cloud/global/images/family/debian-12")
    img = call("compute.images.get", "GET", "projects/debian-cloud/global/"
               "images/debian-12-bookworm-v20231010")
    del img
    call("compute.networks.insert", "POST", "global/networks", q(),
         {"name": "net", "autoCreateSubnetworks": False})
    call("compute.networks.get", "GET", "global/networks/net")
    call("compute.subnetworks.insert", "POST", f"regions/{r}/subnetworks",
         q(), {"name": "sub", "network": "global/networks/net",
               "ipCidrRange": "10.1.0.0/20"})
    call("compute.subnetworks.get", "GET", f"regions/{r}/subnetworks/sub")
    call("compute.subnetworks.list", "GET", f"regions/{r}/subnetworks")
    call("compute.firewalls.insert", "POST", "global/firewalls", q(),
         {"name": "fw", "network": "global/networks/net",
          "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
          "sourceRanges": ["10.0.0.0/8"], "targetTags": ["t"]})
    call("compute.firewalls.get", "GET", "global/firewalls/fw")
    call("compute.firewalls.list", "GET", "global/firewalls",
         "filter=name%20eq%20%22f.*%22")
    call("compute.firewalls.patch", "PATCH", "global/firewalls/fw", q(),
         {"sourceRanges": ["10.1.0.0/16"]})
    call("compute.addresses.insert", "POST", f"regions/{r}/addresses", q(),
         {"name": "addr", "labels": {"a": "b"}})
    a = call("compute.addresses.get", "GET", f"regions/{r}/addresses/addr")
    call("compute.addresses.list", "GET", f"regions/{r}/addresses",
         "filter=labels.a%20%3D%20%22b%22")
    call("compute.disks.insert", "POST", f"zones/{z}/disks", q(),
         {"name": "disk", "sizeGb": "10", "labels": {"a": "b"}})
    call("compute.disks.get", "GET", f"zones/{z}/disks/disk")
    call("compute.disks.list", "GET", f"zones/{z}/disks")
    call("compute.instances.insert", "POST", f"zones/{z}/instances", q(), {
        "name": "vm", "machineType": f"zones/{z}/machineTypes/e2-small",
        "labels": {"a": "b"}, "tags": {"items": ["t"]},
        "disks": [{"boot": True, "autoDelete": True, "initializeParams": {
            "sourceImage": "projects/debian-cloud/global/images/family/"
                           "debian-12", "diskSizeGb": "10"}},
                  {"source": f"projects/deploy-test/zones/{z}/disks/disk",
                   "deviceName": "data", "autoDelete": False}],
        "networkInterfaces": [{
            "subnetwork": f"projects/deploy-test/regions/{r}/subnetworks/"
                          "sub",
            "accessConfigs": [{"name": "External NAT",
                               "type": "ONE_TO_ONE_NAT",
                               "natIP": a.get("address")}]}],
        "metadata": {"items": [{"key": "ssh-keys", "value": "u:k"}]}})
    call("compute.instances.get", "GET", f"zones/{z}/instances/vm")
    call("compute.instances.list", "GET", f"zones/{z}/instances",
         "filter=labels.a%20%3D%20%22b%22")
    call("compute.instances.aggregatedList", "GET", "aggregated/instances",
         "filter=labels.a%20%3D%20%22b%22&maxResults=1")
    call("compute.instances.setLabels", "POST",
         f"zones/{z}/instances/vm/setLabels", q(),
         {"labels": {"a": "c"}, "labelFingerprint": "42WmSpB8rSM="})
    # Refusals: an unknown query parameter for every method; an unknown
    # and an output-only field for every insert.
    for mid, m in sub["methods"].items():
        path = m["path"].replace("projects/{project}/", "")
        vals = {"zone": z, "region": r, "instance": "vm", "network": "net",
                "subnetwork": "sub", "firewall": "fw", "address": "addr",
                "disk": "disk", "machineType": "e2-small",
                "operation": "operation-1", "image": "x", "family": "x"}
        path = re.sub(r"\{(\w+)\}", lambda mt: vals.get(mt.group(1), "x"),
                      path)
        if mid.startswith("compute.images."):
            path = "projects/debian-cloud/" + path
        body = {} if m["request"] else None
        status, answer = srv.call(m["httpMethod"], path, "bogusParam=1",
                                  body)
        google_error(status, answer, 400, f"{mid} with an unknown "
                     f"query parameter")
        if mid.endswith(".insert"):
            for bad in ({"name": "zz", "bogusField": 1},
                        {"name": "zz", "id": "1", "selfLink": "x"}):
                status, answer = srv.call("POST", path, q(), bad)
                google_error(status, answer, 400, f"{mid} with "
                             f"{sorted(bad)}")
    call("compute.instances.delete", "DELETE", f"zones/{z}/instances/vm",
         q())
    call("compute.disks.delete", "DELETE", f"zones/{z}/disks/disk", q())
    call("compute.addresses.delete", "DELETE", f"regions/{r}/addresses/addr",
         q())
    call("compute.firewalls.delete", "DELETE", "global/firewalls/fw", q())
    call("compute.subnetworks.delete", "DELETE",
         f"regions/{r}/subnetworks/sub", q())
    call("compute.networks.delete", "DELETE", "global/networks/net", q())
    for mid in sorted(set(sub["methods"]) - seen):
        finding(f"{mid}: not exercised by the scenario")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    doc = json.load(open(sys.argv[1]))
    sub = json.load(open(SUBSET))
    check_subset(doc, sub, load_extract())
    called = check_calls(sub)
    srv = Server()
    try:
        scenario(srv, sub)
    finally:
        srv.stop()
    print(f"{len(sub['methods'])} methods, {len(sub['schemas'])} schemas, "
          f"{len(called)} called by deploy: {len(findings)} findings")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
