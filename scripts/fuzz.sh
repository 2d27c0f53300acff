#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, fuzz preset) and runs each for a bounded time,
# starting from the checked-in seed corpus. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
for target in encode_decode utf8 placement log_record log_standard email retry_after verify; do
  echo "==> fuzz_${target}: ${seconds}s"
  # New inputs go to a scratch corpus; the checked-in seeds are read, never rewritten.
  mkdir -p "${work}/${target}"
  "build/fuzz/fuzz/fuzz_${target}" -max_total_time="${seconds}" -dict=fuzz/pixel.dict \
    -max_len=4096 -print_final_stats=1 -artifact_prefix="${work}/" \
    "${work}/${target}" "fuzz/corpus/${target}" 2>"${work}/${target}.log" || {
      tail -50 "${work}/${target}.log"
      echo "fuzz_${target} FAILED" >&2
      exit 1
    }
  grep -E "stat::number_of_executed_units|Done" "${work}/${target}.log" | tail -2
done
