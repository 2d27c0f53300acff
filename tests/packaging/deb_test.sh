#!/usr/bin/env bash
# The Debian packages as a user gets them, without installing anything into this machine:
# each .deb unpacked with `dpkg-deb -x` into a temporary root, then a C and a C++ consumer
# built against that root with pkg-config and with find_package(pixel), and run.
#   deb_test.sh PACKAGES_DIR   (what scripts/package.sh wrote)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The ABI number (libpixel.so.N, package libpixelN): PIXEL_SOVERSION in CMakeLists.txt.
abi=$(sed -n 's/^set(PIXEL_SOVERSION \([0-9]*\))$/\1/p' "${here}/../../CMakeLists.txt")
[[ -n ${abi} ]] || { echo "deb_test: no PIXEL_SOVERSION in CMakeLists.txt" >&2; exit 1; }
packages=$(cd "${1:?packages folder}" && pwd)
root=$(mktemp -d "${TMPDIR:-/tmp}/pixel-deb-XXXXXX")
trap 'rm -rf "${root}"' EXIT

fail() { echo "deb_test: $*" >&2; exit 1; }

for pkg in libpixel${abi} libpixel-dev pixel-tools; do
  deb=$(ls "${packages}/${pkg}"_*.deb 2>/dev/null) || fail "no ${pkg} package in ${packages}"
  echo "==> ${pkg}: $(basename "${deb}")"
  dpkg-deb -f "${deb}" Package Version Architecture Depends Section
  dpkg-deb -x "${deb}" "${root}"
  test -f "${root}/usr/share/doc/${pkg}/copyright" || fail "${pkg}: no copyright"
  test -f "${root}/usr/share/doc/${pkg}/changelog.Debian.gz" || fail "${pkg}: no changelog"
done

# Dependencies computed by dpkg-shlibdeps: the library needs libcurl and libc.
depends=$(dpkg-deb -f "${packages}"/libpixel${abi}_*.deb Depends)
[[ ${depends} == *libc6* && ${depends} == *libcurl4* ]] || fail "libpixel${abi} Depends: ${depends}"
depends=$(dpkg-deb -f "${packages}"/pixel-tools_*.deb Depends)
[[ ${depends} == *libc6* && ${depends} == *libcurl4* ]] || fail "pixel-tools Depends: ${depends}"
depends=$(dpkg-deb -f "${packages}"/libpixel-dev_*.deb Depends)
[[ ${depends} == *"libpixel${abi} (= "* ]] || fail "libpixel-dev Depends: ${depends}"

# Where the multiarch library folder is, and what the packages hold.
libdir=$(dirname "$(find "${root}/usr/lib" -name "libpixel.so.${abi}" | head -n 1)")
[[ -d ${libdir} ]] || fail "libpixel.so.${abi} not in libpixel${abi}"
soname=$(objdump -p "${libdir}/libpixel.so.${abi}" | awk '$1 == "SONAME" {print $2}')
[[ ${soname} == libpixel.so.${abi} ]] || fail "SONAME ${soname}"
test -L "${libdir}/libpixel.so" || fail "no libpixel.so link in libpixel-dev"
test -f "${libdir}/libpixelcpp.a" || fail "no libpixelcpp.a in libpixel-dev"
test -f "${root}/usr/include/pixel/version.hpp" || fail "no version.hpp in libpixel-dev"
test -f "${root}/usr/include/pixel/version.h" || fail "no version.h in libpixel-dev"
test -x "${root}/usr/bin/pixel" || fail "no pixel in pixel-tools"
test -f "${root}/usr/share/man/man1/pixel.1.gz" || fail "no man page in pixel-tools"
zcat "${root}/usr/share/man/man1/pixel.1.gz" | grep -q '^\.SS "pixel url"' ||
  fail "the man page lacks the subcommands"
"${root}/usr/bin/pixel" url --endpoint https://d111111abcdef8.cloudfront.net --no-event-id \
  --no-timestamp -- '[a=b]' | grep -qx 'https://d111111abcdef8.cloudfront.net/1x1.png?%5Ba=b%5D' ||
  fail "the packaged pixel url"

expected_c="$(sed -n 's/^  VERSION \(.*\)$/\1/p' "${here}/../../CMakeLists.txt" | head -n 1) https://d111111abcdef8.cloudfront.net/1x1.png?userid=aws_user"
check_c() {
  local out
  out=$("$1")
  [[ ${out} == "${expected_c}" ]] || fail "$1 printed '${out}', not '${expected_c}'"
  ldd "$1" | grep -q "${libdir}/libpixel.so.${abi}" || fail "$1 does not load ${libdir}/libpixel.so.${abi}"
}
check_cpp() {
  local out
  out=$("$1")
  [[ ${out} == '<img src="https://d111111abcdef8.cloudfront.net/1x1.png?userid=aws_user&amp;eid='* ]] ||
    fail "$1 printed '${out}'"
}

echo "==> pkg-config"
export PKG_CONFIG_PATH=${libdir}/pkgconfig
[[ $(pkg-config --variable=prefix pixel) -ef ${root}/usr ]] || fail "pixel.pc prefix"
cc -std=c99 -Wall -Werror "${here}/consumer/main.c" -o "${root}/c_pkgconfig" \
  $(pkg-config --cflags --libs pixel) -Wl,-rpath,"${libdir}"
check_c "${root}/c_pkgconfig"
c++ -std=c++17 -Wall -Werror "${here}/consumer/main.cpp" -o "${root}/cpp_pkgconfig" \
  $(pkg-config --cflags --libs pixel-cpp)
check_cpp "${root}/cpp_pkgconfig"
unset PKG_CONFIG_PATH

echo "==> find_package"
cmake -S "${here}/consumer" -B "${root}/build" -DCMAKE_PREFIX_PATH="${root}/usr" \
  -DPIXEL_CONSUMER_C=ON >/dev/null
cmake --build "${root}/build" >/dev/null
check_cpp "${root}/build/pixel_consumer"
check_c "${root}/build/pixel_consumer_c"
grep -q "pixel_DIR:PATH=${root}/usr/lib/" "${root}/build/CMakeCache.txt" ||
  fail "find_package found pixel outside the unpacked root"
echo "deb_test: the three packages install, link and run from ${root}"
