#!/usr/bin/env python3
"""A DigitalOcean API v2 server for the t08xx tests (standard library only).

It follows the vendor's OpenAPI description (digitalocean/openapi,
specification/) for every operation deploy uses, and refuses what the real
API refuses; tests/conformance/do-spec.py checks it against that
description. In memory, one account:

  GET    /v2/account
  GET    /v2/regions /v2/sizes /v2/images[?type=&private=&tag_name=]
  GET    /v2/images/{id or slug}
  GET    /v2/account/keys                     POST /v2/account/keys
  GET    /v2/account/keys/{id or fingerprint} DELETE the same
  GET    /v2/tags/{name}                      POST /v2/tags
  POST   /v2/tags/{name}/resources (droplets only)
  GET    /v2/vpcs                             POST /v2/vpcs
  GET    /v2/vpcs/{id} /v2/vpcs/{id}/members  DELETE /v2/vpcs/{id}
                                  (403 while members remain, as documented)
  GET    /v2/droplets[?tag_name=&name=]       POST /v2/droplets (name or
                                  names[] up to 10), DELETE ?tag_name=
  GET    /v2/droplets/{id}                    DELETE /v2/droplets/{id}
  GET    /v2/actions (newest first) /v2/actions/{id}
  GET    /v2/droplets/{id}/actions/{action_id}
  GET    /v2/firewalls                        POST /v2/firewalls
  GET    /v2/firewalls/{id}  PUT  DELETE
  POST   /v2/firewalls/{id}/rules             DELETE the same
  GET    /v2/volumes[?name=&region=]          POST /v2/volumes
  DELETE /v2/volumes?name=&region=
  GET    /v2/volumes/{id}                     DELETE /v2/volumes/{id}
                                  (409 while attached)
  GET    /v2/volumes/{id}/actions[/{id}]      POST /v2/volumes/{id}/actions
                                  (attach, detach, resize)
  GET    /v2/reserved_ips                     POST /v2/reserved_ips
                                  (droplet_id, or region [project_id])
  GET    /v2/reserved_ips/{ip}                DELETE /v2/reserved_ips/{ip}
  GET    /v2/reserved_ips/{ip}/actions[/{id}] POST the same (assign,
                                  unassign)

What the real API does and this server does too:
  - "Authorization: Bearer TOKEN" on every request, else 401;
  - errors as {"id", "message", "request_id"}, an x-request-id header;
  - request bodies: JSON only, unknown fields, wrong types and bad slugs
    are 422 unprocessable_entity, undeclared query parameters 400;
  - lists paged: page (from 1), per_page (1..200, default 20),
    links.pages.{first,prev,next,last} as absolute URLs, meta.total;
  - rate limits per token, rolling windows: --per-minute (250) and
    --per-hour (5000); every answer has ratelimit-limit, -remaining and
    -reset (epoch second the oldest counted request expires); past a
    limit, 429 too_many_requests (with Retry-After for the minute burst);
    --window-s shortens the "minute" (and the hour, 60 of them) for tests;
    GET /v2/account/keys at most 10 a minute, as documented;
  - POST /v2/droplets answers 202 with the droplet "new" and a create
    action "in-progress"; after --active-ms the droplet is "active" with
    its addresses, and the action "completed";
  - deleting a VPC with members is 403 forbidden;
  - volumes: the name is unique in a region (409), lowercase letters,
    digits and '-', starting with a letter; attach and detach are actions
    (attach_volume, detach_volume) done after --active-ms; a volume is
    attached to one droplet in its own region (422 otherwise), at most 15
    to a droplet; deleting an attached volume is 409 conflict; deleting a
    droplet detaches its volumes;
  - reserved IPs: made assigned to a droplet (answer 202 with droplet
    null, locked, and links to the droplet and the assign_ip action) or
    reserved to a region; the assignment shows once its action is done,
    and a locked reserved IP refuses new actions (422); a droplet holds one
    reserved IP; assigning to a droplet of another region is 422;
    deleting a droplet unassigns its reserved IP.

Faults for tests (METHOD PATH matches by prefix, e.g. "POST /v2/droplets"):
  --throttle N [--throttle-match M]   the first N matching requests: 429
  --throttle-forever                  every request: 429
  --throttle-reset S                  a throttled answer says no
                                      Retry-After, but ratelimit-remaining
                                      0 and a ratelimit-reset S seconds on
  --fail N [--fail-match M] [--fail-status S]   the first N: 5xx (500)
  --kill-after M[,M...] --kill-pid-file F
      once a request matching M has been carried out, SIGKILL the PID in F
      before the answer goes back (the client dies after the cloud made the
      resource, before it recorded it); each M fires once
  --seed-droplets N --seed-tag T      N droplets made before the start
  --links-base URL                    links (pages, actions) point there

--log FILE appends one JSON object per request: method, path, query,
body (parsed), status, and with --log-responses the answer's body; "t0"
and "t1" (epoch seconds: the request read, the answer about to go) and
"in_flight" (the requests under way, this one counted, when it was read:
the largest over a run is how many deploy had in flight). --latency-ms N
holds each request N ms before it is carried out (outside the server's
lock), as the network and the real API take time. The token is never
logged. Listens on 127.0.0.1 port 0, writes the port to
--port-file. --public-ips A,B,... are handed out to droplets in order
(default 192.0.2.1 and up).
"""
import argparse
import base64
import collections
import hashlib
import ipaddress
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
import uuid
import http.server

REGIONS = {
    "nyc3": "New York 3", "fra1": "Frankfurt 1", "ams3": "Amsterdam 3",
    "sfo3": "San Francisco 3", "lon1": "London 1", "sgp1": "Singapore 1",
}
SIZES = {
    # slug: (memory MB, vcpus, disk GB, monthly price)
    "s-1vcpu-1gb": (1024, 1, 25, 6.0),
    "s-1vcpu-2gb": (2048, 1, 50, 12.0),
    "s-2vcpu-2gb": (2048, 2, 60, 18.0),
    "s-2vcpu-4gb": (4096, 2, 80, 24.0),
    "s-4vcpu-8gb": (8192, 4, 160, 48.0),
    "g-2vcpu-8gb": (8192, 2, 25, 63.0),
}
IMAGES = {
    # slug: (id, distribution, name)
    "debian-12-x64": (146000001, "Debian", "12 x64"),
    "debian-11-x64": (146000002, "Debian", "11 x64"),
    "ubuntu-24-04-x64": (146000003, "Ubuntu", "24.04 (LTS) x64"),
    "ubuntu-22-04-x64": (146000004, "Ubuntu", "22.04 (LTS) x64"),
}
NAME_RE = re.compile(r"^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$")
TAG_RE = re.compile(r"^[a-zA-Z0-9_\-:]+$")
FW_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9.\-]+$")
VOL_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
PORTS_RE = re.compile(r"^(all|0|[0-9]{1,5}(-[0-9]{1,5})?)$")
DROPLET_FIELDS = {
    "name", "names", "region", "size", "image", "ssh_keys", "backups",
    "backup_policy", "ipv6", "monitoring", "tags", "user_data",
    "private_networking", "volumes", "vpc_uuid", "with_droplet_agent",
    "public_networking",
}
LIST_QUERY = {"page", "per_page"}


class Fail(Exception):
    def __init__(self, status, ident, message):
        super().__init__(message)
        self.status, self.ident, self.message = status, ident, message


def unprocessable(msg):
    return Fail(422, "unprocessable_entity", msg)


def not_found():
    return Fail(404, "not_found",
                "The resource you were accessing could not be found.")


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def fingerprint(public_key):
    parts = public_key.split()
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-")):
        raise unprocessable("Key invalid, key should be of the format "
                            "`type key [comment]`")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except ValueError:
        raise unprocessable("Key invalid type, we support 'ssh-rsa', "
                            "'ssh-dss', 'ecdsa-sha2-nistp256' and "
                            "'ssh-ed25519'")
    h = hashlib.md5(blob).hexdigest()
    return ":".join(h[i:i + 2] for i in range(0, 32, 2))


def check_fields(body, allowed, required=()):
    if not isinstance(body, dict):
        raise Fail(400, "bad_request", "the request body must be a JSON "
                   "object")
    for k in body:
        if k not in allowed:
            raise unprocessable("unknown field '%s'" % k)
    for k in required:
        if body.get(k) is None:
            raise unprocessable("%s is required" % k)


def want(body, key, kind, what=None):
    v = body.get(key)
    if v is not None and not isinstance(v, kind) or \
            (kind is int and isinstance(v, bool)):
        raise unprocessable("%s must be %s" % (key, what or kind.__name__))
    return v


class Store:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.next_id = 300000001
        self.droplets, self.keys, self.actions = {}, {}, {}
        self.tags, self.vpcs, self.firewalls = {}, {}, {}
        self.volumes, self.rips = {}, {}
        self.ips = [s for s in (args.public_ips or "").split(",") if s]
        self.ip_next = 1
        self.rip_next = 1
        self.sent = collections.deque()   # times of counted requests
        self.key_lists = collections.deque()
        self.counters = collections.Counter()
        for region in REGIONS:
            self.add_vpc({"name": "default-" + region, "region": region,
                          "ip_range": None}, default=True)
        for i in range(args.seed_droplets):
            body = {"name": "seed-%d" % i, "region": "nyc3",
                    "size": "s-1vcpu-1gb", "image": "debian-12-x64",
                    "tags": [args.seed_tag] if args.seed_tag else []}
            self.create_droplet(body, "", seed=True)

    def new_id(self):
        self.next_id += 1
        return self.next_id

    # --- rate limits ---------------------------------------------------
    def admit(self, path, method):
        """None when the request may go on, else (which, retry_after)."""
        now = time.time()
        minute = self.args.window_s
        hour = 60 * minute
        while self.sent and self.sent[0] <= now - hour:
            self.sent.popleft()
        recent = [t for t in self.sent if t > now - minute]
        if len(self.sent) >= self.args.per_hour:
            return ("hour", None)
        if len(recent) >= self.args.per_minute:
            return ("minute", max(1, int(recent[0] + minute - now
                                         + 0.999)))
        if method == "GET" and path == "/v2/account/keys":
            while self.key_lists and self.key_lists[0] <= now - minute:
                self.key_lists.popleft()
            if len(self.key_lists) >= 10:
                return ("keys", max(1, int(self.key_lists[0] + minute
                                           - now + 0.999)))
            self.key_lists.append(now)
        self.sent.append(now)
        return None

    def limit_headers(self):
        now = time.time()
        remaining = max(0, self.args.per_hour - len(self.sent))
        reset = int(self.sent[0] + 60 * self.args.window_s) \
            if self.sent else int(now)
        return [("ratelimit-limit", str(self.args.per_hour)),
                ("ratelimit-remaining", str(remaining)),
                ("ratelimit-reset", str(reset))]

    # --- catalog -------------------------------------------------------
    def region_json(self, slug):
        return {"name": REGIONS[slug], "slug": slug,
                "features": ["backups", "ipv6", "metadata",
                             "install_agent", "storage"],
                "available": True, "sizes": sorted(SIZES)}

    def size_json(self, slug):
        mem, cpu, disk, price = SIZES[slug]
        return {"slug": slug, "memory": mem, "vcpus": cpu, "disk": disk,
                "transfer": 1.0, "price_monthly": price,
                "price_hourly": round(price / 672, 5),
                "regions": sorted(REGIONS), "available": True,
                "description": "Basic"}

    def image_json(self, slug):
        ident, dist, name = IMAGES[slug]
        return {"id": ident, "name": name, "type": "base",
                "distribution": dist, "slug": slug, "public": True,
                "regions": sorted(REGIONS),
                "created_at": "2024-06-01T00:00:00Z", "min_disk_size": 15,
                "size_gigabytes": 2.1, "description": dist + " " + name,
                "tags": [], "status": "available", "error_message": ""}

    def find_image(self, ref):
        for slug, (ident, _, _) in IMAGES.items():
            if ref == slug or str(ref) == str(ident):
                return slug
        return None

    # --- actions -------------------------------------------------------
    def add_action(self, kind, rid, rtype, region, ms=None):
        now = time.time()
        a = {"id": self.new_id(), "type": kind, "resource_id": rid,
             "resource_type": rtype, "region_slug": region, "t0": now,
             "done": now + (self.args.active_ms if ms is None else ms)
             / 1000.0}
        self.actions[a["id"]] = a
        return a

    def action_json(self, a):
        done = time.time() >= a["done"]
        return {"id": a["id"], "status": "completed" if done
                else "in-progress", "type": a["type"],
                "started_at": iso(a["t0"]),
                "completed_at": iso(a["done"]) if done else None,
                "resource_id": a["resource_id"],
                "resource_type": a["resource_type"],
                "region": self.region_json(a["region_slug"]),
                "region_slug": a["region_slug"]}

    # --- tags ----------------------------------------------------------
    def ensure_tag(self, name):
        if not isinstance(name, str) or not TAG_RE.match(name) or \
                len(name) > 255:
            raise unprocessable("tag name '%s' is invalid: letters, "
                                "numbers, colons, dashes and underscores "
                                "only, at most 255" % name)
        for t in self.tags:
            if t.lower() == name.lower():
                return t
        self.tags[name] = True
        return name

    def tag_json(self, name):
        n = sum(1 for d in self.droplets.values() if name in d["tags"])
        return {"name": name, "resources": {
            "count": n, "droplets": {"count": n},
            "volumes": {"count": sum(1 for v in self.volumes.values()
                                     if name in v["tags"])}}}

    # --- VPCs ----------------------------------------------------------
    def free_range(self):
        used = [ipaddress.ip_network(v["ip_range"])
                for v in self.vpcs.values()]
        for i in range(16, 256, 16):
            net = ipaddress.ip_network("10.%d.%d.0/20" % (100 + i // 256, i))
            if not any(net.overlaps(u) for u in used):
                return str(net)
        for i in range(0, 256, 16):
            net = ipaddress.ip_network("10.%d.0.0/20" % (110 + i))
            if not any(net.overlaps(u) for u in used):
                return str(net)
        raise unprocessable("no free ip_range left")

    def add_vpc(self, body, default=False):
        check_fields(body, {"name", "description", "region", "ip_range"},
                     ("name", "region"))
        name = want(body, "name", str, "a string")
        region = want(body, "region", str, "a string")
        if region not in REGIONS:
            raise unprocessable("region '%s' is not valid" % region)
        if not re.match(r"^[a-zA-Z0-9\-.]{1,64}$", name):
            raise unprocessable("name must be letters, numbers, '-' and "
                                "'.', at most 64")
        if any(v["name"] == name for v in self.vpcs.values()):
            raise unprocessable("A VPC with the name '%s' already exists"
                                % name)
        rng = want(body, "ip_range", str, "a string")
        if rng:
            try:
                net = ipaddress.ip_network(rng)
            except ValueError:
                raise unprocessable("ip_range '%s' is not a valid CIDR"
                                    % rng)
            if not net.is_private or net.version != 4 or \
                    not 16 <= net.prefixlen <= 28:
                raise unprocessable("ip_range must be an RFC 1918 range "
                                    "between /16 and /28")
            for v in self.vpcs.values():
                if ipaddress.ip_network(v["ip_range"]).overlaps(net):
                    raise unprocessable("ip_range %s overlaps with VPC "
                                        "'%s'" % (rng, v["name"]))
        else:
            rng = self.free_range()
        vid = str(uuid.uuid4())
        v = {"id": vid, "name": name, "description":
             body.get("description") or "", "region": region,
             "ip_range": rng, "default": default, "t0": time.time(),
             "next_host": 2}
        self.vpcs[vid] = v
        return v

    def vpc_json(self, v):
        return {"id": v["id"], "urn": "do:vpc:" + v["id"],
                "name": v["name"], "description": v["description"],
                "region": v["region"], "ip_range": v["ip_range"],
                "default": v["default"], "created_at": iso(v["t0"])}

    def default_vpc(self, region):
        return next(v for v in self.vpcs.values()
                    if v["default"] and v["region"] == region)

    # --- droplets ------------------------------------------------------
    def create_droplet(self, body, base, seed=False):
        check_fields(body, DROPLET_FIELDS, ("size", "image"))
        if ("name" in body) == ("names" in body):
            raise unprocessable("give either name or names")
        names = body.get("names") if "names" in body else [body.get("name")]
        if not isinstance(names, list) or not names:
            raise unprocessable("names must be a non-empty array")
        if len(names) > 10:
            raise unprocessable("You can create up to 10 droplets at a "
                                "time")
        for n in names:
            if not isinstance(n, str) or len(n) > 255 or \
                    not NAME_RE.match(n):
                raise unprocessable("Name Only valid hostname characters "
                                    "are allowed. (a-z, A-Z, 0-9, . and -)")
        region = want(body, "region", str, "a string") or "nyc3"
        if region not in REGIONS:
            raise unprocessable("Region is not available")
        size = want(body, "size", str, "a string")
        if size not in SIZES:
            raise unprocessable("Size is not available in this region.")
        if not isinstance(body["image"], (str, int)) or \
                isinstance(body["image"], bool):
            raise unprocessable("image must be a slug or an id")
        image = self.find_image(body["image"])
        if not image:
            raise unprocessable("You specified an invalid image for "
                                "Droplet creation.")
        for k in ("backups", "ipv6", "monitoring", "private_networking",
                  "with_droplet_agent", "public_networking"):
            want(body, k, bool, "a boolean")
        keys = want(body, "ssh_keys", list, "an array") or []
        for k in keys:
            if not any(str(k) in (str(x["id"]), x["fingerprint"])
                       for x in self.keys.values()):
                raise unprocessable("ssh_keys: key %s is not on the "
                                    "account" % k)
        tags = want(body, "tags", list, "an array") or []
        tags = [self.ensure_tag(t) for t in tags]
        ud = want(body, "user_data", str, "a string")
        if ud is not None and len(ud.encode()) > 65536:
            raise unprocessable("user_data is larger than 64 KiB")
        if body.get("volumes"):
            raise unprocessable("volumes: not supported by the test server")
        vpc_id = want(body, "vpc_uuid", str, "a string")
        if vpc_id:
            vpc = self.vpcs.get(vpc_id)
            if not vpc:
                raise unprocessable("vpc_uuid: VPC %s not found" % vpc_id)
            if vpc["region"] != region:
                raise unprocessable("vpc_uuid: the VPC is in region %s, "
                                    "not %s" % (vpc["region"], region))
        else:
            vpc = self.default_vpc(region)
        out, actions = [], []
        for n in names:
            d = {"id": self.new_id(), "name": n, "size": size,
                 "region": region, "image": image, "tags": list(tags),
                 "vpc_uuid": vpc["id"], "t0": time.time(),
                 "monitoring": bool(body.get("monitoring")),
                 "volume_ids": [], "public": None, "private": None}
            net = ipaddress.ip_network(vpc["ip_range"])
            d["private"] = str(net.network_address + vpc["next_host"])
            vpc["next_host"] += 1
            if self.ips:
                d["public"] = self.ips.pop(0)
            else:
                d["public"] = "192.0.2.%d" % self.ip_next
                self.ip_next += 1
            a = self.add_action("create", d["id"], "droplet", region,
                                0 if seed else None)
            d["action"] = a["id"]
            if seed:
                d["t0"] -= 3600
            self.droplets[d["id"]] = d
            out.append(d)
            actions.append({"id": a["id"], "rel": "create",
                            "href": base + "/v2/actions/%d" % a["id"]})
        return out, actions

    def droplet_active(self, d):
        return time.time() >= self.actions[d["action"]]["done"]

    def droplet_json(self, d):
        mem, cpu, disk, _ = SIZES[d["size"]]
        active = self.droplet_active(d)
        v4 = []
        if active:
            v4 = [{"ip_address": d["private"], "netmask": "255.255.240.0",
                   "gateway": "", "type": "private"},
                  {"ip_address": d["public"], "netmask": "255.255.255.0",
                   "gateway": d["public"].rsplit(".", 1)[0] + ".254",
                   "type": "public"}]
        return {"id": d["id"], "name": d["name"], "memory": mem,
                "vcpus": cpu, "disk": disk, "locked": False,
                "status": "active" if active else "new",
                "created_at": iso(d["t0"]),
                "features": ["monitoring"] if d["monitoring"] else [],
                "backup_ids": [], "next_backup_window": None,
                "snapshot_ids": [], "image": self.image_json(d["image"]),
                "volume_ids": list(d["volume_ids"]),
                "size": self.size_json(d["size"]), "size_slug": d["size"],
                "networks": {"v4": v4, "v6": []},
                "region": self.region_json(d["region"]),
                "tags": list(d["tags"]), "vpc_uuid": d["vpc_uuid"]}

    def delete_droplet(self, d):
        del self.droplets[d["id"]]
        for v in self.volumes.values():
            if d["id"] in v["droplet_ids"]:
                v["droplet_ids"].remove(d["id"])
        for r in self.rips.values():
            if r["droplet"] == d["id"]:
                r["droplet"] = None
        for f in self.firewalls.values():
            if d["id"] in f["droplet_ids"]:
                f["droplet_ids"].remove(d["id"])

    # --- firewalls -----------------------------------------------------
    def check_rules(self, body, key, side):
        rules = want(body, key, list, "an array") or []
        for r in rules:
            check_fields(r, {"protocol", "ports", side},
                         ("protocol", "ports"))
            if r["protocol"] not in ("tcp", "udp", "icmp"):
                raise unprocessable("protocol must be tcp, udp or icmp")
            ports = r.get("ports")
            if not isinstance(ports, str) or not PORTS_RE.match(ports):
                raise unprocessable("ports must be a port, a range "
                                    "(8000-9000), or '0' for all")
            if r["protocol"] == "icmp":
                r["ports"] = "0"  # what the API answers for ICMP
            where = r.get(side)
            if where is None:
                raise unprocessable("%s is required" % side)
            check_fields(where, {"addresses", "droplet_ids",
                                 "load_balancer_uids", "kubernetes_ids",
                                 "tags"})
            for a in where.get("addresses") or []:
                try:
                    ipaddress.ip_network(a, strict=False)
                except ValueError:
                    raise unprocessable("address '%s' is not an IP "
                                        "address or CIDR" % a)
            for t in where.get("tags") or []:
                if t not in self.tags:
                    raise unprocessable("tag '%s' does not exist" % t)
            for i in where.get("droplet_ids") or []:
                if i not in self.droplets:
                    raise unprocessable("droplet %s does not exist" % i)
        return rules

    def firewall_body(self, body, f=None):
        check_fields(body, {"name", "inbound_rules", "outbound_rules",
                            "droplet_ids", "tags"}, ("name",))
        name = want(body, "name", str, "a string")
        if not FW_NAME_RE.match(name):
            raise unprocessable("name must begin with a letter or digit "
                                "and hold only letters, digits, '.' and "
                                "'-'")
        inb = self.check_rules(body, "inbound_rules", "sources")
        outb = self.check_rules(body, "outbound_rules", "destinations")
        ids = want(body, "droplet_ids", list, "an array") or []
        for i in ids:
            if i not in self.droplets:
                raise unprocessable("droplet %s does not exist" % i)
        tags = want(body, "tags", list, "an array") or []
        for t in tags:
            if t not in self.tags:
                raise unprocessable("tag '%s' does not exist" % t)
        f = f or {"id": str(uuid.uuid4()), "t0": time.time()}
        f.update({"name": name, "inbound_rules": inb,
                  "outbound_rules": outb, "droplet_ids": ids, "tags": tags})
        return f

    def firewall_json(self, f):
        return {"id": f["id"], "status": "succeeded",
                "created_at": iso(f["t0"]), "pending_changes": [],
                "name": f["name"], "droplet_ids": f["droplet_ids"],
                "tags": f["tags"], "inbound_rules": f["inbound_rules"],
                "outbound_rules": f["outbound_rules"]}

    # --- volumes and reserved IPs --------------------------------------
    def volume_json(self, v):
        return {"id": v["id"], "droplet_ids": list(v["droplet_ids"]),
                "name": v["name"], "description": v["description"],
                "size_gigabytes": v["size"], "created_at": iso(v["t0"]),
                "tags": list(v["tags"]),
                "region": self.region_json(v["region"]),
                "filesystem_type": v["fs"], "filesystem_label": ""}

    def rip_locked(self, r):
        a = self.actions.get(r.get("action"))
        return bool(a) and time.time() < a["done"]

    def rip_json(self, r):
        d = self.droplets.get(r["droplet"]) if r["droplet"] else None
        if self.rip_locked(r):
            d = None  # assigned once the action is done
        return {"ip": r["ip"], "region": self.region_json(r["region"]),
                "droplet": self.droplet_json(d) if d else None,
                "locked": self.rip_locked(r),
                "project_id": r["project"]}

    def volume_actions(self, v):
        return [a for a in sorted(self.actions.values(),
                                  key=lambda a: a["id"])
                if a.get("volume") == v["id"]]


def page_of(items, query, base, path):
    """The page asked for, and links/meta; Fail on a bad page or size."""
    try:
        page = int(query.get("page", ["1"])[0])
        per = int(query.get("per_page", ["20"])[0])
    except ValueError:
        raise Fail(400, "bad_request", "page and per_page must be "
                   "integers")
    if page < 1 or per < 1 or per > 200:
        raise Fail(400, "bad_request", "per_page must be between 1 and "
                   "200, page at least 1")
    last = max(1, (len(items) + per - 1) // per)
    chunk = items[(page - 1) * per:page * per]

    def link(p):
        q = {k: v[0] for k, v in query.items()}
        q["page"] = str(p)
        q["per_page"] = str(per)
        return base + path + "?" + urllib.parse.urlencode(sorted(q.items()))

    pages = {}
    if page > 1:
        pages["first"] = link(1)
        pages["prev"] = link(page - 1)
    if page < last:
        pages["last"] = link(last)
        pages["next"] = link(page + 1)
    return chunk, {"links": {"pages": pages}, "meta": {"total": len(items)}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--log-responses", action="store_true")
    ap.add_argument("--token", default=os.environ.get("DO_SERVER_TOKEN"))
    ap.add_argument("--active-ms", type=int, default=300)
    ap.add_argument("--public-ips", default="")
    ap.add_argument("--per-minute", type=int, default=250)
    ap.add_argument("--per-hour", type=int, default=5000)
    ap.add_argument("--window-s", type=float, default=60.0)
    ap.add_argument("--throttle", type=int, default=0)
    ap.add_argument("--throttle-match", default="")
    ap.add_argument("--throttle-forever", action="store_true")
    ap.add_argument("--throttle-reset", type=int, default=0)
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--fail-match", default="")
    ap.add_argument("--fail-status", type=int, default=500)
    # A broken server (or a proxy before it) that quotes the request's
    # Authorization header in its error message, as sent and in base64.
    ap.add_argument("--fail-echo", action="store_true")
    ap.add_argument("--kill-after", default=None)
    ap.add_argument("--kill-pid-file", default=None)
    ap.add_argument("--seed-droplets", type=int, default=0)
    ap.add_argument("--seed-tag", default="")
    ap.add_argument("--links-base", default="")
    args = ap.parse_args()
    if not args.token:
        ap.error("--token (or DO_SERVER_TOKEN) is required")
    store = Store(args)
    faults = {"throttled": 0, "failed": 0, "killed": set()}
    flight = {"now": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def base(self):
            if args.links_base:
                return args.links_base
            return "http://" + (self.headers.get("Host") or
                                "127.0.0.1:%d" % self.server.server_port)

        def record(self, entry):
            line = json.dumps(entry, sort_keys=True)
            with store.lock, open(args.log, "a") as f:
                f.write(line + "\n")

        def send(self, status, obj, rid, extra=()):
            body = b"" if obj is None else json.dumps(obj).encode()
            self.send_response(status)
            if obj is not None:
                self.send_header("Content-Type",
                                 "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-request-id", rid)
            mine = {k.lower() for k, v in extra}
            for k, v in list(extra) + [h for h in store.limit_headers()
                                       if h[0] not in mine]:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def handle_any(self, method):
            rid = str(uuid.uuid4())
            url = urllib.parse.urlsplit(self.path)
            path = url.path.rstrip("/") or "/"
            query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            with store.lock:
                flight["now"] += 1
                entry = {"method": method, "path": path,
                         "query": {k: v[0] for k, v in query.items()},
                         "body": None, "request_id": rid,
                         "t0": time.time(), "in_flight": flight["now"]}
            extra = []
            if args.latency_ms:
                time.sleep(args.latency_ms / 1000.0)
            try:
                if raw:
                    try:
                        entry["body"] = json.loads(raw)
                    except ValueError:
                        entry["body"] = raw.decode("utf-8", "replace")
                        raise Fail(400, "bad_request",
                                   "the request body is not JSON")
                status, obj = self.dispatch(method, path, query,
                                            entry["body"], extra, entry)
            except Fail as e:
                status, obj = e.status, {"id": e.ident,
                                         "message": e.message,
                                         "request_id": rid}
            entry["status"] = status
            if args.log_responses:
                entry["response"] = obj
            with store.lock:
                flight["now"] -= 1
            entry["t1"] = time.time()
            self.record(entry)
            if entry.get("kill"):
                with open(args.kill_pid_file) as f:
                    pid = int(f.read().strip())
                os.kill(pid, signal.SIGKILL)
                self.record({"killed": pid})
                self.close_connection = True
                return
            self.send(status, obj, rid, extra)

        def dispatch(self, method, path, query, body, extra, entry):
            auth = self.headers.get("Authorization") or ""
            if auth != "Bearer " + args.token:
                raise Fail(401, "unauthorized",
                           "Unable to authenticate you")
            what = method + " " + path
            with store.lock:
                if args.throttle_forever or (
                        faults["throttled"] < args.throttle and
                        what.startswith(args.throttle_match)):
                    faults["throttled"] += 1
                    if args.throttle_reset:
                        extra.append(("ratelimit-remaining", "0"))
                        extra.append(("ratelimit-reset", str(
                            int(time.time()) + args.throttle_reset)))
                    else:
                        extra.append(("Retry-After", "1"))
                    raise Fail(429, "too_many_requests",
                               "API rate limit exceeded.")
                if faults["failed"] < args.fail and \
                        what.startswith(args.fail_match):
                    faults["failed"] += 1
                    msg = "Server was unable to give you a response."
                    if args.fail_echo:
                        msg += " You sent: %s (%s)" % (
                            auth, base64.b64encode(auth.encode()).decode())
                    raise Fail(args.fail_status, "server_error", msg)
                over = store.admit(path, method)
                if over:
                    if over[1]:
                        extra.append(("Retry-After", str(over[1])))
                    raise Fail(429, "too_many_requests",
                               "API rate limit exceeded.")
                status, obj = route(store, method, path, query, body,
                                    self.base())
                for m in (args.kill_after or "").split(","):
                    if m and m not in faults["killed"] and \
                            what.startswith(m) and status < 300 and \
                            args.kill_pid_file:
                        faults["killed"].add(m)
                        entry["kill"] = True
                        break
            return status, obj

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

        def do_PUT(self):
            self.handle_any("PUT")

        def do_DELETE(self):
            self.handle_any("DELETE")

        def do_PATCH(self):
            self.handle_any("PATCH")

    # A client with many requests in flight opens as many connections at
    # once: a listen backlog of 5 (the default) resets some.
    http.server.ThreadingHTTPServer.request_queue_size = 128
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    srv.serve_forever()


def only_query(query, allowed):
    for k in query:
        if k not in allowed:
            raise Fail(400, "bad_request", "unknown query parameter '%s'"
                       % k)


def no_body(body):
    if body is not None:
        raise Fail(400, "bad_request", "this request takes no body")


def listing(store, key, items, query, base, path, allowed=()):
    only_query(query, LIST_QUERY | set(allowed))
    chunk, extra = page_of(items, query, base, path)
    out = {key: chunk}
    out.update(extra)
    return 200, out


def route(s, method, path, query, body, base):
    parts = path.split("/")[1:]
    if len(parts) < 2 or parts[0] != "v2":
        raise not_found()
    res, rest = parts[1], parts[2:]
    if method == "GET" or (method == "DELETE" and
                           not path.endswith(("/rules", "/tags",
                                              "/droplets"))):
        no_body(body)
    if res == "account" and not rest and method == "GET":
        only_query(query, ())
        return 200, {"account": {
            "droplet_limit": 25, "floating_ip_limit": 5,
            "volume_limit": 100, "email": "ops@example.com",
            "uuid": "b6fr89dbf6d9156cace5f3c78dc9851d957381ef",
            "email_verified": True, "status": "active",
            "status_message": ""}}
    if res == "account" and rest[:1] == ["keys"]:
        return route_keys(s, method, rest[1:], query, body, base)
    if res == "regions" and not rest and method == "GET":
        return listing(s, "regions", [s.region_json(r) for r in
                                      sorted(REGIONS)], query, base, path)
    if res == "sizes" and not rest and method == "GET":
        return listing(s, "sizes", [s.size_json(z) for z in sorted(SIZES)],
                       query, base, path)
    if res == "images" and method == "GET":
        if not rest:
            only_query(query, LIST_QUERY | {"type", "private", "tag_name"})
            t = query.get("type", [None])[0]
            if t not in (None, "distribution", "application"):
                raise Fail(400, "bad_request", "type must be distribution "
                           "or application")
            imgs = [] if t == "application" or \
                query.get("private", ["false"])[0] == "true" else \
                [s.image_json(i) for i in sorted(IMAGES)]
            return listing(s, "images", imgs, query, base, path,
                           ("type", "private", "tag_name"))
        if len(rest) == 1:
            only_query(query, ())
            slug = s.find_image(rest[0])
            if not slug:
                raise not_found()
            return 200, {"image": s.image_json(slug)}
    if res == "tags":
        if not rest and method == "POST":
            only_query(query, ())
            check_fields(body, {"name"}, ("name",))
            name = s.ensure_tag(body["name"])
            return 201, {"tag": s.tag_json(name)}
        if len(rest) == 1 and method == "GET":
            only_query(query, ())
            if rest[0] not in s.tags:
                raise not_found()
            return 200, {"tag": s.tag_json(rest[0])}
        if len(rest) == 2 and rest[1] == "resources" and method == "POST":
            # tags_assign_resources: 204; a missing tag or resource 404.
            only_query(query, ())
            check_fields(body, {"resources"}, ("resources",))
            res = want(body, "resources", list, "an array")
            if rest[0] not in s.tags:
                raise not_found()
            for r in res:
                if not isinstance(r, dict):
                    raise unprocessable("resources must be objects")
                check_fields(r, {"resource_id", "resource_type"},
                             ("resource_id", "resource_type"))
                rid = want(r, "resource_id", str, "a string")
                kind = want(r, "resource_type", str, "a string")
                if kind not in ("droplet", "image", "volume",
                                "volume_snapshot"):
                    raise unprocessable("resource_type is not one of "
                                        "droplet, image, volume, "
                                        "volume_snapshot")
                if kind != "droplet" or not rid.isdigit() or \
                        int(rid) not in s.droplets:
                    raise not_found()
            for r in res:
                d = s.droplets[int(r["resource_id"])]
                if rest[0] not in d["tags"]:
                    d["tags"].append(rest[0])
            return 204, None
    if res == "vpcs":
        return route_vpcs(s, method, rest, query, body, base, path)
    if res == "droplets":
        return route_droplets(s, method, rest, query, body, base, path)
    if res == "actions" and not rest and method == "GET":
        # actions_list: the account's actions, the newest first
        return listing(s, "actions", [s.action_json(a) for a in sorted(
            s.actions.values(), key=lambda a: -a["id"])], query, base, path)
    if res == "actions" and len(rest) == 1 and method == "GET":
        only_query(query, ())
        a = s.actions.get(int(rest[0])) if rest[0].isdigit() else None
        if not a:
            raise not_found()
        return 200, {"action": s.action_json(a)}
    if res == "firewalls":
        return route_firewalls(s, method, rest, query, body, base, path)
    if res == "volumes":
        return route_volumes(s, method, rest, query, body, base, path)
    if res == "reserved_ips":
        return route_rips(s, method, rest, query, body, base, path)
    raise not_found()


def route_keys(s, method, rest, query, body, base):
    path = "/v2/account/keys"
    if not rest and method == "GET":
        return listing(s, "ssh_keys", [dict(k) for k in
                                       sorted(s.keys.values(),
                                              key=lambda k: k["id"])],
                       query, base, path)
    if not rest and method == "POST":
        only_query(query, ())
        check_fields(body, {"name", "public_key"}, ("name", "public_key"))
        want(body, "name", str, "a string")
        pk = want(body, "public_key", str, "a string")
        fp = fingerprint(pk)
        if any(k["fingerprint"] == fp for k in s.keys.values()):
            raise unprocessable("SSH Key is already in use on your account")
        k = {"id": s.new_id(), "fingerprint": fp, "public_key": pk.strip(),
             "name": body["name"]}
        s.keys[k["id"]] = k
        return 201, {"ssh_key": dict(k)}
    if len(rest) == 1:
        only_query(query, ())
        k = next((k for k in s.keys.values()
                  if rest[0] in (str(k["id"]), k["fingerprint"])), None)
        if not k:
            raise not_found()
        if method == "GET":
            return 200, {"ssh_key": dict(k)}
        if method == "DELETE":
            del s.keys[k["id"]]
            return 204, None
    raise not_found()


def route_vpcs(s, method, rest, query, body, base, path):
    if not rest and method == "GET":
        return listing(s, "vpcs", [s.vpc_json(v) for v in
                                   sorted(s.vpcs.values(),
                                          key=lambda v: v["t0"])],
                       query, base, path)
    if not rest and method == "POST":
        only_query(query, ())
        return 201, {"vpc": s.vpc_json(s.add_vpc(body))}
    v = s.vpcs.get(rest[0]) if rest else None
    if not v:
        raise not_found()
    members = [d for d in s.droplets.values() if d["vpc_uuid"] == v["id"]]
    if len(rest) == 2 and rest[1] == "members" and method == "GET":
        return listing(s, "members", [
            {"urn": "do:droplet:%d" % d["id"], "name": d["name"],
             "created_at": iso(d["t0"])} for d in members],
            query, base, path, ("resource_type",))
    if len(rest) != 1:
        raise not_found()
    only_query(query, ())
    if method == "GET":
        return 200, {"vpc": s.vpc_json(v)}
    if method == "DELETE":
        if v["default"]:
            raise Fail(403, "forbidden", "the default VPC of a region "
                       "cannot be deleted")
        if members:
            raise Fail(403, "forbidden", "Can not delete VPC with members")
        del s.vpcs[v["id"]]
        return 204, None
    raise not_found()


def route_droplets(s, method, rest, query, body, base, path):
    if not rest and method == "GET":
        only_query(query, LIST_QUERY | {"tag_name", "name", "type"})
        ds = sorted(s.droplets.values(), key=lambda d: d["id"])
        if "tag_name" in query and "name" in query:
            raise Fail(400, "bad_request", "tag_name and name cannot be "
                       "combined")
        if "tag_name" in query:
            ds = [d for d in ds if query["tag_name"][0] in d["tags"]]
        if "name" in query:
            ds = [d for d in ds if d["name"] == query["name"][0]]
        return listing(s, "droplets", [s.droplet_json(d) for d in ds],
                       query, base, path, ("tag_name", "name", "type"))
    if not rest and method == "POST":
        only_query(query, ())
        multi = isinstance(body, dict) and "names" in body
        made, actions = s.create_droplet(body, base)
        links = {"actions": actions}
        if multi:
            return 202, {"droplets": [s.droplet_json(d) for d in made],
                         "links": links}
        return 202, {"droplet": s.droplet_json(made[0]), "links": links}
    if not rest and method == "DELETE":
        only_query(query, {"tag_name"})
        tag = query.get("tag_name", [None])[0]
        if not tag:
            raise Fail(400, "bad_request", "tag_name is required")
        for d in [d for d in s.droplets.values() if tag in d["tags"]]:
            s.delete_droplet(d)
        return 204, None
    if not rest[0].isdigit() or int(rest[0]) not in s.droplets:
        raise not_found()
    d = s.droplets[int(rest[0])]
    if len(rest) == 1:
        only_query(query, ())
        if method == "GET":
            return 200, {"droplet": s.droplet_json(d)}
        if method == "DELETE":
            s.delete_droplet(d)
            return 204, None
    if len(rest) == 3 and rest[1] == "actions" and method == "GET":
        only_query(query, ())
        a = s.actions.get(int(rest[2])) if rest[2].isdigit() else None
        if not a or a["resource_id"] != d["id"]:
            raise not_found()
        return 200, {"action": s.action_json(a)}
    raise not_found()


def route_firewalls(s, method, rest, query, body, base, path):
    if not rest and method == "GET":
        return listing(s, "firewalls", [s.firewall_json(f) for f in
                                        sorted(s.firewalls.values(),
                                               key=lambda f: f["t0"])],
                       query, base, path)
    if not rest and method == "POST":
        only_query(query, ())
        f = s.firewall_body(body)
        if any(x["name"] == f["name"] for x in s.firewalls.values()):
            raise Fail(409, "conflict", "a firewall named '%s' exists"
                       % f["name"])
        s.firewalls[f["id"]] = f
        return 202, {"firewall": s.firewall_json(f)}
    f = s.firewalls.get(rest[0]) if rest else None
    if not f:
        raise not_found()
    only_query(query, ())
    if len(rest) == 1:
        if method == "GET":
            return 200, {"firewall": s.firewall_json(f)}
        if method == "PUT":
            s.firewall_body(body, f)
            return 200, {"firewall": s.firewall_json(f)}
        if method == "DELETE":
            del s.firewalls[f["id"]]
            return 204, None
    if len(rest) == 2 and rest[1] == "rules" and method in ("POST",
                                                            "DELETE"):
        check_fields(body, {"inbound_rules", "outbound_rules"})
        if not body.get("inbound_rules") and not body.get("outbound_rules"):
            raise Fail(400, "bad_request", "give inbound_rules or "
                       "outbound_rules")
        inb = s.check_rules(body, "inbound_rules", "sources")
        outb = s.check_rules(body, "outbound_rules", "destinations")
        for have, new in ((f["inbound_rules"], inb),
                          (f["outbound_rules"], outb)):
            for r in new:
                if method == "POST" and r not in have:
                    have.append(r)
                elif method == "DELETE" and r in have:
                    have.remove(r)
        return 204, None
    raise not_found()


def route_volumes(s, method, rest, query, body, base, path):
    if not rest and method == "GET":
        only_query(query, LIST_QUERY | {"name", "region"})
        vs = sorted(s.volumes.values(), key=lambda v: v["t0"])
        if "name" in query:
            vs = [v for v in vs if v["name"] == query["name"][0]]
        if "region" in query:
            vs = [v for v in vs if v["region"] == query["region"][0]]
        return listing(s, "volumes", [s.volume_json(v) for v in vs],
                       query, base, path, ("name", "region"))
    if not rest and method == "DELETE":
        # volumes_delete_byName: both the name and the region
        only_query(query, {"name", "region"})
        if "name" not in query or "region" not in query:
            raise Fail(400, "bad_request", "name and region are required")
        v = next((v for v in s.volumes.values()
                  if v["name"] == query["name"][0] and
                  v["region"] == query["region"][0]), None)
        if not v:
            raise not_found()
        return delete_volume(s, v)
    if not rest and method == "POST":
        only_query(query, ())
        check_fields(body, {"size_gigabytes", "name", "description",
                            "region", "snapshot_id", "filesystem_type",
                            "filesystem_label", "tags"},
                     ("size_gigabytes", "name", "region"))
        name = want(body, "name", str, "a string")
        if not VOL_NAME_RE.match(name):
            raise unprocessable("name must begin with a letter and hold "
                                "only lowercase letters, numbers and '-', "
                                "at most 64")
        size = want(body, "size_gigabytes", int, "an integer")
        if not 1 <= size <= 16384:
            raise unprocessable("size_gigabytes must be 1 to 16384")
        region = want(body, "region", str, "a string")
        if region not in REGIONS:
            raise unprocessable("region '%s' is not valid" % region)
        want(body, "description", str, "a string")
        fs = want(body, "filesystem_type", str, "a string") or ""
        if fs not in ("", "ext4", "xfs"):
            raise unprocessable("filesystem_type must be ext4 or xfs")
        label = want(body, "filesystem_label", str, "a string") or ""
        if label and not fs:
            raise unprocessable("filesystem_label needs filesystem_type")
        if len(label) > (16 if fs == "ext4" else 12):
            raise unprocessable("filesystem_label is too long")
        if body.get("snapshot_id") is not None:
            raise unprocessable("snapshot_id: snapshot not found")
        if any(v["name"] == name and v["region"] == region
               for v in s.volumes.values()):
            raise Fail(409, "conflict", "a volume named '%s' exists in %s"
                       % (name, region))
        tags = [s.ensure_tag(t) for t in
                want(body, "tags", list, "an array") or []]
        v = {"id": str(uuid.uuid4()), "name": name, "size": size,
             "region": region, "description":
             body.get("description") or "", "tags": tags,
             "droplet_ids": [], "fs": fs, "label": label,
             "t0": time.time()}
        s.volumes[v["id"]] = v
        return 201, {"volume": s.volume_json(v)}
    v = s.volumes.get(rest[0]) if rest else None
    if not v:
        raise not_found()
    if len(rest) == 1 and method == "GET":
        only_query(query, ())
        return 200, {"volume": s.volume_json(v)}
    if len(rest) == 1 and method == "DELETE":
        only_query(query, ())
        return delete_volume(s, v)
    if len(rest) == 2 and rest[1] == "actions" and method == "GET":
        return listing(s, "actions", [s.action_json(a) for a in
                                      s.volume_actions(v)],
                       query, base, path)
    if len(rest) == 3 and rest[1] == "actions" and method == "GET":
        only_query(query, LIST_QUERY)
        a = s.actions.get(int(rest[2])) if rest[2].isdigit() else None
        if not a or a.get("volume") != v["id"]:
            raise not_found()
        return 200, {"action": s.action_json(a)}
    if len(rest) == 2 and rest[1] == "actions" and method == "POST":
        only_query(query, LIST_QUERY)
        return volume_action(s, v, body)
    raise not_found()


def delete_volume(s, v):
    if v["droplet_ids"]:
        raise Fail(409, "conflict", "the volume is attached to droplet %d: "
                   "detach it first" % v["droplet_ids"][0])
    del s.volumes[v["id"]]
    return 204, None


def volume_action(s, v, body):
    if not isinstance(body, dict):
        raise Fail(400, "bad_request", "the request body must be a JSON "
                   "object")
    t = body.get("type")
    if t == "resize":
        check_fields(body, {"type", "size_gigabytes", "region"},
                     ("type", "size_gigabytes"))
        size = want(body, "size_gigabytes", int, "an integer")
        if size <= v["size"] or size > 16384:
            raise unprocessable("volumes may only be resized upwards, to "
                                "at most 16384 GiB")
    elif t in ("attach", "detach"):
        check_fields(body, {"type", "droplet_id", "region"} |
                     ({"tags"} if t == "attach" else set()),
                     ("type", "droplet_id"))
        want(body, "tags", list, "an array")
    else:
        raise unprocessable("type must be attach, detach or resize")
    region = want(body, "region", str, "a string")
    if region is not None and region != v["region"]:
        raise unprocessable("the volume is in region %s, not %s"
                            % (v["region"], region))
    if t == "resize":
        v["size"] = body["size_gigabytes"]
        a = s.add_action("resize_volume", None, "volume", v["region"])
    else:
        did = want(body, "droplet_id", int, "an integer")
        d = s.droplets.get(did)
        if not d:
            raise not_found()
        if t == "attach":
            if v["droplet_ids"]:
                raise unprocessable("the volume is already attached to "
                                    "droplet %d" % v["droplet_ids"][0])
            if d["region"] != v["region"]:
                raise unprocessable("the droplet is in region %s and the "
                                    "volume in %s" % (d["region"],
                                                      v["region"]))
            if len(d["volume_ids"]) >= 15:
                raise unprocessable("a droplet holds at most 15 volumes")
            for tg in body.get("tags") or []:
                tg = s.ensure_tag(tg)
                if tg not in v["tags"]:
                    v["tags"].append(tg)
            v["droplet_ids"].append(did)
            d["volume_ids"].append(v["id"])
        else:
            if did not in v["droplet_ids"]:
                raise unprocessable("the volume is not attached to "
                                    "droplet %d" % did)
            v["droplet_ids"].remove(did)
            d["volume_ids"].remove(v["id"])
        a = s.add_action(t + "_volume", None, "volume", v["region"])
    a["volume"] = v["id"]
    return 202, {"action": s.action_json(a)}


def route_rips(s, method, rest, query, body, base, path):
    if not rest and method == "GET":
        return listing(s, "reserved_ips", [s.rip_json(r) for r in
                                           sorted(s.rips.values(),
                                                  key=lambda r: r["t0"])],
                       query, base, path)
    if not rest and method == "POST":
        only_query(query, ())
        # reserved_ip_create: oneOf droplet_id, or region [+ project_id]
        if isinstance(body, dict) and "droplet_id" in body:
            check_fields(body, {"droplet_id"}, ("droplet_id",))
            d = s.droplets.get(want(body, "droplet_id", int, "an integer"))
            if not d:
                raise unprocessable("droplet_id: droplet not found")
            if any(r["droplet"] == d["id"] for r in s.rips.values()):
                raise unprocessable("the droplet already has a reserved "
                                    "IP")
            region, did = d["region"], d["id"]
        else:
            check_fields(body, {"region", "project_id"}, ("region",))
            region, did = want(body, "region", str, "a string"), None
            if region not in REGIONS:
                raise unprocessable("region '%s' is not valid" % region)
            want(body, "project_id", str, "a string")
        r = {"ip": "198.51.100.%d" % s.rip_next, "region": region,
             "droplet": did, "t0": time.time(), "action": None,
             "project": body.get("project_id") or
             "746c6152-2fa2-11ed-92d3-27aaa54e4988"}
        s.rip_next += 1
        s.rips[r["ip"]] = r
        links = {}
        if did:
            a = s.add_action("assign_ip", did, "reserved_ip", region)
            a["rip"] = r["ip"]
            r["action"] = a["id"]
            links = {"droplets": [{"id": did, "rel": "droplet",
                                   "href": base + "/v2/droplets/%d" % did}],
                     "actions": [{"id": a["id"], "rel": "assign_ip",
                                  "href": base + "/v2/actions/%d"
                                  % a["id"]}]}
        return 202, {"reserved_ip": s.rip_json(r), "links": links}
    r = s.rips.get(rest[0]) if rest else None
    if not r:
        raise not_found()
    if len(rest) == 1 and method == "GET":
        only_query(query, ())
        return 200, {"reserved_ip": s.rip_json(r)}
    if len(rest) == 1 and method == "DELETE":
        only_query(query, ())
        if s.rip_locked(r):
            raise unprocessable("the reserved IP has a pending event")
        del s.rips[r["ip"]]
        return 204, None
    if len(rest) == 2 and rest[1] == "actions" and method == "GET":
        only_query(query, ())  # reservedIPsActions_list declares none
        return listing(s, "actions", [
            s.action_json(a) for a in sorted(s.actions.values(),
                                             key=lambda a: a["id"])
            if a.get("rip") == r["ip"]], query, base, path)
    if len(rest) == 3 and rest[1] == "actions" and method == "GET":
        only_query(query, ())
        a = s.actions.get(int(rest[2])) if rest[2].isdigit() else None
        if not a or a.get("rip") != r["ip"]:
            raise not_found()
        return 200, {"action": s.action_json(a)}
    if len(rest) == 2 and rest[1] == "actions" and method == "POST":
        only_query(query, ())
        if not isinstance(body, dict):
            raise Fail(400, "bad_request", "the request body must be a "
                       "JSON object")
        if body.get("type") == "assign":
            check_fields(body, {"type", "droplet_id"},
                         ("type", "droplet_id"))
        elif body.get("type") == "unassign":
            check_fields(body, {"type"}, ("type",))
        else:
            raise unprocessable("type must be assign or unassign")
        if s.rip_locked(r):
            raise unprocessable("the reserved IP has a pending event")
        if body["type"] == "assign":
            d = s.droplets.get(want(body, "droplet_id", int, "an integer"))
            if not d:
                raise unprocessable("droplet_id: droplet not found")
            if d["region"] != r["region"]:
                raise unprocessable("the droplet is in region %s, the "
                                    "reserved IP in %s"
                                    % (d["region"], r["region"]))
            if any(x["droplet"] == d["id"] and x is not r
                   for x in s.rips.values()):
                raise unprocessable("the droplet already has a reserved "
                                    "IP")
            r["droplet"] = d["id"]
            a = s.add_action("assign_ip", d["id"], "reserved_ip",
                             r["region"])
        else:
            if not r["droplet"]:
                raise unprocessable("the reserved IP is not assigned")
            a = s.add_action("unassign_ip", r["droplet"], "reserved_ip",
                             r["region"])
            r["droplet"] = None
        a["rip"] = r["ip"]
        r["action"] = a["id"]
        return 201, {"action": s.action_json(a)}
    raise not_found()


if __name__ == "__main__":
    main()
