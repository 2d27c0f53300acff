#!/bin/sh
# Runs the C example against a fresh `pixel edge` and checks that the edge logged every
# event: run_against_edge.sh PIXEL_CLI EXAMPLE EVENTS
set -eu
cli=$1 example=$2 events=$3
dir=$(mktemp -d)
trap 'kill "$edge_pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
mkfifo "$dir/stdout"
"$cli" edge --listen 127.0.0.1:0 --out "$dir/records" > "$dir/stdout" &
edge_pid=$!
exec 3< "$dir/stdout"
read -r line <&3   # blocks until the edge prints where it listens
base=${line#listening on }
"$example" "$base/1x1.png" "$events"
kill -TERM "$edge_pid"
wait "$edge_pid"
logged=$(find "$dir/records" -type f -exec cat {} + | grep -c 'thirdpartyname=example.com&n=')
echo "edge logged $logged of $events events"
test "$logged" -eq "$events"
