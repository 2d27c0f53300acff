#!/usr/bin/env bash
# Measures email-campaign (release build): a ~10 KB template and N recipients (default
# 100,000): --format eml with --dry-run (every message rendered, nothing but the manifest
# written: the generator's own speed), then eml and html written under DIR (default: /dev/shm when present, a
# tmpfs, so that the generator and not the disk is measured). As a baseline in the same run
# it times creating N files of the same total size in the same place with a C loop of
# open/write/close: the file system's own cost per message.
# usage: scripts/bench-email.sh [N] [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
base=${2:-}
if [[ -z $base ]]; then
  if [[ -d /dev/shm && -w /dev/shm ]]; then base=/dev/shm; else base=${TMPDIR:-/tmp}; fi
fi
cmake --preset release >/dev/null
cmake --build --preset release --target email-campaign >/dev/null
work=$(mktemp -d "$base/bench-email.XXXXXX")
trap 'rm -rf "$work"' EXIT
template=examples/email-campaign/templates/newsletter-10k.html
python3 examples/email-campaign/make_recipients.py "$n" >"$work/recipients.csv"
echo "bench-email: $n recipients, $(wc -c <"$template")-byte template, output under $base"
for run in "eml --dry-run" eml html; do
  format=${run%% *}
  flags=${run#"$format"}
  out="$work/out-$format"
  # shellcheck disable=SC2086  # $flags is empty or one option
  build/release/examples/email-campaign/email-campaign --template "$template" \
    --recipients "$work/recipients.csv" --campaign bench --from 'Example <news@example.com>' \
    --endpoint https://d111111abcdef8.cloudfront.net --out "$out" --format "$format" $flags 2>&1 |
    grep -v '^email-campaign: warning' | sed "s/^email-campaign:/  --format $format$flags:/"
  if [[ $run == eml ]]; then
    bytes=$(du -sb "$out" | cut -f1)
    size=$((bytes / n))
  fi
  rm -rf "$out"
done
# Baseline: the same number of files of the average .eml size, nothing else.
cc -O2 -x c -o "$work/create-files" - <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char** argv) {
  long n = atol(argv[2]);
  size_t size = (size_t)atol(argv[3]);
  char* buf = malloc(size);
  memset(buf, 'x', size);
  char path[4096];
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; ++i) {
    snprintf(path, sizeof path, "%s/%06ld.eml", argv[1], i + 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, buf, size) != (ssize_t)size) return 1;
    close(fd);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  printf("  baseline: %ld files of %zu bytes in %.2f s (%.0f files/s)\n", n, size, s, n / s);
  return 0;
}
C
mkdir "$work/baseline"
"$work/create-files" "$work/baseline" "$n" "$size"
