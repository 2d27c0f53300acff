#!/usr/bin/env bash
# Installs everything the build, the tests, the benchmarks, the tools and the bindings need
# on Debian 12. Idempotent: when every package is present it changes nothing.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  clang libclang-rt-14-dev
  # libraries
  libcurl4-openssl-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  libcpp-httplib-dev libcli11-dev nlohmann-json3-dev libsqlite3-dev libssl-dev zlib1g-dev
  libcsv-dev
  # test peers and load tools
  nginx-light wrk openssl curl procps python3 python3-pip chromium
  sqlite3  # the spool tests read the database with SQLite's own shell
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
    missing+=("$p")
  fi
done

# Node.js (with npm) for the Node binding: the machine's own when present, else Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

# Rust for the Rust binding: use the toolchain on PATH, else Debian's.
if ! command -v cargo >/dev/null 2>&1; then
  missing+=(cargo rustc)
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
