#!/usr/bin/env bash
# Checks the sources with the repository's own configurations:
#   format  clang-format (.clang-format) over every tracked C and C++ file: any difference
#           fails, printed as clang-format's diagnostics. Fix with:
#             git ls-files '*.c' '*.h' '*.cpp' '*.hpp' | xargs clang-format -i
#   tidy    clang-tidy (.clang-tidy) over the library's sources (src/), with the compile
#           commands of build/lint (configured here when missing); any diagnostic fails.
#   scripts/lint.sh [format|tidy]...   (no argument: both)
set -euo pipefail
cd "$(dirname "$0")/.."

checks=("$@")
if ((${#checks[@]} == 0)); then checks=(format tidy); fi

need() {
  command -v "$1" >/dev/null || {
    echo "lint.sh: $1 is missing: run scripts/install-deps.sh" >&2
    exit 1
  }
}

run_format() {
  need clang-format
  local files
  mapfile -t files < <(git ls-files '*.c' '*.h' '*.cpp' '*.hpp')
  echo "==> clang-format: ${#files[@]} files"
  clang-format --dry-run --Werror "${files[@]}"
}

run_tidy() {
  need clang-tidy
  local build=${PIXEL_LINT_BUILD_DIR:-build/lint}
  if [[ ! -f ${build}/compile_commands.json ]]; then
    cmake -S . -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPIXEL_BUILD_TESTS=OFF \
      -DPIXEL_BUILD_EXAMPLES=OFF -DPIXEL_BUILD_BENCH=OFF -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
      >/dev/null
  fi
  local files
  mapfile -t files < <(git ls-files 'src/*.cpp')
  echo "==> clang-tidy: ${#files[@]} files"
  local out status=0
  out=$(mktemp)
  # One file at a time on each core; the diagnostics of all are printed, then judged.
  printf '%s\n' "${files[@]}" |
    xargs -P "$(nproc)" -n 1 clang-tidy --quiet -p "${build}" --warnings-as-errors='*' \
      >"${out}" 2>/dev/null || status=$?
  cat "${out}"
  rm -f "${out}"
  return "${status}"
}

for check in "${checks[@]}"; do
  case ${check} in
    format) run_format ;;
    tidy) run_tidy ;;
    *)
      echo "lint.sh: unknown check '${check}' (format, tidy)" >&2
      exit 2
      ;;
  esac
done
