#!/usr/bin/env bash
# Builds the Debian packages libpixel1, libpixel-dev and pixel-tools into build/packages/
# (a Release build under /usr with Debian's hardening flags, then CPack), and checks each
# with lintian: any error fails, warnings are printed.
#   scripts/package.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$(realpath -m "${1:-${root}/build/packages}")  # absolute: cpack runs in the build dir
build=${PIXEL_PACKAGE_BUILD_DIR:-${root}/build/package}

for tool in cpack dpkg-shlibdeps dpkg-buildflags lintian help2man; do
  command -v "${tool}" >/dev/null || {
    echo "package.sh: ${tool} is missing: run scripts/install-deps.sh" >&2
    exit 1
  }
done

# Debian's own compiler and linker flags (fortify, stack protector, relro, now), without
# -g: no separate debug-symbol package is made, and libpixelcpp.a ships without them.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
flags() { dpkg-buildflags --get "$1" | sed 's/\(^\| \)-g\( \|$\)/ /'; }
CFLAGS="$(flags CFLAGS) $(flags CPPFLAGS)"
CXXFLAGS="$(flags CXXFLAGS) $(flags CPPFLAGS)"
LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"

cmake -S . -B "${build}" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_C_FLAGS="${CFLAGS}" -DCMAKE_CXX_FLAGS="${CXXFLAGS}" \
  -DCMAKE_EXE_LINKER_FLAGS="${LDFLAGS}" -DCMAKE_SHARED_LINKER_FLAGS="${LDFLAGS}" \
  -DPIXEL_INSTALL=ON -DPIXEL_INSTALL_MAN=ON \
  -DPIXEL_BUILD_TESTS=OFF -DPIXEL_BUILD_EXAMPLES=OFF -DPIXEL_BUILD_BENCH=OFF \
  -DPIXEL_BUILD_TOOLS=ON >/dev/null
cmake --build "${build}" -j "$(nproc)"

rm -rf "${out}"
mkdir -p "${out}"
(cd "${build}" && cpack -G DEB -B "${out}/cpack" >/dev/null)
mv "${out}"/cpack/*.deb "${out}/"
rm -rf "${out}/cpack"

# Every file the install rules write is in one of the packages: an install() without a
# COMPONENT (or with another one) would be left out of them silently.
staged=$(mktemp -d)
trap 'rm -rf "${staged}"' EXIT
DESTDIR="${staged}" cmake --install "${build}" >/dev/null
unpackaged=$(comm -23 <(cd "${staged}" && find . -not -type d | sort) \
  <(for deb in "${out}"/*.deb; do dpkg-deb -c "${deb}"; done |
    awk '$1 !~ /^d/ {print $6}' | sort -u))
if [[ -n ${unpackaged} ]]; then
  echo "package.sh: installed but in no package:" >&2
  echo "${unpackaged}" >&2
  exit 1
fi

status=0
for deb in "${out}"/*.deb; do
  echo "==> $(basename "${deb}")"
  dpkg-deb --info "${deb}" | sed -n '/Package:/,$p'
  # Tags of severity error fail; warnings are listed (docs/packaging.md says why each stays).
  if ! lintian --fail-on error --tag-display-limit 0 "${deb}"; then
    status=1
  fi
done
ls -1 "${out}"/*.deb
exit "${status}"
