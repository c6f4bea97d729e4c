#!/usr/bin/env python3
"""Embed core/playbook/runtime.sh in C as `playbook_runtime`, at build time."""
import sys

src, dst = sys.argv[1], sys.argv[2]
with open(src, encoding="utf-8") as f:
    lines = f.read().splitlines(keepends=True)
out = ["/* Generated from runtime.sh by embed.py: do not edit. */\n",
       "const char playbook_runtime[] =\n"]
for line in lines:
    s = line.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    s = s.replace("\n", "\\n")
    out.append('\t"%s"\n' % s)
out.append("\t;\n")
with open(dst, "w", encoding="utf-8") as f:
    f.writelines(out)
