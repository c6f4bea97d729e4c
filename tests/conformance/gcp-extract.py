#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Extract the part of the Compute Engine v1 discovery document that deploy
uses into tests/helper/gcp-compute-v1-subset.json, which the test server
(tests/helper/gcp-server.py) reads: the methods deploy calls (HTTP method,
path template, parameters) and every schema their requests and answers
reach, with each property's type, its output-only mark (the document's
"[Output Only]" descriptions) and its enums. Descriptions are dropped.

Not run in CI (the tests must not read ../shared); run it by hand when the
method list changes:

  python3 tests/conformance/gcp-extract.py \
      /work/shared/conformance/gcp-compute-v1/discoveries/compute.v1.json

The discovery document is Apache-2.0 (googleapis/discovery-artifact-manager);
the subset keeps its revision for reference.
"""

import json
import os
import sys

METHODS = {
    "instances": ["insert", "get", "list", "aggregatedList", "delete",
                  "setLabels"],
    "zoneOperations": ["get", "wait"],
    "regionOperations": ["get", "wait"],
    "globalOperations": ["get", "wait"],
    "networks": ["insert", "get", "delete"],
    "subnetworks": ["insert", "get", "list", "delete"],
    "firewalls": ["insert", "get", "list", "delete", "patch"],
    "addresses": ["insert", "get", "list", "delete"],
    "disks": ["insert", "get", "list", "delete"],
    "images": ["get", "getFromFamily"],
    "machineTypes": ["get"],
    "zones": ["get", "list"],
    "regions": ["get"],
}

KEEP_PROP = ("type", "format", "$ref", "enum", "items",
             "additionalProperties", "pattern")


def prop(p):
    out = {k: p[k] for k in KEEP_PROP if k in p}
    if "items" in out:
        out["items"] = prop(out["items"])
    if "additionalProperties" in out:
        out["additionalProperties"] = prop(out["additionalProperties"])
    if "properties" in p:
        out["properties"] = {k: prop(v) for k, v in p["properties"].items()}
    if p.get("description", "").lstrip().startswith("[Output Only]"):
        out["outputOnly"] = True
    return out


def refs(node, acc):
    if isinstance(node, dict):
        if "$ref" in node:
            acc.add(node["$ref"])
        for v in node.values():
            refs(v, acc)
    elif isinstance(node, list):
        for v in node:
            refs(v, acc)


def main():
    doc = json.load(open(sys.argv[1]))
    out = {
        "source": "googleapis/discovery-artifact-manager "
                  "discoveries/compute.v1.json (Apache-2.0)",
        "revision": doc["revision"],
        "servicePath": doc["servicePath"],
        "parameters": sorted(doc["parameters"]),
        "methods": {},
        "schemas": {},
    }
    want = set()
    for res, names in METHODS.items():
        for m in names:
            d = doc["resources"][res]["methods"][m]
            params = {}
            for k, v in d.get("parameters", {}).items():
                params[k] = {x: v[x] for x in
                             ("location", "required", "type", "pattern",
                              "format", "enum", "minimum", "maximum",
                              "default") if x in v}
            out["methods"][d["id"]] = {
                "httpMethod": d["httpMethod"],
                "path": d["path"],
                "parameterOrder": d.get("parameterOrder", []),
                "parameters": params,
                "request": d.get("request", {}).get("$ref"),
                "response": d.get("response", {}).get("$ref"),
                "scopes": d.get("scopes", []),
            }
            for k in ("request", "response"):
                if d.get(k):
                    want.add(d[k]["$ref"])
    seen = set()
    while want:
        name = want.pop()
        if name in seen:
            continue
        seen.add(name)
        s = prop(doc["schemas"][name])
        s["id"] = name
        out["schemas"][name] = s
        acc = set()
        refs(s, acc)
        want |= acc - seen
    dest = os.path.join(os.path.dirname(__file__), "..", "helper",
                        "gcp-compute-v1-subset.json")
    with open(dest, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{len(out['methods'])} methods, {len(out['schemas'])} schemas "
          f"-> {os.path.normpath(dest)}")


if __name__ == "__main__":
    main()
