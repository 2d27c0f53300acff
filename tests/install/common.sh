# Shared by the install tests: a clean environment and a project folder outside the
# repository. Sourced with REPO (the source tree) and PIXEL_CLI (the pixel tool) set.
set -euo pipefail
: "${REPO:?}" "${PIXEL_CLI:?}"
# Nothing may point at a built libpixel: the binding must bring its own.
unset PIXEL_LIBRARY PIXEL_LIB_DIR PIXEL_PREBUILT_LIBRARY LD_LIBRARY_PATH PKG_CONFIG_PATH \
  PYTHONPATH NODE_PATH CARGO_TARGET_DIR
if ldconfig -p | grep -q 'libpixel\.so'; then
  echo "install test: libpixel is on the system loader's path; this test needs a machine" \
    "without it" >&2
  ldconfig -p | grep 'libpixel\.so' >&2
  exit 1
fi
if pkg-config --exists pixel 2>/dev/null; then
  echo "install test: pkg-config finds pixel.pc; this test needs a machine without it" >&2
  exit 1
fi
project=$(mktemp -d "${TMPDIR:-/tmp}/pixel-install-XXXXXX")
trap 'rm -rf "${project}"' EXIT
cd "${project}"
with_edge() { "${REPO}/tests/support/with_edge.sh" "${PIXEL_CLI}" "$@"; }
