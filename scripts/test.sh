#!/usr/bin/env bash
# Runs every test: installs what is missing, checks the formatting, then builds and tests
# the dev preset (with the bindings, the CLI, the browser and packaging tests), the
# ASan+UBSan and TSan presets, a bounded run of each fuzz target, the Debian packages
# (built, lintian-checked, unpacked and used by C and C++ consumers), and the AWS
# deployment in deploy/ (npm ci, its jest suite and an offline `cdk synth`; nothing talks
# to AWS).
#   scripts/test.sh [dev|quick|asan|tsan|fuzz|package|deploy]...   (no argument: all but quick)
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

# deploy/: the CDK app's tests need only the dev build's `pixel` (for the edge and reader
# field-list test) and the npm registry.
run_deploy() {
  echo "==> deploy: npm ci, jest, cdk synth"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if ((major < 20)); then
    echo "deploy: node $(node --version) is too old: aws-cdk-lib needs node 20 or later" >&2
    return 1
  fi
  cmake --preset dev >/dev/null
  cmake --build --preset dev -j "${jobs}" --target pixel_cli
  (
    cd deploy
    npm ci --no-audit --no-fund
    PIXEL_BIN="${PWD}/../build/dev/tools/pixel/pixel" npx jest --ci
    npm run synth
  )
}

presets=("$@")
if ((${#presets[@]} == 0)); then
  presets=(dev asan tsan fuzz package deploy)
fi

for preset in "${presets[@]}"; do
  if [[ ${preset} == fuzz ]]; then
    ./scripts/fuzz.sh "${PIXEL_FUZZ_SECONDS:-30}"
  elif [[ ${preset} == package ]]; then
    ./scripts/package.sh build/packages
    ./tests/packaging/deb_test.sh build/packages
  elif [[ ${preset} == deploy ]]; then
    run_deploy
  else
    run_preset "${preset}"
  fi
done
echo "==> all presets passed: ${presets[*]}"
