#!/usr/bin/env python3
"""Compiles every C and C++ snippet of README.md and docs/*.md with the project's warnings
and -Werror, so the documentation cannot drift from the headers.

A ```cpp (or ```c++) block is compiled as C++17, a ```c block as C99, against the in-tree
headers (-fsyntax-only: nothing is linked or run). A block with its own `main` is compiled
as it is. Any other block is a fragment: its #include lines go first, after the usual
standard headers, and the rest becomes the body of `int snippet(void)`.

An HTML comment right before the block (blank lines between are allowed) says more:

  <!-- snippet: given
  std::string template_html;                  names the fragment takes from its
  auto warn = [](const char*) {};             surroundings, declared before it in the same
  -->                                         body (#include lines go to the top)

  <!-- snippet: skip (why it cannot compile here) -->

A skip without a reason in parentheses is an error. Errors point at the Markdown file and
line (#line directives).
"""

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
from pathlib import Path

FENCE = re.compile(r"^```(cpp|c\+\+|c)\s*$")
PRELUDE = {
    "cpp": ["cstdint", "cstdio", "cstdlib", "chrono", "string", "string_view", "utility",
            "vector"],
    "c": ["stdbool.h", "stdint.h", "stdio.h", "stdlib.h", "string.h"],
}


class Snippet:
    def __init__(self, doc, line, lang, code, given, given_line, skip):
        self.doc, self.line, self.lang, self.code = doc, line, lang, code
        self.given, self.given_line, self.skip = given, given_line, skip

    @property
    def name(self):
        return f"{self.doc}:{self.line}"


def directive(lines, fence_index, doc):
    """The `<!-- snippet: ... -->` comment before the fence at fence_index, if any:
    (kind, text lines, 1-based line of the first text line)."""
    i = fence_index - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    if i < 0 or not lines[i].rstrip().endswith("-->"):
        return None
    end = i
    while i >= 0 and "<!--" not in lines[i]:
        i -= 1
    if i < 0:
        return None
    first = lines[i].split("<!--", 1)[1].strip()
    if not first.startswith("snippet:"):
        return None
    body = lines[i:end + 1]
    body[0] = first
    body[-1] = body[-1].rsplit("-->", 1)[0]
    head = body[0][len("snippet:"):].strip()
    rest = body[1:]
    if i == end:  # one line: <!-- snippet: skip (reason) -->
        head = head.rsplit("-->", 1)[0].strip() if "-->" in head else head
    m = re.match(r"^(skip|given)\b\s*(.*)$", head)
    if not m:
        raise SystemExit(f"{doc}:{i + 1}: unknown snippet directive {head!r} "
                         "(skip (reason) or given)")
    kind, arg = m.groups()
    if kind == "skip":
        reason = re.match(r"^\((.+)\)$", arg.strip())
        if not reason:
            raise SystemExit(f"{doc}:{i + 1}: `snippet: skip` needs a reason in parentheses")
        return ("skip", [reason.group(1)], i + 1)
    return ("given", ([arg] if arg else []) + rest, i + 1 + (0 if arg else 1))


def extract(source, docs):
    snippets = []
    for doc in docs:
        lines = (source / doc).read_text(encoding="utf-8").split("\n")
        i = 0
        while i < len(lines):
            m = FENCE.match(lines[i])
            if not m:
                # A fence of another language: skip its body, which may hold ``` lines.
                if lines[i].startswith("```"):
                    i += 1
                    while i < len(lines) and not lines[i].startswith("```"):
                        i += 1
                i += 1
                continue
            lang = "c" if m.group(1) == "c" else "cpp"
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            if j == len(lines):
                raise SystemExit(f"{doc}:{i + 1}: unterminated code block")
            d = directive(lines, i, doc)
            snippets.append(Snippet(
                doc, i + 2, lang, lines[i + 1:j],
                given=d[1] if d and d[0] == "given" else [],
                given_line=d[2] if d and d[0] == "given" else 0,
                skip=d[1][0] if d and d[0] == "skip" else None))
            i = j + 1
    return snippets


def translation_unit(s, source):
    doc = str(source / s.doc)
    if any(re.match(r"^\s*int\s+main\s*\(", l) for l in s.code):
        return f'#line {s.line} "{doc}"\n' + "\n".join(s.code) + "\n"
    out = [f"#include <{h}>" for h in PRELUDE[s.lang]]
    includes = [(s.given_line + k, l) for k, l in enumerate(s.given)
                if l.lstrip().startswith("#")]
    includes += [(s.line + k, l) for k, l in enumerate(s.code) if l.lstrip().startswith("#")]
    for n, l in includes:
        out += [f'#line {n} "{doc}"', l]
    out.append("int snippet(void);")
    out.append("int snippet(void) {")
    for start, block in ((s.given_line, s.given), (s.line, s.code)):
        if not block:
            continue
        out.append(f'#line {start} "{doc}"')
        out += ["" if l.lstrip().startswith("#") else l for l in block]
    out.append("return 0;")
    out.append("}")
    return "\n".join(out) + "\n"


def compile_one(args, s, path):
    cc, std = (args.cxx, "-std=c++17") if s.lang == "cpp" else (args.cc, "-std=c99")
    flags = args.flags.split() + (args.cxx_flags.split() if s.lang == "cpp" else [])
    cmd = [cc, std, "-fsyntax-only", "-Werror", *flags,
           *(f"-I{d}" for d in args.include), str(path)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--cxx", required=True)
    ap.add_argument("--cc", required=True)
    ap.add_argument("--include", action="append", default=[])
    ap.add_argument("--flags", default="", help="warnings for C and C++, space-separated")
    ap.add_argument("--cxx-flags", default="", help="warnings for C++ only")
    args = ap.parse_args()

    docs = ["README.md"] + sorted(str(p.relative_to(args.source))
                                  for p in (args.source / "docs").glob("*.md"))
    snippets = extract(args.source, docs)
    if not snippets:
        raise SystemExit("no C or C++ snippets found: is --source the project's root?")
    # The check itself: a fragment that drops a [[nodiscard]] result must fail to compile,
    # else these flags would let the documentation drift unseen.
    canary = Snippet("tests/docs/snippets.py", 1, "cpp",
                     ["#include <pixel/url.hpp>",
                      'pixel::endpoint::parse("https://example.com");'], [], 0, None)
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = []
    for k, s in enumerate([canary] + snippets):
        path = args.out / f"{k:02d}_{re.sub(r'[^A-Za-z0-9]+', '_', s.name)}.{s.lang}"
        if s.skip is None:
            path.write_text(translation_unit(s, args.source), encoding="utf-8")
            jobs.append((s, path))
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda j: compile_one(args, *j), jobs))
    for (s, path), (rc, out) in zip(jobs, results):
        if s is canary:
            if rc == 0:
                print("FAIL the check: a dropped [[nodiscard]] result compiled without error")
                failed += 1
            continue
        print(f"{'ok  ' if rc == 0 else 'FAIL'} {s.name} ({s.lang})")
        if rc != 0:
            failed += 1
            print(f"  compiled as {path}\n" + out)
    for s in snippets:
        if s.skip is not None:
            print(f"skip {s.name}: {s.skip}")
    print(f"{len(jobs) - 1} compiled, {failed} failed, "
          f"{sum(s.skip is not None for s in snippets)} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
