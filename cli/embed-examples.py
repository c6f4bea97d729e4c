#!/usr/bin/env python3
"""Embed the example topologies in C for `deploy init`, at build time.

usage: embed-examples.py OUT.c NAME=FILE...
"""
import os
import sys


def c_string(text):
    out = []
    for line in text.splitlines(keepends=True):
        s = line.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
        out.append('\t\t"%s"\n' % s.replace("\n", "\\n"))
    return "".join(out)


dst, pairs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
out = ["/* Generated from examples/ by embed-examples.py: do not edit. */\n",
       '#include <stddef.h>\n\n#include "cli/examples.h"\n\n',
       "const char *const example_names[] = {\n"]
out += ['\t"%s",\n' % name for name, _ in pairs]
out.append("\tNULL,\n};\n\nconst struct example examples[] = {\n")
for name, path in pairs:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out.append('\t{ "%s", "examples/%s",\n%s\t},\n'
               % (name, os.path.basename(path), c_string(text)))
out.append("\t{ NULL, NULL, NULL },\n};\n")
with open(dst, "w", encoding="utf-8") as f:
    f.writelines(out)
