# SPDX-License-Identifier: MIT
"""`mypy --strict` on the package and on the Python examples of docs/bindings.md.

    typecheck.py PACKAGE_DIR DOCS_MD INSTALLED_SITE

PACKAGE_DIR (bindings/python/pixel) is checked as source. Each ```python block of DOCS_MD
is checked as its own module, importing `pixel` from INSTALLED_SITE (a `pip install
--target` folder) the way a user's code would: as an installed package, so its types count
only through the py.typed marker it ships. mypy is Debian's (`apt-get install mypy`,
scripts/install-deps.sh): `python3 -m mypy` with this interpreter, else PIXEL_MYPY (the
`mypy` program CMake found, Debian's runs `python3 -m mypy` with the system's Python). Without mypy this fails; it never skips.
"""

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from typing import List

# Names the examples use without defining them: what the reader's program has.
PRELUDE = '''\
from typing import Optional
import pixel
endpoint: str = "https://d111111abcdef8.cloudfront.net"
key: bytes = bytes(32)
key_bytes: bytes = bytes(32)
request_ua: str = "Mozilla/5.0"
class User:
    id: str
    tracking_consent: Optional[str]
user: User = User()
'''


def mypy_command() -> List[str]:
    if importlib.util.find_spec("mypy") is not None:
        return [sys.executable, "-m", "mypy"]
    program = os.environ.get("PIXEL_MYPY", "")
    if program and os.path.isfile(program):
        return [program]  # Debian's /usr/bin/mypy: `python3 -m mypy` with /usr/bin/python3
    sys.exit("typecheck: mypy is not installed (Debian: apt-get install mypy, as "
             "scripts/install-deps.sh does); the type check cannot run")


def python_blocks(markdown: str) -> List[str]:
    return re.findall(r"^ *```python\n(.*?)^ *```", markdown, re.M | re.S)


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    package, docs, site = (os.path.abspath(a) for a in sys.argv[1:])
    typed = os.path.join(site, "pixel", "py.typed")
    if not os.path.isfile(typed):
        sys.exit(f"typecheck: {typed} is missing: the installed package carries no types")
    with open(docs, encoding="utf-8") as f:
        blocks = python_blocks(f.read())
    if not blocks:
        sys.exit(f"typecheck: no ```python example in {docs}")
    mypy = mypy_command()
    failed = False
    with tempfile.TemporaryDirectory(prefix="pixel-mypy-") as tmp:
        examples = []
        for i, block in enumerate(blocks, 1):
            lines = block.splitlines()
            indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
            path = os.path.join(tmp, f"docs_example_{i}.py")
            with open(path, "w", encoding="utf-8") as f:
                f.write(PRELUDE + "\n".join(line[indent:] for line in lines) + "\n")
            examples.append(path)
        env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
        common = ["--strict", "--no-incremental", "--cache-dir", os.path.join(tmp, "cache")]
        runs = [("the package", [package], env),
                ("the examples of " + os.path.basename(docs), examples,
                 dict(env, PYTHONPATH=site))]
        for what, files, run_env in runs:
            cmd = mypy + common + files
            print("$", " ".join(cmd), flush=True)
            done = subprocess.run(cmd, env=run_env, cwd=tmp)
            if done.returncode != 0:
                print(f"typecheck: mypy --strict failed on {what}", flush=True)
                failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
