#!/usr/bin/env python3
"""The ABI check's judgement (abi_check.sh --compare), on the stored dump and edited copies
of it: a field appended to pixel_stats passes, a field removed from it or a function
removed fails, and the same break passes with a new SONAME.
SPDX-License-Identifier: MIT
"""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "abi_check.sh")
with open(os.path.join(HERE, "libpixel.abi"), encoding="utf-8") as f:
    STORED = f.read()

STATS = re.compile(r"(<class-decl name='pixel_stats' size-in-bits=')(\d+)('.*?)(    </class-decl>)",
                   re.S)


def appended(text):
    def grow(m):
        size = int(m.group(2))
        member = m.group(0).split("<data-member", 2)[1]  # the first member: `size`, a size_t
        member = ("      <data-member" + member.split("</data-member>")[0] + "</data-member>\n")
        member = member.replace("layout-offset-in-bits='0'",
                                "layout-offset-in-bits='%d'" % size).replace(
                                    "name='size'", "name='appended_later'")
        return m.group(1) + str(size + 64) + m.group(3) + member + m.group(4)
    out, n = STATS.subn(grow, text)
    assert n == 1
    return out


def without_function(text, name):
    out = re.sub(r"    <function-decl name='%s' .*?</function-decl>\n" % name, "", text, flags=re.S)
    out = re.sub(r"    <elf-symbol name='%s' [^>]*/>\n" % name, "", out)
    assert out != text
    return out


def with_soname(text, soname):
    return re.sub(r"soname='[^']*'", "soname='%s'" % soname, text, count=1)


def judge(old, new):
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, text in (("old.abi", old), ("new.abi", new)):
            paths.append(os.path.join(tmp, name))
            with open(paths[-1], "w", encoding="utf-8") as f:
                f.write(text)
        run = subprocess.run([CHECK, "--compare"] + paths, capture_output=True, text=True)
        return run.returncode, run.stdout + run.stderr


def main():
    cases = [
        ("unchanged", STORED, STORED, 0),
        ("a field appended to pixel_stats", STORED, appended(STORED), 0),
        ("the appended field removed again", appended(STORED), STORED, 1),
        ("a function removed", STORED, without_function(STORED, "pixel_version"), 1),
        ("a function removed, with a new SONAME", STORED,
         with_soname(without_function(STORED, "pixel_version"), "libpixel.so.99"), 0),
        ("a function added", without_function(STORED, "pixel_version"), STORED, 0),
    ]
    failures = 0
    for name, old, new, want in cases:
        rc, out = judge(old, new)
        ok = rc == want
        failures += not ok
        print("%s: %s (exit %d, want %d)" % ("ok" if ok else "FAIL", name, rc, want))
        if not ok:
            print(out)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
