#!/usr/bin/env bash
# Runs every test: installs what is missing, checks the formatting, then builds and tests
# the dev preset (with the bindings, the CLI, the browser and packaging tests), the
# ASan+UBSan and TSan presets, a bounded run of each fuzz target, and the Debian packages
# (built, lintian-checked, unpacked and used by C and C++ consumers).
#   scripts/test.sh [dev|quick|asan|tsan|fuzz|package]...   (no argument: all but quick)
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
./scripts/lint.sh format

jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1

run_preset() {
  local preset=$1
  echo "==> ${preset}: configure and build"
  cmake --preset "${preset}" >/dev/null
  cmake --build --preset "${preset}" -j "${jobs}"
  echo "==> ${preset}: test"
  ctest --preset "${preset}" -j "${jobs}" --timeout 600
}

presets=("$@")
if ((${#presets[@]} == 0)); then
  presets=(dev asan tsan fuzz package)
fi

for preset in "${presets[@]}"; do
  if [[ ${preset} == fuzz ]]; then
    ./scripts/fuzz.sh "${PIXEL_FUZZ_SECONDS:-30}"
  elif [[ ${preset} == package ]]; then
    ./scripts/package.sh build/packages
    ./tests/packaging/deb_test.sh build/packages
  else
    run_preset "${preset}"
  fi
done
echo "==> all presets passed: ${presets[*]}"
