#!/usr/bin/env bash
# Durable delivery benchmark: builds the release preset and runs bench/spool's program, which
# starts its own nginx on 127.0.0.1 and measures, in one run and on this machine's disk, the
# tracker with durability sync against one SQLite commit per event, and batched against
# memory. Extra arguments go to the program (--seconds S, --events N, --dir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

cmake --preset release >/dev/null
cmake --build --preset release --target pixel_spool_bench -j 2
exec ./build/release/bench/spool/pixel_spool_bench "$@"
