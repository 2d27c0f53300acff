#!/usr/bin/env bash
# Installs everything the build, the tests, the benchmarks, the tools and the bindings need
# on Debian 12. Idempotent: when every package is present it changes nothing.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  clang libclang-rt-14-dev
  # lint (scripts/lint.sh), Debian packages and their ABI check (scripts/package.sh)
  clang-format clang-tidy dpkg-dev lintian help2man gzip xz-utils abigail-tools
  # libraries
  libcurl4-openssl-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  libcpp-httplib-dev libcli11-dev nlohmann-json3-dev libsqlite3-dev libssl-dev zlib1g-dev
  libcsv-dev
  # test peers and load tools
  nginx-light libnginx-mod-http-echo wrk openssl curl procps python3 python3-pip python3-venv
  chromium mawk
  sqlite3  # the spool tests read the database with SQLite's own shell
  gunicorn  # the Python binding under a pre-forking server (bindings/python/tests)
  mypy  # mypy --strict on the Python binding and its documented examples
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

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# deploy/ (aws-cdk-lib) needs Node.js 20 or later; Debian 12 ships 18. When the node on PATH
# is older, the npm registry's node-linux-<arch> package (the official binary, shipped inside
# the package) goes to /opt and /usr/local/bin/node points at it.
node_floor=20
node_pinned=20.19.5
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < node_floor)); then
  case $(uname -m) in
    x86_64) node_arch=x64 ;;
    aarch64) node_arch=arm64 ;;
    *) echo "install-deps: no Node.js ${node_floor} for $(uname -m)" >&2; exit 1 ;;
  esac
  node_dir=/opt/pixel-node-${node_pinned}
  echo "install-deps: node $(node --version) is older than ${node_floor}: installing ${node_pinned} in ${node_dir}" >&2
  work=$(mktemp -d)
  (cd "${work}" && npm pack --silent "node-linux-${node_arch}@${node_pinned}" >/dev/null)
  "${sudo_cmd[@]}" mkdir -p "${node_dir}"
  "${sudo_cmd[@]}" tar -xzf "${work}"/node-linux-*.tgz -C "${node_dir}" --strip-components=1
  rm -rf "${work}"
  "${sudo_cmd[@]}" ln -sf "${node_dir}/bin/node" /usr/local/bin/node
  hash -r
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  if ((node_major < node_floor)); then
    echo "install-deps: node on PATH is still $(node --version): put /usr/local/bin first" >&2
    exit 1
  fi
fi
