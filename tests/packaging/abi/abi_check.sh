#!/usr/bin/env bash
# The C ABI check: libpixel.so (built with debug information) against the ABI stored in the
# repository (libpixel.abi, from the last release), with libabigail's abidw and abidiff.
#   abi_check.sh LIBRARY                    compare; exit 1 on an incompatible change
#   abi_check.sh LIBRARY --update           store LIBRARY's ABI as the reference (at a release)
#   abi_check.sh --compare OLD.abi NEW.abi  the same judgement on two stored dumps
# Compatible: new functions, new enumerators, fields appended to the size-prefixed structs
# (abi.supp). Anything else (a function removed or its signature changed, a field moved or
# a struct shrunk) is incompatible and fails, unless the SONAME changed with it (raise
# PIXEL_SOVERSION in CMakeLists.txt, say so in CHANGELOG.md, then --update).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
supp=${here}/abi.supp
stored=${here}/libpixel.abi

for tool in abidw abidiff; do
  command -v "${tool}" >/dev/null || {
    echo "abi_check: ${tool} is missing: run scripts/install-deps.sh (abigail-tools)" >&2
    exit 2
  }
done

dump() {  # LIBRARY OUT
  abidw --suppressions "${supp}" --exported-interfaces-only --no-corpus-path \
    --no-comp-dir-path --short-locs --type-id-style hash --out-file "$2" "$1"
  grep -q "<class-decl name='pixel_stats' size-in-bits=" "$2" || {
    echo "abi_check: no type information for pixel_stats in $1 (built without -g?)" >&2
    exit 2
  }
}

soname() { sed -n "s/^<abi-corpus [^>]*soname='\([^']*\)'.*/\1/p" "$1" | head -n 1; }

judge() {  # OLD NEW
  local old=$1 new=$2 report rc=0
  report=$(abidiff --suppressions "${supp}" --no-show-locs "${old}" "${new}") || rc=$?
  if ((rc & 1 || rc & 2)); then
    echo "${report}"
    echo "abi_check: abidiff failed (${rc})" >&2
    return 2
  fi
  # Removed or changed functions and variables are breaks; added ones are not.
  local breaks=0
  if ((rc & 8)); then breaks=1; fi
  if grep -Eq '([1-9][0-9]* Removed|[1-9][0-9]* Changed)' <<<"${report}"; then breaks=1; fi
  local from to
  from=$(soname "${old}")
  to=$(soname "${new}")
  [[ -n ${report} ]] && echo "${report}"
  if ((breaks)); then
    if [[ ${from} != "${to}" ]]; then
      echo "abi_check: incompatible changes with a new SONAME (${from} -> ${to}): allowed;" \
        "store the new ABI with --update"
      return 0
    fi
    echo "abi_check: incompatible ABI change at the same SONAME ${to}: raise PIXEL_SOVERSION" \
      "(CMakeLists.txt) and say so in CHANGELOG.md, or keep the old ABI" >&2
    return 1
  fi
  echo "abi_check: ${to}: compatible with ${from} (${old##*/})"
}

if [[ ${1:-} == --compare ]]; then
  judge "$2" "$3"
  exit $?
fi
library=${1:?usage: abi_check.sh LIBRARY [--update]}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pixel-abi-XXXXXX")
trap 'rm -rf "${tmp}"' EXIT
dump "${library}" "${tmp}/new.abi"
if [[ ${2:-} == --update ]]; then
  cp "${tmp}/new.abi" "${stored}"
  echo "abi_check: stored the ABI of ${library} ($(soname "${stored}")) in ${stored}"
  exit 0
fi
judge "${stored}" "${tmp}/new.abi"
