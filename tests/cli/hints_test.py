"""Every option a message of the pixel tool names is an option of the subcommand that shows
the message: each string literal of the sources a subcommand's messages come from is
searched for --option, and the option must be listed by `pixel SUB --help`.

  hints_test.py --pixel PIXEL --source SOURCE_DIR
"""
import argparse
import pathlib
import re
import subprocess
import sys

# Where each subcommand's messages come from (its own file, the shared code it calls, and
# the library code whose messages it prints). Each tool source must be listed here.
SOURCES = {
    "": ["tools/pixel/main.cpp"],
    "url": ["tools/pixel/cmd_url.cpp", "tools/pixel/outputs.cpp", "tools/pixel/keys.cpp"],
    "img": ["tools/pixel/cmd_url.cpp", "tools/pixel/outputs.cpp", "tools/pixel/keys.cpp"],
    "send": ["tools/pixel/cmd_send.cpp", "tools/pixel/outputs.cpp"],
    "edge": ["tools/pixel/cmd_edge.cpp", "tools/pixel/edge/edge_server.cpp",
             "tools/pixel/edge/firehose_writer.cpp", "tools/pixel/keys.cpp",
             "src/log/fields.cpp"],
    "logs": ["tools/pixel/cmd_logs.cpp", "tools/pixel/fields_hint.cpp", "tools/pixel/keys.cpp",
             "src/log/*.cpp"],
    "reconcile": ["tools/pixel/cmd_reconcile.cpp", "tools/pixel/fields_hint.cpp",
                  "src/log/*.cpp"],
    "opens": ["tools/pixel/cmd_opens.cpp", "tools/pixel/opens_html.cpp", "src/log/*.cpp"],
}
# The literals of the url and img commands live in one file: url's and img's options.
SHARED = {"url": "img", "img": "url"}

LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# Options of other programs, named as such in a message.
OTHER_PROGRAM = re.compile(r"\b(cdk|aws|curl|gzip)\b[^\"]*$")


def options_of(pixel, sub):
    args = [pixel] + ([sub] if sub else []) + ["--help"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return set(OPTION.findall(out))


def named_options(path):
    """(option, literal) for each --option inside a string literal of the file."""
    text = path.read_text(encoding="utf-8")
    for m in LITERAL.finditer(text):
        literal = m.group(1)
        for o in OPTION.finditer(literal):
            if OTHER_PROGRAM.search(literal[: o.start()]):
                continue
            yield o.group(0), literal


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pixel", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    root = pathlib.Path(a.source)

    listed = {p for globs in SOURCES.values() for g in globs for p in root.glob(g)}
    unlisted = [p for p in sorted((root / "tools/pixel").rglob("*.cpp")) if p not in listed]
    problems = [f"{p.relative_to(root)}: in no subcommand's sources (add it to SOURCES)"
                for p in unlisted]

    checked = 0
    for sub, globs in SOURCES.items():
        have = options_of(a.pixel, sub)
        if sub in SHARED:
            have |= options_of(a.pixel, SHARED[sub])
        for g in globs:
            for path in sorted(root.glob(g)):
                for option, literal in named_options(path):
                    checked += 1
                    if option not in have:
                        problems.append(f"{path.relative_to(root)}: '{option}' is no option of "
                                        f"pixel {sub or '(top level)'}: \"{literal}\"")
    if checked < 100:
        problems.append(f"only {checked} option names found: is the source folder right?")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print(f"{checked} option names in messages, each an option of its subcommand")
    return 0


if __name__ == "__main__":
    sys.exit(main())
