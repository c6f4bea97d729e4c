#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run the core modules of the Mustache spec through deploy-test-tool.

usage: mustache-spec.py SPEC_DIR DEPLOY_TEST_TOOL

SPEC_DIR holds the spec's .json files (mustache/spec's specs/). Every test
of the core modules (not the ~optional ones) is rendered with
`deploy-test-tool mustache`; each failure is printed with a diff, then
"N passed, M failed". Exits 1 when any test failed.

A developer check, not part of the test suite: the spec is not vendored.
"""

import difflib
import json
import os
import subprocess
import sys
import tempfile

MODULES = ["comments", "delimiters", "interpolation", "inverted", "partials",
           "sections"]


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def run_test(tool, tmp, test):
    template = os.path.join(tmp, "template.mustache")
    data = os.path.join(tmp, "data.json")
    partials = os.path.join(tmp, "partials.json")
    write(template, test["template"])
    write(data, json.dumps(test["data"]))
    write(partials, json.dumps(test.get("partials", {})))
    proc = subprocess.run(
        [tool, "mustache", "--template", template, "--data", data,
         "--partials", partials],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), \
        proc.stderr.decode("utf-8", "replace")


def show_failure(module, test, rc, out, err):
    print("FAIL %s: %s" % (module, test["name"]))
    print("  template: %r" % test["template"])
    if rc != 0:
        print("  exit %d: %s" % (rc, err.strip()))
    diff = difflib.unified_diff(
        test["expected"].splitlines(keepends=True),
        out.splitlines(keepends=True), "expected", "got")
    for line in diff:
        if line.startswith(("---", "+++", "@@")):
            print("  " + line.rstrip("\n"))
        else:
            # repr() shows the whitespace and line endings that differ
            print("  " + line[0] + repr(line[1:]))
    print()


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 64
    spec_dir, tool = argv[1], argv[2]
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="mustache-spec.") as tmp:
        for module in MODULES:
            with open(os.path.join(spec_dir, module + ".json"),
                      encoding="utf-8") as f:
                spec = json.load(f)
            for test in spec["tests"]:
                rc, out, err = run_test(tool, tmp, test)
                if rc == 0 and out == test["expected"]:
                    passed += 1
                else:
                    failed += 1
                    show_failure(module, test, rc, out, err)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
