#!/usr/bin/env bash
# The Python binding installed the documented way into a fresh venv outside the
# repository (`pip install <repo>/bindings/python`, no index), with no libpixel anywhere
# else: it builds a URL and delivers events to a live `pixel edge`.
#   python.sh REPO PIXEL_CLI
REPO=$1 PIXEL_CLI=$2
source "$(dirname "$0")/common.sh"

python3 -m venv venv
venv/bin/pip install --no-index --disable-pip-version-check --quiet "${REPO}/bindings/python"
cat > app.py <<'PY'
import os, sys, urllib.parse
import pixel
here = os.path.realpath(os.path.dirname(pixel.__file__))
lib = os.path.realpath(pixel._native.lib._name)
assert lib == os.path.join(here, "libpixel.so.1"), (lib, here)
assert here.startswith(os.path.realpath(sys.prefix) + os.sep), (here, sys.prefix)
url = pixel.build_url("https://d111111abcdef8.cloudfront.net", {"k": "[v]"},
                      event_id=False, timestamp=False)
assert url == "https://d111111abcdef8.cloudfront.net/1x1.png?k=%5Bv%5D", url
results = []
with pixel.Tracker(sys.argv[1], on_result=results.append) as t:
    for i in range(25):
        t.track({"from": "python-install", "i": str(i)})
    t.flush(timeout=30.0)
delivered = [r for r in results if r.outcome == "delivered"]
assert len(delivered) == 25, results
print("python: version", pixel.version(), "library", lib, "delivered", len(delivered))
PY
with_edge 'from=python-install' 25 venv/bin/python app.py @ENDPOINT@

# The wheel is tagged for its platform, not as pure Python.
venv/bin/pip wheel --no-index --no-deps --disable-pip-version-check --quiet -w wheels \
  "${REPO}/bindings/python"
wheel=$(ls wheels)
platform=$(venv/bin/python -c 'import sysconfig; print(sysconfig.get_platform().replace("-", "_").replace(".", "_"))')
echo "python: wheel ${wheel}"
[[ ${wheel} == pixel-*-py3-none-${platform}.whl ]]
