#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check tests/helper/do-server.py against DigitalOcean's OpenAPI description.

usage: do-spec.py SPEC_DIR [SERVER]

SPEC_DIR is digitalocean/openapi's specification/ folder (the one holding
DigitalOcean-public.v2.yaml); SERVER defaults to tests/helper/do-server.py
beside this script. Needs PyYAML and jsonschema (not the tests: they run
with the standard library only).

It starts the server, drives every operation deploy uses (creates with
bodies in the shapes deploy sends, lists with paging, actions, deletes, and
the requests the real API refuses), then checks every exchange the server
logged against the description:
  - the method and path are an operation of the description;
  - every query parameter is declared by the operation, its value valid
    for the parameter's schema, required ones present;
  - a request body the server accepted validates against the operation's
    request schema, and holds no field the schema does not name;
  - the status is one the operation declares (or its `default`), and the
    answer's body validates against that response's schema;
  - every answer carried ratelimit-limit, ratelimit-remaining and
    ratelimit-reset (checked on the wire), errors are {id, message,
    request_id};
and that each refusal the script provokes (unknown field, bad slug, VPC
with members, a missing token, per_page past 200, a volume name twice in
a region, an attached volume deleted, an attach or assign across regions,
an action on a locked reserved IP, …) is refused with the status the real
API gives. Prints each failure, then "N checks, M failed";
exits 1 when any failed.

A developer check, not part of the test suite: the description is not
vendored (../shared/conformance/digitalocean-openapi in this workspace).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import jsonschema
import yaml

TOKEN = "dop_v1_conformance0123456789abcdef"
failures = []
checks = [0]


def check(ok, what):
    checks[0] += 1
    if not ok:
        failures.append(what)
        print("FAIL:", what)


class Spec:
    def __init__(self, root):
        self.root = root
        self.files = {}
        doc = self.load(os.path.join(root, "DigitalOcean-public.v2.yaml"))
        self.paths = doc["paths"]

    def load(self, path):
        path = os.path.normpath(path)
        if path not in self.files:
            with open(path) as f:
                self.files[path] = yaml.safe_load(f)
        return self.files[path]

    def resolve(self, node, base, depth=0):
        """node with every $ref inlined (relative to file base)."""
        if depth > 40:
            return {}
        if isinstance(node, list):
            return [self.resolve(x, base, depth + 1) for x in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            file, _, frag = ref.partition("#")
            target = os.path.join(os.path.dirname(base), file) if file \
                else base
            obj = self.load(target)
            for part in [p for p in frag.split("/") if p]:
                obj = obj[part]
            return self.resolve(obj, target, depth + 1)
        return {k: self.resolve(v, base, depth + 1) for k, v in node.items()}

    def operation(self, method, path):
        for tmpl, ops in self.paths.items():
            rx = "^" + re.sub(r"\{[^}]+\}", "[^/]+", tmpl) + "$"
            if re.match(rx, path) and method.lower() in ops:
                ref = ops[method.lower()]["$ref"]
                f = os.path.join(self.root, ref)
                return tmpl, self.resolve(self.load(f), f)
        return None, None


def openapi_to_jsonschema(s):
    """OpenAPI 3.0 schema -> JSON Schema: nullable, and drop what
    jsonschema would misread."""
    if isinstance(s, list):
        return [openapi_to_jsonschema(x) for x in s]
    if not isinstance(s, dict):
        return s
    out = {k: openapi_to_jsonschema(v) for k, v in s.items()
           if k not in ("example", "examples", "discriminator",
                        "x-codeSamples", "readOnly", "writeOnly")}
    if out.pop("nullable", False):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def named_fields(s, acc):
    """Every property name a schema names, through allOf/oneOf/anyOf."""
    if isinstance(s, dict):
        acc.update((s.get("properties") or {}).keys())
        for k in ("allOf", "oneOf", "anyOf"):
            for x in s.get(k) or []:
                named_fields(x, acc)
    return acc


def validate(schema, value, what):
    try:
        jsonschema.validate(value, openapi_to_jsonschema(schema))
        check(True, what)
    except jsonschema.ValidationError as e:
        check(False, "%s: %s at %s" % (what, e.message,
                                       "/".join(map(str, e.absolute_path))))


def check_exchange(spec, e):
    what = "%s %s" % (e["method"], e["path"])
    tmpl, op = spec.operation(e["method"], e["path"])
    check(op is not None, "%s: not an operation of the description" % what)
    if not op:
        return
    params = {p["name"]: p for p in op.get("parameters") or []
              if p.get("in") == "query"}
    for k, v in e["query"].items():
        p = params.get(k)
        if e["status"] >= 400:
            continue  # refused: the scenario checks the refusal
        check(p is not None, "%s: query parameter '%s' not declared"
              % (what, k))
        if p and e["status"] < 400:
            sch = p.get("schema") or {}
            val = v
            if sch.get("type") == "integer" and re.match(r"^-?\d+$", v):
                val = int(v)
            elif sch.get("type") == "boolean" and v in ("true", "false"):
                val = v == "true"
            validate(sch, val, "%s: query %s=%s" % (what, k, v))
    for name, p in params.items():
        if p.get("required") and e["status"] < 400:
            check(name in e["query"], "%s: required query parameter '%s' "
                  "missing" % (what, name))
    body = e["body"]
    rb = op.get("requestBody")
    if body is not None and e["status"] < 400:
        check(rb is not None, "%s: a body the operation does not take"
              % what)
        if rb:
            sch = rb["content"]["application/json"]["schema"]
            validate(sch, body, "%s: request body" % what)
            if isinstance(body, dict):
                extra = set(body) - named_fields(sch, set())
                check(not extra, "%s: request fields %s not in the "
                      "description" % (what, sorted(extra)))
    responses = op.get("responses") or {}
    resp = responses.get(str(e["status"])) or responses.get("default")
    check(str(e["status"]) in responses or
          (e["status"] >= 400 and "default" in responses),
          "%s: status %d not declared (declared: %s)"
          % (what, e["status"], ", ".join(sorted(responses))))
    if resp and "response" in e:
        content = (resp.get("content") or {}).get("application/json")
        if e["response"] is None:
            check(content is None or e["status"] == 204,
                  "%s: %d without a body" % (what, e["status"]))
        elif content and "schema" in content:
            validate(content["schema"], e["response"],
                     "%s: %d answer" % (what, e["status"]))
        if e["status"] >= 400 and isinstance(e["response"], dict):
            check(set(e["response"]) == {"id", "message", "request_id"},
                  "%s: error shape %s" % (what, sorted(e["response"])))


class Client:
    def __init__(self, base):
        self.base = base

    def __call__(self, method, path, body=None, token=TOKEN):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        if data:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, headers, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as err:
            status, headers, raw = err.code, err.headers, err.read()
        for h in ("ratelimit-limit", "ratelimit-remaining",
                  "ratelimit-reset", "x-request-id"):
            check(headers.get(h) is not None,
                  "%s %s: no %s header" % (method, path, h))
        return status, json.loads(raw) if raw else None


def scenario(c, pubkey):
    """Every operation deploy uses, and what the API refuses."""
    def expect(status, got, what):
        check(got[0] == status, "%s: status %d, expected %d (%s)"
              % (what, got[0], status, got[1]))
        return got[1]

    expect(200, c("GET", "/v2/account"), "account")
    expect(401, c("GET", "/v2/account", token=None), "no token")
    expect(401, c("GET", "/v2/account", token="wrong"), "wrong token")
    expect(200, c("GET", "/v2/regions?per_page=200"), "regions")
    expect(200, c("GET", "/v2/sizes?per_page=200"), "sizes")
    expect(200, c("GET", "/v2/images?type=distribution&per_page=200"),
           "images")
    expect(200, c("GET", "/v2/images/debian-12-x64"), "image by slug")
    expect(404, c("GET", "/v2/images/debian-99-x64"), "unknown image")
    expect(400, c("GET", "/v2/regions?per_page=201"), "per_page > 200")
    expect(400, c("GET", "/v2/regions?colour=blue"), "unknown parameter")

    k = expect(201, c("POST", "/v2/account/keys",
                      {"name": "deploy-conf", "public_key": pubkey}),
               "key create")["ssh_key"]
    expect(422, c("POST", "/v2/account/keys",
                  {"name": "again", "public_key": pubkey}), "key twice")
    expect(200, c("GET", "/v2/account/keys?per_page=200"), "keys")
    expect(200, c("GET", "/v2/account/keys/" + k["fingerprint"]),
           "key by fingerprint")

    for t in ("deploy:topology:conf", "deploy:role:web", "deploy:role:db"):
        expect(201, c("POST", "/v2/tags", {"name": t}), "tag " + t)
    expect(200, c("GET", "/v2/tags/deploy:role:web"), "tag get")
    expect(422, c("POST", "/v2/tags", {"name": "bad tag"}), "bad tag")

    v = expect(201, c("POST", "/v2/vpcs",
                      {"name": "deploy-conf-fra1", "region": "fra1",
                       "description": "deploy topology conf"}),
               "vpc create")["vpc"]
    expect(422, c("POST", "/v2/vpcs", {"name": "x", "region": "mars1"}),
           "vpc bad region")
    expect(200, c("GET", "/v2/vpcs?per_page=200"), "vpcs")
    expect(200, c("GET", "/v2/vpcs/" + v["id"]), "vpc get")

    body = {"names": ["web-0", "web-1"], "region": "fra1",
            "size": "s-1vcpu-1gb", "image": "debian-12-x64",
            "ssh_keys": [k["fingerprint"]], "vpc_uuid": v["id"],
            "tags": ["deploy:topology:conf", "deploy:role:web",
                     "deploy:pending:0123456789abcdef"],
            "user_data": "#cloud-config\n", "monitoring": True,
            "ipv6": False, "backups": False}
    made = expect(202, c("POST", "/v2/droplets", body), "droplets create")
    one = dict(body, name="db-0", tags=["deploy:topology:conf"])
    del one["names"]
    expect(202, c("POST", "/v2/droplets", one), "droplet create")
    expect(422, c("POST", "/v2/droplets", dict(one, colour="blue")),
           "unknown field")
    expect(422, c("POST", "/v2/droplets", dict(one, size="s-99")),
           "bad size")
    expect(422, c("POST", "/v2/droplets", dict(one, region="mars1")),
           "bad region")
    expect(422, c("POST", "/v2/droplets", dict(one, image="beos-5")),
           "bad image")
    expect(422, c("POST", "/v2/droplets", dict(one, name="bad_name")),
           "bad name")
    expect(422, c("POST", "/v2/droplets",
                  dict(body, names=["n%d" % i for i in range(11)])),
           "eleven names")
    ids = [d["id"] for d in made["droplets"]]
    for a in made["links"]["actions"]:
        expect(200, c("GET", "/v2/actions/%d" % a["id"]), "action get")
    time.sleep(0.5)
    expect(200, c("GET", "/v2/droplets?tag_name=deploy:topology:conf"
                  "&per_page=2"), "droplets by tag page 1")
    expect(200, c("GET", "/v2/droplets?tag_name=deploy:topology:conf"
                  "&per_page=2&page=2"), "droplets by tag page 2")
    expect(200, c("GET", "/v2/droplets/%d" % ids[0]), "droplet get")
    expect(200, c("GET", "/v2/vpcs/%s/members" % v["id"]), "vpc members")

    fw = expect(202, c("POST", "/v2/firewalls", {
        "name": "deploy-conf-web",
        "inbound_rules": [
            {"protocol": "tcp", "ports": "22",
             "sources": {"addresses": ["203.0.113.7/32"]}},
            {"protocol": "tcp", "ports": "9000",
             "sources": {"tags": ["deploy:role:db"]}}],
        "outbound_rules": [
            {"protocol": "tcp", "ports": "all",
             "destinations": {"addresses": ["0.0.0.0/0", "::/0"]}},
            {"protocol": "udp", "ports": "all",
             "destinations": {"addresses": ["0.0.0.0/0", "::/0"]}},
            {"protocol": "icmp", "ports": "0",
             "destinations": {"addresses": ["0.0.0.0/0", "::/0"]}}],
        "tags": ["deploy:role:web"]}), "firewall create")["firewall"]
    expect(422, c("POST", "/v2/firewalls", {
        "name": "x-fw", "inbound_rules": [
            {"protocol": "tcp", "ports": "22",
             "sources": {"tags": ["no-such-tag"]}}]}),
        "firewall unknown tag")
    rule = {"inbound_rules": [{"protocol": "tcp", "ports": "7100",
                               "sources": {"tags": ["deploy:role:db"]}}]}
    expect(204, c("POST", "/v2/firewalls/%s/rules" % fw["id"], rule),
           "rule add")
    expect(204, c("DELETE", "/v2/firewalls/%s/rules" % fw["id"], rule),
           "rule delete")
    expect(200, c("GET", "/v2/firewalls?per_page=200"), "firewalls")
    expect(200, c("GET", "/v2/firewalls/" + fw["id"]), "firewall get")

    held = volumes(expect, c, ids)
    rip = reserved_ips(expect, c, ids)

    expect(403, c("DELETE", "/v2/vpcs/" + v["id"]), "vpc with members")
    expect(204, c("DELETE", "/v2/droplets/%d" % ids[0]), "droplet delete")
    expect(404, c("GET", "/v2/droplets/%d" % ids[0]), "deleted droplet")
    expect(204, c("DELETE", "/v2/droplets?tag_name=deploy:topology:conf"),
           "droplets delete by tag")
    got = expect(200, c("GET", "/v2/volumes/" + held), "held volume")
    check(got["volume"]["droplet_ids"] == [],
          "a deleted droplet lets go of its volume")
    expect(204, c("DELETE", "/v2/volumes/" + held), "held volume delete")
    got = expect(200, c("GET", "/v2/reserved_ips/" + rip), "rip after")
    check(got["reserved_ip"]["droplet"] is None,
          "a deleted droplet lets go of its reserved ip")
    expect(204, c("DELETE", "/v2/reserved_ips/" + rip), "ip delete")
    expect(204, c("DELETE", "/v2/firewalls/" + fw["id"]), "fw delete")
    expect(204, c("DELETE", "/v2/vpcs/" + v["id"]), "vpc delete")
    expect(204, c("DELETE", "/v2/account/keys/%d" % k["id"]), "key delete")


def settle(c, path):
    """Wait for the action at path (GET) to complete."""
    for _ in range(50):
        st, doc = c("GET", path)
        if st != 200 or doc["action"]["status"] != "in-progress":
            return
        time.sleep(0.1)


def volumes(expect, c, ids):
    """Volumes and their actions: what deploy sends for disk:, and what
    the API refuses (names, a second of a name, regions, attached)."""
    base = {"size_gigabytes": 100, "name": "deploy-conf-web-0",
            "region": "fra1", "description": "deploy topology conf, host "
            "web-0", "filesystem_type": "ext4",
            "tags": ["deploy:topology:conf", "deploy:role:web"]}
    vol = expect(201, c("POST", "/v2/volumes", base),
                 "volume create")["volume"]
    check(vol["droplet_ids"] == [] and vol["region"]["slug"] == "fra1",
          "volume create: not attached, in fra1")
    expect(409, c("POST", "/v2/volumes", base), "volume name twice")
    expect(201, c("POST", "/v2/volumes", dict(base, region="ams3")),
           "the same name in another region")
    for bad, what in ((dict(base, name="0web"), "a name from a digit"),
                      (dict(base, name="Web-0"), "an upper-case name"),
                      (dict(base, name="w" * 65), "a name past 64"),
                      (dict(base, colour="blue"), "unknown field"),
                      (dict(base, region="mars1"), "bad region"),
                      (dict(base, size_gigabytes="100"), "size as text"),
                      (dict(base, filesystem_type="ntfs"), "bad fs")):
        expect(422, c("POST", "/v2/volumes", dict(bad, name=bad["name"]
                                                  .replace("deploy",
                                                           "other"))),
               "volume " + what)
    no_name = dict(base)
    del no_name["name"]
    expect(422, c("POST", "/v2/volumes", no_name), "volume without name")
    expect(200, c("GET", "/v2/volumes/" + vol["id"]), "volume get")
    expect(404, c("GET", "/v2/volumes/7724db7c-e098-11e5-b522-"
                  "000f53304e51"), "unknown volume")
    expect(200, c("GET", "/v2/volumes?name=deploy-conf-web-0&region=fra1"
                  "&per_page=200"), "volumes by name and region")
    expect(400, c("GET", "/v2/volumes?colour=blue"),
           "volumes unknown parameter")

    acts = "/v2/volumes/%s/actions" % vol["id"]
    attach = {"type": "attach", "droplet_id": ids[0], "region": "fra1"}
    expect(422, c("POST", acts, dict(attach, region="ams3")),
           "attach: a region not the volume's")
    expect(422, c("POST", acts, {"type": "attach", "region": "fra1"}),
           "attach without droplet_id")
    expect(422, c("POST", acts, dict(attach, colour="blue")),
           "attach unknown field")
    expect(422, c("POST", acts, dict(attach, type="explode")),
           "unknown action type")
    other = expect(200, c("GET", "/v2/volumes?name=deploy-conf-web-0"
                          "&region=ams3"), "the ams3 volume")["volumes"][0]
    expect(422, c("POST", "/v2/volumes/%s/actions" % other["id"],
                  {"type": "attach", "droplet_id": ids[0]}),
           "attach to a droplet of another region")
    a = expect(202, c("POST", acts, attach), "volume attach")["action"]
    check(a["type"] == "attach_volume", "attach: an attach_volume action")
    expect(200, c("GET", "%s/%d" % (acts, a["id"])), "volume action get")
    expect(200, c("GET", "/v2/actions/%d" % a["id"]),
           "volume action through /v2/actions")
    listed = expect(200, c("GET", "/v2/actions?per_page=200"),
                    "actions list")["actions"]
    check(listed and listed[0]["id"] == a["id"],
          "actions list: the newest first")
    expect(200, c("GET", acts + "?per_page=200"), "volume actions")
    expect(404, c("GET", "%s/%d" % (acts, 1)), "unknown volume action")
    settle(c, "/v2/actions/%d" % a["id"])
    got = expect(200, c("GET", "/v2/volumes/" + vol["id"]),
                 "attached volume")["volume"]
    check(got["droplet_ids"] == [ids[0]], "attach: the volume holds the "
          "droplet")
    got = expect(200, c("GET", "/v2/droplets/%d" % ids[0]),
                 "droplet with volume")["droplet"]
    check(got["volume_ids"] == [vol["id"]], "attach: the droplet holds "
          "the volume")
    expect(422, c("POST", acts, attach), "attach twice")
    expect(409, c("DELETE", "/v2/volumes/" + vol["id"]),
           "delete an attached volume")
    expect(202, c("POST", acts, {"type": "resize", "size_gigabytes": 200,
                                 "region": "fra1"}), "volume resize")
    expect(422, c("POST", acts, {"type": "resize", "size_gigabytes": 50}),
           "volume resize down")
    expect(202, c("POST", acts, {"type": "detach", "droplet_id": ids[0],
                                 "region": "fra1"}), "volume detach")
    expect(422, c("POST", acts, {"type": "detach", "droplet_id": ids[0]}),
           "detach a volume not attached")
    expect(204, c("DELETE", "/v2/volumes/" + vol["id"]), "volume delete")
    expect(404, c("DELETE", "/v2/volumes/" + vol["id"]),
           "volume delete again")
    expect(204, c("DELETE", "/v2/volumes?name=deploy-conf-web-0"
                  "&region=ams3"), "volume delete by name")
    expect(404, c("DELETE", "/v2/volumes?name=deploy-conf-web-0"
                  "&region=ams3"), "volume delete by name again")

    # A droplet deleted holding a volume lets go of it.
    vol = expect(201, c("POST", "/v2/volumes", dict(base, name="held")),
                 "volume for a droplet to delete")["volume"]
    expect(202, c("POST", "/v2/volumes/%s/actions" % vol["id"],
                  dict(attach, droplet_id=ids[1])), "attach to web-1")
    return vol["id"]


def reserved_ips(expect, c, ids):
    """Reserved IPs: made on a droplet (what deploy sends for static_ip:)
    or in a region, assigned through actions; what the API refuses."""
    made = expect(202, c("POST", "/v2/reserved_ips", {"droplet_id": ids[1]}),
                  "reserved ip create on a droplet")
    rip = made["reserved_ip"]
    check(rip["droplet"] is None and rip["locked"],
          "reserved ip on a droplet: unassigned and locked until its "
          "action is done")
    acts = made["links"]["actions"]
    check(len(acts) == 1 and acts[0]["rel"] == "assign_ip",
          "reserved ip on a droplet: the assign action linked")
    base = "/v2/reserved_ips/" + rip["ip"]
    expect(422, c("POST", base + "/actions", {"type": "unassign"}),
           "an action while locked")
    expect(200, c("GET", "%s/actions/%d" % (base, acts[0]["id"])),
           "reserved ip action get")
    expect(200, c("GET", base + "/actions"), "reserved ip actions")
    expect(400, c("GET", base + "/actions?per_page=200"),
           "reserved ip actions: per_page not declared")
    settle(c, "/v2/actions/%d" % acts[0]["id"])
    got = expect(200, c("GET", base), "reserved ip get")["reserved_ip"]
    check(got["droplet"] and got["droplet"]["id"] == ids[1] and
          not got["locked"], "reserved ip: assigned once the action is "
          "done")
    expect(422, c("POST", "/v2/reserved_ips", {"droplet_id": ids[1]}),
           "a second reserved ip on a droplet")
    expect(422, c("POST", "/v2/reserved_ips",
                  {"droplet_id": ids[0], "region": "fra1"}),
           "reserved ip: droplet_id and region")
    expect(422, c("POST", "/v2/reserved_ips", {"region": "fra1",
                                               "colour": "blue"}),
           "reserved ip unknown field")
    expect(422, c("POST", "/v2/reserved_ips", {"region": "mars1"}),
           "reserved ip bad region")
    expect(422, c("POST", "/v2/reserved_ips", {}),
           "reserved ip without droplet or region")
    far = expect(202, c("POST", "/v2/reserved_ips", {"region": "ams3"}),
                 "reserved ip in a region")["reserved_ip"]
    check(far["droplet"] is None and not far["locked"],
          "reserved ip in a region: unassigned")
    far_acts = "/v2/reserved_ips/%s/actions" % far["ip"]
    expect(422, c("POST", far_acts, {"type": "assign",
                                     "droplet_id": ids[0]}),
           "assign to a droplet of another region")
    expect(422, c("POST", far_acts, {"type": "assign"}),
           "assign without droplet_id")
    expect(422, c("POST", far_acts, {"type": "unassign"}),
           "unassign one not assigned")
    expect(422, c("POST", far_acts, {"type": "explode"}),
           "unknown reserved ip action")
    expect(204, c("DELETE", "/v2/reserved_ips/" + far["ip"]),
           "reserved ip delete (region)")
    expect(200, c("GET", "/v2/reserved_ips?per_page=200"), "reserved ips")
    expect(404, c("GET", "/v2/reserved_ips/203.0.113.99"),
           "unknown reserved ip")
    a = expect(201, c("POST", base + "/actions", {"type": "unassign"}),
               "ip unassign")["action"]
    settle(c, "/v2/actions/%d" % a["id"])
    a = expect(201, c("POST", base + "/actions",
                      {"type": "assign", "droplet_id": ids[1]}),
               "ip assign")["action"]
    settle(c, "/v2/actions/%d" % a["id"])
    return rip["ip"]


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 64
    spec = Spec(sys.argv[1])
    server = sys.argv[2] if len(sys.argv) == 3 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "helper",
        "do-server.py")
    with tempfile.TemporaryDirectory() as tmp:
        port_file, log = os.path.join(tmp, "port"), os.path.join(tmp, "log")
        proc = subprocess.Popen([sys.executable, server, "--port-file",
                                 port_file, "--log", log, "--log-responses",
                                 "--token", TOKEN, "--active-ms", "200"])
        try:
            for _ in range(100):
                if os.path.exists(port_file):
                    break
                time.sleep(0.1)
            with open(port_file) as f:
                base = "http://127.0.0.1:" + f.read().strip()
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                            "-f", os.path.join(tmp, "id")], check=True)
            with open(os.path.join(tmp, "id.pub")) as f:
                pubkey = f.read().strip()
            scenario(Client(base), pubkey)
        finally:
            proc.terminate()
            proc.wait()
        with open(log) as f:
            entries = [json.loads(line) for line in f]
    for e in entries:
        if "method" in e:
            check_exchange(spec, e)
    print("%d checks, %d failed" % (checks[0], len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
