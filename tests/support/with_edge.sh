#!/bin/sh
# Runs a command against a fresh `pixel edge` and checks how many records it logged:
#   with_edge.sh PIXEL_CLI PATTERN EXPECTED COMMAND [ARG...]
# Each ARG equal to @ENDPOINT@ is replaced by the edge's base URL. Fails when the command
# fails or when the number of records containing PATTERN is not EXPECTED.
set -eu
cli=$1 pattern=$2 expected=$3
shift 3
dir=$(mktemp -d)
trap 'kill "$edge_pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
mkfifo "$dir/stdout"
"$cli" edge --listen 127.0.0.1:0 --out "$dir/records" > "$dir/stdout" &
edge_pid=$!
exec 3< "$dir/stdout"
read -r line <&3   # blocks until the edge prints where it listens
base=${line#listening on }
for arg do
  shift
  if [ "$arg" = "@ENDPOINT@" ]; then set -- "$@" "$base"; else set -- "$@" "$arg"; fi
done
"$@"
kill -TERM "$edge_pid"
wait "$edge_pid"
logged=$(find "$dir/records" -type f -exec cat {} + | grep -c -- "$pattern" || true)
echo "edge logged $logged records matching '$pattern' (expected $expected)"
test "$logged" -eq "$expected"
