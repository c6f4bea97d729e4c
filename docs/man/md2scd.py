#!/usr/bin/env python3
"""Turn a page of docs/ (Markdown) into scdoc(5) source for a man page.

usage: md2scd.py PAGE.md NAME SECTION VERSION SUMMARY SEE_ALSO (mkman.py
imports it)

Handles what docs/ uses: headings, paragraphs, lists (nested by two
spaces), fenced code, tables (each row becomes a term and its cells),
`code`, **bold** and links (their text). The "Contents" section is left
out: the man page has its own headings.
"""
import re
import sys

# Punctuation groff's ASCII device has no glyph for (man in the C locale
# would warn and drop it), as the ASCII it stands for.
ASCII = {"\u2026": "...", "\u2014": "--", "\u2013": "-", "\u2018": "'",
         "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2192": "->",
         "\u2190": "<-", "\u00d7": "x", "\u2264": "<=", "\u2265": ">=",
         "\u2260": "!=", "\u2022": "-", "\u00a0": " "}

TOKEN = re.compile(r"`([^`]*)`|\*\*(.+?)\*\*|\[([^\]]+)\]\(([^)]+)\)")


def esc(s):
    s = s.replace("\\|", "|")
    return re.sub(r"([\\*_])", r"\\\1", s)


def inline(s):
    out, pos = [], 0
    for m in TOKEN.finditer(s):
        out.append(esc(s[pos:m.start()]))
        code, bold, text, url = m.groups()
        if code is not None:
            out.append("*%s*" % esc(code) if code.strip() else esc(code))
        elif bold is not None:
            out.append("*%s*" % esc(bold.replace("`", "")))
        else:
            label = inline(text)
            if url.startswith("http"):
                label += " (%s)" % esc(url)
            out.append(label)
        pos = m.end()
    out.append(esc(s[pos:]))
    return "".join(out)


def cells(row):
    parts = re.split(r"(?<!\\)\|", row.strip())
    return [c.strip() for c in parts[1:-1]]


def convert(lines):
    out = []
    i, skipping, depth = 0, False, -1
    pending = None  # [prefix, text]: a paragraph line or a list item,
    #                 joined with its continuation lines (a `code` span
    #                 may go over a line break)

    def flush():
        nonlocal pending
        if pending:
            out.append(pending[0] + inline(pending[1]))
        pending = None

    while i < len(lines):
        line = lines[i].rstrip("\n")
        i += 1
        if line.lstrip().startswith("```"):
            flush()
            indent = len(line) - len(line.lstrip())
            if not skipping:
                out.append("```")
            while i < len(lines) and not lines[i].lstrip().startswith("```"):
                code = lines[i].rstrip("\n").replace("\t", "    ")
                if not skipping:
                    out.append(code[indent:] if not code[:indent].strip()
                               else code)
                i += 1
            i += 1
            if not skipping:
                out.append("```")
            depth = -1
            continue
        heading = re.match(r"^(#{1,4}) (.*)", line)
        if heading:
            flush()
            level, text = len(heading.group(1)), heading.group(2)
            if level <= 2:
                skipping = text == "Contents"
            if skipping or level == 1:
                continue
            if level == 2:
                out.append("# " + inline(text).upper())
            else:
                out.append("## " + inline(text))
            depth = -1
            continue
        if skipping:
            continue
        if line.startswith("|"):
            flush()
            rows = [line]
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i].rstrip("\n"))
                i += 1
            head = cells(rows[0])
            for row in rows[2:]:
                c = cells(row)
                out.append(inline(c[0]) if c[0] else "-")
                rest = ["%s: %s" % (inline(h), inline(v))
                        for h, v in zip(head[1:], c[1:]) if v]
                out.append("\t" + "; ".join(rest))
                out.append("")
            depth = -1
            continue
        item = re.match(r"^( *)([-*]|\d+\.) (.*)", line)
        if item:
            flush()
            depth = len(item.group(1)) // 2
            mark = "-" if item.group(2) in "-*" else "."
            pending = ["\t" * depth + mark + " ", item.group(3)]
            continue
        if not line.strip():
            flush()
            out.append("")
            depth = -1
            continue
        if pending:
            pending[1] += " " + line.strip()
            continue
        pending = ["", line.strip()]
    flush()
    return out


def page(path, name, section, version, summary, also):
    """The scdoc source of the man page NAME(SECTION) made from PATH."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for u, a in ASCII.items():
        text = text.replace(u, a)
    body = convert(text.splitlines(keepends=True))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(body).strip("\n"))
    return ('%s(%s) "deploy %s"\n\n# NAME\n\n%s - %s\n\n# DESCRIPTION\n\n'
            "%s\n\n# SEE ALSO\n\n%s\n"
            % (name, section, version, name, esc(summary), text, also))


if __name__ == "__main__":
    sys.stdout.write(page(*sys.argv[1:7]))
