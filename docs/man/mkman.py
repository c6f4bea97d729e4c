#!/usr/bin/env python3
"""Make one man page with scdoc, at build time (docs/man/meson.build).

usage: mkman.py SCDOC OUT command DEPLOY [COMMAND]
       mkman.py SCDOC OUT markdown PAGE.md NAME SECTION VERSION SUMMARY SEE_ALSO

"command": the scdoc source comes from `DEPLOY __man [COMMAND]` (the
command table, cli/cmd-man.c); "markdown": from a page of docs/
(md2scd.py). OUT is written through a temporary file, renamed when scdoc
succeeded.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import md2scd  # noqa: E402


def main():
    scdoc, out, kind, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    if kind == "command":
        source = subprocess.run([args[0], "__man"] + args[1:2], check=True,
                                stdout=subprocess.PIPE).stdout
    elif kind == "markdown":
        source = md2scd.page(*args[:6]).encode("utf-8")
    else:
        sys.exit("mkman.py: unknown kind '%s'" % kind)
    roff = subprocess.run([scdoc], input=source, check=True,
                          stdout=subprocess.PIPE).stdout
    if not roff:
        sys.exit("mkman.py: scdoc wrote nothing for %s" % out)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(roff)
    os.replace(tmp, out)


main()
