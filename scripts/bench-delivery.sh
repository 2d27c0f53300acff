#!/usr/bin/env bash
# Delivery benchmark: builds the release preset and runs bench/tracker's program, which starts
# its own nginx (plain, TLS, TLS + HTTP/2) on 127.0.0.1 and measures, in one run, wrk
# (ceiling), a plain curl_multi loop (baseline) and the tracker. Extra arguments go to the
# program, e.g. `--events 2000 --wrk-seconds 1` for a quick run.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

cmake --preset release >/dev/null
cmake --build --preset release --target pixel_delivery_bench -j 2
exec ./build/release/bench/tracker/pixel_delivery_bench "$@"
