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
dev_depends=$(dpkg-deb -f "${packages}"/libpixel-dev_*.deb Depends)
[[ ${dev_depends} == *"libpixel${abi} (= "* ]] || fail "libpixel-dev Depends: ${dev_depends}"

# libpixel1 leaves ldconfig to its trigger: no maintainer scripts at all (lintian's
# maintainer-script-empty), and none that would keep it in dpkg's "rc" state once removed.
for pkg in libpixel${abi} libpixel-dev pixel-tools; do
  scripts=$(dpkg-deb --ctrl-tarfile "${packages}/${pkg}"_*.deb | tar -t |
    grep -E '(^|/)(preinst|postinst|prerm|postrm|config)$' || true)
  [[ -z ${scripts} ]] || fail "${pkg} has maintainer scripts: ${scripts}"
done
dpkg-deb -I "${packages}"/libpixel${abi}_*.deb triggers | grep -x 'activate-noawait ldconfig' >/dev/null ||
  fail "libpixel${abi}: no ldconfig trigger"

# Lintian: nothing but the warnings docs/packaging.md explains.
lintian --fail-on error,warning --suppress-tags initial-upload-closes-no-bugs \
  "${packages}"/*.deb || fail "lintian reports the packages above"

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
zcat "${root}/usr/share/man/man1/pixel.1.gz" | grep '^\.SS "pixel url"' >/dev/null ||
  fail "the man page lacks the subcommands"
for section in '^\.SH EXAMPLES$' '^\.SH "EXIT STATUS"$'; do
  zcat "${root}/usr/share/man/man1/pixel.1.gz" | grep "${section}" >/dev/null ||
    fail "the man page lacks ${section}"
done
"${root}/usr/bin/pixel" url --endpoint https://d111111abcdef8.cloudfront.net --no-event-id \
  --no-timestamp -- '[a=b]' | grep -x 'https://d111111abcdef8.cloudfront.net/1x1.png?%5Ba=b%5D' >/dev/null ||
  fail "the packaged pixel url"

expected_c="$(sed -n 's/^  VERSION \(.*\)$/\1/p' "${here}/../../CMakeLists.txt" | head -n 1) https://d111111abcdef8.cloudfront.net/1x1.png?userid=aws_user"
check_c() {
  local out
  out=$("$1")
  [[ ${out} == "${expected_c}" ]] || fail "$1 printed '${out}', not '${expected_c}'"
  # grep reads all of it: with -q it could close the pipe on ldd, failing it (pipefail).
  ldd "$1" | grep -F "${libdir}/libpixel.so.${abi}" >/dev/null || fail "$1 does not load ${libdir}/libpixel.so.${abi}"
}
check_cpp() {
  local out
  out=$("$1")
  [[ ${out} == '<img src="https://d111111abcdef8.cloudfront.net/1x1.png?userid=aws_user&amp;eid='* ]] ||
    fail "$1 printed '${out}'"
}

# libpixel-dev depends on the -dev package of everything its pkg-config files require (the
# package that ships each required .pc here) and its CMake package finds (find_dependency).
echo "==> libpixel-dev Depends: ${dev_depends}"
need_dev() {  # a Debian package name: must be among libpixel-dev's dependencies
  [[ ",${dev_depends// /}," == *",$1,"* || ",${dev_depends// /}," == *",$1|"* ]] ||
    fail "libpixel-dev does not depend on $1 ($2)"
}
for pc in "${libdir}"/pkgconfig/*.pc; do
  for module in $(sed -n 's/^Requires\(\.private\)\?: *//p' "${pc}" | tr ',' ' '); do
    file=$(pkg-config --variable=pcfiledir "${module}")/${module}.pc
    owner=$(dpkg -S "${file}" | cut -d: -f1) || fail "no package ships ${file}"
    need_dev "${owner}" "$(basename "${pc}") requires ${module}"
  done
done
for dep in $(sed -n 's/^find_dependency(\([A-Za-z0-9_]*\).*/\1/p' "${libdir}/cmake/pixel/pixelConfig.cmake"); do
  case ${dep} in
    Threads) ;;  # libc
    CURL) need_dev libcurl4-openssl-dev "find_dependency(CURL)" ;;
    SQLite3) need_dev libsqlite3-dev "find_dependency(SQLite3)" ;;
    ZLIB) need_dev zlib1g-dev "find_dependency(ZLIB)" ;;
    OpenSSL) need_dev libssl-dev "find_dependency(OpenSSL)" ;;
    *) fail "pixelConfig.cmake finds ${dep}: name its -dev package here and in libpixel-dev" ;;
  esac
done

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
# pixel::headers, and pixel::pixel_headers (its name in 0.1.0), link the header-only part.
for exe in pixel_consumer_headers pixel_consumer_headers_old_name; do
  out=$("${root}/build/${exe}")
  [[ ${out} == '<img src="https://d111111abcdef8.cloudfront.net/1x1.png?userid=aws_user" '* ]] ||
    fail "${exe} printed '${out}'"
done
grep -q "pixel_DIR:PATH=${root}/usr/lib/" "${root}/build/CMakeCache.txt" ||
  fail "find_package found pixel outside the unpacked root"
# Installed with dpkg (into a root of its own, with a database of its own: the machine's
# is not touched) and removed again: nothing is left, no package in the "rc" state.
echo "==> dpkg -i, dpkg -r"
dpkgroot=${root}/dpkg-root
mkdir -p "${dpkgroot}/var/lib/dpkg/info" "${dpkgroot}/var/lib/dpkg/updates"
touch "${dpkgroot}/var/lib/dpkg/status"
dpkg_here() {  # the dependencies are not in this database: --force-depends, quietly
  dpkg --root="${dpkgroot}" --force-not-root --force-depends --log=/dev/null "$@" \
    >"${root}/dpkg.log" 2>&1 || { cat "${root}/dpkg.log" >&2; fail "dpkg $*"; }
}
dpkg_here -i "${packages}"/*.deb
state=$(dpkg-query --root="${dpkgroot}" -W -f '${db:Status-Abbrev} ${Package}\n')
[[ $(grep -c '^ii ' <<<"${state}") == 3 ]] || fail "after dpkg -i: ${state}"
dpkg_here -r pixel-tools libpixel-dev
dpkg_here -r libpixel${abi}
state=$(dpkg-query --root="${dpkgroot}" -W -f '${db:Status-Abbrev} ${Package}\n' 2>/dev/null || true)
[[ -z $(grep -v '^un ' <<<"${state}" | grep -v '^$' || true) ]] || fail "after dpkg -r: ${state}"
left=$(find "${dpkgroot}" -mindepth 1 -path "${dpkgroot}/var/lib/dpkg" -prune -o -type f -print)
[[ -z ${left} ]] || fail "dpkg -r left files behind: ${left}"

echo "deb_test: the three packages install, link and run from ${root}"
